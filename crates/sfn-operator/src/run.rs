//! `sfn-operator run`: the operator process. Flags fall back to environment variables so a Deployment can
//! configure it either way; AWS region, credentials and endpoint come from the usual AWS environment
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, IRSA / pod identity, ...).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use sfn_aws::partition_of;
use sfn_controller::http::{self, Health};
use sfn_controller::leader::LeaderConfig;
use sfn_controller::metrics::Metrics;
use sfn_controller::{self as controller, AwsEnvironment, Config, DefaultDeletionPolicy, policy};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Deletion policy for objects that do not set `deletionPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeletionPolicyArg {
    #[value(name = "Delete")]
    Delete,
    #[value(name = "Retain")]
    Retain,
}

/// Run the operator: watch StateMachine, TaskIntegration and Activity objects and reconcile AWS.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Namespace to watch (repeatable, or comma separated in the environment); all namespaces when absent.
    #[arg(
        long = "namespace",
        env = "SFN_OPERATOR_NAMESPACES",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,
    /// Only reconcile objects matching this label selector (applies to all three kinds).
    #[arg(long, env = "SFN_OPERATOR_LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// Periodic resync (drift detection), such as 10m or 1h; per object: annotation sfn.operator.dev/resync-period.
    #[arg(long, env = "SFN_OPERATOR_RESYNC_PERIOD", default_value = "10m", value_parser = parse_period)]
    pub resync_period: std::time::Duration,
    /// How long a bring-your-own role's audit is trusted before its IAM policies are read again, in
    /// seconds (at least 30); a change of spec or a new reconcile-requested-at annotation audits at once.
    #[arg(
        long,
        env = "SFN_OPERATOR_ROLE_AUDIT_INTERVAL",
        value_name = "SECONDS",
        default_value = "600",
        value_parser = parse_role_audit_interval
    )]
    pub role_audit_interval: std::time::Duration,
    #[command(flatten)]
    pub guardrails: crate::guardrails::GuardrailArgs,
    /// How long one bulk listing of the operator's roles (iam:GetAccountAuthorizationDetails) serves the
    /// resyncs of unchanged machines, such as 60s; 0s reads every role directly at every resync.
    #[arg(
        long,
        env = "SFN_OPERATOR_ROLE_LISTING_MAX_AGE",
        default_value = "60s",
        value_parser = parse_period
    )]
    pub role_listing_max_age: std::time::Duration,
    /// What happens in AWS when an object without deletionPolicy is deleted.
    #[arg(
        long,
        env = "SFN_OPERATOR_DEFAULT_DELETION_POLICY",
        value_enum,
        default_value = "Delete"
    )]
    pub default_deletion_policy: DeletionPolicyArg,
    /// Days the log groups the operator creates keep events when spec.logging.retentionInDays is unset
    /// (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, ... 3653).
    #[arg(
        long,
        env = "SFN_OPERATOR_DEFAULT_LOG_RETENTION_DAYS",
        default_value_t = sfn_plan::desired::DEFAULT_LOG_RETENTION_DAYS,
        value_parser = parse_retention
    )]
    pub default_log_retention_days: u32,
    /// Keep status.executions (running and recent failure counts, the last started and the last failed
    /// execution) for the Standard machines that do not set spec.executionSummary: Disabled, with at most
    /// three Step Functions reads per machine and resync; false makes no execution reads at all.
    #[arg(
        long,
        env = "SFN_OPERATOR_SAMPLE_EXECUTIONS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub sample_executions: bool,
    /// Address of the /metrics, /healthz and /readyz endpoints.
    #[arg(
        long,
        env = "SFN_OPERATOR_METRICS_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    pub metrics_addr: SocketAddr,
    /// Run controllers only while holding a Lease (for more than one replica).
    #[arg(long, env = "SFN_OPERATOR_LEADER_ELECTION", default_value_t = false)]
    pub leader_election: bool,
    /// Name of the leader election Lease.
    #[arg(long, env = "SFN_OPERATOR_LEASE_NAME", default_value = "sfn-operator")]
    pub lease_name: String,
    /// Namespace of the Lease; defaults to the pod's namespace.
    #[arg(long, env = "SFN_OPERATOR_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Identity of this replica in the election and in Events; defaults to the pod name (POD_NAME) or host name.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Before applying a new definition, also ask AWS's ValidateStateMachineDefinition (needs
    /// states:ValidateStateMachineDefinition). AWS's FAIL stops the apply; when AWS cannot answer, the
    /// status warns and the reconcile goes on.
    #[arg(long, env = "SFN_OPERATOR_AWS_VALIDATE", default_value_t = false)]
    pub aws_validate: bool,
    /// Concurrent reconciles per kind.
    #[arg(long, env = "SFN_OPERATOR_CONCURRENCY", default_value_t = 16)]
    pub concurrency: u16,
    /// Multiplies the operator's client-side AWS API rate limits (default: half the smallest regional Step
    /// Functions quotas). Raise it when the account's quotas were raised, or against an emulator.
    #[arg(long, env = "SFN_OPERATOR_AWS_RATE_SCALE", default_value_t = 1.0)]
    pub aws_rate_scale: f64,
    /// Log format.
    #[arg(
        long,
        env = "SFN_OPERATOR_LOG_FORMAT",
        value_enum,
        default_value = "json"
    )]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax, such as info or sfn_operator=debug).
    #[arg(long, env = "SFN_OPERATOR_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    #[command(flatten)]
    pub webhook: crate::webhook::WebhookArgs,
}

fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    policy::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 30s, 10m or 1h"))
}

fn parse_retention(text: &str) -> Result<u32, String> {
    let days: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of days"))?;
    if sfn_api::naming::LOG_RETENTION_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(format!(
            "{days} is not a retention CloudWatch Logs accepts (one of {:?})",
            sfn_api::naming::LOG_RETENTION_DAYS
        ))
    }
}

/// Shortest accepted role audit interval: below it an idle cluster would read every bring-your-own role's
/// policies almost once per resync, for IAM changes that are rarely that urgent.
const MIN_ROLE_AUDIT_INTERVAL_SECS: u64 = 30;

fn parse_role_audit_interval(text: &str) -> Result<std::time::Duration, String> {
    let secs: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of seconds"))?;
    if secs < MIN_ROLE_AUDIT_INTERVAL_SECS {
        return Err(format!(
            "{secs} is too short: the role audit interval is at least {MIN_ROLE_AUDIT_INTERVAL_SECS} seconds"
        ));
    }
    Ok(std::time::Duration::from_secs(secs))
}

fn init_tracing(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match args.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn pod_namespace() -> String {
    std::env::var("POD_NAMESPACE")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "sfn-operator".to_owned());
    format!("{host}-{:08x}", rand::random::<u32>())
}

/// The AWS layer's settings with every rate limit bucket scaled by `scale`.
fn aws_settings(scale: f64, role_listing_max_age: std::time::Duration) -> sfn_aws::AwsSettings {
    let mut settings = sfn_aws::AwsSettings {
        // A reconcile slot is worth more than a rate limit token: give it back and requeue.
        max_rate_wait: Some(sfn_aws::CONTROLLER_MAX_RATE_WAIT),
        role_listing_max_age: (!role_listing_max_age.is_zero()).then_some(role_listing_max_age),
        ..Default::default()
    };
    if scale > 0.0 && scale != 1.0 {
        let scaled = |b: sfn_aws::Bucket| sfn_aws::Bucket {
            burst: b.burst * scale,
            per_second: b.per_second * scale,
        };
        let limits = &mut settings.rate_limits;
        limits.default = scaled(limits.default);
        for bucket in limits.per_api.values_mut() {
            *bucket = scaled(*bucket);
        }
    }
    settings
}

/// Resolves when SIGTERM or Ctrl-C arrives.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("termination signal received; finishing in-flight reconciles");
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster config or kubeconfig)")?;
    let backend = controller::backend::AwsSdkBackend::from_env(aws_settings(
        args.aws_rate_scale,
        args.role_listing_max_age,
    ))
    .await
    .context("setting up AWS clients (region, credentials, AWS_ENDPOINT_URL)")?;
    let region = backend.clients().region().to_owned();
    let aws = AwsEnvironment {
        partition: partition_of(&region).to_owned(),
        account_id: backend.clients().account_id().to_owned(),
        region,
    };
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let mut config = Config::new(aws);
    config.namespaces = args.namespaces.clone();
    config.label_selector = args.label_selector.clone();
    config.resync_period = args.resync_period;
    config.role_audit_interval = args.role_audit_interval;
    config.guardrails = args.guardrails.guardrails()?;
    config.default_deletion_policy = match args.default_deletion_policy {
        DeletionPolicyArg::Delete => DefaultDeletionPolicy::Delete,
        DeletionPolicyArg::Retain => DefaultDeletionPolicy::Retain,
    };
    config.default_log_retention_days = args.default_log_retention_days;
    config.sample_executions = args.sample_executions;
    config.concurrency = args.concurrency;
    config.aws_validate = args.aws_validate;
    config.instance = identity.clone();
    if args.leader_election {
        let ns = args.lease_namespace.clone().unwrap_or_else(pod_namespace);
        config.leader = Some(LeaderConfig::new(&args.lease_name, &ns, &identity));
    }

    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new());
    let backend: Arc<dyn controller::backend::AwsBackend> = Arc::new(backend);
    let calls = {
        let backend = backend.clone();
        Arc::new(move || backend.call_counts()) as http::AwsCallSource
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let http_shutdown = {
        let mut rx = shutdown_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let (addr, http_task) = http::serve(
        args.metrics_addr,
        http::router(metrics.clone(), health.clone(), Some(calls)),
        http_shutdown,
    )
    .await
    .with_context(|| format!("binding the metrics address {}", args.metrics_addr))?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    // Every replica serves admission, so it starts before (and independently of) leader election.
    if let Some(wh) = args.webhook.config(&pod_namespace(), (&config).into()) {
        let running =
            sfn_controller::webhook::start(client.clone(), wh, health.clone(), shutdown_rx.clone())
                .await
                .context("binding the webhook address")?;
        tracing::info!(addr = %running.addr, "serving the admission webhook");
    }

    controller::run(client, config, backend, metrics, health, termination())
        .await
        .context("running the controllers")?;
    let _ = shutdown_tx.send(true);
    let _ = http_task.await;
    tracing::info!("stopped");
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_tracing(&args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn flags_parse_with_defaults() {
        let w = Wrapper::try_parse_from([
            "x",
            "--namespace",
            "a",
            "--namespace",
            "b",
            "--resync-period",
            "5m",
            "--default-deletion-policy",
            "Retain",
            "--leader-election",
            "--log-format",
            "text",
        ])
        .unwrap();
        assert_eq!(w.args.namespaces, vec!["a", "b"]);
        assert_eq!(w.args.resync_period, std::time::Duration::from_secs(300));
        assert_eq!(w.args.default_deletion_policy, DeletionPolicyArg::Retain);
        assert!(w.args.leader_election);
        assert!(!w.args.aws_validate, "off unless asked for");
        assert_eq!(w.args.lease_name, "sfn-operator");
        assert_eq!(w.args.log_format, LogFormat::Text);
        assert_eq!(w.args.metrics_addr.port(), 8080);
        assert!(Wrapper::try_parse_from(["x", "--resync-period", "soon"]).is_err());
    }

    #[test]
    fn role_audit_interval_is_seconds_and_at_least_30() {
        let default = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(
            default.args.role_audit_interval,
            std::time::Duration::from_secs(600)
        );
        let w = Wrapper::try_parse_from(["x", "--role-audit-interval", "30"]).unwrap();
        assert_eq!(
            w.args.role_audit_interval,
            std::time::Duration::from_secs(30)
        );
        for bad in ["29", "0", "-5", "10m", ""] {
            let err =
                Wrapper::try_parse_from(["x".to_owned(), format!("--role-audit-interval={bad}")])
                    .expect_err(bad)
                    .to_string();
            assert!(err.contains("--role-audit-interval"), "{bad}: {err}");
        }
        let err = Wrapper::try_parse_from(["x", "--role-audit-interval", "29"])
            .expect_err("29")
            .to_string();
        assert!(err.contains("at least 30 seconds"), "{err}");
    }

    #[test]
    fn default_log_retention_is_a_value_cloudwatch_logs_accepts() {
        let default = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(default.args.default_log_retention_days, 30);
        let w = Wrapper::try_parse_from(["x", "--default-log-retention-days", "365"]).unwrap();
        assert_eq!(w.args.default_log_retention_days, 365);
        for bad in ["31", "0", "never", "-1"] {
            let err = Wrapper::try_parse_from([
                "x".to_owned(),
                format!("--default-log-retention-days={bad}"),
            ])
            .expect_err(bad)
            .to_string();
            assert!(err.contains("--default-log-retention-days"), "{bad}: {err}");
        }
    }

    #[test]
    fn execution_sampling_is_on_unless_turned_off() {
        let default = Wrapper::try_parse_from(["x"]).unwrap();
        assert!(default.args.sample_executions);
        for (args, expected) in [
            (vec!["x", "--sample-executions=false"], false),
            (vec!["x", "--sample-executions", "false"], false),
            (vec!["x", "--sample-executions=true"], true),
            (vec!["x", "--sample-executions"], true),
        ] {
            let w = Wrapper::try_parse_from(&args).unwrap();
            assert_eq!(w.args.sample_executions, expected, "{args:?}");
        }
        let err = Wrapper::try_parse_from(["x", "--sample-executions=no"])
            .expect_err("no")
            .to_string();
        assert!(err.contains("--sample-executions"), "{err}");
    }

    #[test]
    fn rate_scale_multiplies_every_bucket() {
        let base = sfn_aws::AwsSettings::default();
        let scaled = aws_settings(10.0, std::time::Duration::ZERO);
        assert_eq!(
            scaled.rate_limits.default.per_second,
            base.rate_limits.default.per_second * 10.0
        );
        for (api, bucket) in &scaled.rate_limits.per_api {
            assert_eq!(
                bucket.burst,
                base.rate_limits.per_api[api].burst * 10.0,
                "{api}"
            );
        }
        assert_eq!(
            aws_settings(1.0, std::time::Duration::ZERO).rate_limits,
            base.rate_limits
        );
        // The controller gives its reconcile slot back rather than sleep long for a token.
        assert_eq!(
            aws_settings(1.0, std::time::Duration::ZERO).max_rate_wait,
            Some(sfn_aws::CONTROLLER_MAX_RATE_WAIT)
        );
    }

    #[test]
    fn a_zero_role_listing_age_reads_roles_directly() {
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(aws_settings(1.0, minute).role_listing_max_age, Some(minute));
        assert_eq!(
            aws_settings(1.0, std::time::Duration::ZERO).role_listing_max_age,
            None
        );
    }
}
