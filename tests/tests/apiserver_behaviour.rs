//! The test API server's behaviour suite: one test per behaviour a controller relies on, written against a
//! plain `kube::Client`. By default each test gets a fresh in-process server; with `SFN_TEST_KUBECONFIG` set
//! the same tests run against that cluster (each in a fresh namespace), so any difference shows up as a
//! failing test. Tests that need server-only controls (`compact`, quick bookmarks) say so.

use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Namespace, Secret};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::Status;
use serde_json::{Value, json};
use sfn_operator_tests::cluster::TestCluster;
use sfn_operator_tests::fixtures::{self, API_VERSION, GROUP, KIND, PLURAL};

async fn setup() -> (TestCluster, Api<DynamicObject>) {
    let cluster = TestCluster::start().await;
    cluster
        .install_crd(&fixtures::widget_crd())
        .await
        .expect("installing the Widget CRD");
    let api = cluster.dynamic(API_VERSION, KIND, PLURAL);
    (cluster, api)
}

fn obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("a valid object")
}

async fn create(api: &Api<DynamicObject>, v: Value) -> DynamicObject {
    api.create(&PostParams::default(), &obj(v))
        .await
        .expect("create")
}

fn api_error<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> Box<Status> {
    match r {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn causes(s: &Status) -> Vec<(String, String)> {
    s.details
        .as_ref()
        .map(|d| {
            d.causes
                .iter()
                .map(|c| (c.field.clone(), c.reason.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn rv(o: &DynamicObject) -> u64 {
    o.metadata
        .resource_version
        .as_deref()
        .unwrap_or_default()
        .parse()
        .expect("numeric resourceVersion")
}

async fn next<S, K>(stream: &mut S) -> WatchEvent<K>
where
    S: Stream<Item = Result<WatchEvent<K>, kube::Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("a watch event within 10s")
        .expect("a watch event, not an error")
        .expect("the watch stays open")
}

fn name_of(ev: &WatchEvent<DynamicObject>) -> (String, String) {
    match ev {
        WatchEvent::Added(o) => ("ADDED".into(), o.metadata.name.clone().unwrap_or_default()),
        WatchEvent::Modified(o) => (
            "MODIFIED".into(),
            o.metadata.name.clone().unwrap_or_default(),
        ),
        WatchEvent::Deleted(o) => (
            "DELETED".into(),
            o.metadata.name.clone().unwrap_or_default(),
        ),
        WatchEvent::Bookmark(_) => ("BOOKMARK".into(), String::new()),
        WatchEvent::Error(e) => ("ERROR".into(), e.reason.clone()),
    }
}

/// Skips bookmarks, which a real server may interleave at any time.
async fn next_change<S>(stream: &mut S) -> (String, String)
where
    S: Stream<Item = Result<WatchEvent<DynamicObject>, kube::Error>> + Unpin,
{
    loop {
        let ev = next(stream).await;
        if !matches!(ev, WatchEvent::Bookmark(_)) {
            return name_of(&ev);
        }
    }
}

// 1. CRD install, Established, discovery.
#[tokio::test]
async fn crd_install_makes_resources_servable_and_discoverable() {
    let (cluster, api) = setup().await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(cluster.client.clone());
    let crd = crds.get(&format!("{PLURAL}.{GROUP}")).await.unwrap();
    let conds = crd.status.unwrap().conditions.unwrap();
    assert!(
        conds
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    create(&api, fixtures::widget("a", 1)).await;
    let discovery = kube::Discovery::new(cluster.client.clone())
        .run()
        .await
        .unwrap();
    let group = discovery
        .get(GROUP)
        .expect("the fixture group is discoverable");
    let (ar, caps) = group
        .recommended_kind(KIND)
        .expect("Widget is discoverable");
    assert_eq!(ar.plural, PLURAL);
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        cluster
            .client
            .apiserver_version()
            .await
            .unwrap()
            .major
            .parse::<u32>()
            .is_ok()
    );
    cluster.cleanup().await;
}

// 1. Structural schema validation: types, required, enum, bounds, lengths, pattern, maxItems, nullable,
// int-or-string; every failing field is named in details.causes.
#[tokio::test]
async fn schema_validation_names_each_field() {
    let (cluster, api) = setup().await;
    let bad = json!({
        "apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "bad"},
        "spec": {"size": 11, "mode": "OTHER", "name": "Bad_Name", "tags": ["a", "b", "c", "d"], "port": true}
    });
    let err = api_error(api.create(&PostParams::default(), &obj(bad)).await);
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let c = causes(&err);
    for (field, reason) in [
        ("spec.size", "FieldValueInvalid"),
        ("spec.mode", "FieldValueNotSupported"),
        ("spec.name", "FieldValueInvalid"),
        ("spec.tags", "FieldValueTooMany"),
        ("spec.port", "FieldValueTypeInvalid"),
    ] {
        assert!(
            c.contains(&(field.to_string(), reason.to_string())),
            "missing {field}/{reason} in {c:?}"
        );
    }
    assert!(err.message.contains("spec.size"), "{}", err.message);
    // The Widget schema has CEL rules, which these errors keep from running: see
    // `cel_rules_wait_for_a_valid_object`.
    let not_checked = ("<nil>".to_string(), "FieldValueInvalid".to_string());
    let err = api_error(
        api.create(&PostParams::default(), &obj(json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "m"}, "spec": {}})))
            .await,
    );
    assert_eq!(
        causes(&err),
        vec![
            ("spec.size".to_string(), "FieldValueRequired".to_string()),
            not_checked.clone()
        ]
    );
    let err = api_error(
        api.create(&PostParams::default(), &obj(json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "t"}, "spec": {"size": "two"}})))
            .await,
    );
    assert_eq!(
        causes(&err),
        vec![
            ("spec.size".to_string(), "FieldValueTypeInvalid".to_string()),
            not_checked.clone()
        ]
    );
    let err = api_error(
        api.create(&PostParams::default(), &obj(json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "l"}, "spec": {"size": 1, "name": "abcdefghijklm"}})))
            .await,
    );
    assert_eq!(
        causes(&err),
        vec![
            ("spec.name".to_string(), "FieldValueTooLong".to_string()),
            not_checked
        ]
    );
    // nullable accepts null; int-or-string accepts both.
    let ok = create(
        &api,
        json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "ok"},
        "spec": {"size": 1, "ratio": null, "port": "http"}}),
    )
    .await;
    assert_eq!(ok.data["spec"]["ratio"], Value::Null);
    create(&api, json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "ok2"}, "spec": {"size": 1, "port": 8080}})).await;
    cluster.cleanup().await;
}

// 1. Defaults, including nested object defaults.
#[tokio::test]
async fn defaults_are_applied() {
    let (cluster, api) = setup().await;
    let w = create(&api, fixtures::widget("d", 3)).await;
    assert_eq!(w.data["spec"]["mode"], json!("STANDARD"));
    assert_eq!(w.data["spec"]["nested"], json!({"enabled": false}));
    let got = api.get("d").await.unwrap();
    assert_eq!(got.data["spec"]["mode"], json!("STANDARD"));
    cluster.cleanup().await;
}

// 1. Unknown fields are pruned, and rejected with fieldValidation=Strict; preserve-unknown-fields keeps them.
#[tokio::test]
async fn unknown_fields_pruned_or_rejected_when_strict() {
    let (cluster, api) = setup().await;
    let body = json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "p"},
        "spec": {"size": 1, "bogus": 1, "definition": {"StartAt": "A", "anything": [1]}}});
    let w = create(&api, body.clone()).await;
    assert!(w.data["spec"].get("bogus").is_none());
    assert_eq!(
        w.data["spec"]["definition"],
        json!({"StartAt": "A", "anything": [1]})
    );
    let strict = PostParams {
        field_manager: None,
        dry_run: false,
    };
    let _ = strict;
    let mut body2 = body;
    body2["metadata"]["name"] = json!("q");
    let req = api.create_with_validation(&body2).await;
    let err = api_error(req);
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
    assert!(
        err.message.contains("unknown field \"spec.bogus\""),
        "{}",
        err.message
    );
    cluster.cleanup().await;
}

/// `fieldValidation=Strict` is not in kube's PostParams: send the request directly.
trait StrictCreate {
    async fn create_with_validation(&self, body: &Value) -> Result<DynamicObject, kube::Error>;
}

impl StrictCreate for Api<DynamicObject> {
    async fn create_with_validation(&self, body: &Value) -> Result<DynamicObject, kube::Error> {
        let url = format!("{}?fieldValidation=Strict", self.resource_url());
        let req = http::Request::post(url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .unwrap();
        self.clone()
            .into_client()
            .request::<DynamicObject>(req)
            .await
    }
}

// 1. CEL rules are evaluated, including transition rules (oldSelf).
#[tokio::test]
async fn cel_rules_are_evaluated() {
    let (cluster, api) = setup().await;
    let err = api_error(
        api.create(
            &PostParams::default(),
            &obj(
                json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "c"},
            "spec": {"size": 1, "definition": {}, "definitionJson": "{}"}}),
            ),
        )
        .await,
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message
            .contains("definition and definitionJson are mutually exclusive"),
        "{}",
        err.message
    );
    assert_eq!(
        causes(&err),
        vec![("spec".to_string(), "FieldValueInvalid".to_string())]
    );
    create(&api, fixtures::widget("c", 1)).await;
    let err = api_error(
        api.patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"mode": "EXPRESS"}})),
        )
        .await,
    );
    assert!(err.message.contains("mode is immutable"), "{}", err.message);
    cluster.cleanup().await;
}

// 1. A CRD carrying a CEL rule the server cannot evaluate is refused with a clear message (server only:
// a real cluster evaluates full CEL).
#[tokio::test]
async fn crd_with_unsupported_cel_is_refused() {
    let cluster = TestCluster::start().await;
    if cluster.is_real() {
        return;
    }
    let mut crd = fixtures::widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] =
        json!([{"rule": "quantity(self.size).isGreaterThan(quantity('1'))"}]);
    let err = api_error(cluster.install_crd(&crd).await);
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("compilation failed") && err.message.contains("quantity"),
        "{}",
        err.message
    );
    cluster.cleanup().await;
}

// 2. Create / get / list: uid, creationTimestamp, generation 1, one global increasing resourceVersion.
#[tokio::test]
async fn create_sets_server_fields_and_global_resource_version() {
    let (cluster, api) = setup().await;
    let a = create(&api, fixtures::widget("a", 1)).await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let cm = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "cm"}, "data": {"k": "v"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    let b = create(&api, fixtures::widget("b", 1)).await;
    let cm_rv: u64 = cm.metadata.resource_version.unwrap().parse().unwrap();
    assert!(
        rv(&a) < cm_rv && cm_rv < rv(&b),
        "one global counter across resources"
    );
    assert_eq!(a.metadata.generation, Some(1));
    assert!(a.metadata.uid.is_some() && a.metadata.uid != b.metadata.uid);
    assert!(a.metadata.creation_timestamp.is_some());
    assert_eq!(
        a.metadata.namespace.as_deref(),
        Some(cluster.namespace.as_str())
    );
    let got = api.get("a").await.unwrap();
    assert_eq!(got.metadata.uid, a.metadata.uid);
    let list = api.list(&ListParams::default()).await.unwrap();
    let names: Vec<String> = list
        .items
        .iter()
        .filter_map(|o| o.metadata.name.clone())
        .collect();
    assert_eq!(names, vec!["a", "b"]);
    let list_rv: u64 = list.metadata.resource_version.unwrap().parse().unwrap();
    assert!(list_rv >= rv(&b));
    cluster.cleanup().await;
}

// 2. generation moves only with changes outside metadata and status.
#[tokio::test]
async fn generation_tracks_spec_changes_only() {
    let (cluster, api) = setup().await;
    create(&api, fixtures::widget("g", 1)).await;
    let labelled = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let status = api
        .patch_status(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(1));
    let spec = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(spec.metadata.generation, Some(2));
    cluster.cleanup().await;
}

// 2. 409 on a stale resourceVersion and on an existing name; 404 for a missing object or namespace.
#[tokio::test]
async fn conflicts_and_not_found() {
    let (cluster, api) = setup().await;
    let a = create(&api, fixtures::widget("a", 1)).await;
    let err = api_error(
        api.create(&PostParams::default(), &obj(fixtures::widget("a", 2)))
            .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
    let mut newer = a.clone();
    newer.data["spec"]["size"] = json!(2);
    api.replace("a", &PostParams::default(), &newer)
        .await
        .unwrap();
    let mut stale = a.clone();
    stale.data["spec"]["size"] = json!(3);
    let err = api_error(api.replace("a", &PostParams::default(), &stale).await);
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message.contains("the object has been modified"),
        "{}",
        err.message
    );
    let err = api_error(api.get("missing").await);
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    let details = err.details.clone().unwrap();
    assert_eq!(
        (
            details.name.as_str(),
            details.group.as_str(),
            details.kind.as_str()
        ),
        ("missing", GROUP, PLURAL)
    );
    let other: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        "no-such-namespace-sfn",
        &kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk(GROUP, "v1", KIND),
            PLURAL,
        ),
    );
    let err = api_error(
        other
            .create(&PostParams::default(), &obj(fixtures::widget("x", 1)))
            .await,
    );
    assert_eq!(err.code, 404);
    assert!(
        err.message
            .contains("namespaces \"no-such-namespace-sfn\" not found"),
        "{}",
        err.message
    );
    let err = api_error(api.delete("missing", &DeleteParams::default()).await);
    assert_eq!(err.code, 404);
    // Without finalizers a delete is immediate and answers with a Status naming the object.
    let gone = api.delete("a", &DeleteParams::default()).await.unwrap();
    let status = gone.right().expect("a Status for an immediate delete");
    assert_eq!(status.details.unwrap().name, "a");
    cluster.cleanup().await;
}

// 2. A write that changes nothing keeps the resourceVersion and sends no watch event.
#[tokio::test]
async fn no_op_writes_keep_resource_version_and_send_no_event() {
    let (cluster, api) = setup().await;
    let a = create(&api, fixtures::widget("a", 1)).await;
    let mut stream = api
        .watch(&WatchParams::default(), &rv(&a).to_string())
        .await
        .unwrap()
        .boxed();
    let same = api.replace("a", &PostParams::default(), &a).await.unwrap();
    assert_eq!(rv(&same), rv(&a));
    let same = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(rv(&same), rv(&a));
    // The next event the watch sees is the real change, not the no-ops.
    create(&api, fixtures::widget("b", 1)).await;
    assert_eq!(next_change(&mut stream).await, ("ADDED".into(), "b".into()));
    cluster.cleanup().await;
}

// 3. The status subresource: /status changes only .status; the main resource ignores .status.
#[tokio::test]
async fn status_subresource_separates_spec_and_status() {
    let (cluster, api) = setup().await;
    let mut body = fixtures::widget("s", 1);
    body["status"] = json!({"phase": "Ignored"});
    let created = create(&api, body).await;
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    let mut via_main = created.clone();
    via_main.data["status"] = json!({"phase": "FromMain"});
    via_main.data["spec"]["size"] = json!(2);
    let updated = api
        .replace("s", &PostParams::default(), &via_main)
        .await
        .unwrap();
    assert!(updated.data.get("status").is_none());
    assert_eq!(updated.data["spec"]["size"], json!(2));
    let mut via_status = updated.clone();
    via_status.data["status"] = json!({"phase": "Ready", "observedGeneration": 2});
    via_status.data["spec"]["size"] = json!(5);
    via_status.metadata.labels = Some([("ignored".to_string(), "yes".to_string())].into());
    let st = api
        .replace_status("s", &PostParams::default(), &via_status)
        .await
        .unwrap();
    assert_eq!(st.data["status"]["phase"], json!("Ready"));
    assert_eq!(
        st.data["spec"]["size"],
        json!(2),
        "spec is not written through /status"
    );
    assert!(
        !st.metadata
            .labels
            .unwrap_or_default()
            .contains_key("ignored")
    );
    let err = api_error(
        api.patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}}),
            ),
        )
        .await,
    );
    assert_eq!(
        causes(&err),
        vec![
            (
                "status.conditions[0].status".to_string(),
                "FieldValueNotSupported".to_string()
            ),
            ("<nil>".to_string(), "FieldValueInvalid".to_string())
        ]
    );
    cluster.cleanup().await;
}

// 1. When a schema has CEL rules and the object already fails with a Required, TypeInvalid, NotSupported,
// TooLong or TooMany error, the rules are not run and one more cause says so, on create, update and status
// update; other errors (a bound) leave the rules running.
#[tokio::test]
async fn cel_rules_wait_for_a_valid_object() {
    let (cluster, api) = setup().await;
    const NOT_CHECKED: &str = "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";
    let not_checked = |err: &Status| {
        let last = err
            .details
            .as_ref()
            .and_then(|d| d.causes.last())
            .expect("a cause");
        assert_eq!(
            (
                last.field.as_str(),
                last.reason.as_str(),
                last.message.as_str()
            ),
            ("<nil>", "FieldValueInvalid", NOT_CHECKED)
        );
        assert!(
            err.message.contains(&format!("<nil>: {NOT_CHECKED}")),
            "{}",
            err.message
        );
    };
    // Both definitions (a CEL rule) and an unsupported mode: only the schema error and the note.
    let both = json!({"definition": {}, "definitionJson": "{}"});
    let mut body = fixtures::widget("c", 1);
    body["spec"]["mode"] = json!("OTHER");
    body["spec"]["definition"] = both["definition"].clone();
    body["spec"]["definitionJson"] = both["definitionJson"].clone();
    let err = api_error(api.create(&PostParams::default(), &obj(body.clone())).await);
    assert_eq!(
        causes(&err)[0],
        (
            "spec.mode".to_string(),
            "FieldValueNotSupported".to_string()
        )
    );
    assert_eq!(causes(&err).len(), 2);
    not_checked(&err);
    // A bound is not such an error: the rule runs and fails too.
    body["spec"]["mode"] = json!("STANDARD");
    body["spec"]["size"] = json!(11);
    let err = api_error(api.create(&PostParams::default(), &obj(body)).await);
    assert_eq!(
        causes(&err),
        vec![
            ("spec.size".to_string(), "FieldValueInvalid".to_string()),
            ("spec".to_string(), "FieldValueInvalid".to_string())
        ]
    );
    // Update: the transition rule on mode is skipped while size has the wrong type.
    create(&api, fixtures::widget("c", 1)).await;
    let err = api_error(
        api.patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"mode": "EXPRESS", "size": "big"}})),
        )
        .await,
    );
    assert_eq!(
        causes(&err)[0],
        ("spec.size".to_string(), "FieldValueTypeInvalid".to_string())
    );
    assert_eq!(causes(&err).len(), 2);
    not_checked(&err);
    // Status update.
    let err = api_error(
        api.patch_status(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [{"type": "Ready"}]}})),
        )
        .await,
    );
    assert_eq!(
        causes(&err)[0],
        (
            "status.conditions[0].status".to_string(),
            "FieldValueRequired".to_string()
        )
    );
    not_checked(&err);
    cluster.cleanup().await;
}

// 4. JSON merge patch, JSON patch with test, strategic merge patch → 415 on a custom resource.
#[tokio::test]
async fn patch_formats() {
    let (cluster, api) = setup().await;
    create(&api, json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
        "spec": {"size": 1, "tags": ["x"]}}))
    .await;
    let meta = api
        .patch_metadata(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"k": "v"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        meta.metadata
            .annotations
            .unwrap()
            .get("k")
            .map(String::as_str),
        Some("v")
    );
    let merged = api
        .patch("p", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"tags": ["y", "z"]}})))
        .await
        .unwrap();
    let labels = merged.metadata.labels.clone().unwrap();
    assert_eq!(labels.get("a"), None);
    assert_eq!(labels.get("c").map(String::as_str), Some("3"));
    assert_eq!(merged.data["spec"]["tags"], json!(["y", "z"]));
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/size", "value": 1},
        {"op": "replace", "path": "/spec/size", "value": 4},
        {"op": "add", "path": "/spec/tags/-", "value": "w"}
    ]))
    .unwrap();
    let patched = api
        .patch("p", &PatchParams::default(), &Patch::Json::<()>(jp))
        .await
        .unwrap();
    assert_eq!(patched.data["spec"]["size"], json!(4));
    assert_eq!(patched.data["spec"]["tags"], json!(["y", "z", "w"]));
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/size", "value": 1}, {"op": "replace", "path": "/spec/size", "value": 9}]))
            .unwrap();
    let err = api_error(
        api.patch("p", &PatchParams::default(), &Patch::Json::<()>(failing))
            .await,
    );
    assert_eq!(err.code, 422);
    assert_eq!(api.get("p").await.unwrap().data["spec"]["size"], json!(4));
    let err = api_error(
        api.patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 2}})),
        )
        .await,
    );
    assert_eq!(
        (err.code, err.reason.as_str()),
        (415, "UnsupportedMediaType")
    );
    // A merge patch carrying a stale resourceVersion is a failed precondition.
    let err = api_error(
        api.patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "spec": {"size": 2}})),
        )
        .await,
    );
    assert_eq!(err.code, 409);
    cluster.cleanup().await;
}

// 4. Server-side apply: create, merge with other managers' fields, conflicts between managers, force,
// and removal of fields a manager stops applying.
#[tokio::test]
async fn server_side_apply() {
    let (cluster, api) = setup().await;
    let a = PatchParams::apply("manager-a");
    let b = PatchParams::apply("manager-b");
    // An apply that creates must name the object; the URL alone is not enough.
    let err = api_error(
        api.patch(
            "w",
            &a,
            &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"size": 1}})),
        )
        .await,
    );
    assert_eq!(
        (err.code, err.reason.as_str(), err.message.as_str()),
        (
            400,
            "BadRequest",
            "the name of the object (w based on URL) was undeterminable: name must be provided"
        )
    );
    let applied = api
        .patch("w", &a, &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "w"}, "spec": {"size": 1, "tags": ["x"]}})))
        .await
        .unwrap();
    assert_eq!(applied.metadata.generation, Some(1));
    assert!(
        applied
            .metadata
            .managed_fields
            .as_ref()
            .is_some_and(|m| m.iter().any(|e| e.manager.as_deref() == Some("manager-a")))
    );
    // Applies to the existing object may leave the name out.
    let both = api
        .patch(
            "w",
            &b,
            &Patch::Apply(
                json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"labels": {"team": "b"}}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        both.data["spec"]["size"],
        json!(1),
        "fields of other managers stay"
    );
    assert_eq!(both.data["spec"]["labels"], json!({"team": "b"}));
    let err = api_error(
        api.patch(
            "w",
            &b,
            &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"size": 5}})),
        )
        .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(err.message.contains("manager-a"), "{}", err.message);
    assert!(
        causes(&err)
            .iter()
            .any(|(f, r)| f == ".spec.size" && r == "FieldManagerConflict"),
        "{:?}",
        causes(&err)
    );
    let forced = api
        .patch("w", &b.clone().force(), &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"size": 5, "labels": {"team": "b"}}})))
        .await
        .unwrap();
    assert_eq!(forced.data["spec"]["size"], json!(5));
    // manager-a stops applying tags: they go, since nobody else owns them.
    let dropped = api
        .patch(
            "w",
            &a,
            &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {}})),
        )
        .await
        .unwrap();
    assert!(
        dropped.data["spec"].get("tags").is_none(),
        "{:?}",
        dropped.data
    );
    assert_eq!(dropped.data["spec"]["size"], json!(5));
    // Status through apply: list-map conditions merge per key across managers.
    api.patch_status(
        "w",
        &a,
        &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND,
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}})),
    )
    .await
    .unwrap();
    let st = api
        .patch_status(
            "w",
            &b,
            &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND,
            "status": {"conditions": [{"type": "Synced", "status": "False"}]}})),
        )
        .await
        .unwrap();
    let types: Vec<&str> = st.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert_eq!(types, vec!["Ready", "Synced"]);
    // Finalizers are a set: managers own their own entries.
    let with_finalizer = json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {},
        "metadata": {"finalizers": ["a.example.com/f"]}});
    api.patch("w", &a, &Patch::Apply(with_finalizer.clone()))
        .await
        .unwrap();
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/metadata/finalizers/-", "value": "b.example.com/f"}
    ]))
    .unwrap();
    api.patch("w", &PatchParams::default(), &Patch::Json::<()>(jp))
        .await
        .unwrap();
    let fin = api
        .patch("w", &a, &Patch::Apply(with_finalizer))
        .await
        .unwrap();
    assert_eq!(
        fin.metadata.finalizers.unwrap(),
        vec!["a.example.com/f", "b.example.com/f"]
    );
    let fin = api
        .patch(
            "w",
            &a,
            &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {}})),
        )
        .await
        .unwrap();
    assert_eq!(
        fin.metadata.finalizers.unwrap(),
        vec!["b.example.com/f"],
        "a's finalizer goes, the other stays"
    );
    // Leave nothing that would hold the namespace on a real cluster.
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let err = api_error(
        api.patch(
            "w",
            &PatchParams::default(),
            &Patch::Apply(json!({"apiVersion": API_VERSION, "kind": KIND})),
        )
        .await,
    );
    assert_eq!(err.code, 422, "apply needs a fieldManager: {}", err.message);
    cluster.cleanup().await;
}

// 5. Finalizers: delete sets deletionTimestamp (MODIFIED), no new finalizers, removing the last deletes (DELETED).
#[tokio::test]
async fn finalizers_hold_deletion() {
    let (cluster, api) = setup().await;
    let mut body = fixtures::widget("f", 1);
    body["metadata"]["finalizers"] = json!(["sfn.operator.dev/finalizer"]);
    let created = create(&api, body).await;
    let mut stream = api
        .watch(&WatchParams::default(), &rv(&created).to_string())
        .await
        .unwrap()
        .boxed();
    let deleted = api.delete("f", &DeleteParams::default()).await.unwrap();
    let live = deleted
        .left()
        .expect("the object is returned while finalizers hold it");
    assert!(live.metadata.deletion_timestamp.is_some());
    assert_eq!(
        live.metadata.generation,
        Some(2),
        "marking for deletion bumps the generation"
    );
    assert_eq!(
        next_change(&mut stream).await,
        ("MODIFIED".into(), "f".into())
    );
    let err = api_error(
        api.patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["sfn.operator.dev/finalizer", "other/x"]}}),
            ),
        )
        .await,
    );
    assert_eq!(err.code, 422);
    assert!(
        causes(&err)
            .iter()
            .any(|(f, r)| f == "metadata.finalizers" && r == "FieldValueForbidden"),
        "{:?}",
        causes(&err)
    );
    // Removing the last finalizer the way kube-runtime's finalizer helper does (JSON patch with test).
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "sfn.operator.dev/finalizer"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]))
    .unwrap();
    api.patch("f", &PatchParams::default(), &Patch::Json::<()>(jp))
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut stream).await,
        ("DELETED".into(), "f".into())
    );
    assert_eq!(api_error(api.get("f").await).code, 404);
    cluster.cleanup().await;
}

// 6. Watch from a resourceVersion: events strictly after it, in order.
#[tokio::test]
async fn watch_from_resource_version_in_order() {
    let (cluster, api) = setup().await;
    let a = create(&api, fixtures::widget("a", 1)).await;
    create(&api, fixtures::widget("b", 1)).await;
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &rv(&a).to_string())
        .await
        .unwrap()
        .boxed();
    assert_eq!(next_change(&mut stream).await, ("ADDED".into(), "b".into()));
    assert_eq!(
        next_change(&mut stream).await,
        ("MODIFIED".into(), "a".into())
    );
    assert_eq!(
        next_change(&mut stream).await,
        ("DELETED".into(), "b".into())
    );
    create(&api, fixtures::widget("c", 1)).await;
    assert_eq!(next_change(&mut stream).await, ("ADDED".into(), "c".into()));
    // A watch from "0" starts with the current objects.
    let mut from_zero = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let mut seen = vec![
        next_change(&mut from_zero).await,
        next_change(&mut from_zero).await,
    ];
    seen.sort();
    assert_eq!(
        seen,
        vec![("ADDED".into(), "a".into()), ("ADDED".into(), "c".into())]
    );
    cluster.cleanup().await;
}

// 6. A too-old resourceVersion gets a 410 Expired error event, and kube-runtime's watcher recovers by relisting.
#[tokio::test]
async fn watch_from_expired_version_gets_410() {
    let (cluster, api) = setup().await;
    let a = create(&api, fixtures::widget("a", 1)).await;
    create(&api, fixtures::widget("b", 1)).await;
    let old = match &cluster.server {
        Some(server) => {
            server.compact();
            rv(&a).to_string()
        }
        // A real cluster compacts on its own schedule; version 1 is long gone.
        None => "1".to_string(),
    };
    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    match next(&mut stream).await {
        WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected a 410 error event, got {:?}", name_of(&other)),
    }
    let events = kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default());
    let objs: Vec<_> = tokio::time::timeout(
        Duration::from_secs(10),
        kube::runtime::WatchStreamExt::applied_objects(events)
            .take(2)
            .try_collect::<Vec<_>>(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(objs.len(), 2);
    cluster.cleanup().await;
}

// 6. Bookmarks: sendInitialEvents ends the initial events with a bookmark; periodic bookmarks carry the
// latest version (periodic ones only checked in-process, a real server sends them about once a minute).
#[tokio::test]
async fn watch_bookmarks() {
    let (cluster, api) = setup().await;
    let a = create(&api, fixtures::widget("a", 1)).await;
    let wp = WatchParams::default().initial_events();
    let mut stream = api.watch(&wp, "").await.unwrap().boxed();
    assert_eq!(
        name_of(&next(&mut stream).await),
        ("ADDED".into(), "a".into())
    );
    match next(&mut stream).await {
        WatchEvent::Bookmark(b) => {
            assert_eq!(
                b.metadata
                    .annotations
                    .get("k8s.io/initial-events-end")
                    .map(String::as_str),
                Some("true")
            );
            assert!(b.metadata.resource_version.parse::<u64>().unwrap() >= rv(&a));
        }
        other => panic!(
            "expected the initial-events-end bookmark, got {:?}",
            name_of(&other)
        ),
    }
    if cluster.server.is_some() {
        let mut stream = api
            .watch(&WatchParams::default(), &rv(&a).to_string())
            .await
            .unwrap()
            .boxed();
        match next(&mut stream).await {
            WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv(&a).to_string()),
            other => panic!("expected a periodic bookmark, got {:?}", name_of(&other)),
        }
    }
    cluster.cleanup().await;
}

// 6. timeoutSeconds ends the watch.
#[tokio::test]
async fn watch_timeout_seconds_ends_the_stream() {
    let (cluster, api) = setup().await;
    let started = std::time::Instant::now();
    let stream = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap();
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("the watch ends");
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "no changes, only bookmarks"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    cluster.cleanup().await;
}

// 2. Label selectors (=, !=, in, notin, exists, !exists), field selectors, all-namespace lists, watches
// that see an object leave the selection as DELETED.
#[tokio::test]
async fn selectors_and_all_namespace_lists() {
    let (cluster, api) = setup().await;
    for (name, tier) in [("a", Some("web")), ("b", Some("db")), ("c", None)] {
        let mut w = fixtures::widget(name, 1);
        if let Some(t) = tier {
            w["metadata"]["labels"] = json!({"tier": t});
        }
        create(&api, w).await;
    }
    let names = |l: kube::core::ObjectList<DynamicObject>| {
        l.items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect::<Vec<_>>()
    };
    for (sel, want) in [
        ("tier=web", vec!["a"]),
        ("tier!=web", vec!["b", "c"]),
        ("tier in (web,db)", vec!["a", "b"]),
        ("tier notin (web)", vec!["b", "c"]),
        ("tier", vec!["a", "b"]),
        ("!tier", vec!["c"]),
    ] {
        assert_eq!(
            names(api.list(&ListParams::default().labels(sel)).await.unwrap()),
            want,
            "{sel}"
        );
    }
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=b"))
                .await
                .unwrap()
        ),
        vec!["b"]
    );
    // A CRD's selectableFields can be used in field selectors; other fields cannot.
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("spec.mode=STANDARD"))
                .await
                .unwrap()
        ),
        vec!["a", "b", "c"]
    );
    let err = api_error(api.list(&ListParams::default().fields("spec.size=1")).await);
    assert_eq!(err.code, 400);
    // Pagination.
    let page = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let cont = page.metadata.continue_.clone().expect("a continue token");
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&cont))
        .await
        .unwrap();
    assert_eq!(names(rest), vec!["c"]);
    // All namespaces.
    let second = format!("{}-2", cluster.namespace);
    let nss: Api<Namespace> = Api::all(cluster.client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": second}})).unwrap(),
    )
    .await
    .unwrap();
    let other = Api::<DynamicObject>::namespaced_with(
        cluster.client.clone(),
        &second,
        &kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk(GROUP, "v1", KIND),
            PLURAL,
        ),
    );
    let mut w = fixtures::widget("d", 1);
    w["metadata"]["labels"] = json!({"tier": "web"});
    create(&other, w).await;
    let all = Api::<DynamicObject>::all_with(
        cluster.client.clone(),
        &kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk(GROUP, "v1", KIND),
            PLURAL,
        ),
    );
    let both: Vec<(String, String)> = all
        .list(&ListParams::default().labels("tier=web"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|o| {
            o.metadata
                .namespace
                .as_deref()
                .is_some_and(|n| n.starts_with(&cluster.namespace))
        })
        .map(|o| (o.metadata.namespace.unwrap(), o.metadata.name.unwrap()))
        .collect();
    // Kubernetes promises no order across namespaces (etcd's key order puts `ns-2/d` before `ns/a`).
    let mut both = both;
    both.sort();
    assert_eq!(
        both,
        vec![
            (cluster.namespace.clone(), "a".to_string()),
            (second.clone(), "d".to_string())
        ]
    );
    // Leaving the selection is a DELETED event for a selecting watch.
    let start = api.get("a").await.unwrap();
    let mut stream = api
        .watch(
            &WatchParams::default().labels("tier=web"),
            &rv(&start).to_string(),
        )
        .await
        .unwrap()
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}})),
    )
    .await
    .unwrap();
    assert_eq!(
        next_change(&mut stream).await,
        ("DELETED".into(), "a".into())
    );
    let _ = nss.delete(&second, &DeleteParams::default()).await;
    cluster.cleanup().await;
}

// 7. Built-ins: Namespaces, ConfigMaps, Secrets, Events (both APIs), Leases.
#[tokio::test]
async fn built_in_resources() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace.as_str();
    let client = cluster.client.clone();
    let namespace = Api::<Namespace>::all(client.clone()).get(ns).await.unwrap();
    assert_eq!(namespace.status.unwrap().phase.as_deref(), Some("Active"));
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "b"}})).unwrap(),
    )
    .await
    .unwrap();
    // Strategic merge patch on a built-in merges the finalizer set, the new entry in front.
    let with_a = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"finalizers": ["example.com/a"]}})),
        )
        .await
        .unwrap();
    assert_eq!(with_a.metadata.finalizers.unwrap(), vec!["example.com/a"]);
    let with_b = cms
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"finalizers": ["example.com/b"], "labels": {"x": "y"}}, "data": {"a": null}})),
        )
        .await
        .unwrap();
    assert_eq!(
        with_b.metadata.finalizers.unwrap(),
        vec!["example.com/b", "example.com/a"]
    );
    assert!(with_b.data.unwrap_or_default().is_empty());
    cms.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let deleted = cms.delete("c", &DeleteParams::default()).await.unwrap();
    assert!(
        deleted.is_right(),
        "a ConfigMap delete answers with a Status"
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s = secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        s.data.unwrap().get("k").map(|b| b.0.clone()),
        Some(b"v".to_vec())
    );
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    let core_events: Api<CoreEvent> = Api::namespaced(client.clone(), ns);
    core_events
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "e1"}, "involvedObject": {"kind": "ConfigMap", "name": "c", "namespace": ns},
            "reason": "Test", "message": "hello", "type": "Normal"})).unwrap())
        .await
        .unwrap();
    assert_eq!(
        core_events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let new_events: Api<NewEvent> = Api::namespaced(client.clone(), ns);
    new_events
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "e2"}, "eventTime": "2026-01-01T00:00:00.000000Z", "action": "Reconcile",
            "reason": "Test", "note": "hello", "type": "Normal", "reportingController": "sfn-operator",
            "reportingInstance": "sfn-operator-0", "regarding": {"kind": "ConfigMap", "name": "c", "namespace": ns}})).unwrap())
        .await
        .unwrap();
    let got = new_events.get("e2").await.unwrap();
    assert_eq!(got.note.as_deref(), Some("hello"));
    // Both Event APIs serve the same objects, converted.
    let as_core = core_events.get("e2").await.unwrap();
    assert_eq!(as_core.message.as_deref(), Some("hello"));
    assert_eq!(as_core.involved_object.name.as_deref(), Some("c"));
    let as_new = new_events.get("e1").await.unwrap();
    assert_eq!(as_new.note.as_deref(), Some("hello"));
    assert_eq!(as_new.regarding.and_then(|r| r.name).as_deref(), Some("c"));
    let by_field = core_events
        .list(&ListParams::default().fields("involvedObject.name=c"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 2);
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    leases
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "l"}, "spec": {}})).unwrap(),
        )
        .await
        .unwrap();
    let held = leases
        .patch(
            "l",
            &PatchParams::apply("holder-a"),
            &Patch::Apply(
                json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(held.spec.unwrap().holder_identity.as_deref(), Some("a"));
    // A second holder applying without force conflicts: this is how kube-lease-manager detects a taken lock.
    let err = api_error(
        leases
            .patch(
                "l",
                &PatchParams::apply("holder-b"),
                &Patch::Apply(
                    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "spec": {"holderIdentity": "b", "leaseDurationSeconds": 15}}),
                ),
            )
            .await,
    );
    assert_eq!(err.code, 409);
    let renewed = leases
        .patch(
            "l",
            &PatchParams {
                field_manager: Some("holder-a".into()),
                ..Default::default()
            },
            &Patch::Strategic(json!({"spec": {"renewTime": "2026-01-01T00:00:00.000000Z"}})),
        )
        .await
        .unwrap();
    assert!(renewed.spec.unwrap().renew_time.is_some());
    cluster.cleanup().await;
}

// 7. Strategic merge patch orders a merged list as kube-apiserver does without `$setElementOrder`: items the
// patch brings that the live list lacks go in front of the live ones, unless the live order ranks them after
// a live item; lists of scalars (finalizers) and lists with a merge key (Service ports) alike.
#[tokio::test]
async fn strategic_merge_patch_list_order() {
    let cluster = TestCluster::start().await;
    let client = cluster.client.clone();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &cluster.namespace);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "order",
            "finalizers": ["example.com/a", "example.com/c"]}}))
        .unwrap(),
    )
    .await
    .unwrap();
    let smp = |f: Value| Patch::Strategic(json!({"metadata": {"finalizers": f}}));
    let got = cms
        .patch(
            "order",
            &PatchParams::default(),
            &smp(json!(["example.com/b"])),
        )
        .await
        .unwrap();
    assert_eq!(
        got.metadata.finalizers.unwrap(),
        vec!["example.com/b", "example.com/a", "example.com/c"]
    );
    let got = cms
        .patch(
            "order",
            &PatchParams::default(),
            &smp(json!(["example.com/c", "example.com/d"])),
        )
        .await
        .unwrap();
    assert_eq!(
        got.metadata.finalizers.unwrap(),
        vec![
            "example.com/b",
            "example.com/a",
            "example.com/c",
            "example.com/d"
        ]
    );
    cms.patch(
        "order",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), &cluster.namespace);
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "order"}, "spec": {"ports": [
                {"name": "a", "port": 80}, {"name": "c", "port": 82}]}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let got = services
        .patch(
            "order",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"ports": [{"name": "b", "port": 81}]}})),
        )
        .await
        .unwrap();
    let ports: Vec<i32> = got
        .spec
        .unwrap()
        .ports
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, vec![81, 80, 82]);
    cluster.cleanup().await;
}

// 7. Namespace deletion: content goes, objects with finalizers hold the namespace in Terminating.
#[tokio::test]
async fn namespace_deletion_removes_content() {
    let (cluster, api) = setup().await;
    let mut held = fixtures::widget("held", 1);
    held["metadata"]["finalizers"] = json!(["sfn.operator.dev/finalizer"]);
    create(&api, held).await;
    create(&api, fixtures::widget("free", 1)).await;
    let nss: Api<Namespace> = Api::all(cluster.client.clone());
    nss.delete(&cluster.namespace, &DeleteParams::default())
        .await
        .unwrap();
    let ns = nss.get(&cluster.namespace).await.unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    // Content deletion is asynchronous on a real cluster.
    let mut done = false;
    for _ in 0..100 {
        let free_gone = api.get_opt("free").await.unwrap().is_none();
        let held_marked = api
            .get("held")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some();
        if free_gone && held_marked {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        done,
        "objects without finalizers go, the held one is marked for deletion"
    );
    let err = api_error(
        api.create(&PostParams::default(), &obj(fixtures::widget("late", 1)))
            .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    let ns = &cluster.namespace;
    assert_eq!(
        err.message,
        format!(
            "{PLURAL}.{GROUP} \"late\" is forbidden: unable to create new content in namespace {ns} because it is being terminated"
        )
    );
    let cause = &err.details.as_ref().expect("details").causes[0];
    assert_eq!(
        (
            cause.reason.as_str(),
            cause.field.as_str(),
            cause.message.as_str()
        ),
        (
            "NamespaceTerminating",
            "metadata.namespace",
            format!("namespace {ns} is being terminated").as_str()
        )
    );
    // An apply that would create is refused the same way.
    let err = api_error(
        api.patch(
            "late",
            &PatchParams::apply("t"),
            &Patch::Apply(fixtures::widget("late", 1)),
        )
        .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    for _ in 0..100 {
        if nss.get_opt(&cluster.namespace).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(nss.get_opt(&cluster.namespace).await.unwrap().is_none());
}

// 8. Only creates check the namespace (the NamespaceLifecycle admission plugin): in a missing namespace a get
// finds no object and a list is empty. A PUT of a missing object creates it only for kinds that allow create
// on update (Leases, Events, the RBAC kinds), otherwise it is the object's 404.
#[tokio::test]
async fn missing_namespaces_and_create_on_update() {
    let cluster = TestCluster::start().await;
    let missing: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "no-such-namespace-sfn");
    let err = api_error(missing.get("x").await);
    assert_eq!(
        (err.code, err.message.as_str()),
        (404, "configmaps \"x\" not found")
    );
    assert!(
        missing
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let err = api_error(
        cms.replace(
            "absent",
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "absent"}})).unwrap(),
        )
        .await,
    );
    assert_eq!(
        (err.code, err.message.as_str()),
        (404, "configmaps \"absent\" not found")
    );
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let created = leases
        .replace(
            "put",
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "put"}, "spec": {"holderIdentity": "a"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert_eq!(
        leases
            .get("put")
            .await
            .unwrap()
            .spec
            .unwrap()
            .holder_identity
            .as_deref(),
        Some("a")
    );
    cluster.cleanup().await;
}

// 8. Errors are metav1.Status with code, reason and details.causes.
#[tokio::test]
async fn errors_are_status_objects() {
    let (cluster, api) = setup().await;
    let err = api_error(
        api.create(&PostParams::default(), &obj(json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "Not_Valid"}, "spec": {"size": 1}})))
            .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let d = err.details.clone().unwrap();
    assert_eq!(
        (d.name.as_str(), d.group.as_str(), d.kind.as_str()),
        ("Not_Valid", GROUP, KIND)
    );
    assert_eq!(
        causes(&err),
        vec![("metadata.name".to_string(), "FieldValueInvalid".to_string())]
    );
    assert!(
        err.message.starts_with(&format!(
            "{KIND}.{GROUP} \"Not_Valid\" is invalid: metadata.name: Invalid value: \"Not_Valid\""
        )),
        "{}",
        err.message
    );
    let mut bad_label = fixtures::widget("l", 1);
    bad_label["metadata"]["labels"] = json!({"app": "not a valid value!"});
    let err = api_error(api.create(&PostParams::default(), &obj(bad_label)).await);
    assert_eq!(
        causes(&err),
        vec![(
            "metadata.labels".to_string(),
            "FieldValueInvalid".to_string()
        )]
    );
    let mut bad_meta = fixtures::widget("f", 1);
    bad_meta["metadata"]["finalizers"] = json!(["not a finalizer!"]);
    bad_meta["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}]);
    let err = api_error(api.create(&PostParams::default(), &obj(bad_meta)).await);
    let c = causes(&err);
    assert!(
        c.contains(&(
            "metadata.finalizers".to_string(),
            "FieldValueInvalid".to_string()
        )),
        "{c:?}"
    );
    assert!(
        c.contains(&(
            "metadata.ownerReferences.uid".to_string(),
            "FieldValueInvalid".to_string()
        )),
        "{c:?}"
    );
    let mut other_version = fixtures::widget("v", 1);
    other_version["apiVersion"] = json!(format!("{GROUP}/v2"));
    let err = api_error(
        api.create(&PostParams::default(), &obj(other_version))
            .await,
    );
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
    let err = api_error(api.get("absent").await);
    assert!(err.is_not_found());
    assert_eq!(
        err.message,
        format!("{PLURAL}.{GROUP} \"absent\" not found")
    );
    cluster.cleanup().await;
}

// The kube-runtime pieces controllers are built from work unchanged: watcher + reflector, and
// metadata-only watches.
#[tokio::test]
async fn kube_runtime_watcher_and_reflector() {
    let (cluster, api) = setup().await;
    create(&api, fixtures::widget("a", 1)).await;
    let ar = kube::core::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(GROUP, "v1", KIND),
        PLURAL,
    );
    let writer = kube::runtime::reflector::store::Writer::<DynamicObject>::new(ar);
    let reader = writer.as_reader();
    let stream = kube::runtime::reflector(
        writer,
        kube::runtime::watcher(api.clone(), Default::default()),
    );
    let handle =
        tokio::spawn(kube::runtime::WatchStreamExt::applied_objects(stream).for_each(|_| async {}));
    reader.wait_until_ready().await.unwrap();
    create(&api, fixtures::widget("b", 1)).await;
    for _ in 0..100 {
        if reader.state().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reader.state().len(), 2);
    handle.abort();
    // Metadata-only watch (PartialObjectMetadata) with a streaming initial list.
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    for n in ["m1", "m2"] {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": n}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let metas: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let stream = kube::runtime::watcher(
        metas,
        kube::runtime::watcher::Config::default().streaming_lists(),
    );
    let first: Vec<_> = tokio::time::timeout(
        Duration::from_secs(10),
        kube::runtime::WatchStreamExt::applied_objects(stream)
            .take(2)
            .try_collect::<Vec<_>>(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut names: Vec<String> = first.into_iter().filter_map(|m| m.metadata.name).collect();
    names.sort();
    assert_eq!(names, vec!["m1", "m2"]);
    cluster.cleanup().await;
}

// 6. History is bounded like etcd's: past the limit, old versions expire on their own (in-process only,
// the limit is a server setting).
#[tokio::test]
async fn watch_history_limit_expires_old_versions() {
    let server = sfn_operator_tests::apiserver::TestApiServer::builder()
        .history_limit(3)
        .start()
        .await;
    let client = server.client();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut versions = Vec::new();
    for i in 0..5 {
        let cm = cms
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).unwrap(),
            )
            .await
            .unwrap();
        versions.push(cm.metadata.resource_version.unwrap());
    }
    let mut old = cms
        .watch(&WatchParams::default(), &versions[0])
        .await
        .unwrap()
        .boxed();
    match next(&mut old).await {
        WatchEvent::Error(e) => assert_eq!(e.code, 410),
        _ => panic!("expected 410 Expired"),
    }
    let mut recent = cms
        .watch(&WatchParams::default(), &versions[3])
        .await
        .unwrap()
        .boxed();
    match next(&mut recent).await {
        WatchEvent::Added(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("c4")),
        _ => panic!("expected the last ADDED"),
    }
    assert_eq!(server.resource_version().to_string(), versions[4]);
}

// The kubeconfig handed to processes (the operator binary) reaches the same cluster and namespace.
#[tokio::test]
async fn kubeconfig_for_processes() {
    let cluster = TestCluster::start().await;
    let kc = kube::config::Kubeconfig::read_from(cluster.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    if cluster.server.is_some() {
        assert_eq!(config.default_namespace, cluster.namespace);
    }
    let client = kube::Client::try_from(config).unwrap();
    let ns: Api<Namespace> = Api::all(client);
    assert!(ns.get(&cluster.namespace).await.is_ok());
    cluster.cleanup().await;
}

// Cluster-scoped custom resources, and a CRD without a status subresource: status is part of the object,
// so changing it bumps the generation, and /status does not exist.
#[tokio::test]
async fn cluster_scoped_without_status_subresource() {
    let cluster = TestCluster::start().await;
    cluster.install_crd(&fixtures::gadget_crd()).await.unwrap();
    let ar = kube::core::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(GROUP, "v1", "Gadget"),
        "gadgets",
    );
    let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &ar);
    let name = format!("{}-gadget", cluster.namespace);
    let created = create(
        &api,
        json!({"apiVersion": API_VERSION, "kind": "Gadget", "metadata": {"name": name},
        "spec": {"color": "red"}, "status": {"phase": "New"}}),
    )
    .await;
    assert_eq!(
        created.data["status"]["phase"],
        json!("New"),
        "without the subresource, status is written on create"
    );
    assert!(created.metadata.namespace.is_none());
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Done"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    let err = api_error(
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {}})),
        )
        .await,
    );
    assert_eq!(err.code, 404);
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    cluster.cleanup().await;
}

// Deleting a CRD deletes its objects first; objects with finalizers hold the CRD, and no new objects can be
// created meanwhile.
#[tokio::test]
async fn crd_deletion_cleans_up_objects() {
    let cluster = TestCluster::start().await;
    let suffix = cluster
        .namespace
        .trim_start_matches("sfn-test-")
        .to_string();
    let plural = format!("things{suffix}");
    let kind = format!("Thing{suffix}");
    let crd = fixtures::simple_crd(&plural, &kind);
    cluster.install_crd(&crd).await.unwrap();
    let crd_name = format!("{plural}.{GROUP}");
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(cluster.client.clone());
    const CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";
    assert!(
        crds.get(&crd_name)
            .await
            .unwrap()
            .metadata
            .finalizers
            .unwrap_or_default()
            .is_empty(),
        "a new CRD has no finalizer"
    );
    let api = cluster.dynamic(API_VERSION, &kind, &plural);
    create(
        &api,
        json!({"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "free"}}),
    )
    .await;
    create(&api, json!({"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})).await;
    let terminating = |crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
        crd.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Terminating"))
            .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
    };
    // The first DELETE is one update: deletionTimestamp, the cleanup finalizer and a Terminating condition.
    let deleted = crds
        .delete(&crd_name, &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("the CRD is returned while its cleanup runs");
    assert!(deleted.metadata.deletion_timestamp.is_some());
    assert_eq!(
        deleted.metadata.finalizers.clone().unwrap_or_default(),
        vec![CLEANUP]
    );
    assert_eq!(
        terminating(&deleted),
        Some(("True".to_string(), "InstanceDeletionPending".to_string()))
    );
    let mut marked = false;
    for _ in 0..100 {
        let free_gone = api.get_opt("free").await.unwrap().is_none();
        let held = api.get_opt("held").await.unwrap();
        let in_progress = crds.get_opt(&crd_name).await.unwrap().is_some_and(|c| {
            terminating(&c) == Some(("True".into(), "InstanceDeletionInProgress".into()))
        });
        if free_gone && in_progress && held.is_some_and(|h| h.metadata.deletion_timestamp.is_some())
        {
            marked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        marked,
        "the CRD's objects are deleted, the held one is marked, the CRD says deletion is in progress"
    );
    // No new objects while the CRD terminates, by POST or by an apply that would create one.
    let refused = format!(
        "{plural}.{GROUP} \"late\" is forbidden: create not allowed while custom resource definition is terminating"
    );
    let late = json!({"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "late"}});
    let err = api_error(api.create(&PostParams::default(), &obj(late.clone())).await);
    assert_eq!(
        (err.code, err.reason.as_str(), err.message.as_str()),
        (403, "Forbidden", refused.as_str())
    );
    let err = api_error(
        api.patch("late", &PatchParams::apply("t"), &Patch::Apply(late))
            .await,
    );
    assert_eq!(
        (err.code, err.reason.as_str(), err.message.as_str()),
        (403, "Forbidden", refused.as_str())
    );
    // Existing objects can still be changed.
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if crds.get_opt(&crd_name).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the CRD goes once its last object is gone");
    cluster.cleanup().await;
}

// Owner references: background deletion garbage-collects dependents, orphaning keeps them without the
// reference, foreground deletion holds the owner until its blocking dependents are gone. (Asynchronous on a real
// cluster, hence the waiting.)
#[tokio::test]
async fn owner_references_and_propagation_policies() {
    let cluster = TestCluster::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let owner_of = |owner: &ConfigMap| json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}]);
    let make = |name: &str, owner: Option<Value>| {
        let mut v = json!({"metadata": {"name": name}});
        if let Some(o) = owner {
            v["metadata"]["ownerReferences"] = o;
        }
        serde_json::from_value::<ConfigMap>(v).unwrap()
    };
    async fn gone(cms: &Api<ConfigMap>, name: &str) -> bool {
        for _ in 0..100 {
            if cms.get_opt(name).await.unwrap().is_none() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
    // Background (default).
    let owner = cms
        .create(&PostParams::default(), &make("owner-bg", None))
        .await
        .unwrap();
    cms.create(
        &PostParams::default(),
        &make("dep-bg", Some(owner_of(&owner))),
    )
    .await
    .unwrap();
    cms.delete("owner-bg", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        gone(&cms, "dep-bg").await,
        "background deletion collects the dependent"
    );
    // Orphan.
    let owner = cms
        .create(&PostParams::default(), &make("owner-or", None))
        .await
        .unwrap();
    cms.create(
        &PostParams::default(),
        &make("dep-or", Some(owner_of(&owner))),
    )
    .await
    .unwrap();
    cms.delete("owner-or", &DeleteParams::orphan())
        .await
        .unwrap();
    assert!(gone(&cms, "owner-or").await);
    let mut orphaned = false;
    for _ in 0..100 {
        let dep = cms.get("dep-or").await.unwrap();
        if dep.metadata.owner_references.unwrap_or_default().is_empty() {
            orphaned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        orphaned,
        "the orphaned dependent stays without the owner reference"
    );
    // Foreground: a dependent with a finalizer holds the owner.
    let owner = cms
        .create(&PostParams::default(), &make("owner-fg", None))
        .await
        .unwrap();
    let mut blocking = owner_of(&owner);
    blocking[0]["blockOwnerDeletion"] = json!(true);
    let mut dep = make("dep-fg", Some(blocking));
    dep.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &dep).await.unwrap();
    cms.delete("owner-fg", &DeleteParams::foreground())
        .await
        .unwrap();
    let mut held = false;
    for _ in 0..100 {
        let o = cms.get("owner-fg").await.unwrap();
        let d = cms.get("dep-fg").await.unwrap();
        if o.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"foregroundDeletion".to_string())
            && d.metadata.deletion_timestamp.is_some()
        {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        held,
        "the owner waits in foregroundDeletion while the dependent is being deleted"
    );
    cms.patch(
        "dep-fg",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(gone(&cms, "dep-fg").await);
    assert!(
        gone(&cms, "owner-fg").await,
        "the owner goes with its last dependent"
    );
    cluster.cleanup().await;
}

// 1. A CRD may constrain metadata.name.
#[tokio::test]
async fn crd_schema_constrains_metadata_name() {
    let cluster = TestCluster::start().await;
    let suffix = cluster
        .namespace
        .trim_start_matches("sfn-test-")
        .to_string();
    let plural = format!("shortnamed{suffix}");
    let kind = format!("ShortNamed{suffix}");
    let mut crd = fixtures::simple_crd(&plural, &kind);
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] =
        json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}});
    cluster.install_crd(&crd).await.unwrap();
    let api = cluster.dynamic(API_VERSION, &kind, &plural);
    create(
        &api,
        json!({"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "short"}}),
    )
    .await;
    let err = api_error(
        api.create(
            &PostParams::default(),
            &obj(
                json!({"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "too-long"}}),
            ),
        )
        .await,
    );
    assert_eq!(
        causes(&err),
        vec![("metadata.name".to_string(), "FieldValueTooLong".to_string())]
    );
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(cluster.client.clone());
    crds.delete(&format!("{plural}.{GROUP}"), &DeleteParams::default())
        .await
        .unwrap();
    cluster.cleanup().await;
}

// 1. Invalid CRDs are refused naming the field: a name that is not plural.group, a schema that is not
// structural.
#[tokio::test]
async fn invalid_crds_are_refused() {
    let cluster = TestCluster::start().await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(cluster.client.clone());
    let mut wrong_name = fixtures::simple_crd("badnames", "BadName");
    wrong_name["metadata"]["name"] = json!(format!("other.{GROUP}"));
    let err = api_error(
        crds.create(
            &PostParams::default(),
            &serde_json::from_value(wrong_name).unwrap(),
        )
        .await,
    );
    assert_eq!(err.code, 422);
    assert!(
        causes(&err).iter().any(|(f, _)| f == "metadata.name"),
        "{:?}",
        causes(&err)
    );
    let mut untyped = fixtures::simple_crd("untypeds", "Untyped");
    untyped["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] =
        json!({"properties": {"a": {"type": "string"}}});
    let err = api_error(
        crds.create(
            &PostParams::default(),
            &serde_json::from_value(untyped).unwrap(),
        )
        .await,
    );
    assert_eq!(err.code, 422);
    // One schema (or one shared by every version) is validated as the CRD's `spec.validation`.
    let field = "spec.validation.openAPIV3Schema.properties[spec].type";
    assert!(
        causes(&err)
            .iter()
            .any(|(f, r)| f == field && r == "FieldValueRequired"),
        "{:?}",
        causes(&err)
    );
    assert!(
        err.message.contains(&format!(
            "{field}: Required value: must not be empty for specified object fields"
        )),
        "{}",
        err.message
    );
    cluster.cleanup().await;
}

// Versions whose schemas differ are validated one by one, and their errors name the version.
#[tokio::test]
async fn invalid_crd_versions_are_named() {
    let cluster = TestCluster::start().await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(cluster.client.clone());
    let mut crd = fixtures::simple_crd("twoversions", "TwoVersions");
    let mut second = crd["spec"]["versions"][0].clone();
    second["name"] = json!("v2");
    second["storage"] = json!(false);
    second["schema"]["openAPIV3Schema"]["properties"]["spec"] =
        json!({"properties": {"a": {"type": "string"}}});
    crd["spec"]["versions"]
        .as_array_mut()
        .unwrap()
        .push(second.clone());
    let err = api_error(
        crds.create(
            &PostParams::default(),
            &serde_json::from_value(crd.clone()).unwrap(),
        )
        .await,
    );
    assert_eq!(err.code, 422);
    assert_eq!(
        causes(&err),
        vec![(
            "spec.versions[1].schema.openAPIV3Schema.properties[spec].type".to_string(),
            "FieldValueRequired".to_string()
        )]
    );
    // The same mistake in both versions is one error, named at `spec.validation`.
    crd["spec"]["versions"][0]["schema"] = second["schema"].clone();
    let err = api_error(
        crds.create(
            &PostParams::default(),
            &serde_json::from_value(crd).unwrap(),
        )
        .await,
    );
    assert_eq!(
        causes(&err),
        vec![(
            "spec.validation.openAPIV3Schema.properties[spec].type".to_string(),
            "FieldValueRequired".to_string()
        )]
    );
    cluster.cleanup().await;
}
