//! Where a Kubernetes-facing test runs: a fresh in-process [`TestApiServer`], or, when `SFN_TEST_KUBECONFIG`
//! names a kubeconfig file, the real cluster it points at. Either way the test gets a plain `kube::Client`
//! and a namespace of its own (`sfn-test-…`), so the same test runs unchanged on both, in parallel.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::apiserver::TestApiServer;

/// Environment variable naming a kubeconfig; when set, tests run against that cluster.
pub const KUBECONFIG_ENV: &str = "SFN_TEST_KUBECONFIG";

/// A client and a fresh namespace for one test.
pub struct TestCluster {
    pub client: kube::Client,
    pub namespace: String,
    /// The in-process server, when not running against a real cluster.
    pub server: Option<TestApiServer>,
}

fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut x =
        (nanos as u64) ^ ((std::process::id() as u64) << 32) ^ (&nanos as *const u128 as u64);
    let mut s = String::new();
    for _ in 0..8 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let d = ((x >> 33) % 36) as u8;
        s.push(if d < 10 {
            (b'0' + d) as char
        } else {
            (b'a' + d - 10) as char
        });
    }
    s
}

impl TestCluster {
    /// Starts (or connects to) the cluster and creates a fresh namespace.
    pub async fn start() -> Self {
        let (client, server) = match std::env::var(KUBECONFIG_ENV) {
            Ok(path) if !path.is_empty() => {
                let kc = Kubeconfig::read_from(&path)
                    .unwrap_or_else(|e| panic!("reading {KUBECONFIG_ENV}={path}: {e}"));
                let config =
                    kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                        .await
                        .unwrap_or_else(|e| panic!("loading {KUBECONFIG_ENV}={path}: {e}"));
                (
                    kube::Client::try_from(config).expect("a client for the configured cluster"),
                    None,
                )
            }
            _ => {
                let server = TestApiServer::start().await;
                (server.client(), Some(server))
            }
        };
        let namespace = format!("sfn-test-{}", random_suffix());
        let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        let obj = serde_json::from_value(json!({"metadata": {"name": namespace}}))
            .expect("a namespace object");
        ns.create(&PostParams::default(), &obj)
            .await
            .expect("creating the test namespace");
        TestCluster {
            client,
            namespace,
            server,
        }
    }

    /// A kubeconfig file for this cluster, for processes (the operator binary, kubectl): the file in
    /// `SFN_TEST_KUBECONFIG` on a real cluster, otherwise one written for the in-process server (removed
    /// with the test's temporary files by the OS, not by the test) whose context defaults to the test
    /// namespace.
    pub fn kubeconfig_path(&self) -> std::path::PathBuf {
        match &self.server {
            None => std::path::PathBuf::from(std::env::var(KUBECONFIG_ENV).unwrap_or_default()),
            Some(server) => {
                let path = std::env::temp_dir().join(format!("{}.kubeconfig", self.namespace));
                std::fs::write(&path, server.kubeconfig(&self.namespace))
                    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
                path
            }
        }
    }

    /// Whether this runs against a real cluster.
    pub fn is_real(&self) -> bool {
        self.server.is_none()
    }

    /// Deletes the test namespace (on a real cluster; an in-process server just goes away).
    pub async fn cleanup(self) {
        if self.is_real() {
            let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
            let _ = ns.delete(&self.namespace, &DeleteParams::default()).await;
        }
    }

    /// Installs (server-side applies) a CRD and waits until it is Established. Safe to call from parallel
    /// tests installing the same CRD.
    pub async fn install_crd(&self, crd: &Value) -> Result<(), kube::Error> {
        install_crd(&self.client, crd).await
    }

    /// An API handle for `apiVersion`/`kind` with the given plural in the test namespace.
    pub fn dynamic(&self, api_version: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let ar =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        Api::namespaced_with(self.client.clone(), &self.namespace, &ar)
    }
}

/// Installs a CRD with server-side apply and waits for its `Established` condition.
pub async fn install_crd(client: &kube::Client, crd: &Value) -> Result<(), kube::Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut body = crd.clone();
    body["apiVersion"] = json!("apiextensions.k8s.io/v1");
    body["kind"] = json!("CustomResourceDefinition");
    api.patch(
        &name,
        &PatchParams::apply("sfn-operator-tests").force(),
        &Patch::Apply(&body),
    )
    .await?;
    for _ in 0..200 {
        let got = api.get(&name).await?;
        let established = got
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        if established {
            return wait_until_served(client, crd).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("CRD {name} did not become Established");
}

/// A real server may answer 404 for a moment after `Established`; wait until the storage version lists.
async fn wait_until_served(client: &kube::Client, crd: &Value) -> Result<(), kube::Error> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    let version = crd["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["storage"] == json!(true)))
        .and_then(|v| v["name"].as_str())
        .unwrap_or_default();
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let mut last = None;
    for _ in 0..100 {
        match api.list(&kube::api::ListParams::default().limit(1)).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => last = Some(kube::Error::Api(s)),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.expect("at least one attempt"))
}
