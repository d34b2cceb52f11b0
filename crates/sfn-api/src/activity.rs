//! The `Activity` kind: a Step Functions activity, a task that a worker outside AWS polls for.

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::identity::{IdentityRef, IdentityStatus};
use super::state_machine::DeletionPolicy;
use super::status::Condition;

/// Desired state of a Step Functions activity.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    crates(kube_core = "::kube_core"),
    group = "sfn.operator.dev",
    version = "v1alpha1",
    kind = "Activity",
    plural = "activities",
    singular = "activity",
    namespaced,
    status = "ActivityStatus",
    derive = "PartialEq",
    derive = "Default",
    shortname = "sfnact",
    category = "sfn",
    doc = "A Step Functions activity: work done by a worker that polls Step Functions for tasks.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.activityArn"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivitySpec {
    /// AWS name of the activity. Default: `<namespace>-<name>`, shortened with a hash suffix past 80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 80), regex(pattern = r"^[0-9A-Za-z_-]+$"))]
    pub name: Option<String>,
    /// Tags of the activity (the operator adds its ownership tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 45))]
    pub tags: BTreeMap<String, String>,
    /// Delete (default) or Retain the activity in AWS when the object is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// The AwsIdentity (account, region, credentials) to reconcile with; it must allow this namespace.
    /// Default: the namespace's default identity, else the cluster default, else the operator's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_ref: Option<IdentityRef>,
}

impl ActivitySpec {
    /// The deletion policy, Delete when unset.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }
}

/// Observed state of an Activity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityStatus {
    /// ARN of the activity in AWS.
    #[serde(default)]
    pub activity_arn: Option<String>,
    /// The identity, account and region the object was last reconciled with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityStatus>,
    /// The `metadata.generation` last reconciled.
    #[serde(default)]
    pub observed_generation: Option<i64>,
    /// Ready condition.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}
