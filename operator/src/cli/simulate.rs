//! `sfn-operator simulate`.

use std::process::ExitCode;

/// Arguments of `sfn-operator simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`simulate` is not implemented yet")
}
