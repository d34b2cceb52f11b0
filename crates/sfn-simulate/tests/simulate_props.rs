//! Property tests and a fuzz target for the simulator: random (often broken) definitions, inputs, paths,
//! intrinsic calls and JSONata expressions never make it panic, every run terminates (the transition limit
//! stops loops), runs are deterministic for a seed, and a few algebraic properties of the data flow hold.
//!
//! `fuzz_long` runs many more random machines: `cargo test --test simulate_props -- --ignored`.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_simulate::jsonata::{Env, Evaluator};
use sfn_simulate::jsonpath::Path;
use sfn_simulate::rng::Rng;
use sfn_simulate::{Execution, Mocks, Options, SimulateError, Status, intrinsics, simulate};

const PATHS: &[&str] = &[
    "$",
    "$",
    "$",
    "$.a",
    "$.items",
    "$.items[*]",
    "$.items[1:]",
    "$..a",
    "$$",
    "$$.Execution.Input",
    "$$.State.Name",
    "$.n",
    "$.s",
    "$.b",
];

/// Paths that are broken or usually absent, picked now and then.
const BAD_PATHS: &[&str] = &[
    "bad path",
    "$.a[",
    "$[?(@.a > 1)]",
    "$.missing.deep",
    "$x",
    "$x.a",
    "$.a.b",
    "$.items[0]",
    "$$.Map.Item.Value",
];

const DYNAMIC: &[&str] = &[
    "States.Format('{} and {}', $.a, $.n)",
    "States.ArrayLength($.items)",
    "States.MathAdd($.n, 1)",
    "States.StringToJson($.s)",
    "States.JsonToString($)",
    "States.Array($.a, 1, 'x')",
    "States.ArrayPartition($.items, 2)",
    "States.ArrayGetItem($.items, 5)",
    "States.Hash($.s, 'SHA-256')",
    "States.UUID()",
    "States.MathRandom(1, 10)",
    "States.Base64Decode($.s)",
    "States.Nope()",
    "States.Format(",
];

const JSONATA: &[&str] = &[
    "{% $states.input %}",
    "{% $states.input.a %}",
    "{% $states.input.n + 1 %}",
    "{% $x %}",
    "{% $count($states.input.items) %}",
    "{% [1, 2, 3] %}",
    "{% $states.input.items[0] %}",
    "{% 'text' & $string($states.input.n) %}",
    "{% $undefinedFn() %}",
    "{% ( %}",
    "{% $states.result %}",
    "{% $states.errorOutput %}",
    "{% true %}",
    "{% $states.input.n > 2 %}",
    "{% function($v){$v} %}",
];

const OPS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringMatches",
    "NumericEquals",
    "NumericGreaterThan",
    "NumericLessThanEqualsPath",
    "BooleanEquals",
    "TimestampLessThan",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "StringEqualsPath",
];

fn pick<'a>(rng: &mut Rng, items: &'a [&'a str]) -> &'a str {
    items[rng.range_i64(0, items.len() as i64) as usize]
}

fn chance(rng: &mut Rng, percent: i64) -> bool {
    rng.range_i64(0, 100) < percent
}

fn random_json(rng: &mut Rng, depth: u32) -> Value {
    match rng.range_i64(0, if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(chance(rng, 50)),
        2 => json!(rng.range_i64(-5, 10)),
        3 => json!(["a", "b", "x", "", "{\"a\":1}", "aGk="][rng.range_i64(0, 6) as usize]),
        4 => json!(rng.range_i64(-100, 100) as f64 / 7.0),
        5 => Value::Array(
            (0..rng.range_i64(0, 4))
                .map(|_| random_json(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut o = Map::new();
            for k in ["a", "b", "n", "s", "items"] {
                if chance(rng, 50) {
                    o.insert(k.into(), random_json(rng, depth - 1));
                }
            }
            Value::Object(o)
        }
    }
}

fn any_path(rng: &mut Rng) -> &'static str {
    if chance(rng, 12) {
        pick(rng, BAD_PATHS)
    } else {
        pick(rng, PATHS)
    }
}

fn path_value(rng: &mut Rng) -> Value {
    if chance(rng, 10) {
        Value::Null
    } else {
        json!(any_path(rng))
    }
}

fn template(rng: &mut Rng, jsonata: bool) -> Value {
    let mut o = Map::new();
    for i in 0..rng.range_i64(0, 4) {
        if jsonata {
            o.insert(format!("k{i}"), {
                let n = if chance(rng, 80) { 8 } else { JSONATA.len() };
                json!(pick(rng, &JSONATA[..n]))
            });
        } else if chance(rng, 50) {
            o.insert(format!("k{i}.$"), json!(any_path(rng)));
        } else {
            o.insert(format!("k{i}.$"), {
                let n = if chance(rng, 80) { 8 } else { DYNAMIC.len() };
                json!(pick(rng, &DYNAMIC[..n]))
            });
        }
    }
    if chance(rng, 20) {
        o.insert("lit".into(), random_json(rng, 1));
    }
    Value::Object(o)
}

/// A random state list of `n` states named `{prefix}{i}`; `depth` bounds nested Parallel/Map.
fn random_states(
    rng: &mut Rng,
    prefix: &str,
    n: usize,
    depth: u32,
    mocks: &mut Vec<String>,
) -> Value {
    let mut states = Map::new();
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let jsonata = chance(rng, 30);
        let kinds: &[&str] = if depth == 0 {
            &["Pass", "Wait", "Choice", "Succeed", "Fail", "Task"]
        } else {
            &[
                "Pass", "Wait", "Choice", "Succeed", "Fail", "Task", "Parallel", "Map",
            ]
        };
        let kind = pick(rng, kinds);
        let mut s = Map::new();
        s.insert("Type".into(), json!(kind));
        if jsonata {
            s.insert("QueryLanguage".into(), json!("JSONata"));
        }
        let next = format!("{prefix}{}", rng.range_i64(0, n as i64 + 1));
        let ends = chance(rng, 30) || next == format!("{prefix}{n}");
        let set_next = |s: &mut Map<String, Value>, rng: &mut Rng| {
            if ends {
                s.insert("End".into(), json!(true));
            } else {
                s.insert("Next".into(), json!(next));
            }
            if chance(rng, 5) {
                s.remove("End");
                s.remove("Next");
            }
        };
        if !jsonata {
            for f in ["InputPath", "OutputPath", "ResultPath"] {
                if chance(rng, 20) && !matches!(kind, "Fail") {
                    s.insert(f.into(), path_value(rng));
                }
            }
        } else if chance(rng, 40) {
            s.insert(
                "Output".into(),
                if chance(rng, 50) {
                    json!(pick(rng, JSONATA))
                } else {
                    template(rng, true)
                },
            );
        }
        if chance(rng, 25) && !matches!(kind, "Fail" | "Succeed") {
            s.insert(
                "Assign".into(),
                json!({"x": if jsonata { json!(pick(rng, JSONATA)) } else { random_json(rng, 1) }}),
            );
        }
        match kind {
            "Pass" => {
                if !jsonata && chance(rng, 40) {
                    s.insert("Parameters".into(), template(rng, false));
                } else if !jsonata && chance(rng, 30) {
                    s.insert("Result".into(), random_json(rng, 2));
                }
                set_next(&mut s, rng);
            }
            "Wait" => {
                match rng.range_i64(0, 4) {
                    0 => s.insert("Seconds".into(), json!(rng.range_i64(0, 100))),
                    1 => s.insert(
                        "SecondsPath".into(),
                        json!(if chance(rng, 70) {
                            "$.n"
                        } else {
                            any_path(rng)
                        }),
                    ),
                    2 => s.insert("Timestamp".into(), json!("2024-01-02T00:00:00Z")),
                    _ => s.insert("TimestampPath".into(), json!(any_path(rng))),
                };
                set_next(&mut s, rng);
            }
            "Choice" => {
                let mut rules = Vec::new();
                for _ in 0..rng.range_i64(0, 3) {
                    let target = format!("{prefix}{}", rng.range_i64(0, n as i64));
                    if jsonata {
                        rules.push(json!({"Condition": pick(rng, JSONATA), "Next": target}));
                    } else {
                        let op = pick(rng, OPS);
                        let operand = if op.ends_with("Path") {
                            json!(pick(rng, PATHS))
                        } else {
                            random_json(rng, 0)
                        };
                        let mut rule = json!({"Variable": pick(rng, PATHS), "Next": target});
                        rule[op] = operand;
                        if chance(rng, 20) {
                            rule = json!({"Not": rule, "Next": target});
                        }
                        rules.push(rule);
                    }
                }
                s.insert("Choices".into(), Value::Array(rules));
                if chance(rng, 70) {
                    s.insert(
                        "Default".into(),
                        json!(format!("{prefix}{}", rng.range_i64(0, n as i64))),
                    );
                }
            }
            "Fail" => {
                if chance(rng, 50) {
                    s.insert("Error".into(), json!("E"));
                }
                if chance(rng, 30) && !jsonata {
                    s.insert("CausePath".into(), json!(pick(rng, DYNAMIC)));
                }
            }
            "Succeed" => {}
            "Task" => {
                s.insert("Resource".into(), json!("arn:aws:states:::lambda:invoke"));
                if jsonata {
                    s.insert("Arguments".into(), template(rng, true));
                } else if chance(rng, 50) {
                    s.insert("Parameters".into(), template(rng, false));
                }
                if chance(rng, 40) {
                    s.insert("Retry".into(), json!([{"ErrorEquals": ["States.ALL"], "MaxAttempts": rng.range_i64(0, 4), "JitterStrategy": "FULL", "MaxDelaySeconds": 5}]));
                }
                if chance(rng, 40) {
                    s.insert("Catch".into(), json!([{"ErrorEquals": ["States.ALL"], "Next": format!("{prefix}{}", rng.range_i64(0, n as i64)), "ResultPath": "$.err"}]));
                }
                if chance(rng, 10) {
                    s.insert("TimeoutSeconds".into(), json!(2));
                }
                mocks.push(name.clone());
                set_next(&mut s, rng);
            }
            "Parallel" => {
                let branches: Vec<Value> = (0..rng.range_i64(1, 3))
                    .map(|b| {
                        let p = format!("{name}b{b}_");
                        let len = rng.range_i64(1, 4) as usize;
                        json!({"StartAt": format!("{p}0"), "States": random_states(rng, &p, len, depth - 1, mocks)})
                    })
                    .collect();
                s.insert("Branches".into(), Value::Array(branches));
                set_next(&mut s, rng);
            }
            _ => {
                let p = format!("{name}m_");
                let len = rng.range_i64(1, 4) as usize;
                let inner = random_states(rng, &p, len, depth - 1, mocks);
                s.insert(
                    "ItemProcessor".into(),
                    json!({"StartAt": format!("{p}0"), "States": inner}),
                );
                if jsonata {
                    s.insert("Items".into(), json!(pick(rng, JSONATA)));
                } else if chance(rng, 70) {
                    s.insert(
                        "ItemsPath".into(),
                        json!(if chance(rng, 70) {
                            "$.items"
                        } else {
                            any_path(rng)
                        }),
                    );
                }
                if chance(rng, 30) {
                    s.insert("ItemSelector".into(), template(rng, jsonata));
                }
                if chance(rng, 20) {
                    s.insert("ToleratedFailureCount".into(), json!(1));
                }
                set_next(&mut s, rng);
            }
        }
        states.insert(name, Value::Object(s));
    }
    Value::Object(states)
}

fn random_case(seed: u64) -> (Value, Value, Mocks) {
    let mut rng = Rng::new(seed);
    let mut mock_names = Vec::new();
    let n = rng.range_i64(1, 7) as usize;
    let states = random_states(&mut rng, "S", n, 2, &mut mock_names);
    let mut def = json!({"StartAt": "S0", "States": states});
    if chance(&mut rng, 20) {
        def["QueryLanguage"] = json!("JSONata");
    }
    let mut mocks = Map::new();
    for name in mock_names {
        if chance(&mut rng, 95) {
            let responses: Vec<Value> = (0..rng.range_i64(1, 4))
                .map(|_| {
                    if chance(&mut rng, 30) {
                        json!({"error": "Boom", "cause": "mocked"})
                    } else if chance(&mut rng, 10) {
                        json!({"return": random_json(&mut rng, 2), "delaySeconds": 3})
                    } else {
                        json!({"return": random_json(&mut rng, 2)})
                    }
                })
                .collect();
            mocks.insert(name, Value::Array(responses));
        }
    }
    let mocks = Mocks::from_value(&Value::Object(mocks)).expect("generated mocks are well formed");
    let mut input = Map::new();
    for k in ["a", "b", "s"] {
        input.insert(k.into(), random_json(&mut rng, 2));
    }
    input.insert("n".into(), json!(rng.range_i64(0, 5)));
    input.insert(
        "items".into(),
        Value::Array(
            (0..rng.range_i64(0, 4))
                .map(|_| random_json(&mut rng, 1))
                .collect(),
        ),
    );
    let input = if chance(&mut rng, 10) {
        random_json(&mut rng, 3)
    } else {
        Value::Object(input)
    };
    (def, input, mocks)
}

fn check_execution(
    def: &Value,
    input: &Value,
    mocks: &Mocks,
    limit: usize,
) -> Result<Execution, SimulateError> {
    let opts = Options {
        max_transitions: limit,
        ..Options::default()
    };
    let result = simulate(def, input, mocks, &opts);
    if let Ok(exec) = &result {
        assert!(exec.transitions <= limit, "{def}");
        assert_eq!(
            exec.history.first().map(|e| e["type"].clone()),
            Some(json!("ExecutionStarted"))
        );
        let last = exec
            .history
            .last()
            .map(|e| e["type"].as_str().unwrap_or_default().to_string());
        match exec.status {
            Status::Succeeded => {
                assert!(exec.output.is_some());
                assert_eq!(last.as_deref(), Some("ExecutionSucceeded"));
            }
            Status::Failed => {
                assert!(exec.output.is_none());
                assert_eq!(last.as_deref(), Some("ExecutionFailed"));
            }
        }
    }
    result
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_machines_terminate_without_panicking(seed in any::<u64>()) {
        let (def, input, mocks) = random_case(seed);
        let first = check_execution(&def, &input, &mocks, 300);
        // Deterministic: the same run twice gives the same result, history included.
        let second = simulate(&def, &input, &mocks, &Options { max_transitions: 300, ..Options::default() });
        prop_assert_eq!(first, second);
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,60}") {
        let _ = Path::parse(&text);
        let _ = intrinsics::parse(&text);
        let mut rng = Rng::new(1);
        let _ = Evaluator::new(&mut rng, 0).evaluate(&text, &json!({"a": [1, 2]}), &Env::with_vars(vec![]));
    }

    #[test]
    fn jsonata_like_text_never_panics(text in "[$a-z0-9 .()\\[\\]{}'\",:;=<>!?*/%&|~^#@+-]{0,50}") {
        let mut rng = Rng::new(1);
        let _ = Evaluator::new(&mut rng, 0).evaluate(&text, &json!({"a": {"b": [1, {"c": 2}]}}), &Env::with_vars(vec![]));
    }

    #[test]
    fn intrinsic_like_text_never_panics(
        f in prop::sample::select(vec!["Format", "Array", "ArrayPartition", "ArrayRange", "MathAdd", "StringSplit", "JsonMerge", "Hash", "ArrayGetItem"]),
        args in "[$.a-z0-9 ,'(){}\\\\-]{0,30}",
    ) {
        let text = format!("States.{f}({args})");
        if let Ok(expr) = intrinsics::parse(&text) {
            let input = json!({"a": [1, 2, 3], "s": "x,y"});
            let resolve = |p: &Path| p.select(&input).ok_or_else(|| sfn_simulate::Failure::new("States.Runtime", "missing"));
            let _ = intrinsics::eval(&expr, &resolve, &mut Rng::new(3));
        }
    }

    #[test]
    fn result_path_merges_the_result_into_the_input(
        key in "[a-z]{1,8}",
        result in prop::collection::vec(any::<i32>(), 0..4),
        other in any::<i64>(),
    ) {
        let def = json!({"StartAt": "P", "States": {"P": {
            "Type": "Pass", "Result": result, "ResultPath": format!("$.{key}.inner"), "End": true}}});
        let input = json!({"keep": other});
        let exec = simulate(&def, &input, &Mocks::new(), &Options::default()).unwrap();
        prop_assert_eq!(exec.output.unwrap(), json!({"keep": other, key: {"inner": result}}));
    }

    #[test]
    fn map_preserves_order_and_length(items in prop::collection::vec(any::<i32>(), 0..20)) {
        let def = json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.xs",
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}});
        let exec = simulate(&def, &json!({"xs": items}), &Mocks::new(), &Options::default()).unwrap();
        let expected: Vec<Value> = items.iter().enumerate().map(|(i, v)| json!({"v": v, "i": i})).collect();
        prop_assert_eq!(exec.output.unwrap(), Value::Array(expected));
    }

    #[test]
    fn loops_stop_at_the_transition_limit(limit in 1usize..200) {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}});
        let err = simulate(&def, &json!({}), &Mocks::new(), &Options { max_transitions: limit, ..Options::default() }).unwrap_err();
        let hit = matches!(err, SimulateError::TransitionLimit { limit: l, .. } if l == limit);
        prop_assert!(hit, "{:?}", err);
    }

    #[test]
    fn retries_wait_on_the_virtual_clock(attempts in 0u32..6, interval in 1u32..10) {
        let def = json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": interval, "BackoffRate": 2, "MaxAttempts": attempts}],
            "End": true}}});
        let mocks = Mocks::from_yaml("T:\n  error: Boom\n").unwrap();
        let exec = simulate(&def, &json!({}), &mocks, &Options::default()).unwrap();
        prop_assert_eq!(exec.status, Status::Failed);
        let expected: i64 = (0..attempts).map(|k| interval as i64 * 1000 * 2i64.pow(k)).sum();
        prop_assert_eq!(exec.elapsed_ms, expected);
    }
}

#[test]
#[ignore = "long fuzz run: cargo test --test simulate_props -- --ignored"]
fn fuzz_long() {
    let cases: u64 = std::env::var("SIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let (mut succeeded, mut failed, mut errors, mut transitions) = (0, 0, 0, 0);
    let mut names = std::collections::BTreeMap::new();
    for seed in 0..cases {
        let (def, input, mocks) = random_case(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let r = std::panic::catch_unwind(|| check_execution(&def, &input, &mocks, 500));
        match r {
            Ok(Ok(exec)) => {
                transitions += exec.transitions;
                match exec.status {
                    Status::Succeeded => succeeded += 1,
                    Status::Failed => {
                        failed += 1;
                        *names
                            .entry(exec.error.unwrap_or_default())
                            .or_insert(0usize) += 1;
                    }
                }
            }
            Ok(Err(e)) => {
                errors += 1;
                let kind = format!("{e:?}");
                *names
                    .entry(
                        kind.split([' ', '{'])
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    )
                    .or_insert(0usize) += 1;
            }
            Err(_) => panic!("seed {seed}: panic on {def} with input {input}"),
        }
    }
    println!(
        "{cases} random machines: {succeeded} succeeded, {failed} failed, {errors} simulation errors, {transitions} transitions; outcomes {names:?}"
    );
    // The generator must exercise real runs, not only definitions rejected up front.
    assert!(
        succeeded > cases / 10 && failed > cases / 10,
        "generator too narrow"
    );
}

#[test]
fn deeply_nested_inputs_and_expressions_are_errors_not_crashes() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let mut rng = Rng::new(1);
    assert!(
        Evaluator::new(&mut rng, 0)
            .evaluate(&deep, &json!({}), &Env::with_vars(vec![]))
            .is_err()
    );
    let recursive = "($f := function($n) { $f($n + 1) }; $f(0))";
    assert!(
        Evaluator::new(&mut rng, 0)
            .evaluate(recursive, &json!({}), &Env::with_vars(vec![]))
            .is_err()
    );
    let nested_intrinsic = format!("{}1{}", "States.Array(".repeat(500), ")".repeat(500));
    assert!(intrinsics::parse(&nested_intrinsic).is_err());
    // A definition nesting Parallel states deeper than any real machine is rejected, not a stack overflow.
    let mut branch = json!({"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}});
    for _ in 0..60 {
        branch = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch], "End": true}}});
    }
    let mut nested = json!(1);
    for _ in 0..100 {
        nested = json!([nested]);
    }
    let r = simulate(&branch, &nested, &Mocks::new(), &Options::default());
    assert!(
        matches!(r, Err(SimulateError::InvalidDefinition { .. })),
        "{r:?}"
    );
}
