//! The parsed ASL model → the typed definition of a StateMachine: one state at a time, in the order
//! [`layout`](super::layout) chose, with `next`/`end` left out where the list order already says them.
//!
//! Everything with a typed field is carried over typed (paths, templates, retries, catches, JSONata fields,
//! variables, Map and Distributed Map settings). Within a state, what has no typed form keeps the typed
//! escape the API offers: a Task resource that no TaskIntegration describes stays `resource:`, a Choice rule
//! the condition language cannot print back exactly stays `rule:`. What the API cannot hold at all (a
//! `Version` field, the legacy `Iterator`, a numeric field given as an expression the typed field cannot
//! take) is [`Untypable`], and the whole machine falls back to `definitionJson`.

use std::collections::BTreeMap;

use serde_json::{Number, Value};

use sfn_api as api;
use sfn_asl::condition;
use sfn_asl::model::{
    self, ChoiceTest, NumField, PathField, QueryLanguage, Scope, StateKind, States,
};

use super::compare::same_document;
use super::integration::{object_name, recognise};
use super::layout::{Item, Slot, chain_items, layout};

/// Why a definition has no typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untypable {
    /// The state, when one is to blame.
    pub state: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Untypable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            Some(s) => write!(f, "state {s:?}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Something the reader of the imported manifest should know about one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub state: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            Some(s) => write!(f, "state {s:?}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// How ambitious one conversion is; the importer retries with less when the result would not compile back
/// to the same ASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Write Choice targets as inline chains where they are ones.
    pub inline: bool,
    /// Turn Task resources into TaskIntegrations.
    pub integrations: bool,
}

/// What one conversion produced besides the definition.
#[derive(Debug, Default)]
pub struct Converted {
    /// The TaskIntegrations, deduplicated, by object name.
    pub integrations: BTreeMap<String, api::TaskIntegrationSpec>,
    pub notes: Vec<Note>,
    /// Task states that name a TaskIntegration / keep a raw resource.
    pub tasks_typed: usize,
    pub tasks_raw: usize,
    /// Choice rules written as conditions / kept as raw rule objects.
    pub conditions: usize,
    pub raw_rules: usize,
    pub inline_chains: usize,
}

impl Converted {
    /// The object name for `spec`: the one already given to an equal spec, else `hint` made unique.
    fn integration_name(&mut self, hint: &str, spec: api::TaskIntegrationSpec) -> String {
        if let Some((name, _)) = self.integrations.iter().find(|(_, s)| **s == spec) {
            return name.clone();
        }
        // The pattern is part of the name, so a `.sync` and a plain call of the same job read apart.
        let suffix = match spec.pattern {
            Some(api::IntegrationPattern::Sync) => "-sync",
            Some(api::IntegrationPattern::WaitForTaskToken) => "-callback",
            _ => "",
        };
        let base = object_name(&format!("{hint}{suffix}"));
        let mut name = base.clone();
        let mut n = 2;
        while self.integrations.contains_key(&name) {
            let suffix = format!("-{n}");
            let keep: String = base.chars().take(63 - suffix.len()).collect();
            name = format!("{}{suffix}", keep.trim_end_matches('-'));
            n += 1;
        }
        self.integrations.insert(name.clone(), spec);
        name
    }
}

struct Converter {
    mode: Mode,
    out: Converted,
}

/// Converts a parsed definition; the StateMachine's `timeoutSeconds` is the caller's.
pub fn definition(
    def: &model::Definition,
    mode: Mode,
) -> Result<(api::Definition, Converted), Untypable> {
    if def.version.is_some() {
        return Err(untypable(
            None,
            "it sets Version, which the typed definition has no field for",
        ));
    }
    let mut c = Converter {
        mode,
        out: Converted::default(),
    };
    let ql = def.query_language.unwrap_or(QueryLanguage::JsonPath);
    let (states, start_at) = c.scope(&def.states, &def.start_at, ql)?;
    let states = states
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| untypable(None, &e.to_string())))
        .collect::<Result<Vec<api::State>, _>>()?;
    Ok((
        api::Definition {
            comment: def.comment.clone(),
            query_language: def.query_language.map(api_ql),
            start_at,
            states,
        },
        c.out,
    ))
}

fn untypable(state: Option<&str>, reason: &str) -> Untypable {
    Untypable {
        state: state.map(str::to_owned),
        reason: reason.to_owned(),
    }
}

fn api_ql(q: QueryLanguage) -> api::QueryLanguage {
    match q {
        QueryLanguage::JsonPath => api::QueryLanguage::JsonPath,
        QueryLanguage::Jsonata => api::QueryLanguage::Jsonata,
    }
}

fn nullable(p: &Option<PathField>) -> api::Nullable<String> {
    p.as_ref().map(|p| match p {
        PathField::Null => None,
        PathField::Path(s) => Some(s.clone()),
    })
}

/// A JSON object field of the typed state (templates, `Assign`, Map readers and writers).
fn object(
    v: &Option<Value>,
    state: &str,
    field: &str,
) -> Result<Option<api::JsonObject>, Untypable> {
    match v {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(untypable(Some(state), &format!("{field} is not an object"))),
    }
}

fn whole(n: &Number, state: &str, field: &str) -> Result<u32, Untypable> {
    let value = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u64)
    });
    value.and_then(|v| u32::try_from(v).ok()).ok_or_else(|| {
        untypable(
            Some(state),
            &format!("{field} {n} is not a whole number the typed field takes"),
        )
    })
}

fn num_u32(v: &Option<NumField>, state: &str, field: &str) -> Result<Option<u32>, Untypable> {
    match v {
        None => Ok(None),
        Some(NumField::Number(n)) => whole(n, state, field).map(Some),
        Some(NumField::Expr(_)) => Err(untypable(
            Some(state),
            &format!("{field} is an expression, and the typed field takes a number only"),
        )),
    }
}

fn num_f64(v: &Option<NumField>, state: &str, field: &str) -> Result<Option<f64>, Untypable> {
    match v {
        None => Ok(None),
        Some(NumField::Number(n)) => Ok(n.as_f64()),
        Some(NumField::Expr(_)) => Err(untypable(
            Some(state),
            &format!("{field} is an expression, and the typed field takes a number only"),
        )),
    }
}

fn retrier(r: &model::Retrier, state: &str) -> Result<api::Retrier, Untypable> {
    let opt =
        |n: &Option<Number>, field: &str| n.as_ref().map(|n| whole(n, state, field)).transpose();
    Ok(api::Retrier {
        error_equals: r.error_equals.clone(),
        interval_seconds: opt(&r.interval_seconds, "IntervalSeconds")?,
        max_attempts: opt(&r.max_attempts, "MaxAttempts")?,
        backoff_rate: r.backoff_rate.as_ref().and_then(Number::as_f64),
        max_delay_seconds: opt(&r.max_delay_seconds, "MaxDelaySeconds")?,
        jitter_strategy: match r.jitter_strategy.as_deref() {
            None => None,
            Some("FULL") => Some(api::JitterStrategy::Full),
            Some("NONE") => Some(api::JitterStrategy::None),
            Some(other) => {
                return Err(untypable(
                    Some(state),
                    &format!("JitterStrategy {other:?} is unknown"),
                ));
            }
        },
        comment: r.comment.clone(),
    })
}

fn catcher(c: &model::Catcher, state: &str) -> Result<api::Catcher, Untypable> {
    Ok(api::Catcher {
        error_equals: c.error_equals.clone(),
        next: c.next.clone(),
        result_path: nullable(&c.result_path),
        comment: c.comment.clone(),
        assign: object(&c.assign, state, "Catch Assign")?,
        output: c.output.clone(),
    })
}

impl Converter {
    /// One scope's states as typed list items (JSON, since nested lists are untyped in the CRD), and the
    /// `startAt` to write when the first item is not where the scope starts.
    fn scope(
        &mut self,
        states: &States,
        start_at: &str,
        ql: QueryLanguage,
    ) -> Result<(Vec<Value>, Option<String>), Untypable> {
        let items = layout(states, start_at, self.mode.inline);
        let list = self.list(states, &items, None, ql)?;
        let start =
            (items.first().map(|i| i.name.as_str()) != Some(start_at)).then(|| start_at.to_owned());
        Ok((list, start))
    }

    fn list(
        &mut self,
        states: &States,
        items: &[Item],
        follow: Option<&str>,
        ql: QueryLanguage,
    ) -> Result<Vec<Value>, Untypable> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let after = items.get(i + 1).map(|n| n.name.as_str()).or(follow);
            let typed = self.state(states, item, after, ql)?;
            out.push(
                serde_json::to_value(&typed)
                    .map_err(|e| untypable(Some(&item.name), &e.to_string()))?,
            );
        }
        Ok(out)
    }

    fn nested(
        &mut self,
        scope: &Scope,
        ql: QueryLanguage,
    ) -> Result<(Vec<Value>, Option<String>), Untypable> {
        self.scope(&scope.states, &scope.start_at, ql)
    }

    fn state(
        &mut self,
        states: &States,
        item: &Item,
        after: Option<&str>,
        outer_ql: QueryLanguage,
    ) -> Result<api::State, Untypable> {
        let name = item.name.as_str();
        let s = &states[name];
        let ql = s.query_language.unwrap_or(outer_ql);
        let mut t = api::State::new(name, api::StateType::Task);
        t.comment = s.comment.clone();
        t.query_language = s.query_language.map(api_ql);
        t.input_path = nullable(&s.input_path);
        t.output_path = nullable(&s.output_path);
        t.result_path = nullable(&s.result_path);
        t.parameters = object(&s.parameters, name, "Parameters")?;
        t.result_selector = object(&s.result_selector, name, "ResultSelector")?;
        t.arguments = s.arguments.clone();
        t.output = s.output.clone();
        t.assign = object(&s.assign, name, "Assign")?;
        t.retry = s
            .retry
            .iter()
            .flatten()
            .map(|r| retrier(r, name))
            .collect::<Result<_, _>>()?;
        t.catch = s
            .catch
            .iter()
            .flatten()
            .map(|c| catcher(c, name))
            .collect::<Result<_, _>>()?;
        if s.retry.as_ref().is_some_and(Vec::is_empty)
            || s.catch.as_ref().is_some_and(Vec::is_empty)
        {
            return Err(untypable(
                Some(name),
                "an empty Retry or Catch list has no typed form",
            ));
        }
        let mut flows = true;
        match &s.kind {
            StateKind::Task(task) => {
                t.type_ = api::StateType::Task;
                self.task(&mut t, task, s, ql == QueryLanguage::Jsonata)?;
                t.credentials = object(&task.credentials, name, "Credentials")?;
                t.timeout_seconds = num_u32(&task.timeout_seconds, name, "TimeoutSeconds")?;
                t.timeout_seconds_path = task.timeout_seconds_path.clone();
                t.heartbeat_seconds = num_u32(&task.heartbeat_seconds, name, "HeartbeatSeconds")?;
                t.heartbeat_seconds_path = task.heartbeat_seconds_path.clone();
            }
            StateKind::Pass(p) => {
                t.type_ = api::StateType::Pass;
                t.result = p.result.clone();
            }
            StateKind::Wait(w) => {
                t.type_ = api::StateType::Wait;
                t.seconds = match &w.seconds {
                    None => None,
                    Some(NumField::Expr(e)) => Some(api::IntOrString::String(e.clone())),
                    Some(NumField::Number(n)) => {
                        Some(api::IntOrString::Int(n.as_i64().ok_or_else(|| {
                            untypable(Some(name), &format!("Seconds {n} is not a whole number"))
                        })?))
                    }
                };
                t.seconds_path = w.seconds_path.clone();
                t.timestamp = w.timestamp.clone();
                t.timestamp_path = w.timestamp_path.clone();
            }
            StateKind::Choice(c) => {
                t.type_ = api::StateType::Choice;
                flows = false;
                self.choice(&mut t, c, states, item, after, ql)?;
            }
            StateKind::Parallel(p) => {
                t.type_ = api::StateType::Parallel;
                for b in &p.branches {
                    if b.processor_config.is_some() {
                        return Err(untypable(Some(name), "a branch sets ProcessorConfig"));
                    }
                    let (list, start_at) = self.nested(b, ql)?;
                    t.branches.push(api::Branch {
                        comment: b.comment.clone(),
                        start_at,
                        states: list,
                    });
                }
            }
            StateKind::Map(m) => {
                t.type_ = api::StateType::Map;
                self.map(&mut t, m, name, ql)?;
            }
            StateKind::Succeed => {
                t.type_ = api::StateType::Succeed;
                flows = false;
            }
            StateKind::Fail(f) => {
                t.type_ = api::StateType::Fail;
                flows = false;
                t.error = f.error.clone();
                t.error_path = f.error_path.clone();
                t.cause = f.cause.clone();
                t.cause_path = f.cause_path.clone();
            }
        }
        if flows {
            match (&s.next, s.end) {
                (Some(n), None) => {
                    if after != Some(n.as_str()) {
                        t.next = Some(n.clone());
                    }
                }
                (None, Some(true)) => {
                    if after.is_some() {
                        t.end = Some(true);
                    }
                }
                _ => {
                    return Err(untypable(
                        Some(name),
                        "it needs exactly one of Next and End: true",
                    ));
                }
            }
        }
        Ok(t)
    }

    fn task(
        &mut self,
        t: &mut api::State,
        task: &model::Task,
        s: &model::State,
        jsonata: bool,
    ) -> Result<(), Untypable> {
        let name = t.name.clone();
        if !self.mode.integrations {
            t.resource = Some(task.resource.clone());
            self.out.tasks_raw += 1;
            return Ok(());
        }
        let params = if jsonata { &s.arguments } else { &s.parameters };
        match recognise(&task.resource, params.as_ref(), jsonata) {
            Ok(found) => {
                let integration = self.out.integration_name(&found.name_hint, found.spec);
                if jsonata {
                    t.arguments = found.rest;
                } else {
                    t.parameters = object(&found.rest, &name, "Parameters")?;
                }
                t.integration = Some(integration);
                self.out.tasks_typed += 1;
            }
            Err(why) => {
                t.resource = Some(task.resource.clone());
                self.out.tasks_raw += 1;
                self.out.notes.push(Note {
                    state: Some(name),
                    message: format!("keeps its raw resource {}: {why}", task.resource),
                });
            }
        }
        Ok(())
    }

    fn choice(
        &mut self,
        t: &mut api::State,
        c: &model::Choice,
        states: &States,
        item: &Item,
        after: Option<&str>,
        ql: QueryLanguage,
    ) -> Result<(), Untypable> {
        let join = item.join.as_deref();
        let chain = |slot: Slot| {
            item.chains
                .iter()
                .find(|(s, _)| *s == slot)
                .map(|(_, names)| names.as_slice())
        };
        for (i, b) in c.choices.iter().enumerate() {
            let mut rule = api::ChoiceRule {
                comment: b.comment.clone(),
                assign: object(&b.assign, &t.name, "Choices Assign")?,
                output: b.output.clone(),
                ..Default::default()
            };
            match &b.test {
                ChoiceTest::Rule(r) => {
                    let json = r.to_json();
                    match printed(&json) {
                        Some(text) => {
                            rule.condition = Some(text);
                            self.out.conditions += 1;
                        }
                        None => {
                            rule.rule = json.as_object().cloned();
                            self.out.raw_rules += 1;
                            self.out.notes.push(Note {
                                state: Some(t.name.clone()),
                                message: format!(
                                    "choice {i} stays a rule object: the condition language cannot write it exactly (for example a Comment inside the rule)"
                                ),
                            });
                        }
                    }
                }
                ChoiceTest::Condition(text)
                    if !b.condition_is_boolean && text.trim_start().starts_with("{%") =>
                {
                    rule.condition = Some(text.clone());
                    self.out.conditions += 1;
                }
                ChoiceTest::Condition(text) => {
                    let value = if b.condition_is_boolean {
                        Value::Bool(text == "true")
                    } else {
                        Value::String(text.clone())
                    };
                    let mut m = api::JsonObject::new();
                    m.insert("Condition".into(), value);
                    rule.rule = Some(m);
                    self.out.raw_rules += 1;
                }
            }
            match chain(Slot::Rule(i)) {
                Some(names) => {
                    rule.states = self.list(states, &chain_items(names), join, ql)?;
                    self.out.inline_chains += 1;
                }
                None => rule.next = Some(b.next.clone()),
            }
            t.choices.push(rule);
        }
        match chain(Slot::Default) {
            Some(names) => {
                t.default_states = self.list(states, &chain_items(names), join, ql)?;
                self.out.inline_chains += 1;
            }
            None => t.default = c.default.clone(),
        }
        if !item.chains.is_empty() && join != after {
            t.next = join.map(str::to_owned);
        }
        Ok(())
    }

    fn map(
        &mut self,
        t: &mut api::State,
        m: &model::MapState,
        name: &str,
        ql: QueryLanguage,
    ) -> Result<(), Untypable> {
        if m.legacy_iterator {
            return Err(untypable(
                Some(name),
                "it uses the legacy Iterator field; the typed Map writes ItemProcessor",
            ));
        }
        if m.processor.comment.is_some() {
            return Err(untypable(
                Some(name),
                "its ItemProcessor has a Comment, which the typed itemProcessor has no field for",
            ));
        }
        let (mode, execution_type) = match &m.processor.processor_config {
            None => (None, None),
            Some(pc) if pc.mode.is_none() && pc.execution_type.is_none() => {
                return Err(untypable(Some(name), "its ProcessorConfig is empty"));
            }
            Some(pc) => (
                match pc.mode.as_deref() {
                    None => None,
                    Some("INLINE") => Some(api::ProcessorMode::Inline),
                    Some("DISTRIBUTED") => Some(api::ProcessorMode::Distributed),
                    Some(other) => {
                        return Err(untypable(
                            Some(name),
                            &format!("ProcessorConfig Mode {other:?} is unknown"),
                        ));
                    }
                },
                match pc.execution_type.as_deref() {
                    None => None,
                    Some("STANDARD") => Some(api::WorkflowType::Standard),
                    Some("EXPRESS") => Some(api::WorkflowType::Express),
                    Some(other) => {
                        return Err(untypable(
                            Some(name),
                            &format!("ProcessorConfig ExecutionType {other:?} is unknown"),
                        ));
                    }
                },
            ),
        };
        let (states, start_at) = self.nested(&m.processor, ql)?;
        t.item_processor = Some(api::ItemProcessor {
            mode,
            execution_type,
            start_at,
            states,
        });
        t.items_path = m.items_path.clone();
        t.items = m.items.clone();
        t.item_selector = object(&m.item_selector, name, "ItemSelector")?;
        t.item_reader = object(&m.item_reader, name, "ItemReader")?;
        t.item_batcher = object(&m.item_batcher, name, "ItemBatcher")?;
        t.result_writer = object(&m.result_writer, name, "ResultWriter")?;
        t.max_concurrency = num_u32(&m.max_concurrency, name, "MaxConcurrency")?;
        t.max_concurrency_path = m.max_concurrency_path.clone();
        t.tolerated_failure_percentage = num_f64(
            &m.tolerated_failure_percentage,
            name,
            "ToleratedFailurePercentage",
        )?;
        t.tolerated_failure_percentage_path = m.tolerated_failure_percentage_path.clone();
        t.tolerated_failure_count =
            num_u32(&m.tolerated_failure_count, name, "ToleratedFailureCount")?;
        t.tolerated_failure_count_path = m.tolerated_failure_count_path.clone();
        t.label = m.label.clone();
        Ok(())
    }
}

/// The rule as a condition, when the condition language parses the text back to exactly this rule.
fn printed(rule: &Value) -> Option<String> {
    let text = condition::print(rule).ok()?;
    let back = condition::parse(&text).ok()?;
    same_document(&back, rule).then_some(text)
}
