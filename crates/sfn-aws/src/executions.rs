//! Executions of a state machine: start, list, describe, read the history of, stop and redrive them.
//!
//! These calls are made by a person operating a workflow (the `start`, `executions`, `describe`, `stop` and
//! `redrive` commands), with that person's credentials, not by the controller: they take a plain Step
//! Functions client for the region of the machine's ARN, with no rate limiter and no STS lookup, and
//! return plain values the commands print. The history comes back as JSON events shaped like
//! `GetExecutionHistory`'s wire form, the form the local simulator's trace reads.

use aws_config::BehaviorVersion;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::{Map, Value, json};

use crate::AwsError;

/// Most history events read for one execution (a page of `GetExecutionHistory` holds up to 1000); a longer
/// history is cut there and says so, so a runaway loop cannot make the command page forever.
pub const MAX_HISTORY_EVENTS: usize = 10_000;

/// The region of a Step Functions ARN (`arn:PARTITION:states:REGION:ACCOUNT:…`).
pub fn region_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("states"), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// The ARN of the execution `name` of the standard machine `machine_arn`: AWS builds it from the machine's
/// ARN with `stateMachine` replaced by `execution` and the execution name appended.
pub fn execution_arn(machine_arn: &str, name: &str) -> Option<String> {
    let (head, machine) = machine_arn.split_once(":stateMachine:")?;
    // A version or alias ARN carries `:N` or `:alias` after the name; executions hang off the name alone.
    let machine = machine.split(':').next()?;
    Some(format!("{head}:execution:{machine}:{name}"))
}

/// A Step Functions client from the standard AWS environment (credentials chain, `AWS_ENDPOINT_URL`), for
/// `region`, which comes from the machine's ARN rather than from the environment.
pub async fn client_for_region(region: &str) -> aws_sdk_sfn::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await;
    aws_sdk_sfn::Client::new(&config)
}

/// One execution as listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSummary {
    pub execution_arn: String,
    pub name: String,
    pub status: String,
    pub start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<i32>,
}

/// One execution as described, input and output parsed when they are JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetail {
    pub execution_arn: String,
    pub name: String,
    pub status: String,
    pub start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
    pub input: Value,
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_status: Option<String>,
}

impl ExecutionDetail {
    /// Whether the execution has ended (any status but RUNNING and PENDING_REDRIVE).
    pub fn is_finished(&self) -> bool {
        !matches!(self.status.as_str(), "RUNNING" | "PENDING_REDRIVE")
    }
}

/// A started execution.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub execution_arn: String,
    pub start_date: String,
}

fn date(d: &aws_smithy_types::DateTime) -> String {
    d.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| d.secs().to_string())
}

/// JSON text as a value; text that is not JSON stays a string (AWS never sends that, emulators may).
pub fn parse_data(text: Option<&str>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())),
    }
}

/// `StartExecution`. `input` is JSON text (AWS checks it); `name` is the execution name (AWS makes a UUID
/// when none is given).
pub async fn start(
    client: &aws_sdk_sfn::Client,
    machine_arn: &str,
    name: Option<&str>,
    input: &str,
) -> Result<Started, AwsError> {
    let out = client
        .start_execution()
        .state_machine_arn(machine_arn)
        .set_name(name.map(str::to_owned))
        .input(input)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("states:StartExecution", e))?;
    Ok(Started {
        execution_arn: out.execution_arn().to_owned(),
        start_date: date(out.start_date()),
    })
}

/// `ListExecutions`, newest first as AWS lists them, optionally of one status (`RUNNING`, `FAILED`, ...), at
/// most `max`.
pub async fn list(
    client: &aws_sdk_sfn::Client,
    machine_arn: &str,
    status: Option<&str>,
    max: usize,
) -> Result<Vec<ExecutionSummary>, AwsError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    while found.len() < max {
        let page = (max - found.len()).min(1000) as i32;
        let out = client
            .list_executions()
            .state_machine_arn(machine_arn)
            .set_status_filter(status.map(ExecutionStatus::from))
            .max_results(page)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states:ListExecutions", e))?;
        found.extend(out.executions().iter().map(|e| ExecutionSummary {
            execution_arn: e.execution_arn().to_owned(),
            name: e.name().to_owned(),
            status: e.status().as_str().to_owned(),
            start_date: date(e.start_date()),
            stop_date: e.stop_date().map(date),
            redrive_count: e.redrive_count(),
        }));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    found.truncate(max);
    Ok(found)
}

/// `DescribeExecution`.
pub async fn describe(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<ExecutionDetail, AwsError> {
    let out = client
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("states:DescribeExecution", e))?;
    Ok(ExecutionDetail {
        execution_arn: out.execution_arn().to_owned(),
        name: out.name().unwrap_or_default().to_owned(),
        status: out.status().as_str().to_owned(),
        start_date: date(out.start_date()),
        stop_date: out.stop_date().map(date),
        input: parse_data(out.input()),
        output: parse_data(out.output()),
        error: out.error().map(str::to_owned),
        cause: out.cause().map(str::to_owned),
        redrive_count: out.redrive_count(),
        redrive_status: out.redrive_status().map(|s| s.as_str().to_owned()),
    })
}

/// `GetExecutionHistory`, oldest first, as JSON events (at most [`MAX_HISTORY_EVENTS`]; the flag says whether
/// the history was cut).
pub async fn history(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<(Vec<Value>, bool), AwsError> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states:GetExecutionHistory", e))?;
        events.extend(out.events().iter().map(event_json));
        if events.len() >= MAX_HISTORY_EVENTS {
            events.truncate(MAX_HISTORY_EVENTS);
            return Ok((events, true));
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok((events, false)),
        }
    }
}

/// `StopExecution`; returns the stop date.
pub async fn stop(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
    error: Option<&str>,
    cause: Option<&str>,
) -> Result<String, AwsError> {
    let out = client
        .stop_execution()
        .execution_arn(execution_arn)
        .set_error(error.map(str::to_owned))
        .set_cause(cause.map(str::to_owned))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("states:StopExecution", e))?;
    Ok(date(out.stop_date()))
}

/// `RedriveExecution`; returns the redrive date.
pub async fn redrive(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<String, AwsError> {
    let out = client
        .redrive_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("states:RedriveExecution", e))?;
    Ok(date(out.redrive_date()))
}

/// The name of the state that failed: the last state entered before the execution failed, timed out or
/// was aborted. `None` for an execution that did not fail or failed before entering any state.
pub fn failing_state(events: &[Value]) -> Option<String> {
    let mut last: Option<&str> = None;
    for e in events {
        let kind = e["type"].as_str().unwrap_or_default();
        if kind.ends_with("StateEntered") {
            last = e["stateEnteredEventDetails"]["name"].as_str();
        }
        if matches!(
            kind,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        ) {
            return last.map(str::to_owned);
        }
    }
    None
}

/// One event in the wire form (`type`, `id`, `timestamp`, `…EventDetails`), for the fields a trace and a
/// description read: state names, inputs and outputs, errors and causes, map iteration indexes.
fn event_json(e: &HistoryEvent) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!(e.r#type().as_str()));
    o.insert("id".into(), json!(e.id()));
    o.insert("previousEventId".into(), json!(e.previous_event_id()));
    o.insert("timestamp".into(), json!(date(e.timestamp())));
    let mut details = |key: &str, value: Value| {
        o.insert(key.into(), value);
    };
    if let Some(d) = e.state_entered_event_details() {
        details(
            "stateEnteredEventDetails",
            json!({"name": d.name(), "input": parse_data(d.input())}),
        );
    }
    if let Some(d) = e.state_exited_event_details() {
        details(
            "stateExitedEventDetails",
            json!({"name": d.name(), "output": parse_data(d.output())}),
        );
    }
    if let Some(d) = e.map_iteration_started_event_details() {
        details(
            "mapIterationStartedEventDetails",
            json!({"name": d.name(), "index": d.index()}),
        );
    }
    if let Some(d) = e.task_failed_event_details() {
        details(
            "taskFailedEventDetails",
            json!({"resource": d.resource(), "resourceType": d.resource_type(), "error": d.error(), "cause": d.cause()}),
        );
    }
    if let Some(d) = e.task_timed_out_event_details() {
        details(
            "taskTimedOutEventDetails",
            json!({"resource": d.resource(), "resourceType": d.resource_type(), "error": d.error(), "cause": d.cause()}),
        );
    }
    if let Some(d) = e.lambda_function_failed_event_details() {
        details(
            "lambdaFunctionFailedEventDetails",
            json!({"error": d.error(), "cause": d.cause()}),
        );
    }
    if let Some(d) = e.execution_started_event_details() {
        details(
            "executionStartedEventDetails",
            json!({"input": parse_data(d.input()), "roleArn": d.role_arn()}),
        );
    }
    if let Some(d) = e.execution_succeeded_event_details() {
        details(
            "executionSucceededEventDetails",
            json!({"output": parse_data(d.output())}),
        );
    }
    if let Some(d) = e.execution_failed_event_details() {
        details(
            "executionFailedEventDetails",
            json!({"error": d.error(), "cause": d.cause()}),
        );
    }
    if let Some(d) = e.execution_aborted_event_details() {
        details(
            "executionAbortedEventDetails",
            json!({"error": d.error(), "cause": d.cause()}),
        );
    }
    if let Some(d) = e.execution_timed_out_event_details() {
        details(
            "executionTimedOutEventDetails",
            json!({"error": d.error(), "cause": d.cause()}),
        );
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let m = "arn:aws:states:eu-west-1:123456789012:stateMachine:demo-job-poller";
        assert_eq!(region_of_arn(m), Some("eu-west-1"));
        assert_eq!(region_of_arn("arn:aws:iam::1:role/x"), None);
        assert_eq!(region_of_arn("not an arn"), None);
        assert_eq!(
            execution_arn(m, "run-1").as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:execution:demo-job-poller:run-1")
        );
        assert_eq!(
            execution_arn(&format!("{m}:3"), "r").as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:execution:demo-job-poller:r")
        );
        assert_eq!(execution_arn("arn:aws:states:r:1:activity:a", "r"), None);
    }

    #[test]
    fn failing_state_is_the_last_entered_before_the_failure() {
        let events = vec![
            json!({"type": "ExecutionStarted"}),
            json!({"type": "PassStateEntered", "stateEnteredEventDetails": {"name": "Prepare"}}),
            json!({"type": "PassStateExited"}),
            json!({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Call"}}),
            json!({"type": "TaskFailed"}),
            json!({"type": "ExecutionFailed"}),
        ];
        assert_eq!(failing_state(&events).as_deref(), Some("Call"));
        assert_eq!(failing_state(&events[..4]), None);
    }
}
