//! Verdicts on raw ASL definitions written from the AWS documentation, one file per case under
//! `tests/verdicts/`: whether CreateStateMachine accepts each, and the exact codes of the errors and of the
//! warnings `ValidateStateMachineDefinition` reports. `expected.yaml` holds the verdicts; a file without an
//! entry, or an entry without a file, fails the test so that the two stay in step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;
use sfn_asl::validate::check_json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    class: String,
    verdict: Verdict,
    #[serde(default)]
    errors: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Accept,
    Refuse,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/verdicts")
}

fn expected() -> BTreeMap<String, Expected> {
    let text =
        std::fs::read_to_string(dir().join("expected.yaml")).expect("expected.yaml is readable");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("expected.yaml: {e}"))
}

fn definitions() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir()).expect("tests/verdicts exists") {
        let path = entry.expect("directory entry").path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".asl.json"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("definition is readable");
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.insert(name.to_owned(), value);
    }
    out
}

#[test]
fn every_definition_has_a_verdict_and_every_verdict_a_definition() {
    let files: BTreeSet<String> = definitions().into_keys().collect();
    let entries: BTreeSet<String> = expected().into_keys().collect();
    let no_entry: Vec<&String> = files.difference(&entries).collect();
    let no_file: Vec<&String> = entries.difference(&files).collect();
    assert!(
        no_entry.is_empty() && no_file.is_empty(),
        "files without an entry in expected.yaml: {no_entry:?}; entries without a file: {no_file:?}"
    );
}

#[test]
fn definitions_get_the_verdicts_aws_gives() {
    let expected = expected();
    let mut wrong = Vec::new();
    for (name, doc) in definitions() {
        let Some(want) = expected.get(&name) else {
            continue;
        };
        let (def, diags) = check_json(&doc);
        let verdict = if def.is_some() {
            Verdict::Accept
        } else {
            Verdict::Refuse
        };
        let errors: BTreeSet<String> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.to_string())
            .collect();
        let warnings: BTreeSet<String> = diags
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| d.code.to_string())
            .collect();
        let want_errors: BTreeSet<String> = want.errors.iter().cloned().collect();
        let want_warnings: BTreeSet<String> = want.warnings.iter().cloned().collect();
        if verdict != want.verdict || errors != want_errors || warnings != want_warnings {
            let found: Vec<String> = diags.iter().map(|d| d.labelled()).collect();
            wrong.push(format!(
                "{name} (class {}): expected {:?} errors {want_errors:?} warnings {want_warnings:?}, got {verdict:?} errors {errors:?} warnings {warnings:?}:\n    {}",
                want.class,
                want.verdict,
                found.join("\n    ")
            ));
        }
        // A refusal names the state and the field, so the user can find what to fix.
        if want.verdict == Verdict::Refuse {
            for d in diags.iter().filter(|d| d.is_error()) {
                if d.state.is_none() || d.field.is_none() {
                    wrong.push(format!("{name}: error without state or field: {d}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_fixture_set_covers_every_class_on_both_sides() {
    let mut sides: BTreeMap<u32, BTreeSet<&'static str>> = BTreeMap::new();
    let expected = expected();
    for e in expected.values() {
        let class: u32 = e
            .class
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("class {:?} starts with its number", e.class));
        let side = match (e.verdict, e.warnings.is_empty()) {
            (Verdict::Refuse, _) => "refuse",
            (Verdict::Accept, true) => "accept",
            (Verdict::Accept, false) => "warn",
        };
        sides.entry(class).or_default().insert(side);
    }
    assert_eq!(
        sides.keys().copied().collect::<Vec<_>>(),
        (1..=15).collect::<Vec<_>>()
    );
    // Classes 1-12 concern accept/refuse: each has a definition on the side the class fixes and one on the
    // other side of the line. Classes 13-15 are warnings: each has a definition that warns.
    for (class, s) in &sides {
        if *class <= 12 {
            assert!(
                s.contains("accept") && s.contains("refuse") || *class == 3,
                "class {class}: {s:?}"
            );
        } else {
            assert!(s.contains("warn"), "class {class}: {s:?}");
        }
    }
}

#[test]
fn accepted_definitions_round_trip_unchanged() {
    // What is accepted is also what gets applied: parse then emit must give the same document (nested rule
    // comments, a constant Condition and the console's regional ARNs included).
    for (name, doc) in definitions() {
        if let (Some(def), _) = check_json(&doc) {
            assert_eq!(def.to_json(), doc, "{name}");
        }
    }
}
