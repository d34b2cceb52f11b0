//! Every Choice rule in the reference state machines (recorded against AWS, and the CDK's own output) prints
//! as an expression that parses back to the same rule: the expression language covers what real definitions use.

use sfn_test_support as support;

use std::path::Path;

use serde_json::{Map, Value};
use sfn_asl::condition::{parse, print};

fn collect_rules(states: &Value, out: &mut Vec<Value>) {
    let Some(states) = states.as_object() else {
        return;
    };
    for state in states.values() {
        if let Some(choices) = state.get("Choices").and_then(Value::as_array) {
            out.extend(choices.iter().cloned());
        }
        for branch in state
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_rules(&branch["States"], out);
        }
        for key in ["Iterator", "ItemProcessor"] {
            if let Some(processor) = state.get(key) {
                collect_rules(&processor["States"], out);
            }
        }
    }
}

fn definition_of(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    // Execution cases wrap the definition (sometimes as a JSON string); `.asl.json` files are the definition.
    let definition = doc.get("definition").cloned().unwrap_or(doc);
    match definition {
        Value::String(s) => serde_json::from_str(&s).ok(),
        other => Some(other),
    }
}

/// The rule without the fields that sit beside the condition.
fn condition_only(rule: &Value) -> Value {
    let obj: Map<String, Value> = rule
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), "Next" | "Comment" | "Assign" | "Output"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(obj)
}

#[test]
fn reference_choice_rules_round_trip() {
    let reference = support::shared_reference_dir();
    let mut rules = Vec::new();
    for dir in ["sfn-executions", "cdk-iam"] {
        let mut files: Vec<_> = std::fs::read_dir(reference.join(dir))
            .unwrap_or_else(|e| panic!("{}: {e}", reference.join(dir).display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            if let Some(definition) = definition_of(&file) {
                collect_rules(&definition["States"], &mut rules);
            }
        }
    }
    assert!(
        rules.len() >= 30,
        "expected the reference data to hold Choice rules, found {}",
        rules.len()
    );
    for rule in &rules {
        let text = print(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
        let back = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(back, condition_only(rule), "{text}");
    }
}
