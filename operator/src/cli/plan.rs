//! `sfn-operator plan`.

use std::process::ExitCode;

/// Arguments of `sfn-operator plan`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`plan` is not implemented yet")
}
