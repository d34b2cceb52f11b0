//! `validate`: check manifests offline exactly as the operator checks them before touching AWS, print every
//! problem (object, state, field) and exit 1 when any object is invalid.
//!
//! Every object goes through the operator's own builders ([`desired::integration`], [`desired::activity`],
//! [`desired::build`] through [`build_in_bundle`]), so what passes here is what `plan`, `apply` and the controller
//! accept, in the same order of checks. Warnings (AWS accepts the definition, but it is probably not what was
//! meant) are printed and never change the exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use sfn_api::StateMachine;
use sfn_api::manifest::{self, Bundle};
use sfn_asl::Diagnostic;
use sfn_plan::DesiredMachine;
use sfn_plan::desired::{self, DesiredError};

use crate::plan::{
    PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, Refusal, build_in_bundle, namespace_of,
    offline_resolver, refusal, settings,
};

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// `valid: KIND ns/name` on stdout; errors and warnings on stderr, one per line.
    #[default]
    Text,
    /// One JSON document per line and object, for CI tools: `{"kind","namespace","name","valid","reason",
    /// "errors","diagnostics"}`, where `diagnostics` holds `{"severity","code","pointer","state","field",
    /// "message"}` for every error and warning the ASL validator found.
    Json,
}

/// Validate manifests offline; exit non-zero when any object is invalid.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (multi-document YAML, JSON, raw ASL).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Print nothing for valid objects.
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// The verdict on one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// `None` when valid; else the status reason and one message per problem.
    pub refusal: Option<Refusal>,
    /// The validator's diagnostics: the errors behind a refusal and every warning.
    pub diagnostics: Vec<Diagnostic>,
    /// Warnings that are not ASL diagnostics (IAM widenings), as messages.
    pub other_warnings: Vec<String>,
}

impl Verdict {
    /// Whether the object is valid.
    pub fn is_valid(&self) -> bool {
        self.refusal.is_none()
    }

    /// The verdict as one JSON document (the `-o json` line).
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "valid": self.is_valid(),
            "diagnostics": self.diagnostics,
            "warnings": self.other_warnings,
        });
        if let Some((reason, errors)) = &self.refusal {
            doc["reason"] = json!(reason);
            doc["errors"] = json!(errors);
        }
        doc
    }
}

fn verdict(
    kind: &'static str,
    meta: &sfn_api::ObjectMeta,
    result: Result<(Vec<Diagnostic>, Vec<String>), DesiredError>,
) -> Verdict {
    let namespace = namespace_of(meta);
    let name = meta.name.clone().unwrap_or_default();
    let object = format!("{kind} {namespace}/{name}");
    let (refusal, diagnostics, other_warnings) = match result {
        Ok((diags, warnings)) => (None, diags, warnings),
        Err(e) => {
            let diags = match &e {
                DesiredError::InvalidDefinition(invalid) => invalid.diagnostics.clone(),
                _ => Vec::new(),
            };
            (Some(refusal(&object, &e)), diags, Vec::new())
        }
    };
    Verdict {
        kind,
        namespace,
        name,
        refusal,
        diagnostics,
        other_warnings,
    }
}

/// The verdict on every object of a bundle, as the operator would reach it: TaskIntegrations, then Activities,
/// then StateMachines.
pub fn verdicts(bundle: &Bundle) -> Vec<Verdict> {
    check(bundle).0
}

/// [`verdicts`], and the desired state of every StateMachine that passed, for a caller that goes on with it
/// (`sfn-operator validate --aws` sends those definitions to AWS) without building them again.
pub fn check(bundle: &Bundle) -> (Vec<Verdict>, Vec<(&StateMachine, DesiredMachine)>) {
    let settings = settings(PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION);
    let mut out = Vec::new();
    let mut passed = Vec::new();
    for ti in &bundle.task_integrations {
        let resolver = offline_resolver(
            bundle,
            &namespace_of(&ti.metadata),
            PLACEHOLDER_ACCOUNT,
            PLACEHOLDER_REGION,
        );
        let result = desired::integration(ti, &resolver, &settings).map(|_| Default::default());
        out.push(verdict("TaskIntegration", &ti.metadata, result));
    }
    for act in &bundle.activities {
        let result = desired::activity(act, &settings).map(|_| Default::default());
        out.push(verdict("Activity", &act.metadata, result));
    }
    for sm in &bundle.state_machines {
        let result =
            build_in_bundle(sm, bundle, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION).map(|built| {
                passed.push((sm, built.desired));
                (built.diagnostics, built.other_warnings)
            });
        out.push(verdict("StateMachine", &sm.metadata, result));
    }
    (out, passed)
}

/// Prints the verdicts as `args` asks (text or JSON) and returns how many objects are invalid.
pub fn report(verdicts: &[Verdict], args: &Args) -> std::io::Result<usize> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let invalid = verdicts.iter().filter(|v| !v.is_valid()).count();
    for v in verdicts {
        if args.output == Output::Json {
            writeln!(out, "{}", v.to_json())?;
            continue;
        }
        let object = format!("{} {}/{}", v.kind, v.namespace, v.name);
        match &v.refusal {
            None if !args.quiet => writeln!(out, "valid: {object}")?,
            None => {}
            Some((_, errors)) => {
                for line in errors {
                    eprintln!("{line}");
                }
            }
        }
        for d in v.diagnostics.iter().filter(|d| !d.is_error()) {
            eprintln!("{object}: {}", d.labelled());
        }
        for w in &v.other_warnings {
            eprintln!("{object}: warning: {w}");
        }
    }
    Ok(invalid)
}

/// Reads the manifests named by `args`; a file that cannot be read is reported and counts as a failure.
pub fn load(args: &Args) -> Option<Bundle> {
    match manifest::load_paths(&args.files) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

/// The exit code for a number of invalid objects, with the closing line in text mode.
pub fn exit_code(invalid: usize, args: &Args) -> ExitCode {
    if invalid > 0 {
        if args.output == Output::Text {
            eprintln!("{invalid} invalid object(s)");
        }
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(bundle) = load(&args) else {
        return Ok(ExitCode::FAILURE);
    };
    let verdicts = verdicts(&bundle);
    let invalid = report(&verdicts, &args)?;
    // The process ends here: freeing a large bundle node by node would only cost time (a quarter of a
    // 1,000-state run), so the memory goes back with the process.
    std::mem::forget(verdicts);
    std::mem::forget(bundle);
    Ok(exit_code(invalid, &args))
}
