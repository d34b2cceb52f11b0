//! Retry and Catch around Task, Parallel and Map: matching `ErrorEquals`, backoff on the simulated
//! clock, and handing a caught error to the catcher's next state.

use serde_json::{Map, Value};

use super::{Done, Machine, Ql, Res, St, Stop, Vars};
use crate::Failure;

impl Machine<'_> {
    pub(super) fn with_retry_catch(
        &mut self,
        st: &St<'_>,
        input: Value,
        vars: &mut Vars,
    ) -> Res<Done> {
        let next = self.transition(st)?;
        let retriers: Vec<&Map<String, Value>> = st
            .get("Retry")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        let catchers: Vec<&Map<String, Value>> = st
            .get("Catch")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        let mut attempts = vec![0u32; retriers.len()];
        let mut retry_count = 0u32;
        loop {
            // Assignments of a failed attempt never take effect.
            self.pending.clear();
            self.assigned = None;
            let mut scoped = vars.clone();
            let outcome = match st.kind.as_str() {
                "Task" => self.task(st, &input, &mut scoped, retry_count),
                "Parallel" => self.parallel(st, &input, &mut scoped),
                _ => self.map(st, &input, &mut scoped),
            };
            let failure = match outcome {
                Ok(output) => {
                    *vars = scoped;
                    return Ok(Done { output, next });
                }
                Err(Stop::Fail(f)) => f,
                Err(abort) => return Err(abort),
            };
            if let Some(i) = retriers
                .iter()
                .position(|r| error_matches(r.get("ErrorEquals"), &failure, &st.kind))
            {
                let r = retriers[i];
                let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3) as u32;
                if attempts[i] < max {
                    let interval = r
                        .get("IntervalSeconds")
                        .and_then(Value::as_f64)
                        .unwrap_or(1.0);
                    let backoff = r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0);
                    let mut delay = interval * backoff.powi(attempts[i] as i32);
                    if let Some(cap) = r.get("MaxDelaySeconds").and_then(Value::as_f64) {
                        delay = delay.min(cap);
                    }
                    if r.get("JitterStrategy").and_then(Value::as_str) == Some("FULL") {
                        delay *= self.rng.next_f64();
                    }
                    self.clock += (delay * 1000.0) as i64;
                    attempts[i] += 1;
                    retry_count += 1;
                    continue;
                }
            }
            let Some(c) = catchers
                .iter()
                .find(|c| error_matches(c.get("ErrorEquals"), &failure, &st.kind))
            else {
                return Err(Stop::Fail(failure));
            };
            if matches!(st.kind.as_str(), "Map" | "Parallel") {
                self.event(&format!("{}StateFailed", st.kind), None);
            }
            let cnext = c
                .get("Next")
                .and_then(Value::as_str)
                .ok_or_else(|| st.invalid("Catch", "a catcher needs 'Next'"))?
                .to_string();
            let mut err_out = Map::new();
            if let Some(e) = &failure.error {
                err_out.insert("Error".into(), Value::String(e.clone()));
            }
            if let Some(cause) = &failure.cause {
                err_out.insert("Cause".into(), Value::String(cause.clone()));
            }
            let err_out = Value::Object(err_out);
            let output = match st.ql {
                Ql::JsonPath => {
                    self.assign_jsonpath(st, c.get("Assign"), &err_out, vars)?;
                    self.result_path(st, &input, err_out, c.get("ResultPath"))?
                }
                Ql::Jsonata => {
                    let states = self.states_var(st, &input, &[("errorOutput", &err_out)]);
                    self.jsonata_finish(
                        st,
                        &states,
                        err_out.clone(),
                        vars,
                        c.get("Assign"),
                        c.get("Output"),
                    )?
                }
            };
            return Ok(Done {
                output,
                next: Some(cnext),
            });
        }
    }
}

/// Whether a Retry/Catch `ErrorEquals` list matches a failure, with AWS's wildcard rules: `States.ALL` matches
/// everything except `States.Runtime` and `States.DataLimitExceeded`; `States.TaskFailed` matches every Task
/// error except `States.Timeout`.
fn error_matches(list: Option<&Value>, f: &Failure, kind: &str) -> bool {
    let name = f.error.as_deref().unwrap_or("");
    let terminal = matches!(name, "States.Runtime" | "States.DataLimitExceeded");
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|e| match e {
            "States.ALL" => !terminal,
            "States.TaskFailed" => kind == "Task" && !terminal && name != "States.Timeout",
            other => other == name && name != "States.Runtime",
        })
}
