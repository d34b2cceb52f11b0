//! `status.executions` of a StateMachine: a summary of its recent executions, and `spec.executionSummary`,
//! the per-object switch that turns it off.
//!
//! The operator samples the newest executions at most once per resync with a small, fixed number of
//! `ListExecutions` / `DescribeExecution` reads (the sampling lives in `sfn-aws`, the summary is a pure
//! function in `sfn-plan`). What it can count is bounded by what it read: when more executions exist than
//! one page holds, `truncated` is true and the counts are lower bounds. The summary holds no time of its own
//! sampling, so an idle machine whose executions did not change has the same summary at every resync and
//! its status is not written.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Enabled` (default): keep a summary of the newest executions in `status.executions`, read at most once
/// per resync. `Disabled`: make no execution reads for this machine. Express machines never have one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ExecutionSummaryMode {
    /// Sample the newest executions once per resync and summarise them in `status.executions` (unless the
    /// operator runs with `--sample-executions=false`).
    #[default]
    Enabled,
    /// Make no execution reads for this machine; `status.executions` is removed.
    Disabled,
}

/// Executions with one of these statuses count as failures: FAILED, TIMED_OUT and ABORTED (an aborted
/// execution was stopped before it finished its work).
pub const FAILURE_STATUSES: [&str; 3] = ["FAILED", "TIMED_OUT", "ABORTED"];

/// Statuses of an execution that has not ended: RUNNING, and PENDING_REDRIVE (a redrive was requested and
/// has not started yet).
pub const RUNNING_STATUSES: [&str; 2] = ["RUNNING", "PENDING_REDRIVE"];

/// Most characters of a failure's cause kept in `status.executions.lastFailed.cause` (AWS allows 32,768;
/// `sfn-operator describe` shows all of it).
pub const MAX_CAUSE_CHARS: usize = 1024;

/// A summary of the newest executions of a Standard state machine, as last sampled.
// Absent values are written as null, not left out: the status is merge-patched, and an omitted field
// would keep its old value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionsStatus {
    /// Executions not ended (RUNNING or PENDING_REDRIVE) among those read. A lower bound when `truncated`.
    #[serde(default)]
    pub running: u32,
    /// Executions among those read that ended as FAILED, TIMED_OUT or ABORTED within the hour before the
    /// sample. A lower bound when `truncated`.
    #[serde(default)]
    pub failures_last_hour: u32,
    /// More executions exist than were read (one page of the newest): `running` and `failuresLastHour`
    /// count only the ones read, so they are lower bounds. `lastStarted` is exact either way.
    #[serde(default)]
    pub truncated: bool,
    /// How many executions were read (at most the page size, 100).
    #[serde(default)]
    pub read: u32,
    /// The most recently started execution.
    #[serde(default)]
    pub last_started: Option<StartedExecution>,
    /// The most recently ended failure (FAILED, TIMED_OUT or ABORTED) known, with AWS's error and cause.
    #[serde(default)]
    pub last_failed: Option<FailedExecution>,
}

/// An execution as `status.executions.lastStarted` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedExecution {
    /// Execution name.
    #[schemars(length(max = 80))]
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE.
    #[schemars(length(max = 32))]
    pub status: String,
    /// When it started (RFC 3339).
    #[schemars(length(max = 64))]
    pub start_time: String,
}

/// A failed execution as `status.executions.lastFailed` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedExecution {
    /// Execution name.
    #[schemars(length(max = 80))]
    pub name: String,
    /// FAILED, TIMED_OUT or ABORTED.
    #[schemars(length(max = 32))]
    pub status: String,
    /// The error code AWS reports for it (for example `States.Timeout` or a Fail state's `Error`).
    #[serde(default)]
    #[schemars(length(max = 256))]
    pub error: Option<String>,
    /// The cause AWS reports, cut to its first 1024 characters.
    #[serde(default)]
    #[schemars(length(max = 1100))]
    pub cause: Option<String>,
    /// When it ended (RFC 3339).
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub stop_time: Option<String>,
}

/// `cause` cut to [`MAX_CAUSE_CHARS`] characters, with `…` when something was cut.
pub fn shorten_cause(cause: &str) -> String {
    match cause.char_indices().nth(MAX_CAUSE_CHARS) {
        None => cause.to_owned(),
        Some((end, _)) => format!("{}…", &cause[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_machines_that_do_not_opt_out_are_summarised() {
        use crate::{StateMachineSpec, WorkflowType};
        let spec = |type_, mode| StateMachineSpec {
            type_,
            execution_summary: mode,
            ..Default::default()
        };
        assert!(spec(None, None).wants_execution_summary());
        assert!(
            spec(
                Some(WorkflowType::Standard),
                Some(ExecutionSummaryMode::Enabled)
            )
            .wants_execution_summary()
        );
        assert!(!spec(None, Some(ExecutionSummaryMode::Disabled)).wants_execution_summary());
        assert!(!spec(Some(WorkflowType::Express), None).wants_execution_summary());
        let parsed: StateMachineSpec =
            serde_json::from_value(serde_json::json!({"executionSummary": "Disabled"})).unwrap();
        assert_eq!(
            parsed.execution_summary,
            Some(ExecutionSummaryMode::Disabled)
        );
    }

    #[test]
    fn long_causes_are_cut_on_a_character_boundary() {
        assert_eq!(shorten_cause("short"), "short");
        let exact = "é".repeat(MAX_CAUSE_CHARS);
        assert_eq!(shorten_cause(&exact), exact);
        let long = "é".repeat(MAX_CAUSE_CHARS + 5);
        let cut = shorten_cause(&long);
        assert_eq!(cut.chars().count(), MAX_CAUSE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn the_summary_serializes_in_camel_case_with_absent_values_as_null() {
        let st = ExecutionsStatus {
            running: 2,
            failures_last_hour: 1,
            read: 3,
            ..Default::default()
        };
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["failuresLastHour"], 1);
        assert_eq!(json["truncated"], false);
        assert_eq!(json["lastFailed"], serde_json::Value::Null);
    }
}
