//! Every manifest in `examples/` parses into the API types, is self-contained (every reference resolves
//! inside the file), satisfies the rules the CRDs enforce, and survives a round trip through the types
//! without losing or adding anything. Examples cannot rot silently.

use sfn_test_support as support;

use std::collections::BTreeSet;

use serde_json::Value;
use sfn_api::manifest::{Bundle, load_paths};
use sfn_api::{Service, State, StateType, parse_states};

fn load(path: &std::path::Path) -> Bundle {
    load_paths(&[path.to_path_buf()]).unwrap_or_else(|err| panic!("{err}"))
}

/// Every state of a list, including nested ones, with its path.
fn walk(states: &[State], path: &str, out: &mut Vec<(String, State)>) {
    for (i, state) in states.iter().enumerate() {
        let here = format!("{path}[{i}]");
        out.push((here.clone(), state.clone()));
        for (relative, values) in state.nested_state_lists() {
            let list_path = format!("{here}.{relative}");
            let nested = parse_states(values, &list_path).unwrap_or_else(|err| panic!("{err}"));
            walk(&nested, &list_path, out);
        }
    }
}

#[test]
fn examples_exist_for_every_seed_scenario() {
    let names: BTreeSet<String> = support::example_files()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "job-poller",
        "sns-publish",
        "sqs-send",
        "ecs-fargate",
        "sagemaker-transform",
        "nested-task-token",
        "parallel",
        "activity",
        "fragments",
        "map",
        "choice-afterwards",
        "jsonata",
        "definition-json",
    ] {
        assert!(
            names.contains(expected),
            "examples/{expected}.yaml is missing"
        );
    }
}

#[test]
fn every_example_parses_is_self_contained_and_follows_the_rules() {
    let files = support::example_files();
    assert!(!files.is_empty());
    for file in files {
        let shown = file.display().to_string();
        let bundle = load(&file);
        assert!(
            !bundle.state_machines.is_empty(),
            "{shown}: no StateMachine"
        );
        let violations = bundle.rule_violations();
        assert!(violations.is_empty(), "{shown}: {violations:?}");

        for ti in &bundle.task_integrations {
            assert_eq!(ti.metadata.namespace.as_deref(), Some("demo"), "{shown}");
            match ti.spec.service().expect("one service block") {
                Service::StepFunctions(sf) => {
                    if let Some(r) = &sf.state_machine_ref {
                        let target = bundle.state_machine("demo", &r.name);
                        assert!(target.is_some(), "{shown}: {}", r.name);
                        if let (Some(alias), Some(target)) = (&sf.alias, target) {
                            assert!(
                                target.spec.aliases.iter().any(|a| &a.name == alias),
                                "{shown}: {} declares no alias {alias}",
                                r.name
                            );
                        }
                    }
                }
                Service::Activity(a) => {
                    if let Some(r) = &a.activity_ref {
                        assert!(
                            bundle.activity("demo", &r.name).is_some(),
                            "{shown}: {}",
                            r.name
                        );
                    }
                }
                _ => {}
            }
        }

        for sm in &bundle.state_machines {
            assert_eq!(sm.metadata.namespace.as_deref(), Some("demo"), "{shown}");
            if let Some(json) = &sm.spec.definition_json {
                let asl: Value = serde_json::from_str(json).expect("definitionJson is JSON");
                assert!(
                    asl.get("StartAt").is_some() && asl.get("States").is_some(),
                    "{shown}"
                );
                continue;
            }
            let definition = sm.spec.definition.as_ref().expect("a definition");
            let mut all = Vec::new();
            walk(&definition.states, "spec.definition.states", &mut all);
            for (f, fragment) in sm.spec.fragments.iter().enumerate() {
                walk(
                    &fragment.states,
                    &format!("spec.fragments[{f}].states"),
                    &mut all,
                );
            }
            let names: BTreeSet<&str> = all.iter().map(|(_, s)| s.name.as_str()).collect();
            for (path, state) in &all {
                if let Some(integration) = &state.integration {
                    assert!(
                        bundle.task_integration("demo", integration).is_some(),
                        "{shown}: {path}: integration {integration} is not in the file"
                    );
                }
                if state.type_ == StateType::Fragment {
                    let wanted = state.fragment.as_deref().unwrap();
                    assert!(
                        sm.spec.fragments.iter().any(|f| f.name == wanted),
                        "{shown}: {path}: fragment {wanted} is not defined"
                    );
                }
                let targets = state
                    .next
                    .iter()
                    .chain(state.default.iter())
                    .chain(state.choices.iter().filter_map(|c| c.next.as_ref()))
                    .chain(state.catch.iter().map(|c| &c.next));
                for target in targets {
                    assert!(
                        names.contains(target.as_str()),
                        "{shown}: {path}: {target} is not a state"
                    );
                }
            }
            for alarm in &sm.spec.alarms {
                if let Some(state) = &alarm.state {
                    assert!(names.contains(state.as_str()), "{shown}: alarm on {state}");
                }
            }
        }
    }
}

/// JSON equality where `2` and `2.0` are the same number (YAML integers become `f64` fields).
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

#[test]
fn examples_round_trip_through_the_types_without_noise() {
    for file in support::example_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let originals: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        let bundle = load(&file);
        let mut typed: Vec<Value> = Vec::new();
        typed.extend(
            bundle
                .state_machines
                .iter()
                .map(|o| serde_json::to_value(o).unwrap()),
        );
        typed.extend(
            bundle
                .task_integrations
                .iter()
                .map(|o| serde_json::to_value(o).unwrap()),
        );
        typed.extend(
            bundle
                .activities
                .iter()
                .map(|o| serde_json::to_value(o).unwrap()),
        );
        assert_eq!(originals.len(), typed.len(), "{}", file.display());
        for original in &originals {
            let back = typed
                .iter()
                .find(|t| {
                    t["kind"] == original["kind"]
                        && t["metadata"]["name"] == original["metadata"]["name"]
                })
                .expect("object read back");
            assert!(
                same(original, back),
                "{}: {} {} changed in a round trip:\n{}\nvs\n{}",
                file.display(),
                original["kind"],
                original["metadata"]["name"],
                serde_json::to_string_pretty(original).unwrap(),
                serde_json::to_string_pretty(back).unwrap()
            );
        }
    }
}

#[test]
fn nullable_paths_survive_a_round_trip() {
    let bundle = load(&support::workspace_root().join("examples/sns-publish.yaml"));
    let sm = bundle.state_machine("demo", "sns-publish").unwrap();
    let first = &sm.spec.definition.as_ref().unwrap().states[0];
    assert_eq!(first.result_path, Some(None));
    let json = serde_json::to_value(first).unwrap();
    assert!(json.as_object().unwrap().contains_key("resultPath"));
    assert_eq!(json["resultPath"], Value::Null);
    assert!(!json.as_object().unwrap().contains_key("inputPath"));
}

/// The README shows the complete rollout example as it is in `examples/` (which the other tests check), so the
/// manifest a reader copies is one that works.
#[test]
fn the_readme_rollout_manifest_is_the_example() {
    let root = support::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/rollout.yaml")).unwrap();
    let manifest = &example[example.find("apiVersion").expect("a manifest")..];
    assert!(
        readme.contains(&format!("```yaml\n{manifest}```")),
        "README.md's progressive delivery manifest differs from examples/rollout.yaml"
    );
}
