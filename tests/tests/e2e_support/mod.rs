//! End-to-end test environment: a Kubernetes API (the project's test API server, or a real cluster when
//! `SFN_TEST_KUBECONFIG` is set), the AWS emulator (moto; `SFN_TEST_AWS_ENDPOINT` when one is already
//! running, else started once per test binary from `.tools/venv`), and the operator running in-process.
//!
//! Isolation: every test gets its own namespace, and every AWS name the operator derives starts with the
//! namespace (`<namespace>-<name>`), so tests run in parallel against one emulator and only look at the AWS
//! resources under their own prefix.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;

use sfn_controller::backend::AwsBackend;
use sfn_controller::http::Health;
use sfn_controller::metrics::Metrics;
use sfn_controller::{self as controller, AwsEnvironment, Config};

pub const REGION: &str = "us-east-1";

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

struct Moto {
    endpoint: String,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The AWS emulator's endpoint, starting moto on a free port the first time. The server is wrapped in a
/// watchdog shell that stops it when this test process exits, so no emulator outlives the test run.
pub fn aws_endpoint() -> String {
    if let Ok(endpoint) = std::env::var("SFN_TEST_AWS_ENDPOINT") {
        return endpoint;
    }
    MOTO.get_or_init(|| {
        let moto = workspace_root().join(".tools/venv/bin/moto_server");
        assert!(
            moto.exists(),
            "{} is missing: run scripts/test (it installs the test tools into .tools/)",
            moto.display()
        );
        let log = std::env::temp_dir().join(format!("sfn-e2e-moto-{}.log", std::process::id()));
        let script = format!(
            "{} -p 0 >{} 2>&1 & m=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $m",
            moto.display(),
            log.display(),
            std::process::id()
        );
        // The watchdog shell ends by itself when this process exits; it is deliberately never waited for.
        let watchdog = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("starting moto_server");
        std::mem::forget(watchdog);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find_map(|l| l.split("Running on http://127.0.0.1:").nth(1))
                .map(|p| p.trim().to_owned())
            {
                return Moto {
                    endpoint: format!("http://127.0.0.1:{port}"),
                };
            }
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not start within 60s; its output:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .endpoint
    .clone()
}

/// The AWS SDK configuration against the emulator.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(aws_endpoint())
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "testing", "testing", None, None, "e2e",
        ))
        .load()
        .await
}

/// One test's world: a Kubernetes client, its namespace, and the AWS account.
pub struct World {
    pub client: Client,
    pub namespace: String,
    pub account: String,
    pub sdk: aws_config::SdkConfig,
    /// Keeps the in-process API server (or the real cluster's namespace) for the test.
    cluster: sfn_operator_tests::cluster::TestCluster,
}

/// Installs (or updates) the operator's CRDs and waits until they are served.
pub async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in sfn_api::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let pp = PatchParams::apply("sfn-e2e").force();
        api.patch(&name, &pp, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("installing CRD {name}: {e}"));
    }
    for crd in sfn_api::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        eventually(Duration::from_secs(20), || {
            let api = api.clone();
            let name = name.clone();
            async move {
                let crd = api.get(&name).await.ok()?;
                crd.status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
                    .then_some(())
            }
        })
        .await
        .unwrap_or_else(|| panic!("CRD {name} not established"));
    }
}

impl World {
    /// A new namespace (and, without a real cluster, a new API server) with the CRDs installed.
    pub async fn new() -> Self {
        let cluster = sfn_operator_tests::cluster::TestCluster::start().await;
        let client = cluster.client.clone();
        install_crds(&client).await;
        let namespace = cluster.namespace.clone();
        let sdk = sdk_config().await;
        // The account the emulator (or AWS) reports for these credentials, as the operator discovers it.
        let account = sfn_controller::backend::AwsSdkBackend::from_sdk_config(&sdk)
            .await
            .expect("AWS clients for the emulator")
            .clients()
            .account_id()
            .to_owned();
        World {
            client,
            namespace,
            account,
            sdk,
            cluster,
        }
    }

    /// A kubeconfig file for processes (the operator binary, kubectl) whose context is this world's.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.cluster.kubeconfig_path()
    }

    /// Deletes the namespace on a real cluster (the in-process server just goes away).
    pub async fn cleanup(self) {
        self.cluster.cleanup().await;
    }

    /// The in-process server's global resourceVersion (every write bumps it); `None` on a real cluster.
    pub fn resource_version(&self) -> Option<u64> {
        self.cluster.server.as_ref().map(|s| s.resource_version())
    }

    /// The prefix of every AWS name derived for objects of this world's namespace.
    pub fn aws_prefix(&self) -> String {
        format!("{}-", self.namespace)
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The operator configuration for this world: only its namespace, a short resync.
    pub fn config(&self) -> Config {
        let mut config = Config::new(AwsEnvironment {
            partition: "aws".into(),
            region: REGION.into(),
            account_id: self.account.clone(),
        });
        config.namespaces = vec![self.namespace.clone()];
        config.resync_period = Duration::from_secs(600);
        config.backoff.base = Duration::from_millis(200);
        config.backoff.max = Duration::from_secs(5);
        config
    }

    /// The AWS backend talking to the emulator in this world's account.
    pub async fn backend(&self) -> Arc<dyn AwsBackend> {
        Arc::new(
            sfn_controller::backend::AwsSdkBackend::from_sdk_config(&self.sdk)
                .await
                .expect("AWS clients for the emulator"),
        )
    }

    /// Applies every document of a multi-document YAML manifest into this world's namespace.
    pub async fn apply_yaml(&self, yaml: &str) {
        for doc in serde_saphyr::from_multiple::<serde_json::Value>(yaml).expect("manifest parses")
        {
            if doc.is_null() {
                continue;
            }
            self.apply_value(doc).await;
        }
    }

    /// Applies one object (create or replace) given as JSON, in this world's namespace.
    pub async fn apply_value(&self, mut doc: serde_json::Value) {
        doc["metadata"]["namespace"] = json!(self.namespace);
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let pp = PatchParams::apply("sfn-e2e").force();
        let result = match kind.as_str() {
            "StateMachine" => self
                .api::<sfn_api::StateMachine>()
                .patch(&name, &pp, &Patch::Apply(&doc))
                .await
                .map(|_| ()),
            "TaskIntegration" => self
                .api::<sfn_api::TaskIntegration>()
                .patch(&name, &pp, &Patch::Apply(&doc))
                .await
                .map(|_| ()),
            "Activity" => self
                .api::<sfn_api::Activity>()
                .patch(&name, &pp, &Patch::Apply(&doc))
                .await
                .map(|_| ()),
            other => panic!("unexpected kind {other} in a test manifest"),
        };
        result.unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
    }

    pub async fn delete<K>(&self, name: &str)
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let _ = self.api::<K>().delete(name, &DeleteParams::default()).await;
    }

    /// Waits until `name` satisfies `pred`, returning it; panics with the last seen object after `timeout`.
    pub async fn wait_for<K>(&self, name: &str, timeout: Duration, pred: impl Fn(&K) -> bool) -> K
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        let api = self.api::<K>();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let current = api.get_opt(name).await.expect("reading the object");
            if let Some(obj) = &current
                && pred(obj)
            {
                return obj.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{name} did not reach the expected state within {timeout:?}; last seen:\n{}",
                    serde_json::to_string_pretty(&current).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `name` no longer exists.
    pub async fn wait_gone<K>(&self, name: &str, timeout: Duration)
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api = self.api::<K>();
        let deadline = tokio::time::Instant::now() + timeout;
        while api.get_opt(name).await.expect("reading").is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} still exists after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Names of all objects of a kind in the namespace.
    pub async fn names<K>(&self) -> Vec<String>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .list(&ListParams::default())
            .await
            .expect("listing")
            .items
            .iter()
            .filter_map(|o| o.meta().name.clone())
            .collect()
    }
}

/// Polls `probe` until it returns `Some`, or `None` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, probe: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An operator running in-process until stopped.
pub struct RunningOperator {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub backend: Arc<dyn AwsBackend>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningOperator {
    /// Starts the operator with `config` against `client` and `backend`.
    pub fn start(client: Client, config: Config, backend: Arc<dyn AwsBackend>) -> Self {
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(Health::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let (metrics, health, backend) = (metrics.clone(), health.clone(), backend.clone());
            async move {
                controller::run(client, config, backend, metrics, health, async move {
                    let _ = stopped.await;
                })
                .await
                .expect("operator run");
            }
        });
        RunningOperator {
            metrics,
            health,
            backend,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Graceful stop: no new reconciles, running ones finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
    }

    /// Hard stop, as a killed process: in-flight reconciles are cut wherever they are.
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The `sfn-operator` binary next to the test executables (`cargo test --workspace` builds it, as the
/// operator package's own integration tests need it).
pub fn operator_binary() -> PathBuf {
    if let Ok(path) = std::env::var("SFN_OPERATOR_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let bin = dir.join(format!("sfn-operator{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p sfn-operator` (scripts/test builds everything)",
        bin.display()
    );
    // A target directory shared between checkouts may hold a binary built from another one.
    let help = std::process::Command::new(&bin)
        .args(["run", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        help.contains("--label-selector"),
        "{} does not come from this checkout (its `run` has no --label-selector): rebuild it with \
         `cargo build -p sfn-operator`, or point SFN_OPERATOR_BIN at the right binary",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `sfn-operator run` as a separate process, pointed at this world's API server and the emulator.
pub struct OperatorProcess {
    pub child: std::process::Child,
    pub metrics_port: u16,
    _kubeconfig: Option<tempfile::NamedTempFile>,
    pub log: PathBuf,
}

impl World {
    /// The kubeconfig the operator process uses: `SFN_TEST_KUBECONFIG`, or one written for the test server.
    fn kubeconfig(&self) -> (PathBuf, Option<tempfile::NamedTempFile>) {
        if let Ok(path) = std::env::var("SFN_TEST_KUBECONFIG") {
            return (PathBuf::from(path), None);
        }
        let server = self
            .cluster
            .server
            .as_ref()
            .expect("the in-process API server");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: \"{}\"}}\nusers:\n- name: test\n  user: {{}}\ncontexts:\n- name: test\n  context: {{cluster: test, user: test, namespace: default}}\ncurrent-context: test\n",
            server.url()
        );
        let mut file = tempfile::NamedTempFile::new().expect("a temporary kubeconfig");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("writing the kubeconfig");
        (file.path().to_path_buf(), Some(file))
    }

    /// Starts `sfn-operator run --namespace <this namespace> <extra args>`.
    pub fn spawn_operator(&self, extra: &[&str]) -> OperatorProcess {
        let (kubeconfig, keep) = self.kubeconfig();
        let mut args = vec!["--namespace", self.namespace.as_str()];
        args.extend_from_slice(extra);
        let mut operator =
            OperatorProcess::spawn(&kubeconfig, &aws_endpoint(), &self.namespace, &args);
        operator._kubeconfig = keep;
        operator
    }
}

impl OperatorProcess {
    /// Starts `sfn-operator run <args>` against the cluster of `kubeconfig` and the AWS endpoint given, with
    /// its HTTP port on a free port of 127.0.0.1 and its output in a log file named after `label`.
    pub fn spawn(
        kubeconfig: &std::path::Path,
        aws_endpoint: &str,
        label: &str,
        args: &[&str],
    ) -> OperatorProcess {
        let metrics_port = free_port();
        let log = std::env::temp_dir().join(format!(
            "sfn-operator-{label}-{}.log",
            rand::random::<u32>()
        ));
        let out = std::fs::File::create(&log).expect("the operator log file");
        let child = std::process::Command::new(operator_binary())
            .arg("run")
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{metrics_port}"))
            .arg("--log-format")
            .arg("text")
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .stdout(out.try_clone().expect("log file handle"))
            .stderr(out)
            .spawn()
            .expect("starting sfn-operator run");
        OperatorProcess {
            child,
            metrics_port,
            _kubeconfig: None,
            log,
        }
    }
}

impl OperatorProcess {
    /// GET on the operator's HTTP port: (status, body); `None` while it does not answer. Panics with the
    /// operator's output when the process has exited, so a crash is reported at once.
    pub async fn get(&mut self, path: &str) -> Option<(u16, String)> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the operator exited ({status}); output:\n{}", self.output());
        }
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.metrics_port))
            .await
            .ok()?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.ok()?;
        let mut buf = String::new();
        stream.read_to_string(&mut buf).await.ok()?;
        let status = buf.split_whitespace().nth(1)?.parse().ok()?;
        let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        Some((status, body))
    }

    /// A counter or gauge from `/metrics`, summed over the series whose line starts with `prefix`.
    pub async fn metric_sum(&mut self, prefix: &str) -> f64 {
        let (_, body) = self.get("/metrics").await.unwrap_or_default();
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
    pub fn memory_kb(&self, field: &str) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        text.lines()
            .find(|l| l.starts_with(&format!("{field}:")))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// User + system CPU time so far, in clock ticks.
    pub fn cpu_ticks(&self) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let after = text.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// The operator's output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status (at most `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
