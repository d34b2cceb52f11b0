//! `executions NAMESPACE/NAME`: the machine's executions, newest first, with their status, optionally of one
//! status only (`ListExecutions` with `statusFilter`).

use std::process::ExitCode;

use super::output::{Format, OutputArgs, emit, machine_readable, table};
use super::target::{ClusterArgs, resolve, sfn_client};

/// Execution statuses `ListExecutions` filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusFilter {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
}

impl StatusFilter {
    fn as_aws(self) -> &'static str {
        match self {
            StatusFilter::Running => "RUNNING",
            StatusFilter::Succeeded => "SUCCEEDED",
            StatusFilter::Failed => "FAILED",
            StatusFilter::TimedOut => "TIMED_OUT",
            StatusFilter::Aborted => "ABORTED",
            StatusFilter::PendingRedrive => "PENDING_REDRIVE",
        }
    }
}

/// List the executions of a StateMachine.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The StateMachine: NAMESPACE/NAME, or NAME in the `-n` (or the context's) namespace.
    pub machine: String,
    /// Only executions with this status.
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<StatusFilter>,
    /// Most executions listed.
    #[arg(long, default_value_t = 100)]
    pub max: usize,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let machine = resolve(&args.cluster, &args.machine).await?;
    let client = sfn_client(&machine).await;
    let found = sfn_aws::executions::list(
        &client,
        &machine.arn,
        args.status.map(StatusFilter::as_aws),
        args.max,
    )
    .await?;
    let text = match args.output.output {
        Format::Table if found.is_empty() => format!("No executions of {}.\n", machine.object()),
        Format::Table => table(
            &["NAME", "STATUS", "STARTED", "STOPPED"],
            &found
                .iter()
                .map(|e| {
                    vec![
                        e.name.clone(),
                        e.status.clone(),
                        e.start_date.clone(),
                        e.stop_date.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        format => machine_readable(&found, format)?,
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
