//! `sfn-operator validate`.

use std::process::ExitCode;

/// Arguments of `sfn-operator validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`validate` is not implemented yet")
}
