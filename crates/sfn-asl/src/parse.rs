//! ASL JSON → [`model::Definition`](super::model::Definition). Structural checks only (JSON types, required
//! fields, which fields a state type may carry, unknown fields); the semantic rules live in the validator.
//! Every problem is collected, so one run reports all of them, and an unknown field is an error rather than
//! something silently dropped on the way to AWS.

use serde_json::{Map, Number, Value};

use super::diagnostic::{Diagnostic, child, index};
use super::model::*;

/// Fields any state may carry.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// Fields that exist on some state type; anything else is reported as unknown.
const KNOWN: &[&str] = &[
    "Resource",
    "Credentials",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Arguments",
    "Output",
    "Assign",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Retry",
    "Catch",
    "Next",
    "End",
    "Result",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Choices",
    "Default",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "Items",
    "ItemSelector",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
];

/// The fields (besides `Type`, `Comment` and `QueryLanguage`) a state of `type_name` may carry, per the ASL specification and the AWS
/// "state types" pages.
pub fn allowed_fields(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "Task" => &[
            "Resource",
            "Credentials",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Arguments",
            "Output",
            "Assign",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Pass" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Wait" => &[
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Output",
            "Assign",
            "Next",
            "End",
        ],
        "Choice" => &[
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
            "Output",
            "Assign",
        ],
        "Parallel" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Arguments",
            "Output",
            "Assign",
            "Branches",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Map" => &[
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Output",
            "Assign",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        _ => &[],
    }
}

/// Parses an ASL document. Errors are every structural problem found, each located by JSON pointer.
pub fn from_json(value: &Value) -> Result<Definition, Vec<Diagnostic>> {
    from_json_owned(value.clone())
}

// The constructor lives with the parser rather than with the model, so that the model does not import
// the parser, which imports the model.
impl Definition {
    /// Parses an ASL document. Errors are every structural problem found, each located by JSON pointer.
    pub fn from_json(value: &Value) -> Result<Definition, Vec<Diagnostic>> {
        from_json(value)
    }
}

/// Like [`from_json`], consuming the document so that user data (Parameters, Result, ...) is moved into
/// the model rather than copied; the compiler's path, where every allocation shows in the benchmark.
pub fn from_json_owned(mut value: Value) -> Result<Definition, Vec<Diagnostic>> {
    let mut p = Parser { diags: Vec::new() };
    let def = p.definition(&mut value);
    match def {
        Some(d) if p.diags.is_empty() => Ok(d),
        _ => Err(p.diags),
    }
}

/// Parses one Choice rule object (without `Next`), for the compiler's `condition:` and `rule:` fields.
pub(crate) fn rule_from_json(
    mut v: Value,
    ptr: &str,
    state: &str,
) -> Result<Rule, Vec<Diagnostic>> {
    let mut p = Parser { diags: Vec::new() };
    let at = At {
        ptr,
        state: Some(state),
    };
    let rule = match p.object(&mut v, at, "a choice rule") {
        Some(m) => p.rule(m, at, false),
        None => None,
    };
    match rule {
        Some(r) if p.diags.is_empty() => Ok(r),
        _ => Err(p.diags),
    }
}

struct Parser {
    diags: Vec<Diagnostic>,
}

/// Where we are: pointer to the current object and the state it belongs to.
#[derive(Clone, Copy)]
struct At<'a> {
    ptr: &'a str,
    state: Option<&'a str>,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Parser {
    fn err(&mut self, at: At<'_>, field: Option<&str>, msg: impl Into<String>) {
        let ptr = match field {
            Some(f) => child(at.ptr, f),
            None => at.ptr.to_owned(),
        };
        self.diags.push(Diagnostic::new(ptr, at.state, field, msg));
    }

    fn object<'v>(
        &mut self,
        v: &'v mut Value,
        at: At<'_>,
        what: &str,
    ) -> Option<&'v mut Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.err(
                    at,
                    None,
                    format!("{what} must be an object, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn check_keys(&mut self, m: &Map<String, Value>, at: At<'_>, allowed: &[&str], what: &str) {
        for k in m.keys() {
            if !allowed.contains(&k.as_str()) {
                self.err(at, Some(k), format!("unknown field {k:?} in {what}"));
            }
        }
    }

    fn string(&mut self, m: &mut Map<String, Value>, k: &str, at: At<'_>) -> Option<String> {
        match m.get_mut(k)? {
            Value::String(s) => Some(std::mem::take(s)),
            other => {
                self.err(
                    at,
                    Some(k),
                    format!("must be a string, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn required_string(
        &mut self,
        m: &mut Map<String, Value>,
        k: &str,
        at: At<'_>,
        what: &str,
    ) -> Option<String> {
        if !m.contains_key(k) {
            self.err(at, Some(k), format!("{what} requires field {k}"));
            return None;
        }
        self.string(m, k, at)
    }

    fn number(&mut self, m: &mut Map<String, Value>, k: &str, at: At<'_>) -> Option<Number> {
        match m.get(k)? {
            Value::Number(n) => Some(n.clone()),
            other => {
                self.err(
                    at,
                    Some(k),
                    format!("must be a number, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn num_field(&mut self, m: &mut Map<String, Value>, k: &str, at: At<'_>) -> Option<NumField> {
        match m.get_mut(k)? {
            Value::Number(n) => Some(NumField::Number(n.clone())),
            Value::String(s) => Some(NumField::Expr(s.clone())),
            other => {
                self.err(
                    at,
                    Some(k),
                    format!(
                        "must be a number or a JSONata expression, found {}",
                        json_type(other)
                    ),
                );
                None
            }
        }
    }

    fn path_field(&mut self, m: &mut Map<String, Value>, k: &str, at: At<'_>) -> Option<PathField> {
        match m.get_mut(k)? {
            Value::Null => Some(PathField::Null),
            Value::String(s) => Some(PathField::Path(std::mem::take(s))),
            other => {
                self.err(
                    at,
                    Some(k),
                    format!("must be a path string or null, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, m: &mut Map<String, Value>, k: &str, at: At<'_>) -> Option<bool> {
        match m.get(k)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.err(
                    at,
                    Some(k),
                    format!("must be a boolean, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn query_language(&mut self, m: &mut Map<String, Value>, at: At<'_>) -> Option<QueryLanguage> {
        let s = self.string(m, "QueryLanguage", at)?;
        let q = QueryLanguage::parse(&s);
        if q.is_none() {
            self.err(
                at,
                Some("QueryLanguage"),
                format!("must be \"JSONPath\" or \"JSONata\", found {s:?}"),
            );
        }
        q
    }

    fn definition(&mut self, v: &mut Value) -> Option<Definition> {
        let at = At {
            ptr: "",
            state: None,
        };
        let m = self.object(v, at, "a state machine definition")?;
        self.check_keys(
            m,
            at,
            &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ],
            "the state machine",
        );
        let comment = self.string(m, "Comment", at);
        let start_at = self.required_string(m, "StartAt", at, "a state machine");
        let timeout_seconds = self.number(m, "TimeoutSeconds", at);
        let version = self.string(m, "Version", at);
        let query_language = self.query_language(m, at);
        let states = self.states(m, at, "a state machine");
        Some(Definition {
            comment,
            start_at: start_at?,
            states: states?,
            timeout_seconds,
            version,
            query_language,
        })
    }

    fn states(&mut self, m: &mut Map<String, Value>, at: At<'_>, what: &str) -> Option<States> {
        let Some(v) = m.get_mut("States") else {
            self.err(at, Some("States"), format!("{what} requires field States"));
            return None;
        };
        let ptr = child(at.ptr, "States");
        let sm = self.object(
            v,
            At {
                ptr: &ptr,
                state: at.state,
            },
            "States",
        )?;
        let mut out = States::with_capacity(sm.len());
        let mut ok = true;
        for (name, sv) in sm.iter_mut() {
            let sptr = child(&ptr, name);
            match self.state(name, sv, &sptr) {
                Some(s) => {
                    out.insert(name.clone(), s);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn scope(&mut self, v: &mut Value, at: At<'_>, what: &str, processor: bool) -> Option<Scope> {
        let m = self.object(v, at, what)?;
        let allowed: &[&str] = if processor {
            &["Comment", "StartAt", "States", "ProcessorConfig"]
        } else {
            &["Comment", "StartAt", "States"]
        };
        self.check_keys(m, at, allowed, what);
        let comment = self.string(m, "Comment", at);
        let start_at = self.required_string(m, "StartAt", at, what);
        let processor_config = match m.get_mut("ProcessorConfig") {
            None => None,
            Some(pv) => {
                let pptr = child(at.ptr, "ProcessorConfig");
                let pat = At {
                    ptr: &pptr,
                    state: at.state,
                };
                let pm = self.object(pv, pat, "ProcessorConfig")?;
                self.check_keys(pm, pat, &["Mode", "ExecutionType"], "ProcessorConfig");
                Some(ProcessorConfig {
                    mode: self.string(pm, "Mode", pat),
                    execution_type: self.string(pm, "ExecutionType", pat),
                })
            }
        };
        let states = self.states(m, at, what);
        Some(Scope {
            comment,
            start_at: start_at?,
            states: states?,
            processor_config,
        })
    }

    fn state(&mut self, name: &str, v: &mut Value, ptr: &str) -> Option<State> {
        let at = At {
            ptr,
            state: Some(name),
        };
        let m = self.object(v, at, "a state")?;
        let type_name = self.required_string(m, "Type", at, "a state")?;
        let allowed = allowed_fields(&type_name);
        if allowed.is_empty() {
            self.err(
                at,
                Some("Type"),
                format!(
                    "unknown state type {type_name:?} (expected Task, Pass, Wait, Choice, Parallel, Map, Succeed or Fail)"
                ),
            );
            return None;
        }
        let before = self.diags.len();
        for k in m.keys() {
            if COMMON.contains(&k.as_str()) || allowed.contains(&k.as_str()) {
                continue;
            }
            if KNOWN.contains(&k.as_str()) {
                self.err(
                    at,
                    Some(k),
                    format!("field {k} is not valid in a {type_name} state"),
                );
            } else {
                self.err(at, Some(k), format!("unknown field {k:?}"));
            }
        }
        let kind = match type_name.as_str() {
            "Task" => {
                let resource = self.required_string(m, "Resource", at, "a Task state");
                StateKind::Task(Task {
                    resource: resource.unwrap_or_default(),
                    credentials: m.get_mut("Credentials").map(Value::take),
                    timeout_seconds: self.num_field(m, "TimeoutSeconds", at),
                    timeout_seconds_path: self.string(m, "TimeoutSecondsPath", at),
                    heartbeat_seconds: self.num_field(m, "HeartbeatSeconds", at),
                    heartbeat_seconds_path: self.string(m, "HeartbeatSecondsPath", at),
                })
            }
            "Pass" => StateKind::Pass(Pass {
                result: m.get_mut("Result").map(Value::take),
            }),
            "Wait" => StateKind::Wait(Wait {
                seconds: self.num_field(m, "Seconds", at),
                seconds_path: self.string(m, "SecondsPath", at),
                timestamp: self.string(m, "Timestamp", at),
                timestamp_path: self.string(m, "TimestampPath", at),
            }),
            "Choice" => StateKind::Choice(self.choice(m, at)),
            "Parallel" => {
                let mut branches = Vec::new();
                match m.get_mut("Branches") {
                    None => self.err(
                        at,
                        Some("Branches"),
                        "a Parallel state requires field Branches",
                    ),
                    Some(Value::Array(bs)) => {
                        let bptr = child(ptr, "Branches");
                        for (i, b) in bs.iter_mut().enumerate() {
                            let iptr = index(&bptr, i);
                            if let Some(s) = self.scope(
                                b,
                                At {
                                    ptr: &iptr,
                                    state: Some(name),
                                },
                                "a Parallel branch",
                                false,
                            ) {
                                branches.push(s);
                            }
                        }
                    }
                    Some(other) => self.err(
                        at,
                        Some("Branches"),
                        format!("must be an array, found {}", json_type(other)),
                    ),
                }
                StateKind::Parallel(Parallel { branches })
            }
            "Map" => {
                let (key, legacy) = if m.contains_key("ItemProcessor") {
                    ("ItemProcessor", false)
                } else {
                    ("Iterator", true)
                };
                if m.contains_key("ItemProcessor") && m.contains_key("Iterator") {
                    self.err(
                        at,
                        Some("Iterator"),
                        "a Map state takes ItemProcessor or the legacy Iterator, not both",
                    );
                }
                let processor = match m.get_mut(key) {
                    None => {
                        self.err(
                            at,
                            Some("ItemProcessor"),
                            "a Map state requires field ItemProcessor",
                        );
                        None
                    }
                    Some(pv) => {
                        let pptr = child(ptr, key);
                        self.scope(
                            pv,
                            At {
                                ptr: &pptr,
                                state: Some(name),
                            },
                            key,
                            true,
                        )
                    }
                };
                let map = MapState {
                    processor: processor.unwrap_or(Scope {
                        comment: None,
                        start_at: String::new(),
                        states: States::new(),
                        processor_config: None,
                    }),
                    legacy_iterator: legacy,
                    items_path: self.string(m, "ItemsPath", at),
                    items: m.get_mut("Items").map(Value::take),
                    item_selector: m.get_mut("ItemSelector").map(Value::take),
                    item_reader: m.get_mut("ItemReader").map(Value::take),
                    item_batcher: m.get_mut("ItemBatcher").map(Value::take),
                    result_writer: m.get_mut("ResultWriter").map(Value::take),
                    max_concurrency: self.num_field(m, "MaxConcurrency", at),
                    max_concurrency_path: self.string(m, "MaxConcurrencyPath", at),
                    tolerated_failure_percentage: self.num_field(
                        m,
                        "ToleratedFailurePercentage",
                        at,
                    ),
                    tolerated_failure_percentage_path: self.string(
                        m,
                        "ToleratedFailurePercentagePath",
                        at,
                    ),
                    tolerated_failure_count: self.num_field(m, "ToleratedFailureCount", at),
                    tolerated_failure_count_path: self.string(m, "ToleratedFailureCountPath", at),
                    label: self.string(m, "Label", at),
                };
                StateKind::Map(Box::new(map))
            }
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail(Fail {
                error: self.string(m, "Error", at),
                error_path: self.string(m, "ErrorPath", at),
                cause: self.string(m, "Cause", at),
                cause_path: self.string(m, "CausePath", at),
            }),
            _ => return None,
        };
        let mut s = State::new(kind);
        s.comment = self.string(m, "Comment", at);
        s.query_language = self.query_language(m, at);
        s.input_path = self.path_field(m, "InputPath", at);
        s.output_path = self.path_field(m, "OutputPath", at);
        s.result_path = self.path_field(m, "ResultPath", at);
        s.parameters = m.get_mut("Parameters").map(Value::take);
        s.result_selector = m.get_mut("ResultSelector").map(Value::take);
        s.arguments = m.get_mut("Arguments").map(Value::take);
        s.output = m.get_mut("Output").map(Value::take);
        s.assign = m.get_mut("Assign").map(Value::take);
        s.next = self.string(m, "Next", at);
        s.end = self.boolean(m, "End", at);
        if let Some(rv) = m.get_mut("Retry") {
            s.retry = self.retriers(rv, at);
        }
        if let Some(cv) = m.get_mut("Catch") {
            s.catch = self.catchers(cv, at);
        }
        (self.diags.len() == before).then_some(s)
    }

    fn error_equals(&mut self, m: &mut Map<String, Value>, at: At<'_>, what: &str) -> Vec<String> {
        match m.get_mut("ErrorEquals") {
            None => {
                self.err(
                    at,
                    Some("ErrorEquals"),
                    format!("{what} requires field ErrorEquals"),
                );
                Vec::new()
            }
            Some(Value::Array(a)) => a
                .iter_mut()
                .enumerate()
                .filter_map(|(i, e)| match e {
                    Value::String(s) => Some(std::mem::take(s)),
                    other => {
                        let p = index(&child(at.ptr, "ErrorEquals"), i);
                        self.diags.push(Diagnostic::new(
                            p,
                            at.state,
                            Some("ErrorEquals"),
                            format!("error names must be strings, found {}", json_type(other)),
                        ));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.err(
                    at,
                    Some("ErrorEquals"),
                    format!(
                        "must be an array of error names, found {}",
                        json_type(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn retriers(&mut self, v: &mut Value, at: At<'_>) -> Option<Vec<Retrier>> {
        let Value::Array(items) = v else {
            self.err(
                at,
                Some("Retry"),
                format!("must be an array, found {}", json_type(v)),
            );
            return None;
        };
        let base = child(at.ptr, "Retry");
        let mut out = Vec::new();
        for (i, r) in items.iter_mut().enumerate() {
            let p = index(&base, i);
            let rat = At {
                ptr: &p,
                state: at.state,
            };
            let Some(m) = self.object(r, rat, "a retrier") else {
                continue;
            };
            self.check_keys(
                m,
                rat,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
                "a retrier",
            );
            out.push(Retrier {
                error_equals: self.error_equals(m, rat, "a retrier"),
                interval_seconds: self.number(m, "IntervalSeconds", rat),
                max_attempts: self.number(m, "MaxAttempts", rat),
                backoff_rate: self.number(m, "BackoffRate", rat),
                max_delay_seconds: self.number(m, "MaxDelaySeconds", rat),
                jitter_strategy: self.string(m, "JitterStrategy", rat),
                comment: self.string(m, "Comment", rat),
            });
        }
        Some(out)
    }

    fn catchers(&mut self, v: &mut Value, at: At<'_>) -> Option<Vec<Catcher>> {
        let Value::Array(items) = v else {
            self.err(
                at,
                Some("Catch"),
                format!("must be an array, found {}", json_type(v)),
            );
            return None;
        };
        let base = child(at.ptr, "Catch");
        let mut out = Vec::new();
        for (i, c) in items.iter_mut().enumerate() {
            let p = index(&base, i);
            let cat = At {
                ptr: &p,
                state: at.state,
            };
            let Some(m) = self.object(c, cat, "a catcher") else {
                continue;
            };
            self.check_keys(
                m,
                cat,
                &[
                    "ErrorEquals",
                    "Next",
                    "ResultPath",
                    "Comment",
                    "Assign",
                    "Output",
                ],
                "a catcher",
            );
            out.push(Catcher {
                error_equals: self.error_equals(m, cat, "a catcher"),
                next: self
                    .required_string(m, "Next", cat, "a catcher")
                    .unwrap_or_default(),
                result_path: self.path_field(m, "ResultPath", cat),
                comment: self.string(m, "Comment", cat),
                assign: m.get_mut("Assign").map(Value::take),
                output: m.get_mut("Output").map(Value::take),
            });
        }
        Some(out)
    }

    fn choice(&mut self, m: &mut Map<String, Value>, at: At<'_>) -> Choice {
        let default = self.string(m, "Default", at);
        let mut choices = Vec::new();
        match m.get_mut("Choices") {
            None => self.err(at, Some("Choices"), "a Choice state requires field Choices"),
            Some(Value::Array(items)) => {
                let base = child(at.ptr, "Choices");
                for (i, c) in items.iter_mut().enumerate() {
                    let p = index(&base, i);
                    let cat = At {
                        ptr: &p,
                        state: at.state,
                    };
                    let Some(cm) = self.object(c, cat, "a choice rule") else {
                        continue;
                    };
                    let next = self
                        .required_string(cm, "Next", cat, "a top-level choice rule")
                        .unwrap_or_default();
                    let mut boolean = false;
                    let test = if cm.contains_key("Condition") {
                        for k in cm.keys() {
                            if !["Condition", "Next", "Comment", "Assign", "Output"]
                                .contains(&k.as_str())
                            {
                                self.err(
                                    cat,
                                    Some(k),
                                    format!(
                                        "field {k:?} cannot be combined with Condition in a choice rule"
                                    ),
                                );
                            }
                        }
                        match cm.get_mut("Condition").map(Value::take).unwrap_or_default() {
                            Value::String(s) => ChoiceTest::Condition(s),
                            Value::Bool(b) => {
                                boolean = true;
                                ChoiceTest::Condition(b.to_string())
                            }
                            other => {
                                self.err(
                                    cat,
                                    Some("Condition"),
                                    format!(
                                        "must be a JSONata expression string or a boolean, found {}",
                                        json_type(&other)
                                    ),
                                );
                                continue;
                            }
                        }
                    } else {
                        match self.rule(cm, cat, true) {
                            Some(r) => ChoiceTest::Rule(r),
                            None => continue,
                        }
                    };
                    choices.push(ChoiceBranch {
                        test,
                        next,
                        comment: self.string(cm, "Comment", cat),
                        assign: cm.get_mut("Assign").map(Value::take),
                        output: cm.get_mut("Output").map(Value::take),
                        condition_is_boolean: boolean,
                    });
                }
            }
            Some(other) => self.err(
                at,
                Some("Choices"),
                format!("must be an array, found {}", json_type(other)),
            ),
        }
        Choice { choices, default }
    }

    fn rule(&mut self, m: &mut Map<String, Value>, at: At<'_>, top: bool) -> Option<Rule> {
        // A top-level rule's Comment belongs to its ChoiceBranch; a nested one stays with its rule.
        let comment = if top {
            None
        } else {
            self.string(m, "Comment", at)
        };
        let rule = self.bare_rule(m, at, top)?;
        Some(match comment {
            Some(comment) => Rule::Commented {
                comment,
                rule: Box::new(rule),
            },
            None => rule,
        })
    }

    fn bare_rule(&mut self, m: &mut Map<String, Value>, at: At<'_>, top: bool) -> Option<Rule> {
        let mut ops = Vec::new();
        for k in m.keys() {
            match k.as_str() {
                // AWS allows a Comment on nested rules too (ASL specification: "Choice Rules" may carry
                // Comment at any level).
                "Variable" | "Comment" => {}
                "Next" | "Assign" | "Output" if top => {}
                "Next" => self.err(
                    at,
                    Some("Next"),
                    "a nested choice rule (inside And, Or or Not) cannot have Next",
                ),
                "And" => ops.push("And"),
                "Or" => ops.push("Or"),
                "Not" => ops.push("Not"),
                other => match Operator::from_name(other) {
                    Some(op) => ops.push(op.name()),
                    None => self.err(
                        at,
                        Some(other),
                        format!("unknown field {other:?} in a choice rule"),
                    ),
                },
            }
        }
        if ops.is_empty() {
            self.err(
                at,
                None,
                "a choice rule needs one comparison operator (e.g. StringEquals) or And, Or, Not",
            );
            return None;
        }
        if ops.len() > 1 {
            self.err(
                at,
                Some(ops[1]),
                format!(
                    "a choice rule takes exactly one operator, found {}",
                    ops.join(", ")
                ),
            );
            return None;
        }
        let op = ops[0];
        let has_variable = m.contains_key("Variable");
        let optr = child(at.ptr, op);
        match op {
            "And" | "Or" => {
                let v = m.get_mut(op)?;
                if has_variable {
                    self.err(
                        at,
                        Some("Variable"),
                        format!("{op} does not take a Variable"),
                    );
                }
                let Value::Array(items) = v else {
                    self.err(
                        at,
                        Some(op),
                        format!("must be an array of rules, found {}", json_type(v)),
                    );
                    return None;
                };
                let mut rules = Vec::new();
                for (i, r) in items.iter_mut().enumerate() {
                    let p = index(&optr, i);
                    let rat = At {
                        ptr: &p,
                        state: at.state,
                    };
                    let rm = self.object(r, rat, "a choice rule")?;
                    rules.push(self.rule(rm, rat, false)?);
                }
                Some(if op == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
            "Not" => {
                if has_variable {
                    self.err(at, Some("Variable"), "Not does not take a Variable");
                }
                let v = m.get_mut(op)?;
                let rat = At {
                    ptr: &optr,
                    state: at.state,
                };
                let rm = self.object(v, rat, "a choice rule")?;
                Some(Rule::Not(Box::new(self.rule(rm, rat, false)?)))
            }
            _ => {
                let operator = Operator::from_name(op)?;
                let variable = self.required_string(m, "Variable", at, "a comparison")?;
                let operand = m.get_mut(op).map(Value::take)?;
                Some(Rule::Compare {
                    variable,
                    operator,
                    operand,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_and_misplaced_fields_are_reported_not_dropped() {
        let doc = json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B", "Bogus": 1},
                "B": {"Type": "Succeed", "Parameters": {}}
            }
        });
        let errs = from_json(&doc).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 2, "{text:?}");
        assert_eq!(errs[0].pointer, "/States/A/Bogus");
        assert_eq!(errs[1].pointer, "/States/B/Parameters");
        assert!(
            text[1].contains("not valid in a Succeed state"),
            "{}",
            text[1]
        );
    }

    #[test]
    fn missing_start_at_and_bad_type() {
        let doc = json!({"States": {"A": {"Type": "Nope"}}});
        let errs = from_json(&doc).unwrap_err();
        assert!(errs.iter().any(|d| d.pointer == "/StartAt"));
        assert!(errs.iter().any(|d| d.pointer == "/States/A/Type"));
    }

    #[test]
    fn choice_rule_shapes() {
        let doc = json!({
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [
                    {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "D"},
                    {"And": [{"Variable": "$.a", "IsPresent": true, "Next": "D"}], "Next": "D"},
                    {"Variable": "$.a", "Next": "D"}
                ], "Default": "D"},
                "D": {"Type": "Succeed"}
            }
        });
        let errs = from_json(&doc).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].message.contains("exactly one operator"));
        assert!(errs[1].message.contains("cannot have Next"));
        assert!(errs[2].message.contains("needs one comparison operator"));
    }
}
