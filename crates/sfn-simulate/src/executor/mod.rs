//! The interpreter: walks states, applies input/output processing for both query languages, runs Parallel
//! branches and Map iterations (sequentially, in order, which is one of the orders AWS may produce), applies
//! Retry and Catch, keeps variables per scope and records an execution history.
//!
//! This module holds the entry point ([`run`]: the execution's start and end) and what every part of the
//! interpreter shares: the running `Machine`, the state being run (`St`), how a run stops, and small JSON
//! helpers. The work is split by concern into submodules, each adding methods to `Machine`: the run loop
//! and history (`run`), JSONPath and JSONata data flow (`paths`, `expressions`), the one-step states
//! (`states`), Retry and Catch (`retry`), result processing (`results`), and the Task, Parallel and Map
//! states. They import from here, never the other way.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value, json};

use super::rng::Rng;
use super::{Execution, Failure, Mocks, Options, SimulateError, Status};

mod expressions;
mod map;
mod parallel;
mod paths;
mod results;
mod retry;
mod run;
mod states;
mod task;

/// Step Functions' payload limit for state input, output and results (256 KiB).
const MAX_PAYLOAD_BYTES: usize = 262_144;

enum Stop {
    Fail(Failure),
    Abort(SimulateError),
}

impl From<SimulateError> for Stop {
    fn from(e: SimulateError) -> Self {
        Stop::Abort(e)
    }
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Fail(f)
    }
}

type Res<T> = Result<T, Stop>;

type Vars = Map<String, Value>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ql {
    JsonPath,
    Jsonata,
}

fn ql_of(v: Option<&Value>, default: Ql) -> Ql {
    match v.and_then(Value::as_str) {
        Some("JSONata") => Ql::Jsonata,
        Some("JSONPath") => Ql::JsonPath,
        _ => default,
    }
}

/// What a state is while it runs.
struct St<'d> {
    name: String,
    def: &'d Map<String, Value>,
    kind: String,
    ql: Ql,
    entered_id: usize,
    /// The context object, built on first use: most states never read it, and it holds the execution input.
    ctx_cell: OnceCell<Value>,
    /// What the context object is built from: the execution part and the state's entered time.
    ctx_base: Option<(Rc<Map<String, Value>>, String)>,
}

impl St<'_> {
    fn ctx(&self) -> &Value {
        self.ctx_cell.get_or_init(|| {
            let mut ctx = self
                .ctx_base
                .as_ref()
                .map(|(base, _)| (**base).clone())
                .unwrap_or_default();
            let entered = self
                .ctx_base
                .as_ref()
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            ctx.insert(
                "State".into(),
                json!({"Name": self.name, "EnteredTime": entered}),
            );
            Value::Object(ctx)
        })
    }

    /// A copy of this state with another context object (Map items, Task retries and tokens).
    fn with_ctx(&self, ctx: Value) -> St<'_> {
        St {
            name: self.name.clone(),
            def: self.def,
            kind: self.kind.clone(),
            ql: self.ql,
            entered_id: self.entered_id,
            ctx_cell: OnceCell::from(ctx),
            ctx_base: None,
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.def.get(field)
    }

    fn prefix(&self) -> String {
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). ",
            self.name, self.entered_id
        )
    }

    fn runtime(&self, msg: impl AsRef<str>) -> Failure {
        Failure::new(
            "States.Runtime",
            format!("{}{}", self.prefix(), msg.as_ref()),
        )
    }

    fn query_error(&self, msg: impl AsRef<str>) -> Failure {
        Failure::new(
            "States.QueryEvaluationError",
            format!("{}{}", self.prefix(), msg.as_ref()),
        )
    }

    fn invalid(&self, field: &str, reason: impl Into<String>) -> SimulateError {
        SimulateError::InvalidDefinition {
            state: self.name.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where a state goes after it completes.
struct Done {
    output: Value,
    next: Option<String>,
}

struct Machine<'a> {
    mocks: &'a Mocks,
    opts: &'a Options,
    calls: HashMap<String, usize>,
    rng: Rng,
    clock: i64,
    transitions: usize,
    history: Vec<Value>,
    visited: Vec<String>,
    exec_ctx: Rc<Map<String, Value>>,
    default_ql: Ql,
    /// Current nesting of Parallel branches and Map iterations.
    nesting: usize,
    /// The last formatted clock value (formatting dominates short states otherwise).
    iso_cache: (i64, String),
    /// Field of the last failed JSONata evaluation, for the EvaluationFailed event.
    eval_location: Option<String>,
    /// Assignments of the running state, applied when it completes.
    pending: Vec<(String, Value)>,
    /// Variables assigned by the running state, for its StateExited event.
    assigned: Option<Map<String, Value>>,
}

/// Deepest nesting of Parallel/Map run (AWS's own limits are far below what a stack would bear).
const MAX_NESTING: usize = 40;

fn iso(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn size_of(v: &Value) -> usize {
    compact(v).len()
}

pub(super) fn run(
    definition: &Value,
    input: &Value,
    mocks: &Mocks,
    opts: &Options,
) -> Result<Execution, SimulateError> {
    let def = definition
        .as_object()
        .ok_or_else(|| SimulateError::InvalidDefinition {
            state: "(definition)".into(),
            field: "(root)".into(),
            reason: "the definition must be a JSON object".into(),
        })?;
    let partition = if opts.region.starts_with("cn-") {
        "aws-cn"
    } else if opts.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let sm_arn = format!(
        "arn:{partition}:states:{}:{}:stateMachine:{}",
        opts.region, opts.account, opts.state_machine_name
    );
    let exec_arn = format!(
        "arn:{partition}:states:{}:{}:execution:{}:{}",
        opts.region, opts.account, opts.state_machine_name, opts.execution_name
    );
    let mut exec_ctx = Map::new();
    exec_ctx.insert(
        "Execution".into(),
        json!({
            "Id": exec_arn,
            "Input": input,
            "StartTime": iso(opts.start_time_ms),
            "Name": opts.execution_name,
            "RoleArn": opts.role_arn,
            "RedriveCount": 0,
        }),
    );
    exec_ctx.insert(
        "StateMachine".into(),
        json!({"Id": sm_arn, "Name": opts.state_machine_name}),
    );
    let mut m = Machine {
        mocks,
        opts,
        calls: HashMap::new(),
        rng: Rng::new(opts.seed),
        clock: opts.start_time_ms,
        transitions: 0,
        history: Vec::new(),
        visited: Vec::new(),
        exec_ctx: Rc::new(exec_ctx),
        default_ql: ql_of(def.get("QueryLanguage"), Ql::JsonPath),
        nesting: 0,
        iso_cache: (i64::MIN, String::new()),
        assigned: None,
        pending: Vec::new(),
        eval_location: None,
    };
    m.event(
        "ExecutionStarted",
        Some((
            "executionStartedEventDetails",
            json!({"input": compact(input), "roleArn": opts.role_arn}),
        )),
    );
    let result = if size_of(input) > MAX_PAYLOAD_BYTES {
        Err(Stop::Fail(Failure::new(
            "States.DataLimitExceeded",
            "The execution input exceeds the maximum number of bytes service limit.",
        )))
    } else {
        let (states, start) = states_of(def, "(definition)")?;
        let mut vars = Vars::new();
        m.run_chain(states, &start, input.clone(), &mut vars)
    };
    let elapsed_ms = m.clock - opts.start_time_ms;
    match result {
        Ok(output) => {
            m.event(
                "ExecutionSucceeded",
                Some((
                    "executionSucceededEventDetails",
                    json!({"output": compact(&output)}),
                )),
            );
            Ok(Execution {
                status: Status::Succeeded,
                output: Some(output),
                error: None,
                cause: None,
                history: m.history,
                states_visited: m.visited,
                transitions: m.transitions,
                elapsed_ms,
            })
        }
        Err(Stop::Fail(f)) => {
            let mut details = Map::new();
            if let Some(e) = &f.error {
                details.insert("error".into(), Value::String(e.clone()));
            }
            if let Some(c) = &f.cause {
                details.insert("cause".into(), Value::String(c.clone()));
            }
            m.event(
                "ExecutionFailed",
                Some(("executionFailedEventDetails", Value::Object(details))),
            );
            Ok(Execution {
                status: Status::Failed,
                output: None,
                error: f.error,
                cause: f.cause,
                history: m.history,
                states_visited: m.visited,
                transitions: m.transitions,
                elapsed_ms,
            })
        }
        Err(Stop::Abort(e)) => Err(e),
    }
}

/// The `States` map and `StartAt` of a definition, branch or item processor.
fn states_of<'d>(
    def: &'d Map<String, Value>,
    owner: &str,
) -> Result<(&'d Map<String, Value>, String), SimulateError> {
    let states = def
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| SimulateError::InvalidDefinition {
            state: owner.into(),
            field: "States".into(),
            reason: "missing or not an object".into(),
        })?;
    let start = def.get("StartAt").and_then(Value::as_str).ok_or_else(|| {
        SimulateError::InvalidDefinition {
            state: owner.into(),
            field: "StartAt".into(),
            reason: "missing or not a string".into(),
        }
    })?;
    Ok((states, start.to_string()))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Errors that end the execution whatever Retry and Catch say.
fn is_terminal(f: &Failure) -> bool {
    matches!(
        f.error.as_deref(),
        Some("States.Runtime" | "States.DataLimitExceeded")
    )
}
