//! The run loop: walking a chain of states (the top-level one, each Parallel branch and each Map
//! iteration), transitions, dispatch by state type, and the event history every step appends to.

use std::cell::OnceCell;

use serde_json::{Map, Value, json};

use super::{
    Done, MAX_NESTING, MAX_PAYLOAD_BYTES, Machine, Res, St, Stop, Vars, compact, is_terminal, iso,
    ql_of,
};
use crate::{Failure, SimulateError};

impl Machine<'_> {
    fn iso_now(&mut self) -> String {
        if self.iso_cache.0 != self.clock {
            self.iso_cache = (self.clock, iso(self.clock));
        }
        self.iso_cache.1.clone()
    }

    pub(super) fn event(&mut self, kind: &str, details: Option<(&str, Value)>) -> usize {
        let id = self.history.len() + 1;
        let mut e = Map::new();
        e.insert("id".into(), Value::from(id));
        e.insert("previousEventId".into(), Value::from(id - 1));
        let now = self.iso_now();
        e.insert("timestamp".into(), Value::String(now));
        e.insert("type".into(), Value::String(kind.into()));
        if let Some((k, v)) = details {
            e.insert(k.into(), v);
        }
        self.history.push(Value::Object(e));
        id
    }

    pub(super) fn run_chain(
        &mut self,
        states: &Map<String, Value>,
        start: &str,
        input: Value,
        vars: &mut Vars,
    ) -> Res<Value> {
        if self.nesting > MAX_NESTING {
            return Err(SimulateError::InvalidDefinition {
                state: start.to_string(),
                field: "States".into(),
                reason: format!("Parallel and Map states are nested more than {MAX_NESTING} deep"),
            }
            .into());
        }
        self.nesting += 1;
        let r = self.run_chain_inner(states, start, input, vars);
        self.nesting -= 1;
        r
    }

    fn run_chain_inner(
        &mut self,
        states: &Map<String, Value>,
        start: &str,
        input: Value,
        vars: &mut Vars,
    ) -> Res<Value> {
        let mut current = start.to_string();
        let mut input = input;
        let mut input_text: Option<String> = None;
        loop {
            self.transitions += 1;
            if self.transitions > self.opts.max_transitions {
                return Err(SimulateError::TransitionLimit {
                    limit: self.opts.max_transitions,
                    state: current,
                }
                .into());
            }
            let def = states
                .get(&current)
                .and_then(Value::as_object)
                .ok_or_else(|| SimulateError::InvalidDefinition {
                    state: current.clone(),
                    field: "Next".into(),
                    reason: "no state of this name exists in its state list".into(),
                })?;
            let kind = def
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| SimulateError::InvalidDefinition {
                    state: current.clone(),
                    field: "Type".into(),
                    reason: "missing or not a string".into(),
                })?
                .to_string();
            let entered_id = self.event(
                &format!("{kind}StateEntered"),
                Some((
                    "stateEnteredEventDetails",
                    json!({"name": current, "input": input_text.take().unwrap_or_else(|| compact(&input))}),
                )),
            );
            self.visited.push(current.clone());
            self.assigned = None;
            self.pending.clear();
            let st = St {
                name: current.clone(),
                def,
                kind: kind.clone(),
                ql: ql_of(def.get("QueryLanguage"), self.default_ql),
                entered_id,
                ctx_cell: OnceCell::new(),
                ctx_base: Some((self.exec_ctx.clone(), self.iso_now())),
            };
            // Every state output is subject to the payload limit, whatever produced it.
            let mut output_text = String::new();
            let ran = self.run_state(&st, input, vars).and_then(|d| {
                output_text = compact(&d.output);
                if output_text.len() > MAX_PAYLOAD_BYTES {
                    Err(Stop::Fail(Failure::new(
                        "States.DataLimitExceeded",
                        format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            st.name
                        ),
                    )))
                } else {
                    Ok(d)
                }
            });
            let done = match ran {
                Ok(d) => {
                    // Variables assigned by the state take effect only once it has completed: its own
                    // ResultPath/OutputPath still saw the old values, as on AWS.
                    for (k, v) in self.pending.drain(..) {
                        vars.insert(k, v);
                    }
                    d
                }
                Err(Stop::Fail(f)) => {
                    // Event shapes as AWS records them: terminal errors end the execution at once; a JSONata
                    // error raised by this state is an EvaluationFailed event; Map and Parallel close with
                    // their own Failed event.
                    let terminal = is_terminal(&f);
                    let mut details = Map::new();
                    if let Some(e) = &f.error {
                        details.insert("error".into(), Value::String(e.clone()));
                    }
                    if let Some(c) = &f.cause {
                        details.insert("cause".into(), Value::String(c.clone()));
                    }
                    let raised_here = f.cause.as_deref().is_some_and(|c| {
                        c.contains(&format!("(entered at the event id #{entered_id})"))
                    });
                    if f.error.as_deref() == Some("States.QueryEvaluationError") && raised_here {
                        let mut d = details.clone();
                        if let Some(location) = self.eval_location.take() {
                            d.insert("location".into(), Value::String(location));
                        }
                        d.insert("state".into(), Value::String(current.clone()));
                        self.event(
                            "EvaluationFailed",
                            Some(("evaluationFailedEventDetails", Value::Object(d))),
                        );
                    }
                    if !terminal && matches!(kind.as_str(), "Map" | "Parallel") {
                        self.event(&format!("{kind}StateFailed"), None);
                    }
                    return Err(Stop::Fail(f));
                }
                Err(abort) => return Err(abort),
            };
            let mut exited = Map::new();
            exited.insert("name".into(), Value::String(current.clone()));
            exited.insert("output".into(), Value::String(output_text.clone()));
            if let Some(assigned) = self.assigned.take() {
                exited.insert("assignedVariables".into(), Value::Object(assigned));
            }
            self.event(
                &format!("{kind}StateExited"),
                Some(("stateExitedEventDetails", Value::Object(exited))),
            );
            match done.next {
                Some(n) => {
                    current = n;
                    input = done.output;
                    // The next state's entered event records this same text.
                    input_text = Some(output_text);
                }
                None => return Ok(done.output),
            }
        }
    }

    pub(super) fn transition(&self, st: &St<'_>) -> Result<Option<String>, SimulateError> {
        if st.get("End").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        match st.get("Next").and_then(Value::as_str) {
            Some(n) => Ok(Some(n.to_string())),
            None => Err(st.invalid("Next", "the state has neither 'Next' nor 'End: true'")),
        }
    }

    fn run_state(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
        match st.kind.as_str() {
            "Pass" => self.pass(st, input, vars),
            "Task" | "Parallel" | "Map" => self.with_retry_catch(st, input, vars),
            "Wait" => self.wait(st, input, vars),
            "Choice" => self.choice(st, input, vars),
            "Succeed" => {
                let output = self.plain_output(st, input, vars)?;
                Ok(Done { output, next: None })
            }
            "Fail" => Err(self.fail_state(st, &input, vars)?.into()),
            other => Err(st
                .invalid("Type", format!("unknown state type '{other}'"))
                .into()),
        }
    }
}
