//! The StateMachine kind: resolve references → compile → derive IAM and alarms (the build step), then plan
//! and apply the machine, its role and alarms in AWS, with the finalizer guarding their cleanup. Only what is
//! particular to state machines is here; the reconcile itself is the shared [`pipeline`](super::pipeline).
//!
//! The build step tells a missing reference (`ReferenceNotFound`: a TaskIntegration, Activity or
//! StateMachine is missing or has no ARN yet, or does not declare the alias a TaskIntegration starts;
//! retried, and woken by the reference index as soon as it appears) from an invalid definition (`InvalidDefinition`: waits for the next spec change, as retrying
//! cannot fix it). With `--aws-validate`, AWS's verdict on the compiled definition comes between the build
//! and the apply ([`aws_validation`]); its FAIL is an `InvalidDefinition` too. After the apply, a
//! bring-your-own role is audited against what the definition needs ([`role_audit`]): `status.iam` and the
//! `RoleCoversDefinition` condition, informational only. Then, at most once per resync, the newest
//! executions are sampled for `status.executions` ([`execution_summary`]), informational too.

use std::collections::BTreeSet;

use async_trait::async_trait;
use kube::runtime::controller::Action;

use sfn_api::status::set_condition;
use sfn_api::{
    CONDITION_ROLE_COVERS_DEFINITION, IamAudit, IdentityStatus, StateMachine, StateMachineStatus,
};
use sfn_plan::desired::{self, Built};
use sfn_plan::{DesiredMachine, DesiredRole};

use super::backend::{BackendError, MachineApplied};
use super::error::BuildError;
use super::execution_summary::{self, Sampled};
use super::identity::Scope;
use super::pipeline::{
    Deletion, Kind, KindStatus, Note, Synced, Teardown, conditions_and_generation,
};
use super::refindex::{RefKey, ReferenceIndex};
use super::resolver::{StoreResolver, integration_names};
use super::status::{self, Outcome, Reason};
use super::{Config, Context, aws_validation, resync_action, role_audit};

/// Kind label in metrics and logs.
pub const KIND: &str = "StateMachine";

/// What a StateMachine apply left: the AWS layer's facts and, for a bring-your-own role, its audit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    pub machine: MachineApplied,
    /// `None` for a role the operator creates.
    pub role_audit: Option<IamAudit>,
    /// What becomes of `status.executions`.
    pub executions: Sampled,
}

impl KindStatus for StateMachineStatus {
    conditions_and_generation!();

    fn last_sync_time_mut(&mut self) -> Option<&mut Option<String>> {
        Some(&mut self.last_sync_time)
    }

    fn last_sync_time(&self) -> Option<String> {
        self.last_sync_time.clone()
    }

    fn set_identity(&mut self, identity: IdentityStatus) {
        self.identity = Some(identity);
    }
}

/// The scope's cache view of what `sm` can reference, recording each lookup.
fn resolver(sm: &StateMachine, ctx: &Context) -> StoreResolver {
    let names = integration_names(&sm.spec);
    StoreResolver::new(
        sm.metadata.namespace.as_deref().unwrap_or_default(),
        names.iter().map(String::as_str),
        &ctx.stores(),
    )
}

fn previous_arn(sm: &StateMachine) -> Option<&str> {
    sm.status
        .as_ref()
        .and_then(|s| s.state_machine_arn.as_deref())
}

#[async_trait]
impl Kind for StateMachine {
    const KIND: &'static str = KIND;
    const BUILD_ACTION: &'static str = "Compile";
    const TEARDOWN: Teardown = Teardown::Finalize {
        deleting: Some("deleting the alarms, the state machine and its role"),
        in_gauge_until_gone: true,
        warn_on_failure: true,
    };

    type Status = StateMachineStatus;
    type Desired = Built;
    type Applied = Applied;
    type Target = DesiredMachine;

    fn status(&self) -> Option<&StateMachineStatus> {
        self.status.as_ref()
    }

    const USES_IDENTITY: bool = true;

    fn identity_ref(&self) -> Option<&str> {
        self.spec.identity_ref.as_ref().map(|r| r.name.as_str())
    }

    fn recorded_identity(&self) -> Option<&IdentityStatus> {
        self.status.as_ref().and_then(|s| s.identity.as_ref())
    }

    /// What each StateMachine references (TaskIntegrations, and through them Activities and StateMachines).
    fn reference_index(ctx: &Context) -> Option<&ReferenceIndex> {
        Some(&ctx.machine_refs)
    }

    fn build(&self, ctx: &Context, scope: &Scope) -> (Result<Built, BuildError>, Vec<RefKey>) {
        let resolver = resolver(self, ctx);
        let built = desired::build(self, &resolver, &scope.settings)
            .map_err(|e| BuildError::from_desired(e, "definition"));
        (built, resolver.recorded())
    }

    /// With `--aws-validate`: AWS's own validation, after the offline one.
    async fn review(&self, built: &mut Built, ctx: &Context) -> Result<(), BuildError> {
        if !ctx.config.aws_validate {
            return Ok(());
        }
        aws_validation::review(built, ctx).await
    }

    async fn apply(
        &self,
        built: &Built,
        ctx: &Context,
        scope: &Scope,
    ) -> Result<Applied, BackendError> {
        let machine = scope.backend.reconcile_machine(&built.desired).await?;
        if machine.previous_writes_were_noops {
            ctx.metrics.noop_writes(<Self as Kind>::KIND);
        }
        retire_renamed(self, &built.desired, ctx, scope).await?;
        // After the apply: the audit never stands in the way of it, and cannot fail.
        let role_audit = role_audit::audit(self, built, ctx, scope.backend.as_ref()).await;
        let executions = execution_summary::sample(
            self,
            &machine.state_machine_arn,
            ctx,
            scope.backend.as_ref(),
        )
        .await;
        Ok(Applied {
            machine,
            role_audit,
            executions,
        })
    }

    fn synced(
        &self,
        built: &Built,
        applied: &Applied,
        config: &Config,
        st: &mut StateMachineStatus,
    ) -> Synced {
        // Decided against the audit the status held before this reconcile, so that a resync with the same
        // result stays quiet.
        let missing_note = missing_permissions_note(st.iam.as_ref(), applied.role_audit.as_ref());
        record_role_audit(applied.role_audit.as_ref(), self.metadata.generation, st);
        if let Sampled::Set(executions) = &applied.executions {
            st.executions = executions.as_deref().cloned();
        }
        let applied = &applied.machine;
        let existed = previous_arn(self).is_some_and(|a| !a.is_empty());
        // Only the AWS layer can tell drift from a spec change: it compares the live resources with the
        // hash of the desired state it last applied (a TaskIntegration edit changes the desired state
        // without changing this object's generation).
        let drift = applied.operations > 0 && existed && applied.drift_corrected;
        let (requeue, resync_warning) = resync_action(self, config);
        // A rollout's next step (or its alarm watch) comes before the resync.
        let requeue = match applied.requeue_after {
            Some(after) if after < config.resync_period => Action::requeue(after),
            _ => requeue,
        };

        st.state_machine_arn = Some(applied.state_machine_arn.clone());
        st.role_arn = applied.role_arn.clone();
        st.version_arn = if built.desired.publish.is_some() {
            applied.version_arn.clone().or(st.version_arn.clone())
        } else {
            None
        };
        st.versions =
            sfn_plan::versions::keep_known_versions(&st.versions, applied.versions.clone());
        st.aliases = applied.aliases.clone();
        st.rollout = applied.rollout.clone();
        st.alarm_names = applied.alarm_names.clone();
        st.definition_hash = Some(built.definition_hash.clone());
        let mut warnings = built.warnings();
        warnings.extend(resync_warning);
        // One Warning event when the warnings change, not one per resync: the status keeps showing them.
        let new_warnings = new_warnings_note(&st.warnings, &warnings);
        st.warnings = warnings;

        let message = if drift {
            "AWS had drifted from the spec and was put back".to_owned()
        } else {
            format!(
                "state machine {} is in line with the spec",
                built.desired.name
            )
        };
        let arn = &applied.state_machine_arn;
        let event = if applied.operations == 0 {
            None
        } else if !existed {
            Some(Note {
                reason: "Created",
                action: "Create",
                note: format!("created state machine {arn}"),
            })
        } else if drift {
            Some(Note {
                reason: Reason::DriftCorrected.as_str(),
                action: "Update",
                note: format!(
                    "state machine {arn} had drifted from the spec; {} change(s) applied",
                    applied.operations
                ),
            })
        } else {
            Some(Note {
                reason: "Updated",
                action: "Update",
                note: format!(
                    "updated state machine {arn} ({} change(s))",
                    applied.operations
                ),
            })
        };
        // Rollout transitions, one event each: rollbacks, aborts and pauses as Warnings.
        let mut rollout_warnings = Vec::new();
        let mut notes = Vec::new();
        for e in &applied.rollout_events {
            let note = Note {
                reason: e.reason,
                action: "Rollout",
                note: e.message.clone(),
            };
            if e.warning {
                rollout_warnings.push(note);
            } else {
                notes.push(note);
            }
        }
        Synced {
            outcome: Outcome::Synced {
                drift_corrected: drift,
                message,
            },
            wrote_aws: applied.operations > 0,
            event,
            notes,
            warnings: new_warnings
                .into_iter()
                .chain(missing_note)
                .chain(rollout_warnings)
                .collect(),
            requeue,
        }
    }

    fn deletion(&self, ctx: &Context, scope: &Scope) -> Deletion<DesiredMachine> {
        let settings = &scope.settings;
        if desired::deletion_policy(self, settings) == desired::DeletionPolicy::Retain {
            return Deletion::Retain {
                note: "deletionPolicy Retain: the state machine, its role and alarms stay in AWS",
            };
        }
        Deletion::Delete(desired::for_deletion(self, &resolver(self, ctx), settings))
    }

    async fn delete(
        &self,
        target: &DesiredMachine,
        _ctx: &Context,
        scope: &Scope,
    ) -> Result<String, BackendError> {
        scope.backend.delete_machine(target).await?;
        Ok(format!(
            "deleted state machine {} and what it owned",
            target.name
        ))
    }
}

/// `status.iam` and the `RoleCoversDefinition` condition from the audit; both go when the role is no longer
/// brought (the operator's own role needs no audit). `Ready` is left alone: the audit is a hint.
fn record_role_audit(
    audit: Option<&IamAudit>,
    generation: Option<i64>,
    st: &mut StateMachineStatus,
) {
    match audit {
        Some(audit) => {
            let _ = set_condition(
                &mut st.conditions,
                role_audit::condition(audit, generation, &status::now_rfc3339()),
            );
            st.iam = Some(audit.clone());
        }
        None => {
            st.iam = None;
            st.conditions
                .retain(|c| c.type_ != CONDITION_ROLE_COVERS_DEFINITION);
        }
    }
}

/// After a replacement under a new AWS name, removes what the previous name left behind: the state machine
/// is already gone, but its role and alarms are named after it. The status still points at the previous
/// machine until this reconcile's status write, so a crash in between repeats this step. The AWS layer
/// deletes only what carries this object's ownership tags.
async fn retire_renamed(
    sm: &StateMachine,
    desired: &DesiredMachine,
    ctx: &Context,
    scope: &Scope,
) -> Result<(), BackendError> {
    let previous = previous_arn(sm).and_then(sfn_api::naming::name_from_sfn_arn);
    let Some(old) = previous.filter(|old| *old != desired.name) else {
        return Ok(());
    };
    let mut retired = desired.clone();
    retired.name = old.to_owned();
    retired.alarms.clear();
    retired.previous_arn = None;
    retired.publish = None;
    retired.legacy_role_name = None;
    if let DesiredRole::Managed(role) = &mut retired.role {
        // The role the status points at is the previous name's; without one, the name it would have had.
        role.name = sm
            .status
            .as_ref()
            .and_then(|s| s.role_arn.as_deref())
            .and_then(sfn_api::naming::role_name_from_arn)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                sfn_api::naming::regional_role_name(
                    &scope.settings.guardrails.role_name_prefix,
                    old,
                    &scope.settings.region,
                )
            });
        role.policies.clear();
    }
    scope.backend.delete_machine(&retired).await?;
    ctx.event(
        sm,
        false,
        "Updated",
        "Replace",
        format!(
            "replaced state machine {old} by {}; deleted what the old name owned",
            desired.name
        ),
    )
    .await;
    Ok(())
}

/// How many items an event note names; the status field it points to has them all.
const SHOWN_IN_NOTE: usize = 3;

/// The first [`SHOWN_IN_NOTE`] of `items` joined by `; `, then "(and N more in FIELD)" when `total` is larger.
fn first_few(items: impl Iterator<Item = String>, total: usize, field: &str) -> String {
    let shown: Vec<String> = items.take(SHOWN_IN_NOTE).collect();
    let mut note = shown.join("; ");
    if total > shown.len() {
        note.push_str(&format!(" (and {} more in {field})", total - shown.len()));
    }
    note
}

/// The Warning event for warnings that `previous` did not hold, naming them (the first few; the status has all).
fn new_warnings_note(previous: &[String], current: &[String]) -> Option<Note> {
    let fresh: Vec<&String> = current.iter().filter(|w| !previous.contains(w)).collect();
    if fresh.is_empty() {
        return None;
    }
    let note = first_few(
        fresh.iter().map(|w| w.to_string()),
        fresh.len(),
        "status.warnings",
    );
    Some(Note {
        reason: "Warnings",
        action: "Validate",
        note,
    })
}

/// The missing `(action, resource)` pairs of an audit that found the role short (the condition False), as a
/// set: the audit's order is not part of what changed. `None` when the condition is not False.
fn missing_set(audit: Option<&IamAudit>) -> Option<(u32, BTreeSet<(&str, &str)>)> {
    let audit = audit.filter(|a| a.audited && a.missing_count > 0)?;
    let pairs = audit
        .missing
        .iter()
        .map(|m| (m.action.as_str(), m.resource.as_str()))
        .collect();
    Some((audit.missing_count, pairs))
}

/// The Warning event for a role that became short of permissions: `RoleCoversDefinition` turns False, or
/// stays False with a different missing set. Nothing while the same set stays missing (every resync
/// re-reads the cached audit), nor on recovery (the condition says so and nothing needs doing).
fn missing_permissions_note(
    previous: Option<&IamAudit>,
    current: Option<&IamAudit>,
) -> Option<Note> {
    let now = missing_set(current)?;
    if missing_set(previous).as_ref() == Some(&now) {
        return None;
    }
    let audit = current?;
    // Counted against the total, not the listed ones: status.iam lists at most 20 of them.
    let note = format!(
        "the role does not allow {} permission(s) the definition needs: {}",
        audit.missing_count,
        first_few(
            audit
                .missing
                .iter()
                .map(|m| format!("{} on {}", m.action, m.resource)),
            audit.missing_count as usize,
            "status.iam",
        )
    );
    Some(Note {
        reason: sfn_api::status::reasons::MISSING_PERMISSIONS,
        action: "Audit",
        note,
    })
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector;

    use super::*;
    use crate::test_config as config;

    fn machine(status: Option<StateMachineStatus>) -> StateMachine {
        let mut sm: StateMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "m", "namespace": "ns", "generation": 1},
            "spec": {"definition": {"states": [{"name": "A", "type": "Pass", "end": true}]}}
        }))
        .expect("a valid StateMachine");
        sm.status = status;
        sm
    }

    fn built(sm: &StateMachine) -> Built {
        let (ti, _w1) = reflector::store();
        let (act, _w2) = reflector::store();
        let (machines, _w3) = reflector::store();
        let resolver = StoreResolver::new(
            "ns",
            [],
            &crate::resolver::test_stores(&ti, &act, &machines),
        );
        desired::build(sm, &resolver, &desired::Settings::from(&config()))
            .expect("a Pass machine builds")
    }

    fn applied(operations: usize, drift_corrected: bool) -> Applied {
        Applied {
            machine: MachineApplied {
                state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:ns-m".into(),
                role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
                version_arn: None,
                alarm_names: vec!["a".into()],
                operations,
                drift_corrected,
                previous_writes_were_noops: false,
                ..MachineApplied::default()
            },
            role_audit: None,
            executions: Sampled::Keep,
        }
    }

    fn synced(sm: &StateMachine, applied: &Applied) -> (Synced, StateMachineStatus) {
        let mut st = sm.status.clone().unwrap_or_default();
        let synced = sm.synced(&built(sm), applied, &config(), &mut st);
        (synced, st)
    }

    fn existing() -> Option<StateMachineStatus> {
        Some(StateMachineStatus {
            state_machine_arn: Some(applied(0, false).machine.state_machine_arn),
            version_arn: Some("arn:v1".into()),
            ..Default::default()
        })
    }

    #[test]
    fn a_first_apply_is_a_creation() {
        let sm = machine(None);
        let (synced, st) = synced(&sm, &applied(3, false));
        let event = synced.event.expect("an AWS write is announced");
        assert_eq!((event.reason, event.action), ("Created", "Create"));
        assert!(synced.wrote_aws);
        assert_eq!(
            st.state_machine_arn,
            Some(applied(0, false).machine.state_machine_arn)
        );
        assert_eq!(st.alarm_names, vec!["a".to_owned()]);
        assert!(st.definition_hash.is_some());
        assert_eq!(st.version_arn, None, "no publish, no version");
    }

    #[test]
    fn drift_is_reported_only_for_an_existing_machine() {
        let (synced_new, _) = synced(&machine(None), &applied(2, true));
        assert!(matches!(
            synced_new.outcome,
            Outcome::Synced {
                drift_corrected: false,
                ..
            }
        ));
        let (drifted, _) = synced(&machine(existing()), &applied(2, true));
        assert!(matches!(
            drifted.outcome,
            Outcome::Synced {
                drift_corrected: true,
                ..
            }
        ));
        let event = drifted.event.expect("a drift correction is announced");
        assert_eq!((event.reason, event.action), ("DriftCorrected", "Update"));
        let (updated, _) = synced(&machine(existing()), &applied(1, false));
        assert_eq!(updated.event.map(|e| e.reason), Some("Updated"));
    }

    #[test]
    fn rollout_transitions_become_events_and_the_next_step_comes_before_the_resync() {
        use sfn_plan::rollout::{RolloutEvent, reason};
        let mut a = applied(1, false);
        a.machine.requeue_after = Some(std::time::Duration::from_secs(7));
        a.machine.rollout_events = vec![
            RolloutEvent {
                warning: false,
                reason: reason::STEP_COMPLETED,
                message: "live: version 2 at 20 %".into(),
            },
            RolloutEvent {
                warning: true,
                reason: reason::ALARM_FIRED,
                message: "live: alarm m-failed in ALARM".into(),
            },
        ];
        let (stepped, _) = synced(&machine(existing()), &a);
        assert_eq!(stepped.event.map(|e| e.reason), Some("Updated"));
        assert_eq!(
            stepped.notes.iter().map(|n| n.reason).collect::<Vec<_>>(),
            [reason::STEP_COMPLETED]
        );
        assert!(
            stepped
                .warnings
                .iter()
                .any(|n| n.reason == reason::ALARM_FIRED && n.note.contains("m-failed"))
        );
        assert_eq!(
            stepped.requeue,
            Action::requeue(std::time::Duration::from_secs(7))
        );
        // No rollout: the resync alone.
        let (plain, _) = synced(&machine(existing()), &applied(0, false));
        assert!(plain.notes.is_empty());
        assert_ne!(
            plain.requeue,
            Action::requeue(std::time::Duration::from_secs(7))
        );
    }

    #[test]
    fn an_idle_resync_is_silent_and_keeps_what_aws_did_not_report() {
        let (idle, st) = synced(&machine(existing()), &applied(0, true));
        assert_eq!(idle.event, None);
        assert!(!idle.wrote_aws);
        assert!(matches!(
            idle.outcome,
            Outcome::Synced {
                drift_corrected: false,
                ..
            }
        ));
        assert_eq!(
            st.version_arn, None,
            "a version ARN goes once publish is off"
        );
    }

    #[test]
    fn an_unusable_resync_annotation_becomes_a_warning() {
        let mut sm = machine(None);
        sm.metadata.annotations = Some(
            [(
                crate::policy::RESYNC_PERIOD_ANNOTATION.to_owned(),
                "often".to_owned(),
            )]
            .into_iter()
            .collect(),
        );
        let (_, st) = synced(&sm, &applied(0, false));
        assert!(
            st.warnings.iter().any(|w| w.contains("often")),
            "{:?}",
            st.warnings
        );
    }

    #[test]
    fn a_role_audit_sets_status_iam_and_its_condition_but_not_ready() {
        let sm = machine(existing());
        let mut with_audit = applied(0, false);
        with_audit.role_audit = Some(sfn_plan::role_audit::audited(&[
            sfn_plan::role_audit::Missing {
                action: "sns:Publish".into(),
                resource: "arn:aws:sns:us-east-1:123456789012:done".into(),
                needed_by: vec!["state Notify".into()],
            },
        ]));
        let (audited, st) = synced(&sm, &with_audit);
        let iam = st.iam.clone().expect("status.iam");
        assert_eq!(iam.missing[0].action, "sns:Publish");
        let cond = sfn_api::find_condition(&st.conditions, CONDITION_ROLE_COVERS_DEFINITION)
            .expect("the condition");
        assert_eq!(
            (cond.status.as_str(), cond.reason.as_str()),
            ("False", "MissingPermissions")
        );
        assert!(matches!(audited.outcome, Outcome::Synced { .. }));
        assert!(
            sfn_api::find_condition(&st.conditions, "Ready").is_none(),
            "Ready is the pipeline's, from the outcome alone"
        );

        // The role becomes the operator's: both go.
        let mut sm = machine(Some(st));
        sm.metadata.generation = Some(2);
        let (_, st) = synced(&sm, &applied(1, false));
        assert_eq!(st.iam, None);
        // Written as null, so that the merge patch of the status removes the old audit.
        let written = serde_json::to_value(&st).expect("a status serializes");
        assert_eq!(written.get("iam"), Some(&serde_json::Value::Null));
        let covered = serde_json::to_value(sfn_plan::role_audit::audited(&[])).expect("serializes");
        assert_eq!(covered["missing"], serde_json::json!([]));
        assert!(
            sfn_api::find_condition(&st.conditions, CONDITION_ROLE_COVERS_DEFINITION).is_none()
        );
    }

    #[test]
    fn a_sample_sets_status_executions_and_no_sample_keeps_it() {
        let summary = sfn_api::ExecutionsStatus {
            running: 1,
            failures_last_hour: 2,
            read: 3,
            ..Default::default()
        };
        let mut sampled = applied(0, false);
        sampled.executions = Sampled::Set(Some(Box::new(summary.clone())));
        let (quiet, st) = synced(&machine(existing()), &sampled);
        assert_eq!(st.executions.as_ref(), Some(&summary));
        assert_eq!(quiet.event, None, "a summary is not an event");

        // A reconcile that does not sample (a rollout's requeue, a failed read) leaves it alone.
        let (_, kept) = synced(&machine(Some(st.clone())), &applied(0, false));
        assert_eq!(kept.executions.as_ref(), Some(&summary));

        // Turned off: removed, and written as null so that the merge patch removes it.
        let mut off = applied(0, false);
        off.executions = Sampled::Set(None);
        let (_, cleared) = synced(&machine(Some(st)), &off);
        assert_eq!(cleared.executions, None);
        let written = serde_json::to_value(&cleared).expect("a status serializes");
        assert_eq!(written.get("executions"), Some(&serde_json::Value::Null));
    }

    #[test]
    fn only_new_warnings_make_an_event() {
        let old = vec!["NO_DOLLAR: a".to_owned()];
        assert!(new_warnings_note(&old, &old).is_none());
        assert!(new_warnings_note(&old, &[]).is_none());
        let now: Vec<String> = ["NO_DOLLAR: a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let note = new_warnings_note(&old, &now).expect("new warnings");
        assert_eq!(note.reason, "Warnings");
        assert_eq!(note.note, "b; c; d (and 1 more in status.warnings)");
    }

    fn missing(pairs: &[(&str, &str)]) -> Vec<sfn_plan::role_audit::Missing> {
        pairs
            .iter()
            .map(|(action, resource)| sfn_plan::role_audit::Missing {
                action: (*action).into(),
                resource: (*resource).into(),
                needed_by: vec!["state A".into()],
            })
            .collect()
    }

    #[test]
    fn only_a_new_missing_set_makes_an_event() {
        let short = sfn_plan::role_audit::audited(&missing(&[
            ("sns:Publish", "arn:aws:sns:us-east-1:123456789012:done"),
            (
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:123456789012:function:f",
            ),
            ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q"),
            ("s3:GetObject", "arn:aws:s3:::b/*"),
        ]));
        let covered = sfn_plan::role_audit::audited(&[]);
        let not_audited = IamAudit {
            audited: false,
            message: "access denied".into(),
            ..Default::default()
        };

        // Turns False: from no audit, from covered, from not audited.
        for previous in [None, Some(&covered), Some(&not_audited)] {
            let note = missing_permissions_note(previous, Some(&short)).expect("turned False");
            assert_eq!((note.reason, note.action), ("MissingPermissions", "Audit"));
            assert_eq!(
                note.note,
                "the role does not allow 4 permission(s) the definition needs: \
                 sns:Publish on arn:aws:sns:us-east-1:123456789012:done; \
                 lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:f; \
                 sqs:SendMessage on arn:aws:sqs:us-east-1:123456789012:q (and 1 more in status.iam)"
            );
        }

        // Unchanged: the same set, in whatever order, is quiet on every resync.
        assert!(missing_permissions_note(Some(&short), Some(&short)).is_none());
        let mut reordered = short.clone();
        reordered.missing.reverse();
        assert!(missing_permissions_note(Some(&short), Some(&reordered)).is_none());

        // Changed while False: another permission goes missing, or one is granted.
        let fewer = sfn_plan::role_audit::audited(&missing(&[(
            "sns:Publish",
            "arn:aws:sns:us-east-1:123456789012:done",
        )]));
        let note = missing_permissions_note(Some(&short), Some(&fewer)).expect("another set");
        assert_eq!(
            note.note,
            "the role does not allow 1 permission(s) the definition needs: \
             sns:Publish on arn:aws:sns:us-east-1:123456789012:done"
        );
        assert!(missing_permissions_note(Some(&fewer), Some(&short)).is_some());

        // Recovered or not audited any more, or no role to audit: no Warning.
        for current in [Some(&covered), Some(&not_audited), None] {
            assert!(missing_permissions_note(Some(&short), current).is_none());
        }
    }

    #[test]
    fn a_missing_permissions_warning_is_published_once() {
        let sm = machine(existing());
        let mut short = applied(0, false);
        short.role_audit = Some(sfn_plan::role_audit::audited(&missing(&[(
            "sns:Publish",
            "arn:aws:sns:us-east-1:123456789012:done",
        )])));
        let (first, st) = synced(&sm, &short);
        let reasons: Vec<&str> = first.warnings.iter().map(|n| n.reason).collect();
        assert!(reasons.contains(&"MissingPermissions"), "{reasons:?}");

        // The next resync finds the same audit in the status: no Warning again.
        let sm = machine(Some(st));
        let (again, _) = synced(&sm, &short);
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    }
}
