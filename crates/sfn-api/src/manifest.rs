//! Reading manifests (multi-document YAML, JSON, raw `.asl.json`) into the API types, for the offline
//! commands (`plan`, `validate`, `apply`, `simulate`) and the tests.
//!
//! Reading is strict, like `kubectl apply --validate=strict`: an unknown kind or field is an error, not
//! something silently dropped, because a typo in a manifest (say `resultpath`) would otherwise change the
//! workflow without anyone noticing. Every error names the file, the document, the object and the field.
//!
//! A raw Amazon States Language document becomes a StateMachine named after its file in namespace `default`
//! whose `definitionJson` is the document, so existing ASL files can be planned and validated as they are. A
//! `NAME.asl.json` file is always one (`NAME`); any other JSON or YAML document is one when it is a mapping
//! with `StartAt` and `States` and without `kind` or `apiVersion` (`definition.json` → `definition`,
//! `workflow.asl.yaml` → `workflow`). A JSON file holding one such document keeps its text as it is.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    API_VERSION, Activity, AwsIdentity, FieldError, ReferenceGrant, State, StateMachine,
    StateMachineSpec, TaskIntegration, parse_states, validate_state_machine,
    validate_task_integration,
};

/// Namespace given to objects that name none (what `kubectl apply` does without `-n`).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where an object came from: the file, and the 1-based index of the document in it (empty documents
/// are not counted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub document: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, document {}", self.path.display(), self.document)
    }
}

/// Why manifests could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid {format}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("{at}: {message}")]
    Document { at: Source, message: String },
    #[error(
        "{at}: unknown kind {kind:?} (apiVersion {api_version:?}); expected StateMachine, TaskIntegration, Activity, AwsIdentity or ReferenceGrant of {API_VERSION}"
    )]
    UnknownKind {
        at: Source,
        api_version: String,
        kind: String,
    },
    /// A field of an object is wrong (type, enum value, unknown field, missing field).
    #[error("{0}")]
    Field(Box<FieldProblem>),
    /// Two objects of the same kind, namespace and name.
    #[error("{0}")]
    Duplicate(Box<Duplicate>),
}

/// A wrong field: where, which object, which field, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {kind} {namespace}/{name}: field {field}: {message}")]
pub struct FieldProblem {
    pub at: Source,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub field: String,
    pub message: String,
}

/// An object defined twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{second}: {kind} {namespace}/{name} is already defined in {first}")]
pub struct Duplicate {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub first: Source,
    pub second: Source,
}

/// The objects read from a set of manifests, each kind in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bundle {
    pub state_machines: Vec<StateMachine>,
    pub task_integrations: Vec<TaskIntegration>,
    pub activities: Vec<Activity>,
    /// AwsIdentities (cluster-scoped: their namespace, if any, is ignored).
    pub identities: Vec<AwsIdentity>,
    /// ReferenceGrants, which open a namespace's objects to references from other namespaces.
    pub reference_grants: Vec<ReferenceGrant>,
}

fn matches(meta: &crate::ObjectMeta, namespace: &str, name: &str) -> bool {
    meta.name.as_deref() == Some(name)
        && meta.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE) == namespace
}

impl Bundle {
    /// The StateMachine `namespace/name`.
    pub fn state_machine(&self, namespace: &str, name: &str) -> Option<&StateMachine> {
        self.state_machines
            .iter()
            .find(|o| matches(&o.metadata, namespace, name))
    }

    /// The TaskIntegration `namespace/name`.
    pub fn task_integration(&self, namespace: &str, name: &str) -> Option<&TaskIntegration> {
        self.task_integrations
            .iter()
            .find(|o| matches(&o.metadata, namespace, name))
    }

    /// The Activity `namespace/name`.
    pub fn activity(&self, namespace: &str, name: &str) -> Option<&Activity> {
        self.activities
            .iter()
            .find(|o| matches(&o.metadata, namespace, name))
    }

    /// Number of objects of all kinds.
    pub fn len(&self) -> usize {
        self.state_machines.len() + self.task_integrations.len() + self.activities.len()
    }

    /// Whether no object was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Objects violating the cross-field rules the CRDs enforce with CEL (see `api::rules`), as
    /// `(kind, namespace, name, error)`. The API server would refuse these at `kubectl apply`.
    pub fn rule_violations(&self) -> Vec<(&'static str, String, String, FieldError)> {
        let mut out = Vec::new();
        for sm in &self.state_machines {
            for err in validate_state_machine(&sm.spec) {
                out.push((
                    "StateMachine",
                    ns_of(&sm.metadata),
                    name_of(&sm.metadata),
                    err,
                ));
            }
        }
        for ti in &self.task_integrations {
            for err in validate_task_integration(&ti.spec) {
                out.push((
                    "TaskIntegration",
                    ns_of(&ti.metadata),
                    name_of(&ti.metadata),
                    err,
                ));
            }
        }
        out
    }
}

fn ns_of(meta: &crate::ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

fn name_of(meta: &crate::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// Reads every file (and every `*.yaml`, `*.yml`, `*.json` file under every directory, recursively, in
/// name order) into one bundle. Fails on the first error; two objects of the same kind, namespace and
/// name are an error naming both places.
pub fn load_paths(paths: &[PathBuf]) -> Result<Bundle, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let mut loader = Loader::default();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Io {
            path: file.clone(),
            source,
        })?;
        loader.add_text(&file, &text)?;
    }
    Ok(loader.bundle)
}

/// Reads manifests from text, as if it were the file `path` (whose name decides JSON or YAML, names a raw
/// ASL document, and appears in errors).
pub fn load_str(path: &Path, text: &str) -> Result<Bundle, ManifestError> {
    let mut loader = Loader::default();
    loader.add_text(path, text)?;
    Ok(loader.bundle)
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let io = |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        // `*.test.yaml` files beside manifests are `sfn-operator test` files, not manifests.
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_test_file = name.ends_with(".test.yaml") || name.ends_with(".test.yml");
        let is_manifest = matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) && !is_test_file;
        if entry.is_dir() || is_manifest {
            collect_files(&entry, files)?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Loader {
    bundle: Bundle,
    seen: Vec<(String, String, String, Source)>,
}

impl Loader {
    fn add_text(&mut self, path: &Path, text: &str) -> Result<(), ManifestError> {
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let json_syntax = |err: serde_json::Error| ManifestError::Syntax {
            path: path.to_path_buf(),
            format: "JSON",
            message: err.to_string(),
        };
        if let Some(stem) = file_name.strip_suffix(".asl.json") {
            serde_json::from_str::<Value>(text).map_err(json_syntax)?;
            let source = Source {
                path: path.to_path_buf(),
                document: 1,
            };
            return self.add_asl(source, stem, text.to_string());
        }
        // The file's own text, when it is the one JSON document: a raw ASL file is then kept verbatim.
        let mut verbatim = None;
        let documents: Vec<Value> = if file_name.ends_with(".json") {
            let value: Value = serde_json::from_str(text).map_err(json_syntax)?;
            match value {
                Value::Array(items) => items,
                other => {
                    verbatim = Some(text);
                    vec![other]
                }
            }
        } else {
            serde_saphyr::from_multiple::<Value>(text).map_err(|err| ManifestError::Syntax {
                path: path.to_path_buf(),
                format: "YAML",
                message: err.to_string(),
            })?
        };
        let mut index = 0;
        for document in documents {
            if document.is_null() {
                continue;
            }
            index += 1;
            let source = Source {
                path: path.to_path_buf(),
                document: index,
            };
            if is_raw_asl(&document) {
                let definition = match verbatim {
                    Some(text) => text.to_string(),
                    None => {
                        serde_json::to_string(&document).map_err(|err| ManifestError::Document {
                            at: source.clone(),
                            message: err.to_string(),
                        })?
                    }
                };
                self.add_asl(source, asl_name(file_name), definition)?;
                continue;
            }
            self.add_document(source, document)?;
        }
        Ok(())
    }

    /// A StateMachine `name` in the default namespace whose `definitionJson` is `definition`.
    fn add_asl(
        &mut self,
        source: Source,
        name: &str,
        definition: String,
    ) -> Result<(), ManifestError> {
        let mut sm = StateMachine::new(
            name,
            StateMachineSpec {
                definition_json: Some(definition),
                ..StateMachineSpec::default()
            },
        );
        sm.metadata.namespace = Some(DEFAULT_NAMESPACE.to_string());
        self.remember("StateMachine", &sm.metadata, source)?;
        self.bundle.state_machines.push(sm);
        Ok(())
    }

    fn add_document(&mut self, source: Source, document: Value) -> Result<(), ManifestError> {
        let Value::Object(map) = &document else {
            return Err(ManifestError::Document {
                at: source,
                message: "a manifest document must be a mapping with apiVersion, kind and metadata"
                    .into(),
            });
        };
        if !map.contains_key("kind") && !map.contains_key("apiVersion") {
            return Err(ManifestError::Document {
                at: source,
                message:
                    "neither a manifest (no apiVersion and kind) nor an Amazon States Language \
                          definition (no StartAt and States)"
                        .into(),
            });
        }
        let text = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
        let (api_version, kind) = (text("apiVersion").to_string(), text("kind").to_string());
        if kind == "List" {
            let items = match map.get("items") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            for item in items {
                self.add_document(source.clone(), item)?;
            }
            return Ok(());
        }
        if api_version != API_VERSION
            || !matches!(
                kind.as_str(),
                "StateMachine" | "TaskIntegration" | "Activity" | "AwsIdentity" | "ReferenceGrant"
            )
        {
            return Err(ManifestError::UnknownKind {
                at: source,
                api_version,
                kind,
            });
        }
        let name = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = map
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_string();
        let field_error = |field: String, message: String| {
            ManifestError::Field(Box::new(FieldProblem {
                at: source.clone(),
                kind: kind.clone(),
                namespace: namespace.clone(),
                name: if name.is_empty() {
                    "<unnamed>".into()
                } else {
                    name.clone()
                },
                field,
                message,
            }))
        };
        if name.is_empty() {
            return Err(field_error(
                "metadata.name".into(),
                "required, must be a non-empty string".into(),
            ));
        }
        for key in map.keys() {
            if !matches!(
                key.as_str(),
                "apiVersion" | "kind" | "metadata" | "spec" | "status"
            ) {
                return Err(field_error(key.clone(), "unknown field".into()));
            }
        }
        if let Some(Value::Object(meta)) = map.get("metadata") {
            for key in meta.keys() {
                if !KNOWN_METADATA.contains(&key.as_str()) {
                    return Err(field_error(
                        format!("metadata.{key}"),
                        "unknown field".into(),
                    ));
                }
            }
        }
        if !map.contains_key("spec") {
            return Err(field_error("spec".into(), "required".into()));
        }
        match kind.as_str() {
            "StateMachine" => {
                let mut object: StateMachine = typed(document, &field_error)?;
                check_nested_states(&object.spec)
                    .map_err(|err| field_error(err.field, err.message))?;
                object.metadata.namespace = Some(namespace.clone());
                self.remember(&kind, &object.metadata, source.clone())?;
                self.bundle.state_machines.push(object);
            }
            "ReferenceGrant" => {
                let mut object: ReferenceGrant = typed(document, &field_error)?;
                object.metadata.namespace = Some(namespace.clone());
                self.remember(&kind, &object.metadata, source.clone())?;
                self.bundle.reference_grants.push(object);
            }
            "AwsIdentity" => {
                let mut object: AwsIdentity = typed(document, &field_error)?;
                object.metadata.namespace = None;
                self.remember(&kind, &object.metadata, source.clone())?;
                self.bundle.identities.push(object);
            }
            "TaskIntegration" => {
                let mut object: TaskIntegration = typed(document, &field_error)?;
                object.metadata.namespace = Some(namespace.clone());
                self.remember(&kind, &object.metadata, source.clone())?;
                self.bundle.task_integrations.push(object);
            }
            _ => {
                let mut object: Activity = typed(document, &field_error)?;
                object.metadata.namespace = Some(namespace.clone());
                self.remember(&kind, &object.metadata, source.clone())?;
                self.bundle.activities.push(object);
            }
        }
        Ok(())
    }

    fn remember(
        &mut self,
        kind: &str,
        meta: &crate::ObjectMeta,
        source: Source,
    ) -> Result<(), ManifestError> {
        let (namespace, name) = (ns_of(meta), name_of(meta));
        if let Some((_, _, _, first)) = self
            .seen
            .iter()
            .find(|(k, ns, n, _)| k == kind && *ns == namespace && *n == name)
        {
            return Err(ManifestError::Duplicate(Box::new(Duplicate {
                kind: kind.to_string(),
                namespace,
                name,
                first: first.clone(),
                second: source,
            })));
        }
        self.seen.push((kind.to_string(), namespace, name, source));
        Ok(())
    }
}

/// The nested state lists are opaque in the CRD (see `crate`), so serde has not looked inside them
/// yet; read them as strictly as the rest, so that a typo in a Parallel branch is caught here too.
fn check_nested_states(spec: &StateMachineSpec) -> Result<(), FieldError> {
    fn walk(states: &[State], path: &str) -> Result<(), FieldError> {
        for (i, state) in states.iter().enumerate() {
            let here = format!("{path}[{i}]");
            for (relative, values) in state.nested_state_lists() {
                let list_path = format!("{here}.{relative}");
                walk(&parse_states(values, &list_path)?, &list_path)?;
            }
        }
        Ok(())
    }
    if let Some(definition) = &spec.definition {
        walk(&definition.states, "spec.definition.states")?;
    }
    for (f, fragment) in spec.fragments.iter().enumerate() {
        walk(&fragment.states, &format!("spec.fragments[{f}].states"))?;
    }
    Ok(())
}

/// `metadata` fields of `ObjectMeta`; anything else is a typo.
/// Whether a document is a raw Amazon States Language definition rather than a manifest: a mapping with
/// `StartAt` and `States` that names no `kind` or `apiVersion`.
fn is_raw_asl(document: &Value) -> bool {
    document.as_object().is_some_and(|map| {
        map.contains_key("StartAt")
            && map.contains_key("States")
            && !map.contains_key("kind")
            && !map.contains_key("apiVersion")
    })
}

/// The state machine name of a raw ASL file: its name without the extension and without an `.asl` before
/// it (`definition.json` → `definition`, `order.asl.yaml` → `order`), as `NAME.asl.json` gives `NAME`.
fn asl_name(file_name: &str) -> &str {
    let stem = [".json", ".yaml", ".yml"]
        .iter()
        .find_map(|ext| file_name.strip_suffix(ext))
        .unwrap_or(file_name);
    stem.strip_suffix(".asl").unwrap_or(stem)
}

const KNOWN_METADATA: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "selfLink",
];

/// Deserialises with the path of the failing field.
fn typed<T: DeserializeOwned>(
    document: Value,
    field_error: &dyn Fn(String, String) -> ManifestError,
) -> Result<T, ManifestError> {
    serde_path_to_error::deserialize::<_, T>(document).map_err(|err| {
        let field = err.path().to_string();
        let message = crate::field_error::shorten_serde_message(&err.into_inner().to_string());
        field_error(field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> Result<Bundle, ManifestError> {
        load_str(Path::new(name), text)
    }

    const MACHINE: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: hello}
spec:
  definition:
    states:
      - name: Say hello
        type: Pass
        result: {greeting: hello}
        resultPath: null
"#;

    #[test]
    fn objects_without_namespace_land_in_default_and_can_be_looked_up() {
        let bundle = load("a.yaml", MACHINE).unwrap();
        assert_eq!(bundle.len(), 1);
        let sm = bundle.state_machine("default", "hello").unwrap();
        let state = &sm.spec.definition.as_ref().unwrap().states[0];
        assert_eq!(
            state.result_path,
            Some(None),
            "resultPath: null is kept as JSON null"
        );
        assert_eq!(state.input_path, None, "absent stays absent");
        assert!(bundle.state_machine("other", "hello").is_none());
    }

    #[test]
    fn multi_document_yaml_with_all_kinds() {
        let text = format!(
            "{MACHINE}---\napiVersion: sfn.operator.dev/v1alpha1\nkind: TaskIntegration\nmetadata: {{name: t, namespace: demo}}\nspec:\n  sns: {{topicArn: arn:aws:sns:us-east-1:123456789012:t}}\n---\n---\napiVersion: sfn.operator.dev/v1alpha1\nkind: Activity\nmetadata: {{name: a, namespace: demo}}\nspec: {{}}\n"
        );
        let bundle = load("all.yaml", &text).unwrap();
        assert!(bundle.task_integration("demo", "t").is_some());
        assert!(bundle.activity("demo", "a").is_some());
        assert!(bundle.rule_violations().is_empty());
    }

    #[test]
    fn unknown_field_names_file_document_object_and_field() {
        let text = MACHINE.replace("resultPath: null", "resultpath: null");
        let text = format!(
            "{MACHINE}---\n{}",
            text.replace("name: hello", "name: second")
        );
        let err = load("m.yaml", &text).unwrap_err().to_string();
        assert!(err.contains("m.yaml, document 2"), "{err}");
        assert!(err.contains("StateMachine default/second"), "{err}");
        assert!(
            err.contains("spec.definition.states[0].resultpath"),
            "{err}"
        );
        assert!(err.contains("unknown field `resultpath`"), "{err}");
    }

    #[test]
    fn wrong_type_and_unknown_enum_value_are_reported_with_the_field() {
        let err = load("m.yaml", &MACHINE.replace("type: Pass", "type: Sleep"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("spec.definition.states[0].type"), "{err}");
        assert!(err.contains("Sleep"), "{err}");
        let err = load(
            "m.yaml",
            &MACHINE.replace("  definition:", "  timeoutSeconds: soon\n  definition:"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("spec.timeoutSeconds"), "{err}");
    }

    #[test]
    fn nested_states_are_read_strictly_too() {
        let text = MACHINE.replace(
            "      - name: Say hello\n",
            "      - name: Fan out\n        type: Parallel\n        branches:\n          - states:\n              - {name: Inner, type: Pass, reslt: 1}\n      - name: Say hello\n",
        );
        assert!(text.contains("reslt"));
        let err = load("n.yaml", &text).unwrap_err().to_string();
        assert!(
            err.contains("field spec.definition.states[0].branches[0].states[0].reslt"),
            "{err}"
        );
        assert!(err.contains("state \"Inner\""), "{err}");
    }

    #[test]
    fn yaml_syntax_errors_and_duplicate_keys_name_the_line() {
        let err = load("s.yaml", "a: [1, 2\nb: 3\n").unwrap_err().to_string();
        assert!(err.starts_with("s.yaml: not valid YAML"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        // A repeated key would otherwise silently win over the first one.
        let text = MACHINE.replace("result: {greeting: hello}", "result: 1\n        result: 2");
        let err = load("s.yaml", &text).unwrap_err().to_string();
        assert!(err.contains("duplicate mapping key: result"), "{err}");
    }

    #[test]
    fn unknown_kind_names_file_and_document() {
        let err = load(
            "k.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("k.yaml, document 1"), "{err}");
        assert!(err.contains("unknown kind \"ConfigMap\""), "{err}");
    }

    #[test]
    fn unknown_top_level_and_metadata_fields_are_errors() {
        let err = load("m.yaml", &format!("{MACHINE}extra: 1\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("field extra: unknown field"), "{err}");
        let err = load(
            "m.yaml",
            &MACHINE.replace("{name: hello}", "{name: hello, lables: {}}"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("metadata.lables"), "{err}");
    }

    #[test]
    fn duplicates_name_both_places() {
        let err = load("d.yaml", &format!("{MACHINE}---{MACHINE}"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("d.yaml, document 2: StateMachine default/hello is already defined in d.yaml, document 1"),
            "{err}"
        );
    }

    #[test]
    fn raw_asl_json_becomes_a_state_machine_named_after_the_file() {
        let asl = r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#;
        let bundle = load("dir/my-flow.asl.json", asl).unwrap();
        let sm = bundle.state_machine("default", "my-flow").unwrap();
        assert_eq!(sm.spec.definition_json.as_deref(), Some(asl));
        assert!(sm.spec.definition.is_none());
        assert!(load("bad.asl.json", "{").is_err());
    }

    #[test]
    fn json_manifests_and_lists() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"sfn.operator.dev/v1alpha1","kind":"Activity","metadata":{"name":"a"},"spec":{"tags":{"team":"x"}}}]}"#;
        let bundle = load("l.json", json).unwrap();
        assert_eq!(
            bundle.activity("default", "a").unwrap().spec.tags["team"],
            "x"
        );
    }

    #[test]
    fn rule_violations_are_listed_with_object_and_field() {
        let text = MACHINE.replace("  definition:", "  definitionJson: '{}'\n  definition:");
        let bundle = load("m.yaml", &text).unwrap();
        let violations = bundle.rule_violations();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].0, "StateMachine");
        assert!(violations[0].3.message.contains("definitionJson"));
    }

    #[test]
    fn load_paths_reads_directories_recursively_and_reports_io_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/m.yaml"), MACHINE).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        let bundle = load_paths(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(bundle.len(), 1);
        let err = load_paths(&[dir.path().join("missing.yaml")]).unwrap_err();
        assert!(matches!(err, ManifestError::Io { .. }));
    }
}
