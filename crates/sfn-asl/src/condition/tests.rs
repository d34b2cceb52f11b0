//! Examples of every operator, precedence, printing and error reporting.

use serde_json::{Value, json};

use super::{ConditionError, check_rule, parse, print};

fn p(src: &str) -> Value {
    parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn err(src: &str) -> ConditionError {
    match parse(src) {
        Ok(rule) => panic!("{src} should not parse, got {rule}"),
        Err(e) => e,
    }
}

/// Parses, checks the ASL, and checks that printing gives `printed` back, which parses to the same rule.
fn check(src: &str, asl: Value, printed: &str) {
    let rule = p(src);
    assert_eq!(rule, asl, "{src}");
    let text = print(&rule).unwrap();
    assert_eq!(text, printed, "print of {src}");
    assert_eq!(p(&text), rule, "reparse of {text}");
}

#[test]
fn readme_example() {
    check(
        r#"$.status == "FAILED" && $.attempts > 5"#,
        json!({"And": [
            {"Variable": "$.status", "StringEquals": "FAILED"},
            {"Variable": "$.attempts", "NumericGreaterThan": 5}
        ]}),
        r#"$.status == "FAILED" && $.attempts > 5"#,
    );
}

#[test]
fn string_comparisons() {
    for (op, name) in [
        ("==", "StringEquals"),
        ("<", "StringLessThan"),
        (">", "StringGreaterThan"),
        ("<=", "StringLessThanEquals"),
        (">=", "StringGreaterThanEquals"),
    ] {
        let src = format!(r#"$.s {op} "m""#);
        check(&src, json!({"Variable": "$.s", name: "m"}), &src);
        let src = format!("string($.s) {op} $.t");
        check(
            &src,
            json!({"Variable": "$.s", format!("{name}Path"): "$.t"}),
            &src,
        );
        // The conversion may sit on either side; it prints on the left.
        check(
            &format!("$.s {op} string($.t)"),
            json!({"Variable": "$.s", format!("{name}Path"): "$.t"}),
            &src,
        );
    }
    check(
        r#"string($.s) == "x""#,
        json!({"Variable": "$.s", "StringEquals": "x"}),
        r#"$.s == "x""#,
    );
}

#[test]
fn numeric_comparisons() {
    for (op, name) in [
        ("==", "NumericEquals"),
        ("<", "NumericLessThan"),
        (">", "NumericGreaterThan"),
        ("<=", "NumericLessThanEquals"),
        (">=", "NumericGreaterThanEquals"),
    ] {
        let src = format!("$.n {op} -1.5");
        check(&src, json!({"Variable": "$.n", name: -1.5}), &src);
        let src = format!("number($.n) {op} $$.Execution.Input.max");
        check(
            &src,
            json!({"Variable": "$.n", format!("{name}Path"): "$$.Execution.Input.max"}),
            &src,
        );
    }
    // Integers stay integers, floats stay floats.
    assert_eq!(
        p("$.n == 5"),
        json!({"Variable": "$.n", "NumericEquals": 5})
    );
    assert_eq!(
        p("$.n == 5.0"),
        json!({"Variable": "$.n", "NumericEquals": 5.0})
    );
    check(
        "$.n >= 1e3",
        json!({"Variable": "$.n", "NumericGreaterThanEquals": 1000.0}),
        "$.n >= 1000.0",
    );
    check(
        "$.n == 18446744073709551615",
        json!({"Variable": "$.n", "NumericEquals": u64::MAX}),
        "$.n == 18446744073709551615",
    );
}

#[test]
fn boolean_comparisons() {
    check(
        "$.done == true",
        json!({"Variable": "$.done", "BooleanEquals": true}),
        "$.done == true",
    );
    check(
        "$.done == false",
        json!({"Variable": "$.done", "BooleanEquals": false}),
        "$.done == false",
    );
    check(
        "boolean($.a) == $.b",
        json!({"Variable": "$.a", "BooleanEqualsPath": "$.b"}),
        "boolean($.a) == $.b",
    );
    check(
        "$.done != true",
        json!({"Not": {"Variable": "$.done", "BooleanEquals": true}}),
        "$.done != true",
    );
}

#[test]
fn timestamp_comparisons() {
    for (op, name) in [
        ("==", "TimestampEquals"),
        ("<", "TimestampLessThan"),
        (">", "TimestampGreaterThan"),
        ("<=", "TimestampLessThanEquals"),
        (">=", "TimestampGreaterThanEquals"),
    ] {
        let src = format!(r#"$.t {op} timestamp("2016-03-14T01:59:00Z")"#);
        check(
            &src,
            json!({"Variable": "$.t", name: "2016-03-14T01:59:00Z"}),
            &src,
        );
        // A converted path makes a plain string literal a timestamp.
        check(
            &format!(r#"timestamp($.t) {op} "2016-03-14T01:59:00Z""#),
            json!({"Variable": "$.t", name: "2016-03-14T01:59:00Z"}),
            &src,
        );
        let src = format!("timestamp($.t) {op} $.deadline");
        check(
            &src,
            json!({"Variable": "$.t", format!("{name}Path"): "$.deadline"}),
            &src,
        );
    }
}

#[test]
fn string_matches() {
    check(
        r#"$.name like "log-*.txt""#,
        json!({"Variable": "$.name", "StringMatches": "log-*.txt"}),
        r#"$.name like "log-*.txt""#,
    );
    // A literal star is escaped with a backslash in the pattern, itself escaped in the string literal.
    check(
        r#"$.name like "a\\*b""#,
        json!({"Variable": "$.name", "StringMatches": "a\\*b"}),
        r#"$.name like "a\\*b""#,
    );
    check(
        r#"string($.name) like "x*""#,
        json!({"Variable": "$.name", "StringMatches": "x*"}),
        r#"$.name like "x*""#,
    );
}

#[test]
fn type_tests() {
    for (word, name) in [
        ("null", "IsNull"),
        ("present", "IsPresent"),
        ("number", "IsNumeric"),
        ("string", "IsString"),
        ("boolean", "IsBoolean"),
        ("timestamp", "IsTimestamp"),
    ] {
        let src = format!("$.x is {word}");
        check(&src, json!({"Variable": "$.x", name: true}), &src);
        let src = format!("$.x is not {word}");
        check(&src, json!({"Variable": "$.x", name: false}), &src);
        let src = format!("!($.x is {word})");
        check(&src, json!({"Not": {"Variable": "$.x", name: true}}), &src);
    }
}

#[test]
fn variables() {
    for path in [
        "$",
        "$.a.b",
        "$['x y']",
        "$[\"x y\"]",
        "$.a[0]",
        "$.a[0].b['c']",
        "$$.Execution.Input",
        "$$.Execution.Input.input-value",
        "$var",
        "$var.x",
    ] {
        let src = format!("{path} == 1");
        check(&src, json!({"Variable": path, "NumericEquals": 1}), &src);
    }
    check(
        "string($guess) == $answer",
        json!({"Variable": "$guess", "StringEqualsPath": "$answer"}),
        "string($guess) == $answer",
    );
}

#[test]
fn not_equals_is_not_of_equals() {
    check(
        r#"$.type != "Private""#,
        json!({"Not": {"Variable": "$.type", "StringEquals": "Private"}}),
        r#"$.type != "Private""#,
    );
    check(
        r#"!($.type == "Private")"#,
        json!({"Not": {"Variable": "$.type", "StringEquals": "Private"}}),
        r#"$.type != "Private""#,
    );
    check(
        "number($.a) != $.b",
        json!({"Not": {"Variable": "$.a", "NumericEqualsPath": "$.b"}}),
        "number($.a) != $.b",
    );
    check(
        "!($.a != 1)",
        json!({"Not": {"Not": {"Variable": "$.a", "NumericEquals": 1}}}),
        "!($.a != 1)",
    );
}

#[test]
fn precedence_not_and_or() {
    let a = json!({"Variable": "$.a", "NumericEquals": 1});
    let b = json!({"Variable": "$.b", "NumericEquals": 2});
    let c = json!({"Variable": "$.c", "NumericEquals": 3});
    let d = json!({"Variable": "$.d", "NumericEquals": 4});
    check(
        "$.a == 1 || $.b == 2 && $.c == 3",
        json!({"Or": [a, {"And": [b, c]}]}),
        "$.a == 1 || $.b == 2 && $.c == 3",
    );
    check(
        "$.a == 1 && $.b == 2 || $.c == 3",
        json!({"Or": [{"And": [a, b]}, c]}),
        "$.a == 1 && $.b == 2 || $.c == 3",
    );
    check(
        "($.a == 1 || $.b == 2) && $.c == 3",
        json!({"And": [{"Or": [a, b]}, c]}),
        "($.a == 1 || $.b == 2) && $.c == 3",
    );
    check(
        "!$.a == 1 && $.b == 2",
        json!({"And": [{"Not": a}, b]}),
        "$.a != 1 && $.b == 2",
    );
    check(
        "!($.a == 1 && $.b == 2)",
        json!({"Not": {"And": [a, b]}}),
        "!($.a == 1 && $.b == 2)",
    );
    check(
        "!!($.a < 1)",
        json!({"Not": {"Not": {"Variable": "$.a", "NumericLessThan": 1}}}),
        "!!($.a < 1)",
    );
    check("((($.a == 1)))", a.clone(), "$.a == 1");
    check(
        "$.a == 1 && $.b == 2 && $.c == 3 && $.d == 4",
        json!({"And": [a, b, c, d]}),
        "$.a == 1 && $.b == 2 && $.c == 3 && $.d == 4",
    );
    check(
        "$.a == 1 || $.b == 2 || $.c == 3",
        json!({"Or": [a, b, c]}),
        "$.a == 1 || $.b == 2 || $.c == 3",
    );
}

#[test]
fn parentheses_keep_nested_chains_apart() {
    let a = json!({"Variable": "$.a", "NumericEquals": 1});
    let b = json!({"Variable": "$.b", "NumericEquals": 2});
    let c = json!({"Variable": "$.c", "NumericEquals": 3});
    check(
        "($.a == 1 && $.b == 2) && $.c == 3",
        json!({"And": [{"And": [a, b]}, c]}),
        "($.a == 1 && $.b == 2) && $.c == 3",
    );
    check(
        "$.a == 1 || ($.b == 2 || $.c == 3)",
        json!({"Or": [a, {"Or": [b, c]}]}),
        "$.a == 1 || ($.b == 2 || $.c == 3)",
    );
}

#[test]
fn all_and_any() {
    let a = json!({"Variable": "$.a", "NumericEquals": 1});
    let b = json!({"Variable": "$.b", "NumericEquals": 2});
    // ASL accepts single-child And/Or; they print as all(...)/any(...).
    check(
        r#"all($.type == "Public")"#,
        json!({"And": [{"Variable": "$.type", "StringEquals": "Public"}]}),
        r#"all($.type == "Public")"#,
    );
    check("any($.a == 1)", json!({"Or": [a]}), "any($.a == 1)");
    check(
        "all($.a == 1, $.b == 2)",
        json!({"And": [a, b]}),
        "$.a == 1 && $.b == 2",
    );
    check(
        "any($.a == 1, $.b == 2)",
        json!({"Or": [a, b]}),
        "$.a == 1 || $.b == 2",
    );
    check(
        "!all($.a == 1 || $.b == 2) && $.a == 1",
        json!({"And": [{"Not": {"And": [{"Or": [a, b]}]}}, a]}),
        "!all($.a == 1 || $.b == 2) && $.a == 1",
    );
}

#[test]
fn whitespace_and_unicode() {
    check(
        "  $.a==\"é😀\"\n&&\t$.b>2 ",
        json!({"And": [
            {"Variable": "$.a", "StringEquals": "é😀"},
            {"Variable": "$.b", "NumericGreaterThan": 2}
        ]}),
        r#"$.a == "é😀" && $.b > 2"#,
    );
    check(
        r#"$.a == "line\nbreak \"quoted\"""#,
        json!({"Variable": "$.a", "StringEquals": "line\nbreak \"quoted\""}),
        r#"$.a == "line\nbreak \"quoted\"""#,
    );
}

#[test]
fn jsonata_passes_through() {
    assert_eq!(
        p("  {% $states.input.n > 1 %} "),
        json!({"Condition": "{% $states.input.n > 1 %}"})
    );
    assert_eq!(
        print(&json!({"Condition": "{% $x %}", "Next": "A", "Assign": {"y": 1}})).unwrap(),
        "{% $x %}"
    );
    assert_eq!(
        err("{% $x").to_string(),
        "column 1: a JSONata condition must end with '%}'"
    );
    assert_eq!(
        err(" {%  %}").to_string(),
        "column 2: the JSONata condition between '{%' and '%}' is empty"
    );
    assert!(super::is_jsonata("{% true %}"));
    assert!(!super::is_jsonata("$.a == 1"));
    assert_eq!(
        print(&json!({"Condition": "{% $x %}", "Variable": "$.a"}))
            .unwrap_err()
            .to_string(),
        "/Variable: a JSONata rule holds only Condition (with Next, Comment, Assign, Output)"
    );
    assert_eq!(
        print(&json!({"Condition": "$x"})).unwrap_err().to_string(),
        "/Condition: Condition must be a JSONata expression string \"{% ... %}\""
    );
}

#[test]
fn print_ignores_next_and_friends() {
    let rule = json!({
        "BooleanEquals": true,
        "Next": "FinishTrue",
        "Comment": "done?",
        "Assign": {"x": 1},
        "Variable": "$.result.done"
    });
    assert_eq!(print(&rule).unwrap(), "$.result.done == true");
}

#[test]
fn print_ignores_comments_on_nested_rules() {
    let rule = json!({
        "And": [
            {"Comment": "adult", "Variable": "$.age", "NumericGreaterThanEquals": 18},
            {"Not": {"Comment": "not cancelled", "Variable": "$.status", "StringEquals": "CANCELLED"}}
        ],
        "Next": "Yes"
    });
    assert_eq!(
        print(&rule).unwrap(),
        r#"$.age >= 18 && $.status != "CANCELLED""#
    );
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        ("", "column 1: empty condition"),
        ("   ", "column 1: empty condition"),
        (r#"$.status == "FAILED"#, "column 13: unterminated string"),
        (
            "$.a ==",
            "column 7: expected a value after '==', found end of input",
        ),
        (
            "$.a == 1 &&",
            "column 12: expected a condition after '&&', found end of input",
        ),
        (
            "$.a == 1 || || $.b == 1",
            "column 13: expected a condition after '||', found '||'",
        ),
        (
            "&& $.a == 1",
            "column 1: expected a path (such as $.x) or a value, found '&&'",
        ),
        (
            "foo($.a) == 1",
            "column 1: unknown function 'foo' (expected string, number, boolean, timestamp, all or any)",
        ),
        (
            "$.a == foo(1)",
            "column 8: unknown function 'foo' (expected string, number, boolean, timestamp, all or any)",
        ),
        (
            r#"number($.a) < "5""#,
            "column 15: number($.a) is compared with a string: the types must match",
        ),
        (
            "string($.a) == 5",
            "column 16: string($.a) is compared with a number: the types must match",
        ),
        (
            "number($.a) == string($.b)",
            "column 16: number($.a) is compared with string($.b): the types must match",
        ),
        (
            "$.a == $.b",
            "column 1: comparing two paths needs a type: write string($.a), number($.a), boolean($.a) or timestamp($.a)",
        ),
        (
            "$.a < true",
            "column 5: booleans can only be compared with == or !=, not '<'",
        ),
        (
            "boolean($.a) >= $.b",
            "column 14: booleans can only be compared with == or !=, not '>='",
        ),
        (
            r#""x" == $.a"#,
            "column 1: the left side of a comparison must be a path such as $.x",
        ),
        (
            "5 < $.a",
            "column 1: the left side of a comparison must be a path such as $.x",
        ),
        (
            "$.a",
            "column 4: expected a comparison after $.a (==, !=, <, <=, >, >=, like or is), found end of input",
        ),
        (
            "number($.a)",
            "column 12: expected a comparison after number($.a) (==, !=, <, <=, >, >=, like or is), found end of input",
        ),
        ("$.a = 1", "column 5: use '==' to compare"),
        ("$.a == 1 & $.b == 2", "column 10: use '&&' for \"and\""),
        ("$.a == 1 | $.b == 2", "column 10: use '||' for \"or\""),
        (
            "$.a == 'x'",
            "column 8: strings are written in double quotes: \"...\"",
        ),
        (
            "$.a == 1 == 2",
            "column 10: comparisons cannot be chained: combine them with && or ||",
        ),
        ("($.a == 1", "column 1: unclosed '('"),
        ("$.a == 1)", "column 9: unmatched ')'"),
        (
            "$.a == 1 $.b == 2",
            "column 10: expected '&&', '||' or the end of the condition, found path $.b",
        ),
        (
            "$.a like $.b",
            "column 10: expected a string pattern after 'like' (such as \"log-*.txt\"), found path $.b",
        ),
        (
            "number($.a) like \"x\"",
            "column 1: 'like' matches strings: remove the type conversion",
        ),
        (
            "$.a is nothing",
            "column 8: expected null, present, string, number, boolean or timestamp after 'is', found 'nothing'",
        ),
        (
            "$.a is not",
            "column 11: expected null, present, string, number, boolean or timestamp after 'is not', found end of input",
        ),
        (
            "string($.a) is null",
            "column 1: 'is' tests a plain path: remove the type conversion",
        ),
        (
            "$.a == null",
            "column 8: null is tested with 'is null' or 'is not null', not compared",
        ),
        (
            r#"$.t < timestamp("2016-03-14")"#,
            "column 17: \"2016-03-14\" is not an RFC 3339 timestamp such as \"2016-03-14T01:59:00Z\"",
        ),
        (
            r#"timestamp($.t) < "yesterday""#,
            "column 18: \"yesterday\" is not an RFC 3339 timestamp such as \"2016-03-14T01:59:00Z\"",
        ),
        (
            r#"$.a == number("5")"#,
            "column 15: number(...) takes a path, found string \"5\"",
        ),
        (
            "$.t == timestamp(5)",
            "column 18: timestamp(...) takes a path or a timestamp string, found number 5",
        ),
        (
            "$.a == number($.b",
            "column 18: expected ')' to close number(, found end of input",
        ),
        ("all()", "column 5: all(...) needs at least one condition"),
        (
            "all($.a == 1 $.b == 2)",
            "column 14: expected ')' or ',' in the list of conditions, found path $.b",
        ),
        (
            "$.a[*] == 1",
            "column 5: expected an array index or a quoted field name after '[' (wildcards, slices and filters are not allowed in a reference path)",
        ),
        (
            "$..a == 1",
            "column 3: expected a field name after '.' (use ['...'] for names with other characters)",
        ),
        (
            "$.a == -x",
            "column 8: '-' must start a number such as -5 (there is no arithmetic)",
        ),
        (
            "$.a == 007",
            "column 8: invalid number 007: no leading zeros",
        ),
        ("$.a == 1e400", "column 8: number 1e400 is out of range"),
        ("$.a == #", "column 8: unexpected character '#'"),
        (
            "$.a == 1 && {% $x %}",
            "column 13: a JSONata condition must be the whole condition: \"{% ... %}\"",
        ),
        (
            "é$.a == 1",
            "column 1: expected a path (such as $.x) or a value, found 'é'",
        ),
        (
            "true",
            "column 1: the left side of a comparison must be a path such as $.x",
        ),
        ("!", "column 2: expected a condition, found end of input"),
        (
            r#"$.a == "x" and $.b == 1"#,
            "column 12: use '&&' instead of 'and'",
        ),
        (
            "$.a == 1 or $.b == 1",
            "column 10: use '||' instead of 'or'",
        ),
        ("not $.a == 1", "column 1: use '!' instead of 'not'"),
        (
            "$.a == 1 && not $.b == 1",
            "column 13: use '!' instead of 'not'",
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(err(src).to_string(), *expected, "{src}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}$.a == 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(err(&deep).message.contains("nested more than"));
    let bangs = format!("{}$.a == 1", "!".repeat(10_000));
    assert!(err(&bangs).message.contains("nested more than"));
    let ok = format!("{}$.a == 1{}", "(".repeat(60), ")".repeat(60));
    assert_eq!(p(&ok), json!({"Variable": "$.a", "NumericEquals": 1}));
}

#[test]
fn print_rejects_invalid_rules() {
    let e = print(
        &json!({"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "Foo": 1}]}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/And/1/Foo: unknown comparison operator \"Foo\""
    );
    assert_eq!(e.column, 0);
}

/// One table covering every operator form, so a change in the ASL output shows up in review.
#[test]
fn snapshot_expression_table() {
    let expressions = [
        r#"$.status == "FAILED" && $.attempts > 5"#,
        r#"$.s == "x""#,
        r#"$.s != "x""#,
        r#"$.s < "m""#,
        r#"$.s > "m""#,
        r#"$.s <= "m""#,
        r#"$.s >= "m""#,
        "string($.a) == $.b",
        "string($.a) < $.b",
        "string($.a) > $.b",
        "string($.a) <= $.b",
        "string($.a) >= $.b",
        "$.n == 5",
        "$.n != 5",
        "$.n < 5",
        "$.n > -2.5",
        "$.n <= 1e3",
        "$.n >= 0",
        "number($.a) == $.b",
        "number($.a) < $.b",
        "number($.a) > $.b",
        "number($.a) <= $.b",
        "number($.a) >= $.b",
        "$.flag == true",
        "$.flag != false",
        "boolean($.a) == $.b",
        r#"$.t == timestamp("2016-03-14T01:59:00Z")"#,
        r#"$.t < timestamp("2016-03-14T01:59:00Z")"#,
        r#"$.t > timestamp("2016-03-14T01:59:00+01:00")"#,
        r#"timestamp($.t) <= "2016-03-14T01:59:00.250Z""#,
        r#"$.t >= timestamp("2016-03-14T01:59:00Z")"#,
        "timestamp($.a) == $.b",
        "timestamp($.a) < $.b",
        "timestamp($.a) > $.b",
        "timestamp($.a) <= $.b",
        "timestamp($.a) >= $.b",
        r#"$.file like "log-*.txt""#,
        "$.x is null",
        "$.x is not null",
        "$.x is present",
        "$.x is not present",
        "$.x is number",
        "$.x is string",
        "$.x is boolean",
        "$.x is timestamp",
        r#"$.x is present && $.x == "foo""#,
        "$.a == 1 || $.b == 2 && !($.c is null)",
        "!($.a == 1 || $.b == 2)",
        "($.a == 1 || $.b == 2) && ($.c == 3 || $.d == 4)",
        r#"all($.type == "Public")"#,
        "any($.a == 1, $.b == 2)",
        r#"$['first name'] == "Ada" && $.items[0].price > 10"#,
        "$$.Execution.Input.input-value <= 0",
        "string($guess) == $answer",
        r#"$user.role == "admin""#,
        "{% $states.input.n > 1 %}",
    ];
    let table: Vec<Value> = expressions
        .iter()
        .map(|src| {
            let asl = p(src);
            let printed = print(&asl).unwrap();
            json!({"expression": src, "asl": asl, "printed": printed})
        })
        .collect();
    insta::assert_json_snapshot!(table);
}

#[test]
fn check_rule_accepts_valid_and_names_the_bad_field() {
    assert_eq!(
        check_rule(&json!({"Variable": "$.a", "NumericEquals": 1, "Next": "X"})),
        Ok(())
    );
    assert_eq!(
        check_rule(&json!({"Condition": "{% true %}", "Next": "X"})),
        Ok(())
    );
    let e = check_rule(&json!({"Or": [{"Variable": "$.a", "NumericEquals": "1"}], "Next": "X"}))
        .unwrap_err();
    assert_eq!(e.pointer, "/Or/0/NumericEquals");
    assert_eq!(e.message, "NumericEquals takes a number");
}
