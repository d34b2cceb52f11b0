//! The TaskIntegration controller: a TaskIntegration owns nothing in AWS; its reconcile resolves what it
//! stands for (the ASL `Resource`, the IAM statements it grants) into its status, so users see what a Task
//! using it will do, and reports `ReferenceNotFound` while its `activityRef` / `stateMachineRef` has no ARN.

use std::sync::Arc;
use std::time::Instant;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use sfn_api::{TaskIntegration, TaskIntegrationStatus};
use sfn_plan::desired::{self, DesiredError};

use super::refindex::{RefKey, RefKind};
use super::resolver::StoreResolver;
use super::status::{self, Outcome, Reason};
use super::{Context, object_key, patch_status};

/// Kind label in metrics and logs.
pub const KIND: &str = "TaskIntegration";

/// Why a TaskIntegration reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid spec: {0}")]
    Invalid(String),
    #[error("reference not found: {0}")]
    ReferenceNotFound(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Invalid(_) => Reason::InvalidDefinition.as_str(),
            Error::ReferenceNotFound(_) => Reason::ReferenceNotFound.as_str(),
            Error::Kube(_) => "KubernetesError",
        }
    }
}

/// Reconciles one TaskIntegration.
pub async fn reconcile(ti: Arc<TaskIntegration>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let key = object_key(ti.as_ref());
    let result = apply(&ti, &ctx).await;
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

pub fn error_policy(ti: Arc<TaskIntegration>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = object_key(ti.as_ref());
    tracing::warn!(object = %key, error = %err, "TaskIntegration reconcile failed");
    match err {
        Error::Invalid(_) => Action::await_change(),
        Error::ReferenceNotFound(_) => Action::requeue(
            ctx.backoff_delay(&key)
                .min(super::policy::REFERENCE_RETRY_MAX),
        ),
        _ => Action::requeue(ctx.backoff_delay(&key)),
    }
}

async fn apply(ti: &TaskIntegration, ctx: &Context) -> Result<Action, Error> {
    let ns = ti.namespace().unwrap_or_default();
    let name = ti.name_any();
    let key = object_key(ti);
    let api: Api<TaskIntegration> = Api::namespaced(ctx.client.clone(), &ns);
    if ti.meta().deletion_timestamp.is_some() {
        ctx.integration_refs.remove(&(ns, name));
        ctx.metrics.set_ready(KIND, &key, None);
        return Ok(Action::await_change());
    }

    let resolver = StoreResolver::new(
        &ns,
        [name.as_str()],
        &ctx.integrations,
        &ctx.activities,
        &ctx.machines,
    );
    let resolved =
        desired::integration(ti, &resolver, &desired::Settings::from(ctx.config.as_ref()));
    // The integration resolves itself through the resolver too; only what it points at is a dependency.
    let refs: Vec<RefKey> = resolver
        .recorded()
        .into_iter()
        .filter(|r| r.kind != RefKind::TaskIntegration)
        .collect();
    ctx.integration_refs.set((ns.clone(), name.clone()), refs);

    let mut st: TaskIntegrationStatus = ti.status.clone().unwrap_or_default();
    let generation = ti.metadata.generation;
    let (outcome, result) = match resolved {
        Ok(r) => {
            st.resource = Some(r.resource);
            st.iam_statements = r.iam_statements;
            (
                Outcome::Synced {
                    drift_corrected: false,
                    message: "resolved".to_owned(),
                },
                Ok(()),
            )
        }
        Err(DesiredError::ReferenceNotFound(m)) => (
            Outcome::Failed {
                reason: Reason::ReferenceNotFound,
                message: m.clone(),
                transient: false,
            },
            Err(Error::ReferenceNotFound(m)),
        ),
        Err(other) => {
            let m = other.to_string();
            (
                Outcome::Failed {
                    reason: Reason::InvalidDefinition,
                    message: m.clone(),
                    transient: false,
                },
                Err(Error::Invalid(m)),
            )
        }
    };
    st.conditions =
        status::next_conditions(&st.conditions, &outcome, generation, &status::now_rfc3339());
    st.observed_generation = generation;
    ctx.metrics
        .set_ready(KIND, &key, Some(status::ready_status(&st.conditions)));
    if ti.status.as_ref() != Some(&st) {
        patch_status(&api, &ti.name_any(), ti.status.as_ref(), &st).await?;
        if let Err(e) = &result {
            ctx.event(ti, true, e.reason(), "Resolve", e.to_string())
                .await;
        }
    }
    result?;
    // A TaskIntegration owns nothing in AWS, so there is no drift to look for: it is reconciled again
    // only when it, or what it points at, changes.
    Ok(Action::await_change())
}
