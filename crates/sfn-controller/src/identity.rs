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

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use super::Context;
use super::backend::{AwsBackend, BackendError};
use super::pipeline::{Kind, KindStatus};
use super::refindex::ChangeFilter;
use super::status::{self, Reason};

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

/// The objects of kind `K` to reconcile after a watch event of `changed`, when it is a real write: those
/// the identity [concerns](identity::concerns), and those held back by an identity (`Ready` for
/// `IdentityNotAllowed` or `IdentityUnavailable`), whichever identity that was: a new identity can be the
/// answer to an ambiguous default, a deleted one the end of one.
pub fn dependents<K: Kind>(
    objects: &Store<K>,
    filter: &ChangeFilter<String>,
    changed: &AwsIdentity,
) -> Vec<ObjectRef<K>> {
    if !filter.written(changed.name_any(), changed) {
        return Vec::new();
    }
    objects
        .state()
        .iter()
        .filter(|obj| {
            let namespace = obj.namespace().unwrap_or_default();
            let recorded = obj.recorded_identity().and_then(|r| r.name.as_deref());
            held_back_by_identity(obj.as_ref())
                || identity::concerns(changed, &namespace, obj.identity_ref(), recorded)
        })
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}

fn held_back_by_identity<K: Kind>(obj: &K) -> bool {
    let ready = obj
        .status()
        .and_then(|st| status::find(st.conditions(), status::READY));
    ready.is_some_and(|c| {
        c.reason == Reason::IdentityNotAllowed.as_str()
            || c.reason == Reason::IdentityUnavailable.as_str()
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;
    use sfn_api::StateMachine;

    /// A StateMachine of `namespace` naming `identity_ref`; `refused` puts it at Ready=False for
    /// IdentityNotAllowed.
    fn machine(
        namespace: &str,
        name: &str,
        identity_ref: Option<&str>,
        refused: bool,
    ) -> StateMachine {
        let mut value = serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"definition": {"states": [{"name": "A", "type": "Pass", "end": true}]}}
        });
        if let Some(id) = identity_ref {
            value["spec"]["identityRef"] = serde_json::json!({"name": id});
        }
        if refused {
            value["status"] = serde_json::json!({"conditions": [{
                "type": "Ready", "status": "False", "reason": "IdentityNotAllowed",
                "message": "not allowed", "lastTransitionTime": "2026-01-01T00:00:00Z"
            }]});
        }
        serde_json::from_value(value).expect("a valid StateMachine")
    }

    fn aws_identity(resource_version: &str) -> AwsIdentity {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "AwsIdentity",
            "metadata": {"name": "team-a", "resourceVersion": resource_version},
            "spec": {"namespaces": {"defaultFor": ["team-a"], "allowed": ["staging"]}}
        }))
        .expect("a valid AwsIdentity")
    }

    #[test]
    fn an_identity_change_wakes_the_objects_it_concerns_and_those_held_back() {
        let (store, mut writer) = reflector::store::<StateMachine>();
        for sm in [
            machine("team-a", "uses-default", None, false),
            // Allowed to name it, but names another one.
            machine("staging", "names-other", Some("other"), false),
            machine("staging", "names-it", Some("team-a"), false),
            // Held back by some identity problem, whichever identity.
            machine("team-c", "refused", Some("other"), true),
            machine("team-c", "elsewhere", None, false),
        ] {
            writer.apply_watcher_event(&Event::Apply(sm));
        }
        let filter = ChangeFilter::new();
        let mut woken: Vec<String> = dependents(&store, &filter, &aws_identity("3"))
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
            .collect();
        woken.sort();
        assert_eq!(
            woken,
            ["staging/names-it", "team-a/uses-default", "team-c/refused"]
        );
        assert!(
            dependents(&store, &filter, &aws_identity("3")).is_empty(),
            "the replay of an unchanged identity"
        );
        assert_eq!(dependents(&store, &filter, &aws_identity("4")).len(), 3);
    }
}
