//! Local, deterministic execution of Amazon States Language definitions against mocked tasks.
//!
//! The executor takes raw ASL as `serde_json::Value` (so it runs hand-written `.asl.json` as well as what the
//! compiler produces), runs on a virtual clock (Wait and Retry delays advance time without sleeping), draws all
//! randomness from a seeded generator, and performs no I/O: Task states are answered by [`Mocks`]. Errors
//! that AWS would raise inside an execution (bad paths, failed intrinsics, JSONata errors, size limits) become
//! a FAILED [`Execution`] with AWS's error names; problems of the simulation itself (a Task without a mock, the
//! transition limit, a definition that cannot run) are a [`SimulateError`].
//!
//! Semantics follow the Amazon States Language specification and the Step Functions developer guide
//! (<https://states-language.net/spec.html>, <https://docs.aws.amazon.com/step-functions/latest/dg/>), checked
//! against executions recorded on AWS (see `tests/simulate_reference.rs`).

mod choice;
mod executor;
pub mod intrinsics;
pub mod jsonpath;
mod mocks;
pub mod testfile;

/// The JSONata evaluator, shared with the validator (`sfn-asl`) so that both read expressions the same way.
pub use sfn_jsonata as jsonata;
/// The seeded generator behind every random value of a simulation (the JSONata evaluator draws from it too).
pub use sfn_jsonata::rng;

use serde_json::Value;

pub use mocks::{MockError, MockResponse, Mocks};

/// An error raised inside an execution, with AWS's error name (catchable by `Catch` when AWS allows it).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The error name (`States.TaskFailed`, a Fail state's `Error`, ...); `None` when a Fail state gives none.
    pub error: Option<String>,
    /// The human-readable cause.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure with both an error name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }
}

/// The final status of a simulated execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Reached an end state.
    Succeeded,
    /// Stopped by an uncaught error or a Fail state.
    Failed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
        })
    }
}

/// The result of a simulated execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// SUCCEEDED or FAILED.
    pub status: Status,
    /// The execution output when it succeeded.
    pub output: Option<Value>,
    /// The error name when it failed.
    pub error: Option<String>,
    /// The cause when it failed.
    pub cause: Option<String>,
    /// Execution history events, shaped like `GetExecutionHistory`'s (timestamps from the virtual clock).
    pub history: Vec<Value>,
    /// Names of the states entered, in order (nested states of Parallel and Map included).
    pub states_visited: Vec<String>,
    /// Number of state transitions performed.
    pub transitions: usize,
    /// Virtual time elapsed, in milliseconds.
    pub elapsed_ms: i64,
}

impl Execution {
    /// The `--output json` form: `{"status", "output" | "error"/"cause", "history"}`.
    pub fn to_json(&self, with_history: bool) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("status".into(), Value::String(self.status.to_string()));
        match self.status {
            Status::Succeeded => {
                o.insert("output".into(), self.output.clone().unwrap_or(Value::Null));
            }
            Status::Failed => {
                o.insert(
                    "error".into(),
                    self.error.clone().map_or(Value::Null, Value::String),
                );
                o.insert(
                    "cause".into(),
                    self.cause.clone().map_or(Value::Null, Value::String),
                );
            }
        }
        if with_history {
            o.insert("history".into(), Value::Array(self.history.clone()));
        }
        Value::Object(o)
    }
}

/// Knobs of a simulation. `Default` gives a deterministic run starting at 2024-01-01T00:00:00Z.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop with [`SimulateError::TransitionLimit`] after this many state transitions.
    pub max_transitions: usize,
    /// Seed of every random value (jitter, `States.UUID`, `States.MathRandom`, task tokens).
    pub seed: u64,
    /// Virtual start time, milliseconds since the Unix epoch.
    pub start_time_ms: i64,
    /// State machine name in the context object and ARNs.
    pub state_machine_name: String,
    /// Execution name in the context object and ARNs.
    pub execution_name: String,
    /// Region in ARNs.
    pub region: String,
    /// Account in ARNs.
    pub account: String,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_transitions: 10_000,
            seed: 0,
            start_time_ms: 1_704_067_200_000,
            state_machine_name: "simulated".into(),
            execution_name: "execution".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            role_arn: "arn:aws:iam::123456789012:role/simulated".into(),
        }
    }
}

/// A problem of the simulation itself, as opposed to a failed execution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimulateError {
    /// The definition cannot be run (missing `StartAt`, unknown state, wrong field type, ...).
    #[error("invalid definition: state '{state}', field '{field}': {reason}")]
    InvalidDefinition {
        /// The state concerned (or `(definition)`).
        state: String,
        /// The field concerned.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A Task state ran without a mock.
    #[error(
        "state '{state}': no mock for this Task state (add an entry named '{state}' to the mocks file)"
    )]
    MissingMock {
        /// The Task state's name.
        state: String,
    },
    /// The execution performed more transitions than allowed (likely an infinite loop).
    #[error(
        "transition limit of {limit} reached at state '{state}': the state machine probably loops forever \
         (raise the limit if this is expected)"
    )]
    TransitionLimit {
        /// The limit.
        limit: usize,
        /// The state about to be entered.
        state: String,
    },
}

/// Runs `definition` (raw ASL JSON) on `input`, answering Task states from `mocks`.
pub fn simulate(
    definition: &Value,
    input: &Value,
    mocks: &Mocks,
    options: &Options,
) -> Result<Execution, SimulateError> {
    executor::run(definition, input, mocks, options)
}
