//! Round trip and validation of real ASL documents: the CDK integration-test machines and the AWS-recorded
//! executions under `shared/reference`. Parse → emit must give a semantically equal document, and every
//! one of these definitions (all accepted by AWS) must pass the validator.

use sfn_test_support as support;

use serde_json::Value;
use sfn_asl::{model::Definition, validate_json};

fn reference_definitions() -> Vec<(String, Value)> {
    let root = support::shared_reference_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("cdk-iam")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".asl.json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            out.push((name, v));
        }
    }
    for entry in std::fs::read_dir(root.join("sfn-executions")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let def = match &v["definition"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            d => d.clone(),
        };
        out.push((name, def));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() > 150, "reference data incomplete: {}", out.len());
    out
}

#[test]
fn every_reference_definition_round_trips() {
    for (name, doc) in reference_definitions() {
        let def = Definition::from_json(&doc).unwrap_or_else(|errs| {
            panic!(
                "{name}: {}",
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let emitted = def.to_json();
        assert_eq!(emitted, doc, "{name}: emitted document differs");
        let again = Definition::from_json(&emitted).unwrap();
        assert_eq!(again, def, "{name}: second parse differs");
    }
}

#[test]
fn every_reference_definition_validates() {
    let mut failures = Vec::new();
    for (name, doc) in reference_definitions() {
        if let Err(errs) = validate_json(&doc) {
            for e in errs {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn emitted_fields_follow_aws_order() {
    let doc: Value = serde_json::from_str(
        r#"{"States": {"A": {"End": true, "ResultPath": "$.x", "Resource": "arn:aws:states:::sns:publish", "Type": "Task"}},
            "QueryLanguage": "JSONPath", "StartAt": "A", "Comment": "c", "TimeoutSeconds": 5}"#,
    )
    .unwrap();
    let out = Definition::from_json(&doc).unwrap().to_json();
    let top: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        top,
        [
            "Comment",
            "StartAt",
            "States",
            "TimeoutSeconds",
            "QueryLanguage"
        ]
    );
    let state: Vec<&String> = out["States"]["A"].as_object().unwrap().keys().collect();
    assert_eq!(state, ["Type", "Resource", "ResultPath", "End"]);
}
