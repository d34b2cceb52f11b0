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

/// Timestamps that the RFC 3339 profile of state-wait.html refuses: "an uppercase T must separate the date
/// and time portions, and an uppercase Z must denote that a numeric time zone offset is not present".
const BAD_TIMESTAMPS: &[&str] = &[
    "2024-01-02t00:00:00Z",
    "2024-01-02T00:00:00z",
    "2024-01-02 00:00:00Z",
    "2024-01-02T00:00Z",
    "2024-01-02T00:00:00",
    "2024-01-02T00:00:00+0100",
    "2024-02-30T00:00:00Z",
    "2024-01-02T24:00:00Z",
    "2024-01-02T00:60:00Z",
    "2024-01-02",
    "tomorrow",
];

/// Valid timestamps and how long each waits from the default start, 2024-01-01T00:00:00Z.
const GOOD_TIMESTAMPS: &[(&str, i64)] = &[
    ("2024-01-02T00:00:00Z", 86_400_000),
    ("2024-01-02T01:00:00+01:00", 86_400_000),
    ("2024-01-01T00:00:01.5Z", 1_500),
    ("2024-01-01T00:00:01.1234567890123Z", 1_123),
];

#[test]
fn jsonata_wait_timestamp_must_be_rfc3339() {
    // state-wait.html: in JSONata states the expression must result "in a string that conforms to the
    // previous requirements". The guide names no error for one that does not: States.Runtime, as the
    // simulator raises for every unusable Wait value.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Timestamp": "{% $states.input.when %}", "End": true}}});
    for bad in BAD_TIMESTAMPS {
        let exec = run(&def, json!({"when": bad}));
        assert_fails(
            &exec,
            "States.Runtime",
            "not a valid ISO-8601 timestamp",
            bad,
        );
    }
    for (good, waited) in GOOD_TIMESTAMPS {
        let exec = run(&def, json!({"when": good}));
        assert_eq!(exec.status, Status::Succeeded, "{good}: {exec:?}");
        assert_eq!(exec.elapsed_ms, *waited, "{good}");
    }
}

#[test]
fn timestamp_path_must_be_rfc3339() {
    // state-wait.html: TimestampPath selects "an absolute date and time (timestamp)", with the same profile.
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "TimestampPath": "$.when", "End": true}}});
    for bad in BAD_TIMESTAMPS {
        let exec = run(&def, json!({"when": bad}));
        assert_fails(
            &exec,
            "States.Runtime",
            "The TimestampPath parameter does not reference a valid ISO-8601 timestamp: $.when",
            bad,
        );
    }
    for (good, waited) in GOOD_TIMESTAMPS {
        let exec = run(&def, json!({"when": good}));
        assert_eq!(exec.status, Status::Succeeded, "{good}: {exec:?}");
        assert_eq!(exec.elapsed_ms, *waited, "{good}");
    }
}

#[test]
fn seconds_path_must_reference_a_non_negative_integer() {
    // state-wait.html, SecondsPath: "You must specify an integer value for this field." No error is named;
    // States.Runtime, as for a missing or non-numeric value.
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
    for bad in [json!(1.5), json!(-1), json!(-0.5), json!("2"), json!(null)] {
        let exec = run(&def, json!({"s": bad}));
        assert_fails(
            &exec,
            "States.Runtime",
            "The SecondsPath parameter does not reference a valid non-negative integer: $.s",
            &bad.to_string(),
        );
    }
    for (good, waited) in [(json!(2), 2_000), (json!(0), 0), (json!(3.0), 3_000)] {
        let exec = run(&def, json!({"s": good}));
        assert_eq!(exec.status, Status::Succeeded, "{good}: {exec:?}");
        assert_eq!(exec.elapsed_ms, waited, "{good}");
    }
}

#[test]
fn escapes_in_bracketed_field_names_are_decoded() {
    // amazon-states-language-paths.html: names outside the JsonPath ABNF's member-name-shorthand need bracket
    // notation; the ABNF's string literals escape the quote, the backslash and the JSON control characters.
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass",
              "Parameters": {
                  "single.$": "$['a\\'b']",
                  "double.$": "$[\"x\\\"y\"]",
                  "backslash.$": "$['back\\\\slash']",
                  "tab.$": "$['tab\\there']",
                  "unicode.$": "$['caf\\u00e9']",
                  "pair.$": "$['\\ud83d\\ude00']",
                  "nested.$": "$.o['k\\'1'].v",
                  "filtered.$": "$.xs[?(@.n == 'it\\'s')].v"},
              "ResultPath": "$['out\\'put']",
              "End": true}}});
    let input = json!({
        "a'b": 1, "x\"y": 2, "back\\slash": 3, "tab\there": 4, "café": 5, "😀": 6,
        "o": {"k'1": {"v": 7}}, "xs": [{"n": "it's", "v": 8}, {"n": "its", "v": 9}]});
    let exec = run(&def, input);
    assert_eq!(exec.status, Status::Succeeded, "{exec:?}");
    let out = exec.output.unwrap_or_default();
    assert_eq!(
        out["out'put"],
        json!({"single": 1, "double": 2, "backslash": 3, "tab": 4, "unicode": 5, "pair": 6,
               "nested": 7, "filtered": [8]})
    );
    // A lone high surrogate or a short \u escape is not a path.
    for bad in ["$['\\ud83d']", "$['\\u12']"] {
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Parameters": {"v.$": bad}, "End": true}}});
        let r = simulate(&def, &json!({}), &Mocks::new(), &Options::default());
        let failed = match &r {
            Ok(exec) => exec.status == Status::Failed,
            Err(_) => true,
        };
        assert!(failed, "{bad}: {r:?}");
    }
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

#[test]
fn max_concurrency_path_reads_variables() {
    // state-map.html: MaxConcurrencyPath is a reference path to a non-negative integer; workflow-variables.html:
    // JSONPath fields that take paths read variables as `$name`.
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"limit": 2, "cfg": {"max": 0}, "bad": "two"}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.xs", "MaxConcurrencyPath": "$PATH",
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
              "End": true}}});
    let with = |path: &str| {
        let mut def = def.clone();
        def["States"]["M"]["MaxConcurrencyPath"] = json!(path);
        run(&def, json!({"xs": [1, 2, 3]}))
    };
    for ok in ["$limit", "$cfg.max"] {
        let exec = with(ok);
        assert_eq!(exec.status, Status::Succeeded, "{ok}: {exec:?}");
        assert_eq!(exec.output, Some(json!([1, 2, 3])), "{ok}");
    }
    assert_fails(
        &with("$bad"),
        "States.Runtime",
        "The MaxConcurrencyPath field refers to value \"two\" which is not a valid integer: $bad",
        "$bad",
    );
    assert_fails(
        &with("$missing"),
        "States.Runtime",
        "The MaxConcurrencyPath field refers to value \"null\" which is not a valid integer: $missing",
        "$missing",
    );
}
