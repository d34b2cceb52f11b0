//! Versions, aliases and progressive delivery of a StateMachine: the spec a team writes
//! (`spec.publish`, `spec.versionDescription`, `spec.retainVersions`, `spec.aliases`) and the status the operator reports (`status.versions`,
//! `status.aliases`, `status.rollout`).
//!
//! Step Functions publishes immutable, numbered versions of a state machine and routes an alias to one
//! version, or to two by integer weights that sum to 100. These types say which versions to keep, which
//! version each alias should end on, and how traffic moves there: all at once, canary (a weight for a
//! while, then everything) or linear (steps of a weight every interval), gated by CloudWatch alarms.
//! They are plain data; the decisions are made by the pure rollout step in `sfn-plan`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation: promote the rollout in progress now (route 100 % to the new version). Any non-empty value;
/// the operator acts once per distinct value, so a timestamp is a good choice.
pub const PROMOTE_ANNOTATION: &str = "sfn.operator.dev/rollout-promote";
/// Annotation: abort the rollout in progress (route 100 % back to the stable version and stop).
pub const ABORT_ANNOTATION: &str = "sfn.operator.dev/rollout-abort";
/// Annotation: retry a rollout that was rolled back or aborted, without changing the spec.
pub const RETRY_ANNOTATION: &str = "sfn.operator.dev/rollout-retry";

/// Default of `spec.retainVersions`.
pub const DEFAULT_RETAINED_VERSIONS: u32 = 10;

/// Which version an alias ends on: `latest` (the newest published version) or a version number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VersionSelector {
    Number(u32),
    Name(String),
}

impl Default for VersionSelector {
    fn default() -> Self {
        VersionSelector::Name(LATEST.to_string())
    }
}

/// The name of the newest published version in a [`VersionSelector`].
pub const LATEST: &str = "latest";

impl JsonSchema for VersionSelector {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VersionSelector".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::int_or_string(generator)
    }
}

/// What an alias name may be (AWS: 1 to 80 letters, digits, `-` and `_`, not only digits). Shared by
/// `spec.aliases[].name` and a TaskIntegration's `stepFunctions.alias`, which names one of them.
pub const ALIAS_NAME_PATTERN: &str = r"^[0-9A-Za-z_-]*[A-Za-z_-][0-9A-Za-z_-]*$";

/// A named alias of the state machine (`spec.aliases[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AliasSpec {
    /// Alias name (AWS: 1 to 80 letters, digits, `-` and `_`, not only digits).
    #[schemars(length(min = 1, max = 80), regex(pattern = ALIAS_NAME_PATTERN))]
    pub name: String,
    /// Alias description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub description: Option<String>,
    /// The version the alias routes to once any rollout is done: `latest` (default) or a version number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionSelector>,
    /// How traffic moves to a new version. Default: all at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutSpec>,
}

/// How an alias moves from its current version to a new one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RolloutType {
    /// Route everything to the new version at once.
    #[default]
    AllAtOnce,
    /// Route `weight` % to the new version for `intervalSeconds`, then everything.
    Canary,
    /// Add `weight` % every `intervalSeconds` until everything goes to the new version.
    Linear,
}

/// A rollout strategy (`spec.aliases[].rollout`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    /// AllAtOnce (default), Canary or Linear.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub type_: Option<RolloutType>,
    /// Canary: the new version's share during the wait. Linear: the share added at each step. 1 to 99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99))]
    pub weight: Option<u32>,
    /// Canary: how long the canary weight holds. Linear: time between steps. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub interval_seconds: Option<u32>,
    /// CloudWatch alarms that stop the rollout when in ALARM: names of `spec.alarms` entries or of any
    /// alarm in the account and region. Default: every alarm of `spec.alarms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub alarms: Option<Vec<String>>,
}

impl RolloutSpec {
    /// The strategy, AllAtOnce when unset.
    pub fn rollout_type(&self) -> RolloutType {
        self.type_.unwrap_or_default()
    }
}

/// Default of `spec.aliases[].rollout.intervalSeconds`.
pub const DEFAULT_ROLLOUT_INTERVAL_SECONDS: u32 = 300;
/// Default of `spec.aliases[].rollout.weight` (Canary and Linear).
pub const DEFAULT_ROLLOUT_WEIGHT: u32 = 10;

/// One published version (`status.versions[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionStatus {
    /// Version number.
    pub version: u32,
    /// Version ARN (`<state machine ARN>:<number>`).
    pub arn: String,
    /// When it was published (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// The version's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One route of an alias: a version and its share of executions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// Version number.
    pub version: u32,
    /// Percentage of executions started through the alias (0 to 100).
    pub weight: u32,
}

/// One alias as it is in AWS (`status.aliases[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AliasStatus {
    /// Alias name.
    pub name: String,
    /// Alias ARN (`<state machine ARN>:<alias>`): start executions on it, or point a TaskIntegration at it.
    pub arn: String,
    /// Where the alias routes now (one or two versions).
    #[serde(default)]
    pub routing: Vec<RouteStatus>,
}

/// Phase of a rollout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RolloutPhase {
    /// Traffic is moving to the new version.
    Progressing,
    /// Waiting for something outside the operator (an alarm that does not exist yet, a version not
    /// published yet).
    Paused,
    /// The alias routes everything to the version the spec asks for.
    #[default]
    Healthy,
    /// Rolled back (an alarm fired) or aborted: everything goes to the stable version until the spec
    /// changes or a retry is requested.
    Degraded,
}

/// The rollout of the one alias with a Canary or Linear strategy (`status.rollout`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The alias being rolled out.
    pub alias: String,
    /// Progressing, Paused, Healthy or Degraded.
    pub phase: RolloutPhase,
    /// The version that served before the rollout (and serves again after a rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_version: Option<u32>,
    /// The version being rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_version: Option<u32>,
    /// The canary version's current share (0 to 100).
    #[serde(default)]
    pub weight: u32,
    /// Steps done so far (1-based while progressing; 0 before the first).
    #[serde(default)]
    pub step: u32,
    /// Steps in all for this strategy.
    #[serde(default)]
    pub steps: u32,
    /// When this rollout started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_time: Option<String>,
    /// When the phase or step last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// A CamelCase reason, e.g. `AlarmFired`, `Promoted`, `Aborted`, `StepCompleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail (for a rollback: which alarm and when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The promote/abort/retry annotation values already acted on, so each request acts once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_request: Option<String>,
}
