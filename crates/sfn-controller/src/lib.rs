//! kube-runtime controllers: the only Kubernetes I/O.
//!
//! This module wires the controllers, their watches and shared [`Context`]; every controller runs the one
//! reconcile of [`pipeline`], specialised by the kind's module.
//!
//! Three controllers (StateMachine, TaskIntegration, Activity) share one [`Context`] per watched scope (all
//! namespaces, or one per `--namespace`). References never cross namespaces, so a scope holds everything its
//! objects can reference, and each reconcile resolves references from the scope's watch caches — no API read.
//!
//! Triggers: an object's own watch events pass a predicate on what a reconcile consumes from it (generation,
//! finalizers, deletion, the operator's annotations), so the operator's own status writes never wake it up
//! again; a write of a referenced object wakes its dependents through the reverse
//! [`refindex::ReferenceIndex`] (the controllers of referenced objects write only when something changed —
//! a new spec, an ARN — so this stays quiet on an idle cluster, and a relist replaying unchanged objects is
//! filtered out). Every successful StateMachine and Activity reconcile requeues after the (jittered) resync
//! period, which is when drift in AWS is found and put back; TaskIntegrations own nothing in AWS and are not
//! resynced.
//!
//! Known limit: a dependent is woken by the referenced object's own watch, which can run slightly ahead of
//! the cache the reconcile reads. A reconcile that sees the old state either fails with `ReferenceNotFound`
//! and is retried with backoff, or is woken again by the status write that the referenced object's own
//! reconcile makes right after; only the deletion of a TaskIntegration can go unnoticed until the next resync.

pub mod activity;
pub mod aws_validation;
pub mod backend;
pub mod error;
pub mod execution_summary;
pub mod http;
pub mod identity;
pub mod leader;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod refindex;
pub mod resolver;
pub mod role_audit;
pub mod state_machine;
pub mod status;
pub mod task_integration;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch as tokio_watch;

use sfn_api::{Activity, AwsIdentity, ReferenceGrant, StateMachine, TaskIntegration};
use sfn_plan::desired;

use self::aws_validation::ValidationCache;
use self::backend::AwsBackend;
use self::execution_summary::SampleClock;
use self::http::Health;
use self::leader::{Election, LeaderConfig};
use self::metrics::Metrics;
use self::policy::{Backoff, FailureCounter};
use self::refindex::{ChangeFilter, ReferenceIndex, dependents, grant_dependents};
use self::role_audit::RoleAuditCache;

pub use sfn_api::{ADOPT_ANNOTATION, ALLOW_REPLACEMENT_ANNOTATION, FINALIZER};
/// Field manager / event reporter name.
pub const MANAGER: &str = "sfn-operator";

/// What happens to AWS resources when their object is deleted and the object does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultDeletionPolicy {
    #[default]
    Delete,
    Retain,
}

/// The AWS account the operator works in, needed to write ARNs into policies and alarms before the
/// resources exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnvironment {
    pub partition: String,
    pub region: String,
    pub account_id: String,
}

/// Settings of the controllers.
#[derive(Debug, Clone)]
pub struct Config {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Label selector applied to the watches of all three kinds.
    pub label_selector: Option<String>,
    pub resync_period: Duration,
    pub default_deletion_policy: DefaultDeletionPolicy,
    /// Retention of the log groups the operator creates, when a spec does not set one.
    pub default_log_retention_days: u32,
    /// `None` runs without leader election (a single replica, or tests).
    pub leader: Option<LeaderConfig>,
    /// Concurrent reconciles per controller (0 = unbounded).
    pub concurrency: u16,
    pub backoff: Backoff,
    pub aws: AwsEnvironment,
    /// Reporting instance in Events (pod name).
    pub instance: String,
    /// Ask AWS's `ValidateStateMachineDefinition` about each new definition before applying it (see
    /// [`aws_validation`]).
    pub aws_validate: bool,
    /// How long the audit of a bring-your-own role is believed before its policies are read again (see
    /// [`role_audit`]).
    pub role_audit_interval: Duration,
    /// Cluster-wide rules for the roles the operator generates.
    pub guardrails: sfn_plan::Guardrails,
    /// Keep `status.executions` for the machines that do not disable it (see [`execution_summary`]);
    /// `false` makes no execution reads at all.
    pub sample_executions: bool,
}

impl Config {
    pub fn new(aws: AwsEnvironment) -> Self {
        Self {
            namespaces: Vec::new(),
            label_selector: None,
            resync_period: policy::DEFAULT_RESYNC,
            default_deletion_policy: DefaultDeletionPolicy::Delete,
            default_log_retention_days: desired::DEFAULT_LOG_RETENTION_DAYS,
            leader: None,
            concurrency: 16,
            backoff: Backoff::default(),
            aws,
            instance: MANAGER.to_owned(),
            aws_validate: false,
            role_audit_interval: role_audit::DEFAULT_INTERVAL,
            guardrails: sfn_plan::Guardrails::default(),
            sample_executions: true,
        }
    }
}

/// Errors that stop the operator as a whole (not per-object reconcile errors).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Leader(#[from] leader::LeaderError),
    /// The election task stopped (the Lease API kept failing); the process should restart.
    #[error("leader election stopped unexpectedly")]
    ElectionEnded,
}

/// Everything a reconcile needs, shared by the three controllers of one scope.
pub struct Context {
    pub client: Client,
    pub config: Arc<Config>,
    pub backend: Arc<dyn AwsBackend>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub machines: Store<StateMachine>,
    pub integrations: Store<TaskIntegration>,
    pub activities: Store<Activity>,
    /// The ReferenceGrants of the scope, which open namespaces to references from others.
    pub grants: Store<ReferenceGrant>,
    /// Every AwsIdentity of the cluster (one watch shared by all scopes).
    pub identities: Store<AwsIdentity>,
    /// What each StateMachine references (TaskIntegrations, and through them Activities and StateMachines).
    pub machine_refs: ReferenceIndex,
    /// What each TaskIntegration references (an Activity or a StateMachine).
    pub integration_refs: ReferenceIndex,
    pub failures: FailureCounter,
    /// AWS's answers about definitions, when `aws_validate` is on.
    pub validations: ValidationCache,
    /// Audits of bring-your-own roles.
    pub role_audits: RoleAuditCache,
    /// When each StateMachine's executions were last sampled.
    pub execution_samples: SampleClock,
}

impl Context {
    /// Publishes a Kubernetes Event about `obj`; failures are logged, never fatal (events are best effort).
    pub async fn event<K>(&self, obj: &K, warning: bool, reason: &str, action: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        let ev = KubeEvent {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(truncate(&note, 1000)),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(err) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            tracing::warn!(error = %err, object = %obj.meta().name.clone().unwrap_or_default(), "publishing an event failed");
        }
    }

    /// The caches references resolve from.
    pub fn stores(&self) -> resolver::Stores {
        resolver::Stores {
            integrations: self.integrations.clone(),
            activities: self.activities.clone(),
            machines: self.machines.clone(),
            grants: self.grants.clone(),
        }
    }

    /// The error-policy delay for the next attempt of `key` after a transient failure.
    pub fn backoff_delay(&self, key: &str) -> Duration {
        let n = self.failures.failed(key);
        self.config.backoff.delay(n)
    }
}

/// Cuts a message to `max` characters on a character boundary (Event notes are limited to 1 kB).
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `<namespace>/<name>` of an object, the key of metrics and backoff state.
pub fn object_key<K: Resource>(obj: &K) -> String {
    format!(
        "{}/{}",
        obj.meta().namespace.clone().unwrap_or_default(),
        obj.meta().name.clone().unwrap_or_default()
    )
}

/// What a reconcile of an object consumes from its own metadata. Status is deliberately absent: the
/// operator's own status writes must not trigger another reconcile.
fn trigger_fingerprint<K: Resource>(obj: &K) -> Option<u64> {
    let meta = obj.meta();
    let annotations = meta.annotations.as_ref();
    let ann = |key: &str| annotations.and_then(|a| a.get(key)).cloned();
    Some(refindex::fingerprint(&(
        meta.generation,
        meta.finalizers.clone(),
        meta.deletion_timestamp.is_some(),
        ann(policy::RESYNC_PERIOD_ANNOTATION),
        ann(policy::RECONCILE_REQUESTED_AT_ANNOTATION),
        ann(ADOPT_ANNOTATION),
        ann(ALLOW_REPLACEMENT_ANNOTATION),
    )))
}

/// Patches the status subresource with a JSON merge patch. Fields present before and absent now are sent
/// as `null`, so a cleared value (a version ARN after `publish` was turned off) really disappears.
pub async fn patch_status<K, S>(
    api: &Api<K>,
    name: &str,
    old: Option<&S>,
    new: &S,
) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let mut new_value = serde_json::to_value(new).map_err(kube::Error::SerdeError)?;
    if let (Some(old), Some(new_map)) = (old, new_value.as_object_mut())
        && let Ok(serde_json::Value::Object(old_map)) = serde_json::to_value(old)
    {
        for key in old_map.keys() {
            if !new_map.contains_key(key) {
                new_map.insert(key.clone(), serde_json::Value::Null);
            }
        }
    }
    let patch = serde_json::json!({ "status": new_value });
    api.patch_status(name, &PatchParams::apply(MANAGER), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

fn watcher_config(config: &Config) -> watcher::Config {
    let wc = watcher::Config::default();
    match &config.label_selector {
        Some(sel) if !sel.is_empty() => wc.labels(sel),
        _ => wc,
    }
}

fn scoped_api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A watch that only fills a cache (no controller, no label selector) until `shutdown`, for kinds the
/// operator reads and never writes.
async fn cache_only<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    shutdown: futures::future::Shared<BoxFuture<'static, ()>>,
) where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    cached_watch(api, watcher::Config::default(), writer)
        .take_until(shutdown)
        .for_each(|event| async move {
            if let Err(err) = event {
                tracing::warn!(error = %err, kind = %K::kind(&()), "watch of a cached kind");
            }
        })
        .await
}

/// A watch feeding a reflector store, retried with backoff, without the managedFields the operator never
/// reads (often the largest part of a cached object).
fn cached_watch<K>(
    api: Api<K>,
    wc: watcher::Config,
    writer: reflector::store::Writer<K>,
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    watcher(api, wc)
        .default_backoff()
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
}

/// A primary watch stream feeding a reflector store and filtered by [`trigger_fingerprint`].
fn primary_stream<K>(
    api: Api<K>,
    wc: watcher::Config,
    writer: reflector::store::Writer<K>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    cached_watch(api, wc, writer)
        .applied_objects()
        .predicate_filter(trigger_fingerprint::<K>, Default::default())
}

/// What every scope shares to reach AWS: the backend, and the AwsIdentities that pick its credentials.
struct Aws {
    backend: Arc<dyn AwsBackend>,
    identities: Store<AwsIdentity>,
}

/// Runs the controllers of one scope until `shutdown` resolves, then lets running reconciles finish.
async fn run_scope(
    client: Client,
    namespace: Option<String>,
    config: Arc<Config>,
    aws: Aws,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: futures::future::Shared<BoxFuture<'static, ()>>,
) {
    let Aws {
        backend,
        identities,
    } = aws;
    let ns = namespace.as_deref();
    let wc = watcher_config(&config);
    let (machines, machines_writer) = reflector::store::<StateMachine>();
    let (integrations, integrations_writer) = reflector::store::<TaskIntegration>();
    let (activities, activities_writer) = reflector::store::<Activity>();
    let (grants, grants_writer) = reflector::store::<ReferenceGrant>();

    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.to_owned(),
            instance: Some(config.instance.clone()),
        },
    );
    let ctx = Arc::new(Context {
        client: client.clone(),
        config: config.clone(),
        backend,
        metrics,
        recorder,
        machines: machines.clone(),
        integrations: integrations.clone(),
        activities: activities.clone(),
        grants: grants.clone(),
        identities: identities.clone(),
        machine_refs: ReferenceIndex::new(),
        integration_refs: ReferenceIndex::new(),
        failures: FailureCounter::new(),
        validations: ValidationCache::new(),
        role_audits: RoleAuditCache::new(),
        execution_samples: SampleClock::new(),
    });

    let controller_config =
        kube::runtime::controller::Config::default().concurrency(config.concurrency);

    // StateMachine: its own watch, plus every kind it can reference.
    let sm_changes = Arc::new(ChangeFilter::new());
    let ti_changes = Arc::new(ChangeFilter::new());
    let act_changes = Arc::new(ChangeFilter::new());
    let sm_controller = {
        let ctx_ti = ctx.clone();
        let ctx_act = ctx.clone();
        let ctx_sm = ctx.clone();
        let (ctx_grant, ctx_id) = (ctx.clone(), ctx.clone());
        let (ti_f, act_f, sm_f) = (ti_changes.clone(), act_changes.clone(), sm_changes.clone());
        let (grant_f, id_f) = (Arc::new(ChangeFilter::new()), Arc::new(ChangeFilter::new()));
        Controller::for_stream(
            primary_stream(
                scoped_api::<StateMachine>(&client, ns),
                wc.clone(),
                machines_writer,
            ),
            machines.clone(),
        )
        .with_config(controller_config.clone())
        .watches(
            scoped_api::<TaskIntegration>(&client, ns),
            wc.clone(),
            move |ti| dependents::<StateMachine, _>(&ctx_ti.machine_refs, &ti_f, &ti),
        )
        .watches(
            scoped_api::<Activity>(&client, ns),
            wc.clone(),
            move |act| dependents::<StateMachine, _>(&ctx_act.machine_refs, &act_f, &act),
        )
        .watches(
            scoped_api::<StateMachine>(&client, ns),
            wc.clone(),
            move |sm| dependents::<StateMachine, _>(&ctx_sm.machine_refs, &sm_f, &sm),
        )
        .watches(
            scoped_api::<ReferenceGrant>(&client, ns),
            watcher::Config::default(),
            move |g| grant_dependents::<StateMachine>(&ctx_grant.machine_refs, &grant_f, &g),
        )
        .watches(
            Api::<AwsIdentity>::all(client.clone()),
            watcher::Config::default(),
            move |id| identity::dependents(&ctx_id.machines, &id_f, &id),
        )
        .graceful_shutdown_on(shutdown.clone())
        .run(
            pipeline::reconcile::<StateMachine>,
            pipeline::error_policy::<StateMachine>,
            ctx.clone(),
        )
        .for_each(|res| async move {
            if let Err(err) = res {
                tracing::debug!(error = %err, "StateMachine controller event");
            }
        })
    };

    let ti_controller = {
        let ctx_act = ctx.clone();
        let ctx_sm = ctx.clone();
        let ctx_grant = ctx.clone();
        let act_f = Arc::new(ChangeFilter::new());
        let sm_f = Arc::new(ChangeFilter::new());
        let grant_f = Arc::new(ChangeFilter::new());
        Controller::for_stream(
            primary_stream(
                scoped_api::<TaskIntegration>(&client, ns),
                wc.clone(),
                integrations_writer,
            ),
            integrations.clone(),
        )
        .with_config(controller_config.clone())
        .watches(
            scoped_api::<Activity>(&client, ns),
            wc.clone(),
            move |act| dependents::<TaskIntegration, _>(&ctx_act.integration_refs, &act_f, &act),
        )
        .watches(
            scoped_api::<StateMachine>(&client, ns),
            wc.clone(),
            move |sm| dependents::<TaskIntegration, _>(&ctx_sm.integration_refs, &sm_f, &sm),
        )
        .watches(
            scoped_api::<ReferenceGrant>(&client, ns),
            watcher::Config::default(),
            move |g| grant_dependents::<TaskIntegration>(&ctx_grant.integration_refs, &grant_f, &g),
        )
        .graceful_shutdown_on(shutdown.clone())
        .run(
            pipeline::reconcile::<TaskIntegration>,
            pipeline::error_policy::<TaskIntegration>,
            ctx.clone(),
        )
        .for_each(|res| async move {
            if let Err(err) = res {
                tracing::debug!(error = %err, "TaskIntegration controller event");
            }
        })
    };

    let act_controller = {
        let ctx_id = ctx.clone();
        let id_f = Arc::new(ChangeFilter::new());
        Controller::for_stream(
            primary_stream(
                scoped_api::<Activity>(&client, ns),
                wc.clone(),
                activities_writer,
            ),
            activities.clone(),
        )
        .with_config(controller_config)
        .watches(
            Api::<AwsIdentity>::all(client.clone()),
            watcher::Config::default(),
            move |id| identity::dependents(&ctx_id.activities, &id_f, &id),
        )
        .graceful_shutdown_on(shutdown.clone())
        .run(
            pipeline::reconcile::<Activity>,
            pipeline::error_policy::<Activity>,
            ctx.clone(),
        )
        .for_each(|res| async move {
            if let Err(err) = res {
                tracing::debug!(error = %err, "Activity controller event");
            }
        })
    };

    // The cache of ReferenceGrants the resolvers read (the controllers' own grant watches only map events
    // to the objects to wake).
    let grant_watch = cache_only(
        scoped_api::<ReferenceGrant>(&client, ns),
        grants_writer,
        shutdown.clone(),
    );

    let synced = {
        let health = health.clone();
        let (m, i, a) = (machines.clone(), integrations.clone(), activities.clone());
        let (ids, g) = (identities.clone(), grants.clone());
        async move {
            if m.wait_until_ready().await.is_ok()
                && i.wait_until_ready().await.is_ok()
                && a.wait_until_ready().await.is_ok()
                && ids.wait_until_ready().await.is_ok()
                && g.wait_until_ready().await.is_ok()
            {
                health.set_synced(true);
                tracing::info!(namespace = ?namespace, "watch caches synced");
            }
        }
    };

    tokio::join!(
        sm_controller,
        ti_controller,
        act_controller,
        grant_watch,
        synced
    );
}

/// Runs the controllers of every scope until `shutdown` resolves.
async fn run_controllers(
    client: Client,
    config: Arc<Config>,
    backend: Arc<dyn AwsBackend>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: futures::future::Shared<BoxFuture<'static, ()>>,
) {
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    // AwsIdentities are cluster-scoped and read by every scope: one watch fills the cache; the StateMachine
    // and Activity controllers watch them too, to wake the objects a change concerns.
    let (identities, identities_writer) = reflector::store::<AwsIdentity>();
    let identity_watch = cache_only(
        Api::<AwsIdentity>::all(client.clone()),
        identities_writer,
        shutdown.clone(),
    );
    let runs = scopes.into_iter().map(|ns| {
        run_scope(
            client.clone(),
            ns,
            config.clone(),
            Aws {
                backend: backend.clone(),
                identities: identities.clone(),
            },
            metrics.clone(),
            health.clone(),
            shutdown.clone(),
        )
    });
    tokio::join!(identity_watch, futures::future::join_all(runs));
}

/// Runs the operator until `shutdown` resolves: with leader election, the controllers run only while this
/// replica holds the lease, and stop (finishing in-flight reconciles) when it is lost.
pub async fn run(
    client: Client,
    config: Config,
    backend: Arc<dyn AwsBackend>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let config = Arc::new(config);
    let shutdown: futures::future::Shared<BoxFuture<'static, ()>> = shutdown.boxed().shared();

    let Some(leader_config) = config.leader.clone() else {
        health.set_leading(true);
        run_controllers(client, config, backend, metrics, health, shutdown).await;
        return Ok(());
    };

    let mut election = Election::start(client.clone(), &leader_config).await?;
    health.set_leading(false);
    loop {
        tokio::select! {
            _ = shutdown.clone() => break,
            acquired = election.acquired() => {
                if !acquired {
                    tracing::error!("leader election ended");
                    health.set_leading(false);
                    return Err(RunError::ElectionEnded);
                }
            }
        }
        tracing::info!(identity = %leader_config.identity, "acquired the leader lease");
        health.set_leading(true);
        health.set_synced(false);
        let (lost_tx, lost_rx) = tokio_watch::channel(false);
        let stop: futures::future::Shared<BoxFuture<'static, ()>> = {
            let shutdown = shutdown.clone();
            let mut lost_rx = lost_rx.clone();
            async move {
                tokio::select! {
                    _ = shutdown => {},
                    _ = lost_rx.wait_for(|lost| *lost) => {},
                }
            }
            .boxed()
            .shared()
        };
        let controllers = run_controllers(
            client.clone(),
            config.clone(),
            backend.clone(),
            metrics.clone(),
            health.clone(),
            stop,
        );
        tokio::pin!(controllers);
        tokio::select! {
            _ = &mut controllers => {}
            _ = election.lost() => {
                tracing::warn!("lost the leader lease; stopping the controllers");
                let _ = lost_tx.send(true);
                controllers.await;
            }
        }
        health.set_leading(false);
        health.set_synced(false);
        if shutdown.clone().now_or_never().is_some() {
            break;
        }
    }
    election.resign().await;
    Ok(())
}

/// An `Action` requeueing after the object's resync period (annotation or global), jittered.
pub fn resync_action<K: Resource>(obj: &K, config: &Config) -> (Action, Option<String>) {
    let annotation = obj
        .annotations()
        .get(policy::RESYNC_PERIOD_ANNOTATION)
        .map(String::as_str);
    match policy::resync_period(annotation, config.resync_period) {
        Ok(period) => (Action::requeue(policy::jittered(period)), None),
        Err(warning) => (
            Action::requeue(policy::jittered(config.resync_period)),
            Some(warning),
        ),
    }
}

/// The operator's configuration as the account facts and defaults a desired state is built from.
impl From<&Config> for desired::Settings {
    fn from(c: &Config) -> Self {
        desired::Settings {
            partition: c.aws.partition.clone(),
            region: c.aws.region.clone(),
            account_id: c.aws.account_id.clone(),
            default_deletion_policy: match c.default_deletion_policy {
                DefaultDeletionPolicy::Delete => sfn_plan::DeletionPolicy::Delete,
                DefaultDeletionPolicy::Retain => sfn_plan::DeletionPolicy::Retain,
            },
            default_log_retention_days: c.default_log_retention_days,
            guardrails: c.guardrails.clone(),
        }
    }
}

/// The settings of the unit tests: one made-up account, the defaults otherwise.
#[cfg(test)]
pub(crate) fn test_config() -> Config {
    Config::new(AwsEnvironment {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfn_api::StateMachineStatus;

    fn machine() -> StateMachine {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "m", "namespace": "ns", "generation": 1, "resourceVersion": "10"},
            "spec": {"definition": {"states": [{"name": "A", "type": "Pass", "end": true}]}}
        }))
        .unwrap()
    }

    #[test]
    fn own_status_writes_do_not_trigger_a_reconcile() {
        let before = machine();
        let mut after = before.clone();
        after.status = Some(StateMachineStatus {
            state_machine_arn: Some("arn:aws:states:us-east-1:1:stateMachine:m".into()),
            ..Default::default()
        });
        after.metadata.resource_version = Some("11".into());
        assert_eq!(trigger_fingerprint(&before), trigger_fingerprint(&after));
    }

    #[test]
    fn spec_finalizer_deletion_and_annotation_changes_trigger() {
        let base = machine();
        let fp = trigger_fingerprint(&base);

        let mut spec_change = base.clone();
        spec_change.metadata.generation = Some(2);
        assert_ne!(trigger_fingerprint(&spec_change), fp);

        let mut finalized = base.clone();
        finalized.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
        assert_ne!(trigger_fingerprint(&finalized), fp);

        let mut deleting = base.clone();
        deleting.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
        );
        assert_ne!(trigger_fingerprint(&deleting), fp);

        for key in [
            policy::RECONCILE_REQUESTED_AT_ANNOTATION,
            policy::RESYNC_PERIOD_ANNOTATION,
            ADOPT_ANNOTATION,
            ALLOW_REPLACEMENT_ANNOTATION,
        ] {
            let mut annotated = base.clone();
            annotated.metadata.annotations =
                Some([(key.to_owned(), "x".to_owned())].into_iter().collect());
            assert_ne!(trigger_fingerprint(&annotated), fp, "{key}");
        }

        // Other annotations (kubectl's last-applied configuration, tools' bookkeeping) do not.
        let mut other = base.clone();
        other.metadata.annotations = Some(
            [("example.com/note".to_owned(), "x".to_owned())]
                .into_iter()
                .collect(),
        );
        assert_eq!(trigger_fingerprint(&other), fp);
    }

    #[test]
    fn the_resync_annotation_sets_the_requeue_and_a_bad_one_warns() {
        let config = test_config();
        let mut m = machine();
        assert!(resync_action(&m, &config).1.is_none());
        m.metadata.annotations = Some(
            [(
                policy::RESYNC_PERIOD_ANNOTATION.to_owned(),
                "often".to_owned(),
            )]
            .into_iter()
            .collect(),
        );
        let (_, warning) = resync_action(&m, &config);
        assert!(warning.is_some_and(|w| w.contains("often")));
    }

    #[test]
    fn long_event_notes_are_cut_on_a_character_boundary() {
        let text = "é".repeat(600);
        let cut = truncate(&text, 1000);
        assert!(cut.len() <= 1000 + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", 1000), "short");
    }
}
