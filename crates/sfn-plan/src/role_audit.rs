//! The audit of a bring-your-own role (`spec.roleArn`): which permissions the definition needs that the
//! role's policy documents do not allow. Pure; the AWS layer reads the documents, the controller caches and
//! reports the result.
//!
//! Only `Allow` statements are evaluated, with `Action` and `Resource` given as a string or a list and the
//! IAM wildcards `*` and `?` honoured (actions case-insensitively, as IAM compares them; resources
//! case-sensitively, as ARNs are). Deliberately not evaluated, so the audit is a hint rather than IAM's
//! verdict: `Deny` statements, `NotAction` / `NotResource` statements (skipped, they allow nothing here),
//! conditions (an `Allow` with a `Condition` counts as allowing), policy variables, permissions boundaries,
//! service control policies and resource policies. A needed permission whose resource is itself a pattern
//! (a widened statement) is covered only by a pattern that matches it literally, which errs on the side of
//! reporting it.

use serde_json::Value;
use sha2::{Digest, Sha256};

use sfn_api::{IamAudit, MAX_MISSING_PERMISSIONS, MissingPermission};
use sfn_iam::{DerivedPolicy, Effect};

/// Most entries of [`MissingPermission::needed_by`] kept.
const MAX_NEEDED_BY: usize = 10;

/// A role ARN that is not `arn:<partition>:iam::<account>:role/[<path>/]<name>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arn:?} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")]
pub struct RoleArnError {
    pub arn: String,
}

/// The parts of a role ARN the audit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleArn<'a> {
    pub account_id: &'a str,
    /// The role name, without its path: IAM's role APIs take the bare name.
    pub name: &'a str,
}

/// Splits a role ARN. The name is the last segment: `arn:aws:iam::123:role/team/app` is the role `app`
/// under the path `/team/`.
pub fn parse_role_arn(arn: &str) -> Result<RoleArn<'_>, RoleArnError> {
    let err = || RoleArnError {
        arn: arn.to_owned(),
    };
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account_id), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(err());
    };
    let path_and_name = resource.strip_prefix("role/").ok_or_else(err)?;
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    if partition.is_empty() || account_id.is_empty() || name.is_empty() {
        return Err(err());
    }
    Ok(RoleArn { account_id, name })
}

/// IAM's wildcard match: `*` any run of characters (none included), `?` exactly one.
fn wildcard_match(pattern: &[char], text: &[char]) -> bool {
    // Greedy with one backtrack point, linear enough for policy-sized strings.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let chars = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    wildcard_match(&chars(pattern), &chars(text))
}

/// A string or a list of strings; anything else yields nothing.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document (`Statement` is an object or a list).
fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// Whether an `Allow` statement of one of `documents` matches `action` on `resource` (see the module
/// documentation for what is not evaluated).
pub fn allows(documents: &[Value], action: &str, resource: &str) -> bool {
    documents.iter().flat_map(statements).any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("NotAction").is_none()
            && s.get("NotResource").is_none()
            && strings(s.get("Action"))
                .iter()
                .any(|a| matches(a, action, true))
            && strings(s.get("Resource"))
                .iter()
                .any(|r| matches(r, resource, false))
    })
}

/// One needed permission the role does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub action: String,
    pub resource: String,
    /// `state <name>`, `logging`, `tracing`, `encryption`: what needs it.
    pub needed_by: Vec<String>,
}

/// The short form of a derivation reason: `state Submit: lambda function …` → `state Submit`,
/// `logging to arn:…` → `logging`.
fn needed_by(reason: &str) -> String {
    if reason.starts_with("state ") {
        return reason
            .split_once(": ")
            .map_or(reason, |(head, _)| head)
            .to_owned();
    }
    if reason.starts_with("logging") {
        return "logging".to_owned();
    }
    reason.chars().take(256).collect()
}

/// Every (action, resource) of the needed `Allow` statements that `documents` do not allow, in the order of
/// the needed policy.
pub fn missing(needed: &DerivedPolicy, documents: &[Value]) -> Vec<Missing> {
    let mut out: Vec<Missing> = Vec::new();
    for explained in &needed.statements {
        let st = &explained.statement;
        if st.effect != Effect::Allow {
            continue;
        }
        let mut by: Vec<String> = Vec::new();
        for reason in &explained.reasons {
            let short = needed_by(reason);
            if !by.contains(&short) && by.len() < MAX_NEEDED_BY {
                by.push(short);
            }
        }
        for action in &st.actions {
            for resource in &st.resources {
                if allows(documents, action, resource) {
                    continue;
                }
                // The same pair can be needed by two statements (different conditions): listed once.
                match out
                    .iter_mut()
                    .find(|m| m.action == *action && m.resource == *resource)
                {
                    Some(m) => {
                        for b in &by {
                            if !m.needed_by.contains(b) && m.needed_by.len() < MAX_NEEDED_BY {
                                m.needed_by.push(b.clone());
                            }
                        }
                    }
                    None => out.push(Missing {
                        action: action.clone(),
                        resource: resource.clone(),
                        needed_by: by.clone(),
                    }),
                }
            }
        }
    }
    out
}

/// A stable digest of what the definition needs, for caching an audit: it changes with the definition and
/// with the spec fields that add permissions (logging, tracing, encryption).
pub fn fingerprint(needed: &DerivedPolicy) -> String {
    let rendered = needed.rendered_statements().join("\n");
    hex::encode(Sha256::digest(rendered.as_bytes()))
}

/// The `status.iam` of an audited role: the first [`MAX_MISSING_PERMISSIONS`] missing permissions and their
/// count.
pub fn audited(missing: &[Missing]) -> IamAudit {
    let message = match missing.len() {
        0 => "the role's policies allow every permission the definition needs".to_owned(),
        n => {
            let first = &missing[0];
            format!(
                "the role's policies do not allow {n} permission(s) the definition needs, e.g. {} on {}",
                first.action, first.resource
            )
        }
    };
    IamAudit {
        audited: true,
        missing: missing
            .iter()
            .take(MAX_MISSING_PERMISSIONS)
            .map(|m| MissingPermission {
                action: m.action.clone(),
                resource: m.resource.clone(),
                needed_by: m.needed_by.clone(),
            })
            .collect(),
        missing_count: u32::try_from(missing.len()).unwrap_or(u32::MAX),
        message,
    }
}

/// The `status.iam` of a role that could not be audited.
pub fn not_audited(reason: &str) -> IamAudit {
    IamAudit {
        audited: false,
        missing: Vec::new(),
        missing_count: 0,
        message: format!(
            "not audited: {}",
            reason.chars().take(4000).collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sfn_iam::{ExplainedStatement, Statement};

    fn needed(statements: &[(&[&str], &[&str], &str)]) -> DerivedPolicy {
        DerivedPolicy {
            statements: statements
                .iter()
                .map(|(a, r, why)| ExplainedStatement {
                    statement: Statement::allow(a.iter().copied(), r.iter().copied()),
                    reasons: vec![why.to_string()],
                })
                .collect(),
            warnings: Vec::new(),
            permissions_boundary: None,
        }
    }

    const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:submit";

    #[test]
    fn role_names_come_from_the_last_segment() {
        let arn = parse_role_arn("arn:aws:iam::123456789012:role/team/app/runner").unwrap();
        assert_eq!(arn.name, "runner");
        assert_eq!(arn.account_id, "123456789012");
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::1:role/r").unwrap().name,
            "r"
        );
        for bad in [
            "",
            "role/r",
            "arn:aws:iam::1:user/u",
            "arn:aws:iam::1:role/",
            "arn:aws:s3:::bucket",
            "arn:aws:iam:::role/r",
        ] {
            assert!(parse_role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(matches("*", "anything", false));
        assert!(matches("lambda:Invoke*", "lambda:InvokeFunction", false));
        assert!(matches(
            "lambda:?nvokeFunction",
            "lambda:InvokeFunction",
            false
        ));
        assert!(!matches(
            "lambda:?InvokeFunction",
            "lambda:InvokeFunction",
            false
        ));
        assert!(matches("a*b*c", "axxbyyc", false));
        assert!(!matches("a*b*c", "axxbyy", false));
        assert!(matches("arn:*:function:*", FN, false));
        assert!(!matches("arn:*:function:other*", FN, false));
        assert!(matches("", "", false));
        assert!(!matches("", "x", false));
    }

    #[test]
    fn actions_and_service_prefixes_are_case_insensitive_resources_are_not() {
        let docs = [
            json!({"Statement": {"Effect": "Allow", "Action": "LAMBDA:invokefunction", "Resource": FN}}),
        ];
        assert!(allows(&docs, "lambda:InvokeFunction", FN));
        assert!(!allows(&docs, "lambda:InvokeFunction", &FN.to_uppercase()));
    }

    #[test]
    fn lists_wildcards_and_several_documents_are_honoured() {
        let docs = [
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["sns:Publish", "lambda:Invoke*"], "Resource": ["arn:aws:sns:*", FN]},
            ]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "xray:*", "Resource": "*"}]}),
        ];
        assert!(allows(&docs, "lambda:InvokeFunction", FN));
        assert!(allows(&docs, "sns:Publish", "arn:aws:sns:us-east-1:1:t"));
        assert!(allows(&docs, "xray:PutTraceSegments", "*"));
        assert!(!allows(&docs, "sqs:SendMessage", "*"));
    }

    #[test]
    fn deny_not_action_and_not_resource_allow_nothing_conditions_allow() {
        let docs = [json!({"Statement": [
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"},
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}},
        ]})];
        assert!(!allows(&docs, "lambda:InvokeFunction", FN));
        assert!(!allows(&docs, "s3:GetObject", "arn:aws:s3:::b/k"));
        assert!(allows(&docs, "sns:Publish", "arn:aws:sns:us-east-1:1:t"));
        assert!(!allows(
            &[json!({"Statement": "nonsense"}), Value::Null],
            "a:b",
            "*"
        ));
    }

    #[test]
    fn a_missing_action_and_a_missing_resource_are_reported_with_their_states() {
        let policy = needed(&[
            (
                &["lambda:InvokeFunction"],
                &[
                    FN,
                    "arn:aws:lambda:us-east-1:123456789012:function:submit:*",
                ],
                "state Submit: lambda function submit",
            ),
            (
                &["sns:Publish"],
                &["arn:aws:sns:us-east-1:123456789012:done"],
                "state Notify: sns:publish",
            ),
            (
                &["logs:CreateLogDelivery"],
                &["*"],
                "logging to arn:aws:logs:x",
            ),
        ]);
        // The function, not its versions; SNS not at all.
        let docs = [json!({"Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FN},
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
        ]})];
        let missing = missing(&policy, &docs);
        assert_eq!(
            missing,
            vec![
                Missing {
                    action: "lambda:InvokeFunction".into(),
                    resource: format!("{FN}:*"),
                    needed_by: vec!["state Submit".into()],
                },
                Missing {
                    action: "sns:Publish".into(),
                    resource: "arn:aws:sns:us-east-1:123456789012:done".into(),
                    needed_by: vec!["state Notify".into()],
                },
            ]
        );
        let status = audited(&missing);
        assert!(status.audited);
        assert_eq!(status.missing_count, 2);
        assert!(
            status.message.contains("2 permission(s)"),
            "{}",
            status.message
        );
        assert_eq!(needed_by("logging to arn:aws:logs:x"), "logging");
    }

    #[test]
    fn the_status_is_bounded_and_not_audited_says_why() {
        let many: Vec<Missing> = (0..50)
            .map(|i| Missing {
                action: format!("s3:Get{i}"),
                resource: "*".into(),
                needed_by: vec![],
            })
            .collect();
        let status = audited(&many);
        assert_eq!(status.missing.len(), MAX_MISSING_PERMISSIONS);
        assert_eq!(status.missing_count, 50);
        assert!(audited(&[]).missing.is_empty());
        let not = not_audited("role in account 999, the operator's is 123");
        assert!(!not.audited);
        assert_eq!(
            not.message,
            "not audited: role in account 999, the operator's is 123"
        );
    }

    #[test]
    fn the_fingerprint_follows_the_needed_statements() {
        let a = needed(&[(&["sns:Publish"], &["arn:a"], "state A: x")]);
        let b = needed(&[(&["sns:Publish"], &["arn:b"], "state A: x")]);
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
