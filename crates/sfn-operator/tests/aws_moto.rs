//! The AWS layer against the moto server: create, update, drift, deletion, activities, adoption,
//! ownership, idempotency (zero writes on a second apply) and recovery from a fault in the middle of a
//! plan. Needs `.tools/venv/bin/moto_server` (installed by scripts/test) or `SFN_TEST_AWS_ENDPOINT`.

mod aws_support;

use std::collections::BTreeMap;

use aws_support::*;
use serde_json::json;
use sfn_api::naming;
use sfn_aws::observe::{self, Depth};
use sfn_aws::{self as aws, AwsClients, AwsError};
use sfn_plan::{
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

/// Whether the role `name` exists in the clients' account.
async fn role_exists(clients: &AwsClients, name: &str) -> bool {
    observe::role(clients, name, Depth::Delete)
        .await
        .unwrap()
        .is_some()
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
            "putMetricAlarm",
            "tagResource",
            "untagResource"
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
    assert!(sfn_plan::same_policy(
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
    assert!(!role_exists(&clients, &role_name(&d)).await);
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
    assert!(role_exists(&clients, &role_name(&d)).await);
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
    assert!(role_exists(&clients, &role_name(&d)).await);
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
    d.publish = Some(sfn_plan::PublishSpec {
        description: Some("first".into()),
    });
    let first = aws::reconcile_machine(&clients, &d).await.unwrap();
    let v1 = first.version_arn.clone().expect("a version");
    assert!(
        v1.starts_with(first.state_machine_arn.as_deref().unwrap()),
        "{v1}"
    );
    // The controller hands the reported version back (status.versionArn).
    d.known_version_arn = Some(v1.clone());
    let second = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(second.calls.writes(), 0, "{}", second.calls);
    assert_eq!(second.version_arn.as_deref(), Some(v1.as_str()));
    // Without it (a lost status), the version is found by listing versions, and nothing is published.
    d.known_version_arn = None;
    let relisted = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(relisted.calls.writes(), 0, "{}", relisted.calls);
    assert_eq!(relisted.version_arn.as_deref(), Some(v1.as_str()));
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

fn injected(code: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message("injected by the test")
        .build()
}

/// How a call fails.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The request never reaches AWS.
    NotSent,
    /// AWS applies the request, the response is lost (the caller sees an error).
    ResponseLost,
}

/// Applies `d` with one call failing, then applies again without faults: everything ends up converged,
/// nothing is duplicated, nothing is orphaned.
async fn fault_then_recover(
    case: &str,
    operation: &'static str,
    lost: aws_smithy_mocks::Rule,
    update_first: bool,
) {
    for kind in [Fault::NotSent, Fault::ResponseLost] {
        fault_case(case, operation, &lost, update_first, kind).await;
    }
}

async fn fault_case(
    case: &str,
    operation: &'static str,
    lost: &aws_smithy_mocks::Rule,
    update_first: bool,
    kind: Fault,
) {
    let case = format!("{case}-{kind:?}").to_lowercase();
    let test = format!("fault_{case}");
    let clean = moto_clients(&test).await;
    let mut d = desired_machine(&clean, "faults", &case);
    if update_first {
        aws::reconcile_machine(&clean, &d).await.unwrap();
        d.definition = definition("second");
    }
    let err = match kind {
        Fault::NotSent => {
            let fault = FailBeforeSend::new(operation);
            let faulty = moto_clients_faulty(&test, &[], Some(&fault)).await;
            let err = aws::reconcile_machine(&faulty, &d).await.unwrap_err();
            assert!(fault.fired(), "{case}: the fault was hit");
            err
        }
        Fault::ResponseLost => {
            let faulty = moto_clients_with(&test, &[lost]).await;
            let before = lost.num_calls();
            let err = aws::reconcile_machine(&faulty, &d).await.unwrap_err();
            assert_eq!(lost.num_calls(), before + 1, "{case}: the fault was hit");
            err
        }
    };
    assert!(err.to_string().contains("injected"), "{case}: {err}");

    let recovered = aws::reconcile_machine(&clean, &d).await.unwrap();
    if matches!(kind, Fault::NotSent) {
        assert!(
            !recovered.operations.is_empty(),
            "{case}: the rest was applied"
        );
    }
    let settled = aws::reconcile_machine(&clean, &d).await.unwrap();
    assert_eq!(settled.calls.writes(), 0, "{case}: {}", settled.calls);

    assert_eq!(state_machines_named(&clean, &d.name).await, 1, "{case}");
    let arn = settled.state_machine_arn.unwrap();
    assert_eq!(live_definition(&clean, &arn).await, d.definition, "{case}");
    assert_eq!(
        sfn_tags(&clean, &arn).await[SPEC_HASH_TAG],
        d.spec_hash(),
        "{case}"
    );
    let roles = clean
        .iam
        .list_roles()
        .path_prefix(naming::ROLE_PATH)
        .send()
        .await
        .unwrap();
    assert_eq!(roles.roles().len(), 1, "{case}: one role, no orphan");
    let alarms = observe::alarms(&clean, &naming::alarm_name_prefix(&d.name))
        .await
        .unwrap();
    assert_eq!(alarms.len(), 1, "{case}");
    assert_eq!(alarms[0].spec.dimensions[0].1, arn, "{case}");
}

#[tokio::test]
async fn a_fault_mid_plan_is_completed_by_the_next_apply() {
    use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmError;
    use aws_sdk_iam::operation::put_role_policy::PutRolePolicyError;
    use aws_sdk_sfn::operation::create_state_machine::CreateStateMachineError;
    use aws_sdk_sfn::operation::tag_resource::TagResourceError;
    use aws_smithy_mocks::mock;

    // After CreateRole, before its policy.
    let lost = mock!(aws_sdk_iam::Client::put_role_policy)
        .then_error(|| PutRolePolicyError::generic(injected("InjectedFault")));
    fault_then_recover("policy", "PutRolePolicy", lost, false).await;

    // Role and policy done, machine not created.
    let lost = mock!(aws_sdk_sfn::Client::create_state_machine)
        .then_error(|| CreateStateMachineError::generic(injected("InjectedFault")));
    fault_then_recover("machine", "CreateStateMachine", lost, false).await;

    // Machine created, alarm not.
    let lost = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
        .then_error(|| PutMetricAlarmError::generic(injected("InjectedFault")));
    fault_then_recover("alarm", "PutMetricAlarm", lost, false).await;

    // An update applied, but the spec-hash tag that records it not written.
    let lost = mock!(aws_sdk_sfn::Client::tag_resource)
        .then_error(|| TagResourceError::generic(injected("InjectedFault")));
    fault_then_recover("hash", "TagResource", lost, true).await;
}

#[tokio::test]
async fn a_fault_mid_deletion_is_completed_by_the_next_delete() {
    let clean = moto_clients("fault_deletion").await;
    let d = desired_machine(&clean, "faults", "deletion");
    let arn = aws::reconcile_machine(&clean, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    let fault = FailBeforeSend::new("DeleteStateMachine");
    let faulty = moto_clients_faulty("fault_deletion", &[], Some(&fault)).await;
    let err = aws::delete_machine(&faulty, &d).await.unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    // The alarms went first; the machine and the role are still there, still ours.
    assert!(
        observe::alarms(&clean, &naming::alarm_name_prefix(&d.name))
            .await
            .unwrap()
            .is_empty()
    );
    let out = aws::delete_machine(&clean, &d).await.unwrap();
    assert_eq!(
        op_names(&out.operations),
        ["deleteStateMachine", "deleteRolePolicy", "deleteRole"]
    );
    let gone = observe::state_machine(&clean, &arn, false).await.unwrap();
    assert!(gone.as_ref().is_none_or(|m| m.is_deleting()));
    assert!(!role_exists(&clean, &role_name(&d)).await);
}

/// The "AWS calls per reconcile" figures of BENCHMARKS.md. Rerun with
/// `cargo test -p sfn-operator --test aws_moto calls_per_reconcile -- --nocapture`.
#[tokio::test]
async fn calls_per_reconcile() {
    let clients = moto_clients("calls_per_reconcile").await;
    let managed = desired_machine(&clients, "cost", "managed");
    let mut external = desired_machine(&clients, "cost", "external");
    external.role = DesiredRole::External {
        arn: format!("arn:aws:iam::{}:role/theirs", clients.account_id()),
    };
    external.alarms.clear();
    let mut quiet = desired_machine(&clients, "cost", "quiet");
    quiet.alarms.clear();

    let mut rows = Vec::new();
    for (label, d) in [
        ("managed role, 1 inline policy, 1 alarm", &managed),
        ("managed role, 1 inline policy, no alarms", &quiet),
        ("own role (spec.roleArn), no alarms", &external),
    ] {
        let first = aws::reconcile_machine(&clients, d).await.unwrap();
        let unchanged = aws::reconcile_machine(&clients, d).await.unwrap();
        assert_eq!(unchanged.calls.writes(), 0, "{label}: {}", unchanged.calls);
        rows.push(format!(
            "| {label} | first creation | {} | {} | {} |",
            first.calls.reads(),
            first.calls.writes(),
            first.calls
        ));
        rows.push(format!(
            "| {label} | unchanged | {} | {} | {} |",
            unchanged.calls.reads(),
            unchanged.calls.writes(),
            unchanged.calls
        ));
    }
    let unchanged = aws::reconcile_machine(&clients, &managed).await.unwrap();
    // DescribeStateMachine, ListTagsForResource, GetRole, ListRolePolicies, GetRolePolicy, DescribeAlarms.
    assert_eq!(unchanged.calls.reads(), 6, "{}", unchanged.calls);
    let unchanged = aws::reconcile_machine(&clients, &external).await.unwrap();
    // DescribeStateMachine, ListTagsForResource: no alarms wanted and none left over from the last spec.
    assert_eq!(unchanged.calls.reads(), 2, "{}", unchanged.calls);

    println!("| machine | reconcile | reads | writes | calls |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}

/// With the shared role listing (the controller's default), an unchanged machine with a managed role and an
/// alarm costs 4 reads (DescribeStateMachine, ListTagsForResource, the listing, DescribeAlarms), and a second
/// machine within the listing's age 3; drift of the role made out of band is still found and put back once
/// the listing has aged, from direct reads.
#[tokio::test]
async fn idle_reconciles_share_one_role_listing_and_still_find_drift() {
    let max_age = std::time::Duration::from_millis(400);
    let settings = aws::AwsSettings {
        role_listing_max_age: Some(max_age),
        ..test_settings()
    };
    let clients = moto_clients_configured("role_listing", &[], None, settings).await;
    let first = desired_machine(&clients, "idle", "first");
    let second = desired_machine(&clients, "idle", "second");
    for d in [&first, &second] {
        aws::reconcile_machine(&clients, d).await.unwrap();
    }

    let unchanged = aws::reconcile_machine(&clients, &first).await.unwrap();
    assert_eq!(unchanged.calls.writes(), 0, "{}", unchanged.calls);
    assert_eq!(unchanged.calls.reads(), 4, "{}", unchanged.calls);
    assert_eq!(
        unchanged.calls.get("iam:GetAccountAuthorizationDetails"),
        1,
        "{}",
        unchanged.calls
    );
    let shared = aws::reconcile_machine(&clients, &second).await.unwrap();
    assert_eq!(shared.calls.writes(), 0, "{}", shared.calls);
    // DescribeStateMachine, ListTagsForResource, DescribeAlarms: the listing is shared.
    assert_eq!(shared.calls.reads(), 3, "{}", shared.calls);

    // Out of band: the inline policy widened, another one added, the trust policy opened up.
    let role = role_name(&first);
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
        .iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("added-by-hand")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    clients
        .iam
        .update_assume_role_policy()
        .role_name(&role)
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    tokio::time::sleep(max_age + std::time::Duration::from_millis(50)).await;
    let fixed = aws::reconcile_machine(&clients, &first).await.unwrap();
    assert!(fixed.drift_corrected);
    let names = op_names(&fixed.operations);
    for op in [
        "updateAssumeRolePolicy",
        "putRolePolicy",
        "deleteRolePolicy",
    ] {
        assert!(names.iter().any(|n| n == op), "{op} missing from {names:?}");
    }
    // The plan with operations was made again from direct reads.
    assert_eq!(fixed.calls.get("iam:GetRole"), 1, "{}", fixed.calls);
    let live_role = observe::role(&clients, &role, Depth::Reconcile)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live_role.policies.len(), 1, "{:?}", live_role.policies);
    assert!(sfn_plan::same_policy(
        &live_role.policies["sfn-operator"],
        &task_policy(clients.account_id())
    ));

    // The listing is older than that write, so it does not answer for this role until it is refreshed.
    let after = aws::reconcile_machine(&clients, &first).await.unwrap();
    assert_eq!(after.calls.writes(), 0, "{}", after.calls);
    assert_eq!(after.calls.get("iam:GetRole"), 1, "{}", after.calls);
    tokio::time::sleep(max_age + std::time::Duration::from_millis(50)).await;
    let settled = aws::reconcile_machine(&clients, &first).await.unwrap();
    assert_eq!(settled.calls.writes(), 0, "{}", settled.calls);
    assert_eq!(settled.calls.reads(), 4, "{}", settled.calls);
}

#[tokio::test]
async fn one_shot_apply_and_live_plan() {
    use sfn_operator::apply::{Target, apply_targets, plan_live};

    let clients = moto_clients("one_shot_apply").await;
    let machine = desired_machine(&clients, "ci", "pipeline");
    let activity = DesiredActivity {
        owner: Owner {
            namespace: "ci".into(),
            name: "gate".into(),
            uid: "uid-gate".into(),
        },
        name: "ci-gate".into(),
        tags: BTreeMap::new(),
        deletion_policy: DeletionPolicy::Delete,
        adopt: false,
    };
    let targets = vec![
        Target::Machine(Box::new(machine.clone())),
        Target::Activity(activity),
    ];

    // The live plan shows everything to create and creates nothing.
    let mut out = Vec::new();
    let reports = plan_live(&clients, &targets, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(clients.calls().writes(), 0, "{}", clients.calls());
    assert!(
        text.starts_with("Activity ci/gate (ci-gate):\n  + create activity ci-gate\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "StateMachine ci/pipeline (ci-pipeline):\n  + create role /sfn-operator/ci-pipeline\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  + create STANDARD state machine ci-pipeline\n"),
        "{text}"
    );
    assert_eq!(reports[1].operations.len(), 4);

    let mut out = Vec::new();
    let reports = apply_targets(&clients, &targets, &mut out).await.unwrap();
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!(
            "  arn: {}\n",
            clients.state_machine_arn("ci-pipeline")
        )),
        "{text}"
    );

    // Applying again changes nothing; the live plan agrees.
    let before = clients.calls();
    let mut out = Vec::new();
    apply_targets(&clients, &targets, &mut out).await.unwrap();
    assert_eq!(clients.calls().since(&before).writes(), 0);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("no changes").count(), 2, "{text}");

    // A foreign machine is an error for that object only.
    let mut other = desired_machine(&clients, "ci", "pipeline");
    other.owner.uid = "someone-else".into();
    let mut out = Vec::new();
    let reports = plan_live(&clients, &[Target::Machine(Box::new(other))], &mut out)
        .await
        .unwrap();
    assert!(reports[0].error.as_ref().unwrap().contains("not owned"));
    assert!(String::from_utf8(out).unwrap().contains("error (plan)"));
}

#[tokio::test]
async fn settings_round_trip_and_removed_alarms_go() {
    use sfn_plan::LoggingSpec;

    let clients = moto_clients("settings_round_trip").await;
    let mut d = desired_machine(&clients, "demo", "settings");
    aws::reconcile_machine(&clients, &d).await.unwrap();

    d.tracing = true;
    d.logging = Some(LoggingSpec {
        level: "ERROR".into(),
        include_execution_data: true,
        log_group_arn: Some(format!(
            "arn:aws:logs:us-east-1:{}:log-group:/sfn/demo-settings:*",
            clients.account_id()
        )),
    });
    d.alarms.clear();
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        op_names(&out.operations),
        ["updateStateMachine", "deleteAlarms", "tagResource"]
    );
    // Read back as written: the next reconcile sees no difference.
    let again = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(again.operations, vec![], "{:?}", again.operations);
    assert!(
        observe::alarms(&clients, &naming::alarm_name_prefix(&d.name))
            .await
            .unwrap()
            .is_empty()
    );
    // Someone else's alarm under our prefix is not ours to delete.
    clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(naming::alarm_name(&d.name, "theirs"))
        .namespace("AWS/States")
        .metric_name("ExecutionsFailed")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(out.operations, vec![]);
    // No alarm wanted, none left over: alarms are not even listed.
    assert_eq!(out.calls.get("cloudwatch:DescribeAlarms"), 0);
    // With an alarm wanted again, the foreign one is listed, its owner checked, and left alone.
    d.alarms = vec![failed_alarm(&d.name)];
    aws::reconcile_machine(&clients, &d).await.unwrap();
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(out.operations, vec![]);
    assert_eq!(out.calls.get("cloudwatch:ListTagsForResource"), 1);
    assert_eq!(
        observe::alarms(&clients, &naming::alarm_name_prefix(&d.name))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_failed_alarm_removal_is_retried_not_forgotten() {
    let clean = moto_clients("fault_alarm_removal").await;
    let mut d = desired_machine(&clean, "faults", "alarm-removal");
    aws::reconcile_machine(&clean, &d).await.unwrap();
    d.alarms.clear();
    let fault = FailBeforeSend::new("DeleteAlarms");
    let faulty = moto_clients_faulty("fault_alarm_removal", &[], Some(&fault)).await;
    aws::reconcile_machine(&faulty, &d).await.unwrap_err();
    assert!(fault.fired());
    // The spec hash was not recorded, so the alarms are listed again and the stale one goes.
    let out = aws::reconcile_machine(&clean, &d).await.unwrap();
    assert_eq!(op_names(&out.operations), ["deleteAlarms", "tagResource"]);
    assert!(
        observe::alarms(&clean, &naming::alarm_name_prefix(&d.name))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn tests_are_isolated_by_account() {
    let a = moto_clients("isolation_a").await;
    let b = moto_clients("isolation_b").await;
    assert_ne!(a.account_id(), b.account_id());
    let d = desired_machine(&a, "iso", "machine");
    let arn = aws::reconcile_machine(&a, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    assert!(arn.contains(a.account_id()), "{arn}");
    assert_eq!(state_machines_named(&b, &d.name).await, 0);
    assert!(
        observe::role(&b, &role_name(&d), Depth::Reconcile)
            .await
            .unwrap()
            .is_none()
    );
}

/// A StateMachine with `tasks` Lambda tasks, each on its own function, built the way the controller does.
fn big_machine(clients: &AwsClients, name: &str, tasks: usize) -> DesiredMachine {
    let states: Vec<serde_json::Value> = (0..tasks)
        .map(|i| {
            let mut state = json!({
                "name": format!("Step {i}"),
                "type": "Task",
                "resource": format!(
                    "arn:aws:lambda:{}:{}:function:big-policy-function-number-{i}",
                    clients.region(),
                    clients.account_id()
                ),
            });
            if i + 1 < tasks {
                state["next"] = json!(format!("Step {}", i + 1));
            } else {
                state["end"] = json!(true);
            }
            state
        })
        .collect();
    let sm: sfn_api::StateMachine = serde_json::from_value(json!({
        "apiVersion": "sfn.operator.dev/v1alpha1",
        "kind": "StateMachine",
        "metadata": {"name": name, "namespace": "big", "uid": format!("uid-big-{name}")},
        "spec": {"definition": {"states": states}},
    }))
    .unwrap();
    let settings = sfn_plan::desired::Settings {
        partition: "aws".into(),
        region: clients.region().to_string(),
        account_id: clients.account_id().to_string(),
        default_deletion_policy: DeletionPolicy::Delete,
        default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
        guardrails: Default::default(),
    };
    sfn_plan::desired::build(&sm, &sfn_asl::MapResolver::default(), &settings)
        .unwrap()
        .desired
}

#[tokio::test]
async fn a_policy_too_large_for_inline_goes_into_managed_policies() {
    let clients = moto_clients("big_policy").await;
    let d = big_machine(&clients, "many-lambdas", 150);
    let DesiredRole::Managed(role) = &d.role else {
        panic!("managed role expected")
    };
    assert!(role.policies.is_empty(), "{:?}", role.policies);
    assert!(!role.managed_policies.is_empty());
    let total: usize = role
        .managed_policies
        .iter()
        .map(|p| sfn_iam::policy_size(&p.document))
        .sum();
    assert!(total > sfn_iam::INLINE_ROLE_POLICY_LIMIT, "{total}");
    let wanted: Vec<String> = role
        .managed_policies
        .iter()
        .map(|p| p.arn.clone())
        .collect();

    let first = aws::reconcile_machine(&clients, &d).await.unwrap();
    let ops = op_names(&first.operations);
    assert_eq!(
        ops.iter().filter(|o| *o == "createPolicy").count(),
        wanted.len(),
        "{ops:?}"
    );
    assert!(!ops.iter().any(|o| o == "putRolePolicy"), "{ops:?}");

    let live = observe::role(&clients, &role.name, Depth::Reconcile)
        .await
        .unwrap()
        .unwrap();
    assert!(live.policies.is_empty(), "{:?}", live.policies.keys());
    let mut attached = live.attached_policy_arns.clone();
    attached.sort();
    let mut expected = wanted.clone();
    expected.sort();
    assert_eq!(attached, expected);
    for (policy, want) in live.managed_policies.iter().zip(&role.managed_policies) {
        assert!(
            sfn_plan::same_policy(&policy.document, &want.document),
            "{}",
            policy.arn
        );
    }
    let tags = clients
        .iam
        .list_policy_tags()
        .policy_arn(&wanted[0])
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == naming::OWNER_TAG && t.value() == "big/many-lambdas"),
        "{:?}",
        tags.tags()
    );

    // The second apply only reads.
    let second = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(second.operations, vec![]);
    assert_eq!(second.calls.writes(), 0, "{}", second.calls);

    // Deleting removes the policies with the role.
    let out = aws::delete_machine(&clients, &d).await.unwrap();
    let ops = op_names(&out.operations);
    assert_eq!(
        ops.iter().filter(|o| *o == "deletePolicy").count(),
        wanted.len(),
        "{ops:?}"
    );
    assert_eq!(ops.last().map(String::as_str), Some("deleteRole"));
    for arn in &wanted {
        let gone = clients.iam.get_policy().policy_arn(arn).send().await;
        assert!(gone.is_err(), "{arn} still exists");
    }
    assert!(!role_exists(&clients, &role.name).await);
}

/// moto 5.2.5 does not implement ValidateStateMachineDefinition: it answers HTTP 500 with an HTML page
/// (the server logs `NotImplementedError`). That is the "unavailable" case: a reason, no verdict, and
/// nothing else in the account is touched.
#[tokio::test]
async fn aws_validation_against_moto_is_unavailable() {
    let clients = moto_clients("aws_validation_against_moto").await;
    let d = desired_machine(&clients, "demo", "validated");
    let answer = aws::validate_definition(&clients, &d.definition, d.machine_type).await;
    match answer {
        aws::Validation::Unavailable { reason, .. } => {
            assert!(
                reason.contains("sfn:ValidateStateMachineDefinition"),
                "{reason}"
            );
        }
        other => panic!("moto now answers the validation: {other:?}"),
    }
    let calls = clients.calls();
    assert_eq!(
        calls.get("sfn:ValidateStateMachineDefinition"),
        1,
        "{calls}"
    );
    assert_eq!(calls.writes(), 0, "{calls}");
}

/// The audit of a bring-your-own role reads its inline policies and the default version of its attached
/// managed policies (a role under a path, named by the last segment of its ARN).
#[tokio::test]
async fn a_bring_your_own_roles_policies_are_read_for_the_audit() {
    let clients = moto_clients("byo_role_policies").await;
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role = clients
        .iam
        .create_role()
        .role_name("byo-audited")
        .path("/team/")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("role created");
    let role_arn = role.role().expect("a role").arn().to_string();
    assert!(role_arn.ends_with(":role/team/byo-audited"), "{role_arn}");
    let inline = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "lambda:InvokeFunction", "Resource": "*"}]});
    clients
        .iam
        .put_role_policy()
        .role_name("byo-audited")
        .policy_name("invoke")
        .policy_document(inline.to_string())
        .send()
        .await
        .expect("inline policy put");
    let v1 = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:old"}]});
    let managed = clients
        .iam
        .create_policy()
        .policy_name("byo-publish")
        .policy_document(v1.to_string())
        .send()
        .await
        .expect("managed policy created");
    let policy_arn = managed
        .policy()
        .and_then(|p| p.arn())
        .expect("an ARN")
        .to_string();
    // A second, default version: the audit must read that one, not the first.
    let v2 = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:done"}]});
    clients
        .iam
        .create_policy_version()
        .policy_arn(&policy_arn)
        .policy_document(v2.to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("policy version created");
    clients
        .iam
        .attach_role_policy()
        .role_name("byo-audited")
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("policy attached");

    let before = clients.calls();
    let read = aws::read_role_policies(&clients, &role_arn).await;
    let calls = clients.calls().since(&before);
    let aws::RolePolicies::Read(policies) = read else {
        panic!("expected the policies, got {read:?}");
    };
    assert_eq!(
        policies,
        vec![
            ("inline policy invoke".to_string(), inline),
            (format!("managed policy {policy_arn}"), v2),
        ]
    );
    assert_eq!(calls.writes(), 0, "{calls}");
    for api in [
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ] {
        assert_eq!(calls.get(api), 1, "{api}: {calls}");
    }

    let missing =
        aws::read_role_policies(&clients, &role_arn.replace("byo-audited", "byo-absent")).await;
    assert_eq!(
        missing,
        aws::RolePolicies::Unavailable {
            reason: "role byo-absent not found".into()
        }
    );
}

/// The machine of [`desired_machine`] logging to a log group the operator owns.
fn with_owned_log_group(clients: &AwsClients, d: &mut DesiredMachine, retention: i32) -> String {
    let name = naming::owned_log_group_name(&d.owner.namespace, &d.owner.name);
    d.logging = Some(sfn_plan::LoggingSpec {
        level: "ERROR".into(),
        include_execution_data: false,
        log_group_arn: Some(clients.log_group_arn(&name)),
    });
    d.log_group = Some(sfn_plan::DesiredLogGroup {
        name: name.clone(),
        retention_in_days: retention,
        kms_key_id: None,
    });
    name
}

async fn raw_log_group(
    clients: &AwsClients,
    name: &str,
) -> Option<aws_sdk_cloudwatchlogs::types::LogGroup> {
    clients
        .logs
        .as_ref()
        .unwrap()
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .cloned()
}

#[tokio::test]
async fn an_owned_log_group_is_created_kept_in_line_and_deleted() {
    let clients = moto_clients("owned_log_group").await;
    let mut d = desired_machine(&clients, "demo", "logged");
    let name = with_owned_log_group(&clients, &mut d, 30);
    assert_eq!(name, "/aws/vendedlogs/states/demo/logged");

    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    let ops = op_names(&out.operations);
    let create = ops
        .iter()
        .position(|o| o == "createLogGroup")
        .expect("created");
    let machine = ops.iter().position(|o| o == "createStateMachine").unwrap();
    assert!(create < machine, "{ops:?}");
    let live = observe::log_group(&clients, &name)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(live.retention_in_days, Some(30));
    assert!(d.owner.owns(&live.tags), "{:?}", live.tags);
    assert_eq!(live.tags.get("team").map(String::as_str), Some("payments"));
    let machine_logging =
        observe::state_machine(&clients, out.state_machine_arn.as_deref().unwrap(), false)
            .await
            .unwrap()
            .unwrap()
            .logging
            .unwrap();
    assert_eq!(machine_logging.level, "ERROR");
    assert_eq!(
        machine_logging
            .log_group_arn
            .as_deref()
            .map(|a| a.trim_end_matches(":*")),
        Some(clients.log_group_arn(&name).trim_end_matches(":*"))
    );

    let again = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(again.calls.writes(), 0, "{}", again.calls);
    assert_eq!(
        again.calls.get("logs:DescribeLogGroups"),
        1,
        "{}",
        again.calls
    );

    // Out of band: retention removed, a tag changed. Both are put back.
    let logs = clients.logs.as_ref().unwrap();
    logs.delete_retention_policy()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    logs.tag_resource()
        .resource_arn(&live.arn)
        .tags("team", "someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw_log_group(&clients, &name)
            .await
            .unwrap()
            .retention_in_days(),
        None
    );
    let fixed = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        op_names(&fixed.operations),
        ["putRetentionPolicy", "tagLogGroup"],
        "{}",
        fixed.calls
    );
    let live = observe::log_group(&clients, &name).await.unwrap().unwrap();
    assert_eq!(live.retention_in_days, Some(30));
    assert_eq!(live.tags.get("team").map(String::as_str), Some("payments"));

    // A spec change of the retention.
    with_owned_log_group(&clients, &mut d, 365);
    let changed = aws::reconcile_machine(&clients, &d).await.unwrap();
    // The spec hash on the state machine follows the change.
    assert_eq!(
        op_names(&changed.operations),
        ["putRetentionPolicy", "tagResource"]
    );
    assert_eq!(
        raw_log_group(&clients, &name)
            .await
            .unwrap()
            .retention_in_days(),
        Some(365)
    );

    let deleted = aws::delete_machine(&clients, &d).await.unwrap();
    let ops = op_names(&deleted.operations);
    let machine = ops.iter().position(|o| o == "deleteStateMachine").unwrap();
    let group = ops
        .iter()
        .position(|o| o == "deleteLogGroup")
        .expect("deleted");
    assert!(machine < group, "{ops:?}");
    assert!(raw_log_group(&clients, &name).await.is_none());
}

#[tokio::test]
async fn a_retained_machine_keeps_its_log_group_and_foreign_groups_are_refused() {
    let clients = moto_clients("owned_log_group_retain").await;
    let mut d = desired_machine(&clients, "demo", "kept-logs");
    let name = with_owned_log_group(&clients, &mut d, 14);
    aws::reconcile_machine(&clients, &d).await.unwrap();
    d.deletion_policy = DeletionPolicy::Retain;
    let out = aws::delete_machine(&clients, &d).await.unwrap();
    assert!(out.retained);
    assert_eq!(
        raw_log_group(&clients, &name)
            .await
            .unwrap()
            .retention_in_days(),
        Some(14)
    );

    // A group of the same name that someone else made is not taken over.
    let mut other = desired_machine(&clients, "demo", "foreign-logs");
    let foreign = with_owned_log_group(&clients, &mut other, 14);
    clients
        .logs
        .as_ref()
        .unwrap()
        .create_log_group()
        .log_group_name(&foreign)
        .send()
        .await
        .unwrap();
    let err = aws::reconcile_machine(&clients, &other)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("log group") && err.contains(&foreign), "{err}");
    assert_eq!(
        raw_log_group(&clients, &foreign)
            .await
            .unwrap()
            .retention_in_days(),
        None
    );
}

async fn put_alarm(clients: &AwsClients, name: &str) {
    clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/States")
        .metric_name("ExecutionsFailed")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .send()
        .await
        .expect("alarm created");
}

async fn set_alarm_state(clients: &AwsClients, name: &str, state: &str) {
    clients
        .cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
        .state_reason("set by the test")
        .send()
        .await
        .expect("alarm state set");
}

#[tokio::test]
async fn alarm_states_are_read_by_name_and_missing_ones_are_none() {
    use sfn_plan::rollout::AlarmState;
    let clients = moto_clients("alarm_states_by_name").await;
    for name in ["gate-ok", "gate-alarm", "gate-insufficient"] {
        put_alarm(&clients, name).await;
    }
    set_alarm_state(&clients, "gate-ok", "OK").await;
    set_alarm_state(&clients, "gate-alarm", "ALARM").await;
    set_alarm_state(&clients, "gate-insufficient", "INSUFFICIENT_DATA").await;

    let names: Vec<String> = ["gate-alarm", "gate-absent", "gate-ok", "gate-insufficient"]
        .map(String::from)
        .to_vec();
    let states = observe::alarm_states(&clients, &names).await.unwrap();
    assert_eq!(
        states,
        vec![
            ("gate-alarm".to_string(), Some(AlarmState::Alarm)),
            ("gate-absent".to_string(), None),
            ("gate-ok".to_string(), Some(AlarmState::Ok)),
            (
                "gate-insufficient".to_string(),
                Some(AlarmState::InsufficientData)
            ),
        ]
    );

    // A state change is seen on the next read.
    set_alarm_state(&clients, "gate-alarm", "OK").await;
    let again = observe::alarm_states(&clients, &names[..1]).await.unwrap();
    assert_eq!(
        again,
        vec![("gate-alarm".to_string(), Some(AlarmState::Ok))]
    );

    // More names than one request takes: split into requests of 100, every answer kept.
    let mut many: Vec<String> = (0..150).map(|i| format!("gate-absent-{i}")).collect();
    many.push("gate-ok".into());
    let before = clients.calls();
    let states = observe::alarm_states(&clients, &many).await.unwrap();
    let calls = clients.calls().since(&before);
    assert_eq!(calls.get("cloudwatch:DescribeAlarms"), 2, "{calls}");
    assert_eq!(states.len(), 151);
    assert_eq!(states[150], ("gate-ok".to_string(), Some(AlarmState::Ok)));
    assert!(states[..150].iter().all(|(_, s)| s.is_none()));

    // Nothing asked, nothing sent.
    let before = clients.calls();
    assert_eq!(observe::alarm_states(&clients, &[]).await.unwrap(), vec![]);
    assert_eq!(clients.calls().since(&before).total(), 0);
}

/// An identity of the tests: `hops` roles assumed in order, in `region`.
fn identity(name: &str, region: Option<&str>, hops: &[(&str, Option<&str>)]) -> sfn_plan::Identity {
    sfn_plan::Identity {
        name: name.to_owned(),
        region: region.map(str::to_owned),
        role_chain: hops
            .iter()
            .map(|(arn, external_id)| sfn_api::AssumeRoleHop {
                role_arn: (*arn).to_owned(),
                external_id: external_id.map(str::to_owned),
                session_name: None,
            })
            .collect(),
    }
}

async fn machines_in(clients: &AwsClients) -> Vec<String> {
    clients
        .sfn
        .list_state_machines()
        .send()
        .await
        .unwrap()
        .state_machines()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// Two identities in two accounts (one through a two-hop chain with an external id, one in another
/// region): each machine lands in its own account and region with its own credentials, a refused hop is
/// reported by its role and leaves the others working, and cleanup removes each account's resources.
/// moto assumes any role (it keeps no trust policies), so the refusal comes from a request STS rejects: a
/// session name over 64 characters.
#[tokio::test]
async fn identities_put_each_namespace_in_its_own_account() {
    let config = sdk_config().await;
    let own = AwsClients::from_sdk_config(&config, test_settings())
        .await
        .unwrap();
    let pool = aws::ClientPool::new(config, own);
    let (hub, team_a, team_b) = (
        account_for("identities-hub"),
        account_for("identities-team-a"),
        account_for("identities-team-b"),
    );
    let a = identity(
        "team-a",
        None,
        &[
            (&format!("arn:aws:iam::{hub}:role/hub"), None),
            (
                &format!("arn:aws:iam::{team_a}:role/sfn-operator"),
                Some("team-a-ext"),
            ),
        ],
    );
    let b = identity(
        "team-b",
        Some("eu-west-1"),
        &[(&format!("arn:aws:iam::{team_b}:role/sfn-operator"), None)],
    );
    let clients_a = pool.clients(Some(&a)).await.unwrap();
    let clients_b = pool.clients(Some(&b)).await.unwrap();
    assert_eq!(clients_a.account_id(), team_a, "the last hop's account");
    assert_eq!(clients_a.region(), REGION, "no region: the operator's own");
    assert_eq!(clients_b.account_id(), team_b);
    assert_eq!(clients_b.region(), "eu-west-1");
    assert_eq!(pool.own().account_id(), "123456789012");
    // Cached: a second use assumes nothing.
    let assumed = pool.calls().get("sts:AssumeRole");
    assert_eq!(assumed, 3, "{}", pool.calls());
    let again = pool.clients(Some(&a)).await.unwrap();
    assert_eq!(again.account_id(), team_a);
    assert_eq!(pool.calls().get("sts:AssumeRole"), assumed);

    let da = desired_machine(&clients_a, "team-a", "orders");
    let db = desired_machine(&clients_b, "team-b", "orders");
    let arn_a = aws::reconcile_machine(&clients_a, &da)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    let arn_b = aws::reconcile_machine(&clients_b, &db)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    assert_eq!(
        arn_a,
        format!("arn:aws:states:{REGION}:{team_a}:stateMachine:team-a-orders")
    );
    assert_eq!(
        arn_b,
        format!("arn:aws:states:eu-west-1:{team_b}:stateMachine:team-b-orders")
    );
    assert_eq!(machines_in(&clients_a).await, ["team-a-orders"]);
    assert_eq!(machines_in(&clients_b).await, ["team-b-orders"]);
    assert!(
        machines_in(pool.own()).await.is_empty(),
        "nothing lands in the operator's own account"
    );
    assert!(role_exists(&clients_a, &role_name(&da)).await);
    assert!(!role_exists(pool.own(), &role_name(&da)).await);

    // A hop STS refuses: reported with the identity and the role, the other identities unaffected.
    let mut refused = identity(
        "revoked",
        None,
        &[(&format!("arn:aws:iam::{team_a}:role/revoked"), None)],
    );
    refused.role_chain[0].session_name = Some("s".repeat(65));
    match pool.clients(Some(&refused)).await {
        Err(AwsError::IdentityUnavailable {
            identity, role_arn, ..
        }) => {
            assert_eq!(identity, "revoked");
            assert_eq!(role_arn, format!("arn:aws:iam::{team_a}:role/revoked"));
        }
        other => panic!("expected IdentityUnavailable, got {other:?}"),
    }
    let still = aws::reconcile_machine(&clients_b, &db).await.unwrap();
    assert!(still.operations.is_empty(), "{:?}", still.operations);

    // Cleanup with each identity removes what is in its account.
    aws::delete_machine(&clients_a, &da).await.unwrap();
    aws::delete_machine(&clients_b, &db).await.unwrap();
    for (clients, d) in [(&clients_a, &da), (&clients_b, &db)] {
        let live = machines_in(clients).await;
        for name in &live {
            let arn = clients.state_machine_arn(name);
            let m = observe::state_machine(clients, &arn, false).await.unwrap();
            assert!(m.is_none_or(|m| m.is_deleting()), "{name} is still live");
        }
        assert!(!role_exists(clients, &role_name(d)).await);
    }
}

/// A machine whose role was created before role names carried the region keeps that role: the desired
/// state names the regional role, the live machine runs with the old one, and the reconcile adopts it
/// instead of creating a second role (so `sfn-operator apply` and objects restored without status change
/// nothing). Deletion removes the old role.
#[tokio::test]
async fn a_role_named_before_regions_is_kept() {
    let clients = moto_clients("legacy_role_name").await;
    let before = desired_machine(&clients, "demo", "legacy");
    let legacy = role_name(&before);
    assert_eq!(legacy, "demo-legacy", "the fixture uses the old naming");
    let created = aws::reconcile_machine(&clients, &before).await.unwrap();
    assert!(
        created
            .role_arn
            .as_deref()
            .unwrap()
            .ends_with("/demo-legacy")
    );

    let mut now = before.clone();
    let regional = naming::regional_role_name("", &now.name, REGION);
    if let DesiredRole::Managed(role) = &now.role {
        now.role = DesiredRole::Managed(role.renamed(&regional));
    }
    now.legacy_role_name = Some(legacy.clone());
    let again = aws::reconcile_machine(&clients, &now).await.unwrap();
    assert_eq!(again.operations, vec![], "nothing to change");
    assert_eq!(again.role_arn, created.role_arn, "the old role is kept");
    assert!(!role_exists(&clients, &regional).await, "no second role");
    assert_eq!(
        aws::plan_machine_live(&clients, &now).await.unwrap(),
        vec![]
    );

    let out = aws::delete_machine(&clients, &now).await.unwrap();
    assert!(op_names(&out.operations).contains(&"deleteRole".to_string()));
    assert!(!role_exists(&clients, &legacy).await);
}

/// A new machine (no live one) gets the regional role name.
#[tokio::test]
async fn a_new_machine_gets_the_regional_role() {
    let clients = moto_clients("regional_role_name").await;
    let mut d = desired_machine(&clients, "demo", "fresh");
    let regional = naming::regional_role_name("", &d.name, REGION);
    if let DesiredRole::Managed(role) = &d.role {
        d.role = DesiredRole::Managed(role.renamed(&regional));
    }
    d.legacy_role_name = Some(role_name(&desired_machine(&clients, "demo", "fresh")));
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert!(
        out.role_arn
            .as_deref()
            .unwrap()
            .ends_with("/demo-fresh-use1"),
        "{:?}",
        out.role_arn
    );
}

/// The execution sample against moto's executions (in its default mode they stay RUNNING until stopped, and a
/// stop makes them ABORTED): the summary, its bound on what is read, and the reads each case costs.
#[tokio::test]
async fn execution_samples_are_bounded_and_describe_a_failure_once() {
    use sfn_plan::executions::PAGE_SIZE;
    let clients = moto_clients("execution_samples").await;
    let d = desired_machine(&clients, "demo", "sampled");
    let arn = aws::reconcile_machine(&clients, &d)
        .await
        .unwrap()
        .state_machine_arn
        .unwrap();
    let sample = |previous: Option<sfn_api::ExecutionsStatus>| {
        let clients = clients.clone();
        let arn = arn.clone();
        async move {
            let before = clients.calls();
            let summary =
                aws::sample_executions(&clients, &arn, previous.as_ref(), jiff::Timestamp::now())
                    .await
                    .expect("a sample");
            (summary, clients.calls().since(&before))
        }
    };

    // No executions: one read, an exact empty summary.
    let (empty, calls) = sample(None).await;
    assert_eq!(empty, sfn_api::ExecutionsStatus::default());
    assert_eq!(calls.total(), 1, "{calls}");

    // More executions than a page: the counts are lower bounds, and with no failure in the page the
    // newest FAILED one is looked for beyond it.
    let count = PAGE_SIZE as usize + 1;
    for n in 0..count {
        clients
            .sfn
            .start_execution()
            .state_machine_arn(&arn)
            .name(format!("run-{n:03}"))
            .input("{}")
            .send()
            .await
            .expect("StartExecution");
    }
    let (busy, calls) = sample(Some(empty)).await;
    assert!(busy.truncated, "{busy:?}");
    assert_eq!(
        (busy.read, busy.running),
        (PAGE_SIZE as u32, PAGE_SIZE as u32)
    );
    assert_eq!(busy.failures_last_hour, 0);
    assert_eq!(busy.last_failed, None);
    assert_eq!(
        (calls.get("sfn:ListExecutions"), calls.total()),
        (2, 2),
        "{calls}"
    );

    // The newest is stopped: ABORTED counts as a failure, found in the page, described once.
    let newest = busy.last_started.clone().expect("a last started execution");
    clients
        .sfn
        .stop_execution()
        .execution_arn(
            sfn_aws::executions::execution_arn(&arn, &newest.name).expect("an execution ARN"),
        )
        .send()
        .await
        .expect("StopExecution");
    let (stopped, calls) = sample(Some(busy)).await;
    let failed = stopped.last_failed.clone().expect("the aborted execution");
    assert_eq!(
        (failed.name.as_str(), failed.status.as_str()),
        (newest.name.as_str(), "ABORTED")
    );
    assert!(failed.stop_time.is_some());
    assert_eq!(stopped.failures_last_hour, 1);
    assert_eq!(stopped.running, PAGE_SIZE as u32 - 1);
    assert_eq!(
        (
            calls.get("sfn:ListExecutions"),
            calls.get("sfn:DescribeExecution")
        ),
        (1, 1),
        "{calls}"
    );

    // Nothing new: the same summary, from the listing alone.
    let (again, calls) = sample(Some(stopped.clone())).await;
    assert_eq!(again, stopped);
    assert_eq!(calls.total(), 1, "{calls}");
}
