//! `sfn plan` as a reviewer reads it: after the ASL, the role (trust policy, permissions policies, why each
//! statement is there, widening warnings) or the bring-your-own role and what it needs, then the alarms; and the
//! same facts as JSON for scripts.

use sfn_test_support as support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use sfn_api::manifest;
use sfn_cli::plan::{PlannedRole, plan_machine, task_hints};

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

fn json_docs(args: &[&str]) -> Vec<Value> {
    let out = run(args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect()
}

#[test]
fn job_poller_text_plan() {
    let out = run(&["plan", "-f", "examples/job-poller.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    insta::assert_snapshot!("job_poller_plan_text", stdout);
}

#[test]
fn json_plans_of_examples() {
    for example in [
        "job-poller",
        "definition-json",
        "ecs-fargate",
        "fragments",
        "jsonata",
    ] {
        let path = format!("examples/{example}.yaml");
        let docs = json_docs(&["plan", "-o", "json", "-f", &path]);
        assert_eq!(docs.len(), 1, "{example}: {docs:?}");
        insta::assert_json_snapshot!(format!("plan_json_{example}"), docs[0]);
    }
}

/// The rollout example's caller: its Task starts the alias ARN, and its role may start that alias only.
#[test]
fn json_plan_of_a_machine_that_starts_another_through_its_alias() {
    let docs = json_docs(&["plan", "-o", "json", "-f", "examples/rollout.yaml"]);
    assert_eq!(docs.len(), 2, "{docs:?}");
    let checkout = docs
        .iter()
        .find(|d| d["name"] == "checkout")
        .expect("the checkout machine");
    assert_eq!(
        checkout["asl"]["States"]["Place Order"]["Parameters"]["StateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:demo-orders:live"
    );
    insta::assert_json_snapshot!("plan_json_rollout_checkout", checkout);
}

#[test]
fn every_example_plans_with_role_and_alarm_keys() {
    let docs = json_docs(&["plan", "-o", "json", "-f", "examples"]);
    assert!(docs.len() >= 10);
    for d in &docs {
        for key in [
            "asl",
            "trustPolicy",
            "policies",
            "explanations",
            "warnings",
            "alarms",
        ] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
        // Exactly one of: a role the operator creates (with a trust policy) or the user's role.
        assert_eq!(
            d["trustPolicy"].is_object(),
            d.get("roleArn").is_none(),
            "{d}"
        );
        // Every statement of the documents is explained.
        let statements: usize = d["policies"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["Statement"].as_array().unwrap().len())
            .sum();
        assert_eq!(
            statements,
            d["explanations"].as_array().unwrap().len(),
            "{d}"
        );
    }
}

#[test]
fn bring_your_own_role_says_what_it_needs() {
    let out = run(&["plan", "-f", "examples/definition-json.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "# Role: bring your own arn:aws:iam::123456789012:role/existing-sfn-role (needs: kms:Decrypt, kms:GenerateDataKey, sns:Publish)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("# Trust policy:"), "{stdout}");
}

const DYNAMIC: &str = r#"apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: dynamic, namespace: team-a}
spec:
  definition:
    states:
      - name: Call Someone
        type: Task
        resource: arn:aws:states:::lambda:invoke
        parameters:
          FunctionName.$: $.fn
          Payload.$: $
  alarms:
    - name: slow
      metric: ExecutionTime
      statistic: Average
      threshold: 60000
      comparisonOperator: GreaterThanThreshold
      evaluationPeriods: 3
      datapointsToAlarm: 2
      alarmActions: ["arn:aws:sns:eu-west-1:210987654321:pager"]
"#;

#[test]
fn widening_warnings_name_the_state_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamic.yaml");
    std::fs::write(&file, DYNAMIC).unwrap();
    let file = file.to_str().unwrap();
    let out = run(&[
        "plan",
        "-f",
        file,
        "--account-id",
        "210987654321",
        "--region",
        "eu-west-1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let warnings: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "# Warnings:")
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("\"Call Someone\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains("arn:aws:lambda:eu-west-1:210987654321:function:*"),
        "the widened statement stays in the account and region given: {stdout}"
    );
    assert!(
        stdout.contains("#   sfn-operator/team-a-dynamic/slow\n#     Average > 60000 over 300s for 2 of 3 periods (AWS/States ExecutionTime [StateMachineArn=arn:aws:states:eu-west-1:210987654321:stateMachine:team-a-dynamic]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("#     alarm actions: arn:aws:sns:eu-west-1:210987654321:pager"),
        "{stdout}"
    );
    let docs = json_docs(&[
        "plan",
        "-o",
        "json",
        "-f",
        file,
        "--account-id",
        "210987654321",
        "--region",
        "eu-west-1",
    ]);
    let w = docs[0]["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].as_str()
            .unwrap()
            .starts_with("state \"Call Someone\": ")
    );
    assert_eq!(
        docs[0]["alarms"][0]["name"],
        "sfn-operator/team-a-dynamic/slow"
    );
    assert_eq!(docs[0]["roleName"], "team-a-dynamic-euw1");
}

#[test]
fn a_bad_alarm_fails_the_plan_naming_object_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        DYNAMIC.replace("metric: ExecutionTime", "metric: ExecutionTimes"),
    )
    .unwrap();
    let out = run(&["plan", "-f", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("StateMachine team-a/dynamic: spec.alarms[0] (slow): field metric:"),
        "{stderr}"
    );
    let docs = run(&["plan", "-o", "json", "-f", file.to_str().unwrap()]);
    assert_eq!(docs.status.code(), Some(1));
    let doc: Value = serde_json::from_str(text(&docs.stdout).trim()).unwrap();
    assert_eq!(doc["reason"], "InvalidSpec");
}

/// ECS passes roles that only the TaskIntegration names; a Task inside a fragment instance carries the instance
/// prefix in the compiled definition, and the role must still be allowed to pass them.
const ECS_IN_FRAGMENT: &str = r#"apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: run-report, namespace: demo}
spec:
  ecs:
    clusterArn: arn:aws:ecs:us-east-1:123456789012:cluster/reports
    taskDefinitionArn: arn:aws:ecs:us-east-1:123456789012:task-definition/report:3
    launchType: FARGATE
    passRoleArns: [arn:aws:iam::123456789012:role/report-task]
  pattern: sync
---
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: reports, namespace: demo}
spec:
  fragments:
    - name: report
      states:
        - {name: Build, type: Task, integration: run-report}
  definition:
    states:
      - name: Both
        type: Parallel
        branches:
          - states:
              - {name: Daily, type: Fragment, fragment: report, prefix: "Daily "}
          - states:
              - {name: Weekly, type: Fragment, fragment: report, prefix: "Weekly "}
"#;

#[test]
fn pass_role_hints_follow_fragment_prefixes_and_nesting() {
    let bundle = manifest::load_str(Path::new("ecs.yaml"), ECS_IN_FRAGMENT).unwrap();
    let sm = &bundle.state_machines[0];
    let resolver = sfn_asl::bundle::offline_resolver(&bundle, "demo", "123456789012", "us-east-1");
    let hints = task_hints(&sm.spec, &resolver);
    assert_eq!(
        hints.keys().cloned().collect::<Vec<_>>(),
        vec!["Daily Build".to_string(), "Weekly Build".to_string()]
    );
    let plan = plan_machine(sm, &bundle, "123456789012", "us-east-1").unwrap();
    let PlannedRole::Managed { policy, .. } = &plan.role else {
        panic!("a managed role");
    };
    let pass = policy
        .statements
        .iter()
        .find(|s| s.statement.actions == ["iam:PassRole"])
        .expect("an iam:PassRole statement");
    assert_eq!(
        pass.statement.resources,
        ["arn:aws:iam::123456789012:role/report-task"]
    );
}

#[test]
fn sfn_offers_the_offline_commands_and_nothing_that_needs_aws() {
    let help = text(&run(&["--help"]).stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "crds", "plan", "validate", "simulate", "test", "graph", "import", "help"
        ],
        "{help}"
    );
    let import_help = text(&run(&["import", "--help"]).stdout);
    assert!(
        import_help.contains("--filename") && !import_help.contains("--arn"),
        "reading a live machine needs AWS; it belongs to sfn-operator:\n{import_help}"
    );
    let plan_help = text(&run(&["plan", "--help"]).stdout);
    assert!(plan_help.contains("--filename"), "{plan_help}");
    assert!(
        !plan_help.contains("--live"),
        "`--live` needs AWS; it belongs to sfn-operator:\n{plan_help}"
    );
    let refused = run(&["plan", "--live", "-f", "examples/job-poller.yaml"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "clap refuses an unknown flag"
    );
}

#[test]
fn plan_can_draw_the_machine() {
    let out = run(&["plan", "--graph", "-f", "examples/job-poller.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let graph: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "# Graph (Mermaid):")
        .skip(1)
        .collect();
    assert!(
        graph
            .first()
            .is_some_and(|l| l.starts_with("#   flowchart")),
        "{stdout}"
    );
    assert!(graph.iter().all(|l| l.starts_with("#   ")), "{stdout}");
    assert!(
        graph.iter().any(|l| l.contains("Job Complete?")),
        "{stdout}"
    );

    let docs = json_docs(&[
        "plan",
        "--graph",
        "-o",
        "json",
        "-f",
        "examples/job-poller.yaml",
    ]);
    let drawn = docs[0]["graph"].as_str().expect("a graph field");
    assert!(drawn.starts_with("flowchart"), "{drawn}");
    let plain = json_docs(&["plan", "-o", "json", "-f", "examples/job-poller.yaml"]);
    assert!(plain[0].get("graph").is_none(), "no graph unless asked");
}
