//! Planning the CloudWatch alarms of a state machine: resolving the ARN placeholder, deciding which live
//! alarms need their tags read, and the put/tag/delete operations. Alarms come after the state machine in
//! a plan because their dimensions name it.

use sfn_alarms::AlarmSpec;

use crate::compare::{diff_tags, same_alarm};
use crate::error::PlanError;
use crate::model::{DesiredMachine, ObservedMachine, STATE_MACHINE_ARN_PLACEHOLDER};
use crate::operation::Operation;
use crate::ownership::{Ownership, check_owner};

/// Substitutes [`STATE_MACHINE_ARN_PLACEHOLDER`] in an alarm.
pub fn resolve_alarm(alarm: &AlarmSpec, state_machine_arn: &str) -> AlarmSpec {
    let sub = |s: &String| s.replace(STATE_MACHINE_ARN_PLACEHOLDER, state_machine_arn);
    let mut out = alarm.clone();
    out.dimensions = alarm
        .dimensions
        .iter()
        .map(|(k, v)| (k.clone(), sub(v)))
        .collect();
    out.description = alarm.description.as_ref().map(sub);
    out
}

fn desired_alarms(desired: &DesiredMachine, observed: &ObservedMachine) -> Vec<AlarmSpec> {
    match observed.state_machine.as_ref().filter(|m| !m.is_deleting()) {
        Some(live) => desired
            .alarms
            .iter()
            .map(|a| resolve_alarm(a, &live.arn))
            .collect(),
        // Not live (yet, or being replaced): its ARN is fixed by the name, so a live alarm that already
        // names it tells the ARN and an unchanged alarm is not rewritten.
        None => {
            let suffix = format!(":stateMachine:{}", desired.name);
            let known = observed
                .alarms
                .iter()
                .flat_map(|a| a.spec.dimensions.iter())
                .map(|(_, v)| v)
                .find(|v| v.starts_with("arn:") && v.ends_with(&suffix));
            match known {
                Some(arn) => desired
                    .alarms
                    .iter()
                    .map(|a| resolve_alarm(a, arn))
                    .collect(),
                None => desired.alarms.clone(),
            }
        }
    }
}

/// Names of live alarms whose tags the planner needs: those that must change or go (to check that they
/// are ours), and all of them when adopting (to tag them).
pub fn alarms_needing_tags(desired: &DesiredMachine, observed: &ObservedMachine) -> Vec<String> {
    let want = desired_alarms(desired, observed);
    observed
        .alarms
        .iter()
        .filter(|live| live.tags.is_none())
        .filter(|live| {
            desired.adopt
                || match want.iter().find(|w| w.name == live.spec.name) {
                    Some(w) => !same_alarm(&live.spec, w),
                    None => true,
                }
        })
        .map(|live| live.spec.name.clone())
        .collect()
}

pub(crate) fn plan_alarms(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
    ops: &mut Vec<Operation>,
) -> Result<(), PlanError> {
    let tags = desired.resource_tags();
    let want = desired_alarms(desired, observed);
    for alarm in &want {
        match observed.alarms.iter().find(|l| l.spec.name == alarm.name) {
            None => ops.push(Operation::PutMetricAlarm {
                alarm: alarm.clone(),
                tags: tags.clone(),
            }),
            Some(live) => {
                let same = same_alarm(&live.spec, alarm);
                if same && !desired.adopt {
                    continue;
                }
                let live_tags = live.tags.clone().unwrap_or_default();
                let ownership = check_owner(
                    &desired.owner,
                    desired.adopt,
                    "alarm",
                    &alarm.name,
                    &live_tags,
                )?;
                if matches!(ownership, Ownership::Adopt) {
                    let (set, _) = diff_tags(&live_tags, &tags);
                    ops.push(Operation::TagAlarm {
                        alarm_arn: live.arn.clone(),
                        tags: set,
                    });
                }
                if !same {
                    ops.push(Operation::PutMetricAlarm {
                        alarm: alarm.clone(),
                        tags: tags.clone(),
                    });
                }
            }
        }
    }
    // Alarms under our prefix that are no longer wanted; others' alarms are left alone.
    let stale: Vec<String> = observed
        .alarms
        .iter()
        .filter(|l| !want.iter().any(|w| w.name == l.spec.name))
        .filter(|l| l.tags.as_ref().is_some_and(|t| desired.owner.owns(t)))
        .map(|l| l.spec.name.clone())
        .collect();
    if !stale.is_empty() {
        ops.push(Operation::DeleteAlarms { names: stale });
    }
    Ok(())
}
