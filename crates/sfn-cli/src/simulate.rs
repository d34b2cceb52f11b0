//! `simulate`: run a state machine locally against mocked tasks and print the result, either as
//! a readable trace of the states visited or as one JSON object (`--output json`).
//!
//! The state machine comes from a raw `.asl.json` file or from a manifest, compiled exactly as `plan` compiles
//! it (TaskIntegrations of the same namespace resolved, placeholder ARNs for the rest).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::plan::{PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, compile_in_bundle};
use sfn_api::manifest::{self, DEFAULT_NAMESPACE};
use sfn_simulate::{Execution, Mocks, Options, Status, simulate};

/// Output format of `simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// A trace of the states visited, then the result.
    #[default]
    Text,
    /// `{"status", "output" | "error"/"cause", "history"}`.
    Json,
}

/// Execute a state machine locally against mocked tasks.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("execution-input").required(true).args(["input", "input_file"])))]
pub struct Args {
    /// A manifest (YAML/JSON) holding the StateMachine, or a raw `.asl.json` definition.
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// Which StateMachine of the manifest (`name` or `namespace/name`); optional when there is only one.
    #[arg(long)]
    pub state_machine: Option<String>,
    /// Execution input as JSON text.
    #[arg(long)]
    pub input: Option<String>,
    /// File holding the execution input (JSON or YAML).
    #[arg(long)]
    pub input_file: Option<PathBuf>,
    /// Mocks file (YAML): per Task state name, a response or a list of responses for successive calls.
    #[arg(long)]
    pub mocks: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Stop after this many state transitions (guards against infinite loops).
    #[arg(long, default_value_t = 10_000)]
    pub max_transitions: usize,
    /// Seed for jitter, `States.UUID`, `States.MathRandom` and task tokens.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// A state machine ready to simulate.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its AWS name (used in the context object and ARNs).
    pub aws_name: String,
    /// The ASL.
    pub asl: Value,
}

/// Loads the ASL of a state machine from a raw `.asl.json` file or a manifest.
pub fn load_state_machine(file: &Path, wanted: Option<&str>) -> anyhow::Result<Loaded> {
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(stem) = file_name.strip_suffix(".asl.json") {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let asl: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?;
        return Ok(Loaded {
            aws_name: stem.to_string(),
            asl,
        });
    }
    let bundle = manifest::load_paths(&[file.to_path_buf()])
        .with_context(|| format!("reading {}", file.display()))?;
    let candidates: Vec<_> = bundle
        .state_machines
        .iter()
        .filter(|sm| {
            let name = sm.metadata.name.as_deref().unwrap_or_default();
            let ns = sm
                .metadata
                .namespace
                .as_deref()
                .unwrap_or(DEFAULT_NAMESPACE);
            match wanted {
                None => true,
                Some(w) => w == name || w == format!("{ns}/{name}"),
            }
        })
        .collect();
    let sm = match candidates.as_slice() {
        [one] => *one,
        [] => match wanted {
            Some(w) => bail!("{}: no StateMachine named '{w}'", file.display()),
            None => bail!("{}: the file holds no StateMachine", file.display()),
        },
        many => bail!(
            "{}: {} StateMachines; choose one with --state-machine ({})",
            file.display(),
            many.len(),
            many.iter()
                .map(|s| s.metadata.name.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let name = sm.metadata.name.clone().unwrap_or_default();
    let ns = sm
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    let compiled = compile_in_bundle(sm, &bundle, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION)
        .map_err(|e| anyhow::anyhow!("StateMachine {ns}/{name} does not compile:\n{e}"))?;
    Ok(Loaded {
        aws_name: sm.spec.name.clone().unwrap_or(format!("{ns}-{name}")),
        asl: compiled.json,
    })
}

/// Reads a YAML or JSON file into a value.
pub fn read_data_file(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_saphyr::from_str::<Value>(&text)
        .with_context(|| format!("{} is not valid YAML or JSON", path.display()))
}

/// Options for simulating `loaded`.
pub fn options_for(loaded: &Loaded, max_transitions: usize, seed: u64) -> Options {
    Options {
        max_transitions,
        seed,
        state_machine_name: loaded.aws_name.clone(),
        region: PLACEHOLDER_REGION.into(),
        account: PLACEHOLDER_ACCOUNT.into(),
        role_arn: format!("arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/sfn-operator/simulated"),
        ..Options::default()
    }
}

/// The states entered (indented inside Parallel and Map), task failures and timeouts of an execution
/// history in `GetExecutionHistory`'s JSON form, one line each with the seconds since the first event:
/// what `simulate` prints for a local run and `describe` for an execution in AWS.
pub fn trace_events(history: &[Value]) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    // Depth at which each open Parallel/Map was entered: a retry starts its branches again at the same depth.
    let mut open: Vec<usize> = Vec::new();
    let start = history
        .first()
        .and_then(|e| e["timestamp"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    for e in history {
        let kind = e["type"].as_str().unwrap_or_default();
        let at = e["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .zip(start)
            .map(|(t, s)| (t.as_millisecond() - s.as_millisecond()) as f64 / 1000.0)
            .unwrap_or(0.0);
        let pad = "  ".repeat(depth + 1);
        if let Some(st) = kind.strip_suffix("StateEntered") {
            out.push_str(&format!(
                "{at:>8.1}s{pad}{} ({st})\n",
                e["stateEnteredEventDetails"]["name"]
                    .as_str()
                    .unwrap_or_default()
            ));
        }
        match kind {
            "ParallelStateEntered" | "MapStateEntered" => open.push(depth),
            "ParallelStateStarted" | "MapStateStarted" => {
                depth = open.last().copied().unwrap_or(0) + 1;
            }
            "ParallelStateExited" | "MapStateExited" | "ParallelStateFailed" | "MapStateFailed" => {
                depth = open.pop().unwrap_or(0);
            }
            "MapIterationStarted" => out.push_str(&format!(
                "{at:>8.1}s{pad}[item {}]\n",
                e["mapIterationStartedEventDetails"]["index"]
            )),
            "TaskFailed" => out.push_str(&format!(
                "{at:>8.1}s{pad}  task failed: {} {}\n",
                e["taskFailedEventDetails"]["error"]
                    .as_str()
                    .unwrap_or_default(),
                e["taskFailedEventDetails"]["cause"]
                    .as_str()
                    .unwrap_or_default()
            )),
            "TaskTimedOut" => out.push_str(&format!("{at:>8.1}s{pad}  task timed out\n")),
            _ => {}
        }
    }
    out
}

/// A readable trace of an execution: states entered (indented inside Parallel and Map), task calls,
/// failures, then the result.
pub fn trace(exec: &Execution) -> String {
    let mut out = trace_events(&exec.history);
    match exec.status {
        Status::Succeeded => out.push_str(&format!(
            "SUCCEEDED after {} transitions, {:.1}s virtual time\n{}\n",
            exec.transitions,
            exec.elapsed_ms as f64 / 1000.0,
            serde_json::to_string_pretty(exec.output.as_ref().unwrap_or(&Value::Null))
                .unwrap_or_default()
        )),
        Status::Failed => out.push_str(&format!(
            "FAILED after {} transitions: error {}, cause {}\n",
            exec.transitions,
            exec.error.as_deref().unwrap_or("(none)"),
            exec.cause.as_deref().unwrap_or("(none)")
        )),
    }
    out
}

/// Runs the command. Exit code 0 when the execution succeeded, 1 when it failed.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = load_state_machine(&args.file, args.state_machine.as_deref())?;
    let input: Value = match (&args.input, &args.input_file) {
        (Some(text), _) => serde_json::from_str(text).context("--input is not valid JSON")?,
        (None, Some(path)) => read_data_file(path)?,
        (None, None) => bail!("give the execution input with --input or --input-file"),
    };
    let mocks = match &args.mocks {
        Some(path) => Mocks::from_value(&read_data_file(path)?)
            .with_context(|| format!("reading mocks from {}", path.display()))?,
        None => Mocks::new(),
    };
    let exec = simulate(
        &loaded.asl,
        &input,
        &mocks,
        &options_for(&loaded, args.max_transitions, args.seed),
    )?;
    let text = match args.output {
        Output::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&exec.to_json(true)).unwrap_or_default()
        ),
        Output::Text => trace(&exec),
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("writing the result");
    }
    Ok(match exec.status {
        Status::Succeeded => ExitCode::SUCCESS,
        Status::Failed => ExitCode::from(1),
    })
}
