//! The scope of one reconcile: which AwsIdentity it runs with, and so which account, region, credentials
//! and desired-state settings.
//!
//! The first step of every StateMachine and Activity reconcile, before anything is built: the account id
//! goes into every ARN of the desired state (policies, alarm dimensions, trust conditions), so it must be
//! known first. The choice itself is the pure [`sfn_plan::identity::resolve`] over the watch cache of
//! AwsIdentities; this module adds the I/O (credentials through [`AwsBackend::scoped`]) and two rules that
//! keep what runs in AWS safe:
//! - an object that already has resources (its `status.identity`) is never moved to another account or
//!   region by a change of identity: that would orphan them. It is refused until the change is undone.
//! - a deletion uses the identity recorded in status, whatever the spec or the grants say now, because that
//!   is where the resources are.

use std::sync::Arc;
use std::time::Duration;

use sfn_api::{AwsIdentity, IdentityStatus};
use sfn_plan::desired::Settings;
use sfn_plan::identity::{self, Identity};

use super::Context;
use super::backend::{AwsBackend, BackendError};

/// How long a reconcile waits for the first listing of AwsIdentities before giving up for now.
const CACHE_WAIT: Duration = Duration::from_secs(10);

/// Where a reconcile runs.
#[derive(Clone)]
pub struct Scope {
    /// AWS calls as the identity.
    pub backend: Arc<dyn AwsBackend>,
    /// The desired-state settings with the identity's partition, region and account.
    pub settings: Settings,
    /// What `status.identity` records.
    pub status: IdentityStatus,
}

/// Why a reconcile could not get its scope.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IdentityFailure {
    /// The spec or the identities say no (not found, not allowed, ambiguous, a move between accounts):
    /// nothing is done in AWS until something changes.
    #[error("{0}")]
    Refused(String),
    /// The identity's credentials could not be had (a role that cannot be assumed): retried with backoff.
    #[error("{0}")]
    Unavailable(String),
}

/// The scope of a reconcile of an object of `namespace` that names `requested` (its `spec.identityRef`)
/// and was last reconciled with `recorded` (its `status.identity`).
pub async fn scope(
    ctx: &Context,
    namespace: &str,
    requested: Option<&str>,
    recorded: Option<&IdentityStatus>,
) -> Result<Scope, IdentityFailure> {
    let identities = cached_identities(ctx).await?;
    let chosen = identity::resolve(namespace, requested, identities.iter().map(Arc::as_ref))
        .map_err(|e| IdentityFailure::Refused(e.to_string()))?;
    let scope = scoped(ctx, chosen.as_ref()).await?;
    if let Some(before) = recorded
        && (before.account_id != scope.status.account_id || before.region != scope.status.region)
    {
        return Err(IdentityFailure::Refused(format!(
            "the object's AWS resources are in account {} region {} (status.identity), but its identity now \
             points at account {} region {}; moving them is not supported: go back to the previous identity, \
             or delete the object (which deletes them) and create it again",
            before.account_id, before.region, scope.status.account_id, scope.status.region
        )));
    }
    Ok(scope)
}

/// The scope of a deletion: the identity in `recorded`, where the resources are; with nothing recorded
/// (never reconciled successfully), the one the spec resolves to.
pub async fn deletion_scope(
    ctx: &Context,
    namespace: &str,
    requested: Option<&str>,
    recorded: Option<&IdentityStatus>,
) -> Result<Scope, IdentityFailure> {
    let Some(recorded) = recorded else {
        return scope(ctx, namespace, requested, None).await;
    };
    let chosen = match &recorded.name {
        None => None,
        Some(name) => {
            let identities = cached_identities(ctx).await?;
            Some(
                identity::by_name(name, identities.iter().map(Arc::as_ref)).map_err(|e| {
                    IdentityFailure::Unavailable(format!(
                        "the object's AWS resources were created with AwsIdentity {name:?}, which is needed to delete them: {e}"
                    ))
                })?,
            )
        }
    };
    scoped(ctx, chosen.as_ref()).await
}

/// The scope of the operator's own credentials and region, for what is reconciled with no identity.
pub async fn own_scope(ctx: &Context) -> Result<Scope, IdentityFailure> {
    scoped(ctx, None).await
}

async fn cached_identities(ctx: &Context) -> Result<Vec<Arc<AwsIdentity>>, IdentityFailure> {
    // Before the first listing an empty cache would send every namespace to the operator's own account.
    if tokio::time::timeout(CACHE_WAIT, ctx.identities.wait_until_ready())
        .await
        .map(|r| r.is_ok())
        != Ok(true)
    {
        return Err(IdentityFailure::Unavailable(
            "the AwsIdentity watch has not listed yet (is the AwsIdentity CRD installed, and may the operator list it?)"
                .to_owned(),
        ));
    }
    Ok(ctx.identities.state())
}

async fn scoped(ctx: &Context, chosen: Option<&Identity>) -> Result<Scope, IdentityFailure> {
    let scoped = ctx
        .backend
        .clone()
        .scoped(chosen)
        .await
        .map_err(|e: BackendError| IdentityFailure::Unavailable(e.message))?;
    let mut settings = Settings::from(ctx.config.as_ref());
    settings.partition = scoped.environment.partition.clone();
    settings.region = scoped.environment.region.clone();
    settings.account_id = scoped.environment.account_id.clone();
    Ok(Scope {
        backend: scoped.backend,
        status: IdentityStatus {
            name: chosen.map(|i| i.name.clone()),
            account_id: scoped.environment.account_id,
            region: scoped.environment.region,
        },
        settings,
    })
}
