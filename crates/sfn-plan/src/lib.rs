//! Desired versus observed AWS state, turned into ordered operations. Pure.
//!
//! The controller (and `sfn-operator apply`) describe what a StateMachine or Activity should look like in
//! AWS as a [`DesiredMachine`] / [`DesiredActivity`]; the AWS layer reads what is live into an
//! [`ObservedMachine`] / [`ObservedActivity`]; the functions here compare both and return the
//! [`Operation`]s that close the gap, in an order that is safe to interrupt at any point:
//! role and its policies first (the state machine needs an assumable role), then the state machine, then
//! the alarms (their dimensions name the state machine); deletion in reverse.
//!
//! Comparison is semantic so that reformatting never causes an update: JSON documents are compared in a
//! canonical form (object keys sorted), IAM policies additionally with statements as a set and
//! single-string `Action`/`Resource`/`Principal` values equal to one-element arrays, tags and alarm
//! actions as sets.
//!
//! Ownership: a resource carrying another owner's tags (or none) is never changed or deleted, unless the
//! object asked to adopt it, in which case it is tagged first and then managed.

pub mod desired;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use sfn_alarms::AlarmSpec;
use sfn_api::naming;

/// Written in an alarm dimension value (or anywhere in a desired alarm) where the state machine ARN
/// belongs before the state machine exists; the AWS layer substitutes the real ARN.
pub const STATE_MACHINE_ARN_PLACEHOLDER: &str = "${StateMachineArn}";

/// Tag on the state machine holding a hash of the desired state that was last applied. When the live
/// resources differ from the desired state although this hash matches, someone changed AWS behind our
/// back: that is drift, which the controller reports differently from a spec change.
pub const SPEC_HASH_TAG: &str = "sfn.operator.dev/spec-hash";

/// The Kubernetes object that owns AWS resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl Owner {
    /// The two ownership tags every created resource carries.
    pub fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                naming::OWNER_TAG.to_string(),
                naming::owner_value(&self.namespace, &self.name),
            ),
            (naming::OWNER_UID_TAG.to_string(), self.uid.clone()),
        ])
    }

    /// Whether `tags` mark a resource as ours (both the object path and its uid).
    pub fn owns(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(naming::OWNER_TAG).map(String::as_str)
            == Some(naming::owner_value(&self.namespace, &self.name).as_str())
            && tags.get(naming::OWNER_UID_TAG) == Some(&self.uid)
    }

    fn describe(&self) -> String {
        naming::owner_value(&self.namespace, &self.name)
    }
}

/// `STANDARD` or `EXPRESS`; immutable in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MachineType {
    #[default]
    Standard,
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }
}

/// CloudWatch Logs configuration of a state machine. Absent means logging off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingSpec {
    /// `ALL`, `ERROR`, `FATAL` or `OFF`.
    pub level: String,
    pub include_execution_data: bool,
    /// Log group ARN (AWS requires one for any level but `OFF`; it ends in `:*`).
    pub log_group_arn: Option<String>,
}

/// Customer managed KMS key of a state machine. Absent means the AWS owned key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSpec {
    pub kms_key_id: String,
    pub kms_data_key_reuse_period_seconds: Option<i32>,
}

/// The execution role of a state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum DesiredRole {
    /// A role the operator creates and keeps in line.
    Managed(ManagedRole),
    /// A role the user brings (`spec.roleArn`); the operator never touches it.
    External { arn: String },
}

/// A role the operator owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedRole {
    pub name: String,
    /// IAM path, normally [`naming::ROLE_PATH`].
    pub path: String,
    pub trust_policy: Value,
    /// Inline policies by name.
    pub policies: Vec<(String, Value)>,
    /// Customer managed policies attached instead of inline ones, when the derived policy exceeds IAM's
    /// 10,240-character quota on the sum of a role's inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<ManagedPolicySpec>,
    pub permissions_boundary: Option<String>,
}

/// A customer managed policy the operator creates for one role and attaches to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedPolicySpec {
    /// Policy name, derived from the role name (see [`naming::managed_policy_name`]).
    pub name: String,
    /// IAM path, normally [`naming::ROLE_PATH`].
    pub path: String,
    /// The ARN the policy has (or will have): known up front, because name, path and account are.
    pub arn: String,
    pub document: Value,
}

/// A live customer managed policy attached to the role under the operator's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedManagedPolicy {
    pub arn: String,
    /// The default version's document, URL-decoded and parsed.
    pub document: Value,
    /// Every version id (`v1`, `v2`, ...), the default one included.
    pub version_ids: Vec<String>,
    pub default_version_id: String,
}

impl ObservedManagedPolicy {
    /// Non-default versions, oldest first (IAM numbers versions increasingly).
    pub fn non_default_versions(&self) -> Vec<String> {
        let mut v: Vec<&String> = self
            .version_ids
            .iter()
            .filter(|id| **id != self.default_version_id)
            .collect();
        v.sort_by_key(|id| {
            (
                id.trim_start_matches('v')
                    .parse::<u64>()
                    .unwrap_or(u64::MAX),
                (*id).clone(),
            )
        });
        v.into_iter().cloned().collect()
    }
}

/// IAM keeps at most this many versions of a managed policy.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>
pub const MAX_POLICY_VERSIONS: usize = 5;

/// Publish a version whenever the state machine is created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishSpec {
    pub description: Option<String>,
}

/// What happens to AWS resources when the object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
}

/// Everything one StateMachine object wants in AWS, fully resolved (compiled ASL, derived IAM, alarms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredMachine {
    pub owner: Owner,
    /// AWS state machine name (see [`naming::state_machine_name`]).
    pub name: String,
    pub machine_type: MachineType,
    /// Compiled ASL.
    pub definition: Value,
    pub role: DesiredRole,
    pub logging: Option<LoggingSpec>,
    pub tracing: bool,
    pub encryption: Option<EncryptionSpec>,
    /// User tags; the ownership tags are added by the planner.
    pub tags: BTreeMap<String, String>,
    /// Alarm names must start with [`naming::alarm_name_prefix`] of `name`: stale alarms are found by it.
    pub alarms: Vec<AlarmSpec>,
    pub publish: Option<PublishSpec>,
    pub deletion_policy: DeletionPolicy,
    /// The object carries [`naming::ADOPT_ANNOTATION`].
    pub adopt: bool,
    /// A change of type or name may delete and re-create the state machine.
    pub allow_replace: bool,
    /// The state machine ARN this object was last reconciled to (`status.stateMachineArn`); when its name
    /// differs from `name`, the AWS name changed.
    pub previous_arn: Option<String>,
    /// The version ARN last reported (`status.versionArn`). With publishing on and this unknown, the AWS
    /// layer looks the newest version up, and one is published if there is none.
    pub known_version_arn: Option<String>,
}

impl DesiredMachine {
    /// A short hash of everything that is desired, stored in [`SPEC_HASH_TAG`].
    pub fn spec_hash(&self) -> String {
        let mut hashed = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(obj) = hashed.as_object_mut() {
            // Bookkeeping that does not describe AWS resources.
            obj.remove("previousArn");
            obj.remove("knownVersionArn");
            obj.remove("adopt");
            obj.remove("allowReplace");
            obj.remove("deletionPolicy");
        }
        let canonical = canonical_json(&hashed);
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        hex::encode(&digest[..8])
    }

    /// Every tag the state machine must carry: user tags, ownership and the spec hash.
    pub fn full_tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.extend(self.owner.tags());
        tags.insert(SPEC_HASH_TAG.to_string(), self.spec_hash());
        tags
    }

    /// Every tag the managed role and the alarms carry.
    fn resource_tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.extend(self.owner.tags());
        tags
    }
}

/// The live state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedStateMachine {
    pub arn: String,
    pub name: String,
    pub machine_type: MachineType,
    /// The definition exactly as AWS returns it.
    pub definition: String,
    pub role_arn: String,
    /// `ACTIVE` or `DELETING`.
    pub status: String,
    pub logging: Option<LoggingSpec>,
    pub tracing: bool,
    pub encryption: Option<EncryptionSpec>,
    /// Absent on emulators that do not model revisions.
    pub revision_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The newest published version; only read when publishing is desired.
    pub latest_version_arn: Option<String>,
}

impl ObservedStateMachine {
    pub fn is_deleting(&self) -> bool {
        self.status == "DELETING"
    }
}

/// The live execution role, its documents URL-decoded and parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedRole {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub trust_policy: Value,
    pub policies: BTreeMap<String, Value>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Managed policies attached to the role.
    pub attached_policy_arns: Vec<String>,
    /// The attached policies under the operator's path named after this role, with their documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<ObservedManagedPolicy>,
}

/// A live alarm under the machine's alarm name prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedAlarm {
    pub arn: String,
    pub spec: AlarmSpec,
    /// `None` when not read: the AWS layer reads tags only of alarms that must change (see
    /// [`alarms_needing_tags`]), which keeps an unchanged reconcile cheap.
    pub tags: Option<BTreeMap<String, String>>,
}

/// Everything live that belongs (or would belong) to one StateMachine object. Missing resources are `None`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedMachine {
    pub state_machine: Option<ObservedStateMachine>,
    pub role: Option<ObservedRole>,
    pub alarms: Vec<ObservedAlarm>,
    /// The state machine at [`DesiredMachine::previous_arn`] when that names another machine (rename).
    pub previous_state_machine: Option<ObservedStateMachine>,
}

/// An Activity object's wish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredActivity {
    pub owner: Owner,
    /// AWS name (see [`naming::activity_name`]).
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub deletion_policy: DeletionPolicy,
    pub adopt: bool,
}

impl DesiredActivity {
    pub fn full_tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.extend(self.owner.tags());
        tags
    }
}

/// A live activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedActivity {
    pub arn: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

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
        }
    }
}

fn keys_of(tags: &BTreeMap<String, String>) -> String {
    tags.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// Why a plan cannot be made. Both variants are terminal: retrying does not help until the spec (or the
/// live resource) changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{kind} {name} exists in AWS but is not owned by {owner} ({found}); add the annotation {annotation}: \"true\" to adopt it",
        annotation = naming::ADOPT_ANNOTATION
    )]
    NotOwned {
        kind: &'static str,
        name: String,
        owner: String,
        /// Who owns it, as far as the tags say.
        found: String,
    },
    /// The desired state itself is unusable (a bug in whoever built it, not in AWS).
    #[error("{object}: {reason}")]
    InvalidDesired { object: String, reason: String },
    #[error(
        "{object}: {field} cannot change in place ({from} -> {to}); allow replacement to delete and re-create the state machine"
    )]
    ImmutableChange {
        object: String,
        field: &'static str,
        from: String,
        to: String,
    },
}

impl PlanError {
    /// A short reason for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PlanError::NotOwned { .. } => "NotOwned",
            PlanError::ImmutableChange { .. } => "ImmutableChange",
            PlanError::InvalidDesired { .. } => "InvalidSpec",
        }
    }
}

fn ownership_found(tags: &BTreeMap<String, String>) -> String {
    match (tags.get(naming::OWNER_TAG), tags.get(naming::OWNER_UID_TAG)) {
        (None, _) => "no owner tag".to_string(),
        (Some(o), Some(uid)) => format!("owned by {o} uid {uid}"),
        (Some(o), None) => format!("owned by {o}"),
    }
}

/// What to do about one existing resource's ownership.
enum Ownership {
    Ours,
    /// Not ours, but the object adopts it: tag it first.
    Adopt,
}

fn check_owner(
    owner: &Owner,
    adopt: bool,
    kind: &'static str,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Ownership, PlanError> {
    if owner.owns(tags) {
        Ok(Ownership::Ours)
    } else if adopt {
        Ok(Ownership::Adopt)
    } else {
        Err(PlanError::NotOwned {
            kind,
            name: name.to_string(),
            owner: owner.describe(),
            found: ownership_found(tags),
        })
    }
}

/// Tags to set and keys to remove so that `live` equals `want`. Keys in the `aws:` namespace are AWS's own
/// and cannot be changed.
pub fn diff_tags(
    live: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = want
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !want.contains_key(*k) && !k.starts_with("aws:"))
        .cloned()
        .collect();
    (set, remove)
}

/// Recursively sorts object keys, so two documents that differ only in key order or whitespace compare
/// equal.
pub fn canonical_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical_json(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_json).collect()),
        other => other.clone(),
    }
}

/// The canonical form of an IAM policy document: keys sorted; `Statement` a set (sorted, deduplicated,
/// a single object equal to a one-element list); the values of `Action`, `NotAction`, `Resource`,
/// `NotResource`, each `Principal` kind and each condition operand sets too (a single string equals a
/// one-element list, as IAM treats them).
pub fn canonical_policy(doc: &Value) -> Value {
    let mut doc = canonical_json(doc);
    if let Some(obj) = doc.as_object_mut()
        && let Some(statements) = obj.get_mut("Statement")
    {
        let list = match statements.take() {
            Value::Array(items) => items,
            single => vec![single],
        };
        let mut canon: Vec<Value> = list.into_iter().map(canonical_statement).collect();
        canon.sort_by_key(|s| s.to_string());
        canon.dedup();
        *statements = Value::Array(canon);
    }
    doc
}

fn canonical_statement(mut statement: Value) -> Value {
    if let Some(obj) = statement.as_object_mut() {
        for key in ["Action", "NotAction", "Resource", "NotResource"] {
            if let Some(v) = obj.get_mut(key) {
                *v = string_set(v.take());
            }
        }
        for key in ["Principal", "NotPrincipal"] {
            if let Some(Value::Object(kinds)) = obj.get_mut(key) {
                for v in kinds.values_mut() {
                    *v = string_set(v.take());
                }
            }
        }
        if let Some(Value::Object(operators)) = obj.get_mut("Condition") {
            for keys in operators.values_mut() {
                if let Value::Object(keys) = keys {
                    for v in keys.values_mut() {
                        *v = string_set(v.take());
                    }
                }
            }
        }
    }
    statement
}

/// A string or a list of scalars as a sorted, deduplicated list of strings (booleans and numbers in IAM
/// conditions are compared as their text, as IAM does).
fn string_set(v: Value) -> Value {
    let items = match v {
        Value::Array(items) => items,
        single => vec![single],
    };
    let set: BTreeSet<String> = items
        .into_iter()
        .map(|i| match i {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    Value::Array(set.into_iter().map(Value::String).collect())
}

/// Whether two IAM policy documents grant the same.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    canonical_policy(a) == canonical_policy(b)
}

/// Whether a live definition string means the same ASL as the desired document.
pub fn same_definition(live: &str, desired: &Value) -> bool {
    match serde_json::from_str::<Value>(live) {
        Ok(live) => canonical_json(&live) == canonical_json(desired),
        Err(_) => false,
    }
}

fn logging_equal(live: Option<&LoggingSpec>, want: Option<&LoggingSpec>) -> bool {
    fn norm(l: Option<&LoggingSpec>) -> Option<&LoggingSpec> {
        l.filter(|l| !(l.level == "OFF" && l.log_group_arn.is_none() && !l.include_execution_data))
    }
    norm(live) == norm(want)
}

/// Substitutes [`STATE_MACHINE_ARN_PLACEHOLDER`] in an alarm.
pub fn resolve_alarm(alarm: &AlarmSpec, state_machine_arn: &str) -> AlarmSpec {
    let sub = |s: &String| s.replace(STATE_MACHINE_ARN_PLACEHOLDER, state_machine_arn);
    let mut out = alarm.clone();
    out.dimensions = alarm
        .dimensions
        .iter()
        .map(|(k, v)| (k.clone(), sub(v)))
        .collect();
    out.description = alarm.description.as_ref().map(sub);
    out
}

/// Whether a live alarm already matches the desired one: dimensions and actions compared as sets, an
/// unset `DatapointsToAlarm` equal to `EvaluationPeriods`, as CloudWatch evaluates it.
pub fn same_alarm(live: &AlarmSpec, want: &AlarmSpec) -> bool {
    fn set<T: Ord + Clone>(v: &[T]) -> BTreeSet<T> {
        v.iter().cloned().collect()
    }
    let dta = |a: &AlarmSpec| a.datapoints_to_alarm.unwrap_or(a.evaluation_periods);
    live.name == want.name
        && live.description.as_deref().unwrap_or("") == want.description.as_deref().unwrap_or("")
        && live.namespace == want.namespace
        && live.metric_name == want.metric_name
        && set(&live.dimensions) == set(&want.dimensions)
        && live.statistic == want.statistic
        && live.period == want.period
        && live.evaluation_periods == want.evaluation_periods
        && dta(live) == dta(want)
        && live.threshold == want.threshold
        && live.comparison_operator == want.comparison_operator
        && live.treat_missing_data == want.treat_missing_data
        && set(&live.alarm_actions) == set(&want.alarm_actions)
        && set(&live.ok_actions) == set(&want.ok_actions)
        && set(&live.insufficient_data_actions) == set(&want.insufficient_data_actions)
}

fn desired_alarms(desired: &DesiredMachine, observed: &ObservedMachine) -> Vec<AlarmSpec> {
    match observed.state_machine.as_ref().filter(|m| !m.is_deleting()) {
        Some(live) => desired
            .alarms
            .iter()
            .map(|a| resolve_alarm(a, &live.arn))
            .collect(),
        // Not live (yet, or being replaced): its ARN is fixed by the name, so a live alarm that already
        // names it tells the ARN and an unchanged alarm is not rewritten.
        None => {
            let suffix = format!(":stateMachine:{}", desired.name);
            let known = observed
                .alarms
                .iter()
                .flat_map(|a| a.spec.dimensions.iter())
                .map(|(_, v)| v)
                .find(|v| v.starts_with("arn:") && v.ends_with(&suffix));
            match known {
                Some(arn) => desired
                    .alarms
                    .iter()
                    .map(|a| resolve_alarm(a, arn))
                    .collect(),
                None => desired.alarms.clone(),
            }
        }
    }
}

/// Names of live alarms whose tags the planner needs: those that must change or go (to check that they
/// are ours), and all of them when adopting (to tag them).
pub fn alarms_needing_tags(desired: &DesiredMachine, observed: &ObservedMachine) -> Vec<String> {
    let want = desired_alarms(desired, observed);
    observed
        .alarms
        .iter()
        .filter(|live| live.tags.is_none())
        .filter(|live| {
            desired.adopt
                || match want.iter().find(|w| w.name == live.spec.name) {
                    Some(w) => !same_alarm(&live.spec, w),
                    None => true,
                }
        })
        .map(|live| live.spec.name.clone())
        .collect()
}

/// The operations that make AWS match `desired`, in a safe order. Empty when everything matches.
pub fn plan_machine(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
) -> Result<Vec<Operation>, PlanError> {
    let object = format!("StateMachine {}", desired.owner.describe());
    let mut ops = Vec::new();

    // Alarms are found again by their name prefix; one outside it would be re-created on every reconcile
    // and never cleaned up.
    let prefix = naming::alarm_name_prefix(&desired.name);
    if let Some(alarm) = desired.alarms.iter().find(|a| !a.name.starts_with(&prefix)) {
        return Err(PlanError::InvalidDesired {
            object,
            reason: format!("alarm name {:?} does not start with {prefix:?}", alarm.name),
        });
    }

    // A renamed machine: the new one is built below; the old one goes at the end, once the new one exists.
    let mut retire_previous = None;
    if let Some(previous) = &observed.previous_state_machine
        && previous.name != desired.name
        && !previous.is_deleting()
        && desired.owner.owns(&previous.tags)
    {
        if !desired.allow_replace {
            return Err(PlanError::ImmutableChange {
                object,
                field: "name",
                from: previous.name.clone(),
                to: desired.name.clone(),
            });
        }
        retire_previous = Some(previous.arn.clone());
    }

    // 1. The role.
    let role_ref = match &desired.role {
        DesiredRole::External { arn } => RoleRef::Arn(arn.clone()),
        DesiredRole::Managed(role) => {
            plan_role(desired, role, observed.role.as_ref(), &mut ops)?;
            RoleRef::Managed(role.name.clone())
        }
    };

    // 2. The state machine.
    let tags = desired.full_tags();
    let mut final_tags = Vec::new();
    match &observed.state_machine {
        Some(live) if live.is_deleting() => {
            ops.push(Operation::AwaitDeletion {
                arn: live.arn.clone(),
            });
            return Ok(ops);
        }
        None => ops.push(Operation::CreateStateMachine {
            name: desired.name.clone(),
            machine_type: desired.machine_type,
            definition: desired.definition.clone(),
            role: role_ref,
            logging: desired.logging.clone(),
            tracing: desired.tracing,
            encryption: desired.encryption.clone(),
            tags,
            publish: desired.publish.clone(),
        }),
        Some(live) => {
            let ownership = check_owner(
                &desired.owner,
                desired.adopt,
                "state machine",
                &live.name,
                &live.tags,
            )?;
            if live.machine_type != desired.machine_type {
                if !desired.allow_replace {
                    return Err(PlanError::ImmutableChange {
                        object,
                        field: "type",
                        from: live.machine_type.as_str().to_string(),
                        to: desired.machine_type.as_str().to_string(),
                    });
                }
                // Same name, so the new machine can only be created once the old one is gone.
                ops.push(Operation::DeleteStateMachine {
                    arn: live.arn.clone(),
                });
                ops.push(Operation::AwaitDeletion {
                    arn: live.arn.clone(),
                });
                return Ok(ops);
            }
            let (mut set, remove) = diff_tags(&live.tags, &tags);
            // Ownership first: an interrupted adoption still leaves the machine marked as ours. The
            // spec hash waits for the end like any other change.
            if matches!(ownership, Ownership::Adopt) {
                let owner_tags: BTreeMap<String, String> = desired
                    .owner
                    .tags()
                    .into_iter()
                    .filter(|(k, _)| set.contains_key(k))
                    .collect();
                for k in owner_tags.keys() {
                    set.remove(k);
                }
                if !owner_tags.is_empty() {
                    ops.push(Operation::TagResource {
                        arn: live.arn.clone(),
                        tags: owner_tags,
                    });
                }
            }
            let update = state_machine_update(desired, live, &role_ref, observed.role.as_ref());
            let changed = update != StateMachineUpdate::default();
            if changed {
                ops.push(Operation::UpdateStateMachine {
                    arn: live.arn.clone(),
                    update,
                    publish: desired.publish.clone(),
                });
            } else if let Some(publish) = &desired.publish
                && live.latest_version_arn.is_none()
                && desired.known_version_arn.is_none()
            {
                ops.push(Operation::PublishStateMachineVersion {
                    arn: live.arn.clone(),
                    revision_id: live.revision_id.clone(),
                    description: publish.description.clone(),
                });
            }
            // The tags, with the spec hash, go last of all (after the alarms): a reconcile interrupted
            // anywhere before leaves the old hash, so the next one redoes the rest instead of taking it
            // as done.
            if !set.is_empty() {
                final_tags.push(Operation::TagResource {
                    arn: live.arn.clone(),
                    tags: set,
                });
            }
            if !remove.is_empty() {
                final_tags.push(Operation::UntagResource {
                    arn: live.arn.clone(),
                    keys: remove,
                });
            }
        }
    }

    // 3. The alarms.
    plan_alarms(desired, observed, &mut ops)?;

    if let Some(arn) = retire_previous {
        ops.push(Operation::DeleteStateMachine { arn });
    }
    ops.extend(final_tags);
    Ok(ops)
}

fn plan_role(
    desired: &DesiredMachine,
    role: &ManagedRole,
    live: Option<&ObservedRole>,
    ops: &mut Vec<Operation>,
) -> Result<(), PlanError> {
    let tags = desired.resource_tags();
    let Some(live) = live else {
        ops.push(Operation::CreateRole {
            name: role.name.clone(),
            path: role.path.clone(),
            trust_policy: role.trust_policy.clone(),
            permissions_boundary: role.permissions_boundary.clone(),
            tags: tags.clone(),
        });
        for (name, document) in &role.policies {
            ops.push(Operation::PutRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
                document: document.clone(),
            });
        }
        for policy in &role.managed_policies {
            ops.push(Operation::CreatePolicy {
                name: policy.name.clone(),
                path: policy.path.clone(),
                document: policy.document.clone(),
                tags: tags.clone(),
            });
            ops.push(Operation::AttachRolePolicy {
                role_name: role.name.clone(),
                policy_arn: policy.arn.clone(),
            });
        }
        return Ok(());
    };
    check_owner(
        &desired.owner,
        desired.adopt,
        "role",
        &live.name,
        &live.tags,
    )?;
    let (set, remove) = diff_tags(&live.tags, &tags);
    if !set.is_empty() {
        ops.push(Operation::TagRole {
            role_name: role.name.clone(),
            tags: set,
        });
    }
    if !same_policy(&live.trust_policy, &role.trust_policy) {
        ops.push(Operation::UpdateAssumeRolePolicy {
            role_name: role.name.clone(),
            trust_policy: role.trust_policy.clone(),
        });
    }
    match (&live.permissions_boundary, &role.permissions_boundary) {
        (a, Some(b)) if a.as_ref() != Some(b) => ops.push(Operation::PutRolePermissionsBoundary {
            role_name: role.name.clone(),
            boundary_arn: b.clone(),
        }),
        (Some(_), None) => ops.push(Operation::DeleteRolePermissionsBoundary {
            role_name: role.name.clone(),
        }),
        _ => {}
    }
    for (name, document) in &role.policies {
        if live
            .policies
            .get(name)
            .is_none_or(|doc| !same_policy(doc, document))
        {
            ops.push(Operation::PutRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
                document: document.clone(),
            });
        }
    }
    // Managed policies are granted before inline ones are taken away (and the other way round), so that
    // switching between the two never leaves the role without a permission it needs.
    for policy in &role.managed_policies {
        match live.managed_policies.iter().find(|p| p.arn == policy.arn) {
            None => ops.push(Operation::CreatePolicy {
                name: policy.name.clone(),
                path: policy.path.clone(),
                document: policy.document.clone(),
                tags: tags.clone(),
            }),
            Some(observed) if !same_policy(&observed.document, &policy.document) => {
                if observed.version_ids.len() >= MAX_POLICY_VERSIONS
                    && let Some(oldest) = observed.non_default_versions().into_iter().next()
                {
                    ops.push(Operation::DeletePolicyVersion {
                        policy_arn: policy.arn.clone(),
                        version_id: oldest,
                    });
                }
                ops.push(Operation::CreatePolicyVersion {
                    policy_arn: policy.arn.clone(),
                    document: policy.document.clone(),
                });
            }
            Some(_) => {}
        }
        if !live.attached_policy_arns.contains(&policy.arn) {
            ops.push(Operation::AttachRolePolicy {
                role_name: role.name.clone(),
                policy_arn: policy.arn.clone(),
            });
        }
    }
    // Extra inline policies (added out of band) widen the role: they go.
    for name in live.policies.keys() {
        if !role.policies.iter().any(|(n, _)| n == name) {
            ops.push(Operation::DeleteRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
            });
        }
    }
    // Our managed policies that are no longer wanted (back to inline, or fewer documents).
    for observed in &live.managed_policies {
        if !role.managed_policies.iter().any(|p| p.arn == observed.arn) {
            delete_managed_policy(&role.name, observed, live, ops);
        }
    }
    if !remove.is_empty() {
        ops.push(Operation::UntagRole {
            role_name: role.name.clone(),
            keys: remove,
        });
    }
    Ok(())
}

/// Detach, then non-default versions, then the policy: IAM refuses to delete a policy that is attached or
/// has other versions.
fn delete_managed_policy(
    role_name: &str,
    policy: &ObservedManagedPolicy,
    live: &ObservedRole,
    ops: &mut Vec<Operation>,
) {
    if live.attached_policy_arns.contains(&policy.arn) {
        ops.push(Operation::DetachRolePolicy {
            role_name: role_name.to_string(),
            policy_arn: policy.arn.clone(),
        });
    }
    for version_id in policy.non_default_versions() {
        ops.push(Operation::DeletePolicyVersion {
            policy_arn: policy.arn.clone(),
            version_id,
        });
    }
    ops.push(Operation::DeletePolicy {
        policy_arn: policy.arn.clone(),
    });
}

fn state_machine_update(
    desired: &DesiredMachine,
    live: &ObservedStateMachine,
    role_ref: &RoleRef,
    live_role: Option<&ObservedRole>,
) -> StateMachineUpdate {
    let mut update = StateMachineUpdate::default();
    if !same_definition(&live.definition, &desired.definition) {
        update.definition = Some(desired.definition.clone());
    }
    let role_matches = match role_ref {
        RoleRef::Arn(arn) => &live.role_arn == arn,
        // The managed role's ARN is only known when it is live; a role about to be created cannot match.
        RoleRef::Managed(_) => live_role.is_some_and(|r| r.arn == live.role_arn),
    };
    if !role_matches {
        update.role = Some(role_ref.clone());
    }
    if !logging_equal(live.logging.as_ref(), desired.logging.as_ref()) {
        update.logging = Some(desired.logging.clone());
    }
    if live.tracing != desired.tracing {
        update.tracing = Some(desired.tracing);
    }
    if live.encryption != desired.encryption {
        update.encryption = Some(desired.encryption.clone());
    }
    update
}

fn plan_alarms(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
    ops: &mut Vec<Operation>,
) -> Result<(), PlanError> {
    let tags = desired.resource_tags();
    let want = desired_alarms(desired, observed);
    for alarm in &want {
        match observed.alarms.iter().find(|l| l.spec.name == alarm.name) {
            None => ops.push(Operation::PutMetricAlarm {
                alarm: alarm.clone(),
                tags: tags.clone(),
            }),
            Some(live) => {
                let same = same_alarm(&live.spec, alarm);
                if same && !desired.adopt {
                    continue;
                }
                let live_tags = live.tags.clone().unwrap_or_default();
                let ownership = check_owner(
                    &desired.owner,
                    desired.adopt,
                    "alarm",
                    &alarm.name,
                    &live_tags,
                )?;
                if matches!(ownership, Ownership::Adopt) {
                    let (set, _) = diff_tags(&live_tags, &tags);
                    ops.push(Operation::TagAlarm {
                        alarm_arn: live.arn.clone(),
                        tags: set,
                    });
                }
                if !same {
                    ops.push(Operation::PutMetricAlarm {
                        alarm: alarm.clone(),
                        tags: tags.clone(),
                    });
                }
            }
        }
    }
    // Alarms under our prefix that are no longer wanted; others' alarms are left alone.
    let stale: Vec<String> = observed
        .alarms
        .iter()
        .filter(|l| !want.iter().any(|w| w.name == l.spec.name))
        .filter(|l| l.tags.as_ref().is_some_and(|t| desired.owner.owns(t)))
        .map(|l| l.spec.name.clone())
        .collect();
    if !stale.is_empty() {
        ops.push(Operation::DeleteAlarms { names: stale });
    }
    Ok(())
}

/// The operations that remove what `desired` owns: alarms, then the state machine, then the role.
/// `Retain` removes nothing. Resources that are not ours are left alone; a machine already `DELETING`
/// counts as gone.
pub fn plan_machine_deletion(
    desired: &DesiredMachine,
    observed: &ObservedMachine,
) -> Vec<Operation> {
    if desired.deletion_policy == DeletionPolicy::Retain {
        return Vec::new();
    }
    let owner = &desired.owner;
    let mut ops = Vec::new();
    let alarms: Vec<String> = observed
        .alarms
        .iter()
        .filter(|a| a.tags.as_ref().is_some_and(|t| owner.owns(t)))
        .map(|a| a.spec.name.clone())
        .collect();
    if !alarms.is_empty() {
        ops.push(Operation::DeleteAlarms { names: alarms });
    }
    for machine in [&observed.state_machine, &observed.previous_state_machine]
        .into_iter()
        .flatten()
    {
        if !machine.is_deleting() && owner.owns(&machine.tags) {
            ops.push(Operation::DeleteStateMachine {
                arn: machine.arn.clone(),
            });
        }
    }
    if let (DesiredRole::Managed(_), Some(role)) = (&desired.role, &observed.role)
        && owner.owns(&role.tags)
    {
        for name in role.policies.keys() {
            ops.push(Operation::DeleteRolePolicy {
                role_name: role.name.clone(),
                policy_name: name.clone(),
            });
        }
        for arn in &role.attached_policy_arns {
            if role.managed_policies.iter().any(|p| p.arn == *arn) {
                continue;
            }
            ops.push(Operation::DetachRolePolicy {
                role_name: role.name.clone(),
                policy_arn: arn.clone(),
            });
        }
        // Ours are named after the role, which is ours: they go with it.
        for policy in &role.managed_policies {
            delete_managed_policy(&role.name, policy, role, &mut ops);
        }
        ops.push(Operation::DeleteRole {
            role_name: role.name.clone(),
        });
    }
    ops
}

/// The operations that make the activity exist, tagged as ours.
pub fn plan_activity(
    desired: &DesiredActivity,
    observed: Option<&ObservedActivity>,
) -> Result<Vec<Operation>, PlanError> {
    let tags = desired.full_tags();
    let Some(live) = observed else {
        return Ok(vec![Operation::CreateActivity {
            name: desired.name.clone(),
            tags,
        }]);
    };
    check_owner(
        &desired.owner,
        desired.adopt,
        "activity",
        &live.name,
        &live.tags,
    )?;
    let (set, remove) = diff_tags(&live.tags, &tags);
    let mut ops = Vec::new();
    if !set.is_empty() {
        ops.push(Operation::TagResource {
            arn: live.arn.clone(),
            tags: set,
        });
    }
    if !remove.is_empty() {
        ops.push(Operation::UntagResource {
            arn: live.arn.clone(),
            keys: remove,
        });
    }
    Ok(ops)
}

/// Deleting an activity: only ours, never with `Retain`.
pub fn plan_activity_deletion(
    desired: &DesiredActivity,
    observed: Option<&ObservedActivity>,
) -> Vec<Operation> {
    match observed {
        Some(live)
            if desired.deletion_policy == DeletionPolicy::Delete
                && desired.owner.owns(&live.tags) =>
        {
            vec![Operation::DeleteActivity {
                arn: live.arn.clone(),
            }]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
