//! CodeBuild builds and batch builds.

use crate::IamError;
use crate::catalogue::task::Task;

use super::common::{resolve, unknown};
use crate::catalogue::names::pascal;

// --- CodeBuild ----------------------------------------------------------------------------------------------
// "IAM policies for AWS CodeBuild" (codebuild-iam.html): the build action on the project; `.sync` adds
// StopBuild/BatchGetBuilds/BatchGetReports (builds) or StopBuildBatch/BatchGetBuildBatches (batches) and the
// managed rule StepFunctionsGetEventForCodeBuildStartBuildRule / ...StartBuildBatchRule.
pub(super) fn codebuild(t: &mut Task<'_>) -> Result<(), IamError> {
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
            return Err(unknown(t));
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
