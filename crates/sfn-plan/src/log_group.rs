//! The log group a StateMachine gets when it enables logging without naming one: created before the
//! state machine (Step Functions checks the destination when logging is configured), kept in line
//! (retention, KMS key, tags) and deleted after the state machine. Ownership is checked like every other
//! resource: a group of that name carrying no (or other) owner tags is refused unless the object adopts it.

use sfn_api::naming;

use crate::compare::diff_tags;
use crate::error::PlanError;
use crate::model::{DeletionPolicy, DesiredMachine, ObservedMachine};
use crate::operation::Operation;
use crate::ownership::{Ownership, check_owner};

/// Appends what makes the desired log group exist as declared. Nothing when none is desired.
pub(crate) fn plan_log_group(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
    ops: &mut Vec<Operation>,
) -> Result<(), PlanError> {
    let Some(want) = &desired.log_group else {
        return Ok(());
    };
    let tags = desired.resource_tags();
    let Some(live) = &observed.log_group else {
        ops.push(Operation::CreateLogGroup {
            name: want.name.clone(),
            kms_key_id: want.kms_key_id.clone(),
            tags,
        });
        ops.push(Operation::PutRetentionPolicy {
            name: want.name.clone(),
            retention_in_days: want.retention_in_days,
        });
        return Ok(());
    };
    let ownership = check_owner(
        &desired.owner,
        desired.adopt,
        "log group",
        &live.name,
        &live.tags,
    )?;
    let (set, remove) = diff_tags(&live.tags, &tags);
    // An adopted group is marked as ours before anything else changes in it.
    if matches!(ownership, Ownership::Adopt) && !set.is_empty() {
        ops.push(Operation::TagLogGroup {
            arn: live.arn.clone(),
            tags: set.clone(),
        });
    }
    if live.retention_in_days != Some(want.retention_in_days) {
        ops.push(Operation::PutRetentionPolicy {
            name: want.name.clone(),
            retention_in_days: want.retention_in_days,
        });
    }
    match (&live.kms_key_id, &want.kms_key_id) {
        (live_key, Some(key)) if live_key.as_ref() != Some(key) => {
            ops.push(Operation::AssociateKmsKey {
                name: want.name.clone(),
                kms_key_id: key.clone(),
            })
        }
        (Some(_), None) => ops.push(Operation::DisassociateKmsKey {
            name: want.name.clone(),
        }),
        _ => {}
    }
    if matches!(ownership, Ownership::Ours) && !set.is_empty() {
        ops.push(Operation::TagLogGroup {
            arn: live.arn.clone(),
            tags: set,
        });
    }
    if !remove.is_empty() {
        ops.push(Operation::UntagLogGroup {
            arn: live.arn.clone(),
            keys: remove,
        });
    }
    Ok(())
}

/// The deletion of the desired log group, when it is ours and the policy is `Delete`.
pub(crate) fn plan_log_group_deletion(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
    ops: &mut Vec<Operation>,
) {
    if desired.deletion_policy == DeletionPolicy::Retain {
        return;
    }
    if let Some(live) = &observed.log_group
        && desired.owner.owns(&live.tags)
    {
        ops.push(Operation::DeleteLogGroup {
            name: live.name.clone(),
        });
    }
}

/// The warning for a user-given log group outside `/aws/vendedlogs/`: Step Functions then adds the group
/// to the account's CloudWatch Logs resource policy, which is limited to 5,120 characters per policy, so
/// enough machines logging to such groups make new logging configurations fail. `None` for a vended group
/// or an ARN with no log group name in it.
pub fn vended_logs_warning(log_group_arn: &str) -> Option<String> {
    let name = naming::log_group_name_from_arn(log_group_arn)?;
    if name.starts_with(naming::VENDED_LOGS_PREFIX) {
        return None;
    }
    Some(format!(
        "spec.logging.logGroupArn: log group {name:?} is not under {}: Step Functions must add it to the \
         account's CloudWatch Logs resource policy, which is limited to 5120 characters, and once that \
         policy is full enabling logging fails (InvalidLoggingConfiguration); use a log group whose name \
         starts with {}, or leave logGroupArn out and the operator creates one",
        naming::VENDED_LOGS_PREFIX,
        naming::VENDED_LOGS_PREFIX,
    ))
}
