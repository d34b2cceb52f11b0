//! The StateMachine controller: resolve references → compile → derive IAM and alarms → plan and apply in AWS
//! → status and events, with the finalizer guarding AWS cleanup.
//!
//! Each step has its own error so the condition reason says where it stopped: `ReferenceNotFound` (a
//! TaskIntegration, Activity or StateMachine is missing or has no ARN yet; retried, and woken by the reference
//! index as soon as it appears), `InvalidDefinition` (waits for the next spec change: retrying cannot fix it),
//! `Throttled` / `AwsError` (retried with exponential backoff and jitter, except a call the operator's own
//! rate limit held back: that one is requeued for when its token is free, plus jitter).

use std::sync::Arc;
use std::time::Instant;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};

use sfn_api::{StateMachine, StateMachineStatus};
use sfn_plan::desired::{self, DesiredError};

use super::backend::BackendError;
use super::resolver::{StoreResolver, integration_names};
use super::status::{self, Outcome, Reason};
use super::{Context, FINALIZER, object_key, patch_status, resync_action};

/// Kind label in metrics and logs.
pub const KIND: &str = "StateMachine";

/// Why a StateMachine reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid definition: {0}")]
    InvalidDefinition(String),
    #[error("reference not found: {0}")]
    ReferenceNotFound(String),
    #[error("AWS: {0}")]
    Aws(#[from] BackendError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

impl Error {
    /// The innermost error (the finalizer helper wraps the apply/cleanup one).
    fn inner(&self) -> &Error {
        match self {
            Error::Finalizer(f) => match f.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.inner(),
                _ => self,
            },
            other => other,
        }
    }

    /// The reason word for metrics.
    pub fn reason(&self) -> &'static str {
        match self.inner() {
            Error::InvalidDefinition(_) => Reason::InvalidDefinition.as_str(),
            Error::ReferenceNotFound(_) => Reason::ReferenceNotFound.as_str(),
            Error::Aws(e) if e.throttled => Reason::Throttled.as_str(),
            Error::Aws(_) => Reason::AwsError.as_str(),
            Error::Kube(_) | Error::Finalizer(_) => "KubernetesError",
        }
    }
}

impl From<DesiredError> for Error {
    fn from(e: DesiredError) -> Self {
        match e {
            DesiredError::ReferenceNotFound(m) => Error::ReferenceNotFound(m),
            other => Error::InvalidDefinition(other.to_string()),
        }
    }
}

/// Reconciles one StateMachine.
pub async fn reconcile(sm: Arc<StateMachine>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let ns = sm.namespace().unwrap_or_default();
    let api: Api<StateMachine> = Api::namespaced(ctx.client.clone(), &ns);
    let key = object_key(sm.as_ref());
    let result = finalizer(&api, FINALIZER, sm, |event| async {
        match event {
            FinalizerEvent::Apply(sm) => apply(sm, &ctx, &api).await,
            FinalizerEvent::Cleanup(sm) => cleanup(sm, &ctx, &api).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics.reconciled(
        KIND,
        started.elapsed(),
        result.as_ref().err().map(|e| e.reason()),
    );
    if result.is_ok() {
        ctx.failures.succeeded(&key);
    }
    result
}

/// Invalid specs wait for a change; everything else retries with exponential backoff and jitter.
pub fn error_policy(sm: Arc<StateMachine>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = object_key(sm.as_ref());
    tracing::warn!(object = %key, error = %err, "StateMachine reconcile failed");
    if let Some(delay) = rate_limit_delay(err) {
        // Not a failure of the object: its turn comes when a token is free, without growing the backoff.
        return Action::requeue(delay);
    }
    match err.inner() {
        Error::InvalidDefinition(_) => Action::await_change(),
        // The reference usually appears through a watch event; the retry is a safety net for the cases no
        // event covers (a label selector hiding it, a cache that lagged), so it does not back off far.
        Error::ReferenceNotFound(_) => Action::requeue(
            ctx.backoff_delay(&key)
                .min(super::policy::REFERENCE_RETRY_MAX),
        ),
        _ => Action::requeue(ctx.backoff_delay(&key)),
    }
}

/// The requeue the client-side rate limit asked for, when that is why the reconcile stopped.
fn rate_limit_delay(err: &Error) -> Option<std::time::Duration> {
    match err.inner() {
        Error::Aws(e) => e.retry_after.map(super::policy::after_rate_limit),
        _ => None,
    }
}

fn previous_has_arn(status: Option<&StateMachineStatus>) -> bool {
    status
        .and_then(|s| s.state_machine_arn.as_deref())
        .is_some_and(|a| !a.is_empty())
}

/// How a status write treats `lastSyncTime`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sync {
    /// A failed reconcile: keep the previous time.
    Failed,
    /// A successful reconcile that wrote nothing to AWS: stamp only if the status changes anyway.
    Unchanged,
    /// A successful reconcile that wrote to AWS: always stamp (and so always write).
    Applied,
}

/// Writes `new` when it differs from the current status. `lastSyncTime` is the time of the last successful
/// reconcile that changed something, in AWS or in this status; an idle resync changes nothing and writes
/// nothing. Returns whether a write happened.
async fn write_status(
    api: &Api<StateMachine>,
    sm: &StateMachine,
    mut new: StateMachineStatus,
    sync: Sync,
) -> Result<bool, kube::Error> {
    let old = sm.status.as_ref();
    new.last_sync_time = old.and_then(|s| s.last_sync_time.clone());
    if sync != Sync::Applied && old == Some(&new) {
        return Ok(false);
    }
    if sync != Sync::Failed {
        new.last_sync_time = Some(status::now_rfc3339());
    }
    patch_status(api, &sm.name_any(), old, &new).await?;
    Ok(true)
}

fn failed_status(sm: &StateMachine, outcome: &Outcome) -> StateMachineStatus {
    let mut st = sm.status.clone().unwrap_or_default();
    let generation = sm.metadata.generation;
    st.conditions =
        status::next_conditions(&st.conditions, outcome, generation, &status::now_rfc3339());
    st.observed_generation = generation;
    st
}

async fn apply(
    sm: Arc<StateMachine>,
    ctx: &Context,
    api: &Api<StateMachine>,
) -> Result<Action, Error> {
    let ns = sm.namespace().unwrap_or_default();
    let name = sm.name_any();
    let key = object_key(sm.as_ref());
    let generation = sm.metadata.generation;

    let names = integration_names(&sm.spec);
    let resolver = StoreResolver::new(
        &ns,
        names.iter().map(String::as_str),
        &ctx.integrations,
        &ctx.activities,
        &ctx.machines,
    );
    let built = desired::build(
        &sm,
        &resolver,
        &desired::Settings::from(ctx.config.as_ref()),
    );
    ctx.machine_refs
        .set((ns.clone(), name.clone()), resolver.recorded());

    let built = match built {
        Ok(b) => b,
        Err(e) => {
            let err = Error::from(e);
            let reason = match err {
                Error::ReferenceNotFound(_) => Reason::ReferenceNotFound,
                _ => Reason::InvalidDefinition,
            };
            let message = match &err {
                Error::ReferenceNotFound(m) | Error::InvalidDefinition(m) => m.clone(),
                other => other.to_string(),
            };
            let outcome = Outcome::Failed {
                reason,
                message: message.clone(),
                transient: false,
            };
            let st = failed_status(&sm, &outcome);
            ctx.metrics
                .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
            if write_status(api, &sm, st, Sync::Failed).await? {
                ctx.event(sm.as_ref(), true, reason.as_str(), "Compile", message)
                    .await;
            }
            return Err(err);
        }
    };

    let result = match ctx.backend.reconcile_machine(&built.desired).await {
        Ok(applied) => retire_renamed(&sm, &built.desired, ctx)
            .await
            .map(|()| applied),
        Err(e) => Err(e),
    };
    match result {
        Ok(applied) => {
            let existed = previous_has_arn(sm.status.as_ref());
            // Only the AWS layer can tell drift from a spec change: it compares the live resources with the
            // hash of the desired state it last applied (a TaskIntegration edit changes the desired state
            // without changing this object's generation).
            let drift = applied.operations > 0 && existed && applied.drift_corrected;
            let (action, resync_warning) = resync_action(sm.as_ref(), &ctx.config);

            let message = if drift {
                "AWS had drifted from the spec and was put back".to_owned()
            } else {
                format!(
                    "state machine {} is in line with the spec",
                    built.desired.name
                )
            };
            let outcome = Outcome::Synced {
                drift_corrected: drift,
                message,
            };
            let mut st = sm.status.clone().unwrap_or_default();
            st.conditions = status::next_conditions(
                &st.conditions,
                &outcome,
                generation,
                &status::now_rfc3339(),
            );
            st.observed_generation = generation;
            st.state_machine_arn = Some(applied.state_machine_arn.clone());
            st.role_arn = applied.role_arn.clone();
            st.version_arn = if built.desired.publish.is_some() {
                applied.version_arn.clone().or(st.version_arn.clone())
            } else {
                None
            };
            st.alarm_names = applied.alarm_names.clone();
            st.definition_hash = Some(built.definition_hash.clone());
            let mut warnings = built.warnings.clone();
            warnings.extend(resync_warning);
            st.warnings = warnings;
            ctx.metrics
                .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
            let sync = if applied.operations > 0 {
                Sync::Applied
            } else {
                Sync::Unchanged
            };
            write_status(api, &sm, st, sync).await?;

            if applied.operations > 0 {
                if !existed {
                    ctx.event(
                        sm.as_ref(),
                        false,
                        "Created",
                        "Create",
                        format!("created state machine {}", applied.state_machine_arn),
                    )
                    .await;
                } else if drift {
                    ctx.metrics.drift_corrected(KIND);
                    ctx.event(
                        sm.as_ref(),
                        false,
                        Reason::DriftCorrected.as_str(),
                        "Update",
                        format!(
                            "state machine {} had drifted from the spec; {} change(s) applied",
                            applied.state_machine_arn, applied.operations
                        ),
                    )
                    .await;
                } else {
                    ctx.event(
                        sm.as_ref(),
                        false,
                        "Updated",
                        "Update",
                        format!(
                            "updated state machine {} ({} change(s))",
                            applied.state_machine_arn, applied.operations
                        ),
                    )
                    .await;
                }
            }
            Ok(action)
        }
        Err(aws) => {
            let reason = if aws.throttled {
                Reason::Throttled
            } else {
                Reason::AwsError
            };
            let outcome = Outcome::Failed {
                reason,
                message: aws.message.clone(),
                transient: aws.transient,
            };
            let st = failed_status(&sm, &outcome);
            ctx.metrics
                .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
            if write_status(api, &sm, st, Sync::Failed).await? {
                ctx.event(
                    sm.as_ref(),
                    true,
                    reason.as_str(),
                    "Apply",
                    aws.message.clone(),
                )
                .await;
            }
            Err(Error::Aws(aws))
        }
    }
}

/// After a replacement under a new AWS name, removes what the previous name left behind: the state machine
/// is already gone, but its role and alarms are named after it. The status still points at the previous
/// machine until this reconcile's status write, so a crash in between repeats this step. The AWS layer
/// deletes only what carries this object's ownership tags.
async fn retire_renamed(
    sm: &StateMachine,
    desired: &sfn_plan::DesiredMachine,
    ctx: &Context,
) -> Result<(), BackendError> {
    let previous = sm
        .status
        .as_ref()
        .and_then(|s| s.state_machine_arn.as_deref())
        .and_then(sfn_api::naming::name_from_sfn_arn);
    let Some(old) = previous.filter(|old| *old != desired.name) else {
        return Ok(());
    };
    let mut retired = desired.clone();
    retired.name = old.to_owned();
    retired.alarms.clear();
    retired.previous_arn = None;
    retired.publish = None;
    if let sfn_plan::DesiredRole::Managed(role) = &mut retired.role {
        role.name = sfn_api::naming::role_name(old);
        role.policies.clear();
    }
    ctx.backend.delete_machine(&retired).await?;
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

async fn cleanup(
    sm: Arc<StateMachine>,
    ctx: &Context,
    api: &Api<StateMachine>,
) -> Result<Action, Error> {
    let ns = sm.namespace().unwrap_or_default();
    let name = sm.name_any();
    let key = object_key(sm.as_ref());
    let settings = desired::Settings::from(ctx.config.as_ref());

    if desired::deletion_policy(&sm, &settings) == desired::DeletionPolicy::Retain {
        ctx.machine_refs.remove(&(ns, name));
        ctx.metrics.set_ready(KIND, &key, None);
        ctx.event(
            sm.as_ref(),
            false,
            "Retained",
            "Delete",
            "deletionPolicy Retain: the state machine, its role and alarms stay in AWS".to_owned(),
        )
        .await;
        return Ok(Action::await_change());
    }

    let outcome = Outcome::Deleting {
        message: "deleting the alarms, the state machine and its role".to_owned(),
    };
    // Best effort: the object may be going away under us.
    let _ = write_status(api, &sm, failed_status(&sm, &outcome), Sync::Failed).await;

    let names = integration_names(&sm.spec);
    let resolver = StoreResolver::new(
        &ns,
        names.iter().map(String::as_str),
        &ctx.integrations,
        &ctx.activities,
        &ctx.machines,
    );
    let target = desired::for_deletion(&sm, &resolver, &settings);
    match ctx.backend.delete_machine(&target).await {
        Ok(()) => {
            ctx.machine_refs.remove(&(ns, name));
            ctx.metrics.set_ready(KIND, &key, None);
            ctx.event(
                sm.as_ref(),
                false,
                "Deleted",
                "Delete",
                format!("deleted state machine {} and what it owned", target.name),
            )
            .await;
            Ok(Action::await_change())
        }
        Err(aws) => {
            ctx.event(
                sm.as_ref(),
                true,
                Reason::AwsError.as_str(),
                "Delete",
                aws.message.clone(),
            )
            .await;
            Err(Error::Aws(aws))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn aws(retry_after: Option<Duration>) -> Error {
        Error::Aws(BackendError {
            message: "sfn:CreateStateMachine: client-side rate limit reached".into(),
            transient: true,
            throttled: true,
            retry_after,
        })
    }

    #[test]
    fn a_rate_limited_reconcile_is_requeued_for_when_its_token_is_free() {
        // As the controller sees it: wrapped by the finalizer helper.
        let err = Error::Finalizer(Box::new(finalizer::Error::ApplyFailed(aws(Some(
            Duration::from_secs(30),
        )))));
        assert_eq!(err.reason(), "Throttled");
        for _ in 0..50 {
            let delay = rate_limit_delay(&err).expect("a rate limited error has a delay");
            assert!(
                delay >= Duration::from_secs(30) && delay <= Duration::from_secs(33),
                "{delay:?}"
            );
        }
        // A short wait still gets up to a second of spread, never less than the wait itself.
        let short = aws(Some(Duration::from_millis(2500)));
        let delay = rate_limit_delay(&short).unwrap();
        assert!(
            delay >= Duration::from_millis(2500) && delay <= Duration::from_millis(3500),
            "{delay:?}"
        );
    }

    #[test]
    fn other_failures_keep_the_backoff() {
        assert_eq!(rate_limit_delay(&aws(None)), None);
        assert_eq!(
            rate_limit_delay(&Error::ReferenceNotFound("TaskIntegration x".into())),
            None
        );
        assert_eq!(
            rate_limit_delay(&Error::InvalidDefinition("state A: next".into())),
            None
        );
    }
}
