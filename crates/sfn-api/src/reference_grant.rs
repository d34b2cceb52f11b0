//! The `ReferenceGrant` kind: a namespace's explicit permission for objects of other namespaces to
//! reference some of its objects.
//!
//! References stay within a namespace unless the namespace that holds the referenced object says
//! otherwise, in the manner of Gateway API's ReferenceGrant: the grant lives with what is referenced, so
//! only those who may write there can open it up. A StateMachine names another namespace's
//! TaskIntegration as `integration: <namespace>/<name>`; a TaskIntegration names another namespace's
//! Activity or StateMachine with `activityRef` / `stateMachineRef` and their `namespace`.
//!
//! Using a granted TaskIntegration includes what it references in its own namespace: those references are
//! the owner's, who granted the integration as it is.

use kube_derive::CustomResource;

use crate::task_integration::TaskIntegrationSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lets objects of other namespaces reference objects of this one.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    crates(kube_core = "::kube_core"),
    group = "sfn.operator.dev",
    version = "v1alpha1",
    kind = "ReferenceGrant",
    plural = "referencegrants",
    singular = "referencegrant",
    namespaced,
    derive = "PartialEq",
    derive = "Default",
    shortname = "sfnrg",
    category = "sfn",
    doc = "Lets StateMachines and TaskIntegrations of the namespaces in `from` reference the objects of this namespace listed in `to`. Without one, references never leave a namespace.",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReferenceGrantSpec {
    /// The namespaces whose objects may reference.
    #[schemars(length(min = 1, max = 64))]
    pub from: Vec<GrantFrom>,
    /// What they may reference here.
    #[schemars(length(min = 1, max = 64))]
    pub to: Vec<GrantTo>,
}

/// A namespace allowed to reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantFrom {
    /// The referencing objects' namespace.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
}

/// Objects that may be referenced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantTo {
    /// `TaskIntegration`, `Activity` or `StateMachine`.
    pub kind: GrantKind,
    /// One object by name; absent: every object of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
}

/// The kinds a grant can open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GrantKind {
    #[default]
    TaskIntegration,
    Activity,
    StateMachine,
}

impl ReferenceGrant {
    /// Whether this grant lets objects of `from_namespace` reference the `kind` object `name` of the
    /// grant's namespace.
    pub fn allows(&self, from_namespace: &str, kind: GrantKind, name: &str) -> bool {
        self.spec.from.iter().any(|f| f.namespace == from_namespace)
            && self
                .spec
                .to
                .iter()
                .any(|t| t.kind == kind && t.name.as_deref().is_none_or(|n| n == name))
    }
}

/// Prepares a TaskIntegration of `namespace` for use from another namespace: its references that name no
/// namespace are its owners' own, so they get `namespace`, and those that stay in `namespace` are returned,
/// as `(kind, name)`. A grant of the integration covers them.
pub fn bring_along(spec: &mut TaskIntegrationSpec, namespace: &str) -> Vec<(GrantKind, String)> {
    let refs = [
        spec.activity
            .as_mut()
            .and_then(|a| a.activity_ref.as_mut())
            .map(|r| (GrantKind::Activity, r)),
        spec.step_functions
            .as_mut()
            .and_then(|s| s.state_machine_ref.as_mut())
            .map(|r| (GrantKind::StateMachine, r)),
    ];
    refs.into_iter()
        .flatten()
        .filter_map(|(kind, r)| {
            (r.namespace.get_or_insert_with(|| namespace.to_owned()) == namespace)
                .then(|| (kind, r.name.clone()))
        })
        .collect()
}

/// Splits a reference into its namespace (for `<namespace>/<name>`) and its name.
pub fn split_reference(reference: &str) -> (Option<&str>, &str) {
    match reference.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, reference),
    }
}

/// Whether an object of `from_namespace` may reference the `kind` object `name` of `target_namespace`,
/// given the grants of `target_namespace`. Within one namespace, always.
pub fn may_reference<'a>(
    from_namespace: &str,
    target_namespace: &str,
    kind: GrantKind,
    name: &str,
    grants_in_target: impl IntoIterator<Item = &'a ReferenceGrant>,
) -> bool {
    from_namespace == target_namespace
        || grants_in_target
            .into_iter()
            .any(|g| g.allows(from_namespace, kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(value: serde_json::Value) -> ReferenceGrant {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "ReferenceGrant",
            "metadata": {"name": "g", "namespace": "shared"},
            "spec": value,
        }))
        .expect("a ReferenceGrant")
    }

    #[test]
    fn a_grant_opens_what_it_lists_to_whom_it_lists() {
        let g = grant(serde_json::json!({
            "from": [{"namespace": "team-a"}],
            "to": [{"kind": "TaskIntegration", "name": "submit"}, {"kind": "Activity"}]
        }));
        assert!(g.allows("team-a", GrantKind::TaskIntegration, "submit"));
        assert!(!g.allows("team-a", GrantKind::TaskIntegration, "other"));
        assert!(g.allows("team-a", GrantKind::Activity, "anything"));
        assert!(!g.allows("team-a", GrantKind::StateMachine, "submit"));
        assert!(!g.allows("team-b", GrantKind::TaskIntegration, "submit"));
    }

    #[test]
    fn references_stay_in_their_namespace_without_a_grant() {
        assert!(may_reference("a", "a", GrantKind::Activity, "x", []));
        assert!(!may_reference("a", "shared", GrantKind::Activity, "x", []));
        let g = grant(serde_json::json!({
            "from": [{"namespace": "a"}], "to": [{"kind": "Activity", "name": "x"}]
        }));
        assert!(may_reference("a", "shared", GrantKind::Activity, "x", [&g]));
    }

    #[test]
    fn references_split_into_namespace_and_name() {
        assert_eq!(split_reference("shared/submit"), (Some("shared"), "submit"));
        assert_eq!(split_reference("submit"), (None, "submit"));
    }
}
