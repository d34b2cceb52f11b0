//! From a TaskIntegration to what a Task state says in ASL: the `Resource` ARN for the service, action and
//! integration pattern, and the default `Parameters` the service needs (function, topic, queue, ...).
//!
//! Which patterns each service supports follows the AWS table "Integrating services with Step Functions"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html>) and the per-service pages
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html> for the suffixes:
//! `.sync`, `.sync:2` for nested executions, `.waitForTaskToken`).

use serde_json::{Map, Value, json};

use sfn_api::{IntegrationPattern, Service, TaskIntegrationSpec};

use IntegrationPattern::{RequestResponse as RR, Sync as SYNC, WaitForTaskToken as WAIT};

/// What a reference in a TaskIntegration points at, for [`IntegrationError::ReferenceNotFound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    TaskIntegration,
    Activity,
    StateMachine,
}

impl RefKind {
    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::TaskIntegration => "TaskIntegration",
            RefKind::Activity => "Activity",
            RefKind::StateMachine => "StateMachine",
        }
    }
}

/// Why an integration could not be turned into ASL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    /// A referenced object does not exist (yet), or has no ARN yet.
    #[error("{} {name:?} not found (or it has no ARN yet)", kind.as_str())]
    ReferenceNotFound { kind: RefKind, name: String },
    /// `stepFunctions.alias` names an alias the referenced StateMachine does not declare (yet).
    #[error(
        "field stepFunctions.alias: StateMachine {machine:?} declares no alias {alias:?} in its spec.aliases"
    )]
    AliasNotDeclared { machine: String, alias: String },
    /// The TaskIntegration itself is wrong.
    #[error("{0}")]
    Invalid(String),
}

/// Supplies what the compiler cannot know on its own: the TaskIntegrations a StateMachine names and the
/// ARNs of the Activities / StateMachines those refer to (the controller reads them from the cluster, the
/// CLI from the files it was given).
pub trait Resolver {
    /// The spec of the TaskIntegration `name` in the StateMachine's namespace.
    fn task_integration(&self, name: &str) -> Option<&TaskIntegrationSpec>;
    /// The ARN of the Activity object `name`, once it exists in AWS.
    fn activity_arn(&self, name: &str) -> Option<String>;
    /// The ARN of the StateMachine object `name`, once it exists in AWS.
    fn state_machine_arn(&self, name: &str) -> Option<String>;
    /// Whether the StateMachine object `name` declares the alias `alias` in its `spec.aliases`.
    fn state_machine_declares_alias(&self, name: &str, alias: &str) -> bool;
}

/// A resolver that knows nothing: every reference is missing. For definitions without integrations.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoReferences;

impl Resolver for NoReferences {
    fn task_integration(&self, _: &str) -> Option<&TaskIntegrationSpec> {
        None
    }
    fn activity_arn(&self, _: &str) -> Option<String> {
        None
    }
    fn state_machine_arn(&self, _: &str) -> Option<String> {
        None
    }
    fn state_machine_declares_alias(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// A resolver over in-memory maps (CLI, tests).
#[derive(Debug, Default, Clone)]
pub struct MapResolver {
    pub task_integrations: std::collections::BTreeMap<String, TaskIntegrationSpec>,
    pub activity_arns: std::collections::BTreeMap<String, String>,
    pub state_machine_arns: std::collections::BTreeMap<String, String>,
    /// The alias names each StateMachine object declares (`spec.aliases[].name`).
    pub state_machine_aliases:
        std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Resolver for MapResolver {
    fn task_integration(&self, name: &str) -> Option<&TaskIntegrationSpec> {
        self.task_integrations.get(name)
    }
    fn activity_arn(&self, name: &str) -> Option<String> {
        self.activity_arns.get(name).cloned()
    }
    fn state_machine_arn(&self, name: &str) -> Option<String> {
        self.state_machine_arns.get(name).cloned()
    }
    fn state_machine_declares_alias(&self, name: &str, alias: &str) -> bool {
        self.state_machine_aliases
            .get(name)
            .is_some_and(|aliases| aliases.contains(alias))
    }
}

/// The ASL side of one TaskIntegration.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTask {
    /// ASL `Resource`.
    pub resource: String,
    /// Parameters the service needs, already merged with the TaskIntegration's own `parameters`
    /// (the state's parameters go on top of these).
    pub parameters: Map<String, Value>,
    /// The pattern needs `$$.Task.Token` passed to the service.
    pub needs_task_token: bool,
    /// `lambda:invoke`: when the state sets no `Payload`, the function gets the whole state input (the CDK's
    /// `LambdaInvoke` default). Applied by the compiler after the state's own parameters are merged, in the
    /// state's query language.
    pub default_payload: bool,
}

/// The patterns a service supports, per the AWS integration table.
pub fn supported_patterns(service: &Service<'_>) -> &'static [IntegrationPattern] {
    match service {
        Service::Lambda(_) => &[RR, WAIT],
        Service::Sns(_) => &[RR, WAIT],
        Service::Sqs(_) => &[RR, WAIT],
        Service::Ecs(_) => &[RR, SYNC, WAIT],
        Service::Batch(_) => &[RR, SYNC],
        Service::Glue(_) => &[RR, SYNC],
        Service::SagemakerTraining(_) => &[RR, SYNC],
        Service::SagemakerTransform(_) => &[RR, SYNC],
        Service::DynamoDb(_) => &[RR],
        Service::EventBridge(_) => &[RR, WAIT],
        Service::Http(_) => &[RR],
        Service::StepFunctions(_) => &[RR, SYNC, WAIT],
        // An activity is already a callback: the worker reports the result.
        Service::Activity(_) => &[RR],
        Service::AwsSdk(_) => &[RR, WAIT],
    }
}

/// `arn:aws:states:::<service>:<action>` plus the suffix of the pattern.
fn optimized(service_action: &str, pattern: IntegrationPattern, sync_suffix: &str) -> String {
    let suffix = match pattern {
        RR => "",
        SYNC => sync_suffix,
        WAIT => ".waitForTaskToken",
    };
    format!("arn:aws:states:::{service_action}{suffix}")
}

/// Resolves a TaskIntegration into its ASL `Resource` and default parameters.
pub fn resolve_task(
    spec: &TaskIntegrationSpec,
    resolver: &dyn Resolver,
) -> Result<ResolvedTask, IntegrationError> {
    let services = spec.services();
    let service = match services.as_slice() {
        [one] => *one,
        [] => {
            return Err(IntegrationError::Invalid(
                "the TaskIntegration sets no service block (lambda, sns, sqs, ...)".into(),
            ));
        }
        many => {
            let names: Vec<&str> = many.iter().map(Service::field_name).collect();
            return Err(IntegrationError::Invalid(format!(
                "the TaskIntegration sets several service blocks ({}); exactly one is allowed",
                names.join(", ")
            )));
        }
    };
    let pattern = spec.pattern();
    let supported = supported_patterns(&service);
    if !supported.contains(&pattern) {
        let names: Vec<&str> = supported.iter().map(|p| p.as_str()).collect();
        return Err(IntegrationError::Invalid(format!(
            "{} does not support the {} pattern (supported: {})",
            service.field_name(),
            pattern.as_str(),
            names.join(", ")
        )));
    }
    let mut params = Map::new();
    let mut default_payload = false;
    let resource = match service {
        Service::Lambda(l) if l.payload_response_only == Some(true) => {
            // A function ARN as Resource is the legacy direct invocation: the result is the function's
            // payload, and only request-response exists for it ("Invoke an AWS Lambda function with Step
            // Functions", https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html).
            if pattern != RR {
                return Err(IntegrationError::Invalid(format!(
                    "lambda.payloadResponseOnly supports only the requestResponse pattern (got {}); \
                     use the lambda:invoke integration (payloadResponseOnly: false) for {}",
                    pattern.as_str(),
                    pattern.as_str()
                )));
            }
            match &l.qualifier {
                Some(q) => format!("{}:{q}", l.function_arn),
                None => l.function_arn.clone(),
            }
        }
        Service::Lambda(l) => {
            default_payload = true;
            params.insert("FunctionName".into(), json!(l.function_arn));
            if let Some(q) = &l.qualifier {
                params.insert("Qualifier".into(), json!(q));
            }
            optimized("lambda:invoke", pattern, "")
        }
        Service::Sns(s) => {
            params.insert("TopicArn".into(), json!(s.topic_arn));
            optimized("sns:publish", pattern, "")
        }
        Service::Sqs(s) => {
            params.insert("QueueUrl".into(), json!(s.queue_url));
            optimized("sqs:sendMessage", pattern, "")
        }
        Service::Ecs(e) => {
            params.insert("Cluster".into(), json!(e.cluster_arn));
            params.insert("TaskDefinition".into(), json!(e.task_definition_arn));
            if let Some(lt) = &e.launch_type {
                params.insert(
                    "LaunchType".into(),
                    serde_json::to_value(lt).unwrap_or(Value::Null),
                );
            }
            optimized("ecs:runTask", pattern, ".sync")
        }
        Service::Batch(b) => {
            params.insert("JobQueue".into(), json!(b.job_queue_arn));
            params.insert("JobDefinition".into(), json!(b.job_definition_arn));
            params.insert("JobName".into(), json!(b.job_name));
            optimized("batch:submitJob", pattern, ".sync")
        }
        Service::Glue(g) => {
            params.insert("JobName".into(), json!(g.job_name));
            optimized("glue:startJobRun", pattern, ".sync")
        }
        Service::SagemakerTraining(t) => {
            params.insert("TrainingJobName".into(), json!(t.training_job_name));
            params.insert("RoleArn".into(), json!(t.role_arn));
            optimized("sagemaker:createTrainingJob", pattern, ".sync")
        }
        Service::SagemakerTransform(t) => {
            params.insert("TransformJobName".into(), json!(t.transform_job_name));
            params.insert("ModelName".into(), json!(t.model_name));
            optimized("sagemaker:createTransformJob", pattern, ".sync")
        }
        Service::DynamoDb(d) => {
            params.insert("TableName".into(), json!(d.table_name));
            optimized(&format!("dynamodb:{}", d.action.as_str()), pattern, "")
        }
        Service::EventBridge(_) => optimized("events:putEvents", pattern, ""),
        Service::Http(h) => {
            params.insert("ApiEndpoint".into(), json!(h.endpoint));
            params.insert(
                "Method".into(),
                serde_json::to_value(h.method).unwrap_or(Value::Null),
            );
            params.insert(
                "Authentication".into(),
                json!({"ConnectionArn": h.connection_arn}),
            );
            optimized("http:invoke", pattern, "")
        }
        Service::StepFunctions(s) => {
            let arn = match (&s.state_machine_arn, &s.state_machine_ref) {
                (Some(_), _) if s.alias.is_some() => {
                    return Err(IntegrationError::Invalid(
                        "field stepFunctions.alias: alias is used with stateMachineRef; with \
                         stateMachineArn, give the alias ARN (arn:...:stateMachine:NAME:ALIAS)"
                            .into(),
                    ));
                }
                (Some(arn), _) => arn.clone(),
                (None, Some(r)) => {
                    let reference = r.reference();
                    let machine = resolver.state_machine_arn(&reference).ok_or_else(|| {
                        IntegrationError::ReferenceNotFound {
                            kind: RefKind::StateMachine,
                            name: reference.clone(),
                        }
                    })?;
                    match &s.alias {
                        // An alias's ARN is its machine's ARN followed by `:<alias>`.
                        Some(alias) if resolver.state_machine_declares_alias(&reference, alias) => {
                            format!("{machine}:{alias}")
                        }
                        Some(alias) => {
                            return Err(IntegrationError::AliasNotDeclared {
                                machine: reference.clone(),
                                alias: alias.clone(),
                            });
                        }
                        None => machine,
                    }
                }
                (None, None) => {
                    return Err(IntegrationError::Invalid(
                        "stepFunctions needs stateMachineRef or stateMachineArn".into(),
                    ));
                }
            };
            params.insert("StateMachineArn".into(), json!(arn));
            // `.sync:2` returns the child's output as JSON rather than an escaped string.
            optimized("states:startExecution", pattern, ".sync:2")
        }
        Service::Activity(a) => match (&a.activity_arn, &a.activity_ref) {
            (Some(arn), _) => arn.clone(),
            (None, Some(r)) => resolver.activity_arn(&r.reference()).ok_or_else(|| {
                IntegrationError::ReferenceNotFound {
                    kind: RefKind::Activity,
                    name: r.reference(),
                }
            })?,
            (None, None) => {
                return Err(IntegrationError::Invalid(
                    "activity needs activityRef or activityArn".into(),
                ));
            }
        },
        Service::AwsSdk(s) => {
            optimized(&format!("aws-sdk:{}:{}", s.service, s.action), pattern, "")
        }
    };
    if let Some(own) = &spec.parameters {
        merge_under(&mut params, own);
    }
    if let Service::EventBridge(e) = service {
        add_event_bus(&mut params, e.bus_name());
    }
    Ok(ResolvedTask {
        resource,
        parameters: params,
        needs_task_token: pattern == WAIT,
        default_payload,
    })
}

/// Puts `top` over `base`: a key of `top` replaces the same key of `base` whether or not either carries the
/// `.$` suffix (`FunctionName.$` replaces `FunctionName`). One level deep on purpose: nested payloads belong
/// to whoever writes them, and a half-merged `Payload` would surprise.
pub fn merge_under(base: &mut Map<String, Value>, top: &Map<String, Value>) {
    for (k, v) in top {
        let bare = k.strip_suffix(".$").unwrap_or(k);
        base.shift_remove(bare);
        base.shift_remove(&format!("{bare}.$"));
        base.insert(k.clone(), v.clone());
    }
}

/// EventBridge names the bus per entry: fill `EventBusName` into every entry that does not set it.
fn add_event_bus(params: &mut Map<String, Value>, bus: &str) {
    match params.get_mut("Entries") {
        Some(Value::Array(entries)) => {
            for e in entries {
                if let Value::Object(m) = e
                    && !m.contains_key("EventBusName")
                    && !m.contains_key("EventBusName.$")
                {
                    m.insert("EventBusName".into(), json!(bus));
                }
            }
        }
        Some(_) => {}
        None => {
            if !params.contains_key("Entries.$") {
                params.insert("Entries".into(), json!([{"EventBusName": bus}]));
            }
        }
    }
}

/// Whether a parameters / arguments value passes the task token: `$$.Task.Token` in JSONPath, or
/// `$states.context.Task.Token` in JSONata.
pub fn mentions_task_token(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$$.Task.Token") || s.contains("$states.context.Task.Token"),
        Value::Array(a) => a.iter().any(mentions_task_token),
        Value::Object(m) => m.values().any(mentions_task_token),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfn_api::{
        ActivityIntegration, LambdaIntegration, ObjectRef, StepFunctionsIntegration,
        TaskIntegrationSpec,
    };

    fn lambda() -> TaskIntegrationSpec {
        TaskIntegrationSpec {
            lambda: Some(LambdaIntegration {
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
                qualifier: None,
                payload_response_only: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn lambda_patterns() {
        let r = resolve_task(&lambda(), &NoReferences).unwrap();
        assert_eq!(r.resource, "arn:aws:states:::lambda:invoke");
        assert_eq!(
            r.parameters["FunctionName"],
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        let mut spec = lambda();
        spec.pattern = Some(WAIT);
        let r = resolve_task(&spec, &NoReferences).unwrap();
        assert_eq!(
            r.resource,
            "arn:aws:states:::lambda:invoke.waitForTaskToken"
        );
        assert!(r.needs_task_token);
        spec.pattern = Some(SYNC);
        let e = resolve_task(&spec, &NoReferences).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lambda does not support the sync pattern (supported: requestResponse, waitForTaskToken)"
        );
    }

    #[test]
    fn references_resolve_or_are_reported_missing() {
        let spec = TaskIntegrationSpec {
            step_functions: Some(StepFunctionsIntegration {
                state_machine_ref: Some(ObjectRef {
                    name: "child".into(),
                    namespace: None,
                }),
                state_machine_arn: None,
                alias: None,
            }),
            pattern: Some(SYNC),
            ..Default::default()
        };
        let e = resolve_task(&spec, &NoReferences).unwrap_err();
        assert!(matches!(
            e,
            IntegrationError::ReferenceNotFound {
                kind: RefKind::StateMachine,
                ..
            }
        ));
        let mut r = MapResolver::default();
        r.state_machine_arns.insert(
            "child".into(),
            "arn:aws:states:us-east-1:123456789012:stateMachine:child".into(),
        );
        let t = resolve_task(&spec, &r).unwrap();
        assert_eq!(t.resource, "arn:aws:states:::states:startExecution.sync:2");
        let act = TaskIntegrationSpec {
            activity: Some(ActivityIntegration {
                activity_ref: Some(ObjectRef {
                    name: "approve".into(),
                    namespace: None,
                }),
                activity_arn: None,
            }),
            ..Default::default()
        };
        assert!(matches!(
            resolve_task(&act, &r).unwrap_err(),
            IntegrationError::ReferenceNotFound {
                kind: RefKind::Activity,
                ..
            }
        ));
    }

    #[test]
    fn an_alias_target_is_the_alias_arn_once_the_machine_declares_it() {
        let spec = |alias: Option<&str>, arn: Option<&str>| TaskIntegrationSpec {
            step_functions: Some(StepFunctionsIntegration {
                state_machine_ref: arn.is_none().then(|| ObjectRef {
                    name: "child".into(),
                    namespace: None,
                }),
                state_machine_arn: arn.map(String::from),
                alias: alias.map(String::from),
            }),
            ..Default::default()
        };
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-child";
        let mut r = MapResolver::default();
        r.state_machine_arns.insert("child".into(), machine.into());
        r.state_machine_aliases
            .insert("child".into(), ["live".to_string()].into());

        let t = resolve_task(&spec(Some("live"), None), &r).unwrap();
        assert_eq!(t.parameters["StateMachineArn"], format!("{machine}:live"));
        assert_eq!(
            resolve_task(&spec(None, None), &r).unwrap().parameters["StateMachineArn"],
            machine
        );

        // Declared nowhere: reported as missing (the other machine may still gain it), naming both.
        let e = resolve_task(&spec(Some("canary"), None), &r).unwrap_err();
        assert_eq!(
            e,
            IntegrationError::AliasNotDeclared {
                machine: "child".into(),
                alias: "canary".into()
            }
        );
        assert!(e.to_string().contains("stepFunctions.alias"), "{e}");
        // The machine itself missing comes first: there is nothing to look the alias up on.
        assert!(matches!(
            resolve_task(&spec(Some("live"), None), &NoReferences).unwrap_err(),
            IntegrationError::ReferenceNotFound {
                kind: RefKind::StateMachine,
                ..
            }
        ));

        // An ARN carries its own qualifier and is passed on as written; `alias` next to it is refused.
        let qualified = format!("{machine}:7");
        let t = resolve_task(&spec(None, Some(&qualified)), &r).unwrap();
        assert_eq!(t.parameters["StateMachineArn"], qualified);
        let e = resolve_task(&spec(Some("live"), Some(machine)), &r).unwrap_err();
        assert!(
            matches!(&e, IntegrationError::Invalid(m) if m.contains("stepFunctions.alias")),
            "{e:?}"
        );
    }

    #[test]
    fn merge_replaces_dollar_variants() {
        let mut base = Map::new();
        base.insert("FunctionName".into(), json!("a"));
        base.insert("Payload".into(), json!({"x": 1}));
        let top = json!({"FunctionName.$": "$.fn", "Extra": true});
        merge_under(&mut base, top.as_object().unwrap());
        assert_eq!(
            Value::Object(base),
            json!({"Payload": {"x": 1}, "FunctionName.$": "$.fn", "Extra": true})
        );
    }

    #[test]
    fn task_token_detection() {
        assert!(mentions_task_token(
            &json!({"Payload": {"token.$": "$$.Task.Token"}})
        ));
        assert!(mentions_task_token(
            &json!({"t": "{% $states.context.Task.Token %}"})
        ));
        assert!(!mentions_task_token(&json!({"Payload.$": "$"})));
    }
}
