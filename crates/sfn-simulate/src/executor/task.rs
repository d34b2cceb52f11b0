//! The Task state: resolving the resource and arguments, calling the mock, timeouts and heartbeats, and
//! the task events of the history.

use serde_json::{Value, json};

use super::expressions::jsonata_expr;
use super::{Machine, Ql, Res, St, Vars, compact};
use crate::Failure;
use crate::SimulateError;

impl Machine<'_> {
    pub(super) fn task(
        &mut self,
        st: &St<'_>,
        input: &Value,
        vars: &mut Vars,
        retry_count: u32,
    ) -> Res<Value> {
        let resource = st
            .get("Resource")
            .and_then(Value::as_str)
            .ok_or_else(|| st.invalid("Resource", "a Task state needs a 'Resource' string"))?
            .to_string();
        let mut ctx = st.ctx().clone();
        if let Some(state) = ctx.get_mut("State").and_then(Value::as_object_mut) {
            state.insert("RetryCount".into(), Value::from(retry_count));
        }
        if resource.ends_with(".waitForTaskToken") {
            let token = self.rng.uuid();
            if let Some(o) = ctx.as_object_mut() {
                o.insert("Task".into(), json!({"Token": token}));
            }
        }
        let st_ctx = st.with_ctx(ctx);
        let st = &st_ctx;
        let states = self.states_var_if_jsonata(st, input);
        let parameters = match st.ql {
            Ql::JsonPath => {
                let effective = self.input_path(st, input, vars)?;
                match st.get("Parameters") {
                    Some(p) => {
                        let ctx = st.ctx().clone();
                        self.payload(st, p, &effective, &ctx, vars)?
                    }
                    None => effective,
                }
            }
            Ql::Jsonata => match st.get("Arguments") {
                Some(a) => self.jsonata_value(st, "Arguments", a, &states, vars)?,
                None => input.clone(),
            },
        };
        let timeout = match st.get("TimeoutSeconds") {
            Some(v) if st.ql == Ql::Jsonata && jsonata_expr(v).is_some() => self
                .jsonata_value(st, "TimeoutSeconds", v, &states, vars)?
                .as_f64(),
            Some(v) => v.as_f64(),
            None => match st.get("TimeoutSecondsPath").and_then(Value::as_str) {
                Some(p) => self
                    .lookup(p, input, st.ctx(), vars)
                    .ok()
                    .flatten()
                    .and_then(|v| v.as_f64()),
                None => None,
            },
        };
        self.event(
            "TaskScheduled",
            Some((
                "taskScheduledEventDetails",
                json!({"resource": resource, "parameters": compact(&parameters)}),
            )),
        );
        let call = self.calls.entry(st.name.clone()).or_insert(0);
        let index = *call;
        *call += 1;
        let response = self
            .mocks
            .response(&st.name, index)
            .cloned()
            .ok_or_else(|| SimulateError::MissingMock {
                state: st.name.clone(),
            })?;
        self.event(
            "TaskStarted",
            Some(("taskStartedEventDetails", json!({"resource": resource}))),
        );
        if let Some(d) = response.delay_seconds {
            if let Some(t) = timeout
                && d > t
            {
                self.clock += (t * 1000.0) as i64;
                self.event(
                    "TaskTimedOut",
                    Some((
                        "taskTimedOutEventDetails",
                        json!({"error": "States.Timeout"}),
                    )),
                );
                return Err(Failure {
                    error: Some("States.Timeout".into()),
                    cause: None,
                }
                .into());
            }
            self.clock += (d.max(0.0) * 1000.0) as i64;
        }
        if let Some(error) = response.error {
            self.event(
                "TaskFailed",
                Some((
                    "taskFailedEventDetails",
                    json!({"error": error, "cause": response.cause}),
                )),
            );
            return Err(Failure {
                error: Some(error),
                cause: response.cause,
            }
            .into());
        }
        let result = response.return_value.unwrap_or(Value::Null);
        self.event(
            "TaskSucceeded",
            Some((
                "taskSucceededEventDetails",
                json!({"output": compact(&result)}),
            )),
        );
        if matches!(st.ql, Ql::Jsonata) {
            self.check_size(st, &result)?;
        }
        self.finish_result(st, input, result, vars)
    }
}
