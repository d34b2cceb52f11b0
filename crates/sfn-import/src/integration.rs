//! From a Task's `Resource` and parameters back to a TaskIntegration: the exact inverse of
//! `sfn_asl::integration::resolve_task`. The service and the integration pattern come from the resource
//! (`.sync`, `.sync:2` for nested executions, `.waitForTaskToken`), the service block's fields from the literal
//! parameters the compiler would put back (`FunctionName`, `TopicArn`, ...), which are taken out of the state's
//! own parameters.
//!
//! Every candidate is checked by resolving it again with the compiler's own function: the resource must
//! come back unchanged and the compiler must add nothing the state did not have. What does not pass stays a
//! raw `resource:` on the state, with the reason, rather than a TaskIntegration that would compile to
//! something else.

use serde_json::{Map, Value};

use sfn_api::{
    ActivityIntegration, AwsSdkIntegration, BatchIntegration, DynamoDbAction, DynamoDbIntegration,
    EcsIntegration, EventBridgeIntegration, GlueIntegration, HttpIntegration, HttpMethod,
    IntegrationPattern, LambdaIntegration, LaunchType, SagemakerTrainingIntegration,
    SagemakerTransformIntegration, SnsIntegration, SqsIntegration, StepFunctionsIntegration,
    TaskIntegrationSpec,
};
use sfn_asl::integration::{NoReferences, resolve_task};

/// A Task resource turned into a TaskIntegration.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    pub spec: TaskIntegrationSpec,
    /// A name for the TaskIntegration object, from what it calls (not yet made unique).
    pub name_hint: String,
    /// What remains of the state's `Parameters` (or `Arguments`) once the integration's own are taken out.
    pub rest: Option<Value>,
}

/// Reads the TaskIntegration behind `resource` with the state's `Parameters` (JSONPath) or `Arguments`
/// (JSONata). `Err` says why the state keeps its raw resource.
pub fn recognise(
    resource: &str,
    params: Option<&Value>,
    jsonata: bool,
) -> Result<Recognised, String> {
    let mut map = match params {
        None => Map::new(),
        Some(Value::Object(m)) if m.is_empty() => {
            return Err(
                "its parameters are an empty object, which a TaskIntegration would drop".into(),
            );
        }
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err("its arguments are an expression, not an object the integration's parameters can be merged into".into());
        }
    };
    let (spec, name_hint) = service(resource, &mut map, jsonata)?;
    // The compiler must give back this very resource, and the parameters it adds must be the ones taken out.
    let resolved = resolve_task(&spec, &NoReferences).map_err(|e| e.to_string())?;
    if resolved.resource != resource {
        return Err(format!(
            "the TaskIntegration would compile to the resource {}",
            resolved.resource
        ));
    }
    if resolved.default_payload && !map.contains_key("Payload") && !map.contains_key("Payload.$") {
        return Err("it sets no Payload, and a lambda TaskIntegration passes the whole state input as Payload by default".into());
    }
    let rest = (!map.is_empty()).then_some(Value::Object(map));
    Ok(Recognised {
        spec,
        name_hint,
        rest,
    })
}

/// Takes the literal string parameter `key` out of `map`: a plain string that is neither a path (`key.$`)
/// nor a JSONata expression.
fn literal(map: &mut Map<String, Value>, key: &str, jsonata: bool) -> Result<String, String> {
    if map.contains_key(&format!("{key}.$")) {
        return Err(format!("{key} is a path ({key}.$), chosen at run time"));
    }
    match map.get(key) {
        Some(Value::String(s)) if !(jsonata && s.trim_start().starts_with("{%")) => {
            let s = s.clone();
            map.shift_remove(key);
            Ok(s)
        }
        Some(Value::String(_)) => Err(format!("{key} is a JSONata expression, chosen at run time")),
        Some(_) => Err(format!("{key} is not a string")),
        None => Err(format!("it does not set {key}")),
    }
}

/// Like [`literal`], for a parameter the service block may leave out.
fn optional_literal(
    map: &mut Map<String, Value>,
    key: &str,
    jsonata: bool,
) -> Result<Option<String>, String> {
    if map.contains_key(key) || map.contains_key(&format!("{key}.$")) {
        literal(map, key, jsonata).map(Some)
    } else {
        Ok(None)
    }
}

/// The pattern of an optimized integration resource `service:action<suffix>`, and the bare `service:action`.
fn split_pattern(rest: &str) -> (&str, IntegrationPattern, &str) {
    for (suffix, pattern) in [
        (".waitForTaskToken", IntegrationPattern::WaitForTaskToken),
        (".sync:2", IntegrationPattern::Sync),
        (".sync", IntegrationPattern::Sync),
    ] {
        if let Some(bare) = rest.strip_suffix(suffix) {
            return (bare, pattern, suffix);
        }
    }
    (rest, IntegrationPattern::RequestResponse, "")
}

/// The last `:`- or `/`-separated part of an ARN, a name for the integration.
fn last_part(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

fn service(
    resource: &str,
    map: &mut Map<String, Value>,
    jsonata: bool,
) -> Result<(TaskIntegrationSpec, String), String> {
    let mut spec = TaskIntegrationSpec::default();
    // A Lambda function ARN as the resource: the direct invocation (`payloadResponseOnly`).
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
        let (function_arn, qualifier) = match parts.len() {
            7 => (resource.to_owned(), None),
            8 => (parts[..7].join(":"), Some(parts[7].to_owned())),
            _ => return Err("the Lambda function ARN has too many parts".into()),
        };
        let name = parts[6].to_owned();
        spec.lambda = Some(LambdaIntegration {
            function_arn,
            qualifier,
            payload_response_only: Some(true),
        });
        return Ok((spec, name));
    }
    if parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity" {
        spec.activity = Some(ActivityIntegration {
            activity_ref: None,
            activity_arn: Some(resource.to_owned()),
        });
        return Ok((spec, parts[6].to_owned()));
    }
    let Some(optimized) = resource.strip_prefix("arn:aws:states:::") else {
        return Err(
            "it is not a service integration, Lambda function or activity ARN the operator types"
                .into(),
        );
    };
    let (bare, pattern, suffix) = split_pattern(optimized);
    if pattern != IntegrationPattern::RequestResponse {
        spec.pattern = Some(pattern);
    }
    let name = match bare {
        "lambda:invoke" => {
            let function_arn = literal(map, "FunctionName", jsonata)?;
            let qualifier = optional_literal(map, "Qualifier", jsonata)?;
            let name = last_part(&function_arn).to_owned();
            spec.lambda = Some(LambdaIntegration {
                function_arn,
                qualifier,
                payload_response_only: None,
            });
            name
        }
        "sns:publish" => {
            let topic_arn = literal(map, "TopicArn", jsonata)?;
            let name = last_part(&topic_arn).to_owned();
            spec.sns = Some(SnsIntegration { topic_arn });
            name
        }
        "sqs:sendMessage" => {
            let queue_url = literal(map, "QueueUrl", jsonata)?;
            let name = last_part(&queue_url).to_owned();
            spec.sqs = Some(SqsIntegration { queue_url });
            name
        }
        "ecs:runTask" => {
            let cluster_arn = literal(map, "Cluster", jsonata)?;
            let task_definition_arn = literal(map, "TaskDefinition", jsonata)?;
            let launch_type = match map.get("LaunchType") {
                Some(Value::String(s)) if s == "FARGATE" || s == "EC2" => {
                    let lt = if s == "FARGATE" {
                        LaunchType::Fargate
                    } else {
                        LaunchType::Ec2
                    };
                    map.shift_remove("LaunchType");
                    Some(lt)
                }
                _ => None,
            };
            let family = last_part(
                task_definition_arn
                    .rsplit_once(':')
                    .filter(|(_, rev)| rev.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(task_definition_arn.as_str(), |(family, _)| family),
            )
            .to_owned();
            spec.ecs = Some(EcsIntegration {
                cluster_arn,
                task_definition_arn,
                launch_type,
                pass_role_arns: Vec::new(),
            });
            family
        }
        "batch:submitJob" => {
            let job_queue_arn = literal(map, "JobQueue", jsonata)?;
            let job_definition_arn = literal(map, "JobDefinition", jsonata)?;
            let job_name = literal(map, "JobName", jsonata)?;
            let name = job_name.clone();
            spec.batch = Some(BatchIntegration {
                job_queue_arn,
                job_definition_arn,
                job_name,
            });
            name
        }
        "glue:startJobRun" => {
            let job_name = literal(map, "JobName", jsonata)?;
            let name = job_name.clone();
            spec.glue = Some(GlueIntegration { job_name });
            name
        }
        "sagemaker:createTrainingJob" => {
            let training_job_name = literal(map, "TrainingJobName", jsonata)?;
            let role_arn = literal(map, "RoleArn", jsonata)?;
            let name = training_job_name.clone();
            spec.sagemaker_training = Some(SagemakerTrainingIntegration {
                training_job_name,
                role_arn,
            });
            name
        }
        "sagemaker:createTransformJob" => {
            let transform_job_name = literal(map, "TransformJobName", jsonata)?;
            let model_name = literal(map, "ModelName", jsonata)?;
            let name = transform_job_name.clone();
            spec.sagemaker_transform = Some(SagemakerTransformIntegration {
                transform_job_name,
                model_name,
                role_arn: None,
            });
            name
        }
        "events:putEvents" => {
            let bus = common_event_bus(map)?;
            let name = format!("events-{}", last_part(bus.as_deref().unwrap_or("default")));
            spec.eventbridge = Some(EventBridgeIntegration {
                event_bus_name: bus.filter(|b| b != "default"),
            });
            name
        }
        "http:invoke" => {
            let endpoint = literal(map, "ApiEndpoint", jsonata)?;
            let method = match map.get("Method") {
                Some(Value::String(m)) => {
                    serde_json::from_value::<HttpMethod>(Value::String(m.clone()))
                        .map_err(|_| format!("Method {m:?} is not one the http block names"))?
                }
                _ => return Err("Method is not a literal HTTP method".into()),
            };
            map.shift_remove("Method");
            let connection_arn = match map.get("Authentication") {
                Some(Value::Object(a)) if a.len() == 1 => match a.get("ConnectionArn") {
                    Some(Value::String(c)) => c.clone(),
                    _ => return Err("Authentication does not hold a literal ConnectionArn".into()),
                },
                _ => {
                    return Err("Authentication is not exactly one literal ConnectionArn".into());
                }
            };
            map.shift_remove("Authentication");
            let host = endpoint
                .split("://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or("http")
                .to_owned();
            spec.http = Some(HttpIntegration {
                endpoint,
                method,
                connection_arn,
            });
            host
        }
        "states:startExecution" => {
            if suffix == ".sync" {
                return Err("states:startExecution.sync returns the child's output as a string; the stepFunctions block's sync pattern is .sync:2".into());
            }
            let arn = literal(map, "StateMachineArn", jsonata)?;
            // A version or alias ARN keeps its qualifier in the name: `orders:live` becomes `orders-live`.
            let name = match arn.split_once(":stateMachine:") {
                Some((_, qualified)) => qualified.replace(':', "-"),
                None => last_part(&arn).to_owned(),
            };
            spec.step_functions = Some(StepFunctionsIntegration {
                state_machine_ref: None,
                state_machine_arn: Some(arn),
                alias: None,
            });
            name
        }
        other => {
            if let Some(action) = dynamodb_action(other) {
                let table_name = literal(map, "TableName", jsonata)?;
                let name = format!("{table_name}-{}", action.as_str());
                spec.dynamodb = Some(DynamoDbIntegration { action, table_name });
                name
            } else if let Some(sdk) = other.strip_prefix("aws-sdk:") {
                let Some((service, action)) = sdk.split_once(':') else {
                    return Err("the aws-sdk resource names no action".into());
                };
                let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
                if service.is_empty()
                    || !service.chars().all(lower)
                    || !action.starts_with(|c: char| c.is_ascii_lowercase())
                    || !action.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err(format!(
                        "the aws-sdk service {service:?} or action {action:?} is not one the awsSdk block accepts"
                    ));
                }
                let name = format!("{service}-{action}");
                spec.aws_sdk = Some(AwsSdkIntegration {
                    service: service.to_owned(),
                    action: action.to_owned(),
                    resources: Vec::new(),
                });
                name
            } else {
                return Err(format!("no TaskIntegration service block covers {other}"));
            }
        }
    };
    Ok((spec, name))
}

fn dynamodb_action(bare: &str) -> Option<DynamoDbAction> {
    match bare {
        "dynamodb:getItem" => Some(DynamoDbAction::GetItem),
        "dynamodb:putItem" => Some(DynamoDbAction::PutItem),
        "dynamodb:updateItem" => Some(DynamoDbAction::UpdateItem),
        "dynamodb:deleteItem" => Some(DynamoDbAction::DeleteItem),
        _ => None,
    }
}

/// EventBridge: the compiler writes the block's bus into every entry that names none. When every entry names
/// the same literal bus, that bus moves to the block; entries that name their own stay as they are.
fn common_event_bus(map: &mut Map<String, Value>) -> Result<Option<String>, String> {
    if map.contains_key("Entries.$") {
        return Ok(None);
    }
    let Some(Value::Array(entries)) = map.get_mut("Entries") else {
        return Err("Entries is not a list the eventbridge block can fill".into());
    };
    let buses: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.get("EventBusName").and_then(Value::as_str))
        .collect();
    let all_same = buses
        .first()
        .copied()
        .flatten()
        .filter(|first| buses.iter().all(|b| b == &Some(*first)))
        .map(str::to_owned);
    if let Some(bus) = all_same {
        for e in entries.iter_mut() {
            if let Value::Object(m) = e {
                m.shift_remove("EventBusName");
            }
        }
        return Ok(Some(bus));
    }
    let every_entry_names_one = entries
        .iter()
        .all(|e| e.get("EventBusName").is_some() || e.get("EventBusName.$").is_some());
    if every_entry_names_one {
        Ok(None)
    } else {
        Err("some Entries name no EventBusName and the others name different buses".into())
    }
}

/// A Kubernetes object name (DNS-1123 subdomain, kept to 63 characters for readability) from free text:
/// lower case, runs of other characters turned into one `-`.
pub fn object_name(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            // A word starts at an upper-case letter after a lower-case one (`CheckJob`), or at the last capital
            // of a run followed by lower case (`APIGateway`): `check-job`, `api-gateway`.
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let starts_word = c.is_ascii_uppercase()
                && (prev.is_some_and(|p| p.is_ascii_lowercase())
                    || (prev.is_some_and(|p| p.is_ascii_uppercase())
                        && next.is_some_and(|n| n.is_ascii_lowercase())));
            if starts_word && !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "task".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(resource: &str, params: Value) -> Recognised {
        recognise(resource, Some(&params), false).unwrap_or_else(|e| panic!("{resource}: {e}"))
    }

    #[test]
    fn lambda_invoke_takes_the_function_out_of_the_parameters() {
        let r = ok(
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:CheckJob", "Payload": {"token.$": "$$.Task.Token"}}),
        );
        assert_eq!(r.spec.pattern, Some(IntegrationPattern::WaitForTaskToken));
        assert_eq!(
            r.spec.lambda.as_ref().unwrap().function_arn,
            "arn:aws:lambda:us-east-1:123456789012:function:CheckJob"
        );
        assert_eq!(
            r.rest,
            Some(json!({"Payload": {"token.$": "$$.Task.Token"}}))
        );
        assert_eq!(object_name(&r.name_hint), "check-job");
    }

    #[test]
    fn a_lambda_without_payload_or_with_a_dynamic_function_stays_raw() {
        let e = recognise(
            "arn:aws:states:::lambda:invoke",
            Some(&json!({"FunctionName": "f"})),
            false,
        )
        .unwrap_err();
        assert!(e.contains("Payload"), "{e}");
        let e = recognise(
            "arn:aws:states:::lambda:invoke",
            Some(&json!({"FunctionName.$": "$.fn", "Payload.$": "$"})),
            false,
        )
        .unwrap_err();
        assert!(e.contains("FunctionName is a path"), "{e}");
    }

    #[test]
    fn patterns_come_from_the_suffix_and_must_round_trip() {
        let r = ok(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input": {}}),
        );
        assert_eq!(r.spec.pattern, Some(IntegrationPattern::Sync));
        assert_eq!(object_name(&r.name_hint), "child");
        // A qualified ARN is kept as written, and named after machine and alias.
        let r = ok(
            "arn:aws:states:::states:startExecution",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders:live", "Input": {}}),
        );
        let sf = r.spec.step_functions.as_ref().unwrap();
        assert_eq!(
            sf.state_machine_arn.as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:stateMachine:orders:live")
        );
        assert_eq!(object_name(&r.name_hint), "orders-live");
        let e = recognise(
            "arn:aws:states:::states:startExecution.sync",
            Some(&json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child"})),
            false,
        )
        .unwrap_err();
        assert!(e.contains(".sync:2"), "{e}");
        let r = ok(
            "arn:aws:states:::glue:startJobRun.sync",
            json!({"JobName": "etl"}),
        );
        assert_eq!(r.spec.glue.as_ref().unwrap().job_name, "etl");
        assert_eq!(r.rest, None);
        // Lambda has no .sync: the compiler would refuse it, so it stays raw.
        assert!(
            recognise(
                "arn:aws:states:::lambda:invoke.sync",
                Some(&json!({"FunctionName": "f", "Payload.$": "$"})),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn sdk_calls_activities_and_function_arns() {
        let r = ok(
            "arn:aws:states:::aws-sdk:s3:getObject",
            json!({"Bucket": "b", "Key": "k"}),
        );
        assert_eq!(r.spec.aws_sdk.as_ref().unwrap().action, "getObject");
        assert_eq!(object_name(&r.name_hint), "s3-get-object");
        let r = recognise(
            "arn:aws:states:us-east-1:123456789012:activity:approve",
            None,
            false,
        )
        .unwrap();
        assert!(r.spec.activity.is_some());
        let r = recognise(
            "arn:aws:lambda:us-east-1:123456789012:function:f:live",
            None,
            false,
        )
        .unwrap();
        let l = r.spec.lambda.unwrap();
        assert_eq!(l.qualifier.as_deref(), Some("live"));
        assert_eq!(l.payload_response_only, Some(true));
        assert!(recognise("arn:aws:states:::athena:startQueryExecution", None, false).is_err());
    }

    #[test]
    fn event_bus_moves_to_the_block_when_every_entry_shares_it() {
        let r = ok(
            "arn:aws:states:::events:putEvents",
            json!({"Entries": [{"Detail": {}, "EventBusName": "orders"}, {"EventBusName": "orders"}]}),
        );
        assert_eq!(
            r.spec.eventbridge.unwrap().event_bus_name.as_deref(),
            Some("orders")
        );
        assert_eq!(r.rest, Some(json!({"Entries": [{"Detail": {}}, {}]})));
        assert!(
            recognise(
                "arn:aws:states:::events:putEvents",
                Some(&json!({"Entries": [{"Detail": {}}]})),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn object_names_are_dns_labels() {
        assert_eq!(object_name("SubmitJob"), "submit-job");
        assert_eq!(object_name("my_topic.fifo"), "my-topic-fifo");
        assert_eq!(object_name("API"), "api");
        assert_eq!(object_name("APIGateway"), "api-gateway");
        assert_eq!(object_name("TaskDef0E89D5AE"), "task-def0e89d5ae");
        assert_eq!(object_name("ChildDAB30558"), "child-dab30558");
        assert_eq!(object_name("***"), "task");
        assert_eq!(object_name(&"x".repeat(100)).len(), 63);
    }
}
