//! The offline authoring commands: `plan`, `validate`, `simulate`, `test`, `graph`, `import` and `crds`. They read manifest files
//! and run the pure pipeline (`sfn-api` → `sfn-asl` → `sfn-iam`/`sfn-alarms` → `sfn-simulate`) and nothing else,
//! so this crate, and the `sfn` binary built from it, link no AWS SDK, Kubernetes client, tokio or HTTP stack.
//! The `sfn-operator` binary offers the same commands by calling into this crate, so both print the same.
//!
//! Each subcommand owns one file holding its clap `Args` and a `run` function; the binaries only dispatch.

use std::process::ExitCode;

pub mod crds;
pub mod graph;
pub mod import;
pub mod plan;
pub mod simulate;
pub mod test;
pub mod validate;

/// The offline subcommands, as the `sfn` binary offers them.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    Crds(crds::Args),
    Plan(plan::Args),
    Validate(validate::Args),
    Simulate(simulate::Args),
    Test(test::Args),
    Graph(graph::Args),
    Import(import::Args),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Crds(args) => crds::run(args),
            Command::Plan(args) => plan::run(args),
            Command::Validate(args) => validate::run(args),
            Command::Simulate(args) => simulate::run(args),
            Command::Test(args) => test::run(args),
            Command::Graph(args) => graph::run(args),
            Command::Import(args) => import::run(args),
        }
    }
}

/// The process exit code for a command's result. An error that stopped the command (an unreadable file, a
/// broken pipe) exits 2, so scripts can tell it from the exit 1 of a command that found invalid objects.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
