//! The `sfn` binary: author, check and simulate Step Functions workflows offline. No cluster, no AWS account.

use std::process::ExitCode;

use clap::Parser;

/// Compile, validate and simulate sfn-operator manifests offline.
#[derive(Debug, Parser)]
#[command(name = "sfn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: sfn_cli::Command,
}

fn main() -> ExitCode {
    sfn_cli::exit_code(Cli::parse().command.run())
}
