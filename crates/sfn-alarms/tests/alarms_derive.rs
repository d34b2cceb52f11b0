//! Alarms derived for reference state machines: the seed's three metric kinds (task failed, state machine
//! failed, account throttling) as `PutMetricAlarm` inputs.

use sfn_test_support as support;

use serde_json::{Value, json};
use sfn_alarms::{self as alarms, AlarmContext, AlarmInput};

fn read(case: &str) -> Value {
    let p = support::shared_reference_dir()
        .join("cdk-iam")
        .join(format!("{case}.asl.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_seed_alarms_for_lambda_and_activity_machines() {
    let mut out = serde_json::Map::new();
    for (case, state, metric) in [
        ("lambda-invoke", "Invoke Handler", "LambdaFunctionsFailed"),
        ("sfn-activity", "Get Job Status", "ActivitiesFailed"),
        ("sns-publish", "publish to SNS", "ServiceIntegrationsFailed"),
    ] {
        let ctx = AlarmContext {
            state_machine_name: format!("demo-{case}"),
            state_machine_arn: format!(
                "arn:aws:states:us-east-1:123456789012:stateMachine:demo-{case}"
            ),
            owner: format!("demo/{case}"),
            task_resources: alarms::task_targets(&read(case)),
        };
        let inputs: Vec<AlarmInput> = serde_json::from_value(json!([
            {"metric": metric, "state": state, "threshold": 1, "evaluationPeriods": 1,
             "alarmActions": ["arn:aws:sns:us-east-1:123456789012:oncall"]},
            {"metric": "ExecutionsFailed", "threshold": 1, "evaluationPeriods": 1},
            {"name": "throttled", "metric": "ThrottledEvents", "threshold": 10, "evaluationPeriods": 2, "period": 60}
        ]))
        .unwrap();
        let specs = alarms::desired_alarms(&ctx, &inputs).unwrap();
        out.insert(case.to_string(), serde_json::to_value(specs).unwrap());
    }
    insta::assert_json_snapshot!("seed_alarms", Value::Object(out));
}
