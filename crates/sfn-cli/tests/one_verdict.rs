//! `validate` and `plan` reach the same verdict on every object of every fixture: nothing `plan` refuses passes
//! `validate`, and the other way round. Both run as a user runs them (the `sfn` binary, `-o json`), over the
//! examples, the compiler fixtures, the verdict fixtures and the 37 CDK reference machines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sfn_test_support as support;

/// `(kind, namespace, name)` → valid, from one JSON document per line.
fn verdicts(args: &[&str], file: &Path, valid: impl Fn(&Value) -> bool) -> BTreeMap<String, bool> {
    let out = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(args)
        .arg("-f")
        .arg(file)
        .args(["-o", "json"])
        .current_dir(support::workspace_root())
        .output()
        .expect("the sfn binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .map(|line| {
            let doc: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: {e}: {line}", file.display()));
            let key = format!("{} {}/{}", doc["kind"], doc["namespace"], doc["name"]);
            (key, valid(&doc))
        })
        .collect()
}

fn fixture_files() -> Vec<PathBuf> {
    let root = support::workspace_root();
    let mut files = support::example_files();
    for dir in [
        root.join("crates/sfn-asl/tests/asl_fixtures"),
        root.join("crates/sfn-asl/tests/verdicts"),
        support::shared_reference_dir().join("cdk-iam"),
    ] {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the fixture folder {}: {e}", dir.display()));
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.ends_with(".yaml") || name.ends_with(".asl.json")
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

#[test]
fn validate_and_plan_agree_on_every_fixture() {
    let files = fixture_files();
    assert!(files.len() > 50, "the fixtures are found: {files:?}");
    let mut machines = 0;
    let mut refused = 0;
    for file in &files {
        let validated = verdicts(&["validate"], file, |d| d["valid"] == Value::Bool(true));
        let planned = verdicts(&["plan"], file, |d| d.get("errors").is_none());
        // plan lists StateMachines only; validate lists every object.
        for (key, ok) in &planned {
            machines += 1;
            refused += usize::from(!ok);
            assert_eq!(
                validated.get(key),
                Some(ok),
                "{}: {key}: plan says valid={ok}, validate says {:?}",
                file.display(),
                validated.get(key)
            );
        }
        let validated_machines = validated
            .keys()
            .filter(|k| k.starts_with("\"StateMachine\""))
            .count();
        assert_eq!(
            validated_machines,
            planned.len(),
            "{}: both see the same StateMachines",
            file.display()
        );
    }
    assert!(machines > 50, "{machines} StateMachines compared");
    assert!(refused > 0, "the fixtures include refused machines");
}
