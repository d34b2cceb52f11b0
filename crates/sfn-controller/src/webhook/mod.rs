//! The validating admission webhook for the three kinds: `kubectl apply` (and a GitOps sync) of an object
//! that `validate` refuses fails at once, naming the object, the state and the field.
//!
//! - [`review`]: the decision, pure: AdmissionReview request → allowed or denied, message, warnings.
//! - [`certs`]: the self-signed CA and serving certificate, their renewal and their Secret layout, pure.
//! - [`provision`]: the Kubernetes I/O around certificates: the Secret, the configuration's `caBundle`, or a
//!   mounted directory (cert-manager).
//! - [`serve`]: the HTTPS endpoint and the lookups of referenced objects.
//!
//! Every replica serves, leader or not: admission must not wait for an election. [`start`] runs the
//! provisioning loop and the server; the health flag it is given stays "pending" until a certificate is
//! loaded, so a replica is not ready (and gets no traffic from its Service) before it can answer.

pub mod certs;
pub mod provision;
pub mod review;
pub mod serve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use sfn_plan::desired::Settings;

pub use provision::{CertSlot, SelfSigned, TlsSource};

use crate::http::Health;

/// How often the certificate is checked for renewal (and a mounted one read again).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(60);

/// Settings of the webhook server.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub tls: TlsSource,
    /// The account facts the checks build ARNs with.
    pub settings: Settings,
    pub refresh: Duration,
}

/// A running webhook server.
pub struct Running {
    /// The bound address (port 0 picks a free one).
    pub addr: SocketAddr,
    pub slot: Arc<CertSlot>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub provisioner: tokio::task::JoinHandle<()>,
}

/// Binds the webhook address, starts provisioning the certificate and serving; both stop when `shutdown`
/// flips to true. `health` is marked pending until the first certificate is loaded.
pub async fn start(
    client: Client,
    config: Config,
    health: Arc<Health>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Running> {
    health.set_webhook_pending(true);
    let slot = Arc::new(CertSlot::new());
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let (addr, server) = serve::serve(
        config.addr,
        slot.clone(),
        serve::router(client.clone(), config.settings.clone()),
        stop(shutdown.clone()),
    )
    .await?;
    let provisioner = tokio::spawn(provision::run(
        client,
        config.tls,
        slot.clone(),
        config.refresh,
        move || health.set_webhook_pending(false),
        stop(shutdown),
    ));
    Ok(Running {
        addr,
        slot,
        server,
        provisioner,
    })
}
