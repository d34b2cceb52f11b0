//! Desired CloudWatch alarms of a StateMachine. Pure.
//!
//! `AlarmSpec` is the contract between the derivation here and the AWS layer: one value is one
//! `PutMetricAlarm` call, with every field resolved, so that the planner can compare it with what is live.
//! [`desired_alarms`] turns the user's `spec.alarms` entries ([`AlarmInput`]) into those values: it picks the
//! metric's dimensions (state machine, per task, or account level), fills in defaults, validates what CloudWatch
//! would reject, and gives every alarm a deterministic name owned by the StateMachine object.
//!
//! Metric names and dimensions: "Monitoring Step Functions metrics using Amazon CloudWatch"
//! (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html). Limits: CloudWatch
//! `PutMetricAlarm` API reference.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One CloudWatch metric alarm, fully resolved (a `PutMetricAlarm` input).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSpec {
    /// Deterministic, owned alarm name.
    pub name: String,
    pub description: Option<String>,
    /// CloudWatch namespace, `AWS/States` for every Step Functions metric.
    pub namespace: String,
    pub metric_name: String,
    /// Dimension name and value pairs, in a stable order.
    pub dimensions: Vec<(String, String)>,
    /// `Sum`, `Average`, `Minimum`, `Maximum` or `SampleCount`.
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: f64,
    /// A CloudWatch comparison operator name, such as `GreaterThanOrEqualToThreshold`.
    pub comparison_operator: String,
    /// `missing`, `notBreaching`, `breaching` or `ignore`.
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
}

/// CloudWatch namespace of every Step Functions metric.
pub const NAMESPACE: &str = "AWS/States";

/// Prefix of every alarm name the operator owns.
pub const ALARM_NAME_PREFIX: &str = "sfn-operator";

/// CloudWatch's limit on alarm names.
pub const MAX_ALARM_NAME: usize = 255;

/// `spec.alarms` entries: the API type is the input, so that users' YAML, the CRD schema and this derivation agree.
pub use sfn_api::{Alarm as AlarmInput, ComparisonOperator, Statistic, TreatMissingData};

/// What a Task state calls, for per-task metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskKind {
    /// A Lambda function (direct ARN or the optimized `lambda:invoke` integration): `LambdaFunction*` metrics.
    Lambda,
    /// An Activity: `Activit*` metrics.
    Activity,
    /// Any other service integration: `ServiceIntegration*` metrics.
    ServiceIntegration,
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskKind::Lambda => "a Lambda task",
            TaskKind::Activity => "an Activity task",
            TaskKind::ServiceIntegration => "a service integration task",
        })
    }
}

/// The metric dimension value of one Task state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTarget {
    pub kind: TaskKind,
    /// `LambdaFunctionArn`, `ActivityArn` or `ServiceIntegrationResourceArn` value.
    pub resource_arn: String,
}

/// Everything about the state machine that the alarms need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmContext {
    /// AWS name of the state machine.
    pub state_machine_name: String,
    pub state_machine_arn: String,
    /// `<namespace>/<name>` of the owning StateMachine object.
    pub owner: String,
    /// Per Task state name, what it calls (see [`task_targets`]).
    pub task_resources: BTreeMap<String, TaskTarget>,
}

/// Errors in `spec.alarms`, naming the entry and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec.alarms[{index}] ({alarm}): field {field}: {message}")]
pub struct AlarmError {
    pub index: usize,
    /// The alarm's name suffix or metric.
    pub alarm: String,
    pub field: String,
    pub message: String,
}

/// Which dimension a metric needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    StateMachine,
    Task(TaskKind),
    Account,
}

const EXECUTION_METRICS: &[&str] = &[
    "ExecutionTime",
    "ExecutionThrottled",
    "ExecutionsAborted",
    "ExecutionsFailed",
    "ExecutionsRedriven",
    "ExecutionsStarted",
    "ExecutionsSucceeded",
    "ExecutionsTimedOut",
    "RedrivenExecutionsAborted",
    "RedrivenExecutionsFailed",
    "RedrivenExecutionsSucceeded",
    "RedrivenExecutionsTimedOut",
];
const LAMBDA_METRICS: &[&str] = &[
    "LambdaFunctionRunTime",
    "LambdaFunctionScheduleTime",
    "LambdaFunctionTime",
    "LambdaFunctionsFailed",
    "LambdaFunctionsScheduled",
    "LambdaFunctionsStarted",
    "LambdaFunctionsSucceeded",
    "LambdaFunctionsTimedOut",
];
const ACTIVITY_METRICS: &[&str] = &[
    "ActivityRunTime",
    "ActivityScheduleTime",
    "ActivityTime",
    "ActivitiesFailed",
    "ActivitiesHeartbeatTimedOut",
    "ActivitiesScheduled",
    "ActivitiesStarted",
    "ActivitiesSucceeded",
    "ActivitiesTimedOut",
];
const SERVICE_METRICS: &[&str] = &[
    "ServiceIntegrationRunTime",
    "ServiceIntegrationScheduleTime",
    "ServiceIntegrationTime",
    "ServiceIntegrationsFailed",
    "ServiceIntegrationsScheduled",
    "ServiceIntegrationsStarted",
    "ServiceIntegrationsSucceeded",
    "ServiceIntegrationsTimedOut",
];
/// Account-level state transition metrics (dimension `ServiceMetric=StateTransition`).
const ACCOUNT_METRICS: &[&str] = &[
    "ConsumedCapacity",
    "ProvisionedBucketSize",
    "ProvisionedRefillRate",
    "ThrottledEvents",
];

fn family(metric: &str) -> Option<Family> {
    if EXECUTION_METRICS.contains(&metric) {
        Some(Family::StateMachine)
    } else if LAMBDA_METRICS.contains(&metric) {
        Some(Family::Task(TaskKind::Lambda))
    } else if ACTIVITY_METRICS.contains(&metric) {
        Some(Family::Task(TaskKind::Activity))
    } else if SERVICE_METRICS.contains(&metric) {
        Some(Family::Task(TaskKind::ServiceIntegration))
    } else if ACCOUNT_METRICS.contains(&metric) {
        Some(Family::Account)
    } else {
        None
    }
}

/// Every metric name an alarm may use.
pub fn known_metrics() -> Vec<&'static str> {
    [
        EXECUTION_METRICS,
        LAMBDA_METRICS,
        ACTIVITY_METRICS,
        SERVICE_METRICS,
        ACCOUNT_METRICS,
    ]
    .concat()
}

/// The per-task metric targets of a compiled definition: every Task state (nested ones included) whose target is
/// fixed in the definition. A Lambda invoked through `lambda:invoke` with a run-time `FunctionName` has no
/// fixed dimension and is left out (an alarm on it is reported as an error).
pub fn task_targets(asl: &Value) -> BTreeMap<String, TaskTarget> {
    let mut out = BTreeMap::new();
    collect_targets(asl, &mut out);
    out
}

fn collect_targets(container: &Value, out: &mut BTreeMap<String, TaskTarget>) {
    let Some(states) = container.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, s) in states {
        match s.get("Type").and_then(Value::as_str) {
            Some("Task") => {
                if let Some(t) = s
                    .get("Resource")
                    .and_then(Value::as_str)
                    .and_then(|r| target_of(r, s))
                {
                    out.insert(name.clone(), t);
                }
            }
            Some("Parallel") => {
                for b in s
                    .get("Branches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    collect_targets(b, out);
                }
            }
            Some("Map") => {
                if let Some(p) = s.get("ItemProcessor").or_else(|| s.get("Iterator")) {
                    collect_targets(p, out);
                }
            }
            _ => {}
        }
    }
}

fn target_of(resource: &str, state: &Value) -> Option<TaskTarget> {
    let mut parts = resource.splitn(6, ':');
    let (_, _, service, region, account, rest) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    match service {
        "lambda" => Some(TaskTarget {
            kind: TaskKind::Lambda,
            resource_arn: resource.to_string(),
        }),
        "states" if rest.starts_with("activity:") => Some(TaskTarget {
            kind: TaskKind::Activity,
            resource_arn: resource.to_string(),
        }),
        "states" if region.is_empty() && account.is_empty() => {
            let base = rest
                .split(".sync")
                .next()
                .and_then(|r| r.split(".waitForTaskToken").next())
                .unwrap_or(rest);
            if base == "lambda:invoke" {
                let params = state.get("Arguments").or_else(|| state.get("Parameters"))?;
                let f = params.get("FunctionName")?.as_str()?;
                if !f.starts_with("arn:") {
                    return None;
                }
                return Some(TaskTarget {
                    kind: TaskKind::Lambda,
                    resource_arn: f.to_string(),
                });
            }
            Some(TaskTarget {
                kind: TaskKind::ServiceIntegration,
                resource_arn: resource.to_string(),
            })
        }
        _ => None,
    }
}

/// The `PutMetricAlarm` inputs for `alarms`, in spec order.
pub fn desired_alarms(
    ctx: &AlarmContext,
    alarms: &[AlarmInput],
) -> Result<Vec<AlarmSpec>, AlarmError> {
    let mut out: Vec<AlarmSpec> = Vec::with_capacity(alarms.len());
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (index, a) in alarms.iter().enumerate() {
        let label = a.name.clone().unwrap_or_else(|| a.metric.clone());
        let err = |field: &str, message: String| AlarmError {
            index,
            alarm: label.clone(),
            field: field.to_string(),
            message,
        };
        let fam = family(&a.metric).ok_or_else(|| {
            err(
                "metric",
                format!(
                    "unknown Step Functions metric {:?} (known: {})",
                    a.metric,
                    known_metrics().join(", ")
                ),
            )
        })?;
        let dimensions = match fam {
            Family::StateMachine | Family::Account => {
                if let Some(s) = &a.state {
                    return Err(err(
                        "state",
                        format!(
                            "{} is not a per-task metric, so it takes no state (got {s:?})",
                            a.metric
                        ),
                    ));
                }
                if fam == Family::Account {
                    vec![("ServiceMetric".to_string(), "StateTransition".to_string())]
                } else {
                    vec![("StateMachineArn".to_string(), ctx.state_machine_arn.clone())]
                }
            }
            Family::Task(kind) => {
                let state = a.state.as_deref().ok_or_else(|| {
                    err(
                        "state",
                        format!("{} is a per-task metric: name the Task state", a.metric),
                    )
                })?;
                let target = ctx.task_resources.get(state).ok_or_else(|| {
                    err(
                        "state",
                        format!("no Task state {state:?} with a target fixed in the definition"),
                    )
                })?;
                if target.kind != kind {
                    return Err(err(
                        "state",
                        format!(
                            "{} needs {kind}, but state {state:?} is {}",
                            a.metric, target.kind
                        ),
                    ));
                }
                let dim = match kind {
                    TaskKind::Lambda => "LambdaFunctionArn",
                    TaskKind::Activity => "ActivityArn",
                    TaskKind::ServiceIntegration => "ServiceIntegrationResourceArn",
                };
                vec![(dim.to_string(), target.resource_arn.clone())]
            }
        };

        let period = a.period.unwrap_or(300);
        if !(period == 10 || period == 30 || (period > 0 && period % 60 == 0)) {
            return Err(err(
                "period",
                format!("{period} must be 10, 30 or a multiple of 60 seconds"),
            ));
        }
        let evaluation_periods = a.evaluation_periods.unwrap_or(1);
        if evaluation_periods < 1 {
            return Err(err(
                "evaluationPeriods",
                format!("{evaluation_periods} must be at least 1"),
            ));
        }
        let too_big = |field: &str| err(field, "is too large".into());
        let period = i32::try_from(period).map_err(|_| too_big("period"))?;
        let evaluation_periods =
            i32::try_from(evaluation_periods).map_err(|_| too_big("evaluationPeriods"))?;
        let datapoints_to_alarm = a
            .datapoints_to_alarm
            .map(i32::try_from)
            .transpose()
            .map_err(|_| too_big("datapointsToAlarm"))?;
        // PutMetricAlarm: "the product of EvaluationPeriods and Period cannot exceed 86,400 seconds" (one day).
        if i64::from(evaluation_periods) * i64::from(period) > 86_400 {
            return Err(err(
                "evaluationPeriods",
                format!(
                    "evaluationPeriods × period = {} s exceeds one day (86400 s)",
                    i64::from(evaluation_periods) * i64::from(period)
                ),
            ));
        }
        if let Some(d) = datapoints_to_alarm
            && !(1..=evaluation_periods).contains(&d)
        {
            return Err(err(
                "datapointsToAlarm",
                format!("{d} must be between 1 and evaluationPeriods ({evaluation_periods})"),
            ));
        }
        if !a.threshold.is_finite() {
            return Err(err("threshold", "must be a finite number".into()));
        }
        for (field, actions) in [
            ("alarmActions", &a.alarm_actions),
            ("okActions", &a.ok_actions),
            ("insufficientDataActions", &a.insufficient_data_actions),
        ] {
            if actions.len() > 5 {
                return Err(err(
                    field,
                    format!("at most 5 actions, got {}", actions.len()),
                ));
            }
            if let Some(bad) = actions.iter().find(|x| !x.starts_with("arn:")) {
                return Err(err(
                    field,
                    format!(
                        "{bad:?} is not an ARN (SNS topic, Auto Scaling, EC2 or Systems Manager action)"
                    ),
                ));
            }
        }
        if let Some(n) = &a.name
            && (n.is_empty() || n.chars().any(char::is_control))
        {
            return Err(err(
                "name",
                "must be non-empty and without control characters".into(),
            ));
        }

        let suffix = match (&a.name, &a.state) {
            (Some(n), _) => n.clone(),
            (None, Some(s)) => format!("{}-{s}", a.metric),
            (None, None) => a.metric.clone(),
        };
        let name = alarm_name(&ctx.owner, &suffix);
        if !names.insert(name.clone()) {
            return Err(err(
                "name",
                format!("two alarms would both be named {name:?}; give one a distinct name"),
            ));
        }
        let description = a.description.clone().unwrap_or_else(|| {
            let on = match &a.state {
                Some(s) => format!("state {s:?} of {}", ctx.state_machine_name),
                None if fam == Family::Account => "account-level state transitions".to_string(),
                None => ctx.state_machine_name.clone(),
            };
            format!(
                "{} of {on}; managed by sfn-operator for {}",
                a.metric, ctx.owner
            )
        });
        out.push(AlarmSpec {
            name,
            description: Some(description),
            namespace: NAMESPACE.to_string(),
            metric_name: a.metric.clone(),
            dimensions,
            statistic: a.statistic.unwrap_or_default().as_str().to_string(),
            period,
            evaluation_periods,
            datapoints_to_alarm,
            threshold: a.threshold,
            comparison_operator: a
                .comparison_operator
                .unwrap_or_default()
                .as_str()
                .to_string(),
            treat_missing_data: a
                .treat_missing_data
                .unwrap_or_default()
                .as_str()
                .to_string(),
            alarm_actions: a.alarm_actions.clone(),
            ok_actions: a.ok_actions.clone(),
            insufficient_data_actions: a.insufficient_data_actions.clone(),
        });
    }
    Ok(out)
}

/// `sfn-operator/<namespace>/<name>/<suffix>`, shortened to CloudWatch's 255 characters with a hash of the full
/// name so that two long names stay distinct and the same input always gives the same name.
pub fn alarm_name(owner: &str, suffix: &str) -> String {
    let full = format!("{ALARM_NAME_PREFIX}/{owner}/{suffix}");
    if full.chars().count() <= MAX_ALARM_NAME {
        return full;
    }
    let hash = hex::encode(Sha256::digest(full.as_bytes()));
    let tail = format!("-{}", &hash[..10]);
    let keep: String = full.chars().take(MAX_ALARM_NAME - tail.len()).collect();
    format!("{keep}{tail}")
}

/// Whether an alarm name belongs to the StateMachine `owner` (`<namespace>/<name>`), for garbage collection of
/// alarms removed from the spec. Shortened names keep the owner prefix unless the owner itself is very long.
pub fn is_owned_by(alarm_name: &str, owner: &str) -> bool {
    alarm_name.starts_with(&format!("{ALARM_NAME_PREFIX}/{owner}/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> AlarmContext {
        let asl = json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f", "Payload.$": "$"}, "Next": "P"},
                "P": {"Type": "Parallel", "Next": "W", "Branches": [{"StartAt": "Act", "States": {
                    "Act": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:work", "End": true}}}]},
                "W": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": "t"}, "Next": "D"},
                "D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.f"}, "End": true}
            }
        });
        AlarmContext {
            state_machine_name: "demo-poller".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:demo-poller".into(),
            owner: "demo/poller".into(),
            task_resources: task_targets(&asl),
        }
    }

    fn input(metric: &str) -> AlarmInput {
        AlarmInput {
            metric: metric.into(),
            threshold: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn targets_are_found_at_any_depth_and_dynamic_ones_are_left_out() {
        let t = ctx().task_resources;
        assert_eq!(t["A"].kind, TaskKind::Lambda);
        assert_eq!(t["A"].resource_arn, "arn:aws:lambda:us-east-1:1:function:f");
        assert_eq!(t["Act"].kind, TaskKind::Activity);
        assert_eq!(t["W"].resource_arn, "arn:aws:states:::sns:publish");
        assert!(!t.contains_key("D"));
    }

    #[test]
    fn state_machine_task_and_account_metrics_get_their_dimensions() {
        let mut lambda = input("LambdaFunctionsFailed");
        lambda.state = Some("A".into());
        let mut activity = input("ActivitiesTimedOut");
        activity.state = Some("Act".into());
        let mut throttled = input("ThrottledEvents");
        throttled.threshold = 10.0;
        throttled.evaluation_periods = Some(2);
        let got = desired_alarms(
            &ctx(),
            &[input("ExecutionsFailed"), lambda, activity, throttled],
        )
        .unwrap();
        let dims: Vec<_> = got
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    a.dimensions[0].0.as_str(),
                    a.dimensions[0].1.as_str(),
                )
            })
            .collect();
        assert_eq!(
            dims,
            vec![
                (
                    "sfn-operator/demo/poller/ExecutionsFailed",
                    "StateMachineArn",
                    "arn:aws:states:us-east-1:1:stateMachine:demo-poller"
                ),
                (
                    "sfn-operator/demo/poller/LambdaFunctionsFailed-A",
                    "LambdaFunctionArn",
                    "arn:aws:lambda:us-east-1:1:function:f"
                ),
                (
                    "sfn-operator/demo/poller/ActivitiesTimedOut-Act",
                    "ActivityArn",
                    "arn:aws:states:us-east-1:1:activity:work"
                ),
                (
                    "sfn-operator/demo/poller/ThrottledEvents",
                    "ServiceMetric",
                    "StateTransition"
                ),
            ]
        );
        let first = &got[0];
        assert_eq!(first.namespace, "AWS/States");
        assert_eq!(first.statistic, "Sum");
        assert_eq!(first.period, 300);
        assert_eq!(first.evaluation_periods, 1);
        assert_eq!(first.comparison_operator, "GreaterThanOrEqualToThreshold");
        assert_eq!(first.treat_missing_data, "notBreaching");
    }

    #[test]
    fn invalid_entries_name_the_alarm_and_the_field() {
        let cases: Vec<(AlarmInput, &str)> = vec![
            (
                input("ExecutionsExploded"),
                "spec.alarms[0] (ExecutionsExploded): field metric: unknown",
            ),
            (
                AlarmInput {
                    period: Some(45),
                    ..input("ExecutionsFailed")
                },
                "field period: 45 must be 10, 30 or a multiple of 60",
            ),
            (
                AlarmInput {
                    evaluation_periods: Some(0),
                    ..input("ExecutionsFailed")
                },
                "field evaluationPeriods: 0 must be at least 1",
            ),
            (
                AlarmInput {
                    evaluation_periods: Some(2),
                    datapoints_to_alarm: Some(3),
                    ..input("ExecutionsFailed")
                },
                "field datapointsToAlarm: 3 must be between 1 and evaluationPeriods (2)",
            ),
            (
                AlarmInput {
                    evaluation_periods: Some(300),
                    period: Some(3600),
                    ..input("ExecutionsFailed")
                },
                "exceeds one day",
            ),
            (
                input("LambdaFunctionsFailed"),
                "field state: LambdaFunctionsFailed is a per-task metric",
            ),
            (
                AlarmInput {
                    state: Some("Nope".into()),
                    ..input("LambdaFunctionsFailed")
                },
                "field state: no Task state \"Nope\"",
            ),
            (
                AlarmInput {
                    state: Some("W".into()),
                    ..input("LambdaFunctionsFailed")
                },
                "needs a Lambda task, but state \"W\" is a service integration task",
            ),
            (
                AlarmInput {
                    state: Some("D".into()),
                    ..input("LambdaFunctionsFailed")
                },
                "no Task state \"D\" with a target fixed",
            ),
            (
                AlarmInput {
                    state: Some("A".into()),
                    ..input("ExecutionsFailed")
                },
                "field state: ExecutionsFailed is not a per-task metric",
            ),
            (
                AlarmInput {
                    alarm_actions: vec!["my-topic".into()],
                    ..input("ExecutionsFailed")
                },
                "field alarmActions: \"my-topic\" is not an ARN",
            ),
            (
                AlarmInput {
                    threshold: f64::NAN,
                    ..input("ExecutionsFailed")
                },
                "field threshold",
            ),
        ];
        for (a, want) in cases {
            let e = desired_alarms(&ctx(), &[a]).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} does not contain {want:?}");
        }
    }

    #[test]
    fn duplicate_names_are_rejected_and_a_name_suffix_wins() {
        let e = desired_alarms(
            &ctx(),
            &[input("ExecutionsFailed"), input("ExecutionsFailed")],
        )
        .unwrap_err();
        assert_eq!(e.index, 1);
        assert_eq!(e.field, "name");
        let named = AlarmInput {
            name: Some("failures".into()),
            ..input("ExecutionsFailed")
        };
        let got = desired_alarms(&ctx(), &[input("ExecutionsFailed"), named]).unwrap();
        assert_eq!(got[1].name, "sfn-operator/demo/poller/failures");
    }

    #[test]
    fn long_names_are_shortened_deterministically_and_stay_distinct() {
        let long_a = format!("{}a", "x".repeat(300));
        let long_b = format!("{}b", "x".repeat(300));
        let a = alarm_name("ns/name", &long_a);
        let b = alarm_name("ns/name", &long_b);
        assert_eq!(a.chars().count(), MAX_ALARM_NAME);
        assert_ne!(a, b);
        assert_eq!(a, alarm_name("ns/name", &long_a));
        assert!(is_owned_by(&a, "ns/name"));
        assert!(!is_owned_by(&a, "ns/nam"));
    }

    #[test]
    fn inputs_read_camel_case_yaml_fields() {
        let a: AlarmInput = serde_json::from_value(json!({
            "metric": "ExecutionTime", "threshold": 60000, "statistic": "Average", "period": 60,
            "evaluationPeriods": 3, "datapointsToAlarm": 2, "comparisonOperator": "GreaterThanThreshold",
            "treatMissingData": "breaching", "alarmActions": ["arn:aws:sns:us-east-1:1:pager"]
        })).unwrap();
        let got = desired_alarms(&ctx(), &[a]).unwrap().remove(0);
        assert_eq!(got.statistic, "Average");
        assert_eq!(got.comparison_operator, "GreaterThanThreshold");
        assert_eq!(got.treat_missing_data, "breaching");
        assert_eq!(got.datapoints_to_alarm, Some(2));
        assert_eq!(got.alarm_actions, vec!["arn:aws:sns:us-east-1:1:pager"]);
    }
}
