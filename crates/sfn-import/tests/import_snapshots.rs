//! The imported manifests of a few representative inputs, pinned by insta snapshots (manifest and summary),
//! and the errors for input that is not ASL.

use serde_json::Value;
use sfn_api::manifest;
use sfn_asl::bundle::compile_in_bundle;
use sfn_import::{ImportError, Options, import_text, import_value};
use sfn_test_support as support;

/// The compiled ASL of a StateMachine of an example file.
fn example(file: &str, name: &str) -> Value {
    let path = support::workspace_root().join("examples").join(file);
    let bundle = manifest::load_paths(&[path]).unwrap();
    let sm = bundle
        .state_machines
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))
        .unwrap();
    compile_in_bundle(sm, &bundle, "123456789012", "us-east-1")
        .unwrap()
        .json
}

fn reference(relative: &str) -> Value {
    let text = std::fs::read_to_string(support::shared_reference_dir().join(relative)).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    match v.get("definition") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap(),
        _ => v,
    }
}

fn rendered(asl: &Value, source: &str, name: &str) -> String {
    let options = Options {
        namespace: Some("demo".into()),
        ..Options::default()
    };
    let imported = import_value(asl, source, name, &options).unwrap();
    format!(
        "{}\n# summary\n{}",
        imported.to_yaml().unwrap(),
        imported.summary
    )
}

#[test]
fn the_job_poller() {
    let asl = example("job-poller.yaml", "job-poller");
    insta::assert_snapshot!(rendered(&asl, "job-poller.asl.json", "job-poller"));
}

#[test]
fn choice_branches_that_join_become_inline_chains() {
    let asl = example("choice-afterwards.yaml", "choice-afterwards");
    let out = rendered(&asl, "choice-afterwards.asl.json", "choice-afterwards");
    assert!(
        out.contains("defaultStates:") || out.contains("    states:"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn a_cdk_machine_with_an_ecs_sync_task() {
    let asl = reference("cdk-iam/ecs-fargate-run-task.asl.json");
    insta::assert_snapshot!(rendered(
        &asl,
        "ecs-fargate-run-task.asl.json",
        "ecs-fargate"
    ));
}

#[test]
fn a_cdk_machine_with_a_nested_sync_execution_in_jsonata() {
    let asl = reference("cdk-iam/sfn-start-execution-sync2-jsonata.asl.json");
    insta::assert_snapshot!(rendered(
        &asl,
        "sfn-start-execution-sync2-jsonata.asl.json",
        "nested"
    ));
}

#[test]
fn a_map_with_retries_and_catches() {
    let asl = example("map.yaml", "map");
    insta::assert_snapshot!(rendered(&asl, "map.asl.json", "map"));
}

#[test]
fn input_that_is_not_json_names_the_file_and_the_position() {
    let err = import_text("{\"StartAt\": ", "broken.asl.json", &Options::default()).unwrap_err();
    assert!(
        matches!(err, ImportError::NotJson { line: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("broken.asl.json is not JSON (line 1, column 12)"),
        "{err}"
    );
}

#[test]
fn a_manifest_is_not_asl() {
    let err = import_text(
        r#"{"apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine", "metadata": {"name": "x"}}"#,
        "sm.json",
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "sm.json is a Kubernetes manifest (kind StateMachine), not an ASL definition: import reads the ASL JSON of a state machine"
    );
}

#[test]
fn invalid_asl_names_the_file_the_state_and_the_field() {
    let text = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Wait", "Secnds": 3, "End": true}}}"#;
    let err = import_text(text, "flow.asl.json", &Options::default()).unwrap_err();
    let ImportError::NotAsl { diagnostics, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(diagnostics[0].state.as_deref(), Some("B"));
    let message = err.to_string();
    assert!(
        message.starts_with("flow.asl.json is not a valid ASL definition:\n"),
        "{message}"
    );
    assert!(message.contains("Secnds"), "{message}");

    let dangling = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#;
    let err = import_text(dangling, "d.asl.json", &Options::default()).unwrap_err();
    assert!(err.to_string().contains("Nowhere"), "{err}");
    assert!(err.to_string().contains("\"A\""), "{err}");

    let not_a_machine = import_text("[1, 2]", "list.json", &Options::default()).unwrap_err();
    assert!(
        matches!(not_a_machine, ImportError::NotAsl { .. }),
        "{not_a_machine:?}"
    );
}

#[test]
fn what_has_no_typed_form_falls_back_to_definition_json_with_the_reason() {
    let text =
        r#"{"StartAt": "A", "Version": "1.0", "States": {"A": {"Type": "Pass", "End": true}}}"#;
    let imported = import_text(text, "v.asl.json", &Options::default()).unwrap();
    let spec = &imported.state_machine.spec;
    assert!(spec.definition.is_none());
    let kept: Value = serde_json::from_str(spec.definition_json.as_deref().unwrap()).unwrap();
    assert_eq!(kept, serde_json::from_str::<Value>(text).unwrap());
    let why = imported.summary.fallback.as_deref().unwrap();
    assert!(why.contains("Version"), "{why}");
    assert!(
        imported
            .summary
            .to_string()
            .contains("fallback: the definition is kept as definitionJson")
    );
}

#[test]
fn the_same_integration_is_written_once() {
    let text = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "a"}, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "b"}, "Next": "C"},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken", "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message.$": "$$.Task.Token"}, "End": true}}}"#;
    let imported = import_text(text, "sns.asl.json", &Options::default()).unwrap();
    let names: Vec<_> = imported
        .task_integrations
        .iter()
        .map(|t| t.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["t", "t-callback"]);
    let states = &imported
        .state_machine
        .spec
        .definition
        .as_ref()
        .unwrap()
        .states;
    assert_eq!(states[0].integration.as_deref(), Some("t"));
    assert_eq!(states[1].integration.as_deref(), Some("t"));
    assert_eq!(states[2].integration.as_deref(), Some("t-callback"));
    assert_eq!(
        imported.task_integrations[1].spec.pattern,
        Some(sfn_api::IntegrationPattern::WaitForTaskToken)
    );
}
