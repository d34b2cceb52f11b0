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

    /// From the spec, not `status.aliases`: the machine's own reconcile creates a declared alias, and a
    /// definition may name an alias before its first version exists (as it may name the machine before
    /// it has an ARN). The lookup is recorded under the machine, so editing its aliases wakes this object.
    fn state_machine_declares_alias(&self, name: &str, alias: &str) -> bool {
        self.record(RefKind::StateMachine, name);
        self.machines
            .get(&ObjectRef::new(name).within(&self.namespace))
            .filter(|obj| obj.metadata.deletion_timestamp.is_none())
            .is_some_and(|obj| obj.spec.aliases.iter().any(|a| a.name == alias))
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

    fn settings() -> sfn_plan::desired::Settings {
        sfn_plan::desired::Settings {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            default_deletion_policy: sfn_plan::DeletionPolicy::Delete,
            default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
            guardrails: Default::default(),
        }
    }

    #[test]
    fn an_alias_target_resolves_to_the_alias_arn_when_the_machine_declares_it() {
        let (tis, acts, sms, ti, parent) = alias_target_stores(&["live"]);
        let r = StoreResolver::new("ns", ["run-live"], &tis, &acts, &sms);
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

        let r = StoreResolver::new("ns", ["run-live"], &tis, &acts, &sms);
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

        let r = StoreResolver::new("ns", ["run-live"], &tis, &acts, &sms);
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
