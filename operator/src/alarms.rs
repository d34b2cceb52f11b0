//! Desired CloudWatch alarms of a StateMachine. Pure.
//!
//! `AlarmSpec` is the contract between the derivation here and the AWS layer: one value is one
//! `PutMetricAlarm` call, with every field resolved, so that the planner can compare it with what is live.

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
