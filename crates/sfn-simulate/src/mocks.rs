//! Mocked Task responses, keyed by state name, in the spirit of Step Functions Local's mock configuration and
//! the TestState API's `mock` field: each Task state gets a list of responses consumed by successive calls
//! (retries and loop iterations included); the last response repeats once the list is used up.
//!
//! ```yaml
//! GetJobStatus:
//!   - return: {status: RUNNING}
//!   - return: {status: SUCCEEDED}
//! SubmitJob:
//!   error: Lambda.ServiceException
//!   cause: throttled
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One mocked call outcome.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MockResponse {
    /// The task result (the `Payload`-less raw result; for `.waitForTaskToken` tasks, what `SendTaskSuccess`
    /// would send).
    #[serde(default, rename = "return", skip_serializing_if = "Option::is_none")]
    pub return_value: Option<Value>,
    /// An error name, making the call fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause of the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Virtual seconds the call takes; beyond the state's `TimeoutSeconds` the call fails with `States.Timeout`.
    #[serde(
        default,
        rename = "delaySeconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay_seconds: Option<f64>,
}

/// Mocks for all Task states of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mocks {
    by_state: BTreeMap<String, Vec<MockResponse>>,
}

/// A mocks document that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid mocks for state '{state}': {reason}")]
pub struct MockError {
    /// The state whose entry is wrong (`(document)` for the whole file).
    pub state: String,
    /// What is wrong.
    pub reason: String,
}

impl Mocks {
    /// No mocks at all (every Task state fails the simulation).
    pub fn new() -> Mocks {
        Mocks::default()
    }

    /// Adds responses for a state (appended to any already present).
    pub fn insert(&mut self, state: impl Into<String>, responses: Vec<MockResponse>) {
        self.by_state
            .entry(state.into())
            .or_default()
            .extend(responses);
    }

    /// Reads mocks from a JSON value (the parsed YAML document): a map from state name to one response or a list.
    pub fn from_value(value: &Value) -> Result<Mocks, MockError> {
        let obj = match value {
            Value::Null => return Ok(Mocks::new()),
            Value::Object(o) => o,
            _ => {
                return Err(MockError {
                    state: "(document)".into(),
                    reason: "the mocks must be a map from state name to responses".into(),
                });
            }
        };
        let mut mocks = Mocks::new();
        for (state, v) in obj {
            // Decided by shape: serde would also read a struct from a sequence.
            let parsed = match v {
                Value::Array(_) => serde_json::from_value::<Vec<MockResponse>>(v.clone()),
                _ => serde_json::from_value::<MockResponse>(v.clone()).map(|r| vec![r]),
            };
            let list = parsed.map_err(|e| MockError {
                state: state.clone(),
                reason: format!(
                    "expected {{return: ...}} or {{error: ..., cause: ...}} or a list of them: {e}"
                ),
            })?;
            if list.is_empty() {
                return Err(MockError {
                    state: state.clone(),
                    reason: "the list of responses is empty".into(),
                });
            }
            for (i, r) in list.iter().enumerate() {
                if r.return_value.is_some() && r.error.is_some() {
                    return Err(MockError {
                        state: state.clone(),
                        reason: format!("response {i} has both 'return' and 'error'"),
                    });
                }
            }
            mocks.insert(state.clone(), list);
        }
        Ok(mocks)
    }

    /// Reads mocks from YAML (or JSON) text.
    pub fn from_yaml(text: &str) -> Result<Mocks, MockError> {
        let value: Value = serde_saphyr::from_str(text).map_err(|e| MockError {
            state: "(document)".into(),
            reason: e.to_string(),
        })?;
        Mocks::from_value(&value)
    }

    /// The response to the `call`-th call (0-based) of `state`; the last response repeats.
    pub fn response(&self, state: &str, call: usize) -> Option<&MockResponse> {
        let list = self.by_state.get(state)?;
        list.get(call).or_else(|| list.last())
    }

    /// Whether any mock exists for `state`.
    pub fn has(&self, state: &str) -> bool {
        self.by_state.contains_key(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_single_responses() {
        let m = Mocks::from_yaml(
            "A:\n  - return: {x: 1}\n  - error: Boom\n    cause: bad\nB:\n  return: 2\n",
        )
        .unwrap();
        assert_eq!(
            m.response("A", 0).unwrap().return_value,
            Some(serde_json::json!({"x": 1}))
        );
        assert_eq!(m.response("A", 1).unwrap().error.as_deref(), Some("Boom"));
        assert_eq!(m.response("A", 7).unwrap().error.as_deref(), Some("Boom"));
        assert_eq!(
            m.response("B", 3).unwrap().return_value,
            Some(serde_json::json!(2))
        );
        assert!(m.response("C", 0).is_none());
    }

    #[test]
    fn rejects_bad_shapes_naming_the_state() {
        let e = Mocks::from_yaml("A:\n  - retrun: 1\n").unwrap_err();
        assert_eq!(e.state, "A");
        let e = Mocks::from_yaml("A:\n  return: 1\n  error: X\n").unwrap_err();
        assert_eq!(e.state, "A");
        assert!(Mocks::from_yaml("[1, 2]").is_err());
    }
}
