//! The webhook's HTTPS endpoint: `POST /validate` answers AdmissionReviews with [`review::decide`], after
//! looking up (with plain GETs, no AWS call) the objects the reviewed one refers to.
//!
//! TLS is rustls with the aws-lc-rs provider, the stack kube's client already links, so the process has one
//! TLS implementation. Handshakes run in their own tasks (a slow client never holds up the others) and the
//! certificate is taken from a [`CertSlot`] at every handshake, so a renewed certificate is served without a
//! restart. Only HTTP/1.1 is offered, which kube-apiserver speaks to webhooks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kube::Client;
use kube::api::Api;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use sfn_api::manifest::Bundle;
use sfn_api::{Activity, AwsIdentity, StateMachine, TaskIntegration};
use sfn_plan::desired::Settings;

use super::provision::CertSlot;
use super::review::{self, Request, Wanted};

/// The path kube-apiserver posts AdmissionReviews to (the chart's `clientConfig.service.path`).
pub const PATH: &str = "/validate";

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP listener that yields connections once their TLS handshake is done.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Binds `addr` and accepts TLS connections with the certificate in `slot`.
    pub async fn bind(addr: SocketAddr, slot: Arc<CertSlot>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(slot);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "accepting a webhook connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, conn_tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = conn_tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "webhook TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "webhook TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(TlsListener { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends when this listener is dropped; nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// What the handler needs.
#[derive(Clone)]
struct AppState {
    client: Client,
    settings: Arc<Settings>,
}

/// The webhook's router: `POST /validate`.
pub fn router(client: Client, settings: Settings) -> Router {
    Router::new()
        .route(PATH, post(validate))
        .with_state(AppState {
            client,
            settings: Arc::new(settings),
        })
}

async fn validate(State(state): State<AppState>, body: Bytes) -> Response {
    let started = Instant::now();
    let req = match review::parse(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let known = match lookup(&state.client, &req).await {
        Ok(k) => k,
        Err(e) => {
            // Without the referenced objects the verdict could be wrong either way; an error lets the
            // configuration's failurePolicy decide, as for any other webhook failure.
            tracing::warn!(error = %e, "looking up referenced objects for admission failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("looking up references: {e}"),
            )
                .into_response();
        }
    };
    let decision = review::decide(&req, &known, &state.settings);
    tracing::debug!(
        kind = %req.kind, namespace = %req.namespace, name = %req.name, operation = %req.operation,
        allowed = decision.allowed, micros = started.elapsed().as_micros() as u64,
        "admission review"
    );
    let body = review::response(&req.uid, &decision);
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Reads, from the API server, the objects of the request's namespace that its object refers to: the
/// TaskIntegrations of a StateMachine and the Activities and StateMachines of those (or of a reviewed
/// TaskIntegration), and the AwsIdentity its `spec.identityRef` names. A missing one is simply absent (the
/// decision warns about it).
pub async fn lookup(client: &Client, req: &Request) -> Result<Bundle, kube::Error> {
    let mut wanted = review::wanted(req);
    let mut known = Bundle::default();
    if wanted.is_empty() || req.namespace.is_empty() {
        return Ok(known);
    }
    if let Some(name) = wanted.identity.take() {
        let identities: Api<AwsIdentity> = Api::all(client.clone());
        if let Some(identity) = identities.get_opt(&name).await?
            && identity.metadata.deletion_timestamp.is_none()
        {
            known.identities.push(identity);
        }
    }
    let ns = req.namespace.as_str();
    let integrations: Api<TaskIntegration> = Api::namespaced(client.clone(), ns);
    for name in std::mem::take(&mut wanted.task_integrations) {
        if let Some(ti) = integrations.get_opt(&name).await?
            && ti.metadata.deletion_timestamp.is_none()
        {
            wanted.add_targets_of(&ti.spec);
            known.task_integrations.push(ti);
        }
    }
    let Wanted {
        activities,
        state_machines,
        ..
    } = wanted;
    let act_api: Api<Activity> = Api::namespaced(client.clone(), ns);
    for name in activities {
        if let Some(a) = act_api.get_opt(&name).await?
            && a.metadata.deletion_timestamp.is_none()
        {
            known.activities.push(a);
        }
    }
    let sm_api: Api<StateMachine> = Api::namespaced(client.clone(), ns);
    for name in state_machines {
        if let Some(sm) = sm_api.get_opt(&name).await?
            && sm.metadata.deletion_timestamp.is_none()
        {
            known.state_machines.push(sm);
        }
    }
    Ok(known)
}

/// Serves the webhook on `addr` until `shutdown`; returns the bound address and the server task.
pub async fn serve(
    addr: SocketAddr,
    slot: Arc<CertSlot>,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TlsListener::bind(addr, slot).await?;
    let local = listener.local;
    let handle = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((local, handle))
}
