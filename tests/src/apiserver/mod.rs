//! An in-process Kubernetes API server for tests, which a plain `kube::Client` talks to over HTTP on
//! 127.0.0.1. Each test starts its own in milliseconds:
//!
//! ```no_run
//! # async fn demo() {
//! use sfn_operator_tests::apiserver::TestApiServer;
//! let server = TestApiServer::start().await;
//! let client: kube::Client = server.client();
//! // ... install CRDs, run a controller against `client`, assert on objects ...
//! # }
//! ```
//!
//! Public API:
//! - [`TestApiServer::start`] / [`TestApiServer::builder`] (`.bookmark_interval(d)`, `.history_limit(n)`)
//!   → a running server; it stops when dropped.
//! - [`TestApiServer::client`], [`TestApiServer::config`], [`TestApiServer::url`],
//!   [`TestApiServer::kubeconfig`] (for processes: the operator binary, kubectl).
//! - [`TestApiServer::snapshot`] and [`Builder::restore`] (with [`Builder::listen`] for the same URL): a
//!   restart that keeps every object, cuts watch streams and answers 410 to watches resumed from before it.
//! - [`TestApiServer::compact`]: forget the watch history, so a watch from an older `resourceVersion` gets a
//!   410 `Expired` error event (kube-runtime's watcher then relists), and [`TestApiServer::resource_version`].
//! - For tests that should also run on a real cluster, use [`crate::cluster::TestCluster`] instead.
//!
//! What it serves, as a real API server does: built-in Namespaces (`default`, `kube-system`, `kube-public`,
//! `kube-node-lease` exist), ConfigMaps, Secrets (`stringData` folded into `data`), Events (core v1 and
//! `events.k8s.io/v1`, one storage converted between the two), Leases (`coordination.k8s.io/v1`),
//! what a Helm chart renders (ServiceAccounts, Services, Deployments, Roles, ClusterRoles, RoleBindings,
//! ClusterRoleBindings, with the validation a chart can trip, see [`workloads`]),
//! CustomResourceDefinitions (Established on creation; their resources served at once), and discovery
//! (`/version`, `/api`, `/apis`, `/apis/G/V`, and an `/openapi/v3` index that tells kubectl the server
//! validates fields itself; `kubectl get` shows a CRD's printer columns, see [`table`]).
//! Custom objects are defaulted, pruned and validated against the CRD's structural schema including CEL rules
//! (see [`cel`] for the supported subset; a CRD with a rule outside it is refused at install). Writes follow
//! the real rules for `uid`, `creationTimestamp`, the global `resourceVersion`, `generation`, conflicts,
//! no-op writes, the status subresource, finalizers and `deletionTimestamp`, namespace and CRD termination,
//! owner references with the three propagation policies, label and field selectors, pagination, dry runs,
//! metadata-only requests, watches (from a version, synthetic ADDED without one, bookmarks,
//! `sendInitialEvents`, `timeoutSeconds`, 410 `Expired`) and errors as `metav1.Status` with
//! `details.causes`.
//!
//! Validating admission webhooks are called before a write is stored, as kube-apiserver calls them (see
//! [`admission`]).
//!
//! Known simplifications: no authentication/authorization, mutating admission or conversion webhooks (all
//! versions of a CRD share storage; only `apiVersion` is rewritten), protobuf (answered with 415), OpenAPI schemas (the
//! `/openapi/v3` documents list operations only). Namespace and CRD deletion and garbage collection of owner
//! references happen synchronously (a real cluster does them in the background, so tests wait for the
//! outcome either way). Strategic merge patch is answered with 415 on custom resources (as on a real
//! server); on built-ins it merges like a merge patch except for the metadata lists and the pod, container
//! and Service lists with merge keys, which merge and order as the real server's do (see
//! [`patch::strategic_merge_patch`]). Server-side apply is simplified, see [`patch`]. Validation ratcheting
//! (errors in fields an update leaves unchanged are ignored by a real server) is not reproduced.
//!
//! The same tests run against a real cluster when `SFN_TEST_KUBECONFIG` names a kubeconfig (see
//! [`crate::cluster`]); run them with `cargo test -p sfn-operator-tests --no-fail-fast`, since without it
//! cargo stops at the first failing test binary. The cluster needs a kube-controller-manager, whose garbage
//! collector and namespace controller do what this server does synchronously: deleting owner-referenced
//! dependents and emptying deleted namespaces. `tests/README.md` lists what else it needs.

pub mod admission;
pub mod cel;
mod http;
pub mod patch;
pub mod registry;
pub mod schema;
pub mod selector;
pub mod status;
pub mod store;
pub mod table;
pub mod workloads;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use store::Store;

/// Options for [`TestApiServer`].
#[derive(Debug, Clone)]
pub struct Builder {
    bookmark_interval: Duration,
    history_limit: usize,
    listen: Option<SocketAddr>,
    restore: Option<serde_json::Value>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            bookmark_interval: Duration::from_secs(1),
            history_limit: store::DEFAULT_HISTORY,
            listen: None,
            restore: None,
        }
    }
}

impl Builder {
    /// How often watches that allow bookmarks get one (a real server sends one about every minute).
    pub fn bookmark_interval(mut self, d: Duration) -> Self {
        self.bookmark_interval = d;
        self
    }

    /// How many changes watches can replay (default 10 000); a watch from a version older than the kept
    /// history gets 410 Expired, as after etcd compaction.
    pub fn history_limit(mut self, n: usize) -> Self {
        self.history_limit = n;
        self
    }

    /// Binds this address instead of a free port on 127.0.0.1 (a restarted server keeps its URL).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// Starts with the state of a [`TestApiServer::snapshot`] (see [`store::Store::restore`]).
    pub fn restore(mut self, snapshot: serde_json::Value) -> Self {
        self.restore = Some(snapshot);
        self
    }

    /// Binds 127.0.0.1 on a free port (or the [`Builder::listen`] address) and starts serving. Panics on
    /// a snapshot that cannot be restored or an address that cannot be bound.
    pub async fn start(self) -> TestApiServer {
        let store = Arc::new(Store::new());
        store.set_history_limit(self.history_limit);
        if let Some(snapshot) = &self.restore {
            store
                .restore(snapshot)
                .unwrap_or_else(|e| panic!("restoring the API server's state: {e}"));
        }
        let app = Arc::new(http::AppState {
            store: store.clone(),
            bookmark_interval: self.bookmark_interval,
        });
        let router = axum::Router::new().fallback(http::handle).with_state(app);
        let addr = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("binding {addr} for the test API server: {e}"));
        let addr = listener
            .local_addr()
            .expect("the bound listener has an address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        TestApiServer {
            addr,
            store,
            shutdown: Some(tx),
            task,
        }
    }
}

/// A running in-process API server; stops when dropped.
pub struct TestApiServer {
    addr: SocketAddr,
    store: Arc<Store>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestApiServer {
    /// Starts a server with default options.
    pub async fn start() -> Self {
        Builder::default().start().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration pointing at this server (default namespace `default`).
    pub fn config(&self) -> kube::Config {
        let url = self.url().parse().expect("the server URL is a valid URI");
        kube::Config::new(url)
    }

    /// A plain `kube::Client` for this server.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).expect("a client for the test API server")
    }

    /// A kubeconfig for this server (YAML), for processes such as the operator binary or kubectl; its
    /// context defaults to `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sfn-test\n  cluster:\n    server: {url}\n\
             contexts:\n- name: sfn-test\n  context:\n    cluster: sfn-test\n    user: sfn-test\n    \
             namespace: {namespace}\ncurrent-context: sfn-test\nusers:\n- name: sfn-test\n  user: {{}}\n",
            url = self.url()
        )
    }

    /// Forgets the watch history (as etcd compaction does).
    pub fn compact(&self) {
        self.store.compact();
    }

    /// The current global `resourceVersion`.
    pub fn resource_version(&self) -> u64 {
        self.store.current_rv()
    }

    /// Everything the server holds, for [`Builder::restore`].
    pub fn snapshot(&self) -> serde_json::Value {
        self.store.snapshot()
    }

    /// [`TestApiServer::snapshot`] with every request held until the guard is dropped (see
    /// [`store::Store::frozen_snapshot`]): for a process that saves its state and exits.
    pub fn frozen_snapshot(&self) -> (serde_json::Value, std::sync::MutexGuard<'_, store::Inner>) {
        self.store.frozen_snapshot()
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}
