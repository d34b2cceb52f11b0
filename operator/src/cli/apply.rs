//! `sfn-operator apply`.

use std::process::ExitCode;

/// Arguments of `sfn-operator apply`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`apply` is not implemented yet")
}
