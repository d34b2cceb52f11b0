//! Every StateMachine in `examples/` and in the compiler fixtures (`tests/asl_fixtures/`) compiles, its ASL
//! is pinned by an insta snapshot, and the independent npm `asl-validator` accepts it.

use sfn_test_support as support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use sfn_api::manifest;
use sfn_asl::bundle::compile_in_bundle;

fn manifest_files() -> Vec<PathBuf> {
    let mut files = support::example_files();
    let fixtures = support::workspace_root().join("crates/sfn-asl/tests/asl_fixtures");
    let mut own: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("crates/sfn-asl/tests/asl_fixtures exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    own.sort();
    files.extend(own);
    files
}

/// `(label, compiled ASL)` for every StateMachine, the label being `<file stem>__<object name>`.
fn compiled() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for file in manifest_files() {
        let bundle = manifest::load_paths(std::slice::from_ref(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        for sm in &bundle.state_machines {
            let name = sm.metadata.name.clone().unwrap_or_default();
            match compile_in_bundle(sm, &bundle, "123456789012", "us-east-1") {
                Ok(c) => out.push((format!("{stem}__{name}"), c.json)),
                Err(e) => panic!("{}: StateMachine {name}:\n{e}", file.display()),
            }
        }
    }
    assert!(
        out.len() >= 10,
        "expected the examples and fixtures, found {}",
        out.len()
    );
    out
}

#[test]
fn every_example_compiles_to_its_snapshot() {
    for (label, asl) in compiled() {
        insta::assert_json_snapshot!(label, asl);
    }
}

#[test]
fn every_compiled_example_passes_asl_validator() {
    let validator = support::tool("node_modules/.bin/asl-validator");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(&validator);
    for (label, asl) in compiled() {
        let path = dir.path().join(format!("{label}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&asl).unwrap()).unwrap();
        cmd.arg("--json-path").arg(&path);
    }
    let out = cmd
        .output()
        .expect("asl-validator runs (node is required: run scripts/test)");
    assert!(
        out.status.success(),
        "asl-validator rejected compiled ASL:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("is invalid"), "{stdout}");
}
