//! Resolving a StateMachine's references from the watch caches, recording every lookup.
//!
//! The compiler asks for TaskIntegrations by name and for Activity / StateMachine ARNs; this answers from
//! the reflector stores of the scope (no API call per reconcile) and remembers each name asked for, found or
//! not, so the reference index can wake this object when any of them changes or appears.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{ObjectRef, Store};

use serde_json::Value;

use sfn_api::{Activity, StateMachine, StateMachineSpec, TaskIntegration, TaskIntegrationSpec};
use sfn_asl::Resolver;

use super::refindex::{RefKey, RefKind};

/// A snapshot of one namespace's referenceable objects, recording lookups.
pub struct StoreResolver {
    namespace: String,
    integrations: HashMap<String, Arc<TaskIntegration>>,
    activities: Store<Activity>,
    machines: Store<StateMachine>,
    seen: Mutex<BTreeSet<RefKey>>,
}

impl StoreResolver {
    /// A resolver holding the TaskIntegrations named `names` (those the spec mentions), looked up by key
    /// rather than by scanning the cache, so a reconcile costs the same with ten or ten thousand objects.
    pub fn new<'a>(
        namespace: &str,
        names: impl IntoIterator<Item = &'a str>,
        integrations: &Store<TaskIntegration>,
        activities: &Store<Activity>,
        machines: &Store<StateMachine>,
    ) -> Self {
        let integrations = names
            .into_iter()
            .filter_map(|name| {
                integrations
                    .get(&ObjectRef::new(name).within(namespace))
                    .filter(|ti| ti.metadata.deletion_timestamp.is_none())
                    .map(|ti| (name.to_owned(), ti))
            })
            .collect();
        Self {
            namespace: namespace.to_owned(),
            integrations,
            activities: activities.clone(),
            machines: machines.clone(),
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    fn record(&self, kind: RefKind, name: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(RefKey::new(kind, &self.namespace, name));
    }

    /// Every reference looked up so far.
    pub fn recorded(&self) -> Vec<RefKey> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Every TaskIntegration name a StateMachine spec can refer to: the `integration` field of any state,
/// however deeply nested (nested state lists are opaque JSON in the API types), and in fragments.
pub fn integration_names(spec: &StateMachineSpec) -> BTreeSet<String> {
    fn walk(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("integration", Value::String(name)) => {
                            out.insert(name.clone());
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::to_value(&spec.definition) {
        walk(&v, &mut out);
    }
    if let Ok(v) = serde_json::to_value(&spec.fragments) {
        walk(&v, &mut out);
    }
    out
}

impl Resolver for StoreResolver {
    fn task_integration(&self, name: &str) -> Option<&TaskIntegrationSpec> {
        self.record(RefKind::TaskIntegration, name);
        self.integrations.get(name).map(|ti| &ti.spec)
    }

    fn activity_arn(&self, name: &str) -> Option<String> {
        self.record(RefKind::Activity, name);
        let obj = self
            .activities
            .get(&ObjectRef::new(name).within(&self.namespace))?;
        if obj.metadata.deletion_timestamp.is_some() {
            return None;
        }
        obj.status
            .as_ref()
            .and_then(|s| s.activity_arn.clone())
            .filter(|arn| !arn.is_empty())
    }

    fn state_machine_arn(&self, name: &str) -> Option<String> {
        self.record(RefKind::StateMachine, name);
        let obj = self
            .machines
            .get(&ObjectRef::new(name).within(&self.namespace))?;
        if obj.metadata.deletion_timestamp.is_some() {
            return None;
        }
        obj.status
            .as_ref()
            .and_then(|s| s.state_machine_arn.clone())
            .filter(|arn| !arn.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_names_are_found_at_any_depth() {
        let spec: StateMachineSpec = serde_json::from_value(serde_json::json!({
            "definition": {"states": [
                {"name": "A", "type": "Task", "integration": "top", "next": "P"},
                {"name": "P", "type": "Parallel", "end": true, "branches": [
                    {"states": [{"name": "B", "type": "Task", "integration": "nested", "end": true}]}
                ]}
            ]},
            "fragments": [{"name": "f", "states": [
                {"name": "C", "type": "Task", "integration": "in-fragment", "end": true}
            ]}]
        }))
        .unwrap();
        let names: Vec<String> = integration_names(&spec).into_iter().collect();
        assert_eq!(names, vec!["in-fragment", "nested", "top"]);
    }

    #[test]
    fn lookups_are_recorded_found_or_not() {
        let (ti_store, _w1) = kube::runtime::reflector::store::<TaskIntegration>();
        let (act_store, _w2) = kube::runtime::reflector::store::<Activity>();
        let (sm_store, _w3) = kube::runtime::reflector::store::<StateMachine>();
        let r = StoreResolver::new("ns", ["x"], &ti_store, &act_store, &sm_store);
        assert!(r.task_integration("x").is_none());
        assert!(r.activity_arn("approve").is_none());
        assert!(r.state_machine_arn("child").is_none());
        assert_eq!(
            r.recorded(),
            vec![
                RefKey::new(RefKind::TaskIntegration, "ns", "x"),
                RefKey::new(RefKind::Activity, "ns", "approve"),
                RefKey::new(RefKind::StateMachine, "ns", "child"),
            ]
        );
    }
}
