//! The AWS layer with mocked clients (aws-smithy-mocks), for what moto does not do: name conflicts,
//! throttling, the IAM propagation error, access denied, revision ids, and AWS's definition validation
//! (moto does not implement it). Every request must match a rule,
//! so an unexpected call fails the test.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
use aws_sdk_iam::operation::create_role::{CreateRoleError, CreateRoleOutput};
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput;
use aws_sdk_sfn::config::Credentials;
use aws_sdk_sfn::operation::create_state_machine::{
    CreateStateMachineError, CreateStateMachineOutput,
};
use aws_sdk_sfn::operation::describe_state_machine::{
    DescribeStateMachineError, DescribeStateMachineOutput,
};
use aws_sdk_sfn::operation::list_state_machine_aliases::ListStateMachineAliasesOutput;
use aws_sdk_sfn::operation::list_state_machine_versions::ListStateMachineVersionsOutput;
use aws_sdk_sfn::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_sfn::operation::publish_state_machine_version::{
    PublishStateMachineVersionError, PublishStateMachineVersionOutput,
};
use aws_sdk_sfn::operation::validate_state_machine_definition::{
    ValidateStateMachineDefinitionError, ValidateStateMachineDefinitionOutput,
};
use aws_sdk_sfn::types::{
    StateMachineType, ValidateStateMachineDefinitionDiagnostic,
    ValidateStateMachineDefinitionResultCode, ValidateStateMachineDefinitionSeverity,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::DateTime;
use aws_smithy_types::error::ErrorMetadata;
use serde_json::json;
use sfn_api::naming;
use sfn_aws::{
    self as aws, AwsClients, AwsError, AwsSettings, Diagnostic, PropagationRetry, RateLimits,
    Severity, Validation,
};
use sfn_plan::{
    DeletionPolicy, DesiredMachine, DesiredRole, MachineType, ManagedRole, Owner, PublishSpec,
};

const ACCOUNT: &str = "123456789012";
const SM_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:demo-m";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/sfn-operator/demo-m";

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |m, r| m.with_rule(r),
    )
}

/// The operator runs with adaptive retries; its client-side rate limiter paces a throttled client for
/// tens of seconds, which is right in production and too slow for a test, so the mocks use the standard
/// mode, which classifies and retries throttling errors the same way.
fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// The SDK's adaptive retry keeps one client-side rate limiter per retry partition for the whole
/// process; a partition per mocked client keeps one test's throttling from slowing the others down.
fn partition() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("mock-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Clients whose every request is answered by the given rules.
fn mocked(sfn: &[&Rule], iam: &[&Rule], cw: &[&Rule]) -> AwsClients {
    mocked_with(sfn, iam, cw, RateLimits::unlimited(), None)
}

/// [`mocked`] with client-side rate limits and a bound on waiting for them.
fn mocked_with(
    sfn: &[&Rule],
    iam: &[&Rule],
    cw: &[&Rule],
    rate_limits: RateLimits,
    max_rate_wait: Option<Duration>,
) -> AwsClients {
    let creds = Credentials::new("a", "b", None, None, "mock");
    let region = Region::new("us-east-1");
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_partition(aws_sdk_sfn::config::retry::RetryPartition::new(partition()))
            .region(region.clone())
            .credentials_provider(creds.clone())
            .http_client(create_mock_http_client())
            .retry_config(retry())
            .interceptor(interceptor(sfn))
            .build(),
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_partition(aws_sdk_iam::config::retry::RetryPartition::new(partition()))
            .region(region.clone())
            .credentials_provider(creds.clone())
            .http_client(create_mock_http_client())
            .retry_config(retry())
            .interceptor(interceptor(iam))
            .build(),
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_partition(aws_sdk_cloudwatch::config::retry::RetryPartition::new(
                partition(),
            ))
            .region(region)
            .credentials_provider(creds)
            .http_client(create_mock_http_client())
            .retry_config(retry())
            .interceptor(interceptor(cw))
            .build(),
    );
    AwsClients::from_clients(
        sfn,
        iam,
        cloudwatch,
        ACCOUNT.into(),
        "us-east-1".into(),
        AwsSettings {
            rate_limits,
            propagation_retry: PropagationRetry {
                attempts: 4,
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(4),
            },
            sdk_max_attempts: 3,
            max_rate_wait,
            role_listing_max_age: None,
        },
    )
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn desired(role: DesiredRole) -> DesiredMachine {
    DesiredMachine {
        owner: Owner {
            namespace: "demo".into(),
            name: "m".into(),
            uid: "uid-m".into(),
        },
        name: "demo-m".into(),
        machine_type: MachineType::Standard,
        definition: json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        role,
        logging: None,
        log_group: None,
        tracing: false,
        encryption: None,
        tags: BTreeMap::new(),
        alarms: vec![],
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

fn managed() -> DesiredRole {
    DesiredRole::Managed(ManagedRole {
        name: "demo-m".into(),
        path: naming::ROLE_PATH.into(),
        trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        policies: vec![(
            "sfn-operator".into(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]}),
        )],
        managed_policies: Vec::new(),
        permissions_boundary: None,
        tags: Default::default(),
    })
}

fn external() -> DesiredRole {
    DesiredRole::External {
        arn: "arn:aws:iam::123456789012:role/theirs".into(),
    }
}

fn no_machine() -> Rule {
    mock!(aws_sdk_sfn::Client::describe_state_machine).then_error(|| {
        DescribeStateMachineError::generic(meta(
            "StateMachineDoesNotExist",
            "State Machine Does Not Exist",
        ))
    })
}

fn no_role() -> Rule {
    mock!(aws_sdk_iam::Client::get_role)
        .then_error(|| GetRoleError::generic(meta("NoSuchEntity", "The role cannot be found.")))
}

fn no_alarms() -> Rule {
    mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build())
}

fn role_created() -> Rule {
    mock!(aws_sdk_iam::Client::create_role).then_output(|| {
        CreateRoleOutput::builder()
            .role(
                aws_sdk_iam::types::Role::builder()
                    .path(naming::ROLE_PATH)
                    .role_name("demo-m")
                    .role_id("AROAEXAMPLE")
                    .arn(ROLE_ARN)
                    .create_date(DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
    })
}

fn policy_put() -> Rule {
    mock!(aws_sdk_iam::Client::put_role_policy)
        .then_output(|| PutRolePolicyOutput::builder().build())
}

fn machine_created() -> CreateStateMachineOutput {
    CreateStateMachineOutput::builder()
        .state_machine_arn(SM_ARN)
        .creation_date(DateTime::from_secs(0))
        .build()
        .unwrap()
}

fn propagation_error() -> CreateStateMachineError {
    CreateStateMachineError::generic(meta(
        "AccessDeniedException",
        "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.",
    ))
}

#[tokio::test]
async fn new_role_not_assumable_yet_is_retried_until_it_is() {
    let describe = no_machine();
    let get_role = no_role();
    let alarms = no_alarms();
    let create_role = role_created();
    let put_policy = policy_put();
    let create = mock!(aws_sdk_sfn::Client::create_state_machine)
        .match_requests(|r| r.role_arn() == Some(ROLE_ARN))
        .sequence()
        .error(propagation_error)
        .times(2)
        .output(machine_created)
        .build();
    let clients = mocked(
        &[&describe, &create],
        &[&get_role, &create_role, &put_policy],
        &[&alarms],
    );
    let out = aws::reconcile_machine(&clients, &desired(managed()))
        .await
        .unwrap();
    assert_eq!(out.state_machine_arn.as_deref(), Some(SM_ARN));
    assert_eq!(out.role_arn.as_deref(), Some(ROLE_ARN));
    assert_eq!(create.num_calls(), 3);
    assert_eq!(out.calls.get("sfn:CreateStateMachine"), 3);
    // The role was created once, not once per attempt.
    assert_eq!(create_role.num_calls(), 1);
}

#[tokio::test]
async fn role_propagation_retries_are_bounded() {
    let describe = no_machine();
    let get_role = no_role();
    let alarms = no_alarms();
    let create_role = role_created();
    let put_policy = policy_put();
    let create = mock!(aws_sdk_sfn::Client::create_state_machine).then_error(propagation_error);
    let clients = mocked(
        &[&describe, &create],
        &[&get_role, &create_role, &put_policy],
        &[&alarms],
    );
    let err = aws::reconcile_machine(&clients, &desired(managed()))
        .await
        .unwrap_err();
    assert!(matches!(err, AwsError::RoleNotAssumable { .. }), "{err}");
    assert_eq!(err.metric_label(), "role_propagation");
    assert!(err.is_transient(), "the next reconcile tries again");
    assert_eq!(create.num_calls(), 4);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_reported_as_transient() {
    let throttled =
        || DescribeStateMachineError::generic(meta("ThrottlingException", "Rate exceeded"));
    let describe = mock!(aws_sdk_sfn::Client::describe_state_machine)
        .sequence()
        .error(throttled)
        .times(2)
        .error(|| {
            DescribeStateMachineError::generic(meta("StateMachineDoesNotExist", "does not exist"))
        })
        .build();
    let create = mock!(aws_sdk_sfn::Client::create_state_machine).then_output(machine_created);
    let alarms = no_alarms();
    let clients = mocked(&[&describe, &create], &[], &[&alarms]);
    let out = aws::reconcile_machine(&clients, &desired(external()))
        .await
        .unwrap();
    assert_eq!(out.state_machine_arn.as_deref(), Some(SM_ARN));
    // Three attempts on the wire, one logical call in our counters.
    assert_eq!(describe.num_calls(), 3);
    assert_eq!(out.calls.get("sfn:DescribeStateMachine"), 1);

    // Throttled on every attempt: a transient error with its own metric label.
    let describe = mock!(aws_sdk_sfn::Client::describe_state_machine).then_error(throttled);
    let clients = mocked(&[&describe], &[], &[]);
    let err = aws::reconcile_machine(&clients, &desired(external()))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "throttled", "{err}");
    assert!(err.is_transient());
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn a_call_past_the_rate_limit_bound_is_not_sent_and_says_when_to_retry() {
    // No CreateStateMachine token for 100 s; every other API unlimited.
    let mut limits = RateLimits::unlimited();
    limits.per_api.insert(
        "sfn:CreateStateMachine".into(),
        aws::Bucket {
            burst: 0.0,
            per_second: 0.01,
        },
    );
    let describe = no_machine();
    let get_role = no_role();
    let alarms = no_alarms();
    let create_role = role_created();
    let put_policy = policy_put();
    let create = mock!(aws_sdk_sfn::Client::create_state_machine).then_output(machine_created);
    let clients = mocked_with(
        &[&describe, &create],
        &[&get_role, &create_role, &put_policy],
        &[&alarms],
        limits,
        Some(Duration::from_secs(2)),
    );
    let started = std::time::Instant::now();
    let err = aws::reconcile_machine(&clients, &desired(managed()))
        .await
        .unwrap_err();
    // It returned instead of sleeping for the token.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let AwsError::RateLimited { api, retry_after } = &err else {
        panic!("expected RateLimited, got {err}");
    };
    assert_eq!(*api, "sfn:CreateStateMachine");
    assert!(
        *retry_after > Duration::from_secs(90) && *retry_after <= Duration::from_secs(100),
        "{retry_after:?}"
    );
    assert_eq!(err.retry_after(), Some(*retry_after));
    assert!(err.is_transient(), "the next reconcile tries again");
    assert_eq!(err.metric_label(), "throttled");
    // The request never reached AWS, nor the call counters.
    assert_eq!(create.num_calls(), 0);
    assert_eq!(clients.calls().get("sfn:CreateStateMachine"), 0);
    // The steps before it went through, and are idempotent for the next reconcile to observe.
    assert_eq!(create_role.num_calls(), 1);
    assert_eq!(put_policy.num_calls(), 1);
}

#[tokio::test]
async fn access_denied_is_terminal_and_nothing_is_written() {
    let describe = no_machine();
    let get_role = mock!(aws_sdk_iam::Client::get_role).then_error(|| {
        GetRoleError::generic(meta(
            "AccessDenied",
            "User: arn:aws:sts::123456789012:assumed-role/operator is not authorized to perform: iam:GetRole",
        ))
    });
    let create_role = role_created();
    let clients = mocked(&[&describe], &[&get_role, &create_role], &[]);
    let err = aws::reconcile_machine(&clients, &desired(managed()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AwsError::AccessDenied {
                api: "iam:GetRole",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.metric_label(), "access_denied");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("iam:GetRole"), "{err}");
    assert_eq!(create_role.num_calls(), 0);
    assert_eq!(clients.calls().writes(), 0);
}

#[tokio::test]
async fn name_conflicts_are_reported_as_conflicts() {
    // Someone created the machine between our observation and our create.
    let describe = no_machine();
    let alarms = no_alarms();
    let create = mock!(aws_sdk_sfn::Client::create_state_machine).then_error(|| {
        CreateStateMachineError::StateMachineAlreadyExists(
            aws_sdk_sfn::types::error::StateMachineAlreadyExists::builder()
                .message("State Machine Already Exists: 'demo-m'")
                .meta(meta(
                    "StateMachineAlreadyExists",
                    "State Machine Already Exists: 'demo-m'",
                ))
                .build(),
        )
    });
    let clients = mocked(&[&describe, &create], &[], &[&alarms]);
    let err = aws::reconcile_machine(&clients, &desired(external()))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "conflict", "{err}");
    assert_eq!(err.code(), Some("StateMachineAlreadyExists"));
    assert!(
        err.is_transient(),
        "the next observation sees the machine and decides on ownership"
    );

    // The same for the role.
    let describe = no_machine();
    let get_role = no_role();
    let create_role = mock!(aws_sdk_iam::Client::create_role).then_error(|| {
        CreateRoleError::generic(meta(
            "EntityAlreadyExists",
            "Role with name demo-m already exists.",
        ))
    });
    let alarms = no_alarms();
    let clients = mocked(&[&describe], &[&get_role, &create_role], &[&alarms]);
    let err = aws::reconcile_machine(&clients, &desired(managed()))
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "conflict", "{err}");
    assert!(err.to_string().contains("iam:CreateRole"), "{err}");
}

/// Found by the soak: the answer to CreateRole was lost, the SDK retried and IAM said the role exists. It is
/// the role the first attempt made (this object's owner and uid tags), so the reconcile carries on with it
/// instead of failing; a role of the same name owned by someone else is still a conflict.
#[tokio::test]
async fn a_create_role_retried_after_a_lost_answer_carries_on_with_our_role() {
    use aws_sdk_iam::operation::get_role::GetRoleOutput;
    use aws_sdk_iam::types::{Role, Tag};
    let d = desired(managed());
    for (owner_uid, expect_ok) in [("uid-m", true), ("uid-someone-else", false)] {
        let describe = no_machine();
        let alarms = no_alarms();
        let get_role = mock!(aws_sdk_iam::Client::get_role)
            .sequence()
            .error(|| GetRoleError::generic(meta("NoSuchEntity", "no role")))
            .output(move || {
                GetRoleOutput::builder()
                    .role(
                        Role::builder()
                            .path(naming::ROLE_PATH)
                            .role_name("demo-m")
                            .role_id("AROA")
                            .arn(ROLE_ARN)
                            .create_date(DateTime::from_secs(0))
                            .tags(
                                Tag::builder()
                                    .key(naming::OWNER_TAG)
                                    .value("demo/m")
                                    .build()
                                    .unwrap(),
                            )
                            .tags(
                                Tag::builder()
                                    .key(naming::OWNER_UID_TAG)
                                    .value(owner_uid)
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .build();
        let create_role = mock!(aws_sdk_iam::Client::create_role).then_error(|| {
            CreateRoleError::generic(meta(
                "EntityAlreadyExists",
                "Role with name demo-m already exists.",
            ))
        });
        let put = policy_put();
        let create = mock!(aws_sdk_sfn::Client::create_state_machine)
            .match_requests(|r| r.role_arn() == Some(ROLE_ARN))
            .then_output(machine_created);
        let clients = mocked(
            &[&describe, &create],
            &[&get_role, &create_role, &put],
            &[&alarms],
        );
        let result = aws::reconcile_machine(&clients, &d).await;
        if expect_ok {
            let out = result.unwrap();
            assert_eq!(out.role_arn.as_deref(), Some(ROLE_ARN));
            assert_eq!(create.num_calls(), 1);
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.metric_label(), "conflict", "{err}");
            assert_eq!(create.num_calls(), 0);
        }
    }
}

/// A live machine in line with `d`, at revision `rev-7`.
fn live_machine(d: &DesiredMachine) -> (Rule, Rule) {
    let tags = d.full_tags();
    let role_arn = match &d.role {
        DesiredRole::External { arn } => arn.clone(),
        DesiredRole::Managed(_) => ROLE_ARN.to_string(),
    };
    let definition = d.definition.to_string();
    let describe = mock!(aws_sdk_sfn::Client::describe_state_machine).then_output(move || {
        DescribeStateMachineOutput::builder()
            .state_machine_arn(SM_ARN)
            .name("demo-m")
            .status(aws_sdk_sfn::types::StateMachineStatus::Active)
            .definition(definition.clone())
            .role_arn(role_arn.clone())
            .r#type(StateMachineType::Standard)
            .creation_date(DateTime::from_secs(0))
            .revision_id("rev-7")
            .build()
            .unwrap()
    });
    let list_tags = mock!(aws_sdk_sfn::Client::list_tags_for_resource).then_output(move || {
        ListTagsForResourceOutput::builder()
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| aws_sdk_sfn::types::Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .build()
    });
    (describe, list_tags)
}

#[tokio::test]
async fn publishing_an_unchanged_machine_pins_the_observed_revision() {
    let mut d = desired(external());
    d.publish = Some(PublishSpec {
        description: Some("release".into()),
    });
    let (describe, list_tags) = live_machine(&d);
    let versions = mock!(aws_sdk_sfn::Client::list_state_machine_versions)
        .match_requests(|r| r.state_machine_arn() == Some(SM_ARN))
        .then_output(|| {
            ListStateMachineVersionsOutput::builder()
                .set_state_machine_versions(Some(vec![]))
                .build()
                .unwrap()
        });
    let publish = mock!(aws_sdk_sfn::Client::publish_state_machine_version)
        .match_requests(|r| r.revision_id() == Some("rev-7") && r.description() == Some("release"))
        .then_output(|| {
            PublishStateMachineVersionOutput::builder()
                .state_machine_version_arn(format!("{SM_ARN}:1"))
                .creation_date(DateTime::from_secs(0))
                .build()
                .unwrap()
        });
    let alarms = no_alarms();
    let aliases = no_aliases();
    let clients = mocked(
        &[&describe, &list_tags, &versions, &aliases, &publish],
        &[],
        &[&alarms],
    );
    let out = aws::reconcile_machine(&clients, &desired_clone(&d))
        .await
        .unwrap();
    assert_eq!(publish.num_calls(), 1);
    assert_eq!(
        out.version_arn.as_deref(),
        Some(format!("{SM_ARN}:1").as_str())
    );

    // The machine changed since it was described: AWS refuses the stale revision; the error is a
    // transient conflict and the next reconcile starts from the new revision.
    let (describe, list_tags) = live_machine(&d);
    let versions = mock!(aws_sdk_sfn::Client::list_state_machine_versions).then_output(|| {
        ListStateMachineVersionsOutput::builder()
            .set_state_machine_versions(Some(vec![]))
            .build()
            .unwrap()
    });
    let publish = mock!(aws_sdk_sfn::Client::publish_state_machine_version).then_error(|| {
        PublishStateMachineVersionError::ConflictException(
            aws_sdk_sfn::types::error::ConflictException::builder()
                .message("revisionId does not match the current revision")
                .meta(meta(
                    "ConflictException",
                    "revisionId does not match the current revision",
                ))
                .build(),
        )
    });
    let alarms = no_alarms();
    let aliases = no_aliases();
    let clients = mocked(
        &[&describe, &list_tags, &versions, &aliases, &publish],
        &[],
        &[&alarms],
    );
    let err = aws::reconcile_machine(&clients, &d).await.unwrap_err();
    assert_eq!(err.metric_label(), "conflict", "{err}");
    assert!(err.is_transient());
}

/// A machine without aliases (publishing reads them along with the versions).
fn no_aliases() -> Rule {
    mock!(aws_sdk_sfn::Client::list_state_machine_aliases).then_output(|| {
        ListStateMachineAliasesOutput::builder()
            .set_state_machine_aliases(Some(vec![]))
            .build()
            .unwrap()
    })
}

fn desired_clone(d: &DesiredMachine) -> DesiredMachine {
    d.clone()
}

#[tokio::test]
async fn unchanged_machine_costs_reads_only() {
    let d = desired(external());
    let (describe, list_tags) = live_machine(&d);
    let clients = mocked(&[&describe, &list_tags], &[], &[]);
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(out.operations, vec![]);
    assert_eq!(out.calls.writes(), 0);
    // With a role of their own and no alarms (now or in the last applied spec): describe and tags.
    assert_eq!(out.calls.reads(), 2, "{}", out.calls);
}

/// What DescribeStateMachine answers for settings left to AWS's defaults (logging `OFF` without a
/// destination, tracing disabled, the AWS owned key with a reuse period of 0, the default reuse period of a
/// customer managed key), described with another revision each time: none of it plans an update. Any
/// write would find no mock rule and fail the reconcile.
#[tokio::test]
async fn aws_echoes_of_defaults_plan_no_update() {
    use aws_sdk_sfn::types::{
        EncryptionConfiguration, EncryptionType, LogLevel, LoggingConfiguration,
        TracingConfiguration,
    };
    let key = "arn:aws:kms:us-east-1:123456789012:key/k";
    for customer_key in [false, true] {
        let mut d = desired(external());
        if customer_key {
            d.encryption = Some(sfn_plan::EncryptionSpec {
                kms_key_id: key.into(),
                kms_data_key_reuse_period_seconds: None,
            });
        }
        let tags = d.full_tags();
        let definition = serde_json::to_string_pretty(&d.definition).unwrap();
        let revision = AtomicUsize::new(0);
        let describe = mock!(aws_sdk_sfn::Client::describe_state_machine).then_output(move || {
            let encryption = if customer_key {
                EncryptionConfiguration::builder()
                    .r#type(EncryptionType::CustomerManagedKmsKey)
                    .kms_key_id(key)
                    .kms_data_key_reuse_period_seconds(300)
            } else {
                EncryptionConfiguration::builder()
                    .r#type(EncryptionType::AwsOwnedKey)
                    .kms_data_key_reuse_period_seconds(0)
            };
            DescribeStateMachineOutput::builder()
                .state_machine_arn(SM_ARN)
                .name("demo-m")
                .status(aws_sdk_sfn::types::StateMachineStatus::Active)
                .definition(definition.clone())
                .role_arn("arn:aws:iam::123456789012:role/theirs")
                .r#type(StateMachineType::Standard)
                .creation_date(DateTime::from_secs(0))
                .logging_configuration(
                    LoggingConfiguration::builder()
                        .level(LogLevel::Off)
                        .include_execution_data(false)
                        .build(),
                )
                .tracing_configuration(TracingConfiguration::builder().enabled(false).build())
                .encryption_configuration(encryption.build().unwrap())
                .revision_id(format!("rev-{}", revision.fetch_add(1, Ordering::SeqCst)))
                .build()
                .unwrap()
        });
        let list_tags = mock!(aws_sdk_sfn::Client::list_tags_for_resource).then_output(move || {
            // In another order than the desired ones.
            ListTagsForResourceOutput::builder()
                .set_tags(Some(
                    tags.iter()
                        .rev()
                        .map(|(k, v)| aws_sdk_sfn::types::Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .build()
        });
        let clients = mocked(&[&describe, &list_tags], &[], &[]);
        for _ in 0..2 {
            let out = aws::reconcile_machine(&clients, &d).await.unwrap();
            assert_eq!(out.operations, vec![], "customer key: {customer_key}");
            assert_eq!(out.calls.writes(), 0, "{}", out.calls);
        }
    }
}

#[tokio::test]
async fn put_metric_alarm_gets_the_created_machine_arn() {
    let mut d = desired(external());
    let mut alarm = sfn_alarms::AlarmSpec {
        name: naming::alarm_name("demo-m", "ExecutionsFailed"),
        description: None,
        namespace: "AWS/States".into(),
        metric_name: "ExecutionsFailed".into(),
        dimensions: vec![],
        statistic: "Sum".into(),
        period: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: 1.0,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: vec![],
        ok_actions: vec![],
        insufficient_data_actions: vec![],
    };
    alarm.dimensions = vec![(
        "StateMachineArn".into(),
        sfn_plan::STATE_MACHINE_ARN_PLACEHOLDER.into(),
    )];
    d.alarms = vec![alarm];
    let describe = no_machine();
    let create = mock!(aws_sdk_sfn::Client::create_state_machine).then_output(machine_created);
    let alarms = no_alarms();
    let put = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
        .match_requests(|r| {
            r.dimensions().len() == 1
                && r.dimensions()[0].value() == Some(SM_ARN)
                && r.tags().iter().any(|t| t.key() == Some(naming::OWNER_TAG))
        })
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let clients = mocked(&[&describe, &create], &[], &[&alarms, &put]);
    aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

/// AWS's answer with one diagnostic.
fn validation_answer(
    result: ValidateStateMachineDefinitionResultCode,
    severity: ValidateStateMachineDefinitionSeverity,
    [code, message, location]: [&str; 3],
) -> ValidateStateMachineDefinitionOutput {
    let diagnostic = ValidateStateMachineDefinitionDiagnostic::builder()
        .severity(severity)
        .code(code)
        .message(message)
        .location(location)
        .build()
        .expect("a complete diagnostic");
    ValidateStateMachineDefinitionOutput::builder()
        .result(result)
        .diagnostics(diagnostic)
        .build()
        .expect("a complete answer")
}

/// AWS's verdict on the Pass definition for `machine_type`, which must be one.
async fn verdict(clients: &AwsClients, machine_type: MachineType) -> aws::Verdict {
    match aws::validate_definition(clients, &pass_definition(), machine_type).await {
        Validation::Checked(v) => v,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

fn pass_definition() -> serde_json::Value {
    json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})
}

#[tokio::test]
async fn aws_validation_ok_with_a_warning_is_a_verdict_with_the_warning() {
    let validate = mock!(aws_sdk_sfn::Client::validate_state_machine_definition)
        .match_requests(|r| {
            r.r#type() == Some(&StateMachineType::Express)
                && r.severity() == Some(&ValidateStateMachineDefinitionSeverity::Warning)
                && r.definition().is_some_and(|d| d.contains("\"StartAt\""))
        })
        .then_output(|| {
            validation_answer(
                ValidateStateMachineDefinitionResultCode::Ok,
                ValidateStateMachineDefinitionSeverity::Warning,
                [
                    "NO_DOLLAR",
                    "The field 'Result' looks like a path",
                    "/States/A/Result",
                ],
            )
        });
    let clients = mocked(&[&validate], &[], &[]);
    let verdict = verdict(&clients, MachineType::Express).await;
    assert!(verdict.ok);
    assert_eq!(verdict.errors().count(), 0);
    let warnings: Vec<String> = verdict.warnings().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["NO_DOLLAR at /States/A/Result: The field 'Result' looks like a path"]
    );
    assert_eq!(validate.num_calls(), 1);
    assert_eq!(clients.calls().get("sfn:ValidateStateMachineDefinition"), 1);
    assert_eq!(clients.calls().writes(), 0, "validating changes nothing");
}

#[tokio::test]
async fn aws_validation_fail_carries_the_error_diagnostics() {
    let validate = mock!(aws_sdk_sfn::Client::validate_state_machine_definition)
        .match_requests(|r| r.r#type() == Some(&StateMachineType::Standard))
        .then_output(|| {
            validation_answer(
                ValidateStateMachineDefinitionResultCode::Fail,
                ValidateStateMachineDefinitionSeverity::Error,
                [
                    "MISSING_TRANSITION_TARGET",
                    "Missing 'Next' target: B",
                    "/States/A/Next",
                ],
            )
        });
    let clients = mocked(&[&validate], &[], &[]);
    let verdict = verdict(&clients, MachineType::Standard).await;
    assert!(!verdict.ok);
    let errors: Vec<&Diagnostic> = verdict.errors().collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].severity, Severity::Error);
    assert_eq!(errors[0].code, "MISSING_TRANSITION_TARGET");
    assert_eq!(errors[0].location.as_deref(), Some("/States/A/Next"));
    assert_eq!(errors[0].message, "Missing 'Next' target: B");
}

/// Asks once with clients whose every validation call gets `error`; returns the answer and the number of
/// attempts on the wire.
async fn validation_failing_with(
    error: fn() -> ValidateStateMachineDefinitionError,
) -> (Validation, usize) {
    let validate = mock!(aws_sdk_sfn::Client::validate_state_machine_definition).then_error(error);
    let clients = mocked(&[&validate], &[], &[]);
    let answer =
        aws::validate_definition(&clients, &pass_definition(), MachineType::Standard).await;
    (answer, validate.num_calls())
}

#[tokio::test]
async fn aws_validation_without_the_permission_is_unavailable() {
    let (answer, attempts) = validation_failing_with(|| {
        ValidateStateMachineDefinitionError::generic(meta(
            "AccessDeniedException",
            "not authorized to perform: states:ValidateStateMachineDefinition",
        ))
    })
    .await;
    match answer {
        Validation::Unavailable { reason, transient } => {
            assert!(reason.contains("access denied"), "{reason}");
            assert!(
                reason.contains("states:ValidateStateMachineDefinition"),
                "{reason}"
            );
            assert!(!transient, "someone has to grant the permission");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(attempts, 1, "access denied is not retried");
}

#[tokio::test]
async fn aws_validation_throttled_past_the_retries_is_unavailable() {
    let (answer, attempts) = validation_failing_with(|| {
        ValidateStateMachineDefinitionError::generic(meta("ThrottlingException", "Rate exceeded"))
    })
    .await;
    match answer {
        Validation::Unavailable { reason, transient } => {
            assert!(reason.contains("throttled"), "{reason}");
            assert!(transient);
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(attempts, 3, "the SDK's retries ran first");
}

#[tokio::test]
async fn aws_validation_that_cannot_reach_aws_is_unavailable() {
    // Nothing listens on port 1 of the loopback: every attempt is a dispatch failure.
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_partition(aws_sdk_sfn::config::retry::RetryPartition::new(partition()))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "mock"))
            .endpoint_url("http://127.0.0.1:1")
            .retry_config(retry())
            .build(),
    );
    let others = mocked(&[], &[], &[]);
    let clients = AwsClients::from_clients(
        sfn,
        others.iam.clone(),
        others.cloudwatch.clone(),
        ACCOUNT.into(),
        "us-east-1".into(),
        others.settings().clone(),
    );
    match aws::validate_definition(&clients, &pass_definition(), MachineType::Standard).await {
        Validation::Unavailable { reason, transient } => {
            assert!(reason.contains("could not reach AWS"), "{reason}");
            assert!(transient);
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
}

const BYO_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/team/app-runner";

#[tokio::test]
async fn an_unreadable_bring_your_own_role_is_not_audited_and_not_an_error() {
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesError;
    let list = mock!(aws_sdk_iam::Client::list_role_policies)
        .match_requests(|r| r.role_name() == Some("app-runner"))
        .then_error(|| {
            ListRolePoliciesError::generic(meta(
                "AccessDenied",
                "User: arn:aws:sts::123456789012:assumed-role/operator is not authorized to perform: iam:ListRolePolicies",
            ))
        });
    let clients = mocked(&[], &[&list], &[]);
    let read = aws::read_role_policies(&clients, BYO_ROLE_ARN).await;
    let aws::RolePolicies::Unavailable { reason } = read else {
        panic!("expected unavailable, got {read:?}");
    };
    assert!(reason.contains("access denied"), "{reason}");
    assert!(reason.contains("iam:ListRolePolicies"), "{reason}");
    assert_eq!(list.num_calls(), 1);
    assert_eq!(clients.calls().writes(), 0);
}

#[tokio::test]
async fn a_role_in_another_account_is_not_read_at_all() {
    let clients = mocked(&[], &[], &[]);
    let read = aws::read_role_policies(&clients, "arn:aws:iam::999999999999:role/theirs").await;
    assert_eq!(
        read,
        aws::RolePolicies::Unavailable {
            reason: "the role is in account 999999999999, the operator's credentials are for account 123456789012".into()
        }
    );
    let bad = aws::read_role_policies(&clients, "not-an-arn").await;
    assert!(
        matches!(bad, aws::RolePolicies::Unavailable { .. }),
        "{bad:?}"
    );
    assert_eq!(clients.calls().total(), 0);
}

#[tokio::test]
async fn a_denied_managed_policy_read_makes_the_role_not_audited() {
    use aws_sdk_iam::operation::get_policy::GetPolicyError;
    use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
    use aws_sdk_iam::types::AttachedPolicy;
    let list = mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
        ListRolePoliciesOutput::builder()
            .set_policy_names(Some(vec![]))
            .is_truncated(false)
            .build()
            .unwrap()
    });
    let attached = mock!(aws_sdk_iam::Client::list_attached_role_policies).then_output(|| {
        ListAttachedRolePoliciesOutput::builder()
            .attached_policies(
                AttachedPolicy::builder()
                    .policy_name("other-team")
                    .policy_arn("arn:aws:iam::123456789012:policy/other-team")
                    .build(),
            )
            .is_truncated(false)
            .build()
    });
    let get_policy = mock!(aws_sdk_iam::Client::get_policy).then_error(|| {
        GetPolicyError::generic(meta(
            "AccessDenied",
            "not authorized to perform: iam:GetPolicy",
        ))
    });
    let clients = mocked(&[], &[&list, &attached, &get_policy], &[]);
    let read = aws::read_role_policies(&clients, BYO_ROLE_ARN).await;
    let aws::RolePolicies::Unavailable { reason } = read else {
        panic!("expected unavailable, got {read:?}");
    };
    assert!(reason.contains("iam:GetPolicy"), "{reason}");
    assert_eq!(get_policy.num_calls(), 1);
}
