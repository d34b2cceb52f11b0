//! The operator's own CRDs (`crds/`) install into the API server and the manifests in `examples/` apply
//! to it: every example is accepted, and broken variants are rejected with the offending field named.
//! Runs against a real cluster too when `SFN_TEST_KUBECONFIG` is set.

use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind, Status};
use serde_json::{Value, json};
use sfn_operator_tests::cluster::TestCluster;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn yaml_docs(dir: &str) -> Vec<(String, Value)> {
    let dir = workspace_root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); the operator's CRDs and examples are part of the repo",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {}", dir.display());
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        out.extend(
            docs.into_iter()
                .filter(|d| d.is_object())
                .map(|d| (name.clone(), d)),
        );
    }
    out
}

fn plural(kind: &str) -> String {
    match kind {
        "StateMachine" => "statemachines",
        "TaskIntegration" => "taskintegrations",
        "Activity" => "activities",
        other => panic!("unexpected kind {other} in examples/"),
    }
    .to_string()
}

fn api_for(cluster: &TestCluster, doc: &Value) -> Api<DynamicObject> {
    let (group, version) = doc["apiVersion"].as_str().unwrap().split_once('/').unwrap();
    let kind = doc["kind"].as_str().unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind),
        &plural(kind),
    );
    Api::namespaced_with(cluster.client.clone(), &cluster.namespace, &ar)
}

async fn setup() -> TestCluster {
    let cluster = TestCluster::start().await;
    for (file, crd) in yaml_docs("crds") {
        cluster
            .install_crd(&crd)
            .await
            .unwrap_or_else(|e| panic!("installing {file}: {e}"));
    }
    cluster
}

async fn apply(cluster: &TestCluster, doc: &Value) -> Result<DynamicObject, kube::Error> {
    let mut doc = doc.clone();
    doc["metadata"]["namespace"] = json!(cluster.namespace);
    let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
    api_for(cluster, &doc)
        .create(&PostParams::default(), &obj)
        .await
}

#[tokio::test]
async fn operator_crds_install_and_every_example_applies() {
    let cluster = setup().await;
    let docs = yaml_docs("examples");
    let mut seen = std::collections::BTreeSet::new();
    for (file, doc) in &docs {
        // Examples are independent; the same name may appear in two files.
        let key = (
            doc["kind"].clone().to_string(),
            doc["metadata"]["name"].clone().to_string(),
        );
        if !seen.insert(key) {
            continue;
        }
        let created = apply(&cluster, doc).await.unwrap_or_else(|e| {
            panic!(
                "{file}: {} {} rejected: {e}",
                doc["kind"], doc["metadata"]["name"]
            )
        });
        assert_eq!(created.metadata.generation, Some(1), "{file}");
    }
    cluster.cleanup().await;
}

fn first(kind: &str) -> Value {
    yaml_docs("examples")
        .into_iter()
        .map(|(_, d)| d)
        .find(|d| {
            d["kind"] == kind && (kind != "StateMachine" || d["spec"].get("definition").is_some())
        })
        .unwrap_or_else(|| panic!("an example {kind}"))
}

fn rejection(r: Result<DynamicObject, kube::Error>) -> Box<Status> {
    match r {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_manifests_are_rejected_naming_the_field() {
    let cluster = setup().await;
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "StateMachine",
            |d| d["spec"]["type"] = json!("FAST"),
            "spec.type",
        ),
        (
            "StateMachine",
            |d| d["spec"]["timeoutSeconds"] = json!("soon"),
            "spec.timeoutSeconds",
        ),
        (
            "StateMachine",
            |d| d["spec"]["definition"]["states"][0]["type"] = json!("Sleep"),
            "spec.definition.states[0].type",
        ),
        (
            "StateMachine",
            |d| {
                d["spec"]["definition"]["states"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            },
            "spec.definition.states[0].name",
        ),
        (
            "StateMachine",
            |d| d["spec"]["definitionJson"] = json!("{}"),
            "spec",
        ),
        (
            "TaskIntegration",
            |d| d["spec"]["pattern"] = json!("fireAndForget"),
            "spec.pattern",
        ),
        (
            "TaskIntegration",
            |d| d["spec"]["sns"] = json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:t"}),
            "spec",
        ),
    ];
    for (i, (kind, edit, field)) in cases.into_iter().enumerate() {
        let mut doc = first(kind);
        doc["metadata"]["name"] = json!(format!("bad-{i}"));
        edit(&mut doc);
        let err = rejection(apply(&cluster, &doc).await);
        assert_eq!(err.code, 422, "case {i}: {}", err.message);
        let fields: Vec<String> = err
            .details
            .as_ref()
            .map(|d| d.causes.iter().map(|c| c.field.clone()).collect())
            .unwrap_or_default();
        assert!(
            fields.iter().any(|f| f == field),
            "case {i}: expected {field} among {fields:?}: {}",
            err.message
        );
        assert!(err.message.contains(field), "case {i}: {}", err.message);
    }
    cluster.cleanup().await;
}

#[tokio::test]
async fn transition_rules_guard_updates() {
    let cluster = setup().await;
    let mut doc = first("StateMachine");
    doc["metadata"]["name"] = json!("immutable");
    doc["spec"]["type"] = json!("STANDARD");
    apply(&cluster, &doc).await.expect("a valid state machine");
    let api = api_for(&cluster, &doc);
    let patch = kube::api::Patch::Merge(json!({"spec": {"type": "EXPRESS"}}));
    let err = match api
        .patch("immutable", &kube::api::PatchParams::default(), &patch)
        .await
    {
        Err(kube::Error::Api(s)) => s,
        other => panic!("changing spec.type must be rejected, got {other:?}"),
    };
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("spec.type") && err.message.contains("immutable"),
        "{}",
        err.message
    );
    // Other changes still go through and bump the generation.
    let ok = api
        .patch(
            "immutable",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"timeoutSeconds": 60}})),
        )
        .await
        .unwrap();
    assert_eq!(ok.metadata.generation, Some(2));
    cluster.cleanup().await;
}
