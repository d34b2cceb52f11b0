//! The webhook's TLS material, without I/O: a self-signed CA and the serving certificate it signs (rcgen),
//! when each must be renewed, how both are laid out in a Secret, and how a certificate and key become what
//! rustls serves.
//!
//! Rotation without a failed request: the CA lives ten years and is renewed one year before it expires;
//! the bundle injected into the webhook configuration (`ca-bundle.crt`) then holds the new CA and the
//! previous one, so a replica still serving a certificate of the old CA stays trusted until it reloads. The
//! serving certificate lives 90 days and is renewed 30 days before it expires, or at once when the host
//! names it must carry change. Validity dates and host names are written beside the PEM in the Secret, so
//! deciding on renewal needs no X.509 parser.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// How long a new CA is valid.
pub const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// A CA with less than this left is replaced (and kept in the bundle until it expires).
pub const CA_RENEW_BEFORE: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long a new serving certificate is valid.
pub const CERT_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// A serving certificate with less than this left is replaced.
pub const CERT_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Keys of the Secret (type `kubernetes.io/tls`, so `tls.crt` and `tls.key` are where tools expect them).
pub const TLS_CRT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";
pub const CA_CRT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
/// What goes into `caBundle`: the current CA, then the previous one while it is still valid.
pub const CA_BUNDLE: &str = "ca-bundle.crt";
/// Annotations of the Secret: the validity ends (RFC 3339) and the serving certificate's host names.
pub const CA_NOT_AFTER: &str = "sfn.operator.dev/ca-not-after";
pub const PREVIOUS_CA_NOT_AFTER: &str = "sfn.operator.dev/previous-ca-not-after";
pub const CERT_NOT_AFTER: &str = "sfn.operator.dev/cert-not-after";
pub const CERT_HOSTS: &str = "sfn.operator.dev/cert-hosts";

const CA_COMMON_NAME: &str = "sfn-operator webhook CA";

/// Why TLS material could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate or key is not usable: {0}")]
    Unusable(String),
}

/// A CA and the serving certificate it signed, as PEM, with what renewal decisions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub ca_cert: String,
    pub ca_key: String,
    pub ca_not_after: Timestamp,
    /// A replaced CA still trusted by the bundle, and when it expires.
    pub previous_ca: Option<(String, Timestamp)>,
    pub cert: String,
    pub key: String,
    pub cert_not_after: Timestamp,
    /// The DNS names and IP addresses of the serving certificate, sorted.
    pub hosts: Vec<String>,
}

impl Material {
    /// The PEM bundle of trusted CAs for the webhook configuration's `caBundle`.
    pub fn ca_bundle(&self) -> String {
        let mut out = self.ca_cert.clone();
        if let Some((prev, _)) = &self.previous_ca {
            out.push_str(prev);
        }
        out
    }

    /// The Secret's `data` (as plain bytes; the API layer base64-encodes them).
    pub fn to_data(&self) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            (TLS_CRT.to_owned(), self.cert.clone().into_bytes()),
            (TLS_KEY.to_owned(), self.key.clone().into_bytes()),
            (CA_CRT.to_owned(), self.ca_cert.clone().into_bytes()),
            (CA_KEY.to_owned(), self.ca_key.clone().into_bytes()),
            (CA_BUNDLE.to_owned(), self.ca_bundle().into_bytes()),
        ])
    }

    /// The Secret's annotations.
    pub fn to_annotations(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::from([
            (CA_NOT_AFTER.to_owned(), self.ca_not_after.to_string()),
            (CERT_NOT_AFTER.to_owned(), self.cert_not_after.to_string()),
            (CERT_HOSTS.to_owned(), self.hosts.join(",")),
        ]);
        if let Some((_, t)) = &self.previous_ca {
            out.insert(PREVIOUS_CA_NOT_AFTER.to_owned(), t.to_string());
        }
        out
    }

    /// Reads material written by [`Material::to_data`] and [`Material::to_annotations`]; `None` when anything
    /// is missing or unreadable (the caller then issues new material).
    pub fn from_parts(
        data: &BTreeMap<String, Vec<u8>>,
        annotations: &BTreeMap<String, String>,
    ) -> Option<Self> {
        let text = |k: &str| {
            data.get(k)
                .and_then(|b| String::from_utf8(b.clone()).ok())
                .filter(|s| !s.is_empty())
        };
        let time = |k: &str| annotations.get(k).and_then(|t| t.parse::<Timestamp>().ok());
        let ca_cert = text(CA_CRT)?;
        let bundle = text(CA_BUNDLE).unwrap_or_else(|| ca_cert.clone());
        let previous_ca = bundle
            .strip_prefix(ca_cert.as_str())
            .filter(|rest| !rest.trim().is_empty())
            .zip(time(PREVIOUS_CA_NOT_AFTER))
            .map(|(p, t)| (p.to_owned(), t));
        let mut hosts: Vec<String> = annotations
            .get(CERT_HOSTS)?
            .split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        hosts.sort();
        Some(Material {
            ca_cert,
            ca_key: text(CA_KEY)?,
            ca_not_after: time(CA_NOT_AFTER)?,
            previous_ca,
            cert: text(TLS_CRT)?,
            key: text(TLS_KEY)?,
            cert_not_after: time(CERT_NOT_AFTER)?,
            hosts,
        })
    }
}

/// The host names a serving certificate for Service `service` in `namespace` carries, as kube-apiserver
/// addresses it (`<service>.<namespace>.svc`) and the shorter and longer forms, plus `extra` (an IP address
/// or name the webhook is reached at directly, as in tests). Sorted and deduplicated.
pub fn hosts(service: &str, namespace: &str, extra: &[String]) -> Vec<String> {
    let mut out = vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ];
    out.extend(extra.iter().filter(|h| !h.is_empty()).cloned());
    out.sort();
    out.dedup();
    out
}

fn offset(t: Timestamp) -> Result<time::OffsetDateTime, CertError> {
    time::OffsetDateTime::from_unix_timestamp(t.as_second())
        .map_err(|e| CertError::Unusable(format!("time out of range: {e}")))
}

fn later(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::ZERO))
        .unwrap_or(Timestamp::MAX)
}

/// The CA's subject and extensions. Rebuilt identically to sign with a stored CA key: the issuer name and
/// key identifier of a signed certificate come from these and the key, so they match the stored CA.
fn ca_params(not_before: Timestamp, not_after: Timestamp) -> Result<CertificateParams, CertError> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = offset(not_before)?;
    p.not_after = offset(not_after)?;
    Ok(p)
}

fn new_ca(now: Timestamp) -> Result<(String, String, Timestamp), CertError> {
    let key = KeyPair::generate()?;
    let not_after = later(now, CA_LIFETIME);
    let cert = ca_params(now, not_after)?.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem(), not_after))
}

fn new_cert(
    ca_key_pem: &str,
    hosts: &[String],
    now: Timestamp,
    ca_not_after: Timestamp,
) -> Result<(String, String, Timestamp), CertError> {
    let ca_key = KeyPair::from_pem(ca_key_pem)?;
    // Validity dates of the rebuilt CA parameters do not enter a signed certificate.
    let issuer = Issuer::new(ca_params(now, ca_not_after)?, ca_key);
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(hosts.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        hosts
            .iter()
            .find(|h| h.ends_with(".svc"))
            .unwrap_or(&hosts[0])
            .clone(),
    );
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let not_after = later(now, CERT_LIFETIME).min(ca_not_after);
    p.not_before = offset(now)?;
    p.not_after = offset(not_after)?;
    let cert = p.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem(), not_after))
}

fn left(until: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(until.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// What `existing` must become at `now` for a certificate carrying `hosts`: `None` when it is fine as it is,
/// otherwise the renewed material (a new CA when there is none or it is close to expiry, a new serving
/// certificate when the CA changed, the hosts changed or it is close to expiry).
pub fn renew(
    existing: Option<&Material>,
    hosts: &[String],
    now: Timestamp,
) -> Result<Option<Material>, CertError> {
    if hosts.is_empty() {
        return Err(CertError::Unusable(
            "no host name for the certificate".into(),
        ));
    }
    let mut hosts = hosts.to_vec();
    hosts.sort();
    hosts.dedup();
    let ca_ok = existing.is_some_and(|m| left(m.ca_not_after, now) > CA_RENEW_BEFORE);
    let (ca_cert, ca_key, ca_not_after, previous_ca) = match existing {
        Some(m) if ca_ok => (
            m.ca_cert.clone(),
            m.ca_key.clone(),
            m.ca_not_after,
            m.previous_ca.clone().filter(|(_, t)| *t > now),
        ),
        _ => {
            let (cert, key, not_after) = new_ca(now)?;
            let previous = existing
                .filter(|m| m.ca_not_after > now)
                .map(|m| (m.ca_cert.clone(), m.ca_not_after));
            (cert, key, not_after, previous)
        }
    };
    let cert_ok = ca_ok
        && existing
            .is_some_and(|m| m.hosts == hosts && left(m.cert_not_after, now) > CERT_RENEW_BEFORE);
    if cert_ok {
        let m = existing.cloned().filter(|m| m.previous_ca == previous_ca);
        // Only an expired previous CA to drop: rewrite without it.
        return Ok(match m {
            Some(_) => None,
            None => existing.cloned().map(|m| Material { previous_ca, ..m }),
        });
    }
    let (cert, key, cert_not_after) = new_cert(&ca_key, &hosts, now, ca_not_after)?;
    Ok(Some(Material {
        ca_cert,
        ca_key,
        ca_not_after,
        previous_ca,
        cert,
        key,
        cert_not_after,
        hosts,
    }))
}

/// A PEM certificate chain and private key as rustls serves them (the aws-lc-rs provider, the one TLS stack
/// of the process).
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, CertError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| CertError::Unusable(format!("certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(CertError::Unusable("no certificate in the PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| CertError::Unusable(format!("private key PEM: {e}")))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(chain, key, &provider)
        .map(Arc::new)
        .map_err(|e| CertError::Unusable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + days * 86_400).unwrap()
    }

    fn names() -> Vec<String> {
        hosts("sfn-operator-webhook", "sfn-system", &["127.0.0.1".into()])
    }

    #[test]
    fn host_names_cover_the_service_forms_and_extras() {
        assert_eq!(
            names(),
            vec![
                "127.0.0.1",
                "sfn-operator-webhook",
                "sfn-operator-webhook.sfn-system",
                "sfn-operator-webhook.sfn-system.svc",
                "sfn-operator-webhook.sfn-system.svc.cluster.local",
            ]
        );
    }

    #[test]
    fn new_material_round_trips_through_the_secret_layout_and_loads_into_rustls() {
        let m = renew(None, &names(), at(0)).unwrap().expect("new material");
        assert!(m.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(m.cert_not_after, later(at(0), CERT_LIFETIME));
        assert_eq!(m.ca_not_after, later(at(0), CA_LIFETIME));
        let back = Material::from_parts(&m.to_data(), &m.to_annotations()).unwrap();
        assert_eq!(back, m);
        certified_key(m.cert.as_bytes(), m.key.as_bytes()).expect("rustls accepts it");
        // The key must be the certificate's.
        let other = renew(None, &names(), at(0)).unwrap().unwrap();
        assert!(certified_key(m.cert.as_bytes(), other.key.as_bytes()).is_err());
        // Incomplete data is no material.
        let mut data = m.to_data();
        data.remove(TLS_KEY);
        assert!(Material::from_parts(&data, &m.to_annotations()).is_none());
    }

    #[test]
    fn the_certificate_is_renewed_a_month_before_expiry_under_the_same_ca() {
        let m = renew(None, &names(), at(0)).unwrap().unwrap();
        assert_eq!(renew(Some(&m), &names(), at(59)).unwrap(), None);
        let r = renew(Some(&m), &names(), at(61)).unwrap().expect("renewed");
        assert_eq!(r.ca_cert, m.ca_cert);
        assert_ne!(r.cert, m.cert);
        assert_eq!(r.cert_not_after, later(at(61), CERT_LIFETIME));
        assert_eq!(r.ca_bundle(), m.ca_cert);
    }

    #[test]
    fn changed_host_names_get_a_new_certificate_at_once() {
        let m = renew(None, &names(), at(0)).unwrap().unwrap();
        let other = hosts("sfn-operator-webhook", "elsewhere", &[]);
        let r = renew(Some(&m), &other, at(1)).unwrap().expect("renewed");
        assert_eq!(r.hosts, other);
        assert_eq!(r.ca_cert, m.ca_cert);
    }

    #[test]
    fn a_ca_near_expiry_is_replaced_and_kept_in_the_bundle_until_it_expires() {
        let m = renew(None, &names(), at(0)).unwrap().unwrap();
        let day = 365 * 9 + 10; // less than a year of the CA left
        let r = renew(Some(&m), &names(), at(day)).unwrap().expect("new CA");
        assert_ne!(r.ca_cert, m.ca_cert);
        assert_eq!(r.previous_ca, Some((m.ca_cert.clone(), m.ca_not_after)));
        assert_eq!(r.ca_bundle(), format!("{}{}", r.ca_cert, m.ca_cert));
        let back = Material::from_parts(&r.to_data(), &r.to_annotations()).unwrap();
        assert_eq!(back, r);
        // Once the old CA expired, it leaves the bundle.
        let later_day = 365 * 10 + 5;
        let r2 = renew(Some(&r), &names(), at(later_day))
            .unwrap()
            .expect("bundle trimmed");
        assert_eq!(r2.previous_ca, None);
        assert_eq!(r2.ca_cert, r.ca_cert);
    }

    #[test]
    fn a_certificate_verifies_against_its_bundle() {
        use rustls::client::danger::ServerCertVerifier;
        let m = renew(None, &names(), at(0)).unwrap().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(m.ca_bundle().as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let leaf = CertificateDer::from_pem_slice(m.cert.as_bytes()).unwrap();
        let now = rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
            at(1).as_second() as u64,
        ));
        for host in ["sfn-operator-webhook.sfn-system.svc", "127.0.0.1"] {
            let name = rustls::pki_types::ServerName::try_from(host).unwrap();
            verifier
                .verify_server_cert(&leaf, &[], &name, &[], now)
                .unwrap_or_else(|e| panic!("{host}: {e}"));
        }
        let wrong = rustls::pki_types::ServerName::try_from("other.example").unwrap();
        assert!(
            verifier
                .verify_server_cert(&leaf, &[], &wrong, &[], now)
                .is_err()
        );
    }
}
