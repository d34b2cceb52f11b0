//! `sfn-operator crds`.

use std::process::ExitCode;

/// Arguments of `sfn-operator crds`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`crds` is not implemented yet")
}
