//! Thin adapters over Step Functions, IAM, CloudWatch and CloudWatch Logs: the only AWS I/O.
//!
//! [`observe`] reads what is live into the planner's `Observed…` types, [`apply`] turns planned
//! operations into calls, and [`reconcile`] strings observe → plan → apply together as the four entry
//! points the controller and `sfn-operator apply` use: [`reconcile_machine`], [`delete_machine`],
//! [`reconcile_activity`] and [`delete_activity`]. [`validate`] asks AWS for its opinion of a definition,
//! an optional check that reports "unavailable" rather than failing; [`audit`] reads the policies of a
//! bring-your-own role for the audit of what its definition needs, never failing either;
//! [`execution_sample`] reads the newest executions of a machine for its `status.executions`.
//!
//! Every call goes through [`AwsClients::call`], which waits for the per-API client-side rate limit
//! (or, past [`AwsSettings::max_rate_wait`], returns [`AwsError::RateLimited`] without sending it),
//! counts the call and classifies its error. [`executions`] holds the calls a person makes on executions
//! (`start`, `stop`, `redrive`, ...), outside that path: they run with the caller's credentials, not the controller's.

pub mod apply;
pub mod audit;
pub mod error;
pub mod execution_sample;
pub mod executions;
pub mod identity;
pub mod limiter;
mod noop_writes;
pub mod observe;
pub mod reconcile;
pub mod role_directory;
pub mod validate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use audit::{RolePolicies, read_role_policies};
pub use error::AwsError;
pub use execution_sample::sample_executions;
pub use identity::ClientPool;
pub use limiter::{Bucket, CallCounts, RateLimitParseError, RateLimits};
pub use reconcile::{
    ActivityOutcome, DeleteOutcome, Outcome, delete_activity, delete_machine, plan_machine_live,
    reconcile_activity, reconcile_machine, reconcile_machine_with,
};
pub use validate::{Diagnostic, Severity, Validation, Verdict, validate_definition};

use limiter::{CallCounter, RateLimiter};

/// Bounded backoff for "the new role cannot be assumed yet" on CreateStateMachine / UpdateStateMachine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PropagationRetry {
    /// Attempts in total, the first included.
    pub attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for PropagationRetry {
    /// About 40 s in total: IAM changes usually become visible to Step Functions within ~10 s.
    fn default() -> Self {
        PropagationRetry {
            attempts: 8,
            initial_delay: Duration::from_millis(1000),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl PropagationRetry {
    /// The wait before attempt `n + 1` (after `n` failed attempts, `n >= 1`): doubling, capped.
    pub fn delay(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// Knobs of the AWS layer.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsSettings {
    pub rate_limits: RateLimits,
    pub propagation_retry: PropagationRetry,
    /// Attempts per call by the SDK's standard retry strategy (throttling, 5xx, timeouts).
    pub sdk_max_attempts: u32,
    /// Longest wait for a client-side rate limit token; a call whose token comes later fails with
    /// [`AwsError::RateLimited`] instead of sleeping. `None` waits as long as it takes (the one-shot
    /// `apply` command); the controller uses [`CONTROLLER_MAX_RATE_WAIT`] so that a queue of creations
    /// does not hold every reconcile slot while edits and deletions of other objects wait.
    pub max_rate_wait: Option<Duration>,
    /// How long one bulk listing of the operator's roles serves the idle reconciles of every machine
    /// ([`role_directory`]); `None` reads each role directly every time (the one-shot commands).
    pub role_listing_max_age: Option<Duration>,
}

/// The controller's bound on waiting for a rate limit token: short waits keep bursts smooth, longer
/// ones give the reconcile slot back and requeue the object.
pub const CONTROLLER_MAX_RATE_WAIT: Duration = Duration::from_secs(2);

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            rate_limits: RateLimits::default(),
            propagation_retry: PropagationRetry::default(),
            sdk_max_attempts: 5,
            max_rate_wait: None,
            role_listing_max_age: None,
        }
    }
}

/// The three service clients plus the account facts needed to build ARNs, the rate limiter and the call
/// counters. Cheap to clone; clones share limiter and counters.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sfn: aws_sdk_sfn::Client,
    pub iam: aws_sdk_iam::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// CloudWatch Logs, for the log groups the operator creates; `None` until [`AwsClients::with_logs`]
    /// (the environment-built clients always have one).
    pub logs: Option<aws_sdk_cloudwatchlogs::Client>,
    account_id: String,
    region: String,
    partition: String,
    settings: AwsSettings,
    limiter: Arc<RateLimiter>,
    counter: Arc<CallCounter>,
    roles: Option<Arc<role_directory::RoleDirectory>>,
    writes: Arc<noop_writes::WriteMemory>,
}

/// The SDK's standard retry mode: exponential backoff with jitter per call, and a retry quota that stops
/// retrying while most calls fail. Not the adaptive mode: its client-side rate limiter is shared by every
/// call to a service and cuts the sending rate by CUBIC on each throttling answer, so a modest share of
/// throttled calls among thousands of reconciles (the soak injects 10 %) drags the whole client down to
/// its floor of half a request per second, and reconciles wait inside the SDK without a trace. Pacing is
/// the job of the per-API buckets in [`limiter`], shaped like the account's quotas; a throttled call is
/// retried with backoff, and past `sdk_max_attempts` the reconcile fails and is requeued.
pub fn retry_config(settings: &AwsSettings) -> RetryConfig {
    RetryConfig::standard().with_max_attempts(settings.sdk_max_attempts)
}

/// The SDK configuration of the standard AWS environment (region, credentials chain, `AWS_ENDPOINT_URL`)
/// with [`retry_config`].
pub async fn load_config(settings: &AwsSettings) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config(settings))
        .load()
        .await
}

impl AwsClients {
    /// Clients from the standard AWS environment (region, credentials chain, `AWS_ENDPOINT_URL`), with
    /// [`retry_config`]; asks STS once for the account id.
    pub async fn from_env() -> Result<Self, AwsError> {
        Self::from_env_with(AwsSettings::default()).await
    }

    /// [`AwsClients::from_env`] with explicit settings.
    pub async fn from_env_with(settings: AwsSettings) -> Result<Self, AwsError> {
        let config = load_config(&settings).await;
        Self::from_sdk_config(&config, settings).await
    }

    /// Clients from a loaded SDK configuration; asks STS once for the account id.
    pub async fn from_sdk_config(
        config: &aws_config::SdkConfig,
        settings: AwsSettings,
    ) -> Result<Self, AwsError> {
        let region =
            config
                .region()
                .map(|r| r.to_string())
                .ok_or_else(|| AwsError::Unexpected {
                    api: "config",
                    message: "no AWS region configured (set AWS_REGION)".into(),
                })?;
        let sts = aws_sdk_sts::Client::new(config);
        let identity = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
        let account_id = identity
            .account()
            .ok_or_else(|| AwsError::Unexpected {
                api: "sts:GetCallerIdentity",
                message: "no account in the response".into(),
            })?
            .to_string();
        let clients = Self::from_clients(
            aws_sdk_sfn::Client::new(config),
            aws_sdk_iam::Client::new(config),
            aws_sdk_cloudwatch::Client::new(config),
            account_id,
            region,
            settings,
        )
        .with_logs(aws_sdk_cloudwatchlogs::Client::new(config));
        clients.counter.record("sts:GetCallerIdentity");
        Ok(clients)
    }

    /// Clients built elsewhere (tests with mocked clients, or a caller with its own configuration).
    pub fn from_clients(
        sfn: aws_sdk_sfn::Client,
        iam: aws_sdk_iam::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        account_id: String,
        region: String,
        settings: AwsSettings,
    ) -> Self {
        let partition = partition_of(&region).to_string();
        AwsClients {
            sfn,
            iam,
            cloudwatch,
            logs: None,
            account_id,
            region,
            partition,
            limiter: Arc::new(RateLimiter::new(settings.rate_limits.clone())),
            counter: Arc::new(CallCounter::default()),
            writes: Arc::default(),
            roles: settings
                .role_listing_max_age
                .map(|age| Arc::new(role_directory::RoleDirectory::new(age))),
            settings,
        }
    }

    /// These clients with a CloudWatch Logs client, needed as soon as a machine's log group is created.
    pub fn with_logs(mut self, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        self.logs = Some(logs);
        self
    }

    /// The CloudWatch Logs client, or an error naming the call that needed it.
    pub(crate) fn logs(
        &self,
        api: &'static str,
    ) -> Result<&aws_sdk_cloudwatchlogs::Client, AwsError> {
        self.logs.as_ref().ok_or_else(|| AwsError::Unexpected {
            api,
            message: "no CloudWatch Logs client configured".into(),
        })
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// Every call made through these clients so far, by API.
    pub fn calls(&self) -> CallCounts {
        self.counter.snapshot()
    }

    /// The ARN a state machine of this name has (or will have) in this account and region.
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:states:{}:{}:stateMachine:{name}",
            self.partition, self.region, self.account_id
        )
    }

    /// The ARN Step Functions takes for a log group of this name (`...:log-group:NAME:*`).
    pub fn log_group_arn(&self, name: &str) -> String {
        sfn_api::naming::log_group_arn(&self.partition, &self.region, &self.account_id, name)
    }

    /// The ARN an activity of this name has (or will have).
    pub fn activity_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:states:{}:{}:activity:{name}",
            self.partition, self.region, self.account_id
        )
    }

    /// Makes one call: waits for the rate limit of `api` (up to `max_rate_wait`), counts it, classifies
    /// its error. A call refused by the rate limit is neither sent nor counted.
    pub(crate) async fn call<T, E, R, F>(
        &self,
        api: &'static str,
        request: F,
    ) -> Result<T, AwsError>
    where
        F: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.limiter
            .acquire(api, self.settings.max_rate_wait)
            .await
            .map_err(|w| AwsError::RateLimited {
                api,
                retry_after: w.retry_after,
            })?;
        self.counter.record(api);
        request.await.map_err(|e| AwsError::from_sdk(api, e))
    }
}

pub use sfn_api::naming::partition_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_backoff_doubles_and_caps() {
        let r = PropagationRetry {
            attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(r.delay(1), Duration::from_millis(100));
        assert_eq!(r.delay(2), Duration::from_millis(200));
        assert_eq!(r.delay(3), Duration::from_millis(350));
        assert_eq!(r.delay(30), Duration::from_millis(350));
    }

    /// Adaptive mode's shared CUBIC limiter stalled a thousand-object soak with 10 % throttling; the
    /// clients retry in standard mode with the configured attempts.
    #[test]
    fn calls_retry_in_standard_mode_not_adaptive() {
        let settings = AwsSettings {
            sdk_max_attempts: 7,
            ..AwsSettings::default()
        };
        let config = retry_config(&settings);
        assert_eq!(config.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(config.max_attempts(), 7);
    }

    /// The controller runs reconciles on a multi-threaded runtime: the futures must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(
        clients: &AwsClients,
        m: &sfn_plan::DesiredMachine,
        a: &sfn_plan::DesiredActivity,
    ) {
        fn send<T: Send>(_: T) {}
        send(reconcile_machine(clients, m));
        send(delete_machine(clients, m));
        send(plan_machine_live(clients, m));
        send(reconcile_activity(clients, a));
        send(delete_activity(clients, a));
        send(validate_definition(clients, &m.definition, m.machine_type));
        send(sample_executions(
            clients,
            "arn",
            None,
            jiff::Timestamp::UNIX_EPOCH,
        ));
    }
}
