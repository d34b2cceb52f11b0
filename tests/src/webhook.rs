//! The operator's admission webhook running in the test process, registered with the cluster under test the
//! way the chart registers it (one ValidatingWebhookConfiguration for the three kinds), but limited to one
//! namespace by its `namespaceSelector`, so tests in parallel (and other users of a real cluster) never see it.
//!
//! The webhook listens on `SFN_TEST_WEBHOOK_HOST` (default 127.0.0.1) and is registered by URL: the API server
//! must be able to reach that address, which holds for the in-process server and for a kube-apiserver on the
//! same machine (as envtest runs it); for a cluster elsewhere, set the variable to an address of this machine
//! that the cluster reaches.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

use sfn_controller::http::Health;
use sfn_controller::webhook::{self, SelfSigned, TlsSource, provision};
use sfn_plan::desired::Settings;

/// Environment variable naming the address the webhook listens on and is registered at.
pub const HOST_ENV: &str = "SFN_TEST_WEBHOOK_HOST";

/// The name the chart gives its webhook; kube-apiserver quotes it in denials.
pub const HOOK_NAME: &str = "validate.sfn.operator.dev";

/// A running webhook and its registration.
pub struct TestWebhook {
    pub addr: SocketAddr,
    pub configuration: String,
    pub health: Arc<Health>,
    client: kube::Client,
    stop: tokio::sync::watch::Sender<bool>,
}

fn host() -> IpAddr {
    std::env::var(HOST_ENV)
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

impl TestWebhook {
    /// Starts the webhook (its own CA, kept in a Secret of `namespace`) and registers it for `namespace` with
    /// `failurePolicy: Fail`; returns once the API server trusts it (its CA injected).
    pub async fn start(client: &kube::Client, namespace: &str) -> Self {
        let health = Arc::new(Health::new());
        let (stop, rx) = tokio::sync::watch::channel(false);
        let configuration = format!("sfn-webhook-{namespace}");
        let tls = TlsSource::SelfSigned(SelfSigned {
            namespace: namespace.to_owned(),
            secret: "sfn-operator-webhook-tls".to_owned(),
            service: "sfn-operator-webhook".to_owned(),
            extra_hosts: vec![host().to_string()],
            configuration: Some(configuration.clone()),
        });
        let running = webhook::start(
            client.clone(),
            webhook::Config {
                addr: SocketAddr::new(host(), 0),
                tls: tls.clone(),
                settings: Settings {
                    partition: "aws".into(),
                    region: "us-east-1".into(),
                    account_id: "123456789012".into(),
                    default_deletion_policy: sfn_plan::DeletionPolicy::Delete,
                    default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
                    guardrails: Default::default(),
                },
                refresh: webhook::DEFAULT_REFRESH,
            },
            health.clone(),
            rx,
        )
        .await
        .expect("binding the webhook");
        let vwc: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": configuration},
            "webhooks": [{
                "name": HOOK_NAME,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "timeoutSeconds": 10,
                "clientConfig": {"url": format!("https://{}/validate", running.addr)},
                "rules": [{
                    "apiGroups": ["sfn.operator.dev"],
                    "apiVersions": ["v1alpha1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["statemachines", "taskintegrations", "activities"],
                    "scope": "Namespaced",
                }],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            }],
        }))
        .expect("a webhook configuration");
        let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
        api.create(&PostParams::default(), &vwc)
            .await
            .expect("registering the webhook");
        // The running provisioner retries every few seconds until the configuration exists; do its round now.
        provision::provision_once(client, &tls, &running.slot)
            .await
            .expect("issuing the certificate and injecting the CA");
        for _ in 0..100 {
            if !health.is_webhook_pending() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        TestWebhook {
            addr: running.addr,
            configuration,
            health,
            client: client.clone(),
            stop,
        }
    }

    /// Stops serving and removes the registration.
    pub async fn stop(self) {
        let api: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        let _ = api
            .delete(&self.configuration, &DeleteParams::default())
            .await;
        let _ = self.stop.send(true);
    }
}
