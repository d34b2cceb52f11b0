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
use serde::{Deserialize, Serialize};
use sfn_api::versions::{
    AliasSpec, DEFAULT_ROLLOUT_INTERVAL_SECONDS, DEFAULT_ROLLOUT_WEIGHT, RolloutPhase, RolloutSpec,
    RolloutStatus, RolloutType, RouteStatus,
};

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
    /// One of [`reason`]'s constants.
    pub reason: &'static str,
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

/// How often alarms are looked at while a rollout waits between steps.
pub const ALARM_WATCH: Duration = Duration::from_secs(30);

/// Reasons written to `status.rollout.reason` and used for events.
pub mod reason {
    pub const STARTED: &str = "RolloutStarted";
    pub const STEP_COMPLETED: &str = "StepCompleted";
    pub const COMPLETED: &str = "RolloutCompleted";
    pub const PROMOTED: &str = "Promoted";
    pub const ABORTED: &str = "Aborted";
    pub const ALARM_FIRED: &str = "AlarmFired";
    pub const ALARM_MISSING: &str = "AlarmMissing";
    pub const RESUMED: &str = "Resumed";
    pub const RETRIED: &str = "Retried";
    pub const SUPERSEDED: &str = "Superseded";
    pub const UP_TO_DATE: &str = "UpToDate";
    /// Every reason above.
    pub const ALL: [&str; 11] = [
        STARTED,
        STEP_COMPLETED,
        COMPLETED,
        PROMOTED,
        ABORTED,
        ALARM_FIRED,
        ALARM_MISSING,
        RESUMED,
        RETRIED,
        SUPERSEDED,
        UP_TO_DATE,
    ];
}

/// One rollout step for one alias.
///
/// Canary routes `weight` % to the target for `intervalSeconds`, then 100 %. Linear adds `weight` % every
/// `intervalSeconds` (W, 2W, … capped at 100). The first step is taken at once; each later one after a
/// full wait at the previous weight, one step per call (an operator that was down for a long time does
/// not skip steps). Before each step the gating alarms are checked: one in ALARM routes everything back
/// to the stable version (Degraded); one that does not exist holds the rollout (Paused) and the wait
/// restarts once it exists; INSUFFICIENT_DATA does not stop a rollout (as with CodeDeploy, only ALARM
/// does), since a new alarm or one on a metric with few datapoints sits there for a while.
///
/// Position: the previous status for this target when it agrees with the routing in AWS; when AWS
/// routes more to the target than the status says (the routing was written, the status was not), or the
/// status is gone, the step is derived from the observed weight and its wait restarts. A new target while
/// a rollout is in progress restarts from the stable version of that rollout, never from the unfinished
/// canary.
pub fn step(input: &RolloutInput<'_>) -> RolloutDecision {
    let rollout = input.alias.rollout.clone().unwrap_or_default();
    let kind = rollout.rollout_type();
    if kind == RolloutType::AllAtOnce {
        return RolloutDecision {
            routing: only(input.target_version),
            status: None,
            requeue_after: None,
            events: Vec::new(),
        };
    }
    let ladder = Ladder::new(kind, &rollout);
    let mut ctx = Ctx::new(input, ladder);
    let decision = ctx.decide();
    ctx.finish(decision)
}

/// The weights of a strategy, by step.
#[derive(Clone, Copy, Debug)]
struct Ladder {
    kind: RolloutType,
    weight: u32,
    interval: Duration,
}

impl Ladder {
    fn new(kind: RolloutType, spec: &RolloutSpec) -> Self {
        Ladder {
            kind,
            // The schema bounds both; a value past them (an object written around validation) is clamped
            // rather than trusted, so a step is always 1 to 99 % and the ladder always ends.
            weight: spec.weight.unwrap_or(DEFAULT_ROLLOUT_WEIGHT).clamp(1, 99),
            interval: Duration::from_secs(u64::from(
                spec.interval_seconds
                    .unwrap_or(DEFAULT_ROLLOUT_INTERVAL_SECONDS)
                    .max(1),
            )),
        }
    }

    fn steps(&self) -> u32 {
        match self.kind {
            RolloutType::Linear => 100u32.div_ceil(self.weight),
            _ => 2,
        }
    }

    /// The target's weight at step `k` (0: not started).
    fn weight_at(&self, k: u32) -> u32 {
        match (self.kind, k) {
            (_, 0) => 0,
            (RolloutType::Linear, k) => k.saturating_mul(self.weight).min(100),
            (_, 1) => self.weight,
            _ => 100,
        }
    }

    /// The last step whose weight is at most `w`.
    fn step_for(&self, w: u32) -> u32 {
        (0..=self.steps())
            .take_while(|k| self.weight_at(*k) <= w)
            .last()
            .unwrap_or(0)
    }
}

/// The routing for `weight` % to `target`, the rest to `stable` (stable first).
fn split(stable: u32, target: u32, weight: u32) -> Vec<RouteStatus> {
    if weight >= 100 || stable == target {
        only(target)
    } else if weight == 0 {
        only(stable)
    } else {
        vec![
            RouteStatus {
                version: stable,
                weight: 100 - weight,
            },
            RouteStatus {
                version: target,
                weight,
            },
        ]
    }
}

fn only(version: u32) -> Vec<RouteStatus> {
    vec![RouteStatus {
        version,
        weight: 100,
    }]
}

/// The promote/abort/retry values acted on (or consumed), kept as one string in `handledRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handled {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    promote: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    abort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry: Option<String>,
}

impl Handled {
    fn parse(raw: Option<&str>) -> Self {
        raw.and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default()
    }

    fn encode(&self) -> Option<String> {
        if *self == Handled::default() {
            return None;
        }
        serde_json::to_string(self).ok()
    }
}

/// Which request is new on this call.
#[derive(Clone, Copy, Debug, Default)]
struct NewRequests {
    promote: bool,
    abort: bool,
    retry: bool,
}

/// What the step settles on, before the status and events are assembled.
struct Outcome {
    phase: RolloutPhase,
    stable: Option<u32>,
    step: u32,
    weight: u32,
    reason: &'static str,
    message: String,
    /// Whether the step's wait (re)starts now.
    restart_clock: bool,
    /// Started a new rollout (or a retry): `startedTime` is now.
    new_rollout: bool,
    requeue_after: Option<Duration>,
    warning: bool,
}

struct Ctx<'a> {
    input: &'a RolloutInput<'a>,
    ladder: Ladder,
    target: u32,
    observed: Vec<RouteStatus>,
    /// The previous status when it is about this target.
    same: Option<&'a RolloutStatus>,
    new: NewRequests,
}

fn parse_time(t: Option<&str>) -> Option<Timestamp> {
    t.and_then(|t| t.parse::<Timestamp>().ok())
}

impl<'a> Ctx<'a> {
    fn new(input: &'a RolloutInput<'a>, ladder: Ladder) -> Self {
        let target = input.target_version;
        let observed: Vec<RouteStatus> = input
            .observed_routing
            .iter()
            .filter(|r| r.weight > 0)
            .cloned()
            .collect();
        let same = input
            .previous
            .filter(|p| p.alias == input.alias.name && p.canary_version == Some(target));
        let handled = Handled::parse(input.previous.and_then(|p| p.handled_request.as_deref()));
        let fresh = |value: &Option<String>, seen: &Option<String>| {
            value.as_deref().is_some_and(|v| !v.is_empty()) && value != seen
        };
        let r = input.requests;
        let mut new = NewRequests {
            promote: fresh(&r.promote, &handled.promote),
            abort: fresh(&r.abort, &handled.abort),
            retry: fresh(&r.retry, &handled.retry),
        };
        if input.previous.is_none() {
            // Without a status the values already acted on are unknown: a promote or retry left on the
            // object from an earlier rollout must not act on this one. An abort still acts: it only ever
            // routes back to the stable version.
            new.promote = false;
            new.retry = false;
        }
        Ctx {
            input,
            ladder,
            target,
            observed,
            same,
            new,
        }
    }

    fn observed_weight(&self, version: u32) -> u32 {
        self.observed
            .iter()
            .filter(|r| r.version == version)
            .map(|r| r.weight)
            .sum()
    }

    fn at_target(&self) -> bool {
        self.observed_weight(self.target) == 100
    }

    fn decide(&mut self) -> Outcome {
        let prev = self.input.previous;
        if let Some(p) = self.same {
            match p.phase {
                RolloutPhase::Healthy => return self.healthy_again(p.stable_version),
                RolloutPhase::Degraded => {
                    let stable = p.stable_version.unwrap_or(self.target);
                    if self.new.retry {
                        return self.start(stable, reason::RETRIED, "retry requested".into());
                    }
                    return Outcome {
                        phase: RolloutPhase::Degraded,
                        stable: Some(stable),
                        step: p.step,
                        weight: 0,
                        reason: reason_of(p),
                        message: p.message.clone().unwrap_or_default(),
                        restart_clock: false,
                        new_rollout: false,
                        requeue_after: None,
                        warning: true,
                    };
                }
                RolloutPhase::Progressing | RolloutPhase::Paused if self.at_target() => {
                    // Everything already goes to the target (routed by hand, or the last step was
                    // written and the status was not): the rollout is done, never stepped back.
                    return self.healthy(
                        p.stable_version,
                        reason::COMPLETED,
                        format!("100 % to version {}", self.target),
                    );
                }
                RolloutPhase::Progressing | RolloutPhase::Paused => {
                    if let Some(stable) = p.stable_version.filter(|s| *s != self.target) {
                        return self.progress_from_status(p, stable);
                    }
                }
            }
        }
        // No status for this target: a new target, a new alias, or a status that was lost.
        if self.observed.is_empty() {
            return self.healthy(None, reason::UP_TO_DATE, "new alias".into());
        }
        if self.at_target() {
            return self.healthy_again(
                prev.filter(|p| p.canary_version == Some(self.target))
                    .and_then(|p| p.stable_version),
            );
        }
        let interrupted = prev.filter(|p| {
            p.alias == self.input.alias.name
                && matches!(
                    p.phase,
                    RolloutPhase::Progressing | RolloutPhase::Paused | RolloutPhase::Degraded
                )
                && p.canary_version != Some(self.target)
        });
        if let Some(p) = interrupted
            && let Some(stable) = p.stable_version
        {
            // A new version while another rollout runs (or was rolled back): restart from the version that
            // was stable for that one, not from its unfinished canary.
            let old = p.canary_version.map(|v| v.to_string()).unwrap_or_default();
            if stable == self.target {
                return self.healthy(
                    Some(stable),
                    reason::SUPERSEDED,
                    format!("version {old} replaced by the stable version {stable}"),
                );
            }
            return self.start(
                stable,
                reason::SUPERSEDED,
                format!(
                    "version {old} replaced by version {}; restarting from version {stable}",
                    self.target
                ),
            );
        }
        let target_w = self.observed_weight(self.target);
        if target_w > 0 {
            // AWS splits traffic between the target and another version, and no status says where the
            // rollout stood: continue from the observed weight, restarting that step's wait.
            let stable = self
                .observed
                .iter()
                .find(|r| r.version != self.target)
                .map(|r| r.version)
                .unwrap_or(self.target);
            return self.position(stable, target_w, prev.is_none());
        }
        // Everything (or a split of two other versions) away from the target: a new rollout. Of two other
        // versions, the older (lower number) counts as stable: versions are numbered as published.
        let stable = if self.observed.len() == 1 {
            self.observed[0].version
        } else {
            self.observed
                .iter()
                .map(|r| r.version)
                .min()
                .unwrap_or(self.target)
        };
        self.start(
            stable,
            reason::STARTED,
            format!("rolling out version {} over version {stable}", self.target),
        )
    }

    /// The status says a rollout of this target is at `p.step`.
    fn progress_from_status(&mut self, p: &RolloutStatus, stable: u32) -> Outcome {
        let observed_w = self.observed_weight(self.target);
        let step_started = parse_time(p.last_transition_time.as_deref());
        if observed_w > p.weight || step_started.is_none() {
            // AWS is ahead of the status (the routing was written, the status was not) or the status has
            // no usable time: continue from AWS, restarting the wait.
            return self.position(stable, observed_w.max(p.weight), false);
        }
        // AWS at or behind the status: the status's weight is re-applied, its wait kept.
        self.gate(
            stable,
            p.step,
            p.weight,
            step_started,
            p.phase == RolloutPhase::Paused,
        )
    }

    /// Continue at the step the weight `w` corresponds to, its wait starting now. A weight between two
    /// steps (an edit by hand, or a changed spec) is held for a full wait, then the next step follows.
    fn position(&mut self, stable: u32, w: u32, lost: bool) -> Outcome {
        let k = self.ladder.step_for(w);
        let mut out = self.gate(stable, k, w, None, false);
        if out.reason == reason::RESUMED {
            out.message = format!(
                "continuing at step {k} ({w} % to version {}) from the routing in AWS{}; the step's wait restarts",
                self.target,
                if lost { " (no status)" } else { "" }
            );
        }
        out
    }

    /// Start (or restart) a rollout over `stable`.
    fn start(&mut self, stable: u32, why: &'static str, message: String) -> Outcome {
        let mut out = self.gate(stable, 0, 0, None, false);
        out.new_rollout = true;
        if out.phase == RolloutPhase::Progressing && out.step == 1 {
            out.reason = why;
            out.message = format!("{message}: step 1, {} %", out.weight);
        }
        out
    }

    /// The checks before a step, then the step if it is due. `step_started` is when the current step's
    /// wait began (`None`: it begins now).
    fn gate(
        &mut self,
        stable: u32,
        k: u32,
        w: u32,
        step_started: Option<Timestamp>,
        paused: bool,
    ) -> Outcome {
        let target = self.target;
        let now = self.input.now;
        if self.new.abort {
            return self.rolled_back(stable, k, reason::ABORTED, "abort requested".into());
        }
        if self.new.promote {
            return self.healthy(
                Some(stable),
                reason::PROMOTED,
                format!("promote requested: 100 % to version {target}"),
            );
        }
        let firing: Vec<&str> = self
            .input
            .alarms
            .iter()
            .filter(|(_, s)| *s == Some(AlarmState::Alarm))
            .map(|(n, _)| n.as_str())
            .collect();
        if !firing.is_empty() {
            return self.rolled_back(
                stable,
                k,
                reason::ALARM_FIRED,
                format!(
                    "alarm {} in ALARM at {now}: 100 % back to version {stable}",
                    firing.join(", ")
                ),
            );
        }
        let missing: Vec<&str> = self
            .input
            .alarms
            .iter()
            .filter(|(_, s)| s.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            return Outcome {
                phase: RolloutPhase::Paused,
                stable: Some(stable),
                step: k,
                weight: w,
                reason: reason::ALARM_MISSING,
                message: format!(
                    "alarm {} does not exist; holding at {w} % to version {target}",
                    missing.join(", ")
                ),
                restart_clock: !paused,
                new_rollout: false,
                requeue_after: Some(ALARM_WATCH),
                warning: true,
            };
        }
        let interval = self.ladder.interval;
        let elapsed = step_started
            .filter(|_| !paused)
            .map(|t| now.duration_since(t))
            .and_then(|d| Duration::try_from(d).ok());
        let due = k == 0 || elapsed.is_some_and(|e| e >= interval);
        if !due {
            // Waiting at step k: a wait that starts now (no start time, or leaving a pause) is a
            // transition; one already running is not.
            let remaining = elapsed.map_or(interval, |e| interval.saturating_sub(e));
            let resumed = paused || step_started.is_none();
            return Outcome {
                phase: RolloutPhase::Progressing,
                stable: Some(stable),
                step: k,
                weight: w,
                reason: if resumed {
                    reason::RESUMED
                } else {
                    self.same.map(reason_of).unwrap_or(reason::RESUMED)
                },
                message: if resumed {
                    format!(
                        "holding {w} % to version {target} for {}s",
                        interval.as_secs()
                    )
                } else {
                    self.same
                        .and_then(|p| p.message.clone())
                        .unwrap_or_default()
                },
                restart_clock: resumed,
                new_rollout: false,
                requeue_after: Some(remaining.min(ALARM_WATCH).max(Duration::from_secs(1))),
                warning: false,
            };
        }
        let next = k + 1;
        let next_w = self.ladder.weight_at(next).max(w);
        if next_w >= 100 {
            return self.healthy(
                Some(stable),
                reason::COMPLETED,
                format!("100 % to version {target}"),
            );
        }
        Outcome {
            phase: RolloutPhase::Progressing,
            stable: Some(stable),
            step: next,
            weight: next_w,
            reason: reason::STEP_COMPLETED,
            message: format!(
                "step {next} of {}: {next_w} % to version {target}",
                self.ladder.steps()
            ),
            restart_clock: true,
            new_rollout: false,
            requeue_after: Some(interval.min(ALARM_WATCH)),
            warning: false,
        }
    }

    fn rolled_back(&self, stable: u32, k: u32, why: &'static str, message: String) -> Outcome {
        Outcome {
            phase: RolloutPhase::Degraded,
            stable: Some(stable),
            step: k,
            weight: 0,
            reason: why,
            message,
            restart_clock: true,
            new_rollout: false,
            requeue_after: None,
            warning: true,
        }
    }

    fn healthy(&self, stable: Option<u32>, why: &'static str, message: String) -> Outcome {
        Outcome {
            phase: RolloutPhase::Healthy,
            stable,
            step: self.ladder.steps(),
            weight: 100,
            reason: why,
            message,
            restart_clock: true,
            new_rollout: false,
            requeue_after: None,
            warning: false,
        }
    }

    /// The alias already ends on the target: keep a Healthy status as it is.
    fn healthy_again(&self, stable: Option<u32>) -> Outcome {
        match self.same.filter(|p| p.phase == RolloutPhase::Healthy) {
            Some(p) => Outcome {
                phase: RolloutPhase::Healthy,
                stable: p.stable_version,
                step: p.step,
                weight: 100,
                reason: reason_of(p),
                message: p.message.clone().unwrap_or_default(),
                restart_clock: false,
                new_rollout: false,
                requeue_after: None,
                warning: false,
            },
            None => self.healthy(
                stable.or(Some(self.target)),
                reason::UP_TO_DATE,
                format!("100 % to version {}", self.target),
            ),
        }
    }

    fn finish(&mut self, out: Outcome) -> RolloutDecision {
        let input = self.input;
        let target = self.target;
        let prev = input.previous;
        let stable = out.stable.unwrap_or(target);
        let routing = match out.phase {
            RolloutPhase::Degraded => only(stable),
            RolloutPhase::Healthy => only(target),
            _ => split(stable, target, out.weight),
        };
        let now = input.now.to_string();
        let same = self.same;
        let transition = out.restart_clock
            || out.new_rollout
            || prev.is_none_or(|p| {
                p.phase != out.phase
                    || p.step != out.step
                    || p.canary_version != Some(target)
                    || p.weight != out.weight
            });
        let last_transition_time = if transition {
            Some(now.clone())
        } else {
            same.and_then(|p| p.last_transition_time.clone())
                .or(Some(now.clone()))
        };
        let started_time = if out.new_rollout {
            Some(now.clone())
        } else {
            same.and_then(|p| p.started_time.clone())
                .or_else(|| Some(now.clone()))
        };
        // Every request value present now is consumed, whether it acted or not: a value acts once.
        let r = input.requests;
        let handled = Handled {
            promote: r.promote.clone(),
            abort: r.abort.clone(),
            retry: r.retry.clone(),
        };
        let status = RolloutStatus {
            alias: input.alias.name.clone(),
            phase: out.phase,
            stable_version: out.stable,
            canary_version: Some(target),
            weight: out.weight,
            step: out.step,
            steps: self.ladder.steps(),
            started_time,
            last_transition_time,
            reason: Some(out.reason.to_string()),
            message: Some(out.message.clone()).filter(|m| !m.is_empty()),
            handled_request: handled.encode(),
        };
        // An unchanged Healthy or Degraded status on an alias that already routes as it should is no
        // transition, however it was reached.
        let transition = transition
            && !(prev.is_some_and(|p| {
                p.phase == status.phase
                    && p.step == status.step
                    && p.weight == status.weight
                    && p.canary_version == status.canary_version
                    && matches!(p.phase, RolloutPhase::Healthy | RolloutPhase::Degraded)
            }) && self.observed == routing);
        let status = if transition {
            status
        } else {
            RolloutStatus {
                last_transition_time: prev
                    .and_then(|p| p.last_transition_time.clone())
                    .or(status.last_transition_time.clone()),
                ..status
            }
        };
        let events = if transition {
            vec![RolloutEvent {
                warning: out.warning,
                reason: out.reason,
                message: format!(
                    "alias {}: {}",
                    input.alias.name,
                    if out.message.is_empty() {
                        format!("{:?}", out.phase)
                    } else {
                        out.message.clone()
                    }
                ),
            }]
        } else {
            Vec::new()
        };
        RolloutDecision {
            routing,
            status: Some(status),
            requeue_after: out.requeue_after,
            events,
        }
    }
}

fn reason_of(p: &RolloutStatus) -> &'static str {
    p.reason
        .as_deref()
        .and_then(|r| reason::ALL.into_iter().find(|known| *known == r))
        .unwrap_or(reason::RESUMED)
}

#[cfg(test)]
mod tests;
