//! The execution commands against a StateMachine the operator made: `start`, `executions`, `describe`,
//! `stop` and `redrive` by the object's Kubernetes name, run as the operator binary and as the `kubectl sfn`
//! plugin through the real kubectl.
//!
//! moto (default mode) leaves a started execution RUNNING and does not serve RedriveExecution, so these
//! tests check a running execution, its stop, and the error a refused redrive gives.

mod e2e_support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use e2e_support::{REGION, RunningOperator, World, aws_endpoint, operator_binary};
use sfn_api::StateMachine;

const TIMEOUT: Duration = Duration::from_secs(60);

const MACHINE: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata:
  name: hello
spec:
  definition:
    states:
      - name: Greet
        type: Pass
        result: {greeting: hello}
"#;

fn ready(sm: &StateMachine) -> bool {
    sm.status
        .as_ref()
        .and_then(|s| s.state_machine_arn.as_deref())
        .is_some()
}

/// Runs `program args` with the world's kubeconfig and the emulator as AWS, with a time limit.
fn run(program: &Path, args: &[&str], kubeconfig: &Path, path: Option<&str>) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("60").arg(program).args(args);
    cmd.env("KUBECONFIG", kubeconfig)
        .env("AWS_ENDPOINT_URL", aws_endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn explain(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_are_operated_by_the_objects_name() {
    let world = World::new().await;
    world.apply_yaml(MACHINE).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let sm = world
        .wait_for::<StateMachine>("hello", TIMEOUT, ready)
        .await;
    let machine_arn = sm
        .status
        .and_then(|s| s.state_machine_arn)
        .unwrap_or_default();
    operator.stop().await;
    let kubeconfig = world.kubeconfig_path();
    let bin = operator_binary();
    let target = format!("{}/hello", world.namespace);

    // start: prints the execution's ARN, an execution of the object's machine.
    let out = run(
        &bin,
        &[
            "start",
            &target,
            "--name",
            "first",
            "--input",
            r#"{"who": "kube"}"#,
        ],
        &kubeconfig,
        None,
    );
    assert!(out.status.success(), "{}", explain(&out));
    let execution_arn = stdout(&out).trim().to_owned();
    let machine_name = machine_arn.rsplit(':').next().unwrap_or_default();
    assert!(
        execution_arn.ends_with(&format!(":execution:{machine_name}:first")),
        "{}",
        explain(&out)
    );

    // executions: the bare name resolves in the context's namespace; JSON lists the run as RUNNING.
    let out = run(
        &bin,
        &["executions", "hello", "-o", "json"],
        &kubeconfig,
        None,
    );
    assert!(out.status.success(), "{}", explain(&out));
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", explain(&out)));
    let runs = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "{listed}");
    assert_eq!(runs[0]["executionArn"], execution_arn.as_str(), "{listed}");
    assert_eq!(runs[0]["status"], "RUNNING", "{listed}");

    // describe: the status and the input given to start.
    let out = run(&bin, &["describe", &target, "first"], &kubeconfig, None);
    assert!(out.status.success(), "{}", explain(&out));
    let text = stdout(&out);
    assert!(text.contains("RUNNING"), "{}", explain(&out));
    assert!(
        text.contains("kube"),
        "the input is shown: {}",
        explain(&out)
    );

    // stop, then the list filtered on ABORTED has it.
    let out = run(
        &bin,
        &["stop", &target, "first", "--cause", "test"],
        &kubeconfig,
        None,
    );
    assert!(out.status.success(), "{}", explain(&out));
    let out = run(
        &bin,
        &["executions", &target, "--status", "ABORTED", "-o", "json"],
        &kubeconfig,
        None,
    );
    assert!(out.status.success(), "{}", explain(&out));
    assert!(stdout(&out).contains(&execution_arn), "{}", explain(&out));

    // redrive: moto refuses it; the error names the object and the command fails.
    let out = run(&bin, &["redrive", &target, "first"], &kubeconfig, None);
    assert!(!out.status.success(), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("StateMachine {target}")),
        "{}",
        explain(&out)
    );

    // An object that does not exist is named in the error, and nothing is called in AWS.
    let out = run(&bin, &["executions", "nowhere"], &kubeconfig, None);
    assert!(!out.status.success(), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("StateMachine {}/nowhere", world.namespace)),
        "{}",
        explain(&out)
    );

    // The same binary as a kubectl plugin, through the real kubectl, flags before the command.
    let plugins = tempfile::tempdir().expect("a plugin directory");
    std::os::unix::fs::symlink(&bin, plugins.path().join("kubectl-sfn")).expect("plugin link");
    let kubectl_dir = e2e_support::workspace_root().join(".tools/bin");
    let path = format!(
        "{}:{}:{}",
        plugins.path().display(),
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(
        &kubectl_dir.join("kubectl"),
        &[
            "sfn",
            "-n",
            &world.namespace,
            "executions",
            "hello",
            "-o",
            "json",
        ],
        &kubeconfig,
        Some(&path),
    );
    assert!(out.status.success(), "{}", explain(&out));
    assert!(stdout(&out).contains(&execution_arn), "{}", explain(&out));

    world.cleanup().await;
}
