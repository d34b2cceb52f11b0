//! Scale benchmark (not part of the normal test run): N StateMachines, each with its own TaskIntegration,
//! applied to the test API server with the AWS emulator behind, reconciled by `sfn-operator run` as a
//! process. Prints: time until all are Ready, AWS calls, peak RSS; then the steady state over several
//! resync periods: Kubernetes writes, AWS writes (goal: zero for both), CPU and RSS while idle.
//!
//! ```sh
//! cargo build -p sfn-operator --release --bin sfn-operator
//! SFN_OPERATOR_BIN=target/release/sfn-operator SFN_BENCH_OBJECTS=1000 \
//!   cargo test -p sfn-operator-tests --release --test e2e_scale -- --ignored --nocapture
//! ```

mod e2e_support;

use std::time::{Duration, Instant};

use e2e_support::World;
use kube::api::{ListParams, PostParams};
use serde_json::json;
use sfn_api::{StateMachine, TaskIntegration};

fn is_ready(sm: &StateMachine) -> bool {
    sm.status.as_ref().is_some_and(|s| {
        s.observed_generation == sm.metadata.generation
            && s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status.as_str() == "True")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored (see the module docs)"]
async fn scale_benchmark() {
    let n: usize = std::env::var("SFN_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let resync_secs: u64 = std::env::var("SFN_BENCH_RESYNC_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let world = World::new().await;
    let tis = world.api::<TaskIntegration>();
    let sms = world.api::<StateMachine>();
    for i in 0..n {
        let ti = json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "TaskIntegration",
            "metadata": {"name": format!("fn-{i}")},
            "spec": {"lambda": {"functionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:f{i}")}}
        });
        tis.create(&PostParams::default(), &serde_json::from_value(ti).unwrap())
            .await
            .expect("creating a TaskIntegration");
        let sm = json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": format!("m-{i}")},
            "spec": {"definition": {"states": [
                {"name": "Call", "type": "Task", "integration": format!("fn-{i}"), "end": true}
            ]}}
        });
        sms.create(&PostParams::default(), &serde_json::from_value(sm).unwrap())
            .await
            .expect("creating a StateMachine");
    }

    let started = Instant::now();
    let mut operator = world.spawn_operator(&[
        "--resync-period",
        &format!("{resync_secs}s"),
        "--aws-rate-scale",
        "1000",
        "--concurrency",
        "32",
        "--log-level",
        "warn",
    ]);
    let deadline = started + Duration::from_secs(1800);
    let mut ready = 0;
    while ready < n {
        assert!(
            Instant::now() < deadline,
            "only {ready}/{n} Ready after 30 minutes; output:\n{}",
            operator.output()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        ready = sms
            .list(&ListParams::default())
            .await
            .expect("listing")
            .items
            .iter()
            .filter(|sm| is_ready(sm))
            .count();
        // Surface a crash at once.
        let _ = operator.get("/healthz").await;
    }
    let to_ready = started.elapsed();
    let calls_to_ready = operator.metric_sum("sfn_operator_aws_calls_total").await;
    let peak_rss_kb = operator.memory_kb("VmHWM").unwrap_or(0);

    // Steady state: let the post-creation reconciles settle, then watch several resync periods.
    tokio::time::sleep(Duration::from_secs(resync_secs)).await;
    let server_rv = |w: &World| w.resource_version();
    let rv_before = server_rv(&world);
    let aws_before = aws_writes(&mut operator).await;
    let cpu_before = operator.cpu_ticks().unwrap_or(0);
    let reconciles_before = operator.metric_sum("sfn_operator_reconciles_total").await;
    let idle = Duration::from_secs(resync_secs * 3);
    tokio::time::sleep(idle).await;
    let k8s_writes = server_rv(&world).map(|after| after - rv_before.unwrap_or(after));
    let aws_writes_idle = aws_writes(&mut operator).await - aws_before;
    let reconciles_idle =
        operator.metric_sum("sfn_operator_reconciles_total").await - reconciles_before;
    let ticks = operator.cpu_ticks().unwrap_or(0) - cpu_before;
    // Linux reports CPU time in clock ticks of 1/100 s.
    let cpu_percent = ticks as f64 / idle.as_secs_f64();
    let idle_rss_kb = operator.memory_kb("VmRSS").unwrap_or(0);

    println!("objects: {n} StateMachines + {n} TaskIntegrations");
    println!("time until all Ready: {:.1} s", to_ready.as_secs_f64());
    println!("AWS calls until all Ready: {calls_to_ready}");
    println!("peak RSS: {:.1} MB", peak_rss_kb as f64 / 1024.0);
    println!(
        "steady state over {} s ({} resync periods): {} reconciles, Kubernetes writes {}, AWS writes {}",
        idle.as_secs(),
        idle.as_secs() / resync_secs,
        reconciles_idle,
        k8s_writes
            .map(|w| w.to_string())
            .unwrap_or_else(|| "n/a (real cluster)".into()),
        aws_writes_idle
    );
    println!(
        "idle CPU: {cpu_percent:.1} % of one core; idle RSS: {:.1} MB",
        idle_rss_kb as f64 / 1024.0
    );

    if n > 0 {
        assert!(reconciles_idle > 0.0, "the resyncs should have run");
    }
    assert_eq!(aws_writes_idle, 0.0, "an idle resync must not write to AWS");
    if let Some(w) = k8s_writes {
        // Only the leader-election-free operator runs here, so nothing at all should be written.
        assert_eq!(w, 0, "an idle resync must not write to Kubernetes");
    }
    let status = operator.terminate(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()));
    world.cleanup().await;
}

async fn aws_writes(operator: &mut e2e_support::OperatorProcess) -> f64 {
    let (_, body) = operator.get("/metrics").await.unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with("sfn_operator_aws_calls_total{api=\""))
        .filter_map(|l| {
            let api = l.split('"').nth(1)?;
            if sfn_aws::limiter::is_read_api(api) {
                return None;
            }
            l.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .sum()
}
