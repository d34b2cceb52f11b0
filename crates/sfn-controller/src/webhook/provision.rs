//! Getting the serving certificate to the TLS server and its CA to kube-apiserver: the Kubernetes I/O
//! around [`super::certs`].
//!
//! Two sources. A directory (`tls.crt`, `tls.key`), as cert-manager's Secret is mounted: it is read again
//! periodically and a changed pair is served from the next handshake on (cert-manager renews it and injects
//! the CA itself). Or the operator's own CA: every replica reads the one Secret, renews what
//! [`certs::renew`] says must be renewed (an optimistic-concurrency write, so replicas racing agree on one
//! result), serves the certificate stored there and writes the CA bundle into the `caBundle` of every
//! webhook of the one ValidatingWebhookConfiguration. The Secret is expected to exist (the chart creates it
//! empty, so RBAC can name it); it is created when missing and the RBAC allows it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::{self, CertError, Material};

/// Where the serving certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// `tls.crt` and `tls.key` in a directory (cert-manager, or any mounted Secret).
    Dir(PathBuf),
    /// The operator's own CA and certificate, kept in a Secret.
    SelfSigned(SelfSigned),
}

/// Settings of the operator's own CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfSigned {
    /// Namespace of the Secret and of the Service the certificate is issued for.
    pub namespace: String,
    pub secret: String,
    /// The webhook's Service: the certificate carries its DNS names.
    pub service: String,
    /// More names or IP addresses for the certificate.
    pub extra_hosts: Vec<String>,
    /// The ValidatingWebhookConfiguration whose `caBundle` is kept current; `None` leaves it alone.
    pub configuration: Option<String>,
}

/// Why the certificate could not be provisioned this time (retried).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("Secret {namespace}/{name}: {source}")]
    Secret {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("ValidatingWebhookConfiguration {name}: {source}")]
    Configuration { name: String, source: kube::Error },
    #[error("Secret {namespace}/{name} kept changing under concurrent writers")]
    Contended { namespace: String, name: String },
}

/// The certificate the TLS server presents, replaceable while serving.
#[derive(Debug, Default)]
pub struct CertSlot {
    current: RwLock<Option<(Vec<u8>, Arc<CertifiedKey>)>>,
}

impl CertSlot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `cert`/`key` (PEM) from the next handshake on; returns whether they differ from what was served.
    pub fn load(&self, cert: &[u8], key: &[u8]) -> Result<bool, CertError> {
        let fingerprint = [cert, key].concat();
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(f, _)| *f == fingerprint) {
            return Ok(false);
        }
        let ck = certs::certified_key(cert, key)?;
        *slot = Some((fingerprint, ck));
        Ok(true)
    }

    /// Whether a certificate is loaded.
    pub fn is_loaded(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, ck)| ck.clone())
    }
}

fn read_dir_pair(dir: &std::path::Path) -> Result<(Vec<u8>, Vec<u8>), ProvisionError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| ProvisionError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    Ok((read(certs::TLS_CRT)?, read(certs::TLS_KEY)?))
}

fn secret_parts(s: &Secret) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, String>) {
    let data = s
        .data
        .as_ref()
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
        .unwrap_or_default();
    let annotations = s.metadata.annotations.clone().unwrap_or_default();
    (data, annotations)
}

/// Reads the Secret, renews what needs renewing and writes it back; returns the material now stored.
pub async fn ensure_secret(client: &Client, cfg: &SelfSigned) -> Result<Material, ProvisionError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &cfg.namespace);
    let hosts = certs::hosts(&cfg.service, &cfg.namespace, &cfg.extra_hosts);
    let secret_err = |source| ProvisionError::Secret {
        namespace: cfg.namespace.clone(),
        name: cfg.secret.clone(),
        source,
    };
    for _ in 0..5 {
        let live = api.get_opt(&cfg.secret).await.map_err(secret_err)?;
        let existing = live.as_ref().and_then(|s| {
            let (data, annotations) = secret_parts(s);
            Material::from_parts(&data, &annotations)
        });
        let Some(material) = certs::renew(existing.as_ref(), &hosts, jiff::Timestamp::now())?
        else {
            if let Some(m) = existing {
                return Ok(m);
            }
            continue;
        };
        let data: BTreeMap<String, ByteString> = material
            .to_data()
            .into_iter()
            .map(|(k, v)| (k, ByteString(v)))
            .collect();
        let result = match live {
            Some(mut s) => {
                let mut annotations = s.metadata.annotations.take().unwrap_or_default();
                annotations.extend(material.to_annotations());
                s.metadata.annotations = Some(annotations);
                s.data = Some(data);
                s.string_data = None;
                api.replace(&cfg.secret, &PostParams::default(), &s).await
            }
            None => {
                let mut s = Secret::default();
                s.metadata.name = Some(cfg.secret.clone());
                s.metadata.annotations = Some(material.to_annotations());
                s.data = Some(data);
                api.create(&PostParams::default(), &s).await
            }
        };
        match result {
            Ok(_) => {
                tracing::info!(secret = %cfg.secret, not_after = %material.cert_not_after, "issued the webhook serving certificate");
                return Ok(material);
            }
            // Another replica wrote first: read its result and decide again.
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(secret_err(e)),
        }
    }
    Err(ProvisionError::Contended {
        namespace: cfg.namespace.clone(),
        name: cfg.secret.clone(),
    })
}

/// Writes `bundle` (PEM) into the `caBundle` of every webhook of the configuration `name`, when it differs.
/// Returns whether it wrote.
pub async fn inject_ca_bundle(
    client: &Client,
    name: &str,
    bundle: &str,
) -> Result<bool, ProvisionError> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let err = |source| ProvisionError::Configuration {
        name: name.to_owned(),
        source,
    };
    for _ in 0..5 {
        let mut vwc = api.get(name).await.map_err(err)?;
        let want = ByteString(bundle.as_bytes().to_vec());
        let mut changed = false;
        for hook in vwc.webhooks.iter_mut().flatten() {
            if hook.client_config.ca_bundle.as_ref() != Some(&want) {
                hook.client_config.ca_bundle = Some(want.clone());
                changed = true;
            }
        }
        if !changed {
            return Ok(false);
        }
        match api.replace(name, &PostParams::default(), &vwc).await {
            Ok(_) => {
                tracing::info!(configuration = %name, "injected the webhook CA bundle");
                return Ok(true);
            }
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(err(e)),
        }
    }
    Ok(false)
}

/// The CA bundle of `material` base64-encoded, as `caBundle` appears in YAML.
pub fn ca_bundle_base64(material: &Material) -> String {
    base64::engine::general_purpose::STANDARD.encode(material.ca_bundle())
}

/// One round: load the current certificate into `slot` (issuing or renewing it first in self-signed mode)
/// and keep the webhook configuration's CA bundle current.
pub async fn provision_once(
    client: &Client,
    source: &TlsSource,
    slot: &CertSlot,
) -> Result<(), ProvisionError> {
    match source {
        TlsSource::Dir(dir) => {
            let (cert, key) = read_dir_pair(dir)?;
            if slot.load(&cert, &key)? {
                tracing::info!(dir = %dir.display(), "loaded the webhook serving certificate");
            }
        }
        TlsSource::SelfSigned(cfg) => {
            let material = ensure_secret(client, cfg).await?;
            slot.load(material.cert.as_bytes(), material.key.as_bytes())?;
            if let Some(name) = &cfg.configuration {
                inject_ca_bundle(client, name, &material.ca_bundle()).await?;
            }
        }
    }
    Ok(())
}

/// Provisions until `shutdown`: every `interval` once the certificate is loaded, every few seconds before
/// (and after a failure), calling `loaded` after each success.
pub async fn run(
    client: Client,
    source: TlsSource,
    slot: Arc<CertSlot>,
    interval: Duration,
    loaded: impl Fn() + Send + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    const RETRY: Duration = Duration::from_secs(5);
    tokio::pin!(shutdown);
    loop {
        let wait = match provision_once(&client, &source, &slot).await {
            Ok(()) => {
                loaded();
                interval
            }
            Err(e) => {
                tracing::warn!(error = %e, "provisioning the webhook certificate failed; retrying");
                RETRY
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
