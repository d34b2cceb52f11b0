//! The flags of `sfn-operator run` that configure the validating admission webhook, and their translation
//! into [`sfn_controller::webhook::Config`]. Kept apart from `run.rs` so the webhook's settings read as one
//! group in `--help` and in the code.

use std::net::SocketAddr;
use std::path::PathBuf;

use sfn_controller::webhook::{self, SelfSigned, TlsSource};
use sfn_plan::desired::Settings;

/// Validating admission webhook.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Admission webhook")]
pub struct WebhookArgs {
    /// Serve the validating admission webhook (HTTPS, POST /validate) on this address, such as 0.0.0.0:9443.
    /// Every replica serves it, leader or not; /readyz waits until its certificate is loaded. Off when absent.
    #[arg(long, env = "SFN_OPERATOR_WEBHOOK_ADDR", value_name = "ADDR")]
    pub webhook_addr: Option<SocketAddr>,
    /// Serve tls.crt and tls.key from this directory (a mounted cert-manager Secret), read again every minute.
    /// Without it the operator runs its own CA, kept in --webhook-secret.
    #[arg(long, env = "SFN_OPERATOR_WEBHOOK_CERT_DIR", value_name = "DIR")]
    pub webhook_cert_dir: Option<PathBuf>,
    /// Secret (in the pod's namespace) holding the operator's own CA and serving certificate; renewed 30 days
    /// before the certificate expires.
    #[arg(
        long,
        env = "SFN_OPERATOR_WEBHOOK_SECRET",
        value_name = "NAME",
        default_value = "sfn-operator-webhook-tls"
    )]
    pub webhook_secret: String,
    /// Service kube-apiserver reaches the webhook through; the certificate carries its DNS names.
    #[arg(
        long,
        env = "SFN_OPERATOR_WEBHOOK_SERVICE",
        value_name = "NAME",
        default_value = "sfn-operator-webhook"
    )]
    pub webhook_service: String,
    /// ValidatingWebhookConfiguration whose caBundle the operator keeps set to its CA (own CA only).
    #[arg(long, env = "SFN_OPERATOR_WEBHOOK_CONFIGURATION", value_name = "NAME")]
    pub webhook_configuration: Option<String>,
    /// More DNS names or IP addresses for the operator's certificate (repeatable, or comma separated).
    #[arg(
        long = "webhook-cert-host",
        env = "SFN_OPERATOR_WEBHOOK_CERT_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub webhook_cert_hosts: Vec<String>,
}

impl WebhookArgs {
    /// The webhook's configuration, or `None` when it is off. `namespace` is the pod's.
    pub fn config(&self, namespace: &str, settings: Settings) -> Option<webhook::Config> {
        let addr = self.webhook_addr?;
        let tls = match &self.webhook_cert_dir {
            Some(dir) => TlsSource::Dir(dir.clone()),
            None => TlsSource::SelfSigned(SelfSigned {
                namespace: namespace.to_owned(),
                secret: self.webhook_secret.clone(),
                service: self.webhook_service.clone(),
                extra_hosts: self.webhook_cert_hosts.clone(),
                configuration: self.webhook_configuration.clone(),
            }),
        };
        Some(webhook::Config {
            addr,
            tls,
            settings,
            refresh: webhook::DEFAULT_REFRESH,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: WebhookArgs,
    }

    fn settings() -> Settings {
        Settings {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            default_deletion_policy: sfn_plan::DeletionPolicy::Delete,
            default_log_retention_days: sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
            guardrails: Default::default(),
        }
    }

    #[test]
    fn off_unless_an_address_is_given() {
        let w = Wrapper::try_parse_from(["x"]).unwrap();
        assert!(w.args.config("ns", settings()).is_none());
    }

    #[test]
    fn own_ca_by_default_and_a_directory_when_given() {
        let w = Wrapper::try_parse_from([
            "x",
            "--webhook-addr",
            "0.0.0.0:9443",
            "--webhook-configuration",
            "sfn-operator",
            "--webhook-cert-host",
            "127.0.0.1,localhost",
        ])
        .unwrap();
        let c = w.args.config("sfn-system", settings()).unwrap();
        assert_eq!(c.addr.port(), 9443);
        assert_eq!(
            c.tls,
            TlsSource::SelfSigned(SelfSigned {
                namespace: "sfn-system".into(),
                secret: "sfn-operator-webhook-tls".into(),
                service: "sfn-operator-webhook".into(),
                extra_hosts: vec!["127.0.0.1".into(), "localhost".into()],
                configuration: Some("sfn-operator".into()),
            })
        );
        let w = Wrapper::try_parse_from([
            "x",
            "--webhook-addr",
            "0.0.0.0:9443",
            "--webhook-cert-dir",
            "/tls",
        ])
        .unwrap();
        let c = w.args.config("sfn-system", settings()).unwrap();
        assert_eq!(c.tls, TlsSource::Dir("/tls".into()));
        assert!(Wrapper::try_parse_from(["x", "--webhook-addr", "nowhere"]).is_err());
    }
}
