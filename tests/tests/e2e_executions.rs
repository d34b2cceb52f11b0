//! `status.executions` against executions that really ran: moto in its `execute_state_machine` mode runs the
//! definitions it is given (Pass, Choice, Fail, Succeed), so an execution ends FAILED with the Fail state's
//! error and cause, as in AWS. The operator runs with the real AWS backend against it and the test API
//! server, and the summary is read from the object's status.
//!
//! The mode is a setting of the whole moto server, so this file has its own test binary (and moto).

mod e2e_support;

use std::io::{Read, Write};
use std::time::Duration;

use e2e_support::{RunningOperator, World, aws_endpoint};
use sfn_api::{ExecutionsStatus, StateMachine};

const TIMEOUT: Duration = Duration::from_secs(60);

const MACHINE: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata:
  name: nightly
spec:
  definition:
    states:
      - name: Check
        type: Choice
        choices:
          - condition: $.ok == true
            next: Done
        default: Broken
      - name: Broken
        type: Fail
        error: JobFailed
        cause: the job returned FAILED
      - name: Done
        type: Succeed
"#;

/// Switches the emulator to running the executions it is asked to start (before any Step Functions call of
/// this binary: moto keeps the resources of each mode apart).
fn run_executions_in_moto() {
    let endpoint = aws_endpoint();
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = r#"{"stepfunctions": {"execute_state_machine": true}}"#;
    let mut stream = std::net::TcpStream::connect(addr).expect("connecting to moto");
    write!(
        stream,
        "POST /moto-api/config HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sending the moto configuration");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reading moto's answer");
    assert!(
        answer.starts_with("HTTP/1.1 201") || answer.starts_with("HTTP/1.0 201"),
        "{answer}"
    );
    // moto's answer lists only some of its settings (not the Step Functions one), so the status is all there
    // is to check here; the test fails soon enough if the mode did not change.
}

fn executions(sm: &StateMachine) -> Option<&ExecutionsStatus> {
    sm.status.as_ref()?.executions.as_ref()
}

/// Starts an execution and waits until it has ended.
async fn run(sfn: &aws_sdk_sfn::Client, machine_arn: &str, name: &str, input: &str) -> String {
    let started = sfn
        .start_execution()
        .state_machine_arn(machine_arn)
        .name(name)
        .input(input)
        .send()
        .await
        .expect("StartExecution");
    let arn = started.execution_arn().to_owned();
    for _ in 0..100 {
        let out = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .expect("DescribeExecution");
        if out.status().as_str() != "RUNNING" {
            return out.status().as_str().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_execution_shows_in_status_with_its_error_and_an_idle_resync_writes_nothing() {
    run_executions_in_moto();
    let world = World::new().await;
    world.apply_yaml(MACHINE).await;
    let backend = world.backend().await;
    let mut config = world.config();
    config.resync_period = Duration::from_secs(3);
    let operator = RunningOperator::start(world.client.clone(), config, backend.clone());
    let sm = world
        .wait_for::<StateMachine>("nightly", TIMEOUT, |sm| executions(sm).is_some())
        .await;
    assert_eq!(executions(&sm).map(|e| e.read), Some(0), "{:?}", sm.status);
    let machine_arn = sm
        .status
        .as_ref()
        .and_then(|s| s.state_machine_arn.clone())
        .unwrap_or_default();

    let sfn = aws_sdk_sfn::Client::new(&world.sdk);
    assert_eq!(
        run(&sfn, &machine_arn, "run-ok", r#"{"ok": true}"#).await,
        "SUCCEEDED"
    );
    assert_eq!(
        run(&sfn, &machine_arn, "run-bad", r#"{"ok": false}"#).await,
        "FAILED"
    );

    let sm = world
        .wait_for::<StateMachine>("nightly", TIMEOUT, |sm| {
            executions(sm).is_some_and(|e| e.last_failed.is_some())
        })
        .await;
    let summary = executions(&sm).cloned().unwrap_or_default();
    assert_eq!(
        (summary.running, summary.failures_last_hour, summary.read),
        (0, 1, 2),
        "{summary:?}"
    );
    assert!(!summary.truncated);
    let started = summary.last_started.clone().unwrap_or_default();
    assert_eq!(
        (started.name.as_str(), started.status.as_str()),
        ("run-bad", "FAILED")
    );
    let failed = summary.last_failed.clone().unwrap_or_default();
    assert_eq!(failed.name, "run-bad");
    assert_eq!(failed.status, "FAILED");
    assert_eq!(failed.error.as_deref(), Some("JobFailed"));
    assert_eq!(failed.cause.as_deref(), Some("the job returned FAILED"));
    assert!(failed.stop_time.is_some());

    // The next resyncs list the executions again and find the same summary: no DescribeExecution, no write.
    let calls = |api: &str| backend.call_counts().get(api).copied().unwrap_or_default();
    let (listed, described) = (calls("sfn:ListExecutions"), calls("sfn:DescribeExecution"));
    assert_eq!(described, 1, "{:?}", backend.call_counts());
    let version = sm.metadata.resource_version.clone();
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        calls("sfn:ListExecutions") >= listed + 2,
        "{:?}",
        backend.call_counts()
    );
    assert_eq!(calls("sfn:DescribeExecution"), described);
    let now = world
        .api::<StateMachine>()
        .get("nightly")
        .await
        .expect("reading the machine");
    assert_eq!(
        now.metadata.resource_version, version,
        "an idle resync writes nothing: {:?}",
        now.status
    );
    assert_eq!(executions(&now), Some(&summary));
    operator.stop().await;
    world.cleanup().await;
}
