//! `validate`: check manifests offline the way the operator would before touching AWS, print
//! every problem (object, state, field) and exit 1 when any object is invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::plan::{PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, compile_in_bundle, offline_resolver};
use sfn_api::manifest::{self, DEFAULT_NAMESPACE};
use sfn_asl::integration::{IntegrationError, resolve_task};

/// Validate manifests offline; exit non-zero when any object is invalid.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (multi-document YAML, JSON, raw `NAME.asl.json`).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Print nothing for valid objects.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bundle = match manifest::load_paths(&args.files) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut invalid = 0usize;
    for (kind, ns, name, err) in bundle.rule_violations() {
        invalid += 1;
        eprintln!("{kind} {ns}/{name}: {err}");
    }
    for ti in &bundle.task_integrations {
        let ns = ti
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let name = ti.metadata.name.clone().unwrap_or_default();
        let resolver = offline_resolver(&bundle, &ns, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION);
        match resolve_task(&ti.spec, &resolver) {
            Ok(_) => {
                if !args.quiet {
                    println!("valid: TaskIntegration {ns}/{name}");
                }
            }
            Err(e @ IntegrationError::ReferenceNotFound { .. })
            | Err(e @ IntegrationError::Invalid(_)) => {
                invalid += 1;
                eprintln!("TaskIntegration {ns}/{name}: {e}");
            }
        }
    }
    for sm in &bundle.state_machines {
        let ns = sm
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let name = sm.metadata.name.clone().unwrap_or_default();
        match compile_in_bundle(sm, &bundle, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION) {
            Ok(_) => {
                if !args.quiet {
                    println!("valid: StateMachine {ns}/{name}");
                }
            }
            Err(e) => {
                invalid += 1;
                for line in e.messages() {
                    eprintln!("StateMachine {ns}/{name}: {line}");
                }
            }
        }
    }
    if invalid > 0 {
        eprintln!("{invalid} invalid object(s)");
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
