//! `sfn-operator validate`: the offline `validate` of `sfn`, plus `--aws`, which also asks AWS's
//! `ValidateStateMachineDefinition` about every StateMachine that passed offline.
//!
//! The AWS call is a second opinion and never a new way to fail: no credentials, no network, a missing
//! permission, throttling or an endpoint without the API each give one warning and leave the exit code to the
//! offline checks. Only an answer from AWS counts: `FAIL` makes the object invalid (AWS would refuse to create
//! it), and AWS's warnings are printed.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;
use sfn_aws::{AwsClients, AwsSettings, Validation, validate_definition};
use sfn_cli::validate::{self as offline, Output};

/// Validate manifests offline; exit non-zero when any object is invalid.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub offline: offline::Args,
    /// Also ask AWS (`ValidateStateMachineDefinition`, through the standard AWS environment) about every
    /// StateMachine that passes offline. When AWS cannot be asked, that is one warning, never a failure.
    #[arg(long)]
    pub aws: bool,
}

/// Runs the command.
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    if !args.aws {
        return offline::run(args.offline);
    }
    let Some(bundle) = offline::load(&args.offline) else {
        return Ok(ExitCode::FAILURE);
    };
    let (verdicts, machines) = offline::check(&bundle);
    let mut invalid = offline::report(&verdicts, &args.offline)?;

    if machines.is_empty() {
        return Ok(offline::exit_code(invalid, &args.offline));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let answers = runtime.block_on(async {
        let settings = AwsSettings {
            max_rate_wait: None,
            ..Default::default()
        };
        match AwsClients::from_env_with(settings).await {
            Ok(clients) => {
                let mut answers = Vec::new();
                for (sm, desired) in &machines {
                    let answer =
                        validate_definition(&clients, &desired.definition, desired.machine_type)
                            .await;
                    answers.push((*sm, answer));
                }
                Ok(answers)
            }
            Err(e) => Err(e.to_string()),
        }
    });
    let json = args.offline.output == Output::Json;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let answers = match answers {
        Ok(answers) => answers,
        Err(reason) => {
            let reason = format!("AWS validation skipped: {reason}");
            if json {
                writeln!(out, "{}", json!({"source": "aws", "skipped": reason}))?;
            } else {
                eprintln!("warning: {reason}");
            }
            return Ok(offline::exit_code(invalid, &args.offline));
        }
    };
    for (sm, answer) in answers {
        let ns = sfn_cli::plan::namespace_of(&sm.metadata);
        let name = sm.metadata.name.clone().unwrap_or_default();
        let object = format!("StateMachine {ns}/{name}");
        match answer {
            Validation::Checked(verdict) => {
                if !verdict.ok {
                    invalid += 1;
                }
                if json {
                    let diagnostics: Vec<_> = verdict
                        .diagnostics
                        .iter()
                        .map(|d| {
                            json!({"severity": d.severity.as_str(), "code": d.code,
                                   "location": d.location, "message": d.message})
                        })
                        .collect();
                    writeln!(
                        out,
                        "{}",
                        json!({"source": "aws", "kind": "StateMachine", "namespace": ns,
                               "name": name, "valid": verdict.ok, "diagnostics": diagnostics,
                               "truncated": verdict.truncated})
                    )?;
                } else {
                    for d in verdict.errors() {
                        eprintln!("{object}: AWS: error[{d}]");
                    }
                    for d in verdict.warnings() {
                        eprintln!("{object}: AWS: warning[{d}]");
                    }
                }
            }
            Validation::Unavailable { reason, .. } => {
                let reason = format!("AWS validation skipped: {reason}");
                if json {
                    writeln!(
                        out,
                        "{}",
                        json!({"source": "aws", "kind": "StateMachine", "namespace": ns,
                               "name": name, "skipped": reason})
                    )?;
                } else {
                    eprintln!("{object}: warning: {reason}");
                }
            }
        }
    }
    Ok(offline::exit_code(invalid, &args.offline))
}
