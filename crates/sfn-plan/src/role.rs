//! Planning the managed execution role: the role itself, its trust policy, permissions boundary, inline
//! and customer managed policies. The role comes first in a plan, because the state machine needs an
//! assumable role; machine deletion reuses [`delete_managed_policy`] to take the role apart.

use crate::compare::{diff_tags, same_policy};
use crate::error::PlanError;
use crate::model::{
    DesiredMachine, MAX_POLICY_VERSIONS, ManagedRole, ObservedManagedPolicy, ObservedRole,
};
use crate::operation::Operation;
use crate::ownership::check_owner;

pub(crate) fn plan_role(
    desired: &DesiredMachine,
    role: &ManagedRole,
    live: Option<&ObservedRole>,
    ops: &mut Vec<Operation>,
) -> Result<(), PlanError> {
    // The required role tags first: the machine's own tags never share a key with them (the guardrail
    // check refuses such specs), and the ownership tags always win.
    let mut tags = role.tags.clone();
    tags.extend(desired.resource_tags());
    let Some(live) = live else {
        ops.push(Operation::CreateRole {
            name: role.name.clone(),
            path: role.path.clone(),
            trust_policy: role.trust_policy.clone(),
            permissions_boundary: role.permissions_boundary.clone(),
            tags: tags.clone(),
        });
        for (name, document) in &role.policies {
            ops.push(Operation::PutRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
                document: document.clone(),
            });
        }
        for policy in &role.managed_policies {
            ops.push(Operation::CreatePolicy {
                name: policy.name.clone(),
                path: policy.path.clone(),
                document: policy.document.clone(),
                tags: tags.clone(),
            });
            ops.push(Operation::AttachRolePolicy {
                role_name: role.name.clone(),
                policy_arn: policy.arn.clone(),
            });
        }
        return Ok(());
    };
    check_owner(
        &desired.owner,
        desired.adopt,
        "role",
        &live.name,
        &live.tags,
    )?;
    let (set, remove) = diff_tags(&live.tags, &tags);
    if !set.is_empty() {
        ops.push(Operation::TagRole {
            role_name: role.name.clone(),
            tags: set,
        });
    }
    if !same_policy(&live.trust_policy, &role.trust_policy) {
        ops.push(Operation::UpdateAssumeRolePolicy {
            role_name: role.name.clone(),
            trust_policy: role.trust_policy.clone(),
        });
    }
    match (&live.permissions_boundary, &role.permissions_boundary) {
        (a, Some(b)) if a.as_ref() != Some(b) => ops.push(Operation::PutRolePermissionsBoundary {
            role_name: role.name.clone(),
            boundary_arn: b.clone(),
        }),
        (Some(_), None) => ops.push(Operation::DeleteRolePermissionsBoundary {
            role_name: role.name.clone(),
        }),
        _ => {}
    }
    for (name, document) in &role.policies {
        if live
            .policies
            .get(name)
            .is_none_or(|doc| !same_policy(doc, document))
        {
            ops.push(Operation::PutRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
                document: document.clone(),
            });
        }
    }
    // Managed policies are granted before inline ones are taken away (and the other way round), so that
    // switching between the two never leaves the role without a permission it needs.
    for policy in &role.managed_policies {
        match live.managed_policies.iter().find(|p| p.arn == policy.arn) {
            None => ops.push(Operation::CreatePolicy {
                name: policy.name.clone(),
                path: policy.path.clone(),
                document: policy.document.clone(),
                tags: tags.clone(),
            }),
            Some(observed) if !same_policy(&observed.document, &policy.document) => {
                if observed.version_ids.len() >= MAX_POLICY_VERSIONS
                    && let Some(oldest) = observed.non_default_versions().into_iter().next()
                {
                    ops.push(Operation::DeletePolicyVersion {
                        policy_arn: policy.arn.clone(),
                        version_id: oldest,
                    });
                }
                ops.push(Operation::CreatePolicyVersion {
                    policy_arn: policy.arn.clone(),
                    document: policy.document.clone(),
                });
            }
            Some(_) => {}
        }
        if !live.attached_policy_arns.contains(&policy.arn) {
            ops.push(Operation::AttachRolePolicy {
                role_name: role.name.clone(),
                policy_arn: policy.arn.clone(),
            });
        }
    }
    // Extra inline policies (added out of band) widen the role: they go.
    for name in live.policies.keys() {
        if !role.policies.iter().any(|(n, _)| n == name) {
            ops.push(Operation::DeleteRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
            });
        }
    }
    // Our managed policies that are no longer wanted (back to inline, or fewer documents).
    for observed in &live.managed_policies {
        if !role.managed_policies.iter().any(|p| p.arn == observed.arn) {
            delete_managed_policy(&role.name, observed, live, ops);
        }
    }
    if !remove.is_empty() {
        ops.push(Operation::UntagRole {
            role_name: role.name.clone(),
            keys: remove,
        });
    }
    Ok(())
}

/// Detach, then non-default versions, then the policy: IAM refuses to delete a policy that is attached or
/// has other versions.
pub(crate) fn delete_managed_policy(
    role_name: &str,
    policy: &ObservedManagedPolicy,
    live: &ObservedRole,
    ops: &mut Vec<Operation>,
) {
    if live.attached_policy_arns.contains(&policy.arn) {
        ops.push(Operation::DetachRolePolicy {
            role_name: role_name.to_string(),
            policy_arn: policy.arn.clone(),
        });
    }
    for version_id in policy.non_default_versions() {
        ops.push(Operation::DeletePolicyVersion {
            policy_arn: policy.arn.clone(),
            version_id,
        });
    }
    ops.push(Operation::DeletePolicy {
        policy_arn: policy.arn.clone(),
    });
}
