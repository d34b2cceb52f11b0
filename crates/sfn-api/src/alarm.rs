//! CloudWatch alarms declared on a StateMachine (`spec.alarms`). Only the declaration lives here; the
//! resolved `PutMetricAlarm` inputs are derived in `sfn_alarms`.
//!
//! Metric names and dimensions: <https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html>

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Statistic applied to the metric over each period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Statistic {
    #[default]
    Sum,
    Average,
    Minimum,
    Maximum,
    SampleCount,
}

impl Statistic {
    /// The CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::Sum => "Sum",
            Statistic::Average => "Average",
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
            Statistic::SampleCount => "SampleCount",
        }
    }
}

/// How the statistic is compared with the threshold (CloudWatch names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ComparisonOperator {
    #[default]
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl ComparisonOperator {
    /// The CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            ComparisonOperator::GreaterThanThreshold => "GreaterThanThreshold",
            ComparisonOperator::LessThanThreshold => "LessThanThreshold",
            ComparisonOperator::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }
}

/// How periods without data are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    Missing,
    #[default]
    NotBreaching,
    Breaching,
    Ignore,
}

impl TreatMissingData {
    /// The CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::NotBreaching => "notBreaching",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::Ignore => "ignore",
        }
    }
}

/// One CloudWatch alarm on a Step Functions metric of this state machine, of one of its Task states, or of
/// the account (`ThrottledEvents`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alarm {
    /// Suffix of the alarm name, unique within the state machine. Default: derived from metric and state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub name: Option<String>,
    /// Step Functions metric, e.g. `ExecutionsFailed`, `ExecutionTime`, `ExecutionThrottled`; with `state`,
    /// a per-task metric such as `LambdaFunctionsFailed`, `ActivitiesTimedOut` or `ServiceIntegrationsFailed`;
    /// `ThrottledEvents` for the account-level throttling metric.
    #[schemars(length(min = 1, max = 64))]
    pub metric: String,
    /// Task state whose Lambda function, activity or service integration resource the metric is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 80))]
    pub state: Option<String>,
    /// Value the statistic is compared with.
    pub threshold: f64,
    /// Number of periods over which the data is compared with the threshold (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub evaluation_periods: Option<u32>,
    /// Number of breaching periods within `evaluationPeriods` that trigger the alarm (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub datapoints_to_alarm: Option<u32>,
    /// Length of a period in seconds (default 300): 10, 30, or a multiple of 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub period: Option<u32>,
    /// Statistic over each period (default Sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<Statistic>,
    /// Comparison with the threshold (default GreaterThanOrEqualToThreshold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_operator: Option<ComparisonOperator>,
    /// Treatment of missing data (default notBreaching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
    /// ARNs notified when the alarm fires (SNS topics, automation actions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub alarm_actions: Vec<String>,
    /// ARNs notified when the alarm returns to OK.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub ok_actions: Vec<String>,
    /// ARNs notified when the alarm has insufficient data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub insufficient_data_actions: Vec<String>,
    /// Alarm description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
}
