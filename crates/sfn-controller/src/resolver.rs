//! Resolving a StateMachine's references from the watch caches, recording every lookup.
//!
//! The compiler asks for TaskIntegrations by name and for Activity / StateMachine ARNs; this answers from
//! the reflector stores of the scope (no API call per reconcile) and remembers each name asked for, found or
//! not, so the reference index can wake this object when any of them changes or appears.
//!
//! A reference into another namespace (`<namespace>/<name>`) resolves only when a ReferenceGrant of that
//! namespace allows this one; otherwise it is missing, exactly as if the object did not exist, so nothing of
//! another namespace leaks into the message. A TaskIntegration taken from another namespace brings its own
//! references along, qualified with its namespace and allowed without a grant of their own. A new grant
//! wakes nobody: the capped retry of missing references picks it up.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{ObjectRef, Store};

use serde_json::Value;

use sfn_api::reference_grant::{GrantKind, bring_along, may_reference, split_reference};
use sfn_api::{
    Activity, ReferenceGrant, StateMachine, StateMachineSpec, TaskIntegration, TaskIntegrationSpec,
};
use sfn_asl::Resolver;

use super::refindex::{RefKey, RefKind};

/// A snapshot of one namespace's referenceable objects, recording lookups.
pub struct StoreResolver {
    namespace: String,
    /// By the reference as written; a TaskIntegration of another namespace with its references qualified.
    integrations: HashMap<String, TaskIntegrationSpec>,
    activities: Store<Activity>,
    machines: Store<StateMachine>,
    grants: Store<ReferenceGrant>,
    /// Objects of other namespaces a granted TaskIntegration references in its own namespace.
    implied: BTreeSet<RefKey>,
    seen: Mutex<BTreeSet<RefKey>>,
}

impl StoreResolver {
    /// A resolver holding the TaskIntegrations named `names` (those the spec mentions), looked up by key
    /// rather than by scanning the cache, so a reconcile costs the same with ten or ten thousand objects.
    pub fn new<'a>(
        namespace: &str,
        names: impl IntoIterator<Item = &'a str>,
        stores: &Stores,
    ) -> Self {
        let mut resolver = Self {
            namespace: namespace.to_owned(),
            integrations: HashMap::new(),
            activities: stores.activities.clone(),
            machines: stores.machines.clone(),
            grants: stores.grants.clone(),
            implied: BTreeSet::new(),
            seen: Mutex::new(BTreeSet::new()),
        };
        for reference in names {
            let Some(key) = resolver.allowed(RefKind::TaskIntegration, reference) else {
                continue;
            };
            let Some(ti) = stores
                .integrations
                .get(&ObjectRef::new(&key.name).within(&key.namespace))
                .filter(|ti| ti.metadata.deletion_timestamp.is_none())
            else {
                continue;
            };
            let mut spec = ti.spec.clone();
            if key.namespace != namespace {
                resolver.bring_along(&key.namespace, &mut spec);
            }
            resolver.integrations.insert(reference.to_owned(), spec);
        }
        resolver
    }

    /// Qualifies the references of a TaskIntegration of `namespace` with it, and allows them.
    fn bring_along(&mut self, namespace: &str, spec: &mut TaskIntegrationSpec) {
        for (kind, name) in bring_along(spec, namespace) {
            self.implied
                .insert(RefKey::new(ref_kind(kind), namespace, &name));
        }
    }

    /// Where `reference` points, if this namespace may reference it; `None` when another namespace does
    /// not grant it. Recorded either way.
    fn allowed(&self, kind: RefKind, reference: &str) -> Option<RefKey> {
        let (namespace, name) = split_reference(reference);
        let key = RefKey::new(kind, namespace.unwrap_or(&self.namespace), name);
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone());
        let grants = self.grants.state();
        let ok = self.implied.contains(&key)
            || may_reference(
                &self.namespace,
                &key.namespace,
                grant_kind(kind),
                name,
                grants
                    .iter()
                    .filter(|g| g.metadata.namespace.as_deref() == Some(key.namespace.as_str()))
                    .map(Arc::as_ref),
            );
        ok.then_some(key)
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

/// The caches a resolver reads, of one watch scope.
#[derive(Clone)]
pub struct Stores {
    pub integrations: Store<TaskIntegration>,
    pub activities: Store<Activity>,
    pub machines: Store<StateMachine>,
    pub grants: Store<ReferenceGrant>,
}

fn grant_kind(kind: RefKind) -> GrantKind {
    match kind {
        RefKind::TaskIntegration => GrantKind::TaskIntegration,
        RefKind::Activity => GrantKind::Activity,
        RefKind::StateMachine => GrantKind::StateMachine,
    }
}

fn ref_kind(kind: GrantKind) -> RefKind {
    match kind {
        GrantKind::TaskIntegration => RefKind::TaskIntegration,
        GrantKind::Activity => RefKind::Activity,
        GrantKind::StateMachine => RefKind::StateMachine,
    }
}

impl Resolver for StoreResolver {
    fn task_integration(&self, name: &str) -> Option<&TaskIntegrationSpec> {
        self.allowed(RefKind::TaskIntegration, name)?;
        self.integrations.get(name)
    }

    fn activity_arn(&self, name: &str) -> Option<String> {
        let key = self.allowed(RefKind::Activity, name)?;
        let obj = self
            .activities
            .get(&ObjectRef::new(&key.name).within(&key.namespace))?;
        if obj.metadata.deletion_timestamp.is_some() {
            return None;
        }
        obj.status
            .as_ref()
            .and_then(|s| s.activity_arn.clone())
            .filter(|arn| !arn.is_empty())
    }

    fn state_machine_arn(&self, name: &str) -> Option<String> {
        let key = self.allowed(RefKind::StateMachine, name)?;
        let obj = self
            .machines
            .get(&ObjectRef::new(&key.name).within(&key.namespace))?;
        if obj.metadata.deletion_timestamp.is_some() {
            return None;
        }
        obj.status
            .as_ref()
            .and_then(|s| s.state_machine_arn.clone())
            .filter(|arn| !arn.is_empty())
    }

    /// From the spec, not `status.aliases`: the machine's own reconcile creates a declared alias, and a
    /// definition may name an alias before its first version exists (as it may name the machine before
    /// it has an ARN). The lookup is recorded under the machine, so editing its aliases wakes this object.
    fn state_machine_declares_alias(&self, name: &str, alias: &str) -> bool {
        let Some(key) = self.allowed(RefKind::StateMachine, name) else {
            return false;
        };
        self.machines
            .get(&ObjectRef::new(&key.name).within(&key.namespace))
            .filter(|obj| obj.metadata.deletion_timestamp.is_none())
            .is_some_and(|obj| obj.spec.aliases.iter().any(|a| a.name == alias))
    }
}

/// Stores for tests, with no ReferenceGrant.
#[cfg(test)]
pub(crate) fn test_stores(
    integrations: &Store<TaskIntegration>,
    activities: &Store<Activity>,
    machines: &Store<StateMachine>,
) -> Stores {
    Stores {
        integrations: integrations.clone(),
        activities: activities.clone(),
        machines: machines.clone(),
        grants: kube::runtime::reflector::store::<ReferenceGrant>().0,
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

    /// A StateMachine `child` with an ARN and the aliases `aliases`, a TaskIntegration starting its `live`
    /// alias, and a StateMachine `parent` using that integration, in the stores the controller reads.
    fn alias_target_stores(
        aliases: &[&str],
    ) -> (
        Store<TaskIntegration>,
        Store<Activity>,
        Store<StateMachine>,
        TaskIntegration,
        StateMachine,
    ) {
        use kube::runtime::watcher::Event;
        let aliases: Vec<Value> = aliases
            .iter()
            .map(|a| serde_json::json!({"name": a}))
            .collect();
        let child: StateMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine",
            "metadata": {"name": "child", "namespace": "ns", "uid": "u-child"},
            "spec": {"aliases": aliases, "definition": {"states": [{"name": "Done", "type": "Succeed"}]}},
            "status": {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:ns-child"},
        }))
        .unwrap();
        let ti: TaskIntegration = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "TaskIntegration",
            "metadata": {"name": "run-live", "namespace": "ns", "uid": "u-ti"},
            "spec": {"stepFunctions": {"stateMachineRef": {"name": "child"}, "alias": "live"}, "pattern": "sync"},
        }))
        .unwrap();
        let parent: StateMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine",
            "metadata": {"name": "parent", "namespace": "ns", "uid": "u-parent"},
            "spec": {"definition": {"states": [{"name": "Run", "type": "Task", "integration": "run-live"}]}},
        }))
        .unwrap();
        let (ti_store, mut ti_writer) = kube::runtime::reflector::store::<TaskIntegration>();
        let (act_store, _act_writer) = kube::runtime::reflector::store::<Activity>();
        let (sm_store, mut sm_writer) = kube::runtime::reflector::store::<StateMachine>();
        ti_writer.apply_watcher_event(&Event::Apply(ti.clone()));
        sm_writer.apply_watcher_event(&Event::Apply(child));
        sm_writer.apply_watcher_event(&Event::Apply(parent.clone()));
        (ti_store, act_store, sm_store, ti, parent)
    }

    /// The desired-state settings of the controller's test configuration.
    fn settings() -> sfn_plan::desired::Settings {
        sfn_plan::desired::Settings::from(&crate::test_config())
    }

    #[test]
    fn an_alias_target_resolves_to_the_alias_arn_when_the_machine_declares_it() {
        let (tis, acts, sms, ti, parent) = alias_target_stores(&["live"]);
        let r = StoreResolver::new("ns", ["run-live"], &test_stores(&tis, &acts, &sms));
        assert!(r.state_machine_declares_alias("child", "live"));
        assert!(!r.state_machine_declares_alias("child", "canary"));
        assert!(!r.state_machine_declares_alias("nowhere", "live"));
        let built = sfn_plan::desired::build(&parent, &r, &settings()).expect("builds");
        assert_eq!(
            built.desired.definition["States"]["Run"]["Parameters"]["StateMachineArn"],
            "arn:aws:states:us-east-1:123456789012:stateMachine:ns-child:live"
        );
        let resolved = sfn_plan::desired::integration(&ti, &r, &settings()).expect("resolves");
        assert!(
            resolved
                .iam_statements
                .iter()
                .any(|s| s.contains("states:StateMachineQualifier") && s.contains("live")),
            "{:?}",
            resolved.iam_statements
        );
    }

    /// The alias missing from the other machine's spec is a missing reference: `ReferenceNotFound`, retried,
    /// and recorded under that machine so that declaring the alias there wakes the dependent.
    #[test]
    fn an_undeclared_alias_is_a_missing_reference_naming_object_field_and_alias() {
        use crate::error::BuildError;
        use crate::status::Reason;
        let (tis, acts, sms, ti, parent) = alias_target_stores(&["prod"]);

        let r = StoreResolver::new("ns", ["run-live"], &test_stores(&tis, &acts, &sms));
        let err = BuildError::from_desired(
            sfn_plan::desired::build(&parent, &r, &settings()).unwrap_err(),
            "definition",
        );
        assert_eq!(err.reason(), Reason::ReferenceNotFound);
        let message = err.message();
        for needle in [
            "StateMachine ns/parent",
            "TaskIntegration \"run-live\"",
            "spec.stepFunctions.alias",
            "StateMachine \"child\" declares no alias \"live\"",
        ] {
            assert!(message.contains(needle), "{needle:?} in {message}");
        }
        assert!(
            r.recorded()
                .contains(&RefKey::new(RefKind::StateMachine, "ns", "child")),
            "{:?}",
            r.recorded()
        );

        let r = StoreResolver::new("ns", ["run-live"], &test_stores(&tis, &acts, &sms));
        let err = BuildError::from_desired(
            sfn_plan::desired::integration(&ti, &r, &settings()).unwrap_err(),
            "spec",
        );
        assert_eq!(err.reason(), Reason::ReferenceNotFound);
        assert!(
            err.message().starts_with("TaskIntegration ns/run-live: ")
                && err.message().contains("declares no alias \"live\""),
            "{}",
            err.message()
        );
    }

    /// `shared` holds a TaskIntegration `submit` handing work to its Activity `approve`, and an Activity
    /// `other`; `team-a` references them. `grant` adds a ReferenceGrant of `shared` for the integration.
    fn cross_namespace_stores(grant: bool) -> Stores {
        use kube::runtime::watcher::Event;
        let object = |v: serde_json::Value| v;
        let ti: TaskIntegration = serde_json::from_value(object(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "TaskIntegration",
            "metadata": {"name": "submit", "namespace": "shared", "uid": "u-ti"},
            "spec": {"activity": {"activityRef": {"name": "approve"}}},
        })))
        .unwrap();
        let activity = |name: &str| -> Activity {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "Activity",
                "metadata": {"name": name, "namespace": "shared", "uid": format!("u-{name}")},
                "spec": {},
                "status": {"activityArn": format!("arn:aws:states:us-east-1:123456789012:activity:shared-{name}")},
            }))
            .unwrap()
        };
        let (integrations, mut ti_writer) = kube::runtime::reflector::store::<TaskIntegration>();
        let (activities, mut act_writer) = kube::runtime::reflector::store::<Activity>();
        let (machines, _sm_writer) = kube::runtime::reflector::store::<StateMachine>();
        let (grants, mut grant_writer) = kube::runtime::reflector::store::<ReferenceGrant>();
        ti_writer.apply_watcher_event(&Event::Apply(ti));
        act_writer.apply_watcher_event(&Event::Apply(activity("approve")));
        act_writer.apply_watcher_event(&Event::Apply(activity("other")));
        if grant {
            let g: ReferenceGrant = serde_json::from_value(serde_json::json!({
                "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "ReferenceGrant",
                "metadata": {"name": "team-a", "namespace": "shared", "uid": "u-g"},
                "spec": {"from": [{"namespace": "team-a"}], "to": [{"kind": "TaskIntegration", "name": "submit"}]},
            }))
            .unwrap();
            grant_writer.apply_watcher_event(&Event::Apply(g));
        }
        Stores {
            integrations,
            activities,
            machines,
            grants,
        }
    }

    #[test]
    fn another_namespace_is_reachable_only_through_its_grant() {
        let closed =
            StoreResolver::new("team-a", ["shared/submit"], &cross_namespace_stores(false));
        assert!(closed.task_integration("shared/submit").is_none());
        assert!(closed.activity_arn("shared/approve").is_none());
        assert!(
            closed
                .recorded()
                .contains(&RefKey::new(RefKind::TaskIntegration, "shared", "submit")),
            "recorded under the other namespace, so its changes wake the object"
        );

        let open = StoreResolver::new("team-a", ["shared/submit"], &cross_namespace_stores(true));
        let spec = open.task_integration("shared/submit").expect("granted");
        let activity = spec.activity.as_ref().and_then(|a| a.activity_ref.as_ref());
        assert_eq!(
            activity.map(|r| r.reference()).as_deref(),
            Some("shared/approve"),
            "the integration's own reference stays in its namespace"
        );
        assert_eq!(
            open.activity_arn("shared/approve").as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:activity:shared-approve"),
            "brought along with the granted integration"
        );
        assert!(
            open.activity_arn("shared/other").is_none(),
            "what the grant does not list stays closed"
        );
        // The same namespace needs no grant.
        let own = StoreResolver::new("shared", ["submit"], &cross_namespace_stores(false));
        assert!(own.task_integration("submit").is_some());
        assert!(own.activity_arn("other").is_some());
    }

    #[test]
    fn a_state_machine_compiles_against_a_granted_integration_of_another_namespace() {
        let sm: StateMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine",
            "metadata": {"name": "flow", "namespace": "team-a", "uid": "u-flow"},
            "spec": {"definition": {"states": [{"name": "Approve", "type": "Task", "integration": "shared/submit", "end": true}]}},
        }))
        .unwrap();
        let names = integration_names(&sm.spec);
        let open = StoreResolver::new(
            "team-a",
            names.iter().map(String::as_str),
            &cross_namespace_stores(true),
        );
        let built = sfn_plan::desired::build(&sm, &open, &settings()).expect("it builds");
        assert_eq!(
            built.desired.definition["States"]["Approve"]["Resource"],
            "arn:aws:states:us-east-1:123456789012:activity:shared-approve"
        );
        let closed = StoreResolver::new(
            "team-a",
            names.iter().map(String::as_str),
            &cross_namespace_stores(false),
        );
        let err = sfn_plan::desired::build(&sm, &closed, &settings()).unwrap_err();
        assert!(
            matches!(err, sfn_plan::desired::DesiredError::ReferenceNotFound(_)),
            "{err}"
        );
    }

    #[test]
    fn lookups_are_recorded_found_or_not() {
        let (ti_store, _w1) = kube::runtime::reflector::store::<TaskIntegration>();
        let (act_store, _w2) = kube::runtime::reflector::store::<Activity>();
        let (sm_store, _w3) = kube::runtime::reflector::store::<StateMachine>();
        let r = StoreResolver::new("ns", ["x"], &test_stores(&ti_store, &act_store, &sm_store));
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
