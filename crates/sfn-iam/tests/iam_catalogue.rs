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
    });
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
