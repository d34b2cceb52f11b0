//! The AWS layer against the moto server: create, update, drift, deletion, activities, adoption,
//! ownership, idempotency (zero writes on a second apply) and recovery from a fault in the middle of a
//! plan. Needs `.tools/venv/bin/moto_server` (installed by scripts/test) or `SFN_TEST_AWS_ENDPOINT`.

mod aws_support;

use std::collections::BTreeMap;

use aws_support::*;
use serde_json::json;
use sfn_operator::aws::observe::{self, Depth};
use sfn_operator::aws::{self, AwsClients, AwsError};
use sfn_operator::naming;
use sfn_operator::plan::{
    DeletionPolicy, DesiredActivity, DesiredMachine, DesiredRole, MachineType, Owner, SPEC_HASH_TAG,
};

async fn live_definition(clients: &AwsClients, arn: &str) -> serde_json::Value {
    let out = clients
        .sfn
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap();
    serde_json::from_str(out.definition()).unwrap()
}

async fn sfn_tags(clients: &AwsClients, arn: &str) -> BTreeMap<String, String> {
    clients
        .sfn
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect()
}

fn role_name(d: &DesiredMachine) -> String {
    match &d.role {
        DesiredRole::Managed(r) => r.name.clone(),
        DesiredRole::External { .. } => panic!("managed role expected"),
    }
}

async fn state_machines_named(clients: &AwsClients, name: &str) -> usize {
    clients
        .sfn
        .list_state_machines()
        .send()
        .await
        .unwrap()
        .state_machines()
        .iter()
        .filter(|m| m.name() == name)
        .count()
}

#[tokio::test]
async fn create_then_second_apply_makes_no_write_calls() {
    let clients = moto_clients("create_then_second_apply").await;
    let d = desired_machine(&clients, "demo", "poller");

    let first = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        op_names(&first.operations),
        [
            "createRole",
            "putRolePolicy",
            "createStateMachine",
            "putMetricAlarm"
        ]
    );
    let arn = first.state_machine_arn.clone().unwrap();
    assert_eq!(arn, clients.state_machine_arn("demo-poller"));
    assert!(!first.drift_corrected);
    assert_eq!(
        first.alarm_names,
        [naming::alarm_name("demo-poller", "ExecutionsFailed")]
    );
    let role_arn = first.role_arn.clone().unwrap();
    assert!(
        role_arn.contains(":role/sfn-operator/demo-poller"),
        "{role_arn}"
    );

    // What is live is what was asked for.
    assert_eq!(live_definition(&clients, &arn).await, d.definition);
    let tags = sfn_tags(&clients, &arn).await;
    assert_eq!(tags[naming::OWNER_TAG], "demo/poller");
    assert_eq!(tags[naming::OWNER_UID_TAG], "uid-demo-poller");
    assert_eq!(tags["team"], "payments");
    let alarms = observe::alarms(&clients, &naming::alarm_name_prefix("demo-poller"))
        .await
        .unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(
        alarms[0].spec.dimensions,
        [("StateMachineArn".to_string(), arn.clone())]
    );

    // The second apply only reads.
    let second = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(second.operations, vec![]);
    assert_eq!(second.calls.writes(), 0, "{}", second.calls);
    assert_eq!(second.state_machine_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(second.role_arn.as_deref(), Some(role_arn.as_str()));
    assert!(!second.drift_corrected);
}

#[tokio::test]
async fn definition_update_is_one_update_call() {
    let clients = moto_clients("definition_update").await;
    let mut d = desired_machine(&clients, "demo", "updater");
    let arn = aws::reconcile_machine(&clients, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    d.definition = definition("changed");
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        op_names(&out.operations),
        ["updateStateMachine", "tagResource"]
    );
    assert!(!out.drift_corrected, "a spec change is not drift");
    assert_eq!(live_definition(&clients, &arn).await, d.definition);
    assert_eq!(sfn_tags(&clients, &arn).await[SPEC_HASH_TAG], d.spec_hash());
    let again = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(again.calls.writes(), 0, "{}", again.calls);
}

#[tokio::test]
async fn out_of_band_drift_is_detected_and_put_back() {
    let clients = moto_clients("drift").await;
    let d = desired_machine(&clients, "demo", "drifter");
    let arn = aws::reconcile_machine(&clients, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    let role = role_name(&d);
    let alarm = naming::alarm_name("demo-drifter", "ExecutionsFailed");

    // Someone edits everything in the console.
    clients
        .sfn
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(definition("console edit").to_string())
        .send()
        .await
        .unwrap();
    clients
        .sfn
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            aws_sdk_sfn::types::Tag::builder()
                .key("team")
                .value("hijacked")
                .build(),
        )
        .tags(
            aws_sdk_sfn::types::Tag::builder()
                .key("extra")
                .value("x")
                .build(),
        )
        .send()
        .await
        .unwrap();
    clients
        .iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("sfn-operator")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/States")
        .metric_name("ExecutionsFailed")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("StateMachineArn")
                .value(&arn)
                .build(),
        )
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(100.0)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .send()
        .await
        .unwrap();

    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert!(out.drift_corrected);
    assert_eq!(
        op_names(&out.operations),
        [
            "putRolePolicy",
            "updateStateMachine",
            "tagResource",
            "untagResource",
            "putMetricAlarm"
        ]
    );

    // Back to what the spec says.
    assert_eq!(live_definition(&clients, &arn).await, d.definition);
    let tags = sfn_tags(&clients, &arn).await;
    assert_eq!(tags["team"], "payments");
    assert!(!tags.contains_key("extra"));
    let live_role = observe::role(&clients, &role, Depth::Reconcile)
        .await
        .unwrap()
        .unwrap();
    assert!(sfn_operator::plan::same_policy(
        &live_role.policies["sfn-operator"],
        &task_policy(clients.account_id())
    ));
    let alarms = observe::alarms(&clients, &naming::alarm_name_prefix("demo-drifter"))
        .await
        .unwrap();
    assert_eq!(alarms[0].spec.threshold, 1.0);
    assert_eq!(alarms[0].spec.treat_missing_data, "notBreaching");

    let again = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(again.calls.writes(), 0, "{}", again.calls);
}

#[tokio::test]
async fn delete_removes_everything_ours() {
    let clients = moto_clients("delete_policy_delete").await;
    let d = desired_machine(&clients, "demo", "doomed");
    let arn = aws::reconcile_machine(&clients, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    let out = aws::delete_machine(&clients, &d).await.unwrap();
    assert!(!out.retained);
    assert_eq!(
        op_names(&out.operations),
        [
            "deleteAlarms",
            "deleteStateMachine",
            "deleteRolePolicy",
            "deleteRole"
        ]
    );
    let gone = observe::state_machine(&clients, &arn, false).await.unwrap();
    assert!(gone.as_ref().is_none_or(|m| m.is_deleting()), "{gone:?}");
    assert!(
        observe::role(&clients, &role_name(&d), Depth::Delete)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        observe::alarms(&clients, &naming::alarm_name_prefix("demo-doomed"))
            .await
            .unwrap()
            .is_empty()
    );
    // Deleting again finds nothing to do.
    let again = aws::delete_machine(&clients, &d).await.unwrap();
    assert_eq!(again.operations, vec![]);
    assert_eq!(again.calls.writes(), 0);
}

#[tokio::test]
async fn delete_with_retain_leaves_aws_alone() {
    let clients = moto_clients("delete_policy_retain").await;
    let mut d = desired_machine(&clients, "demo", "kept");
    let arn = aws::reconcile_machine(&clients, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    d.deletion_policy = DeletionPolicy::Retain;
    let out = aws::delete_machine(&clients, &d).await.unwrap();
    assert!(out.retained);
    assert_eq!(out.calls.total(), 0);
    assert!(
        observe::state_machine(&clients, &arn, false)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        observe::role(&clients, &role_name(&d), Depth::Delete)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        observe::alarms(&clients, &naming::alarm_name_prefix("demo-kept"))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn activity_lifecycle() {
    let clients = moto_clients("activity_lifecycle").await;
    let d = DesiredActivity {
        owner: Owner {
            namespace: "demo".into(),
            name: "approval".into(),
            uid: "uid-a".into(),
        },
        name: naming::activity_name("demo", "approval", None).unwrap(),
        tags: BTreeMap::from([("team".to_string(), "ops".to_string())]),
        deletion_policy: DeletionPolicy::Delete,
        adopt: false,
    };
    let first = aws::reconcile_activity(&clients, &d).await.unwrap();
    assert_eq!(op_names(&first.operations), ["createActivity"]);
    assert_eq!(first.activity_arn, clients.activity_arn("demo-approval"));
    // CreateActivity is not idempotent on moto: observing first keeps it to one activity.
    let second = aws::reconcile_activity(&clients, &d).await.unwrap();
    assert_eq!(second.operations, vec![]);
    assert_eq!(second.calls.writes(), 0);
    let count = clients
        .sfn
        .list_activities()
        .send()
        .await
        .unwrap()
        .activities()
        .len();
    assert_eq!(count, 1);

    // A tag removed out of band comes back.
    clients
        .sfn
        .untag_resource()
        .resource_arn(&first.activity_arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let third = aws::reconcile_activity(&clients, &d).await.unwrap();
    assert_eq!(op_names(&third.operations), ["tagResource"]);

    let retained = aws::delete_activity(
        &clients,
        &DesiredActivity {
            deletion_policy: DeletionPolicy::Retain,
            ..d.clone()
        },
    )
    .await
    .unwrap();
    assert!(retained.retained);
    assert!(observe::activity(&clients, &d).await.unwrap().is_some());

    let deleted = aws::delete_activity(&clients, &d).await.unwrap();
    assert_eq!(op_names(&deleted.operations), ["deleteActivity"]);
    assert!(observe::activity(&clients, &d).await.unwrap().is_none());
}

/// Creates a role and a state machine out of band, with no owner tags.
async fn create_unowned(clients: &AwsClients, d: &DesiredMachine, tags: &[(&str, &str)]) -> String {
    let role = clients
        .iam
        .create_role()
        .role_name(role_name(d))
        .path(naming::ROLE_PATH)
        .assume_role_policy_document(trust_policy(clients.account_id()).to_string())
        .send()
        .await
        .unwrap();
    let mut create = clients
        .sfn
        .create_state_machine()
        .name(&d.name)
        .definition(definition("theirs").to_string())
        .role_arn(role.role().unwrap().arn());
    for (k, v) in tags {
        create = create.tags(aws_sdk_sfn::types::Tag::builder().key(*k).value(*v).build());
    }
    create.send().await.unwrap().state_machine_arn().to_string()
}

#[tokio::test]
async fn foreign_resources_are_left_alone() {
    let clients = moto_clients("foreign_resources").await;
    let d = desired_machine(&clients, "demo", "taken");
    let arn = create_unowned(
        &clients,
        &d,
        &[
            (naming::OWNER_TAG, "other/owner"),
            (naming::OWNER_UID_TAG, "x"),
        ],
    )
    .await;
    let before = clients.calls();
    let err = aws::reconcile_machine(&clients, &d).await.unwrap_err();
    assert!(matches!(err, AwsError::Plan(_)), "{err}");
    assert_eq!(err.metric_label(), "plan");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("not owned"), "{err}");
    assert_eq!(clients.calls().since(&before).writes(), 0);
    // Deleting our object does not delete what is not ours.
    let out = aws::delete_machine(&clients, &d).await.unwrap();
    assert_eq!(out.operations, vec![]);
    assert_eq!(live_definition(&clients, &arn).await, definition("theirs"));
    assert!(
        observe::role(&clients, &role_name(&d), Depth::Delete)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn adoption_takes_over_and_tags() {
    let clients = moto_clients("adoption").await;
    let mut d = desired_machine(&clients, "demo", "legacy");
    let arn = create_unowned(&clients, &d, &[]).await;
    assert!(aws::reconcile_machine(&clients, &d).await.is_err());
    d.adopt = true;
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    let names = op_names(&out.operations);
    assert_eq!(names[0], "tagRole", "{names:?}");
    assert!(
        names.contains(&"updateStateMachine".to_string()),
        "{names:?}"
    );
    assert_eq!(out.state_machine_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(live_definition(&clients, &arn).await, d.definition);
    assert_eq!(
        sfn_tags(&clients, &arn).await[naming::OWNER_TAG],
        "demo/legacy"
    );
    // Adopted: owned now, even without the annotation.
    d.adopt = false;
    let again = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(again.calls.writes(), 0, "{}", again.calls);
}

#[tokio::test]
async fn type_change_is_a_replacement_only_when_allowed() {
    let clients = moto_clients("type_change").await;
    let mut d = desired_machine(&clients, "demo", "typed");
    aws::reconcile_machine(&clients, &d).await.unwrap();
    d.machine_type = MachineType::Express;
    let err = aws::reconcile_machine(&clients, &d).await.unwrap_err();
    assert!(err.to_string().contains("type cannot change"), "{err}");
    d.allow_replace = true;
    let mut rounds = 0;
    let out = loop {
        rounds += 1;
        let out = aws::reconcile_machine(&clients, &d).await.unwrap();
        if !out.requeue {
            break out;
        }
        assert!(rounds < 5, "replacement did not finish");
    };
    assert!(
        rounds >= 2,
        "the delete and the create happen in separate rounds"
    );
    let live = observe::state_machine(&clients, out.state_machine_arn.as_ref().unwrap(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.machine_type, MachineType::Express);
    assert_eq!(state_machines_named(&clients, &d.name).await, 1);
}

#[tokio::test]
async fn publish_reports_the_version() {
    let clients = moto_clients("publish").await;
    let mut d = desired_machine(&clients, "demo", "versioned");
    d.publish = Some(sfn_operator::plan::PublishSpec {
        description: Some("first".into()),
    });
    let first = aws::reconcile_machine(&clients, &d).await.unwrap();
    let v1 = first.version_arn.clone().expect("a version");
    assert!(
        v1.starts_with(first.state_machine_arn.as_deref().unwrap()),
        "{v1}"
    );
    // The controller hands the reported version back (status.versionArn). Moto has no
    // ListStateMachineVersions, so looking it up is covered by the mocked tests.
    d.known_version_arn = Some(v1.clone());
    let second = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(second.calls.writes(), 0, "{}", second.calls);
    assert_eq!(second.version_arn.as_deref(), Some(v1.as_str()));
    d.definition = definition("v2");
    let third = aws::reconcile_machine(&clients, &d).await.unwrap();
    let v2 = third.version_arn.unwrap();
    assert_ne!(v1, v2);
}

#[tokio::test]
async fn clients_from_sdk_config_find_the_account() {
    // Without the account header moto answers for its default account.
    let clients = AwsClients::from_sdk_config(&sdk_config().await, test_settings())
        .await
        .unwrap();
    assert_eq!(clients.account_id(), "123456789012");
    assert_eq!(clients.region(), REGION);
    assert_eq!(clients.calls().get("sts:GetCallerIdentity"), 1);
}
