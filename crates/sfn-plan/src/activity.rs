//! Planning an Activity object: it only has a name and tags, so creation, tagging and deletion are all
//! there is.

use crate::compare::diff_tags;
use crate::error::PlanError;
use crate::model::{DeletionPolicy, DesiredActivity, ObservedActivity};
use crate::operation::Operation;
use crate::ownership::check_owner;

/// The operations that make the activity exist, tagged as ours.
pub fn plan_activity(
    desired: &DesiredActivity,
    observed: Option<&ObservedActivity>,
) -> Result<Vec<Operation>, PlanError> {
    let tags = desired.full_tags();
    let Some(live) = observed else {
        return Ok(vec![Operation::CreateActivity {
            name: desired.name.clone(),
            tags,
        }]);
    };
    check_owner(
        &desired.owner,
        desired.adopt,
        "activity",
        &live.name,
        &live.tags,
    )?;
    let (set, remove) = diff_tags(&live.tags, &tags);
    let mut ops = Vec::new();
    if !set.is_empty() {
        ops.push(Operation::TagResource {
            arn: live.arn.clone(),
            tags: set,
        });
    }
    if !remove.is_empty() {
        ops.push(Operation::UntagResource {
            arn: live.arn.clone(),
            keys: remove,
        });
    }
    Ok(ops)
}

/// Deleting an activity: only ours, never with `Retain`.
pub fn plan_activity_deletion(
    desired: &DesiredActivity,
    observed: Option<&ObservedActivity>,
) -> Vec<Operation> {
    match observed {
        Some(live)
            if desired.deletion_policy == DeletionPolicy::Delete
                && desired.owner.owns(&live.tags) =>
        {
            vec![Operation::DeleteActivity {
                arn: live.arn.clone(),
            }]
        }
        _ => Vec::new(),
    }
}
