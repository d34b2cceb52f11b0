//! The desired and observed state of one StateMachine or Activity: plain data, shared by everything else
//! in the crate. The desired side is built by [`crate::desired`]; the observed side is filled in by the
//! AWS layer. Kept apart from the planning code so that both ends can depend on the shapes alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use sfn_alarms::AlarmSpec;
use sfn_api::naming;
use sfn_api::versions::{AliasSpec, RouteStatus};

use crate::compare::canonical_json;

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

    pub(crate) fn describe(&self) -> String {
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

/// The CloudWatch Logs log group the operator creates for a machine's execution logs (logging on, no
/// log group given). Tagged like the role; deleted with the machine unless `Retain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredLogGroup {
    /// See [`naming::owned_log_group_name`].
    pub name: String,
    pub retention_in_days: i32,
    /// KMS key ARN; `None` is CloudWatch Logs' own encryption.
    pub kms_key_id: Option<String>,
}

/// The live log group named by [`DesiredLogGroup::name`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedLogGroup {
    /// Without the trailing `:*` (the form the tagging APIs take).
    pub arn: String,
    pub name: String,
    /// `None`: events never expire.
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
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
    /// Tags the role gets besides the machine's (the cluster's required role tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
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
    /// The log group to create and keep in line; `logging` then points at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<DesiredLogGroup>,
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
    /// The version ARN last reported (`status.versionArn`); bookkeeping only, since the versions are
    /// always read back from AWS when publishing is on.
    pub known_version_arn: Option<String>,
    /// Published versions to keep (`spec.retainVersions`); older ones are deleted unless an alias routes
    /// to them.
    #[serde(default = "default_retained_versions")]
    pub retain_versions: u32,
    /// The aliases the machine must have, as declared (`spec.aliases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<AliasSpec>,
    /// What the rollout step remembers between reconciles: the rollout status last reported and the
    /// promote/abort/retry annotations. Inputs of the step, not a description of AWS resources, so never
    /// part of the spec hash.
    #[serde(skip)]
    pub rollout_memory: RolloutMemory,
    /// The name the managed role had before role names carried the region, when it differs from the
    /// role's name: a live machine still running with that role keeps it (see [`adopt_legacy_role`]).
    #[serde(skip)]
    pub legacy_role_name: Option<String>,
}

/// `desired` with the managed role named `legacy_role_name`, when the live machine (`live_role_arn`) runs
/// with that role: roles created before names carried the region keep working, whether or not the
/// object's status remembers them (an object restored from git has no status). `None`: nothing to adopt.
pub fn adopt_legacy_role(
    desired: &DesiredMachine,
    live_role_arn: Option<&str>,
) -> Option<DesiredMachine> {
    let legacy = desired.legacy_role_name.as_deref()?;
    let live = live_role_arn.and_then(naming::role_name_from_arn)?;
    if live != legacy {
        return None;
    }
    let DesiredRole::Managed(role) = &desired.role else {
        return None;
    };
    let mut adopted = desired.clone();
    adopted.legacy_role_name = None;
    adopted.role = DesiredRole::Managed(role.renamed(legacy));
    Some(adopted)
}

impl ManagedRole {
    /// This role under another name; its managed policies, named after the role, follow.
    pub fn renamed(&self, name: &str) -> ManagedRole {
        let mut role = self.clone();
        for (i, policy) in role.managed_policies.iter_mut().enumerate() {
            let new_name = naming::managed_policy_name(name, i);
            // The ARN ends with the name (`...:policy<path><name>`).
            if let Some(head) = policy.arn.strip_suffix(policy.name.as_str()) {
                policy.arn = format!("{head}{new_name}");
            }
            policy.name = new_name;
        }
        role.name = name.to_owned();
        role
    }
}

/// The object's side of a rollout's state (the other side is the alias routing in AWS).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolloutMemory {
    /// `status.rollout` as last written.
    pub previous: Option<sfn_api::versions::RolloutStatus>,
    /// The promote, abort and retry annotations.
    pub requests: crate::rollout::RolloutRequests,
}

fn default_retained_versions() -> u32 {
    sfn_api::versions::DEFAULT_RETAINED_VERSIONS
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
            // The description names the generation, which moves with every edit of the object; a
            // version is only published on a real change, so it says nothing about what is applied.
            if let Some(publish) = obj.get_mut("publish").and_then(Value::as_object_mut) {
                publish.remove("description");
            }
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
    pub(crate) fn resource_tags(&self) -> BTreeMap<String, String> {
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
    /// The published versions, newest first; only read when publishing is desired (or on deletion).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<ObservedVersion>,
    /// The machine's aliases; only read when publishing is desired (or on deletion).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<ObservedAlias>,
}

impl ObservedStateMachine {
    pub fn is_deleting(&self) -> bool {
        self.status == "DELETING"
    }

    /// The newest published version.
    pub fn latest_version(&self) -> Option<&ObservedVersion> {
        self.versions.first()
    }

    /// Whether the current revision already has a published version. Step Functions gives every
    /// version the revision id it was published from; where the revision ids are unknown (emulators),
    /// any version counts, since publishing always goes with the update that made the revision.
    pub fn current_revision_published(&self) -> bool {
        match self.latest_version() {
            None => false,
            Some(v) => match (&self.revision_id, &v.revision_id) {
                (Some(live), Some(published)) => live == published,
                _ => true,
            },
        }
    }
}

/// One published version of a state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedVersion {
    /// `<state machine ARN>:<number>`.
    pub arn: String,
    pub number: u32,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// Only read for the newest version.
    pub description: Option<String>,
    /// The revision the version was published from; only read for the newest version.
    pub revision_id: Option<String>,
}

/// One alias of a state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedAlias {
    pub name: String,
    /// `<state machine ARN>:<alias>`.
    pub arn: String,
    pub description: Option<String>,
    /// Where it routes: one or two versions with weights summing to 100.
    pub routing: Vec<RouteStatus>,
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
    /// [`crate::alarms_needing_tags`]), which keeps an unchanged reconcile cheap.
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
    /// The log group of [`DesiredMachine::log_group`]; only read when one is desired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<ObservedLogGroup>,
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
