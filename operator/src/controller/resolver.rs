//! Resolving a StateMachine's references from the watch caches, recording every lookup.
//!
//! The compiler asks for TaskIntegrations by name and for Activity / StateMachine ARNs; this answers from
//! the reflector stores of the scope (no API call per reconcile) and remembers each name asked for, found or
//! not, so the reference index can wake this object when any of them changes or appears.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::{Activity, StateMachine, TaskIntegration, TaskIntegrationSpec};
use crate::asl::Resolver;

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
    pub fn new(
        namespace: &str,
        integrations: &Store<TaskIntegration>,
        activities: &Store<Activity>,
        machines: &Store<StateMachine>,
    ) -> Self {
        let integrations = integrations
            .state()
            .into_iter()
            .filter(|ti| ti.metadata.namespace.as_deref() == Some(namespace))
            .filter(|ti| ti.metadata.deletion_timestamp.is_none())
            .filter_map(|ti| ti.metadata.name.clone().map(|n| (n, ti)))
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

    /// The TaskIntegration object itself (for its status), when cached.
    pub fn integration_object(&self, name: &str) -> Option<&Arc<TaskIntegration>> {
        self.integrations.get(name)
    }
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
