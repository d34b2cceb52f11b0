//! The compiler: a StateMachine spec (typed `definition`, or raw `definitionJson`) → ASL.
//!
//! What it adds over a plain field mapping, following the seed's authoring model:
//! - ordered lists chain: a state without `next`/`end` flows into the next item, the last one ends its scope
//!   (or joins the state after an enclosing Choice);
//! - Choice `choices[].states` / `defaultStates` are inline chains that run and then join the state after the
//!   Choice (the CDK's `afterwards()`); a Choice's own `next` names that join point explicitly;
//! - `type: Fragment` instances splice `spec.fragments[]` in with a name `prefix` (the CDK's
//!   `prefixStates()`), with clashing names reported; an instance's `next`/`end` applies to the fragment's
//!   last state;
//! - Parallel branches and Map processors compile as self-contained scopes; their nested state lists are
//!   untyped in the CRD, so each item is deserialised here and errors carry its position;
//! - `integration: NAME` is resolved through [`Resolver`] into `Resource` + `Parameters` (see
//!   [`super::integration`]); Choice `condition` strings go through [`super::condition::parse`].
//!
//! The typed definition is compiled straight into [`model`](super::model) (no intermediate JSON: that
//! round trip was most of the compile time). Which fields a state type takes comes from the parser's table
//! ([`allowed_fields`]), and the same validator runs on both inputs, so typed YAML and raw `definitionJson`
//! get the same rules and the same messages.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Number, Value, json};

use super::condition;
use super::diagnostic::{Code, Diagnostic, child, index, partition};
use super::integration::{IntegrationError, RefKind, Resolver, merge_under, resolve_task};
use super::model::{
    Catcher, Choice, ChoiceBranch, ChoiceTest, Definition, Fail, MapState, NumField, Parallel,
    Pass, PathField, ProcessorConfig, QueryLanguage, Retrier, Scope, State, StateKind, States,
    Task, Wait,
};
use super::parse::{self, allowed_fields, rule_from_json};
use super::size::check_size;
pub use super::size::json_size;
use super::validate;
use sfn_api::{self as api, Fragment, StateMachineSpec, StateType};

/// A compiled state machine: the model and its ASL JSON (fields in AWS order).
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub definition: Definition,
    pub json: Value,
    /// What AWS accepts but is probably not meant (severity warning), in the order found.
    pub warnings: Vec<Diagnostic>,
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
    /// The StateMachine exists, but not the alias a TaskIntegration's `stepFunctions.alias` names: it is
    /// missing from the machine's `spec.aliases` (which may still be edited, so this heals like any
    /// other missing reference).
    pub alias: Option<MissingAlias>,
}

/// An alias a TaskIntegration starts that its StateMachine does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingAlias {
    /// The TaskIntegration whose `stepFunctions.alias` names it.
    pub integration: String,
    pub alias: String,
}

impl fmt::Display for MissingReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.alias {
            None => write!(
                f,
                "state {:?} ({}): {} {:?} not found (or it has no ARN yet)",
                self.state,
                self.pointer,
                self.kind.as_str(),
                self.name
            ),
            Some(a) => write!(
                f,
                "state {:?} ({}): TaskIntegration {:?}, field spec.stepFunctions.alias: {} {:?} \
                 declares no alias {:?} (add it to its spec.aliases)",
                self.state,
                self.pointer,
                a.integration,
                self.kind.as_str(),
                self.name,
                a.alias
            ),
        }
    }
}

/// Everything wrong with a spec: unresolved references and invalid-definition diagnostics, kept apart so
/// the caller can tell "not yet" from "never".
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct CompileErrors {
    pub missing: Vec<MissingReference>,
    /// The errors (severity error only).
    pub diagnostics: Vec<Diagnostic>,
    /// Warnings found on the way; they never make a spec fail.
    pub warnings: Vec<Diagnostic>,
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
    let mut diags = Vec::new();
    let definition = match (&spec.definition, &spec.definition_json) {
        (Some(def), None) => Some(c.definition(def, spec.timeout_seconds)),
        (None, Some(text)) => match serde_json::from_str::<Value>(text) {
            Ok(mut v) => {
                if let (Some(t), Value::Object(m)) = (spec.timeout_seconds, &mut v) {
                    m.insert("TimeoutSeconds".into(), json!(t));
                }
                match parse::from_json_owned(v) {
                    Ok(d) => Some(d),
                    Err(d) => {
                        diags.extend(d);
                        None
                    }
                }
            }
            Err(e) => {
                diags.push(Diagnostic::new(
                    "",
                    None,
                    Some("definitionJson"),
                    format!("definitionJson is not valid JSON: {e}"),
                ));
                None
            }
        },
        (Some(_), Some(_)) => {
            diags.push(Diagnostic::new(
                "",
                None,
                Some("definition"),
                "set exactly one of definition and definitionJson, not both",
            ));
            None
        }
        (None, None) => {
            diags.push(Diagnostic::new(
                "",
                None,
                Some("definition"),
                "set one of definition and definitionJson",
            ));
            None
        }
    };
    diags.extend(std::mem::take(&mut c.diags));
    let mut compiled = None;
    if let Some(def) = definition {
        // A Task whose reference is missing carries the placeholder Resource `arn:aws:states:::unresolved...`;
        // the missing reference is what is reported for it, not the placeholder the validator would refuse.
        let unresolved: HashSet<&str> = def
            .all_states()
            .into_iter()
            .filter(|(_, st)| {
                matches!(&st.kind, StateKind::Task(t) if t.resource.starts_with(UNRESOLVED))
            })
            .map(|(name, _)| name)
            .collect();
        diags.extend(validate::check(&def).into_iter().filter(|d| {
            !(d.code == Code::InvalidResource
                && d.state.as_deref().is_some_and(|n| unresolved.contains(n)))
        }));
        let json = def.to_json();
        diags.extend(check_size(json_size(&json)));
        compiled = Some((def, json));
    }
    dedup(&mut diags);
    let (errors, warnings) = partition(diags);
    match compiled {
        Some((definition, json)) if errors.is_empty() && c.missing.is_empty() => Ok(Compiled {
            definition,
            json,
            warnings,
        }),
        _ => Err(CompileErrors {
            missing: c.missing,
            diagnostics: errors,
            warnings,
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

/// A state of a list: borrowed from the spec, or owned when it was deserialised from a nested list or
/// renamed from a fragment. Boxed when owned so that lists of them stay small to move.
enum StateRef<'s> {
    Borrowed(&'s api::State),
    Owned(Box<api::State>),
}

impl std::ops::Deref for StateRef<'_> {
    type Target = api::State;
    fn deref(&self) -> &api::State {
        match self {
            StateRef::Borrowed(s) => s,
            StateRef::Owned(s) => s,
        }
    }
}

fn owned<'s>(states: Vec<api::State>) -> Vec<StateRef<'s>> {
    states
        .into_iter()
        .map(|s| StateRef::Owned(Box::new(s)))
        .collect()
}

/// A state of a list after fragment expansion, with the fragment instance it came from.
struct Item<'s> {
    state: StateRef<'s>,
    origin: Option<String>,
    /// The fragments this state was expanded from (outermost first).
    fragments: Vec<String>,
}

fn model_ql(q: api::QueryLanguage) -> QueryLanguage {
    match q {
        api::QueryLanguage::JsonPath => QueryLanguage::JsonPath,
        api::QueryLanguage::Jsonata => QueryLanguage::Jsonata,
    }
}

/// A whole number as a JSON integer (`2`, not `2.0`), anything else as a float.
fn number_f64(f: f64) -> Option<Number> {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Some(Number::from(f as i64))
    } else {
        Number::from_f64(f)
    }
}

fn path_field(v: &api::Nullable<String>) -> Option<PathField> {
    v.as_ref().map(|p| match p {
        Some(s) => PathField::Path(s.clone()),
        None => PathField::Null,
    })
}

fn retrier(r: &api::Retrier) -> Retrier {
    Retrier {
        error_equals: r.error_equals.clone(),
        interval_seconds: r.interval_seconds.map(Number::from),
        max_attempts: r.max_attempts.map(Number::from),
        backoff_rate: r.backoff_rate.and_then(number_f64),
        max_delay_seconds: r.max_delay_seconds.map(Number::from),
        jitter_strategy: r.jitter_strategy.map(|j| {
            match j {
                api::JitterStrategy::Full => "FULL",
                api::JitterStrategy::None => "NONE",
            }
            .to_owned()
        }),
        comment: r.comment.clone(),
    }
}

fn catcher(c: &api::Catcher) -> Catcher {
    Catcher {
        error_equals: c.error_equals.clone(),
        next: c.next.clone(),
        result_path: path_field(&c.result_path),
        comment: c.comment.clone(),
        assign: c.assign.clone().map(Value::Object),
        output: c.output.clone(),
    }
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

/// The Resource a Task gets while its TaskIntegration (or what that refers to) is missing; never applied,
/// since a compile with missing references fails.
const UNRESOLVED: &str = "arn:aws:states:::unresolved";

impl<'a> Compiler<'a> {
    fn diag(
        &mut self,
        ptr: &str,
        state: Option<&str>,
        field: Option<&str>,
        msg: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::new(ptr, state, field, msg));
    }

    fn definition(&mut self, def: &api::Definition, timeout: Option<u32>) -> Definition {
        let ql = def.query_language.unwrap_or(api::QueryLanguage::JsonPath);
        let mut states = States::with_capacity(def.states.len());
        let first = self.list(
            def.states.iter().map(StateRef::Borrowed).collect(),
            "",
            None,
            &mut states,
            ql,
        );
        Definition {
            comment: def.comment.clone(),
            start_at: def.start_at.clone().or(first).unwrap_or_default(),
            states,
            timeout_seconds: timeout.map(Number::from),
            version: None,
            query_language: def.query_language.map(model_ql),
        }
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

    fn expand<'s>(
        &mut self,
        states: Vec<StateRef<'s>>,
        ptr: &str,
        origin: Option<String>,
        chain: &[String],
        out: &mut Vec<Item<'s>>,
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
            let before = out.len();
            self.expand(owned(renamed), ptr, Some(here), &inner, out);
            // The instance's own `next` / `end` say where the fragment leads: they apply to its last state
            // when that state does not say so itself (otherwise it flows into the next list item).
            if (s.next.is_some() || s.end.is_some())
                && out.len() > before
                && let Some(Item {
                    state: StateRef::Owned(last),
                    ..
                }) = out.last_mut()
                && last.next.is_none()
                && last.end.is_none()
            {
                last.next = s.next.clone();
                last.end = s.end;
            }
        }
    }

    /// Compiles an ordered state list into `out` (one ASL scope); returns the first state's name.
    /// `follow` is where the last state flows to (`None`: it ends the scope).
    fn list(
        &mut self,
        states: Vec<StateRef<'_>>,
        scope_ptr: &str,
        follow: Option<&str>,
        out: &mut States,
        ql: api::QueryLanguage,
    ) -> Option<String> {
        let mut items = Vec::with_capacity(states.len());
        let chain = self.fragment_stack.clone();
        self.expand(states, scope_ptr, None, &chain, &mut items);
        let first = items.first().map(|i| i.state.name.clone());
        for i in 0..items.len() {
            let after = items.get(i + 1).map(|n| n.state.name.as_str()).or(follow);
            let item = &items[i];
            let saved = std::mem::replace(&mut self.fragment_stack, item.fragments.clone());
            self.state(
                &item.state,
                item.origin.as_deref(),
                scope_ptr,
                after,
                out,
                ql,
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
        out: &mut States,
        outer_ql: api::QueryLanguage,
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
        let ty = s.type_;

        // Fields in ASL terms, checked against what the state type allows (the parser's table), so typed
        // YAML and raw JSON get the same message.
        let allowed = allowed_fields(ty.as_str());
        for (field, present) in [
            ("InputPath", s.input_path.is_some()),
            ("OutputPath", s.output_path.is_some()),
            ("ResultPath", s.result_path.is_some()),
            ("Parameters", s.parameters.is_some()),
            ("ResultSelector", s.result_selector.is_some()),
            ("Arguments", s.arguments.is_some()),
            ("Output", s.output.is_some()),
            ("Assign", s.assign.is_some()),
            ("Result", s.result.is_some()),
            ("Seconds", s.seconds.is_some()),
            ("SecondsPath", s.seconds_path.is_some()),
            ("Timestamp", s.timestamp.is_some()),
            ("TimestampPath", s.timestamp_path.is_some()),
            ("TimeoutSeconds", s.timeout_seconds.is_some()),
            ("TimeoutSecondsPath", s.timeout_seconds_path.is_some()),
            ("HeartbeatSeconds", s.heartbeat_seconds.is_some()),
            ("HeartbeatSecondsPath", s.heartbeat_seconds_path.is_some()),
            ("Credentials", s.credentials.is_some()),
            ("Error", s.error.is_some()),
            ("ErrorPath", s.error_path.is_some()),
            ("Cause", s.cause.is_some()),
            ("CausePath", s.cause_path.is_some()),
            ("ItemsPath", s.items_path.is_some()),
            ("Items", s.items.is_some()),
            ("ItemSelector", s.item_selector.is_some()),
            ("MaxConcurrency", s.max_concurrency.is_some()),
            ("MaxConcurrencyPath", s.max_concurrency_path.is_some()),
            ("ItemReader", s.item_reader.is_some()),
            ("ResultWriter", s.result_writer.is_some()),
            ("ItemBatcher", s.item_batcher.is_some()),
            (
                "ToleratedFailurePercentage",
                s.tolerated_failure_percentage.is_some(),
            ),
            (
                "ToleratedFailurePercentagePath",
                s.tolerated_failure_percentage_path.is_some(),
            ),
            ("ToleratedFailureCount", s.tolerated_failure_count.is_some()),
            (
                "ToleratedFailureCountPath",
                s.tolerated_failure_count_path.is_some(),
            ),
            ("Label", s.label.is_some()),
            ("Retry", !s.retry.is_empty()),
            ("Catch", !s.catch.is_empty()),
        ] {
            if present && !allowed.contains(&field) {
                self.diag(
                    &child(&ptr, field),
                    at,
                    Some(field),
                    format!("field {field} is not valid in a {ty} state"),
                );
            }
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

        let mut retry: &[api::Retrier] = &s.retry;
        let mut parameters = s.parameters.clone().map(Value::Object);
        let mut arguments = s.arguments.clone();

        // Placeholder entry so a Choice keeps its place before its inline chains in `out`.
        if ty == StateType::Choice {
            out.insert(name.to_owned(), State::new(StateKind::Succeed));
        }
        let kind = match ty {
            StateType::Task => {
                let (resource, defaults) = self.task_resource(s, &ptr);
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
                    if defaults.default_payload
                        && let Some(Value::Object(p)) = target
                        && !p.contains_key("Payload")
                        && !p.contains_key("Payload.$")
                    {
                        // Without a Payload the function would get an empty event; the CDK's LambdaInvoke
                        // passes the whole state input by default, and so do we.
                        if jsonata {
                            p.insert("Payload".into(), json!("{% $states.input %}"));
                        } else {
                            p.insert("Payload.$".into(), json!("$"));
                        }
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
                StateKind::Task(Task {
                    resource,
                    credentials: s.credentials.clone().map(Value::Object),
                    timeout_seconds: s.timeout_seconds.map(|n| NumField::Number(n.into())),
                    timeout_seconds_path: s.timeout_seconds_path.clone(),
                    heartbeat_seconds: s.heartbeat_seconds.map(|n| NumField::Number(n.into())),
                    heartbeat_seconds_path: s.heartbeat_seconds_path.clone(),
                })
            }
            StateType::Pass => StateKind::Pass(Pass {
                result: s.result.clone(),
            }),
            StateType::Wait => StateKind::Wait(Wait {
                seconds: s.seconds.as_ref().map(|v| match v {
                    api::IntOrString::Int(i) => NumField::Number((*i).into()),
                    api::IntOrString::String(x) => NumField::Expr(x.clone()),
                }),
                seconds_path: s.seconds_path.clone(),
                timestamp: s.timestamp.clone(),
                timestamp_path: s.timestamp_path.clone(),
            }),
            StateType::Choice => StateKind::Choice(self.choice(s, &ptr, scope_ptr, after, out, ql)),
            StateType::Parallel => {
                let mut branches = Vec::with_capacity(s.branches.len());
                for (k, b) in s.branches.iter().enumerate() {
                    let bptr = index(&child(&ptr, "Branches"), k);
                    let list = self.nested(&b.states, &bptr, name, "states");
                    let mut states = States::with_capacity(list.len());
                    let first = self.list(owned(list), &bptr, None, &mut states, ql);
                    branches.push(Scope {
                        comment: b.comment.clone(),
                        start_at: b.start_at.clone().or(first).unwrap_or_default(),
                        states,
                        processor_config: None,
                    });
                }
                StateKind::Parallel(Parallel { branches })
            }
            StateType::Map => {
                let processor = match &s.item_processor {
                    Some(p) => {
                        let pptr = child(&ptr, "ItemProcessor");
                        let list = self.nested(&p.states, &pptr, name, "itemProcessor.states");
                        let mut states = States::with_capacity(list.len());
                        let first = self.list(owned(list), &pptr, None, &mut states, ql);
                        let processor_config = (p.mode.is_some() || p.execution_type.is_some())
                            .then(|| ProcessorConfig {
                                mode: p.mode.map(|m| {
                                    match m {
                                        api::ProcessorMode::Inline => "INLINE",
                                        api::ProcessorMode::Distributed => "DISTRIBUTED",
                                    }
                                    .to_owned()
                                }),
                                execution_type: p.execution_type.map(|e| e.as_str().to_owned()),
                            });
                        Scope {
                            comment: None,
                            start_at: p.start_at.clone().or(first).unwrap_or_default(),
                            states,
                            processor_config,
                        }
                    }
                    None => {
                        self.diag(
                            &child(&ptr, "ItemProcessor"),
                            at,
                            Some("ItemProcessor"),
                            "a Map state requires field ItemProcessor",
                        );
                        Scope {
                            comment: None,
                            start_at: String::new(),
                            states: States::new(),
                            processor_config: None,
                        }
                    }
                };
                StateKind::Map(Box::new(MapState {
                    processor,
                    legacy_iterator: false,
                    items_path: s.items_path.clone(),
                    items: s.items.clone(),
                    item_selector: s.item_selector.clone().map(Value::Object),
                    item_reader: s.item_reader.clone().map(Value::Object),
                    item_batcher: s.item_batcher.clone().map(Value::Object),
                    result_writer: s.result_writer.clone().map(Value::Object),
                    max_concurrency: s.max_concurrency.map(|n| NumField::Number(n.into())),
                    max_concurrency_path: s.max_concurrency_path.clone(),
                    tolerated_failure_percentage: s
                        .tolerated_failure_percentage
                        .and_then(number_f64)
                        .map(NumField::Number),
                    tolerated_failure_percentage_path: s.tolerated_failure_percentage_path.clone(),
                    tolerated_failure_count: s
                        .tolerated_failure_count
                        .map(|n| NumField::Number(n.into())),
                    tolerated_failure_count_path: s.tolerated_failure_count_path.clone(),
                    label: s.label.clone(),
                }))
            }
            StateType::Succeed => StateKind::Succeed,
            StateType::Fail => StateKind::Fail(Fail {
                error: s.error.clone(),
                error_path: s.error_path.clone(),
                cause: s.cause.clone(),
                cause_path: s.cause_path.clone(),
            }),
            StateType::Fragment => {
                // Expanded before we get here; a Fragment that reaches this point was reported already.
                return;
            }
        };
        let mut st = State::new(kind);
        st.comment = s.comment.clone();
        st.query_language = s.query_language.map(model_ql);
        let applies = |f: &str| allowed.contains(&f);
        if applies("InputPath") {
            st.input_path = path_field(&s.input_path);
        }
        if applies("OutputPath") {
            st.output_path = path_field(&s.output_path);
        }
        if applies("ResultPath") {
            st.result_path = path_field(&s.result_path);
        }
        if applies("Parameters") {
            st.parameters = parameters;
        }
        if applies("ResultSelector") {
            st.result_selector = s.result_selector.clone().map(Value::Object);
        }
        if applies("Arguments") {
            st.arguments = arguments;
        }
        if applies("Output") {
            st.output = s.output.clone();
        }
        if applies("Assign") {
            st.assign = s.assign.clone().map(Value::Object);
        }
        if applies("Retry") && !retry.is_empty() {
            st.retry = Some(retry.iter().map(retrier).collect());
        }
        if applies("Catch") && !s.catch.is_empty() {
            st.catch = Some(s.catch.iter().map(catcher).collect());
        }
        // Chaining: a state that can move on and says neither next nor end flows into what follows.
        if applies("Next") {
            match (&s.next, s.end) {
                (Some(n), end) => {
                    st.next = Some(n.clone());
                    if end == Some(true) {
                        st.end = Some(true);
                    }
                }
                (None, Some(true)) => st.end = Some(true),
                (None, _) => match after {
                    Some(a) => st.next = Some(a.to_owned()),
                    None => st.end = Some(true),
                },
            }
        } else if ty != StateType::Choice {
            for (field, present) in [("Next", s.next.is_some()), ("End", s.end.is_some())] {
                if present {
                    self.diag(
                        &child(&ptr, field),
                        at,
                        Some(field),
                        format!("field {field} is not valid in a {ty} state"),
                    );
                }
            }
        }
        out.insert(name.to_owned(), st);
    }

    /// A Choice's rules; inline chains are compiled into `out` right after the Choice and join the state
    /// after it (its own `next`, else the following item).
    fn choice(
        &mut self,
        s: &api::State,
        ptr: &str,
        scope_ptr: &str,
        after: Option<&str>,
        out: &mut States,
        ql: api::QueryLanguage,
    ) -> Choice {
        let name = s.name.as_str();
        let at = Some(name);
        let join = s.next.as_deref().or(after);
        let has_inline =
            s.choices.iter().any(|c| !c.states.is_empty()) || !s.default_states.is_empty();
        let mut choices = Vec::with_capacity(s.choices.len());
        for (k, c) in s.choices.iter().enumerate() {
            let cptr = index(&child(ptr, "Choices"), k);
            let test = match (&c.condition, &c.rule) {
                (Some(cond), None) => {
                    if cond.trim_start().starts_with("{%") {
                        Some(ChoiceTest::Condition(cond.clone()))
                    } else {
                        match condition::parse(cond) {
                            Ok(v) => self.rule(v, &cptr, name),
                            Err(e) => {
                                self.diag(
                                    &cptr,
                                    at,
                                    Some("condition"),
                                    format!("condition {cond:?}: {e}"),
                                );
                                None
                            }
                        }
                    }
                }
                (None, Some(r)) => self.rule(Value::Object(r.clone()), &cptr, name),
                (Some(_), Some(_)) => {
                    self.diag(
                        &cptr,
                        at,
                        Some("condition"),
                        "a choice sets condition or rule, not both",
                    );
                    None
                }
                (None, None) => {
                    self.diag(
                        &cptr,
                        at,
                        Some("condition"),
                        "a choice needs condition or rule",
                    );
                    None
                }
            };
            let target = match (&c.next, c.states.is_empty()) {
                (Some(n), true) => Some(n.clone()),
                (None, false) => {
                    let chain = self.nested(&c.states, &cptr, name, "states");
                    self.list(owned(chain), scope_ptr, join, out, ql)
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
            if let Some(test) = test {
                choices.push(ChoiceBranch {
                    test,
                    next: target.unwrap_or_default(),
                    comment: c.comment.clone(),
                    assign: c.assign.clone().map(Value::Object),
                    output: c.output.clone(),
                    condition_is_boolean: false,
                });
            }
        }
        let default = match (&s.default, s.default_states.is_empty()) {
            (Some(d), true) => Some(d.clone()),
            (None, false) => {
                let chain = self.nested(&s.default_states, ptr, name, "defaultStates");
                self.list(owned(chain), scope_ptr, join, out, ql)
            }
            (Some(_), false) => {
                self.diag(
                    ptr,
                    at,
                    Some("defaultStates"),
                    "a Choice sets default or defaultStates, not both",
                );
                None
            }
            (None, true) => None,
        };
        if !has_inline && s.next.is_some() {
            self.diag(
                &child(ptr, "Next"),
                at,
                Some("Next"),
                "field Next is not valid in a Choice state",
            );
        }
        if s.end.is_some() {
            let msg = if has_inline {
                "a Choice cannot end; its inline chains end when nothing follows the Choice"
            } else {
                "field End is not valid in a Choice state"
            };
            self.diag(&child(ptr, "End"), at, Some("End"), msg);
        }
        Choice { choices, default }
    }

    /// A Choice rule object (from the expression compiler or a raw `rule:`) as a model rule.
    fn rule(&mut self, v: Value, ptr: &str, state: &str) -> Option<ChoiceTest> {
        match rule_from_json(v, ptr, state) {
            Ok(r) => Some(ChoiceTest::Rule(r)),
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    /// The Task's Resource and the integration's defaults (parameters, retry).
    fn task_resource(&mut self, s: &api::State, ptr: &str) -> (String, Option<Defaults<'a>>) {
        let at = Some(s.name.as_str());
        match (&s.integration, &s.resource) {
            (Some(name), None) => {
                let Some(spec) = self.resolver.task_integration(name) else {
                    self.missing.push(MissingReference {
                        kind: RefKind::TaskIntegration,
                        name: name.clone(),
                        state: s.name.clone(),
                        pointer: ptr.to_owned(),
                        alias: None,
                    });
                    return (format!("{UNRESOLVED}:{name}"), None);
                };
                match resolve_task(spec, self.resolver) {
                    Ok(r) => (
                        r.resource,
                        Some(Defaults {
                            parameters: r.parameters,
                            retry: &spec.retry,
                            default_payload: r.default_payload,
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
                            alias: None,
                        });
                        (format!("{UNRESOLVED}:{name}"), None)
                    }
                    Err(IntegrationError::AliasNotDeclared { machine, alias }) => {
                        self.missing.push(MissingReference {
                            kind: RefKind::StateMachine,
                            name: machine,
                            state: s.name.clone(),
                            pointer: ptr.to_owned(),
                            alias: Some(MissingAlias {
                                integration: name.clone(),
                                alias,
                            }),
                        });
                        (format!("{UNRESOLVED}:{name}"), None)
                    }
                    Err(IntegrationError::Invalid(msg)) => {
                        self.diag(
                            ptr,
                            at,
                            Some("integration"),
                            format!("TaskIntegration {name:?}: {msg}"),
                        );
                        (format!("{UNRESOLVED}:{name}"), None)
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
                (UNRESOLVED.into(), None)
            }
        }
    }
}

/// What a TaskIntegration contributes below the state's own fields.
struct Defaults<'a> {
    parameters: Map<String, Value>,
    retry: &'a [api::Retrier],
    /// Add the whole state input as `Payload` when the merged parameters carry none.
    default_payload: bool,
}
