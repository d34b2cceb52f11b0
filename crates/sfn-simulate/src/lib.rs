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
mod execution;
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

pub use execution::{Execution, Failure, Options, SimulateError, Status};
pub use mocks::{MockError, MockResponse, Mocks};

/// Runs `definition` (raw ASL JSON) on `input`, answering Task states from `mocks`.
pub fn simulate(
    definition: &Value,
    input: &Value,
    mocks: &Mocks,
    options: &Options,
) -> Result<Execution, SimulateError> {
    executor::run(definition, input, mocks, options)
}
