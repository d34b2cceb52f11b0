//! Semantic checks on a parsed ASL [`Definition`]: the rules AWS applies before it accepts a definition
//! (transitions, reachability, termination, Choice rules, field use per query language, Retry/Catch,
//! path and intrinsic syntax, JSONata delimiters, payload template keys, timeouts, Wait, names and size,
//! `Credentials`, fields that exclude each other, Task Resources against the integration catalogue of
//! `sfn-iam`, Lambda qualifiers). Every problem is reported at once so users fix a definition in one round.
//!
//! Besides errors it gives the warnings `ValidateStateMachineDefinition` gives, under AWS's codes: NO_DOLLAR
//! (a path-looking value under a key without `.$`), NO_PATH (a path in a field that takes a literal) and
//! PASS_RESULT_IS_STATIC (a path in a Pass state's `Result`).
//!
//! References: <https://states-language.net/spec.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html> (name and size limits).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::diagnostic::{Code, Diagnostic, child, index};
use super::model::*;
use super::paths;
use super::size::json_size;
pub use super::size::{MAX_DEFINITION_BYTES, check_size};

/// Longest state name AWS accepts.
pub const MAX_STATE_NAME: usize = 80;
/// Upper bound AWS uses for seconds and attempt counts.
const MAX_INT: f64 = 99_999_999.0;

/// Error names in the reserved `States.` namespace (AWS "Error handling" page).
const STATES_ERRORS: &[&str] = &[
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
    "States.BranchFailed",
];

/// Parses and validates an ASL document, including the size limit: the definition when nothing blocks it, and
/// every diagnostic (errors and warnings) either way.
pub fn check_json(value: &Value) -> (Option<Definition>, Vec<Diagnostic>) {
    let def = match super::parse::from_json(value) {
        Ok(def) => def,
        Err(diags) => return (None, diags),
    };
    let mut diags = check(&def);
    if let Some(d) = check_size(json_size(value)) {
        diags.push(d);
    }
    if diags.iter().any(Diagnostic::is_error) {
        (None, diags)
    } else {
        (Some(def), diags)
    }
}

/// Parses and validates an ASL document, including the size limit. The error side holds the errors only; use
/// [`check_json`] for the warnings too.
pub fn validate_json(value: &Value) -> Result<Definition, Vec<Diagnostic>> {
    match check_json(value) {
        (Some(def), _) => Ok(def),
        (None, diags) => Err(diags.into_iter().filter(Diagnostic::is_error).collect()),
    }
}

/// Checks a parsed definition against every semantic rule and returns every diagnostic, errors and warnings.
/// The size limit needs the serialised text and is checked by [`check_json`] and the compiler.
pub fn check(def: &Definition) -> Vec<Diagnostic> {
    let mut v = Validator {
        diags: Vec::new(),
        seen_names: HashMap::new(),
        top_query_language: def.query_language.unwrap_or(QueryLanguage::JsonPath),
    };
    let top = At {
        ptr: "",
        state: None,
    };
    if let Some(t) = &def.timeout_seconds {
        v.positive_int(t.as_f64(), top, "TimeoutSeconds");
    }
    if let Some(ver) = &def.version
        && ver != "1.0"
    {
        v.err(
            top,
            Some("Version"),
            format!("must be \"1.0\", found {ver:?}"),
        );
    }
    let ql = v.top_query_language;
    v.scope(&def.start_at, &def.states, "", None, ql);
    v.diags
}

/// Checks a parsed definition against every semantic rule; the error side holds the errors only.
pub fn validate(def: &Definition) -> Result<(), Vec<Diagnostic>> {
    let errors: Vec<Diagnostic> = check(def)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[derive(Clone, Copy)]
struct At<'a> {
    ptr: &'a str,
    state: Option<&'a str>,
}

struct Validator {
    diags: Vec<Diagnostic>,
    /// Every state name seen so far with its pointer: names are unique across the whole machine.
    seen_names: HashMap<String, String>,
    /// The definition's own `QueryLanguage` (JSONPath when unset), which decides whether a state may choose
    /// JSONPath: AWS forbids it only under a JSONata top level, whatever the enclosing state uses.
    top_query_language: QueryLanguage,
}

fn is_terminal(s: &State) -> bool {
    matches!(s.kind, StateKind::Succeed | StateKind::Fail(_)) || s.end == Some(true)
}

/// Calls `f` with every state a state can move to and the field (relative pointer) that names it. A
/// callback rather than a list: this runs three times per state and allocating would dominate.
fn for_each_successor<'s>(s: &'s State, mut f: impl FnMut(&'s str, Successor)) {
    if let Some(n) = &s.next {
        f(n, Successor::Next);
    }
    if let StateKind::Choice(c) = &s.kind {
        for (i, b) in c.choices.iter().enumerate() {
            f(&b.next, Successor::Choice(i));
        }
        if let Some(d) = &c.default {
            f(d, Successor::Default);
        }
    }
    for (i, c) in s.catch.iter().flatten().enumerate() {
        f(&c.next, Successor::Catch(i));
    }
}

/// Which field of a state names a successor.
#[derive(Clone, Copy)]
enum Successor {
    Next,
    Choice(usize),
    Default,
    Catch(usize),
}

impl Successor {
    fn pointer_suffix(self) -> String {
        match self {
            Successor::Next => "Next".into(),
            Successor::Choice(i) => format!("Choices/{i}/Next"),
            Successor::Default => "Default".into(),
            Successor::Catch(i) => format!("Catch/{i}/Next"),
        }
    }

    fn field(self) -> &'static str {
        match self {
            Successor::Default => "Default",
            _ => "Next",
        }
    }
}

impl Validator {
    fn err(&mut self, at: At<'_>, field: Option<&str>, msg: impl Into<String>) {
        let ptr = match field {
            Some(f) => child(at.ptr, f),
            None => at.ptr.to_owned(),
        };
        self.diags.push(Diagnostic::new(ptr, at.state, field, msg));
    }

    /// An error with a code more precise than `SCHEMA_VALIDATION_FAILED`.
    fn err_code(&mut self, at: At<'_>, field: Option<&str>, code: Code, msg: impl Into<String>) {
        self.err(at, field, msg);
        if let Some(d) = self.diags.last_mut() {
            d.code = code;
        }
    }

    /// A warning: reported with its code, never blocking.
    fn warn(&mut self, at: At<'_>, field: Option<&str>, code: Code, msg: impl Into<String>) {
        let ptr = match field {
            Some(f) => child(at.ptr, f),
            None => at.ptr.to_owned(),
        };
        self.diags
            .push(Diagnostic::warning(code, ptr, at.state, field, msg));
    }

    fn scope(
        &mut self,
        start_at: &str,
        states: &States,
        base: &str,
        owner: Option<&str>,
        ql: QueryLanguage,
    ) {
        let at = At {
            ptr: base,
            state: owner,
        };
        if states.is_empty() {
            self.err(at, Some("States"), "must contain at least one state");
            return;
        }
        if !states.contains_key(start_at) {
            self.err_code(
                at,
                Some("StartAt"),
                Code::MissingTransitionTarget,
                format!("StartAt {start_at:?} does not name a state in this scope"),
            );
        }
        let states_ptr = child(base, "States");
        for (name, s) in states {
            let ptr = child(&states_ptr, name);
            self.state(name, s, &ptr, states, ql);
        }
        self.graph(start_at, states, &states_ptr);
    }

    fn graph(&mut self, start_at: &str, states: &States, states_ptr: &str) {
        // Reachability from StartAt.
        let mut reached: HashSet<&str> = HashSet::with_capacity(states.len());
        let mut stack = vec![start_at];
        while let Some(n) = stack.pop() {
            let Some(s) = states.get(n) else { continue };
            if !reached.insert(n) {
                continue;
            }
            for_each_successor(s, |t, _| {
                if !reached.contains(t) {
                    stack.push(t);
                }
            });
        }
        // Termination: a state terminates when it is terminal or one of its successors terminates. A Choice
        // without Default can always end with States.NoChoiceMatched, so it counts as terminating.
        let mut preds: HashMap<&str, Vec<&str>> = HashMap::with_capacity(states.len());
        let mut done: HashSet<&str> = HashSet::with_capacity(states.len());
        let mut work = Vec::new();
        for (name, s) in states {
            for_each_successor(s, |t, _| preds.entry(t).or_default().push(name.as_str()));
            let no_default_choice = matches!(&s.kind, StateKind::Choice(c) if c.default.is_none());
            if is_terminal(s) || no_default_choice {
                done.insert(name.as_str());
                work.push(name.as_str());
            }
        }
        while let Some(n) = work.pop() {
            for p in preds.get(n).into_iter().flatten() {
                if done.insert(p) {
                    work.push(p);
                }
            }
        }
        for name in states.keys() {
            let ptr = child(states_ptr, name);
            let at = At {
                ptr: &ptr,
                state: Some(name),
            };
            if !reached.contains(name.as_str()) {
                self.err(
                    at,
                    None,
                    "state is unreachable: no transition from StartAt leads to it",
                );
            } else if !done.contains(name.as_str()) {
                self.err_code(
                    at,
                    None,
                    Code::MissingEndState,
                    "no path from this state reaches a terminal state (End, Succeed or Fail)",
                );
            }
        }
    }

    fn state(
        &mut self,
        name: &str,
        s: &State,
        ptr: &str,
        scope: &States,
        inherited: QueryLanguage,
    ) {
        let at = At {
            ptr,
            state: Some(name),
        };
        if name.is_empty() {
            self.err_code(
                at,
                None,
                Code::InvalidStateName,
                "state names must not be empty",
            );
        }
        if name.chars().count() > MAX_STATE_NAME {
            self.err_code(
                at,
                None,
                Code::InvalidStateName,
                format!(
                    "state name is {} characters; AWS allows at most {MAX_STATE_NAME}",
                    name.chars().count()
                ),
            );
        }
        if let Some(prev) = self.seen_names.insert(name.to_owned(), ptr.to_owned()) {
            self.err_code(
                at,
                None,
                Code::DuplicateStateName,
                format!("state name {name:?} is already used at {prev}; names are unique across the whole state machine"),
            );
        }
        let ql = s.query_language.unwrap_or(inherited);
        if self.top_query_language == QueryLanguage::Jsonata
            && s.query_language == Some(QueryLanguage::JsonPath)
        {
            self.err(
                at,
                Some("QueryLanguage"),
                "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
            );
        }
        self.transitions(s, at, scope);
        self.io_fields(s, at, ql);
        self.retry_catch(s, at, ql);
        match &s.kind {
            StateKind::Task(t) => self.task(t, s, at, ql),
            StateKind::Pass(p) => {
                if let Some(r) = &p.result {
                    self.static_result(r, &child(ptr, "Result"), at);
                }
            }
            StateKind::Succeed => {}
            StateKind::Wait(w) => self.wait(w, at, ql),
            StateKind::Choice(c) => self.choice(c, at, ql),
            StateKind::Parallel(p) => {
                if p.branches.is_empty() {
                    self.err(
                        at,
                        Some("Branches"),
                        "a Parallel state needs at least one branch",
                    );
                }
                let bptr = child(ptr, "Branches");
                for (i, b) in p.branches.iter().enumerate() {
                    let iptr = index(&bptr, i);
                    self.scope(&b.start_at, &b.states, &iptr, Some(name), ql);
                }
            }
            StateKind::Map(m) => self.map(m, s, at, ql),
            StateKind::Fail(f) => self.fail(f, at, ql),
        }
    }

    fn transitions(&mut self, s: &State, at: At<'_>, scope: &States) {
        let needs_transition = !matches!(
            s.kind,
            StateKind::Choice(_) | StateKind::Succeed | StateKind::Fail(_)
        );
        if needs_transition {
            match (&s.next, s.end) {
                (Some(_), Some(true)) => {
                    self.err(at, Some("End"), "a state cannot have both Next and End")
                }
                (None, None | Some(false)) => self.err(
                    at,
                    Some("Next"),
                    format!("a {} state needs Next or \"End\": true", s.type_name()),
                ),
                _ => {}
            }
        }
        let mut missing = Vec::new();
        for_each_successor(s, |target, which| {
            if !scope.contains_key(target) {
                missing.push((target, which));
            }
        });
        for (target, which) in missing {
            self.diags.push(
                Diagnostic::new(
                    format!("{}/{}", at.ptr, which.pointer_suffix()),
                    at.state,
                    Some(which.field()),
                    format!("{target:?} does not name a state in this scope"),
                )
                .with_code(Code::MissingTransitionTarget),
            );
        }
    }

    /// I/O fields: which are allowed in the state's query language, and their syntax.
    fn io_fields(&mut self, s: &State, at: At<'_>, ql: QueryLanguage) {
        let jsonata = ql == QueryLanguage::Jsonata;
        if jsonata {
            for (f, present) in [
                ("InputPath", s.input_path.is_some()),
                ("OutputPath", s.output_path.is_some()),
                ("ResultPath", s.result_path.is_some()),
                ("Parameters", s.parameters.is_some()),
                ("ResultSelector", s.result_selector.is_some()),
            ] {
                if present {
                    self.err(
                        at,
                        Some(f),
                        format!("{f} is a JSONPath field and cannot be used in a JSONata state (use Arguments, Output or Assign)"),
                    );
                }
            }
            if let Some(a) = &s.arguments {
                self.jsonata_value(a, at, "Arguments");
            }
            if let Some(o) = &s.output {
                self.jsonata_value(o, at, "Output");
            }
            if let Some(a) = &s.assign {
                self.object_required(a, at, "Assign");
                self.jsonata_value(a, at, "Assign");
            }
        } else {
            for (f, present) in [
                ("Arguments", s.arguments.is_some()),
                ("Output", s.output.is_some()),
            ] {
                if present {
                    self.err(
                        at,
                        Some(f),
                        format!("{f} is a JSONata field; set \"QueryLanguage\": \"JSONata\" to use it (JSONPath states use Parameters and OutputPath)"),
                    );
                }
            }
            if let Some(PathField::Path(p)) = &s.input_path {
                self.path(p, at, "InputPath", false);
            }
            if let Some(PathField::Path(p)) = &s.output_path {
                self.path(p, at, "OutputPath", false);
            }
            if let Some(PathField::Path(p)) = &s.result_path {
                self.result_path(p, at, "ResultPath");
            }
            if let Some(p) = &s.parameters {
                self.template(p, &child(at.ptr, "Parameters"), at, "Parameters");
            }
            if let Some(p) = &s.result_selector {
                self.object_required(p, at, "ResultSelector");
                self.template(p, &child(at.ptr, "ResultSelector"), at, "ResultSelector");
            }
            if let Some(a) = &s.assign {
                self.object_required(a, at, "Assign");
                self.template(a, &child(at.ptr, "Assign"), at, "Assign");
            }
        }
    }

    /// AWS's PASS_RESULT_IS_STATIC warning: a Pass state's `Result` is used as written, so a `.$` key or a
    /// path value in it is never evaluated (Parameters is what evaluates paths).
    fn static_result(&mut self, v: &Value, ptr: &str, at: At<'_>) {
        match v {
            Value::String(s) if looks_like_path(s) => self.diags.push(Diagnostic::warning(
                Code::PassResultIsStatic,
                ptr,
                at.state,
                Some("Result"),
                format!("{s:?} looks like a path, but Result is static and is passed on as written (use Parameters to evaluate paths)"),
            )),
            Value::Object(m) => {
                for (k, val) in m {
                    let kptr = child(ptr, k);
                    if k.ends_with(".$") {
                        self.diags.push(Diagnostic::warning(
                            Code::PassResultIsStatic,
                            kptr.clone(),
                            at.state,
                            Some("Result"),
                            format!("key {k:?} ends in \".$\", but Result is static: its value is not evaluated (use Parameters to evaluate paths)"),
                        ));
                    } else {
                        self.static_result(val, &kptr, at);
                    }
                }
            }
            Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    self.static_result(item, &index(ptr, i), at);
                }
            }
            _ => {}
        }
    }

    fn object_required(&mut self, v: &Value, at: At<'_>, field: &str) {
        if !v.is_object() {
            self.err(at, Some(field), "must be an object");
        }
    }

    fn path(&mut self, p: &str, at: At<'_>, field: &str, reference: bool) {
        let r = if reference {
            paths::check_reference_path(p)
        } else {
            paths::check_path(p)
        };
        if let Err(e) = r {
            self.err(at, Some(field), e);
        }
    }

    fn result_path(&mut self, p: &str, at: At<'_>, field: &str) {
        match paths::check_reference_path(p) {
            Err(e) => self.err(at, Some(field), e),
            Ok(i) if i.context || i.variable => self.err(
                at,
                Some(field),
                format!("{p:?}: ResultPath must point into the state's input ($...), not the context object or a variable"),
            ),
            Ok(_) => {}
        }
    }

    /// A JSONPath payload template: `.$` keys take a path or an intrinsic function, and no two keys may
    /// collide once the `.$` suffix is removed.
    fn template(&mut self, v: &Value, ptr: &str, at: At<'_>, field: &str) {
        match v {
            Value::Object(m) => {
                // Pointers are built only for errors and nested objects: templates are the bulk of a
                // definition and most keys are fine.
                let mut seen: HashSet<&str> = HashSet::with_capacity(m.len());
                for (k, val) in m {
                    let bare = k.strip_suffix(".$");
                    if !seen.insert(bare.unwrap_or(k)) {
                        self.diags.push(Diagnostic::new(
                            child(ptr, k),
                            at.state,
                            Some(field),
                            format!(
                                "key {k:?} duplicates another key once the \".$\" suffix is removed"
                            ),
                        ));
                    }
                    if bare.is_some() {
                        let problem = match val {
                            Value::String(s) => {
                                if paths::is_intrinsic(s) {
                                    paths::check_intrinsic(s).err()
                                } else if s.trim_start().starts_with("States.") {
                                    Some(format!(
                                        "{s:?}: white space before an intrinsic function is not allowed"
                                    ))
                                } else {
                                    paths::check_path(s).err()
                                }
                            }
                            _ => Some(format!(
                                "the value of {k:?} must be a path or intrinsic function string"
                            )),
                        };
                        if let Some(e) = problem {
                            self.diags.push(Diagnostic::new(
                                child(ptr, k),
                                at.state,
                                Some(field),
                                e,
                            ));
                        }
                    } else if let Value::String(sv) = val
                        && (looks_like_path(sv) || looks_like_intrinsic(sv))
                    {
                        self.diags.push(Diagnostic::warning(
                            Code::NoDollar,
                            child(ptr, k),
                            at.state,
                            Some(field),
                            format!("{sv:?} looks like a path or intrinsic function but is passed as a literal string: name the field \"{k}.$\" to evaluate it"),
                        ));
                    } else if matches!(val, Value::Object(_) | Value::Array(_)) {
                        let kptr = child(ptr, k);
                        let here = At {
                            ptr: &kptr,
                            state: at.state,
                        };
                        self.template(val, &kptr, here, field);
                    }
                }
            }
            Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if matches!(item, Value::Object(_) | Value::Array(_)) {
                        self.template(item, &index(ptr, i), at, field);
                    }
                }
            }
            _ => {}
        }
    }

    /// Every string inside a JSONata field that opens an expression must be one whole `{% ... %}`. Keys
    /// ending in `.$` are plain keys here (AWS treats them literally in JSONata states).
    fn jsonata_value(&mut self, v: &Value, at: At<'_>, field: &str) {
        self.jsonata_walk(v, &child(at.ptr, field), at.state, field);
    }

    fn jsonata_walk(&mut self, v: &Value, ptr: &str, state: Option<&str>, field: &str) {
        match v {
            Value::String(s) => {
                if let Err(e) = paths::check_jsonata(s) {
                    self.diags.push(Diagnostic::new(ptr, state, Some(field), e));
                }
            }
            Value::Object(m) => {
                for (k, val) in m {
                    if needs_jsonata_walk(val) {
                        self.jsonata_walk(val, &child(ptr, k), state, field);
                    }
                }
            }
            Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if needs_jsonata_walk(item) {
                        self.jsonata_walk(item, &index(ptr, i), state, field);
                    }
                }
            }
            _ => {}
        }
    }

    fn jsonpath_only(&mut self, present: bool, at: At<'_>, field: &str, ql: QueryLanguage) -> bool {
        if present && ql == QueryLanguage::Jsonata {
            self.err(
                at,
                Some(field),
                format!("{field} is a JSONPath field and cannot be used in a JSONata state"),
            );
            return false;
        }
        present
    }

    fn num(
        &mut self,
        n: &NumField,
        at: At<'_>,
        field: &str,
        ql: QueryLanguage,
        min: f64,
        max: f64,
    ) -> Option<f64> {
        match n {
            NumField::Expr(e) => {
                if ql == QueryLanguage::JsonPath {
                    self.err(
                        at,
                        Some(field),
                        format!("must be a number (found the string {e:?})"),
                    );
                    self.no_path(e, at, field);
                } else if !paths::is_jsonata(e) {
                    self.err(
                        at,
                        Some(field),
                        format!("must be a number or a {{% ... %}} expression, found {e:?}"),
                    );
                } else if let Err(e) = paths::check_jsonata(e) {
                    self.err(at, Some(field), e);
                }
                None
            }
            NumField::Number(num) => {
                let f = num.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 || f < min || f > max {
                    self.err(
                        at,
                        Some(field),
                        format!("must be an integer from {min} to {max}, found {num}"),
                    );
                    return None;
                }
                Some(f)
            }
        }
    }

    /// AWS's NO_PATH warning: a path in a field that takes a literal, whose `...Path` sibling was probably meant.
    fn no_path(&mut self, v: &str, at: At<'_>, field: &str) {
        if looks_like_path(v) {
            self.warn(
                at,
                Some(field),
                Code::NoPath,
                format!("{v:?} looks like a path but {field} takes a literal value; use {field}Path to read it from the input"),
            );
        }
    }

    fn positive_int(&mut self, f: Option<f64>, at: At<'_>, field: &str) {
        if let Some(f) = f
            && (f.fract() != 0.0 || !(1.0..=MAX_INT).contains(&f))
        {
            self.err(
                at,
                Some(field),
                format!("must be a positive integer up to {MAX_INT}, found {f}"),
            );
        }
    }

    fn task(&mut self, t: &Task, s: &State, at: At<'_>, ql: QueryLanguage) {
        // The callback pattern waits for SendTaskSuccess with a token the service can only know if the
        // state passes it on.
        if t.resource.ends_with(".waitForTaskToken") {
            let passed = [&s.parameters, &s.arguments]
                .into_iter()
                .flatten()
                .any(super::integration::mentions_task_token);
            if !passed {
                let (field, hint) = if ql == QueryLanguage::Jsonata {
                    ("Arguments", "\"{% $states.context.Task.Token %}\"")
                } else {
                    ("Parameters", "\"TaskToken.$\": \"$$.Task.Token\"")
                };
                // AWS creates and runs such a task; it then waits until its timeout, since nothing can call
                // back. A warning, not an error: the token may reach the service some other way.
                self.warn(
                    at,
                    Some(field),
                    Code::MissingTaskToken,
                    format!("the .waitForTaskToken pattern needs the task token passed to the service, e.g. {hint}"),
                );
            }
        }
        if t.resource.is_empty() {
            self.err_code(
                at,
                Some("Resource"),
                Code::InvalidResource,
                "must not be empty",
            );
        } else if !t.resource.starts_with("arn:") && !paths::is_jsonata(&t.resource) {
            self.err_code(
                at,
                Some("Resource"),
                Code::InvalidResource,
                format!("{:?} is not an ARN", t.resource),
            );
        } else {
            self.resource(&t.resource, s, at);
        }
        if t.timeout_seconds.is_some() && t.timeout_seconds_path.is_some() {
            self.err(
                at,
                Some("TimeoutSecondsPath"),
                "use TimeoutSeconds or TimeoutSecondsPath, not both",
            );
        }
        if t.heartbeat_seconds.is_some() && t.heartbeat_seconds_path.is_some() {
            self.err(
                at,
                Some("HeartbeatSecondsPath"),
                "use HeartbeatSeconds or HeartbeatSecondsPath, not both",
            );
        }
        let timeout = t
            .timeout_seconds
            .as_ref()
            .and_then(|n| self.num(n, at, "TimeoutSeconds", ql, 1.0, MAX_INT));
        let heartbeat = t
            .heartbeat_seconds
            .as_ref()
            .and_then(|n| self.num(n, at, "HeartbeatSeconds", ql, 1.0, MAX_INT));
        if let (Some(tmo), Some(hb)) = (timeout, heartbeat)
            && hb >= tmo
        {
            self.err(
                at,
                Some("HeartbeatSeconds"),
                format!("HeartbeatSeconds ({hb}) must be smaller than TimeoutSeconds ({tmo})"),
            );
        }
        for (f, v) in [
            ("TimeoutSecondsPath", &t.timeout_seconds_path),
            ("HeartbeatSecondsPath", &t.heartbeat_seconds_path),
        ] {
            if let Some(p) = v
                && self.jsonpath_only(true, at, f, ql)
            {
                self.path(p, at, f, true);
            }
        }
        if let Some(c) = &t.credentials {
            self.credentials(c, at, ql);
            if ql == QueryLanguage::Jsonata {
                self.jsonata_value(c, at, "Credentials");
            } else {
                self.template(c, &child(at.ptr, "Credentials"), at, "Credentials");
            }
        }
    }

    /// A Task's `Resource` ARN: the integration must exist, and a Lambda function ARN must carry a valid
    /// qualifier, in the `Resource` itself or in a `lambda:invoke` task's static `FunctionName`.
    fn resource(&mut self, resource: &str, s: &State, at: At<'_>) {
        use sfn_iam::catalogue::{self, StatesResource};
        let arn_service = resource.split(':').nth(2).unwrap_or_default();
        if arn_service == "lambda" {
            if !lambda_reference_ok(resource) {
                self.err_code(
                    at,
                    Some("Resource"),
                    Code::InvalidResource,
                    format!("{resource:?} is not a Lambda function ARN: a qualifier after the function name is a version number, $LATEST or an alias name (letters, digits, '-' and '_')"),
                );
            }
            return;
        }
        if arn_service != "states" {
            return;
        }
        let Some(r) = catalogue::states_resource(resource) else {
            self.err_code(
                at,
                Some("Resource"),
                Code::InvalidResource,
                format!("{resource:?} is not a Step Functions integration or Activity ARN (expected arn:aws:states:::<service>:<action>, arn:aws:states:::aws-sdk:<service>:<action> or an activity ARN)"),
            );
            return;
        };
        let StatesResource::Optimized {
            service,
            action,
            pattern,
        } = r
        else {
            return;
        };
        let partition = resource.split(':').nth(1).unwrap_or("aws");
        match catalogue::known(service, action) {
            None => {
                // A near miss (`lambda:Invoke`) is most likely a typo of the optimized integration; otherwise the
                // AWS SDK integration of the same action is what exists (`dynamodb:query`).
                let hint = match catalogue::nearest(service, action) {
                    Some((i, d)) if d <= 2 => format!(
                        "arn:{partition}:states:::{}:{}{}",
                        i.service,
                        i.action,
                        pattern.suffix()
                    ),
                    _ => format!(
                        "arn:{partition}:states:::aws-sdk:{service}:{action}{}",
                        pattern.suffix()
                    ),
                };
                self.err_code(
                    at,
                    Some("Resource"),
                    Code::InvalidResource,
                    format!("{resource:?}: {service}:{action} is not an optimized integration; the nearest valid resource is {hint}"),
                );
            }
            Some(i) if !i.patterns.contains(&pattern) => {
                let supported: Vec<String> = i.patterns.iter().map(|p| p.to_string()).collect();
                self.err_code(
                    at,
                    Some("Resource"),
                    Code::InvalidResource,
                    format!(
                        "{resource:?}: {service}:{action} does not support the {pattern} pattern (supported: {})",
                        supported.join(", ")
                    ),
                );
            }
            Some(_) if (service, action) == ("lambda", "invoke") => {
                for (field, payload) in [("Parameters", &s.parameters), ("Arguments", &s.arguments)]
                {
                    if let Some(Value::String(f)) =
                        payload.as_ref().and_then(|p| p.get("FunctionName"))
                        && !paths::is_jsonata(f)
                        && !lambda_reference_ok(f)
                    {
                        let ptr = child(&child(at.ptr, field), "FunctionName");
                        self.diags.push(
                            Diagnostic::new(
                                ptr,
                                at.state,
                                Some(field),
                                format!("FunctionName {f:?}: a qualifier after the function name is a version number, $LATEST or an alias name (letters, digits, '-' and '_')"),
                            ),
                        );
                    }
                }
            }
            Some(_) => {}
        }
    }

    /// `Credentials` of a Task: an object whose only field is `RoleArn` (or, in JSONPath, `RoleArn.$`), which
    /// is required ("Task workflow state", Credentials; CreateStateMachine refuses anything else).
    fn credentials(&mut self, c: &Value, at: At<'_>, ql: QueryLanguage) {
        let Value::Object(m) = c else {
            self.err(
                at,
                Some("Credentials"),
                format!("must be an object with a RoleArn field, found {c}"),
            );
            return;
        };
        let allowed: &[&str] = if ql == QueryLanguage::Jsonata {
            &["RoleArn"]
        } else {
            &["RoleArn", "RoleArn.$"]
        };
        let cptr = child(at.ptr, "Credentials");
        for k in m.keys() {
            if !allowed.contains(&k.as_str()) {
                self.diags.push(Diagnostic::new(
                    child(&cptr, k),
                    at.state,
                    Some("Credentials"),
                    format!("unknown field {k:?} in Credentials (only RoleArn is allowed)"),
                ));
            }
        }
        if !allowed.iter().any(|k| m.contains_key(*k)) {
            self.err(
                at,
                Some("Credentials"),
                "Credentials requires field RoleArn",
            );
        }
        match m.get("RoleArn") {
            None | Some(Value::String(_)) => {}
            Some(other) => self.diags.push(Diagnostic::new(
                child(&cptr, "RoleArn"),
                at.state,
                Some("Credentials"),
                format!("RoleArn must be a string, found {other}"),
            )),
        }
    }

    fn wait(&mut self, w: &Wait, at: At<'_>, ql: QueryLanguage) {
        let set: Vec<&str> = [
            ("Seconds", w.seconds.is_some()),
            ("SecondsPath", w.seconds_path.is_some()),
            ("Timestamp", w.timestamp.is_some()),
            ("TimestampPath", w.timestamp_path.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, p)| p.then_some(f))
        .collect();
        if set.len() != 1 {
            let field = set.get(1).copied().unwrap_or("Seconds");
            self.err(
                at,
                Some(field),
                format!(
                    "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; found {}",
                    if set.is_empty() { "none".to_owned() } else { set.join(", ") }
                ),
            );
        }
        if let Some(n) = &w.seconds {
            self.num(n, at, "Seconds", ql, 0.0, MAX_INT);
        }
        if let Some(ts) = &w.timestamp {
            if paths::is_jsonata(ts) && ql == QueryLanguage::Jsonata {
                if let Err(e) = paths::check_jsonata(ts) {
                    self.err(at, Some("Timestamp"), e);
                }
            } else if let Err(e) = check_timestamp(ts) {
                self.err(at, Some("Timestamp"), e);
                self.no_path(ts, at, "Timestamp");
            }
        }
        for (f, v) in [
            ("SecondsPath", &w.seconds_path),
            ("TimestampPath", &w.timestamp_path),
        ] {
            if let Some(p) = v
                && self.jsonpath_only(true, at, f, ql)
            {
                self.path(p, at, f, true);
            }
        }
    }

    fn fail(&mut self, f: &Fail, at: At<'_>, ql: QueryLanguage) {
        for (a, b, va, vb) in [
            ("Error", "ErrorPath", &f.error, &f.error_path),
            ("Cause", "CausePath", &f.cause, &f.cause_path),
        ] {
            if va.is_some() && vb.is_some() {
                self.err(at, Some(b), format!("use {a} or {b}, not both"));
            }
            if let Some(p) = vb
                && self.jsonpath_only(true, at, b, ql)
            {
                let r = if paths::is_intrinsic(p) {
                    paths::check_intrinsic(p)
                } else {
                    paths::check_reference_path(p).map(|_| ())
                };
                if let Err(e) = r {
                    self.err(at, Some(b), e);
                }
            }
            if let Some(s) = va
                && ql == QueryLanguage::Jsonata
                && let Err(e) = paths::check_jsonata(s)
            {
                self.err(at, Some(a), e);
            }
            // AWS accepts `"Cause": "$.message"` and fails with that text; it warns that CausePath was meant.
            if let Some(s) = va
                && ql == QueryLanguage::JsonPath
            {
                self.no_path(s, at, a);
            }
        }
    }

    fn choice(&mut self, c: &Choice, at: At<'_>, ql: QueryLanguage) {
        if c.choices.is_empty() {
            self.err(
                at,
                Some("Choices"),
                "a Choice state needs at least one choice rule",
            );
        }
        let base = child(at.ptr, "Choices");
        for (i, b) in c.choices.iter().enumerate() {
            let p = index(&base, i);
            let bat = At {
                ptr: &p,
                state: at.state,
            };
            match (&b.test, ql) {
                // A constant `true`/`false` is a valid Condition (AWS accepts it; the rule always or never
                // matches).
                (ChoiceTest::Condition(_), QueryLanguage::Jsonata) if b.condition_is_boolean => {}
                (ChoiceTest::Condition(cond), QueryLanguage::Jsonata) => {
                    if !paths::is_jsonata(cond) {
                        self.err(bat, Some("Condition"), format!("must be a {{% ... %}} JSONata expression, found {cond:?}"));
                    } else if let Err(e) = paths::check_jsonata(cond) {
                        self.err(bat, Some("Condition"), e);
                    }
                }
                (ChoiceTest::Condition(_), QueryLanguage::JsonPath) => self.err(
                    bat,
                    Some("Condition"),
                    "Condition is a JSONata field; JSONPath choice rules use Variable and a comparison operator",
                ),
                (ChoiceTest::Rule(r), QueryLanguage::JsonPath) => self.rule(r, bat),
                (ChoiceTest::Rule(_), QueryLanguage::Jsonata) => self.err(
                    bat,
                    None,
                    "JSONata choice rules use Condition, not Variable and comparison operators",
                ),
            }
            if let Some(o) = &b.output {
                if ql == QueryLanguage::JsonPath {
                    self.err(bat, Some("Output"), "Output is a JSONata field");
                } else {
                    self.jsonata_value(o, bat, "Output");
                }
            }
            if let Some(a) = &b.assign {
                self.object_required(a, bat, "Assign");
                if ql == QueryLanguage::Jsonata {
                    self.jsonata_value(a, bat, "Assign");
                } else {
                    self.template(a, &child(&p, "Assign"), bat, "Assign");
                }
            }
        }
    }

    fn rule(&mut self, r: &Rule, at: At<'_>) {
        match r {
            Rule::And(rs) | Rule::Or(rs) => {
                let op = if matches!(r, Rule::And(_)) {
                    "And"
                } else {
                    "Or"
                };
                if rs.is_empty() {
                    self.err(at, Some(op), format!("{op} needs at least one rule"));
                }
                let base = child(at.ptr, op);
                for (i, sub) in rs.iter().enumerate() {
                    let p = index(&base, i);
                    self.rule(
                        sub,
                        At {
                            ptr: &p,
                            state: at.state,
                        },
                    );
                }
            }
            Rule::Commented { rule, .. } => self.rule(rule, at),
            Rule::Not(sub) => {
                let p = child(at.ptr, "Not");
                self.rule(
                    sub,
                    At {
                        ptr: &p,
                        state: at.state,
                    },
                );
            }
            Rule::Compare {
                variable,
                operator,
                operand,
            } => {
                self.path(variable, at, "Variable", false);
                let f = operator.name();
                match (operator.operand(), operand) {
                    (Operand::String, Value::String(_))
                    | (Operand::Number, Value::Number(_))
                    | (Operand::Boolean, Value::Bool(_))
                    | (Operand::Test, Value::Bool(_)) => {}
                    (Operand::Timestamp, Value::String(s)) => {
                        if let Err(e) = check_timestamp(s) {
                            self.err(at, Some(f), e);
                        }
                    }
                    (Operand::Path, Value::String(p)) => self.path(p, at, f, true),
                    (want, _) => {
                        let want = match want {
                            Operand::String => "a string",
                            Operand::Number => "a number",
                            Operand::Boolean | Operand::Test => "a boolean",
                            Operand::Timestamp => "an RFC 3339 timestamp string",
                            Operand::Path => "a reference path string",
                        };
                        self.err(
                            at,
                            Some(f),
                            format!("{f} compares against {want}, found {operand}"),
                        );
                    }
                }
            }
        }
    }

    fn error_names(&mut self, names: &[String], at: At<'_>, last: bool, what: &str) {
        if names.is_empty() {
            self.err(
                at,
                Some("ErrorEquals"),
                format!("a {what} needs at least one error name"),
            );
        }
        for (i, n) in names.iter().enumerate() {
            let p = index(&child(at.ptr, "ErrorEquals"), i);
            if n == "States.ALL" {
                if names.len() > 1 {
                    self.diags.push(Diagnostic::new(
                        p.clone(),
                        at.state,
                        Some("ErrorEquals"),
                        "States.ALL must appear alone in ErrorEquals",
                    ));
                }
                if !last {
                    self.diags.push(Diagnostic::new(
                        p,
                        at.state,
                        Some("ErrorEquals"),
                        format!("States.ALL must be in the last {what}"),
                    ));
                }
            } else if n.starts_with("States.") && !STATES_ERRORS.contains(&n.as_str()) {
                // AWS creates such a machine (public samples use names like "States.QuorumMet"), but no
                // runtime error carries the name unless a Fail state or a task raises it on purpose.
                self.diags.push(Diagnostic::warning(
                    Code::ReservedErrorName,
                    p,
                    at.state,
                    Some("ErrorEquals"),
                    format!("{n:?} is not a predefined error; the States. prefix is reserved for Step Functions' own errors"),
                ));
            }
        }
    }

    fn retry_catch(&mut self, s: &State, at: At<'_>, ql: QueryLanguage) {
        if let Some(rs) = &s.retry {
            let base = child(at.ptr, "Retry");
            for (i, r) in rs.iter().enumerate() {
                let p = index(&base, i);
                let rat = At {
                    ptr: &p,
                    state: at.state,
                };
                self.error_names(&r.error_equals, rat, i + 1 == rs.len(), "retrier");
                let int = |n: &Option<serde_json::Number>| {
                    n.as_ref().map(|n| n.as_f64().unwrap_or(f64::NAN))
                };
                if let Some(f) = int(&r.interval_seconds)
                    && (f.fract() != 0.0 || !(1.0..=MAX_INT).contains(&f))
                {
                    self.err(
                        rat,
                        Some("IntervalSeconds"),
                        format!("must be a positive integer up to {MAX_INT}, found {f}"),
                    );
                }
                if let Some(f) = int(&r.max_attempts)
                    && (f.fract() != 0.0 || !(0.0..=MAX_INT).contains(&f))
                {
                    self.err(
                        rat,
                        Some("MaxAttempts"),
                        format!("must be a non-negative integer up to {MAX_INT}, found {f}"),
                    );
                }
                if let Some(f) = int(&r.backoff_rate)
                    && !(f >= 1.0 && f.is_finite())
                {
                    self.err(
                        rat,
                        Some("BackoffRate"),
                        format!("must be at least 1.0, found {f}"),
                    );
                }
                if let Some(f) = int(&r.max_delay_seconds)
                    && (f.fract() != 0.0 || !(1.0..=31_622_400.0).contains(&f))
                {
                    self.err(
                        rat,
                        Some("MaxDelaySeconds"),
                        format!("must be an integer from 1 to 31622400, found {f}"),
                    );
                }
                if let Some(j) = &r.jitter_strategy
                    && j != "FULL"
                    && j != "NONE"
                {
                    self.err(
                        rat,
                        Some("JitterStrategy"),
                        format!("must be FULL or NONE, found {j:?}"),
                    );
                }
            }
        }
        if let Some(cs) = &s.catch {
            let base = child(at.ptr, "Catch");
            for (i, c) in cs.iter().enumerate() {
                let p = index(&base, i);
                let cat = At {
                    ptr: &p,
                    state: at.state,
                };
                self.error_names(&c.error_equals, cat, i + 1 == cs.len(), "catcher");
                if let Some(rp) = &c.result_path
                    && self.jsonpath_only(true, cat, "ResultPath", ql)
                    && let PathField::Path(rp) = rp
                {
                    self.result_path(rp, cat, "ResultPath");
                }
                if let Some(o) = &c.output {
                    if ql == QueryLanguage::JsonPath {
                        self.err(cat, Some("Output"), "Output is a JSONata field");
                    } else {
                        self.jsonata_value(o, cat, "Output");
                    }
                }
                if let Some(a) = &c.assign {
                    self.object_required(a, cat, "Assign");
                    if ql == QueryLanguage::Jsonata {
                        self.jsonata_value(a, cat, "Assign");
                    } else {
                        self.template(a, &child(&p, "Assign"), cat, "Assign");
                    }
                }
            }
        }
    }

    fn map(&mut self, m: &MapState, s: &State, at: At<'_>, ql: QueryLanguage) {
        let name = at.state.unwrap_or_default();
        let mode = m
            .processor
            .processor_config
            .as_ref()
            .and_then(|c| c.mode.as_deref())
            .unwrap_or("INLINE");
        let pkey = if m.legacy_iterator {
            "Iterator"
        } else {
            "ItemProcessor"
        };
        let pptr = child(at.ptr, pkey);
        if let Some(pc) = &m.processor.processor_config {
            let pcat = At {
                ptr: &child(&pptr, "ProcessorConfig"),
                state: at.state,
            };
            let pcptr = pcat.ptr.to_owned();
            let pcat = At {
                ptr: &pcptr,
                state: at.state,
            };
            if let Some(md) = &pc.mode
                && md != "INLINE"
                && md != "DISTRIBUTED"
            {
                self.err(
                    pcat,
                    Some("Mode"),
                    format!("must be INLINE or DISTRIBUTED, found {md:?}"),
                );
            }
            match (&pc.execution_type, mode) {
                (Some(et), "DISTRIBUTED") if et != "STANDARD" && et != "EXPRESS" => {
                    self.err(
                        pcat,
                        Some("ExecutionType"),
                        format!("must be STANDARD or EXPRESS, found {et:?}"),
                    );
                }
                (None, "DISTRIBUTED") => self.err(
                    pcat,
                    Some("ExecutionType"),
                    "a DISTRIBUTED Map needs ExecutionType (STANDARD or EXPRESS)",
                ),
                (Some(_), "INLINE") => self.err(
                    pcat,
                    Some("ExecutionType"),
                    "ExecutionType only applies to DISTRIBUTED Map processors",
                ),
                _ => {}
            }
        }
        if mode == "INLINE" {
            for (f, present) in [
                ("ItemReader", m.item_reader.is_some()),
                ("ResultWriter", m.result_writer.is_some()),
                ("ItemBatcher", m.item_batcher.is_some()),
                ("Label", m.label.is_some()),
            ] {
                if present {
                    self.err(at, Some(f), format!("{f} only applies to a DISTRIBUTED Map (set ItemProcessor.ProcessorConfig.Mode)"));
                }
            }
        }
        if s.parameters.is_some() && m.item_selector.is_some() {
            self.err(
                at,
                Some("Parameters"),
                "use ItemSelector or the legacy Parameters, not both",
            );
        }
        // Each number may be given literally or read from the input, not both (ASL specification, Map State;
        // "Map state in Distributed mode", ItemReader and ItemBatcher fields).
        for (a, b, both) in [
            (
                "MaxConcurrency",
                "MaxConcurrencyPath",
                m.max_concurrency.is_some() && m.max_concurrency_path.is_some(),
            ),
            (
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                m.tolerated_failure_count.is_some() && m.tolerated_failure_count_path.is_some(),
            ),
            (
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                m.tolerated_failure_percentage.is_some()
                    && m.tolerated_failure_percentage_path.is_some(),
            ),
        ] {
            if both {
                self.err(at, Some(b), format!("use {a} or {b}, not both"));
            }
        }
        let exclusive_in = |v: &Option<Value>,
                            sub: Option<&str>,
                            pairs: &[(&'static str, &'static str)]| {
            let obj = v.as_ref().and_then(|v| match sub {
                Some(k) => v.get(k),
                None => Some(v),
            });
            pairs
                .iter()
                .filter(|(a, b)| obj.is_some_and(|o| o.get(*a).is_some() && o.get(*b).is_some()))
                .copied()
                .collect::<Vec<_>>()
        };
        for (a, b) in exclusive_in(
            &m.item_reader,
            Some("ReaderConfig"),
            &[("MaxItems", "MaxItemsPath")],
        ) {
            let ptr = child(&child(&child(at.ptr, "ItemReader"), "ReaderConfig"), b);
            self.diags.push(Diagnostic::new(
                ptr,
                at.state,
                Some("ItemReader"),
                format!("ReaderConfig: use {a} or {b}, not both"),
            ));
        }
        for (a, b) in exclusive_in(
            &m.item_batcher,
            None,
            &[
                ("MaxItemsPerBatch", "MaxItemsPerBatchPath"),
                ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"),
            ],
        ) {
            let ptr = child(&child(at.ptr, "ItemBatcher"), b);
            self.diags.push(Diagnostic::new(
                ptr,
                at.state,
                Some("ItemBatcher"),
                format!("use {a} or {b}, not both"),
            ));
        }
        if let Some(n) = &m.max_concurrency {
            self.num(n, at, "MaxConcurrency", ql, 0.0, MAX_INT);
        }
        if let Some(n) = &m.tolerated_failure_percentage {
            match n {
                NumField::Number(num) => {
                    let f = num.as_f64().unwrap_or(f64::NAN);
                    if !(0.0..=100.0).contains(&f) {
                        self.err(
                            at,
                            Some("ToleratedFailurePercentage"),
                            format!("must be from 0 to 100, found {num}"),
                        );
                    }
                }
                other => {
                    self.num(other, at, "ToleratedFailurePercentage", ql, 0.0, 100.0);
                }
            }
        }
        if let Some(n) = &m.tolerated_failure_count {
            self.num(n, at, "ToleratedFailureCount", ql, 0.0, MAX_INT);
        }
        for (f, v) in [
            ("ItemsPath", &m.items_path),
            ("MaxConcurrencyPath", &m.max_concurrency_path),
            (
                "ToleratedFailurePercentagePath",
                &m.tolerated_failure_percentage_path,
            ),
            ("ToleratedFailureCountPath", &m.tolerated_failure_count_path),
        ] {
            if let Some(p) = v
                && self.jsonpath_only(true, at, f, ql)
            {
                self.path(p, at, f, true);
            }
        }
        if let Some(items) = &m.items {
            if ql == QueryLanguage::JsonPath {
                self.err(
                    at,
                    Some("Items"),
                    "Items is a JSONata field; JSONPath Map states use ItemsPath",
                );
            } else {
                match items {
                    Value::Array(_) => self.jsonata_value(items, at, "Items"),
                    Value::String(s) if paths::is_jsonata(s) => {
                        self.jsonata_value(items, at, "Items")
                    }
                    _ => self.err(
                        at,
                        Some("Items"),
                        "must be an array or a {% ... %} expression",
                    ),
                }
            }
        }
        if let Some(sel) = &m.item_selector {
            self.object_required(sel, at, "ItemSelector");
            if ql == QueryLanguage::Jsonata {
                self.jsonata_value(sel, at, "ItemSelector");
            } else {
                self.template(sel, &child(at.ptr, "ItemSelector"), at, "ItemSelector");
            }
        }
        if let Some(l) = &m.label
            && (l.chars().count() > 40
                || l.chars()
                    .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)))
        {
            self.err(
                at,
                Some("Label"),
                "must be at most 40 characters with no whitespace or special characters",
            );
        }
        self.scope(
            &m.processor.start_at,
            &m.processor.states,
            &pptr,
            Some(name),
            ql,
        );
    }
}

/// Whether a value can hold a JSONata expression (so its pointer is worth building).
fn needs_jsonata_walk(v: &Value) -> bool {
    match v {
        Value::String(s) => paths::is_jsonata(s),
        Value::Object(_) | Value::Array(_) => true,
        _ => false,
    }
}

/// RFC 3339 timestamp as ASL requires for Wait's `Timestamp` and the Timestamp* comparisons, with the rules
/// the simulator uses for values read at run time ([`sfn_jsonata::timestamp::parse_rfc3339`]).
pub fn check_timestamp(s: &str) -> Result<(), String> {
    sfn_jsonata::timestamp::parse_rfc3339(s)
        .map(|_| ())
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 timestamp (e.g. 2026-01-31T12:00:00Z)"))
}

/// Whether a Lambda function reference (name, partial or full ARN, with an optional qualifier) has a valid
/// qualifier. Only the qualifier is judged here: the name itself may be a reference the IAM derivation resolves.
fn lambda_reference_ok(f: &str) -> bool {
    // Strip up to the function name: `arn:P:lambda:R:A:function:NAME[:Q]`, `A:function:NAME[:Q]`, `NAME[:Q]`.
    let rest = match f.split_once(":function:") {
        Some((_, rest)) => rest,
        None => f,
    };
    match rest.split_once(':') {
        None => !rest.is_empty(),
        Some((name, q)) => !name.is_empty() && sfn_iam::is_lambda_qualifier(q),
    }
}

/// Whether a string value reads like a JSONPath or context path (`$`, `$.x`, `$$.x`, `$[0]`): what AWS's
/// NO_DOLLAR, NO_PATH and PASS_RESULT_IS_STATIC warnings look for. Variables (`$name`) are left out: `$5 off`
/// is ordinary text far more often than a variable reference.
fn looks_like_path(s: &str) -> bool {
    s == "$" || s == "$$" || s.starts_with("$.") || s.starts_with("$[") || s.starts_with("$$.")
}

/// Whether a string value reads like an intrinsic function call (`States.Format(...)`).
fn looks_like_intrinsic(s: &str) -> bool {
    paths::INTRINSICS.iter().any(|(name, _, _)| {
        s.strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with('(') && s.ends_with(')'))
    })
}
