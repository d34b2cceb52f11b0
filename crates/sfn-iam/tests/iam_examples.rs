//! The role of every example StateMachine given as `definitionJson` (typed definitions need the compiler and are
//! covered where compilation and IAM meet): role source, trust policy and derived policy, snapshotted.

use sfn_test_support as support;

use serde_json::{Value, json};
use sfn_api::manifest;
use sfn_iam::{self as iam, RoleContext, RoleSource};

#[test]
fn roles_of_the_definition_json_examples() {
    let bundle = manifest::load_paths(&support::example_files()).expect("examples load");
    let mut seen = 0;
    for sm in &bundle.state_machines {
        let Some(text) = sm.spec.definition_json.as_deref() else {
            continue;
        };
        seen += 1;
        let ns = sm.metadata.namespace.as_deref().unwrap_or("default");
        let name = sm.metadata.name.as_deref().unwrap_or_default();
        let aws_name = format!("{ns}-{name}");
        let asl: Value = serde_json::from_str(text).unwrap();
        let ctx = RoleContext::from_spec(
            &sm.spec,
            "aws",
            "us-east-1",
            "123456789012",
            &aws_name,
            Default::default(),
        );
        let rendered = match iam::role_source(sm.spec.role_arn.as_deref(), &asl, &ctx).unwrap() {
            RoleSource::BringYourOwn { role_arn, needed } => json!({
                "bringYourOwn": role_arn,
                "needed": needed.document(),
                "explain": needed.explain(),
            }),
            RoleSource::Managed {
                role_name,
                path,
                trust_policy,
                policy,
            } => json!({
                "roleName": role_name,
                "path": path,
                "trustPolicy": trust_policy,
                "documents": policy.documents(),
                "explain": policy.explain(),
            }),
        };
        insta::assert_json_snapshot!(format!("example__{ns}__{name}"), rendered);
    }
    assert!(seen >= 1, "no example uses definitionJson");
}
