//! Planning a StateMachine object as a whole: role, then state machine, then alarms, then the final tags
//! with the spec hash; and its deletion in reverse. Replacement (type change, rename) is decided here.

use std::collections::BTreeMap;

use sfn_api::naming;

use crate::alarms::plan_alarms;
use crate::compare::{diff_tags, same_definition};
use crate::echo::{same_encryption, same_logging};
use crate::error::PlanError;
use crate::log_group::{plan_log_group, plan_log_group_deletion};
use crate::model::{
    DeletionPolicy, DesiredMachine, DesiredRole, ObservedMachine, ObservedRole,
    ObservedStateMachine,
};
use crate::operation::{Operation, RoleRef, StateMachineUpdate};
use crate::ownership::{Ownership, check_owner};
use crate::role::{delete_managed_policy, plan_role};

/// The operations that make AWS match `desired`, in a safe order. Empty when everything matches.
pub fn plan_machine(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
) -> Result<Vec<Operation>, PlanError> {
    let object = format!("StateMachine {}", desired.owner.describe());
    let mut ops = Vec::new();

    // Alarms are found again by their name prefix; one outside it would be re-created on every reconcile
    // and never cleaned up.
    let prefix = naming::alarm_name_prefix(&desired.name);
    if let Some(alarm) = desired.alarms.iter().find(|a| !a.name.starts_with(&prefix)) {
        return Err(PlanError::InvalidDesired {
            object,
            reason: format!("alarm name {:?} does not start with {prefix:?}", alarm.name),
        });
    }

    // A renamed machine: the new one is built below; the old one goes at the end, once the new one exists.
    let mut retire_previous = None;
    if let Some(previous) = &observed.previous_state_machine
        && previous.name != desired.name
        && !previous.is_deleting()
        && desired.owner.owns(&previous.tags)
    {
        if !desired.allow_replace {
            return Err(PlanError::ImmutableChange {
                object,
                field: "name",
                from: previous.name.clone(),
                to: desired.name.clone(),
            });
        }
        retire_previous = Some(previous.arn.clone());
    }

    // 1. The role.
    let role_ref = match &desired.role {
        DesiredRole::External { arn } => RoleRef::Arn(arn.clone()),
        DesiredRole::Managed(role) => {
            plan_role(desired, role, observed.role.as_ref(), &mut ops)?;
            RoleRef::Managed(role.name.clone())
        }
    };

    // The log group the machine's logging points at must exist before the machine is configured.
    plan_log_group(desired, observed, &mut ops)?;

    // 2. The state machine.
    let tags = desired.full_tags();
    let mut final_tags = Vec::new();
    match &observed.state_machine {
        Some(live) if live.is_deleting() => {
            ops.push(Operation::AwaitDeletion {
                arn: live.arn.clone(),
            });
            return Ok(ops);
        }
        None => ops.push(Operation::CreateStateMachine {
            name: desired.name.clone(),
            machine_type: desired.machine_type,
            definition: desired.definition.clone(),
            role: role_ref,
            logging: desired.logging.clone(),
            tracing: desired.tracing,
            encryption: desired.encryption.clone(),
            tags,
            publish: desired.publish.clone(),
        }),
        Some(live) => {
            let ownership = check_owner(
                &desired.owner,
                desired.adopt,
                "state machine",
                &live.name,
                &live.tags,
            )?;
            if live.machine_type != desired.machine_type {
                if !desired.allow_replace {
                    return Err(PlanError::ImmutableChange {
                        object,
                        field: "type",
                        from: live.machine_type.as_str().to_string(),
                        to: desired.machine_type.as_str().to_string(),
                    });
                }
                // Same name, so the new machine can only be created once the old one is gone.
                ops.push(Operation::DeleteStateMachine {
                    arn: live.arn.clone(),
                });
                ops.push(Operation::AwaitDeletion {
                    arn: live.arn.clone(),
                });
                return Ok(ops);
            }
            let (mut set, remove) = diff_tags(&live.tags, &tags);
            // Ownership first: an interrupted adoption still leaves the machine marked as ours. The
            // spec hash waits for the end like any other change.
            if matches!(ownership, Ownership::Adopt) {
                let owner_tags: BTreeMap<String, String> = desired
                    .owner
                    .tags()
                    .into_iter()
                    .filter(|(k, _)| set.contains_key(k))
                    .collect();
                for k in owner_tags.keys() {
                    set.remove(k);
                }
                if !owner_tags.is_empty() {
                    ops.push(Operation::TagResource {
                        arn: live.arn.clone(),
                        tags: owner_tags,
                    });
                }
            }
            let update = state_machine_update(desired, live, &role_ref, observed.role.as_ref());
            let changed = update != StateMachineUpdate::default();
            if changed {
                ops.push(Operation::UpdateStateMachine {
                    arn: live.arn.clone(),
                    update,
                    publish: desired.publish.clone(),
                });
            } else if let Some(publish) = &desired.publish
                && !live.current_revision_published()
            {
                // Publishing was turned on for a machine that has not changed since (or its revision was
                // never published): publish what runs now. Read back from AWS on every reconcile, so a
                // restarted operator never publishes the same revision twice.
                ops.push(Operation::PublishStateMachineVersion {
                    arn: live.arn.clone(),
                    revision_id: live.revision_id.clone(),
                    description: publish.description.clone(),
                });
            }
            // The tags, with the spec hash, go last of all (after the alarms): a reconcile interrupted
            // anywhere before leaves the old hash, so the next one redoes the rest instead of taking it
            // as done.
            if !set.is_empty() {
                final_tags.push(Operation::TagResource {
                    arn: live.arn.clone(),
                    tags: set,
                });
            }
            if !remove.is_empty() {
                final_tags.push(Operation::UntagResource {
                    arn: live.arn.clone(),
                    keys: remove,
                });
            }
        }
    }

    // 3. The alarms.
    plan_alarms(desired, observed, &mut ops)?;

    if let Some(arn) = retire_previous {
        ops.push(Operation::DeleteStateMachine { arn });
    }
    ops.extend(final_tags);
    Ok(ops)
}

fn state_machine_update(
    desired: &DesiredMachine,
    live: &ObservedStateMachine,
    role_ref: &RoleRef,
    live_role: Option<&ObservedRole>,
) -> StateMachineUpdate {
    let mut update = StateMachineUpdate::default();
    if !same_definition(&live.definition, &desired.definition) {
        update.definition = Some(desired.definition.clone());
    }
    let role_matches = match role_ref {
        RoleRef::Arn(arn) => &live.role_arn == arn,
        // The managed role's ARN is only known when it is live; a role about to be created cannot match.
        RoleRef::Managed(_) => live_role.is_some_and(|r| r.arn == live.role_arn),
    };
    if !role_matches {
        update.role = Some(role_ref.clone());
    }
    if !same_logging(live.logging.as_ref(), desired.logging.as_ref()) {
        update.logging = Some(desired.logging.clone());
    }
    if live.tracing != desired.tracing {
        update.tracing = Some(desired.tracing);
    }
    if !same_encryption(live.encryption.as_ref(), desired.encryption.as_ref()) {
        update.encryption = Some(desired.encryption.clone());
    }
    update
}

/// The operations that remove what `desired` owns: alarms, then the state machine, then the role.
/// `Retain` removes nothing. Resources that are not ours are left alone; a machine already `DELETING`
/// counts as gone.
pub fn plan_machine_deletion(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
) -> Vec<Operation> {
    if desired.deletion_policy == DeletionPolicy::Retain {
        return Vec::new();
    }
    let owner = &desired.owner;
    let mut ops = Vec::new();
    let alarms: Vec<String> = observed
        .alarms
        .iter()
        .filter(|a| a.tags.as_ref().is_some_and(|t| owner.owns(t)))
        .map(|a| a.spec.name.clone())
        .collect();
    if !alarms.is_empty() {
        ops.push(Operation::DeleteAlarms { names: alarms });
    }
    for machine in [&observed.state_machine, &observed.previous_state_machine]
        .into_iter()
        .flatten()
    {
        if !machine.is_deleting() && owner.owns(&machine.tags) {
            // The machine's aliases are ours with it; they go first, so nothing routes to a machine
            // that is half gone.
            for alias in &machine.aliases {
                ops.push(Operation::DeleteStateMachineAlias {
                    alias_arn: alias.arn.clone(),
                });
            }
            ops.push(Operation::DeleteStateMachine {
                arn: machine.arn.clone(),
            });
        }
    }
    plan_log_group_deletion(desired, observed, &mut ops);
    if let (DesiredRole::Managed(_), Some(role)) = (&desired.role, &observed.role)
        && owner.owns(&role.tags)
    {
        for name in role.policies.keys() {
            ops.push(Operation::DeleteRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
            });
        }
        for arn in &role.attached_policy_arns {
            if role.managed_policies.iter().any(|p| p.arn == *arn) {
                continue;
            }
            ops.push(Operation::DetachRolePolicy {
                role_name: role.name.clone(),
                policy_arn: arn.clone(),
            });
        }
        // Ours are named after the role, which is ours: they go with it.
        for policy in &role.managed_policies {
            delete_managed_policy(&role.name, policy, role, &mut ops);
        }
        ops.push(Operation::DeleteRole {
            role_name: role.name.clone(),
        });
    }
    ops
}
