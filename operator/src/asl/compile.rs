//! The compiler: a StateMachine spec (typed `definition`, or raw `definitionJson`) → ASL.
//!
//! What it adds over a plain field mapping, following the seed's authoring model:
//! - ordered lists chain: a state without `next`/`end` flows into the next item, the last one ends its scope
//!   (or joins the state after an enclosing Choice);
//! - Choice `choices[].states` / `defaultStates` are inline chains that run and then join the state after the
//!   Choice (the CDK's `afterwards()`); a Choice's own `next` names that join point explicitly;
//! - `type: Fragment` instances splice `spec.fragments[]` in with a name `prefix` (the CDK's
//!   `prefixStates()`), with clashing names reported;
//! - Parallel branches and Map processors compile as self-contained scopes; their nested state lists are
//!   untyped in the CRD, so each item is deserialised here and errors carry its position;
//! - `integration: NAME` is resolved through [`Resolver`] into `Resource` + `Parameters` (see
//!   [`super::integration`]); Choice `condition` strings go through [`super::condition::parse`].
//!
//! The result is built as ASL JSON and then parsed into the model and validated, so every state-type and
//! field rule lives in one place (the parser and validator) whether the input was typed YAML or raw JSON.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Number, Value, json};

use super::condition;
use super::diagnostic::{Diagnostic, child, index};
use super::integration::{IntegrationError, RefKind, Resolver, merge_under, resolve_task};
use super::model::Definition;
use super::{parse, validate};
use crate::api::{self, Fragment, StateMachineSpec, StateType};

/// A compiled state machine: the model and its ASL JSON (fields in AWS order).
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub definition: Definition,
    pub json: Value,
}

/// A reference the compiler could not resolve; the controller reports these as `ReferenceNotFound` and
/// retries, since the object may simply not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingReference {
    pub kind: RefKind,
    pub name: String,
    /// The state whose task needs it.
    pub state: String,
    /// JSON pointer of that state in the ASL.
    pub pointer: String,
}

impl fmt::Display for MissingReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "state {:?} ({}): {} {:?} not found (or it has no ARN yet)",
            self.state,
            self.pointer,
            self.kind.as_str(),
            self.name
        )
    }
}

/// Everything wrong with a spec: unresolved references and invalid-definition diagnostics, kept apart so
/// the caller can tell "not yet" from "never".
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct CompileErrors {
    pub missing: Vec<MissingReference>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CompileErrors {
    /// Only references are missing: retrying later may succeed.
    pub fn is_reference_not_found(&self) -> bool {
        !self.missing.is_empty() && self.diagnostics.is_empty()
    }

    /// The status condition reason: `ReferenceNotFound` when only references are missing, else `InvalidSpec`.
    pub fn reason(&self) -> &'static str {
        if self.is_reference_not_found() {
            api::reasons::REFERENCE_NOT_FOUND
        } else {
            api::reasons::INVALID_SPEC
        }
    }

    /// One line per problem, references first.
    pub fn messages(&self) -> Vec<String> {
        self.missing
            .iter()
            .map(ToString::to_string)
            .chain(self.diagnostics.iter().map(ToString::to_string))
            .collect()
    }
}

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages().join("\n"))
    }
}

/// Compiles a StateMachine spec and validates the result. Handles both `definition` and `definitionJson`.
pub fn compile_state_machine(
    spec: &StateMachineSpec,
    resolver: &dyn Resolver,
) -> Result<Compiled, CompileErrors> {
    let mut c = Compiler {
        resolver,
        fragments: spec
            .fragments
            .iter()
            .map(|f| (f.name.as_str(), f))
            .collect(),
        diags: Vec::new(),
        missing: Vec::new(),
        names: HashMap::new(),
        fragment_stack: Vec::new(),
    };
    let doc = match (&spec.definition, &spec.definition_json) {
        (Some(def), None) => c.definition(def, spec.timeout_seconds),
        (None, Some(text)) => match serde_json::from_str::<Value>(text) {
            Ok(mut v) => {
                if let (Some(t), Value::Object(m)) = (spec.timeout_seconds, &mut v) {
                    m.insert("TimeoutSeconds".into(), json!(t));
                }
                Some(v)
            }
            Err(e) => {
                c.diags.push(Diagnostic::new(
                    "",
                    None,
                    Some("definitionJson"),
                    format!("definitionJson is not valid JSON: {e}"),
                ));
                None
            }
        },
        (Some(_), Some(_)) => {
            c.diags.push(Diagnostic::new(
                "",
                None,
                Some("definition"),
                "set exactly one of definition and definitionJson, not both",
            ));
            None
        }
        (None, None) => {
            c.diags.push(Diagnostic::new(
                "",
                None,
                Some("definition"),
                "set one of definition and definitionJson",
            ));
            None
        }
    };
    let mut diags = std::mem::take(&mut c.diags);
    let mut compiled = None;
    if let Some(doc) = doc {
        match parse::from_json(&doc) {
            Ok(def) => {
                if let Err(d) = validate::validate(&def) {
                    diags.extend(d);
                }
                let json = def.to_json();
                let size = serde_json::to_string(&json).map(|s| s.len()).unwrap_or(0);
                diags.extend(validate::check_size(size));
                compiled = Some(Compiled {
                    definition: def,
                    json,
                });
            }
            Err(d) => diags.extend(d),
        }
    }
    dedup(&mut diags);
    match compiled {
        Some(ok) if diags.is_empty() && c.missing.is_empty() => Ok(ok),
        _ => Err(CompileErrors {
            missing: c.missing,
            diagnostics: diags,
        }),
    }
}

/// The compiler and the validator may both notice the same clash; say it once.
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.pointer.clone(), d.message.clone())));
}

struct Compiler<'a> {
    resolver: &'a dyn Resolver,
    fragments: HashMap<&'a str, &'a Fragment>,
    diags: Vec<Diagnostic>,
    missing: Vec<MissingReference>,
    /// Every state name emitted so far, with where it came from, to report clashes in the user's terms.
    names: HashMap<String, Option<String>>,
    /// Fragments being expanded around the state being compiled (outermost first), so that a fragment
    /// that includes itself, directly or through a nested list, is reported instead of recursing forever.
    fragment_stack: Vec<String>,
}

/// A state of a list after fragment expansion, with the fragment instance it came from.
struct Item {
    state: api::State,
    origin: Option<String>,
    /// The fragments this state was expanded from (outermost first).
    fragments: Vec<String>,
}

fn num_f64(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn nullable(v: &api::Nullable<String>) -> Option<Value> {
    v.as_ref().map(|p| match p {
        Some(s) => Value::String(s.clone()),
        None => Value::Null,
    })
}

fn retrier_json(r: &api::Retrier) -> Value {
    let mut m = Map::new();
    m.insert("ErrorEquals".into(), json!(r.error_equals));
    if let Some(v) = r.interval_seconds {
        m.insert("IntervalSeconds".into(), json!(v));
    }
    if let Some(v) = r.max_attempts {
        m.insert("MaxAttempts".into(), json!(v));
    }
    if let Some(v) = r.backoff_rate {
        m.insert("BackoffRate".into(), num_f64(v));
    }
    if let Some(v) = r.max_delay_seconds {
        m.insert("MaxDelaySeconds".into(), json!(v));
    }
    if let Some(v) = r.jitter_strategy {
        m.insert(
            "JitterStrategy".into(),
            serde_json::to_value(v).unwrap_or(Value::Null),
        );
    }
    if let Some(v) = &r.comment {
        m.insert("Comment".into(), json!(v));
    }
    Value::Object(m)
}

fn catcher_json(c: &api::Catcher) -> Value {
    let mut m = Map::new();
    m.insert("ErrorEquals".into(), json!(c.error_equals));
    if let Some(v) = nullable(&c.result_path) {
        m.insert("ResultPath".into(), v);
    }
    if let Some(v) = &c.comment {
        m.insert("Comment".into(), json!(v));
    }
    if let Some(v) = &c.assign {
        m.insert("Assign".into(), Value::Object(v.clone()));
    }
    if let Some(v) = &c.output {
        m.insert("Output".into(), v.clone());
    }
    m.insert("Next".into(), json!(c.next));
    Value::Object(m)
}

/// Prefixes every state name defined in a fragment, and every reference to one, recursively through
/// nested lists. References to names outside the fragment are left alone.
fn rename(v: &mut Value, prefix: &str, names: &HashSet<String>) {
    let Value::Object(m) = v else { return };
    let fix = |s: &mut Value| {
        if let Value::String(n) = s
            && names.contains(n.as_str())
        {
            *n = format!("{prefix}{n}");
        }
    };
    for key in ["name", "next", "default", "startAt"] {
        if let Some(s) = m.get_mut(key) {
            fix(s);
        }
    }
    if m.get("type").and_then(Value::as_str) == Some("Fragment")
        && let Some(Value::String(p)) = m.get_mut("prefix")
    {
        *p = format!("{prefix}{p}");
    }
    for c in m
        .get_mut("catch")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(s) = c.get_mut("next") {
            fix(s);
        }
    }
    for c in m
        .get_mut("choices")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(s) = c.get_mut("next") {
            fix(s);
        }
        for st in c
            .get_mut("states")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            rename(st, prefix, names);
        }
    }
    for st in m
        .get_mut("defaultStates")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        rename(st, prefix, names);
    }
    for b in m
        .get_mut("branches")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(s) = b.get_mut("startAt") {
            fix(s);
        }
        for st in b
            .get_mut("states")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            rename(st, prefix, names);
        }
    }
    if let Some(p) = m.get_mut("itemProcessor") {
        if let Some(s) = p.get_mut("startAt") {
            fix(s);
        }
        for st in p
            .get_mut("states")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            rename(st, prefix, names);
        }
    }
}

/// Every state name defined in a state list, nested lists included.
fn collect_names(v: &Value, out: &mut HashSet<String>) {
    let Value::Object(m) = v else { return };
    if let Some(Value::String(n)) = m.get("name") {
        out.insert(n.clone());
    }
    let lists = m
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("states"))
        .chain(m.get("defaultStates"))
        .chain(
            m.get("branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|b| b.get("states")),
        )
        .chain(m.get("itemProcessor").and_then(|p| p.get("states")));
    for list in lists {
        for st in list.as_array().into_iter().flatten() {
            collect_names(st, out);
        }
    }
}

/// How deep fragments may include other fragments.
const MAX_FRAGMENT_DEPTH: usize = 16;

impl Compiler<'_> {
    fn diag(
        &mut self,
        ptr: &str,
        state: Option<&str>,
        field: Option<&str>,
        msg: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::new(ptr, state, field, msg));
    }

    fn definition(&mut self, def: &api::Definition, timeout: Option<u32>) -> Option<Value> {
        let ql = def.query_language.unwrap_or(api::QueryLanguage::JsonPath);
        let mut states = Map::new();
        let first = self.list(def.states.clone(), "", None, &mut states, ql, None);
        let mut top = Map::new();
        if let Some(c) = &def.comment {
            top.insert("Comment".into(), json!(c));
        }
        let start = def.start_at.clone().or(first).unwrap_or_default();
        top.insert("StartAt".into(), json!(start));
        top.insert("States".into(), Value::Object(states));
        if let Some(t) = timeout {
            top.insert("TimeoutSeconds".into(), json!(t));
        }
        if let Some(q) = def.query_language {
            top.insert(
                "QueryLanguage".into(),
                serde_json::to_value(q).unwrap_or(Value::Null),
            );
        }
        Some(Value::Object(top))
    }

    /// Deserialises an untyped nested state list, reporting each bad item with its position.
    fn nested(&mut self, items: &[Value], ptr: &str, owner: &str, what: &str) -> Vec<api::State> {
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            match serde_json::from_value::<api::State>(v.clone()) {
                Ok(s) => out.push(s),
                Err(e) => {
                    let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
                    self.diag(
                        ptr,
                        Some(owner),
                        Some(what),
                        format!("{what}[{i}] (state {name:?}) is not a valid state: {e}"),
                    );
                }
            }
        }
        out
    }

    fn expand(
        &mut self,
        states: Vec<api::State>,
        ptr: &str,
        origin: Option<String>,
        chain: &[String],
        out: &mut Vec<Item>,
    ) {
        for s in states {
            if s.type_ != StateType::Fragment {
                out.push(Item {
                    state: s,
                    origin: origin.clone(),
                    fragments: chain.to_vec(),
                });
                continue;
            }
            let sptr = child(&child(ptr, "States"), &s.name);
            let (Some(fname), Some(prefix)) = (&s.fragment, &s.prefix) else {
                self.diag(
                    &sptr,
                    Some(&s.name),
                    Some("fragment"),
                    "a Fragment state needs fragment and prefix",
                );
                continue;
            };
            let Some(frag) = self.fragments.get(fname.as_str()).copied() else {
                let known: Vec<&str> = self.fragments.keys().copied().collect();
                self.diag(
                    &sptr,
                    Some(&s.name),
                    Some("fragment"),
                    format!(
                        "no fragment named {fname:?} in spec.fragments (known: {})",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if chain.iter().any(|f| f == fname) {
                self.diag(
                    &sptr,
                    Some(&s.name),
                    Some("fragment"),
                    format!(
                        "fragment {fname:?} includes itself (through {})",
                        chain.join(" -> ")
                    ),
                );
                continue;
            }
            if chain.len() >= MAX_FRAGMENT_DEPTH {
                self.diag(
                    &sptr,
                    Some(&s.name),
                    Some("fragment"),
                    format!("fragments nest more than {MAX_FRAGMENT_DEPTH} levels deep"),
                );
                continue;
            }
            let values: Vec<Value> = frag
                .states
                .iter()
                .filter_map(|st| serde_json::to_value(st).ok())
                .collect();
            let mut names = HashSet::new();
            for v in &values {
                collect_names(v, &mut names);
            }
            let renamed: Vec<api::State> = values
                .into_iter()
                .filter_map(|mut v| {
                    rename(&mut v, prefix, &names);
                    serde_json::from_value(v).ok()
                })
                .collect();
            let here = format!(
                "fragment {fname:?} instance {:?} (prefix {prefix:?})",
                s.name
            );
            let mut inner = chain.to_vec();
            inner.push(fname.clone());
            self.expand(renamed, ptr, Some(here), &inner, out);
        }
    }

    /// Compiles an ordered state list into `out` (one ASL scope); returns the first state's name.
    /// `follow` is where the last state flows to (`None`: it ends the scope).
    fn list(
        &mut self,
        states: Vec<api::State>,
        scope_ptr: &str,
        follow: Option<&str>,
        out: &mut Map<String, Value>,
        ql: api::QueryLanguage,
        owner: Option<&str>,
    ) -> Option<String> {
        let mut items = Vec::with_capacity(states.len());
        let chain = self.fragment_stack.clone();
        self.expand(states, scope_ptr, None, &chain, &mut items);
        let first = items.first().map(|i| i.state.name.clone());
        for i in 0..items.len() {
            let after = items.get(i + 1).map(|n| n.state.name.as_str()).or(follow);
            let after = after.map(str::to_owned);
            let item = &items[i];
            let saved = std::mem::replace(&mut self.fragment_stack, item.fragments.clone());
            self.state(
                &item.state,
                item.origin.as_deref(),
                scope_ptr,
                after.as_deref(),
                out,
                ql,
                owner,
            );
            self.fragment_stack = saved;
        }
        first
    }

    #[allow(clippy::too_many_arguments)]
    fn state(
        &mut self,
        s: &api::State,
        origin: Option<&str>,
        scope_ptr: &str,
        after: Option<&str>,
        out: &mut Map<String, Value>,
        outer_ql: api::QueryLanguage,
        _owner: Option<&str>,
    ) {
        let name = s.name.as_str();
        let ptr = child(&child(scope_ptr, "States"), name);
        let at = Some(name);
        if let Some(prev) = self
            .names
            .insert(name.to_owned(), origin.map(str::to_owned))
        {
            let from =
                |o: &Option<String>| o.clone().unwrap_or_else(|| "the definition".to_owned());
            self.diag(
                &ptr,
                at,
                Some("name"),
                format!(
                    "state name {name:?} is defined twice: by {} and by {}; names are unique across the state machine (give fragment instances distinct prefixes)",
                    from(&prev),
                    from(&origin.map(str::to_owned))
                ),
            );
            return;
        }
        let ql = s.query_language.unwrap_or(outer_ql);
        let jsonata = ql == api::QueryLanguage::Jsonata;
        let mut m = Map::new();
        let ty = s.type_;
        m.insert("Type".into(), json!(ty.as_str()));
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("Comment", s.comment.as_ref().map(|c| json!(c)));
        put(
            "QueryLanguage",
            s.query_language.and_then(|q| serde_json::to_value(q).ok()),
        );
        put("InputPath", nullable(&s.input_path));
        put("OutputPath", nullable(&s.output_path));
        put("ResultPath", nullable(&s.result_path));
        put(
            "ResultSelector",
            s.result_selector.clone().map(Value::Object),
        );
        put("Output", s.output.clone());
        put("Assign", s.assign.clone().map(Value::Object));
        put("Result", s.result.clone());
        put(
            "Seconds",
            s.seconds.as_ref().map(|v| match v {
                api::IntOrString::Int(i) => json!(i),
                api::IntOrString::String(x) => json!(x),
            }),
        );
        put("SecondsPath", s.seconds_path.as_ref().map(|v| json!(v)));
        put("Timestamp", s.timestamp.as_ref().map(|v| json!(v)));
        put("TimestampPath", s.timestamp_path.as_ref().map(|v| json!(v)));
        put("TimeoutSeconds", s.timeout_seconds.map(|v| json!(v)));
        put(
            "TimeoutSecondsPath",
            s.timeout_seconds_path.as_ref().map(|v| json!(v)),
        );
        put("HeartbeatSeconds", s.heartbeat_seconds.map(|v| json!(v)));
        put(
            "HeartbeatSecondsPath",
            s.heartbeat_seconds_path.as_ref().map(|v| json!(v)),
        );
        put("Credentials", s.credentials.clone().map(Value::Object));
        put("Error", s.error.as_ref().map(|v| json!(v)));
        put("ErrorPath", s.error_path.as_ref().map(|v| json!(v)));
        put("Cause", s.cause.as_ref().map(|v| json!(v)));
        put("CausePath", s.cause_path.as_ref().map(|v| json!(v)));
        put("ItemsPath", s.items_path.as_ref().map(|v| json!(v)));
        put("Items", s.items.clone());
        put("ItemSelector", s.item_selector.clone().map(Value::Object));
        put("MaxConcurrency", s.max_concurrency.map(|v| json!(v)));
        put(
            "MaxConcurrencyPath",
            s.max_concurrency_path.as_ref().map(|v| json!(v)),
        );
        put("ItemReader", s.item_reader.clone().map(Value::Object));
        put("ResultWriter", s.result_writer.clone().map(Value::Object));
        put("ItemBatcher", s.item_batcher.clone().map(Value::Object));
        put(
            "ToleratedFailurePercentage",
            s.tolerated_failure_percentage.map(num_f64),
        );
        put(
            "ToleratedFailurePercentagePath",
            s.tolerated_failure_percentage_path
                .as_ref()
                .map(|v| json!(v)),
        );
        put(
            "ToleratedFailureCount",
            s.tolerated_failure_count.map(|v| json!(v)),
        );
        put(
            "ToleratedFailureCountPath",
            s.tolerated_failure_count_path.as_ref().map(|v| json!(v)),
        );
        put("Label", s.label.as_ref().map(|v| json!(v)));
        if !s.catch.is_empty() {
            m.insert(
                "Catch".into(),
                Value::Array(s.catch.iter().map(catcher_json).collect()),
            );
        }

        // Fields that only exist in the typed form: checked here, in YAML terms.
        for (field, present, owner_ty) in [
            ("integration", s.integration.is_some(), StateType::Task),
            ("resource", s.resource.is_some(), StateType::Task),
            ("choices", !s.choices.is_empty(), StateType::Choice),
            (
                "defaultStates",
                !s.default_states.is_empty(),
                StateType::Choice,
            ),
            ("default", s.default.is_some(), StateType::Choice),
            ("branches", !s.branches.is_empty(), StateType::Parallel),
            ("itemProcessor", s.item_processor.is_some(), StateType::Map),
            ("fragment", s.fragment.is_some(), StateType::Fragment),
            ("prefix", s.prefix.is_some(), StateType::Fragment),
        ] {
            if present && ty != owner_ty {
                self.diag(
                    &ptr,
                    at,
                    Some(field),
                    format!("field {field} is not valid in a {ty} state (only in {owner_ty})"),
                );
            }
        }

        let mut retry: Vec<api::Retrier> = s.retry.clone();
        let mut parameters = s.parameters.clone().map(Value::Object);
        let mut arguments = s.arguments.clone();

        // Placeholder entry so the Choice keeps its place before its inline chains in `out`.
        out.insert(name.to_owned(), Value::Null);
        match ty {
            StateType::Task => {
                let (resource, defaults) = self.task_resource(s, &ptr);
                m.insert("Resource".into(), json!(resource));
                if let Some(defaults) = defaults {
                    let target = if jsonata {
                        &mut arguments
                    } else {
                        &mut parameters
                    };
                    match target {
                        None => *target = Some(Value::Object(defaults.parameters)),
                        Some(Value::Object(own)) => {
                            let mut merged = defaults.parameters;
                            merge_under(&mut merged, own);
                            *target = Some(Value::Object(merged));
                        }
                        Some(_) if defaults.parameters.is_empty() => {}
                        Some(_) => self.diag(
                            &ptr,
                            at,
                            Some("arguments"),
                            "arguments must be an object so the integration's parameters can be merged into it",
                        ),
                    }
                    if retry.is_empty() {
                        retry = defaults.retry;
                    }
                    if let Some(Value::Object(p)) = target
                        && p.is_empty()
                    {
                        *target = None;
                    }
                }
                // `.waitForTaskToken` without the token is caught by the validator, for raw ASL too.
            }
            StateType::Choice => {
                let join = s.next.as_deref().or(after);
                let has_inline =
                    s.choices.iter().any(|c| !c.states.is_empty()) || !s.default_states.is_empty();
                let mut choices = Vec::with_capacity(s.choices.len());
                for (k, c) in s.choices.iter().enumerate() {
                    let cptr = index(&child(&ptr, "Choices"), k);
                    let mut rule = match (&c.condition, &c.rule) {
                        (Some(cond), None) => {
                            if cond.trim_start().starts_with("{%") {
                                let mut r = Map::new();
                                r.insert("Condition".into(), json!(cond));
                                r
                            } else {
                                match condition::parse(cond) {
                                    Ok(Value::Object(r)) => r,
                                    Ok(_) => Map::new(),
                                    Err(e) => {
                                        self.diag(
                                            &cptr,
                                            at,
                                            Some("condition"),
                                            format!("condition {cond:?}: {e}"),
                                        );
                                        continue;
                                    }
                                }
                            }
                        }
                        (None, Some(r)) => r.clone(),
                        (Some(_), Some(_)) => {
                            self.diag(
                                &cptr,
                                at,
                                Some("condition"),
                                "a choice sets condition or rule, not both",
                            );
                            continue;
                        }
                        (None, None) => {
                            self.diag(
                                &cptr,
                                at,
                                Some("condition"),
                                "a choice needs condition or rule",
                            );
                            continue;
                        }
                    };
                    let target = match (&c.next, c.states.is_empty()) {
                        (Some(n), true) => Some(n.clone()),
                        (None, false) => {
                            let chain = self.nested(&c.states, &cptr, name, "states");
                            self.list(chain, scope_ptr, join, out, ql, Some(name))
                        }
                        (Some(_), false) => {
                            self.diag(
                                &cptr,
                                at,
                                Some("next"),
                                "a choice sets next or states, not both",
                            );
                            None
                        }
                        (None, true) => {
                            self.diag(
                                &cptr,
                                at,
                                Some("next"),
                                "a choice needs next or an inline states chain",
                            );
                            None
                        }
                    };
                    if let Some(v) = &c.comment {
                        rule.insert("Comment".into(), json!(v));
                    }
                    if let Some(v) = &c.assign {
                        rule.insert("Assign".into(), Value::Object(v.clone()));
                    }
                    if let Some(v) = &c.output {
                        rule.insert("Output".into(), v.clone());
                    }
                    rule.insert("Next".into(), json!(target.unwrap_or_default()));
                    choices.push(Value::Object(rule));
                }
                m.insert("Choices".into(), Value::Array(choices));
                match (&s.default, s.default_states.is_empty()) {
                    (Some(d), true) => {
                        m.insert("Default".into(), json!(d));
                    }
                    (None, false) => {
                        let chain = self.nested(&s.default_states, &ptr, name, "defaultStates");
                        if let Some(first) = self.list(chain, scope_ptr, join, out, ql, Some(name))
                        {
                            m.insert("Default".into(), json!(first));
                        }
                    }
                    (Some(_), false) => {
                        self.diag(
                            &ptr,
                            at,
                            Some("defaultStates"),
                            "a Choice sets default or defaultStates, not both",
                        );
                    }
                    (None, true) => {}
                }
                if !has_inline && let Some(n) = &s.next {
                    // No chain to join: leave Next for the parser to reject in ASL terms.
                    m.insert("Next".into(), json!(n));
                }
                if has_inline && s.end == Some(true) {
                    self.diag(&ptr, at, Some("end"), "a Choice cannot end; its inline chains end when nothing follows the Choice");
                }
            }
            StateType::Parallel => {
                let mut branches = Vec::with_capacity(s.branches.len());
                for (k, b) in s.branches.iter().enumerate() {
                    let bptr = index(&child(&ptr, "Branches"), k);
                    let list = self.nested(&b.states, &bptr, name, "states");
                    let mut states = Map::new();
                    let first = self.list(list, &bptr, None, &mut states, ql, Some(name));
                    let mut bm = Map::new();
                    if let Some(c) = &b.comment {
                        bm.insert("Comment".into(), json!(c));
                    }
                    bm.insert(
                        "StartAt".into(),
                        json!(b.start_at.clone().or(first).unwrap_or_default()),
                    );
                    bm.insert("States".into(), Value::Object(states));
                    branches.push(Value::Object(bm));
                }
                m.insert("Branches".into(), Value::Array(branches));
            }
            StateType::Map => {
                if let Some(p) = &s.item_processor {
                    let pptr = child(&ptr, "ItemProcessor");
                    let list = self.nested(&p.states, &pptr, name, "itemProcessor.states");
                    let mut states = Map::new();
                    let first = self.list(list, &pptr, None, &mut states, ql, Some(name));
                    let mut pm = Map::new();
                    if p.mode.is_some() || p.execution_type.is_some() {
                        let mut pc = Map::new();
                        if let Some(mode) = p.mode {
                            pc.insert(
                                "Mode".into(),
                                serde_json::to_value(mode).unwrap_or(Value::Null),
                            );
                        }
                        if let Some(et) = p.execution_type {
                            pc.insert("ExecutionType".into(), json!(et.as_str()));
                        }
                        pm.insert("ProcessorConfig".into(), Value::Object(pc));
                    }
                    pm.insert(
                        "StartAt".into(),
                        json!(p.start_at.clone().or(first).unwrap_or_default()),
                    );
                    pm.insert("States".into(), Value::Object(states));
                    m.insert("ItemProcessor".into(), Value::Object(pm));
                }
            }
            _ => {}
        }
        if let Some(p) = parameters {
            m.insert("Parameters".into(), p);
        }
        if let Some(a) = arguments {
            m.insert("Arguments".into(), a);
        }
        if !retry.is_empty() {
            m.insert(
                "Retry".into(),
                Value::Array(retry.iter().map(retrier_json).collect()),
            );
        }
        // Chaining: a state that can move on and says neither next nor end flows into what follows.
        let chains = matches!(
            ty,
            StateType::Task
                | StateType::Pass
                | StateType::Wait
                | StateType::Parallel
                | StateType::Map
        );
        if chains {
            match (&s.next, s.end) {
                (Some(n), _) => {
                    m.insert("Next".into(), json!(n));
                    if s.end == Some(true) {
                        m.insert("End".into(), json!(true));
                    }
                }
                (None, Some(true)) => {
                    m.insert("End".into(), json!(true));
                }
                (None, _) => match after {
                    Some(a) => {
                        m.insert("Next".into(), json!(a));
                    }
                    None => {
                        m.insert("End".into(), json!(true));
                    }
                },
            }
        } else if ty != StateType::Choice {
            if let Some(n) = &s.next {
                m.insert("Next".into(), json!(n));
            }
            if let Some(e) = s.end {
                m.insert("End".into(), json!(e));
            }
        }
        out.insert(name.to_owned(), Value::Object(m));
    }

    /// The Task's Resource and the integration's defaults (parameters, retry).
    fn task_resource(&mut self, s: &api::State, ptr: &str) -> (String, Option<Defaults>) {
        let at = Some(s.name.as_str());
        match (&s.integration, &s.resource) {
            (Some(name), None) => {
                let Some(spec) = self.resolver.task_integration(name) else {
                    self.missing.push(MissingReference {
                        kind: RefKind::TaskIntegration,
                        name: name.clone(),
                        state: s.name.clone(),
                        pointer: ptr.to_owned(),
                    });
                    return (format!("arn:aws:states:::unresolved:{name}"), None);
                };
                match resolve_task(spec, self.resolver) {
                    Ok(r) => (
                        r.resource,
                        Some(Defaults {
                            parameters: r.parameters,
                            retry: spec.retry.clone(),
                        }),
                    ),
                    Err(IntegrationError::ReferenceNotFound {
                        kind,
                        name: missing,
                    }) => {
                        self.missing.push(MissingReference {
                            kind,
                            name: missing,
                            state: s.name.clone(),
                            pointer: ptr.to_owned(),
                        });
                        (format!("arn:aws:states:::unresolved:{name}"), None)
                    }
                    Err(IntegrationError::Invalid(msg)) => {
                        self.diag(
                            ptr,
                            at,
                            Some("integration"),
                            format!("TaskIntegration {name:?}: {msg}"),
                        );
                        (format!("arn:aws:states:::unresolved:{name}"), None)
                    }
                }
            }
            (None, Some(r)) => (r.clone(), None),
            (Some(_), Some(_)) => {
                self.diag(
                    ptr,
                    at,
                    Some("integration"),
                    "a Task sets integration or resource, not both",
                );
                (String::new(), None)
            }
            (None, None) => {
                self.diag(
                    ptr,
                    at,
                    Some("integration"),
                    "a Task needs integration (a TaskIntegration name) or resource (an ASL Resource ARN)",
                );
                ("arn:aws:states:::unresolved".into(), None)
            }
        }
    }
}

/// What a TaskIntegration contributes below the state's own fields.
struct Defaults {
    parameters: Map<String, Value>,
    retry: Vec<api::Retrier>,
}
