//! Planning a state machine's aliases and the garbage collection of its old versions, once the machine
//! itself is applied (and any version of this change published).
//!
//! Kept apart from [`crate::machine`] because it needs what that plan produced: `latest` resolves to the
//! newest version after publishing, and the rollout step decides each alias's routing from the versions
//! that exist. The machine is the operator's, so its aliases are too: an alias on it that the spec does
//! not declare is deleted.

use std::collections::BTreeSet;
use std::time::Duration;

/// The clock type of [`RolloutContext::now`], so callers need no clock crate of their own.
pub use jiff::Timestamp;
use sfn_api::versions::{
    AliasSpec, LATEST, RolloutStatus, RouteStatus, VersionSelector, VersionStatus,
};

use crate::error::PlanError;
use crate::model::{DesiredMachine, ObservedAlias, ObservedVersion};
use crate::operation::Operation;
use crate::rollout::{self, AlarmState, RolloutEvent, RolloutInput, RolloutRequests};

/// What the rollout step needs beyond the spec and AWS: the rollout status last reported, the
/// promote/abort/retry requests, the gating alarms' states and the time.
#[derive(Debug, Clone)]
pub struct RolloutContext {
    pub previous: Option<RolloutStatus>,
    pub requests: RolloutRequests,
    /// Alarm states by alarm name; an alarm absent here does not exist.
    pub alarms: Vec<(String, AlarmState)>,
    pub now: Timestamp,
}

impl RolloutContext {
    /// No previous rollout, no request, no alarm read, at `now`.
    pub fn at(now: Timestamp) -> Self {
        RolloutContext {
            previous: None,
            requests: RolloutRequests::default(),
            alarms: Vec::new(),
            now,
        }
    }
}

/// The alias and version operations of one reconcile, and what the rollout step decided.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionsPlan {
    pub operations: Vec<Operation>,
    /// Every declared alias as it must be once `operations` are applied.
    pub aliases: Vec<DesiredAlias>,
    /// `status.rollout`: the one alias with a Canary or Linear strategy.
    pub rollout: Option<RolloutStatus>,
    /// The soonest any alias needs another look.
    pub requeue_after: Option<Duration>,
    pub events: Vec<RolloutEvent>,
}

/// Plans the aliases of `desired` (each routed by the rollout step towards its resolved version) and the
/// collection of old versions, from the versions that exist after this reconcile's publishing.
pub fn plan_versions(
    desired: &DesiredMachine,
    machine_arn: &str,
    versions: &[ObservedVersion],
    aliases: &[ObservedAlias],
    ctx: &RolloutContext,
) -> Result<VersionsPlan, PlanError> {
    let object = format!("StateMachine {}", desired.owner.describe());
    let mut wanted = Vec::new();
    let mut status = None;
    let mut requeue_after: Option<Duration> = None;
    let mut events = Vec::new();
    for (index, spec) in desired.aliases.iter().enumerate() {
        let target_version = resolve_alias_version(&object, index, spec, versions)?;
        let observed_routing = aliases
            .iter()
            .find(|a| a.name == spec.name)
            .map(|a| a.routing.as_slice())
            .unwrap_or(&[]);
        let alarms: Vec<(String, Option<AlarmState>)> = gating_alarms(desired, spec)
            .into_iter()
            .map(|name| {
                let state = ctx.alarms.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
                (name, state)
            })
            .collect();
        let decision = rollout::step(&RolloutInput {
            alias: spec,
            target_version,
            observed_routing,
            previous: ctx.previous.as_ref().filter(|p| p.alias == spec.name),
            alarms: &alarms,
            requests: &ctx.requests,
            now: ctx.now,
        });
        if status.is_none() {
            status = decision.status.clone();
        }
        requeue_after = match (requeue_after, decision.requeue_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        events.extend(decision.events);
        wanted.push(DesiredAlias {
            name: spec.name.clone(),
            description: spec.description.clone(),
            routing: decision.routing,
        });
    }
    let mut operations = plan_aliases(machine_arn, &wanted, aliases);
    let protected: BTreeSet<u32> = aliases
        .iter()
        .flat_map(|a| a.routing.iter())
        .chain(wanted.iter().flat_map(|a| a.routing.iter()))
        .map(|r| r.version)
        .collect();
    operations.extend(plan_version_gc(
        versions,
        desired.retain_versions,
        &protected,
    ));
    Ok(VersionsPlan {
        operations,
        aliases: wanted,
        rollout: status,
        requeue_after,
        events,
    })
}

/// AWS keeps at most this many versions per state machine; publishing beyond fails.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
pub const MAX_VERSIONS: usize = 1000;

/// One alias as it must be in AWS now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAlias {
    pub name: String,
    pub description: Option<String>,
    /// One or two versions, weights summing to 100.
    pub routing: Vec<RouteStatus>,
}

/// The alarms that gate the rollout of `alias`: those its rollout names, else the machine's own.
pub fn gating_alarms(desired: &DesiredMachine, alias: &AliasSpec) -> Vec<String> {
    match alias.rollout.as_ref().and_then(|r| r.alarms.clone()) {
        Some(names) => names,
        None => desired.alarms.iter().map(|a| a.name.clone()).collect(),
    }
}

/// The alarms whose states a reconcile must read for the rollout step: those gating an alias that rolls
/// out progressively (Canary or Linear), each once. All-at-once routing watches none.
pub fn alarms_to_watch(desired: &DesiredMachine) -> Vec<String> {
    let names: BTreeSet<String> = desired
        .aliases
        .iter()
        .filter(|a| {
            a.rollout
                .as_ref()
                .is_some_and(|r| r.rollout_type() != sfn_api::versions::RolloutType::AllAtOnce)
        })
        .flat_map(|a| gating_alarms(desired, a))
        .collect();
    names.into_iter().collect()
}

/// `status.versions` from what this reconcile observed (`current`, newest first) and the status before
/// (`previous`). A version is immutable, so what the status once knew of it stays true: AWS describes only
/// the newest version on each reconcile, and an older one keeps the description the status read when it
/// was the newest, rather than losing it (and rewriting the status) when the next one is published.
pub fn keep_known_versions(
    previous: &[VersionStatus],
    mut current: Vec<VersionStatus>,
) -> Vec<VersionStatus> {
    for version in &mut current {
        if let Some(before) = previous.iter().find(|p| p.arn == version.arn) {
            if version.description.is_none() {
                version.description.clone_from(&before.description);
            }
            if version.creation_time.is_none() {
                version.creation_time.clone_from(&before.creation_time);
            }
        }
    }
    current
}

/// `<state machine ARN>:<alias>`, as Step Functions names an alias.
pub fn alias_arn(machine_arn: &str, alias: &str) -> String {
    format!("{machine_arn}:{alias}")
}

/// The version an alias must end on: `latest` (the newest in `versions`, newest first) or the pinned
/// number, which must exist. `index` is the alias's place in `spec.aliases`, for the error.
pub fn resolve_alias_version(
    object: &str,
    index: usize,
    alias: &AliasSpec,
    versions: &[ObservedVersion],
) -> Result<u32, PlanError> {
    let field = format!("spec.aliases[{index}].version");
    match alias.version.as_ref() {
        None => latest(object, &field, versions),
        Some(VersionSelector::Name(n)) if n == LATEST => latest(object, &field, versions),
        Some(VersionSelector::Name(n)) => match n.parse::<u32>() {
            Ok(number) => pinned(object, &field, number, versions),
            Err(_) => Err(PlanError::InvalidDesired {
                object: object.to_owned(),
                reason: format!("{field}: {n:?} is neither \"latest\" nor a version number"),
            }),
        },
        Some(VersionSelector::Number(number)) => pinned(object, &field, *number, versions),
    }
}

fn latest(object: &str, field: &str, versions: &[ObservedVersion]) -> Result<u32, PlanError> {
    versions
        .iter()
        .map(|v| v.number)
        .max()
        .ok_or_else(|| PlanError::InvalidDesired {
            object: object.to_owned(),
            reason: format!("{field}: \"latest\" but no version is published yet"),
        })
}

fn pinned(
    object: &str,
    field: &str,
    number: u32,
    versions: &[ObservedVersion],
) -> Result<u32, PlanError> {
    if versions.iter().any(|v| v.number == number) {
        Ok(number)
    } else {
        let mut live: Vec<u32> = versions.iter().map(|v| v.number).collect();
        live.sort_unstable();
        Err(PlanError::InvalidDesired {
            object: object.to_owned(),
            reason: format!("{field}: version {number} does not exist (published: {live:?})"),
        })
    }
}

fn same_routing(a: &[RouteStatus], b: &[RouteStatus]) -> bool {
    let set = |r: &[RouteStatus]| -> BTreeSet<(u32, u32)> {
        r.iter().map(|r| (r.version, r.weight)).collect()
    };
    a.len() == b.len() && set(a) == set(b)
}

/// The alias operations: create the missing ones, update those whose routing (compared as a set of
/// version and weight) or description differs, delete those the spec does not declare.
pub fn plan_aliases(
    machine_arn: &str,
    desired: &[DesiredAlias],
    observed: &[ObservedAlias],
) -> Vec<Operation> {
    let mut ops = Vec::new();
    for want in desired {
        match observed.iter().find(|o| o.name == want.name) {
            None => ops.push(Operation::CreateStateMachineAlias {
                machine_arn: machine_arn.to_owned(),
                name: want.name.clone(),
                description: want.description.clone(),
                routing: want.routing.clone(),
            }),
            Some(live) => {
                let description_differs = live.description.as_deref().unwrap_or("")
                    != want.description.as_deref().unwrap_or("");
                if description_differs || !same_routing(&live.routing, &want.routing) {
                    ops.push(Operation::UpdateStateMachineAlias {
                        alias_arn: live.arn.clone(),
                        machine_arn: machine_arn.to_owned(),
                        description: want.description.clone(),
                        routing: want.routing.clone(),
                    });
                }
            }
        }
    }
    for live in observed {
        if !desired.iter().any(|d| d.name == live.name) {
            ops.push(Operation::DeleteStateMachineAlias {
                alias_arn: live.arn.clone(),
            });
        }
    }
    ops
}

/// The versions to delete so that at most `retain` are left: oldest first, never one an alias routes
/// to (`protected`: the observed routing and the desired one, so a version is safe while an alias is
/// being moved off it), never the newest.
pub fn plan_version_gc(
    versions: &[ObservedVersion],
    retain: u32,
    protected: &BTreeSet<u32>,
) -> Vec<Operation> {
    // One below AWS's limit, so that the next change can still be published (collection runs after
    // publishing).
    let retain = (retain.max(1) as usize).min(MAX_VERSIONS - 1);
    if versions.len() <= retain {
        return Vec::new();
    }
    let newest = versions.iter().map(|v| v.number).max();
    let mut oldest_first: Vec<&ObservedVersion> = versions.iter().collect();
    oldest_first.sort_by_key(|v| v.number);
    let mut excess = versions.len() - retain;
    let mut ops = Vec::new();
    for v in oldest_first {
        if excess == 0 {
            break;
        }
        if protected.contains(&v.number) || Some(v.number) == newest {
            continue;
        }
        ops.push(Operation::DeleteStateMachineVersion {
            version_arn: v.arn.clone(),
        });
        excess -= 1;
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:us-east-1:111122223333:stateMachine:demo";

    fn versions(numbers: &[u32]) -> Vec<ObservedVersion> {
        let mut v: Vec<ObservedVersion> = numbers
            .iter()
            .map(|n| ObservedVersion {
                arn: format!("{SM}:{n}"),
                number: *n,
                creation_time: None,
                description: None,
                revision_id: None,
            })
            .collect();
        v.sort_by_key(|v| std::cmp::Reverse(v.number));
        v
    }

    fn route(version: u32, weight: u32) -> RouteStatus {
        RouteStatus { version, weight }
    }

    fn alias(name: &str, version: Option<VersionSelector>) -> AliasSpec {
        AliasSpec {
            name: name.into(),
            version,
            ..Default::default()
        }
    }

    fn deleted(ops: &[Operation]) -> Vec<String> {
        ops.iter()
            .map(|op| match op {
                Operation::DeleteStateMachineVersion { version_arn } => version_arn.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn latest_and_pinned_versions_resolve() {
        let live = versions(&[1, 2, 3]);
        assert_eq!(
            resolve_alias_version("sm", 0, &alias("prod", None), &live).unwrap(),
            3
        );
        let latest = Some(VersionSelector::Name("latest".into()));
        assert_eq!(
            resolve_alias_version("sm", 0, &alias("prod", latest), &live).unwrap(),
            3
        );
        let two = Some(VersionSelector::Number(2));
        assert_eq!(
            resolve_alias_version("sm", 0, &alias("prod", two), &live).unwrap(),
            2
        );
        let quoted = Some(VersionSelector::Name("1".into()));
        assert_eq!(
            resolve_alias_version("sm", 0, &alias("prod", quoted), &live).unwrap(),
            1
        );
    }

    #[test]
    fn a_missing_pinned_version_names_the_field() {
        let err = resolve_alias_version(
            "StateMachine demo/orders",
            1,
            &alias("prod", Some(VersionSelector::Number(7))),
            &versions(&[1, 2]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("StateMachine demo/orders"), "{err}");
        assert!(err.contains("spec.aliases[1].version"), "{err}");
        assert!(err.contains("version 7 does not exist"), "{err}");
        let err = resolve_alias_version("sm", 0, &alias("prod", None), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no version is published"), "{err}");
        let err = resolve_alias_version(
            "sm",
            0,
            &alias("prod", Some(VersionSelector::Name("newest".into()))),
            &versions(&[1]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"newest\""), "{err}");
    }

    #[test]
    fn aliases_are_created_updated_and_deleted() {
        let desired = vec![
            DesiredAlias {
                name: "prod".into(),
                description: None,
                routing: vec![route(3, 90), route(2, 10)],
            },
            DesiredAlias {
                name: "beta".into(),
                description: Some("testers".into()),
                routing: vec![route(3, 100)],
            },
        ];
        let observed = vec![
            ObservedAlias {
                name: "prod".into(),
                arn: alias_arn(SM, "prod"),
                description: None,
                // The same set in another order: no update.
                routing: vec![route(2, 10), route(3, 90)],
            },
            ObservedAlias {
                name: "old".into(),
                arn: alias_arn(SM, "old"),
                description: None,
                routing: vec![route(1, 100)],
            },
        ];
        let ops = plan_aliases(SM, &desired, &observed);
        assert_eq!(
            ops,
            vec![
                Operation::CreateStateMachineAlias {
                    machine_arn: SM.into(),
                    name: "beta".into(),
                    description: Some("testers".into()),
                    routing: vec![route(3, 100)],
                },
                Operation::DeleteStateMachineAlias {
                    alias_arn: format!("{SM}:old"),
                },
            ]
        );
        // Routing moved: one update; a description change alone is an update too.
        let mut moved = observed.clone();
        moved[0].routing = vec![route(2, 100)];
        moved[0].description = Some("x".into());
        let ops = plan_aliases(SM, &desired[..1], &moved[..1]);
        assert_eq!(
            ops,
            vec![Operation::UpdateStateMachineAlias {
                alias_arn: format!("{SM}:prod"),
                machine_arn: SM.into(),
                description: None,
                routing: vec![route(3, 90), route(2, 10)],
            }]
        );
    }

    #[test]
    fn gc_deletes_oldest_first_down_to_the_retained_count() {
        let live = versions(&[1, 2, 3, 4, 5]);
        let ops = plan_version_gc(&live, 3, &BTreeSet::new());
        assert_eq!(deleted(&ops), [format!("{SM}:1"), format!("{SM}:2")]);
        assert!(plan_version_gc(&live, 5, &BTreeSet::new()).is_empty());
        assert!(plan_version_gc(&live, 9, &BTreeSet::new()).is_empty());
        // At AWS's limit of 1000 with 1000 asked for, one goes: the next change must be publishable.
        let full: Vec<u32> = (1..=1000).collect();
        let ops = plan_version_gc(&versions(&full), 1000, &BTreeSet::new());
        assert_eq!(deleted(&ops), [format!("{SM}:1")]);
    }

    #[test]
    fn gc_never_deletes_a_routed_version() {
        let live = versions(&[1, 2, 3, 4, 5]);
        // An alias routes to 1 (observed) and the rollout moves another to 2 (desired).
        let protected = BTreeSet::from([1, 2]);
        let ops = plan_version_gc(&live, 2, &protected);
        assert_eq!(deleted(&ops), [format!("{SM}:3"), format!("{SM}:4")]);
        // Everything protected but the newest: retention cannot be met, nothing routed goes.
        let protected = BTreeSet::from([1, 2, 3, 4]);
        assert!(plan_version_gc(&live, 1, &protected).is_empty());
    }

    #[test]
    fn what_the_status_knew_of_a_version_stays_when_a_newer_one_is_published() {
        let v = |n: u32, time: Option<&str>, description: Option<&str>| VersionStatus {
            version: n,
            arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:m:{n}"),
            creation_time: time.map(str::to_owned),
            description: description.map(str::to_owned),
        };
        let previous = vec![v(1, Some("2026-01-01T00:00:00Z"), Some("generation 2"))];
        // Version 2 is the newest now, so only it was described.
        let observed = vec![
            v(2, Some("2026-01-02T00:00:00Z"), Some("generation 4")),
            v(1, Some("2026-01-01T00:00:00Z"), None),
        ];
        assert_eq!(
            keep_known_versions(&previous, observed),
            vec![
                v(2, Some("2026-01-02T00:00:00Z"), Some("generation 4")),
                v(1, Some("2026-01-01T00:00:00Z"), Some("generation 2")),
            ]
        );
        // A deleted version is not brought back, and nothing is invented for one never seen.
        assert_eq!(
            keep_known_versions(&previous, vec![v(3, None, None)]),
            vec![v(3, None, None)]
        );
    }
}
