//! References among the objects of one manifest bundle, resolved the way the operator resolves them in a
//! namespace, without a cluster or an AWS account: TaskIntegrations by name, and Activities and StateMachines
//! by the ARN they would have under the AWS names the operator gives them. `plan`, `validate`, `simulate` and
//! `apply -f` all compile through here, so they agree on what a reference means.

use sfn_api::manifest::{Bundle, DEFAULT_NAMESPACE};
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
    for ti in &bundle.task_integrations {
        if namespace_of(&ti.metadata) == namespace {
            r.task_integrations.insert(
                ti.metadata.name.clone().unwrap_or_default(),
                ti.spec.clone(),
            );
        }
    }
    for a in &bundle.activities {
        if namespace_of(&a.metadata) == namespace {
            let name = a.metadata.name.clone().unwrap_or_default();
            // An invalid spec.name is reported when the Activity itself is planned; it resolves to nothing here.
            if let Ok(aws) = naming::activity_name(namespace, &name, a.spec.name.as_deref()) {
                r.activity_arns.insert(name, arn("activity", &aws));
            }
        }
    }
    for sm in &bundle.state_machines {
        if namespace_of(&sm.metadata) == namespace {
            let name = sm.metadata.name.clone().unwrap_or_default();
            r.state_machine_aliases.insert(
                name.clone(),
                sm.spec.aliases.iter().map(|a| a.name.clone()).collect(),
            );
            if let Ok(aws) = naming::state_machine_name(namespace, &name, sm.spec.name.as_deref()) {
                r.state_machine_arns.insert(name, arn("stateMachine", &aws));
            }
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
