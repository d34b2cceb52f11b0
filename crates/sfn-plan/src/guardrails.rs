//! Tenancy guardrails on the IAM roles the operator generates: a permissions boundary, an IAM path, a role
//! name prefix and tags that the platform team sets once for the whole cluster. Pure, so that the
//! reconcile (status), `validate`, `apply` and the admission webhook refuse exactly the same objects.
//!
//! A guardrail is a floor, not a default a tenant may lower: a spec that names another boundary, a
//! bring-your-own role outside the prefix, or a tag that would replace a required tag is refused rather
//! than silently corrected, because a silent correction hides from the tenant what their role really is.

use std::collections::BTreeMap;

use sfn_api::StateMachineSpec;
use sfn_api::naming;

/// The cluster-wide rules for generated roles. The default sets none of them (the operator's historic
/// behaviour: path [`naming::ROLE_PATH`], no prefix, no boundary, no extra tags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guardrails {
    /// Every generated role carries this boundary; a spec naming another one is refused.
    pub permissions_boundary: Option<String>,
    /// IAM path of generated roles and their managed policies (`None`: [`naming::ROLE_PATH`]).
    pub role_path: Option<String>,
    /// Every generated role name starts with this; a `roleArn` naming a role without it is refused.
    pub role_name_prefix: String,
    /// Tags every generated role gets; a spec tag with one of these keys is refused.
    pub role_tags: BTreeMap<String, String>,
}

/// Guardrail settings that IAM would reject, found when the operator starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guardrail {setting}: {reason}")]
pub struct GuardrailSettingError {
    pub setting: &'static str,
    pub reason: String,
}

/// Longest role name prefix accepted: what is left of IAM's 64 characters must still tell machines apart.
pub const ROLE_NAME_PREFIX_MAX: usize = 32;

impl Guardrails {
    /// The IAM path of generated roles.
    pub fn role_path(&self) -> &str {
        self.role_path.as_deref().unwrap_or(naming::ROLE_PATH)
    }

    /// The boundary the role of `spec` gets: the spec's own (only allowed when it is the required one), else
    /// the required one.
    pub fn boundary_for(&self, spec_boundary: Option<&str>) -> Option<String> {
        spec_boundary
            .or(self.permissions_boundary.as_deref())
            .map(str::to_owned)
    }

    /// Checks the settings themselves against IAM's rules (CreateRole `Path`, `RoleName`, tag keys), so a
    /// mistyped flag stops the operator at start-up rather than failing every reconcile.
    pub fn validate(&self) -> Result<(), GuardrailSettingError> {
        let err = |setting, reason: String| Err(GuardrailSettingError { setting, reason });
        if let Some(path) = &self.role_path {
            // IAM: a path is `/` alone or `/` + segments + `/`, at most 512 characters of printable ASCII.
            if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 {
                return err(
                    "role path",
                    format!("{path:?} must begin and end with '/' and be at most 512 characters"),
                );
            }
            if let Some(bad) = path.chars().find(|c| !('!'..='~').contains(c)) {
                return err(
                    "role path",
                    format!("{path:?} contains {bad:?}; IAM allows printable ASCII only"),
                );
            }
        }
        let prefix = &self.role_name_prefix;
        if prefix.chars().count() > ROLE_NAME_PREFIX_MAX {
            return err(
                "role name prefix",
                format!("{prefix:?} is longer than {ROLE_NAME_PREFIX_MAX} characters"),
            );
        }
        if let Some(bad) = prefix.chars().find(|c| !naming::is_role_name_char(*c)) {
            return err(
                "role name prefix",
                format!(
                    "{prefix:?} contains {bad:?}; IAM role names allow letters, digits and +=,.@_-"
                ),
            );
        }
        if let Some(arn) = &self.permissions_boundary
            && !(arn.starts_with("arn:") && arn.contains(":policy/"))
        {
            return err(
                "permissions boundary",
                format!(
                    "{arn:?} is not an IAM policy ARN (arn:PARTITION:iam::ACCOUNT:policy/NAME)"
                ),
            );
        }
        for key in self.role_tags.keys() {
            if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
                return err(
                    "role tag",
                    format!("key {key:?} must be 1 to 128 characters and not start with \"aws:\""),
                );
            }
            if key == naming::OWNER_TAG || key == naming::OWNER_UID_TAG {
                return err(
                    "role tag",
                    format!("key {key:?} is the operator's ownership tag"),
                );
            }
        }
        Ok(())
    }

    /// Every way `spec` conflicts with the guardrails, one line each naming `object`, the field and the
    /// rule. Empty when the spec is acceptable.
    pub fn check(&self, object: &str, spec: &StateMachineSpec) -> Vec<String> {
        let mut problems = Vec::new();
        let spec_boundary = spec
            .role
            .as_ref()
            .and_then(|r| r.permissions_boundary.as_deref());
        if let (Some(required), Some(given)) = (&self.permissions_boundary, spec_boundary)
            && given != required
        {
            problems.push(format!(
                "{object}: field spec.role.permissionsBoundary: {given:?} is not allowed; the operator \
                 requires the permissions boundary {required:?} on every role it creates (omit the field \
                 to get it)"
            ));
        }
        if !self.role_name_prefix.is_empty()
            && let Some(arn) = &spec.role_arn
        {
            let name = naming::role_name_from_arn(arn).unwrap_or(arn.as_str());
            if !name.starts_with(&self.role_name_prefix) {
                problems.push(format!(
                    "{object}: field spec.roleArn: role {name:?} is not allowed; role names must start \
                     with the prefix {:?} set by the operator",
                    self.role_name_prefix
                ));
            }
        }
        for key in spec.tags.keys() {
            if let Some(required) = self.role_tags.get(key) {
                problems.push(format!(
                    "{object}: field spec.tags.{key}: the tag is set by the operator on every role it \
                     creates ({key}={required:?}) and may not be overridden"
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> StateMachineSpec {
        serde_json::from_value(json).expect("spec fixture")
    }

    fn guardrails() -> Guardrails {
        Guardrails {
            permissions_boundary: Some("arn:aws:iam::123456789012:policy/tenant-boundary".into()),
            role_path: Some("/tenants/".into()),
            role_name_prefix: "tenant-".into(),
            role_tags: BTreeMap::from([("cost-center".to_owned(), "platform".to_owned())]),
        }
    }

    const OBJECT: &str = "StateMachine team-a/orders";

    #[test]
    fn a_spec_within_the_guardrails_passes() {
        let s = spec(serde_json::json!({
            "role": {"permissionsBoundary": "arn:aws:iam::123456789012:policy/tenant-boundary"},
            "tags": {"team": "a"}
        }));
        assert_eq!(guardrails().check(OBJECT, &s), Vec::<String>::new());
        assert!(guardrails().validate().is_ok());
    }

    #[test]
    fn another_boundary_is_refused_naming_object_field_and_rule() {
        let s = spec(serde_json::json!({
            "role": {"permissionsBoundary": "arn:aws:iam::123456789012:policy/wide-open"}
        }));
        let problems = guardrails().check(OBJECT, &s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .starts_with("StateMachine team-a/orders: field spec.role.permissionsBoundary")
        );
        assert!(problems[0].contains("wide-open"));
        assert!(problems[0].contains("tenant-boundary"));
        // Without a required boundary any boundary is the tenant's choice.
        assert!(Guardrails::default().check(OBJECT, &s).is_empty());
    }

    #[test]
    fn a_role_arn_outside_the_prefix_is_refused() {
        let s = spec(serde_json::json!({
            "roleArn": "arn:aws:iam::123456789012:role/some/admin"
        }));
        let problems = guardrails().check(OBJECT, &s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("field spec.roleArn"));
        assert!(problems[0].contains("\"tenant-\""));
        let ok = spec(serde_json::json!({
            "roleArn": "arn:aws:iam::123456789012:role/tenants/tenant-orders"
        }));
        assert!(guardrails().check(OBJECT, &ok).is_empty());
    }

    #[test]
    fn a_tag_overriding_a_required_tag_is_refused() {
        let s = spec(serde_json::json!({"tags": {"cost-center": "mine", "team": "a"}}));
        let problems = guardrails().check(OBJECT, &s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("field spec.tags.cost-center"));
    }

    #[test]
    fn the_required_boundary_applies_when_the_spec_names_none() {
        let g = guardrails();
        assert_eq!(
            g.boundary_for(None).as_deref(),
            Some("arn:aws:iam::123456789012:policy/tenant-boundary")
        );
        assert_eq!(Guardrails::default().boundary_for(None), None);
        assert_eq!(g.role_path(), "/tenants/");
        assert_eq!(Guardrails::default().role_path(), naming::ROLE_PATH);
    }

    #[test]
    fn settings_iam_would_reject_are_caught() {
        let mut g = guardrails();
        g.role_path = Some("tenants".into());
        assert_eq!(g.validate().unwrap_err().setting, "role path");
        let mut g = guardrails();
        g.role_name_prefix = "bad prefix".into();
        assert_eq!(g.validate().unwrap_err().setting, "role name prefix");
        let mut g = guardrails();
        g.permissions_boundary = Some("tenant-boundary".into());
        assert_eq!(g.validate().unwrap_err().setting, "permissions boundary");
        let mut g = guardrails();
        g.role_tags.insert(naming::OWNER_TAG.into(), "x".into());
        assert_eq!(g.validate().unwrap_err().setting, "role tag");
    }
}
