//! Optimized integrations (`arn:aws:states:::<service>:<action>`): the statements each needs, per pattern.
//!
//! Every function cites the developer guide page it follows (relative to
//! https://docs.aws.amazon.com/step-functions/latest/dg/). Differences from those templates are deliberate and
//! explained where they occur: we name the exact resource where the template uses `"*"` only because the name
//! is unknown to a generic generator.
//!
//! This module only dispatches a task to its service family's file; the helpers those files share are in
//! `common`, so that the arrows go from here to the families and from the families to `common`.

use super::task::Task;
use crate::IamError;

mod analytics;
mod codebuild;
mod common;
mod compute;
mod containers;
mod http;
mod mediaconvert;
mod messaging;
mod ml;
mod step_functions;
mod storage;

use analytics::{athena, databrew, emr, glue};
use codebuild::codebuild;
use common::unknown;
use compute::{batch, ecs, lambda};
use containers::{eks_kubernetes, emr_containers, emr_serverless};
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
        ("emr-serverless", "startJobRun") => emr_serverless(t),
        ("emr-containers", "startJobRun") => emr_containers(t),
        ("eks", "runJob" | "call") => eks_kubernetes(t),
        _ => Err(unknown(t)),
    }
}
