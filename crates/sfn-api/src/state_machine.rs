//! The `StateMachine` kind: a Step Functions state machine, its execution role, logging, tracing,
//! encryption, tags, alarms and versions.

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::alarm::Alarm;
use super::definition::{Definition, Fragment, JsonObject, WorkflowType};
use super::executions::{ExecutionSummaryMode, ExecutionsStatus};
use super::identity::{IdentityRef, IdentityStatus};
use super::schema;
use super::status::Condition;
use super::versions::{AliasSpec, AliasStatus, RolloutStatus, VersionStatus};

/// What happens to the AWS resources when the Kubernetes object is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the AWS resources the operator created.
    #[default]
    Delete,
    /// Leave them in AWS.
    Retain,
}

/// Desired state of a Step Functions state machine.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    crates(kube_core = "::kube_core"),
    group = "sfn.operator.dev",
    version = "v1alpha1",
    kind = "StateMachine",
    plural = "statemachines",
    singular = "statemachine",
    namespaced,
    status = "StateMachineStatus",
    derive = "PartialEq",
    derive = "Default",
    shortname = "sfnsm",
    shortname = "sfm",
    category = "sfn",
    doc = "A Step Functions state machine: a typed or raw ASL definition compiled and kept in line in AWS, with its execution role, logging, tracing, encryption, tags, alarms and versions.",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason","priority":1}"#,
    printcolumn = r#"{"name":"Rollout","type":"string","jsonPath":".status.rollout.phase"}"#,
    printcolumn = r#"{"name":"Weight","type":"integer","jsonPath":".status.rollout.weight","priority":1}"#,
    printcolumn = r#"{"name":"Running","type":"integer","jsonPath":".status.executions.running","priority":1}"#,
    printcolumn = r#"{"name":"Failed-1h","type":"integer","jsonPath":".status.executions.failuresLastHour"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.stateMachineArn"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.definition) != has(self.definitionJson)", "message": "exactly one of definition and definitionJson must be set"},
    {"rule": "!(has(self.roleArn) && has(self.role))", "message": "roleArn (an existing role) and role (settings of the created role) are mutually exclusive"},
]))]
pub struct StateMachineSpec {
    /// AWS name of the state machine. Default: `<namespace>-<name>`, shortened with a hash suffix past 80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[0-9A-Za-z_-]+$"))]
    pub name: Option<String>,
    /// Workflow type: STANDARD (default) or EXPRESS. Cannot be changed after creation.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 16),
        extend("default" = "STANDARD", "x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "type is immutable"}])
    )]
    pub type_: Option<WorkflowType>,
    /// Maximum run time of an execution in seconds (ASL `TimeoutSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99999999))]
    pub timeout_seconds: Option<u32>,
    /// The workflow in typed form. Exactly one of `definition` and `definitionJson`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
    /// The workflow as a raw Amazon States Language JSON document. Exactly one of `definition` and `definitionJson`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1048576))]
    pub definition_json: Option<String>,
    /// Reusable state lists, inserted into the definition by `type: Fragment` states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub fragments: Vec<Fragment>,
    /// ARN of an existing execution role. When set, the operator creates no role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    pub role_arn: Option<String>,
    /// Settings of the role the operator creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleSpec>,
    /// Execution logging to CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<LoggingSpec>,
    /// AWS X-Ray tracing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingSpec>,
    /// Encryption with a customer managed KMS key. Absent: an AWS owned key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSpec>,
    /// Tags of the state machine and its role (the operator adds its ownership tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 45))]
    pub tags: BTreeMap<String, String>,
    /// CloudWatch alarms on the state machine's metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub alarms: Vec<Alarm>,
    /// Publish a version each time the definition or configuration changes (and only then). Implied by
    /// `aliases`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<bool>,
    /// Text put in each published version's description, after the generation and git revision the
    /// operator writes there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub version_description: Option<String>,
    /// Published versions to keep (default 10). Older ones are deleted, oldest first, except any version
    /// an alias routes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub retain_versions: Option<u32>,
    /// Named aliases, each routing to a version (latest or pinned), optionally by a progressive rollout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub aliases: Vec<AliasSpec>,
    /// Delete (default) or Retain the AWS resources when the object is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// The AwsIdentity (account, region, credentials) to reconcile with; it must allow this namespace.
    /// Default: the namespace's default identity, else the cluster default, else the operator's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_ref: Option<IdentityRef>,
    /// Enabled (default): keep a summary of the newest executions in `status.executions`, read once per
    /// resync. Disabled: make no execution reads for this machine. Express machines never have one (Step
    /// Functions does not list their executions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub execution_summary: Option<ExecutionSummaryMode>,
}

impl StateMachineSpec {
    /// The workflow type, STANDARD when unset.
    pub fn workflow_type(&self) -> WorkflowType {
        self.type_.unwrap_or_default()
    }

    /// The deletion policy, Delete when unset.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    /// Whether versions are published: `publish: true`, or any alias (an alias routes to versions).
    pub fn publishes_versions(&self) -> bool {
        self.publish.unwrap_or(false) || !self.aliases.is_empty()
    }

    /// Whether `status.executions` is wanted: not Disabled, and a Standard machine.
    pub fn wants_execution_summary(&self) -> bool {
        self.execution_summary.unwrap_or_default() == ExecutionSummaryMode::Enabled
            && self.workflow_type() == WorkflowType::Standard
    }

    /// How many published versions to keep.
    pub fn retained_versions(&self) -> u32 {
        self.retain_versions
            .unwrap_or(super::versions::DEFAULT_RETAINED_VERSIONS)
    }
}

/// Settings of the execution role the operator creates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    /// ARN of a managed policy set as the role's permissions boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    pub permissions_boundary: Option<String>,
    /// Statements added to the derived least-privilege policy, for calls the operator cannot infer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub extra_statements: Vec<PolicyStatement>,
}

/// Allow or Deny.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

/// One IAM policy statement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyStatement {
    /// Statement id (letters and digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = r"^[0-9A-Za-z]*$"))]
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// IAM actions, e.g. `s3:GetObject`.
    #[schemars(length(min = 1, max = 100))]
    pub actions: Vec<String>,
    /// Resource ARNs.
    #[schemars(length(min = 1, max = 100))]
    pub resources: Vec<String>,
    /// IAM condition block, e.g. `{StringEquals: {"aws:ResourceTag/team": payments}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub condition: Option<JsonObject>,
}

/// Execution history log level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    All,
    Error,
    Fatal,
    #[default]
    Off,
}

impl LogLevel {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::All => "ALL",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
            LogLevel::Off => "OFF",
        }
    }
}

/// Logging configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.logGroupArn) || !(has(self.retentionInDays) || has(self.kmsKeyId))", "message": "retentionInDays and kmsKeyId configure the log group the operator creates; leave them out with logGroupArn"},
]))]
pub struct LoggingSpec {
    /// ALL, ERROR, FATAL or OFF.
    #[schemars(length(max = 8))]
    pub level: LogLevel,
    /// Include execution input and output in the log events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_execution_data: Option<bool>,
    /// ARN of an existing CloudWatch Logs log group (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`). Absent
    /// with a level other than OFF: the operator creates and owns `/aws/vendedlogs/states/<namespace>/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    pub log_group_arn: Option<String>,
    /// Days the created log group keeps events (a value CloudWatch Logs accepts). Default: the operator's
    /// `--default-log-retention-days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = crate::naming::LOG_RETENTION_DAYS))]
    pub retention_in_days: Option<u32>,
    /// ARN of the KMS key that encrypts the created log group. Its key policy must allow the
    /// `logs.<region>.amazonaws.com` service principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 256))]
    pub kms_key_id: Option<String>,
}

impl LoggingSpec {
    /// Whether the operator creates the log group: logging on, and no log group given.
    pub fn wants_owned_log_group(&self) -> bool {
        self.level != LogLevel::Off && self.log_group_arn.is_none()
    }
}

/// X-Ray tracing configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TracingSpec {
    /// Send traces to AWS X-Ray.
    pub enabled: bool,
}

/// Encryption at rest with a customer managed KMS key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionSpec {
    /// KMS key ID, key ARN, alias name or alias ARN.
    #[schemars(length(min = 1, max = 2048))]
    pub kms_key_id: String,
    /// How long Step Functions reuses a data key, 60 to 900 seconds (AWS default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 900))]
    pub kms_data_key_reuse_period_seconds: Option<u32>,
}

/// Observed state of a StateMachine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineStatus {
    /// ARN of the state machine in AWS.
    #[serde(default)]
    pub state_machine_arn: Option<String>,
    /// ARN of the execution role (created or given).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// ARN of the latest published version, when `publish` is set.
    #[serde(default)]
    pub version_arn: Option<String>,
    /// The published versions that exist, newest first.
    #[serde(default)]
    pub versions: Vec<VersionStatus>,
    /// The aliases as they are in AWS, with their ARNs and routing.
    #[serde(default)]
    pub aliases: Vec<AliasStatus>,
    /// The progressive rollout of the alias with a Canary or Linear strategy. Written as null when there is
    /// none (the status is merge-patched).
    #[serde(default)]
    pub rollout: Option<RolloutStatus>,
    /// Names of the CloudWatch alarms the operator manages for this object.
    #[serde(default)]
    pub alarm_names: Vec<String>,
    /// SHA-256 of the canonical compiled definition last applied.
    #[serde(default)]
    pub definition_hash: Option<String>,
    /// Problems that do not block the reconcile (for example a widened IAM statement).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// For a bring-your-own role (`spec.roleArn`): what the definition needs that the role's policies do not
    /// allow. Absent for a role the operator creates.
    // Written as null rather than left out: the status is merge-patched, and an omitted field would keep its
    // old value.
    #[serde(default)]
    pub iam: Option<IamAudit>,
    /// The identity, account and region the object was last reconciled with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityStatus>,
    /// A summary of the newest executions (Standard machines with `executionSummary` not Disabled): running
    /// and recent failure counts, the last started and the last failed execution. Written as null when
    /// there is none.
    #[serde(default)]
    pub executions: Option<ExecutionsStatus>,
    /// When AWS was last brought in line with the spec (RFC 3339).
    #[serde(default)]
    pub last_sync_time: Option<String>,
    /// The `metadata.generation` last reconciled.
    #[serde(default)]
    pub observed_generation: Option<i64>,
    /// Ready and Synced conditions.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// Most missing permissions listed in `status.iam.missing`; `missingCount` has the total.
pub const MAX_MISSING_PERMISSIONS: usize = 20;

/// The audit of a bring-your-own role against what the definition needs. Only the role's `Allow` statements
/// (inline and attached managed policies) are compared, wildcards honoured; `Deny`, conditions, `NotAction`,
/// `NotResource` and permissions boundaries are not evaluated, so this is a hint, never a verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IamAudit {
    /// Whether the role's policies could be read and compared (false: see `message`).
    pub audited: bool,
    /// Needed permissions no `Allow` statement of the role covers (the first 20).
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub missing: Vec<MissingPermission>,
    /// How many needed permissions are missing in all.
    #[serde(default)]
    pub missing_count: u32,
    /// A summary, or why the role was not audited.
    #[serde(default)]
    #[schemars(length(max = 4096))]
    pub message: String,
}

/// One action on one resource that the definition needs and the role does not allow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MissingPermission {
    /// IAM action, e.g. `lambda:InvokeFunction`.
    #[schemars(length(max = 256))]
    pub action: String,
    /// Resource ARN (or pattern) the action is needed on.
    #[schemars(length(max = 2048))]
    pub resource: String,
    /// What needs it: the states (`state Submit`), or `logging`, `tracing`, `encryption`.
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub needed_by: Vec<String>,
}
