//! The Activity controller: keeps one Step Functions activity per Activity object and reports its ARN,
//! which StateMachines (through TaskIntegrations with `activityRef`) wait for.

use std::sync::Arc;
use std::time::Instant;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};

use sfn_api::{Activity, ActivityStatus};
use sfn_plan::desired;

use super::backend::BackendError;
use super::status::{self, Outcome, Reason};
use super::{Context, FINALIZER, object_key, patch_status, resync_action};

/// Kind label in metrics and logs.
pub const KIND: &str = "Activity";

/// Why an Activity reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid spec: {0}")]
    Invalid(String),
    #[error("AWS: {0}")]
    Aws(#[from] BackendError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

impl Error {
    fn inner(&self) -> &Error {
        match self {
            Error::Finalizer(f) => match f.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.inner(),
                _ => self,
            },
            other => other,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self.inner() {
            Error::Invalid(_) => Reason::InvalidDefinition.as_str(),
            Error::Aws(e) if e.throttled => Reason::Throttled.as_str(),
            Error::Aws(_) => Reason::AwsError.as_str(),
            Error::Kube(_) | Error::Finalizer(_) => "KubernetesError",
        }
    }
}

/// Reconciles one Activity.
pub async fn reconcile(act: Arc<Activity>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let ns = act.namespace().unwrap_or_default();
    let api: Api<Activity> = Api::namespaced(ctx.client.clone(), &ns);
    let key = object_key(act.as_ref());
    let result = finalizer(&api, FINALIZER, act, |event| async {
        match event {
            FinalizerEvent::Apply(a) => apply(a, &ctx, &api).await,
            FinalizerEvent::Cleanup(a) => cleanup(a, &ctx).await,
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

pub fn error_policy(act: Arc<Activity>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = object_key(act.as_ref());
    tracing::warn!(object = %key, error = %err, "Activity reconcile failed");
    if let Some(delay) = rate_limit_delay(err) {
        // Not a failure of the object: its turn comes when a token is free, without growing the backoff.
        return Action::requeue(delay);
    }
    match err.inner() {
        Error::Invalid(_) => Action::await_change(),
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

async fn write_status(
    api: &Api<Activity>,
    act: &Activity,
    new: ActivityStatus,
) -> Result<bool, kube::Error> {
    let old = act.status.as_ref();
    if old == Some(&new) {
        return Ok(false);
    }
    patch_status(api, &act.name_any(), old, &new).await?;
    Ok(true)
}

fn next_status(act: &Activity, outcome: &Outcome, arn: Option<String>) -> ActivityStatus {
    let mut st = act.status.clone().unwrap_or_default();
    let generation = act.metadata.generation;
    st.conditions =
        status::next_conditions(&st.conditions, outcome, generation, &status::now_rfc3339());
    st.observed_generation = generation;
    if arn.is_some() {
        st.activity_arn = arn;
    }
    st
}

async fn apply(act: Arc<Activity>, ctx: &Context, api: &Api<Activity>) -> Result<Action, Error> {
    let key = object_key(act.as_ref());
    let settings = desired::Settings::from(ctx.config.as_ref());
    let target = match desired::activity(&act, &settings) {
        Ok(t) => t,
        Err(e) => {
            let message = e.to_string();
            let outcome = Outcome::Failed {
                reason: Reason::InvalidDefinition,
                message: message.clone(),
                transient: false,
            };
            let st = next_status(&act, &outcome, None);
            ctx.metrics
                .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
            if write_status(api, &act, st).await? {
                ctx.event(
                    act.as_ref(),
                    true,
                    "InvalidDefinition",
                    "Validate",
                    message.clone(),
                )
                .await;
            }
            return Err(Error::Invalid(message));
        }
    };
    let result = match ctx.backend.reconcile_activity(&target).await {
        Ok(applied) => retire_renamed(&act, &target, ctx).await.map(|()| applied),
        Err(e) => Err(e),
    };
    match result {
        Ok(applied) => {
            let existed = act
                .status
                .as_ref()
                .and_then(|s| s.activity_arn.as_deref())
                .is_some_and(|a| !a.is_empty());
            let outcome = Outcome::Synced {
                drift_corrected: false,
                message: format!("activity {} exists", applied.activity_arn),
            };
            let st = next_status(&act, &outcome, Some(applied.activity_arn.clone()));
            ctx.metrics
                .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
            write_status(api, &act, st).await?;
            if applied.operations > 0 {
                let (reason, verb) = if existed {
                    ("Updated", "updated")
                } else {
                    ("Created", "created")
                };
                ctx.event(
                    act.as_ref(),
                    false,
                    reason,
                    "Apply",
                    format!("{verb} activity {}", applied.activity_arn),
                )
                .await;
            }
            let (action, _) = resync_action(act.as_ref(), &ctx.config);
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
            let st = next_status(&act, &outcome, None);
            ctx.metrics
                .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
            if write_status(api, &act, st).await? {
                ctx.event(
                    act.as_ref(),
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

/// After an AWS name change (`spec.name`), deletes the activity under the previous name, which the status
/// still points at: without this it would be orphaned. The AWS layer deletes it only if it carries this
/// object's ownership tags.
async fn retire_renamed(
    act: &Activity,
    target: &sfn_plan::DesiredActivity,
    ctx: &Context,
) -> Result<(), BackendError> {
    let previous = act
        .status
        .as_ref()
        .and_then(|s| s.activity_arn.as_deref())
        .and_then(sfn_api::naming::name_from_sfn_arn);
    match previous {
        Some(old) if old != target.name => {
            let mut retired = target.clone();
            retired.name = old.to_owned();
            ctx.backend.delete_activity(&retired).await?;
            ctx.event(
                act,
                false,
                "Updated",
                "Rename",
                format!(
                    "deleted the activity {old} after the rename to {}",
                    target.name
                ),
            )
            .await;
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn cleanup(act: Arc<Activity>, ctx: &Context) -> Result<Action, Error> {
    let key = object_key(act.as_ref());
    let settings = desired::Settings::from(ctx.config.as_ref());
    ctx.metrics.set_ready(KIND, &key, None);
    let target = match desired::activity(&act, &settings) {
        Ok(t) => t,
        // A spec that never produced an activity has nothing to clean up.
        Err(_) => return Ok(Action::await_change()),
    };
    if desired::activity_deletion_policy(&act, &settings) == desired::DeletionPolicy::Retain {
        ctx.event(
            act.as_ref(),
            false,
            "Retained",
            "Delete",
            "deletionPolicy Retain: the activity stays in AWS".to_owned(),
        )
        .await;
        return Ok(Action::await_change());
    }
    ctx.backend.delete_activity(&target).await?;
    ctx.event(
        act.as_ref(),
        false,
        "Deleted",
        "Delete",
        "deleted the activity".to_owned(),
    )
    .await;
    Ok(Action::await_change())
}
