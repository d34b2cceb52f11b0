//! The store's state as one JSON document, so that the standalone server can be stopped and started
//! again with everything it held, as a real API server keeps its state in etcd across restarts.
//!
//! What a restart does to clients is what they must survive on a real cluster: watch streams are cut
//! (the process goes away), and the watch history does not survive it, so resuming a watch from any
//! version seen before the restart answers 410 `Expired` and the client relists. To make that hold for
//! every client, including one whose last seen version is the newest, the restored server starts one
//! version later than the snapshot (as if compaction had happened at start-up).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::MutexGuard;

use serde_json::{Value, json};

use super::{Bucket, Inner, Store};

impl Store {
    /// Every object, the version counter and the uid generator's state.
    pub fn snapshot(&self) -> Value {
        self.frozen_snapshot().0
    }

    /// [`Store::snapshot`], and the lock that keeps every request waiting for as long as it is held: a
    /// server that exits while holding it never acknowledges a write the snapshot lacks.
    pub fn frozen_snapshot(&self) -> (Value, MutexGuard<'_, Inner>) {
        let inner = self.lock();
        let objects: BTreeMap<&String, Vec<Value>> = inner
            .objects
            .iter()
            .map(|(storage, bucket)| {
                let items = bucket
                    .iter()
                    .map(|((ns, name), obj)| json!([ns, name, obj]))
                    .collect();
                (storage, items)
            })
            .collect();
        let snapshot = json!({
            "resourceVersion": inner.rv,
            "uidState": inner.uid_state,
            "ownerRefsSeen": inner.owner_refs_seen,
            "objects": objects,
        });
        (snapshot, inner)
    }

    /// Replaces the whole state with a [`Store::snapshot`]; the watch history starts empty, one version
    /// after the snapshot's.
    pub fn restore(&self, snapshot: &Value) -> Result<(), String> {
        let rv = snapshot["resourceVersion"]
            .as_u64()
            .ok_or("the snapshot has no resourceVersion")?;
        let uid_state = snapshot["uidState"]
            .as_u64()
            .ok_or("the snapshot has no uidState")?;
        let mut objects: HashMap<String, Bucket> = HashMap::new();
        let stored = snapshot["objects"]
            .as_object()
            .ok_or("the snapshot has no objects")?;
        for (storage, items) in stored {
            let bucket = objects.entry(storage.clone()).or_default();
            for item in items.as_array().ok_or("objects are not lists")? {
                let (Some(ns), Some(name), Some(obj)) =
                    (item[0].as_str(), item[1].as_str(), item.get(2))
                else {
                    return Err(format!("malformed stored object under {storage}: {item}"));
                };
                bucket.insert((ns.to_owned(), name.to_owned()), obj.clone());
            }
        }
        let mut inner = self.lock();
        inner.objects = objects;
        inner.rv = rv + 1;
        inner.history = VecDeque::new();
        inner.history_floor = inner.rv;
        inner.uid_state = uid_state;
        inner.owner_refs_seen = snapshot["ownerRefsSeen"].as_bool().unwrap_or(true);
        Store::refresh_crds(&mut inner);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::store::{Filter, WriteOptions};

    #[test]
    fn a_restored_store_has_the_objects_and_expires_older_watches() {
        let store = Store::new();
        let rt = store.resolve("", "v1", "configmaps").unwrap();
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}});
        store
            .create(&rt, Some("default"), cm, &WriteOptions::default())
            .unwrap();
        let created = store.get(&rt, Some("default"), "c").unwrap();
        let seen_rv = store.current_rv();
        let snapshot = store.snapshot();

        let restarted = Store::new();
        restarted.restore(&snapshot).unwrap();
        let got = restarted.get(&rt, Some("default"), "c").unwrap();
        assert_eq!(got["metadata"]["uid"], created["metadata"]["uid"]);
        assert_eq!(got["data"]["k"], "v");
        assert!(restarted.current_rv() > seen_rv);
        // Resuming from the last version seen before the restart: 410 Expired.
        let err = restarted
            .watch(&rt, &Filter::default(), Some(&seen_rv.to_string()), false)
            .err()
            .expect("an expired watch");
        assert_eq!(err.code, 410, "{err:?}");
        // A fresh watch works and writes carry on from the restored version.
        assert!(
            restarted
                .watch(&rt, &Filter::default(), None, false)
                .is_ok()
        );
        assert!(restarted.restore(&json!({"objects": {}})).is_err());
    }
}
