//! The typed state machine definition of a StateMachine (`spec.definition`) and `spec.fragments`: one flat
//! [`State`] struct whose `type` says which fields apply, plus retriers, catchers, Choice rules, Parallel
//! branches and Map processors.
//!
//! The field names follow ASL in camelCase, so that a reader who knows the
//! [Amazon States Language](https://states-language.net/spec.html) recognises every one of them. This module
//! only describes shapes; which fields apply to which state type, and every cross-reference, is checked by
//! the compiler in `sfn_asl`, which names the state and the field.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::schema;

/// A JSON object carried verbatim (keys such as `FunctionName` or `Payload.$` are user data).
pub type JsonObject = serde_json::Map<String, Value>;

/// A field that distinguishes "absent" (`None`) from JSON `null` (`Some(None)`) from a value.
///
/// ASL gives `null` its own meaning on `InputPath`, `OutputPath` and `ResultPath` (discard), distinct from
/// leaving the field out (`$`). The null survives the API server because every such field lives inside a
/// list (`states`, `catch`), and lists here are atomic: a JSON merge patch or server-side apply replaces
/// the whole list rather than merging into it, so a `null` is never read as "delete this key".
pub type Nullable<T> = Option<Option<T>>;

/// Deserialises a present field into `Some(..)` even when its value is `null`; used with
/// `#[serde(default)]` so that an absent field stays `None`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Nullable<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Deserialises any present value, `null` included, into `Some(..)`: for user data such as a Pass
/// state's `result`, `null` is a value (ASL `"Result": null`), not the absence of one.
pub(crate) fn present<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Value::deserialize(deserializer).map(Some)
}

/// The expression language of a state or a whole definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum QueryLanguage {
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}

/// The type of a state. `Fragment` is not an ASL type: it stands for an instance of one of `spec.fragments`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StateType {
    #[default]
    Task,
    Pass,
    Wait,
    Choice,
    Parallel,
    Map,
    Succeed,
    Fail,
    Fragment,
}

impl StateType {
    /// The name as written in YAML and ASL.
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Task => "Task",
            StateType::Pass => "Pass",
            StateType::Wait => "Wait",
            StateType::Choice => "Choice",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Fragment => "Fragment",
        }
    }
}

impl std::fmt::Display for StateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How retries spread out: `FULL` randomises each interval, `NONE` keeps them exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    Full,
    None,
}

/// How a Map state runs its item processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorMode {
    Inline,
    Distributed,
}

/// Workflow type of a state machine, or of the child executions of a distributed Map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WorkflowType {
    #[default]
    Standard,
    Express,
}

impl WorkflowType {
    /// The name as written in YAML and in the AWS API.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowType::Standard => "STANDARD",
            WorkflowType::Express => "EXPRESS",
        }
    }
}

/// Wait duration in seconds: an integer, or a JSONata expression string (`"{% $x %}"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

impl JsonSchema for IntOrString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IntOrString".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schema::int_or_string(generator)
    }
}

/// A state machine definition in typed form; compiled to ASL JSON by the operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Definition {
    /// Human-readable description of the state machine (ASL `Comment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
    /// Expression language of the whole definition (ASL `QueryLanguage`, default JSONPath); a state may override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// Name of the first state to run (ASL `StartAt`). Default: the first state of `states`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub start_at: Option<String>,
    /// The states, in order. A state with neither `next` nor `end` flows into the state listed after it,
    /// and the last state of the list ends the execution (unless it is a Choice, Succeed or Fail).
    #[schemars(length(min = 1, max = 500))]
    pub states: Vec<State>,
}

/// One state. A single flat shape for every state type: `type` says which fields apply, and the compiler
/// rejects a field that does not apply to the type, naming the state and the field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!(has(self.integration) && has(self.resource))", "message": "a state sets at most one of integration and resource"},
    {"rule": "!(has(self.next) && has(self.end) && self.end)", "message": "a state cannot set both next and end: true"},
    {"rule": "self.type != 'Fragment' || (has(self.fragment) && has(self.prefix))", "message": "a Fragment state needs fragment and prefix"},
    {"rule": "self.type != 'Choice' || has(self.choices)", "message": "a Choice state needs choices"},
    {"rule": "self.type != 'Parallel' || has(self.branches)", "message": "a Parallel state needs branches"},
    {"rule": "self.type != 'Map' || has(self.itemProcessor)", "message": "a Map state needs itemProcessor"},
    {"rule": "!(has(self.default) && has(self.defaultStates))", "message": "a Choice sets at most one of default and defaultStates"},
]))]
pub struct State {
    /// Name of the state, unique within the state machine (at most 80 characters).
    #[schemars(length(min = 1, max = 80))]
    pub name: String,
    /// State type: Task, Pass, Wait, Choice, Parallel, Map, Succeed, Fail, or Fragment (an instance of one of `spec.fragments`).
    #[serde(rename = "type")]
    #[schemars(length(max = 16))]
    pub type_: StateType,
    /// Human-readable description (ASL `Comment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
    /// Name of the state to run next. Default: the state listed after this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub next: Option<String>,
    /// `true` ends the execution (or the branch) after this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Expression language of this state, overriding the definition's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,

    // JSONPath input and output processing.
    /// JSONPath selecting the state input (ASL `InputPath`); `null` passes `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::nullable_path")]
    pub input_path: Nullable<String>,
    /// JSONPath selecting the state output (ASL `OutputPath`); `null` outputs `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::nullable_path")]
    pub output_path: Nullable<String>,
    /// Where the result goes in the input (ASL `ResultPath`); `null` discards the result and keeps the input.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::nullable_path")]
    pub result_path: Nullable<String>,
    /// Payload template (ASL `Parameters`); keys ending in `.$` are paths. Passed through verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub parameters: Option<JsonObject>,
    /// Template applied to the task result before `resultPath` (ASL `ResultSelector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub result_selector: Option<JsonObject>,

    // JSONata input and output.
    /// JSONata mode: the task or Map input (ASL `Arguments`), an object or a `{% ... %}` expression.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::any_value")]
    pub arguments: Option<Value>,
    /// JSONata mode: the state output (ASL `Output`), any value or a `{% ... %}` expression.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::any_value")]
    pub output: Option<Value>,
    /// Variables to assign after the state runs (ASL `Assign`); valid in JSONPath and JSONata mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub assign: Option<JsonObject>,

    // Task.
    /// Task: name of a TaskIntegration in the same namespace (or `<namespace>/<name>` of one in a namespace
    /// whose ReferenceGrant allows it); it supplies the resource, default parameters, retriers and IAM
    /// permissions. Alternative to `resource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub integration: Option<String>,
    /// Task: a raw ASL `Resource` ARN (for example `arn:aws:states:::lambda:invoke`). Alternative to `integration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub resource: Option<String>,
    /// Task: maximum run time in seconds (ASL `TimeoutSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99999999))]
    pub timeout_seconds: Option<u32>,
    /// Task: JSONPath to the timeout in the input (ASL `TimeoutSecondsPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub timeout_seconds_path: Option<String>,
    /// Task: maximum seconds between heartbeats (ASL `HeartbeatSeconds`), less than the timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99999999))]
    pub heartbeat_seconds: Option<u32>,
    /// Task: JSONPath to the heartbeat interval in the input (ASL `HeartbeatSecondsPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub heartbeat_seconds_path: Option<String>,
    /// Task: a role to assume for this task (ASL `Credentials`), e.g. `{RoleArn: ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub credentials: Option<JsonObject>,

    // Errors (Task, Parallel, Map).
    /// Task, Parallel, Map: retry policy, tried in order (ASL `Retry`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub retry: Vec<Retrier>,
    /// Task, Parallel, Map: fallback states for errors, tried in order (ASL `Catch`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub catch: Vec<Catcher>,

    // Pass.
    /// Pass: fixed output (ASL `Result`), any JSON value.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::any_value")]
    pub result: Option<Value>,

    // Wait.
    /// Wait: seconds to wait (ASL `Seconds`); an integer, or a JSONata expression string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<IntOrString>,
    /// Wait: JSONPath to the number of seconds in the input (ASL `SecondsPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub seconds_path: Option<String>,
    /// Wait: RFC 3339 timestamp to wait until (ASL `Timestamp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub timestamp: Option<String>,
    /// Wait: JSONPath to the timestamp in the input (ASL `TimestampPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub timestamp_path: Option<String>,

    // Choice.
    /// Choice: the rules, evaluated in order; the first that matches decides the next state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub choices: Vec<ChoiceRule>,
    /// Choice: state to run when no rule matches (ASL `Default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub default: Option<String>,
    /// Choice: an inline chain of states to run when no rule matches, joining the state after the Choice.
    /// Alternative to `default`. Items are States (not typed in the schema; see `kubectl explain` of `definition.states`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_states")]
    pub default_states: Vec<Value>,

    // Parallel.
    /// Parallel: the branches, run concurrently; the output is the array of their outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub branches: Vec<Branch>,

    // Map.
    /// Map (JSONPath): path to the array to iterate over (ASL `ItemsPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub items_path: Option<String>,
    /// Map (JSONata): the array to iterate over, or a `{% ... %}` expression (ASL `Items`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::any_value")]
    pub items: Option<Value>,
    /// Map: template building each item's input (ASL `ItemSelector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub item_selector: Option<JsonObject>,
    /// Map: the states run for each item (ASL `ItemProcessor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<ItemProcessor>,
    /// Map: upper bound on concurrent iterations; 0 means no limit (ASL `MaxConcurrency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// Map: JSONPath to the concurrency limit in the input (ASL `MaxConcurrencyPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub max_concurrency_path: Option<String>,
    /// Distributed Map: where to read items from, e.g. an S3 object or listing (ASL `ItemReader`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub item_reader: Option<JsonObject>,
    /// Distributed Map: where to write child execution results (ASL `ResultWriter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub result_writer: Option<JsonObject>,
    /// Distributed Map: batch items for each child execution (ASL `ItemBatcher`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub item_batcher: Option<JsonObject>,
    /// Distributed Map: percentage of failed items tolerated, 0 to 100 (ASL `ToleratedFailurePercentage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub tolerated_failure_percentage: Option<f64>,
    /// Distributed Map: JSONPath to the tolerated failure percentage (ASL `ToleratedFailurePercentagePath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub tolerated_failure_percentage_path: Option<String>,
    /// Distributed Map: number of failed items tolerated (ASL `ToleratedFailureCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<u32>,
    /// Distributed Map: JSONPath to the tolerated failure count (ASL `ToleratedFailureCountPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub tolerated_failure_count_path: Option<String>,
    /// Distributed Map: label of the child executions, at most 40 characters (ASL `Label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 40))]
    pub label: Option<String>,

    // Succeed / Fail.
    /// Fail: error name (ASL `Error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub error: Option<String>,
    /// Fail: JSONPath to the error name (ASL `ErrorPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub error_path: Option<String>,
    /// Fail: human-readable cause (ASL `Cause`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32768))]
    pub cause: Option<String>,
    /// Fail: JSONPath to the cause (ASL `CausePath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub cause_path: Option<String>,

    // Fragment.
    /// Fragment: name of an entry of `spec.fragments` to insert here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub fragment: Option<String>,
    /// Fragment: prefix prepended to every state name of this instance, so one fragment can be used many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub prefix: Option<String>,
}

impl State {
    /// The YAML names of the fields that are set (`name` and `type` included), in declaration order.
    /// The compiler uses it to reject fields that do not apply to the state's type, naming them as the
    /// user wrote them.
    pub fn set_fields(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// A state of the given name and type with every other field unset.
    pub fn new(name: impl Into<String>, type_: StateType) -> Self {
        State {
            name: name.into(),
            type_,
            ..State::default()
        }
    }
}

/// One retry policy (an entry of ASL `Retry`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retrier {
    /// Error names this policy handles, e.g. `States.ALL`, `States.Timeout`, `Lambda.ServiceException`.
    #[schemars(length(min = 1, max = 50))]
    pub error_equals: Vec<String>,
    /// Seconds before the first retry (ASL default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99999999))]
    pub interval_seconds: Option<u32>,
    /// Maximum number of retries; 0 never retries (ASL default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 99999999))]
    pub max_attempts: Option<u32>,
    /// Multiplier of the interval after each attempt, at least 1.0 (ASL default 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0))]
    pub backoff_rate: Option<f64>,
    /// Upper bound of the retry interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 31622400))]
    pub max_delay_seconds: Option<u32>,
    /// `FULL` randomises the interval, `NONE` (default) keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<JitterStrategy>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
}

/// One fallback (an entry of ASL `Catch`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catcher {
    /// Error names this fallback handles, e.g. `States.ALL`.
    #[schemars(length(min = 1, max = 50))]
    pub error_equals: Vec<String>,
    /// State to run when the error matches.
    #[schemars(length(min = 1, max = 80))]
    pub next: String,
    /// Where the error output goes in the input (ASL `ResultPath`); `null` keeps the input unchanged.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::nullable_path")]
    pub result_path: Nullable<String>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
    /// Variables to assign when the error is caught (ASL `Assign`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub assign: Option<JsonObject>,
    /// JSONata mode: output passed to the next state (ASL `Output`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::any_value")]
    pub output: Option<Value>,
}

/// One rule of a Choice state: a condition and where to go when it holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.condition) != has(self.rule)", "message": "a choice sets exactly one of condition and rule"},
    {"rule": "has(self.next) != has(self.states)", "message": "a choice sets exactly one of next and states"},
]))]
pub struct ChoiceRule {
    /// The condition: an expression such as `$.status == "FAILED" && $.attempts < 3`, or in JSONata mode
    /// a `{% ... %}` expression. Alternative to `rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8192))]
    pub condition: Option<String>,
    /// A raw ASL Choice rule object (`Variable`, `StringEquals`, `And`, ... without `Next`). Alternative to `condition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub rule: Option<JsonObject>,
    /// State to run when the condition holds. Exactly one of `next` and `states`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub next: Option<String>,
    /// An inline chain of states to run when the condition holds; it then joins the state after the Choice.
    /// Exactly one of `next` and `states`. Items are States (not typed in the schema, validated by the operator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::opaque_states")]
    pub states: Vec<Value>,
    /// Variables to assign when this rule is taken (ASL `Assign`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub assign: Option<JsonObject>,
    /// JSONata mode: output when this rule is taken (ASL `Output`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::any_value")]
    pub output: Option<Value>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
}

/// One branch of a Parallel state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Branch {
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
    /// First state of the branch. Default: the first of `states`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub start_at: Option<String>,
    /// The branch's states, in order, with the same fields as `definition.states`
    /// (not typed in the schema, validated by the operator).
    #[schemars(schema_with = "schema::opaque_states")]
    pub states: Vec<Value>,
}

/// The states a Map state runs for each item.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemProcessor {
    /// `INLINE` (default) runs iterations inside the execution; `DISTRIBUTED` starts child executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ProcessorMode>,
    /// Distributed mode: workflow type of the child executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<WorkflowType>,
    /// First state of the processor. Default: the first of `states`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    pub start_at: Option<String>,
    /// The processor's states, in order, with the same fields as `definition.states`
    /// (not typed in the schema, validated by the operator).
    #[schemars(schema_with = "schema::opaque_states")]
    pub states: Vec<Value>,
}

/// A reusable list of states, inserted by `type: Fragment` states with a name prefix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fragment {
    /// Name the Fragment states refer to.
    #[schemars(length(min = 1, max = 80))]
    pub name: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub description: Option<String>,
    /// The fragment's states, in order; names are prefixed with the instance's `prefix`.
    #[schemars(length(min = 1, max = 200))]
    pub states: Vec<State>,
}

/// Deserialises a nested state list (`branches[].states`, `itemProcessor.states`, `choices[].states`,
/// `defaultStates`), which the CRD keeps opaque. `path` is where the list sits (for example
/// `spec.definition.states[3].branches[0].states`); an error names the item's path, the state's name when
/// it has one, and the offending field.
pub fn parse_states(
    values: &[Value],
    path: &str,
) -> Result<Vec<State>, super::field_error::FieldError> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            serde_path_to_error::deserialize::<_, State>(value).map_err(|err| {
                let item = format!("{path}[{i}]");
                let inner = err.path().to_string();
                let field = if inner == "." || inner.is_empty() {
                    item
                } else {
                    format!("{item}.{inner}")
                };
                let name = value.get("name").and_then(Value::as_str);
                let message =
                    super::field_error::shorten_serde_message(&err.into_inner().to_string());
                super::field_error::FieldError {
                    field,
                    message: match name {
                        Some(name) => format!("state {name:?}: {message}"),
                        None => message,
                    },
                }
            })
        })
        .collect()
}

impl State {
    /// The nested state lists of this state, each with its path relative to the state (for example
    /// `branches[1].states`), in a stable order. Lets callers walk a whole definition without knowing
    /// which state types nest.
    pub fn nested_state_lists(&self) -> Vec<(String, &[Value])> {
        let mut out: Vec<(String, &[Value])> = Vec::new();
        for (i, choice) in self.choices.iter().enumerate() {
            if !choice.states.is_empty() {
                out.push((format!("choices[{i}].states"), &choice.states));
            }
        }
        if !self.default_states.is_empty() {
            out.push(("defaultStates".into(), &self.default_states));
        }
        for (i, branch) in self.branches.iter().enumerate() {
            out.push((format!("branches[{i}].states"), &branch.states));
        }
        if let Some(processor) = &self.item_processor {
            out.push(("itemProcessor.states".into(), &processor.states));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nullable_paths_distinguish_absent_null_and_value() {
        let state: State = serde_json::from_value(json!({
            "name": "A", "type": "Pass", "inputPath": null, "outputPath": "$.x"
        }))
        .unwrap();
        assert_eq!(state.input_path, Some(None));
        assert_eq!(state.output_path, Some(Some("$.x".to_string())));
        assert_eq!(state.result_path, None);
        let back = serde_json::to_value(&state).unwrap();
        assert_eq!(
            back,
            json!({"name": "A", "type": "Pass", "inputPath": null, "outputPath": "$.x"})
        );
    }

    #[test]
    fn null_user_data_is_a_value() {
        let state: State =
            serde_json::from_value(json!({"name": "P", "type": "Pass", "result": null})).unwrap();
        assert_eq!(state.result, Some(Value::Null));
        let back = serde_json::to_value(&state).unwrap();
        assert_eq!(back, json!({"name": "P", "type": "Pass", "result": null}));
    }

    #[test]
    fn set_fields_lists_what_the_user_wrote() {
        let state: State = serde_json::from_value(json!({
            "name": "W", "type": "Wait", "seconds": 5, "retry": [], "end": true
        }))
        .unwrap();
        assert_eq!(state.set_fields(), vec!["name", "type", "end", "seconds"]);
    }

    #[test]
    fn wait_seconds_takes_an_integer_or_an_expression() {
        let int: State =
            serde_json::from_value(json!({"name": "W", "type": "Wait", "seconds": 5})).unwrap();
        assert_eq!(int.seconds, Some(IntOrString::Int(5)));
        let expr: State =
            serde_json::from_value(json!({"name": "W", "type": "Wait", "seconds": "{% $x %}"}))
                .unwrap();
        assert_eq!(expr.seconds, Some(IntOrString::String("{% $x %}".into())));
    }

    #[test]
    fn nested_states_are_parsed_with_their_path() {
        let parallel: State = serde_json::from_value(json!({
            "name": "P", "type": "Parallel",
            "branches": [{"states": [{"name": "A", "type": "Pass"}]}, {"states": [{"name": "B", "type": "Nap"}]}]
        }))
        .unwrap();
        let lists = parallel.nested_state_lists();
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[1].0, "branches[1].states");
        let ok = parse_states(lists[0].1, "spec.definition.states[0].branches[0].states").unwrap();
        assert_eq!(ok[0].name, "A");
        let err =
            parse_states(lists[1].1, "spec.definition.states[0].branches[1].states").unwrap_err();
        assert_eq!(
            err.field,
            "spec.definition.states[0].branches[1].states[0].type"
        );
        assert!(
            err.message
                .starts_with("state \"B\": unknown variant `Nap`"),
            "{}",
            err.message
        );

        let typo = vec![json!({"name": "C", "type": "Pass", "resultpath": "$.x"})];
        let err = parse_states(&typo, "x.states").unwrap_err();
        assert_eq!(err.field, "x.states[0].resultpath");
        assert!(
            err.message.contains("unknown field `resultpath`"),
            "{}",
            err.message
        );
        assert!(
            !err.message.contains("expected one of"),
            "the long field list is cut: {}",
            err.message
        );
    }
}
