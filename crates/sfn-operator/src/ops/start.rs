//! `start NAMESPACE/NAME`: starts an execution with inline or file input; `--wait` polls it until it ends
//! (bounded by `--timeout`), with a progress line on stderr, and prints it as `describe` does.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use sfn_aws::executions;

use super::describe;
use super::output::{Format, OutputArgs, emit, machine_readable};
use super::target::{ClusterArgs, resolve, sfn_client};

/// Start an execution of a StateMachine.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The StateMachine: NAMESPACE/NAME, or NAME in the `-n` (or the context's) namespace.
    pub machine: String,
    /// Execution input as JSON text (default `{}`).
    #[arg(long, conflicts_with = "input_file")]
    pub input: Option<String>,
    /// File holding the execution input (JSON or YAML).
    #[arg(long)]
    pub input_file: Option<PathBuf>,
    /// Execution name (default: a UUID chosen by AWS).
    #[arg(long)]
    pub name: Option<String>,
    /// Wait until the execution ends and print its result; exit 1 unless it succeeded.
    #[arg(long)]
    pub wait: bool,
    /// Longest wait with `--wait`, in seconds; the execution goes on in AWS after it.
    #[arg(long, default_value_t = 600, requires = "wait")]
    pub timeout: u64,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The input as compact JSON text.
fn input_text(args: &Args) -> anyhow::Result<String> {
    let value: Value = match (&args.input, &args.input_file) {
        (Some(text), _) => serde_json::from_str(text).context("--input is not valid JSON")?,
        (None, Some(path)) => sfn_cli::simulate::read_data_file(path)?,
        (None, None) => Value::Object(Default::default()),
    };
    Ok(value.to_string())
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = input_text(&args)?;
    let machine = resolve(&args.cluster, &args.machine).await?;
    let client = sfn_client(&machine).await;
    let started = executions::start(&client, &machine.arn, args.name.as_deref(), &input)
        .await
        .with_context(|| format!("starting an execution of {}", machine.object()))?;
    if !args.wait {
        let text = match args.output.output {
            Format::Table => format!("{}\n", started.execution_arn),
            format => machine_readable(&started, format)?,
        };
        emit(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let described = wait(
        &client,
        &started.execution_arn,
        Duration::from_secs(args.timeout),
    )
    .await?;
    emit(&described.render(args.output.output)?)?;
    Ok(if described.detail.status == "SUCCEEDED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Polls the execution until it ends or `timeout` passes: every second at first, backing off to every five.
async fn wait(
    client: &aws_sdk_sfn::Client,
    arn: &str,
    timeout: Duration,
) -> anyhow::Result<describe::Described> {
    let begin = Instant::now();
    let mut progress = Progress::new();
    let mut delay = Duration::from_secs(1);
    loop {
        let detail = executions::describe(client, arn).await?;
        if detail.is_finished() {
            progress.finish(&detail.status, begin.elapsed());
            return describe::read(client, arn).await;
        }
        progress.show(&detail.status, begin.elapsed());
        if begin.elapsed() + delay > timeout {
            progress.finish(&detail.status, begin.elapsed());
            bail!(
                "execution {arn} is still {} after {}s (--timeout); it goes on in AWS",
                detail.status,
                timeout.as_secs()
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The progress line on stderr: rewritten in place on a terminal, a line every 30 s otherwise (logs).
struct Progress {
    terminal: bool,
    last_line: Option<Instant>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last_line: None,
        }
    }

    fn show(&mut self, status: &str, elapsed: Duration) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\rwaiting: {status}, {}s", elapsed.as_secs());
            let _ = err.flush();
        } else if self
            .last_line
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(30))
        {
            let _ = writeln!(err, "waiting: {status}, {}s", elapsed.as_secs());
            self.last_line = Some(Instant::now());
        }
    }

    fn finish(&mut self, status: &str, elapsed: Duration) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "{}{status} after {}s",
            if self.terminal { "\r" } else { "" },
            elapsed.as_secs()
        );
    }
}
