//! The operator's own IAM policy (`deploy/iam-policy.json`) must cover every AWS operation the adapters in
//! `crates/sfn-aws/src/` call, and stay scoped: no action wildcards, IAM writes only on the operator's role path (the
//! audit of bring-your-own roles reads beyond it), and
//! `iam:PassRole` only towards Step Functions. The adapters name each call with its IAM action when they count
//! it (`call("iam:GetRole", …)`), which is what this test reads, so a new call cannot slip in uncovered.

use sfn_test_support as support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// The read-only IAM actions of the audit of bring-your-own roles, the only IAM actions allowed beyond the
/// operator's own role and policy path.
const AUDIT_READS: &[&str] = &[
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
];

/// The bulk listing of roles that serves idle resyncs (`sfn_aws::role_directory`): IAM does not let it be
/// scoped to a path, so it is the one read allowed on `*`.
const BULK_READS: &[&str] = &["iam:GetAccountAuthorizationDetails"];

/// Operations that need no IAM permission at all.
const NEEDS_NO_PERMISSION: &[&str] = &["sts:GetCallerIdentity"];

fn policy() -> Value {
    let text = std::fs::read_to_string(support::workspace_root().join("deploy/iam-policy.json"))
        .expect("deploy/iam-policy.json exists");
    serde_json::from_str(&text).expect("deploy/iam-policy.json is JSON")
}

fn as_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect(),
        other => panic!("expected a string or a list, got {other}"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every IAM action the adapters call, from the labels they count calls under.
fn called_actions() -> BTreeSet<String> {
    let label =
        regex::Regex::new(r#"(?:\.call|\.record)\(\s*"([a-z0-9]+):([A-Za-z0-9]+)""#).unwrap();
    let mut files = Vec::new();
    rust_files(
        &support::workspace_root().join("crates/sfn-aws/src"),
        &mut files,
    );
    let mut actions = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for cap in label.captures_iter(&text) {
            // The SDK is called `sfn`, its IAM prefix is `states`.
            let service = match &cap[1] {
                "sfn" => "states",
                other => other,
            };
            actions.insert(format!("{service}:{}", &cap[2]));
        }
    }
    actions
}

#[test]
fn every_operation_the_adapters_call_is_allowed() {
    let called = called_actions();
    assert!(
        called.len() >= 15,
        "found only {called:?}: the adapters' call labels were not recognised"
    );
    let allowed: BTreeSet<String> = policy()["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| as_list(&s["Action"]))
        .collect();
    let missing: Vec<&String> = called
        .iter()
        .filter(|a| !allowed.contains(*a) && !NEEDS_NO_PERMISSION.contains(&a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/iam-policy.json does not allow {missing:?}"
    );
}

#[test]
fn the_policy_is_scoped() {
    for statement in policy()["Statement"].as_array().unwrap() {
        let sid = statement["Sid"].as_str().unwrap_or("?");
        let actions = as_list(&statement["Action"]);
        let resources = as_list(&statement["Resource"]);
        for action in &actions {
            assert!(!action.contains('*'), "{sid}: action wildcard {action}");
        }
        let on_operator_path = resources.iter().all(|r| {
            r.starts_with("arn:aws:iam::*:role/sfn-operator/")
                || r.starts_with("arn:aws:iam::*:policy/sfn-operator/")
        });
        if actions.iter().any(|a| a.starts_with("iam:")) && !on_operator_path {
            // Bring-your-own roles can be anywhere: only the reads of their audit reach beyond the path.
            assert!(
                actions
                    .iter()
                    .all(|a| AUDIT_READS.contains(&a.as_str()) || BULK_READS.contains(&a.as_str())),
                "{sid}: IAM actions outside the operator's role and policy path: {actions:?} on {resources:?}"
            );
            assert!(
                statement.get("Condition").is_none(),
                "{sid}: unexpected condition"
            );
        }
        if actions.iter().any(|a| a == "iam:PassRole") {
            assert_eq!(
                statement["Condition"]["StringEquals"]["iam:PassedToService"],
                "states.amazonaws.com",
                "{sid}: iam:PassRole must be limited to Step Functions"
            );
        }
        if actions
            .iter()
            .any(|a| a.starts_with("states:Delete") || a.starts_with("states:Update"))
        {
            assert_eq!(
                statement["Condition"]["Null"]["aws:ResourceTag/sfn.operator.dev/owner"], "false",
                "{sid}: changes to Step Functions resources must require the owner tag"
            );
        }
    }
}
