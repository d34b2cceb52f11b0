//! The IAM derivation against the 37 reference state machines of the AWS CDK integration tests
//! (`shared/reference/cdk-iam/`, read at test time): every machine derives, the policy is snapshotted, and it is
//! compared with what the CDK granted, action by action. Where we differ on purpose, [`DIFFERENCES`] says why.

use sfn_test_support as support;

use std::path::PathBuf;

use serde_json::{Value, json};
use sfn_iam::{self as iam, RoleContext};

/// Deliberate differences from the CDK, by case: CDK (action, resource) pairs we do not grant, and why.
/// Resource `None` means every resource of that action. Actions compare case-insensitively.
const DIFFERENCES: &[(&str, &str, Option<&str>, &str)] = &[
    (
        "apigateway-call-http-api",
        "execute-api:Invoke",
        None,
        "the CDK's resource is broken (stage and path rendered as `undefined`); we grant $default/GET/* on the API",
    ),
    (
        "athena-get-query-results",
        "s3:CreateBucket",
        None,
        "a query never needs to create buckets; Athena writes into an existing output location",
    ),
    (
        "athena-start-query-execution",
        "s3:CreateBucket",
        None,
        "a query never needs to create buckets; Athena writes into an existing output location",
    ),
    (
        "athena-stop-query-execution",
        "s3:CreateBucket",
        None,
        "a query never needs to create buckets; Athena writes into an existing output location",
    ),
    (
        "athena-start-query-execution",
        "s3:AbortMultipartUpload",
        Some("arn:aws:s3:::query-results-bucket/folder"),
        "we grant result writes under the prefix (`folder/*`); the CDK's resource misses the objects below it",
    ),
    (
        "athena-start-query-execution",
        "s3:PutObject",
        Some("arn:aws:s3:::query-results-bucket/folder"),
        "as above: result objects live under `folder/`",
    ),
    (
        "athena-start-query-execution",
        "s3:ListMultipartUploadParts",
        Some("arn:aws:s3:::query-results-bucket/folder"),
        "as above: result objects live under `folder/`",
    ),
    (
        "athena-start-query-execution",
        "s3:ListBucketMultipartUploads",
        Some("arn:aws:s3:::query-results-bucket/folder"),
        "a bucket action: granted on the bucket, not on a key",
    ),
    (
        "athena-get-query-results",
        "athena:getQueryExecution",
        None,
        "request-response does not poll the query (the CDK grants it for both patterns)",
    ),
    (
        "athena-start-query-execution",
        "athena:getQueryExecution",
        None,
        "request-response does not poll the query (the CDK grants it for both patterns)",
    ),
    (
        "athena-stop-query-execution",
        "athena:getQueryExecution",
        None,
        "request-response does not poll the query (the CDK grants it for both patterns)",
    ),
    (
        "aws-sdk-glue-start-crawler",
        "glue:GetCrawler",
        None,
        "the task only calls StartCrawler",
    ),
    (
        "codebuild-start-build",
        "codebuild:StopBuild",
        None,
        "request-response does not wait for the build, so it never stops or polls it",
    ),
    (
        "codebuild-start-build",
        "codebuild:BatchGetBuilds",
        None,
        "request-response does not wait for the build, so it never stops or polls it",
    ),
    (
        "codebuild-start-build",
        "codebuild:BatchGetReports",
        None,
        "request-response does not wait for the build, so it never stops or polls it",
    ),
    (
        "sagemaker-create-training-job",
        "sagemaker:DescribeTrainingJob",
        None,
        "request-response does not poll the job",
    ),
    (
        "sagemaker-create-training-job",
        "sagemaker:StopTrainingJob",
        None,
        "request-response does not poll or stop the job",
    ),
    (
        "sagemaker-create-training-job",
        "sagemaker:ListTags",
        None,
        "request-response does not poll the job",
    ),
    (
        "sagemaker-create-transform-job-sync",
        "iam:PassRole",
        None,
        "CreateTransformJob takes no role; the model's role was passed when the model was created",
    ),
    (
        "sagemaker-create-transform-job-sync",
        "sagemaker:AddTags",
        None,
        "the definition passes no Tags",
    ),
    (
        "sqs-send-message-encrypted",
        "kms:Decrypt",
        None,
        "the queue's key is not visible in the definition; it belongs in spec.role.extraStatements",
    ),
    (
        "sqs-send-message-encrypted",
        "kms:GenerateDataKey*",
        None,
        "the queue's key is not visible in the definition; it belongs in spec.role.extraStatements",
    ),
];

/// Cases where we have more `Resource: "*"` statements than the CDK, and why.
const MORE_STAR_STATEMENTS: &[(&str, &str)] = &[(
    "batch-submit-job-sync",
    "batch:DescribeJobs has no resource-level permission and `.sync` needs it (\"IAM policies for AWS Batch\"); the CDK omits it",
)];

fn reference_dir() -> PathBuf {
    support::shared_reference_dir().join("cdk-iam")
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(reference_dir())
        .expect("cdk-iam reference folder")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".asl.json"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn read(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ctx(case: &str) -> RoleContext {
    RoleContext::new("us-east-1", "123456789012", case)
}

fn as_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM-style wildcard match (`*` any run, `?` one character).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn pairs(statements: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in statements {
        for a in as_list(s.get("Action")) {
            for r in as_list(s.get("Resource")) {
                out.push((a.to_ascii_lowercase(), r));
            }
        }
    }
    out
}

/// Whether our (action, resource) pairs cover a CDK pair: same action, and a resource that matches it in either
/// direction (ours may be narrower, like `job/NAME` for the CDK's `job/*`, or wider with a warning).
fn covered(ours: &[(String, String)], action: &str, resource: &str) -> bool {
    ours.iter()
        .any(|(a, r)| a.eq_ignore_ascii_case(action) && (glob(r, resource) || glob(resource, r)))
}

fn excused(case: &str, action: &str, resource: &str) -> bool {
    DIFFERENCES.iter().any(|(c, a, r, _)| {
        *c == case && a.eq_ignore_ascii_case(action) && r.is_none_or(|r| r == resource)
    })
}

#[test]
fn every_reference_machine_derives_and_is_snapshotted() {
    let cases = cases();
    assert_eq!(cases.len(), 37, "the reference set has 37 state machines");
    for case in cases {
        let asl = read(reference_dir().join(format!("{case}.asl.json")));
        let derived = iam::derive(&asl, &ctx(&case)).unwrap_or_else(|e| panic!("{case}: {e}"));
        let explained: Vec<Value> = derived
            .statements
            .iter()
            .map(|s| json!({"statement": s.statement.to_json(), "reasons": s.reasons}))
            .collect();
        insta::assert_json_snapshot!(
            format!("reference__{case}"),
            json!({
                "documents": derived.documents().into_iter().map(|(n, d)| json!({"name": n, "document": d})).collect::<Vec<_>>(),
                "explained": explained,
                "warnings": derived.warnings,
            })
        );
    }
}

#[test]
fn our_policy_grants_what_the_cdk_grants_unless_a_difference_is_explained() {
    let mut failures = Vec::new();
    for case in cases() {
        let asl = read(reference_dir().join(format!("{case}.asl.json")));
        let cdk = read(reference_dir().join(format!("{case}.cdk-policy.json")));
        let cdk_statements = cdk["Statement"].as_array().cloned().unwrap_or_default();
        let derived = iam::derive(&asl, &ctx(&case)).unwrap();
        let ours: Vec<Value> = derived
            .statements
            .iter()
            .map(|s| s.statement.to_json())
            .collect();
        let our_pairs = pairs(&ours);
        for (action, resource) in pairs(&cdk_statements) {
            if excused(&case, &action, &resource) {
                continue;
            }
            if !covered(&our_pairs, &action, &resource) {
                failures.push(format!(
                    "{case}: CDK grants {action} on {resource}; we do not"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_more_star_statements_than_the_cdk_and_pass_role_is_always_conditioned() {
    let mut failures = Vec::new();
    for case in cases() {
        let asl = read(reference_dir().join(format!("{case}.asl.json")));
        let cdk = read(reference_dir().join(format!("{case}.cdk-policy.json")));
        let cdk_star = cdk["Statement"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|s| as_list(s.get("Resource")).iter().any(|r| r == "*"))
                    .count()
            })
            .unwrap_or(0);
        let derived = iam::derive(&asl, &ctx(&case)).unwrap();
        let our_star = derived
            .statements
            .iter()
            .filter(|s| s.statement.is_on_all_resources())
            .count();
        if our_star > cdk_star && !MORE_STAR_STATEMENTS.iter().any(|(c, _)| *c == case) {
            failures.push(format!(
                "{case}: {our_star} statements on \"*\", the CDK has {cdk_star}"
            ));
        }
        for s in &derived.statements {
            let st = &s.statement;
            assert!(
                !st.has_action_wildcard(),
                "{case}: wildcard action in {:?}",
                st.actions
            );
            if st.actions.iter().any(|a| a == "iam:PassRole") {
                let cond = st
                    .condition
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                assert!(
                    cond.contains("iam:PassedToService"),
                    "{case}: iam:PassRole without iam:PassedToService: {}",
                    st.to_json()
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_explained_differences_still_apply() {
    // A difference that no longer exists (we now grant the pair, or the CDK no longer does) is stale.
    let mut stale = Vec::new();
    for (case, action, resource, _) in DIFFERENCES {
        let cdk = read(reference_dir().join(format!("{case}.cdk-policy.json")));
        let cdk_pairs = pairs(cdk["Statement"].as_array().unwrap());
        let in_cdk = cdk_pairs
            .iter()
            .any(|(a, r)| a.eq_ignore_ascii_case(action) && resource.is_none_or(|x| x == r));
        let asl = read(reference_dir().join(format!("{case}.asl.json")));
        let ours: Vec<Value> = iam::derive(&asl, &ctx(case))
            .unwrap()
            .statements
            .iter()
            .map(|s| s.statement.to_json())
            .collect();
        let our_pairs = pairs(&ours);
        let all_covered = cdk_pairs
            .iter()
            .filter(|(a, r)| a.eq_ignore_ascii_case(action) && resource.is_none_or(|x| x == r))
            .all(|(a, r)| covered(&our_pairs, a, r));
        if !in_cdk || all_covered {
            stale.push(format!("{case} {action} {resource:?}"));
        }
    }
    assert!(stale.is_empty(), "stale differences: {stale:?}");
}

#[test]
fn the_activity_machine_needs_no_policy_at_all() {
    let asl = read(reference_dir().join("sfn-activity.asl.json"));
    let derived = iam::derive(&asl, &ctx("sfn-activity")).unwrap();
    assert!(derived.statements.is_empty());
    assert!(derived.documents().is_empty());
}
