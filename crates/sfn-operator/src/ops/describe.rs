//! `describe NAMESPACE/NAME EXECUTION`: one execution's status, input, output, error and cause, the state
//! that failed, and its history as the same readable trace `simulate` prints for a local run.

use std::process::ExitCode;

use serde_json::{Value, json};
use sfn_aws::executions::{self, ExecutionDetail};

use super::output::{Format, OutputArgs, compact, emit, machine_readable};
use super::target::{ClusterArgs, execution_arn, resolve, sfn_client};

/// Describe one execution of a StateMachine, with its history.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The StateMachine: NAMESPACE/NAME, or NAME in the `-n` (or the context's) namespace.
    pub machine: String,
    /// The execution: its name, or its full ARN.
    pub execution: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// An execution with what its history says.
pub struct Described {
    pub detail: ExecutionDetail,
    pub history: Vec<Value>,
    pub history_cut: bool,
}

impl Described {
    /// The state that failed, for an execution that failed, timed out or was aborted.
    pub fn failed_state(&self) -> Option<String> {
        executions::failing_state(&self.history)
    }

    /// The `-o json|yaml` form: the description, `failedState`, and the history events.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.detail).unwrap_or_default();
        if let Some(state) = self.failed_state() {
            v["failedState"] = json!(state);
        }
        v["history"] = Value::Array(self.history.clone());
        if self.history_cut {
            v["historyTruncated"] = json!(true);
        }
        v
    }

    /// The table form: `Field: value` lines, then the trace.
    pub fn to_text(&self) -> String {
        let d = &self.detail;
        let mut fields: Vec<(&str, String)> = vec![
            ("Execution", d.name.clone()),
            ("ARN", d.execution_arn.clone()),
            ("Status", d.status.clone()),
            ("Started", d.start_date.clone()),
        ];
        if let Some(stop) = &d.stop_date {
            fields.push(("Stopped", stop.clone()));
        }
        if let Some(state) = self.failed_state() {
            fields.push(("Failed state", state));
        }
        if let Some(error) = &d.error {
            fields.push(("Error", error.clone()));
        }
        if let Some(cause) = &d.cause {
            fields.push(("Cause", cause.clone()));
        }
        if let Some(count) = d.redrive_count.filter(|c| *c > 0) {
            fields.push(("Redrives", count.to_string()));
        }
        fields.push(("Input", compact(&d.input)));
        fields.push(("Output", compact(&d.output)));
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        let mut out = String::new();
        for (key, value) in fields {
            out.push_str(&format!("{:<width$} {value}\n", format!("{key}:")));
        }
        out.push_str("History:\n");
        out.push_str(&sfn_cli::simulate::trace_events(&self.history));
        if self.history_cut {
            out.push_str(&format!(
                "  (history cut after {} events)\n",
                executions::MAX_HISTORY_EVENTS
            ));
        }
        out
    }

    /// Text or machine-readable, as asked.
    pub fn render(&self, format: Format) -> anyhow::Result<String> {
        match format {
            Format::Table => Ok(self.to_text()),
            format => machine_readable(&self.to_json(), format),
        }
    }
}

/// Reads the execution and its history.
pub async fn read(client: &aws_sdk_sfn::Client, arn: &str) -> anyhow::Result<Described> {
    let detail = executions::describe(client, arn).await?;
    let (history, history_cut) = executions::history(client, arn).await?;
    Ok(Described {
        detail,
        history,
        history_cut,
    })
}

/// Runs the command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let machine = resolve(&args.cluster, &args.machine).await?;
    let client = sfn_client(&machine).await;
    let arn = execution_arn(&machine, &args.execution)?;
    let described = read(&client, &arn).await?;
    emit(&described.render(args.output.output)?)?;
    Ok(ExitCode::SUCCESS)
}
