//! `sfn-operator run`.

use std::process::ExitCode;

/// Arguments of `sfn-operator run`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`run` is not implemented yet")
}
