//! The `TaskIntegration` kind: a named description of one thing a Task state calls (one service block),
//! with its integration pattern, default parameters and retriers. The compiler turns it into the ASL
//! `Resource` and `Parameters`, the IAM derivation into the permissions it needs.
//!
//! Service integrations: <https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html>

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::definition::{JsonObject, Retrier};
use super::schema;
use super::status::Condition;

/// Desired state of a TaskIntegration. Exactly one service block is set.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    crates(kube_core = "::kube_core"),
    group = "sfn.operator.dev",
    version = "v1alpha1",
    kind = "TaskIntegration",
    plural = "taskintegrations",
    singular = "taskintegration",
    namespaced,
    status = "TaskIntegrationStatus",
    derive = "PartialEq",
    derive = "Default",
    shortname = "sfnti",
    category = "sfn",
    doc = "One thing a Task state calls (a Lambda function, a queue, a nested state machine, an activity, any AWS API), with its integration pattern, default parameters and retriers; the operator derives the ASL resource and the IAM permissions from it.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Pattern","type":"string","jsonPath":".spec.pattern","priority":1}"#,
    printcolumn = r#"{"name":"Resource","type":"string","jsonPath":".status.resource"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": super::cel::ONE_SERVICE_BLOCK_RULE, "message": "exactly one service block (lambda, sns, sqs, ecs, batch, glue, sagemakerTraining, sagemakerTransform, dynamodb, eventbridge, http, stepFunctions, activity, awsSdk) must be set"},
]))]
pub struct TaskIntegrationSpec {
    /// Invoke a Lambda function (`arn:aws:states:::lambda:invoke`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<LambdaIntegration>,
    /// Publish to an SNS topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns: Option<SnsIntegration>,
    /// Send a message to an SQS queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqs: Option<SqsIntegration>,
    /// Run an ECS task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsIntegration>,
    /// Submit an AWS Batch job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchIntegration>,
    /// Start an AWS Glue job run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glue: Option<GlueIntegration>,
    /// Create a SageMaker training job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sagemaker_training: Option<SagemakerTrainingIntegration>,
    /// Create a SageMaker transform job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sagemaker_transform: Option<SagemakerTransformIntegration>,
    /// Read or write one DynamoDB item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<DynamoDbIntegration>,
    /// Put events on an EventBridge event bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eventbridge: Option<EventBridgeIntegration>,
    /// Call an HTTPS API through an EventBridge connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpIntegration>,
    /// Start an execution of another state machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_functions: Option<StepFunctionsIntegration>,
    /// Hand work to an activity worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityIntegration>,
    /// Call any AWS API through the AWS SDK integration (`arn:aws:states:::aws-sdk:SERVICE:ACTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_sdk: Option<AwsSdkIntegration>,
    /// requestResponse (default): call and continue; sync: wait for the job to finish;
    /// waitForTaskToken: wait until a task token is returned. Checked against what the service supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<IntegrationPattern>,
    /// Default ASL `Parameters`; a Task state's own parameters are merged over these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_object")]
    pub parameters: Option<JsonObject>,
    /// Default retry policy, used by Task states that declare none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub retry: Vec<Retrier>,
}

/// The service block of a TaskIntegration, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Service<'a> {
    Lambda(&'a LambdaIntegration),
    Sns(&'a SnsIntegration),
    Sqs(&'a SqsIntegration),
    Ecs(&'a EcsIntegration),
    Batch(&'a BatchIntegration),
    Glue(&'a GlueIntegration),
    SagemakerTraining(&'a SagemakerTrainingIntegration),
    SagemakerTransform(&'a SagemakerTransformIntegration),
    DynamoDb(&'a DynamoDbIntegration),
    EventBridge(&'a EventBridgeIntegration),
    Http(&'a HttpIntegration),
    StepFunctions(&'a StepFunctionsIntegration),
    Activity(&'a ActivityIntegration),
    AwsSdk(&'a AwsSdkIntegration),
}

impl Service<'_> {
    /// The YAML field name of the block, e.g. `sagemakerTransform`.
    pub fn field_name(&self) -> &'static str {
        match self {
            Service::Lambda(_) => "lambda",
            Service::Sns(_) => "sns",
            Service::Sqs(_) => "sqs",
            Service::Ecs(_) => "ecs",
            Service::Batch(_) => "batch",
            Service::Glue(_) => "glue",
            Service::SagemakerTraining(_) => "sagemakerTraining",
            Service::SagemakerTransform(_) => "sagemakerTransform",
            Service::DynamoDb(_) => "dynamodb",
            Service::EventBridge(_) => "eventbridge",
            Service::Http(_) => "http",
            Service::StepFunctions(_) => "stepFunctions",
            Service::Activity(_) => "activity",
            Service::AwsSdk(_) => "awsSdk",
        }
    }
}

impl TaskIntegrationSpec {
    /// Every service block that is set, in declaration order (a valid spec has exactly one).
    pub fn services(&self) -> Vec<Service<'_>> {
        let mut out = Vec::new();
        macro_rules! push {
            ($field:ident, $variant:ident) => {
                if let Some(block) = &self.$field {
                    out.push(Service::$variant(block));
                }
            };
        }
        push!(lambda, Lambda);
        push!(sns, Sns);
        push!(sqs, Sqs);
        push!(ecs, Ecs);
        push!(batch, Batch);
        push!(glue, Glue);
        push!(sagemaker_training, SagemakerTraining);
        push!(sagemaker_transform, SagemakerTransform);
        push!(dynamodb, DynamoDb);
        push!(eventbridge, EventBridge);
        push!(http, Http);
        push!(step_functions, StepFunctions);
        push!(activity, Activity);
        push!(aws_sdk, AwsSdk);
        out
    }

    /// The one service block, or `None` when zero or several are set (see `api::validate_task_integration`).
    pub fn service(&self) -> Option<Service<'_>> {
        match self.services().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// The integration pattern, requestResponse when unset.
    pub fn pattern(&self) -> IntegrationPattern {
        self.pattern.unwrap_or_default()
    }
}

/// How a Task waits for the service.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html>
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum IntegrationPattern {
    /// Call the service and continue when it answers.
    #[default]
    RequestResponse,
    /// Run a job and wait for it to complete (`.sync`).
    Sync,
    /// Wait for a callback with the task token (`.waitForTaskToken`).
    WaitForTaskToken,
}

impl IntegrationPattern {
    /// The YAML name.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationPattern::RequestResponse => "requestResponse",
            IntegrationPattern::Sync => "sync",
            IntegrationPattern::WaitForTaskToken => "waitForTaskToken",
        }
    }
}

/// A reference to another object of the operator, in the same namespace unless `namespace` says otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRef {
    /// `metadata.name` of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The object's namespace, when it is not this one; that namespace must allow it with a
    /// ReferenceGrant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

impl ObjectRef {
    /// The reference as resolvers take it: `name`, or `namespace/name` for another namespace.
    pub fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Lambda function invocation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaIntegration {
    /// ARN of the function (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    #[schemars(length(min = 1, max = 2048))]
    pub function_arn: String,
    /// Version or alias to invoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub qualifier: Option<String>,
    /// Call the function through its own ARN (with the qualifier) as the Task `Resource` instead of the
    /// `lambda:invoke` integration: the task result is the function's response payload itself (not the
    /// `{"Payload": ..., "StatusCode": ...}` envelope) and there is no `FunctionName` parameter; the state's
    /// input is the event. This form supports the `requestResponse` pattern only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_response_only: Option<bool>,
}

/// SNS publish.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnsIntegration {
    /// ARN of the topic.
    #[schemars(length(min = 1, max = 2048))]
    pub topic_arn: String,
}

/// SQS send message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqsIntegration {
    /// URL of the queue (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`); the ARN is derived from it.
    #[schemars(length(min = 1, max = 2048))]
    pub queue_url: String,
}

impl SqsIntegration {
    /// The queue ARN derived from the URL, or `None` when the URL is not an SQS queue URL.
    /// Both the current (`sqs.REGION.amazonaws.com`) and legacy (`REGION.queue.amazonaws.com`) hosts are read.
    pub fn queue_arn(&self) -> Option<String> {
        let rest = self
            .queue_url
            .strip_prefix("https://")
            .or_else(|| self.queue_url.strip_prefix("http://"))?;
        let mut parts = rest.trim_end_matches('/').split('/');
        let host = parts.next()?;
        let account = parts.next()?;
        let name = parts.next()?;
        if parts.next().is_some()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || name.is_empty()
        {
            return None;
        }
        let labels: Vec<&str> = host.split('.').collect();
        let region = match labels.as_slice() {
            ["sqs", region, "amazonaws", ..] => *region,
            [region, "queue", "amazonaws", ..] => *region,
            _ => return None,
        };
        let partition = if host.ends_with(".amazonaws.com.cn") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Some(format!("arn:{partition}:sqs:{region}:{account}:{name}"))
    }
}

/// ECS launch type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LaunchType {
    Fargate,
    Ec2,
}

/// ECS run task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EcsIntegration {
    /// ARN of the cluster.
    #[schemars(length(min = 1, max = 2048))]
    pub cluster_arn: String,
    /// ARN of the task definition (with or without revision).
    #[schemars(length(min = 1, max = 2048))]
    pub task_definition_arn: String,
    /// FARGATE or EC2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,
    /// Task and execution role ARNs the state machine may pass to ECS (`iam:PassRole`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub pass_role_arns: Vec<String>,
}

/// AWS Batch submit job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchIntegration {
    /// ARN of the job queue.
    #[schemars(length(min = 1, max = 2048))]
    pub job_queue_arn: String,
    /// ARN of the job definition.
    #[schemars(length(min = 1, max = 2048))]
    pub job_definition_arn: String,
    /// Name given to submitted jobs.
    #[schemars(length(min = 1, max = 128))]
    pub job_name: String,
}

/// AWS Glue start job run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlueIntegration {
    /// Name of the Glue job.
    #[schemars(length(min = 1, max = 255))]
    pub job_name: String,
}

/// SageMaker create training job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SagemakerTrainingIntegration {
    /// Name of the training job (may be overridden per execution with `TrainingJobName.$`).
    #[schemars(length(min = 1, max = 63))]
    pub training_job_name: String,
    /// ARN of the role SageMaker assumes (passed with `iam:PassRole`).
    #[schemars(length(min = 20, max = 2048))]
    pub role_arn: String,
}

/// SageMaker create transform job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SagemakerTransformIntegration {
    /// Name of the transform job.
    #[schemars(length(min = 1, max = 63))]
    pub transform_job_name: String,
    /// Name of the model to use.
    #[schemars(length(min = 1, max = 63))]
    pub model_name: String,
    /// ARN of a role to pass to SageMaker, if the job needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    pub role_arn: Option<String>,
}

/// DynamoDB item action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DynamoDbAction {
    GetItem,
    PutItem,
    UpdateItem,
    DeleteItem,
}

impl DynamoDbAction {
    /// The YAML and ASL resource name (`getItem`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DynamoDbAction::GetItem => "getItem",
            DynamoDbAction::PutItem => "putItem",
            DynamoDbAction::UpdateItem => "updateItem",
            DynamoDbAction::DeleteItem => "deleteItem",
        }
    }
}

/// DynamoDB item call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamoDbIntegration {
    /// getItem, putItem, updateItem or deleteItem.
    pub action: DynamoDbAction,
    /// Name of the table.
    #[schemars(length(min = 1, max = 255))]
    pub table_name: String,
}

/// EventBridge put events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventBridgeIntegration {
    /// Name or ARN of the event bus (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1600))]
    pub event_bus_name: Option<String>,
}

impl EventBridgeIntegration {
    /// The bus name, `default` when unset.
    pub fn bus_name(&self) -> &str {
        self.event_bus_name.as_deref().unwrap_or("default")
    }
}

/// HTTP method of an HTTP Task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    Head,
}

/// HTTPS call through an EventBridge connection (HTTP Task).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpIntegration {
    /// HTTPS URL of the API.
    #[schemars(length(min = 1, max = 2048))]
    pub endpoint: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// ARN of the EventBridge connection holding the credentials.
    #[schemars(length(min = 20, max = 2048))]
    pub connection_arn: String,
}

/// Start an execution of another state machine.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.stateMachineRef) != has(self.stateMachineArn)", "message": "exactly one of stateMachineRef and stateMachineArn must be set"},
    {"rule": super::cel::ALIAS_NEEDS_REF_RULE, "message": "alias is used with stateMachineRef; with stateMachineArn, give the alias ARN (arn:...:stateMachine:NAME:ALIAS)"},
]))]
pub struct StepFunctionsIntegration {
    /// A StateMachine object in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine_ref: Option<ObjectRef>,
    /// ARN of a state machine not managed here. A version or alias ARN (`...:stateMachine:NAME:3`,
    /// `...:stateMachine:NAME:prod`) starts that version or alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    pub state_machine_arn: Option<String>,
    /// With `stateMachineRef`: start the referenced machine through this alias (one of its
    /// `spec.aliases`) rather than its latest revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 80),
        regex(pattern = super::versions::ALIAS_NAME_PATTERN)
    )]
    pub alias: Option<String>,
}

/// Hand work to an activity worker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.activityRef) != has(self.activityArn)", "message": "exactly one of activityRef and activityArn must be set"},
]))]
pub struct ActivityIntegration {
    /// An Activity object in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_ref: Option<ObjectRef>,
    /// ARN of an activity not managed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048))]
    pub activity_arn: Option<String>,
}

/// Any AWS API call through the AWS SDK integration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsSdkIntegration {
    /// Service name as in the SDK integration ARN, e.g. `s3` or `dynamodb`.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9]+$"))]
    pub service: String,
    /// Action in camelCase, e.g. `listBuckets` or `getObject`.
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[a-z][A-Za-z0-9]*$"))]
    pub action: String,
    /// Resource ARNs the call may touch; the IAM statement is scoped to them (`*` when empty, with a warning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub resources: Vec<String>,
}

/// Observed state of a TaskIntegration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskIntegrationStatus {
    /// The resolved ASL `Resource`.
    #[serde(default)]
    pub resource: Option<String>,
    /// The IAM statements this integration grants, rendered as JSON.
    #[serde(default)]
    pub iam_statements: Vec<String>,
    /// The `metadata.generation` last reconciled.
    #[serde(default)]
    pub observed_generation: Option<i64>,
    /// Ready condition.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(url: &str) -> Option<String> {
        SqsIntegration {
            queue_url: url.to_string(),
        }
        .queue_arn()
    }

    #[test]
    fn queue_arn_from_current_and_legacy_urls() {
        assert_eq!(
            arn("https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo").as_deref(),
            Some("arn:aws:sqs:us-east-1:123456789012:orders.fifo")
        );
        assert_eq!(
            arn("https://eu-west-1.queue.amazonaws.com/123456789012/q").as_deref(),
            Some("arn:aws:sqs:eu-west-1:123456789012:q")
        );
        assert_eq!(
            arn("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q").as_deref(),
            Some("arn:aws-cn:sqs:cn-north-1:123456789012:q")
        );
        assert_eq!(
            arn("https://sqs.us-gov-west-1.amazonaws.com/123456789012/q").as_deref(),
            Some("arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q")
        );
        assert_eq!(arn("https://example.com/123456789012/q"), None);
        assert_eq!(arn("https://sqs.us-east-1.amazonaws.com/1234/q"), None);
        assert_eq!(arn("sqs.us-east-1.amazonaws.com/123456789012/q"), None);
    }

    #[test]
    fn service_is_the_single_block() {
        let mut spec = TaskIntegrationSpec {
            glue: Some(GlueIntegration {
                job_name: "etl".into(),
            }),
            ..Default::default()
        };
        assert_eq!(spec.service().map(|s| s.field_name()), Some("glue"));
        assert_eq!(spec.pattern(), IntegrationPattern::RequestResponse);
        spec.eventbridge = Some(EventBridgeIntegration::default());
        assert!(spec.service().is_none());
        let names: Vec<_> = spec.services().iter().map(|s| s.field_name()).collect();
        assert_eq!(names, ["glue", "eventbridge"]);
        assert_eq!(spec.eventbridge.as_ref().unwrap().bus_name(), "default");
    }
}
