//! Reading the permission policies of a bring-your-own role (`spec.roleArn`) for the audit of what the
//! definition needs (the comparison itself is pure, in `sfn_plan::role_audit`).
//!
//! The audit is informational, so reading must never become a new way for a reconcile to fail: a role in
//! another account (IAM only answers about the caller's own), a role that does not exist, access denied (the
//! operator's policy lacks the read actions), throttling or an outage all give
//! [`RolePolicies::Unavailable`] with the reason, and the caller reports the role as not audited.

use serde_json::Value;
use sfn_plan::role_audit::parse_role_arn;

use crate::{AwsClients, observe};

/// What reading a role's permission policies gave.
#[derive(Debug, Clone, PartialEq)]
pub enum RolePolicies {
    /// Every inline policy and the default version of every attached managed policy, each with a label
    /// (`inline policy NAME`, `managed policy ARN`).
    Read(Vec<(String, Value)>),
    /// The policies could not be read; why, worded for a status.
    Unavailable { reason: String },
}

/// Reads the permission policies of the role `role_arn`: `ListRolePolicies` + `GetRolePolicy` for the inline
/// ones, `ListAttachedRolePolicies` + `GetPolicy` + `GetPolicyVersion` for the managed ones.
pub async fn read_role_policies(clients: &AwsClients, role_arn: &str) -> RolePolicies {
    let role = match parse_role_arn(role_arn) {
        Ok(role) => role,
        Err(err) => {
            return RolePolicies::Unavailable {
                reason: err.to_string(),
            };
        }
    };
    if role.account_id != clients.account_id() {
        return RolePolicies::Unavailable {
            reason: format!(
                "the role is in account {}, the operator's credentials are for account {}",
                role.account_id,
                clients.account_id()
            ),
        };
    }
    match observe::role_permission_policies(clients, role.name).await {
        Ok(Some(policies)) => RolePolicies::Read(policies),
        Ok(None) => RolePolicies::Unavailable {
            reason: format!("role {} not found", role.name),
        },
        Err(err) => RolePolicies::Unavailable {
            reason: err.to_string(),
        },
    }
}
