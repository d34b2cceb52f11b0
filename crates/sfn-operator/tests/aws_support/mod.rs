//! AWS test harness: the moto server (one per test binary, on a free loopback port), clients isolated per
//! test, and a small StateMachine fixture.
//!
//! Isolation: moto 5.2 picks the account of a request from the `x-moto-account-id` header (it does NOT
//! take a 12-digit access key id as the account; it only maps access keys that were created through its
//! IAM). Every test therefore gets its own account id, derived from its name, sent in that header, so
//! tests running in parallel against one server never see each other's resources.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sfn::config::Credentials;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Value, json};
use sfn_alarms::AlarmSpec;
use sfn_api::naming;
use sfn_aws::{AwsClients, AwsSettings, PropagationRetry, RateLimits};
use sfn_plan::{
    DeletionPolicy, DesiredMachine, DesiredRole, MachineType, ManagedRole, Owner,
    STATE_MACHINE_ARN_PLACEHOLDER,
};

use sfn_test_support as support;

pub const REGION: &str = "us-east-1";

static ENDPOINT: OnceLock<String> = OnceLock::new();
static MOTO: OnceLock<Mutex<Child>> = OnceLock::new();

/// The AWS endpoint of the tests: the version and alias stand-in in front of `SFN_TEST_AWS_ENDPOINT` when set
/// (an `http://IP:PORT` one), else in front of a moto server started for this test binary.
pub fn endpoint() -> String {
    ENDPOINT
        .get_or_init(|| {
            let upstream = match std::env::var("SFN_TEST_AWS_ENDPOINT") {
                Ok(e) => e,
                Err(_) => start_moto(),
            };
            // The version and alias calls moto does not serve are answered in front of it.
            match upstream
                .strip_prefix("http://")
                .and_then(|a| a.trim_end_matches('/').parse().ok())
            {
                Some(addr) => {
                    support::sfn_versions_standin::VersionsStandIn::start_for_process(addr)
                        .expect("start the version and alias stand-in")
                }
                None => upstream,
            }
        })
        .clone()
}

fn start_moto() -> String {
    let moto = support::tool("venv/bin/moto_server");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    // The shell outlives nothing: it stops moto as soon as this test process is gone.
    let script = r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & m=$!; while kill -0 "$2" 2>/dev/null && kill -0 "$m" 2>/dev/null; do sleep 1; done; kill "$m" 2>/dev/null"#;
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&moto)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server (run scripts/test to install it)");
    // Kept for the life of the test binary; the shell reaps moto itself.
    let _ = MOTO.set(Mutex::new(child));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on port {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// A 12-digit account id unique to `test`.
pub fn account_for(test: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in test.bytes() {
        h = (h ^ b as u64).wrapping_mul(1099511628211);
    }
    format!("{:012}", h % 1_000_000_000_000)
}

/// Sends every request to moto's account `0`.
#[derive(Debug)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

/// Settings for tests: no client-side rate limit, and short waits for IAM propagation.
pub fn test_settings() -> AwsSettings {
    AwsSettings {
        rate_limits: RateLimits::unlimited(),
        propagation_retry: PropagationRetry {
            attempts: 4,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
        sdk_max_attempts: 3,
        max_rate_wait: None,
        role_listing_max_age: None,
    }
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// Clients in an account of their own on the moto server.
pub async fn moto_clients(test: &str) -> AwsClients {
    moto_clients_with(test, &[]).await
}

/// Fails the first request of one operation before it is sent (the call never reaches AWS).
#[derive(Debug, Clone)]
pub struct FailBeforeSend {
    operation: &'static str,
    fired: Arc<AtomicBool>,
}

impl FailBeforeSend {
    pub fn new(operation: &'static str) -> Self {
        FailBeforeSend {
            operation,
            fired: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Intercept for FailBeforeSend {
    fn name(&self) -> &'static str {
        "FailBeforeSend"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string());
        if operation.as_deref() == Some(self.operation) && !self.fired.swap(true, Ordering::SeqCst)
        {
            return Err("injected fault: the request was not sent".into());
        }
        Ok(())
    }
}

/// Like [`moto_clients`], with faults in front of the server. A matching mock rule replaces the
/// response after moto has handled the request (the call took effect, the caller saw an error: a lost
/// response); `before_send` fails a request before it leaves (the call never took effect). Every other
/// request reaches moto unchanged.
pub async fn moto_clients_with(test: &str, faults: &[&Rule]) -> AwsClients {
    moto_clients_faulty(test, faults, None).await
}

pub async fn moto_clients_faulty(
    test: &str,
    faults: &[&Rule],
    before_send: Option<&FailBeforeSend>,
) -> AwsClients {
    moto_clients_configured(test, faults, before_send, test_settings()).await
}

/// Clients in an account of their own, with the given settings.
pub async fn moto_clients_configured(
    test: &str,
    faults: &[&Rule],
    before_send: Option<&FailBeforeSend>,
    settings: AwsSettings,
) -> AwsClients {
    let config = sdk_config().await;
    let before_send = before_send
        .cloned()
        .unwrap_or_else(|| FailBeforeSend::new("none"));
    let account = account_for(test);
    let mocks = || {
        faults.iter().fold(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .allow_passthrough(),
            |m, r| m.with_rule(r),
        )
    };
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&config)
            .interceptor(MotoAccount(account.clone()))
            .interceptor(mocks())
            .interceptor(before_send.clone())
            .build(),
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .interceptor(MotoAccount(account.clone()))
            .interceptor(mocks())
            .interceptor(before_send.clone())
            .build(),
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&config)
            .interceptor(MotoAccount(account.clone()))
            .interceptor(mocks())
            .interceptor(before_send.clone())
            .build(),
    );
    let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::config::Builder::from(&config)
            .interceptor(MotoAccount(account.clone()))
            .interceptor(mocks())
            .interceptor(before_send.clone())
            .build(),
    );
    AwsClients::from_clients(sfn, iam, cloudwatch, account, REGION.to_string(), settings)
        .with_logs(logs)
}

pub fn definition(message: &str) -> Value {
    json!({
        "Comment": "fixture",
        "StartAt": "Hello",
        "States": {"Hello": {"Type": "Pass", "Result": {"message": message}, "End": true}}
    })
}

pub fn trust_policy(account: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "states.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}
    }]})
}

pub fn task_policy(account: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction",
         "Resource": [format!("arn:aws:lambda:us-east-1:{account}:function:Submit"), format!("arn:aws:lambda:us-east-1:{account}:function:Submit:*")]},
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}
    ]})
}

pub fn failed_alarm(machine: &str) -> AlarmSpec {
    AlarmSpec {
        name: naming::alarm_name(machine, "ExecutionsFailed"),
        description: Some("executions failed".into()),
        namespace: "AWS/States".into(),
        metric_name: "ExecutionsFailed".into(),
        dimensions: vec![(
            "StateMachineArn".into(),
            STATE_MACHINE_ARN_PLACEHOLDER.into(),
        )],
        statistic: "Sum".into(),
        period: 300,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: 1.0,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: vec![],
        ok_actions: vec![],
        insufficient_data_actions: vec![],
    }
}

/// A StateMachine `<namespace>/<name>` with a managed role (one inline policy) and one alarm.
pub fn desired_machine(clients: &AwsClients, namespace: &str, name: &str) -> DesiredMachine {
    let machine = naming::state_machine_name(namespace, name, None).unwrap();
    let account = clients.account_id().to_string();
    DesiredMachine {
        owner: Owner {
            namespace: namespace.into(),
            name: name.into(),
            uid: format!("uid-{namespace}-{name}"),
        },
        name: machine.clone(),
        machine_type: MachineType::Standard,
        definition: definition("hello"),
        role: DesiredRole::Managed(ManagedRole {
            name: naming::role_name(&machine),
            path: naming::ROLE_PATH.into(),
            trust_policy: trust_policy(&account),
            policies: vec![("sfn-operator".into(), task_policy(&account))],
            managed_policies: Vec::new(),
            permissions_boundary: None,
            tags: Default::default(),
        }),
        logging: None,
        log_group: None,
        tracing: false,
        encryption: None,
        tags: BTreeMap::from([("team".to_string(), "payments".to_string())]),
        alarms: vec![failed_alarm(&machine)],
        publish: None,
        deletion_policy: DeletionPolicy::Delete,
        adopt: false,
        allow_replace: false,
        previous_arn: None,
        known_version_arn: None,
        rollout_memory: Default::default(),
        legacy_role_name: None,
        retain_versions: 10,
        aliases: Vec::new(),
    }
}

/// The `op` names of operations, for compact assertions.
pub fn op_names(ops: &[sfn_plan::Operation]) -> Vec<String> {
    ops.iter()
        .map(|o| {
            serde_json::to_value(o).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}
