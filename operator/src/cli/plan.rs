//! `sfn-operator plan`: compile manifests offline and print the ASL of every StateMachine.
//!
//! References among the objects read are resolved the way the operator resolves them in a namespace;
//! Activities and StateMachines have no ARN offline, so they get the ARN they would have in the account and
//! region given on the command line (placeholders by default).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use crate::api::StateMachine;
use crate::asl::model::{ChoiceTest, Definition, StateKind};
use crate::asl::{self, MapResolver, condition};
use crate::manifest::{self, Bundle, DEFAULT_NAMESPACE};

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
    /// One JSON document per line and object: `{"kind","namespace","name","asl"}` (or `"errors"`).
    Json,
}

/// Arguments of `sfn-operator plan`.
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
}

fn namespace_of(meta: &kube::api::ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// The resolver for objects of `namespace` in `bundle`: their TaskIntegrations, and ARNs for their
/// Activities and StateMachines in `account`/`region` (AWS name: `spec.name`, else `<namespace>-<name>`).
pub fn offline_resolver(
    bundle: &Bundle,
    namespace: &str,
    account: &str,
    region: &str,
) -> MapResolver {
    let mut r = MapResolver::default();
    for ti in &bundle.task_integrations {
        if namespace_of(&ti.metadata) == namespace {
            r.task_integrations.insert(
                ti.metadata.name.clone().unwrap_or_default(),
                ti.spec.clone(),
            );
        }
    }
    for a in &bundle.activities {
        if namespace_of(&a.metadata) == namespace {
            let name = a.metadata.name.clone().unwrap_or_default();
            let aws = a
                .spec
                .name
                .clone()
                .unwrap_or_else(|| format!("{namespace}-{name}"));
            r.activity_arns.insert(
                name,
                format!("arn:aws:states:{region}:{account}:activity:{aws}"),
            );
        }
    }
    for sm in &bundle.state_machines {
        if namespace_of(&sm.metadata) == namespace {
            let name = sm.metadata.name.clone().unwrap_or_default();
            let aws = sm
                .spec
                .name
                .clone()
                .unwrap_or_else(|| format!("{namespace}-{name}"));
            r.state_machine_arns.insert(
                name,
                format!("arn:aws:states:{region}:{account}:stateMachine:{aws}"),
            );
        }
    }
    r
}

/// Compiles one StateMachine of a bundle against the other objects of its namespace.
pub fn compile_in_bundle(
    sm: &StateMachine,
    bundle: &Bundle,
    account: &str,
    region: &str,
) -> Result<asl::Compiled, asl::CompileErrors> {
    let resolver = offline_resolver(bundle, &namespace_of(&sm.metadata), account, region);
    asl::compile_state_machine(&sm.spec, &resolver)
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

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bundle = manifest::load_paths(&args.files).context("reading manifests")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for sm in &bundle.state_machines {
        let ns = namespace_of(&sm.metadata);
        let name = sm.metadata.name.clone().unwrap_or_default();
        let result = compile_in_bundle(sm, &bundle, &args.account_id, &args.region);
        match (args.output, result) {
            (Output::Text, Ok(c)) => {
                writeln!(out, "# StateMachine {ns}/{name}")?;
                writeln!(out, "{}", serde_json::to_string_pretty(&c.json)?)?;
                for line in choice_summary(&c.definition) {
                    writeln!(out, "# {line}")?;
                }
            }
            (Output::Text, Err(e)) => {
                failed = true;
                for line in e.messages() {
                    eprintln!("StateMachine {ns}/{name}: {line}");
                }
            }
            (Output::Json, result) => {
                let mut doc = json!({"kind": "StateMachine", "namespace": ns, "name": name});
                match result {
                    Ok(c) => doc["asl"] = c.json,
                    Err(e) => {
                        failed = true;
                        doc["reason"] = Value::String(e.reason().to_owned());
                        doc["errors"] = json!(e.messages());
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
