//! Machine learning: SageMaker jobs and models, and Bedrock model invocation and model customization jobs.

use crate::IamError;
use crate::catalogue::task::Task;
use crate::policy::Grant;

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
            return Err(unknown(t));
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
//
// A cross-region (system-defined) inference profile id is the model id behind a geography prefix
// (`us.anthropic.claude-3-5-sonnet-20240620-v1:0`, `eu.`, `apac.`, `global.`, ...). Invoking it needs
// bedrock:InvokeModel on the profile, `inference-profile/ID` in the role's region and account, and on the
// underlying foundation model in every region the profile routes to ("Prerequisites for inference profiles",
// Bedrock user guide). Those regions are AWS's to change, so the model is granted in any region (`*`; global
// profiles also route to the region-less `arn:aws:bedrock:::foundation-model/MODEL`), and only when called
// through this profile (condition bedrock:InferenceProfileArn), which keeps direct calls in other regions out.
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
            let model = t.params.str("ModelId");
            match model.as_str().and_then(|s| inference_profile(t, s)) {
                Some((profile, model)) => invoke_through_profile(t, &profile, &model),
                // A model chosen at run time may be an inference profile (newer models are only invokable
                // through one): the account's profiles too, and their models in any region through them only.
                None if model.is_dynamic() => {
                    let profiles = t.arn("bedrock", "inference-profile/*");
                    t.widen(format!(
                        "ModelId is chosen at run time: bedrock:InvokeModel granted on {w} and {profiles}, and on the profiles' models in any region when called through them"
                    ));
                    t.grant(["bedrock:InvokeModel"], [w.clone(), profiles.clone()]);
                    let p = t.scope.partition;
                    let g = Grant::new(
                        ["bedrock:InvokeModel"],
                        [format!("arn:{p}:bedrock:*::foundation-model/*")],
                        String::new(),
                    )
                    .when(
                        "StringLike",
                        "bedrock:InferenceProfileArn",
                        &[&profiles],
                    );
                    t.push(g);
                }
                None => {
                    let p = t.params.str("ModelId");
                    let r = resolve(t, "ModelId", p, true, &w, |t, s| Ok(vec![fm(t, s)]))?
                        .unwrap_or_default();
                    t.grant(["bedrock:InvokeModel"], r);
                }
            }
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
        _ => return Err(unknown(t)),
    }
    Ok(())
}

/// Geography prefixes of Bedrock's system-defined inference profiles.
const PROFILE_GEOGRAPHIES: &[&str] = &["us-gov", "us", "eu", "apac", "global", "jp", "au", "ca"];

/// `(profile ARN, underlying model id)` when `model_id` names a system-defined inference profile, by id or ARN.
fn inference_profile(t: &Task<'_>, model_id: &str) -> Option<(String, String)> {
    let (arn, id) = match model_id.split_once(":inference-profile/") {
        Some((_, id)) if model_id.starts_with("arn:") => (model_id.to_string(), id),
        Some(_) => return None,
        None if model_id.starts_with("arn:") => return None,
        None => (
            t.arn("bedrock", &format!("inference-profile/{model_id}")),
            model_id,
        ),
    };
    let (geo, model) = id.split_once('.')?;
    // A bare model id has a provider before its first dot (`amazon.titan-...`); a profile has a geography and
    // then a provider and model (`us.amazon.nova-...`), so it has at least two dots.
    (PROFILE_GEOGRAPHIES.contains(&geo) && model.contains('.')).then(|| (arn, model.to_string()))
}

fn invoke_through_profile(t: &mut Task<'_>, profile: &str, model: &str) {
    let p = t.scope.partition;
    t.grant(["bedrock:InvokeModel"], [profile.to_string()]);
    let mut models = vec![format!("arn:{p}:bedrock:*::foundation-model/{model}")];
    if profile.contains(":inference-profile/global.") {
        models.push(format!("arn:{p}:bedrock:::foundation-model/{model}"));
    }
    let g = Grant::new(["bedrock:InvokeModel"], models, String::new()).when(
        "StringEquals",
        "bedrock:InferenceProfileArn",
        &[profile],
    );
    t.push(g);
}
