//! Optimized integrations (`arn:aws:states:::<service>:<action>`): the statements each needs, per pattern.
//!
//! Every function cites the developer guide page it follows (relative to
//! https://docs.aws.amazon.com/step-functions/latest/dg/). Differences from those templates are deliberate and
//! explained where they occur: we name the exact resource where the template uses `"*"` only because the name
//! is unknown to a generic generator.

use super::super::arn::{Arn, lambda_function, s3_uri, sqs_queue_arn};
use super::super::params::{Param, elements, lookup as lookup_param};
use super::super::policy::Grant;
use super::{IamError, Task};

pub(crate) fn grants(t: &mut Task<'_>) -> Result<(), IamError> {
    match (t.service, t.action) {
        ("lambda", "invoke") => lambda(t),
        ("sns", "publish") => sns(t),
        ("sqs", "sendMessage") => sqs(t),
        ("ecs", "runTask") => ecs(t),
        ("batch", "submitJob") => batch(t),
        ("glue", "startJobRun") => glue(t),
        ("sagemaker", _) => sagemaker(t),
        ("dynamodb", "getItem" | "putItem" | "updateItem" | "deleteItem") => dynamodb(t),
        ("events", "putEvents") => events(t),
        ("states", "startExecution") => step_functions(t),
        ("http", "invoke") => http(t),
        ("apigateway", "invoke") => apigateway(t),
        ("athena", _) => athena(t),
        ("codebuild", _) => codebuild(t),
        ("elasticmapreduce", _) => emr(t),
        ("databrew", "startJobRun") => databrew(t),
        ("bedrock", _) => bedrock(t),
        ("mediaconvert", "createJob") => mediaconvert(t),
        _ => {
            unknown(t);
            Ok(())
        }
    }
}

/// `createTrainingJob` → `CreateTrainingJob`.
pub(crate) fn pascal(action: &str) -> String {
    let mut c = action.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An integration the catalogue does not know: the IAM action named like the API, on `"*"`, with a warning.
fn unknown(t: &mut Task<'_>) {
    let action = format!("{}:{}", super::iam_prefix(t.service), pascal(t.action));
    t.grant([action.clone()], ["*"]);
    t.widen(format!(
        "{}:{} is not in the integration catalogue: granted {action} on \"*\"; add exact resources with spec.role.extraStatements and a TaskIntegration if this is too broad",
        t.service, t.action
    ));
}

/// The value of a string parameter resolved to ARNs, or a widened pattern with a warning.
/// `exact` maps a static value to its ARN(s) (or an error message).
fn resolve(
    t: &mut Task<'_>,
    field: &str,
    param: Param<'_>,
    required: bool,
    wide: &str,
    exact: impl Fn(&Task<'_>, &str) -> Result<Vec<String>, String>,
) -> Result<Option<Vec<String>>, IamError> {
    match param {
        Param::Static(v) => {
            let s = v
                .as_str()
                .ok_or_else(|| t.bad_param(field, "must be a string"))?;
            exact(t, s).map(Some).map_err(|m| t.bad_param(field, m))
        }
        Param::Dynamic => {
            t.widen(format!(
                "{field} is chosen at run time: the {}:{} statement covers {wide}",
                t.service, t.action
            ));
            Ok(Some(vec![wide.to_string()]))
        }
        Param::Absent if required => Err(t.bad_param(field, "is required")),
        Param::Absent => Ok(None),
    }
}

/// Name (the part after the last `/` or `:`) of an ARN or a plain name.
fn last_segment(s: &str) -> &str {
    s.rsplit(['/', ':']).next().unwrap_or(s)
}

// --- Lambda -------------------------------------------------------------------------------------------------
// "IAM policies for AWS Lambda" (lambda-iam.html): lambda:InvokeFunction on the function. An unqualified name
// may run any version or alias, so `function:NAME:*` is granted with `function:NAME`; a qualified reference gets
// exactly that qualifier. The same grant serves `.waitForTaskToken`: the callback is made by the function's role.
fn lambda(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("lambda", "function:*");
    let p = t.params.str("FunctionName");
    let resources = resolve(t, "FunctionName", p, true, &wide, |t, s| {
        let (f, q) = lambda_function(&t.scope, s).ok_or("not a Lambda function name or ARN")?;
        Ok(match q {
            Some(q) => vec![format!("{f}:{q}")],
            None => vec![f.clone(), format!("{f}:*")],
        })
    })?;
    t.grant(["lambda:InvokeFunction"], resources.unwrap_or_default());
    Ok(())
}

// --- SNS ----------------------------------------------------------------------------------------------------
// "IAM policies for Amazon SNS" (sns-iam.html): sns:Publish on the topic. Publishing to a phone number has no
// resource ARN, so that form is granted on "*" with a warning.
fn sns(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("sns", "*");
    for field in ["TopicArn", "TargetArn"] {
        let p = t.params.str(field);
        if let Some(r) = resolve(t, field, p, false, &wide, |_, s| {
            Arn::parse(s).ok_or("not an ARN")?;
            Ok(vec![s.to_string()])
        })? {
            t.grant(["sns:Publish"], r);
            return Ok(());
        }
    }
    if !t.params.str("PhoneNumber").is_absent() {
        t.grant(["sns:Publish"], ["*"]);
        t.widen("sns:Publish to a PhoneNumber has no resource ARN: granted on \"*\"");
        return Ok(());
    }
    if t.params.all_dynamic() {
        t.grant(["sns:Publish"], [wide.clone()]);
        t.widen(format!(
            "the target topic is chosen at run time: sns:Publish granted on {wide}"
        ));
        return Ok(());
    }
    Err(t.bad_param(
        "TopicArn",
        "one of TopicArn, TargetArn or PhoneNumber is required",
    ))
}

// --- SQS ----------------------------------------------------------------------------------------------------
// "IAM policies for Amazon SQS" (sqs-iam.html): sqs:SendMessage on the queue, whose ARN we derive from QueueUrl.
// A queue encrypted with a customer managed key also needs kms:GenerateDataKey/Decrypt on that key; the queue's
// key is not visible in the definition, so it belongs in spec.role.extraStatements.
fn sqs(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("sqs", "*");
    let p = t.params.str("QueueUrl");
    let r = resolve(t, "QueueUrl", p, true, &wide, |t, s| {
        if s.starts_with("arn:") {
            return Ok(vec![s.to_string()]);
        }
        sqs_queue_arn(&t.scope, s).map(|a| vec![a]).ok_or_else(|| {
            "not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)"
                .to_string()
        })
    })?;
    t.grant(["sqs:SendMessage"], r.unwrap_or_default());
    Ok(())
}

/// `FAMILY[:REV]` of a task or job definition given as ARN or name: exact when a revision is given, else the
/// family and all its revisions (the API resolves a bare family to its latest revision).
fn revisioned(t: &Task<'_>, service: &str, prefix: &str, s: &str) -> Vec<String> {
    let name = match Arn::parse(s) {
        Some(a) => a.resource.strip_prefix(prefix).unwrap_or(a.resource),
        None => s,
    };
    let base = match Arn::parse(s) {
        Some(a) => format!(
            "arn:{}:{}:{}:{}:{prefix}",
            a.partition, a.service, a.region, a.account
        ),
        None => t.arn(service, prefix),
    };
    match name.rsplit_once(':') {
        Some((_, rev)) if rev.chars().all(|c| c.is_ascii_digit()) => vec![format!("{base}{name}")],
        _ => vec![format!("{base}{name}"), format!("{base}{name}:*")],
    }
}

// --- ECS / Fargate -------------------------------------------------------------------------------------------
// "IAM policies for Amazon ECS/AWS Fargate" (ecs-iam.html): ecs:RunTask on the task definition; for `.sync`
// also ecs:StopTask/DescribeTasks and the managed rule StepFunctionsGetEventsForECSTaskRule. The guide grants
// Stop/Describe on "*" because task ids are unknown; task ARNs carry the cluster name
// (`task/CLUSTER/ID`), so we scope them to the cluster. iam:PassRole is needed for the task and execution roles
// of the task definition (ECS checks it on RunTask); they come from Overrides or the TaskIntegration.
fn ecs(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("ecs", "task-definition/*");
    let p = t.params.str("TaskDefinition");
    let r = resolve(t, "TaskDefinition", p, true, &wide, |t, s| {
        Ok(revisioned(t, "ecs", "task-definition/", s))
    })?;
    t.grant(["ecs:RunTask"], r.unwrap_or_default());

    if t.pattern.is_sync() {
        let tasks = match t.params.str("Cluster") {
            Param::Static(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| t.bad_param("Cluster", "must be a string"))?;
                match Arn::parse(s) {
                    Some(a) => format!(
                        "arn:{}:ecs:{}:{}:task/{}/*",
                        a.partition,
                        a.region,
                        a.account,
                        last_segment(a.resource)
                    ),
                    None => t.arn("ecs", &format!("task/{s}/*")),
                }
            }
            Param::Absent => t.arn("ecs", "task/default/*"),
            Param::Dynamic => {
                let w = t.arn("ecs", "task/*");
                t.widen(format!(
                    "Cluster is chosen at run time: ecs:DescribeTasks/StopTask granted on {w}"
                ));
                w
            }
        };
        t.grant(["ecs:DescribeTasks", "ecs:StopTask"], [tasks]);
        t.managed_rule("StepFunctionsGetEventsForECSTaskRule");
    }

    let mut roles = t.hinted_roles();
    for key in ["TaskRoleArn", "ExecutionRoleArn"] {
        match t.params.get(&["Overrides", key]) {
            Param::Static(v) => {
                if let Some(s) = v.as_str() {
                    roles.push(t.scope.role_arn(s));
                }
            }
            Param::Dynamic => {
                let w = t.scope.global_arn("iam", "role/*");
                t.widen(format!("Overrides.{key} is chosen at run time: iam:PassRole granted on {w} (to ecs-tasks.amazonaws.com only)"));
                roles.push(w);
            }
            Param::Absent => {}
        }
    }
    if roles.is_empty() {
        let w = t.scope.global_arn("iam", "role/*");
        t.widen(format!(
            "the task definition's roles are not in the definition: iam:PassRole granted on {w} (to ecs-tasks.amazonaws.com only); list them in the TaskIntegration's ecs.passRoleArns for an exact grant"
        ));
        roles.push(w);
    }
    roles.sort();
    roles.dedup();
    t.pass_role(&roles, &["ecs-tasks.amazonaws.com"]);
    Ok(())
}

// --- Batch --------------------------------------------------------------------------------------------------
// "IAM policies for AWS Batch" (batch-iam.html). The guide grants everything on "*"; batch:SubmitJob supports the
// job queue and job definition as resources, batch:TerminateJob the job (`job/*`, ids are unknown), while
// batch:DescribeJobs has no resource-level permission and stays on "*". `.sync` adds the managed rule
// StepFunctionsGetEventsForBatchJobsRule.
fn batch(t: &mut Task<'_>) -> Result<(), IamError> {
    let wq = t.arn("batch", "job-queue/*");
    let p = t.params.str("JobQueue");
    let mut res = resolve(t, "JobQueue", p, true, &wq, |t, s| {
        Ok(vec![t.scope.named("batch", "job-queue/", s)])
    })?
    .unwrap_or_default();
    let wd = t.arn("batch", "job-definition/*");
    let p = t.params.str("JobDefinition");
    res.extend(
        resolve(t, "JobDefinition", p, true, &wd, |t, s| {
            Ok(revisioned(t, "batch", "job-definition/", s))
        })?
        .unwrap_or_default(),
    );
    t.grant(["batch:SubmitJob"], res);
    if t.pattern.is_sync() {
        t.grant(["batch:DescribeJobs"], ["*"]);
        let jobs = t.arn("batch", "job/*");
        t.grant(["batch:TerminateJob"], [jobs]);
        t.managed_rule("StepFunctionsGetEventsForBatchJobsRule");
    }
    Ok(())
}

// --- Glue ---------------------------------------------------------------------------------------------------
// "IAM policies for AWS Glue" (glue-iam.html): glue:StartJobRun on the job; `.sync` polls the run, so it adds
// GetJobRun, GetJobRuns and BatchStopJobRun on the same job (no managed rule).
fn glue(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("glue", "job/*");
    let p = t.params.str("JobName");
    let r = resolve(t, "JobName", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("glue", "job/", s)])
    })?
    .unwrap_or_default();
    if t.pattern.is_sync() {
        t.grant(
            [
                "glue:BatchStopJobRun",
                "glue:GetJobRun",
                "glue:GetJobRuns",
                "glue:StartJobRun",
            ],
            r,
        );
    } else {
        t.grant(["glue:StartJobRun"], r);
    }
    Ok(())
}

// --- SageMaker ----------------------------------------------------------------------------------------------
// "IAM policies for Amazon SageMaker AI" (sagemaker-iam.html). Create* on the named resource (the guide uses
// `NAME*`; the exact name is enough), sagemaker:AddTags when the call tags, and iam:PassRole with
// iam:PassedToService = sagemaker.amazonaws.com. `.sync` adds Describe*/Stop*, sagemaker:ListTags on "*" (as
// the guide lists it) and the managed rule of the job type. SageMaker lower-cases names in ARNs, so a mixed-case
// name is granted in both spellings.
fn sagemaker(t: &mut Task<'_>) -> Result<(), IamError> {
    let (kind, name_field, role_field, rule, stop) = match t.action {
        "createTrainingJob" => (
            "training-job",
            "TrainingJobName",
            Some("RoleArn"),
            Some("StepFunctionsGetEventsForSageMakerTrainingJobsRule"),
            Some("TrainingJob"),
        ),
        "createTransformJob" => (
            "transform-job",
            "TransformJobName",
            None,
            Some("StepFunctionsGetEventsForSageMakerTransformJobsRule"),
            Some("TransformJob"),
        ),
        "createProcessingJob" => (
            "processing-job",
            "ProcessingJobName",
            Some("RoleArn"),
            Some("StepFunctionsGetEventsForSageMakerProcessingJobsRule"),
            Some("ProcessingJob"),
        ),
        "createModel" => ("model", "ModelName", Some("ExecutionRoleArn"), None, None),
        "createEndpointConfig" => ("endpoint-config", "EndpointConfigName", None, None, None),
        "createEndpoint" | "updateEndpoint" => ("endpoint", "EndpointName", None, None, None),
        _ => {
            unknown(t);
            return Ok(());
        }
    };
    let wide = t.arn("sagemaker", &format!("{kind}/*"));
    let p = t.params.str(name_field);
    let mut resources = resolve(t, name_field, p, true, &wide, |t, s| {
        let mut v = vec![t.arn("sagemaker", &format!("{kind}/{s}"))];
        if s.to_lowercase() != s {
            v.push(t.arn("sagemaker", &format!("{kind}/{}", s.to_lowercase())));
        }
        Ok(v)
    })?
    .unwrap_or_default();
    if matches!(t.action, "createEndpoint" | "updateEndpoint")
        && let Some(c) = t.params.str("EndpointConfigName").as_str()
    {
        resources.push(t.arn("sagemaker", &format!("endpoint-config/{c}")));
        if c.to_lowercase() != c {
            resources.push(t.arn(
                "sagemaker",
                &format!("endpoint-config/{}", c.to_lowercase()),
            ));
        }
    }
    let mut actions = vec![format!("sagemaker:{}", pascal(t.action))];
    if !t.params.str("Tags").is_absent() {
        actions.push("sagemaker:AddTags".into());
    }
    if t.pattern.is_sync()
        && let Some(stop) = stop
    {
        actions.push(format!("sagemaker:Describe{stop}"));
        actions.push(format!("sagemaker:Stop{stop}"));
    }
    t.grant(actions, resources);
    if t.pattern.is_sync() {
        t.grant(["sagemaker:ListTags"], ["*"]);
        if let Some(rule) = rule {
            t.managed_rule(rule);
        }
    }
    let mut roles = t.hinted_roles();
    if let Some(field) = role_field {
        let w = t.scope.global_arn("iam", "role/*");
        let p = t.params.str(field);
        if let Some(r) = resolve(t, field, p, false, &w, |t, s| Ok(vec![t.scope.role_arn(s)]))? {
            roles.extend(r);
        }
    }
    t.pass_role(&roles, &["sagemaker.amazonaws.com"]);
    Ok(())
}

// --- DynamoDB -----------------------------------------------------------------------------------------------
// "IAM policies for DynamoDB" (dynamo-iam.html): the item action on the table.
fn dynamodb(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("dynamodb", "table/*");
    let p = t.params.str("TableName");
    let r = resolve(t, "TableName", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("dynamodb", "table/", s)])
    })?
    .unwrap_or_default();
    let action = format!("dynamodb:{}", pascal(t.action));
    t.grant([action], r);
    Ok(())
}

// --- EventBridge --------------------------------------------------------------------------------------------
// "IAM policies for Amazon EventBridge" (eventbridge-iam.html): events:PutEvents on every bus an entry names;
// an entry without EventBusName goes to the account's `default` bus.
fn events(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("events", "event-bus/*");
    let entries = t.params.str("Entries");
    let Some(items) = elements(entries) else {
        t.grant(["events:PutEvents"], [wide.clone()]);
        t.widen(format!(
            "Entries are chosen at run time: events:PutEvents granted on {wide}"
        ));
        return Ok(());
    };
    if items.is_empty() {
        return Err(t.bad_param("Entries", "is required"));
    }
    let mut buses = Vec::new();
    for (i, e) in items.into_iter().enumerate() {
        let field = format!("Entries[{i}].EventBusName");
        let p = lookup_param(e, &["EventBusName"]);
        match p {
            Param::Absent => buses.push(t.arn("events", "event-bus/default")),
            _ => {
                if let Some(r) = resolve(t, &field, p, false, &wide, |t, s| {
                    Ok(vec![t.scope.named("events", "event-bus/", s)])
                })? {
                    buses.extend(r);
                }
            }
        }
    }
    t.grant(["events:PutEvents"], buses);
    Ok(())
}

// --- Step Functions -----------------------------------------------------------------------------------------
// "IAM policies for AWS Step Functions" (stepfunctions-iam.html): states:StartExecution on the child state
// machine; `.sync`/`.sync:2` also DescribeExecution/StopExecution on its executions (`execution:NAME:*`) and the
// managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule. `.waitForTaskToken` needs only the start.
fn step_functions(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("states", "stateMachine:*");
    let p = t.params.str("StateMachineArn");
    let dynamic = p.is_dynamic();
    let machines = resolve(t, "StateMachineArn", p, true, &w, |_, s| {
        let a = Arn::parse(s).ok_or("not a state machine ARN")?;
        if a.service != "states" || !a.resource.starts_with("stateMachine:") {
            return Err("not a state machine ARN".into());
        }
        Ok(vec![s.to_string()])
    })?
    .unwrap_or_default();
    t.grant(["states:StartExecution"], machines.clone());
    if t.pattern.is_sync() {
        let executions: Vec<String> = if dynamic {
            vec![t.arn("states", "execution:*")]
        } else {
            machines
                .iter()
                .filter_map(|m| {
                    let a = Arn::parse(m)?;
                    let name = a
                        .resource
                        .strip_prefix("stateMachine:")?
                        .split(':')
                        .next()?;
                    Some(format!(
                        "arn:{}:states:{}:{}:execution:{name}:*",
                        a.partition, a.region, a.account
                    ))
                })
                .collect()
        };
        t.grant(
            ["states:DescribeExecution", "states:StopExecution"],
            executions,
        );
        t.managed_rule("StepFunctionsGetEventsForStepFunctionsExecutionRule");
    }
    Ok(())
}

// --- HTTP Task ----------------------------------------------------------------------------------------------
// "Call HTTPS APIs in Step Functions workflows" (connect-third-party-apis.html): events:RetrieveConnectionCredentials
// on the connection, secretsmanager:GetSecretValue/DescribeSecret on the connection's secret
// (`secret:events!connection/NAME/*`), and states:InvokeHTTPEndpoint on the state machine itself, limited by
// states:HTTPMethod and states:HTTPEndpoint.
fn http(t: &mut Task<'_>) -> Result<(), IamError> {
    let wc = t.arn("events", "connection/*");
    let p = t.params.get(&["Authentication", "ConnectionArn"]);
    let dynamic_connection = p.is_dynamic();
    let connections = resolve(t, "Authentication.ConnectionArn", p, true, &wc, |_, s| {
        let a = Arn::parse(s).ok_or("not an EventBridge connection ARN")?;
        if a.service != "events" || !a.resource.starts_with("connection/") {
            return Err("not an EventBridge connection ARN".into());
        }
        Ok(vec![s.to_string()])
    })?
    .unwrap_or_default();
    t.grant(
        ["events:RetrieveConnectionCredentials"],
        connections.clone(),
    );
    let secrets: Vec<String> = if dynamic_connection {
        vec![t.arn("secretsmanager", "secret:events!connection/*")]
    } else {
        connections
            .iter()
            .filter_map(|c| {
                let a = Arn::parse(c)?;
                let name = a.resource.strip_prefix("connection/")?.split('/').next()?;
                Some(format!(
                    "arn:{}:secretsmanager:{}:{}:secret:events!connection/{name}/*",
                    a.partition, a.region, a.account
                ))
            })
            .collect()
    };
    t.grant(
        [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
        ],
        secrets,
    );
    let mut g = Grant::new(
        ["states:InvokeHTTPEndpoint"],
        [t.ctx.state_machine_arn()],
        String::new(),
    );
    match t.params.str("Method") {
        Param::Static(v) => {
            let m = v
                .as_str()
                .ok_or_else(|| t.bad_param("Method", "must be a string"))?;
            g = g.when("StringEquals", "states:HTTPMethod", &[m]);
        }
        Param::Dynamic => t.widen(
            "Method is chosen at run time: states:InvokeHTTPEndpoint is not limited by method",
        ),
        Param::Absent => return Err(t.bad_param("Method", "is required")),
    }
    match t.params.str("ApiEndpoint") {
        Param::Static(v) => {
            let e = v
                .as_str()
                .ok_or_else(|| t.bad_param("ApiEndpoint", "must be a string"))?;
            g = g.when("StringLike", "states:HTTPEndpoint", &[e]);
        }
        Param::Dynamic => t.widen(
            "ApiEndpoint is chosen at run time: states:InvokeHTTPEndpoint is not limited by endpoint",
        ),
        Param::Absent => return Err(t.bad_param("ApiEndpoint", "is required")),
    }
    t.push(g);
    Ok(())
}

// --- API Gateway --------------------------------------------------------------------------------------------
// "IAM policies for API Gateway" (api-gateway-iam.html): with AuthType IAM_ROLE, execute-api:Invoke on
// `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH`; other auth types need no role permission.
fn apigateway(t: &mut Task<'_>) -> Result<(), IamError> {
    match t.params.str("AuthType") {
        Param::Static(v) if v.as_str() == Some("IAM_ROLE") => {}
        Param::Dynamic => {}
        _ => return Ok(()),
    }
    let mut widened = Vec::new();
    let api = match t.params.str("ApiEndpoint") {
        Param::Static(v) => {
            let e = v
                .as_str()
                .ok_or_else(|| t.bad_param("ApiEndpoint", "must be a string"))?;
            let host = e
                .trim_start_matches("https://")
                .split('/')
                .next()
                .unwrap_or(e);
            let mut parts = host.split('.');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(id), Some("execute-api"), Some(region)) => {
                    Some((id.to_string(), region.to_string()))
                }
                _ => {
                    widened.push("ApiEndpoint is a custom domain");
                    None
                }
            }
        }
        Param::Dynamic => {
            widened.push("ApiEndpoint is chosen at run time");
            None
        }
        Param::Absent => return Err(t.bad_param("ApiEndpoint", "is required")),
    };
    let seg = |t: &mut Task<'_>,
               field: &'static str,
               default: &str,
               widened: &mut Vec<&'static str>|
     -> String {
        match t.params.str(field) {
            Param::Static(v) => v
                .as_str()
                .unwrap_or(default)
                .trim_start_matches('/')
                .to_string(),
            Param::Dynamic => {
                widened.push(field);
                "*".into()
            }
            Param::Absent => default.to_string(),
        }
    };
    let stage = seg(t, "Stage", "$default", &mut widened);
    let method = seg(t, "Method", "*", &mut widened);
    let path = seg(t, "Path", "*", &mut widened);
    let resource = match api {
        Some((id, region)) => format!(
            "arn:{}:execute-api:{region}:{}:{id}/{stage}/{method}/{}",
            t.scope.partition,
            t.scope.account,
            if path.is_empty() { "*" } else { &path }
        ),
        None => t.arn("execute-api", "*"),
    };
    if !widened.is_empty() {
        t.widen(format!(
            "{}: execute-api:Invoke granted on {resource}",
            widened.join(", ")
        ));
    }
    t.grant(["execute-api:Invoke"], [resource]);
    Ok(())
}

// --- Athena -------------------------------------------------------------------------------------------------
// "IAM policies for Amazon Athena" (athena-iam.html). The guide grants the query's S3 and Glue catalog access on
// wide patterns because a query can touch any table. We keep Athena actions on the work group and data catalog,
// S3 writes on the output location when it is static, Glue catalog reads on the query's database, and warn that
// reading table data needs access we cannot see (granted on `arn:aws:s3:::*` for reads only). Catalog writes
// are only added when the query is not a plain SELECT.
fn athena(t: &mut Task<'_>) -> Result<(), IamError> {
    let workgroup = match t.params.str("WorkGroup") {
        Param::Static(v) => t.arn(
            "athena",
            &format!("workgroup/{}", v.as_str().unwrap_or("primary")),
        ),
        Param::Absent if t.action == "startQueryExecution" => t.arn("athena", "workgroup/primary"),
        _ => t.arn("athena", "workgroup/*"),
    };
    match t.action {
        "startQueryExecution" => {
            let mut actions = vec!["athena:StartQueryExecution", "athena:GetDataCatalog"];
            if t.pattern.is_sync() {
                actions.extend(["athena:GetQueryExecution", "athena:StopQueryExecution"]);
            }
            let catalog = match t.params.get(&["QueryExecutionContext", "Catalog"]) {
                Param::Static(v) => v.as_str().unwrap_or("AwsDataCatalog").to_string(),
                Param::Absent => "AwsDataCatalog".into(),
                Param::Dynamic => "*".into(),
            };
            let dc = t.arn("athena", &format!("datacatalog/{catalog}"));
            t.grant(actions, [workgroup, dc]);

            let location = t.params.get(&["ResultConfiguration", "OutputLocation"]);
            match location.as_str().and_then(s3_uri) {
                Some((bucket, key)) => {
                    let p = t.scope.partition;
                    t.grant(
                        [
                            "s3:GetBucketLocation",
                            "s3:ListBucket",
                            "s3:ListBucketMultipartUploads",
                        ],
                        [format!("arn:{p}:s3:::{bucket}")],
                    );
                    t.grant(
                        [
                            "s3:AbortMultipartUpload",
                            "s3:GetObject",
                            "s3:ListMultipartUploadParts",
                            "s3:PutObject",
                        ],
                        [format!("arn:{p}:s3:::{bucket}/{key}*")],
                    );
                }
                None => {
                    let w = format!("arn:{}:s3:::*", t.scope.partition);
                    t.grant(
                        [
                            "s3:AbortMultipartUpload",
                            "s3:GetBucketLocation",
                            "s3:ListBucketMultipartUploads",
                            "s3:ListMultipartUploadParts",
                            "s3:PutObject",
                        ],
                        [w.clone()],
                    );
                    t.widen(format!(
                        "ResultConfiguration.OutputLocation is not given in the definition (work group default or run time): Athena result writes granted on {w}"
                    ));
                }
            }
            let w = format!("arn:{}:s3:::*", t.scope.partition);
            t.grant(
                ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
                [w.clone()],
            );
            t.widen(format!(
                "the tables a query reads are not visible in the definition: S3 reads granted on {w}"
            ));
            t.grant(["lakeformation:GetDataAccess"], ["*"]);

            let db = match t.params.get(&["QueryExecutionContext", "Database"]) {
                Param::Static(v) => v.as_str().unwrap_or("*").to_string(),
                _ => "*".into(),
            };
            let glue = vec![
                t.arn("glue", "catalog"),
                t.arn("glue", &format!("database/{db}")),
                t.arn("glue", &format!("table/{db}/*")),
                t.arn("glue", &format!("userDefinedFunction/{db}/*")),
            ];
            t.grant(
                [
                    "glue:BatchGetPartition",
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:GetTable",
                    "glue:GetTables",
                ],
                glue.clone(),
            );
            let read_only = t
                .params
                .str("QueryString")
                .as_str()
                .map(|q| {
                    let q = q.trim_start().to_ascii_uppercase();
                    q.starts_with("SELECT") || q.starts_with("WITH")
                })
                .unwrap_or(false);
            if !read_only {
                t.grant(
                    [
                        "glue:BatchCreatePartition",
                        "glue:BatchDeletePartition",
                        "glue:BatchDeleteTable",
                        "glue:CreateDatabase",
                        "glue:CreatePartition",
                        "glue:CreateTable",
                        "glue:DeleteDatabase",
                        "glue:DeletePartition",
                        "glue:DeleteTable",
                        "glue:UpdateDatabase",
                        "glue:UpdatePartition",
                        "glue:UpdateTable",
                    ],
                    glue,
                );
                t.widen("QueryString is not a static SELECT: Glue catalog writes granted on the query's database");
            }
        }
        "getQueryResults" => {
            t.grant(["athena:GetQueryResults"], [workgroup]);
            let w = format!("arn:{}:s3:::*", t.scope.partition);
            t.grant(["s3:GetObject"], [w.clone()]);
            t.widen(format!(
                "the query's output location is only known at run time: s3:GetObject granted on {w}"
            ));
        }
        "getQueryExecution" | "stopQueryExecution" => {
            t.grant([format!("athena:{}", pascal(t.action))], [workgroup]);
        }
        _ => unknown(t),
    }
    Ok(())
}

// --- CodeBuild ----------------------------------------------------------------------------------------------
// "IAM policies for AWS CodeBuild" (codebuild-iam.html): the build action on the project; `.sync` adds
// StopBuild/BatchGetBuilds/BatchGetReports (builds) or StopBuildBatch/BatchGetBuildBatches (batches) and the
// managed rule StepFunctionsGetEventForCodeBuildStartBuildRule / ...StartBuildBatchRule.
fn codebuild(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("codebuild", "project/*");
    let (field, actions, sync_actions, rule): (&str, &[&str], &[&str], &str) = match t.action {
        "startBuild" => (
            "ProjectName",
            &["codebuild:StartBuild"],
            &[
                "codebuild:BatchGetBuilds",
                "codebuild:BatchGetReports",
                "codebuild:StopBuild",
            ],
            "StepFunctionsGetEventForCodeBuildStartBuildRule",
        ),
        "startBuildBatch" => (
            "ProjectName",
            &["codebuild:StartBuildBatch"],
            &["codebuild:BatchGetBuildBatches", "codebuild:StopBuildBatch"],
            "StepFunctionsGetEventForCodeBuildStartBuildBatchRule",
        ),
        "retryBuildBatch" => (
            "",
            &["codebuild:RetryBuildBatch"],
            &["codebuild:BatchGetBuildBatches", "codebuild:StopBuildBatch"],
            "StepFunctionsGetEventForCodeBuildStartBuildBatchRule",
        ),
        "stopBuild" | "batchDeleteBuilds" | "stopBuildBatch" | "deleteBuildBatch" => {
            ("", &[], &[], "")
        }
        "batchGetReports" => {
            let w = t.arn("codebuild", "report-group/*");
            t.grant(["codebuild:BatchGetReports"], [w.clone()]);
            t.widen(format!(
                "report ARNs are run-time values: codebuild:BatchGetReports granted on {w}"
            ));
            return Ok(());
        }
        _ => {
            unknown(t);
            return Ok(());
        }
    };
    let projects = if field.is_empty() {
        // Build ids carry the project, but they are only known at run time.
        t.widen(format!("builds are identified at run time: granted on {w}"));
        vec![w.clone()]
    } else {
        let p = t.params.str(field);
        resolve(t, field, p, true, &w, |t, s| {
            Ok(vec![t.scope.named("codebuild", "project/", s)])
        })?
        .unwrap_or_default()
    };
    let mut all: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
    if actions.is_empty() {
        all.push(format!("codebuild:{}", pascal(t.action)));
    }
    if t.pattern.is_sync() {
        all.extend(sync_actions.iter().map(|a| a.to_string()));
    }
    t.grant(all, projects);
    if t.pattern.is_sync() && !rule.is_empty() {
        t.managed_rule(rule);
    }
    Ok(())
}

// --- EMR ----------------------------------------------------------------------------------------------------
// "IAM policies for Amazon EMR" (emr-iam.html). createCluster: RunJobFlow on "*" (no resource type) and
// DescribeCluster/TerminateJobFlows (+ AddTags when tagging) on `cluster/*`, the guide's "*" narrowed to clusters
// since the new cluster's id is unknown, iam:PassRole on the service role and
// the instance profile role; addStep/terminateCluster/... on the cluster (`cluster/*` when the id is a run-time
// value, which it almost always is); addStep's ExecutionRoleArn is passed too. `.sync` adds the managed rules
// StepFunctionsGetEventForEMR{RunJobFlow,AddJobFlowSteps,TerminateJobFlows}Rule.
fn emr(t: &mut Task<'_>) -> Result<(), IamError> {
    let cluster = |t: &mut Task<'_>| -> Result<String, IamError> {
        let w = t.arn("elasticmapreduce", "cluster/*");
        let p = t.params.str("ClusterId");
        Ok(resolve(t, "ClusterId", p, true, &w, |t, s| {
            Ok(vec![t.arn("elasticmapreduce", &format!("cluster/{s}"))])
        })?
        .and_then(|v| v.into_iter().next())
        .unwrap_or(w))
    };
    match t.action {
        "createCluster" => {
            // RunJobFlow has no resource type; what follows on the new cluster can be scoped to clusters.
            t.grant(["elasticmapreduce:RunJobFlow"], ["*"]);
            let mut actions = vec![
                "elasticmapreduce:DescribeCluster",
                "elasticmapreduce:TerminateJobFlows",
            ];
            if !t.params.str("Tags").is_absent() {
                actions.push("elasticmapreduce:AddTags");
            }
            let clusters = t.arn("elasticmapreduce", "cluster/*");
            t.grant(actions, [clusters]);
            let mut roles = t.hinted_roles();
            let w = t.scope.global_arn("iam", "role/*");
            for field in ["ServiceRole", "JobFlowRole", "AutoScalingRole"] {
                let p = t.params.str(field);
                // The instance profile named by JobFlowRole conventionally has the role's name; a different
                // role behind it must be declared in the TaskIntegration.
                if let Some(r) =
                    resolve(t, field, p, false, &w, |t, s| Ok(vec![t.scope.role_arn(s)]))?
                {
                    roles.extend(r);
                }
            }
            t.pass_role(
                &roles,
                &["ec2.amazonaws.com", "elasticmapreduce.amazonaws.com"],
            );
            if t.pattern.is_sync() {
                t.managed_rule("StepFunctionsGetEventForEMRRunJobFlowRule");
            }
        }
        "addStep" => {
            let c = cluster(t)?;
            let mut actions = vec![
                "elasticmapreduce:AddJobFlowSteps",
                "elasticmapreduce:DescribeStep",
            ];
            if t.pattern.is_sync() {
                actions.push("elasticmapreduce:CancelSteps");
            }
            t.grant(actions, [c]);
            let w = t.scope.global_arn("iam", "role/*");
            let p = t.params.str("ExecutionRoleArn");
            if let Some(r) = resolve(t, "ExecutionRoleArn", p, false, &w, |t, s| {
                Ok(vec![t.scope.role_arn(s)])
            })? {
                t.pass_role(&r, &["elasticmapreduce.amazonaws.com"]);
            }
            if t.pattern.is_sync() {
                t.managed_rule("StepFunctionsGetEventForEMRAddJobFlowStepsRule");
            }
        }
        "terminateCluster" => {
            let c = cluster(t)?;
            t.grant(
                [
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:TerminateJobFlows",
                ],
                [c],
            );
            if t.pattern.is_sync() {
                t.managed_rule("StepFunctionsGetEventForEMRTerminateJobFlowsRule");
            }
        }
        "cancelStep" => {
            let c = cluster(t)?;
            t.grant(["elasticmapreduce:CancelSteps"], [c]);
        }
        "setClusterTerminationProtection" => {
            let c = cluster(t)?;
            t.grant(["elasticmapreduce:SetTerminationProtection"], [c]);
        }
        "modifyInstanceFleetByName" => {
            let c = cluster(t)?;
            t.grant(
                [
                    "elasticmapreduce:ListInstanceFleets",
                    "elasticmapreduce:ModifyInstanceFleet",
                ],
                [c],
            );
        }
        "modifyInstanceGroupByName" => {
            let c = cluster(t)?;
            t.grant(
                [
                    "elasticmapreduce:ListInstanceGroups",
                    "elasticmapreduce:ModifyInstanceGroups",
                ],
                [c],
            );
        }
        _ => unknown(t),
    }
    Ok(())
}

// --- Glue DataBrew ------------------------------------------------------------------------------------------
// "IAM policies for AWS Glue DataBrew" (databrew-iam.html): databrew:StartJobRun on the job; `.sync` adds
// ListJobRuns and StopJobRun on it.
fn databrew(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("databrew", "job/*");
    let p = t.params.str("Name");
    let r = resolve(t, "Name", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("databrew", "job/", s)])
    })?
    .unwrap_or_default();
    let mut actions = vec!["databrew:StartJobRun"];
    if t.pattern.is_sync() {
        actions.extend(["databrew:ListJobRuns", "databrew:StopJobRun"]);
    }
    t.grant(actions, r);
    Ok(())
}

// --- Bedrock ------------------------------------------------------------------------------------------------
// "IAM policies for Amazon Bedrock" (bedrock-iam.html): bedrock:InvokeModel on the model (a foundation-model id
// becomes `arn:aws:bedrock:REGION::foundation-model/ID`); createModelCustomizationJob on the base model, the
// job and the custom model, with iam:PassRole to bedrock.amazonaws.com; `.sync` adds Get/Stop on the job.
fn bedrock(t: &mut Task<'_>) -> Result<(), IamError> {
    let fm = |t: &Task<'_>, s: &str| -> String {
        if s.starts_with("arn:") {
            s.to_string()
        } else {
            format!(
                "arn:{}:bedrock:{}::foundation-model/{s}",
                t.scope.partition, t.scope.region
            )
        }
    };
    match t.action {
        "invokeModel" => {
            let w = format!(
                "arn:{}:bedrock:{}::foundation-model/*",
                t.scope.partition, t.scope.region
            );
            let p = t.params.str("ModelId");
            let r =
                resolve(t, "ModelId", p, true, &w, |t, s| Ok(vec![fm(t, s)]))?.unwrap_or_default();
            t.grant(["bedrock:InvokeModel"], r);
        }
        "createModelCustomizationJob" => {
            let w = format!(
                "arn:{}:bedrock:{}::foundation-model/*",
                t.scope.partition, t.scope.region
            );
            let p = t.params.str("BaseModelIdentifier");
            let mut r = resolve(t, "BaseModelIdentifier", p, true, &w, |t, s| {
                Ok(vec![fm(t, s)])
            })?
            .unwrap_or_default();
            let job = match t.params.str("JobName").as_str() {
                Some(j) => t.arn("bedrock", &format!("model-customization-job/{j}")),
                None => t.arn("bedrock", "model-customization-job/*"),
            };
            // Custom model ARNs end in a generated id, so the name cannot be used.
            r.push(t.arn("bedrock", "custom-model/*"));
            r.push(job.clone());
            let mut actions = vec!["bedrock:CreateModelCustomizationJob"];
            if !t.params.str("JobTags").is_absent() || !t.params.str("CustomModelTags").is_absent()
            {
                actions.push("bedrock:TagResource");
            }
            t.grant(actions, r);
            if t.pattern.is_sync() {
                t.grant(
                    [
                        "bedrock:GetModelCustomizationJob",
                        "bedrock:StopModelCustomizationJob",
                    ],
                    [t.arn("bedrock", "model-customization-job/*")],
                );
            }
            let w = t.scope.global_arn("iam", "role/*");
            let p = t.params.str("RoleArn");
            let mut roles = t.hinted_roles();
            if let Some(x) = resolve(t, "RoleArn", p, true, &w, |t, s| {
                Ok(vec![t.scope.role_arn(s)])
            })? {
                roles.extend(x);
            }
            t.pass_role(&roles, &["bedrock.amazonaws.com"]);
        }
        _ => unknown(t),
    }
    Ok(())
}

// --- MediaConvert -------------------------------------------------------------------------------------------
// "IAM policies for AWS Elemental MediaConvert" (mediaconvert-iam.html): mediaconvert:CreateJob on "*" (as the
// guide grants it: the job, queue and template resources it checks are not all in the request), iam:PassRole on
// the job role to mediaconvert.amazonaws.com; `.sync` adds GetJob/CancelJob on jobs and the managed rule
// StepFunctionsGetEventsForMediaConvertJobRule.
fn mediaconvert(t: &mut Task<'_>) -> Result<(), IamError> {
    t.grant(["mediaconvert:CreateJob"], ["*"]);
    let w = t.scope.global_arn("iam", "role/*");
    let p = t.params.str("Role");
    let mut roles = t.hinted_roles();
    if let Some(r) = resolve(t, "Role", p, true, &w, |t, s| Ok(vec![t.scope.role_arn(s)]))? {
        roles.extend(r);
    }
    t.pass_role(&roles, &["mediaconvert.amazonaws.com"]);
    if t.pattern.is_sync() {
        let jobs = t.arn("mediaconvert", "jobs/*");
        t.grant(["mediaconvert:CancelJob", "mediaconvert:GetJob"], [jobs]);
        t.managed_rule("StepFunctionsGetEventsForMediaConvertJobRule");
    }
    Ok(())
}

// --- Distributed Map S3 I/O ---------------------------------------------------------------------------------
// "IAM policies for using Distributed Map states" (iam-policies-eg-dist-map.html): ItemReader s3:getObject needs
// s3:GetObject on the object, s3:listObjectsV2 needs s3:ListBucket on the bucket; ResultWriter s3:putObject needs
// PutObject, GetObject, ListMultipartUploadParts and AbortMultipartUpload under the prefix.
pub(crate) fn s3_item_io(t: &mut Task<'_>, field: &str) -> Result<(), IamError> {
    let p = t.scope.partition;
    let bucket = match t.params.str("Bucket") {
        Param::Static(v) => v.as_str().map(str::to_string),
        _ => None,
    };
    let widen_all = |t: &mut Task<'_>, what: &str| {
        let w = format!("arn:{p}:s3:::*");
        t.widen(format!(
            "{field}.{what} is chosen at run time: granted on {w}"
        ));
        w
    };
    match (t.service, t.action) {
        ("s3", "getObject") => {
            let r = match (&bucket, t.params.str("Key").as_str()) {
                (Some(b), Some(k)) => format!("arn:{p}:s3:::{b}/{k}"),
                (Some(b), None) => {
                    let w = format!("arn:{p}:s3:::{b}/*");
                    t.widen(format!("{field}.Key is chosen at run time: granted on {w}"));
                    w
                }
                _ => widen_all(t, "Bucket"),
            };
            t.grant(["s3:GetObject"], [r]);
        }
        ("s3", "listObjectsV2") => {
            let r = match &bucket {
                Some(b) => format!("arn:{p}:s3:::{b}"),
                None => widen_all(t, "Bucket"),
            };
            t.grant(["s3:ListBucket"], [r]);
        }
        ("s3", "putObject") => {
            let prefix = t.params.str("Prefix").as_str().unwrap_or("").to_string();
            let r = match &bucket {
                Some(b) => format!("arn:{p}:s3:::{b}/{prefix}*"),
                None => widen_all(t, "Bucket"),
            };
            t.grant(
                [
                    "s3:AbortMultipartUpload",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject",
                ],
                [r],
            );
        }
        _ => unknown(t),
    }
    Ok(())
}
