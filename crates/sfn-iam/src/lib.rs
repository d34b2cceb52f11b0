//! Least-privilege IAM for a state machine role, derived from the compiled ASL. Pure.
//!
//! The derivation works on the compiled definition as JSON rather than on the typed API, so a definition given
//! as `definitionJson` gets exactly the same treatment as a typed one. Every Task state (nested ones included)
//! is mapped through the integration [`catalogue`] to grants on exact ARNs; a target chosen at run time widens
//! only its own statement, to the narrowest ARN pattern that covers it, and leaves a [`Widening`] naming the
//! state. The extras a role needs for the spec (log delivery, X-Ray, KMS) come from the [`RoleContext`].
//!
//! Output is deterministic: grants are merged and sorted so that the same input always renders to
//! byte-identical documents, which is what lets the controller detect drift without false positives.

pub mod catalogue;

mod arn;
mod context;
mod diagnostics;
mod params;
pub mod policy;
mod walk;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use arn::is_lambda_qualifier;
pub use catalogue::Pattern;
pub use context::{LoggingCtx, RoleContext, TaskHints};
pub use diagnostics::{IamError, Widening};
pub use policy::{
    Condition, Effect, INLINE_ROLE_POLICY_LIMIT, MANAGED_POLICY_LIMIT, POLICY_VERSION, Statement,
    policy_size,
};

use policy::Grant;

/// A statement of the derived policy with the reasons it is there (e.g. `state Submit Job: lambda:invoke`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedStatement {
    pub statement: Statement,
    pub reasons: Vec<String>,
}

/// The permissions policy of a state machine role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedPolicy {
    /// Derived statements (merged, sorted), then the extra statements in spec order.
    pub statements: Vec<ExplainedStatement>,
    pub warnings: Vec<Widening>,
    /// Permissions boundary ARN to set on the role.
    pub permissions_boundary: Option<String>,
}

/// Prefix of the inline policy names the operator owns on a role.
pub const POLICY_NAME_PREFIX: &str = "sfn-operator";

impl DerivedPolicy {
    /// The plain statements, in order.
    pub fn plain_statements(&self) -> Vec<Statement> {
        self.statements
            .iter()
            .map(|s| s.statement.clone())
            .collect()
    }

    /// The whole policy as one document (for display and size checks).
    pub fn document(&self) -> Value {
        let st = self.plain_statements();
        policy::document(&st.iter().collect::<Vec<_>>())
    }

    /// Inline policy documents named `sfn-operator-1`, `sfn-operator-2`, ..., each at most
    /// [`INLINE_ROLE_POLICY_LIMIT`] characters (minified, white space excluded). Empty when the role needs no
    /// permission at all (a state machine of Activity tasks only).
    ///
    /// Note: IAM applies the 10,240-character quota to the SUM of a role's inline policies, so splitting keeps each
    /// `PutRolePolicy` call valid but does not lift that quota; when [`Self::fits_inline`] is false the policy must
    /// go into customer managed policies instead ([`Self::managed_documents`]).
    pub fn documents(&self) -> Vec<(String, Value)> {
        self.documents_with_limit(INLINE_ROLE_POLICY_LIMIT)
    }

    /// Documents of at most [`MANAGED_POLICY_LIMIT`] characters each, for attaching as customer managed policies.
    pub fn managed_documents(&self) -> Vec<(String, Value)> {
        self.documents_with_limit(MANAGED_POLICY_LIMIT)
    }

    /// Documents of at most `limit` characters each, named deterministically.
    pub fn documents_with_limit(&self, limit: usize) -> Vec<(String, Value)> {
        let st = self.plain_statements();
        if st.is_empty() {
            return Vec::new();
        }
        policy::split(&st, limit)
            .into_iter()
            .enumerate()
            .map(|(i, d)| (format!("{POLICY_NAME_PREFIX}-{}", i + 1), d))
            .collect()
    }

    /// Each statement as minified JSON (for a TaskIntegration's `status.iamStatements`).
    pub fn rendered_statements(&self) -> Vec<String> {
        self.statements
            .iter()
            .map(|s| s.statement.to_json().to_string())
            .collect()
    }

    /// A human-readable account of the policy for `sfn-operator plan`: every statement with the states that
    /// need it, then the widening warnings and the permissions boundary.
    pub fn explain(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        if self.statements.is_empty() {
            out.push_str("no permissions needed\n");
        }
        for (i, s) in self.statements.iter().enumerate() {
            let st = &s.statement;
            let _ = writeln!(
                out,
                "{}. {} {} on {}",
                i + 1,
                st.effect.as_str(),
                st.actions.join(", "),
                st.resources.join(", ")
            );
            if let Some(c) = &st.condition {
                let _ = writeln!(out, "   when {c}");
            }
            for r in &s.reasons {
                let _ = writeln!(out, "   because {r}");
            }
        }
        for w in &self.warnings {
            let who = if w.state.is_empty() {
                String::new()
            } else {
                format!("state {}: ", w.state)
            };
            let _ = writeln!(out, "warning: {who}{}", w.message);
        }
        if let Some(b) = &self.permissions_boundary {
            let _ = writeln!(out, "permissions boundary: {b}");
        }
        out
    }

    /// Whether all inline documents together stay within IAM's per-role inline quota.
    pub fn fits_inline(&self) -> bool {
        self.documents()
            .iter()
            .map(|(_, d)| policy_size(d))
            .sum::<usize>()
            <= INLINE_ROLE_POLICY_LIMIT
    }
}

/// Derives the permissions policy for the compiled definition `asl` and the role context.
pub fn derive(asl: &Value, ctx: &RoleContext) -> Result<DerivedPolicy, IamError> {
    let mut grants: Vec<Grant> = Vec::new();
    let mut warnings: Vec<Widening> = Vec::new();
    walk::walk(asl, ctx, &mut grants, &mut warnings)?;
    extras(ctx, &mut grants, &mut warnings);
    Ok(assemble(&grants, warnings, ctx))
}

/// Derives the statements one Task state needs on its own (for a TaskIntegration's `status.iamStatements`).
/// `task` is the state's ASL object (at least `Type` and `Resource`).
pub fn derive_task(
    state_name: &str,
    task: &Value,
    ctx: &RoleContext,
) -> Result<DerivedPolicy, IamError> {
    let mut grants = Vec::new();
    let mut warnings = Vec::new();
    catalogue::task_grants(state_name, task, ctx, &mut grants, &mut warnings)?;
    let mut ctx = ctx.clone();
    ctx.extra_statements.clear();
    Ok(assemble(&grants, warnings, &ctx))
}

fn assemble(grants: &[Grant], mut warnings: Vec<Widening>, ctx: &RoleContext) -> DerivedPolicy {
    let mut statements: Vec<ExplainedStatement> = policy::merge(grants)
        .into_iter()
        .map(|m| ExplainedStatement {
            statement: m.statement,
            reasons: m.reasons,
        })
        .collect();
    for (i, s) in ctx.extra_statements.iter().enumerate() {
        statements.push(ExplainedStatement {
            statement: s.clone(),
            reasons: vec![format!("spec.role.extraStatements[{i}]")],
        });
    }
    warnings.sort();
    warnings.dedup();
    DerivedPolicy {
        statements,
        warnings,
        permissions_boundary: ctx.permissions_boundary.clone(),
    }
}

/// Log delivery, X-Ray and KMS, as the Step Functions developer guide documents them.
fn extras(ctx: &RoleContext, grants: &mut Vec<Grant>, warnings: &mut Vec<Widening>) {
    let scope = ctx.scope();
    if let Some(logging) = &ctx.logging {
        // "IAM policies for logging to CloudWatch Logs" (Step Functions developer guide, cw-logs.html):
        // the log delivery APIs do not support resource-level permissions, so they are granted on "*".
        let reason = match &logging.log_group_arn {
            Some(g) => format!("logging to {g}"),
            None => "logging".to_string(),
        };
        grants.push(Grant::new(
            [
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
            ],
            ["*"],
            reason,
        ));
    }
    if ctx.tracing {
        // "Trace Step Functions request data in AWS X-Ray" (concepts-xray-tracing.html): the role needs these
        // four actions; X-Ray has no resource-level permissions for them.
        grants.push(Grant::new(
            [
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ],
            ["*"],
            "tracing",
        ));
    }
    if let Some(key) = &ctx.kms_key_arn {
        // "Data at rest encryption in Step Functions" (encryption-at-rest.html): the execution role needs
        // kms:Decrypt and kms:GenerateDataKey on the key, limited by the encryption context Step Functions sends.
        let sm_arn = ctx.state_machine_arn();
        let (resource, alias) = if key.starts_with("arn:") {
            let is_alias = arn::Arn::parse(key).is_some_and(|a| a.resource.starts_with("alias/"));
            if is_alias {
                let name = key.rsplit_once(':').map(|(_, r)| r).unwrap_or(key);
                (scope.arn("kms", "key/*"), Some(name.to_string()))
            } else {
                (key.clone(), None)
            }
        } else if key.starts_with("alias/") {
            (scope.arn("kms", "key/*"), Some(key.clone()))
        } else {
            (scope.arn("kms", &format!("key/{key}")), None)
        };
        let mut g = Grant::new(
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [resource],
            "encryption",
        )
        .when(
            "StringEquals",
            "kms:EncryptionContext:aws:states:stateMachineArn",
            &[&sm_arn],
        );
        if let Some(alias) = alias {
            // An alias cannot be a policy resource; the key it points to is only known to KMS, so the grant covers
            // the region's keys but only through that alias.
            g = g.when(
                "ForAnyValue:StringEquals",
                "kms:ResourceAliases",
                &[alias.as_str()],
            );
            warnings.push(Widening {
                state: String::new(),
                message: format!(
                    "encryption: key {alias} is an alias; kms statements cover key/* in {} limited by kms:ResourceAliases (give the key ARN for an exact grant)",
                    ctx.region
                ),
            });
        }
        grants.push(g);
    }
}

/// The role's trust policy: `states.amazonaws.com` may assume it, only on behalf of `account_id`
/// (cross-service confused deputy prevention, "Creating an IAM role for your state machine",
/// procedure-create-iam-role.html).
pub fn trust_policy(account_id: &str) -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}
        }]
    })
}

/// [`trust_policy`] additionally limited with `aws:SourceArn` to the state machines of one region and account,
/// the stricter form the same page shows.
pub fn trust_policy_scoped(partition: &str, region: &str, account_id: &str) -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": format!("arn:{partition}:states:{region}:{account_id}:stateMachine:*")},
                "StringEquals": {"aws:SourceAccount": account_id}
            }
        }]
    })
}

/// IAM path of every role the operator creates, so that the operator's own permissions can be scoped to it.
pub const ROLE_PATH: &str = "/sfn-operator/";

/// IAM's limit on role names.
pub const MAX_ROLE_NAME: usize = 64;

/// The name of the role created for the state machine `state_machine_name` (its AWS name): the state machine name
/// itself when it fits IAM's 64 characters and character set, otherwise a prefix of it with a hash of the full
/// name, so the result is deterministic and distinct.
pub fn role_name(state_machine_name: &str) -> String {
    use sha2::{Digest, Sha256};
    // Role names allow alphanumerics and `+=,.@_-`; state machine names allow a few more (none of which IAM takes).
    let clean: String = state_machine_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean == state_machine_name && clean.len() <= MAX_ROLE_NAME && !clean.is_empty() {
        return clean;
    }
    let hash = hex::encode(Sha256::digest(state_machine_name.as_bytes()));
    let tail = format!("-{}", &hash[..8]);
    let keep: String = clean.chars().take(MAX_ROLE_NAME - tail.len()).collect();
    format!("{keep}{tail}")
}

/// Where the state machine's role comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// `spec.roleArn`: the operator uses the role as is and creates nothing. `needed` is what the definition
    /// needs, for display (the operator cannot see the role's policies from here).
    BringYourOwn {
        role_arn: String,
        needed: DerivedPolicy,
    },
    /// The operator creates and owns the role.
    Managed {
        role_name: String,
        path: &'static str,
        trust_policy: Value,
        policy: DerivedPolicy,
    },
}

/// Decides the role: an existing one (`spec.roleArn`) or one the operator creates with the derived policy.
pub fn role_source(
    role_arn: Option<&str>,
    asl: &Value,
    ctx: &RoleContext,
) -> Result<RoleSource, IamError> {
    let policy = derive(asl, ctx)?;
    Ok(match role_arn {
        Some(arn) => RoleSource::BringYourOwn {
            role_arn: arn.to_string(),
            needed: policy,
        },
        None => RoleSource::Managed {
            role_name: role_name(&ctx.state_machine_name),
            path: ROLE_PATH,
            trust_policy: trust_policy(&ctx.account_id),
            policy,
        },
    })
}
