//! `plan`: compile manifests offline and print, for every StateMachine, everything the operator
//! would create for it: the ASL, the execution role (trust policy, permissions policies and why each statement is
//! there, widening warnings) and the CloudWatch alarms. (`sfn-operator plan --live` compares that with the AWS account.)
//!
//! References among the objects read are resolved the way the operator resolves them in a namespace;
//! Activities and StateMachines have no ARN offline, so they get the ARN they would have in the account and
//! region given on the command line (placeholders by default). AWS names come from [`sfn_api::naming`], the same
//! functions the controller uses, so the names printed here are the names `apply` creates.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use sfn_alarms::AlarmSpec;
use sfn_api::StateMachine;
use sfn_api::manifest::{self, Bundle};
use sfn_api::naming;
pub use sfn_asl::bundle::{compile_in_bundle, namespace_of, offline_resolver};
use sfn_asl::model::{ChoiceTest, Definition, StateKind};
use sfn_asl::{self as asl, condition};
use sfn_iam::{self as iam, DerivedPolicy};

pub use sfn_plan::desired::task_hints;
use sfn_plan::desired::{self, DesiredError};

/// Account used for ARNs of objects that do not exist in AWS yet.
pub const PLACEHOLDER_ACCOUNT: &str = "123456789012";
/// Region used for ARNs of objects that do not exist in AWS yet.
pub const PLACEHOLDER_REGION: &str = "us-east-1";

/// Output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// The compiled ASL of each StateMachine, pretty-printed, under a `# StateMachine ns/name` header.
    #[default]
    Text,
    /// One JSON document per line and object: `{"kind","namespace","name","awsName","asl","trustPolicy",
    /// "policies","explanations","warnings","alarms"}` (or `"errors"`).
    Json,
}

/// Compile manifests offline and print the ASL, IAM policies and alarms each StateMachine needs.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (multi-document YAML, JSON, raw `NAME.asl.json`).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// AWS account for the ARNs of Activities and StateMachines referenced by the manifests.
    #[arg(long, default_value = PLACEHOLDER_ACCOUNT)]
    pub account_id: String,
    /// AWS region for those ARNs.
    #[arg(long, default_value = PLACEHOLDER_REGION)]
    pub region: String,
    /// Also draw each machine as a Mermaid flowchart (as `sfn graph` does): a `# Graph` section in text output,
    /// a `graph` field in JSON.
    #[arg(long)]
    pub graph: bool,
}

/// The JSONPath Choice rules of a definition printed back as condition expressions, one line per rule, so
/// a reviewer reads `$.status == "FAILED" -> Job Failed` rather than the rule object.
pub fn choice_summary(def: &Definition) -> Vec<String> {
    let mut lines = Vec::new();
    for (state, s) in def.all_states() {
        let StateKind::Choice(c) = &s.kind else {
            continue;
        };
        for (i, b) in c.choices.iter().enumerate() {
            let text = match &b.test {
                ChoiceTest::Rule(r) => condition::print(&r.to_json())
                    .unwrap_or_else(|e| format!("(not printable: {e})")),
                ChoiceTest::Condition(c) => c.clone(),
            };
            lines.push(format!("{state:?} rule {}: {text} -> {}", i + 1, b.next));
        }
        if let Some(d) = &c.default {
            lines.push(format!("{state:?} default -> {d}"));
        }
    }
    lines
}

/// The execution role of a planned StateMachine.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedRole {
    /// `spec.roleArn`: used as is; `needed` is what the definition needs from it.
    BringYourOwn { arn: String, needed: DerivedPolicy },
    /// Created and owned by the operator.
    Managed {
        name: String,
        trust_policy: Value,
        policy: DerivedPolicy,
    },
}

impl PlannedRole {
    fn policy(&self) -> &DerivedPolicy {
        match self {
            PlannedRole::BringYourOwn { needed, .. } => needed,
            PlannedRole::Managed { policy, .. } => policy,
        }
    }
}

/// Everything `plan` shows for one StateMachine.
#[derive(Debug, Clone)]
pub struct MachinePlan {
    /// AWS name of the state machine.
    pub aws_name: String,
    pub state_machine_arn: String,
    pub compiled: asl::Compiled,
    pub role: PlannedRole,
    pub alarms: Vec<AlarmSpec>,
}

/// The settings a plan is made with: placeholders for the account and region unless given.
pub fn settings(account: &str, region: &str) -> desired::Settings {
    desired::Settings {
        partition: naming::partition_of(region).to_owned(),
        region: region.to_owned(),
        account_id: account.to_owned(),
        default_deletion_policy: sfn_plan::DeletionPolicy::Delete,
        default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
        guardrails: Default::default(),
    }
}

/// Why an object was refused: the status reason the operator would set (`InvalidSpec` or
/// `ReferenceNotFound`) and one message per problem, each naming the object.
pub type Refusal = (&'static str, Vec<String>);

/// A [`DesiredError`] as `plan` and `validate` print it: every line names the object.
pub fn refusal(object: &str, err: &DesiredError) -> Refusal {
    let reason = match err {
        DesiredError::ReferenceNotFound(_) => sfn_api::reasons::REFERENCE_NOT_FOUND,
        DesiredError::InvalidDefinition(_) | DesiredError::InvalidSpec(_) => {
            sfn_api::reasons::INVALID_SPEC
        }
    };
    let prefix = format!("{object}: ");
    let lines = err
        .to_string()
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                l.to_owned()
            } else {
                format!("{prefix}{l}")
            }
        })
        .collect();
    (reason, lines)
}

/// Builds one StateMachine of a bundle exactly as the operator does ([`desired::build`]), with its references
/// resolved among the objects of its namespace: the same checks in the same order.
pub fn build_in_bundle(
    sm: &StateMachine,
    bundle: &Bundle,
    account: &str,
    region: &str,
) -> Result<desired::Built, DesiredError> {
    let resolver = offline_resolver(bundle, &namespace_of(&sm.metadata), account, region);
    desired::build(sm, &resolver, &settings(account, region))
}

/// Plans one StateMachine of a bundle: [`build_in_bundle`], then the view `plan` prints. Errors are messages
/// naming the object (and the state and field when there is one).
pub fn plan_machine(
    sm: &StateMachine,
    bundle: &Bundle,
    account: &str,
    region: &str,
) -> Result<MachinePlan, Refusal> {
    let object = format!(
        "StateMachine {}/{}",
        namespace_of(&sm.metadata),
        sm.metadata.name.as_deref().unwrap_or_default()
    );
    build_in_bundle(sm, bundle, account, region)
        .map(MachinePlan::from)
        .map_err(|e| refusal(&object, &e))
}

impl From<desired::Built> for MachinePlan {
    fn from(built: desired::Built) -> Self {
        let desired::Built {
            desired,
            diagnostics,
            model,
            policy,
            state_machine_arn,
            ..
        } = built;
        let role = match desired.role {
            sfn_plan::DesiredRole::External { arn } => PlannedRole::BringYourOwn {
                arn,
                needed: policy,
            },
            sfn_plan::DesiredRole::Managed(role) => PlannedRole::Managed {
                name: role.name,
                trust_policy: role.trust_policy,
                policy,
            },
        };
        MachinePlan {
            aws_name: desired.name,
            state_machine_arn,
            compiled: asl::Compiled {
                definition: model,
                json: desired.definition,
                warnings: diagnostics,
            },
            role,
            alarms: desired.alarms,
        }
    }
}

/// One line describing an alarm: what it watches and when it fires.
pub fn alarm_summary(a: &AlarmSpec) -> String {
    let op = match a.comparison_operator.as_str() {
        "GreaterThanOrEqualToThreshold" => ">=",
        "GreaterThanThreshold" => ">",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        other => other,
    };
    let dims: Vec<String> = a
        .dimensions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let periods = match a.datapoints_to_alarm {
        Some(d) if d != a.evaluation_periods => format!("{d} of {} periods", a.evaluation_periods),
        _ if a.evaluation_periods == 1 => "1 period".to_owned(),
        _ => format!("{} periods", a.evaluation_periods),
    };
    format!(
        "{} {op} {} over {}s for {periods} ({} {} [{}], missing data: {})",
        a.statistic,
        a.threshold,
        a.period,
        a.namespace,
        a.metric_name,
        dims.join(", "),
        a.treat_missing_data
    )
}

fn actions_line(label: &str, actions: &[String]) -> Option<String> {
    (!actions.is_empty()).then(|| format!("{label}: {}", actions.join(", ")))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The text report of one planned StateMachine. Every line that is not JSON starts with `#`, so the JSON
/// blocks (ASL, trust policy, permissions policies) stay easy to cut out.
pub fn render_text(ns: &str, name: &str, p: &MachinePlan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "# StateMachine {ns}/{name}");
    let _ = writeln!(out, "# AWS name: {} ({})", p.aws_name, p.state_machine_arn);
    let _ = writeln!(out, "{}", pretty(&p.compiled.json));
    let rules = choice_summary(&p.compiled.definition);
    if !rules.is_empty() {
        let _ = writeln!(out, "#");
        let _ = writeln!(out, "# Choice rules:");
        for line in rules {
            let _ = writeln!(out, "# {line}");
        }
    }
    let _ = writeln!(out, "#");
    let policy = p.role.policy();
    match &p.role {
        PlannedRole::BringYourOwn { arn, needed } => {
            let mut actions: Vec<&str> = needed
                .statements
                .iter()
                .flat_map(|s| s.statement.actions.iter().map(String::as_str))
                .collect();
            actions.sort_unstable();
            actions.dedup();
            let needs = if actions.is_empty() {
                "nothing".to_owned()
            } else {
                actions.join(", ")
            };
            let _ = writeln!(out, "# Role: bring your own {arn} (needs: {needs})");
        }
        PlannedRole::Managed {
            name,
            trust_policy,
            policy,
        } => {
            let _ = writeln!(
                out,
                "# Role: {name} (created under IAM path {})",
                naming::ROLE_PATH
            );
            if let Some(b) = &policy.permissions_boundary {
                let _ = writeln!(out, "# Permissions boundary: {b}");
            }
            let _ = writeln!(out, "# Trust policy:");
            let _ = writeln!(out, "{}", pretty(trust_policy));
            if policy.fits_inline() {
                let docs = policy.documents();
                if docs.is_empty() {
                    let _ = writeln!(out, "# Permissions policy: none needed");
                }
                for (doc_name, doc) in &docs {
                    let _ = writeln!(
                        out,
                        "# Permissions policy {doc_name} ({} of {} characters):",
                        iam::policy_size(doc),
                        iam::INLINE_ROLE_POLICY_LIMIT
                    );
                    let _ = writeln!(out, "{}", pretty(doc));
                }
            } else {
                let _ = writeln!(
                    out,
                    "# The permissions exceed IAM's {} characters of inline policies per role: they go into customer managed policies under {}",
                    iam::INLINE_ROLE_POLICY_LIMIT,
                    naming::ROLE_PATH
                );
                for (doc_name, doc) in managed_documents(name, policy) {
                    let _ = writeln!(
                        out,
                        "# Managed policy {doc_name} ({} of {} characters):",
                        iam::policy_size(&doc),
                        iam::MANAGED_POLICY_LIMIT
                    );
                    let _ = writeln!(out, "{}", pretty(&doc));
                }
            }
        }
    }
    if !policy.statements.is_empty() {
        let _ = writeln!(out, "# Why each statement:");
        for line in policy.explain().lines() {
            // Warnings and the boundary get their own sections.
            if line.starts_with("warning: ") || line.starts_with("permissions boundary: ") {
                continue;
            }
            let _ = writeln!(out, "#   {line}");
        }
    }
    let warnings = plan_warnings(p);
    if !warnings.is_empty() {
        let _ = writeln!(out, "# Warnings:");
        for w in warnings {
            let _ = writeln!(out, "#   {w}");
        }
    }
    let _ = writeln!(out, "#");
    if p.alarms.is_empty() {
        let _ = writeln!(out, "# Alarms: none");
    } else {
        let _ = writeln!(out, "# Alarms ({}):", p.alarms.len());
    }
    for a in &p.alarms {
        let _ = writeln!(out, "#   {}", a.name);
        let _ = writeln!(out, "#     {}", alarm_summary(a));
        for line in [
            actions_line("alarm actions", &a.alarm_actions),
            actions_line("ok actions", &a.ok_actions),
            actions_line("insufficient data actions", &a.insufficient_data_actions),
        ]
        .into_iter()
        .flatten()
        {
            let _ = writeln!(out, "#     {line}");
        }
    }
    out
}

/// The customer managed policies the operator creates for a role whose policy does not fit inline, by the
/// names it gives them.
fn managed_documents(role_name: &str, policy: &DerivedPolicy) -> Vec<(String, Value)> {
    policy
        .managed_documents()
        .into_iter()
        .enumerate()
        .map(|(i, (_, doc))| (naming::managed_policy_name(role_name, i), doc))
        .collect()
}

/// Everything a plan warns about: the definition's warnings (with their codes), then the policy's widenings.
pub fn plan_warnings(p: &MachinePlan) -> Vec<String> {
    p.compiled
        .warnings
        .iter()
        .map(asl::Diagnostic::coded)
        .chain(policy_warnings(p.role.policy()))
        .collect()
}

/// The widening warnings of a policy, each naming the state that caused it.
pub fn policy_warnings(policy: &DerivedPolicy) -> Vec<String> {
    policy
        .warnings
        .iter()
        .map(|w| {
            if w.state.is_empty() {
                w.message.clone()
            } else {
                format!("state {:?}: {}", w.state, w.message)
            }
        })
        .collect()
}

/// The machine-readable form of one planned StateMachine (the keys beside `kind`, `namespace` and `name`).
pub fn render_json(p: &MachinePlan, doc: &mut Value) {
    let policy = p.role.policy();
    doc["awsName"] = json!(p.aws_name);
    doc["stateMachineArn"] = json!(p.state_machine_arn);
    doc["asl"] = p.compiled.json.clone();
    match &p.role {
        PlannedRole::BringYourOwn { arn, .. } => {
            doc["roleArn"] = json!(arn);
            doc["trustPolicy"] = Value::Null;
        }
        PlannedRole::Managed {
            name, trust_policy, ..
        } => {
            doc["roleName"] = json!(name);
            doc["trustPolicy"] = trust_policy.clone();
        }
    }
    if let Some(b) = &policy.permissions_boundary {
        doc["permissionsBoundary"] = json!(b);
    }
    // For a role the user brings, these are the documents it needs, not documents the operator writes.
    match &p.role {
        PlannedRole::Managed { name, .. } if !policy.fits_inline() => {
            doc["policies"] = json!({});
            doc["managedPolicies"] =
                Value::Object(managed_documents(name, policy).into_iter().collect());
        }
        _ => doc["policies"] = Value::Object(policy.documents().into_iter().collect()),
    }
    doc["explanations"] = Value::Array(
        policy
            .statements
            .iter()
            .map(|s| json!({"statement": s.statement.to_json(), "reasons": s.reasons}))
            .collect(),
    );
    doc["warnings"] = json!(plan_warnings(p));
    doc["diagnostics"] = json!(p.compiled.warnings);
    doc["alarms"] = serde_json::to_value(&p.alarms).unwrap_or(Value::Null);
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bundle = manifest::load_paths(&args.files).context("reading manifests")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let mut first = true;
    for sm in &bundle.state_machines {
        let ns = namespace_of(&sm.metadata);
        let name = sm.metadata.name.clone().unwrap_or_default();
        let result = plan_machine(sm, &bundle, &args.account_id, &args.region);
        match (args.output, result) {
            (Output::Text, Ok(p)) => {
                if !first {
                    writeln!(out)?;
                }
                first = false;
                write!(out, "{}", render_text(&ns, &name, &p))?;
                if args.graph {
                    writeln!(out, "#")?;
                    writeln!(out, "# Graph (Mermaid):")?;
                    for line in asl::graph::mermaid(&p.compiled.definition).lines() {
                        writeln!(out, "#   {line}")?;
                    }
                }
            }
            (Output::Text, Err((_, messages))) => {
                failed = true;
                for line in messages {
                    eprintln!("{line}");
                }
            }
            (Output::Json, result) => {
                let mut doc = json!({"kind": "StateMachine", "namespace": ns, "name": name});
                match result {
                    Ok(p) => {
                        render_json(&p, &mut doc);
                        if args.graph {
                            doc["graph"] = json!(asl::graph::mermaid(&p.compiled.definition));
                        }
                    }
                    Err((reason, messages)) => {
                        failed = true;
                        doc["reason"] = Value::String(reason.to_owned());
                        doc["errors"] = json!(messages);
                    }
                }
                writeln!(out, "{}", serde_json::to_string(&doc)?)?;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine of `tasks` Lambda tasks on distinct functions.
    fn lambda_chain(tasks: usize) -> StateMachine {
        let states: Vec<Value> = (0..tasks)
            .map(|i| {
                let mut state = json!({
                    "name": format!("Step {i}"),
                    "type": "Task",
                    "resource": format!(
                        "arn:aws:lambda:us-east-1:123456789012:function:a-rather-long-function-name-{i}"
                    ),
                });
                if i + 1 < tasks {
                    state["next"] = json!(format!("Step {}", i + 1));
                } else {
                    state["end"] = json!(true);
                }
                state
            })
            .collect();
        serde_json::from_value(json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "chain", "namespace": "big"},
            "spec": {"definition": {"states": states}},
        }))
        .unwrap()
    }

    #[test]
    fn a_policy_past_the_inline_quota_is_shown_as_the_managed_policies_written() {
        let sm = lambda_chain(150);
        let p = plan_machine(&sm, &Bundle::default(), "123456789012", "us-east-1").unwrap();
        let text = render_text("big", "chain", &p);
        assert!(
            text.contains("# Managed policy big-chain-use1-policy-0 ("),
            "{text}"
        );
        assert!(
            text.contains("# Managed policy big-chain-use1-policy-1 ("),
            "{text}"
        );
        assert!(!text.contains("# Permissions policy "), "{text}");
        let mut doc = json!({});
        render_json(&p, &mut doc);
        assert_eq!(doc["policies"], json!({}));
        let managed = doc["managedPolicies"].as_object().unwrap();
        assert!(
            managed.contains_key("big-chain-use1-policy-0"),
            "{managed:?}"
        );
        assert!(
            managed
                .values()
                .all(|d| iam::policy_size(d) <= iam::MANAGED_POLICY_LIMIT)
        );

        // A small machine still shows its inline policy.
        let p = plan_machine(
            &lambda_chain(2),
            &Bundle::default(),
            "123456789012",
            "us-east-1",
        )
        .unwrap();
        let text = render_text("big", "chain", &p);
        assert!(text.contains("# Permissions policy "), "{text}");
        assert!(!text.contains("# Managed policy"), "{text}");
        let mut doc = json!({});
        render_json(&p, &mut doc);
        assert!(doc.get("managedPolicies").is_none());
    }
}
