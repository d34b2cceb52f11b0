//! AWS clients per [`Identity`]: the credentials of a role chain, cached and refreshed, and the account they
//! land in.
//!
//! The operator's own clients come from the pod's environment (IRSA, Pod Identity, ...). An identity adds a
//! region and a chain of `sts:AssumeRole` hops starting from those credentials. Its clients are built once
//! and kept: the SDK's lazy identity cache holds the last hop's credentials and refreshes them
//! [`REFRESH_BEFORE_EXPIRY`] ahead of their expiry, so a reconcile never waits for STS except when a
//! session runs out. Building them checks the chain one hop at a time, so a role that cannot be assumed is
//! reported by its ARN ([`AwsError::IdentityUnavailable`]) instead of surfacing later as an opaque signing
//! failure of some Step Functions call. Credentials are never logged.
//!
//! Rate limits are per account and region, as AWS's quotas are: two identities that land in the same account
//! and region share one limiter. Call counts are summed over all clients for `/metrics`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use sfn_plan::Identity;

use crate::limiter::{CallCounter, RateLimiter};
use crate::{AwsClients, AwsError, CallCounts};

/// How long before expiry cached credentials are refreshed.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// Session name of a hop that names none.
pub const DEFAULT_SESSION_NAME: &str = "sfn-operator";

/// The operator's own clients and those of every identity used so far.
#[derive(Debug)]
pub struct ClientPool {
    base: aws_config::SdkConfig,
    own: AwsClients,
    /// One slot per identity, each with its own lock: the build of one identity (STS calls, maybe slow
    /// or failing) never holds up the reconciles of another.
    entries: Mutex<HashMap<Identity, Arc<tokio::sync::Mutex<Option<AwsClients>>>>>,
    limiters: Mutex<HashMap<(String, String), Arc<RateLimiter>>>,
    counter: Arc<CallCounter>,
}

impl ClientPool {
    /// A pool over the operator's own clients, built from `base` (the environment's configuration).
    pub fn new(base: aws_config::SdkConfig, own: AwsClients) -> Self {
        let mut limiters = HashMap::new();
        limiters.insert(
            (own.account_id().to_owned(), own.region().to_owned()),
            own.limiter.clone(),
        );
        ClientPool {
            base,
            counter: own.counter.clone(),
            own,
            entries: Default::default(),
            limiters: Mutex::new(limiters),
        }
    }

    /// The operator's own clients.
    pub fn own(&self) -> &AwsClients {
        &self.own
    }

    /// The clients of `identity` (`None`: the operator's own), built on first use.
    pub async fn clients(&self, identity: Option<&Identity>) -> Result<AwsClients, AwsError> {
        let Some(identity) = identity else {
            return Ok(self.own.clone());
        };
        let slot = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(identity.clone())
            .or_default()
            .clone();
        // One build per identity at a time: a burst of reconciles of one namespace assumes its chain once.
        let mut slot = slot.lock().await;
        if let Some(clients) = slot.as_ref() {
            return Ok(clients.clone());
        }
        let clients = self.build(identity).await?;
        *slot = Some(clients.clone());
        Ok(clients)
    }

    /// Drops the cached clients of `identity`, so that the next use checks its chain again (after a call
    /// failed for want of credentials: the role may have been revoked).
    pub fn forget(&self, identity: &Identity) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(identity);
    }

    /// Every call made through the pool's clients, by API.
    pub fn calls(&self) -> CallCounts {
        self.counter.snapshot()
    }

    async fn build(&self, identity: &Identity) -> Result<AwsClients, AwsError> {
        let region = identity
            .region
            .clone()
            .unwrap_or_else(|| self.own.region().to_owned());
        let mut provider = self.base.credentials_provider();
        for hop in &identity.role_chain {
            let mut builder = AssumeRoleProvider::builder(hop.role_arn.clone())
                .configure(&self.base)
                .session_name(
                    hop.session_name
                        .clone()
                        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned()),
                );
            if let Some(external_id) = &hop.external_id {
                builder = builder.external_id(external_id.clone());
            }
            let next = match provider {
                Some(previous) => builder.build_from_provider(previous).await,
                None => builder.build().await,
            };
            // Checked now, hop by hop, so the failing role is the one named.
            self.counter.record("sts:AssumeRole");
            next.provide_credentials()
                .await
                .map_err(|e| unavailable(&identity.name, &hop.role_arn, &e))?;
            provider = Some(SharedCredentialsProvider::new(next));
        }
        let mut config = self
            .base
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .identity_cache(
                IdentityCache::lazy()
                    .buffer_time(REFRESH_BEFORE_EXPIRY)
                    .build(),
            );
        config.set_credentials_provider(provider);
        let config = config.build();
        let mut clients = AwsClients::from_sdk_config(&config, self.own.settings().clone())
            .await
            .map_err(|e| match identity.final_role() {
                Some(role) => AwsError::IdentityUnavailable {
                    identity: identity.name.clone(),
                    role_arn: role.to_owned(),
                    message: e.to_string(),
                },
                None => e,
            })?;
        let key = (clients.account_id().to_owned(), clients.region().to_owned());
        let limiter = self
            .limiters
            .lock()
            .map_err(|_| AwsError::Unexpected {
                api: "config",
                message: "the rate limiter table was poisoned".into(),
            })?
            .entry(key)
            .or_insert_with(|| clients.limiter.clone())
            .clone();
        clients.limiter = limiter;
        clients.counter = self.counter.clone();
        self.counter.record("sts:GetCallerIdentity");
        Ok(clients)
    }
}

fn unavailable(
    identity: &str,
    role_arn: &str,
    err: &aws_credential_types::provider::error::CredentialsError,
) -> AwsError {
    // The source chain of a credentials error holds STS's answer (AccessDenied and its message); the
    // credentials themselves are never part of it.
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    AwsError::IdentityUnavailable {
        identity: identity.to_owned(),
        role_arn: role_arn.to_owned(),
        message,
    }
}
