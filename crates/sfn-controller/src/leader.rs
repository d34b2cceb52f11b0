//! Leader election over a `coordination.k8s.io/v1` Lease (kube-lease-manager), so that two replicas never
//! reconcile the same object at once: only the lease holder runs the controllers; a standby keeps serving
//! `/healthz` and `/metrics` and takes over when the holder stops renewing.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Leader election settings.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    pub lease_name: String,
    pub lease_namespace: String,
    /// Unique per replica; the pod name in a cluster.
    pub identity: String,
    /// Seconds a lease stays valid without renewal.
    pub lease_duration_secs: u64,
    /// Seconds before expiry at which the holder renews.
    pub grace_secs: u64,
}

impl LeaderConfig {
    pub fn new(lease_name: &str, lease_namespace: &str, identity: &str) -> Self {
        Self {
            lease_name: lease_name.to_owned(),
            lease_namespace: lease_namespace.to_owned(),
            identity: identity.to_owned(),
            lease_duration_secs: 15,
            grace_secs: 5,
        }
    }
}

/// Errors of leader election.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("leader election on Lease {namespace}/{name} failed: {source}")]
    Lease {
        namespace: String,
        name: String,
        #[source]
        source: LeaseManagerError,
    },
}

/// A running election: `changes` says whether this replica leads. Dropping the receiver (via
/// [`Election::resign`]) releases the lease so a standby takes over at once instead of after expiry.
pub struct Election {
    pub changes: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

impl Election {
    /// Joins the election for the configured Lease (created when missing).
    pub async fn start(client: Client, config: &LeaderConfig) -> Result<Self, LeaderError> {
        let manager = LeaseManagerBuilder::new(client, config.lease_name.clone())
            .with_namespace(config.lease_namespace.clone())
            .with_identity(config.identity.clone())
            .with_duration(config.lease_duration_secs)
            .with_grace(config.grace_secs)
            .build()
            .await
            .map_err(|source| LeaderError::Lease {
                namespace: config.lease_namespace.clone(),
                name: config.lease_name.clone(),
                source,
            })?;
        let (changes, task) = manager.watch().await;
        Ok(Self { changes, task })
    }

    /// Waits until this replica leads. Returns false when the election ended (its task stopped).
    pub async fn acquired(&mut self) -> bool {
        self.changes.wait_for(|leading| *leading).await.is_ok()
    }

    /// Waits until this replica no longer leads (lost the lease, or the election ended).
    pub async fn lost(&mut self) {
        let _ = self.changes.wait_for(|leading| !*leading).await;
    }

    /// Gives the lease up and waits for the release to be written.
    pub async fn resign(self) {
        drop(self.changes);
        match self.task.await {
            Ok(Ok(_)) => tracing::info!("released the leader lease"),
            Ok(Err(err)) => tracing::warn!(error = %err, "releasing the leader lease failed"),
            Err(err) => tracing::warn!(error = %err, "leader election task failed"),
        }
    }
}
