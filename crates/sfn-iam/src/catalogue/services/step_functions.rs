//! Step Functions itself: `startExecution` of a child state machine (or of one of its versions or aliases),
//! in each pattern.

use crate::IamError;
use crate::arn::Arn;
use crate::catalogue::task::Task;
use crate::policy::Grant;

use super::common::resolve;

// --- Step Functions -----------------------------------------------------------------------------------------
// "IAM policies for AWS Step Functions" (stepfunctions-iam.html): states:StartExecution on the child state
// machine; `.sync`/`.sync:2` also DescribeExecution/StopExecution on its executions (`execution:NAME:*`) and the
// managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule. `.waitForTaskToken` needs only the start.
//
// A version or alias ARN (`stateMachine:NAME:QUALIFIER`): "Authorization for versions and aliases"
// (auth-version-alias.html) says Step Functions authorizes calls on a version or alias against the state
// machine's unqualified ARN, and that the `states:StateMachineQualifier` context key narrows a statement to
// particular versions or aliases. The Service Authorization Reference agrees: StartExecution applies to the
// `statemachine` resource type only (not `statemachinealias` / `statemachineversion`) and lists
// `states:StateMachineQualifier` among its condition keys, typed ArrayOfString, hence the `ForAnyValue:` set
// operator the guide's own example uses. So the start is granted on the unqualified ARN, for that qualifier
// only (the CDK grants the unqualified ARN without a condition, so every version and alias). Executions are
// named under the machine whichever ARN started them (`execution:NAME:ID`), so `.sync` needs no qualifier.
pub(super) fn step_functions(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("states", "stateMachine:*");
    let p = t.params.str("StateMachineArn");
    let dynamic = p.is_dynamic();
    let machines = resolve(t, "StateMachineArn", p, true, &w, |_, s| {
        qualified(s)?;
        Ok(vec![s.to_string()])
    })?
    .unwrap_or_default();
    for m in &machines {
        match qualified(m) {
            Ok(Some((machine, qualifier))) => {
                let g = Grant::new(["states:StartExecution"], [machine], String::new()).when(
                    "ForAnyValue:StringEquals",
                    QUALIFIER_KEY,
                    &[qualifier],
                );
                t.push(g);
            }
            _ => t.grant(["states:StartExecution"], [m.clone()]),
        }
    }
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

/// The condition key naming the version or alias a qualified state machine ARN carries.
const QUALIFIER_KEY: &str = "states:StateMachineQualifier";

/// Splits a state machine ARN into the unqualified ARN and its qualifier (a version number or an alias
/// name), `None` for an unqualified one. An ARN with more parts than `stateMachine:NAME:QUALIFIER`, or an
/// empty part, is not one StartExecution takes.
fn qualified(arn: &str) -> Result<Option<(String, &str)>, String> {
    const NOT: &str = "not a state machine ARN";
    let a = Arn::parse(arn).ok_or(NOT)?;
    let rest = a
        .resource
        .strip_prefix("stateMachine:")
        .filter(|_| a.service == "states")
        .ok_or(NOT)?;
    let mut parts = rest.split(':');
    let name = parts.next().unwrap_or_default();
    let qualifier = parts.next();
    if name.is_empty() || parts.next().is_some() || qualifier.is_some_and(str::is_empty) {
        return Err(format!(
            "{NOT} (arn:...:stateMachine:NAME, or :NAME:VERSION / :NAME:ALIAS for a version or alias)"
        ));
    }
    Ok(qualifier.map(|q| {
        let machine = arn
            .strip_suffix(q)
            .and_then(|s| s.strip_suffix(':'))
            .unwrap_or(arn);
        (machine.to_string(), q)
    }))
}
