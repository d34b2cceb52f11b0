//! Where an alias should route now: the rollout step, a pure function of the alias spec, what AWS routes
//! today, the last reported rollout status, the gating alarms' states, the promote/abort/retry requests
//! and the current time.
//!
//! The controller observes, calls [`step`], writes the routing it returns (when it differs from what AWS
//! has), writes the status, emits the events and requeues after the returned delay. Because everything
//! the step needs is read back from AWS and status on each call, an operator restarted mid-rollout
//! continues at the same step.

use std::time::Duration;

use jiff::Timestamp;
use sfn_api::versions::{AliasSpec, RolloutStatus, RouteStatus};

/// State of a CloudWatch alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// The promote, abort and retry annotations' values (absent: not requested).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolloutRequests {
    pub promote: Option<String>,
    pub abort: Option<String>,
    pub retry: Option<String>,
}

/// Everything one rollout step decides on.
#[derive(Clone, Debug)]
pub struct RolloutInput<'a> {
    /// The alias as declared.
    pub alias: &'a AliasSpec,
    /// The version the alias must end on (its `version`, resolved: the newest published one or the pinned
    /// number).
    pub target_version: u32,
    /// Where the alias routes in AWS now; empty when the alias does not exist yet.
    pub observed_routing: &'a [RouteStatus],
    /// The rollout status last written, when it is this alias's.
    pub previous: Option<&'a RolloutStatus>,
    /// The gating alarms by name, `None` for one that does not exist.
    pub alarms: &'a [(String, Option<AlarmState>)],
    /// Promote, abort and retry requests.
    pub requests: &'a RolloutRequests,
    /// The current time.
    pub now: Timestamp,
}

/// An event for the object: a reason (CamelCase) and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutEvent {
    /// `Warning` for a rollback or abort, else `Normal`.
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// What one step decided.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutDecision {
    /// The routing the alias should have now (one or two versions, weights summing to 100).
    pub routing: Vec<RouteStatus>,
    /// The rollout status to report; `None` for an alias without a Canary or Linear strategy.
    pub status: Option<RolloutStatus>,
    /// When to look again (the next step is due, or alarms need watching).
    pub requeue_after: Option<Duration>,
    /// Events to emit for this step.
    pub events: Vec<RolloutEvent>,
}

/// One rollout step for one alias.
pub fn step(input: &RolloutInput<'_>) -> RolloutDecision {
    // All at once: everything to the target version.
    RolloutDecision {
        routing: vec![RouteStatus {
            version: input.target_version,
            weight: 100,
        }],
        status: None,
        requeue_after: None,
        events: Vec::new(),
    }
}
