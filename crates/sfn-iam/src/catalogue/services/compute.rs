//! Compute: Lambda `invoke`, ECS/Fargate `runTask` and Batch `submitJob`, with the revision handling
//! ECS task definitions and Batch job definitions share.

use crate::IamError;
use crate::arn::{Arn, lambda_function};
use crate::catalogue::task::Task;
use crate::params::Param;
use crate::policy::Grant;

use super::common::resolve;

// --- Lambda -------------------------------------------------------------------------------------------------
// "IAM policies for AWS Lambda" (lambda-iam.html): lambda:InvokeFunction on the function. An unqualified name
// may run any version or alias, so `function:NAME:*` is granted with `function:NAME`; a qualified reference gets
// exactly that qualifier. The same grant serves `.waitForTaskToken`: the callback is made by the function's role.
pub(super) fn lambda(t: &mut Task<'_>) -> Result<(), IamError> {
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

/// Name (the part after the last `/` or `:`) of an ARN or a plain name.
fn last_segment(s: &str) -> &str {
    s.rsplit(['/', ':']).next().unwrap_or(s)
}

// --- ECS / Fargate -------------------------------------------------------------------------------------------
// "IAM policies for Amazon ECS/AWS Fargate" (ecs-iam.html): ecs:RunTask on the task definition; for `.sync`
// also ecs:StopTask/DescribeTasks and the managed rule StepFunctionsGetEventsForECSTaskRule. The guide grants
// Stop/Describe on "*" because task ids are unknown; task ARNs carry the cluster name
// (`task/CLUSTER/ID`), so we scope them to the cluster. iam:PassRole is needed for the task and execution roles
// of the task definition (ECS checks it on RunTask); they come from Overrides or the TaskIntegration. Tags or
// PropagateTags add ecs:TagResource on the cluster's tasks, conditioned on ecs:CreateAction = RunTask.
pub(super) fn ecs(t: &mut Task<'_>) -> Result<(), IamError> {
    let wide = t.arn("ecs", "task-definition/*");
    let p = t.params.str("TaskDefinition");
    let r = resolve(t, "TaskDefinition", p, true, &wide, |t, s| {
        Ok(revisioned(t, "ecs", "task-definition/", s))
    })?;
    t.grant(["ecs:RunTask"], r.unwrap_or_default());

    let tagged = !t.params.str("Tags").is_absent() || !t.params.str("PropagateTags").is_absent();
    if t.pattern.is_sync() || tagged {
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
                let what = if t.pattern.is_sync() {
                    "ecs:DescribeTasks/StopTask"
                } else {
                    "ecs:TagResource"
                };
                t.widen(format!(
                    "Cluster is chosen at run time: {what} granted on {w}"
                ));
                w
            }
        };
        if t.pattern.is_sync() {
            t.grant(["ecs:DescribeTasks", "ecs:StopTask"], [tasks.clone()]);
            t.managed_rule("StepFunctionsGetEventsForECSTaskRule");
        }
        // Tagging on create: with Tags or PropagateTags, RunTask also authorises ecs:TagResource on the new task,
        // which the ecs:CreateAction condition limits to tags set by RunTask ("Grant permission to tag resources
        // on creation", Amazon ECS developer guide).
        if tagged {
            let g = Grant::new(["ecs:TagResource"], [tasks], String::new()).when(
                "StringEquals",
                "ecs:CreateAction",
                &["RunTask"],
            );
            t.push(g);
        }
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
pub(super) fn batch(t: &mut Task<'_>) -> Result<(), IamError> {
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
