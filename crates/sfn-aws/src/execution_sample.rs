//! The controller's sample of a state machine's newest executions for `status.executions`: at most three
//! reads through [`AwsClients::call`] (so under the rate limiter and counted), summarised by the pure
//! [`sfn_plan::executions`]:
//!
//! 1. `ListExecutions` without a filter, one page of [`PAGE_SIZE`], newest first;
//! 2. only when that page is full and holds no failure: `ListExecutions` with `statusFilter=FAILED` and
//!    `maxResults=1`, for the newest FAILED execution beyond it;
//! 3. only when the last failure is not the one the previous summary described: `DescribeExecution`, for its
//!    error and cause.
//!
//! An idle machine whose previous summary is still true costs the first read alone. Express machines are not
//! sampled: Step Functions does not list their executions. A failed read is returned as an error; the
//! controller keeps the previous summary and never fails the reconcile for it.

use aws_sdk_sfn::types::ExecutionStatus;
use sfn_api::ExecutionsStatus;
use sfn_plan::executions::{self, Listed, PAGE_SIZE, Page};

use crate::{AwsClients, AwsError};

fn timestamp(d: &aws_smithy_types::DateTime) -> jiff::Timestamp {
    jiff::Timestamp::new(d.secs(), d.subsec_nanos() as i32).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn listed(e: &aws_sdk_sfn::types::ExecutionListItem) -> Listed {
    Listed {
        arn: e.execution_arn().to_owned(),
        name: e.name().to_owned(),
        status: e.status().as_str().to_owned(),
        start: timestamp(e.start_date()),
        stop: e.stop_date().map(timestamp),
    }
}

/// One `ListExecutions` page of `machine_arn`, optionally of one status.
async fn list_page(
    clients: &AwsClients,
    machine_arn: &str,
    status: Option<ExecutionStatus>,
    max: i32,
) -> Result<Page, AwsError> {
    let out = clients
        .call(
            "sfn:ListExecutions",
            clients
                .sfn
                .list_executions()
                .state_machine_arn(machine_arn)
                .set_status_filter(status)
                .max_results(max)
                .send(),
        )
        .await?;
    Ok(Page {
        executions: out.executions().iter().map(listed).collect(),
        more: out.next_token().is_some_and(|t| !t.is_empty()),
    })
}

/// Samples the executions of the Standard state machine `machine_arn` at `now`. `previous` is the summary the
/// status holds for this same machine (its description of the last failure is reused).
pub async fn sample_executions(
    clients: &AwsClients,
    machine_arn: &str,
    previous: Option<&ExecutionsStatus>,
    now: jiff::Timestamp,
) -> Result<ExecutionsStatus, AwsError> {
    let page = list_page(clients, machine_arn, None, PAGE_SIZE).await?;
    let older_failure = if page.needs_older_failure() {
        list_page(clients, machine_arn, Some(ExecutionStatus::Failed), 1)
            .await?
            .executions
            .into_iter()
            .next()
    } else {
        None
    };
    let summary = executions::summarize(&page, older_failure.as_ref(), previous, now);
    let Some(arn) = summary.describe.clone() else {
        return Ok(summary.status);
    };
    let out = clients
        .call(
            "sfn:DescribeExecution",
            clients.sfn.describe_execution().execution_arn(&arn).send(),
        )
        .await?;
    Ok(summary.with_detail(out.error(), out.cause()))
}
