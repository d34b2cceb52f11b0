//! Messaging and events: SNS `publish`, SQS `sendMessage` and EventBridge `putEvents`.

use crate::IamError;
use crate::arn::{Arn, sqs_queue_arn};
use crate::catalogue::task::Task;
use crate::params::{Param, elements, lookup as lookup_param};

use super::common::resolve;

// --- SNS ----------------------------------------------------------------------------------------------------
// "IAM policies for Amazon SNS" (sns-iam.html): sns:Publish on the topic. Publishing to a phone number has no
// resource ARN, so that form is granted on "*" with a warning.
pub(super) fn sns(t: &mut Task<'_>) -> Result<(), IamError> {
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
pub(super) fn sqs(t: &mut Task<'_>) -> Result<(), IamError> {
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

// --- EventBridge --------------------------------------------------------------------------------------------
// "IAM policies for Amazon EventBridge" (eventbridge-iam.html): events:PutEvents on every bus an entry names;
// an entry without EventBusName goes to the account's `default` bus.
pub(super) fn events(t: &mut Task<'_>) -> Result<(), IamError> {
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
