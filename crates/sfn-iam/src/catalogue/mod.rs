//! The integration catalogue: for every service integration a Task can call, which integration patterns it
//! supports and which IAM statements it needs, from the `Resource` ARN and the state's static parameters.
//!
//! The facts come from the Step Functions developer guide, page "IAM policies for <service>" under "How Step
//! Functions generates IAM policies for integrated services" (https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html);
//! each entry cites its page. Where the guide grants `"Resource": "*"` only because it cannot know a name at
//! generation time, we use the static parameter and fall back to the narrowest ARN pattern (with a warning) when
//! the parameter is chosen at run time.
//!
//! The same table serves TaskIntegration objects: [`integration_for_block`] and [`resource_arn`] turn a service
//! block and pattern into the ASL `Resource`, rejecting patterns the service does not support.

mod names;
mod pattern;
mod sdk;
mod services;
mod task;

use serde_json::Value;

use super::arn::Arn;
use super::params::Params;
use super::policy::Grant;
use super::{IamError, RoleContext, Widening};

pub use names::iam_prefix;
pub use pattern::Pattern;
use task::Task;

use Pattern::{RequestResponse as RR, Sync, Sync2, WaitForTaskToken as WFTT};

/// One optimized integration: `arn:aws:states:::<service>:<action>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integration {
    pub service: &'static str,
    pub action: &'static str,
    pub patterns: &'static [Pattern],
    /// Parameters the API requires (checked by the TaskIntegration controller, informative here).
    pub required: &'static [&'static str],
    /// The developer guide page with the IAM policy templates.
    pub doc: &'static str,
}

/// Base of the developer guide pages in [`Integration::doc`].
pub const DOC_BASE: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/";

impl Integration {
    /// Full URL of the page documenting this integration's IAM policies.
    pub fn doc_url(&self) -> String {
        format!("{DOC_BASE}{}", self.doc)
    }
}

macro_rules! integ {
    ($service:literal, $action:literal, [$($p:expr),*], [$($r:literal),*], $doc:literal) => {
        Integration { service: $service, action: $action, patterns: &[$($p),*], required: &[$($r),*], doc: $doc }
    };
}

/// Every optimized integration the catalogue knows, with its supported patterns
/// (from "Integrating optimized services with Step Functions", integrate-optimized.html).
pub static INTEGRATIONS: &[Integration] = &[
    integ!(
        "lambda",
        "invoke",
        [RR, WFTT],
        ["FunctionName"],
        "lambda-iam.html"
    ),
    integ!("sns", "publish", [RR, WFTT], [], "sns-iam.html"),
    integ!(
        "sqs",
        "sendMessage",
        [RR, WFTT],
        ["QueueUrl", "MessageBody"],
        "sqs-iam.html"
    ),
    integ!(
        "ecs",
        "runTask",
        [RR, Sync, WFTT],
        ["TaskDefinition"],
        "ecs-iam.html"
    ),
    integ!(
        "batch",
        "submitJob",
        [RR, Sync, WFTT],
        ["JobDefinition", "JobName", "JobQueue"],
        "batch-iam.html"
    ),
    integ!(
        "glue",
        "startJobRun",
        [RR, Sync],
        ["JobName"],
        "glue-iam.html"
    ),
    integ!(
        "sagemaker",
        "createTrainingJob",
        [RR, Sync],
        ["TrainingJobName", "RoleArn"],
        "sagemaker-iam.html"
    ),
    integ!(
        "sagemaker",
        "createTransformJob",
        [RR, Sync],
        ["TransformJobName", "ModelName"],
        "sagemaker-iam.html"
    ),
    integ!(
        "sagemaker",
        "createProcessingJob",
        [RR, Sync],
        ["ProcessingJobName", "RoleArn"],
        "sagemaker-iam.html"
    ),
    integ!(
        "sagemaker",
        "createModel",
        [RR],
        ["ModelName", "ExecutionRoleArn"],
        "sagemaker-iam.html"
    ),
    integ!(
        "sagemaker",
        "createEndpointConfig",
        [RR],
        ["EndpointConfigName"],
        "sagemaker-iam.html"
    ),
    integ!(
        "sagemaker",
        "createEndpoint",
        [RR],
        ["EndpointName", "EndpointConfigName"],
        "sagemaker-iam.html"
    ),
    integ!(
        "sagemaker",
        "updateEndpoint",
        [RR],
        ["EndpointName", "EndpointConfigName"],
        "sagemaker-iam.html"
    ),
    integ!(
        "dynamodb",
        "getItem",
        [RR],
        ["TableName", "Key"],
        "dynamo-iam.html"
    ),
    integ!(
        "dynamodb",
        "putItem",
        [RR],
        ["TableName", "Item"],
        "dynamo-iam.html"
    ),
    integ!(
        "dynamodb",
        "updateItem",
        [RR],
        ["TableName", "Key"],
        "dynamo-iam.html"
    ),
    integ!(
        "dynamodb",
        "deleteItem",
        [RR],
        ["TableName", "Key"],
        "dynamo-iam.html"
    ),
    integ!(
        "events",
        "putEvents",
        [RR, WFTT],
        ["Entries"],
        "eventbridge-iam.html"
    ),
    integ!(
        "states",
        "startExecution",
        [RR, Sync, Sync2, WFTT],
        ["StateMachineArn"],
        "stepfunctions-iam.html"
    ),
    integ!(
        "http",
        "invoke",
        [RR],
        ["ApiEndpoint", "Method", "Authentication"],
        "connect-third-party-apis.html"
    ),
    integ!(
        "apigateway",
        "invoke",
        [RR, WFTT],
        ["ApiEndpoint", "Method"],
        "api-gateway-iam.html"
    ),
    integ!(
        "athena",
        "startQueryExecution",
        [RR, Sync],
        ["QueryString"],
        "athena-iam.html"
    ),
    integ!(
        "athena",
        "getQueryExecution",
        [RR],
        ["QueryExecutionId"],
        "athena-iam.html"
    ),
    integ!(
        "athena",
        "getQueryResults",
        [RR],
        ["QueryExecutionId"],
        "athena-iam.html"
    ),
    integ!(
        "athena",
        "stopQueryExecution",
        [RR],
        ["QueryExecutionId"],
        "athena-iam.html"
    ),
    integ!(
        "codebuild",
        "startBuild",
        [RR, Sync],
        ["ProjectName"],
        "codebuild-iam.html"
    ),
    integ!("codebuild", "stopBuild", [RR], ["Id"], "codebuild-iam.html"),
    integ!(
        "codebuild",
        "batchDeleteBuilds",
        [RR],
        ["Ids"],
        "codebuild-iam.html"
    ),
    integ!(
        "codebuild",
        "batchGetReports",
        [RR],
        ["ReportArns"],
        "codebuild-iam.html"
    ),
    integ!(
        "codebuild",
        "startBuildBatch",
        [RR, Sync],
        ["ProjectName"],
        "codebuild-iam.html"
    ),
    integ!(
        "codebuild",
        "stopBuildBatch",
        [RR],
        ["Id"],
        "codebuild-iam.html"
    ),
    integ!(
        "codebuild",
        "retryBuildBatch",
        [RR, Sync],
        [],
        "codebuild-iam.html"
    ),
    integ!(
        "codebuild",
        "deleteBuildBatch",
        [RR],
        ["Id"],
        "codebuild-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "createCluster",
        [RR, Sync],
        ["Name", "Instances"],
        "emr-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "addStep",
        [RR, Sync],
        ["ClusterId", "Step"],
        "emr-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "terminateCluster",
        [RR, Sync],
        ["ClusterId"],
        "emr-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "cancelStep",
        [RR],
        ["ClusterId", "StepId"],
        "emr-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "setClusterTerminationProtection",
        [RR],
        ["ClusterId", "TerminationProtected"],
        "emr-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "modifyInstanceFleetByName",
        [RR],
        ["ClusterId", "InstanceFleetName", "InstanceFleet"],
        "emr-iam.html"
    ),
    integ!(
        "elasticmapreduce",
        "modifyInstanceGroupByName",
        [RR],
        ["ClusterId", "InstanceGroupName", "InstanceGroup"],
        "emr-iam.html"
    ),
    integ!(
        "databrew",
        "startJobRun",
        [RR, Sync],
        ["Name"],
        "databrew-iam.html"
    ),
    integ!(
        "bedrock",
        "invokeModel",
        [RR],
        ["ModelId"],
        "bedrock-iam.html"
    ),
    integ!(
        "bedrock",
        "createModelCustomizationJob",
        [RR, Sync],
        [
            "BaseModelIdentifier",
            "CustomModelName",
            "JobName",
            "RoleArn"
        ],
        "bedrock-iam.html"
    ),
    integ!(
        "mediaconvert",
        "createJob",
        [RR, Sync],
        ["Role", "Settings"],
        "mediaconvert-iam.html"
    ),
    integ!(
        "emr-serverless",
        "startJobRun",
        [RR, Sync],
        ["ApplicationId", "ExecutionRoleArn"],
        "emr-serverless-iam.html"
    ),
    integ!(
        "emr-containers",
        "startJobRun",
        [RR, Sync],
        [
            "VirtualClusterId",
            "ExecutionRoleArn",
            "ReleaseLabel",
            "JobDriver"
        ],
        "emr-eks-iam.html"
    ),
    integ!(
        "eks",
        "runJob",
        [RR, Sync],
        ["ClusterName", "CertificateAuthority", "Endpoint", "Job"],
        "eks-iam.html"
    ),
    integ!(
        "eks",
        "call",
        [RR],
        [
            "ClusterName",
            "CertificateAuthority",
            "Endpoint",
            "Method",
            "Path"
        ],
        "eks-iam.html"
    ),
];

/// Optimized integrations AWS offers whose IAM templates the catalogue does not have yet (the cluster,
/// node group, virtual cluster and application management calls of Amazon EKS, EMR on EKS and EMR
/// Serverless; "Integrating optimized services with Step Functions"). Listed so that a `Resource`
/// naming one is recognised as valid ([`known`]); their grants fall back to the service action on `"*"` with
/// a warning, as for any integration [`INTEGRATIONS`] lacks.
pub static WITHOUT_IAM_TEMPLATES: &[Integration] = &[
    integ!(
        "eks",
        "createCluster",
        [RR, Sync],
        ["Name", "ResourcesVpcConfig", "RoleArn"],
        "eks-iam.html"
    ),
    integ!("eks", "deleteCluster", [RR, Sync], ["Name"], "eks-iam.html"),
    integ!(
        "eks",
        "createFargateProfile",
        [RR, Sync],
        ["ClusterName", "FargateProfileName", "PodExecutionRoleArn"],
        "eks-iam.html"
    ),
    integ!(
        "eks",
        "deleteFargateProfile",
        [RR, Sync],
        ["ClusterName", "FargateProfileName"],
        "eks-iam.html"
    ),
    integ!(
        "eks",
        "createNodegroup",
        [RR, Sync],
        ["ClusterName", "NodegroupName", "NodeRole", "Subnets"],
        "eks-iam.html"
    ),
    integ!(
        "eks",
        "deleteNodegroup",
        [RR, Sync],
        ["ClusterName", "NodegroupName"],
        "eks-iam.html"
    ),
    integ!(
        "emr-containers",
        "createVirtualCluster",
        [RR],
        ["Name", "ContainerProvider"],
        "emr-eks-iam.html"
    ),
    integ!(
        "emr-containers",
        "deleteVirtualCluster",
        [RR, Sync],
        ["Id"],
        "emr-eks-iam.html"
    ),
    integ!(
        "emr-serverless",
        "createApplication",
        [RR, Sync],
        ["Type", "ReleaseLabel"],
        "emr-serverless-iam.html"
    ),
    integ!(
        "emr-serverless",
        "startApplication",
        [RR, Sync],
        ["ApplicationId"],
        "emr-serverless-iam.html"
    ),
    integ!(
        "emr-serverless",
        "stopApplication",
        [RR, Sync],
        ["ApplicationId"],
        "emr-serverless-iam.html"
    ),
    integ!(
        "emr-serverless",
        "deleteApplication",
        [RR, Sync],
        ["ApplicationId"],
        "emr-serverless-iam.html"
    ),
    integ!(
        "emr-serverless",
        "cancelJobRun",
        [RR, Sync],
        ["ApplicationId", "JobRunId"],
        "emr-serverless-iam.html"
    ),
];

/// The entry for `service:action` among every optimized integration AWS offers, with or without IAM
/// templates here: what decides whether an `arn:aws:states:::<service>:<action>` Resource exists.
pub fn known(service: &str, action: &str) -> Option<&'static Integration> {
    lookup(service, action).or_else(|| {
        WITHOUT_IAM_TEMPLATES
            .iter()
            .find(|i| i.service == service && i.action == action)
    })
}

/// The catalogue entry for `service:action`.
pub fn lookup(service: &str, action: &str) -> Option<&'static Integration> {
    INTEGRATIONS
        .iter()
        .find(|i| i.service == service && i.action == action)
}

/// What a Step Functions `Resource` (`arn:P:states:...`) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatesResource<'a> {
    /// `activity:NAME`.
    Activity,
    /// `aws-sdk:<service>:<action>` with its pattern.
    Sdk {
        service: &'a str,
        action: &'a str,
        pattern: Pattern,
    },
    /// `<service>:<action>` with its pattern: an optimized integration if [`lookup`] knows it.
    Optimized {
        service: &'a str,
        action: &'a str,
        pattern: Pattern,
    },
}

/// Reads a `states` Resource ARN. AWS documents the integration ARNs without region and account
/// (`arn:aws:states:::lambda:invoke`), and the console exports them with both filled in
/// (`arn:aws:states:us-east-1:123456789012:lambda:invoke`); both name the same integration. `None` when the
/// ARN is not in the `states` service, gives only one of region and account, or has no `<service>:<action>`.
pub fn states_resource(resource: &str) -> Option<StatesResource<'_>> {
    let arn = Arn::parse(resource)?;
    if arn.service != "states" {
        return None;
    }
    if arn.resource.starts_with("activity:") {
        return Some(StatesResource::Activity);
    }
    if arn.region.is_empty() != arn.account.is_empty() {
        return None;
    }
    let (rest, pattern) = Pattern::split(arn.resource);
    if let Some(sdk) = rest.strip_prefix("aws-sdk:") {
        let (service, action) = sdk
            .split_once(':')
            .filter(|(s, a)| !s.is_empty() && !a.is_empty())?;
        return Some(StatesResource::Sdk {
            service,
            action,
            pattern,
        });
    }
    let (service, action) = rest
        .split_once(':')
        .filter(|(s, a)| !s.is_empty() && !a.is_empty())?;
    Some(StatesResource::Optimized {
        service,
        action,
        pattern,
    })
}

/// The catalogue entry whose `service:action` is closest to the one given (Levenshtein distance), for
/// "did you mean" hints on an unknown optimized integration.
pub fn nearest(service: &str, action: &str) -> Option<(&'static Integration, usize)> {
    let wanted = format!("{service}:{action}");
    INTEGRATIONS
        .iter()
        .chain(WITHOUT_IAM_TEMPLATES)
        .map(|i| {
            (
                i,
                edit_distance(&wanted, &format!("{}:{}", i.service, i.action)),
            )
        })
        .min_by_key(|(_, d)| *d)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The (service, action) a TaskIntegration service block compiles to. `dynamodb_action` is the block's
/// `action` for `dynamodb`. Activity and `awsSdk` blocks have no fixed integration and give `None`.
pub fn integration_for_block(
    block: &str,
    dynamodb_action: Option<&str>,
) -> Option<&'static Integration> {
    let (service, action) = match block {
        "lambda" => ("lambda", "invoke"),
        "sns" => ("sns", "publish"),
        "sqs" => ("sqs", "sendMessage"),
        "ecs" => ("ecs", "runTask"),
        "batch" => ("batch", "submitJob"),
        "glue" => ("glue", "startJobRun"),
        "sagemakerTraining" => ("sagemaker", "createTrainingJob"),
        "sagemakerTransform" => ("sagemaker", "createTransformJob"),
        "dynamodb" => ("dynamodb", dynamodb_action?),
        "eventbridge" => ("events", "putEvents"),
        "http" => ("http", "invoke"),
        "stepFunctions" => ("states", "startExecution"),
        _ => return None,
    };
    lookup(service, action)
}

/// Errors of [`resource_arn`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("unknown integration {service}:{action}")]
    Unknown { service: String, action: String },
    #[error(
        "integration {service}:{action} does not support the {pattern} pattern (supported: {supported})"
    )]
    UnsupportedPattern {
        service: String,
        action: String,
        pattern: Pattern,
        supported: String,
    },
}

fn supported_list(patterns: &[Pattern]) -> String {
    patterns
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ASL `Resource` for an optimized integration and pattern, e.g.
/// `arn:aws:states:::ecs:runTask.sync`. For `states:startExecution`, ask for [`Pattern::Sync2`] to get parsed
/// JSON output of the child execution.
pub fn resource_arn(
    partition: &str,
    service: &str,
    action: &str,
    pattern: Pattern,
) -> Result<String, CatalogueError> {
    let i = lookup(service, action).ok_or_else(|| CatalogueError::Unknown {
        service: service.into(),
        action: action.into(),
    })?;
    if !i.patterns.contains(&pattern) {
        return Err(CatalogueError::UnsupportedPattern {
            service: service.into(),
            action: action.into(),
            pattern,
            supported: supported_list(i.patterns),
        });
    }
    Ok(format!(
        "arn:{partition}:states:::{service}:{action}{}",
        pattern.suffix()
    ))
}

/// The ASL `Resource` of an AWS SDK integration, `arn:aws:states:::aws-sdk:<service>:<action>`.
/// AWS SDK integrations support request-response and `.waitForTaskToken` only.
pub fn sdk_resource_arn(
    partition: &str,
    service: &str,
    action: &str,
    pattern: Pattern,
) -> Result<String, CatalogueError> {
    if pattern.is_sync() {
        return Err(CatalogueError::UnsupportedPattern {
            service: format!("aws-sdk:{service}"),
            action: action.into(),
            pattern,
            supported: supported_list(&[RR, WFTT]),
        });
    }
    Ok(format!(
        "arn:{partition}:states:::aws-sdk:{service}:{action}{}",
        pattern.suffix()
    ))
}

/// Grants for one Task state.
///
/// A Task with `Credentials` runs its call with another role ("Accessing resources in other AWS accounts in
/// Step Functions", concepts-access-cross-acct-resources.html): the state machine's role then only needs
/// `sts:AssumeRole` on that role, and the task's own permissions belong to the assumed role.
pub(crate) fn task_grants(
    state: &str,
    task: &Value,
    ctx: &RoleContext,
    grants: &mut Vec<Grant>,
    warnings: &mut Vec<Widening>,
) -> Result<(), IamError> {
    let Some(credentials) = task.get("Credentials") else {
        return own_task_grants(state, task, ctx, grants, warnings);
    };
    let mut needed = Vec::new();
    let mut inner_warnings = Vec::new();
    own_task_grants(state, task, ctx, &mut needed, &mut inner_warnings)?;
    let reason = format!("state {state}: Credentials.RoleArn");
    let role = Params::from_value(Some(credentials)).str("RoleArn");
    let target = match role {
        super::params::Param::Static(v) => {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| IamError::InvalidField {
                    state: state.to_string(),
                    field: "Credentials.RoleArn".into(),
                    message: "must be a role ARN".into(),
                })?
        }
        super::params::Param::Dynamic => {
            let w = format!("arn:{}:iam::*:role/*", ctx.scope().partition);
            warnings.push(Widening {
                state: state.to_string(),
                message: format!(
                    "Credentials.RoleArn is chosen at run time: sts:AssumeRole granted on {w}"
                ),
            });
            w
        }
        super::params::Param::Absent => {
            return Err(IamError::InvalidField {
                state: state.to_string(),
                field: "Credentials.RoleArn".into(),
                message: "is required when Credentials is given".into(),
            });
        }
    };
    grants.push(Grant::new(["sts:AssumeRole"], [target.clone()], reason));
    let actions: std::collections::BTreeSet<&str> = needed
        .iter()
        .flat_map(|g| g.actions.iter().map(String::as_str))
        .collect();
    if !actions.is_empty() {
        warnings.push(Widening {
            state: state.to_string(),
            message: format!(
                "runs with the role {target}: that role (not the state machine's) needs {}",
                actions.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(())
}

fn own_task_grants(
    state: &str,
    task: &Value,
    ctx: &RoleContext,
    grants: &mut Vec<Grant>,
    warnings: &mut Vec<Widening>,
) -> Result<(), IamError> {
    let resource = task
        .get("Resource")
        .and_then(Value::as_str)
        .ok_or_else(|| IamError::InvalidField {
            state: state.to_string(),
            field: "Resource".into(),
            message: "a Task state needs a Resource string".into(),
        })?;
    let bad_resource = |message: &str| IamError::InvalidField {
        state: state.to_string(),
        field: "Resource".into(),
        message: format!("{resource:?}: {message}"),
    };
    let arn = Arn::parse(resource).ok_or_else(|| bad_resource("not an ARN"))?;
    match arn.service {
        // With or without region and account: console exports write `arn:aws:states:REGION:ACCOUNT:lambda:invoke`
        // for the same integration, and the grants depend on the integration only ([`states_resource`], which
        // the validator reads Resources with too).
        "states" => match states_resource(resource) {
            // An Activity task: workers poll the activity with their own credentials and Step Functions needs
            // no permission on the role ("Learn about Activities in Step Functions", concepts-activities.html).
            Some(StatesResource::Activity) => Ok(()),
            Some(StatesResource::Sdk {
                service,
                action,
                pattern,
            }) => {
                if pattern.is_sync() {
                    return Err(IamError::UnsupportedPattern {
                        state: state.into(),
                        service: format!("aws-sdk:{service}"),
                        action: action.into(),
                        pattern: pattern.to_string(),
                        supported: supported_list(&[RR, WFTT]),
                    });
                }
                let mut t = Task::new(state, service, action, pattern, task, ctx, grants, warnings);
                t.reason = format!(
                    "state {state}: aws-sdk:{service}:{action}{}",
                    pattern.suffix()
                );
                sdk::grants(&mut t)
            }
            Some(StatesResource::Optimized {
                service,
                action,
                pattern,
            }) => {
                // The regional form is only read as an integration the catalogue knows: anything else there
                // (`...:stateMachine:NAME`, an execution ARN) is not an integration at all.
                if !arn.region.is_empty() && known(service, action).is_none() {
                    return Err(bad_resource(
                        "not a Step Functions integration, Activity or Lambda function ARN",
                    ));
                }
                if let Some(i) = known(service, action)
                    && !i.patterns.contains(&pattern)
                {
                    return Err(IamError::UnsupportedPattern {
                        state: state.into(),
                        service: service.into(),
                        action: action.into(),
                        pattern: pattern.to_string(),
                        supported: supported_list(i.patterns),
                    });
                }
                let mut t = Task::new(state, service, action, pattern, task, ctx, grants, warnings);
                services::grants(&mut t)
            }
            None => Err(bad_resource(
                "expected <service>:<action> or aws-sdk:<service>:<action>, with both region and account or neither",
            )),
        },
        // A Lambda function ARN as Resource (the legacy direct invocation): lambda:InvokeFunction on it.
        "lambda" => {
            let mut t = Task::new(state, "lambda", "invoke", RR, task, ctx, grants, warnings);
            t.reason = format!("state {state}: lambda function {resource}");
            let (function, qualifier) = super::arn::lambda_function(&t.scope, resource)
                .ok_or_else(|| bad_resource("not a Lambda function ARN"))?;
            let resources = match qualifier {
                Some(q) => vec![format!("{function}:{q}")],
                None => vec![function.clone(), format!("{function}:*")],
            };
            t.grant(["lambda:InvokeFunction"], resources);
            Ok(())
        }
        _ => Err(bad_resource(
            "not a Step Functions integration, Activity or Lambda function ARN",
        )),
    }
}

/// Grants a Map state needs itself: a distributed Map starts child executions of this state machine and may
/// read its items from S3 (`ItemReader`) and write results to S3 (`ResultWriter`)
/// ("IAM policies for using Distributed Map states", iam-policies-eg-dist-map.html).
pub(crate) fn map_grants(
    state: &str,
    map: &Value,
    ctx: &RoleContext,
    grants: &mut Vec<Grant>,
    warnings: &mut Vec<Widening>,
) -> Result<(), IamError> {
    let processor = map.get("ItemProcessor");
    let distributed = processor
        .and_then(|p| p.pointer("/ProcessorConfig/Mode"))
        .and_then(Value::as_str)
        == Some("DISTRIBUTED");
    let scope = ctx.scope();
    if distributed {
        let reason = format!("state {state}: distributed Map child executions");
        let sm = ctx.state_machine_arn();
        let executions = scope.arn("states", &format!("execution:{}/*", ctx.state_machine_name));
        grants.push(Grant::new(["states:StartExecution"], [sm], reason.clone()));
        // Redriving the parent execution redrives the Map Run, which redrives its failed child executions with
        // the state machine's role ("Redriving Map Runs in Step Functions executions", redrive-map-run.html).
        grants.push(Grant::new(
            [
                "states:DescribeExecution",
                "states:RedriveExecution",
                "states:StopExecution",
            ],
            [executions],
            reason,
        ));
    }
    for (field, value) in [
        ("ItemReader", map.get("ItemReader")),
        ("ResultWriter", map.get("ResultWriter")),
    ] {
        let Some(value) = value else { continue };
        let Some(resource) = value.get("Resource").and_then(Value::as_str) else {
            continue;
        };
        let Some(arn) = Arn::parse(resource) else {
            return Err(IamError::InvalidField {
                state: state.into(),
                field: format!("{field}.Resource"),
                message: format!("{resource:?} is not an ARN"),
            });
        };
        let (rest, _) = Pattern::split(arn.resource);
        let Some((service, action)) = rest.split_once(':') else {
            continue;
        };
        let params = Params::from_value(value.get("Arguments").or_else(|| value.get("Parameters")));
        let mut t = Task {
            state,
            service,
            action,
            pattern: RR,
            params,
            scope,
            ctx,
            hints: None,
            reason: format!("state {state}: {field} {service}:{action}"),
            params_are_arguments: value.get("Arguments").is_some(),
            grants,
            warnings,
        };
        services::s3_item_io(&mut t, field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split_off_the_action() {
        assert_eq!(
            Pattern::split("startExecution.sync:2"),
            ("startExecution", Sync2)
        );
        assert_eq!(Pattern::split("runTask.sync"), ("runTask", Sync));
        assert_eq!(Pattern::split("invoke.waitForTaskToken"), ("invoke", WFTT));
        assert_eq!(Pattern::split("publish"), ("publish", RR));
    }

    #[test]
    fn resources_for_blocks_check_the_pattern() {
        let i = integration_for_block("ecs", None).unwrap();
        assert_eq!(
            resource_arn("aws", i.service, i.action, Sync).unwrap(),
            "arn:aws:states:::ecs:runTask.sync"
        );
        let i = integration_for_block("sns", None).unwrap();
        assert_eq!(
            resource_arn("aws", i.service, i.action, Sync)
                .unwrap_err()
                .to_string(),
            "integration sns:publish does not support the .sync pattern (supported: request-response, .waitForTaskToken)"
        );
        let i = integration_for_block("dynamodb", Some("putItem")).unwrap();
        assert_eq!(
            resource_arn("aws-cn", i.service, i.action, RR).unwrap(),
            "arn:aws-cn:states:::dynamodb:putItem"
        );
        assert!(integration_for_block("dynamodb", Some("scan")).is_none());
        assert!(integration_for_block("activity", None).is_none());
        assert_eq!(
            sdk_resource_arn("aws", "s3", "getObject", WFTT).unwrap(),
            "arn:aws:states:::aws-sdk:s3:getObject.waitForTaskToken"
        );
        assert!(sdk_resource_arn("aws", "s3", "getObject", Sync).is_err());
    }
}
