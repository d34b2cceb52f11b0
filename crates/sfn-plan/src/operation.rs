//! The output of planning: one [`Operation`] per write call, and the pieces operations carry. The AWS
//! layer executes them in order; `plan --live`, events and logs show their [`Operation::summary`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use sfn_alarms::AlarmSpec;
use sfn_api::versions::RouteStatus;

use crate::model::{EncryptionSpec, LoggingSpec, MachineType, PublishSpec};

/// How the state machine names its role in an operation: the managed role's ARN is only known once it
/// exists, so the AWS layer resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "value")]
pub enum RoleRef {
    Arn(String),
    /// The managed role of this name (created earlier in the same plan, or live).
    Managed(String),
}

/// A partial update of a state machine; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineUpdate {
    pub definition: Option<Value>,
    pub role: Option<RoleRef>,
    /// `Some(None)` turns logging off.
    pub logging: Option<Option<LoggingSpec>>,
    pub tracing: Option<bool>,
    /// `Some(None)` goes back to the AWS owned key.
    pub encryption: Option<Option<EncryptionSpec>>,
}

/// One write call (or, for `AwaitDeletion`, one reason to stop and come back later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "op")]
pub enum Operation {
    CreateRole {
        name: String,
        path: String,
        trust_policy: Value,
        permissions_boundary: Option<String>,
        tags: BTreeMap<String, String>,
    },
    UpdateAssumeRolePolicy {
        role_name: String,
        trust_policy: Value,
    },
    PutRolePermissionsBoundary {
        role_name: String,
        boundary_arn: String,
    },
    DeleteRolePermissionsBoundary {
        role_name: String,
    },
    PutRolePolicy {
        role_name: String,
        policy_name: String,
        document: Value,
    },
    DeleteRolePolicy {
        role_name: String,
        policy_name: String,
    },
    DetachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    AttachRolePolicy {
        role_name: String,
        policy_arn: String,
    },
    /// Creates a customer managed policy (ARN known in advance from name and path).
    CreatePolicy {
        name: String,
        path: String,
        document: Value,
        tags: BTreeMap<String, String>,
    },
    /// A new default version of a managed policy.
    CreatePolicyVersion {
        policy_arn: String,
        document: Value,
    },
    DeletePolicyVersion {
        policy_arn: String,
        version_id: String,
    },
    DeletePolicy {
        policy_arn: String,
    },
    TagRole {
        role_name: String,
        tags: BTreeMap<String, String>,
    },
    UntagRole {
        role_name: String,
        keys: Vec<String>,
    },
    DeleteRole {
        role_name: String,
    },
    CreateStateMachine {
        name: String,
        machine_type: MachineType,
        definition: Value,
        role: RoleRef,
        logging: Option<LoggingSpec>,
        tracing: bool,
        encryption: Option<EncryptionSpec>,
        tags: BTreeMap<String, String>,
        publish: Option<PublishSpec>,
    },
    UpdateStateMachine {
        arn: String,
        update: StateMachineUpdate,
        publish: Option<PublishSpec>,
    },
    PublishStateMachineVersion {
        arn: String,
        revision_id: Option<String>,
        description: Option<String>,
    },
    /// Deletes one published version (nothing routes to it).
    DeleteStateMachineVersion {
        version_arn: String,
    },
    CreateStateMachineAlias {
        machine_arn: String,
        name: String,
        description: Option<String>,
        /// Version numbers of `machine_arn` and their weights.
        routing: Vec<RouteStatus>,
    },
    UpdateStateMachineAlias {
        alias_arn: String,
        machine_arn: String,
        description: Option<String>,
        routing: Vec<RouteStatus>,
    },
    DeleteStateMachineAlias {
        alias_arn: String,
    },
    /// Tags a state machine or an activity (Step Functions `TagResource`).
    TagResource {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    UntagResource {
        arn: String,
        keys: Vec<String>,
    },
    DeleteStateMachine {
        arn: String,
    },
    /// A state machine is being deleted (`DELETING`); nothing that follows can be done before it is gone.
    AwaitDeletion {
        arn: String,
    },
    PutMetricAlarm {
        alarm: AlarmSpec,
        /// Only applied when the alarm is created (`PutMetricAlarm` ignores tags on update).
        tags: BTreeMap<String, String>,
    },
    /// Tags an existing alarm (CloudWatch `TagResource`), when adopting it.
    TagAlarm {
        alarm_arn: String,
        tags: BTreeMap<String, String>,
    },
    DeleteAlarms {
        names: Vec<String>,
    },
    CreateActivity {
        name: String,
        tags: BTreeMap<String, String>,
    },
    CreateLogGroup {
        name: String,
        kms_key_id: Option<String>,
        tags: BTreeMap<String, String>,
    },
    PutRetentionPolicy {
        name: String,
        retention_in_days: i32,
    },
    AssociateKmsKey {
        name: String,
        kms_key_id: String,
    },
    DisassociateKmsKey {
        name: String,
    },
    /// CloudWatch Logs `TagResource` (the ARN without `:*`).
    TagLogGroup {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    UntagLogGroup {
        arn: String,
        keys: Vec<String>,
    },
    DeleteLogGroup {
        name: String,
    },
    DeleteActivity {
        arn: String,
    },
}

impl Operation {
    /// Whether this is a call that changes AWS (everything but [`Operation::AwaitDeletion`]).
    pub fn is_write(&self) -> bool {
        !matches!(self, Operation::AwaitDeletion { .. })
    }

    /// One line for logs, events and `plan --live`.
    pub fn summary(&self) -> String {
        match self {
            Operation::CreateRole { name, path, .. } => format!("create role {path}{name}"),
            Operation::UpdateAssumeRolePolicy { role_name, .. } => {
                format!("update trust policy of role {role_name}")
            }
            Operation::PutRolePermissionsBoundary {
                role_name,
                boundary_arn,
            } => format!("set permissions boundary of role {role_name} to {boundary_arn}"),
            Operation::DeleteRolePermissionsBoundary { role_name } => {
                format!("remove permissions boundary of role {role_name}")
            }
            Operation::PutRolePolicy {
                role_name,
                policy_name,
                ..
            } => format!("put policy {policy_name} on role {role_name}"),
            Operation::DeleteRolePolicy {
                role_name,
                policy_name,
            } => format!("delete policy {policy_name} from role {role_name}"),
            Operation::DetachRolePolicy {
                role_name,
                policy_arn,
            } => format!("detach {policy_arn} from role {role_name}"),
            Operation::AttachRolePolicy {
                role_name,
                policy_arn,
            } => format!("attach {policy_arn} to role {role_name}"),
            Operation::CreatePolicy { name, path, .. } => {
                format!("create managed policy {path}{name}")
            }
            Operation::CreatePolicyVersion { policy_arn, .. } => {
                format!("create a new default version of {policy_arn}")
            }
            Operation::DeletePolicyVersion {
                policy_arn,
                version_id,
            } => format!("delete version {version_id} of {policy_arn}"),
            Operation::DeletePolicy { policy_arn } => format!("delete managed policy {policy_arn}"),
            Operation::TagRole { role_name, tags } => {
                format!("tag role {role_name} ({})", keys_of(tags))
            }
            Operation::UntagRole { role_name, keys } => {
                format!("untag role {role_name} ({})", keys.join(", "))
            }
            Operation::DeleteRole { role_name } => format!("delete role {role_name}"),
            Operation::CreateStateMachine {
                name, machine_type, ..
            } => format!("create {} state machine {name}", machine_type.as_str()),
            Operation::UpdateStateMachine { arn, update, .. } => {
                let mut fields = Vec::new();
                if update.definition.is_some() {
                    fields.push("definition");
                }
                if update.role.is_some() {
                    fields.push("role");
                }
                if update.logging.is_some() {
                    fields.push("logging");
                }
                if update.tracing.is_some() {
                    fields.push("tracing");
                }
                if update.encryption.is_some() {
                    fields.push("encryption");
                }
                format!("update state machine {arn} ({})", fields.join(", "))
            }
            Operation::PublishStateMachineVersion { arn, .. } => {
                format!("publish a version of {arn}")
            }
            Operation::DeleteStateMachineVersion { version_arn } => {
                format!("delete version {version_arn}")
            }
            Operation::CreateStateMachineAlias {
                machine_arn,
                name,
                routing,
                ..
            } => format!("create alias {machine_arn}:{name} ({})", routes_of(routing)),
            Operation::UpdateStateMachineAlias {
                alias_arn, routing, ..
            } => format!("update alias {alias_arn} ({})", routes_of(routing)),
            Operation::DeleteStateMachineAlias { alias_arn } => {
                format!("delete alias {alias_arn}")
            }
            Operation::TagResource { arn, tags } => format!("tag {arn} ({})", keys_of(tags)),
            Operation::UntagResource { arn, keys } => {
                format!("untag {arn} ({})", keys.join(", "))
            }
            Operation::DeleteStateMachine { arn } => format!("delete state machine {arn}"),
            Operation::AwaitDeletion { arn } => format!("wait until {arn} is deleted"),
            Operation::PutMetricAlarm { alarm, .. } => format!("put alarm {}", alarm.name),
            Operation::TagAlarm { alarm_arn, .. } => format!("tag alarm {alarm_arn}"),
            Operation::DeleteAlarms { names } => format!("delete alarms {}", names.join(", ")),
            Operation::CreateActivity { name, .. } => format!("create activity {name}"),
            Operation::DeleteActivity { arn } => format!("delete activity {arn}"),
            Operation::CreateLogGroup { name, .. } => format!("create log group {name}"),
            Operation::PutRetentionPolicy {
                name,
                retention_in_days,
            } => format!("set retention of log group {name} to {retention_in_days} days"),
            Operation::AssociateKmsKey { name, kms_key_id } => {
                format!("encrypt log group {name} with {kms_key_id}")
            }
            Operation::DisassociateKmsKey { name } => {
                format!("remove the KMS key of log group {name}")
            }
            Operation::TagLogGroup { arn, tags } => {
                format!("tag log group {arn} ({})", keys_of(tags))
            }
            Operation::UntagLogGroup { arn, keys } => {
                format!("untag log group {arn} ({})", keys.join(", "))
            }
            Operation::DeleteLogGroup { name } => format!("delete log group {name}"),
        }
    }
}

fn routes_of(routing: &[RouteStatus]) -> String {
    routing
        .iter()
        .map(|r| format!("version {} {}%", r.version, r.weight))
        .collect::<Vec<_>>()
        .join(", ")
}

fn keys_of(tags: &BTreeMap<String, String>) -> String {
    tags.keys().cloned().collect::<Vec<_>>().join(", ")
}
