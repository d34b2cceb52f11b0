//! `sfn-operator test`.

use std::process::ExitCode;

/// Arguments of `sfn-operator test`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`test` is not implemented yet")
}
