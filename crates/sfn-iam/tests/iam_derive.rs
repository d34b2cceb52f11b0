//! Behaviour of the IAM derivation beyond single integrations: widening, nesting, distributed maps, the
//! spec-driven extras, extra statements, boundaries, bring-your-own roles, splitting and determinism.

use serde_json::{Value, json};
use sfn_iam::{
    self as iam, INLINE_ROLE_POLICY_LIMIT, LoggingCtx, MANAGED_POLICY_LIMIT, RoleContext,
    RoleSource, Statement, TaskHints, policy_size,
};

fn ctx() -> RoleContext {
    RoleContext::new("eu-west-1", "111122223333", "payments-settle")
}

fn rendered(p: &iam::DerivedPolicy) -> Vec<Value> {
    p.statements.iter().map(|s| s.statement.to_json()).collect()
}

#[test]
fn a_dynamic_target_widens_only_its_own_statement_and_names_the_state() {
    let asl = json!({
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                      "Parameters": {"TopicArn": "arn:aws:sns:eu-west-1:111122223333:done", "Message": "x"}, "Next": "Pick"},
            "Pick": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName.$": "$.handler", "Payload.$": "$"}, "Next": "Late"},
            "Late": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::sqs:sendMessage",
                     "Arguments": {"QueueUrl": "{% $states.input.queue %}", "MessageBody": "{% $states.input %}"}, "End": true}
        }
    });
    let p = iam::derive(&asl, &ctx()).unwrap();
    assert_eq!(
        rendered(&p),
        vec![
            json!({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:eu-west-1:111122223333:function:*"}),
            json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:111122223333:done"}),
            json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:111122223333:*"}),
        ]
    );
    let states: Vec<&str> = p.warnings.iter().map(|w| w.state.as_str()).collect();
    assert_eq!(states, vec!["Late", "Pick"]);
    assert!(
        p.warnings[1]
            .message
            .starts_with("FunctionName is chosen at run time")
    );
    assert_eq!(p.statements[0].reasons, vec!["state Pick: lambda:invoke"]);
}

#[test]
fn nested_states_in_parallel_map_and_iterator_are_all_walked() {
    let asl = json!({
        "StartAt": "Fan",
        "States": {
            "Fan": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": "Ledger", "Item": {}}, "End": true}}},
                {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
                    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "B", "States": {
                        "B": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:111122223333:function:each:live", "Next": "Old"},
                        "Old": {"Type": "Map", "End": true, "Iterator": {"StartAt": "C", "States": {
                            "C": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                                  "Parameters": {"Entries": [{"Source": "s", "DetailType": "d", "Detail": {}}]}, "End": true}}}}
                    }}}}}
            ]}
        }
    });
    let p = iam::derive(&asl, &ctx()).unwrap();
    let reasons: Vec<String> = p
        .statements
        .iter()
        .flat_map(|s| s.reasons.clone())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "state A: dynamodb:putItem",
            "state C: events:putEvents",
            "state B: lambda function arn:aws:lambda:eu-west-1:111122223333:function:each:live",
        ]
    );
    assert!(p.warnings.is_empty());
}

#[test]
fn a_distributed_map_starts_child_executions_and_reads_and_writes_s3() {
    let asl = json!({
        "StartAt": "Process",
        "States": {"Process": {"Type": "Map", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV"},
                           "Parameters": {"Bucket": "inbox", "Key": "batch.csv"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "outbox", "Prefix": "runs/"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "work", "Payload.$": "$"}, "End": true}}}}}
    });
    let p = iam::derive(&asl, &ctx()).unwrap();
    insta::assert_json_snapshot!(
        "distributed_map",
        json!({"statements": rendered(&p), "warnings": p.warnings})
    );
    let all = serde_json::to_string(&rendered(&p)).unwrap();
    assert!(all.contains("arn:aws:states:eu-west-1:111122223333:stateMachine:payments-settle"));
    assert!(all.contains("arn:aws:s3:::inbox/batch.csv"));
    assert!(all.contains("arn:aws:s3:::outbox/runs/*"));
    assert!(all.contains("states:RedriveExecution"));
}

#[test]
fn a_jsonata_distributed_map_reads_its_s3_arguments() {
    let asl = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Process",
        "States": {"Process": {"Type": "Map", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                           "Arguments": {"Bucket": "inbox", "Key": "{% $states.input.key %}"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Arguments": {"Bucket": "outbox", "Prefix": "runs/"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Work",
                "States": {"Work": {"Type": "Pass", "End": true}}}}}
    });
    let p = iam::derive(&asl, &ctx()).unwrap();
    let all = serde_json::to_string(&rendered(&p)).unwrap();
    assert!(all.contains("arn:aws:s3:::inbox/*"), "{all}");
    assert!(all.contains("arn:aws:s3:::outbox/runs/*"), "{all}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.message.contains("ItemReader.Key")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn logging_tracing_and_kms_come_from_the_spec() {
    let asl = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let mut c = ctx();
    c.logging = Some(LoggingCtx {
        log_group_arn: Some("arn:aws:logs:eu-west-1:111122223333:log-group:/sfn/payments:*".into()),
    });
    c.tracing = true;
    c.kms_key_arn =
        Some("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".into());
    let p = iam::derive(&asl, &c).unwrap();
    insta::assert_json_snapshot!(
        "extras",
        json!({"document": p.document(), "reasons": p.statements.iter().map(|s| &s.reasons).collect::<Vec<_>>()})
    );
    assert!(p.warnings.is_empty());

    // A bare key id becomes a key ARN in the role's region; an alias cannot be a resource, so it widens.
    c.logging = None;
    c.tracing = false;
    c.kms_key_arn = Some("1234abcd-12ab-34cd-56ef-1234567890ab".into());
    let p = iam::derive(&asl, &c).unwrap();
    assert_eq!(
        p.statements[0].statement.resources,
        vec!["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
    );
    c.kms_key_arn = Some("alias/payments".into());
    let p = iam::derive(&asl, &c).unwrap();
    let st = &p.statements[0].statement;
    assert_eq!(
        st.resources,
        vec!["arn:aws:kms:eu-west-1:111122223333:key/*"]
    );
    assert_eq!(
        st.condition,
        Some(json!({
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/payments"},
            "StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": "arn:aws:states:eu-west-1:111122223333:stateMachine:payments-settle"}
        }))
    );
    assert_eq!(p.warnings.len(), 1);
}

#[test]
fn extra_statements_are_appended_verbatim_and_the_boundary_is_carried() {
    let asl = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/encrypted", "MessageBody": "m"}, "End": true}}});
    let mut c = ctx();
    let extra = Statement {
        sid: Some("QueueKey".into()),
        condition: Some(json!({"StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}})),
        ..Statement::allow(
            ["kms:GenerateDataKey", "kms:Decrypt"],
            ["arn:aws:kms:eu-west-1:111122223333:key/queue"],
        )
    };
    c.extra_statements = vec![extra.clone()];
    c.permissions_boundary = Some("arn:aws:iam::111122223333:policy/sfn-boundary".into());
    let p = iam::derive(&asl, &c).unwrap();
    assert_eq!(p.statements.len(), 2);
    assert_eq!(p.statements[1].statement, extra);
    assert_eq!(
        p.statements[1].reasons,
        vec!["spec.role.extraStatements[0]"]
    );
    assert_eq!(
        p.statements[1].statement.to_json(),
        json!({"Sid": "QueueKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
               "Resource": "arn:aws:kms:eu-west-1:111122223333:key/queue",
               "Condition": {"StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}}})
    );
    assert_eq!(
        p.permissions_boundary.as_deref(),
        Some("arn:aws:iam::111122223333:policy/sfn-boundary")
    );

    match iam::role_source(None, &asl, &c).unwrap() {
        RoleSource::Managed {
            role_name,
            path,
            trust_policy,
            policy,
        } => {
            assert_eq!(role_name, "payments-settle");
            assert_eq!(path, "/sfn-operator/");
            assert_eq!(trust_policy, iam::trust_policy("111122223333"));
            assert_eq!(policy.permissions_boundary, c.permissions_boundary);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bring_your_own_role_creates_nothing_but_still_says_what_is_needed() {
    let asl = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": "arn:aws:sns:eu-west-1:111122223333:t", "Message": "m"}, "End": true}}});
    match iam::role_source(
        Some("arn:aws:iam::111122223333:role/team-sfn"),
        &asl,
        &ctx(),
    )
    .unwrap()
    {
        RoleSource::BringYourOwn { role_arn, needed } => {
            assert_eq!(role_arn, "arn:aws:iam::111122223333:role/team-sfn");
            assert_eq!(needed.statements.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_trust_policy_limits_the_service_to_the_account() {
    assert_eq!(
        iam::trust_policy("111122223333"),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}]})
    );
    let scoped = iam::trust_policy_scoped("aws", "eu-west-1", "111122223333");
    assert_eq!(
        scoped["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"],
        "arn:aws:states:eu-west-1:111122223333:stateMachine:*"
    );
}

fn many_lambdas(n: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let next = if i + 1 < n {
            json!({"Next": format!("Step {}", i + 1)})
        } else {
            json!({"End": true})
        };
        let mut s = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": format!("arn:aws:lambda:eu-west-1:111122223333:function:payments-step-handler-{i:03}"), "Payload.$": "$"}});
        s.as_object_mut()
            .unwrap()
            .extend(next.as_object().unwrap().clone());
        states.insert(format!("Step {i}"), s);
    }
    json!({"StartAt": "Step 0", "States": states})
}

#[test]
fn large_policies_are_split_into_documents_within_the_quota() {
    let p = iam::derive(&many_lambdas(150), &ctx()).unwrap();
    let docs = p.documents();
    assert!(docs.len() >= 2, "{} documents", docs.len());
    let names: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..2], ["sfn-operator-1", "sfn-operator-2"]);
    let mut resources = 0;
    for (_, d) in &docs {
        assert!(policy_size(d) <= INLINE_ROLE_POLICY_LIMIT);
        for s in d["Statement"].as_array().unwrap() {
            resources += s["Resource"].as_array().map(Vec::len).unwrap_or(1);
        }
    }
    assert_eq!(resources, 300, "every function and its versions, once");
    // IAM counts the sum of a role's inline policies against the quota: this one needs managed policies.
    assert!(!p.fits_inline());
    for (_, d) in p.managed_documents() {
        assert!(policy_size(&d) <= MANAGED_POLICY_LIMIT);
    }
    let small = iam::derive(&many_lambdas(3), &ctx()).unwrap();
    assert!(small.fits_inline());
    assert_eq!(small.documents().len(), 1);
}

#[test]
fn the_same_input_always_renders_byte_identical_documents() {
    let a = iam::derive(&many_lambdas(40), &ctx()).unwrap();
    let b = iam::derive(&many_lambdas(40), &ctx()).unwrap();
    assert_eq!(
        serde_json::to_string(&a.documents()).unwrap(),
        serde_json::to_string(&b.documents()).unwrap()
    );
    // The order states are written in does not matter either.
    let mut reversed = many_lambdas(40);
    let states: Vec<(String, Value)> = reversed["States"]
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .rev()
        .collect();
    reversed["States"] = Value::Object(states.into_iter().collect());
    let c = iam::derive(&reversed, &ctx()).unwrap();
    assert_eq!(
        serde_json::to_string(&a.documents()).unwrap(),
        serde_json::to_string(&c.documents()).unwrap()
    );
}

#[test]
fn task_integration_hints_make_pass_role_and_sdk_grants_exact() {
    let asl = json!({"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": {"Cluster": "workers", "TaskDefinition": "arn:aws:ecs:eu-west-1:111122223333:task-definition/settle:4"}, "Next": "Sdk"},
        "Sdk": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
                "Parameters": {"Namespace": "Payments", "MetricData": []}, "End": true}}});
    let mut c = ctx();
    c.task_hints.insert(
        "Run".into(),
        TaskHints {
            pass_role_arns: vec![
                "arn:aws:iam::111122223333:role/settle-task".into(),
                "arn:aws:iam::111122223333:role/settle-execution".into(),
            ],
            resources: vec![],
        },
    );
    c.task_hints.insert(
        "Sdk".into(),
        TaskHints {
            pass_role_arns: vec![],
            resources: vec!["*".into()],
        },
    );
    let p = iam::derive(&asl, &c).unwrap();
    insta::assert_json_snapshot!(
        "hints",
        json!({"statements": rendered(&p), "warnings": p.warnings})
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn errors_name_the_state_and_the_field() {
    let cases = [
        (
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "End": true}}}),
            "state \"T\": field Resource: a Task state needs a Resource string",
        ),
        (
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "lambda", "End": true}}}),
            "state \"T\": field Resource: \"lambda\": not an ARN",
        ),
        (
            json!({"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "jobs", "MessageBody": "m"}, "End": true}}}),
            "state \"Q\": field Parameters.QueueUrl: not an SQS queue URL",
        ),
        (
            json!({"StartAt": "L", "States": {"L": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"Payload": "{% $states.input %}"}, "End": true}}}),
            "state \"L\": field Arguments.FunctionName: is required",
        ),
        (
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true}}}),
            "state \"M\": field ItemProcessor: a Map state needs an ItemProcessor",
        ),
        (
            json!({"StartAt": "X", "States": []}),
            "definition: States: States must be an object of named states",
        ),
    ];
    for (asl, want) in cases {
        let e = iam::derive(&asl, &ctx()).unwrap_err().to_string();
        assert!(e.starts_with(want), "{e:?} does not start with {want:?}");
    }
}

#[test]
fn role_names_fit_iam() {
    assert_eq!(iam::role_name("demo-poller"), "demo-poller");
    let long = format!("team-{}", "x".repeat(90));
    let r = iam::role_name(&long);
    assert_eq!(r.len(), 64);
    assert_eq!(r, iam::role_name(&long));
    assert_ne!(r, iam::role_name(&format!("{long}y")));
    let odd = iam::role_name("ns/with spaces");
    assert!(
        odd.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
        "{odd}"
    );
}

#[test]
fn the_context_comes_from_a_state_machine_spec_and_task_integrations() {
    let spec: sfn_api::StateMachineSpec = serde_json::from_value(json!({
        "definitionJson": "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}",
        "role": {
            "permissionsBoundary": "arn:aws:iam::111122223333:policy/boundary",
            "extraStatements": [{"sid": "Extra", "effect": "Allow", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::cfg/*"]}]
        },
        "logging": {"level": "ERROR", "logGroupArn": "arn:aws:logs:eu-west-1:111122223333:log-group:sfn:*"},
        "tracing": {"enabled": true},
        "encryption": {"kmsKeyId": "arn:aws:kms:eu-west-1:111122223333:key/k"}
    }))
    .unwrap();
    let ti: sfn_api::TaskIntegrationSpec = serde_json::from_value(json!({
        "ecs": {"clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/c",
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/t:1",
                "passRoleArns": ["arn:aws:iam::111122223333:role/t"]},
        "pattern": "sync"
    }))
    .unwrap();
    let hints = [("Run".to_string(), TaskHints::from_integration(&ti))]
        .into_iter()
        .collect();
    let c = RoleContext::from_spec(
        &spec,
        "aws",
        "eu-west-1",
        "111122223333",
        "payments-settle",
        hints,
    );
    assert_eq!(
        c.logging.as_ref().and_then(|l| l.log_group_arn.as_deref()),
        Some("arn:aws:logs:eu-west-1:111122223333:log-group:sfn:*")
    );
    assert!(c.tracing);
    assert_eq!(
        c.kms_key_arn.as_deref(),
        Some("arn:aws:kms:eu-west-1:111122223333:key/k")
    );
    assert_eq!(
        c.permissions_boundary.as_deref(),
        Some("arn:aws:iam::111122223333:policy/boundary")
    );
    assert_eq!(c.extra_statements[0].sid.as_deref(), Some("Extra"));
    assert_eq!(
        c.task_hints["Run"].pass_role_arns,
        vec!["arn:aws:iam::111122223333:role/t"]
    );

    let asl: Value = serde_json::from_str(spec.definition_json.as_deref().unwrap()).unwrap();
    let p = iam::derive(&asl, &c).unwrap();
    let reasons: Vec<&str> = p
        .statements
        .iter()
        .flat_map(|s| s.reasons.iter().map(String::as_str))
        .collect();
    assert_eq!(
        reasons,
        vec![
            "encryption",
            "logging to arn:aws:logs:eu-west-1:111122223333:log-group:sfn:*",
            "tracing",
            "spec.role.extraStatements[0]"
        ]
    );
}

#[test]
fn the_plan_explanation_lists_statements_reasons_and_warnings() {
    let asl = json!({"StartAt": "Pick", "States": {
        "Pick": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName.$": "$.handler"}, "Next": "Tell"},
        "Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                 "Parameters": {"TopicArn": "arn:aws:sns:eu-west-1:111122223333:done", "Message": "x"}, "End": true}}});
    let mut c = ctx();
    c.permissions_boundary = Some("arn:aws:iam::111122223333:policy/boundary".into());
    let p = iam::derive(&asl, &c).unwrap();
    insta::assert_snapshot!("explain", p.explain());
    assert_eq!(
        p.rendered_statements()[1],
        r#"{"Effect":"Allow","Action":"sns:Publish","Resource":"arn:aws:sns:eu-west-1:111122223333:done"}"#
    );
}

#[test]
fn a_task_with_credentials_assumes_the_other_role_instead_of_calling_itself() {
    let asl = json!({"StartAt": "Remote", "States": {
        "Remote": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Credentials": {"RoleArn": "arn:aws:iam::444455556666:role/cross-account"},
                   "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:444455556666:function:remote"}, "Next": "Any"},
        "Any": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                "Credentials": {"RoleArn.$": "$.role"},
                "Parameters": {"TopicArn": "arn:aws:sns:eu-west-1:444455556666:t", "Message": "m"}, "End": true}}});
    let p = iam::derive(&asl, &ctx()).unwrap();
    // The run-time role widens to any role; it covers the exact one, which is folded into it.
    assert_eq!(
        rendered(&p),
        vec![
            json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/*"})
        ]
    );
    let messages: Vec<&str> = p.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Credentials.RoleArn is chosen at run time"))
    );
    assert!(messages.contains(&"runs with the role arn:aws:iam::444455556666:role/cross-account: that role (not the state machine's) needs lambda:InvokeFunction"));
}
