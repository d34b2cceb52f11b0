//! `sfn-operator apply -f` and `plan --live` end to end, as a CI pipeline runs them: the binary against the moto
//! server, through the standard AWS environment (`AWS_ENDPOINT_URL`). The second apply of unchanged manifests
//! makes no write call. Needs `.tools/venv/bin/moto_server` (installed by scripts/test) or `SFN_TEST_AWS_ENDPOINT`.

mod aws_support;

use sfn_test_support as support;
use std::process::{Command, Output};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The binary with the AWS environment pointing at moto. Moto answers STS with its default account, which only
/// this test binary (a moto server of its own) uses; of its tests only one writes.
fn sfn_operator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-operator"))
        .args(args)
        // The workspace root (aws_support already includes the shared test helpers privately).
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

/// `N object(s), F failed, C AWS call(s), W write(s)` → (failed, writes).
fn summary(stdout: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" object(s), "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    let num = |suffix: &str| -> u64 {
        let before = line.split(suffix).next().unwrap();
        before
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{suffix} in {line:?}"))
    };
    (num(" failed"), num(" write(s)"))
}

#[test]
fn apply_job_poller_twice_then_plan_live() {
    let file = "examples/job-poller.yaml";

    let dry = sfn_operator(&["plan", "--live", "-f", file]);
    let stdout = text(&dry.stdout);
    assert!(dry.status.success(), "{stdout}\n{}", text(&dry.stderr));
    assert!(
        stdout.contains("StateMachine demo/job-poller (demo-job-poller):"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ "),
        "the dry run lists operations: {stdout}"
    );
    assert_eq!(
        summary(&stdout),
        (0, 0),
        "a dry run writes nothing: {stdout}"
    );

    let first = sfn_operator(&["apply", "-f", file]);
    let stdout = text(&first.stdout);
    assert!(first.status.success(), "{stdout}\n{}", text(&first.stderr));
    assert!(
        stdout.contains("arn: arn:aws:states:us-east-1:123456789012:stateMachine:demo-job-poller"),
        "{stdout}"
    );
    let (failed, writes) = summary(&stdout);
    assert_eq!(failed, 0, "{stdout}");
    // Role, its policy, the state machine and three alarms at least.
    assert!(writes >= 6, "{stdout}");

    let second = sfn_operator(&["apply", "-f", file]);
    let stdout = text(&second.stdout);
    assert!(
        second.status.success(),
        "{stdout}\n{}",
        text(&second.stderr)
    );
    assert!(stdout.contains("  no changes"), "{stdout}");
    assert_eq!(
        summary(&stdout),
        (0, 0),
        "the second apply writes nothing: {stdout}"
    );

    let live = sfn_operator(&["plan", "--live", "-f", file]);
    let stdout = text(&live.stdout);
    assert!(live.status.success(), "{stdout}\n{}", text(&live.stderr));
    assert!(stdout.contains("  no changes"), "{stdout}");
    assert!(!stdout.contains("+ "), "{stdout}");
}

#[test]
fn an_invalid_manifest_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: sfn.operator.dev/v1alpha1\nkind: StateMachine\nmetadata: {name: broken, namespace: ci}\nspec:\n  definition:\n    states:\n      - {name: Go, type: Pass, next: Nowhere}\n",
    )
    .unwrap();
    let out = sfn_operator(&["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nothing applied") && stderr.contains("StateMachine ci/broken"),
        "{stderr}"
    );
    assert!(stderr.contains("Nowhere"), "{stderr}");
}

#[test]
fn validate_aws_is_a_second_opinion_that_never_fails_on_its_own() {
    // moto does not implement ValidateStateMachineDefinition: the answer is one warning and the exit code
    // stays the offline one.
    let ok = sfn_operator(&["validate", "--aws", "-f", "examples/job-poller.yaml"]);
    let stderr = text(&ok.stderr);
    assert!(ok.status.success(), "{}\n{stderr}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains("valid: StateMachine demo/job-poller"));
    assert!(
        stderr.contains("StateMachine demo/job-poller: warning: AWS validation skipped: "),
        "{stderr}"
    );

    // No AWS at all (nothing listens on the endpoint): still a warning, not a failure.
    let unreachable = Command::new(env!("CARGO_BIN_EXE_sfn-operator"))
        .args([
            "validate",
            "--aws",
            "-o",
            "json",
            "-f",
            "examples/job-poller.yaml",
        ])
        .current_dir(support::workspace_root())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", aws_support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .output()
        .expect("the sfn-operator binary runs");
    assert!(unreachable.status.success(), "{unreachable:?}");
    let lines: Vec<serde_json::Value> = text(&unreachable.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|d| d["valid"] == true && d["name"] == "job-poller")
    );
    assert!(
        lines.iter().any(|d| d["source"] == "aws"
            && d["skipped"]
                .as_str()
                .is_some_and(|s| s.starts_with("AWS validation skipped: "))),
        "{lines:?}"
    );

    // The offline verdict still decides: an invalid definition fails whatever AWS says.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.asl.json");
    std::fs::write(
        &bad,
        r#"{"StartAt": "Missing", "States": {"A": {"Type": "Succeed"}}}"#,
    )
    .unwrap();
    let refused = sfn_operator(&["validate", "--aws", "-f", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
}

/// AwsIdentities in the files are honoured as in the cluster: the namespace's default identity puts its
/// machine in the identity's account and region; an object without one uses the caller's account; an
/// identity that does not allow the namespace stops the whole apply before any AWS write.
#[test]
fn apply_honours_the_identities_in_the_files() {
    let team = aws_support::account_for("apply-identities-team");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let manifests = format!(
        r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: AwsIdentity
metadata: {{name: team}}
spec:
  region: eu-west-1
  roleChain:
    - roleArn: arn:aws:iam::{team}:role/sfn-operator-team
      externalId: team-ext
  namespaces: {{defaultFor: [team]}}
---
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {{name: orders, namespace: team}}
spec:
  definition:
    states: [{{name: Hello, type: Pass, end: true}}]
---
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {{name: identity-free, namespace: platform}}
spec:
  definition:
    states: [{{name: Hello, type: Pass, end: true}}]
"#
    );
    let file = dir.path().join("identities.yaml");
    std::fs::write(&file, &manifests).unwrap();
    let file = file.to_str().unwrap();

    let out = sfn_operator(&["apply", "-f", file]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!(
            "arn: arn:aws:states:eu-west-1:{team}:stateMachine:team-orders"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "arn: arn:aws:states:us-east-1:123456789012:stateMachine:platform-identity-free"
        ),
        "{stdout}"
    );
    assert_eq!(summary(&stdout).0, 0, "{stdout}");
    let again = sfn_operator(&["apply", "-f", file]);
    let stdout = text(&again.stdout);
    assert_eq!(summary(&stdout), (0, 0), "{stdout}");

    let refused = manifests.replace(
        "metadata: {name: orders, namespace: team}\nspec:\n",
        "metadata: {name: orders, namespace: team}\nspec:\n  identityRef: {name: nobody}\n",
    );
    assert_ne!(refused, manifests);
    let file = dir.path().join("refused.yaml");
    std::fs::write(&file, refused).unwrap();
    let out = sfn_operator(&["apply", "-f", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("StateMachine team/orders") && stderr.contains("\"nobody\""),
        "{stderr}"
    );
    assert!(
        !text(&out.stdout).contains(" object(s), "),
        "nothing ran: {}",
        text(&out.stdout)
    );
}
