//! A raw Amazon States Language file is recognised by its content, whatever its name: a JSON or YAML
//! mapping with `StartAt` and `States` and no `kind`/`apiVersion` becomes a StateMachine named after the
//! file, as `NAME.asl.json` always did. Anything else is a manifest, and a document that is neither says so,
//! naming the file and the document.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sfn_api::manifest::{Bundle, DEFAULT_NAMESPACE, ManifestError, load_paths};

const ASL_JSON: &str = r#"{
  "Comment": "kept as written",
  "StartAt": "Hello",
  "States": {"Hello": {"Type": "Pass", "End": true}}
}"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing a test file");
    path
}

fn load(path: PathBuf) -> Result<Bundle, ManifestError> {
    load_paths(&[path])
}

/// The one StateMachine of `bundle`, with its name and parsed definition.
fn only_machine(bundle: &Bundle) -> (String, String, Value) {
    assert_eq!(bundle.len(), 1, "{bundle:?}");
    let sm = &bundle.state_machines[0];
    let json = sm
        .spec
        .definition_json
        .clone()
        .expect("a raw ASL file becomes definitionJson");
    let parsed = serde_json::from_str(&json).expect("definitionJson is JSON");
    (
        sm.metadata.name.clone().unwrap_or_default(),
        sm.metadata.namespace.clone().unwrap_or_default(),
        parsed,
    )
}

#[test]
fn a_json_file_with_asl_content_is_a_state_machine_named_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = load(write(dir.path(), "definition.json", ASL_JSON)).unwrap();
    let (name, namespace, _) = only_machine(&bundle);
    assert_eq!(name, "definition");
    assert_eq!(namespace, DEFAULT_NAMESPACE);
    // The text is kept exactly, as for `.asl.json`.
    assert_eq!(
        bundle.state_machines[0].spec.definition_json.as_deref(),
        Some(ASL_JSON)
    );
}

#[test]
fn asl_json_files_are_read_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let named = load(write(dir.path(), "order-flow.asl.json", ASL_JSON)).unwrap();
    let plain = load(write(dir.path(), "order-flow.json", ASL_JSON)).unwrap();
    assert_eq!(named, plain, "the same machine whichever the name");
    assert_eq!(only_machine(&named).0, "order-flow");
}

#[test]
fn a_yaml_file_with_asl_content_is_a_state_machine_too() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "StartAt: Hello\nStates:\n  Hello:\n    Type: Pass\n    Result: {greeting: hi}\n    End: true\n";
    let (name, namespace, definition) =
        only_machine(&load(write(dir.path(), "workflow.yaml", yaml)).unwrap());
    assert_eq!(name, "workflow");
    assert_eq!(namespace, DEFAULT_NAMESPACE);
    assert_eq!(definition["StartAt"], "Hello");
    assert_eq!(definition["States"]["Hello"]["Result"]["greeting"], "hi");
    // `.asl` before the extension is not part of the name either.
    let (name, _, _) = only_machine(&load(write(dir.path(), "billing.asl.yaml", yaml)).unwrap());
    assert_eq!(name, "billing");
}

#[test]
fn a_json_manifest_with_a_kind_is_still_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = r#"{
      "apiVersion": "sfn.operator.dev/v1alpha1",
      "kind": "StateMachine",
      "metadata": {"name": "greeter", "namespace": "team-a"},
      "spec": {"definition": {"states": [{"name": "Hello", "type": "Pass", "end": true}]}}
    }"#;
    let bundle = load(write(dir.path(), "definition.json", manifest)).unwrap();
    assert_eq!(bundle.len(), 1);
    let sm = bundle
        .state_machine("team-a", "greeter")
        .expect("named by its metadata, not its file");
    assert!(sm.spec.definition_json.is_none());
    assert!(sm.spec.definition.is_some());
}

#[test]
fn a_json_file_that_is_neither_names_the_file_and_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "settings.json",
        r#"{"StartAt": "A", "timeout": 3}"#,
    );
    let err = load(path.clone()).unwrap_err().to_string();
    assert!(
        err.contains(&format!("{}, document 1", path.display())),
        "{err}"
    );
    assert!(err.contains("no apiVersion and kind"), "{err}");
    assert!(err.contains("no StartAt and States"), "{err}");
    // Only the document lacking both is refused: a kind-less document with an apiVersion is an unknown kind.
    let other = write(dir.path(), "other.json", r#"{"apiVersion": "v1"}"#);
    let err = load(other).unwrap_err().to_string();
    assert!(err.contains("unknown kind \"\""), "{err}");
}
