//! Controller behaviour that needs failures on demand — references that appear late, throttling, a failing
//! cleanup, an invalid spec — run against the test API server (or a real cluster) with the in-memory AWS
//! backend, which fails exactly when told to.

mod e2e_support;

use std::sync::Arc;
use std::time::Duration;

use e2e_support::{RunningOperator, World, eventually};
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use sfn_api::StateMachine;
use sfn_controller::backend::memory::InMemoryBackend;
use sfn_controller::backend::{AwsBackend, BackendError};

const TIMEOUT: Duration = Duration::from_secs(30);

fn condition(sm: &StateMachine, type_: &str) -> Option<(String, String, String)> {
    let s = sm.status.as_ref()?;
    if s.observed_generation != sm.metadata.generation {
        return None;
    }
    s.conditions.iter().find(|c| c.type_ == type_).map(|c| {
        (
            c.status.as_str().to_owned(),
            c.reason.clone(),
            c.message.clone(),
        )
    })
}

fn is(sm: &StateMachine, type_: &str, status: &str, reason: &str) -> bool {
    condition(sm, type_).is_some_and(|(s, r, _)| s == status && r == reason)
}

fn machine(name: &str, states: Value) -> Value {
    json!({
        "apiVersion": "sfn.operator.dev/v1alpha1",
        "kind": "StateMachine",
        "metadata": {"name": name},
        "spec": {"definition": {"states": states}}
    })
}

fn pass_machine(name: &str) -> Value {
    machine(
        name,
        json!([{"name": "Hello", "type": "Pass", "end": true}]),
    )
}

fn memory(world: &World) -> Arc<InMemoryBackend> {
    Arc::new(InMemoryBackend::new(e2e_support::REGION, &world.account))
}

async fn event_reasons(world: &World) -> Vec<String> {
    world
        .api::<Event>()
        .list(&ListParams::default())
        .await
        .expect("listing events")
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect()
}

async fn request_reconcile(world: &World, name: &str) {
    let patch = json!({"metadata": {"annotations": {
        "sfn.operator.dev/reconcile-requested-at": sfn_controller::status::now_rfc3339() + &format!("-{}", rand::random::<u32>())
    }}});
    world
        .api::<StateMachine>()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotating");
}

fn throttled() -> BackendError {
    BackendError {
        message: "UpdateStateMachine: throttled by AWS: Rate exceeded".into(),
        transient: true,
        throttled: true,
        retry_after: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_integration_heals_as_soon_as_it_appears() {
    let world = World::new().await;
    let backend = memory(&world);
    let mut config = world.config();
    // A retry would come only after 30 s (the cap for missing references).
    config.backoff.base = Duration::from_secs(60);
    config.backoff.max = Duration::from_secs(120);
    world
        .apply_value(machine(
            "needs-later",
            json!([{"name": "Call", "type": "Task", "integration": "later", "end": true}]),
        ))
        .await;
    let operator = RunningOperator::start(world.client.clone(), config, backend.clone());
    let sm = world
        .wait_for::<StateMachine>("needs-later", TIMEOUT, |sm| {
            is(sm, "Ready", "False", "ReferenceNotFound")
        })
        .await;
    let (_, _, message) = condition(&sm, "Ready").unwrap();
    assert!(message.contains("later"), "{message}");
    assert!(backend.machine_names().is_empty(), "nothing may reach AWS");

    world
        .apply_yaml(
            r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: later}
spec:
  sns: {topicArn: "arn:aws:sns:us-east-1:123456789012:later"}
"#,
        )
        .await;
    // The retry of a missing reference comes after 30 s at the earliest here: healing sooner proves that the
    // TaskIntegration's watch woke the machine.
    world
        .wait_for::<StateMachine>("needs-later", Duration::from_secs(10), |sm| {
            is(sm, "Ready", "True", "Compiled")
        })
        .await;
    let live = backend
        .machine(&format!("{}needs-later", world.aws_prefix()))
        .expect("the machine reached AWS");
    assert_eq!(
        live.definition["States"]["Call"]["Resource"],
        "arn:aws:states:::sns:publish"
    );
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_keeps_ready_and_reports_synced_false_until_it_passes() {
    let world = World::new().await;
    let backend = memory(&world);
    world.apply_value(pass_machine("busy")).await;
    let operator = RunningOperator::start(world.client.clone(), world.config(), backend.clone());
    world
        .wait_for::<StateMachine>("busy", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;

    for _ in 0..3 {
        backend.fail_next(throttled());
    }
    request_reconcile(&world, "busy").await;
    let sm = world
        .wait_for::<StateMachine>("busy", TIMEOUT, |sm| is(sm, "Synced", "False", "Throttled"))
        .await;
    assert!(
        is(&sm, "Ready", "True", "Compiled"),
        "a transient failure must not flip Ready: {:?}",
        sm.status
    );
    // Retried with backoff until AWS answers again.
    world
        .wait_for::<StateMachine>("busy", TIMEOUT, |sm| is(sm, "Synced", "True", "Compiled"))
        .await;
    let metrics = operator.metrics.encode();
    assert!(
        metrics.contains(
            "sfn_operator_reconcile_failures_total{kind=\"StateMachine\",reason=\"Throttled\"} 3"
        ),
        "{metrics}"
    );
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cleanup_keeps_the_finalizer_and_is_retried() {
    let world = World::new().await;
    let backend = memory(&world);
    world.apply_value(pass_machine("stubborn")).await;
    let operator = RunningOperator::start(world.client.clone(), world.config(), backend.clone());
    let sm = world
        .wait_for::<StateMachine>("stubborn", TIMEOUT, |sm| {
            is(sm, "Ready", "True", "Compiled")
        })
        .await;
    assert!(
        sm.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f == "sfn.operator.dev/finalizer"))
    );
    let name = format!("{}stubborn", world.aws_prefix());
    assert!(backend.machine(&name).is_some());

    for _ in 0..2 {
        backend.fail_next(BackendError {
            message: "DeleteStateMachine: access denied".into(),
            transient: false,
            throttled: false,
            retry_after: None,
        });
    }
    world.delete::<StateMachine>("stubborn").await;
    // While AWS refuses, the object stays, marked for deletion.
    let held = world
        .wait_for::<StateMachine>("stubborn", TIMEOUT, |sm| {
            sm.metadata.deletion_timestamp.is_some()
        })
        .await;
    assert!(held.metadata.finalizers.is_some());
    world.wait_gone::<StateMachine>("stubborn", TIMEOUT).await;
    assert!(backend.machine(&name).is_none(), "cleanup must have run");
    assert!(
        backend.call_counts()["DeleteStateMachine"] >= 3,
        "{:?}",
        backend.call_counts()
    );
    let reasons = event_reasons(&world).await;
    assert!(reasons.iter().any(|r| r == "Deleted"), "{reasons:?}");
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_definition_waits_for_a_change_without_retrying() {
    let world = World::new().await;
    let backend = memory(&world);
    world
        .apply_value(machine(
            "broken",
            json!([
                {"name": "Start", "type": "Pass", "next": "Nowhere"},
                {"name": "End", "type": "Succeed"}
            ]),
        ))
        .await;
    let operator = RunningOperator::start(world.client.clone(), world.config(), backend.clone());
    let sm = world
        .wait_for::<StateMachine>("broken", TIMEOUT, |sm| {
            is(sm, "Ready", "False", "InvalidDefinition")
        })
        .await;
    let (_, _, message) = condition(&sm, "Ready").unwrap();
    assert!(
        message.contains("Start") && message.contains("Nowhere"),
        "{message}"
    );
    assert!(backend.machine_names().is_empty());
    let reasons = eventually(TIMEOUT, || async {
        let r = event_reasons(&world).await;
        r.iter().any(|r| r == "InvalidDefinition").then_some(r)
    })
    .await;
    assert!(reasons.is_some(), "an InvalidDefinition event is expected");

    // No retry storm: nothing happens until the spec changes.
    let reconciles = |text: &str| -> Option<String> {
        text.lines()
            .find(|l| l.starts_with("sfn_operator_reconciles_total{kind=\"StateMachine\"}"))
            .map(str::to_owned)
    };
    let before = reconciles(&operator.metrics.encode());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reconciles(&operator.metrics.encode()), before);
    let rv = world
        .api::<StateMachine>()
        .get("broken")
        .await
        .unwrap()
        .metadata
        .resource_version;

    // The fix is picked up at once.
    world
        .apply_value(machine(
            "broken",
            json!([
                {"name": "Start", "type": "Pass", "next": "End"},
                {"name": "End", "type": "Succeed"}
            ]),
        ))
        .await;
    let fixed = world
        .wait_for::<StateMachine>("broken", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;
    assert_ne!(fixed.metadata.resource_version, rv);
    let ready = fixed
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.observed_generation, fixed.metadata.generation);
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_health_and_metrics_report_the_lifecycle() {
    let world = World::new().await;
    let backend = memory(&world);
    world.apply_value(pass_machine("watched")).await;
    let operator = RunningOperator::start(world.client.clone(), world.config(), backend.clone());
    world
        .wait_for::<StateMachine>("watched", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;
    assert!(
        eventually(TIMEOUT, || async {
            operator.health.is_ready().then_some(())
        })
        .await
        .is_some(),
        "ready once the caches synced"
    );
    world
        .apply_value(machine(
            "watched",
            json!([{"name": "Hello", "type": "Pass", "result": {"v": 2}, "end": true}]),
        ))
        .await;
    world
        .wait_for::<StateMachine>("watched", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;
    world.delete::<StateMachine>("watched").await;
    world.wait_gone::<StateMachine>("watched", TIMEOUT).await;
    let reasons = eventually(TIMEOUT, || async {
        let r = event_reasons(&world).await;
        ["Created", "Updated", "Deleted"]
            .iter()
            .all(|want| r.iter().any(|got| got == want))
            .then_some(r)
    })
    .await;
    assert!(reasons.is_some(), "{:?}", event_reasons(&world).await);

    let metrics = operator.metrics.encode();
    assert!(
        metrics.contains("sfn_operator_reconcile_duration_seconds_count{kind=\"StateMachine\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sfn_operator_objects{kind=\"StateMachine\",ready=\"True\"} 0"),
        "the deleted object no longer counts: {metrics}"
    );
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_watched_namespaces_and_labels_are_reconciled() {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, PostParams};
    let world = World::new().await;
    let backend = memory(&world);
    let other = format!("{}-other", world.namespace);
    let ignored = format!("{}-ignored", world.namespace);
    for ns in [&other, &ignored] {
        Api::<Namespace>::all(world.client.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .expect("creating a namespace");
    }
    let labelled = |name: &str, ns: &str, team: &str| {
        let mut m = pass_machine(name);
        m["metadata"]["namespace"] = json!(ns);
        m["metadata"]["labels"] = json!({"team": team});
        m
    };
    let create = |value: Value| {
        let client = world.client.clone();
        async move {
            let ns = value["metadata"]["namespace"].as_str().unwrap().to_owned();
            Api::<StateMachine>::namespaced(client, &ns)
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(value).unwrap(),
                )
                .await
                .expect("creating a machine");
        }
    };
    create(labelled("a", &world.namespace, "payments")).await;
    create(labelled("b", &other, "payments")).await;
    create(labelled("c", &ignored, "payments")).await;
    create(labelled("d", &world.namespace, "search")).await;

    let mut config = world.config();
    config.namespaces = vec![world.namespace.clone(), other.clone()];
    config.label_selector = Some("team=payments".into());
    let operator = RunningOperator::start(world.client.clone(), config, backend.clone());
    let expected = vec![format!("{}-a", world.namespace), format!("{other}-b")];
    let reached = eventually(TIMEOUT, || async {
        let mut names = backend.machine_names();
        names.sort();
        (names == expected).then_some(())
    })
    .await;
    assert!(reached.is_some(), "{:?}", backend.machine_names());
    // Give the operator a chance to (wrongly) pick up the others.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut names = backend.machine_names();
    names.sort();
    assert_eq!(names, expected);
    let c = Api::<StateMachine>::namespaced(world.client.clone(), &ignored)
        .get("c")
        .await
        .unwrap();
    assert!(c.status.is_none() && c.metadata.finalizers.is_none());
    operator.stop().await;
    world.cleanup().await;
}

/// An AwsIdentity (cluster-scoped) named after the world's namespace, so that parallel tests on one cluster
/// never share one; it never sets `clusterDefault`, which would reach every other test's namespace.
async fn apply_identity(world: &World, suffix: &str, spec: Value) -> String {
    let name = format!("{}-{suffix}", world.namespace);
    let api: kube::Api<sfn_api::AwsIdentity> = kube::Api::all(world.client.clone());
    let doc = json!({
        "apiVersion": "sfn.operator.dev/v1alpha1",
        "kind": "AwsIdentity",
        "metadata": {"name": name},
        "spec": spec,
    });
    api.patch(
        &name,
        &PatchParams::apply("sfn-e2e").force(),
        &Patch::Apply(&doc),
    )
    .await
    .expect("applying an AwsIdentity");
    name
}

async fn delete_identity(world: &World, name: &str) {
    let api: kube::Api<sfn_api::AwsIdentity> = kube::Api::all(world.client.clone());
    let _ = api.delete(name, &Default::default()).await;
}

/// Per-namespace identities: the namespace's default identity puts its machines in that account and region
/// (shown in `status.identity`); an identity that does not allow the namespace is refused before anything
/// reaches AWS; an identity that cannot be assumed gives `IdentityUnavailable` naming the role and leaves the
/// other machines alone; deletion cleans up in the identity's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_object_is_reconciled_with_its_namespace_identity() {
    let world = World::new().await;
    let backend = memory(&world);
    let ns = world.namespace.clone();
    let team = apply_identity(
        &world,
        "team",
        json!({
            "region": "eu-west-1",
            "roleChain": [{"roleArn": "arn:aws:iam::222222222222:role/sfn-operator", "externalId": "ext-1"}],
            "namespaces": {"defaultFor": [ns]}
        }),
    )
    .await;
    let other = apply_identity(
        &world,
        "other",
        json!({"roleChain": [{"roleArn": "arn:aws:iam::333333333333:role/sfn-operator"}]}),
    )
    .await;
    let revoked = apply_identity(
        &world,
        "revoked",
        json!({
            "roleChain": [{"roleArn": "arn:aws:iam::444444444444:role/gone"}],
            "namespaces": {"allowed": [ns]}
        }),
    )
    .await;
    backend.grant_identity(&team, "eu-west-1", "222222222222");
    backend.grant_identity(&other, REGION_OTHER, "333333333333");

    world.apply_value(pass_machine("home")).await;
    let mut refused = pass_machine("refused");
    refused["spec"]["identityRef"] = json!({"name": other});
    world.apply_value(refused).await;
    let mut locked = pass_machine("locked");
    locked["spec"]["identityRef"] = json!({"name": revoked});
    world.apply_value(locked.clone()).await;
    let mut kept = locked;
    kept["metadata"]["name"] = json!("kept");
    kept["spec"]["deletionPolicy"] = json!("Retain");
    world.apply_value(kept).await;
    let operator = RunningOperator::start(world.client.clone(), world.config(), backend.clone());

    let home = world
        .wait_for::<StateMachine>("home", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;
    let status = home.status.clone().unwrap_or_default();
    let identity = status.identity.expect("status.identity");
    assert_eq!(identity.name.as_deref(), Some(team.as_str()));
    assert_eq!(identity.account_id, "222222222222");
    assert_eq!(identity.region, "eu-west-1");
    let aws_name = format!("{}home", world.aws_prefix());
    assert_eq!(
        status.state_machine_arn.as_deref(),
        Some(format!("arn:aws:states:eu-west-1:222222222222:stateMachine:{aws_name}").as_str())
    );
    let team_account = backend.identity(&team).expect("granted");
    let live = team_account
        .machine(&aws_name)
        .expect("in the team's account");
    let role = serde_json::to_string(&live.role).unwrap_or_default();
    assert!(
        role.contains("222222222222") && !role.contains(&world.account),
        "the role's ARNs and trust conditions name the identity's account: {role}"
    );

    let sm = world
        .wait_for::<StateMachine>("refused", TIMEOUT, |sm| {
            is(sm, "Ready", "False", "IdentityNotAllowed")
        })
        .await;
    let (_, _, message) = condition(&sm, "Ready").unwrap();
    assert!(
        message.contains(&other) && message.contains(&ns),
        "{message}"
    );
    let sm = world
        .wait_for::<StateMachine>("locked", TIMEOUT, |sm| {
            is(sm, "Ready", "False", "IdentityUnavailable")
        })
        .await;
    let (_, _, message) = condition(&sm, "Ready").unwrap();
    assert!(
        message.contains("arn:aws:iam::444444444444:role/gone"),
        "{message}"
    );
    assert!(
        backend.machine_names().is_empty(),
        "nothing lands in the operator's own account: {:?}",
        backend.machine_names()
    );
    assert_eq!(
        backend.identity(&other).map(|b| b.machine_names()),
        Some(vec![])
    );

    // Deleting an object whose deletion leaves AWS alone needs no credentials.
    world
        .wait_for::<StateMachine>("kept", TIMEOUT, |sm| {
            is(sm, "Ready", "False", "IdentityUnavailable")
        })
        .await;
    world.delete::<StateMachine>("kept").await;
    world.wait_gone::<StateMachine>("kept", TIMEOUT).await;

    // The identity comes back: the machine heals on the backoff retry.
    backend.grant_identity(&revoked, e2e_support::REGION, "444444444444");
    world
        .wait_for::<StateMachine>("locked", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;
    assert!(
        world
            .wait_for::<StateMachine>("home", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
            .await
            .status
            .is_some()
    );

    world.delete::<StateMachine>("home").await;
    world.wait_gone::<StateMachine>("home", TIMEOUT).await;
    assert!(
        team_account.machine(&aws_name).is_none(),
        "deleted in the team's account"
    );
    operator.stop().await;
    for name in [&team, &other, &revoked] {
        delete_identity(&world, name).await;
    }
    world.cleanup().await;
}

const REGION_OTHER: &str = "us-west-2";

/// `status.executions`: filled at the first reconcile, refreshed at resyncs, described once per failure, not
/// written again while the executions stay the same, and removed (with no more reads) when the object opts out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_are_summarised_in_status_and_an_unchanged_summary_is_not_written() {
    use sfn_plan::executions::Listed;
    let world = World::new().await;
    let backend = memory(&world);
    let mut config = world.config();
    // Resyncs every ~2 s, so that a few of them fit in the test.
    config.resync_period = Duration::from_secs(2);
    world.apply_value(pass_machine("sampled")).await;
    let operator = RunningOperator::start(world.client.clone(), config, backend.clone());
    let sm = world
        .wait_for::<StateMachine>("sampled", TIMEOUT, |sm| {
            sm.status.as_ref().is_some_and(|s| s.executions.is_some())
        })
        .await;
    let status = sm.status.clone().unwrap_or_default();
    let empty = status.executions.clone().unwrap_or_default();
    assert_eq!(
        (empty.running, empty.failures_last_hour, empty.read),
        (0, 0, 0)
    );
    assert_eq!(empty.last_started, None);
    let machine_arn = status.state_machine_arn.clone().unwrap_or_default();

    // One execution failed a minute ago, a newer one runs.
    let now = jiff::Timestamp::now();
    let execution = |name: &str, status: &str, start_min: i64, stop_min: Option<i64>| Listed {
        arn: format!(
            "{}:{name}",
            machine_arn.replace(":stateMachine:", ":execution:")
        ),
        name: name.into(),
        status: status.into(),
        start: now - jiff::SignedDuration::from_mins(start_min),
        stop: stop_min.map(|m| now - jiff::SignedDuration::from_mins(m)),
    };
    let failed = execution("nightly-41", "FAILED", 5, Some(1));
    backend.set_execution_detail(&failed.arn, "States.TaskFailed", "the job returned FAILED");
    backend.set_executions(
        &machine_arn,
        vec![execution("nightly-42", "RUNNING", 0, None), failed.clone()],
        false,
    );
    let sm = world
        .wait_for::<StateMachine>("sampled", TIMEOUT, |sm| {
            sm.status
                .as_ref()
                .and_then(|s| s.executions.as_ref())
                .is_some_and(|e| e.last_failed.is_some())
        })
        .await;
    let summary = sm.status.and_then(|s| s.executions).unwrap_or_default();
    assert_eq!(summary.running, 1);
    assert_eq!(summary.failures_last_hour, 1);
    assert!(!summary.truncated);
    assert_eq!(
        summary.last_started.map(|e| (e.name, e.status)),
        Some(("nightly-42".to_owned(), "RUNNING".to_owned()))
    );
    let last_failed = summary.last_failed.unwrap_or_default();
    assert_eq!(last_failed.name, "nightly-41");
    assert_eq!(last_failed.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(
        last_failed.cause.as_deref(),
        Some("the job returned FAILED")
    );

    // Several resyncs with the same executions: each lists them, none describes again or writes the status.
    let calls = |api: &str| backend.call_counts().get(api).copied().unwrap_or_default();
    let version_before = world
        .api::<StateMachine>()
        .get("sampled")
        .await
        .expect("reading the machine")
        .metadata
        .resource_version;
    let (listed_before, described_before) = (calls("ListExecutions"), calls("DescribeExecution"));
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        calls("ListExecutions") >= listed_before + 2,
        "resyncs sample: {:?}",
        backend.call_counts()
    );
    assert_eq!(
        calls("DescribeExecution"),
        described_before,
        "described once"
    );
    let version_after = world
        .api::<StateMachine>()
        .get("sampled")
        .await
        .expect("reading the machine")
        .metadata
        .resource_version;
    assert_eq!(
        version_before, version_after,
        "an unchanged summary writes nothing"
    );

    // Opting out removes the summary and stops the reads.
    let mut off = pass_machine("sampled");
    off["spec"]["executionSummary"] = json!("Disabled");
    world.apply_value(off).await;
    world
        .wait_for::<StateMachine>("sampled", TIMEOUT, |sm| {
            sm.status.as_ref().is_some_and(|s| {
                s.executions.is_none() && s.observed_generation == sm.metadata.generation
            })
        })
        .await;
    let listed_off = calls("ListExecutions");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        calls("ListExecutions"),
        listed_off,
        "no reads once disabled"
    );
    operator.stop().await;
    world.cleanup().await;
}

/// A StateMachine uses another namespace's TaskIntegration (and, through it, that namespace's Activity)
/// only once that namespace grants it: before, the reference is missing and nothing reaches AWS; after
/// the ReferenceGrant appears the machine is built against the other namespace's activity. The operator
/// watches all namespaces here, narrowed by a label to this test's objects (a real cluster is shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_into_another_namespace_needs_its_grant() {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, DeleteParams, PostParams};
    let world = World::new().await;
    let backend = memory(&world);
    let ns = world.namespace.clone();
    let shared = format!("{ns}-shared");
    let namespaces: Api<Namespace> = Api::all(world.client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": shared}})).unwrap(),
        )
        .await
        .expect("creating the second namespace");
    let label = json!({"sfn-e2e": ns});
    let apply = |kind: &'static str, namespace: &str, doc: Value| {
        let client = world.client.clone();
        let namespace = namespace.to_owned();
        async move {
            let name = doc["metadata"]["name"].as_str().unwrap().to_owned();
            let pp = PatchParams::apply("sfn-e2e").force();
            let patch = Patch::Apply(&doc);
            let result = match kind {
                "Activity" => Api::<sfn_api::Activity>::namespaced(client, &namespace)
                    .patch(&name, &pp, &patch)
                    .await
                    .map(|_| ()),
                "TaskIntegration" => {
                    Api::<sfn_api::TaskIntegration>::namespaced(client, &namespace)
                        .patch(&name, &pp, &patch)
                        .await
                        .map(|_| ())
                }
                "ReferenceGrant" => Api::<sfn_api::ReferenceGrant>::namespaced(client, &namespace)
                    .patch(&name, &pp, &patch)
                    .await
                    .map(|_| ()),
                _ => Api::<StateMachine>::namespaced(client, &namespace)
                    .patch(&name, &pp, &patch)
                    .await
                    .map(|_| ()),
            };
            result.unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
        }
    };
    let doc = |kind: &str, name: &str, spec: Value| {
        json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": kind,
            "metadata": {"name": name, "labels": label.clone()}, "spec": spec,
        })
    };
    apply("Activity", &shared, doc("Activity", "approve", json!({}))).await;
    apply(
        "TaskIntegration",
        &shared,
        doc(
            "TaskIntegration",
            "submit",
            json!({"activity": {"activityRef": {"name": "approve"}}}),
        ),
    )
    .await;
    apply(
        "StateMachine",
        &ns,
        doc(
            "StateMachine",
            "flow",
            json!({"definition": {"states": [
                {"name": "Approve", "type": "Task", "integration": format!("{shared}/submit"), "end": true}
            ]}}),
        ),
    )
    .await;
    let mut config = world.config();
    config.namespaces = Vec::new();
    config.label_selector = Some(format!("sfn-e2e={ns}"));
    let operator = RunningOperator::start(world.client.clone(), config, backend.clone());

    let sm = world
        .wait_for::<StateMachine>("flow", TIMEOUT, |sm| {
            is(sm, "Ready", "False", "ReferenceNotFound")
        })
        .await;
    let (_, _, message) = condition(&sm, "Ready").unwrap();
    assert!(message.contains(&format!("{shared}/submit")), "{message}");
    let flow = format!("{}flow", world.aws_prefix());
    assert!(backend.machine(&flow).is_none(), "nothing reaches AWS");

    apply(
        "ReferenceGrant",
        &shared,
        doc(
            "ReferenceGrant",
            "flow-may-submit",
            json!({"from": [{"namespace": ns}], "to": [{"kind": "TaskIntegration", "name": "submit"}]}),
        ),
    )
    .await;
    world
        .wait_for::<StateMachine>("flow", TIMEOUT, |sm| is(sm, "Ready", "True", "Compiled"))
        .await;
    let live = backend.machine(&flow).expect("created once granted");
    let resource = live.definition["States"]["Approve"]["Resource"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        resource.ends_with(&format!(":activity:{shared}-approve")),
        "the other namespace's activity: {resource}"
    );

    world.delete::<StateMachine>("flow").await;
    world.wait_gone::<StateMachine>("flow", TIMEOUT).await;
    // The activity's finalizer must be released while the operator runs, or the namespace could not go.
    let activities = Api::<sfn_api::Activity>::namespaced(world.client.clone(), &shared);
    let _ = activities.delete("approve", &DeleteParams::default()).await;
    let released = eventually(TIMEOUT, || {
        let activities = activities.clone();
        async move {
            activities
                .get_opt("approve")
                .await
                .ok()?
                .is_none()
                .then_some(())
        }
    })
    .await;
    assert!(released.is_some(), "the activity is cleaned up");
    operator.stop().await;
    let _ = namespaces.delete(&shared, &DeleteParams::default()).await;
    world.cleanup().await;
}
