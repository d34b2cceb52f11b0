//! `sfn-operator import --arn/--name` against the moto server: a machine created outside the operator is
//! read through `DescribeStateMachine`, written as a typed manifest with its TaskIntegrations, and with
//! `--adopt` the operator's live plan takes that machine over in place. Needs `.tools/venv/bin/moto_server`
//! (installed by scripts/test) or `SFN_TEST_AWS_ENDPOINT`.

mod aws_support;

use std::process::{Command, Output};

use serde_json::{Value, json};
use sfn_test_support as support;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The binary with the AWS environment pointing at moto (its default account, used only by this binary).
fn sfn_operator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-operator"))
        .args(args)
        .current_dir(support::workspace_root())
        .env("AWS_ENDPOINT_URL", aws_support::endpoint())
        .env("AWS_REGION", aws_support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .output()
        .expect("the sfn-operator binary runs")
}

const ROLE: &str = "arn:aws:iam::123456789012:role/legacy-orders";

/// Creates, outside the operator, a machine as a console user would have: a Lambda task and a Choice.
fn create_legacy_machine(name: &str) -> String {
    let definition = json!({
        "Comment": "made in the console",
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Charge", "Payload.$": "$"},
                "ResultSelector": {"status.$": "$.Payload.status"},
                "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 4}],
                "Next": "Paid?"
            },
            "Paid?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.status", "StringEquals": "PAID", "Next": "Done"}],
                "Default": "Declined"
            },
            "Declined": {"Type": "Fail", "Error": "Declined"},
            "Done": {"Type": "Succeed"}
        }
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = aws_support::sdk_config().await;
        let sfn = aws_sdk_sfn::Client::new(&config);
        let out = sfn
            .create_state_machine()
            .name(name)
            .definition(definition.to_string())
            .role_arn(ROLE)
            .tags(
                aws_sdk_sfn::types::Tag::builder()
                    .key("team")
                    .value("payments")
                    .build(),
            )
            .send()
            .await
            .expect("moto creates the machine");
        out.state_machine_arn().to_owned()
    })
}

/// The YAML documents of an import, as JSON values.
fn documents(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .map(|doc| serde_saphyr::from_str::<Value>(doc).unwrap_or_else(|e| panic!("{e}\n{yaml}")))
        .collect()
}

#[test]
fn a_live_machine_imports_by_arn_and_by_name_and_is_adopted_in_place() {
    let arn = create_legacy_machine("legacy-orders");

    let by_arn = sfn_operator(&["import", "--arn", &arn, "-n", "payments", "--adopt"]);
    let yaml = text(&by_arn.stdout);
    let summary = text(&by_arn.stderr);
    assert!(by_arn.status.success(), "{yaml}\n{summary}");
    assert!(
        summary.starts_with(&format!(
            "imported {arn} as StateMachine payments/legacy-orders: 4 states"
        )),
        "{summary}"
    );
    assert!(summary.contains("1 TaskIntegration (charge)"), "{summary}");
    let docs = documents(&yaml);
    assert_eq!(docs.len(), 2, "{yaml}");
    let (ti, sm) = (&docs[0], &docs[1]);
    assert_eq!(ti["kind"], "TaskIntegration");
    assert_eq!(
        ti["spec"]["lambda"]["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:Charge"
    );
    assert_eq!(sm["metadata"]["namespace"], "payments");
    assert_eq!(
        sm["metadata"]["annotations"]["sfn.operator.dev/adopt"],
        "true"
    );
    assert_eq!(sm["spec"]["name"], "legacy-orders");
    assert_eq!(sm["spec"]["roleArn"], ROLE);
    assert_eq!(sm["spec"]["type"], "STANDARD");
    assert_eq!(sm["spec"]["deletionPolicy"], "Retain");
    assert_eq!(sm["spec"]["tags"], json!({"team": "payments"}));
    let states = &sm["spec"]["definition"]["states"];
    assert_eq!(states[0]["integration"], "charge");
    assert_eq!(states[1]["choices"][0]["condition"], "$.status == \"PAID\"");

    // The same machine by name, in the configured account and region.
    let by_name = sfn_operator(&["import", "--name", "legacy-orders", "-o", "json"]);
    assert!(by_name.status.success(), "{}", text(&by_name.stderr));
    let list: Value = serde_json::from_str(&text(&by_name.stdout)).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(
        list["items"][1]["spec"]["definition"],
        sm["spec"]["definition"]
    );
    assert!(list["items"][1]["metadata"].get("annotations").is_none());

    // Applying the adopted manifest changes nothing in the definition: the operator plans the live machine
    // in place rather than creating another.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imported.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let plan = sfn_operator(&["plan", "--live", "-f", file.to_str().unwrap()]);
    let planned = text(&plan.stdout);
    assert!(plan.status.success(), "{planned}\n{}", text(&plan.stderr));
    assert!(
        planned.contains("StateMachine payments/legacy-orders (legacy-orders):"),
        "{planned}"
    );
    assert!(!planned.contains("create state machine"), "{planned}");
}

#[test]
fn a_missing_machine_is_a_clear_error() {
    let out = sfn_operator(&[
        "import",
        "--arn",
        "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "no state machine arn:aws:states:us-east-1:123456789012:stateMachine:nope in this account and region"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn adopt_needs_a_live_machine() {
    let out = sfn_operator(&["import", "-f", "examples/job-poller.yaml", "--adopt"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
