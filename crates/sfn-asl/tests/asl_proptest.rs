//! Property tests: the compiler never panics on arbitrary specs and every transition it emits resolves; the
//! ASL parser and validator never panic on arbitrary (mutated) documents, and whatever parses round-trips.
//!
//! The parser run is long by default (`ASL_PARSER_CASES`, default 4000 cases); set it higher for a fuzz-like
//! soak, e.g. `ASL_PARSER_CASES=200000 cargo test -p sfn-operator --release --test asl_proptest`.

use sfn_test_support as support;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_api::StateMachineSpec;
use sfn_asl::model::{Definition, StateKind, States};
use sfn_asl::{MapResolver, compile_state_machine, validate};

fn resolver() -> MapResolver {
    let mut r = MapResolver::default();
    let ti = serde_json::from_value(json!({
        "lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    }))
    .unwrap();
    r.task_integrations.insert("fn".into(), ti);
    r
}

/// Every Next / Default / Catch target of a scope names a state of that scope, recursively.
fn transitions_resolve(start: &str, states: &States) -> Result<(), String> {
    if !states.contains_key(start) {
        return Err(format!("StartAt {start:?} unresolved"));
    }
    for (name, s) in states {
        let mut targets: Vec<&str> = s.next.iter().map(String::as_str).collect();
        targets.extend(s.catch.iter().flatten().map(|c| c.next.as_str()));
        match &s.kind {
            StateKind::Choice(c) => {
                targets.extend(c.choices.iter().map(|b| b.next.as_str()));
                targets.extend(c.default.as_deref());
            }
            StateKind::Parallel(p) => {
                for b in &p.branches {
                    transitions_resolve(&b.start_at, &b.states)?;
                }
            }
            StateKind::Map(m) => transitions_resolve(&m.processor.start_at, &m.processor.states)?,
            _ => {}
        }
        for t in targets {
            if !states.contains_key(t) {
                return Err(format!("{name} -> {t:?} unresolved"));
            }
        }
    }
    Ok(())
}

// ---- arbitrary specs: any shape, names from a small pool so references sometimes resolve ----

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["A", "B", "C", "D", "E", "F", "G", ""]).prop_map(str::to_owned)
}

fn leaf_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..100).prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "$",
            "$.a",
            "$$.Task.Token",
            "{% $x %}",
            "x",
            "$.a[*]",
            "States.ALL"
        ])
        .prop_map(|s| json!(s)),
    ]
}

fn arbitrary_state(depth: u32) -> BoxedStrategy<Value> {
    let types = prop::sample::select(vec![
        "Task", "Pass", "Wait", "Choice", "Parallel", "Map", "Succeed", "Fail", "Fragment",
    ]);
    let base = (
        name(),
        types,
        prop::option::of(name()),
        prop::option::of(any::<bool>()),
        prop::option::of(leaf_value()),
        prop::option::of(prop::sample::select(vec!["fn", "missing"])),
        prop::option::of(prop::sample::select(vec![
            "$.a == 1",
            "$.a > ",
            "$.s == \"x\" && !($.b == true)",
            "{% $states.input.ok %}",
        ])),
    );
    if depth == 0 {
        return base
            .prop_map(|(n, t, next, end, v, integ, cond)| {
                state_json(n, t, next, end, v, integ, cond, vec![])
            })
            .boxed();
    }
    (
        base,
        prop::collection::vec(arbitrary_state(depth - 1), 0..3),
    )
        .prop_map(|((n, t, next, end, v, integ, cond), nested)| {
            state_json(n, t, next, end, v, integ, cond, nested)
        })
        .boxed()
}

#[allow(clippy::too_many_arguments)]
fn state_json(
    name: String,
    ty: &str,
    next: Option<String>,
    end: Option<bool>,
    value: Option<Value>,
    integration: Option<&str>,
    condition: Option<&str>,
    nested: Vec<Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("type".into(), json!(ty));
    if let Some(n) = next {
        m.insert("next".into(), json!(n));
    }
    if let Some(e) = end {
        m.insert("end".into(), json!(e));
    }
    match ty {
        "Task" => {
            if let Some(i) = integration {
                m.insert("integration".into(), json!(i));
            } else {
                m.insert("resource".into(), json!("arn:aws:states:::sns:publish"));
            }
            if let Some(v) = value {
                m.insert("parameters".into(), json!({"k.$": v}));
            }
        }
        "Pass" => {
            if let Some(v) = value {
                m.insert("result".into(), v);
            }
        }
        "Wait" => {
            m.insert("seconds".into(), json!(1));
        }
        "Choice" => {
            let cond = condition.unwrap_or("$.a == 1");
            m.insert(
                "choices".into(),
                json!([{"condition": cond, "states": nested.clone()}]),
            );
            m.insert("defaultStates".into(), Value::Array(nested));
        }
        "Parallel" => {
            m.insert("branches".into(), json!([{"states": nested}]));
        }
        "Map" => {
            m.insert("itemProcessor".into(), json!({"states": nested}));
        }
        "Fragment" => {
            m.insert("fragment".into(), json!("frag"));
            m.insert("prefix".into(), json!("p-"));
        }
        _ => {}
    }
    Value::Object(m)
}

fn arbitrary_spec() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(arbitrary_state(2), 1..6),
        prop::collection::vec(arbitrary_state(1), 1..3),
        prop::option::of(prop::sample::select(vec!["JSONPath", "JSONata"])),
    )
        .prop_map(|(states, frag, ql)| {
            let mut def = json!({"states": states});
            if let Some(q) = ql {
                def["queryLanguage"] = json!(q);
            }
            json!({"definition": def, "fragments": [{"name": "frag", "states": frag}]})
        })
}

// ---- well-formed specs: unique names, chains only, so they must compile ----

fn wellformed_list(depth: u32) -> BoxedStrategy<Vec<Value>> {
    let kind = prop::sample::select(vec!["Pass", "Wait", "Task", "Choice", "Parallel", "Map"]);
    let leaf = prop::collection::vec(kind.clone(), 1..5).prop_map(|kinds| {
        kinds
            .into_iter()
            .map(|k| match k {
                "Wait" => json!({"type": "Wait", "seconds": 1}),
                "Task" => json!({"type": "Task"}),
                _ => json!({"type": "Pass"}),
            })
            .collect::<Vec<_>>()
    });
    if depth == 0 {
        return leaf.boxed();
    }
    prop::collection::vec((kind, wellformed_list(depth - 1), wellformed_list(depth - 1)), 1..5)
        .prop_map(|items| {
            items
                .into_iter()
                .map(|(k, a, b)| match k {
                    "Choice" => json!({"type": "Choice", "choices": [{"condition": "$.x > 1", "states": a}], "defaultStates": b}),
                    "Parallel" => json!({"type": "Parallel", "branches": [{"states": a}, {"states": b}]}),
                    "Map" => json!({"type": "Map", "itemsPath": "$.items", "itemProcessor": {"states": a}}),
                    "Wait" => json!({"type": "Wait", "seconds": 1}),
                    other => json!({"type": other}),
                })
                .collect()
        })
        .boxed()
}

/// Gives every state a unique name and Tasks their integration.
fn name_states(list: &mut [Value], counter: &mut usize) {
    for s in list.iter_mut() {
        *counter += 1;
        s["name"] = json!(format!("S{counter}"));
        if s["type"] == "Task" {
            s["integration"] = json!("fn");
        }
        for key in ["defaultStates"] {
            if let Some(Value::Array(l)) = s.get_mut(key) {
                name_states(l, counter);
            }
        }
        if let Some(Value::Array(cs)) = s.get_mut("choices") {
            for c in cs {
                if let Some(Value::Array(l)) = c.get_mut("states") {
                    name_states(l, counter);
                }
            }
        }
        if let Some(Value::Array(bs)) = s.get_mut("branches") {
            for b in bs {
                if let Some(Value::Array(l)) = b.get_mut("states") {
                    name_states(l, counter);
                }
            }
        }
        if let Some(Value::Array(l)) = s.get_mut("itemProcessor").and_then(|p| p.get_mut("states"))
        {
            name_states(l, counter);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn compiler_never_panics_and_emitted_transitions_resolve(spec in arbitrary_spec()) {
        let Ok(spec) = serde_json::from_value::<StateMachineSpec>(spec) else { return Ok(()) };
        if let Ok(c) = compile_state_machine(&spec, &resolver()) {
            let d = &c.definition;
            prop_assert!(transitions_resolve(&d.start_at, &d.states).is_ok());
        }
    }

    #[test]
    fn wellformed_chains_always_compile(mut list in wellformed_list(2)) {
        let mut n = 0;
        name_states(&mut list, &mut n);
        let spec: StateMachineSpec = serde_json::from_value(json!({"definition": {"states": list}})).unwrap();
        match compile_state_machine(&spec, &resolver()) {
            Ok(c) => {
                let d = &c.definition;
                prop_assert!(transitions_resolve(&d.start_at, &d.states).is_ok(), "{}", c.json);
            }
            Err(e) => prop_assert!(false, "did not compile: {e}"),
        }
    }
}

// ---- the ASL parser on mutated real documents ----

fn reference_documents() -> Vec<Value> {
    let root = support::shared_reference_dir();
    let mut out = Vec::new();
    for dir in ["cdk-iam", "sfn-executions"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
            .collect();
        paths.sort();
        for p in paths {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            if dir == "cdk-iam" {
                if p.to_string_lossy().ends_with(".asl.json") {
                    out.push(v);
                }
            } else {
                out.push(v["definition"].clone());
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Replace(usize, Value),
    Insert(usize, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop::sample::select(vec![
        "Type",
        "Next",
        "End",
        "Choices",
        "Default",
        "Branches",
        "ItemProcessor",
        "States",
        "StartAt",
        "Retry",
        "Catch",
        "ResultPath",
        "Parameters",
        "Seconds",
        "Bogus",
        "QueryLanguage",
        "Variable",
    ])
    .prop_map(str::to_owned);
    let value = prop_oneof![
        leaf_value(),
        Just(json!({})),
        Just(json!([])),
        Just(json!([{"ErrorEquals": ["States.ALL"]}])),
        Just(json!({"Type": "Pass", "End": true})),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), value.clone()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (any::<usize>(), key, value).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
    ]
}

/// Applies a mutation to the `i`-th object/array node (in depth-first order) of `doc`.
fn mutate(doc: &mut Value, m: &Mutation) {
    let mut count = 0usize;
    fn count_nodes(v: &Value, n: &mut usize) {
        match v {
            Value::Object(o) => {
                *n += 1;
                o.values().for_each(|c| count_nodes(c, n));
            }
            Value::Array(a) => {
                *n += 1;
                a.iter().for_each(|c| count_nodes(c, n));
            }
            _ => {}
        }
    }
    count_nodes(doc, &mut count);
    let target = match m {
        Mutation::Delete(i) | Mutation::Replace(i, _) | Mutation::Insert(i, _, _) => {
            i % count.max(1)
        }
    };
    fn walk(v: &mut Value, target: usize, seen: &mut usize, m: &Mutation) -> bool {
        let here = *seen;
        match v {
            Value::Object(o) => {
                *seen += 1;
                if here == target {
                    match m {
                        Mutation::Delete(i) if !o.is_empty() => {
                            let k = o.keys().nth(i % o.len()).cloned().unwrap();
                            o.remove(&k);
                        }
                        Mutation::Replace(i, val) if !o.is_empty() => {
                            let k = o.keys().nth(i % o.len()).cloned().unwrap();
                            o.insert(k, val.clone());
                        }
                        Mutation::Insert(_, k, val) => {
                            o.insert(k.clone(), val.clone());
                        }
                        _ => {}
                    }
                    return true;
                }
                o.values_mut().any(|c| walk(c, target, seen, m))
            }
            Value::Array(a) => {
                *seen += 1;
                if here == target {
                    match m {
                        Mutation::Delete(i) if !a.is_empty() => {
                            let n = a.len();
                            a.remove(i % n);
                        }
                        Mutation::Replace(i, val) if !a.is_empty() => {
                            let n = a.len();
                            a[i % n] = val.clone();
                        }
                        Mutation::Insert(_, _, val) => a.push(val.clone()),
                        _ => {}
                    }
                    return true;
                }
                a.iter_mut().any(|c| walk(c, target, seen, m))
            }
            _ => false,
        }
    }
    let mut seen = 0;
    walk(doc, target, &mut seen, m);
}

fn parser_cases() -> u32 {
    std::env::var("ASL_PARSER_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000)
}

#[test]
fn parser_and_validator_survive_mutated_documents() {
    let docs = reference_documents();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: parser_cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (0..docs.len(), prop::collection::vec(mutation(), 1..4));
    runner
        .run(&strategy, |(i, muts)| {
            let mut doc = docs[i].clone();
            for m in &muts {
                mutate(&mut doc, m);
            }
            if let Ok(def) = Definition::from_json(&doc) {
                let _ = validate(&def);
                let again = Definition::from_json(&def.to_json());
                prop_assert_eq!(again.as_ref(), Ok(&def));
            }
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, .. ProptestConfig::default() })]

    /// Path, intrinsic and JSONata checks take any user string (including multi-byte text) without panicking.
    #[test]
    fn string_checks_never_panic(
        s in prop_oneof![
            any::<String>(),
            "[$.'\\[\\]\\(\\),a-zé0-9 *?@:-]{0,24}",
            "States\\.[A-Za-z]{0,12}\\([$.'é0-9, a-z\\\\()]{0,24}\\)?",
            "\\{%[^%]{0,10}%?\\}?",
        ]
    ) {
        let _ = sfn_asl::paths::check_path(&s);
        let _ = sfn_asl::paths::check_reference_path(&s);
        let _ = sfn_asl::paths::check_intrinsic(&s);
        let _ = sfn_asl::paths::check_jsonata(&s);
    }
}
