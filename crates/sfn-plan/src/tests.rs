//! Unit tests of the planner on small fixtures: semantic comparison, ordering, ownership, replacement.

use super::*;
use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::json;
use sfn_alarms::AlarmSpec;
use sfn_api::naming;

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/sfn-operator/demo-poller";
const SM_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-poller";

fn owner() -> Owner {
    Owner {
        namespace: "demo".into(),
        name: "poller".into(),
        uid: "uid-1".into(),
    }
}

fn alarm(name: &str) -> AlarmSpec {
    AlarmSpec {
        name: naming::alarm_name("demo-poller", name),
        description: None,
        namespace: "AWS/States".into(),
        metric_name: "ExecutionsFailed".into(),
        dimensions: vec![(
            "StateMachineArn".into(),
            STATE_MACHINE_ARN_PLACEHOLDER.into(),
        )],
        statistic: "Sum".into(),
        period: 300,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: 1.0,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: vec![],
        ok_actions: vec![],
        insufficient_data_actions: vec![],
    }
}

fn policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["arn:aws:lambda:us-east-1:123456789012:function:A", "arn:aws:lambda:us-east-1:123456789012:function:B"]},
        {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}
    ]})
}

fn trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]})
}

fn desired() -> DesiredMachine {
    DesiredMachine {
        owner: owner(),
        name: "demo-poller".into(),
        machine_type: MachineType::Standard,
        definition: json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        role: DesiredRole::Managed(ManagedRole {
            name: "demo-poller".into(),
            path: naming::ROLE_PATH.into(),
            trust_policy: trust(),
            policies: vec![("sfn-operator".into(), policy())],
            managed_policies: Vec::new(),
            permissions_boundary: None,
            tags: Default::default(),
        }),
        logging: None,
        log_group: None,
        tracing: false,
        encryption: None,
        tags: BTreeMap::from([("team".to_string(), "payments".to_string())]),
        alarms: vec![alarm("failed")],
        publish: None,
        deletion_policy: DeletionPolicy::Delete,
        adopt: false,
        allow_replace: false,
        previous_arn: None,
        known_version_arn: None,
        rollout_memory: Default::default(),
        legacy_role_name: None,
        retain_versions: 10,
        aliases: Vec::new(),
    }
}

/// What AWS looks like right after `desired()` was applied, with the documents reformatted the way AWS
/// returns them.
fn converged(d: &DesiredMachine) -> ObservedMachine {
    let mut role_tags = d.tags.clone();
    role_tags.extend(d.owner.tags());
    let alarms = d
        .alarms
        .iter()
        .map(|a| ObservedAlarm {
            arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}", a.name),
            spec: resolve_alarm(a, SM_ARN),
            tags: None,
        })
        .collect();
    ObservedMachine {
        state_machine: Some(ObservedStateMachine {
            arn: SM_ARN.into(),
            name: d.name.clone(),
            machine_type: d.machine_type,
            // Pretty-printed, keys in another order: still the same definition.
            definition: "{\n  \"States\": {\"A\": {\"End\": true, \"Type\": \"Pass\"}},\n  \"StartAt\": \"A\"\n}"
                .into(),
            role_arn: ROLE_ARN.into(),
            status: "ACTIVE".into(),
            logging: Some(LoggingSpec {
                level: "OFF".into(),
                include_execution_data: false,
                log_group_arn: None,
            }),
            tracing: false,
            encryption: None,
            revision_id: Some("rev-1".into()),
            tags: d.full_tags(),
            versions: Vec::new(),
            aliases: Vec::new(),
        }),
        role: Some(ObservedRole {
            arn: ROLE_ARN.into(),
            name: "demo-poller".into(),
            path: naming::ROLE_PATH.into(),
            trust_policy: json!({"Statement": {"Action": ["sts:AssumeRole"], "Effect": "Allow",
                "Principal": {"Service": ["states.amazonaws.com"]},
                "Condition": {"StringEquals": {"aws:SourceAccount": ["123456789012"]}}}, "Version": "2012-10-17"}),
            // Statements in another order, single values as lists and the other way round.
            policies: BTreeMap::from([(
                "sfn-operator".to_string(),
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": ["*"]},
                    {"Resource": ["arn:aws:lambda:us-east-1:123456789012:function:B", "arn:aws:lambda:us-east-1:123456789012:function:A"], "Effect": "Allow", "Action": "lambda:InvokeFunction"}
                ]}),
            )]),
            permissions_boundary: None,
            tags: role_tags,
            attached_policy_arns: vec![],
            managed_policies: Vec::new(),
        }),
        alarms,
        previous_state_machine: None,
        log_group: None,
    }
}

fn names(ops: &[Operation]) -> Vec<String> {
    ops.iter()
        .map(|o| {
            serde_json::to_value(o).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn owned_alarm_tags(observed: &mut ObservedMachine) {
    for a in &mut observed.alarms {
        a.tags = Some(owner().tags());
    }
}

#[test]
fn first_creation_orders_role_then_machine_then_alarms() {
    let ops = plan_machine(&desired(), &ObservedMachine::default()).unwrap();
    assert_eq!(
        names(&ops),
        [
            "createRole",
            "putRolePolicy",
            "createStateMachine",
            "putMetricAlarm"
        ]
    );
    let Operation::CreateStateMachine { role, tags, .. } = &ops[2] else {
        panic!()
    };
    assert_eq!(role, &RoleRef::Managed("demo-poller".into()));
    assert_eq!(tags[naming::OWNER_TAG], "demo/poller");
    assert_eq!(tags[naming::OWNER_UID_TAG], "uid-1");
    assert_eq!(tags["team"], "payments");
    assert!(tags.contains_key(SPEC_HASH_TAG));
    let Operation::PutMetricAlarm { alarm, tags } = &ops[3] else {
        panic!()
    };
    // The ARN is not known yet: the AWS layer fills it in after CreateStateMachine.
    assert_eq!(alarm.dimensions[0].1, STATE_MACHINE_ARN_PLACEHOLDER);
    assert_eq!(tags[naming::OWNER_TAG], "demo/poller");
}

#[test]
fn converged_state_plans_nothing_despite_reformatting() {
    let d = desired();
    let observed = converged(&d);
    assert!(alarms_needing_tags(&d, &observed).is_empty());
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
}

#[test]
fn definition_change_is_one_update_and_a_new_hash() {
    let old = desired();
    let observed = converged(&old);
    let mut d = old.clone();
    d.definition = json!({"StartAt": "B", "States": {"B": {"Type": "Succeed"}}});
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(names(&ops), ["updateStateMachine", "tagResource"]);
    let Operation::UpdateStateMachine { update, .. } = &ops[0] else {
        panic!()
    };
    assert_eq!(update.definition.as_ref(), Some(&d.definition));
    assert!(update.role.is_none() && update.logging.is_none() && update.tracing.is_none());
    let Operation::TagResource { tags, .. } = &ops[1] else {
        panic!()
    };
    assert_eq!(tags.keys().collect::<Vec<_>>(), [SPEC_HASH_TAG]);
}

#[test]
fn out_of_band_changes_are_put_back() {
    let d = desired();
    let mut observed = converged(&d);
    let sm = observed.state_machine.as_mut().unwrap();
    sm.definition =
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Comment":"hacked"}}}"#.into();
    sm.tags.insert("team".into(), "other".into());
    sm.tags.insert("extra".into(), "x".into());
    sm.tags
        .insert("aws:cloudformation:stack-name".into(), "x".into());
    sm.tracing = true;
    let role = observed.role.as_mut().unwrap();
    role.policies
        .insert("sfn-operator".into(), json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}));
    role.policies
        .insert("backdoor".into(), json!({"Statement": []}));
    observed.alarms[0].spec.threshold = 50.0;
    assert_eq!(
        alarms_needing_tags(&d, &observed),
        [naming::alarm_name("demo-poller", "failed")]
    );
    owned_alarm_tags(&mut observed);
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(
        names(&ops),
        [
            "putRolePolicy",
            "deleteRolePolicy",
            "updateStateMachine",
            "putMetricAlarm",
            "tagResource",
            "untagResource"
        ]
    );
    let Operation::UntagResource { keys, .. } = &ops[5] else {
        panic!()
    };
    assert_eq!(keys, &["extra"], "aws: tags are AWS's own");
    let Operation::PutMetricAlarm { alarm, .. } = &ops[3] else {
        panic!()
    };
    assert_eq!(alarm.dimensions[0].1, SM_ARN);
    assert_eq!(alarm.threshold, 1.0);
}

#[test]
fn foreign_resources_are_not_touched() {
    let d = desired();
    let mut observed = converged(&d);
    observed.state_machine.as_mut().unwrap().tags =
        BTreeMap::from([(naming::OWNER_TAG.to_string(), "other/thing".to_string())]);
    observed.role = None;
    let err = plan_machine(&d, &observed).unwrap_err();
    assert_eq!(err.reason(), "NotOwned");
    let msg = err.to_string();
    assert!(msg.contains("state machine demo-poller"), "{msg}");
    assert!(msg.contains("other/thing"), "{msg}");
    assert!(msg.contains(naming::ADOPT_ANNOTATION), "{msg}");

    // Same owner path but another uid: a different (re-created) object.
    let mut observed = converged(&d);
    observed
        .role
        .as_mut()
        .unwrap()
        .tags
        .insert(naming::OWNER_UID_TAG.into(), "uid-0".into());
    assert_eq!(
        plan_machine(&d, &observed).unwrap_err().reason(),
        "NotOwned"
    );

    // Deletion leaves foreign things alone.
    let mut observed = converged(&d);
    observed.role.as_mut().unwrap().tags.clear();
    observed.state_machine.as_mut().unwrap().tags.clear();
    observed.alarms[0].tags = Some(BTreeMap::new());
    assert_eq!(plan_machine_deletion(&d, &observed), vec![]);
}

#[test]
fn adoption_tags_first_then_manages() {
    let mut d = desired();
    d.adopt = true;
    let mut observed = converged(&d);
    observed.state_machine.as_mut().unwrap().tags = BTreeMap::new();
    observed.state_machine.as_mut().unwrap().tracing = true;
    observed.role.as_mut().unwrap().tags = BTreeMap::new();
    assert_eq!(alarms_needing_tags(&d, &observed).len(), 1);
    observed.alarms[0].tags = Some(BTreeMap::new());
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(
        names(&ops),
        [
            "tagRole",
            "tagResource",
            "updateStateMachine",
            "tagAlarm",
            "tagResource"
        ]
    );
    let Operation::TagResource { tags, .. } = &ops[1] else {
        panic!()
    };
    assert_eq!(tags, &owner().tags(), "ownership first");
    let Operation::TagResource { tags, .. } = &ops[4] else {
        panic!()
    };
    assert!(tags.contains_key(SPEC_HASH_TAG), "the hash last");
    assert!(tags.contains_key("team"));
}

#[test]
fn alarms_outside_the_prefix_are_refused() {
    let mut d = desired();
    d.alarms[0].name = "my-alarm".into();
    let err = plan_machine(&d, &ObservedMachine::default()).unwrap_err();
    assert_eq!(err.reason(), "InvalidSpec");
    assert!(
        err.to_string().contains("sfn-operator/demo-poller/"),
        "{err}"
    );
}

#[test]
fn type_change_needs_replacement() {
    let d = desired();
    let mut observed = converged(&d);
    observed.state_machine.as_mut().unwrap().machine_type = MachineType::Express;
    let err = plan_machine(&d, &observed).unwrap_err();
    assert_eq!(err.reason(), "ImmutableChange");
    assert!(err.to_string().contains("type"), "{err}");
    assert!(err.to_string().contains("EXPRESS -> STANDARD"), "{err}");

    let mut d = d;
    d.allow_replace = true;
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(names(&ops), ["deleteStateMachine", "awaitDeletion"]);

    // While it is being deleted, nothing else is attempted on the machine; once gone, it is created.
    observed.state_machine.as_mut().unwrap().status = "DELETING".into();
    assert_eq!(
        names(&plan_machine(&d, &observed).unwrap()),
        ["awaitDeletion"]
    );
    observed.state_machine = None;
    // The alarm already names the (same) ARN the new machine gets, so it stays as it is.
    assert_eq!(
        names(&plan_machine(&d, &observed).unwrap()),
        ["createStateMachine"]
    );
}

#[test]
fn rename_needs_replacement_and_retires_the_old_machine_last() {
    let mut d = desired();
    let mut observed = converged(&d);
    let mut old = observed.state_machine.take().unwrap();
    old.name = "demo-old".into();
    old.arn = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-old".into();
    observed.previous_state_machine = Some(old.clone());
    observed.alarms.clear();
    d.previous_arn = Some(old.arn.clone());
    let err = plan_machine(&d, &observed).unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    d.allow_replace = true;
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(
        names(&ops),
        ["createStateMachine", "putMetricAlarm", "deleteStateMachine"]
    );
    assert_eq!(ops[2], Operation::DeleteStateMachine { arn: old.arn });
}

#[test]
fn external_role_is_never_touched() {
    let mut d = desired();
    d.role = DesiredRole::External {
        arn: "arn:aws:iam::123456789012:role/theirs".into(),
    };
    let mut observed = converged(&d);
    observed.role = None;
    let ops = plan_machine(&d, &observed).unwrap();
    // Only the role reference of the machine changes.
    assert_eq!(names(&ops), ["updateStateMachine"]);
    let Operation::UpdateStateMachine { update, .. } = &ops[0] else {
        panic!()
    };
    assert_eq!(
        update.role,
        Some(RoleRef::Arn("arn:aws:iam::123456789012:role/theirs".into()))
    );
    let mut observed = converged(&d);
    observed.state_machine.as_mut().unwrap().role_arn =
        "arn:aws:iam::123456789012:role/theirs".into();
    observed.role = None;
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
    assert_eq!(
        names(&plan_machine_deletion(&d, &observed)),
        ["deleteStateMachine"]
    );
}

#[test]
fn logging_tracing_encryption_boundary_changes() {
    let mut d = desired();
    let observed = converged(&d);
    d.logging = Some(LoggingSpec {
        level: "ERROR".into(),
        include_execution_data: true,
        log_group_arn: Some("arn:aws:logs:us-east-1:123456789012:log-group:x:*".into()),
    });
    d.tracing = true;
    d.encryption = Some(EncryptionSpec {
        kms_key_id: "arn:aws:kms:us-east-1:123456789012:key/k".into(),
        kms_data_key_reuse_period_seconds: Some(300),
    });
    if let DesiredRole::Managed(r) = &mut d.role {
        r.permissions_boundary = Some("arn:aws:iam::123456789012:policy/boundary".into());
    }
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(
        names(&ops),
        [
            "putRolePermissionsBoundary",
            "updateStateMachine",
            "tagResource"
        ]
    );
    let Operation::UpdateStateMachine { update, .. } = &ops[1] else {
        panic!()
    };
    assert!(update.definition.is_none());
    assert_eq!(update.logging, Some(d.logging.clone()));
    assert_eq!(update.tracing, Some(true));
    assert_eq!(update.encryption, Some(d.encryption.clone()));
}

#[test]
fn publish_with_an_update_or_once_when_no_version_exists() {
    let mut d = desired();
    d.publish = Some(PublishSpec {
        description: Some("v2".into()),
    });
    let mut observed = converged(&d);
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(
        ops,
        vec![Operation::PublishStateMachineVersion {
            arn: SM_ARN.into(),
            revision_id: Some("rev-1".into()),
            description: Some("v2".into()),
        }]
    );
    // The current revision published already (read back from AWS, as after a restart): nothing to do.
    let version = |revision: Option<&str>| ObservedVersion {
        arn: format!("{SM_ARN}:1"),
        number: 1,
        creation_time: None,
        description: None,
        revision_id: revision.map(str::to_owned),
    };
    observed.state_machine.as_mut().unwrap().versions = vec![version(Some("rev-1"))];
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
    // A version of an older revision (the machine changed while publishing was off): publish this one.
    observed.state_machine.as_mut().unwrap().versions = vec![version(Some("rev-0"))];
    assert!(matches!(
        plan_machine(&d, &observed).unwrap().as_slice(),
        [Operation::PublishStateMachineVersion { .. }]
    ));
    // Revision ids unknown (emulators): any version counts, publishing goes with each update.
    observed.state_machine.as_mut().unwrap().versions = vec![version(None)];
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
    // What status reported earlier does not count: only AWS does.
    observed.state_machine.as_mut().unwrap().versions.clear();
    d.known_version_arn = Some(format!("{SM_ARN}:1"));
    assert_eq!(plan_machine(&d, &observed).unwrap().len(), 1);
    observed.state_machine.as_mut().unwrap().versions = vec![version(Some("rev-1"))];
    d.definition = json!({"StartAt": "B", "States": {"B": {"Type": "Succeed"}}});
    let ops = plan_machine(&d, &observed).unwrap();
    let Operation::UpdateStateMachine { publish, .. } = &ops[0] else {
        panic!()
    };
    assert_eq!(publish.as_ref().unwrap().description.as_deref(), Some("v2"));
}

#[test]
fn removed_alarms_are_deleted_only_when_ours() {
    let mut d = desired();
    let mut observed = converged(&d);
    d.alarms.clear();
    assert_eq!(alarms_needing_tags(&d, &observed).len(), 1);
    owned_alarm_tags(&mut observed);
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(names(&ops), ["deleteAlarms", "tagResource"]);
    observed.alarms[0].tags = Some(BTreeMap::new());
    assert_eq!(
        names(&plan_machine(&d, &observed).unwrap()),
        ["tagResource"]
    );
}

#[test]
fn deletion_is_reverse_order_and_retain_does_nothing() {
    let mut d = desired();
    let mut observed = converged(&d);
    owned_alarm_tags(&mut observed);
    observed.role.as_mut().unwrap().attached_policy_arns =
        vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
    assert_eq!(
        names(&plan_machine_deletion(&d, &observed)),
        [
            "deleteAlarms",
            "deleteStateMachine",
            "deleteRolePolicy",
            "detachRolePolicy",
            "deleteRole"
        ]
    );
    // A machine already DELETING is as good as gone.
    observed.state_machine.as_mut().unwrap().status = "DELETING".into();
    observed.alarms.clear();
    assert_eq!(
        names(&plan_machine_deletion(&d, &observed)),
        ["deleteRolePolicy", "detachRolePolicy", "deleteRole"]
    );
    d.deletion_policy = DeletionPolicy::Retain;
    assert_eq!(plan_machine_deletion(&d, &observed), vec![]);
}

#[test]
fn canonical_policy_equivalences() {
    let a = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}});
    let b = json!({"Statement": [{"Resource": ["*"], "Action": ["s3:GetObject", "s3:GetObject"], "Effect": "Allow"}], "Version": "2012-10-17"});
    assert!(same_policy(&a, &b));
    let c = json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}});
    assert!(!same_policy(&a, &c));
    let d = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": true}}}});
    let e = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": ["true"]}}}});
    assert!(same_policy(&d, &e));
    assert!(!same_policy(&a, &d));
}

#[test]
fn definitions_compare_semantically() {
    let want =
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": [1, 2], "End": true}}});
    assert!(same_definition(
        r#"{"States":{"A":{"End":true,"Result":[1,2],"Type":"Pass"}},"StartAt":"A"}"#,
        &want
    ));
    // Array order inside a definition is meaningful.
    assert!(!same_definition(
        r#"{"States":{"A":{"End":true,"Result":[2,1],"Type":"Pass"}},"StartAt":"A"}"#,
        &want
    ));
    assert!(!same_definition("not json", &want));
}

#[test]
fn spec_hash_ignores_bookkeeping_but_not_content() {
    let d = desired();
    let mut e = d.clone();
    e.adopt = true;
    e.previous_arn = Some("x".into());
    assert_eq!(d.spec_hash(), e.spec_hash());
    e.tracing = true;
    assert_ne!(d.spec_hash(), e.spec_hash());
}

#[test]
fn activities() {
    let d = DesiredActivity {
        owner: owner(),
        name: "demo-approval".into(),
        tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        deletion_policy: DeletionPolicy::Delete,
        adopt: false,
    };
    assert_eq!(names(&plan_activity(&d, None).unwrap()), ["createActivity"]);
    let live = ObservedActivity {
        arn: "arn:aws:states:us-east-1:123456789012:activity:demo-approval".into(),
        name: "demo-approval".into(),
        tags: d.full_tags(),
    };
    assert_eq!(plan_activity(&d, Some(&live)).unwrap(), vec![]);
    assert_eq!(
        names(&plan_activity_deletion(&d, Some(&live))),
        ["deleteActivity"]
    );
    let foreign = ObservedActivity {
        tags: BTreeMap::new(),
        ..live.clone()
    };
    assert_eq!(
        plan_activity(&d, Some(&foreign)).unwrap_err().reason(),
        "NotOwned"
    );
    assert_eq!(plan_activity_deletion(&d, Some(&foreign)), vec![]);
    let adopting = DesiredActivity {
        adopt: true,
        ..d.clone()
    };
    assert_eq!(
        names(&plan_activity(&adopting, Some(&foreign)).unwrap()),
        ["tagResource"]
    );
    let retain = DesiredActivity {
        deletion_policy: DeletionPolicy::Retain,
        ..d
    };
    assert_eq!(plan_activity_deletion(&retain, Some(&live)), vec![]);
}

#[test]
fn first_creation_plan_snapshot() {
    let ops = plan_machine(&desired(), &ObservedMachine::default()).unwrap();
    let mut ops = serde_json::to_value(ops).unwrap();
    // The hash is checked elsewhere; here it would only make every fixture change a snapshot change.
    for op in ops.as_array_mut().unwrap() {
        if let Some(hash) = op.pointer_mut("/tags/sfn.operator.dev~1spec-hash") {
            *hash = json!("[hash]");
        }
    }
    insta::assert_json_snapshot!(ops);
}

#[test]
fn deletion_plan_snapshot() {
    let d = desired();
    let mut observed = converged(&d);
    owned_alarm_tags(&mut observed);
    insta::assert_json_snapshot!(plan_machine_deletion(&d, &observed));
}

const POLICY_0_ARN: &str = "arn:aws:iam::123456789012:policy/sfn-operator/demo-poller-policy-0";
const POLICY_1_ARN: &str = "arn:aws:iam::123456789012:policy/sfn-operator/demo-poller-policy-1";

fn managed_spec(index: usize, arn: &str, document: Value) -> ManagedPolicySpec {
    ManagedPolicySpec {
        name: naming::managed_policy_name("demo-poller", index),
        path: naming::ROLE_PATH.into(),
        arn: arn.into(),
        document,
    }
}

fn lambda_policy(function: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
        "Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}")}]})
}

/// The desired machine with its policy split into two managed policies.
fn desired_managed() -> DesiredMachine {
    let mut d = desired();
    let DesiredRole::Managed(role) = &mut d.role else {
        unreachable!()
    };
    role.policies.clear();
    role.managed_policies = vec![
        managed_spec(0, POLICY_0_ARN, lambda_policy("A")),
        managed_spec(1, POLICY_1_ARN, lambda_policy("B")),
    ];
    d
}

fn observed_managed(
    arn: &str,
    document: Value,
    versions: &[&str],
    default: &str,
) -> ObservedManagedPolicy {
    ObservedManagedPolicy {
        arn: arn.into(),
        document,
        version_ids: versions.iter().map(|v| v.to_string()).collect(),
        default_version_id: default.into(),
    }
}

/// `converged(d)` with the role carrying both managed policies of [`desired_managed`] and no inline one.
fn converged_managed(d: &DesiredMachine) -> ObservedMachine {
    let mut observed = converged(d);
    let role = observed.role.as_mut().unwrap();
    role.policies.clear();
    role.attached_policy_arns = vec![POLICY_0_ARN.into(), POLICY_1_ARN.into()];
    // Single values as lists: still the same documents.
    role.managed_policies = vec![
        observed_managed(
            POLICY_0_ARN,
            json!({"Statement": [{"Resource": ["arn:aws:lambda:us-east-1:123456789012:function:A"],
                "Action": ["lambda:InvokeFunction"], "Effect": "Allow"}], "Version": "2012-10-17"}),
            &["v1"],
            "v1",
        ),
        observed_managed(POLICY_1_ARN, lambda_policy("B"), &["v1", "v2"], "v2"),
    ];
    observed
}

fn role_ops(ops: &[Operation]) -> Vec<Operation> {
    ops.iter()
        .filter(|op| {
            !matches!(
                op,
                Operation::TagResource { .. } | Operation::UntagResource { .. }
            )
        })
        .cloned()
        .collect()
}

#[test]
fn a_policy_too_large_for_inline_moves_to_managed_policies_before_the_inline_one_goes() {
    let d = desired_managed();
    let observed = converged(&d);
    let ops = plan_machine(&d, &observed).unwrap();
    let tags = d.resource_tags();
    assert_eq!(
        role_ops(&ops),
        vec![
            Operation::CreatePolicy {
                name: "demo-poller-policy-0".into(),
                path: "/sfn-operator/".into(),
                document: lambda_policy("A"),
                tags: tags.clone(),
            },
            Operation::AttachRolePolicy {
                role_name: "demo-poller".into(),
                policy_arn: POLICY_0_ARN.into(),
            },
            Operation::CreatePolicy {
                name: "demo-poller-policy-1".into(),
                path: "/sfn-operator/".into(),
                document: lambda_policy("B"),
                tags,
            },
            Operation::AttachRolePolicy {
                role_name: "demo-poller".into(),
                policy_arn: POLICY_1_ARN.into(),
            },
            Operation::DeleteRolePolicy {
                role_name: "demo-poller".into(),
                policy_name: "sfn-operator".into(),
            },
        ]
    );
    // A role created from scratch gets them right after the role itself.
    let mut fresh = converged(&d);
    fresh.role = None;
    assert_eq!(
        names(&plan_machine(&d, &fresh).unwrap())[..5],
        [
            "createRole",
            "createPolicy",
            "attachRolePolicy",
            "createPolicy",
            "attachRolePolicy"
        ]
    );
}

#[test]
fn converged_managed_policies_plan_nothing() {
    let d = desired_managed();
    let observed = converged_managed(&d);
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
}

#[test]
fn a_created_but_detached_policy_is_attached_again() {
    let d = desired_managed();
    let mut observed = converged_managed(&d);
    observed.role.as_mut().unwrap().attached_policy_arns = vec![POLICY_0_ARN.into()];
    observed.role.as_mut().unwrap().managed_policies.truncate(1);
    assert_eq!(
        names(&plan_machine(&d, &observed).unwrap()),
        ["createPolicy", "attachRolePolicy"]
    );
}

#[test]
fn back_to_inline_puts_the_inline_policy_before_removing_the_managed_ones() {
    let managed = desired_managed();
    let d = desired();
    let mut observed = converged_managed(&managed);
    observed.state_machine.as_mut().unwrap().tags = d.full_tags();
    let ops = plan_machine(&d, &observed).unwrap();
    assert_eq!(
        ops,
        vec![
            Operation::PutRolePolicy {
                role_name: "demo-poller".into(),
                policy_name: "sfn-operator".into(),
                document: policy(),
            },
            Operation::DetachRolePolicy {
                role_name: "demo-poller".into(),
                policy_arn: POLICY_0_ARN.into(),
            },
            Operation::DeletePolicy {
                policy_arn: POLICY_0_ARN.into(),
            },
            Operation::DetachRolePolicy {
                role_name: "demo-poller".into(),
                policy_arn: POLICY_1_ARN.into(),
            },
            Operation::DeletePolicyVersion {
                policy_arn: POLICY_1_ARN.into(),
                version_id: "v1".into(),
            },
            Operation::DeletePolicy {
                policy_arn: POLICY_1_ARN.into(),
            },
        ]
    );
}

#[test]
fn a_changed_document_becomes_a_new_version_dropping_the_oldest_when_full() {
    let mut d = desired_managed();
    let DesiredRole::Managed(role) = &mut d.role else {
        unreachable!()
    };
    role.managed_policies[0].document = lambda_policy("C");
    let mut observed = converged_managed(&d);
    // Four versions: room for a fifth.
    observed.role.as_mut().unwrap().managed_policies[0] = observed_managed(
        POLICY_0_ARN,
        lambda_policy("A"),
        &["v1", "v2", "v3", "v4"],
        "v4",
    );
    assert_eq!(
        role_ops(&plan_machine(&d, &observed).unwrap()),
        vec![Operation::CreatePolicyVersion {
            policy_arn: POLICY_0_ARN.into(),
            document: lambda_policy("C"),
        }]
    );
    // Five versions, numbered past 9, the default not the newest: the oldest non-default goes first.
    observed.role.as_mut().unwrap().managed_policies[0] = observed_managed(
        POLICY_0_ARN,
        lambda_policy("A"),
        &["v12", "v10", "v9", "v11", "v13"],
        "v9",
    );
    assert_eq!(
        role_ops(&plan_machine(&d, &observed).unwrap()),
        vec![
            Operation::DeletePolicyVersion {
                policy_arn: POLICY_0_ARN.into(),
                version_id: "v10".into(),
            },
            Operation::CreatePolicyVersion {
                policy_arn: POLICY_0_ARN.into(),
                document: lambda_policy("C"),
            }
        ]
    );
}

#[test]
fn deletion_detaches_then_deletes_managed_policies_versions_first() {
    let d = desired_managed();
    let mut observed = converged_managed(&d);
    owned_alarm_tags(&mut observed);
    let role = observed.role.as_mut().unwrap();
    role.attached_policy_arns
        .insert(0, "arn:aws:iam::aws:policy/ReadOnlyAccess".into());
    role.managed_policies[1] =
        observed_managed(POLICY_1_ARN, lambda_policy("B"), &["v1", "v2", "v3"], "v2");
    let ops = plan_machine_deletion(&d, &observed);
    let role_part: Vec<Operation> = ops
        .into_iter()
        .skip_while(|op| !matches!(op, Operation::DetachRolePolicy { .. }))
        .collect();
    let detach = |arn: &str| Operation::DetachRolePolicy {
        role_name: "demo-poller".into(),
        policy_arn: arn.into(),
    };
    assert_eq!(
        role_part,
        vec![
            detach("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            detach(POLICY_0_ARN),
            Operation::DeletePolicy {
                policy_arn: POLICY_0_ARN.into(),
            },
            detach(POLICY_1_ARN),
            Operation::DeletePolicyVersion {
                policy_arn: POLICY_1_ARN.into(),
                version_id: "v1".into(),
            },
            Operation::DeletePolicyVersion {
                policy_arn: POLICY_1_ARN.into(),
                version_id: "v3".into(),
            },
            Operation::DeletePolicy {
                policy_arn: POLICY_1_ARN.into(),
            },
            Operation::DeleteRole {
                role_name: "demo-poller".into(),
            },
        ]
    );
}

/// AWS's echo of the default data key reuse period of a customer managed key is not a change.
#[test]
fn default_kms_reuse_period_echo_plans_nothing() {
    let mut d = desired();
    let key = "arn:aws:kms:us-east-1:123456789012:key/k";
    d.encryption = Some(EncryptionSpec {
        kms_key_id: key.into(),
        kms_data_key_reuse_period_seconds: None,
    });
    let mut observed = converged(&d);
    if let Some(m) = &mut observed.state_machine {
        m.encryption = Some(EncryptionSpec {
            kms_key_id: key.into(),
            kms_data_key_reuse_period_seconds: Some(
                crate::DEFAULT_KMS_DATA_KEY_REUSE_PERIOD_SECONDS,
            ),
        });
    }
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
}

/// A log group destination echoed with the `:*` Step Functions requires is the declared group.
#[test]
fn log_group_suffix_echo_plans_nothing() {
    let mut d = desired();
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/sfn/demo";
    d.logging = Some(LoggingSpec {
        level: "ERROR".into(),
        include_execution_data: true,
        log_group_arn: Some(group.into()),
    });
    let mut observed = converged(&d);
    if let Some(m) = &mut observed.state_machine {
        m.logging = Some(LoggingSpec {
            level: "ERROR".into(),
            include_execution_data: true,
            log_group_arn: Some(format!("{group}:*")),
        });
    }
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
}

/// Logging `OFF` without a destination and tracing disabled are what AWS describes for a machine created
/// without either: no update.
#[test]
fn logging_off_and_tracing_disabled_echoes_plan_nothing() {
    let d = desired();
    assert!(d.logging.is_none() && !d.tracing);
    let mut observed = converged(&d);
    if let Some(m) = &mut observed.state_machine {
        m.logging = Some(LoggingSpec {
            level: "OFF".into(),
            include_execution_data: false,
            log_group_arn: None,
        });
        m.tracing = false;
    }
    assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
}

/// Revision IDs lag behind updates for a moment and change with every one: they are never compared.
#[test]
fn another_revision_id_plans_nothing() {
    let d = desired();
    for revision in [None, Some("rev-0".to_string()), Some("rev-9".to_string())] {
        let mut observed = converged(&d);
        if let Some(m) = &mut observed.state_machine {
            m.revision_id = revision;
        }
        assert_eq!(plan_machine(&d, &observed).unwrap(), vec![]);
    }
}

const LOG_GROUP: &str = "/aws/vendedlogs/states/demo/poller";
const LOG_GROUP_ARN: &str =
    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/demo/poller";

fn with_log_group(retention: i32, kms: Option<&str>) -> DesiredMachine {
    let mut d = desired();
    d.logging = Some(LoggingSpec {
        level: "ERROR".into(),
        include_execution_data: false,
        log_group_arn: Some(format!("{LOG_GROUP_ARN}:*")),
    });
    d.log_group = Some(DesiredLogGroup {
        name: LOG_GROUP.into(),
        retention_in_days: retention,
        kms_key_id: kms.map(str::to_owned),
    });
    d
}

fn converged_with_log_group(d: &DesiredMachine) -> ObservedMachine {
    let mut o = converged(d);
    if let Some(m) = o.state_machine.as_mut() {
        m.logging = d.logging.clone();
    }
    let want = d.log_group.as_ref().unwrap();
    o.log_group = Some(ObservedLogGroup {
        arn: LOG_GROUP_ARN.into(),
        name: want.name.clone(),
        retention_in_days: Some(want.retention_in_days),
        kms_key_id: want.kms_key_id.clone(),
        tags: d.resource_tags(),
    });
    o
}

#[test]
fn a_missing_log_group_is_created_before_the_state_machine() {
    let d = with_log_group(30, Some("arn:aws:kms:us-east-1:123456789012:key/k"));
    let mut o = converged_with_log_group(&d);
    o.log_group = None;
    o.state_machine = None;
    let ops = plan_machine(&d, &o).unwrap();
    let n = names(&ops);
    let create = n.iter().position(|x| x == "createLogGroup").unwrap();
    let retention = n.iter().position(|x| x == "putRetentionPolicy").unwrap();
    let machine = n.iter().position(|x| x == "createStateMachine").unwrap();
    assert!(create < retention && retention < machine, "{n:?}");
    match &ops[create] {
        Operation::CreateLogGroup {
            name,
            kms_key_id,
            tags,
        } => {
            assert_eq!(name, LOG_GROUP);
            assert_eq!(
                kms_key_id.as_deref(),
                Some("arn:aws:kms:us-east-1:123456789012:key/k")
            );
            assert!(d.owner.owns(tags), "{tags:?}");
            assert_eq!(tags.get("team").map(String::as_str), Some("payments"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_converged_log_group_plans_nothing_and_drift_is_put_back() {
    let d = with_log_group(30, Some("arn:aws:kms:us-east-1:123456789012:key/k"));
    assert_eq!(
        plan_machine(&d, &converged_with_log_group(&d)).unwrap(),
        vec![]
    );

    let mut o = converged_with_log_group(&d);
    let live = o.log_group.as_mut().unwrap();
    live.retention_in_days = None;
    live.kms_key_id = Some("arn:aws:kms:us-east-1:123456789012:key/other".into());
    live.tags.insert("team".into(), "other".into());
    live.tags.insert("extra".into(), "x".into());
    let ops = plan_machine(&d, &o).unwrap();
    assert_eq!(
        names(&ops),
        vec![
            "putRetentionPolicy",
            "associateKmsKey",
            "tagLogGroup",
            "untagLogGroup"
        ]
    );
    assert!(ops.contains(&Operation::PutRetentionPolicy {
        name: LOG_GROUP.into(),
        retention_in_days: 30
    }));
    assert!(ops.contains(&Operation::UntagLogGroup {
        arn: LOG_GROUP_ARN.into(),
        keys: vec!["extra".into()]
    }));

    // The key removed from the spec: back to CloudWatch Logs' own encryption.
    let plain = with_log_group(30, None);
    let ops = plan_machine(&plain, &converged_with_log_group(&d)).unwrap();
    assert_eq!(
        ops[0],
        Operation::DisassociateKmsKey {
            name: LOG_GROUP.into()
        }
    );
    // Then only the new spec hash on the state machine.
    assert_eq!(names(&ops), vec!["disassociateKmsKey", "tagResource"]);
}

#[test]
fn a_log_group_of_someone_else_is_refused_unless_adopted() {
    let d = with_log_group(14, None);
    let mut o = converged_with_log_group(&d);
    o.log_group.as_mut().unwrap().tags = BTreeMap::new();
    let err = plan_machine(&d, &o).unwrap_err().to_string();
    assert!(
        err.contains("log group") && err.contains(LOG_GROUP),
        "{err}"
    );
    let mut adopting = d.clone();
    adopting.adopt = true;
    let ops = plan_machine(&adopting, &o).unwrap();
    assert_eq!(names(&ops)[0], "tagLogGroup", "{ops:?}");
}

#[test]
fn the_log_group_goes_with_the_machine_unless_retained() {
    let d = with_log_group(30, None);
    let o = converged_with_log_group(&d);
    let ops = plan_machine_deletion(&d, &o);
    let n = names(&ops);
    let machine = n.iter().position(|x| x == "deleteStateMachine").unwrap();
    let group = n.iter().position(|x| x == "deleteLogGroup").unwrap();
    assert!(machine < group, "{n:?}");
    let mut retained = d.clone();
    retained.deletion_policy = DeletionPolicy::Retain;
    assert!(plan_machine_deletion(&retained, &o).is_empty());
    // Not ours: left alone.
    let mut foreign = o.clone();
    foreign.log_group.as_mut().unwrap().tags = BTreeMap::new();
    assert!(!names(&plan_machine_deletion(&d, &foreign)).contains(&"deleteLogGroup".to_string()));
}

#[test]
fn log_groups_outside_vended_logs_get_a_warning() {
    let w =
        vended_logs_warning("arn:aws:logs:us-east-1:123456789012:log-group:my-group:*").unwrap();
    assert!(
        w.contains("\"my-group\"") && w.contains("/aws/vendedlogs/"),
        "{w}"
    );
    assert!(w.contains("resource policy") && w.contains("5120"), "{w}");
    assert_eq!(vended_logs_warning(&format!("{LOG_GROUP_ARN}:*")), None);
}

/// A machine desired before log groups existed hashes as it did: upgrading the operator is no drift.
#[test]
fn no_log_group_leaves_the_spec_hash_alone() {
    let d = desired();
    let v = serde_json::to_value(&d).unwrap();
    assert!(v.get("logGroup").is_none(), "{v}");
}

/// A progressive rollout watches the alarms it names, or else the machine's own; all-at-once routing
/// watches none; each alarm is read once however many aliases it gates.
#[test]
fn a_reconcile_watches_the_alarms_of_progressive_rollouts_only() {
    let mut d = desired();
    let own = d.alarms[0].name.clone();
    d.aliases = serde_json::from_value(json!([
        {"name": "instant", "rollout": {"type": "AllAtOnce", "alarms": ["never-read"]}},
        {"name": "canary", "rollout": {"type": "Canary", "weight": 10}},
        {"name": "linear", "rollout": {"type": "Linear", "alarms": ["latency", own.clone()]}},
        {"name": "pinned", "version": 3}
    ]))
    .expect("aliases");
    let mut expected = vec!["latency".to_string(), own.clone()];
    expected.sort();
    assert_eq!(crate::versions::alarms_to_watch(&d), expected);
    assert_eq!(
        crate::versions::gating_alarms(&d, &d.aliases[1]),
        vec![own.clone()],
        "the machine's own alarms by default"
    );
    assert_eq!(
        crate::versions::gating_alarms(&d, &d.aliases[2]),
        vec!["latency".to_string(), own]
    );
}
