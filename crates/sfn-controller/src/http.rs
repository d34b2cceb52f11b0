//! The operator's HTTP endpoints: `/metrics` (Prometheus text format), `/healthz` (the process is alive) and
//! `/readyz` (the watch caches are synced, or this replica is a standby waiting for the leader lease: a
//! standby must count as ready, otherwise a rolling update of a two-replica Deployment would never finish).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::metrics::Metrics;

/// Liveness and readiness flags shared between the controllers and the HTTP server.
#[derive(Debug, Default)]
pub struct Health {
    synced: AtomicBool,
    leading: AtomicBool,
    standby: AtomicBool,
    /// The admission webhook is on but has no serving certificate yet.
    webhook_pending: AtomicBool,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// The watch caches of every controller have their initial list.
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::SeqCst);
    }

    /// This replica holds the leader lease (or leader election is off).
    pub fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::SeqCst);
        self.standby.store(!leading, Ordering::SeqCst);
    }

    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// The admission webhook waits for its serving certificate (`true`) or has it (`false`).
    pub fn set_webhook_pending(&self, pending: bool) {
        self.webhook_pending.store(pending, Ordering::SeqCst);
    }

    pub fn is_webhook_pending(&self) -> bool {
        self.webhook_pending.load(Ordering::SeqCst)
    }

    pub fn is_ready(&self) -> bool {
        (self.synced.load(Ordering::SeqCst) || self.standby.load(Ordering::SeqCst))
            && !self.is_webhook_pending()
    }
}

/// Source of cumulative AWS call counts, read at scrape time.
pub type AwsCallSource =
    Arc<dyn Fn() -> std::collections::BTreeMap<String, u64> + Send + Sync + 'static>;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    aws_calls: Option<AwsCallSource>,
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(source) = &state.aws_calls {
        state.metrics.sync_aws_calls(&source());
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.health.is_ready() {
        let body = if state.health.is_leading() {
            "ready"
        } else {
            "standby"
        };
        (StatusCode::OK, body)
    } else if state.health.is_webhook_pending() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook serving certificate not loaded yet",
        )
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet")
    }
}

/// The router serving the three endpoints.
pub fn router(
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    aws_calls: Option<AwsCallSource>,
) -> Router {
    Router::new()
        .route("/metrics", get(self::metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState {
            metrics,
            health,
            aws_calls,
        })
}

/// Binds `addr` and serves until `shutdown` resolves. Returns the bound address (port 0 picks a free one).
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((local, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn get_text(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut buf = String::new();
        stream.read_to_string(&mut buf).await.unwrap();
        let status: u16 = buf
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    }

    #[tokio::test]
    async fn endpoints_report_health_readiness_and_metrics() {
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(Health::new());
        metrics.reconciled("Activity", Duration::from_millis(5), None);
        let calls: AwsCallSource =
            Arc::new(|| std::collections::BTreeMap::from([("CreateActivity".to_owned(), 2u64)]));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, handle) = serve(
            "127.0.0.1:0".parse().unwrap(),
            router(metrics.clone(), health.clone(), Some(calls)),
            async move {
                let _ = rx.await;
            },
        )
        .await
        .unwrap();

        assert_eq!(get_text(addr, "/healthz").await.0, 200);
        assert_eq!(get_text(addr, "/readyz").await.0, 503);
        health.set_leading(true);
        assert_eq!(get_text(addr, "/readyz").await.0, 503);
        health.set_synced(true);
        assert_eq!(get_text(addr, "/readyz").await, (200, "ready".into()));
        health.set_synced(false);
        health.set_leading(false);
        assert_eq!(get_text(addr, "/readyz").await, (200, "standby".into()));
        // A webhook without its certificate holds readiness back, standby or not.
        health.set_webhook_pending(true);
        assert_eq!(
            get_text(addr, "/readyz").await,
            (503, "webhook serving certificate not loaded yet".into())
        );
        health.set_webhook_pending(false);
        assert_eq!(get_text(addr, "/readyz").await.0, 200);

        let (status, body) = get_text(addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            body.contains("sfn_operator_reconciles_total{kind=\"Activity\"} 1"),
            "{body}"
        );
        assert!(
            body.contains("sfn_operator_aws_calls_total{api=\"CreateActivity\"} 2"),
            "{body}"
        );
        tx.send(()).unwrap();
        handle.await.unwrap().unwrap();
    }
}
