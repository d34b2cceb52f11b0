//! The rollout step on a virtual clock: each test feeds the step what the controller would read back
//! (the routing it wrote, the status it wrote) and moves time by hand.

use super::*;
use proptest::prelude::*;
use sfn_api::versions::{RolloutSpec, RolloutType};

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn alias(kind: RolloutType, weight: u32, interval: u32, alarms: &[&str]) -> AliasSpec {
    AliasSpec {
        name: "live".into(),
        rollout: Some(RolloutSpec {
            type_: Some(kind),
            weight: Some(weight),
            interval_seconds: Some(interval),
            alarms: Some(alarms.iter().map(|a| a.to_string()).collect()),
        }),
        ..AliasSpec::default()
    }
}

fn r(pairs: &[(u32, u32)]) -> Vec<RouteStatus> {
    pairs
        .iter()
        .map(|&(version, weight)| RouteStatus { version, weight })
        .collect()
}

/// A virtual AWS and status store: what the controller writes is what the next step reads.
struct World {
    alias: AliasSpec,
    target: u32,
    routing: Vec<RouteStatus>,
    status: Option<RolloutStatus>,
    alarms: Vec<(String, Option<AlarmState>)>,
    requests: RolloutRequests,
    now: Timestamp,
    events: Vec<RolloutEvent>,
}

impl World {
    fn new(alias: AliasSpec, routing: &[(u32, u32)], target: u32) -> Self {
        let alarms = alias
            .rollout
            .as_ref()
            .and_then(|r| r.alarms.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a, Some(AlarmState::Ok)))
            .collect();
        World {
            alias,
            target,
            routing: r(routing),
            status: None,
            alarms,
            requests: RolloutRequests::default(),
            now: t(0),
            events: Vec::new(),
        }
    }

    fn step(&mut self) -> RolloutDecision {
        let d = step(&RolloutInput {
            alias: &self.alias,
            target_version: self.target,
            observed_routing: &self.routing,
            previous: self.status.as_ref(),
            alarms: &self.alarms,
            requests: &self.requests,
            now: self.now,
        });
        self.routing = d.routing.clone();
        self.status = d.status.clone();
        self.events.extend(d.events.iter().cloned());
        d
    }

    fn at(&mut self, secs: i64) -> RolloutDecision {
        self.now = t(secs);
        self.step()
    }

    fn alarm(&mut self, name: &str, state: Option<AlarmState>) {
        for a in &mut self.alarms {
            if a.0 == name {
                a.1 = state;
            }
        }
    }

    fn status(&self) -> &RolloutStatus {
        self.status.as_ref().expect("a status")
    }

    fn reasons(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.reason).collect()
    }
}

#[test]
fn all_at_once_routes_everything_to_the_target_without_status() {
    let mut w = World::new(
        AliasSpec {
            name: "live".into(),
            ..AliasSpec::default()
        },
        &[(1, 100)],
        2,
    );
    let d = w.step();
    assert_eq!(d.routing, r(&[(2, 100)]));
    assert_eq!(d.status, None);
    assert_eq!(d.requeue_after, None);
}

#[test]
fn canary_holds_its_weight_for_the_interval_then_promotes() {
    let mut w = World::new(
        alias(RolloutType::Canary, 10, 300, &["failed"]),
        &[(1, 100)],
        2,
    );
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(1, 90), (2, 10)]));
    let s = w.status().clone();
    assert_eq!(s.phase, RolloutPhase::Progressing);
    assert_eq!((s.stable_version, s.canary_version), (Some(1), Some(2)));
    assert_eq!((s.weight, s.step, s.steps), (10, 1, 2));
    assert_eq!(s.started_time.as_deref(), Some(t(0).to_string().as_str()));
    assert_eq!(d.requeue_after, Some(ALARM_WATCH));

    // Waiting: same routing, no event, the wait counted from the step's start.
    let d = w.at(280);
    assert_eq!(d.routing, r(&[(1, 90), (2, 10)]));
    assert_eq!(d.events, vec![]);
    assert_eq!(d.requeue_after, Some(Duration::from_secs(20)));
    assert_eq!(
        w.status().last_transition_time.as_deref(),
        Some(t(0).to_string().as_str())
    );

    let d = w.at(300);
    assert_eq!(d.routing, r(&[(2, 100)]));
    let s = w.status();
    assert_eq!(s.phase, RolloutPhase::Healthy);
    assert_eq!(s.reason.as_deref(), Some(reason::COMPLETED));
    assert_eq!((s.weight, s.step), (100, 2));
    assert_eq!(d.requeue_after, None);

    // Settled: nothing more happens.
    let d = w.at(10_000);
    assert_eq!(d.routing, r(&[(2, 100)]));
    assert_eq!(d.events, vec![]);
    assert_eq!(w.reasons(), [reason::STARTED, reason::COMPLETED]);
}

#[test]
fn canary_rolls_back_on_an_alarm_and_stays_until_a_retry() {
    let mut w = World::new(
        alias(RolloutType::Canary, 20, 300, &["failed", "slow"]),
        &[(4, 100)],
        5,
    );
    w.at(0);
    w.alarm("slow", Some(AlarmState::Alarm));
    let d = w.at(60);
    assert_eq!(d.routing, r(&[(4, 100)]));
    let s = w.status().clone();
    assert_eq!(s.phase, RolloutPhase::Degraded);
    assert_eq!(s.reason.as_deref(), Some(reason::ALARM_FIRED));
    assert!(s.message.as_deref().unwrap().contains("slow"), "{s:?}");
    assert!(!s.message.as_deref().unwrap().contains("failed"), "{s:?}");
    assert!(d.events[0].warning);

    // The alarm clears: still rolled back, however long we wait.
    w.alarm("slow", Some(AlarmState::Ok));
    for at in [120, 600, 100_000] {
        let d = w.at(at);
        assert_eq!(d.routing, r(&[(4, 100)]));
        assert_eq!(d.events, vec![]);
        assert_eq!(w.status().phase, RolloutPhase::Degraded);
    }

    // A retry restarts from the stable version; the same value again does nothing more.
    w.requests.retry = Some("r1".into());
    let d = w.at(100_100);
    assert_eq!(d.routing, r(&[(4, 80), (5, 20)]));
    assert_eq!(w.status().reason.as_deref(), Some(reason::RETRIED));
    assert_eq!(
        w.status().started_time.as_deref(),
        Some(t(100_100).to_string().as_str())
    );
    w.alarm("failed", Some(AlarmState::Alarm));
    w.at(100_110);
    assert_eq!(w.status().phase, RolloutPhase::Degraded);
    w.alarm("failed", Some(AlarmState::Ok));
    let d = w.at(100_200);
    assert_eq!(d.routing, r(&[(4, 100)]), "retry r1 was used up");
    w.requests.retry = Some("r2".into());
    let d = w.at(100_300);
    assert_eq!(d.routing, r(&[(4, 80), (5, 20)]));
}

#[test]
fn linear_steps_every_interval_to_completion_with_the_last_step_capped() {
    let mut w = World::new(alias(RolloutType::Linear, 30, 60, &[]), &[(1, 100)], 2);
    let mut seen = Vec::new();
    for at in [0, 30, 60, 90, 120, 150, 180, 240] {
        let d = w.at(at);
        seen.push((at, w.status().step, d.routing.last().unwrap().weight));
    }
    assert_eq!(
        seen,
        [
            (0, 1, 30),
            (30, 1, 30),
            (60, 2, 60),
            (90, 2, 60),
            (120, 3, 90),
            (150, 3, 90),
            (180, 4, 100),
            (240, 4, 100),
        ]
    );
    assert_eq!(w.status().steps, 4);
    assert_eq!(w.routing, r(&[(2, 100)]));
    assert_eq!(
        w.reasons(),
        [
            reason::STARTED,
            reason::STEP_COMPLETED,
            reason::STEP_COMPLETED,
            reason::COMPLETED
        ]
    );
}

#[test]
fn one_step_per_call_after_a_long_outage() {
    let mut w = World::new(alias(RolloutType::Linear, 25, 60, &[]), &[(1, 100)], 2);
    w.at(0);
    let d = w.at(10_000);
    assert_eq!(d.routing, r(&[(1, 50), (2, 50)]), "one step, not the rest");
    let d = w.at(10_001);
    assert_eq!(d.routing, r(&[(1, 50), (2, 50)]), "the next wait is full");
}

#[test]
fn restart_with_status_continues_the_same_wait() {
    let mut w = World::new(alias(RolloutType::Linear, 20, 100, &[]), &[(1, 100)], 2);
    w.at(0);
    w.at(100);
    // A new operator process reads the same routing and status: nothing new happens until step 2's
    // wait, which began at 100, is over.
    let d = w.at(150);
    assert_eq!(d.routing, r(&[(1, 60), (2, 40)]));
    assert_eq!(d.events, vec![]);
    let d = w.at(200);
    assert_eq!(d.routing, r(&[(1, 40), (2, 60)]));
    assert_eq!(w.status().step, 3);
}

#[test]
fn restart_without_status_derives_the_step_and_restarts_its_wait() {
    let mut w = World::new(
        alias(RolloutType::Linear, 20, 100, &[]),
        &[(1, 60), (2, 40)],
        2,
    );
    let d = w.at(1000);
    assert_eq!(d.routing, r(&[(1, 60), (2, 40)]), "not moved on at once");
    let s = w.status().clone();
    assert_eq!((s.step, s.weight, s.stable_version), (2, 40, Some(1)));
    assert_eq!(s.reason.as_deref(), Some(reason::RESUMED));
    let d = w.at(1099);
    assert_eq!(d.routing, r(&[(1, 60), (2, 40)]));
    let d = w.at(1100);
    assert_eq!(d.routing, r(&[(1, 40), (2, 60)]));
    assert_eq!(w.status().step, 3);
}

#[test]
fn routing_written_but_status_not_continues_from_aws() {
    let mut w = World::new(alias(RolloutType::Linear, 20, 100, &[]), &[(1, 100)], 2);
    w.at(0);
    let stale = w.status.clone();
    w.at(100);
    // The status write of step 2 was lost; AWS has step 2's routing.
    w.status = stale;
    let d = w.at(120);
    assert_eq!(
        d.routing,
        r(&[(1, 60), (2, 40)]),
        "no step skipped or repeated"
    );
    assert_eq!(w.status().step, 2);
    let d = w.at(219);
    assert_eq!(
        d.routing,
        r(&[(1, 60), (2, 40)]),
        "the wait restarted at 120"
    );
    let d = w.at(220);
    assert_eq!(d.routing, r(&[(1, 40), (2, 60)]));
}

#[test]
fn status_written_but_routing_not_reapplies_the_step() {
    let mut w = World::new(alias(RolloutType::Canary, 10, 100, &[]), &[(1, 100)], 2);
    w.at(0);
    // The alias update of step 1 was lost.
    w.routing = r(&[(1, 100)]);
    let d = w.at(10);
    assert_eq!(d.routing, r(&[(1, 90), (2, 10)]));
    assert_eq!(w.status().step, 1);
    let d = w.at(100);
    assert_eq!(d.routing, r(&[(2, 100)]), "the wait counted from 0");
}

#[test]
fn promote_and_abort_act_once_per_value() {
    let mut w = World::new(alias(RolloutType::Linear, 10, 300, &[]), &[(1, 100)], 2);
    w.at(0);
    w.requests.promote = Some("p1".into());
    let d = w.at(10);
    assert_eq!(d.routing, r(&[(2, 100)]));
    assert_eq!(w.status().reason.as_deref(), Some(reason::PROMOTED));

    // Next version: the old promote value is still on the object and must not act again.
    w.target = 3;
    let d = w.at(20);
    assert_eq!(d.routing, r(&[(2, 90), (3, 10)]));
    assert_eq!(w.status().stable_version, Some(2));
    w.requests.abort = Some("a1".into());
    let d = w.at(30);
    assert_eq!(d.routing, r(&[(2, 100)]));
    assert_eq!(w.status().phase, RolloutPhase::Degraded);
    assert_eq!(w.status().reason.as_deref(), Some(reason::ABORTED));

    // A retry restarts; the old abort value does not abort it again, a new one does.
    w.requests.retry = Some("r1".into());
    let d = w.at(40);
    assert_eq!(d.routing, r(&[(2, 90), (3, 10)]));
    let d = w.at(50);
    assert_eq!(d.routing, r(&[(2, 90), (3, 10)]));
    w.requests.abort = Some("a2".into());
    let d = w.at(60);
    assert_eq!(d.routing, r(&[(2, 100)]));
    let warnings: Vec<bool> = w.events.iter().map(|e| e.warning).collect();
    assert_eq!(
        w.reasons(),
        [
            reason::STARTED,
            reason::PROMOTED,
            reason::STARTED,
            reason::ABORTED,
            reason::RETRIED,
            reason::ABORTED
        ]
    );
    assert_eq!(warnings, [false, false, false, true, false, true]);
}

#[test]
fn a_promote_left_over_when_the_status_is_lost_does_not_act() {
    let mut w = World::new(
        alias(RolloutType::Canary, 10, 300, &[]),
        &[(1, 90), (2, 10)],
        2,
    );
    w.requests.promote = Some("old".into());
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(1, 90), (2, 10)]));
    assert_eq!(w.status().phase, RolloutPhase::Progressing);
}

#[test]
fn a_new_version_mid_rollout_restarts_from_the_stable_version() {
    let mut w = World::new(alias(RolloutType::Linear, 20, 100, &[]), &[(1, 100)], 2);
    w.at(0);
    w.at(100);
    assert_eq!(w.routing, r(&[(1, 60), (2, 40)]));
    w.target = 3;
    let d = w.at(150);
    assert_eq!(d.routing, r(&[(1, 80), (3, 20)]));
    let s = w.status();
    assert_eq!(
        (s.stable_version, s.canary_version, s.step),
        (Some(1), Some(3), 1)
    );
    assert_eq!(s.reason.as_deref(), Some(reason::SUPERSEDED));
    assert_eq!(s.started_time.as_deref(), Some(t(150).to_string().as_str()));
}

#[test]
fn a_new_version_mid_rollout_without_status_takes_the_older_as_stable() {
    let mut w = World::new(
        alias(RolloutType::Canary, 20, 100, &[]),
        &[(1, 80), (2, 20)],
        3,
    );
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(1, 80), (3, 20)]));
}

#[test]
fn a_missing_alarm_pauses_and_its_wait_restarts_once_it_exists() {
    let mut w = World::new(
        alias(RolloutType::Linear, 50, 100, &["gate"]),
        &[(1, 100)],
        2,
    );
    w.alarm("gate", None);
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(1, 100)]), "never started without its alarm");
    assert_eq!(w.status().phase, RolloutPhase::Paused);
    assert_eq!(w.status().reason.as_deref(), Some(reason::ALARM_MISSING));
    assert!(w.status().message.as_deref().unwrap().contains("gate"));
    assert_eq!(d.requeue_after, Some(ALARM_WATCH));
    let d = w.at(500);
    assert_eq!(d.events, vec![], "one event for the pause");

    w.alarm("gate", Some(AlarmState::InsufficientData));
    let d = w.at(600);
    assert_eq!(d.routing, r(&[(1, 50), (2, 50)]));
    // Missing again during the step: hold, and the wait restarts after.
    w.alarm("gate", None);
    let d = w.at(650);
    assert_eq!(d.routing, r(&[(1, 50), (2, 50)]));
    assert_eq!(w.status().phase, RolloutPhase::Paused);
    w.alarm("gate", Some(AlarmState::Ok));
    let d = w.at(800);
    assert_eq!(
        d.routing,
        r(&[(1, 50), (2, 50)]),
        "not due: the wait restarts at 800"
    );
    assert_eq!(w.status().phase, RolloutPhase::Progressing);
    let d = w.at(899);
    assert_eq!(d.routing, r(&[(1, 50), (2, 50)]));
    let d = w.at(900);
    assert_eq!(d.routing, r(&[(2, 100)]));
}

#[test]
fn nothing_to_roll_out_for_a_new_alias_or_one_already_on_the_target() {
    let mut w = World::new(alias(RolloutType::Canary, 10, 60, &[]), &[], 7);
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(7, 100)]));
    assert_eq!(w.status().phase, RolloutPhase::Healthy);
    assert_eq!(w.status().stable_version, None);

    let mut w = World::new(alias(RolloutType::Canary, 10, 60, &[]), &[(7, 100)], 7);
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(7, 100)]));
    assert_eq!(w.status().phase, RolloutPhase::Healthy);
    let d = w.at(5);
    assert_eq!(d.events, vec![]);
}

#[test]
fn an_alarm_already_firing_stops_the_rollout_before_any_traffic_moves() {
    let mut w = World::new(
        alias(RolloutType::Canary, 10, 60, &["failed"]),
        &[(1, 100)],
        2,
    );
    w.alarm("failed", Some(AlarmState::Alarm));
    let d = w.at(0);
    assert_eq!(d.routing, r(&[(1, 100)]));
    assert_eq!(w.status().phase, RolloutPhase::Degraded);
    assert_eq!(w.status().reason.as_deref(), Some(reason::ALARM_FIRED));
}

#[derive(Clone, Debug)]
enum Action {
    Wait(u16),
    Alarm(bool),
    Promote(u8),
    Abort(u8),
    Retry(u8),
    LoseStatus,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0u16..400).prop_map(Action::Wait),
        2 => any::<bool>().prop_map(Action::Alarm),
        1 => (0u8..3).prop_map(Action::Promote),
        1 => (0u8..3).prop_map(Action::Abort),
        1 => (0u8..3).prop_map(Action::Retry),
        1 => Just(Action::LoseStatus),
    ]
}

proptest! {
    /// Whatever happens, AWS's routing rules hold, and the target's share only grows unless the
    /// rollout is rolled back or aborted.
    #[test]
    fn routing_stays_valid_and_the_canary_weight_never_drops_except_on_rollback(
        linear in any::<bool>(),
        weight in 1u32..100,
        interval in 1u32..300,
        actions in proptest::collection::vec(action(), 1..60),
    ) {
        let kind = if linear { RolloutType::Linear } else { RolloutType::Canary };
        let mut w = World::new(alias(kind, weight, interval, &["gate"]), &[(1, 100)], 2);
        let mut clock = 0i64;
        let mut last = 0u32;
        for a in actions {
            match a {
                Action::Wait(s) => clock += i64::from(s),
                Action::Alarm(on) => w.alarm("gate", Some(if on { AlarmState::Alarm } else { AlarmState::Ok })),
                Action::Promote(v) => w.requests.promote = Some(format!("p{v}")),
                Action::Abort(v) => w.requests.abort = Some(format!("a{v}")),
                Action::Retry(v) => w.requests.retry = Some(format!("r{v}")),
                Action::LoseStatus => w.status = None,
            }
            let d = w.at(clock);
            prop_assert!(!d.routing.is_empty() && d.routing.len() <= 2, "{:?}", d.routing);
            prop_assert_eq!(d.routing.iter().map(|r| r.weight).sum::<u32>(), 100);
            prop_assert!(d.routing.iter().all(|r| r.weight > 0));
            if let [a, b] = d.routing.as_slice() {
                prop_assert_ne!(a.version, b.version);
            }
            let now: u32 = d.routing.iter().filter(|r| r.version == 2).map(|r| r.weight).sum();
            let phase = w.status().phase;
            if now < last {
                prop_assert_eq!(phase, RolloutPhase::Degraded, "dropped {} -> {}", last, now);
            }
            if phase == RolloutPhase::Healthy {
                prop_assert_eq!(now, 100);
            }
            last = now;
        }
    }
}
