//! Operating workflows from Kubernetes: `start`, `executions`, `describe`, `stop` and `redrive` on a state
//! machine named by its StateMachine object. Each command reads the object from the cluster (kubeconfig,
//! `--context`, `-n` as kubectl takes them, in [`target`]), takes the machine's ARN and region from its
//! status, and calls Step Functions with the caller's own AWS credentials (`sfn_aws::executions`).
//!
//! The same commands are the kubectl plugin: the binary installed as `kubectl-sfn` takes them as its
//! top-level commands ([`plugin_args`]), so `kubectl sfn start demo/job-poller` works.

pub mod control;
pub mod describe;
pub mod list;
pub mod output;
pub mod start;
pub mod target;

use std::ffi::OsString;
use std::process::ExitCode;

/// The execution commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start an execution of a StateMachine (`--wait` for its result).
    Start(start::Args),
    /// List the executions of a StateMachine, newest first.
    Executions(list::Args),
    /// Describe one execution: status, input, output, error, the failed state and the history.
    Describe(describe::Args),
    /// Stop a running execution.
    Stop(control::StopArgs),
    /// Redrive a failed, timed-out or aborted execution from where it stopped.
    Redrive(control::RedriveArgs),
}

impl Command {
    /// Runs the command on a runtime of its own.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            match self {
                Command::Start(args) => start::run(args).await,
                Command::Executions(args) => list::run(args).await,
                Command::Describe(args) => describe::run(args).await,
                Command::Stop(args) => control::stop(args).await,
                Command::Redrive(args) => control::redrive(args).await,
            }
        })
    }
}

/// The program name that makes the binary the kubectl plugin.
pub const PLUGIN_NAME: &str = "kubectl-sfn";

/// Whether the binary was invoked as `kubectl-sfn` (its file name, as kubectl runs plugins found on PATH).
pub fn invoked_as_plugin(argv0: &std::ffi::OsStr) -> bool {
    std::path::Path::new(argv0)
        .file_stem()
        .is_some_and(|s| s == PLUGIN_NAME)
}

/// Flags taking a value, which may stand before the command name in a plugin call.
const VALUE_FLAGS: [&str; 5] = ["--kubeconfig", "--context", "-n", "--namespace", "-o"];

/// The plugin's arguments as a parser of the execution commands takes them: kubectl passes everything after
/// `sfn` unchanged, and people write `kubectl sfn -n demo start job-poller` as well as `kubectl sfn start
/// job-poller -n demo`, so flags before the command name are moved after it.
pub fn plugin_args(args: Vec<OsString>) -> Vec<OsString> {
    let mut iter = args.into_iter();
    let program = iter.next().unwrap_or_else(|| PLUGIN_NAME.into());
    let rest: Vec<OsString> = iter.collect();
    let mut leading = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let arg = rest[i].to_string_lossy();
        if VALUE_FLAGS.contains(&arg.as_ref()) {
            leading.extend(rest[i..(i + 2).min(rest.len())].iter().cloned());
            i += 2;
        } else if arg.starts_with('-') && arg != "-" {
            leading.push(rest[i].clone());
            i += 1;
        } else {
            break;
        }
    }
    let mut out = vec![program];
    // `kubectl sfn --help` and `kubectl sfn --version` stay flags of the plugin itself.
    if i == rest.len() {
        out.extend(leading);
        return out;
    }
    out.push(rest[i].clone());
    out.extend(rest[i + 1..].iter().cloned());
    out.extend(leading);
    out
}

/// The kubectl plugin: the execution commands at the top level.
#[derive(Debug, clap::Parser)]
#[command(
    name = "kubectl-sfn",
    version,
    about = "Start, list, describe, stop and redrive executions of StateMachine objects"
)]
pub struct Plugin {
    #[command(subcommand)]
    pub command: Command,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn plugin_flags_before_the_command_move_after_it() {
        assert_eq!(
            plugin_args(args(&[
                "kubectl-sfn",
                "--context",
                "prod",
                "-n",
                "demo",
                "start",
                "jp",
                "--wait"
            ])),
            args(&[
                "kubectl-sfn",
                "start",
                "jp",
                "--wait",
                "--context",
                "prod",
                "-n",
                "demo"
            ])
        );
        assert_eq!(
            plugin_args(args(&["kubectl-sfn", "executions", "demo/jp", "-n", "x"])),
            args(&["kubectl-sfn", "executions", "demo/jp", "-n", "x"])
        );
        assert_eq!(
            plugin_args(args(&["kubectl-sfn", "--help"])),
            args(&["kubectl-sfn", "--help"])
        );
    }

    #[test]
    fn the_plugin_is_recognised_by_its_file_name() {
        assert!(invoked_as_plugin("/usr/local/bin/kubectl-sfn".as_ref()));
        assert!(invoked_as_plugin("kubectl-sfn.exe".as_ref()));
        assert!(!invoked_as_plugin("/usr/bin/sfn-operator".as_ref()));
    }
}
