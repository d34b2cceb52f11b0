//! Which AwsIdentity an object is reconciled with. Pure: the watch cache of identities goes in, a decision
//! comes out, so the rules are tested on small fixtures without an API server.
//!
//! The order, for an object of namespace `ns`:
//! 1. `spec.identityRef` names an identity: it must exist and allow `ns` (`spec.namespaces.defaultFor`, or
//!    `allowed` with `ns` or `*`). Anything else is refused, never replaced by another identity: an object
//!    must not land in an account its author did not ask for.
//! 2. Otherwise the identity whose `defaultFor` lists `ns`; two of them is a platform mistake and refused.
//! 3. Otherwise the identity marked `clusterDefault` (two of them refused likewise).
//! 4. Otherwise none: the operator's own credentials and region, as before identities existed.

use sfn_api::{AssumeRoleHop, AwsIdentity};

/// The identity to reconcile with: its name, region (`None`: the operator's) and role chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub name: String,
    pub region: Option<String>,
    pub role_chain: Vec<AssumeRoleHop>,
}

impl Identity {
    fn of(identity: &AwsIdentity) -> Self {
        Identity {
            name: identity.metadata.name.clone().unwrap_or_default(),
            region: identity.spec.region.clone(),
            role_chain: identity.spec.role_chain.clone(),
        }
    }

    /// The role of the last hop, the one the object's resources are managed as (none: the operator's own).
    pub fn final_role(&self) -> Option<&str> {
        self.role_chain.last().map(|h| h.role_arn.as_str())
    }
}

/// Why no identity could be chosen. Every variant is a problem of the spec or of the identities, not of
/// AWS: nothing is done in AWS until it is fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("field spec.identityRef: AwsIdentity {name:?} does not exist")]
    NotFound { name: String },
    #[error(
        "field spec.identityRef: AwsIdentity {name:?} does not allow namespace {namespace:?} (its spec.namespaces lists who may use it)"
    )]
    NotAllowed { name: String, namespace: String },
    #[error(
        "namespace {namespace:?} is the default of several AwsIdentities ({}); name one in spec.identityRef or fix spec.namespaces.defaultFor", names.join(", ")
    )]
    AmbiguousDefault {
        namespace: String,
        names: Vec<String>,
    },
    #[error(
        "several AwsIdentities are the cluster default ({}); at most one may set spec.clusterDefault", names.join(", ")
    )]
    AmbiguousClusterDefault { names: Vec<String> },
}

/// The identity for an object of `namespace` whose `spec.identityRef` is `requested`, among `identities`
/// (the watch cache). `Ok(None)`: the operator's own credentials.
pub fn resolve<'a>(
    namespace: &str,
    requested: Option<&str>,
    identities: impl IntoIterator<Item = &'a AwsIdentity>,
) -> Result<Option<Identity>, IdentityError> {
    let mut identities: Vec<&AwsIdentity> = identities.into_iter().collect();
    identities.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if let Some(name) = requested {
        let found = identities
            .iter()
            .find(|i| i.metadata.name.as_deref() == Some(name))
            .ok_or_else(|| IdentityError::NotFound {
                name: name.to_owned(),
            })?;
        if !found.spec.namespaces.allows(namespace) {
            return Err(IdentityError::NotAllowed {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
            });
        }
        return Ok(Some(Identity::of(found)));
    }
    let defaults: Vec<&&AwsIdentity> = identities
        .iter()
        .filter(|i| i.spec.namespaces.is_default_for(namespace))
        .collect();
    match defaults.as_slice() {
        [one] => return Ok(Some(Identity::of(one))),
        [] => {}
        many => {
            return Err(IdentityError::AmbiguousDefault {
                namespace: namespace.to_owned(),
                names: names(many.iter().copied()),
            });
        }
    }
    let cluster: Vec<&&AwsIdentity> = identities
        .iter()
        .filter(|i| i.spec.cluster_default)
        .collect();
    match cluster.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(Identity::of(one))),
        many => Err(IdentityError::AmbiguousClusterDefault {
            names: names(many.iter().copied()),
        }),
    }
}

/// The identity called `name`, whatever namespaces it allows: for deleting what an object created under an
/// identity it was allowed to use then (its `status.identity`), the grant may have changed since.
pub fn by_name<'a>(
    name: &str,
    identities: impl IntoIterator<Item = &'a AwsIdentity>,
) -> Result<Identity, IdentityError> {
    identities
        .into_iter()
        .find(|i| i.metadata.name.as_deref() == Some(name))
        .map(Identity::of)
        .ok_or_else(|| IdentityError::NotFound {
            name: name.to_owned(),
        })
}

/// Whether a change of `identity` (created, edited or deleted) can change how an object of `namespace`
/// is reconciled: the object names it in `spec.identityRef` (`requested`), was last reconciled with it
/// (`recorded`, its `status.identity.name`), or names none and the identity is its namespace's default or
/// the cluster default. The watch of AwsIdentities wakes exactly these objects, so that a grant given or
/// taken away shows at once rather than at the next retry.
pub fn concerns(
    identity: &AwsIdentity,
    namespace: &str,
    requested: Option<&str>,
    recorded: Option<&str>,
) -> bool {
    let name = identity.metadata.name.as_deref();
    if name.is_some() && (requested == name || recorded == name) {
        return true;
    }
    requested.is_none()
        && (identity.spec.namespaces.is_default_for(namespace) || identity.spec.cluster_default)
}

fn names<'a>(identities: impl Iterator<Item = &'a &'a AwsIdentity>) -> Vec<String> {
    identities
        .map(|i| i.metadata.name.clone().unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(value: serde_json::Value) -> AwsIdentity {
        serde_json::from_value(value).expect("fixture is an AwsIdentity")
    }

    /// `team-a`: the default of namespace team-a, also allowed in team-a-staging, two hops into
    /// another account and region. `shared`: the cluster default, allowed everywhere, one hop.
    fn fixtures() -> Vec<AwsIdentity> {
        vec![
            identity(serde_json::json!({
                "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "AwsIdentity",
                "metadata": {"name": "team-a"},
                "spec": {
                    "region": "eu-west-1",
                    "roleChain": [
                        {"roleArn": "arn:aws:iam::111111111111:role/hub"},
                        {"roleArn": "arn:aws:iam::222222222222:role/team-a", "externalId": "team-a-ext"}
                    ],
                    "namespaces": {"defaultFor": ["team-a"], "allowed": ["team-a-staging"]}
                }
            })),
            identity(serde_json::json!({
                "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "AwsIdentity",
                "metadata": {"name": "shared"},
                "spec": {
                    "roleChain": [{"roleArn": "arn:aws:iam::333333333333:role/shared"}],
                    "namespaces": {"allowed": ["*"]},
                    "clusterDefault": true
                }
            })),
        ]
    }

    #[test]
    fn a_namespace_gets_its_default_and_others_the_cluster_default() {
        let ids = fixtures();
        let a = resolve("team-a", None, &ids).unwrap().unwrap();
        assert_eq!(a.name, "team-a");
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            a.final_role(),
            Some("arn:aws:iam::222222222222:role/team-a")
        );
        assert_eq!(a.role_chain[1].external_id.as_deref(), Some("team-a-ext"));
        let other = resolve("team-b", None, &ids).unwrap().unwrap();
        assert_eq!(other.name, "shared");
        assert_eq!(other.region, None);
    }

    #[test]
    fn without_any_default_the_operator_credentials_are_used() {
        let ids = fixtures();
        let only_a: Vec<_> = ids.iter().filter(|i| !i.spec.cluster_default).collect();
        assert_eq!(
            resolve("team-b", None, only_a.iter().copied()).unwrap(),
            None
        );
        assert_eq!(resolve("team-b", None, []).unwrap(), None);
    }

    #[test]
    fn a_reference_needs_the_identity_to_allow_the_namespace() {
        let ids = fixtures();
        let staging = resolve("team-a-staging", Some("team-a"), &ids).unwrap();
        assert_eq!(staging.map(|i| i.name).as_deref(), Some("team-a"));
        let refused = resolve("team-b", Some("team-a"), &ids).unwrap_err();
        assert_eq!(
            refused,
            IdentityError::NotAllowed {
                name: "team-a".into(),
                namespace: "team-b".into()
            }
        );
        assert!(
            refused.to_string().contains("spec.identityRef"),
            "{refused}"
        );
        // `*` allows every namespace.
        let shared = resolve("anything", Some("shared"), &ids).unwrap();
        assert_eq!(shared.map(|i| i.name).as_deref(), Some("shared"));
    }

    #[test]
    fn a_reference_to_a_missing_identity_never_falls_back_to_a_default() {
        let ids = fixtures();
        assert_eq!(
            resolve("team-a", Some("nope"), &ids),
            Err(IdentityError::NotFound {
                name: "nope".into()
            })
        );
    }

    #[test]
    fn two_defaults_for_one_namespace_or_the_cluster_are_refused() {
        let mut ids = fixtures();
        let mut twin = ids[0].clone();
        twin.metadata.name = Some("team-a-twin".into());
        twin.spec.cluster_default = true;
        ids.push(twin);
        let err = resolve("team-a", None, &ids).unwrap_err();
        assert_eq!(
            err,
            IdentityError::AmbiguousDefault {
                namespace: "team-a".into(),
                names: vec!["team-a".into(), "team-a-twin".into()]
            }
        );
        let err = resolve("team-b", None, &ids).unwrap_err();
        assert!(
            matches!(&err, IdentityError::AmbiguousClusterDefault { names } if names.len() == 2),
            "{err}"
        );
        // Naming one still works.
        assert!(resolve("team-a", Some("team-a-twin"), &ids).is_ok());
    }

    #[test]
    fn deletion_finds_an_identity_by_name_whatever_it_allows_now() {
        let ids = fixtures();
        assert_eq!(by_name("team-a", &ids).unwrap().name, "team-a");
        assert!(by_name("gone", &ids).is_err());
    }

    #[test]
    fn an_identity_concerns_who_names_it_who_used_it_and_who_falls_back_to_it() {
        let ids = fixtures();
        let (team_a, shared) = (&ids[0], &ids[1]);
        assert!(
            concerns(team_a, "team-a", None, None),
            "its default namespace"
        );
        assert!(
            concerns(team_a, "team-a-staging", Some("team-a"), None),
            "named"
        );
        assert!(
            !concerns(team_a, "team-a-staging", None, None),
            "allowed, but neither named nor the default"
        );
        assert!(
            concerns(team_a, "team-c", None, Some("team-a")),
            "reconciled with it before (a grant taken away)"
        );
        assert!(
            !concerns(team_a, "team-a", Some("shared"), Some("shared")),
            "names another one"
        );
        assert!(
            concerns(shared, "anywhere", None, None),
            "the cluster default"
        );
        assert!(!concerns(shared, "anywhere", Some("team-a"), None));
    }
}
