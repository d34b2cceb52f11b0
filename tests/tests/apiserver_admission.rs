//! Validating admission webhooks as the API server calls them: which writes reach a webhook (rules,
//! selectors), what it is sent (the AdmissionReview request), what its answer does (denials, warnings) and
//! what `failurePolicy` does when it cannot answer (connection refused, timeout, untrusted certificate).
//!
//! The webhook here is a small recording HTTPS server in the test process (the operator's TLS listener with a
//! certificate from its CA code, serving answers chosen by path). Written against `kube::Client`, so the same
//! tests pass on a real cluster whose API server reaches `SFN_TEST_WEBHOOK_HOST` (default 127.0.0.1).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

use sfn_controller::webhook::certs;
use sfn_controller::webhook::provision::CertSlot;
use sfn_controller::webhook::serve;
use sfn_operator_tests::cluster::TestCluster;
use sfn_operator_tests::fixtures::{self, API_VERSION, GROUP, KIND, PLURAL};
use sfn_operator_tests::webhook::HOST_ENV;

type Seen = Arc<Mutex<Vec<Value>>>;

fn host() -> IpAddr {
    std::env::var(HOST_ENV)
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Answers by path: `allow` (with two warnings), `deny` (422 with a message), `deny-bare` (no status),
/// `slow` (after 3 s), `wrong-uid`.
async fn answer(State(seen): State<Seen>, Path(mode): Path<String>, body: String) -> String {
    let review: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push(review.clone());
    let uid = review["request"]["uid"].clone();
    let response = match mode.as_str() {
        "allow" => {
            json!({"uid": uid, "allowed": true, "warnings": ["first warning", "a \"quoted\" second"]})
        }
        "deny" => json!({"uid": uid, "allowed": false, "warnings": ["looked at it"],
                         "status": {"code": 422, "reason": "Invalid", "message": "size must be even"}}),
        "deny-bare" => json!({"uid": uid, "allowed": false}),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json!({"uid": uid, "allowed": true})
        }
        _ => json!({"uid": "someone-else", "allowed": true}),
    };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
        .to_string()
}

struct Fixture {
    cluster: TestCluster,
    addr: SocketAddr,
    ca_bundle: String,
    seen: Seen,
    configurations: Vec<String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Fixture {
    async fn new() -> Self {
        let cluster = TestCluster::start().await;
        cluster.install_crd(&fixtures::widget_crd()).await.unwrap();
        let material = certs::renew(None, &[host().to_string()], jiff::Timestamp::now())
            .unwrap()
            .unwrap();
        let slot = Arc::new(CertSlot::new());
        slot.load(material.cert.as_bytes(), material.key.as_bytes())
            .unwrap();
        let seen: Seen = Arc::default();
        let router = Router::new()
            .route("/{mode}", post(answer))
            .with_state(seen.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, _task) = serve::serve(SocketAddr::new(host(), 0), slot, router, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
        Fixture {
            cluster,
            addr,
            ca_bundle: base64::engine::general_purpose::STANDARD.encode(material.ca_bundle()),
            seen,
            configurations: Vec::new(),
            _stop: tx,
        }
    }

    /// Registers one webhook for Widgets in this test's namespace; `extra` is merged into the webhook.
    async fn register(&mut self, name: &str, url: &str, extra: Value) {
        let mut hook = json!({
            "name": name,
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
            "clientConfig": {"url": url, "caBundle": self.ca_bundle},
            "rules": [{"apiGroups": [GROUP], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                       "resources": [PLURAL], "scope": "Namespaced"}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.cluster.namespace}},
        });
        for (k, v) in extra.as_object().unwrap() {
            hook[k] = v.clone();
        }
        let config_name = format!("{}-{}", name.replace('.', "-"), self.cluster.namespace);
        let vwc: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "metadata": {"name": config_name},
            "webhooks": [hook],
        }))
        .unwrap();
        Api::<ValidatingWebhookConfiguration>::all(self.cluster.client.clone())
            .create(&PostParams::default(), &vwc)
            .await
            .unwrap();
        self.configurations.push(config_name);
    }

    fn url(&self, mode: &str) -> String {
        format!("https://{}/{mode}", self.addr)
    }

    fn widgets(&self) -> Api<DynamicObject> {
        self.cluster.dynamic(API_VERSION, KIND, PLURAL)
    }

    fn reviews(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }

    /// Creates a Widget with a raw request, returning the status, the `Warning` headers and the body.
    async fn create_raw(&self, body: &Value, dry_run: bool) -> (u16, Vec<String>, Value) {
        let mut path = format!(
            "/apis/{API_VERSION}/namespaces/{}/{PLURAL}",
            self.cluster.namespace
        );
        if dry_run {
            path.push_str("?dryRun=All");
        }
        let req = http::Request::post(path)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .unwrap();
        let resp = self.cluster.client.send(req.map(Into::into)).await.unwrap();
        let status = resp.status().as_u16();
        let warnings = resp
            .headers()
            .get_all("warning")
            .iter()
            .map(|h| h.to_str().unwrap_or_default().to_owned())
            .collect();
        let bytes = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), 1 << 20)
            .await
            .unwrap();
        (
            status,
            warnings,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn cleanup(self) {
        let api = Api::<ValidatingWebhookConfiguration>::all(self.cluster.client.clone());
        for name in &self.configurations {
            let _ = api.delete(name, &DeleteParams::default()).await;
        }
        self.cluster.cleanup().await;
    }
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_webhook_gets_the_admission_review_and_its_warnings_reach_the_client() {
    let mut f = Fixture::new().await;
    f.register("allow.sfn-test.dev", &f.url("allow"), json!({}))
        .await;

    let (status, warnings, created) = f.create_raw(&fixtures::widget("a", 2), false).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        warnings,
        vec![
            "299 - \"first warning\"",
            "299 - \"a \\\"quoted\\\" second\""
        ]
    );
    let reviews = f.reviews();
    assert_eq!(reviews.len(), 1);
    let r = &reviews[0];
    assert_eq!(r["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(r["kind"], "AdmissionReview");
    let req = &r["request"];
    assert!(!req["uid"].as_str().unwrap().is_empty());
    assert_eq!(
        req["kind"],
        json!({"group": GROUP, "version": "v1", "kind": KIND})
    );
    assert_eq!(
        req["resource"],
        json!({"group": GROUP, "version": "v1", "resource": PLURAL})
    );
    assert_eq!(req["operation"], "CREATE");
    assert_eq!(req["namespace"], json!(f.cluster.namespace));
    assert_eq!(req["name"], "a");
    assert_eq!(req["object"]["spec"]["size"], 2);
    assert!(req["oldObject"].is_null());
    assert_eq!(req["dryRun"], false);
    assert!(req["userInfo"]["username"].is_string());

    // An update carries the old object; the object is the new one.
    let mut obj = f.widgets().get("a").await.unwrap();
    obj.data["spec"]["size"] = json!(4);
    f.widgets()
        .replace("a", &PostParams::default(), &obj)
        .await
        .unwrap();
    let reviews = f.reviews();
    let req = &reviews[1]["request"];
    assert_eq!(req["operation"], "UPDATE");
    assert_eq!(req["object"]["spec"]["size"], 4);
    assert_eq!(req["oldObject"]["spec"]["size"], 2);
    assert_ne!(reviews[0]["request"]["uid"], req["uid"]);

    // A dry run is reviewed with dryRun set and stores nothing.
    let (status, _, _) = f.create_raw(&fixtures::widget("b", 2), true).await;
    assert_eq!(status, 201);
    assert_eq!(f.reviews()[2]["request"]["dryRun"], true);
    assert!(f.widgets().get_opt("b").await.unwrap().is_none());
    f.cleanup().await;
}

#[tokio::test]
async fn a_denial_is_the_webhooks_status_with_kube_apiservers_prefix() {
    let mut f = Fixture::new().await;
    f.register("deny.sfn-test.dev", &f.url("deny"), json!({}))
        .await;
    let (status, warnings, body) = f.create_raw(&fixtures::widget("a", 3), false).await;
    assert_eq!(status, 422);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["status"], "Failure");
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(
        body["message"],
        "admission webhook \"deny.sfn-test.dev\" denied the request: size must be even"
    );
    assert_eq!(warnings, vec!["299 - \"looked at it\""]);
    assert!(f.widgets().get_opt("a").await.unwrap().is_none());

    // Without a status the code is 400 and the message says so.
    f.register(
        "bare.sfn-test.dev",
        &f.url("deny-bare"),
        json!({"objectSelector": {"matchLabels": {"bare": "yes"}}}),
    )
    .await;
    let mut w = fixtures::widget("c", 2);
    w["metadata"]["labels"] = json!({"bare": "yes"});
    // Both webhooks match; either denial is the answer, as on a real server (they run in parallel there).
    let (status, _, body) = f.create_raw(&w, false).await;
    assert!(status == 400 || status == 422, "{status} {body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message == "admission webhook \"bare.sfn-test.dev\" denied the request without explanation"
            || message.starts_with("admission webhook \"deny.sfn-test.dev\" denied the request"),
        "{message}"
    );
    f.cleanup().await;
}

#[tokio::test]
async fn failure_policy_decides_when_the_webhook_cannot_answer() {
    let mut f = Fixture::new().await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind(SocketAddr::new(host(), 0)).unwrap();
        l.local_addr().unwrap()
    };
    f.register(
        "refused.sfn-test.dev",
        &format!("https://{closed}/allow"),
        json!({"objectSelector": {"matchLabels": {"case": "refused"}}}),
    )
    .await;
    f.register(
        "slow.sfn-test.dev",
        &f.url("slow"),
        json!({"timeoutSeconds": 1, "objectSelector": {"matchLabels": {"case": "slow"}}}),
    )
    .await;
    let other_ca = certs::renew(None, &["127.0.0.1".into()], jiff::Timestamp::now())
        .unwrap()
        .unwrap();
    f.register(
        "untrusted.sfn-test.dev",
        &f.url("allow"),
        json!({"clientConfig": {"url": f.url("allow"),
                                "caBundle": base64::engine::general_purpose::STANDARD.encode(other_ca.ca_bundle())},
               "objectSelector": {"matchLabels": {"case": "untrusted"}}}),
    )
    .await;
    f.register(
        "wrong-uid.sfn-test.dev",
        &f.url("wrong-uid"),
        json!({"objectSelector": {"matchLabels": {"case": "wrong-uid"}}}),
    )
    .await;
    f.register(
        "ignored.sfn-test.dev",
        &format!("https://{closed}/allow"),
        json!({"failurePolicy": "Ignore", "objectSelector": {"matchLabels": {"case": "ignored"}}}),
    )
    .await;

    for case in ["refused", "slow", "untrusted", "wrong-uid"] {
        let mut w = fixtures::widget(case, 2);
        w["metadata"]["labels"] = json!({"case": case});
        let obj: DynamicObject = serde_json::from_value(w).unwrap();
        let err = api_error(
            f.widgets()
                .create(&PostParams::default(), &obj)
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 500, "{case}: {err:?}");
        assert_eq!(err.reason, "InternalError", "{case}");
        assert!(
            err.message.starts_with(&format!(
                "Internal error occurred: failed calling webhook \"{case}.sfn-test.dev\": "
            )),
            "{case}: {}",
            err.message
        );
        assert!(f.widgets().get_opt(case).await.unwrap().is_none(), "{case}");
    }
    // Ignore: the write goes on as if the webhook were not there.
    let mut w = fixtures::widget("ignored", 2);
    w["metadata"]["labels"] = json!({"case": "ignored"});
    let obj: DynamicObject = serde_json::from_value(w).unwrap();
    f.widgets()
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
    f.cleanup().await;
}

#[tokio::test]
async fn rules_and_selectors_choose_what_is_reviewed() {
    let mut f = Fixture::new().await;
    f.register(
        "updates.sfn-test.dev",
        &f.url("deny"),
        json!({
            "rules": [{"apiGroups": [GROUP], "apiVersions": ["v1"], "operations": ["UPDATE"],
                       "resources": [PLURAL], "scope": "Namespaced"}],
            "objectSelector": {"matchExpressions": [{"key": "reviewed", "operator": "In", "values": ["yes"]}]},
        }),
    )
    .await;
    // CREATE is not in the rules.
    let mut w = fixtures::widget("a", 2);
    w["metadata"]["labels"] = json!({"reviewed": "yes"});
    let (status, _, body) = f.create_raw(&w, false).await;
    assert_eq!(status, 201, "{body}");
    // An update of an object the selector does not match is not reviewed.
    let (status, _, _) = f.create_raw(&fixtures::widget("b", 2), false).await;
    assert_eq!(status, 201);
    let mut b = f.widgets().get("b").await.unwrap();
    b.data["spec"]["size"] = json!(6);
    f.widgets()
        .replace("b", &PostParams::default(), &b)
        .await
        .unwrap();
    // A matching update is, and denied.
    let mut a = f.widgets().get("a").await.unwrap();
    a.data["spec"]["size"] = json!(6);
    let err = api_error(
        f.widgets()
            .replace("a", &PostParams::default(), &a)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    // Removing the label in the same update still matches: the old object carries it.
    let mut a = f.widgets().get("a").await.unwrap();
    a.metadata.labels = None;
    assert!(
        f.widgets()
            .replace("a", &PostParams::default(), &a)
            .await
            .is_err()
    );
    assert!(
        f.reviews()
            .iter()
            .all(|r| r["request"]["operation"] == "UPDATE")
    );
    assert_eq!(f.reviews().len(), 2);
    f.cleanup().await;
}
