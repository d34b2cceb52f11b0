//! The test-file format of `sfn-operator test` and the comparison of an [`Execution`] with a case's
//! expectations. Loading files and resolving the state machine is the CLI's job; this module stays pure.
//!
//! ```yaml
//! stateMachine: ../examples/job-poller.yaml   # manifest or .asl.json, relative to the test file
//! name: job-poller                            # which StateMachine in the manifest (optional if only one)
//! cases:
//!   - name: job finishes on the second poll
//!     input: {jobName: nightly}
//!     mocks:
//!       GetStatus: [{return: {status: RUNNING}}, {return: {status: SUCCEEDED}}]
//!     expect:
//!       status: SUCCEEDED
//!       output: {status: SUCCEEDED}
//!       states: [Submit, Wait, GetStatus, Check, Wait, GetStatus, Check, Done]
//! ```

use serde::Deserialize;
use serde_json::Value;

use super::{Execution, Status};

/// A test file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestFile {
    /// Path of the manifest or `.asl.json`, relative to the test file.
    pub state_machine: String,
    /// Name of the StateMachine object when the manifest holds several.
    #[serde(default)]
    pub name: Option<String>,
    /// Mocks shared by every case (a case's own mocks replace entries of the same state).
    #[serde(default)]
    pub mocks: Option<Value>,
    /// The cases.
    pub cases: Vec<TestCase>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestCase {
    /// Shown in the report.
    pub name: String,
    /// Execution input (default `{}`).
    #[serde(default)]
    pub input: Option<Value>,
    /// Mocks per Task state.
    #[serde(default)]
    pub mocks: Option<Value>,
    /// Transition limit for this case.
    #[serde(default)]
    pub max_transitions: Option<usize>,
    /// What must be true.
    pub expect: Expect,
}

/// Expectations of a case; fields left out are not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// SUCCEEDED or FAILED.
    pub status: Status,
    /// The exact output.
    #[serde(default)]
    pub output: Option<Value>,
    /// Fields that the output object must contain (recursively), ignoring others.
    #[serde(default)]
    pub output_contains: Option<Value>,
    /// The error name.
    #[serde(default)]
    pub error: Option<String>,
    /// The cause (exact).
    #[serde(default)]
    pub cause: Option<String>,
    /// The exact sequence of states entered.
    #[serde(default)]
    pub states: Option<Vec<String>>,
}

/// Whether `actual` contains everything in `expected` (objects: a subset of keys, recursively; arrays and
/// scalars: equal).
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        _ => actual == expected,
    }
}

/// The differences between an execution and the expectations; empty when the case passes.
pub fn check(expect: &Expect, exec: &Execution) -> Vec<String> {
    let mut problems = Vec::new();
    if exec.status != expect.status {
        let detail = match exec.status {
            Status::Failed => format!(
                " (error {:?}, cause {:?})",
                exec.error.as_deref().unwrap_or(""),
                exec.cause.as_deref().unwrap_or("")
            ),
            Status::Succeeded => String::new(),
        };
        problems.push(format!(
            "status: expected {}, got {}{detail}",
            expect.status, exec.status
        ));
    }
    if let Some(o) = &expect.output {
        let actual = exec.output.clone().unwrap_or(Value::Null);
        if &actual != o {
            problems.push(format!("output: expected {o}, got {actual}"));
        }
    }
    if let Some(o) = &expect.output_contains {
        let actual = exec.output.clone().unwrap_or(Value::Null);
        if !contains(&actual, o) {
            problems.push(format!("output: expected to contain {o}, got {actual}"));
        }
    }
    if let Some(e) = &expect.error
        && exec.error.as_ref() != Some(e)
    {
        problems.push(format!("error: expected {e:?}, got {:?}", exec.error));
    }
    if let Some(c) = &expect.cause
        && exec.cause.as_ref() != Some(c)
    {
        problems.push(format!("cause: expected {c:?}, got {:?}", exec.cause));
    }
    if let Some(s) = &expect.states
        && &exec.states_visited != s
    {
        problems.push(format!(
            "states: expected [{}], got [{}]",
            s.join(", "),
            exec.states_visited.join(", ")
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exec(status: Status, output: Option<Value>) -> Execution {
        Execution {
            status,
            output,
            error: None,
            cause: None,
            history: vec![],
            states_visited: vec!["A".into(), "B".into()],
            transitions: 2,
            elapsed_ms: 0,
        }
    }

    #[test]
    fn passes_and_reports_each_difference() {
        let expect: Expect = serde_json::from_value(json!({
            "status": "SUCCEEDED", "outputContains": {"a": {"b": 1}}, "states": ["A", "B"]
        }))
        .unwrap();
        assert!(
            check(
                &expect,
                &exec(Status::Succeeded, Some(json!({"a": {"b": 1, "c": 2}})))
            )
            .is_empty()
        );
        let problems = check(&expect, &exec(Status::Failed, None));
        assert_eq!(problems.len(), 2, "{problems:?}");
        let strict: Expect = serde_json::from_value(
            json!({"status": "SUCCEEDED", "output": {"a": 1}, "states": ["A"]}),
        )
        .unwrap();
        assert_eq!(
            check(&strict, &exec(Status::Succeeded, Some(json!({"a": 2})))).len(),
            2
        );
    }
}
