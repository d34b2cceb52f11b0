//! Step Functions itself: `startExecution` of a child state machine, in each pattern.

use crate::IamError;
use crate::arn::Arn;
use crate::catalogue::task::Task;

use super::common::resolve;

// --- Step Functions -----------------------------------------------------------------------------------------
// "IAM policies for AWS Step Functions" (stepfunctions-iam.html): states:StartExecution on the child state
// machine; `.sync`/`.sync:2` also DescribeExecution/StopExecution on its executions (`execution:NAME:*`) and the
// managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule. `.waitForTaskToken` needs only the start.
pub(super) fn step_functions(t: &mut Task<'_>) -> Result<(), IamError> {
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
