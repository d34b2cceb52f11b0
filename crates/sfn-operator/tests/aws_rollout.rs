//! Rollouts end to end against moto (with the version and alias stand-in in front of it): the operator's
//! reconcile publishes a version and the rollout step moves the alias, with the machine's own alarm driven
//! by `SetAlarmState` and time moved by hand through the rollout context. Needs
//! `.tools/venv/bin/moto_server` (installed by scripts/test) or `SFN_TEST_AWS_ENDPOINT`.

mod aws_support;

use aws_support::*;
use sfn_api::naming;
use sfn_api::versions::{AliasSpec, RolloutPhase, RolloutSpec, RolloutStatus, RolloutType};
use sfn_aws::observe;
use sfn_aws::{self as aws, AwsClients};
use sfn_plan::DesiredMachine;
use sfn_plan::rollout::{RolloutRequests, reason};
use sfn_plan::versions::{RolloutContext, Timestamp};

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_900_000_000 + secs).unwrap()
}

/// One StateMachine with alias `live` on a strategy, as the controller would drive it: the alarm states
/// read from CloudWatch before each reconcile, the status of the last one fed back.
struct Rollout {
    clients: AwsClients,
    desired: DesiredMachine,
    previous: Option<RolloutStatus>,
    requests: RolloutRequests,
    machine_arn: String,
}

impl Rollout {
    async fn new(test: &str, kind: RolloutType, weight: u32, interval: u32) -> Self {
        let clients = moto_clients(test).await;
        let mut desired = desired_machine(&clients, "demo", test);
        desired.publish = Some(sfn_plan::PublishSpec { description: None });
        desired.aliases = vec![AliasSpec {
            name: "live".into(),
            rollout: Some(RolloutSpec {
                type_: Some(kind),
                weight: Some(weight),
                interval_seconds: Some(interval),
                alarms: None,
            }),
            ..AliasSpec::default()
        }];
        let mut r = Rollout {
            clients,
            desired,
            previous: None,
            requests: RolloutRequests::default(),
            machine_arn: String::new(),
        };
        let first = r.reconcile(0).await;
        r.machine_arn = first.state_machine_arn.clone().unwrap();
        assert_eq!(
            r.live().await,
            [(1, 100)],
            "a new alias starts on version 1"
        );
        r
    }

    fn alarm_name(&self) -> String {
        naming::alarm_name(&self.desired.name, "ExecutionsFailed")
    }

    async fn reconcile(&mut self, at: i64) -> aws::reconcile::Outcome {
        let names: Vec<String> = self.desired.alarms.iter().map(|a| a.name.clone()).collect();
        let alarms = observe::alarm_states(&self.clients, &names)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|(n, s)| Some((n, s?)))
            .collect();
        let ctx = RolloutContext {
            previous: self.previous.clone(),
            requests: self.requests.clone(),
            alarms,
            now: t(at),
        };
        let out = aws::reconcile_machine_with(&self.clients, &self.desired, &ctx)
            .await
            .unwrap();
        self.previous = out.rollout.clone();
        self.desired.known_version_arn = out.version_arn.clone();
        out
    }

    /// Publishes version 2 (a definition change) and takes the rollout's first step at `at`.
    async fn ship_version_2(&mut self, at: i64) -> aws::reconcile::Outcome {
        self.desired.definition = definition("version two");
        self.reconcile(at).await
    }

    /// The alias routing in AWS, as (version, weight), by version.
    async fn live(&self) -> Vec<(u32, i32)> {
        let arn = format!("{}:live", self.machine_arn);
        let out = self
            .clients
            .sfn
            .describe_state_machine_alias()
            .state_machine_alias_arn(arn)
            .send()
            .await
            .unwrap();
        let mut routes: Vec<(u32, i32)> = out
            .routing_configuration()
            .iter()
            .map(|r| {
                let v = r.state_machine_version_arn().rsplit(':').next().unwrap();
                (v.parse().unwrap(), r.weight())
            })
            .collect();
        routes.sort();
        routes
    }

    async fn set_alarm(&self, state: &str) {
        self.clients
            .cloudwatch
            .set_alarm_state()
            .alarm_name(self.alarm_name())
            .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
            .state_reason("driven by the test")
            .send()
            .await
            .expect("alarm state set");
    }

    fn status(&self) -> &RolloutStatus {
        self.previous.as_ref().expect("a rollout status")
    }
}

#[tokio::test]
async fn a_canary_holds_then_promotes_to_the_new_version() {
    let mut r = Rollout::new("rollout-canary-promotes", RolloutType::Canary, 20, 60).await;
    r.set_alarm("OK").await;
    let out = r.ship_version_2(0).await;
    assert_eq!(
        out.version_arn.as_deref(),
        Some(format!("{}:2", r.machine_arn).as_str())
    );
    assert_eq!(r.live().await, [(1, 80), (2, 20)]);
    assert_eq!(r.status().phase, RolloutPhase::Progressing);
    assert_eq!(out.rollout_events.len(), 1, "{:?}", out.rollout_events);
    assert!(out.requeue_after.is_some());

    let out = r.reconcile(30).await;
    assert_eq!(r.live().await, [(1, 80), (2, 20)]);
    assert!(out.rollout_events.is_empty());

    let out = r.reconcile(60).await;
    assert_eq!(r.live().await, [(2, 100)]);
    assert_eq!(r.status().phase, RolloutPhase::Healthy);
    assert_eq!(r.status().reason.as_deref(), Some(reason::COMPLETED));
    assert_eq!(out.rollout_events[0].reason, reason::COMPLETED);

    // Settled: a later resync writes nothing.
    let out = r.reconcile(600).await;
    assert_eq!(out.calls.writes(), 0, "{}", out.calls);
}

#[tokio::test]
async fn an_alarm_rolls_the_canary_back_until_a_retry() {
    let mut r = Rollout::new("rollout-alarm-rollback", RolloutType::Canary, 10, 300).await;
    r.set_alarm("OK").await;
    r.ship_version_2(0).await;
    assert_eq!(r.live().await, [(1, 90), (2, 10)]);

    r.set_alarm("ALARM").await;
    let out = r.reconcile(20).await;
    assert_eq!(r.live().await, [(1, 100)]);
    let s = r.status().clone();
    assert_eq!(s.phase, RolloutPhase::Degraded);
    assert_eq!(s.reason.as_deref(), Some(reason::ALARM_FIRED));
    assert!(
        s.message.as_deref().unwrap().contains(&r.alarm_name()),
        "{s:?}"
    );
    assert!(out.rollout_events[0].warning);

    // Back to OK: still on the stable version, however long we wait.
    r.set_alarm("OK").await;
    r.reconcile(1000).await;
    assert_eq!(r.live().await, [(1, 100)]);
    assert_eq!(r.status().phase, RolloutPhase::Degraded);

    r.requests.retry = Some("retry-1".into());
    r.reconcile(1010).await;
    assert_eq!(r.live().await, [(1, 90), (2, 10)]);
    assert_eq!(r.status().reason.as_deref(), Some(reason::RETRIED));
    r.reconcile(1310).await;
    assert_eq!(r.live().await, [(2, 100)]);
}

#[tokio::test]
async fn a_linear_rollout_steps_to_completion() {
    let mut r = Rollout::new("rollout-linear", RolloutType::Linear, 40, 60).await;
    r.set_alarm("INSUFFICIENT_DATA").await;
    r.ship_version_2(0).await;
    assert_eq!(r.live().await, [(1, 60), (2, 40)]);
    r.reconcile(60).await;
    assert_eq!(r.live().await, [(1, 20), (2, 80)]);
    assert_eq!((r.status().step, r.status().steps), (2, 3));
    r.reconcile(90).await;
    assert_eq!(r.live().await, [(1, 20), (2, 80)]);
    r.reconcile(120).await;
    assert_eq!(r.live().await, [(2, 100)]);
    assert_eq!(r.status().phase, RolloutPhase::Healthy);
}

#[tokio::test]
async fn an_operator_restart_mid_rollout_continues_at_the_same_step() {
    let mut r = Rollout::new("rollout-restart", RolloutType::Linear, 25, 60).await;
    r.set_alarm("OK").await;
    r.ship_version_2(0).await;
    r.reconcile(60).await;
    assert_eq!(r.live().await, [(1, 50), (2, 50)]);

    // A new process with the status intact: the wait that began at 60 goes on.
    r.clients = moto_clients("rollout-restart").await;
    let out = r.reconcile(90).await;
    assert_eq!(r.live().await, [(1, 50), (2, 50)]);
    assert_eq!(
        out.calls.writes(),
        0,
        "nothing published or moved: {}",
        out.calls
    );
    assert_eq!(r.status().step, 2);

    // Another one with the status lost: the step comes from AWS's routing, its wait restarts.
    r.clients = moto_clients("rollout-restart").await;
    r.previous = None;
    r.desired.known_version_arn = None;
    let out = r.reconcile(100).await;
    assert_eq!(r.live().await, [(1, 50), (2, 50)]);
    assert_eq!(
        out.calls.writes(),
        0,
        "nothing published or moved: {}",
        out.calls
    );
    assert_eq!((r.status().step, r.status().weight), (2, 50));
    assert_eq!(r.status().reason.as_deref(), Some(reason::RESUMED));
    r.reconcile(159).await;
    assert_eq!(r.live().await, [(1, 50), (2, 50)]);
    r.reconcile(160).await;
    assert_eq!(r.live().await, [(1, 25), (2, 75)]);
    r.reconcile(220).await;
    assert_eq!(r.live().await, [(2, 100)]);
}
