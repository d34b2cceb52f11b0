//! The entry points the controller and `sfn-operator apply` call: observe → plan → apply for one object.
//!
//! Every function is safe to interrupt and to repeat: it starts from what is live, so a second call after
//! a crash, an error or a success finishes what is left and does nothing more.

use super::apply::{ApplyContext, apply};
use super::observe::{self, Depth};
use super::{AwsClients, AwsError, CallCounts, noop_writes};
use sfn_api::versions::RolloutStatus;
use sfn_plan::rollout::RolloutEvent;
use sfn_plan::versions::{RolloutContext, alias_arn, plan_versions};
use sfn_plan::{
    self as plan, DeletionPolicy, DesiredActivity, DesiredMachine, DesiredRole, ObservedAlias,
    ObservedMachine, ObservedStateMachine, ObservedVersion, Operation, SPEC_HASH_TAG,
};
use std::borrow::Cow;

/// The result of reconciling one StateMachine.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `None` only while waiting for a replaced machine to finish deleting.
    pub state_machine_arn: Option<String>,
    pub role_arn: Option<String>,
    pub alarm_names: Vec<String>,
    /// The version published by this reconcile, else the newest one live (read when publishing is on).
    pub version_arn: Option<String>,
    /// The write operations performed, in order.
    pub operations: Vec<Operation>,
    /// The spec had not changed since the last complete apply, yet AWS differed: someone changed it out
    /// of band and it was put back.
    pub drift_corrected: bool,
    /// Not finished: a machine is still `DELETING` (replacement); reconcile again later.
    pub requeue: bool,
    /// AWS calls made by this reconcile, by API.
    pub calls: CallCounts,
    /// What this reconcile observed is exactly what the previous reconcile of this machine observed
    /// before its writes: those writes changed nothing (see [`crate::noop_writes`]).
    pub previous_writes_were_noops: bool,
    /// The published versions after this reconcile, newest first (empty without publishing).
    pub versions: Vec<ObservedVersion>,
    /// The aliases after this reconcile, in spec order.
    pub aliases: Vec<ObservedAlias>,
    /// The rollout status the rollout step reported (the alias with a Canary or Linear strategy).
    pub rollout: Option<RolloutStatus>,
    /// When a rollout needs the next look.
    pub requeue_after: Option<std::time::Duration>,
    /// Rollout events to emit.
    pub rollout_events: Vec<RolloutEvent>,
}

/// The result of deleting (or releasing) one object's AWS resources.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOutcome {
    pub operations: Vec<Operation>,
    /// `deletionPolicy: Retain`: AWS was left alone.
    pub retained: bool,
    pub calls: CallCounts,
}

/// The result of reconciling one Activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityOutcome {
    pub activity_arn: String,
    pub operations: Vec<Operation>,
    pub calls: CallCounts,
}

async fn observe_for_plan(
    clients: &AwsClients,
    desired: &DesiredMachine,
) -> Result<ObservedMachine, AwsError> {
    let mut observed = observe::machine(clients, desired, Depth::Reconcile).await?;
    observe::fill_alarm_tags(clients, desired, &mut observed).await?;
    Ok(observed)
}

/// The observation and plan of a reconcile. The shared role listing may answer for the role, but only a
/// plan with nothing to do is taken from it: any operation is planned again from direct reads, so no write
/// rests on a listing that may be older than the role.
async fn observe_and_plan<'d>(
    clients: &AwsClients,
    desired: &'d DesiredMachine,
) -> Result<(Cow<'d, DesiredMachine>, ObservedMachine, Vec<Operation>), AwsError> {
    let (mut observed, listed) =
        observe::machine_reading(clients, desired, Depth::Reconcile, true).await?;
    if let Some(adopted) = plan::adopt_legacy_role(desired, live_role_arn(&observed)) {
        let observed = Box::pin(observe_for_plan(clients, &adopted)).await?;
        let ops = plan::plan_machine(&adopted, &observed)?;
        return Ok((Cow::Owned(adopted), observed, ops));
    }
    observe::fill_alarm_tags(clients, desired, &mut observed).await?;
    let ops = plan::plan_machine(desired, &observed)?;
    if ops.is_empty() || !listed {
        return Ok((Cow::Borrowed(desired), observed, ops));
    }
    let observed = Box::pin(observe_for_plan(clients, desired)).await?;
    let ops = plan::plan_machine(desired, &observed)?;
    Ok((Cow::Borrowed(desired), observed, ops))
}

/// The role the live state machine runs with.
fn live_role_arn(observed: &ObservedMachine) -> Option<&str> {
    observed.state_machine.as_ref().map(|m| m.role_arn.as_str())
}

/// Reads `desired`'s resources, or those of [`plan::adopt_legacy_role`]'s version of it when the live
/// machine still runs with its role of before role names carried the region.
async fn observe_adopting<'d>(
    clients: &AwsClients,
    desired: &'d DesiredMachine,
    depth: Depth,
) -> Result<(Cow<'d, DesiredMachine>, ObservedMachine), AwsError> {
    let observed = match depth {
        Depth::Reconcile => Box::pin(observe_for_plan(clients, desired)).await?,
        _ => Box::pin(observe::machine(clients, desired, depth)).await?,
    };
    match plan::adopt_legacy_role(desired, live_role_arn(&observed)) {
        Some(adopted) => {
            let observed = match depth {
                Depth::Reconcile => Box::pin(observe_for_plan(clients, &adopted)).await?,
                _ => Box::pin(observe::machine(clients, &adopted, depth)).await?,
            };
            Ok((Cow::Owned(adopted), observed))
        }
        None => Ok((Cow::Borrowed(desired), observed)),
    }
}

/// Tells the shared role listing that the managed role of `desired` is being written.
async fn note_role_write(clients: &AwsClients, desired: &DesiredMachine) {
    if let (Some(directory), DesiredRole::Managed(r)) = (&clients.roles, &desired.role) {
        directory.note_write(&r.name).await;
    }
}

/// Reads what is live and returns what [`reconcile_machine`] would do, changing nothing (`plan --live`).
pub async fn plan_machine_live(
    clients: &AwsClients,
    desired: &DesiredMachine,
) -> Result<Vec<Operation>, AwsError> {
    let (desired, observed) = observe_adopting(clients, desired, Depth::Reconcile).await?;
    Ok(plan::plan_machine(&desired, &observed)?)
}

/// Makes AWS match `desired`: role and policies, state machine, alarms, then aliases and old versions.
/// The rollout step gets the object's memory (`desired.rollout_memory`: the last status and the
/// annotations) and, when an alias rolls out progressively, the gating alarms' states read now.
pub async fn reconcile_machine(
    clients: &AwsClients,
    desired: &DesiredMachine,
) -> Result<Outcome, AwsError> {
    let ctx = rollout_context(clients, desired).await?;
    Box::pin(reconcile_machine_with(clients, desired, &ctx)).await
}

/// The rollout step's context for `desired`. Alarm states cost one `DescribeAlarms` per 100 names, and only
/// for a machine with a Canary or Linear alias: an idle machine without one reads nothing more.
pub async fn rollout_context(
    clients: &AwsClients,
    desired: &DesiredMachine,
) -> Result<RolloutContext, AwsError> {
    let mut ctx = RolloutContext::at(jiff_now());
    ctx.previous = desired.rollout_memory.previous.clone();
    ctx.requests = desired.rollout_memory.requests.clone();
    let names = sfn_plan::versions::alarms_to_watch(desired);
    if !names.is_empty() {
        ctx.alarms = observe::alarm_states(clients, &names)
            .await?
            .into_iter()
            .filter_map(|(name, state)| Some((name, state?)))
            .collect();
    }
    Ok(ctx)
}

fn jiff_now() -> sfn_plan::versions::Timestamp {
    sfn_plan::versions::Timestamp::now()
}

/// [`reconcile_machine`] with the rollout's history, requests and alarm states.
pub async fn reconcile_machine_with(
    clients: &AwsClients,
    desired: &DesiredMachine,
    rollout: &RolloutContext,
) -> Result<Outcome, AwsError> {
    let before = clients.calls();
    // Boxed: the observe and apply futures hold every call's state, and inline they make one frame
    // big enough to overflow a 2 MiB thread stack in a debug build.
    let (desired, observed, ops) = Box::pin(observe_and_plan(clients, desired)).await?;
    let desired = desired.as_ref();
    let fingerprint = noop_writes::fingerprint(&observed);
    let previous_writes_were_noops = clients.writes.observed(&desired.name, fingerprint);
    let drift_corrected = !ops.is_empty()
        && observed
            .state_machine
            .as_ref()
            .and_then(|m| m.tags.get(SPEC_HASH_TAG))
            == Some(&desired.spec_hash());
    let mut ctx = ApplyContext::from_observed(&observed);
    if !ops.is_empty() {
        note_role_write(clients, desired).await;
    }
    let applied = Box::pin(apply(clients, &ops, &mut ctx)).await;
    if !ops.is_empty() {
        note_role_write(clients, desired).await;
    }
    applied?;
    // Publishing alone changes no configuration that is observed; everything else does.
    if ctx
        .applied
        .iter()
        .any(|op| !matches!(op, Operation::PublishStateMachineVersion { .. }))
    {
        clients.writes.wrote(&desired.name, fingerprint);
    }
    let routed = if desired.publish.is_some()
        && !ctx.waiting_for_deletion
        && let Some(machine_arn) = ctx.state_machine_arn.clone()
    {
        let live = observed.state_machine.as_ref();
        Box::pin(route_versions(
            clients,
            desired,
            rollout,
            &machine_arn,
            live,
            ctx.version_arn.as_deref(),
        ))
        .await?
    } else {
        Routed::default()
    };
    ctx.applied.extend(routed.applied);
    let role_arn = match &desired.role {
        DesiredRole::External { arn } => Some(arn.clone()),
        DesiredRole::Managed(r) => ctx.role_arns.get(&r.name).cloned(),
    };
    let version_arn = ctx
        .version_arn
        .clone()
        .or_else(|| {
            observed
                .state_machine
                .as_ref()
                .and_then(|m| m.latest_version().map(|v| v.arn.clone()))
        })
        .or_else(|| desired.known_version_arn.clone());
    Ok(Outcome {
        state_machine_arn: ctx.state_machine_arn.clone(),
        role_arn,
        alarm_names: if ctx.waiting_for_deletion {
            Vec::new()
        } else {
            desired.alarms.iter().map(|a| a.name.clone()).collect()
        },
        version_arn,
        operations: ctx.applied,
        drift_corrected,
        requeue: ctx.waiting_for_deletion,
        calls: clients.calls().since(&before),
        previous_writes_were_noops,
        versions: routed.versions,
        aliases: routed.aliases,
        rollout: routed.rollout,
        requeue_after: routed.requeue_after,
        rollout_events: routed.events,
    })
}

/// What the versions-and-aliases step of a publishing machine did.
#[derive(Default)]
struct Routed {
    versions: Vec<ObservedVersion>,
    aliases: Vec<ObservedAlias>,
    rollout: Option<RolloutStatus>,
    requeue_after: Option<std::time::Duration>,
    events: Vec<RolloutEvent>,
    applied: Vec<Operation>,
}

/// The step after the machine's own apply, for a machine that publishes: its aliases routed (a rollout's
/// step), and versions beyond the retained count deleted. `live` is the machine as observed before the
/// apply, `published` the version the apply published.
async fn route_versions(
    clients: &AwsClients,
    desired: &DesiredMachine,
    rollout: &RolloutContext,
    machine_arn: &str,
    live: Option<&ObservedStateMachine>,
    published: Option<&str>,
) -> Result<Routed, AwsError> {
    let mut versions = versions_after_publish(
        clients,
        desired,
        machine_arn,
        live.map(|m| m.versions.clone()).unwrap_or_default(),
        published,
    )
    .await?;
    let live_aliases = live.map(|m| m.aliases.clone()).unwrap_or_default();
    let planned = plan_versions(desired, machine_arn, &versions, &live_aliases, rollout)?;
    let mut alias_ctx = ApplyContext {
        state_machine_arn: Some(machine_arn.to_owned()),
        ..ApplyContext::default()
    };
    Box::pin(apply(clients, &planned.operations, &mut alias_ctx)).await?;
    let deleted: Vec<&str> = alias_ctx
        .applied
        .iter()
        .filter_map(|op| match op {
            Operation::DeleteStateMachineVersion { version_arn } => Some(version_arn.as_str()),
            _ => None,
        })
        .collect();
    versions.retain(|v| !deleted.contains(&v.arn.as_str()));
    let aliases = planned
        .aliases
        .iter()
        .map(|a| ObservedAlias {
            name: a.name.clone(),
            arn: alias_arn(machine_arn, &a.name),
            description: a.description.clone(),
            routing: a.routing.clone(),
        })
        .collect();
    Ok(Routed {
        versions,
        aliases,
        rollout: planned.rollout,
        requeue_after: planned.requeue_after,
        events: planned.events,
        applied: alias_ctx.applied,
    })
}

/// The machine's versions after this reconcile's apply, from `observed` (listed before it) and
/// `published` (the version the apply published, if any). A version published now is read back (one more
/// listing), so that the status written now is the one the next idle reconcile observes: its creation
/// time, and the description of the newest. One the listing does not show yet (it lags the publish, or
/// the read failed) is added with what this reconcile knows of it.
async fn versions_after_publish(
    clients: &AwsClients,
    desired: &DesiredMachine,
    machine_arn: &str,
    observed: Vec<ObservedVersion>,
    published: Option<&str>,
) -> Result<Vec<ObservedVersion>, AwsError> {
    let Some(published) = published else {
        return Ok(observed);
    };
    if observed.iter().any(|v| v.arn == published) {
        return Ok(observed);
    }
    // Only for the status: the version is published whatever this read says, so a failed read is not a
    // failed reconcile (the next one lists the versions anyway).
    let mut versions = match observe::versions(clients, machine_arn).await {
        Ok(listed) => listed,
        Err(err) => {
            tracing::debug!(error = %err, machine = machine_arn, "reading back the published version");
            observed
        }
    };
    if !versions.iter().any(|v| v.arn == published)
        && let Some(number) = observe::version_number(published)
    {
        versions.push(ObservedVersion {
            arn: published.to_owned(),
            number,
            creation_time: None,
            description: desired.publish.as_ref().and_then(|p| p.description.clone()),
            revision_id: None,
        });
        versions.sort_by_key(|v| std::cmp::Reverse(v.number));
    }
    Ok(versions)
}

/// Removes what `desired` owns (alarms, state machine, role), or with `Retain` leaves AWS alone without
/// a single call. Foreign resources are never touched. Done when it returns `Ok`: a machine left
/// `DELETING` is on its way out.
pub async fn delete_machine(
    clients: &AwsClients,
    desired: &DesiredMachine,
) -> Result<DeleteOutcome, AwsError> {
    let before = clients.calls();
    if desired.deletion_policy == DeletionPolicy::Retain {
        return Ok(DeleteOutcome {
            operations: Vec::new(),
            retained: true,
            calls: CallCounts::default(),
        });
    }
    let (desired, observed) = observe_adopting(clients, desired, Depth::Delete).await?;
    let desired = desired.as_ref();
    let ops = plan::plan_machine_deletion(desired, &observed);
    let mut ctx = ApplyContext::from_observed(&observed);
    if !ops.is_empty() {
        note_role_write(clients, desired).await;
    }
    let applied = Box::pin(apply(clients, &ops, &mut ctx)).await;
    if !ops.is_empty() {
        note_role_write(clients, desired).await;
    }
    applied?;
    Ok(DeleteOutcome {
        operations: ctx.applied,
        retained: false,
        calls: clients.calls().since(&before),
    })
}

/// Makes the activity exist, tagged as ours.
pub async fn reconcile_activity(
    clients: &AwsClients,
    desired: &DesiredActivity,
) -> Result<ActivityOutcome, AwsError> {
    let before = clients.calls();
    let observed = observe::activity(clients, desired).await?;
    let ops = plan::plan_activity(desired, observed.as_ref())?;
    let mut ctx = ApplyContext::default();
    apply(clients, &ops, &mut ctx).await?;
    let activity_arn = ctx
        .activity_arn
        .clone()
        .or_else(|| observed.map(|o| o.arn))
        .unwrap_or_else(|| clients.activity_arn(&desired.name));
    Ok(ActivityOutcome {
        activity_arn,
        operations: ctx.applied,
        calls: clients.calls().since(&before),
    })
}

/// Deletes the activity if it is ours and the policy is `Delete`.
pub async fn delete_activity(
    clients: &AwsClients,
    desired: &DesiredActivity,
) -> Result<DeleteOutcome, AwsError> {
    let before = clients.calls();
    if desired.deletion_policy == DeletionPolicy::Retain {
        return Ok(DeleteOutcome {
            operations: Vec::new(),
            retained: true,
            calls: CallCounts::default(),
        });
    }
    let observed = observe::activity(clients, desired).await?;
    let ops = plan::plan_activity_deletion(desired, observed.as_ref());
    let mut ctx = ApplyContext::default();
    apply(clients, &ops, &mut ctx).await?;
    Ok(DeleteOutcome {
        operations: ctx.applied,
        retained: false,
        calls: clients.calls().since(&before),
    })
}
