//! The `simulate` and `test` commands as a user runs them: the example test files pass, a failing case makes
//! the exit code non-zero, `--output json` has the documented shape, and a Task without a mock is an error
//! naming the state.

use sfn_test_support as support;

use std::process::Command;

use serde_json::{Value, json};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sfn"))
}

#[test]
fn example_test_files_pass() {
    let out = bin()
        .arg("test")
        .arg(support::workspace_root().join("examples/tests"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{stdout}");
    let passed: usize = last.split_whitespace().next().unwrap().parse().unwrap();
    assert!(passed >= 20, "{stdout}");
}

#[test]
fn a_failing_case_fails_the_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow.asl.json"),
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "End": true}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("flow.test.yaml"),
        "stateMachine: flow.asl.json\ncases:\n  - name: right\n    expect: {status: SUCCEEDED, output: {x: 1}}\n  - name: wrong\n    expect: {status: SUCCEEDED, output: {x: 2}}\n",
    )
    .unwrap();
    let out = bin()
        .arg("test")
        .arg(dir.path().join("flow.test.yaml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");
    assert!(
        stdout.contains("FAIL") && stdout.contains("output: expected"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn simulate_prints_json_results_with_history() {
    let dir = tempfile::tempdir().unwrap();
    let asl = dir.path().join("counter.asl.json");
    std::fs::write(
        &asl,
        json!({
            "StartAt": "Call",
            "States": {
                "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                         "ResultPath": "$.r", "Next": "Done?"},
                "Done?": {"Type": "Choice",
                          "Choices": [{"Variable": "$.r.done", "BooleanEquals": true, "Next": "End"}],
                          "Default": "Call"},
                "End": {"Type": "Succeed"}
            }
        })
        .to_string(),
    )
    .unwrap();
    let mocks = dir.path().join("mocks.yaml");
    std::fs::write(
        &mocks,
        "Call:\n  - return: {done: false}\n  - return: {done: true}\n",
    )
    .unwrap();
    let out = bin()
        .args(["simulate", "-f"])
        .arg(&asl)
        .args(["--input", r#"{"n": 1}"#, "--output", "json", "--mocks"])
        .arg(&mocks)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"], json!({"n": 1, "r": {"done": true}}));
    let history = v["history"].as_array().unwrap();
    assert_eq!(history[0]["type"], "ExecutionStarted");
    assert_eq!(history.last().unwrap()["type"], "ExecutionSucceeded");
    let tasks = history
        .iter()
        .filter(|e| e["type"] == "TaskScheduled")
        .count();
    assert_eq!(tasks, 2);

    // Without mocks the Task cannot run: an error naming the state, exit code 2.
    let out = bin()
        .args(["simulate", "-f"])
        .arg(&asl)
        .args(["--input", "{}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state 'Call'"));
}

#[test]
fn simulate_reads_manifests_and_reports_failures() {
    let out = bin()
        .args(["simulate", "-f"])
        .arg(support::workspace_root().join("examples/choice-afterwards.yaml"))
        .args(["--input", r#"{"color": "GREEN"}"#, "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "States.Runtime");
    assert!(v["cause"].as_str().unwrap().contains("$.priority"));

    let out = bin()
        .args(["simulate", "-f"])
        .arg(support::workspace_root().join("examples/choice-afterwards.yaml"))
        .args(["--input", r#"{"color": "BLUE"}"#])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Handle Blue Item (Pass)") && text.contains("SUCCEEDED"),
        "{text}"
    );
}
