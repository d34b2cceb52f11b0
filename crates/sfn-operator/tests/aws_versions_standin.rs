//! The version and alias stand-in in front of moto, through the AWS SDK the operator uses: versions
//! learned from moto's publishing, AWS's documented errors for aliases and version deletion, and the
//! operator's own publish path reading versions back. Needs `.tools/venv/bin/moto_server` (installed by
//! scripts/test) or `SFN_TEST_AWS_ENDPOINT`.

mod aws_support;

use aws_sdk_sfn::types::RoutingConfigurationListItem;
use aws_support::*;
use sfn_aws::{self as aws, AwsClients};

fn route(version_arn: &str, weight: i32) -> RoutingConfigurationListItem {
    RoutingConfigurationListItem::builder()
        .state_machine_version_arn(version_arn)
        .weight(weight)
        .build()
        .unwrap()
}

fn error_code<E, R>(err: &aws_sdk_sfn::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("not a service error")
        .to_string()
}

/// Creates a machine through the operator's own path with publishing on, then two more versions.
async fn machine_with_three_versions(clients: &AwsClients, name: &str) -> (String, Vec<String>) {
    let mut d = desired_machine(clients, "demo", name);
    d.publish = Some(sfn_plan::PublishSpec {
        description: Some("one".into()),
    });
    let first = aws::reconcile_machine(clients, &d).await.unwrap();
    let arn = first.state_machine_arn.clone().unwrap();
    let mut versions = vec![first.version_arn.unwrap()];
    for message in ["two", "three"] {
        d.definition = definition(message);
        let out = aws::reconcile_machine(clients, &d).await.unwrap();
        versions.push(out.version_arn.unwrap());
    }
    (arn, versions)
}

async fn listed_versions(clients: &AwsClients, arn: &str) -> Vec<String> {
    clients
        .sfn
        .list_state_machine_versions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap()
        .state_machine_versions()
        .iter()
        .map(|v| v.state_machine_version_arn().to_string())
        .collect()
}

#[tokio::test]
async fn versions_published_through_moto_are_listed_newest_first() {
    let clients = moto_clients("standin_list").await;
    let (arn, versions) = machine_with_three_versions(&clients, "listed").await;
    assert_eq!(
        versions,
        [format!("{arn}:1"), format!("{arn}:2"), format!("{arn}:3")]
    );
    let mut newest_first = versions.clone();
    newest_first.reverse();
    assert_eq!(listed_versions(&clients, &arn).await, newest_first);
    // moto itself describes the version it published.
    let described = clients
        .sfn
        .describe_state_machine()
        .state_machine_arn(&versions[0])
        .send()
        .await
        .unwrap();
    assert!(described.definition().contains("hello"), "{described:?}");
}

#[tokio::test]
async fn publishing_an_unchanged_revision_returns_the_existing_version() {
    let clients = moto_clients("standin_publish_idempotent").await;
    let (arn, versions) = machine_with_three_versions(&clients, "idempotent").await;
    let again = clients
        .sfn
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_version_arn(), versions[2]);
    assert_eq!(listed_versions(&clients, &arn).await.len(), 3);

    // A change without publishing leaves a revision that the next publish turns into version 4.
    clients
        .sfn
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(definition("four").to_string())
        .send()
        .await
        .unwrap();
    let fourth = clients
        .sfn
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .description("four")
        .send()
        .await
        .unwrap();
    assert_eq!(fourth.state_machine_version_arn(), format!("{arn}:4"));
    let described = clients
        .sfn
        .describe_state_machine()
        .state_machine_arn(format!("{arn}:4"))
        .send()
        .await
        .unwrap();
    assert!(described.definition().contains("four"), "{described:?}");
}

#[tokio::test]
async fn alias_lifecycle_and_documented_errors() {
    let clients = moto_clients("standin_alias").await;
    let (arn, v) = machine_with_three_versions(&clients, "aliased").await;
    let sfn = &clients.sfn;

    // Weights must sum to 100, at most two versions, versions must exist.
    let bad_sum = sfn
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&v[0], 60))
        .routing_configuration(route(&v[1], 30))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&bad_sum), "ValidationException");
    let three = sfn
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&v[0], 50))
        .routing_configuration(route(&v[1], 25))
        .routing_configuration(route(&v[2], 25))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&three), "ValidationException");
    let missing = sfn
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&format!("{arn}:99"), 100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&missing), "ResourceNotFound");

    let created = sfn
        .create_state_machine_alias()
        .name("live")
        .description("production traffic")
        .routing_configuration(route(&v[0], 100))
        .send()
        .await
        .unwrap();
    let alias_arn = created.state_machine_alias_arn().to_string();
    assert_eq!(alias_arn, format!("{arn}:live"));
    // The same request again is idempotent; another routing under the same name is a conflict.
    let again = sfn
        .create_state_machine_alias()
        .name("live")
        .description("production traffic")
        .routing_configuration(route(&v[0], 100))
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_alias_arn(), alias_arn);
    let clash = sfn
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&v[1], 100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&clash), "ConflictException");

    // A version an alias routes to cannot be deleted; another one can, and is gone from the list.
    let conflict = sfn
        .delete_state_machine_version()
        .state_machine_version_arn(&v[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&conflict), "ConflictException");
    sfn.delete_state_machine_version()
        .state_machine_version_arn(&v[1])
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed_versions(&clients, &arn).await,
        [v[2].clone(), v[0].clone()]
    );

    // Update to a weighted split, then describe and list.
    sfn.update_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .routing_configuration(route(&v[0], 90))
        .routing_configuration(route(&v[2], 10))
        .send()
        .await
        .unwrap();
    let described = sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), Some("live"));
    assert_eq!(described.description(), Some("production traffic"));
    let routing: Vec<(String, i32)> = described
        .routing_configuration()
        .iter()
        .map(|r| (r.state_machine_version_arn().to_string(), r.weight()))
        .collect();
    assert_eq!(routing, [(v[0].clone(), 90), (v[2].clone(), 10)]);
    let for_version = sfn
        .list_state_machine_aliases()
        .state_machine_arn(&v[2])
        .send()
        .await
        .unwrap();
    assert_eq!(for_version.state_machine_aliases().len(), 1);

    // Delete: gone, and a second delete is ResourceNotFound.
    sfn.delete_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .send()
        .await
        .unwrap();
    let gone = sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&gone), "ResourceNotFound");
    let listed = sfn
        .list_state_machine_aliases()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(listed.state_machine_aliases().is_empty());
    // Once unrouted, the version can go.
    sfn.delete_state_machine_version()
        .state_machine_version_arn(&v[0])
        .send()
        .await
        .unwrap();
    assert_eq!(listed_versions(&clients, &arn).await, [v[2].clone()]);
}

#[tokio::test]
async fn deleting_the_machine_deletes_its_versions_and_aliases() {
    let clients = moto_clients("standin_machine_delete").await;
    let (arn, v) = machine_with_three_versions(&clients, "deleted").await;
    clients
        .sfn
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&v[2], 100))
        .send()
        .await
        .unwrap();
    clients
        .sfn
        .delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(listed_versions(&clients, &arn).await.is_empty());
    let gone = clients
        .sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(format!("{arn}:live"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&gone), "ResourceNotFound");
}

fn alias(
    name: &str,
    version: Option<sfn_api::versions::VersionSelector>,
) -> sfn_api::versions::AliasSpec {
    sfn_api::versions::AliasSpec {
        name: name.into(),
        version,
        ..Default::default()
    }
}

fn routes(out: &aws::reconcile::Outcome, name: &str) -> Vec<(u32, u32)> {
    out.aliases
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.routing.iter().map(|r| (r.version, r.weight)).collect())
        .unwrap_or_default()
}

async fn live_alias_routes(clients: &AwsClients, alias_arn: &str) -> Vec<(String, i32)> {
    clients
        .sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(alias_arn)
        .send()
        .await
        .unwrap()
        .routing_configuration()
        .iter()
        .map(|r| (r.state_machine_version_arn().to_string(), r.weight()))
        .collect()
}

#[tokio::test]
async fn the_operator_publishes_once_per_change_even_after_a_restart() {
    let clients = moto_clients("standin_publish_once").await;
    let mut d = desired_machine(&clients, "demo", "once");
    d.publish = Some(sfn_plan::PublishSpec {
        description: Some("generation 1".into()),
    });
    let first = aws::reconcile_machine(&clients, &d).await.unwrap();
    let arn = first.state_machine_arn.clone().unwrap();
    assert_eq!(first.versions.len(), 1, "{first:?}");
    // A resync with nothing changed publishes nothing.
    let resync = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert!(resync.operations.is_empty(), "{:?}", resync.operations);
    assert_eq!(listed_versions(&clients, &arn).await, [format!("{arn}:1")]);
    // A restarted operator knows nothing from status; AWS's versions still say this change is published.
    d.known_version_arn = None;
    let restarted = moto_clients("standin_publish_once").await;
    let after_restart = aws::reconcile_machine(&restarted, &d).await.unwrap();
    assert!(
        after_restart.operations.is_empty(),
        "{:?}",
        after_restart.operations
    );
    assert_eq!(
        after_restart.version_arn.as_deref(),
        Some(format!("{arn}:1").as_str())
    );
    // A change publishes exactly one more.
    d.definition = definition("changed");
    let changed = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        changed.version_arn.as_deref(),
        Some(format!("{arn}:2").as_str())
    );
    aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        listed_versions(&clients, &arn).await,
        [format!("{arn}:2"), format!("{arn}:1")]
    );
    let numbers: Vec<u32> = changed.versions.iter().map(|v| v.number).collect();
    assert_eq!(numbers, [2, 1], "status order is newest first");
}

#[tokio::test]
async fn aliases_follow_the_spec_and_gc_keeps_what_they_route_to() {
    use sfn_api::versions::VersionSelector;
    let clients = moto_clients("standin_operator_aliases").await;
    let mut d = desired_machine(&clients, "demo", "aliased");
    d.publish = Some(sfn_plan::PublishSpec { description: None });
    d.retain_versions = 2;
    d.aliases = vec![alias("prod", None)];
    let first = aws::reconcile_machine(&clients, &d).await.unwrap();
    let arn = first.state_machine_arn.clone().unwrap();
    assert_eq!(routes(&first, "prod"), [(1, 100)]);
    assert_eq!(
        first.aliases[0].arn,
        format!("{arn}:prod"),
        "alias ARN is the machine ARN and the name"
    );
    assert_eq!(
        live_alias_routes(&clients, &format!("{arn}:prod")).await,
        [(format!("{arn}:1"), 100)]
    );
    // Pin a second alias to version 1, then publish three more versions: latest moves, the pin holds
    // version 1 against the retained count of 2.
    d.aliases
        .push(alias("pinned", Some(VersionSelector::Number(1))));
    for message in ["two", "three", "four"] {
        d.definition = definition(message);
        aws::reconcile_machine(&clients, &d).await.unwrap();
    }
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(routes(&out, "prod"), [(4, 100)]);
    assert_eq!(routes(&out, "pinned"), [(1, 100)]);
    assert_eq!(
        listed_versions(&clients, &arn).await,
        [format!("{arn}:4"), format!("{arn}:1")],
        "versions 2 and 3 collected, 1 kept because an alias routes to it"
    );
    let numbers: Vec<u32> = out.versions.iter().map(|v| v.number).collect();
    assert_eq!(numbers, [4, 1]);
    // A pinned version that does not exist names the field and changes nothing.
    d.aliases[1].version = Some(VersionSelector::Number(9));
    let err = aws::reconcile_machine(&clients, &d)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("spec.aliases[1].version"), "{err}");
    assert_eq!(
        live_alias_routes(&clients, &format!("{arn}:pinned")).await,
        [(format!("{arn}:1"), 100)]
    );
    // An alias dropped from the spec is deleted; deleting the object deletes the rest.
    d.aliases.truncate(1);
    aws::reconcile_machine(&clients, &d).await.unwrap();
    let gone = clients
        .sfn
        .describe_state_machine_alias()
        .state_machine_alias_arn(format!("{arn}:pinned"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&gone), "ResourceNotFound");
    let deleted = aws::delete_machine(&clients, &d).await.unwrap();
    let alias_deleted_first = deleted.operations.iter().position(|op| {
        matches!(op, sfn_plan::Operation::DeleteStateMachineAlias { alias_arn } if alias_arn.ends_with(":prod"))
    });
    let machine_deleted = deleted
        .operations
        .iter()
        .position(|op| matches!(op, sfn_plan::Operation::DeleteStateMachine { .. }));
    assert!(
        alias_deleted_first.is_some() && alias_deleted_first < machine_deleted,
        "{:?}",
        deleted.operations
    );
}

/// `examples/rollout.yaml` end to end: the orders machine gets its `live` alias, and the checkout machine,
/// whose Task starts orders through that alias, is created with the alias ARN in its definition and a role
/// that may start that alias only (the unqualified machine ARN, narrowed by `states:StateMachineQualifier`).
#[tokio::test]
async fn a_task_that_starts_an_alias_gets_the_alias_arn_and_a_qualified_grant() {
    let clients = moto_clients("standin_alias_target").await;
    let bundle = sfn_api::manifest::load_paths(&[
        sfn_test_support::workspace_root().join("examples/rollout.yaml")
    ])
    .unwrap();
    let settings = sfn_plan::desired::Settings {
        partition: "aws".into(),
        region: clients.region().to_string(),
        account_id: clients.account_id().to_string(),
        default_deletion_policy: sfn_plan::DeletionPolicy::Delete,
        default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
        guardrails: Default::default(),
    };
    let resolver =
        sfn_asl::bundle::offline_resolver(&bundle, "demo", clients.account_id(), clients.region());
    let desired = |name: &str| {
        let mut sm = bundle.state_machine("demo", name).unwrap().clone();
        sm.metadata.uid = Some(format!("uid-{name}"));
        sfn_plan::desired::build(&sm, &resolver, &settings)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .desired
    };

    let orders = aws::reconcile_machine(&clients, &desired("orders"))
        .await
        .unwrap();
    let orders_arn = orders.state_machine_arn.clone().unwrap();
    let alias_arn = orders
        .aliases
        .iter()
        .find(|a| a.name == "live")
        .map(|a| a.arn.clone())
        .expect("the live alias is created");
    assert_eq!(alias_arn, format!("{orders_arn}:live"));
    assert_eq!(routes(&orders, "live"), [(1, 100)]);

    let checkout_desired = desired("checkout");
    let checkout = aws::reconcile_machine(&clients, &checkout_desired)
        .await
        .unwrap();
    let checkout_arn = checkout.state_machine_arn.clone().unwrap();
    let live: serde_json::Value = serde_json::from_str(
        clients
            .sfn
            .describe_state_machine()
            .state_machine_arn(&checkout_arn)
            .send()
            .await
            .unwrap()
            .definition(),
    )
    .unwrap();
    assert_eq!(
        live["States"]["Place Order"]["Parameters"]["StateMachineArn"],
        serde_json::Value::String(alias_arn.clone()),
        "the Task starts the alias AWS created"
    );

    let sfn_plan::DesiredRole::Managed(role) = &checkout_desired.role else {
        panic!("a managed role")
    };
    let policies = aws::observe::role_permission_policies(&clients, &role.name)
        .await
        .unwrap()
        .expect("the role exists");
    let statements: Vec<serde_json::Value> = policies
        .iter()
        .flat_map(|(_, doc)| doc["Statement"].as_array().cloned().unwrap_or_default())
        .collect();
    let starts: Vec<&serde_json::Value> = statements
        .iter()
        .filter(|s| s["Action"] == "states:StartExecution")
        .collect();
    assert_eq!(
        starts,
        [&serde_json::json!({
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": orders_arn,
            "Condition": {"ForAnyValue:StringEquals": {"states:StateMachineQualifier": "live"}}
        })],
        "{statements:?}"
    );
    let account = clients.account_id();
    assert!(
        statements.iter().any(|s| s["Resource"]
            == format!("arn:aws:states:us-east-1:{account}:execution:demo-orders:*")),
        "{statements:?}"
    );
    // A second reconcile of both finds nothing to change.
    for (name, d) in [
        ("orders", desired("orders")),
        ("checkout", checkout_desired),
    ] {
        let again = aws::reconcile_machine(&clients, &d).await.unwrap();
        assert_eq!(again.calls.writes(), 0, "{name}: {:?}", again.operations);
    }
}
