//! The simulator fails where AWS fails, and reads what AWS reads, for the edge cases of the Step Functions
//! developer guide that the recorded reference executions do not cover: Wait timestamps and seconds, escapes
//! in JSONPath field names, `$range`, and `MaxConcurrencyPath` read from a variable. Each test names the page
//! its expectations come from.

use serde_json::{Value, json};
use sfn_simulate::{Execution, Mocks, Options, Status, simulate};

fn run(def: &Value, input: Value) -> Execution {
    simulate(def, &input, &Mocks::new(), &Options::default()).expect("runs")
}

fn assert_fails(exec: &Execution, error: &str, cause_part: &str, what: &str) {
    assert_eq!(exec.status, Status::Failed, "{what}: {exec:?}");
    assert_eq!(exec.error.as_deref(), Some(error), "{what}: {exec:?}");
    let cause = exec.cause.as_deref().unwrap_or_default();
    assert!(cause.contains(cause_part), "{what}: {cause}");
}

#[test]
fn range_edge_cases_follow_the_step_functions_docs() {
    // transforming-data.html, "$range": start, end and a positive or negative delta, the end included when
    // reached; integer parameters "round down" non-integers. intrinsic-functions.html, States.ArrayRange
    // (which $range mirrors): a non-zero delta and at most 1000 items.
    let eval = |expr: &str| {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}});
        run(&def, json!({}))
    };
    for (expr, want) in [
        ("$range(0, 10, 2)", json!([0, 2, 4, 6, 8, 10])),
        ("$range(0, 9, 4)", json!([0, 4, 8])),
        ("$range(10, 1, -3)", json!([10, 7, 4, 1])),
        ("$range(5, 1, 1)", json!([])),
        ("$range(1, 5, -1)", json!([])),
        ("$range(3, 3, 1)", json!([3])),
        ("$range(1.7, 4.2, 1)", json!([1, 2, 3, 4])),
        ("$range(-1.5, 1, 1)", json!([-2, -1, 0, 1])),
        ("$range(0, 5, 2.9)", json!([0, 2, 4])),
        ("$range(4, 0, -1.5)", json!([4, 2, 0])),
        ("$count($range(1, 1000, 1))", json!(1000)),
    ] {
        let exec = eval(expr);
        assert_eq!(exec.status, Status::Succeeded, "{expr}: {exec:?}");
        assert_eq!(exec.output, Some(want), "{expr}");
    }
    for (expr, cause) in [
        ("$range(0, 10, 0)", "non-zero step"),
        ("$range(0, 10, 0.5)", "non-zero step"),
        ("$range(1, 1001, 1)", "more than 1000 items"),
        ("$range(0, 1e12, 1)", "more than 1000 items"),
        ("$range('a', 3, 1)", "must be a number"),
    ] {
        assert_fails(&eval(expr), "States.QueryEvaluationError", cause, expr);
    }
}
