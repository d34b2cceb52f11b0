//! Targeted semantics of the simulator that the recorded reference set does not pin down on its own:
//! variable evaluation order, JSONPath filters, retries on the virtual clock, mocks and limits.

use serde_json::{Value, json};
use sfn_simulate::{Mocks, Options, SimulateError, Status, simulate};

fn run(def: Value, input: Value) -> sfn_simulate::Execution {
    simulate(&def, &input, &Mocks::new(), &Options::default()).expect("runs")
}

#[test]
fn assigned_variables_take_effect_after_the_state() {
    // Recorded on AWS: OutputPath of the assigning state still reads the old value (42).
    let def = json!({"StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Result": {"theQuestion": "?"},
                   "Assign": {"question.$": "$.theQuestion", "answer": 42}, "Next": "State1"},
        "State1": {"Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                   "OutputPath": "$answer", "Assign": {"answer": "<omitted>"}, "End": true}}});
    let exec = run(def, json!({}));
    assert_eq!(exec.output, Some(json!(42)));
    let exited = exec
        .history
        .iter()
        .rfind(|e| e["type"] == "PassStateExited")
        .unwrap();
    assert_eq!(
        exited["stateExitedEventDetails"]["assignedVariables"],
        json!({"answer": "\"<omitted>\""})
    );
}

#[test]
fn jsonata_output_and_assign_see_the_same_values() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"x": "{% $x + 1 %}", "y": "{% $x %}"},
              "Output": {"x": "{% $x %}"}, "Next": "C"},
        "C": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}"}, "End": true}}});
    assert_eq!(run(def, json!({})).output, Some(json!({"x": 2, "y": 1})));
}

#[test]
fn map_iterations_read_outer_variables_but_assign_locally() {
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"bias": 10}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.xs",
              "ItemProcessor": {"StartAt": "Add", "States": {
                  "Add": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $bias)"},
                          "Assign": {"bias": 0}, "End": true}}},
              "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"results.$": "$", "bias.$": "$bias"}, "End": true}}});
    assert_eq!(
        run(def, json!({"xs": [1, 2]})).output,
        Some(json!({"results": [{"v": 11}, {"v": 12}], "bias": 10}))
    );
}

#[test]
fn catch_assigns_from_the_error_output() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F", "ResultPath": "$.err",
                         "Assign": {"lastError.$": "$.Error"}}], "End": true},
        "F": {"Type": "Pass", "Parameters": {"e.$": "$lastError", "in.$": "$"}, "End": true}}});
    let mocks = Mocks::from_yaml("T: {error: Boom, cause: bad}").unwrap();
    let exec = simulate(&def, &json!({"k": 1}), &mocks, &Options::default()).unwrap();
    assert_eq!(
        exec.output,
        Some(json!({"e": "Boom", "in": {"k": 1, "err": {"Error": "Boom", "Cause": "bad"}}}))
    );
}

#[test]
fn retry_backoff_is_capped_and_jitter_is_seeded() {
    let def = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 3, "BackoffRate": 10,
                   "MaxDelaySeconds": 20, "MaxAttempts": 3}], "End": true}}});
    let mocks =
        Mocks::from_yaml("T: [{error: E1}, {error: E2}, {error: E3}, {return: ok}]").unwrap();
    let exec = simulate(&def, &json!({}), &mocks, &Options::default()).unwrap();
    assert_eq!(exec.status, Status::Succeeded);
    // 3 s, then 30 s capped to 20 s, then 300 s capped to 20 s.
    assert_eq!(exec.elapsed_ms, 43_000);

    let jittered = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 1,
                   "JitterStrategy": "FULL"}], "End": true}}});
    let a = simulate(
        &jittered,
        &json!({}),
        &mocks,
        &Options {
            seed: 7,
            ..Options::default()
        },
    )
    .unwrap();
    let b = simulate(
        &jittered,
        &json!({}),
        &mocks,
        &Options {
            seed: 7,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(a.elapsed_ms, b.elapsed_ms);
    assert!(a.elapsed_ms <= 10_000);
}

#[test]
fn task_failed_does_not_match_timeouts_and_states_all_does_not_catch_runtime_errors() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let mocks = Mocks::from_yaml("T: {return: late, delaySeconds: 60}").unwrap();
    let exec = simulate(&def, &json!({}), &mocks, &Options::default()).unwrap();
    assert_eq!(exec.error.as_deref(), Some("States.Timeout"));

    let runtime = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": "$.a.b",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let mocks = Mocks::from_yaml("T: {return: 1}").unwrap();
    let exec = simulate(
        &runtime,
        &json!({"a": "not an object"}),
        &mocks,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(exec.status, Status::Failed);
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn jsonpath_filters_and_dot_brackets() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"old.$": "$.users[?(@.year <= 1998)].name",
                       "json.$": "States.JsonToString($.users[?(@.name =~ /^a/i)])"},
        "OutputPath": "$.[?(@ != 'x')]", "End": true}}});
    let exec = run(
        def,
        json!({"users": [{"year": 1997, "name": "Ann"}, {"year": 2001, "name": "bo"}]}),
    );
    // The OutputPath filter runs over the object's values, in order.
    assert_eq!(
        exec.output,
        Some(json!([["Ann"], "[{\"year\":1997,\"name\":\"Ann\"}]"]))
    );
}

#[test]
fn missing_mock_and_transition_limit_are_simulation_errors() {
    let def = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "x", "End": true}}});
    let err = simulate(&def, &json!({}), &Mocks::new(), &Options::default()).unwrap_err();
    assert_eq!(
        err,
        SimulateError::MissingMock {
            state: "Call".into()
        }
    );
    assert!(err.to_string().contains("'Call'"));

    let looping =
        json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "Next": "A"}}});
    let opts = Options {
        max_transitions: 50,
        ..Options::default()
    };
    let err = simulate(&looping, &json!({}), &Mocks::new(), &opts).unwrap_err();
    assert_eq!(
        err,
        SimulateError::TransitionLimit {
            limit: 50,
            state: "A".into()
        }
    );
}

#[test]
fn undefined_jsonata_results_name_the_field_path() {
    // Causes as recorded on AWS for an undefined variable in Output, in an Output field and in Assign.
    for (state, field) in [
        (
            json!({"Type": "Pass", "Output": "{% $doesNotExist %}", "End": true}),
            "Output",
        ),
        (
            json!({"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}),
            "Output/result",
        ),
        (
            json!({"Type": "Pass", "Assign": {"result": "{% $doesNotExist %}"}, "End": true}),
            "Assign/result",
        ),
    ] {
        let def =
            json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {"State0": state}});
        let exec = run(def, json!({}));
        assert_eq!(exec.error.as_deref(), Some("States.QueryEvaluationError"));
        assert_eq!(
            exec.cause.as_deref(),
            Some(format!(
                "An error occurred while executing the state 'State0' (entered at the event id #2). \
                 The JSONata expression '$doesNotExist' specified for the field '{field}' returned nothing (undefined)."
            ).as_str())
        );
        let types: Vec<_> = exec
            .history
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "PassStateEntered",
                "EvaluationFailed",
                "ExecutionFailed"
            ]
        );
        assert_eq!(
            exec.history[2]["evaluationFailedEventDetails"]["location"],
            field
        );
    }
}
