//! Import then compile gives back the same ASL, for every StateMachine of `examples/` (compiled first), the
//! 37 CDK machines (`shared/reference/cdk-iam/*.asl.json`) and the 153 AWS-recorded definitions
//! (`shared/reference/sfn-executions/`). The import checks this itself and falls back to `definitionJson`
//! when it would not hold; this test compiles the written manifest independently (through YAML, as a user
//! applies it) and also requires every one of these inputs to import typed, so a fallback fails it too.
//! Every failure is reported, by file and state.

use std::collections::BTreeMap;

use serde_json::Value;
use sfn_api::manifest;
use sfn_asl::bundle::compile_in_bundle;
use sfn_import::{Options, first_difference, import_value};
use sfn_test_support as support;

/// The inputs that go to `definitionJson`, with the reason the summary must give.
const FALLBACKS: &[(&str, &str)] = &[
    (
        "sfn-executions/base__test_decl_version_1_0.json",
        "it sets Version",
    ),
    (
        "sfn-executions/jsonata__test_base_map__MAX_CONCURRENCY.json",
        "MaxConcurrency is an expression",
    ),
    (
        "sfn-executions/jsonata__test_base_map__TOLERATED_FAILURE_COUNT.json",
        "ToleratedFailureCount is an expression",
    ),
    (
        "sfn-executions/jsonata__test_base_map__TOLERATED_FAILURE_PERCENTAGE.json",
        "ToleratedFailurePercentage is an expression",
    ),
    (
        "sfn-executions/map_parallel__test_map_state_legacy.json",
        "legacy Iterator",
    ),
    (
        "sfn-executions/map_parallel__test_map_state_legacy_config_inline.json",
        "legacy Iterator",
    ),
    (
        "sfn-executions/map_parallel__test_map_state_legacy_config_inline_item_selector.json",
        "legacy Iterator",
    ),
    (
        "sfn-executions/map_parallel__test_map_state_legacy_config_inline_parameters.json",
        "legacy Iterator",
    ),
    (
        "sfn-executions/map_parallel__test_map_state_legacy_reentrant.json",
        "legacy Iterator",
    ),
];

/// `(label, ASL)` of every input.
fn inputs() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for file in support::example_files() {
        let bundle = manifest::load_paths(std::slice::from_ref(&file)).unwrap();
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        for sm in &bundle.state_machines {
            let name = sm.metadata.name.clone().unwrap_or_default();
            let compiled = compile_in_bundle(sm, &bundle, "123456789012", "us-east-1")
                .unwrap_or_else(|e| panic!("examples/{stem}.yaml {name}: {e}"));
            out.push((format!("examples/{stem}.yaml#{name}"), compiled.json));
        }
    }
    let root = support::shared_reference_dir();
    let mut cdk = 0;
    for entry in std::fs::read_dir(root.join("cdk-iam")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".asl.json") {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            out.push((format!("cdk-iam/{name}"), v));
            cdk += 1;
        }
    }
    let mut recorded = 0;
    for entry in std::fs::read_dir(root.join("sfn-executions")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let def = match &v["definition"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            d => d.clone(),
        };
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((format!("sfn-executions/{name}"), def));
        recorded += 1;
    }
    assert_eq!(cdk, 37, "CDK reference machines");
    assert_eq!(recorded, 153, "recorded definitions");
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The state a JSON pointer into an ASL document lands in: the innermost `/States/<name>`.
fn state_of(pointer: &str) -> String {
    let parts: Vec<&str> = pointer.split('/').collect();
    parts
        .windows(2)
        .rev()
        .find(|w| w[0] == "States")
        .map(|w| w[1].replace("~1", "/").replace("~0", "~"))
        .map_or_else(|| "(top level)".to_owned(), |s| format!("state {s:?}"))
}

/// Imports `asl`, writes the manifest as YAML, reads it back as a user's `kubectl apply` would and
/// compiles it; `Err` says where it went wrong.
fn round_trip(label: &str, asl: &Value) -> Result<sfn_import::Imported, String> {
    let imported = import_value(asl, label, "imported", &Options::default())
        .map_err(|e| format!("import failed: {e}"))?;
    let expected = FALLBACKS
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, why)| *why);
    match (&imported.summary.fallback, expected) {
        (None, None) => {}
        (Some(why), Some(reason)) if why.contains(reason) => {}
        (Some(why), _) => return Err(format!("fell back to definitionJson: {why}")),
        (None, Some(reason)) => {
            return Err(format!(
                "imported typed, but the test expects a fallback ({reason}): update FALLBACKS"
            ));
        }
    }
    let yaml = imported.to_yaml().map_err(|e| e.to_string())?;
    let bundle = manifest::load_str(std::path::Path::new("imported.yaml"), &yaml)
        .map_err(|e| format!("the manifest does not load: {e}\n{yaml}"))?;
    let sm = &bundle.state_machines[0];
    let compiled = compile_in_bundle(sm, &bundle, "123456789012", "us-east-1")
        .map_err(|e| format!("the manifest does not compile: {e}\n{yaml}"))?;
    match first_difference(&compiled.json, asl) {
        None => Ok(imported),
        Some(pointer) => Err(format!(
            "{}: compiled ASL differs at {pointer}: {} instead of {}",
            state_of(&pointer),
            pointer_value(&compiled.json, &pointer),
            pointer_value(asl, &pointer),
        )),
    }
}

fn pointer_value(v: &Value, pointer: &str) -> String {
    let p = if pointer == "/" { "" } else { pointer };
    v.pointer(p)
        .map_or_else(|| "nothing".to_owned(), |x| x.to_string())
}

#[test]
fn import_then_compile_gives_back_every_reference_definition() {
    let mut failures = Vec::new();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    let inputs = inputs();
    for (label, asl) in &inputs {
        match round_trip(label, asl) {
            Ok(imported) => {
                let s = &imported.summary;
                *totals.entry("states").or_default() += s.states;
                *totals
                    .entry("task states naming a TaskIntegration")
                    .or_default() += s.tasks_typed;
                *totals.entry("conditions").or_default() += s.conditions;
                *totals.entry("inline chains").or_default() += s.inline_chains;
            }
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} definitions do not round-trip:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
    // The typed forms are really used, not just the escapes.
    assert!(
        totals["task states naming a TaskIntegration"] >= 30,
        "{totals:?}"
    );
    assert!(totals["conditions"] >= 40, "{totals:?}");
    assert!(totals["inline chains"] >= 1, "{totals:?}");
}
