//! `sfn plan` and `sfn validate` as a user runs them: exit codes, the printed ASL, the
//! machine-readable output and error lines that name the object, the state and the field.

use sfn_test_support as support;

use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(args)
        .current_dir(support::workspace_root())
        .output()
        .expect("the sfn binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn plan_prints_the_compiled_asl_and_the_choice_rules() {
    let out = run(&["plan", "-f", "examples/job-poller.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("# StateMachine "), "{stdout}");
    // The ASL is the first JSON block after the header lines (the role's policies follow later).
    let json: String = stdout
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .take_while(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let asl: Value =
        serde_json::from_str(&json).expect("pretty ASL JSON between the comment lines");
    assert_eq!(asl["StartAt"], "Submit Job");
    assert!(
        stdout.contains("# \"Job Complete?\" rule 1: $.status == \"FAILED\" -> Job Failed"),
        "{stdout}"
    );
}

#[test]
fn plan_json_prints_one_document_per_state_machine() {
    let out = run(&["plan", "-o", "json", "-f", "examples"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let docs: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert!(docs.len() >= 10, "{docs:?}");
    for d in &docs {
        assert_eq!(d["kind"], "StateMachine");
        assert!(d["namespace"].is_string() && d["name"].is_string());
        assert!(d["asl"]["States"].is_object(), "{d}");
    }
}

#[test]
fn validate_accepts_the_examples_and_rejects_a_broken_machine() {
    let out = run(&["validate", "-f", "examples"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid: StateMachine"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        r#"apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: broken, namespace: demo}
spec:
  definition:
    states:
      - {name: Wait a bit, type: Wait}
      - {name: Go, type: Pass, next: Nowhere}
"#,
    )
    .unwrap();
    let out = run(&["validate", "-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("StateMachine demo/broken: state \"Wait a bit\", field Seconds (/States/Wait a bit/Seconds)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "state \"Go\", field Next (/States/Go/Next): \"Nowhere\" does not name a state"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("1 invalid object(s)"), "{stderr}");
}
