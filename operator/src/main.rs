//! The `sfn-operator` binary: the controller (`run`) and the offline tools around the same pipeline.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sfn_operator::cli;

/// Keep AWS Step Functions state machines in line with Kubernetes objects.
#[derive(Debug, Parser)]
#[command(name = "sfn-operator", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the operator: watch StateMachine, TaskIntegration and Activity objects and reconcile AWS.
    Run(cli::run::Args),
    /// Print the CustomResourceDefinitions of the three kinds as multi-document YAML.
    Crds(cli::crds::Args),
    /// Compile manifests offline and print the ASL, IAM policies and alarms each StateMachine needs.
    Plan(cli::plan::Args),
    /// Validate manifests offline; exit non-zero when any object is invalid.
    Validate(cli::validate::Args),
    /// Observe, plan and apply the objects in the given files against AWS, without a cluster.
    Apply(cli::apply::Args),
    /// Execute a state machine locally against mocked tasks.
    Simulate(cli::simulate::Args),
    /// Run state machine test files (input, mocks, expected result) like a test runner.
    Test(cli::test::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cli::run::run(args),
        Command::Crds(args) => cli::crds::run(args),
        Command::Plan(args) => cli::plan::run(args),
        Command::Validate(args) => cli::validate::run(args),
        Command::Apply(args) => cli::apply::run(args),
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Test(args) => cli::test::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
