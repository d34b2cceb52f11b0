//! References among the objects of one manifest bundle, resolved the way the operator resolves them in a
//! namespace, without a cluster or an AWS account: TaskIntegrations by name, and Activities and StateMachines
//! by the ARN they would have under the AWS names the operator gives them. `plan`, `validate`, `simulate` and
//! `apply -f` all compile through here, so they agree on what a reference means.

use sfn_api::manifest::{Bundle, DEFAULT_NAMESPACE};
use sfn_api::reference_grant::{GrantKind, bring_along, may_reference};
use sfn_api::{ObjectMeta, StateMachine, naming};

use crate::MapResolver;

/// The namespace of an object read from a manifest (`default` when the manifest names none).
pub fn namespace_of(meta: &ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// The resolver for objects of `namespace` in `bundle`: their TaskIntegrations, ARNs for their
/// Activities and StateMachines in `account`/`region`, under the AWS names the operator gives them
/// ([`naming::activity_name`], [`naming::state_machine_name`]), and the aliases each StateMachine declares.
pub fn offline_resolver(
    bundle: &Bundle,
    namespace: &str,
    account: &str,
    region: &str,
) -> MapResolver {
    let partition = naming::partition_of(region);
    let arn =
        |kind: &str, aws: &str| format!("arn:{partition}:states:{region}:{account}:{kind}:{aws}");
    let mut r = MapResolver::default();
    // What `namespace` may reference, under the key it is referenced by: the name in its own namespace,
    // `<ns>/<name>` in another one that grants it (or that a granted TaskIntegration brings along).
    let mut implied = Vec::new();
    let key = |kind: GrantKind, meta: &ObjectMeta, implied: &[(GrantKind, String, String)]| {
        let ns = namespace_of(meta);
        let name = meta.name.clone().unwrap_or_default();
        if ns == namespace {
            return Some(name);
        }
        let grants = bundle
            .reference_grants
            .iter()
            .filter(|g| g.metadata.namespace.as_deref() == Some(ns.as_str()));
        let brought = implied
            .iter()
            .any(|(k, n, m)| *k == kind && *n == ns && *m == name);
        (brought || may_reference(namespace, &ns, kind, &name, grants))
            .then(|| format!("{ns}/{name}"))
    };
    for ti in &bundle.task_integrations {
        if let Some(k) = key(GrantKind::TaskIntegration, &ti.metadata, &implied) {
            let mut spec = ti.spec.clone();
            let ns = namespace_of(&ti.metadata);
            if ns != namespace {
                // Its own references resolve in its namespace, brought along with it.
                for (kind, name) in bring_along(&mut spec, &ns) {
                    implied.push((kind, ns.clone(), name));
                }
            }
            r.task_integrations.insert(k, spec);
        }
    }
    for a in &bundle.activities {
        let Some(k) = key(GrantKind::Activity, &a.metadata, &implied) else {
            continue;
        };
        let name = a.metadata.name.clone().unwrap_or_default();
        // An invalid spec.name is reported when the Activity itself is planned; it resolves to nothing here.
        if let Ok(aws) =
            naming::activity_name(&namespace_of(&a.metadata), &name, a.spec.name.as_deref())
        {
            r.activity_arns.insert(k, arn("activity", &aws));
        }
    }
    for sm in &bundle.state_machines {
        let Some(k) = key(GrantKind::StateMachine, &sm.metadata, &implied) else {
            continue;
        };
        let name = sm.metadata.name.clone().unwrap_or_default();
        r.state_machine_aliases.insert(
            k.clone(),
            sm.spec.aliases.iter().map(|a| a.name.clone()).collect(),
        );
        if let Ok(aws) =
            naming::state_machine_name(&namespace_of(&sm.metadata), &name, sm.spec.name.as_deref())
        {
            r.state_machine_arns.insert(k, arn("stateMachine", &aws));
        }
    }
    r
}

/// Compiles one StateMachine of a bundle against the other objects of its namespace.
pub fn compile_in_bundle(
    sm: &StateMachine,
    bundle: &Bundle,
    account: &str,
    region: &str,
) -> Result<crate::Compiled, crate::CompileErrors> {
    let resolver = offline_resolver(bundle, &namespace_of(&sm.metadata), account, region);
    crate::compile_state_machine(&sm.spec, &resolver)
}

#[cfg(test)]
mod cross_namespace_tests {
    use super::*;

    const MANIFESTS: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: submit, namespace: shared}
spec:
  activity: {activityRef: {name: approve}}
---
apiVersion: sfn.operator.dev/v1alpha1
kind: Activity
metadata: {name: approve, namespace: shared}
spec: {}
---
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: flow, namespace: team-a}
spec:
  definition:
    states: [{name: Approve, type: Task, integration: shared/submit, end: true}]
"#;

    const GRANT: &str = r#"
---
apiVersion: sfn.operator.dev/v1alpha1
kind: ReferenceGrant
metadata: {name: team-a, namespace: shared}
spec:
  from: [{namespace: team-a}]
  to: [{kind: TaskIntegration, name: submit}]
"#;

    fn compile(text: &str) -> Result<crate::Compiled, crate::CompileErrors> {
        let bundle = sfn_api::manifest::load_str(std::path::Path::new("m.yaml"), text)
            .expect("valid manifests");
        compile_in_bundle(
            &bundle.state_machines[0],
            &bundle,
            "123456789012",
            "us-east-1",
        )
    }

    /// Offline (plan, validate, apply -f) as in the cluster: another namespace's integration only with its
    /// grant, and then with its own Activity.
    #[test]
    fn files_resolve_across_namespaces_only_with_a_grant() {
        assert!(compile(MANIFESTS).is_err(), "no grant, no reference");
        let compiled = compile(&format!("{MANIFESTS}{GRANT}")).expect("granted");
        assert_eq!(
            compiled.json["States"]["Approve"]["Resource"],
            "arn:aws:states:us-east-1:123456789012:activity:shared-approve"
        );
    }
}
