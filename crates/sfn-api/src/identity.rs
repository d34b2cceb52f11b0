//! The `AwsIdentity` kind: which AWS account and region the operator works in for a namespace, and how it
//! gets credentials there.
//!
//! The kind is cluster-scoped on purpose. Namespaced objects can only *name* an identity
//! (`spec.identityRef`); which namespaces may do so, and which identity a namespace gets when its objects
//! name none, is said by the identity itself. Only those who may write cluster-scoped objects (the
//! platform team) can therefore grant a namespace an identity, the same split Gateway API makes between a
//! Gateway's `allowedRoutes` and the routes that attach to it.
//!
//! Credentials always start from the operator pod's own (IRSA, EKS Pod Identity, or whatever the default
//! chain finds) and go through `roleChain`, one `sts:AssumeRole` per hop, so a cross-account set-up needs no
//! secret in the cluster.

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An AWS identity the operator may use for some namespaces: a region and a chain of roles to assume.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    crates(kube_core = "::kube_core"),
    group = "sfn.operator.dev",
    version = "v1alpha1",
    kind = "AwsIdentity",
    plural = "awsidentities",
    singular = "awsidentity",
    derive = "PartialEq",
    derive = "Default",
    shortname = "sfnid",
    category = "sfn",
    doc = "An AWS identity (a region and a chain of roles assumed through STS from the operator's own credentials) and the namespaces that use it. Cluster-scoped: only the platform team grants identities.",
    printcolumn = r#"{"name":"Region","type":"string","jsonPath":".spec.region"}"#,
    printcolumn = r#"{"name":"Default","type":"boolean","jsonPath":".spec.clusterDefault","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsIdentitySpec {
    /// AWS region of everything reconciled with this identity. Default: the operator's own region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
    )]
    pub region: Option<String>,
    /// Roles to assume in order, each hop with the credentials of the one before it; the first hop uses the
    /// operator's own credentials. Empty: the operator's own credentials (only the region changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub role_chain: Vec<AssumeRoleHop>,
    /// Which namespaces may use this identity.
    #[serde(default)]
    pub namespaces: IdentityNamespaces,
    /// Use this identity in every namespace that has no default identity of its own (at most one identity
    /// in the cluster may say so). Default: false, such namespaces use the operator's own credentials.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cluster_default: bool,
}

/// One `sts:AssumeRole` call of a chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssumeRoleHop {
    /// ARN of the role to assume.
    #[schemars(
        length(min = 20, max = 2048),
        regex(pattern = r"^arn:[a-z-]+:iam::[0-9]{12}:role/.+$")
    )]
    pub role_arn: String,
    /// The external id the role's trust policy requires (`sts:ExternalId`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224), regex(pattern = r"^[\w+=,.@:/-]+$"))]
    pub external_id: Option<String>,
    /// The role session name, as seen in CloudTrail. Default: `sfn-operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 64), regex(pattern = r"^[\w+=,.@-]+$"))]
    pub session_name: Option<String>,
}

/// The namespaces of an identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityNamespaces {
    /// Namespaces whose objects use this identity when they name none (`spec.identityRef` unset). A
    /// namespace may be the default of at most one identity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub default_for: Vec<String>,
    /// Further namespaces whose objects may name this identity in `spec.identityRef`; `*` allows every
    /// namespace. The namespaces of `defaultFor` are always allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub allowed: Vec<String>,
}

impl IdentityNamespaces {
    /// Whether objects of `namespace` may name the identity.
    pub fn allows(&self, namespace: &str) -> bool {
        self.default_for.iter().any(|n| n == namespace)
            || self.allowed.iter().any(|n| n == "*" || n == namespace)
    }

    /// Whether the identity is `namespace`'s default.
    pub fn is_default_for(&self, namespace: &str) -> bool {
        self.default_for.iter().any(|n| n == namespace)
    }
}

/// The identity an object was last reconciled with (`status.identity` of StateMachine and Activity).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityStatus {
    /// Name of the AwsIdentity; absent when the operator's own credentials were used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The AWS account the object's resources live in.
    pub account_id: String,
    /// The AWS region the object's resources live in.
    pub region: String,
}

/// A reference to an AwsIdentity (cluster-scoped, so by name alone) in `spec.identityRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityRef {
    /// `metadata.name` of the AwsIdentity.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}
