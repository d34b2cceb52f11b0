//! Which objects depend on which: the reverse index behind the `watches` mappers.
//!
//! A StateMachine names TaskIntegrations, and through them Activities and other StateMachines; a
//! TaskIntegration names an Activity or a StateMachine. Kubernetes owner references cannot express this (the
//! referenced object is not owned), so each reconcile records the references it actually looked up, found or
//! not, and a change of a referenced object is mapped back to every dependent through this index. Recording
//! missing references too is what makes a `ReferenceNotFound` object heal as soon as the reference appears.
//!
//! `ChangeFilter` keeps the watch mappers quiet: a referenced object's watch event only triggers dependents
//! when its fingerprint (the controllers use the resourceVersion, so any real write) changed; the replay of
//! unchanged objects after a watch relist triggers nothing. [`dependents`] is the one `watches` mapper of
//! every (dependent kind, referenced kind) pair.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use kube::Resource;
use kube::runtime::reflector::ObjectRef;

use sfn_api::{Activity, ReferenceGrant, StateMachine, TaskIntegration};

/// The kinds that can be referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    TaskIntegration,
    Activity,
    StateMachine,
}

/// A referenced object: its namespace is the referencing object's, or the one a cross-namespace reference
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefKey {
    pub kind: RefKind,
    pub namespace: String,
    pub name: String,
}

impl RefKey {
    pub fn new(kind: RefKind, namespace: &str, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// A dependent object of the index's kind, as (namespace, name).
pub type Dependent = (String, String);

#[derive(Debug, Default)]
struct Inner {
    forward: HashMap<Dependent, BTreeSet<RefKey>>,
    reverse: HashMap<RefKey, HashSet<Dependent>>,
}

/// Reverse reference index for one dependent kind.
#[derive(Debug, Default)]
pub struct ReferenceIndex {
    inner: Mutex<Inner>,
}

impl ReferenceIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces everything `dependent` references with `refs`.
    pub fn set(&self, dependent: Dependent, refs: impl IntoIterator<Item = RefKey>) {
        let refs: BTreeSet<RefKey> = refs.into_iter().collect();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.forward.get(&dependent) == Some(&refs) {
            return;
        }
        let old = inner.forward.remove(&dependent).unwrap_or_default();
        for r in &old {
            if let Some(set) = inner.reverse.get_mut(r) {
                set.remove(&dependent);
                if set.is_empty() {
                    inner.reverse.remove(r);
                }
            }
        }
        for r in &refs {
            inner
                .reverse
                .entry(r.clone())
                .or_default()
                .insert(dependent.clone());
        }
        if !refs.is_empty() {
            inner.forward.insert(dependent, refs);
        }
    }

    /// Forgets a dependent (it was deleted).
    pub fn remove(&self, dependent: &Dependent) {
        self.set(dependent.clone(), std::iter::empty());
    }

    /// Every dependent that references `key`, sorted.
    pub fn dependents(&self, key: &RefKey) -> Vec<Dependent> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Dependent> = inner
            .reverse
            .get(key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Every dependent outside `namespace` that references something in it, sorted: the objects a
    /// ReferenceGrant of `namespace` can open references for, or close them.
    pub fn from_other_namespaces(&self, namespace: &str) -> Vec<Dependent> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let found: BTreeSet<Dependent> = inner
            .reverse
            .iter()
            .filter(|(key, _)| key.namespace == namespace)
            .flat_map(|(_, deps)| deps.iter().filter(|d| d.0 != namespace).cloned())
            .collect();
        found.into_iter().collect()
    }

    /// What `dependent` references, sorted.
    pub fn references(&self, dependent: &Dependent) -> Vec<RefKey> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .forward
            .get(dependent)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Remembers a fingerprint per watched object (by default a referenced object's [`RefKey`]) and says
/// whether a new one differs.
#[derive(Debug)]
pub struct ChangeFilter<Key = RefKey> {
    seen: Mutex<HashMap<Key, Option<u64>>>,
}

impl<Key> Default for ChangeFilter<Key> {
    fn default() -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
        }
    }
}

impl<Key: Eq + std::hash::Hash + Clone> ChangeFilter<Key> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `fingerprint` for `key` (`None` = the object is gone) and returns whether it changed. The
    /// first sighting counts as a change: after a restart, dependents must not miss an ARN that appeared
    /// while the operator was down (their own initial reconcile covers that, so this only costs a no-op).
    pub fn changed(&self, key: Key, fingerprint: Option<u64>) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.insert(key.clone(), fingerprint) {
            Some(previous) => {
                if fingerprint.is_none() {
                    seen.remove(&key);
                }
                previous != fingerprint
            }
            None => {
                if fingerprint.is_none() {
                    seen.remove(&key);
                }
                true
            }
        }
    }

    /// Whether the watch event of `obj`, known by `key`, is a real write (its resourceVersion moved).
    pub fn written<R: Resource>(&self, key: Key, obj: &R) -> bool {
        self.changed(key, Some(fingerprint(&obj.meta().resource_version)))
    }
}

/// A kind that other objects can reference.
pub trait Referenced: Resource {
    const REF_KIND: RefKind;
}

impl Referenced for TaskIntegration {
    const REF_KIND: RefKind = RefKind::TaskIntegration;
}

impl Referenced for Activity {
    const REF_KIND: RefKind = RefKind::Activity;
}

impl Referenced for StateMachine {
    const REF_KIND: RefKind = RefKind::StateMachine;
}

/// The objects of kind `K` to reconcile after a watch event of `changed`: its dependents in `index`, if
/// the event is a real write. Every write of a referenced object is a candidate (including its deletion,
/// itself a write); their controllers only write when something changed, so this stays quiet on an idle
/// cluster.
pub fn dependents<K, R>(
    index: &ReferenceIndex,
    filter: &ChangeFilter,
    changed: &R,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()>,
    R: Referenced,
{
    let meta = changed.meta();
    let key = RefKey::new(
        R::REF_KIND,
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    );
    if !filter.written(key.clone(), changed) {
        return Vec::new();
    }
    index
        .dependents(&key)
        .iter()
        .map(dependent_ref::<K>)
        .collect()
}

/// The objects of kind `K` to reconcile after a watch event of the ReferenceGrant `grant`: every object of
/// another namespace that references something in the grant's namespace, found or refused. A grant says
/// nothing about its previous version, so a change wakes all of them rather than only those it opens or
/// closes; grants change rarely and few references cross namespaces.
pub fn grant_dependents<K>(
    index: &ReferenceIndex,
    filter: &ChangeFilter<(String, String)>,
    grant: &ReferenceGrant,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = grant.meta().namespace.clone().unwrap_or_default();
    let key = (
        namespace.clone(),
        grant.meta().name.clone().unwrap_or_default(),
    );
    if !filter.written(key, grant) {
        return Vec::new();
    }
    index
        .from_other_namespaces(&namespace)
        .iter()
        .map(dependent_ref::<K>)
        .collect()
}

/// An `ObjectRef` for a dependent found in a reference index.
pub fn dependent_ref<K>(dep: &Dependent) -> ObjectRef<K>
where
    K: Resource<DynamicType = ()>,
{
    ObjectRef::new(&dep.1).within(&dep.0)
}

/// A stable fingerprint of the parts of a referenced object its dependents consume.
pub fn fingerprint(parts: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(ns: &str, n: &str) -> Dependent {
        (ns.to_owned(), n.to_owned())
    }

    #[test]
    fn dependents_follow_the_latest_references() {
        let idx = ReferenceIndex::new();
        let submit = RefKey::new(RefKind::TaskIntegration, "demo", "submit-job");
        let check = RefKey::new(RefKind::TaskIntegration, "demo", "check-job");
        idx.set(dep("demo", "poller"), [submit.clone(), check.clone()]);
        idx.set(dep("demo", "other"), [check.clone()]);
        assert_eq!(idx.dependents(&submit), vec![dep("demo", "poller")]);
        assert_eq!(
            idx.dependents(&check),
            vec![dep("demo", "other"), dep("demo", "poller")]
        );

        // The poller stops using check-job: only `other` is left as its dependent.
        idx.set(dep("demo", "poller"), [submit.clone()]);
        assert_eq!(idx.dependents(&check), vec![dep("demo", "other")]);

        idx.remove(&dep("demo", "other"));
        assert!(idx.dependents(&check).is_empty());
        assert_eq!(idx.references(&dep("demo", "poller")), vec![submit]);
    }

    #[test]
    fn namespaces_and_kinds_do_not_mix() {
        let idx = ReferenceIndex::new();
        idx.set(
            dep("a", "m"),
            [RefKey::new(RefKind::Activity, "a", "approve")],
        );
        assert!(
            idx.dependents(&RefKey::new(RefKind::Activity, "b", "approve"))
                .is_empty()
        );
        assert!(
            idx.dependents(&RefKey::new(RefKind::TaskIntegration, "a", "approve"))
                .is_empty()
        );
        assert_eq!(
            idx.dependents(&RefKey::new(RefKind::Activity, "a", "approve")),
            vec![dep("a", "m")]
        );
    }

    #[test]
    fn change_filter_passes_only_real_changes() {
        let f = ChangeFilter::new();
        let key = RefKey::new(RefKind::Activity, "demo", "approve");
        assert!(f.changed(key.clone(), Some(fingerprint(&(1, "")))));
        assert!(!f.changed(key.clone(), Some(fingerprint(&(1, "")))));
        assert!(f.changed(key.clone(), Some(fingerprint(&(1, "arn:x")))));
        assert!(!f.changed(key.clone(), Some(fingerprint(&(1, "arn:x")))));
        // Deletion is a change; a recreation after it is one too.
        assert!(f.changed(key.clone(), None));
        assert!(f.changed(key.clone(), Some(fingerprint(&(1, "")))));
    }

    fn activity(name: &str, resource_version: &str) -> Activity {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "Activity",
            "metadata": {"name": name, "namespace": "demo", "resourceVersion": resource_version},
            "spec": {}
        }))
        .expect("a valid Activity")
    }

    #[test]
    fn a_write_of_a_referenced_object_wakes_its_dependents_once() {
        let idx = ReferenceIndex::new();
        let f = ChangeFilter::new();
        idx.set(
            dep("demo", "m"),
            [RefKey::new(RefKind::Activity, "demo", "approve")],
        );
        let wake = |obj: &Activity| -> Vec<ObjectRef<StateMachine>> { dependents(&idx, &f, obj) };
        assert_eq!(
            wake(&activity("approve", "1")),
            vec![ObjectRef::new("m").within("demo")]
        );
        // The replay of an unchanged object after a relist wakes nobody.
        assert!(wake(&activity("approve", "1")).is_empty());
        assert_eq!(wake(&activity("approve", "2")).len(), 1);
        assert!(wake(&activity("other", "1")).is_empty());
    }

    fn grant(namespace: &str, resource_version: &str) -> ReferenceGrant {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "ReferenceGrant",
            "metadata": {"name": "open", "namespace": namespace, "resourceVersion": resource_version},
            "spec": {"from": [{"namespace": "team-a"}], "to": [{"kind": "TaskIntegration"}]}
        }))
        .expect("a valid ReferenceGrant")
    }

    #[test]
    fn a_grant_wakes_the_other_namespaces_objects_that_reference_into_its_own() {
        let idx = ReferenceIndex::new();
        let f = ChangeFilter::new();
        let shared = RefKey::new(RefKind::TaskIntegration, "shared", "submit");
        idx.set(dep("team-a", "m"), [shared.clone()]);
        idx.set(dep("team-b", "n"), [shared]);
        // Same-namespace references need no grant: a grant change says nothing to them.
        idx.set(
            dep("shared", "own"),
            [RefKey::new(RefKind::TaskIntegration, "shared", "submit")],
        );
        idx.set(
            dep("team-a", "local"),
            [RefKey::new(RefKind::TaskIntegration, "team-a", "x")],
        );
        let woken: Vec<ObjectRef<StateMachine>> = grant_dependents(&idx, &f, &grant("shared", "7"));
        assert_eq!(
            woken,
            vec![
                ObjectRef::new("m").within("team-a"),
                ObjectRef::new("n").within("team-b")
            ]
        );
        // The replay of an unchanged grant after a relist wakes nobody; its next write does.
        assert!(grant_dependents::<StateMachine>(&idx, &f, &grant("shared", "7")).is_empty());
        assert_eq!(
            grant_dependents::<StateMachine>(&idx, &f, &grant("shared", "8")).len(),
            2
        );
        // A grant of a namespace nobody references into.
        assert!(grant_dependents::<StateMachine>(&idx, &f, &grant("team-a", "9")).is_empty());
    }
}
