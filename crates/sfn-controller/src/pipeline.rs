//! The one reconcile pipeline of the three kinds: finalizer → build the desired state (resolving and
//! recording references) → review it (a kind's optional further check) → apply in AWS → status and conditions → events, with the metrics and the error
//! policy around it; and on deletion: cleanup in AWS (or retain) → events.
//!
//! A kind plugs in only what is its own through [`Kind`]: how its desired state is built, how it is applied
//! and deleted, what its status holds beyond the conditions, and which reference index lists its
//! dependencies. Everything that must look the same across kinds (condition rules, when a status is
//! written, which failures publish an event, the reason labels, the requeue rules) lives here once, so the
//! kinds cannot drift apart. The deciding parts ([`next_status`], [`status_to_write`]) are pure and unit
//! tested without an API server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::api::Api;
use kube::core::NamespaceResourceScope;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use sfn_api::IdentityStatus;
use sfn_api::status::Condition;

use super::backend::BackendError;
use super::error::{BuildError, Error, Retry};
use super::identity::{self, IdentityFailure, Scope};
use super::refindex::{RefKey, ReferenceIndex};
use super::status::{self, Outcome, Reason};
use super::{Config, Context, FINALIZER, object_key, patch_status, policy};

/// The parts of a kind's status the pipeline maintains; the rest belongs to the kind.
pub trait KindStatus: Clone + Default + PartialEq + Serialize + Send + Sync {
    fn conditions(&self) -> &[Condition];
    fn set_conditions(&mut self, conditions: Vec<Condition>, observed_generation: Option<i64>);
    /// `lastSyncTime`, for a kind whose status has one.
    fn last_sync_time_mut(&mut self) -> Option<&mut Option<String>> {
        None
    }
    fn last_sync_time(&self) -> Option<String> {
        None
    }
    /// Records the identity the reconcile ran with, for a kind whose status shows it.
    fn set_identity(&mut self, _identity: IdentityStatus) {}
}

/// The [`KindStatus`] accessors of `conditions` and `observedGeneration`, fields every status has under
/// the same names (the API types are plain structs, so a trait cannot reach them by itself).
macro_rules! conditions_and_generation {
    () => {
        fn conditions(&self) -> &[sfn_api::status::Condition] {
            &self.conditions
        }

        fn set_conditions(
            &mut self,
            conditions: Vec<sfn_api::status::Condition>,
            observed_generation: Option<i64>,
        ) {
            self.conditions = conditions;
            self.observed_generation = observed_generation;
        }
    };
}
pub(crate) use conditions_and_generation;

/// A Kubernetes Event the pipeline publishes about the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub reason: &'static str,
    pub action: &'static str,
    pub note: String,
}

/// What a successful apply means for a kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Synced {
    /// Always [`Outcome::Synced`]; `drift_corrected` also counts in the drift metric.
    pub outcome: Outcome,
    /// The apply wrote to AWS, which stamps `lastSyncTime` (for a kind that has it).
    pub wrote_aws: bool,
    /// Published (as Normal) after the status write.
    pub event: Option<Note>,
    /// More Normal events, published after `event` (a rollout's transitions).
    pub notes: Vec<Note>,
    /// Published as Warnings after the status write, in order: what the status did not show before (new
    /// definition warnings, a role newly found short of permissions). One reconcile can have several.
    pub warnings: Vec<Note>,
    pub requeue: Action,
}

/// What deleting an object involves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// The kind owns nothing in AWS: no finalizer; a deleted object just leaves the index and the gauge.
    Forget,
    /// The kind owns AWS resources, held by a finalizer until [`Kind::delete`] has run (or retained).
    Finalize {
        /// The `Deleting` condition written (best effort) before the AWS calls, for a kind whose deletion
        /// takes several calls and so is worth showing.
        deleting: Option<&'static str>,
        /// The object stays in the objects-by-Ready gauge until its resources are gone; otherwise it leaves
        /// it as soon as its deletion starts.
        in_gauge_until_gone: bool,
        /// A failed delete is published as a Warning event, not only retried.
        warn_on_failure: bool,
    },
}

/// What the cleanup of one object does in AWS.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion<T> {
    /// Nothing was ever created (a spec that never built).
    Nothing,
    /// `deletionPolicy: Retain`: AWS is left as it is, and `note` says so.
    Retain { note: &'static str },
    /// Delete `T`.
    Delete(T),
}

/// One of the three kinds, as the pipeline drives it.
#[async_trait]
pub trait Kind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Kind label in metrics and logs.
    const KIND: &'static str;
    /// Event action of a failed build step.
    const BUILD_ACTION: &'static str;
    const TEARDOWN: Teardown;

    type Status: KindStatus;
    /// The desired state the build step makes.
    type Desired: Send + Sync;
    /// What the apply step reports back.
    type Applied: Send + Sync;
    /// What the cleanup deletes.
    type Target: Send + Sync;

    fn status(&self) -> Option<&Self::Status>;

    /// Whether the kind owns AWS resources, and so is reconciled with an AwsIdentity; the others run
    /// with the operator's own credentials.
    const USES_IDENTITY: bool = false;

    /// `spec.identityRef`, for a kind that has one.
    fn identity_ref(&self) -> Option<&str> {
        None
    }

    /// `status.identity`: where the object's AWS resources are, once it has any.
    fn recorded_identity(&self) -> Option<&IdentityStatus> {
        None
    }

    /// The index recording what objects of this kind reference (`None`: they reference nothing).
    fn reference_index(_ctx: &Context) -> Option<&ReferenceIndex> {
        None
    }

    /// Builds the desired state from the spec and the watch caches, with the references looked up on the way.
    fn build(
        &self,
        ctx: &Context,
        scope: &Scope,
    ) -> (Result<Self::Desired, BuildError>, Vec<RefKey>);

    /// A further check of the built desired state before it is applied, which may add to it (warnings) or
    /// refuse it; a refusal is handled like a failed build. Nothing by default.
    async fn review(&self, _desired: &mut Self::Desired, _ctx: &Context) -> Result<(), BuildError> {
        Ok(())
    }

    /// The note of the Warning event after a failed build step.
    fn build_failure_note(err: &BuildError) -> String {
        err.message().to_owned()
    }

    /// Puts AWS in line with `desired`.
    async fn apply(
        &self,
        desired: &Self::Desired,
        ctx: &Context,
        scope: &Scope,
    ) -> Result<Self::Applied, BackendError>;

    /// Records a successful apply in `status` (the conditions excepted) and says what else follows.
    fn synced(
        &self,
        desired: &Self::Desired,
        applied: &Self::Applied,
        config: &Config,
        status: &mut Self::Status,
    ) -> Synced;

    /// What the cleanup has to do (only for [`Teardown::Finalize`] kinds).
    fn deletion(&self, _ctx: &Context, _scope: &Scope) -> Deletion<Self::Target> {
        Deletion::Nothing
    }

    /// Deletes `target` in AWS; returns the note of the `Deleted` event.
    async fn delete(
        &self,
        _target: &Self::Target,
        _ctx: &Context,
        _scope: &Scope,
    ) -> Result<String, BackendError> {
        Ok(String::new())
    }
}

/// Reconciles one object of kind `K`.
pub async fn reconcile<K: Kind>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let key = object_key(obj.as_ref());
    let result = match K::TEARDOWN {
        Teardown::Finalize { .. } => finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                FinalizerEvent::Apply(obj) => apply(obj, &ctx, &api).await,
                FinalizerEvent::Cleanup(obj) => cleanup(obj, &ctx, &api).await,
            }
        })
        .await
        .map_err(|e| Error::Finalizer(Box::new(e))),
        Teardown::Forget if obj.meta().deletion_timestamp.is_some() => {
            forget(obj.as_ref(), &ctx);
            Ok(Action::await_change())
        }
        Teardown::Forget => apply(obj, &ctx, &api).await,
    };
    ctx.metrics.reconciled(
        K::KIND,
        started.elapsed(),
        result.as_ref().err().map(|e| e.reason()),
    );
    if result.is_ok() {
        ctx.failures.succeeded(&key);
    }
    result
}

/// Invalid specs wait for a change; everything else retries with exponential backoff and jitter.
pub fn error_policy<K: Kind>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = object_key(obj.as_ref());
    tracing::warn!(object = %key, error = %err, "{} reconcile failed", K::KIND);
    match err.retry() {
        // Not a failure of the object: its turn comes when a token is free, without growing the backoff.
        Retry::RateLimited(after) => Action::requeue(policy::after_rate_limit(after)),
        Retry::OnChange => Action::await_change(),
        // The reference usually appears through a watch event; the retry is a safety net for the cases no
        // event covers (a label selector hiding it, a cache that lagged), so it does not back off far.
        Retry::Reference => {
            Action::requeue(ctx.backoff_delay(&key).min(policy::REFERENCE_RETRY_MAX))
        }
        Retry::Backoff => Action::requeue(ctx.backoff_delay(&key)),
    }
}

/// The requeue the client-side rate limit asked for, when that is why the reconcile stopped.
pub fn rate_limit_delay(err: &Error) -> Option<Duration> {
    match err.retry() {
        Retry::RateLimited(after) => Some(policy::after_rate_limit(after)),
        _ => None,
    }
}

/// The scope a reconcile of `obj` runs in: its identity for a kind that has one (the one recorded in its
/// status when `deleting`), the operator's own otherwise.
async fn scope_of<K: Kind>(
    obj: &K,
    ctx: &Context,
    deleting: bool,
) -> Result<Scope, IdentityFailure> {
    let ns = obj.namespace().unwrap_or_default();
    match (K::USES_IDENTITY, deleting) {
        (false, _) => identity::own_scope(ctx).await,
        (true, false) => {
            identity::scope(ctx, &ns, obj.identity_ref(), obj.recorded_identity()).await
        }
        (true, true) => {
            identity::deletion_scope(ctx, &ns, obj.identity_ref(), obj.recorded_identity()).await
        }
    }
}

/// The outcome and event of a reconcile that could not get its scope.
fn identity_failure(failure: &IdentityFailure, action: &'static str) -> (Outcome, Note) {
    let reason = match failure {
        IdentityFailure::Refused(_) => Reason::IdentityNotAllowed,
        IdentityFailure::Unavailable(_) => Reason::IdentityUnavailable,
    };
    let outcome = Outcome::Failed {
        reason,
        message: failure.to_string(),
        // Not transient for the conditions: the declared state cannot be kept while the identity is out.
        transient: false,
    };
    let note = Note {
        reason: reason.as_str(),
        action,
        note: failure.to_string(),
    };
    (outcome, note)
}

async fn apply<K: Kind>(obj: Arc<K>, ctx: &Context, api: &Api<K>) -> Result<Action, Error> {
    let key = object_key(obj.as_ref());
    let scope = match scope_of(obj.as_ref(), ctx, false).await {
        Ok(scope) => scope,
        Err(failure) => {
            let (outcome, note) = identity_failure(&failure, "Authenticate");
            fail(obj.as_ref(), ctx, api, &outcome, note).await?;
            return Err(Error::Identity(failure));
        }
    };
    let (built, refs) = obj.build(ctx, &scope);
    if let Some(index) = K::reference_index(ctx) {
        index.set(dependent(obj.as_ref()), refs);
    }
    let reviewed = match built {
        Ok(mut desired) => obj.review(&mut desired, ctx).await.map(|()| desired),
        Err(err) => Err(err),
    };
    let desired = match reviewed {
        Ok(desired) => desired,
        Err(err) => {
            let outcome = Outcome::Failed {
                reason: err.reason(),
                message: err.message().to_owned(),
                transient: false,
            };
            let note = Note {
                reason: err.reason().as_str(),
                action: K::BUILD_ACTION,
                note: K::build_failure_note(&err),
            };
            fail(obj.as_ref(), ctx, api, &outcome, note).await?;
            return Err(err.into());
        }
    };

    match obj.apply(&desired, ctx, &scope).await {
        Ok(applied) => {
            let generation = obj.meta().generation;
            let mut st = obj.status().cloned().unwrap_or_default();
            let synced = obj.synced(&desired, &applied, &ctx.config, &mut st);
            st.set_identity(scope.status.clone());
            let st = next_status(st, &synced.outcome, generation, &status::now_rfc3339());
            ctx.metrics
                .set_ready(K::KIND, &key, Some(status::ready_status(st.conditions())));
            let sync = if synced.wrote_aws {
                SyncTime::Applied
            } else {
                SyncTime::Unchanged
            };
            write_status(api, obj.as_ref(), st, sync).await?;
            if let Some(event) = synced.event {
                if matches!(
                    synced.outcome,
                    Outcome::Synced {
                        drift_corrected: true,
                        ..
                    }
                ) {
                    ctx.metrics.drift_corrected(K::KIND);
                }
                ctx.event(obj.as_ref(), false, event.reason, event.action, event.note)
                    .await;
            }
            for note in synced.notes {
                ctx.event(obj.as_ref(), false, note.reason, note.action, note.note)
                    .await;
            }
            for note in synced.warnings {
                ctx.event(obj.as_ref(), true, note.reason, note.action, note.note)
                    .await;
            }
            Ok(synced.requeue)
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
            let note = Note {
                reason: reason.as_str(),
                action: "Apply",
                note: aws.message.clone(),
            };
            fail(obj.as_ref(), ctx, api, &outcome, note).await?;
            Err(Error::Aws(aws))
        }
    }
}

/// Records a failed reconcile in the status and the gauge; the Warning event is published only when the
/// status changed, so a failure repeated by retries is announced once.
async fn fail<K: Kind>(
    obj: &K,
    ctx: &Context,
    api: &Api<K>,
    outcome: &Outcome,
    note: Note,
) -> Result<(), kube::Error> {
    let st = failed_status(obj, outcome);
    ctx.metrics.set_ready(
        K::KIND,
        &object_key(obj),
        Some(status::ready_status(st.conditions())),
    );
    if write_status(api, obj, st, SyncTime::Failed).await? {
        ctx.event(obj, true, note.reason, note.action, note.note)
            .await;
    }
    Ok(())
}

async fn cleanup<K: Kind>(obj: Arc<K>, ctx: &Context, api: &Api<K>) -> Result<Action, Error> {
    let Teardown::Finalize {
        deleting,
        in_gauge_until_gone,
        warn_on_failure,
    } = K::TEARDOWN
    else {
        return Ok(Action::await_change());
    };
    if !in_gauge_until_gone {
        forget(obj.as_ref(), ctx);
    }
    let gone = |obj: &K| {
        if in_gauge_until_gone {
            forget(obj, ctx);
        }
    };
    let scope = match scope_of(obj.as_ref(), ctx, true).await {
        Ok(scope) => scope,
        Err(failure) => {
            // A deletion that leaves AWS alone (Retain, or nothing was ever built) needs no credentials:
            // an identity that is gone must not hold such an object back.
            let own = identity::own_scope(ctx).await;
            match own {
                Ok(own) if !matches!(obj.deletion(ctx, &own), Deletion::Delete(_)) => own,
                _ => {
                    let (_, note) = identity_failure(&failure, "Delete");
                    if warn_on_failure {
                        ctx.event(obj.as_ref(), true, note.reason, note.action, note.note)
                            .await;
                    }
                    return Err(Error::Identity(failure));
                }
            }
        }
    };
    let target = match obj.deletion(ctx, &scope) {
        Deletion::Nothing => {
            gone(obj.as_ref());
            return Ok(Action::await_change());
        }
        Deletion::Retain { note } => {
            gone(obj.as_ref());
            ctx.event(obj.as_ref(), false, "Retained", "Delete", note.to_owned())
                .await;
            return Ok(Action::await_change());
        }
        Deletion::Delete(target) => target,
    };
    if let Some(message) = deleting {
        let outcome = Outcome::Deleting {
            message: message.to_owned(),
        };
        // Best effort: the object may be going away under us.
        let _ = write_status(
            api,
            obj.as_ref(),
            failed_status(obj.as_ref(), &outcome),
            SyncTime::Failed,
        )
        .await;
    }
    match obj.delete(&target, ctx, &scope).await {
        Ok(note) => {
            gone(obj.as_ref());
            ctx.event(obj.as_ref(), false, "Deleted", "Delete", note)
                .await;
            Ok(Action::await_change())
        }
        Err(aws) => {
            if warn_on_failure {
                ctx.event(
                    obj.as_ref(),
                    true,
                    Reason::AwsError.as_str(),
                    "Delete",
                    aws.message.clone(),
                )
                .await;
            }
            Err(Error::Aws(aws))
        }
    }
}

/// Drops a deleted object from its reference index and from the objects-by-Ready gauge.
fn forget<K: Kind>(obj: &K, ctx: &Context) {
    if let Some(index) = K::reference_index(ctx) {
        index.remove(&dependent(obj));
    }
    ctx.metrics.set_ready(K::KIND, &object_key(obj), None);
}

fn dependent<K: Resource>(obj: &K) -> (String, String) {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

fn failed_status<K: Kind>(obj: &K, outcome: &Outcome) -> K::Status {
    next_status(
        obj.status().cloned().unwrap_or_default(),
        outcome,
        obj.meta().generation,
        &status::now_rfc3339(),
    )
}

/// `status` with the conditions after a reconcile of `generation` that ended with `outcome`.
pub fn next_status<S: KindStatus>(
    mut status: S,
    outcome: &Outcome,
    generation: Option<i64>,
    now: &str,
) -> S {
    let conditions = status::next_conditions(status.conditions(), outcome, generation, now);
    status.set_conditions(conditions, generation);
    status
}

/// How a status write treats `lastSyncTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncTime {
    /// A failed reconcile: keep the previous time.
    Failed,
    /// A successful reconcile that wrote nothing to AWS: stamp only if the status changes anyway.
    Unchanged,
    /// A successful reconcile that wrote to AWS: always stamp (and so always write).
    Applied,
}

/// The status to write, or `None` when it would change nothing. `lastSyncTime` is the time of the last
/// successful reconcile that changed something, in AWS or in this status; an idle resync changes nothing
/// and writes nothing. A kind without `lastSyncTime` has nothing to stamp, so only a change is written.
pub fn status_to_write<S: KindStatus>(
    old: Option<&S>,
    mut new: S,
    sync: SyncTime,
    now: &str,
) -> Option<S> {
    let previous = old.and_then(S::last_sync_time);
    let stamped = match new.last_sync_time_mut() {
        Some(slot) => {
            *slot = previous;
            true
        }
        None => false,
    };
    if !(stamped && sync == SyncTime::Applied) && old == Some(&new) {
        return None;
    }
    if sync != SyncTime::Failed
        && let Some(slot) = new.last_sync_time_mut()
    {
        *slot = Some(now.to_owned());
    }
    Some(new)
}

/// Writes `new` when it differs from the current status (see [`status_to_write`]). Returns whether a write
/// happened.
async fn write_status<K: Kind>(
    api: &Api<K>,
    obj: &K,
    new: K::Status,
    sync: SyncTime,
) -> Result<bool, kube::Error> {
    let old = obj.status();
    let Some(new) = status_to_write(old, new, sync, &status::now_rfc3339()) else {
        return Ok(false);
    };
    patch_status(api, &obj.name_any(), old, &new).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfn_api::status::ConditionStatus;
    use sfn_api::{ActivityStatus, StateMachineStatus};

    const T1: &str = "2026-01-01T00:00:00Z";
    const T2: &str = "2026-01-01T00:10:00Z";

    fn synced() -> Outcome {
        Outcome::Synced {
            drift_corrected: false,
            message: "in line".into(),
        }
    }

    #[test]
    fn next_status_sets_conditions_and_generation_and_keeps_the_rest() {
        let old = ActivityStatus {
            activity_arn: Some("arn:aws:states:us-east-1:1:activity:a".into()),
            ..Default::default()
        };
        let st = next_status(old.clone(), &synced(), Some(3), T1);
        assert_eq!(st.activity_arn, old.activity_arn);
        assert_eq!(st.observed_generation, Some(3));
        assert_eq!(status::ready_status(&st.conditions), "True");
    }

    #[test]
    fn an_unchanged_status_is_not_written() {
        let st = next_status(StateMachineStatus::default(), &synced(), Some(1), T1);
        let failed = Outcome::Failed {
            reason: Reason::AwsError,
            message: "boom".into(),
            transient: true,
        };
        for sync in [SyncTime::Failed, SyncTime::Unchanged] {
            assert_eq!(status_to_write(Some(&st), st.clone(), sync, T2), None);
        }
        let after_failure = next_status(st.clone(), &failed, Some(1), T2);
        let written = status_to_write(Some(&st), after_failure, SyncTime::Failed, T2)
            .expect("a changed status is written");
        assert_eq!(written.last_sync_time, None, "a failure does not stamp");
        assert_eq!(
            status::find(&written.conditions, status::SYNCED).map(|c| c.status),
            Some(ConditionStatus::False)
        );
    }

    #[test]
    fn a_write_to_aws_stamps_the_sync_time_and_forces_the_write() {
        let mut st = next_status(StateMachineStatus::default(), &synced(), Some(1), T1);
        st.last_sync_time = Some(T1.into());
        let written = status_to_write(Some(&st), st.clone(), SyncTime::Applied, T2)
            .expect("an AWS write always writes the status");
        assert_eq!(written.last_sync_time.as_deref(), Some(T2));
        // A changed status of a reconcile that wrote nothing to AWS is stamped too.
        let mut changed = st.clone();
        changed.warnings = vec!["w".into()];
        let written = status_to_write(Some(&st), changed, SyncTime::Unchanged, T2).unwrap();
        assert_eq!(written.last_sync_time.as_deref(), Some(T2));
        // The time given by the caller is not kept: it is the previous one that counts.
        let mut stale = st.clone();
        stale.last_sync_time = None;
        assert_eq!(
            status_to_write(Some(&st), stale, SyncTime::Failed, T2),
            None
        );
    }

    #[test]
    fn a_kind_without_sync_time_writes_only_changes() {
        let st = next_status(ActivityStatus::default(), &synced(), Some(1), T1);
        assert_eq!(
            status_to_write(Some(&st), st.clone(), SyncTime::Applied, T2),
            None
        );
        assert!(status_to_write(None, st, SyncTime::Applied, T2).is_some());
    }

    #[test]
    fn a_rate_limited_reconcile_is_requeued_for_when_its_token_is_free() {
        use kube::runtime::finalizer;
        let aws = |retry_after| {
            Error::Aws(BackendError {
                message: "sfn:CreateStateMachine: client-side rate limit reached".into(),
                transient: true,
                throttled: true,
                retry_after,
            })
        };
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
        let delay = rate_limit_delay(&short).expect("a rate limited error has a delay");
        assert!(
            delay >= Duration::from_millis(2500) && delay <= Duration::from_millis(3500),
            "{delay:?}"
        );
        assert_eq!(rate_limit_delay(&aws(None)), None);
        let missing = BuildError::ReferenceNotFound("TaskIntegration x".into());
        assert_eq!(rate_limit_delay(&missing.into()), None);
    }
}
