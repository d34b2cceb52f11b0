//! The `sfn-operator` binary: the controller (`run`), `apply`, `plan --live` and `validate --aws` against AWS, and the offline
//! commands of `sfn` (from `sfn-cli`), so one image carries every tool. Installed as `kubectl-sfn`, it is
//! the kubectl plugin: the execution commands of [`ops`] at the top level.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sfn_operator::{apply, guardrails, import, ops, run, validate};

/// Keep AWS Step Functions state machines in line with Kubernetes objects.
#[derive(Debug, Parser)]
#[command(name = "sfn-operator", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(Box<run::Args>),
    Crds(sfn_cli::crds::Args),
    Plan(PlanArgs),
    Validate(validate::ValidateArgs),
    Apply(apply::Args),
    Simulate(sfn_cli::simulate::Args),
    Test(sfn_cli::test::Args),
    Graph(sfn_cli::graph::Args),
    Import(import::Args),
    #[command(flatten)]
    Ops(ops::Command),
}

/// Compile manifests offline and print the ASL, IAM policies and alarms each StateMachine needs.
#[derive(Debug, clap::Args)]
struct PlanArgs {
    #[command(flatten)]
    offline: sfn_cli::plan::Args,
    /// Compare with the live AWS account (through the standard AWS environment, `AWS_ENDPOINT_URL` included)
    /// and print the operations `apply` would make, changing nothing.
    #[arg(long)]
    live: bool,
    /// The role guardrails `apply` would use, for `--live`.
    #[command(flatten)]
    guardrails: guardrails::GuardrailArgs,
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.first().is_some_and(|a| ops::invoked_as_plugin(a)) {
        let plugin = ops::Plugin::parse_from(ops::plugin_args(argv));
        return sfn_cli::exit_code(plugin.command.run());
    }
    let result = match Cli::parse_from(argv).command {
        Command::Run(args) => run::run(*args),
        Command::Apply(args) => apply::run(args),
        Command::Plan(PlanArgs {
            offline,
            live: true,
            guardrails,
        }) => apply::run(apply::Args {
            files: offline.files,
            dry_run: true,
            allow_replace: false,
            rate_limits: None,
            guardrails,
        }),
        Command::Plan(PlanArgs { offline, .. }) => sfn_cli::Command::Plan(offline).run(),
        Command::Crds(args) => sfn_cli::Command::Crds(args).run(),
        Command::Validate(args) => validate::run(args),
        Command::Simulate(args) => sfn_cli::Command::Simulate(args).run(),
        Command::Test(args) => sfn_cli::Command::Test(args).run(),
        Command::Graph(args) => sfn_cli::Command::Graph(args).run(),
        Command::Import(args) => import::run(args),
        Command::Ops(command) => command.run(),
    };
    sfn_cli::exit_code(result)
}
