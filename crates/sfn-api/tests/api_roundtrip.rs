//! Property tests: any state a user can write survives JSON → types → YAML → types → JSON unchanged.
//! This is what "a round trip of a manifest adds no noise" means for the controller (which reads objects
//! as JSON and writes them back) and for the offline commands (which read YAML): absent fields stay
//! absent, `null` paths stay `null`, user data keeps its keys verbatim.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_api::{State, StateMachineSpec, TaskIntegrationSpec};

fn text() -> impl Strategy<Value = String> {
    // Include characters YAML treats specially, so quoting is exercised.
    prop_oneof![
        "[A-Za-z][A-Za-z0-9 ]{0,12}",
        Just("$.a.b".to_string()),
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("1234".to_string()),
        Just("a: b # c".to_string()),
        Just("{% $x %}".to_string()),
        Just("- dash".to_string()),
    ]
}

fn user_data() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z.$:]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,6}(\\.\\$)?", user_data(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn nullable_path() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        "\\$(\\.[a-z]{1,5}){0,2}".prop_map(|p| Some(Value::String(p))),
    ]
}

fn state() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(vec![
        "Task", "Pass", "Wait", "Choice", "Parallel", "Map", "Succeed", "Fail",
    ]);
    (
        text(),
        types,
        prop::option::of(text()),
        prop::option::of(any::<bool>()),
        (nullable_path(), nullable_path(), nullable_path()),
        (prop::option::of(object()), prop::option::of(user_data())),
        prop::option::of(prop_oneof![
            (0i64..100_000).prop_map(|n| json!(n)),
            text().prop_map(Value::String)
        ]),
        prop::collection::vec((1u32..10, 1.0f64..4.0, nullable_path()), 0..3),
    )
        .prop_map(
            |(name, ty, next, end, paths, (parameters, result), seconds, errors)| {
                let mut m = Map::new();
                m.insert("name".into(), json!(name));
                m.insert("type".into(), json!(ty));
                if let Some(next) = next {
                    m.insert("next".into(), json!(next));
                }
                if let Some(end) = end {
                    m.insert("end".into(), json!(end));
                }
                for (key, path) in [("inputPath", paths.0), ("outputPath", paths.1), ("resultPath", paths.2)] {
                    if let Some(path) = path {
                        m.insert(key.into(), path);
                    }
                }
                if let Some(parameters) = parameters {
                    m.insert("parameters".into(), parameters);
                }
                if let Some(result) = result {
                    m.insert("result".into(), result);
                }
                if let Some(seconds) = seconds {
                    m.insert("seconds".into(), seconds);
                }
                if !errors.is_empty() {
                    let retry: Vec<Value> = errors
                        .iter()
                        .map(|(attempts, rate, _)| {
                            json!({"errorEquals": ["States.ALL"], "maxAttempts": attempts, "backoffRate": rate})
                        })
                        .collect();
                    let catch: Vec<Value> = errors
                        .iter()
                        .map(|(_, _, path)| {
                            let mut c = json!({"errorEquals": ["States.TaskFailed"], "next": "Handle"});
                            if let Some(path) = path {
                                c["resultPath"] = path.clone();
                            }
                            c
                        })
                        .collect();
                    m.insert("retry".into(), Value::Array(retry));
                    m.insert("catch".into(), Value::Array(catch));
                }
                if ty == "Parallel" {
                    m.insert("branches".into(), json!([{"states": [{"name": "Inner", "type": "Pass", "resultPath": null}]}]));
                }
                Value::Object(m)
            },
        )
}

/// The YAML names of every State field, from the schema.
fn state_fields() -> Vec<String> {
    let schema = schemars::schema_for!(State);
    schema.as_value()["properties"]
        .as_object()
        .expect("State has properties")
        .keys()
        .cloned()
        .collect()
}

/// Field order is not part of the contract; compare as sets of keys, numbers by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

proptest! {
    #[test]
    fn states_round_trip_through_json_and_yaml(doc in state()) {
        let typed: State = serde_json::from_value(doc.clone()).expect("valid state");
        let back = serde_json::to_value(&typed).unwrap();
        prop_assert!(same(&doc, &back), "JSON round trip:\n{doc:#}\n{back:#}");

        let yaml = serde_saphyr::to_string(&typed).unwrap();
        let from_yaml: State = serde_saphyr::from_str(&yaml).unwrap();
        prop_assert_eq!(&from_yaml, &typed, "YAML round trip via:\n{}", yaml);
    }

    #[test]
    fn unknown_fields_are_rejected_by_name(doc in state(), key in "[a-zA-Z]{3,12}") {
        prop_assume!(!state_fields().contains(&key));
        let mut doc = doc;
        doc[key.as_str()] = json!(1);
        let err = serde_json::from_value::<State>(doc).unwrap_err().to_string();
        let expected = format!("unknown field `{key}`");
        prop_assert!(err.contains(&expected), "{}", err);
    }
}

#[test]
fn specs_reject_unknown_fields_naming_them() {
    let err = serde_json::from_value::<StateMachineSpec>(
        json!({"definitionJson": "{}", "tracing": {"enabled": true, "sampling": 1}}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `sampling`"), "{err}");
    let err = serde_json::from_value::<TaskIntegrationSpec>(json!({"lamda": {"functionArn": "x"}}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `lamda`"), "{err}");
}
