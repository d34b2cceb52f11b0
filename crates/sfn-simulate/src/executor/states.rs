//! The states that do their work in one step: Pass, Wait, Choice, Succeed's output and Fail's error and
//! cause. Task, Parallel and Map go through Retry and Catch instead (see `retry`).

use serde_json::Value;

use super::{Done, Machine, Ql, Res, St, Stop, Vars, compact};
use crate::Failure;
use crate::choice;

impl Machine<'_> {
    pub(super) fn plain_output(
        &mut self,
        st: &St<'_>,
        input: Value,
        vars: &mut Vars,
    ) -> Res<Value> {
        match st.ql {
            Ql::JsonPath => {
                let effective = self.input_path(st, &input, vars)?;
                Ok(self.select_field(st, "OutputPath", &effective, vars)?)
            }
            Ql::Jsonata => {
                let states = self.states_var(st, &input, &[]);
                Ok(self.jsonata_finish(
                    st,
                    &states,
                    input.clone(),
                    vars,
                    st.get("Assign"),
                    st.get("Output"),
                )?)
            }
        }
    }

    pub(super) fn pass(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
        let next = self.transition(st)?;
        let output = match st.ql {
            Ql::JsonPath => {
                let effective = self.input_path(st, &input, vars)?;
                let result = if let Some(r) = st.get("Result") {
                    r.clone()
                } else if let Some(p) = st.get("Parameters") {
                    let ctx = st.ctx().clone();
                    self.payload(st, p, &effective, &ctx, vars)?
                } else {
                    effective
                };
                self.check_size(st, &result)?;
                self.assign_jsonpath(st, st.get("Assign"), &result, vars)?;
                let combined = self.result_path(st, &input, result, st.get("ResultPath"))?;
                self.select_field(st, "OutputPath", &combined, vars)?
            }
            Ql::Jsonata => {
                let states = self.states_var(st, &input, &[]);
                let out = self.jsonata_finish(
                    st,
                    &states,
                    input.clone(),
                    vars,
                    st.get("Assign"),
                    st.get("Output"),
                )?;
                self.check_size(st, &out)?;
                out
            }
        };
        Ok(Done { output, next })
    }

    pub(super) fn wait(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
        let next = self.transition(st)?;
        let ctx = st.ctx().clone();
        let states = self.states_var_if_jsonata(st, &input);
        let effective = match st.ql {
            Ql::JsonPath => self.input_path(st, &input, vars)?,
            Ql::Jsonata => input.clone(),
        };
        let value_of = |m: &mut Self, field: &str| -> Result<Option<Value>, Failure> {
            let Some(v) = st.get(field) else {
                return Ok(None);
            };
            match st.ql {
                Ql::Jsonata => m.jsonata_value(st, field, v, &states, vars).map(Some),
                Ql::JsonPath => Ok(Some(v.clone())),
            }
        };
        let mut until: Option<i64> = None;
        if let Some(s) = value_of(self, "Seconds")? {
            let secs = s.as_f64().filter(|f| *f >= 0.0).ok_or_else(|| {
                st.runtime(format!(
                    "The Seconds field must be a non-negative number, found {s}"
                ))
            })?;
            until = Some(self.clock + (secs * 1000.0) as i64);
        } else if let Some(Value::String(p)) = st.get("SecondsPath") {
            let v = self.lookup(p, &effective, &ctx, vars).ok().flatten();
            // "You must specify an integer value for this field" (state-wait.html): 1.5 and -1 fail the
            // execution. The guide names no error; States.Runtime is what the simulator raises for every
            // other unusable Wait value, and what AWS recorded for an unusable MaxConcurrencyPath value.
            // Whether AWS takes 2.0 as 2 is not documented: JSON does not tell them apart, so it does here.
            let secs = v
                .as_ref()
                .and_then(Value::as_f64)
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .ok_or_else(|| {
                    st.runtime(format!(
                    "The SecondsPath parameter does not reference a valid non-negative integer: {p}"
                ))
                })?;
            until = Some(self.clock + (secs * 1000.0) as i64);
        } else if let Some(t) = value_of(self, "Timestamp")? {
            // Literal or produced by JSONata, a Timestamp must conform to the RFC 3339 profile of
            // state-wait.html (see `choice::parse_rfc3339`). The guide names no error for a value that does
            // not; States.Runtime, as for the other Wait fields.
            let ts = t.as_str().and_then(choice::parse_rfc3339).ok_or_else(|| {
                st.runtime(format!(
                    "The Timestamp field is not a valid ISO-8601 timestamp: {t}"
                ))
            })?;
            until = Some(ts.as_millisecond());
        } else if let Some(Value::String(p)) = st.get("TimestampPath") {
            let v = self.lookup(p, &effective, &ctx, vars).ok().flatten();
            let ts = v.as_ref().and_then(Value::as_str).and_then(choice::parse_rfc3339).ok_or_else(|| {
                st.runtime(format!("The TimestampPath parameter does not reference a valid ISO-8601 timestamp: {p}"))
            })?;
            until = Some(ts.as_millisecond());
        }
        if let Some(u) = until {
            self.clock = self.clock.max(u);
        }
        let output = match st.ql {
            Ql::JsonPath => {
                self.assign_jsonpath(st, st.get("Assign"), &effective, vars)?;
                self.select_field(st, "OutputPath", &effective, vars)?
            }
            Ql::Jsonata => self.jsonata_finish(
                st,
                &states,
                input.clone(),
                vars,
                st.get("Assign"),
                st.get("Output"),
            )?,
        };
        Ok(Done { output, next })
    }

    pub(super) fn choice(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
        let rules = st
            .get("Choices")
            .and_then(Value::as_array)
            .ok_or_else(|| st.invalid("Choices", "missing or not an array"))?;
        let ctx = st.ctx().clone();
        match st.ql {
            Ql::JsonPath => {
                let effective = self.input_path(st, &input, vars)?;
                let mut chosen: Option<&Value> = None;
                for rule in rules {
                    let lookup = |p: &str| -> Result<Option<Value>, Failure> {
                        self.lookup(p, &effective, &ctx, vars)
                            .map_err(|e| st.runtime(format!("Invalid path '{p}': {e}")))
                    };
                    if choice::evaluate(rule, &lookup).map_err(|f| Failure {
                        error: f.error,
                        cause: f.cause.map(|c| format!("{}{c}", st.prefix())),
                    })? {
                        chosen = Some(rule);
                        break;
                    }
                }
                let (next, assign) = match chosen {
                    Some(rule) => (
                        rule.get("Next").and_then(Value::as_str).map(str::to_string),
                        rule.get("Assign"),
                    ),
                    None => (
                        st.get("Default")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        st.get("Assign"),
                    ),
                };
                let Some(next) = next else {
                    return Err(Failure::new(
                        "States.NoChoiceMatched",
                        format!(
                            "{}No Choice Rule matched and no Default is set.",
                            st.prefix()
                        ),
                    )
                    .into());
                };
                self.assign_jsonpath(st, assign, &effective, vars)?;
                let output = self.select_field(st, "OutputPath", &effective, vars)?;
                Ok(Done {
                    output,
                    next: Some(next),
                })
            }
            Ql::Jsonata => {
                let states = self.states_var(st, &input, &[]);
                let mut chosen: Option<&Value> = None;
                for rule in rules {
                    let cond = rule.get("Condition").ok_or_else(|| {
                        st.invalid("Choices", "a JSONata choice rule needs 'Condition'")
                    })?;
                    let v = self.jsonata_value(st, "Condition", cond, &states, vars)?;
                    match v {
                        Value::Bool(true) => {
                            chosen = Some(rule);
                            break;
                        }
                        Value::Bool(false) => {}
                        other => {
                            return Err(st
                                .query_error(format!(
                                    "The Condition field evaluated to {other}, which is not a boolean."
                                ))
                                .into());
                        }
                    }
                }
                let (next, assign, output) = match chosen {
                    Some(rule) => (
                        rule.get("Next").and_then(Value::as_str).map(str::to_string),
                        rule.get("Assign"),
                        rule.get("Output").or(st.get("Output")),
                    ),
                    None => (
                        st.get("Default")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        st.get("Assign"),
                        st.get("Output"),
                    ),
                };
                let Some(next) = next else {
                    return Err(Failure::new(
                        "States.NoChoiceMatched",
                        format!(
                            "{}No Choice Rule matched and no Default is set.",
                            st.prefix()
                        ),
                    )
                    .into());
                };
                let output =
                    self.jsonata_finish(st, &states, input.clone(), vars, assign, output)?;
                Ok(Done {
                    output,
                    next: Some(next),
                })
            }
        }
    }

    pub(super) fn fail_state(
        &mut self,
        st: &St<'_>,
        input: &Value,
        vars: &mut Vars,
    ) -> Result<Failure, Stop> {
        let ctx = st.ctx().clone();
        let read = |m: &mut Self, field: &str| -> Result<Option<String>, Failure> {
            if let Some(v) = st.get(field) {
                return match st.ql {
                    Ql::Jsonata => {
                        let states = m.states_var(st, input, &[]);
                        let v = m.jsonata_value(st, field, v, &states, vars)?;
                        Ok(Some(match v {
                            Value::String(s) => s,
                            other => compact(&other),
                        }))
                    }
                    Ql::JsonPath => Ok(v.as_str().map(str::to_string)),
                };
            }
            let path_field = format!("{field}Path");
            if let Some(Value::String(p)) = st.get(&path_field) {
                let v = m.dynamic(st, &path_field, p, input, &ctx, vars)?;
                return Ok(Some(match v {
                    Value::String(s) => s,
                    other => compact(&other),
                }));
            }
            Ok(None)
        };
        let error = read(self, "Error")?;
        let cause = read(self, "Cause")?;
        Ok(Failure { error, cause })
    }
}
