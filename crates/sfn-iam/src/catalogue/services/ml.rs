//! Machine learning: SageMaker jobs and models, and Bedrock model invocation and model customization jobs.

use crate::IamError;
use crate::catalogue::task::Task;

use super::common::{resolve, unknown};
use crate::catalogue::names::pascal;

// --- SageMaker ----------------------------------------------------------------------------------------------
// "IAM policies for Amazon SageMaker AI" (sagemaker-iam.html). Create* on the named resource (the guide uses
// `NAME*`; the exact name is enough), sagemaker:AddTags when the call tags, and iam:PassRole with
// iam:PassedToService = sagemaker.amazonaws.com. `.sync` adds Describe*/Stop*, sagemaker:ListTags on "*" (as
// the guide lists it) and the managed rule of the job type. SageMaker lower-cases names in ARNs, so a mixed-case
// name is granted in both spellings.
pub(super) fn sagemaker(t: &mut Task<'_>) -> Result<(), IamError> {
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

// --- Bedrock ------------------------------------------------------------------------------------------------
// "IAM policies for Amazon Bedrock" (bedrock-iam.html): bedrock:InvokeModel on the model (a foundation-model id
// becomes `arn:aws:bedrock:REGION::foundation-model/ID`); createModelCustomizationJob on the base model, the
// job and the custom model, with iam:PassRole to bedrock.amazonaws.com; `.sync` adds Get/Stop on the job.
pub(super) fn bedrock(t: &mut Task<'_>) -> Result<(), IamError> {
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
