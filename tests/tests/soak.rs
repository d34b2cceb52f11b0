//! Soak: what production does to the operator, all at once, and then a look at AWS itself.
//!
//! The operator binary runs as a process against the test API server (a separate process too) and the AWS
//! emulator behind [`FaultProxy`] (throttling, 500s, lost responses, slow responses at `SFN_SOAK_FAULT_RATE`).
//! While StateMachines (each with its own TaskIntegration) are created, updated (definition, tags, alarms,
//! the integration's function) and deleted across namespaces, the operator is killed with SIGKILL at random
//! moments and restarted, and the API server is restarted a few times (its state survives; watch streams
//! are cut and resuming them answers 410). Then, once everything has converged:
//!
//! - from AWS: exactly one state machine, one role with exactly the operator's inline policy and nothing
//!   attached, and exactly the declared alarms per live object; nothing owned by (or named after) a deleted
//!   object; no version published twice in a row with the same definition;
//! - from Kubernetes: every live object `Ready=True` with `observedGeneration == generation`, deleted ones
//!   gone;
//! - an idle period of several resyncs with zero AWS writes (counted by the proxy) and zero Kubernetes
//!   writes (the API server's resourceVersion does not move), and no write of the whole run that changed
//!   nothing (the operator's `noop_writes` metric).
//!
//! It prints one line of figures. The test suite runs a small configuration; `scripts/soak` runs a large one:
//!
//! ```sh
//! SFN_SOAK_OBJECTS=1000 SFN_SOAK_KILLS=20 SFN_SOAK_IDLE_SECS=120 \
//!   cargo test -p sfn-operator-tests --test soak -- --nocapture
//! ```
//!
//! Knobs (environment): `SFN_SOAK_OBJECTS` (40), `SFN_SOAK_NAMESPACES` (2), `SFN_SOAK_KILLS` (5),
//! `SFN_SOAK_APISERVER_RESTARTS` (1), `SFN_SOAK_FAULT_RATE` (0.10), `SFN_SOAK_IDLE_SECS` (12),
//! `SFN_SOAK_RESYNC_SECS` (4), `SFN_SOAK_SEED` (random), `SFN_SOAK_CONVERGE_SECS` (180).

mod e2e_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e_support::{OperatorProcess, free_port, install_crds, workspace_root};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sfn_api::naming;
use sfn_api::{StateMachine, TaskIntegration};
use sfn_operator_tests::fault_proxy::FaultProxy;
use sfn_test_support::sfn_versions_standin::VersionsStandIn;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
struct SoakConfig {
    objects: usize,
    namespaces: usize,
    kills: usize,
    apiserver_restarts: usize,
    fault_rate: f64,
    idle: Duration,
    resync: Duration,
    seed: u64,
    converge: Duration,
    /// Every how many objects one publishes versions; 0 for none.
    publish_every: usize,
}

impl SoakConfig {
    fn from_env() -> Self {
        SoakConfig {
            objects: env("SFN_SOAK_OBJECTS", 40),
            namespaces: env("SFN_SOAK_NAMESPACES", 2usize).max(1),
            kills: env("SFN_SOAK_KILLS", 5),
            apiserver_restarts: env("SFN_SOAK_APISERVER_RESTARTS", 1),
            fault_rate: env("SFN_SOAK_FAULT_RATE", 0.10),
            idle: Duration::from_secs(env("SFN_SOAK_IDLE_SECS", 12)),
            resync: Duration::from_secs(env("SFN_SOAK_RESYNC_SECS", 4).max(1)),
            seed: env("SFN_SOAK_SEED", rand::random::<u64>()),
            converge: Duration::from_secs(env("SFN_SOAK_CONVERGE_SECS", 180)),
            publish_every: env("SFN_SOAK_PUBLISH_EVERY", 10),
        }
    }
}

/// The test API server as a process that can be restarted on the same address with its state.
struct ApiServerProcess {
    child: std::process::Child,
    port: u16,
    state: PathBuf,
    kubeconfig: PathBuf,
    log: PathBuf,
}

impl ApiServerProcess {
    fn start(port: u16, dir: &Path) -> Self {
        let state = dir.join("apiserver-state.json");
        let kubeconfig = dir.join("kubeconfig");
        let log = dir.join("apiserver.log");
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("the API server log");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_test-apiserver"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--state")
            .arg(&state)
            .arg("--crds")
            .arg(workspace_root().join("crds"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .stdout(std::process::Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("starting test-apiserver");
        // The URL is announced once the CRDs are in and the kubeconfig is written.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the API server's URL");
        assert!(
            line.starts_with("http://"),
            "the API server did not start: {line:?}; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        ApiServerProcess {
            child,
            port,
            state,
            kubeconfig,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (the server saves its state and exits), then the same address and state again.
    fn restart(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().expect("waiting for the API server");
        assert!(status.success(), "the API server exited with {status}");
        assert!(self.state.exists(), "no state file after the restart");
        let dir = self
            .state
            .parent()
            .expect("a state directory")
            .to_path_buf();
        *self = ApiServerProcess::start(self.port, &dir);
    }
}

impl Drop for ApiServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the soak declared for one object, and whether it still exists.
#[derive(Debug, Clone)]
struct Declared {
    namespace: String,
    name: String,
    index: usize,
    alive: bool,
    definition: u32,
    team: u32,
    alarm: bool,
    function: u32,
    publish: bool,
}

impl Declared {
    fn machine_name(&self) -> String {
        naming::state_machine_name(&self.namespace, &self.name, None).expect("a valid name")
    }

    fn integration(&self) -> Value {
        json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "TaskIntegration",
            "metadata": {"name": format!("fn-{}", self.index), "namespace": self.namespace},
            "spec": {"lambda": {"functionArn": format!(
                "arn:aws:lambda:us-east-1:123456789012:function:soak-{}-v{}", self.index, self.function)}}
        })
    }

    fn machine(&self) -> Value {
        let alarms = if self.alarm {
            json!([{"metric": "ExecutionsFailed", "threshold": 1, "evaluationPeriods": 1}])
        } else {
            json!([])
        };
        json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "definition": {"states": [
                    {"name": "Call", "type": "Task", "integration": format!("fn-{}", self.index)},
                    {"name": "Done", "type": "Pass", "result": {"revision": self.definition}, "end": true}
                ]},
                "tags": {"team": format!("team-{}", self.team)},
                "alarms": alarms,
                "publish": self.publish,
            }
        })
    }
}

/// Retries a Kubernetes call while the API server is away (restarting), for up to a minute.
async fn persist<F, Fut, T>(what: &str, call: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("{what}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

async fn apply(client: &Client, doc: &Value) {
    let ns = doc["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let pp = PatchParams::apply("sfn-soak").force();
    match doc["kind"].as_str() {
        Some("StateMachine") => {
            let api: Api<StateMachine> = Api::namespaced(client.clone(), ns);
            let (api, pp) = (&api, &pp);
            persist(
                &format!("applying StateMachine {ns}/{name}"),
                || async move { api.patch(name, pp, &Patch::Apply(doc)).await },
            )
            .await;
        }
        _ => {
            let api: Api<TaskIntegration> = Api::namespaced(client.clone(), ns);
            let (api, pp) = (&api, &pp);
            persist(
                &format!("applying TaskIntegration {ns}/{name}"),
                || async move { api.patch(name, pp, &Patch::Apply(doc)).await },
            )
            .await;
        }
    }
}

async fn delete(client: &Client, d: &Declared) {
    let sms: Api<StateMachine> = Api::namespaced(client.clone(), &d.namespace);
    let tis: Api<TaskIntegration> = Api::namespaced(client.clone(), &d.namespace);
    let gone = |r: Result<(), kube::Error>| match r {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other,
    };
    persist(&format!("deleting StateMachine {}", d.name), || async {
        gone(
            sms.delete(&d.name, &DeleteParams::default())
                .await
                .map(|_| ()),
        )
    })
    .await;
    persist(
        &format!("deleting TaskIntegration fn-{}", d.index),
        || async {
            gone(
                tis.delete(&format!("fn-{}", d.index), &DeleteParams::default())
                    .await
                    .map(|_| ()),
            )
        },
    )
    .await;
}

fn is_ready(sm: &StateMachine) -> bool {
    sm.status.as_ref().is_some_and(|s| {
        s.observed_generation == sm.metadata.generation
            && s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status.as_str() == "True")
    })
}

/// Live objects not Ready yet and deleted objects still present, from Kubernetes.
async fn pending(client: &Client, declared: &[Declared], namespaces: &[String]) -> (usize, usize) {
    let mut present: BTreeMap<(String, String), StateMachine> = BTreeMap::new();
    for ns in namespaces {
        let api: Api<StateMachine> = Api::namespaced(client.clone(), ns);
        let Ok(list) = api.list(&ListParams::default()).await else {
            return (usize::MAX, usize::MAX);
        };
        for sm in list.items {
            let name = sm.metadata.name.clone().unwrap_or_default();
            present.insert((ns.clone(), name), sm);
        }
    }
    let mut not_ready = 0;
    let mut lingering = 0;
    for d in declared {
        let found = present.get(&(d.namespace.clone(), d.name.clone()));
        match (d.alive, found) {
            (true, Some(sm)) if is_ready(sm) => {}
            (true, _) => not_ready += 1,
            (false, Some(_)) => lingering += 1,
            (false, None) => {}
        }
    }
    (not_ready, lingering)
}

/// The API server's current resourceVersion (every write bumps it).
async fn resource_version(client: &Client) -> u64 {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let api = &api;
    let list = persist("listing namespaces", || async move {
        api.list(&ListParams::default().limit(1)).await
    })
    .await;
    list.metadata
        .resource_version
        .and_then(|v| v.parse().ok())
        .expect("a list resourceVersion")
}

/// Every object of kind `K` in `namespace` (none when the listing fails: only diagnostics use it).
async fn list_in<K>(client: &Client, namespace: &str) -> Vec<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// The status of every StateMachine of `namespaces`, by `namespace/name`.
async fn machine_statuses(client: &Client, namespaces: &[String]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for ns in namespaces {
        for sm in list_in::<StateMachine>(client, ns).await {
            let status = serde_json::to_value(&sm.status).unwrap_or_default();
            out.insert(format!("{ns}/{}", sm.name_any()), status);
        }
    }
    out
}

/// What was written after resourceVersion `since` in `namespaces`: each StateMachine (with its status
/// before and after), TaskIntegration and Event (with its reason and note) whose resourceVersion is
/// newer, so that a write in the idle period names its cause.
async fn written_since(
    client: &Client,
    since: u64,
    namespaces: &[String],
    statuses_before: &BTreeMap<String, Value>,
) -> Vec<String> {
    fn newer(meta: &kube::api::ObjectMeta, since: u64) -> bool {
        meta.resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|v| v > since)
    }
    let mut out = Vec::new();
    for ns in namespaces {
        for sm in list_in::<StateMachine>(client, ns).await {
            if newer(&sm.metadata, since) {
                let key = format!("{ns}/{}", sm.name_any());
                let before = statuses_before.get(&key).cloned().unwrap_or_default();
                let after = serde_json::to_value(&sm.status).unwrap_or_default();
                out.push(format!(
                    "StateMachine {key}: status before: {before}; after: {after}"
                ));
            }
        }
        for ti in list_in::<TaskIntegration>(client, ns).await {
            if newer(&ti.metadata, since) {
                out.push(format!("TaskIntegration {ns}/{}", ti.name_any()));
            }
        }
        for ev in list_in::<k8s_openapi::api::events::v1::Event>(client, ns).await {
            if newer(&ev.metadata, since) {
                out.push(format!(
                    "Event {ns}/{}: {} {} about {}: {}",
                    ev.name_any(),
                    ev.type_.unwrap_or_default(),
                    ev.reason.unwrap_or_default(),
                    ev.regarding.and_then(|r| r.name).unwrap_or_default(),
                    ev.note.unwrap_or_default()
                ));
            }
        }
    }
    out
}

struct Operators {
    current: Option<OperatorProcess>,
    kubeconfig: PathBuf,
    endpoint: String,
    args: Vec<String>,
    started: usize,
    /// `noop_writes` summed over the processes that are gone.
    noop_writes_before: f64,
}

impl Operators {
    fn start(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.current = Some(OperatorProcess::spawn(
            &self.kubeconfig,
            &self.endpoint,
            "soak",
            &args,
        ));
        self.started += 1;
    }

    /// Reads the counter of the running process (if it answers), then kills it with SIGKILL.
    async fn kill(&mut self) {
        if let Some(mut op) = self.current.take() {
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(300), noop_writes(&mut op)).await
            {
                self.noop_writes_before += n;
            }
            let _ = op.child.kill();
            let _ = op.child.wait();
        }
    }

    async fn noop_writes(&mut self) -> f64 {
        let now = match self.current.as_mut() {
            Some(op) => noop_writes(op).await.unwrap_or(0.0),
            None => 0.0,
        };
        self.noop_writes_before + now
    }
}

async fn noop_writes(op: &mut OperatorProcess) -> Result<f64, ()> {
    if op.child.try_wait().map_err(|_| ())?.is_some() {
        return Err(());
    }
    Ok(op.metric_sum("sfn_operator_noop_writes_total").await)
}

/// What AWS itself holds for the soak's objects, and what is wrong with it.
#[derive(Debug, Default)]
struct AwsAudit {
    machines: usize,
    duplicates: Vec<String>,
    orphans: Vec<String>,
    missing: Vec<String>,
    wrong: Vec<String>,
}

async fn audit_aws(sdk: &aws_config::SdkConfig, prefix: &str, declared: &[Declared]) -> AwsAudit {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let mut audit = AwsAudit::default();
    let by_machine: BTreeMap<String, &Declared> =
        declared.iter().map(|d| (d.machine_name(), d)).collect();
    let by_owner: BTreeMap<String, &Declared> = declared
        .iter()
        .map(|d| (naming::owner_value(&d.namespace, &d.name), d))
        .collect();

    // State machines, by owner tag.
    let mut machines_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_state_machines()
            .set_next_token(token)
            .send()
            .await
            .expect("ListStateMachines");
        for m in page.state_machines() {
            if !m.name().starts_with(prefix) {
                continue;
            }
            audit.machines += 1;
            arns.insert(m.name().to_owned(), m.state_machine_arn().to_owned());
            let tags = sfn
                .list_tags_for_resource()
                .resource_arn(m.state_machine_arn())
                .send()
                .await
                .expect("ListTagsForResource");
            let owner = tags
                .tags()
                .iter()
                .find(|t| t.key() == Some(naming::OWNER_TAG))
                .and_then(|t| t.value())
                .unwrap_or("")
                .to_owned();
            machines_of
                .entry(owner.clone())
                .or_default()
                .push(m.name().to_owned());
            match by_owner.get(&owner) {
                Some(d) if d.alive && d.machine_name() == m.name() => {}
                Some(d) if d.alive => audit
                    .wrong
                    .push(format!("{} is tagged as {owner}'s", m.name())),
                _ => audit.orphans.push(format!("state machine {}", m.name())),
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    for d in declared.iter().filter(|d| d.alive) {
        let owner = naming::owner_value(&d.namespace, &d.name);
        match machines_of.get(&owner).map(Vec::len).unwrap_or(0) {
            1 => {}
            0 => audit.missing.push(format!("state machine of {owner}")),
            n => audit
                .duplicates
                .push(format!("{n} state machines of {owner}")),
        }
    }

    // Roles: one per live object, with exactly the operator's inline policy and nothing attached.
    let mut roles = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = iam
            .list_roles()
            .path_prefix(naming::ROLE_PATH)
            .set_marker(marker)
            .send()
            .await
            .expect("ListRoles");
        for r in page.roles() {
            if r.role_name().starts_with(prefix) {
                roles.insert(r.role_name().to_owned());
            }
        }
        marker = page.marker().map(str::to_owned);
        if !page.is_truncated() {
            break;
        }
    }
    for role in &roles {
        let owner_of = declared.iter().find(|d| {
            naming::regional_role_name("", &d.machine_name(), e2e_support::REGION) == *role
        });
        match owner_of {
            Some(d) if d.alive => {
                let inline = iam
                    .list_role_policies()
                    .role_name(role)
                    .send()
                    .await
                    .expect("ListRolePolicies");
                let attached = iam
                    .list_attached_role_policies()
                    .role_name(role)
                    .send()
                    .await
                    .expect("ListAttachedRolePolicies");
                if inline.policy_names().len() != 1 || !attached.attached_policies().is_empty() {
                    audit.wrong.push(format!(
                        "role {role}: inline {:?}, attached {:?}",
                        inline.policy_names(),
                        attached.attached_policies()
                    ));
                }
            }
            _ => audit.orphans.push(format!("role {role}")),
        }
    }
    for d in declared.iter().filter(|d| d.alive) {
        if !roles.contains(&naming::regional_role_name(
            "",
            &d.machine_name(),
            e2e_support::REGION,
        )) {
            audit
                .missing
                .push(format!("role of {}/{}", d.namespace, d.name));
        }
    }

    // Alarms: exactly the declared ones.
    let mut alarms_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut token = None;
    loop {
        let page = cw
            .describe_alarms()
            .alarm_name_prefix(format!("{}{prefix}", naming::ALARM_PREFIX))
            .set_next_token(token)
            .send()
            .await
            .expect("DescribeAlarms");
        for a in page.metric_alarms() {
            let name = a.alarm_name().unwrap_or_default();
            let machine = name
                .strip_prefix(naming::ALARM_PREFIX)
                .and_then(|rest| rest.rsplit_once('/'))
                .map(|(m, _)| m.to_owned())
                .unwrap_or_default();
            match by_machine.get(&machine) {
                Some(d) if d.alive => *alarms_of.entry(machine).or_default() += 1,
                _ => audit.orphans.push(format!("alarm {name}")),
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    for d in declared.iter().filter(|d| d.alive) {
        let want = usize::from(d.alarm);
        let have = alarms_of.get(&d.machine_name()).copied().unwrap_or(0);
        if have != want {
            audit.wrong.push(format!(
                "{}/{}: {have} alarm(s), {want} declared",
                d.namespace, d.name
            ));
        }
    }

    // Versions: none published twice in a row with the same definition.
    for d in declared.iter().filter(|d| d.alive && d.publish) {
        let Some(arn) = arns.get(&d.machine_name()) else {
            continue;
        };
        // moto does not implement ListStateMachineVersions; versions are numbered from 1 without gaps.
        let numbered: Vec<String> = (1..).map(|n| format!("{arn}:{n}")).take(10_000).collect();
        let mut previous: Option<String> = None;
        for version in numbered {
            let Ok(described) = sfn
                .describe_state_machine()
                .state_machine_arn(&version)
                .send()
                .await
            else {
                break;
            };
            let definition = described.definition().to_owned();
            let parsed: Value = serde_json::from_str(&definition).unwrap_or(Value::Null);
            let canonical = sfn_plan::canonical_json(&parsed).to_string();
            if previous.as_ref() == Some(&canonical) {
                audit
                    .duplicates
                    .push(format!("version {version} repeats the one before"));
            }
            previous = Some(canonical);
        }
    }
    audit
}

async fn soak(config: SoakConfig) {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let run = format!("soak{:06x}", config.seed % 0xff_ffff);
    let dir = tempfile::tempdir().expect("a scratch directory");

    // AWS: the emulator behind the fault proxy.
    let upstream: std::net::SocketAddr = e2e_support::aws_endpoint()
        .trim_start_matches("http://")
        .parse()
        .expect("the emulator listens on an IP address");
    // moto serves neither ListStateMachineVersions nor the alias calls; the stand-in answers them, so a
    // publishing object killed between its publish and its status write can find its version again.
    let versions = VersionsStandIn::start(upstream)
        .await
        .expect("starting the version stand-in");
    let proxy = FaultProxy::start(versions.addr(), config.fault_rate, config.seed)
        .await
        .expect("starting the fault proxy");
    let sdk = e2e_support::sdk_config().await;

    // Kubernetes: the test API server as its own process.
    let mut apiserver = ApiServerProcess::start(free_port(), dir.path());
    let client = Client::try_from(kube::Config::new(apiserver.url().parse().expect("a URL")))
        .expect("a client");
    install_crds(&client).await;
    let namespaces: Vec<String> = (0..config.namespaces)
        .map(|i| format!("{run}-{i}"))
        .collect();
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for ns in &namespaces {
        let doc = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let (ns_api, doc) = (&ns_api, &doc);
        persist("creating a namespace", || async move {
            ns_api
                .patch(ns, &PatchParams::apply("sfn-soak"), &Patch::Apply(doc))
                .await
        })
        .await;
    }

    let mut declared: Vec<Declared> = (0..config.objects)
        .map(|i| Declared {
            namespace: namespaces[i % namespaces.len()].clone(),
            name: format!("m-{i}"),
            index: i,
            alive: true,
            definition: 0,
            team: 0,
            alarm: i % 3 == 0,
            function: 0,
            publish: config.publish_every > 0 && i % config.publish_every == 0,
        })
        .collect();
    for d in &declared {
        apply(&client, &d.integration()).await;
        apply(&client, &d.machine()).await;
    }

    let mut operators = Operators {
        current: None,
        kubeconfig: apiserver.kubeconfig.clone(),
        endpoint: proxy.url(),
        args: [
            "--resync-period",
            &format!("{}s", config.resync.as_secs()),
            "--aws-rate-scale",
            "1000",
            "--concurrency",
            "16",
            "--log-level",
            "warn",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        started: 0,
        noop_writes_before: 0.0,
    };
    operators.start();

    // Chaos: mutations, SIGKILLs and API server restarts, interleaved.
    let mutations = config.objects * 2;
    let kills_at: BTreeSet<usize> = (1..=config.kills)
        .map(|k| k * mutations / (config.kills + 1))
        .collect();
    let restarts_at: BTreeSet<usize> = (1..=config.apiserver_restarts)
        .map(|k| k * mutations / (config.apiserver_restarts + 1) + 1)
        .collect();
    let mut kills = 0;
    let mut restarts = 0;
    let mut deleted = 0;
    for step in 0..mutations {
        let i = rng.random_range(0..declared.len());
        if declared[i].alive {
            let d = &mut declared[i];
            match rng.random_range(0..10) {
                0..=2 => {
                    d.definition += 1;
                    apply(&client, &d.machine()).await;
                }
                3 | 4 => {
                    d.team += 1;
                    apply(&client, &d.machine()).await;
                }
                5 | 6 => {
                    d.alarm = !d.alarm;
                    apply(&client, &d.machine()).await;
                }
                7 | 8 => {
                    d.function += 1;
                    apply(&client, &d.integration()).await;
                }
                _ => {
                    d.alive = false;
                    deleted += 1;
                    delete(&client, d).await;
                }
            }
        }
        if kills_at.contains(&step) {
            // A random moment inside whatever the operator is doing now.
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..1500))).await;
            operators.kill().await;
            kills += 1;
            operators.start();
        }
        if restarts_at.contains(&step) {
            tokio::task::block_in_place(|| apiserver.restart());
            restarts += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
    }
    // Kills that fall after the last mutation still count.
    while kills < config.kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        operators.kill().await;
        kills += 1;
        operators.start();
    }

    // Convergence.
    let chaos_end = Instant::now();
    let deadline = chaos_end + config.converge;
    loop {
        let (not_ready, lingering) = pending(&client, &declared, &namespaces).await;
        if not_ready == 0 && lingering == 0 {
            break;
        }
        if Instant::now() > deadline {
            let output = operators
                .current
                .as_ref()
                .map(|o| o.output())
                .unwrap_or_default();
            let tail: String = output
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!(
                "not converged after {:?}: {not_ready} live object(s) not Ready, {lingering} deleted object(s) still present (seed {}); operator log tail:\n{tail}",
                config.converge, config.seed
            );
        }
        if let Some(op) = operators.current.as_mut()
            && let Ok(Some(status)) = op.child.try_wait()
        {
            panic!("the operator exited ({status}); output:\n{}", op.output());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let converge = chaos_end.elapsed();

    // Idle: the first resync after convergence may still see an object's own last status write; wait one
    // resync period, then count.
    tokio::time::sleep(config.resync + Duration::from_secs(1)).await;
    let rv_before = resource_version(&client).await;
    let statuses_before = machine_statuses(&client, &namespaces).await;
    let aws_before = proxy.stats().writes();
    let reconciles_before = match operators.current.as_mut() {
        Some(op) => op.metric_sum("sfn_operator_reconciles_total").await,
        None => 0.0,
    };
    tokio::time::sleep(config.idle).await;
    let k8s_idle_writes = resource_version(&client).await - rv_before;
    let aws_after = proxy.stats().writes();
    let aws_idle: BTreeMap<String, u64> = aws_after
        .iter()
        .filter_map(|(api, n)| {
            let d = n - aws_before.get(api).copied().unwrap_or(0);
            (d > 0).then(|| (api.clone(), d))
        })
        .collect();
    let idle_reconciles = match operators.current.as_mut() {
        Some(op) => op.metric_sum("sfn_operator_reconciles_total").await - reconciles_before,
        None => 0.0,
    };
    let noop = operators.noop_writes().await;

    let audit = audit_aws(&sdk, &format!("{run}-"), &declared).await;
    let stats = proxy.stats();
    let live = declared.iter().filter(|d| d.alive).count();
    println!(
        "soak: objects={} live={live} deleted={deleted} namespaces={} mutations={mutations} kills={kills} \
         apiserver_restarts={restarts} faults={} (throttled={} 5xx={} lost={} slow={}) of {} AWS requests \
         converge={:.1}s duplicates={} orphans={} missing={} wrong={} idle={}s idle_reconciles={idle_reconciles} \
         idle_aws_writes={} idle_k8s_writes={k8s_idle_writes} noop_writes={noop} total={:.0}s seed={}",
        config.objects,
        namespaces.len(),
        stats.faults(),
        stats.throttled.load(std::sync::atomic::Ordering::Relaxed),
        stats
            .server_errors
            .load(std::sync::atomic::Ordering::Relaxed),
        stats
            .lost_responses
            .load(std::sync::atomic::Ordering::Relaxed),
        stats.slow.load(std::sync::atomic::Ordering::Relaxed),
        stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        converge.as_secs_f64(),
        audit.duplicates.len(),
        audit.orphans.len(),
        audit.missing.len(),
        audit.wrong.len(),
        config.idle.as_secs(),
        aws_idle.values().sum::<u64>(),
        started.elapsed().as_secs_f64(),
        config.seed,
    );
    assert!(
        audit.duplicates.is_empty(),
        "duplicates: {:?}",
        audit.duplicates
    );
    assert!(audit.orphans.is_empty(), "orphans: {:?}", audit.orphans);
    assert!(audit.missing.is_empty(), "missing: {:?}", audit.missing);
    assert!(audit.wrong.is_empty(), "not as declared: {:?}", audit.wrong);
    assert_eq!(audit.machines, live, "state machines in AWS");
    assert!(
        idle_reconciles > 0.0 || live == 0,
        "the idle period should have seen resyncs"
    );
    assert!(aws_idle.is_empty(), "AWS writes while idle: {aws_idle:?}");
    if k8s_idle_writes > 0 {
        let written = written_since(&client, rv_before, &namespaces, &statuses_before).await;
        panic!("{k8s_idle_writes} Kubernetes write(s) while idle: {written:#?}");
    }
    assert_eq!(noop, 0.0, "writes that changed nothing");
    assert!(kills >= config.kills);
    let _ = std::fs::read_to_string(&apiserver.log);
}

/// The small configuration (about a minute): 40 objects in 2 namespaces, 5 SIGKILLs, 1 API server
/// restart, 10 % AWS faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_kills_faults_and_apiserver_restarts() {
    soak(SoakConfig::from_env()).await;
}
