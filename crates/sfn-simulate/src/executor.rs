//! The interpreter: walks states, applies input/output processing for both query languages, runs Parallel
//! branches and Map iterations (sequentially, in order, which is one of the orders AWS may produce), applies
//! Retry and Catch, keeps variables per scope and records an execution history.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value, json};

use super::choice;
use super::intrinsics;
use super::jsonata::{Env, Evaluator, Outcome};
use super::jsonpath::{self, Path, Root};
use super::rng::Rng;
use super::{Execution, Failure, Mocks, Options, SimulateError, Status};

/// Step Functions' payload limit for state input, output and results (256 KiB).
const MAX_PAYLOAD_BYTES: usize = 262_144;

enum Stop {
    Fail(Failure),
    Abort(SimulateError),
}

impl From<SimulateError> for Stop {
    fn from(e: SimulateError) -> Self {
        Stop::Abort(e)
    }
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Fail(f)
    }
}

type Res<T> = Result<T, Stop>;
type Vars = Map<String, Value>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ql {
    JsonPath,
    Jsonata,
}

fn ql_of(v: Option<&Value>, default: Ql) -> Ql {
    match v.and_then(Value::as_str) {
        Some("JSONata") => Ql::Jsonata,
        Some("JSONPath") => Ql::JsonPath,
        _ => default,
    }
}

/// What a state is while it runs.
struct St<'d> {
    name: String,
    def: &'d Map<String, Value>,
    kind: String,
    ql: Ql,
    entered_id: usize,
    /// The context object, built on first use: most states never read it, and it holds the execution input.
    ctx_cell: OnceCell<Value>,
    /// What the context object is built from: the execution part and the state's entered time.
    ctx_base: Option<(Rc<Map<String, Value>>, String)>,
}

impl St<'_> {
    fn ctx(&self) -> &Value {
        self.ctx_cell.get_or_init(|| {
            let mut ctx = self
                .ctx_base
                .as_ref()
                .map(|(base, _)| (**base).clone())
                .unwrap_or_default();
            let entered = self
                .ctx_base
                .as_ref()
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            ctx.insert(
                "State".into(),
                json!({"Name": self.name, "EnteredTime": entered}),
            );
            Value::Object(ctx)
        })
    }

    /// A copy of this state with another context object (Map items, Task retries and tokens).
    fn with_ctx(&self, ctx: Value) -> St<'_> {
        St {
            name: self.name.clone(),
            def: self.def,
            kind: self.kind.clone(),
            ql: self.ql,
            entered_id: self.entered_id,
            ctx_cell: OnceCell::from(ctx),
            ctx_base: None,
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.def.get(field)
    }

    fn prefix(&self) -> String {
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). ",
            self.name, self.entered_id
        )
    }

    fn runtime(&self, msg: impl AsRef<str>) -> Failure {
        Failure::new(
            "States.Runtime",
            format!("{}{}", self.prefix(), msg.as_ref()),
        )
    }

    fn query_error(&self, msg: impl AsRef<str>) -> Failure {
        Failure::new(
            "States.QueryEvaluationError",
            format!("{}{}", self.prefix(), msg.as_ref()),
        )
    }

    fn invalid(&self, field: &str, reason: impl Into<String>) -> SimulateError {
        SimulateError::InvalidDefinition {
            state: self.name.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where a state goes after it completes.
struct Done {
    output: Value,
    next: Option<String>,
}

struct Machine<'a> {
    mocks: &'a Mocks,
    opts: &'a Options,
    calls: HashMap<String, usize>,
    rng: Rng,
    clock: i64,
    transitions: usize,
    history: Vec<Value>,
    visited: Vec<String>,
    exec_ctx: Rc<Map<String, Value>>,
    default_ql: Ql,
    /// Current nesting of Parallel branches and Map iterations.
    nesting: usize,
    /// The last formatted clock value (formatting dominates short states otherwise).
    iso_cache: (i64, String),
    /// Field of the last failed JSONata evaluation, for the EvaluationFailed event.
    eval_location: Option<String>,
    /// Assignments of the running state, applied when it completes.
    pending: Vec<(String, Value)>,
    /// Variables assigned by the running state, for its StateExited event.
    assigned: Option<Map<String, Value>>,
}

/// Deepest nesting of Parallel/Map run (AWS's own limits are far below what a stack would bear).
const MAX_NESTING: usize = 40;

fn iso(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn size_of(v: &Value) -> usize {
    compact(v).len()
}

pub(super) fn run(
    definition: &Value,
    input: &Value,
    mocks: &Mocks,
    opts: &Options,
) -> Result<Execution, SimulateError> {
    let def = definition
        .as_object()
        .ok_or_else(|| SimulateError::InvalidDefinition {
            state: "(definition)".into(),
            field: "(root)".into(),
            reason: "the definition must be a JSON object".into(),
        })?;
    let partition = if opts.region.starts_with("cn-") {
        "aws-cn"
    } else if opts.region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let sm_arn = format!(
        "arn:{partition}:states:{}:{}:stateMachine:{}",
        opts.region, opts.account, opts.state_machine_name
    );
    let exec_arn = format!(
        "arn:{partition}:states:{}:{}:execution:{}:{}",
        opts.region, opts.account, opts.state_machine_name, opts.execution_name
    );
    let mut exec_ctx = Map::new();
    exec_ctx.insert(
        "Execution".into(),
        json!({
            "Id": exec_arn,
            "Input": input,
            "StartTime": iso(opts.start_time_ms),
            "Name": opts.execution_name,
            "RoleArn": opts.role_arn,
            "RedriveCount": 0,
        }),
    );
    exec_ctx.insert(
        "StateMachine".into(),
        json!({"Id": sm_arn, "Name": opts.state_machine_name}),
    );
    let mut m = Machine {
        mocks,
        opts,
        calls: HashMap::new(),
        rng: Rng::new(opts.seed),
        clock: opts.start_time_ms,
        transitions: 0,
        history: Vec::new(),
        visited: Vec::new(),
        exec_ctx: Rc::new(exec_ctx),
        default_ql: ql_of(def.get("QueryLanguage"), Ql::JsonPath),
        nesting: 0,
        iso_cache: (i64::MIN, String::new()),
        assigned: None,
        pending: Vec::new(),
        eval_location: None,
    };
    m.event(
        "ExecutionStarted",
        Some((
            "executionStartedEventDetails",
            json!({"input": compact(input), "roleArn": opts.role_arn}),
        )),
    );
    let result = if size_of(input) > MAX_PAYLOAD_BYTES {
        Err(Stop::Fail(Failure::new(
            "States.DataLimitExceeded",
            "The execution input exceeds the maximum number of bytes service limit.",
        )))
    } else {
        let (states, start) = states_of(def, "(definition)")?;
        let mut vars = Vars::new();
        m.run_chain(states, &start, input.clone(), &mut vars)
    };
    let elapsed_ms = m.clock - opts.start_time_ms;
    match result {
        Ok(output) => {
            m.event(
                "ExecutionSucceeded",
                Some((
                    "executionSucceededEventDetails",
                    json!({"output": compact(&output)}),
                )),
            );
            Ok(Execution {
                status: Status::Succeeded,
                output: Some(output),
                error: None,
                cause: None,
                history: m.history,
                states_visited: m.visited,
                transitions: m.transitions,
                elapsed_ms,
            })
        }
        Err(Stop::Fail(f)) => {
            let mut details = Map::new();
            if let Some(e) = &f.error {
                details.insert("error".into(), Value::String(e.clone()));
            }
            if let Some(c) = &f.cause {
                details.insert("cause".into(), Value::String(c.clone()));
            }
            m.event(
                "ExecutionFailed",
                Some(("executionFailedEventDetails", Value::Object(details))),
            );
            Ok(Execution {
                status: Status::Failed,
                output: None,
                error: f.error,
                cause: f.cause,
                history: m.history,
                states_visited: m.visited,
                transitions: m.transitions,
                elapsed_ms,
            })
        }
        Err(Stop::Abort(e)) => Err(e),
    }
}

/// The `States` map and `StartAt` of a definition, branch or item processor.
fn states_of<'d>(
    def: &'d Map<String, Value>,
    owner: &str,
) -> Result<(&'d Map<String, Value>, String), SimulateError> {
    let states = def
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| SimulateError::InvalidDefinition {
            state: owner.into(),
            field: "States".into(),
            reason: "missing or not an object".into(),
        })?;
    let start = def.get("StartAt").and_then(Value::as_str).ok_or_else(|| {
        SimulateError::InvalidDefinition {
            state: owner.into(),
            field: "StartAt".into(),
            reason: "missing or not a string".into(),
        }
    })?;
    Ok((states, start.to_string()))
}

fn jsonata_expr(v: &Value) -> Option<&str> {
    // Only a string that starts with `{%` and ends with `%}` is an expression; surrounding spaces make it text.
    let s = v.as_str()?;
    (s.starts_with("{%") && s.ends_with("%}") && s.len() >= 4).then(|| s[2..s.len() - 2].trim())
}

impl Machine<'_> {
    fn iso_now(&mut self) -> String {
        if self.iso_cache.0 != self.clock {
            self.iso_cache = (self.clock, iso(self.clock));
        }
        self.iso_cache.1.clone()
    }

    fn event(&mut self, kind: &str, details: Option<(&str, Value)>) -> usize {
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

    fn run_chain(
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

    fn transition(&self, st: &St<'_>) -> Result<Option<String>, SimulateError> {
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

    // ---------- JSONPath helpers ----------

    fn lookup(
        &self,
        text: &str,
        input: &Value,
        ctx: &Value,
        vars: &Vars,
    ) -> Result<Option<Value>, String> {
        let path = Path::parse(text).map_err(|e| e.to_string())?;
        Ok(match &path.root {
            Root::Input => path.select(input),
            Root::Context => path.select(ctx),
            Root::Variable(name) => vars.get(name).and_then(|v| path.select(v)),
        })
    }

    /// Evaluates a payload template (`Parameters`, `ItemSelector`, `ResultSelector`, `Assign`): keys ending in
    /// `.$` take a path or intrinsic function.
    fn payload(
        &mut self,
        st: &St<'_>,
        template: &Value,
        input: &Value,
        ctx: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        match template {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    if let Some(name) = k.strip_suffix(".$") {
                        let Some(text) = v.as_str() else {
                            return Err(st.runtime(format!(
                                "The value of the field '{k}' must be a path or an intrinsic function, found {v}"
                            )));
                        };
                        let value = self.dynamic(st, k, text, input, ctx, vars)?;
                        out.insert(name.to_string(), value);
                    } else {
                        out.insert(k.clone(), self.payload(st, v, input, ctx, vars)?);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => a
                .iter()
                .map(|v| self.payload(st, v, input, ctx, vars))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// A path or intrinsic function given for `field`.
    fn dynamic(
        &mut self,
        st: &St<'_>,
        field: &str,
        text: &str,
        input: &Value,
        ctx: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        if intrinsics::is_intrinsic(text) {
            let expr = intrinsics::parse(text).map_err(|e| {
                st.runtime(format!(
                    "The intrinsic function '{text}' given for the field '{field}' is invalid: {e}"
                ))
            })?;
            let resolve = |p: &Path| -> Result<Value, Failure> {
                let root = match &p.root {
                    Root::Input => Some(input),
                    Root::Context => Some(ctx),
                    Root::Variable(n) => vars.get(n),
                };
                root.and_then(|r| p.select(r)).ok_or_else(|| {
                    st.runtime(format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        p.text(),
                        compact(input)
                    ))
                })
            };
            let mut rng = self.rng.clone();
            let r = intrinsics::eval(&expr, &resolve, &mut rng);
            self.rng = rng;
            return r.map_err(|f| {
                if f.error.as_deref() == Some("States.IntrinsicFailure") {
                    Failure {
                        error: f.error,
                        cause: f.cause.map(|c| format!("{}{c}", st.prefix())),
                    }
                } else {
                    f
                }
            });
        }
        if text.starts_with('$') {
            return match self.lookup(text, input, ctx, vars) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(st.runtime(format!(
                    "The JSONPath '{text}' specified for the field '{field}' could not be found in the input '{}'",
                    compact(input)
                ))),
                Err(e) => Err(st.runtime(format!("Invalid path for the field '{field}': {e}"))),
            };
        }
        Err(st.runtime(format!(
            "The value of the field '{field}' must be a path or an intrinsic function, found '{text}'"
        )))
    }

    /// `InputPath` (absent = `$`, null = `{}`).
    fn input_path(&self, st: &St<'_>, input: &Value, vars: &Vars) -> Result<Value, Failure> {
        self.select_field(st, "InputPath", input, vars)
    }

    fn select_field(
        &self,
        st: &St<'_>,
        field: &str,
        value: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        match st.get(field) {
            None => Ok(value.clone()),
            Some(Value::Null) => Ok(json!({})),
            Some(Value::String(p)) => match self.lookup(p, value, st.ctx(), vars) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(st.runtime(format!(
                    "Invalid path '{p}' : No results for path: {}",
                    bracket_path(p)
                ))),
                Err(e) => Err(st.runtime(format!("Invalid {field}: {e}"))),
            },
            Some(other) => {
                Err(st.runtime(format!("{field} must be a string or null, found {other}")))
            }
        }
    }

    /// `ResultPath` (absent = `$`, null = discard the result).
    fn result_path(
        &self,
        st: &St<'_>,
        raw: &Value,
        result: Value,
        field_value: Option<&Value>,
    ) -> Result<Value, Failure> {
        match field_value {
            None => Ok(result),
            Some(Value::Null) => Ok(raw.clone()),
            Some(Value::String(p)) => {
                let path =
                    Path::parse(p).map_err(|e| st.runtime(format!("Invalid ResultPath: {e}")))?;
                jsonpath::write_at(raw.clone(), &path, result).map_err(|e| {
                    st.runtime(format!(
                        "Unable to apply ResultPath '{p}' to input '{}': {}",
                        compact(raw),
                        e.reason
                    ))
                })
            }
            Some(other) => Err(st.runtime(format!(
                "ResultPath must be a string or null, found {other}"
            ))),
        }
    }

    fn check_size(&self, st: &St<'_>, v: &Value) -> Result<(), Failure> {
        if size_of(v) > MAX_PAYLOAD_BYTES {
            return Err(Failure::new(
                "States.DataLimitExceeded",
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    st.name
                ),
            ));
        }
        Ok(())
    }

    /// JSONPath `Assign`: evaluated against `value` with the variables as they were before the state.
    fn assign_jsonpath(
        &mut self,
        st: &St<'_>,
        assign: Option<&Value>,
        value: &Value,
        vars: &mut Vars,
    ) -> Result<(), Failure> {
        let Some(assign) = assign else { return Ok(()) };
        let evaluated = self.payload(st, assign, value, &st.ctx().clone(), vars)?;
        if let Value::Object(o) = evaluated {
            self.record_assigned(&o);
            self.pending.extend(o);
        }
        Ok(())
    }

    fn record_assigned(&mut self, values: &Map<String, Value>) {
        if values.is_empty() {
            return;
        }
        let entry = self.assigned.get_or_insert_with(Map::new);
        for (k, v) in values {
            entry.insert(k.clone(), Value::String(compact(v)));
        }
    }

    // ---------- JSONata helpers ----------

    fn states_var(&self, st: &St<'_>, input: &Value, extra: &[(&str, &Value)]) -> Value {
        let mut o = Map::new();
        o.insert("input".into(), input.clone());
        o.insert("context".into(), st.ctx().clone());
        for (k, v) in extra {
            o.insert((*k).to_string(), (*v).clone());
        }
        Value::Object(o)
    }

    /// `$states` for JSONata states; JSONPath states never read it, so they skip building it.
    fn states_var_if_jsonata(&self, st: &St<'_>, input: &Value) -> Value {
        match st.ql {
            Ql::Jsonata => self.states_var(st, input, &[]),
            Ql::JsonPath => Value::Null,
        }
    }

    fn jsonata_env(&self, states: &Value, vars: &Vars) -> Rc<Env> {
        let mut all: Vec<(String, Value)> =
            vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.push(("states".into(), states.clone()));
        Env::with_vars(all)
    }

    /// Evaluates a JSONata template value: `{% %}` strings anywhere inside are expressions.
    fn jsonata_value(
        &mut self,
        st: &St<'_>,
        field: &str,
        template: &Value,
        states: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        let env = self.jsonata_env(states, vars);
        self.jsonata_walk(st, field, template, states, &env, true)
            .map(|v| v.unwrap_or(Value::Null))
    }

    fn jsonata_walk(
        &mut self,
        st: &St<'_>,
        field: &str,
        template: &Value,
        states: &Value,
        env: &Rc<Env>,
        _top: bool,
    ) -> Result<Option<Value>, Failure> {
        if let Some(expr) = jsonata_expr(template) {
            let input = states.get("input").cloned().unwrap_or(Value::Null);
            let mut rng = self.rng.clone();
            let mut ev = Evaluator::new(&mut rng, self.clock);
            let r = ev.evaluate(expr, &input, env);
            self.rng = rng;
            let r = match r {
                Ok(Outcome::Value(v)) => Ok(Some(v)),
                Ok(Outcome::Undefined) => Err(st.query_error(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
                ))),
                Ok(Outcome::Function) => Err(st.query_error(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' returned an unsupported result type."
                ))),
                Err(e) => Err(st.query_error(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {e}"
                ))),
            };
            if r.is_err() {
                self.eval_location = Some(field.to_string());
            }
            return r;
        }
        // Nested expressions are named by their path in the field ("Output/result"), as AWS names them.
        match template {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    let path = format!("{field}/{k}");
                    if let Some(v) = self.jsonata_walk(st, &path, v, states, env, false)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(a) => {
                let mut out = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    let path = format!("{field}/{i}");
                    out.push(
                        self.jsonata_walk(st, &path, v, states, env, false)?
                            .unwrap_or(Value::Null),
                    );
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn assign_jsonata(
        &mut self,
        st: &St<'_>,
        assign: Option<&Value>,
        states: &Value,
        vars: &mut Vars,
    ) -> Result<(), Failure> {
        let Some(assign) = assign else { return Ok(()) };
        let Some(obj) = assign.as_object() else {
            return Err(st.runtime("Assign must be an object"));
        };
        let mut updates = Vec::new();
        for (k, v) in obj {
            let value = self.jsonata_value(st, &format!("Assign/{k}"), v, states, vars)?;
            updates.push((k.clone(), value));
        }
        self.record_assigned(&updates.iter().cloned().collect());
        self.pending.extend(updates);
        Ok(())
    }

    /// JSONata `Output` (default: `default`) plus `Assign`, both seeing the same `$states`.
    fn jsonata_finish(
        &mut self,
        st: &St<'_>,
        states: &Value,
        default: Value,
        vars: &mut Vars,
        assign: Option<&Value>,
        output: Option<&Value>,
    ) -> Result<Value, Failure> {
        let out = match output {
            Some(o) => self.jsonata_value(st, "Output", o, states, vars)?,
            None => default,
        };
        self.assign_jsonata(st, assign, states, vars)?;
        Ok(out)
    }

    // ---------- states ----------

    fn plain_output(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Value> {
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

    fn pass(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
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

    fn wait(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
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
            let secs = v
                .as_ref()
                .and_then(Value::as_f64)
                .filter(|f| *f >= 0.0)
                .ok_or_else(|| {
                    st.runtime(format!(
                    "The SecondsPath parameter does not reference a valid non-negative integer: {p}"
                ))
                })?;
            until = Some(self.clock + (secs * 1000.0) as i64);
        } else if let Some(t) = value_of(self, "Timestamp")? {
            let ts = t
                .as_str()
                .and_then(choice::parse_timestamp)
                .ok_or_else(|| {
                    st.runtime(format!(
                        "The Timestamp field is not a valid ISO-8601 timestamp: {t}"
                    ))
                })?;
            until = Some(ts.as_millisecond());
        } else if let Some(Value::String(p)) = st.get("TimestampPath") {
            let v = self.lookup(p, &effective, &ctx, vars).ok().flatten();
            let ts = v.as_ref().and_then(Value::as_str).and_then(choice::parse_timestamp).ok_or_else(|| {
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

    fn choice(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
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

    fn fail_state(&mut self, st: &St<'_>, input: &Value, vars: &mut Vars) -> Result<Failure, Stop> {
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

    // ---------- Task, Parallel, Map with Retry and Catch ----------

    fn with_retry_catch(&mut self, st: &St<'_>, input: Value, vars: &mut Vars) -> Res<Done> {
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

    /// Result processing shared by Task, Parallel and Map, in either query language: the JSONPath
    /// pipeline, or JSONata `Output` and `Assign` over `$states` with the result in it.
    fn finish_result(
        &mut self,
        st: &St<'_>,
        input: &Value,
        result: Value,
        vars: &mut Vars,
    ) -> Res<Value> {
        match st.ql {
            Ql::JsonPath => Ok(self.finish_jsonpath(st, input, result, vars)?),
            Ql::Jsonata => {
                let states = self.states_var(st, input, &[("result", &result)]);
                Ok(self.jsonata_finish(
                    st,
                    &states,
                    result,
                    vars,
                    st.get("Assign"),
                    st.get("Output"),
                )?)
            }
        }
    }

    /// JSONPath result processing shared by Task, Parallel and Map: ResultSelector, Assign, ResultPath, OutputPath.
    fn finish_jsonpath(
        &mut self,
        st: &St<'_>,
        raw: &Value,
        result: Value,
        vars: &mut Vars,
    ) -> Result<Value, Failure> {
        let selected = match st.get("ResultSelector") {
            Some(sel) => {
                let ctx = st.ctx().clone();
                self.payload(st, sel, &result, &ctx, vars)?
            }
            None => result,
        };
        self.check_size(st, &selected)?;
        self.assign_jsonpath(st, st.get("Assign"), &selected, vars)?;
        let combined = self.result_path(st, raw, selected, st.get("ResultPath"))?;
        self.select_field(st, "OutputPath", &combined, vars)
    }

    fn task(
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

    fn parallel(&mut self, st: &St<'_>, input: &Value, vars: &mut Vars) -> Res<Value> {
        let branches = st
            .get("Branches")
            .and_then(Value::as_array)
            .ok_or_else(|| st.invalid("Branches", "missing or not an array"))?;
        let states = self.states_var_if_jsonata(st, input);
        let branch_input = match st.ql {
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
        self.event("ParallelStateStarted", None);
        let mut results = Vec::with_capacity(branches.len());
        for (i, b) in branches.iter().enumerate() {
            let b = b
                .as_object()
                .ok_or_else(|| st.invalid("Branches", format!("branch {i} is not an object")))?;
            let (bstates, start) = states_of(b, &st.name)?;
            let mut inner = vars.clone();
            results.push(self.run_chain(bstates, &start, branch_input.clone(), &mut inner)?);
        }
        self.event("ParallelStateSucceeded", None);
        let result = Value::Array(results);
        self.finish_result(st, input, result, vars)
    }

    fn map(&mut self, st: &St<'_>, input: &Value, vars: &mut Vars) -> Res<Value> {
        let processor = st
            .get("ItemProcessor")
            .or_else(|| st.get("Iterator"))
            .and_then(Value::as_object)
            .ok_or_else(|| st.invalid("ItemProcessor", "missing or not an object"))?;
        let (pstates, start) = states_of(processor, &st.name)?;
        let states = self.states_var_if_jsonata(st, input);
        let ctx = st.ctx().clone();
        // A Map with an ItemReader reads its items from the mock named after the Map state (the data an S3
        // read would return: an array of items, or CSV rows as objects).
        let reader_items = match st.get("ItemReader") {
            Some(_) => {
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
                if let Some(error) = response.error {
                    return Err(Failure {
                        error: Some(error),
                        cause: response.cause,
                    }
                    .into());
                }
                match response.return_value {
                    Some(Value::Array(a)) => Some(a),
                    other => {
                        return Err(st
                            .runtime(format!(
                                "The ItemReader mock must return an array of items, found {}",
                                compact(&other.unwrap_or(Value::Null))
                            ))
                            .into());
                    }
                }
            }
            None => None,
        };
        let (effective, items) = match st.ql {
            Ql::JsonPath if reader_items.is_some() => (
                self.input_path(st, input, vars)?,
                reader_items.clone().unwrap_or_default(),
            ),
            Ql::Jsonata if reader_items.is_some() => {
                (input.clone(), reader_items.clone().unwrap_or_default())
            }
            Ql::JsonPath => {
                let effective = self.input_path(st, input, vars)?;
                let items = match st.get("ItemsPath").and_then(Value::as_str) {
                    Some(p) => self
                        .lookup(p, &effective, &ctx, vars)
                        .map_err(|e| st.runtime(format!("Invalid ItemsPath: {e}")))?
                        .ok_or_else(|| {
                            st.runtime(format!(
                                "Invalid path '{p}' : No results for path: {}",
                                bracket_path(p)
                            ))
                        })?,
                    None => effective.clone(),
                };
                let Value::Array(items) = items else {
                    return Err(st
                        .runtime(format!(
                            "Map state input must be an array but was: {}",
                            compact(&items)
                        ))
                        .into());
                };
                (effective, items)
            }
            Ql::Jsonata => {
                let items = match st.get("Items") {
                    Some(t) => {
                        let v = self.jsonata_value(st, "Items", t, &states, vars)?;
                        match v {
                            Value::Array(a) => a,
                            other => {
                                let expr = jsonata_expr(t).unwrap_or_default();
                                return Err(st
                                    .query_error(format!(
                                        "The JSONata expression '{expr}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                                        json_type(&other),
                                        compact(&other)
                                    ))
                                    .into());
                            }
                        }
                    }
                    None => match input {
                        Value::Array(a) => a.clone(),
                        other => {
                            return Err(st
                                .query_error(format!(
                                    "Map state input must be an array but was: {}",
                                    compact(other)
                                ))
                                .into());
                        }
                    },
                };
                (input.clone(), items)
            }
        };
        // Concurrency does not change results in a sequential run, but AWS validates the fields.
        match st.ql {
            Ql::JsonPath => {
                if let Some(Value::String(p)) = st.get("MaxConcurrencyPath") {
                    let v = self
                        .lookup(p, &effective, &ctx, vars)
                        .ok()
                        .flatten()
                        .unwrap_or(Value::Null);
                    if v.as_u64().is_none() {
                        let shown = match &v {
                            Value::String(s) => s.clone(),
                            other => compact(other),
                        };
                        return Err(st
                            .runtime(format!(
                                "The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {p}"
                            ))
                            .into());
                    }
                }
            }
            Ql::Jsonata => {
                for f in [
                    "MaxConcurrency",
                    "ToleratedFailureCount",
                    "ToleratedFailurePercentage",
                ] {
                    if let Some(t) = st.get(f)
                        && jsonata_expr(t).is_some()
                    {
                        self.jsonata_value(st, f, t, &states, vars)?;
                    }
                }
            }
        }
        let tolerated_count =
            self.tolerance(st, "ToleratedFailureCount", &effective, vars, &states)?;
        let tolerated_pct =
            self.tolerance(st, "ToleratedFailurePercentage", &effective, vars, &states)?;
        let items = match st.get("ItemBatcher").and_then(Value::as_object) {
            Some(b) => {
                let per = b
                    .get("MaxItemsPerBatch")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX)
                    .max(1) as usize;
                let batch_input = match b.get("BatchInput") {
                    Some(t) => match st.ql {
                        Ql::JsonPath => self.payload(st, t, &effective, &ctx, vars)?,
                        Ql::Jsonata => self.jsonata_value(st, "ItemBatcher", t, &states, vars)?,
                    },
                    None => Value::Null,
                };
                items
                    .chunks(per)
                    .map(|c| {
                        let mut o = Map::new();
                        if !batch_input.is_null() {
                            o.insert("BatchInput".into(), batch_input.clone());
                        }
                        o.insert("Items".into(), Value::Array(c.to_vec()));
                        Value::Object(o)
                    })
                    .collect()
            }
            None => items,
        };
        self.event(
            "MapStateStarted",
            Some((
                "mapStateStartedEventDetails",
                json!({"length": items.len()}),
            )),
        );
        let selector = st.get("ItemSelector").or_else(|| st.get("Parameters"));
        let mut results = Vec::with_capacity(items.len());
        let mut failures = 0usize;
        for (index, item) in items.iter().enumerate() {
            let mut item_ctx = ctx.clone();
            if let Some(o) = item_ctx.as_object_mut() {
                o.insert(
                    "Map".into(),
                    json!({"Item": {"Index": index, "Value": item}}),
                );
            }
            let item_st = st.with_ctx(item_ctx.clone());
            let item_input = match (selector, st.ql) {
                (Some(sel), Ql::JsonPath) => {
                    self.payload(&item_st, sel, &effective, &item_ctx, vars)?
                }
                (Some(sel), Ql::Jsonata) => {
                    let s = self.states_var(&item_st, input, &[]);
                    self.jsonata_value(&item_st, "ItemSelector", sel, &s, vars)?
                }
                (None, _) => item.clone(),
            };
            self.event(
                "MapIterationStarted",
                Some((
                    "mapIterationStartedEventDetails",
                    json!({"name": st.name, "index": index}),
                )),
            );
            let mut inner = vars.clone();
            match self.run_chain(pstates, &start, item_input, &mut inner) {
                Ok(out) => {
                    self.event(
                        "MapIterationSucceeded",
                        Some((
                            "mapIterationSucceededEventDetails",
                            json!({"name": st.name, "index": index}),
                        )),
                    );
                    results.push(out);
                }
                Err(Stop::Fail(f)) if is_terminal(&f) => return Err(Stop::Fail(f)),
                Err(Stop::Fail(f)) => {
                    self.event(
                        "MapIterationFailed",
                        Some((
                            "mapIterationFailedEventDetails",
                            json!({"name": st.name, "index": index}),
                        )),
                    );
                    if tolerated_count.is_none() && tolerated_pct.is_none() {
                        return Err(Stop::Fail(f));
                    }
                    failures += 1;
                    let over_count = tolerated_count.is_some_and(|c| failures as f64 > c);
                    let over_pct = tolerated_pct
                        .is_some_and(|p| failures as f64 * 100.0 / items.len().max(1) as f64 > p);
                    let over = match (tolerated_count, tolerated_pct) {
                        (Some(_), Some(_)) => over_count && over_pct,
                        _ => over_count || over_pct,
                    };
                    if over {
                        return Err(Failure::new(
                            "States.ExceedToleratedFailureThreshold",
                            format!(
                                "{}The specified tolerated failure threshold was exceeded",
                                st.prefix()
                            ),
                        )
                        .into());
                    }
                    let mut e = Map::new();
                    if let Some(x) = f.error {
                        e.insert("Error".into(), Value::String(x));
                    }
                    if let Some(x) = f.cause {
                        e.insert("Cause".into(), Value::String(x));
                    }
                    results.push(Value::Object(e));
                }
                Err(abort) => return Err(abort),
            }
        }
        self.event("MapStateSucceeded", None);
        // With a ResultWriter, AWS returns where the results were written instead of the results.
        let result = match st.get("ResultWriter").and_then(|w| w.get("Parameters")) {
            Some(p) => {
                let run = self.rng.uuid();
                let bucket = p.get("Bucket").cloned().unwrap_or(Value::Null);
                let prefix = p.get("Prefix").and_then(Value::as_str).unwrap_or_default();
                let sm = self.exec_ctx["StateMachine"]["Id"]
                    .as_str()
                    .unwrap_or_default()
                    .replace(":stateMachine:", ":mapRun:");
                json!({
                    "MapRunArn": format!("{sm}/{}:{run}", st.get("Label").and_then(Value::as_str).unwrap_or(&st.name)),
                    "ResultWriterDetails": {"Bucket": bucket, "Key": format!("{prefix}/{run}/manifest.json")},
                })
            }
            None => Value::Array(results),
        };
        self.finish_result(st, input, result, vars)
    }

    fn tolerance(
        &mut self,
        st: &St<'_>,
        field: &str,
        effective: &Value,
        vars: &Vars,
        states: &Value,
    ) -> Result<Option<f64>, Failure> {
        if let Some(v) = st.get(field) {
            let v = if st.ql == Ql::Jsonata && jsonata_expr(v).is_some() {
                self.jsonata_value(st, field, v, states, vars)?
            } else {
                v.clone()
            };
            return Ok(v.as_f64());
        }
        if let Some(Value::String(p)) = st.get(&format!("{field}Path")) {
            let v = self.lookup(p, effective, st.ctx(), vars).ok().flatten();
            return match v.as_ref().and_then(Value::as_f64) {
                Some(f) if f >= 0.0 => Ok(Some(f)),
                _ => Err(st.runtime(format!(
                    "The {field}Path field refers to value \"{}\" which is not a valid number: {p}",
                    v.map(|v| compact(&v)).unwrap_or_else(|| "null".into())
                ))),
            };
        }
        Ok(None)
    }
}

/// Errors that end the execution whatever Retry and Catch say.
fn is_terminal(f: &Failure) -> bool {
    matches!(
        f.error.as_deref(),
        Some("States.Runtime" | "States.DataLimitExceeded")
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `$.a.b` rendered as `$['a']['b']`, the form AWS uses in path error messages.
fn bracket_path(p: &str) -> String {
    let Some(rest) = p.strip_prefix('$') else {
        return p.to_string();
    };
    let mut out = String::from("$");
    for part in rest.split('.').filter(|s| !s.is_empty()) {
        out.push_str(&format!("['{part}']"));
    }
    out
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
