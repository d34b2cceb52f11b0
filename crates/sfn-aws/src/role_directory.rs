//! One bulk listing of the operator's roles, shared by the idle reconciles of every machine.
//!
//! Reading a managed role directly costs three IAM calls per machine and resync (`GetRole`,
//! `ListRolePolicies`, one `GetRolePolicy` per inline policy): IAM has no call that returns one role with its
//! inline policies. `GetAccountAuthorizationDetails` (filter `Role`) returns every role of the account with its
//! trust policy, inline policy documents, boundary and tags, up to 1,000 roles a page, so one listing serves
//! the resyncs of all machines for [`RoleDirectory`]'s maximum age.
//!
//! A listing may be older than the role, so it is trusted only where a stale view cannot cause harm:
//! - only for the idle case (the spec unchanged since the last complete apply, no managed policies wanted,
//!   see [`crate::observe::machine`]); every other reconcile reads the role directly;
//! - only for "present": a role missing from the listing is read directly (it may be newer than the listing);
//! - never for a role this process wrote after the listing started ([`RoleDirectory::note_write`]);
//! - only to conclude that nothing is to be done: a plan with any operation is made again from direct reads
//!   ([`crate::reconcile::reconcile_machine`]), so no write is ever based on the listing.
//!
//! Drift made out of band is therefore noticed at the first resync after the next listing, at most the
//! maximum age later than with direct reads. When the listing fails (for example `AccessDenied` because the
//! operator's policy predates this call), reconciles fall back to direct reads and the listing is not tried
//! again before the maximum age has passed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_iam::types::EntityType;
use sfn_api::naming;
use sfn_plan::ObservedRole;

use super::observe::decode_policy;
use super::{AwsClients, AwsError};

const API: &str = "iam:GetAccountAuthorizationDetails";

/// The shared listing; see the module documentation.
#[derive(Debug)]
pub struct RoleDirectory {
    max_age: Duration,
    state: tokio::sync::Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    listing: Option<Listing>,
    /// When this process last wrote each role (before and after the writes); a listing started earlier
    /// does not show that role as it is.
    written: HashMap<String, Instant>,
    /// When the last listing failed.
    failed_at: Option<Instant>,
}

#[derive(Debug)]
struct Listing {
    started: Instant,
    roles: HashMap<String, ObservedRole>,
}

impl RoleDirectory {
    /// A directory whose listings serve for `max_age`.
    pub fn new(max_age: Duration) -> Self {
        RoleDirectory {
            max_age,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// The role `name` as listed, refreshing the listing when it is older than the maximum age. `None`
    /// means "read it directly": not listed, written since, or the listing failed.
    pub(crate) async fn lookup(&self, clients: &AwsClients, name: &str) -> Option<ObservedRole> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let fresh = state
            .listing
            .as_ref()
            .is_some_and(|l| now.duration_since(l.started) < self.max_age);
        if !fresh {
            if state
                .failed_at
                .is_some_and(|t| now.duration_since(t) < self.max_age)
            {
                return None;
            }
            match list_roles(clients).await {
                Ok(roles) => {
                    state.listing = Some(Listing {
                        started: now,
                        roles,
                    });
                    state.failed_at = None;
                    // Writes before this listing started are in it.
                    state.written.retain(|_, at| *at >= now);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "listing the operator's roles failed; reading roles one by one");
                    state.listing = None;
                    state.failed_at = Some(now);
                    return None;
                }
            }
        }
        let listing = state.listing.as_ref()?;
        if state
            .written
            .get(name)
            .is_some_and(|at| *at >= listing.started)
        {
            return None;
        }
        listing.roles.get(name).cloned()
    }

    /// Records that this process is writing (or has written) the role `name`.
    pub(crate) async fn note_write(&self, name: &str) {
        self.state
            .lock()
            .await
            .written
            .insert(name.to_owned(), Instant::now());
    }
}

/// Every role under the operator's path, by name, as [`crate::observe`] reads one without its attached
/// policies.
async fn list_roles(clients: &AwsClients) -> Result<HashMap<String, ObservedRole>, AwsError> {
    let mut roles = HashMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = clients
            .call(
                API,
                clients
                    .iam
                    .get_account_authorization_details()
                    .filter(EntityType::Role)
                    .max_items(1000)
                    .set_marker(marker.clone())
                    .send(),
            )
            .await?;
        for detail in page.role_detail_list() {
            let (Some(name), Some(arn), Some(path)) =
                (detail.role_name(), detail.arn(), detail.path())
            else {
                continue;
            };
            if path != naming::ROLE_PATH {
                continue;
            }
            let trust_policy = match detail.assume_role_policy_document() {
                Some(doc) => decode_policy(API, doc)?,
                None => serde_json::Value::Null,
            };
            let mut policies = std::collections::BTreeMap::new();
            for policy in detail.role_policy_list() {
                let (Some(policy_name), Some(doc)) =
                    (policy.policy_name(), policy.policy_document())
                else {
                    continue;
                };
                policies.insert(policy_name.to_owned(), decode_policy(API, doc)?);
            }
            roles.insert(
                name.to_owned(),
                ObservedRole {
                    arn: arn.to_owned(),
                    name: name.to_owned(),
                    path: path.to_owned(),
                    trust_policy,
                    policies,
                    permissions_boundary: detail
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_owned),
                    tags: detail
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned()))
                        .collect(),
                    attached_policy_arns: Vec::new(),
                    managed_policies: Vec::new(),
                },
            );
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    Ok(roles)
}
