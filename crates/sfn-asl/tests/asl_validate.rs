//! One test per validator rule, each with a definition AWS accepts and one it rejects. The bad case asserts
//! the JSON pointer and the message, so a rule that stops firing (or fires in the wrong place) fails here.

use serde_json::{Value, json};
use sfn_asl::{Code, Diagnostic, Severity, check_json, validate_json};

fn errors(doc: &Value) -> Vec<Diagnostic> {
    validate_json(doc).err().unwrap_or_default()
}

#[track_caller]
fn good(doc: Value) {
    let errs = errors(&doc);
    assert!(
        errs.is_empty(),
        "expected valid, got:\n{}",
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[track_caller]
fn bad(doc: Value, pointer: &str, needle: &str) {
    let errs = errors(&doc);
    assert!(
        errs.iter()
            .any(|e| e.pointer == pointer && e.message.contains(needle)),
        "expected an error at {pointer} containing {needle:?}, got:\n{}",
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// AWS accepts the definition, and it carries a warning with `code` at `pointer`.
#[track_caller]
fn warned(doc: Value, pointer: &str, code: Code) {
    good(doc.clone());
    let (_, diags) = check_json(&doc);
    assert!(
        diags
            .iter()
            .any(|d| d.severity == Severity::Warning && d.code == code && d.pointer == pointer),
        "expected a {code} warning at {pointer}, got:\n{}",
        diags
            .iter()
            .map(Diagnostic::labelled)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A one-state machine around `state` named "S".
fn one(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

#[test]
fn start_at_must_resolve() {
    good(one(json!({"Type": "Succeed"})));
    bad(
        json!({"StartAt": "Nope", "States": {"S": {"Type": "Succeed"}}}),
        "/StartAt",
        "does not name a state",
    );
}

#[test]
fn next_must_resolve_in_its_own_scope() {
    good(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}),
    );
    bad(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "C"}, "B": {"Type": "Succeed"}}}),
        "/States/A/Next",
        "\"C\" does not name a state",
    );
    // A branch cannot jump out to the enclosing scope.
    bad(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Done"}}}], "Next": "Done"},
            "Done": {"Type": "Succeed"}}}),
        "/States/P/Branches/0/States/X/Next",
        "does not name a state in this scope",
    );
}

#[test]
fn unreachable_states_are_reported() {
    good(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}),
    );
    bad(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}),
        "/States/B",
        "unreachable",
    );
}

#[test]
fn every_path_must_be_able_to_terminate() {
    good(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "A"}], "Default": "D"},
        "D": {"Type": "Succeed"}}}));
    bad(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}}),
        "/States/A",
        "no path from this state reaches a terminal state",
    );
}

#[test]
fn next_and_end_are_exclusive_and_one_is_required() {
    good(one(json!({"Type": "Pass", "End": true})));
    bad(
        json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true, "Next": "T"}, "T": {"Type": "Succeed"}}}),
        "/States/S/End",
        "both Next and End",
    );
    bad(
        one(json!({"Type": "Pass"})),
        "/States/S/Next",
        "needs Next or \"End\": true",
    );
    bad(
        one(json!({"Type": "Succeed", "End": true})),
        "/States/S/End",
        "not valid in a Succeed state",
    );
}

#[test]
fn choice_rules_and_default() {
    let ok = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.a", "NumericGreaterThan": 5}, {"Not": {"Variable": "$.b", "StringMatches": "x*"}}], "Next": "D"},
            {"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:00Z", "Next": "D"},
            {"Variable": "$.a", "NumericEqualsPath": "$.b", "Next": "D"}
        ], "Default": "D"},
        "D": {"Type": "Succeed"}}});
    good(ok.clone());
    let mut wrong_type = ok.clone();
    wrong_type["States"]["C"]["Choices"][0]["And"][0]["NumericGreaterThan"] = json!("5");
    bad(
        wrong_type,
        "/States/C/Choices/0/And/0/NumericGreaterThan",
        "compares against a number",
    );
    let mut bad_ts = ok.clone();
    bad_ts["States"]["C"]["Choices"][1]["TimestampLessThan"] = json!("yesterday");
    bad(
        bad_ts,
        "/States/C/Choices/1/TimestampLessThan",
        "not an RFC 3339 timestamp",
    );
    let mut bad_default = ok.clone();
    bad_default["States"]["C"]["Default"] = json!("Nowhere");
    bad(bad_default, "/States/C/Default", "does not name a state");
    bad(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": []}}}),
        "/States/C/Choices",
        "at least one choice rule",
    );
}

#[test]
fn fields_must_apply_to_the_state_type() {
    good(one(
        json!({"Type": "Pass", "Parameters": {"a": 1}, "End": true}),
    ));
    bad(
        one(json!({"Type": "Succeed", "Parameters": {"a": 1}})),
        "/States/S/Parameters",
        "not valid in a Succeed state",
    );
    bad(
        one(json!({"Type": "Fail", "InputPath": "$"})),
        "/States/S/InputPath",
        "not valid in a Fail state",
    );
    bad(
        one(json!({"Type": "Pass", "End": true, "Colour": 1})),
        "/States/S/Colour",
        "unknown field",
    );
}

#[test]
fn fields_must_apply_to_the_query_language() {
    good(one(
        json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "End": true}),
    ));
    bad(
        one(json!({"Type": "Pass", "QueryLanguage": "JSONata", "InputPath": "$.a", "End": true})),
        "/States/S/InputPath",
        "cannot be used in a JSONata state",
    );
    bad(
        one(json!({"Type": "Pass", "Output": {"a": 1}, "End": true})),
        "/States/S/Output",
        "JSONata field",
    );
    bad(
        json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}),
        "/States/S/SecondsPath",
        "JSONPath field",
    );
    bad(
        json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "D"}]}, "D": {"Type": "Succeed"}}}),
        "/States/C/Choices/0",
        "use Condition",
    );
}

fn task_with(extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    if extra.get("Catch").is_some() {
        json!({"StartAt": "S", "States": {"S": t, "H": {"Type": "Succeed"}}})
    } else {
        json!({"StartAt": "S", "States": {"S": t}})
    }
}

#[test]
fn retry_rules() {
    good(task_with(json!({"Retry": [
        {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 1.5, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"},
        {"ErrorEquals": ["States.ALL"]}
    ], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]})));
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]})),
        "/States/S/Retry/0/ErrorEquals/0",
        "must appear alone",
    );
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]})),
        "/States/S/Retry/0/ErrorEquals/0",
        "must be in the last retrier",
    );
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]})),
        "/States/S/Retry/0/BackoffRate",
        "at least 1.0",
    );
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]})),
        "/States/S/Retry/0/MaxAttempts",
        "non-negative integer",
    );
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]})),
        "/States/S/Retry/0/IntervalSeconds",
        "positive integer",
    );
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]})),
        "/States/S/Retry/0/JitterStrategy",
        "FULL or NONE",
    );
    bad(
        task_with(json!({"Retry": [{"ErrorEquals": []}]})),
        "/States/S/Retry/0/ErrorEquals",
        "at least one error name",
    );
    // A custom name in the reserved namespace: AWS creates the machine (public samples do this).
    warned(
        task_with(json!({"Retry": [{"ErrorEquals": ["States.QuorumMet"]}]})),
        "/States/S/Retry/0/ErrorEquals/0",
        Code::ReservedErrorName,
    );
}

#[test]
fn catch_rules() {
    good(task_with(
        json!({"Catch": [{"ErrorEquals": ["X"], "Next": "H", "ResultPath": "$.err"}, {"ErrorEquals": ["States.ALL"], "Next": "H"}]}),
    ));
    bad(
        task_with(
            json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}, {"ErrorEquals": ["X"], "Next": "H"}]}),
        ),
        "/States/S/Catch/0/ErrorEquals/0",
        "must be in the last catcher",
    );
    bad(
        task_with(json!({"Catch": [{"ErrorEquals": ["X"], "Next": "Nope"}]})),
        "/States/S/Catch/0/Next",
        "does not name a state",
    );
    bad(
        task_with(json!({"Catch": [{"ErrorEquals": ["X"], "Next": "H", "ResultPath": "$.a[*]"}]})),
        "/States/S/Catch/0/ResultPath",
        "reference path",
    );
}

#[test]
fn jsonpath_reference_path_and_context_object_syntax() {
    good(task_with(
        json!({"InputPath": "$$.Execution.Input", "ResultPath": "$.r['x y'][0]", "OutputPath": "$.items[*]"}),
    ));
    bad(
        task_with(json!({"InputPath": "a.b"})),
        "/States/S/InputPath",
        "must start with '$'",
    );
    bad(
        task_with(json!({"ResultPath": "$.a..b"})),
        "/States/S/ResultPath",
        "not a reference path",
    );
    bad(
        task_with(json!({"ResultPath": "$$.Execution.Id"})),
        "/States/S/ResultPath",
        "not the context object",
    );
    bad(
        task_with(json!({"OutputPath": "$$.Execution["})),
        "/States/S/OutputPath",
        "never closed",
    );
    bad(
        task_with(json!({"Parameters": {"id.$": "$$.Execution."}})),
        "/States/S/Parameters/id.$",
        "empty field name",
    );
}

#[test]
fn intrinsic_functions_and_arity() {
    good(task_with(
        json!({"Parameters": {"msg.$": "States.Format('Hello {}', $.name)", "id.$": "States.UUID()"}}),
    ));
    bad(
        task_with(json!({"Parameters": {"n.$": "States.MathAdd($.a)"}})),
        "/States/S/Parameters/n.$",
        "takes 2 argument(s), found 1",
    );
    bad(
        task_with(json!({"Parameters": {"n.$": "States.Frobnicate($.a)"}})),
        "/States/S/Parameters/n.$",
        "unknown intrinsic",
    );
    bad(
        one(json!({"Type": "Fail", "ErrorPath": "States.Format('{}'"})),
        "/States/S/ErrorPath",
        "expected ',' or ')'",
    );
}

#[test]
fn jsonata_delimiters() {
    good(one(
        json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"a": "{% $states.input.a %}", "lit": " {% not an expression"}, "End": true}),
    ));
    bad(
        one(
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"a": "{% $states.input.a"}, "End": true}),
        ),
        "/States/S/Output/a",
        "must end with '%}'",
    );
    bad(
        json!({"StartAt": "C", "QueryLanguage": "JSONata", "States": {
            "C": {"Type": "Choice", "Choices": [{"Condition": "$states.input.a", "Next": "D"}]}, "D": {"Type": "Succeed"}}}),
        "/States/C/Choices/0/Condition",
        "JSONata expression",
    );
}

#[test]
fn duplicate_keys_after_stripping_dollar_suffix() {
    good(task_with(
        json!({"Parameters": {"a": 1, "b.$": "$.b", "nested": {"a.$": "$.x"}}}),
    ));
    bad(
        task_with(json!({"Parameters": {"a": 1, "a.$": "$.a"}})),
        "/States/S/Parameters/a.$",
        "duplicates another key",
    );
    bad(
        task_with(json!({"Parameters": {"n": {"k.$": "$.k", "k": 2}}})),
        "/States/S/Parameters/n/k",
        "duplicates another key",
    );
    bad(
        task_with(json!({"Parameters": {"a.$": 5}})),
        "/States/S/Parameters/a.$",
        "must be a path or intrinsic",
    );
}

#[test]
fn heartbeat_below_timeout() {
    good(task_with(
        json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 30}),
    ));
    bad(
        task_with(json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 60})),
        "/States/S/HeartbeatSeconds",
        "smaller than TimeoutSeconds",
    );
    bad(
        task_with(json!({"TimeoutSeconds": 60, "TimeoutSecondsPath": "$.t"})),
        "/States/S/TimeoutSecondsPath",
        "not both",
    );
    bad(
        task_with(json!({"TimeoutSeconds": 0})),
        "/States/S/TimeoutSeconds",
        "integer from 1",
    );
}

#[test]
fn wait_needs_exactly_one_duration() {
    good(one(
        json!({"Type": "Wait", "Timestamp": "2026-03-14T01:59:00Z", "End": true}),
    ));
    bad(
        one(json!({"Type": "Wait", "End": true})),
        "/States/S/Seconds",
        "found none",
    );
    bad(
        one(json!({"Type": "Wait", "Seconds": 5, "SecondsPath": "$.s", "End": true})),
        "/States/S/SecondsPath",
        "exactly one",
    );
    bad(
        one(json!({"Type": "Wait", "Timestamp": "tomorrow", "End": true})),
        "/States/S/Timestamp",
        "RFC 3339",
    );
}

#[test]
fn state_name_limits_and_uniqueness() {
    let name79 = "n".repeat(80);
    good(json!({"StartAt": name79, "States": {name79.clone(): {"Type": "Succeed"}}}));
    let long = "n".repeat(81);
    bad(
        json!({"StartAt": long, "States": {long.clone(): {"Type": "Succeed"}}}),
        &format!("/States/{long}"),
        "at most 80",
    );
    bad(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}},
            {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}]}}}),
        "/States/P/Branches/1/States/X",
        "already used",
    );
}

#[test]
fn definition_size_limit() {
    good(one(
        json!({"Type": "Pass", "Result": "x".repeat(1000), "End": true}),
    ));
    bad(
        one(json!({"Type": "Pass", "Result": "x".repeat(1024 * 1024), "End": true})),
        "",
        "at most 1048576 bytes",
    );
}

#[test]
fn map_modes_and_fields() {
    let distributed = json!({"Type": "Map", "End": true, "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}},
        "ToleratedFailurePercentage": 5, "Label": "files",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "I", "States": {"I": {"Type": "Succeed"}}}});
    good(one(distributed.clone()));
    let mut inline = distributed.clone();
    inline["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "INLINE"});
    bad(
        one(inline),
        "/States/S/ItemReader",
        "only applies to a DISTRIBUTED Map",
    );
    let mut no_exec = distributed.clone();
    no_exec["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED"});
    bad(
        one(no_exec),
        "/States/S/ItemProcessor/ProcessorConfig/ExecutionType",
        "needs ExecutionType",
    );
    let mut pct = distributed;
    pct["ToleratedFailurePercentage"] = json!(150);
    bad(
        one(pct),
        "/States/S/ToleratedFailurePercentage",
        "from 0 to 100",
    );
}

#[test]
fn fail_error_and_error_path_are_exclusive() {
    good(one(
        json!({"Type": "Fail", "Error": "E", "CausePath": "$.cause"}),
    ));
    bad(
        one(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})),
        "/States/S/ErrorPath",
        "not both",
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let doc = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "x", "Next": "Z"},
        "B": {"Type": "Wait", "End": true},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0}], "End": true}
    }});
    let errs = errors(&doc);
    let pointers: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
    for p in [
        "/States/A/InputPath",
        "/States/A/Next",
        "/States/B/Seconds",
        "/States/C/Retry/0/BackoffRate",
        "/States/B",
        "/States/C",
    ] {
        assert!(pointers.contains(&p), "missing {p} in {pointers:?}");
    }
}

#[test]
fn wait_for_task_token_needs_the_token() {
    let mut t = task_with(
        json!({"Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}}}),
    );
    t["States"]["S"]["Resource"] = json!("arn:aws:states:::lambda:invoke.waitForTaskToken");
    good(t.clone());
    // AWS creates and runs it; the task then waits until it times out.
    t["States"]["S"]["Parameters"] = json!({"FunctionName": "f"});
    warned(t, "/States/S/Parameters", Code::MissingTaskToken);
}

#[test]
fn a_state_may_choose_jsonpath_unless_the_machine_is_jsonata() {
    // The rule is about the definition's top-level QueryLanguage, not the enclosing state's.
    let map_of = |top: Option<&str>| {
        let mut doc = json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "QueryLanguage": "JSONata", "Items": "{% [1, 2] %}", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {
                "Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}}}}});
        if let Some(ql) = top {
            doc["QueryLanguage"] = json!(ql);
            doc["States"]["M"]
                .as_object_mut()
                .unwrap()
                .remove("QueryLanguage");
        }
        doc
    };
    good(map_of(None));
    bad(
        map_of(Some("JSONata")),
        "/States/M/ItemProcessor/States/P/QueryLanguage",
        "cannot use JSONPath",
    );
}

#[test]
fn codes_match_aws_where_aws_has_one() {
    let code_at = |doc: Value, pointer: &str| {
        errors(&doc)
            .into_iter()
            .find(|d| d.pointer == pointer)
            .map(|d| d.code.as_str())
    };
    assert_eq!(
        code_at(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
            "/States/A/Next"
        ),
        Some("MISSING_TRANSITION_TARGET")
    );
    assert_eq!(
        code_at(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
            "/States/A"
        ),
        Some("MISSING_END_STATE")
    );
    assert_eq!(
        code_at(
            one(json!({"Type": "Task", "Resource": "lambda", "End": true})),
            "/States/S/Resource"
        ),
        Some("INVALID_RESOURCE")
    );
    assert_eq!(
        code_at(
            one(json!({"Type": "Pass", "End": true, "Bogus": 1})),
            "/States/S/Bogus"
        ),
        Some("SCHEMA_VALIDATION_FAILED")
    );
}
