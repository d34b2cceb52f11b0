//! `sfn import` through the binary: the manifest on stdout is one `sfn validate` and `sfn plan` accept, the
//! summary is on stderr, and input that is not ASL exits 2 with a message naming the file, state and field.

use std::process::{Command, Output};

use sfn_test_support as support;

fn sfn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(args)
        .current_dir(support::workspace_root())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_imported_cdk_machine_validates_and_plans() {
    let asl = support::shared_reference_dir().join("cdk-iam/glue-start-job-run-sync.asl.json");
    let out = sfn(&["import", "-f", asl.to_str().unwrap(), "-n", "etl"]);
    let (yaml, summary) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{summary}");
    assert!(
        summary.starts_with(&format!(
            "imported {} as StateMachine etl/glue-start-job-run-sync:",
            asl.display()
        )),
        "{summary}"
    );
    assert!(yaml.contains("kind: TaskIntegration"), "{yaml}");
    assert!(yaml.contains("  pattern: sync\n"), "{yaml}");
    assert!(
        !yaml.contains("imported"),
        "the summary stays off stdout: {yaml}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("etl.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let validate = sfn(&["validate", "-f", file.to_str().unwrap()]);
    assert!(
        validate.status.success(),
        "{}\n{}",
        text(&validate.stdout),
        text(&validate.stderr)
    );
    assert!(text(&validate.stdout).contains("valid: StateMachine etl/glue-start-job-run-sync"));
    let plan = sfn(&["plan", "-f", file.to_str().unwrap()]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    assert!(
        text(&plan.stdout).contains("glue:StartJobRun"),
        "{}",
        text(&plan.stdout)
    );
}

#[test]
fn json_output_is_one_list() {
    let dir = tempfile::tempdir().unwrap();
    let asl = dir.path().join("hello.asl.json");
    std::fs::write(
        &asl,
        r#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": true}}}"#,
    )
    .unwrap();
    let out = sfn(&[
        "import",
        "-f",
        asl.to_str().unwrap(),
        "--name",
        "greeter",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["metadata"]["name"], "greeter");
    assert_eq!(
        list["items"][0]["spec"]["definition"]["states"][0],
        serde_json::json!({"name": "Hi", "type": "Pass"})
    );
}

#[test]
fn input_that_is_not_asl_exits_2_naming_the_state_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let asl = dir.path().join("bad.asl.json");
    std::fs::write(
        &asl,
        r#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Resultpath": "$.x", "End": true}}}"#,
    )
    .unwrap();
    let out = sfn(&["import", "-f", asl.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.asl.json is not a valid ASL definition"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"Hi\"") && stderr.contains("Resultpath"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let manifest = sfn(&["import", "-f", "examples/job-poller.yaml"]);
    assert_eq!(manifest.status.code(), Some(2));
    assert!(
        text(&manifest.stderr).contains("is not JSON"),
        "{}",
        text(&manifest.stderr)
    );
}
