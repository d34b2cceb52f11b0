//! The typed Amazon States Language model: what the compiler produces, what `definitionJson` and `.asl.json`
//! files parse into, and what the validator, the IAM derivation and the simulator read.
//!
//! User data (Parameters, Result, Arguments, ItemReader, ...) stays `serde_json::Value` because ASL passes it
//! through verbatim. Numbers are kept as `serde_json::Number` so that `2` and `2.0` survive a round trip.
//! [`Definition::to_json`] emits fields in the order AWS documents them (Type first inside a state), so the
//! output reads like the AWS console's and diffs stay small.
//!
//! Reference: <https://states-language.net/spec.html> and
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html>.

use indexmap::IndexMap;
use serde_json::{Map, Number, Value};

/// The states of one scope (top level, a Parallel branch, a Map processor), in document order.
pub type States = IndexMap<String, State>;

/// A whole state machine definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub comment: Option<String>,
    pub start_at: String,
    pub states: States,
    pub timeout_seconds: Option<Number>,
    pub version: Option<String>,
    pub query_language: Option<QueryLanguage>,
}

/// `QueryLanguage` of a definition or a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

impl QueryLanguage {
    /// The ASL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }

    /// Parses the ASL spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "JSONPath" => Some(QueryLanguage::JsonPath),
            "JSONata" => Some(QueryLanguage::Jsonata),
            _ => None,
        }
    }
}

/// InputPath / OutputPath / ResultPath: a path, or JSON `null` (discard input / keep input / discard result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathField {
    Null,
    Path(String),
}

impl PathField {
    fn to_json(&self) -> Value {
        match self {
            PathField::Null => Value::Null,
            PathField::Path(p) => Value::String(p.clone()),
        }
    }

    /// The path text, if not null.
    pub fn as_path(&self) -> Option<&str> {
        match self {
            PathField::Null => None,
            PathField::Path(p) => Some(p),
        }
    }
}

/// A numeric field that JSONata states may also give as a `{% ... %}` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum NumField {
    Number(Number),
    Expr(String),
}

impl NumField {
    fn to_json(&self) -> Value {
        match self {
            NumField::Number(n) => Value::Number(n.clone()),
            NumField::Expr(e) => Value::String(e.clone()),
        }
    }

    /// The literal number, if not an expression.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            NumField::Number(n) => n.as_f64(),
            NumField::Expr(_) => None,
        }
    }
}

/// One state. Fields shared by several state types live here; the parser only fills those that apply to
/// the state's type (and reports the others), so a `State` always describes what the JSON said.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub comment: Option<String>,
    pub query_language: Option<QueryLanguage>,
    pub input_path: Option<PathField>,
    pub output_path: Option<PathField>,
    pub result_path: Option<PathField>,
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    pub arguments: Option<Value>,
    pub output: Option<Value>,
    pub assign: Option<Value>,
    pub next: Option<String>,
    pub end: Option<bool>,
    pub retry: Option<Vec<Retrier>>,
    pub catch: Option<Vec<Catcher>>,
    pub kind: StateKind,
}

impl State {
    /// A state of the given kind with every shared field absent.
    pub fn new(kind: StateKind) -> Self {
        State {
            comment: None,
            query_language: None,
            input_path: None,
            output_path: None,
            result_path: None,
            parameters: None,
            result_selector: None,
            arguments: None,
            output: None,
            assign: None,
            next: None,
            end: None,
            retry: None,
            catch: None,
            kind,
        }
    }

    /// The ASL `Type` of this state.
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

/// What is specific to each state type.
#[derive(Debug, Clone, PartialEq)]
pub enum StateKind {
    Task(Task),
    Pass(Pass),
    Wait(Wait),
    Choice(Choice),
    Parallel(Parallel),
    Map(Box<MapState>),
    Succeed,
    Fail(Fail),
}

impl StateKind {
    /// The ASL `Type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Task(_) => "Task",
            StateKind::Pass(_) => "Pass",
            StateKind::Wait(_) => "Wait",
            StateKind::Choice(_) => "Choice",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
        }
    }
}

/// Task-specific fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Task {
    pub resource: String,
    pub credentials: Option<Value>,
    pub timeout_seconds: Option<NumField>,
    pub timeout_seconds_path: Option<String>,
    pub heartbeat_seconds: Option<NumField>,
    pub heartbeat_seconds_path: Option<String>,
}

/// Pass-specific fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pass {
    pub result: Option<Value>,
}

/// Wait-specific fields (exactly one should be set; the validator checks).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wait {
    pub seconds: Option<NumField>,
    pub seconds_path: Option<String>,
    pub timestamp: Option<String>,
    pub timestamp_path: Option<String>,
}

/// Choice-specific fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choice {
    pub choices: Vec<ChoiceBranch>,
    pub default: Option<String>,
}

/// One entry of `Choices`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceBranch {
    pub test: ChoiceTest,
    pub next: String,
    pub comment: Option<String>,
    pub assign: Option<Value>,
    pub output: Option<Value>,
    /// The `Condition` was the JSON boolean `true` or `false` (kept in [`ChoiceTest::Condition`] as its text),
    /// so that it is written back as a boolean.
    pub condition_is_boolean: bool,
}

/// How a Choice entry decides: a JSONPath rule tree or a JSONata `Condition`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceTest {
    Rule(Rule),
    /// A `{% ... %}` expression, or `true`/`false` when [`ChoiceBranch::condition_is_boolean`] is set (AWS
    /// accepts a constant boolean Condition).
    Condition(String),
}

/// A JSONPath Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    /// A nested rule (inside `And`, `Or` or `Not`) carrying a `Comment`, which AWS allows on every rule; the
    /// comment of a top-level rule is [`ChoiceBranch::comment`].
    Commented {
        comment: String,
        rule: Box<Rule>,
    },
    Compare {
        variable: String,
        operator: Operator,
        operand: Value,
    },
}

/// What a comparison operator expects on its right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    String,
    Number,
    Boolean,
    Timestamp,
    /// A reference path to compare against (the `...Path` operators).
    Path,
    /// `true`/`false` for the type tests (`IsNull`, ...).
    Test,
}

macro_rules! operators {
    ($($name:ident => $operand:ident),* $(,)?) => {
        /// An ASL Choice comparison operator.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operator { $($name),* }

        impl Operator {
            /// Every operator, in the order the ASL specification lists them.
            pub const ALL: &'static [Operator] = &[$(Operator::$name),*];

            /// The ASL field name.
            pub fn name(self) -> &'static str {
                match self { $(Operator::$name => stringify!($name)),* }
            }

            /// What the operator compares against.
            pub fn operand(self) -> Operand {
                match self { $(Operator::$name => Operand::$operand),* }
            }

            /// Looks an operator up by its ASL field name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $(stringify!($name) => Some(Operator::$name),)* _ => None }
            }
        }
    };
}

operators! {
    StringEquals => String, StringEqualsPath => Path,
    StringLessThan => String, StringLessThanPath => Path,
    StringGreaterThan => String, StringGreaterThanPath => Path,
    StringLessThanEquals => String, StringLessThanEqualsPath => Path,
    StringGreaterThanEquals => String, StringGreaterThanEqualsPath => Path,
    StringMatches => String,
    NumericEquals => Number, NumericEqualsPath => Path,
    NumericLessThan => Number, NumericLessThanPath => Path,
    NumericGreaterThan => Number, NumericGreaterThanPath => Path,
    NumericLessThanEquals => Number, NumericLessThanEqualsPath => Path,
    NumericGreaterThanEquals => Number, NumericGreaterThanEqualsPath => Path,
    BooleanEquals => Boolean, BooleanEqualsPath => Path,
    TimestampEquals => Timestamp, TimestampEqualsPath => Path,
    TimestampLessThan => Timestamp, TimestampLessThanPath => Path,
    TimestampGreaterThan => Timestamp, TimestampGreaterThanPath => Path,
    TimestampLessThanEquals => Timestamp, TimestampLessThanEqualsPath => Path,
    TimestampGreaterThanEquals => Timestamp, TimestampGreaterThanEqualsPath => Path,
    IsNull => Test, IsPresent => Test, IsNumeric => Test, IsString => Test, IsBoolean => Test, IsTimestamp => Test,
}

/// A nested scope: a Parallel branch, or a Map's ItemProcessor (or legacy Iterator).
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub comment: Option<String>,
    pub start_at: String,
    pub states: States,
    /// Map only: `ProcessorConfig`.
    pub processor_config: Option<ProcessorConfig>,
}

/// A Map processor's `ProcessorConfig`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessorConfig {
    pub mode: Option<String>,
    pub execution_type: Option<String>,
}

/// Parallel-specific fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parallel {
    pub branches: Vec<Scope>,
}

/// Map-specific fields.
#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    pub processor: Scope,
    /// True when the document used the legacy `Iterator` field instead of `ItemProcessor`.
    pub legacy_iterator: bool,
    pub items_path: Option<String>,
    pub items: Option<Value>,
    pub item_selector: Option<Value>,
    pub item_reader: Option<Value>,
    pub item_batcher: Option<Value>,
    pub result_writer: Option<Value>,
    pub max_concurrency: Option<NumField>,
    pub max_concurrency_path: Option<String>,
    pub tolerated_failure_percentage: Option<NumField>,
    pub tolerated_failure_percentage_path: Option<String>,
    pub tolerated_failure_count: Option<NumField>,
    pub tolerated_failure_count_path: Option<String>,
    pub label: Option<String>,
}

/// Fail-specific fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fail {
    pub error: Option<String>,
    pub error_path: Option<String>,
    pub cause: Option<String>,
    pub cause_path: Option<String>,
}

/// One `Retry` entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: Option<Number>,
    pub max_attempts: Option<Number>,
    pub backoff_rate: Option<Number>,
    pub max_delay_seconds: Option<Number>,
    pub jitter_strategy: Option<String>,
    pub comment: Option<String>,
}

/// One `Catch` entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: Option<PathField>,
    pub comment: Option<String>,
    pub assign: Option<Value>,
    pub output: Option<Value>,
}

struct Out(Map<String, Value>);

impl Out {
    fn new() -> Self {
        Out(Map::with_capacity(8))
    }
    fn put(&mut self, k: &str, v: Value) {
        self.0.insert(k.to_owned(), v);
    }
    fn str(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.put(k, Value::String(v.clone()));
        }
    }
    fn val(&mut self, k: &str, v: &Option<Value>) {
        if let Some(v) = v {
            self.put(k, v.clone());
        }
    }
    fn num(&mut self, k: &str, v: &Option<Number>) {
        if let Some(v) = v {
            self.put(k, Value::Number(v.clone()));
        }
    }
    fn numf(&mut self, k: &str, v: &Option<NumField>) {
        if let Some(v) = v {
            self.put(k, v.to_json());
        }
    }
    fn path(&mut self, k: &str, v: &Option<PathField>) {
        if let Some(v) = v {
            self.put(k, v.to_json());
        }
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn states_json(states: &States) -> Value {
    Value::Object(
        states
            .iter()
            .map(|(name, s)| (name.clone(), s.to_json()))
            .collect(),
    )
}

impl Definition {
    /// The ASL JSON document, fields in AWS's order.
    pub fn to_json(&self) -> Value {
        let mut o = Out::new();
        o.str("Comment", &self.comment);
        o.put("StartAt", Value::String(self.start_at.clone()));
        o.put("States", states_json(&self.states));
        o.num("TimeoutSeconds", &self.timeout_seconds);
        o.str("Version", &self.version);
        if let Some(q) = self.query_language {
            o.put("QueryLanguage", Value::String(q.as_str().into()));
        }
        o.done()
    }

    /// Every state of the definition, nested scopes included, with the name of each.
    pub fn all_states(&self) -> Vec<(&str, &State)> {
        let mut out = Vec::new();
        collect_states(&self.states, &mut out);
        out
    }
}

fn collect_states<'a>(states: &'a States, out: &mut Vec<(&'a str, &'a State)>) {
    for (name, s) in states {
        out.push((name.as_str(), s));
        match &s.kind {
            StateKind::Parallel(p) => {
                for b in &p.branches {
                    collect_states(&b.states, out);
                }
            }
            StateKind::Map(m) => collect_states(&m.processor.states, out),
            _ => {}
        }
    }
}

impl Scope {
    /// The scope as ASL JSON (a branch, ItemProcessor or Iterator object).
    pub fn to_json(&self) -> Value {
        let mut o = Out::new();
        o.str("Comment", &self.comment);
        if let Some(pc) = &self.processor_config {
            let mut c = Out::new();
            c.str("Mode", &pc.mode);
            c.str("ExecutionType", &pc.execution_type);
            o.put("ProcessorConfig", c.done());
        }
        o.put("StartAt", Value::String(self.start_at.clone()));
        o.put("States", states_json(&self.states));
        o.done()
    }
}

impl Rule {
    /// The rule as an ASL rule object (without `Next`).
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        self.write(&mut o);
        Value::Object(o)
    }

    fn write(&self, o: &mut Map<String, Value>) {
        match self {
            Rule::And(rs) => {
                o.insert(
                    "And".into(),
                    Value::Array(rs.iter().map(Rule::to_json).collect()),
                );
            }
            Rule::Or(rs) => {
                o.insert(
                    "Or".into(),
                    Value::Array(rs.iter().map(Rule::to_json).collect()),
                );
            }
            Rule::Not(r) => {
                o.insert("Not".into(), r.to_json());
            }
            Rule::Commented { comment, rule } => {
                rule.write(o);
                o.insert("Comment".into(), Value::String(comment.clone()));
            }
            Rule::Compare {
                variable,
                operator,
                operand,
            } => {
                o.insert("Variable".into(), Value::String(variable.clone()));
                o.insert(operator.name().into(), operand.clone());
            }
        }
    }
}

impl Retrier {
    /// The retrier as ASL JSON.
    pub fn to_json(&self) -> Value {
        let mut o = Out::new();
        o.put(
            "ErrorEquals",
            Value::Array(
                self.error_equals
                    .iter()
                    .map(|e| Value::String(e.clone()))
                    .collect(),
            ),
        );
        o.num("IntervalSeconds", &self.interval_seconds);
        o.num("MaxAttempts", &self.max_attempts);
        o.num("BackoffRate", &self.backoff_rate);
        o.num("MaxDelaySeconds", &self.max_delay_seconds);
        o.str("JitterStrategy", &self.jitter_strategy);
        o.str("Comment", &self.comment);
        o.done()
    }
}

impl Catcher {
    /// The catcher as ASL JSON.
    pub fn to_json(&self) -> Value {
        let mut o = Out::new();
        o.put(
            "ErrorEquals",
            Value::Array(
                self.error_equals
                    .iter()
                    .map(|e| Value::String(e.clone()))
                    .collect(),
            ),
        );
        o.str("Comment", &self.comment);
        o.path("ResultPath", &self.result_path);
        o.val("Output", &self.output);
        o.val("Assign", &self.assign);
        o.put("Next", Value::String(self.next.clone()));
        o.done()
    }
}

impl State {
    /// The state as ASL JSON: `Type` first, then the type's own fields, I/O processing, error handling and
    /// the transition last.
    pub fn to_json(&self) -> Value {
        let mut o = Out::new();
        o.put("Type", Value::String(self.type_name().into()));
        o.str("Comment", &self.comment);
        if let Some(q) = self.query_language {
            o.put("QueryLanguage", Value::String(q.as_str().into()));
        }
        if let StateKind::Task(t) = &self.kind {
            o.put("Resource", Value::String(t.resource.clone()));
            o.val("Credentials", &t.credentials);
        }
        o.path("InputPath", &self.input_path);
        match &self.kind {
            StateKind::Choice(c) => {
                let choices = c
                    .choices
                    .iter()
                    .map(|b| {
                        let mut m = Map::new();
                        match &b.test {
                            ChoiceTest::Rule(r) => r.write(&mut m),
                            ChoiceTest::Condition(c) if b.condition_is_boolean => {
                                m.insert("Condition".into(), Value::Bool(c == "true"));
                            }
                            ChoiceTest::Condition(c) => {
                                m.insert("Condition".into(), Value::String(c.clone()));
                            }
                        }
                        let mut o = Out(m);
                        o.str("Comment", &b.comment);
                        o.val("Output", &b.output);
                        o.val("Assign", &b.assign);
                        o.put("Next", Value::String(b.next.clone()));
                        o.done()
                    })
                    .collect();
                o.put("Choices", Value::Array(choices));
                o.str("Default", &c.default);
            }
            StateKind::Parallel(p) => {
                o.put(
                    "Branches",
                    Value::Array(p.branches.iter().map(Scope::to_json).collect()),
                );
            }
            StateKind::Map(m) => {
                o.str("ItemsPath", &m.items_path);
                o.val("Items", &m.items);
                o.val("ItemReader", &m.item_reader);
                o.val("ItemBatcher", &m.item_batcher);
                o.val("ItemSelector", &m.item_selector);
                let key = if m.legacy_iterator {
                    "Iterator"
                } else {
                    "ItemProcessor"
                };
                o.put(key, m.processor.to_json());
                o.numf("MaxConcurrency", &m.max_concurrency);
                o.str("MaxConcurrencyPath", &m.max_concurrency_path);
                o.numf(
                    "ToleratedFailurePercentage",
                    &m.tolerated_failure_percentage,
                );
                o.str(
                    "ToleratedFailurePercentagePath",
                    &m.tolerated_failure_percentage_path,
                );
                o.numf("ToleratedFailureCount", &m.tolerated_failure_count);
                o.str("ToleratedFailureCountPath", &m.tolerated_failure_count_path);
                o.str("Label", &m.label);
                o.val("ResultWriter", &m.result_writer);
            }
            _ => {}
        }
        o.val("Parameters", &self.parameters);
        o.val("Arguments", &self.arguments);
        match &self.kind {
            StateKind::Pass(p) => o.val("Result", &p.result),
            StateKind::Wait(w) => {
                o.numf("Seconds", &w.seconds);
                o.str("SecondsPath", &w.seconds_path);
                o.str("Timestamp", &w.timestamp);
                o.str("TimestampPath", &w.timestamp_path);
            }
            StateKind::Task(t) => {
                o.numf("TimeoutSeconds", &t.timeout_seconds);
                o.str("TimeoutSecondsPath", &t.timeout_seconds_path);
                o.numf("HeartbeatSeconds", &t.heartbeat_seconds);
                o.str("HeartbeatSecondsPath", &t.heartbeat_seconds_path);
            }
            StateKind::Fail(f) => {
                o.str("Error", &f.error);
                o.str("ErrorPath", &f.error_path);
                o.str("Cause", &f.cause);
                o.str("CausePath", &f.cause_path);
            }
            _ => {}
        }
        o.val("ResultSelector", &self.result_selector);
        o.path("ResultPath", &self.result_path);
        o.path("OutputPath", &self.output_path);
        o.val("Output", &self.output);
        o.val("Assign", &self.assign);
        if let Some(r) = &self.retry {
            o.put(
                "Retry",
                Value::Array(r.iter().map(Retrier::to_json).collect()),
            );
        }
        if let Some(c) = &self.catch {
            o.put(
                "Catch",
                Value::Array(c.iter().map(Catcher::to_json).collect()),
            );
        }
        o.str("Next", &self.next);
        if let Some(e) = self.end {
            o.put("End", Value::Bool(e));
        }
        o.done()
    }
}
