//! `webhook-latency`: how long the admission webhook takes per object, measured two ways.
//!
//! 1. The decision alone ([`review::decide`]): the examples' StateMachines and a 200-state chain, each
//!    reviewed many times in-process, median and 99th percentile per object.
//! 2. A create through the API server (the in-process test server) in a namespace where the webhook is
//!    registered, against the same create in a namespace where it is not: the difference is what admission
//!    adds to a `kubectl apply` (the HTTPS call, the lookups of referenced objects, the decision; the test
//!    server also makes a dry run of the write to get the object it sends, which a real server does not).
//!
//! Run with `cargo run -p sfn-operator-tests --bin webhook-latency [ITERATIONS]` (default 200).

use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use sfn_api::manifest::{Bundle, load_paths};
use sfn_controller::webhook::review;
use sfn_operator_tests::apiserver::TestApiServer;
use sfn_operator_tests::webhook::TestWebhook;
use sfn_plan::desired::Settings;

fn settings() -> Settings {
    Settings {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        default_deletion_policy: sfn_plan::DeletionPolicy::Delete,
        default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
        guardrails: Default::default(),
    }
}

fn chain(states: usize) -> Value {
    let list: Vec<Value> = (0..states)
        .map(|i| json!({"name": format!("Step {i}"), "type": "Pass", "result": {"i": i}}))
        .collect();
    json!({
        "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine",
        "metadata": {"name": "chain", "namespace": "bench"},
        "spec": {"definition": {"states": list}},
    })
}

fn review_body(object: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "bench", "operation": "CREATE",
            "kind": {"group": "sfn.operator.dev", "version": "v1alpha1", "kind": object["kind"]},
            "namespace": object["metadata"]["namespace"], "name": object["metadata"]["name"],
            "object": object,
        }
    }))
    .unwrap_or_default()
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn timed_creates(api: &Api<DynamicObject>, object: &Value, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut o = object.clone();
        o["metadata"]["name"] = json!(format!("m-{i}"));
        let obj: DynamicObject = serde_json::from_value(o).expect("an object");
        let t = Instant::now();
        api.create(&PostParams::default(), &obj)
            .await
            .expect("create");
        out.push(t.elapsed());
        let _ = api
            .delete(&format!("m-{i}"), &DeleteParams::default())
            .await;
    }
    out
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");

    println!("# decision alone ({n} reviews per object)");
    println!("| object | states | median | p99 |\n|---|---:|---:|---:|");
    let mut cases: Vec<(String, Value, Bundle)> = Vec::new();
    for file in [
        "job-poller.yaml",
        "map.yaml",
        "parallel.yaml",
        "fragments.yaml",
    ] {
        let bundle = load_paths(&[root.join("examples").join(file)]).expect("an example");
        for sm in &bundle.state_machines {
            let v = serde_json::to_value(sm).expect("json");
            cases.push((format!("examples/{file}"), v, bundle.clone()));
        }
    }
    cases.push(("200-state chain".into(), chain(200), Bundle::default()));
    for (label, object, known) in &cases {
        let req = review::parse(&review_body(object)).expect("a review");
        let states = object["spec"]["definition"]["states"]
            .as_array()
            .map_or(0, Vec::len);
        let samples: Vec<Duration> = (0..n)
            .map(|_| {
                let t = Instant::now();
                let d = review::decide(&req, known, &settings());
                assert!(d.allowed, "{label}: {}", d.message);
                t.elapsed()
            })
            .collect();
        let (p50, p99) = stats(samples);
        println!("| {label} | {states} | {} | {} |", ms(p50), ms(p99));
    }

    let server = TestApiServer::start().await;
    let client = server.client();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    for crd in sfn_api::crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("installing a CRD");
    }
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for ns in ["with-webhook", "without-webhook"] {
        let obj = serde_json::from_value(json!({"metadata": {"name": ns}})).expect("a namespace");
        namespaces
            .create(&PostParams::default(), &obj)
            .await
            .expect("a namespace");
    }
    let hook = TestWebhook::start(&client, "with-webhook").await;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("sfn.operator.dev", "v1alpha1", "StateMachine"),
        "statemachines",
    );
    println!(
        "\n# create through the API server ({n} creates each, HTTPS webhook on {})",
        hook.addr
    );
    println!(
        "| object | without webhook (median) | with webhook (median) | with webhook (p99) | added (median) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (label, object, _) in cases
        .iter()
        .filter(|(l, ..)| l.contains("job-poller") || l.contains("chain"))
    {
        let mut o = object.clone();
        // References are left unresolved here (a warning), so every create costs one TaskIntegration lookup.
        o["metadata"].as_object_mut().map(|m| m.remove("namespace"));
        let without = timed_creates(
            &Api::namespaced_with(client.clone(), "without-webhook", &ar),
            &o,
            n,
        )
        .await;
        let with = timed_creates(
            &Api::namespaced_with(client.clone(), "with-webhook", &ar),
            &o,
            n,
        )
        .await;
        let (a, _) = stats(without);
        let (b, b99) = stats(with);
        println!(
            "| {label} | {} | {} | {} | {} |",
            ms(a),
            ms(b),
            ms(b99),
            ms(b.saturating_sub(a))
        );
    }
    hook.stop().await;
}
