//! The interpreter: walks states, applies input/output processing for both query languages, runs Parallel
//! branches and Map iterations (sequentially, in order, which is one of the orders AWS may produce), applies
//! Retry and Catch, keeps variables per scope and records an execution history.
//!
//! This module holds what every part of the interpreter shares: the running `Machine`, the state being
//! run (`St`), how a run stops, and small JSON helpers. The work is split by concern into submodules,
//! each adding methods to `Machine`: the run loop and history (`run`), JSONPath and JSONata data flow
//! (`paths`, `expressions`), the one-step states (`states`), Retry and Catch (`retry`), result
//! processing (`results`), and the Task, Parallel and Map states.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value, json};

use super::rng::Rng;
use super::{Failure, Mocks, Options, SimulateError};

mod expressions;
mod map;
mod parallel;
mod paths;
mod results;
mod retry;
mod run;
mod states;
mod task;

pub(super) use run::run;

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
