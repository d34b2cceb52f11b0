//! Optimized integrations (`arn:aws:states:::<service>:<action>`): the statements each needs, per pattern.
//!
//! Every function cites the developer guide page it follows (relative to
//! https://docs.aws.amazon.com/step-functions/latest/dg/). Differences from those templates are deliberate and
//! explained where they occur: we name the exact resource where the template uses `"*"` only because the name
//! is unknown to a generic generator.

//!
//! This module dispatches a task to its service family's file and holds the helpers they share: naming an
//! unknown integration's action, and resolving a parameter to exact ARNs or a widened pattern.

use crate::IamError;
use crate::catalogue::Task;
use crate::params::Param;

mod analytics;
mod codebuild;
mod compute;
mod http;
mod mediaconvert;
mod messaging;
mod ml;
mod step_functions;
mod storage;

use analytics::{athena, databrew, emr, glue};
use codebuild::codebuild;
use compute::{batch, ecs, lambda};
use http::{apigateway, http};
use mediaconvert::mediaconvert;
use messaging::{events, sns, sqs};
use ml::{bedrock, sagemaker};
use step_functions::step_functions;
use storage::dynamodb;
pub(crate) use storage::s3_item_io;

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
