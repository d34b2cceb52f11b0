//! The same Task written in the forms AWS accepts gets the same grants: integration ARNs with the region and
//! account filled in (as console exports write them), and the HTTP Task's connection given under
//! `InvocationConfig` instead of `Authentication`. A malformed Lambda qualifier is refused rather than granted
//! on verbatim.

use serde_json::{Value, json};
use sfn_iam::{self as iam, RoleContext};

fn ctx() -> RoleContext {
    RoleContext::new("us-east-1", "123456789012", "demo-orders")
}

fn derive(task: &Value) -> Value {
    let d = iam::derive_task("Task", task, &ctx()).unwrap_or_else(|e| panic!("{task}: {e}"));
    json!({
        "statements": d.statements.iter().map(|s| s.statement.to_json()).collect::<Vec<_>>(),
        "reasons": d.statements.iter().map(|s| s.reasons.clone()).collect::<Vec<_>>(),
        "warnings": d.warnings,
    })
}

fn task(resource: &str, params: Value) -> Value {
    json!({"Type": "Task", "Resource": resource, "Parameters": params, "End": true})
}

#[test]
fn regional_integration_arns_grant_what_the_regionless_form_grants() {
    for (action, params) in [
        (
            "lambda:invoke",
            json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:F", "Payload.$": "$"}),
        ),
        (
            "aws-sdk:s3:getObject",
            json!({"Bucket": "reports", "Key": "2026/01.csv"}),
        ),
        (
            "ecs:runTask.sync",
            json!({"Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/workers", "TaskDefinition": "report:3"}),
        ),
        (
            "sqs:sendMessage.waitForTaskToken",
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody": {"Token.$": "$$.Task.Token"}}),
        ),
    ] {
        let regionless = derive(&task(&format!("arn:aws:states:::{action}"), params.clone()));
        let regional = derive(&task(
            &format!("arn:aws:states:us-east-1:123456789012:{action}"),
            params,
        ));
        assert_eq!(regional, regionless, "{action}");
        assert!(
            !regionless["statements"].as_array().unwrap().is_empty(),
            "{action}"
        );
    }
}

#[test]
fn regional_arns_that_name_no_integration_are_refused() {
    for r in [
        "arn:aws:states:us-east-1:123456789012:stateMachine:child",
        "arn:aws:states:us-east-1::lambda:invoke",
    ] {
        let t = json!({"Type": "Task", "Resource": r, "End": true});
        assert!(iam::derive_task("Task", &t, &ctx()).is_err(), "{r}");
    }
}

#[test]
fn activity_arns_still_need_no_grant() {
    let t = json!({"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:review", "End": true});
    assert_eq!(derive(&t)["statements"], json!([]));
}

#[test]
fn http_connection_under_invocation_config_gets_the_connection_grants() {
    let connection = "arn:aws:events:us-east-1:123456789012:connection/example/0123abcd-0000-4000-8000-000000000000";
    let base = json!({"ApiEndpoint": "https://api.example.com/v1/orders", "Method": "POST"});
    let with = |key: &str| {
        let mut p = base.clone();
        p[key] = json!({"ConnectionArn": connection});
        derive(&task("arn:aws:states:::http:invoke", p))
    };
    let authentication = with("Authentication");
    let invocation_config = with("InvocationConfig");
    assert_eq!(invocation_config, authentication);
    let text = invocation_config.to_string();
    assert!(
        text.contains("events:RetrieveConnectionCredentials"),
        "{text}"
    );
    assert!(
        text.contains(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/example/*"
        ),
        "{text}"
    );
    // JSONata states give the same fields under Arguments.
    let args = json!({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::http:invoke",
        "Arguments": {"ApiEndpoint": "https://api.example.com/v1/orders", "Method": "POST",
                      "InvocationConfig": {"ConnectionArn": connection}}, "End": true});
    assert_eq!(derive(&args)["statements"], authentication["statements"]);
}

#[test]
fn malformed_lambda_qualifiers_are_refused_not_granted() {
    for f in [
        "arn:aws:lambda:us-east-1:123456789012:function:F:",
        "arn:aws:lambda:us-east-1:123456789012:function:F:$*#",
    ] {
        let t = task("arn:aws:states:::lambda:invoke", json!({"FunctionName": f}));
        assert!(iam::derive_task("Task", &t, &ctx()).is_err(), "{f}");
        let direct = json!({"Type": "Task", "Resource": f, "End": true});
        assert!(iam::derive_task("Task", &direct, &ctx()).is_err(), "{f}");
    }
    let t = task(
        "arn:aws:states:::lambda:invoke",
        json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:F:live"}),
    );
    let text = derive(&t).to_string();
    assert!(
        text.contains("arn:aws:lambda:us-east-1:123456789012:function:F:live"),
        "{text}"
    );
}
