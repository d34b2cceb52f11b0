//! `sfn-operator run` as a process, the way a Deployment runs it: configured by flags and the usual AWS
//! environment, serving `/healthz`, `/readyz` and `/metrics`, and stopping cleanly on SIGTERM.

mod e2e_support;

use std::time::Duration;

use e2e_support::World;
use serde_json::json;
use sfn_api::StateMachine;

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_process_reconciles_serves_http_and_stops_on_sigterm() {
    let world = World::new().await;
    world
        .apply_value(json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "proc"},
            "spec": {"definition": {"states": [{"name": "Hello", "type": "Pass", "end": true}]}}
        }))
        .await;
    let mut operator = world.spawn_operator(&["--log-level", "info"]);

    let mut healthy = None;
    for _ in 0..600 {
        healthy = operator.get("/healthz").await.filter(|(s, _)| *s == 200);
        if healthy.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        healthy.is_some(),
        "no /healthz; output:\n{}",
        operator.output()
    );

    let sm = world
        .wait_for::<StateMachine>("proc", TIMEOUT, |sm| {
            sm.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status.as_str() == "True")
            })
        })
        .await;
    assert!(
        sm.status.unwrap().state_machine_arn.is_some(),
        "output:\n{}",
        operator.output()
    );
    let mut ready = None;
    for _ in 0..600 {
        ready = operator.get("/readyz").await.filter(|(s, _)| *s == 200);
        if ready.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready.map(|(_, b)| b), Some("ready".to_owned()));
    assert!(
        operator
            .metric_sum("sfn_operator_reconciles_total{kind=\"StateMachine\"}")
            .await
            >= 1.0
    );
    assert!(
        operator
            .metric_sum("sfn_operator_aws_calls_total{api=\"sfn:CreateStateMachine\"}")
            .await
            >= 1.0,
        "{}",
        operator.get("/metrics").await.unwrap_or_default().1
    );

    let status = operator
        .terminate(Duration::from_secs(20))
        .expect("the operator exits after SIGTERM");
    assert!(
        status.success(),
        "{status:?}; output:\n{}",
        operator.output()
    );
    assert!(operator.output().contains("termination signal received"));
    world.cleanup().await;
}
