//! AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`): the IAM action is `<prefix>:<Action>`,
//! where the prefix is the service's IAM prefix and usually, but not always, the SDK service name
//! ("AWS SDK service integrations", supported-services-awssdk.html; IAM prefixes from the Service Authorization
//! Reference). Resources come from the TaskIntegration's `awsSdk.resources` when declared, otherwise from the
//! parameters of the calls we know; anything else is granted on `"*"` with a warning.

use super::names::{has_action, iam_prefix, nearest_action, nearest_service, pascal, sdk_prefix};
use super::task::Task;
use crate::IamError;
use crate::arn::{lambda_function, sqs_queue_arn};
use crate::params::{Param, elements, lookup as lookup_param};

/// IAM actions of SDK calls whose IAM action is not the API name.
fn iam_actions(service: &str, action: &str) -> Vec<String> {
    let p = iam_prefix(service);
    let fixed: &[&str] = match (service, action) {
        ("s3", "listObjectsV2" | "listObjects" | "headBucket") => &["s3:ListBucket"],
        ("s3", "listObjectVersions") => &["s3:ListBucketVersions"],
        ("s3", "headObject") => &["s3:GetObject"],
        ("s3", "deleteObjects") => &["s3:DeleteObject"],
        ("s3", "listBuckets") => &["s3:ListAllMyBuckets"],
        ("s3", "getObjectAttributes") => &["s3:GetObject", "s3:GetObjectAttributes"],
        ("s3", "copyObject") => &["s3:GetObject", "s3:PutObject"],
        ("s3", "createMultipartUpload" | "uploadPart" | "completeMultipartUpload") => {
            &["s3:PutObject"]
        }
        ("lambda", "invoke" | "invokeAsync") => &["lambda:InvokeFunction"],
        // DynamoDB authorises each item of a transaction with its item action (see `item_action`).
        ("dynamodb", "transactGetItems") => &["dynamodb:GetItem"],
        ("dynamodb", "transactWriteItems") => &[
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        ("apigatewaymanagementapi", _) => &["execute-api:ManageConnections"],
        _ => &[],
    };
    if fixed.is_empty() {
        vec![format!("{p}:{}", pascal(action))]
    } else {
        fixed.iter().map(|s| s.to_string()).collect()
    }
}

/// Static string parameter, or `None` (dynamic or absent).
fn static_str<'a>(t: &Task<'a>, key: &str) -> Option<&'a str> {
    t.params.str(key).as_str()
}

/// Rejects a service or an IAM action AWS does not have, naming the nearest one it has: a typo here would
/// otherwise become a statement that grants nothing while the task fails at run time.
fn check_exists(t: &Task<'_>, actions: &[String]) -> Result<(), IamError> {
    let unknown = |message: String| IamError::UnknownIntegration {
        state: t.state.to_string(),
        message: format!("aws-sdk:{}:{}: {message}", t.service, t.action),
    };
    let Some(prefix) = sdk_prefix(t.service) else {
        let hint = nearest_service(t.service)
            .map(|n| format!(" (nearest: {n})"))
            .unwrap_or_default();
        return Err(unknown(format!(
            "AWS has no SDK service {:?}{hint}",
            t.service
        )));
    };
    for a in actions {
        let (p, name) = a.split_once(':').unwrap_or((prefix, a));
        if !has_action(p, name) {
            let hint = nearest_action(p, name)
                .map(|n| format!(" (nearest: {p}:{n})"))
                .unwrap_or_default();
            return Err(unknown(format!("AWS has no IAM action {a}{hint}")));
        }
    }
    Ok(())
}

pub(crate) fn grants(t: &mut Task<'_>) -> Result<(), IamError> {
    let actions = iam_actions(t.service, t.action);
    check_exists(t, &actions)?;
    // Explicit resources from the TaskIntegration win: the user has said what the call touches.
    if let Some(h) = t.hints.filter(|h| !h.resources.is_empty()) {
        let res = h.resources.clone();
        let actions = match (t.service, t.action) {
            ("dynamodb", "transactWriteItems") => transact_actions(t).unwrap_or(actions),
            _ => actions,
        };
        t.grant(actions, res);
        return Ok(());
    }
    let p = t.scope.partition;
    let known: Option<Vec<String>> = match (t.service, t.action) {
        ("dynamodb", "transactWriteItems" | "transactGetItems") => return transact(t),
        ("dynamodb", "batchWriteItem" | "batchGetItem") => match t.params.str("RequestItems") {
            Param::Static(v) => v.as_object().map(|m| {
                m.keys()
                    .map(|k| t.scope.named("dynamodb", "table/", k))
                    .collect()
            }),
            _ => None,
        },
        // A Query or Scan of a secondary index is authorised on the index, `table/T/index/NAME`, not on the
        // table ("Using IAM policy conditions for fine-grained access control", DynamoDB developer guide).
        ("dynamodb", "query" | "scan") => static_str(t, "TableName").map(|s| {
            let table = t.scope.named("dynamodb", "table/", s);
            match t.params.str("IndexName") {
                Param::Static(v) => match v.as_str() {
                    Some(i) => vec![format!("{table}/index/{i}")],
                    None => vec![table],
                },
                Param::Dynamic => {
                    let w = format!("{table}/index/*");
                    t.widen(format!(
                        "IndexName is chosen at run time: {} granted on {w}",
                        actions.join(", ")
                    ));
                    vec![w]
                }
                Param::Absent => vec![table],
            }
        }),
        ("dynamodb", _) => {
            static_str(t, "TableName").map(|s| vec![t.scope.named("dynamodb", "table/", s)])
        }
        ("s3", "listObjectsV2" | "listObjects" | "listObjectVersions" | "headBucket")
        | ("s3", "getBucketLocation" | "getBucketTagging" | "getBucketPolicy") => {
            static_str(t, "Bucket").map(|b| vec![format!("arn:{p}:s3:::{b}")])
        }
        ("s3", "copyObject") => match (
            static_str(t, "Bucket"),
            static_str(t, "Key"),
            static_str(t, "CopySource"),
        ) {
            (Some(b), Some(k), Some(src)) => Some(vec![
                format!("arn:{p}:s3:::{b}/{k}"),
                format!("arn:{p}:s3:::{}", src.trim_start_matches('/')),
            ]),
            _ => None,
        },
        ("s3", _) => match (static_str(t, "Bucket"), t.params.str("Key")) {
            (Some(b), Param::Static(k)) => {
                k.as_str().map(|k| vec![format!("arn:{p}:s3:::{b}/{k}")])
            }
            (Some(b), Param::Dynamic) => {
                let w = format!("arn:{p}:s3:::{b}/*");
                t.widen(format!(
                    "Key is chosen at run time: {} granted on {w}",
                    actions.join(", ")
                ));
                Some(vec![w])
            }
            (Some(b), Param::Absent) => Some(vec![format!("arn:{p}:s3:::{b}")]),
            _ => None,
        },
        (
            "sfn",
            "startExecution" | "startSyncExecution" | "describeStateMachine" | "listExecutions",
        ) => static_str(t, "StateMachineArn").map(|s| vec![s.to_string()]),
        (
            "sfn",
            "describeExecution" | "stopExecution" | "getExecutionHistory" | "redriveExecution",
        ) => static_str(t, "ExecutionArn").map(|s| vec![s.to_string()]),
        ("lambda", _) => static_str(t, "FunctionName")
            .and_then(|f| lambda_function(&t.scope, f))
            .map(|(f, q)| match q {
                Some(q) => vec![format!("{f}:{q}")],
                None => vec![f.clone(), format!("{f}:*")],
            }),
        ("sqs", _) => static_str(t, "QueueUrl")
            .and_then(|u| sqs_queue_arn(&t.scope, u))
            .map(|a| vec![a]),
        ("sns", _) => static_str(t, "TopicArn").map(|s| vec![s.to_string()]),
        ("glue", "startCrawler" | "getCrawler" | "stopCrawler") => {
            static_str(t, "Name").map(|n| vec![t.arn("glue", &format!("crawler/{n}"))])
        }
        ("glue", "startJobRun" | "getJobRun" | "getJobRuns" | "batchStopJobRun") => {
            static_str(t, "JobName").map(|n| vec![t.arn("glue", &format!("job/{n}"))])
        }
        ("scheduler", "createSchedule" | "updateSchedule" | "deleteSchedule" | "getSchedule") => {
            scheduler_role(t)?;
            let group = match t.params.str("GroupName") {
                Param::Static(v) => v.as_str().map(str::to_string),
                Param::Absent => Some("default".to_string()),
                Param::Dynamic => None,
            };
            match (group, static_str(t, "Name")) {
                (Some(g), Some(n)) => Some(vec![t.arn("scheduler", &format!("schedule/{g}/{n}"))]),
                _ => None,
            }
        }
        ("secretsmanager", "getSecretValue" | "describeSecret") => {
            static_str(t, "SecretId").map(|s| {
                if s.starts_with("arn:") {
                    vec![s.to_string()]
                } else {
                    // Secret ARNs end in `-` and six random characters.
                    vec![t.arn("secretsmanager", &format!("secret:{s}-??????"))]
                }
            })
        }
        ("ssm", "getParameter") => static_str(t, "Name")
            .map(|n| vec![t.arn("ssm", &format!("parameter/{}", n.trim_start_matches('/')))]),
        ("events", "putEvents") => {
            let wide = t.arn("events", "event-bus/*");
            elements(t.params.str("Entries")).map(|items| {
                items
                    .into_iter()
                    .map(|e| match lookup_param(e, &["EventBusName"]) {
                        Param::Absent => t.arn("events", "event-bus/default"),
                        Param::Static(v) => v
                            .as_str()
                            .map(|s| t.scope.named("events", "event-bus/", s))
                            .unwrap_or_else(|| wide.clone()),
                        Param::Dynamic => wide.clone(),
                    })
                    .collect()
            })
        }
        _ => None,
    };
    let wide = match &known {
        Some(r) if !r.is_empty() => None,
        _ => narrowest(t),
    };
    match (known, wide) {
        (Some(r), _) if !r.is_empty() => t.grant(actions, r),
        (_, Some(w)) => {
            t.widen(format!(
                "aws-sdk:{}:{}: the target is chosen at run time: {} granted on {w}",
                t.service,
                t.action,
                actions.join(", ")
            ));
            t.grant(actions, [w]);
        }
        _ => {
            let no_resource_level = matches!(
                (t.service, t.action),
                (
                    "sfn",
                    "sendTaskSuccess" | "sendTaskFailure" | "sendTaskHeartbeat"
                )
            );
            let why = if no_resource_level {
                "does not support resource-level permissions".to_string()
            } else {
                "has no static resource in the definition; declare resources in the TaskIntegration's awsSdk.resources for an exact grant".to_string()
            };
            t.widen(format!(
                "aws-sdk:{}:{} {why}: {} granted on \"*\"",
                t.service,
                t.action,
                actions.join(", ")
            ));
            t.grant(actions, ["*"]);
        }
    }
    Ok(())
}

/// For calls we know, the narrowest pattern covering any target in the role's account and region, used when the
/// target is chosen at run time.
fn narrowest(t: &Task<'_>) -> Option<String> {
    let p = t.scope.partition;
    Some(match (t.service, t.action) {
        ("s3", _) => format!("arn:{p}:s3:::*"),
        ("dynamodb", _) => t.arn("dynamodb", "table/*"),
        ("lambda", _) => t.arn("lambda", "function:*"),
        ("sqs", _) => t.arn("sqs", "*"),
        ("sns", _) => t.arn("sns", "*"),
        (
            "sfn",
            "startExecution" | "startSyncExecution" | "describeStateMachine" | "listExecutions",
        ) => t.arn("states", "stateMachine:*"),
        (
            "sfn",
            "describeExecution" | "stopExecution" | "getExecutionHistory" | "redriveExecution",
        ) => t.arn("states", "execution:*"),
        ("glue", "startCrawler" | "getCrawler" | "stopCrawler") => t.arn("glue", "crawler/*"),
        ("glue", "startJobRun" | "getJobRun" | "getJobRuns" | "batchStopJobRun") => {
            t.arn("glue", "job/*")
        }
        ("scheduler", "createSchedule" | "updateSchedule" | "deleteSchedule" | "getSchedule") => {
            t.arn("scheduler", "schedule/*")
        }
        ("secretsmanager", "getSecretValue" | "describeSecret") => {
            t.arn("secretsmanager", "secret:*")
        }
        ("ssm", "getParameter") => t.arn("ssm", "parameter/*"),
        ("events", "putEvents") => t.arn("events", "event-bus/*"),
        _ => return None,
    })
}

/// EventBridge Scheduler passes `Target.RoleArn` to the schedule's target invocations.
fn scheduler_role(t: &mut Task<'_>) -> Result<(), IamError> {
    if !matches!(t.action, "createSchedule" | "updateSchedule") {
        return Ok(());
    }
    let roles = match t.params.get(&["Target", "RoleArn"]) {
        Param::Static(v) => v
            .as_str()
            .map(|s| vec![t.scope.role_arn(s)])
            .unwrap_or_default(),
        Param::Dynamic => {
            let w = t.scope.global_arn("iam", "role/*");
            t.widen(format!(
                "Target.RoleArn is chosen at run time: iam:PassRole granted on {w} (to scheduler.amazonaws.com only)"
            ));
            vec![w]
        }
        Param::Absent => Vec::new(),
    };
    t.pass_role(&roles, &["scheduler.amazonaws.com"]);
    Ok(())
}

/// Item actions of a transaction, without resources (for declared resources).
fn transact_actions(t: &Task<'_>) -> Option<Vec<String>> {
    let items = elements(t.params.str("TransactItems"))?;
    let mut out: Vec<String> = items
        .into_iter()
        .filter_map(|i| match i {
            Param::Static(v) => v.as_object().and_then(|m| m.keys().next().cloned()),
            _ => None,
        })
        .filter_map(|k| item_action(&k).map(str::to_string))
        .collect();
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// The IAM action a transaction item kind needs: there is no `dynamodb:TransactWriteItems` action; DynamoDB
/// authorises each item with the matching item action ("Using IAM with DynamoDB transactions").
fn item_action(kind: &str) -> Option<&'static str> {
    match kind {
        "Put" => Some("dynamodb:PutItem"),
        "Update" => Some("dynamodb:UpdateItem"),
        "Delete" => Some("dynamodb:DeleteItem"),
        "ConditionCheck" => Some("dynamodb:ConditionCheckItem"),
        "Get" => Some("dynamodb:GetItem"),
        _ => None,
    }
}

/// `transactWriteItems` / `transactGetItems`: the item action per table.
fn transact(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("dynamodb", "table/*");
    let Some(items) = elements(t.params.str("TransactItems")) else {
        let actions = if t.action == "transactGetItems" {
            vec!["dynamodb:GetItem"]
        } else {
            vec![
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ]
        };
        t.widen(format!(
            "TransactItems are chosen at run time: {} granted on {wide}",
            actions.join(", ")
        ));
        t.grant(actions, [wide]);
        return Ok(());
    };
    for (i, item) in items.into_iter().enumerate() {
        let Param::Static(v) = item else {
            t.widen(format!(
                "TransactItems[{i}] is chosen at run time: item actions granted on {wide}"
            ));
            t.grant(
                [
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                [wide.clone()],
            );
            continue;
        };
        let Some((kind, _)) = v.as_object().and_then(|m| m.iter().next()) else {
            return Err(t.bad_param(
                &format!("TransactItems[{i}]"),
                "must be an object with one operation",
            ));
        };
        let action = item_action(kind).ok_or_else(|| {
            t.bad_param(
                &format!("TransactItems[{i}]"),
                format!("unknown transaction operation {kind:?}"),
            )
        })?;
        let table = match lookup_param(item, &[kind, "TableName"]) {
            Param::Static(v) => v
                .as_str()
                .map(|s| t.scope.named("dynamodb", "table/", s))
                .ok_or_else(|| {
                    t.bad_param(
                        &format!("TransactItems[{i}].{kind}.TableName"),
                        "must be a string",
                    )
                })?,
            Param::Dynamic => {
                t.widen(format!(
                    "TransactItems[{i}].{kind}.TableName is chosen at run time: {action} granted on {wide}"
                ));
                wide.clone()
            }
            Param::Absent => {
                return Err(t.bad_param(
                    &format!("TransactItems[{i}].{kind}.TableName"),
                    "is required",
                ));
            }
        };
        t.grant([action], [table]);
    }
    Ok(())
}
