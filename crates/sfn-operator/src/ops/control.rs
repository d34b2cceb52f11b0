//! `stop` and `redrive`: end a running execution (`StopExecution`, with an optional error and cause), or
//! restart a failed, timed-out or aborted one from where it stopped (`RedriveExecution`).

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use sfn_aws::executions;

use super::output::{Format, OutputArgs, emit, machine_readable};
use super::target::{ClusterArgs, execution_arn, resolve, sfn_client};

/// Stop a running execution of a StateMachine.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// The StateMachine: NAMESPACE/NAME, or NAME in the `-n` (or the context's) namespace.
    pub machine: String,
    /// The execution: its name, or its full ARN.
    pub execution: String,
    /// Error code recorded with the abort.
    #[arg(long)]
    pub error: Option<String>,
    /// Cause recorded with the abort.
    #[arg(long)]
    pub cause: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Redrive a failed, timed-out or aborted execution of a StateMachine from the states that did not succeed.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    /// The StateMachine: NAMESPACE/NAME, or NAME in the `-n` (or the context's) namespace.
    pub machine: String,
    /// The execution: its name, or its full ARN.
    pub execution: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn report(format: Format, arn: &str, what: &str, date: &str) -> anyhow::Result<()> {
    let text = match format {
        Format::Table => format!("{arn} {what} at {date}\n"),
        format => machine_readable(
            &json!({"executionArn": arn, format!("{what}Date"): date}),
            format,
        )?,
    };
    emit(&text)
}

/// Runs `stop`.
pub async fn stop(args: StopArgs) -> anyhow::Result<ExitCode> {
    let machine = resolve(&args.cluster, &args.machine).await?;
    let client = sfn_client(&machine).await;
    let arn = execution_arn(&machine, &args.execution)?;
    let date = executions::stop(&client, &arn, args.error.as_deref(), args.cause.as_deref())
        .await
        .with_context(|| {
            format!(
                "stopping execution {} of {}",
                args.execution,
                machine.object()
            )
        })?;
    report(args.output.output, &arn, "stopped", &date)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `redrive`.
pub async fn redrive(args: RedriveArgs) -> anyhow::Result<ExitCode> {
    let machine = resolve(&args.cluster, &args.machine).await?;
    let client = sfn_client(&machine).await;
    let arn = execution_arn(&machine, &args.execution)?;
    let date = executions::redrive(&client, &arn).await.with_context(|| {
        format!(
            "redriving execution {} of {} (only a FAILED, TIMED_OUT or ABORTED standard execution of the last 14 days can be redriven)",
            args.execution,
            machine.object()
        )
    })?;
    report(args.output.output, &arn, "redriven", &date)?;
    Ok(ExitCode::SUCCESS)
}
