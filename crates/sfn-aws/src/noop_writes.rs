//! Detection of writes that changed nothing: a reconcile that wrote to AWS remembers a fingerprint of
//! what it observed before writing; when the next reconcile of the same machine observes exactly that
//! again, the writes were no-ops (AWS's echo of a default or a spelling was taken for a difference), and
//! the outcome says so for the `noop_writes` metric. The planner folds AWS's defaults and echoes
//! ([`sfn_plan::same_logging`], [`sfn_plan::same_encryption`], canonical JSON and policies) so that this
//! stays at zero; the counter is the evidence.
//!
//! The fingerprint leaves out what changes without meaning anything: revision IDs (they change with every
//! update and lag behind it), the newest version (written by publishing, which is not a configuration
//! change of its own), and alarm tags (read only for some reconciles). Memory is per process; after a
//! restart the last writes before it are not judged.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use sfn_plan::ObservedMachine;

/// The fingerprints of the last observation before a write, by machine name.
#[derive(Debug, Default)]
pub(crate) struct WriteMemory {
    before_write: Mutex<HashMap<String, u64>>,
}

/// A fingerprint of what matters in an observation.
pub(crate) fn fingerprint(observed: &ObservedMachine) -> u64 {
    let mut subject = observed.clone();
    for machine in [
        &mut subject.state_machine,
        &mut subject.previous_state_machine,
    ]
    .into_iter()
    .flatten()
    {
        machine.revision_id = None;
        // Publishing and alias writes change these, not the configuration compared here.
        machine.versions.clear();
        machine.aliases.clear();
    }
    for alarm in &mut subject.alarms {
        alarm.tags = None;
    }
    let mut hasher = DefaultHasher::new();
    // Serialising an observation cannot fail: it holds only strings, numbers, maps and JSON values.
    serde_json::to_string(&subject)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

impl WriteMemory {
    /// Called with every observation of `machine` made for a reconcile, before it writes anything: whether
    /// the previous reconcile's writes changed nothing. Forgets that reconcile.
    pub(crate) fn observed(&self, machine: &str, fingerprint: u64) -> bool {
        let mut map = self.before_write.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(machine) == Some(fingerprint)
    }

    /// Remembers the observation a reconcile of `machine` made before it wrote successfully.
    pub(crate) fn wrote(&self, machine: &str, fingerprint: u64) {
        self.before_write
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(machine.to_owned(), fingerprint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfn_plan::{MachineType, ObservedStateMachine};
    use std::collections::BTreeMap;

    fn machine(definition: &str, revision: &str) -> ObservedMachine {
        ObservedMachine {
            state_machine: Some(ObservedStateMachine {
                arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
                name: "m".into(),
                machine_type: MachineType::Standard,
                definition: definition.into(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                status: "ACTIVE".into(),
                logging: None,
                tracing: false,
                encryption: None,
                revision_id: Some(revision.into()),
                tags: BTreeMap::new(),
                versions: Vec::new(),
                aliases: Vec::new(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_write_followed_by_the_same_observation_was_a_noop() {
        let memory = WriteMemory::default();
        let before = fingerprint(&machine("{\"a\":1}", "r1"));
        assert!(!memory.observed("m", before));
        memory.wrote("m", before);
        // The update changed the revision only: the same state, so the write changed nothing.
        let after = fingerprint(&machine("{\"a\":1}", "r2"));
        assert_eq!(before, after);
        assert!(memory.observed("m", after));
        // Judged once: the reconcile that found it did not write.
        assert!(!memory.observed("m", after));
    }

    #[test]
    fn a_write_that_changed_something_is_not_counted() {
        let memory = WriteMemory::default();
        memory.wrote("m", fingerprint(&machine("{\"a\":1}", "r1")));
        assert!(!memory.observed("m", fingerprint(&machine("{\"a\":2}", "r2"))));
        // Another machine's memory is its own.
        memory.wrote("m", fingerprint(&machine("{\"a\":1}", "r1")));
        assert!(!memory.observed("n", fingerprint(&machine("{\"a\":1}", "r1"))));
    }
}
