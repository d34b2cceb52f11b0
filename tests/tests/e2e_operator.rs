//! End-to-end: Kubernetes objects in, live AWS resources out, with the operator running in-process against
//! the test API server (or a real cluster with `SFN_TEST_KUBECONFIG`) and the AWS emulator.

mod e2e_support;

use std::collections::BTreeSet;
use std::time::Duration;

use e2e_support::{RunningOperator, World, eventually};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use sfn_api::{Activity, StateMachine, TaskIntegration};

const TIMEOUT: Duration = Duration::from_secs(90);

fn ready(sm: &StateMachine) -> bool {
    sm.status.as_ref().is_some_and(|s| {
        s.observed_generation == sm.metadata.generation
            && s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status.as_str() == "True")
    })
}

fn ready_reason(sm: &StateMachine) -> Option<(String, String, String)> {
    let s = sm.status.as_ref()?;
    if s.observed_generation != sm.metadata.generation {
        return None;
    }
    s.conditions.iter().find(|c| c.type_ == "Ready").map(|c| {
        (
            c.status.as_str().to_owned(),
            c.reason.clone(),
            c.message.clone(),
        )
    })
}

/// An example manifest from `examples/`, exactly as users apply it (the test moves it into its namespace).
fn example(file: &str) -> String {
    let path = e2e_support::workspace_root().join("examples").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

async fn live_definition(world: &World, arn: &str) -> Option<Value> {
    let sfn = aws_sdk_sfn::Client::new(&world.sdk);
    let out = sfn
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .ok()?;
    if out.status().map(|s| s.as_str()) == Some("DELETING") {
        return None;
    }
    serde_json::from_str(out.definition()).ok()
}

async fn role_policy_text(world: &World, role_name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&world.sdk);
    let names = iam
        .list_role_policies()
        .role_name(role_name)
        .send()
        .await
        .expect("listing role policies");
    let mut text = String::new();
    for name in names.policy_names() {
        let doc = iam
            .get_role_policy()
            .role_name(role_name)
            .policy_name(name)
            .send()
            .await
            .expect("reading a role policy");
        let decoded = percent_decode(doc.policy_document());
        text.push_str(&decoded);
    }
    text
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn role_name_of(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or_default().to_owned()
}

async fn patch_spec<K>(world: &World, name: &str, patch: Value)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    world
        .api::<K>()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("patching {name}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_poller_lifecycle_follows_the_objects() {
    let world = World::new().await;
    world.apply_yaml(&example("job-poller.yaml")).await;
    world.apply_yaml(&example("activity.yaml")).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);

    // Ready, with ARNs in status.
    let sm = world
        .wait_for::<StateMachine>("job-poller", TIMEOUT, ready)
        .await;
    let status = sm.status.clone().unwrap();
    let arn = status.state_machine_arn.clone().expect("state machine ARN");
    let role_arn = status.role_arn.clone().expect("role ARN");
    assert!(
        arn.ends_with(&format!(":stateMachine:{}job-poller", world.aws_prefix())),
        "{arn}"
    );
    assert!(role_arn.contains(":role/sfn-operator/"), "{role_arn}");
    assert_eq!(status.alarm_names.len(), 3, "{status:?}");
    assert!(status.definition_hash.is_some());
    let submit = world
        .wait_for::<TaskIntegration>("submit-job", TIMEOUT, |t| {
            t.status
                .as_ref()
                .and_then(|s| s.resource.as_deref())
                .is_some()
        })
        .await;
    let submit_status = submit.status.unwrap();
    // The job poller calls its functions directly (payloadResponseOnly): the Resource is the function ARN.
    assert_eq!(
        submit_status.resource.as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:SubmitJob")
    );
    assert!(
        submit_status
            .iam_statements
            .iter()
            .any(|s| s.contains("lambda:InvokeFunction") && s.contains("function:SubmitJob")),
        "{:?}",
        submit_status.iam_statements
    );

    // The Activity: its ARN flows through the TaskIntegration into the machine that uses it.
    let act = world
        .wait_for::<Activity>("manual-approval", TIMEOUT, |a| {
            a.status
                .as_ref()
                .and_then(|s| s.activity_arn.as_ref())
                .is_some()
        })
        .await;
    let activity_arn = act.status.unwrap().activity_arn.unwrap();
    world
        .wait_for::<TaskIntegration>("approve", TIMEOUT, |t| {
            t.status.as_ref().and_then(|s| s.resource.as_deref()) == Some(activity_arn.as_str())
        })
        .await;
    let approval = world
        .wait_for::<StateMachine>("approval", TIMEOUT, ready)
        .await;
    let approval_arn = approval.status.unwrap().state_machine_arn.unwrap();
    let approval_def = live_definition(&world, &approval_arn)
        .await
        .expect("live approval machine");
    assert_eq!(
        approval_def["States"]["Wait For Approval"]["Resource"],
        json!(activity_arn)
    );

    // AWS has the machine, its role and policy, and the alarms.
    let definition = live_definition(&world, &arn).await.expect("live machine");
    assert_eq!(
        definition["States"]["Submit Job"]["Resource"],
        "arn:aws:lambda:us-east-1:123456789012:function:SubmitJob"
    );
    let policy = role_policy_text(&world, &role_name_of(&role_arn)).await;
    assert!(policy.contains("lambda:InvokeFunction"), "{policy}");
    assert!(policy.contains("function:SubmitJob"), "{policy}");
    let cw = aws_sdk_cloudwatch::Client::new(&world.sdk);
    let alarms = cw
        .describe_alarms()
        .set_alarm_names(Some(status.alarm_names.clone()))
        .send()
        .await
        .expect("describing alarms");
    assert_eq!(alarms.metric_alarms().len(), 3);
    assert!(
        alarms
            .metric_alarms()
            .iter()
            .any(|a| a.metric_name() == Some("ExecutionsFailed"))
    );

    // Edit the definition: AWS follows.
    patch_spec::<StateMachine>(
        &world,
        "job-poller",
        json!({"spec": {"definition": {"comment": "Job poller v2"}}}),
    )
    .await;
    let found = eventually(TIMEOUT, || async {
        live_definition(&world, &arn)
            .await
            .filter(|d| d["Comment"] == "Job poller v2")
    })
    .await;
    assert!(
        found.is_some(),
        "the live definition did not follow the edit"
    );
    world
        .wait_for::<StateMachine>("job-poller", TIMEOUT, ready)
        .await;

    // Change a TaskIntegration's ARN: definition and policy follow.
    patch_spec::<TaskIntegration>(
        &world,
        "submit-job",
        json!({"spec": {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:SubmitJobV2"}}}),
    )
    .await;
    let found = eventually(TIMEOUT, || async {
        live_definition(&world, &arn).await.filter(|d| {
            d["States"]["Submit Job"]["Resource"]
                == "arn:aws:lambda:us-east-1:123456789012:function:SubmitJobV2"
        })
    })
    .await;
    assert!(
        found.is_some(),
        "the definition did not follow the TaskIntegration"
    );
    let policy = eventually(TIMEOUT, || async {
        let p = role_policy_text(&world, &role_name_of(&role_arn)).await;
        p.contains("function:SubmitJobV2").then_some(p)
    })
    .await;
    assert!(
        policy.is_some(),
        "the role policy did not follow the TaskIntegration"
    );

    // An invalid definition: Ready=False naming the state, and the live machine untouched.
    world
        .wait_for::<StateMachine>("job-poller", TIMEOUT, ready)
        .await;
    let before = live_definition(&world, &arn).await.expect("live machine");
    let mut states = serde_json::to_value(&sm.spec.definition.as_ref().unwrap().states).unwrap();
    states[1]["next"] = json!("Nowhere");
    patch_spec::<StateMachine>(
        &world,
        "job-poller",
        json!({"spec": {"definition": {"comment": "Job poller v2", "states": states}}}),
    )
    .await;
    let sm = world
        .wait_for::<StateMachine>("job-poller", TIMEOUT, |sm| {
            ready_reason(sm).is_some_and(|(status, _, _)| status == "False")
        })
        .await;
    let (_, reason, message) = ready_reason(&sm).unwrap();
    assert_eq!(reason, "InvalidDefinition", "{message}");
    assert!(message.contains("Wait X Seconds"), "{message}");
    assert!(message.contains("Nowhere"), "{message}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(live_definition(&world, &arn).await, Some(before));

    // Delete: AWS cleaned, object gone.
    world.delete::<StateMachine>("job-poller").await;
    world.wait_gone::<StateMachine>("job-poller", TIMEOUT).await;
    assert_eq!(live_definition(&world, &arn).await, None);
    let iam = aws_sdk_iam::Client::new(&world.sdk);
    assert!(
        iam.get_role()
            .role_name(role_name_of(&role_arn))
            .send()
            .await
            .is_err(),
        "the role should be gone"
    );
    let alarms = cw
        .describe_alarms()
        .set_alarm_names(Some(status.alarm_names.clone()))
        .send()
        .await
        .expect("describing alarms");
    assert!(alarms.metric_alarms().is_empty());

    // Deleting the Activity removes it from AWS, and the machine using it reports the missing reference.
    world.delete::<Activity>("manual-approval").await;
    world
        .wait_gone::<Activity>("manual-approval", TIMEOUT)
        .await;
    let sfn = aws_sdk_sfn::Client::new(&world.sdk);
    assert!(
        sfn.describe_activity()
            .activity_arn(&activity_arn)
            .send()
            .await
            .is_err(),
        "the activity should be gone"
    );
    let approval = world
        .wait_for::<StateMachine>("approval", TIMEOUT, |sm| {
            ready_reason(sm).is_some_and(|(status, reason, _)| {
                status == "False" && reason == "ReferenceNotFound"
            })
        })
        .await;
    let (_, _, message) = ready_reason(&approval).unwrap();
    assert!(message.contains("manual-approval"), "{message}");

    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_machine_follows_its_child_arn() {
    let world = World::new().await;
    world.apply_yaml(&example("nested-task-token.yaml")).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let child = world
        .wait_for::<StateMachine>("child", TIMEOUT, ready)
        .await;
    let child_arn = child.status.unwrap().state_machine_arn.unwrap();
    let parent = world
        .wait_for::<StateMachine>("parent", TIMEOUT, ready)
        .await;
    let parent_arn = parent.status.unwrap().state_machine_arn.unwrap();
    let definition = live_definition(&world, &parent_arn)
        .await
        .expect("live parent");
    assert_eq!(
        definition["States"]["ChildTask"]["Resource"],
        "arn:aws:states:::states:startExecution.waitForTaskToken"
    );
    assert_eq!(
        definition["States"]["ChildTask"]["Parameters"]["StateMachineArn"],
        json!(child_arn)
    );
    operator.stop().await;
    world.cleanup().await;
}

/// `examples/rollout.yaml` with the alias checkout starts missing from orders: checkout waits with
/// `ReferenceNotFound` naming the alias, and declaring the alias on orders is enough for checkout to be
/// created starting it, with a role limited to that alias. The version and alias calls moto does not serve
/// are answered by the stand-in in front of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_of_an_alias_waits_for_it_and_then_starts_it() {
    let world = World::new().await;
    let upstream = e2e_support::aws_endpoint()
        .trim_start_matches("http://")
        .parse()
        .expect("the emulator listens on an IP address");
    let versions = sfn_test_support::sfn_versions_standin::VersionsStandIn::start(upstream)
        .await
        .expect("starting the version and alias stand-in");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(e2e_support::REGION))
        .endpoint_url(versions.url())
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "testing", "testing", None, None, "e2e",
        ))
        .load()
        .await;
    let backend: std::sync::Arc<dyn sfn_controller::backend::AwsBackend> = std::sync::Arc::new(
        sfn_controller::backend::AwsSdkBackend::from_sdk_config(&sdk)
            .await
            .expect("AWS clients for the stand-in"),
    );
    let manifest = example("rollout.yaml");
    assert!(manifest.contains("    - name: live\n"), "{manifest}");
    world
        .apply_yaml(&manifest.replace("    - name: live\n", "    - name: prod\n"))
        .await;
    let operator = RunningOperator::start(world.client.clone(), world.config(), backend);

    let orders = world
        .wait_for::<StateMachine>("orders", TIMEOUT, ready)
        .await;
    let orders_arn = orders.status.unwrap().state_machine_arn.unwrap();
    // Before `orders` has its ARN the caller may first wait for the machine itself; the alias is what it
    // waits for once the machine exists.
    let waiting = world
        .wait_for::<StateMachine>("checkout", TIMEOUT, |sm| {
            ready_reason(sm).is_some_and(|(status, reason, message)| {
                status == "False"
                    && reason == "ReferenceNotFound"
                    && message.contains("spec.stepFunctions.alias")
            })
        })
        .await;
    let (_, _, message) = ready_reason(&waiting).unwrap();
    assert!(
        message.contains("spec.stepFunctions.alias")
            && message.contains("StateMachine \"orders\" declares no alias \"live\""),
        "{message}"
    );
    assert!(waiting.status.unwrap().state_machine_arn.is_none());

    patch_spec::<StateMachine>(
        &world,
        "orders",
        json!({"spec": {"aliases": [{"name": "live", "version": "latest"}]}}),
    )
    .await;
    let checkout = world
        .wait_for::<StateMachine>("checkout", TIMEOUT, ready)
        .await;
    let status = checkout.status.unwrap();
    let definition = live_definition(&world, status.state_machine_arn.as_deref().unwrap())
        .await
        .expect("live checkout");
    assert_eq!(
        definition["States"]["Place Order"]["Parameters"]["StateMachineArn"],
        json!(format!("{orders_arn}:live"))
    );
    let policy = role_policy_text(&world, &role_name_of(&status.role_arn.unwrap())).await;
    assert!(
        policy.contains("states:StateMachineQualifier") && policy.contains("\"live\""),
        "{policy}"
    );
    operator.stop().await;
    drop(versions);
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_changes_are_put_back() {
    let world = World::new().await;
    world.apply_value(small_machine("drifty", "Delete")).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let sm = world
        .wait_for::<StateMachine>("drifty", TIMEOUT, ready)
        .await;
    let arn = sm.status.unwrap().state_machine_arn.unwrap();
    let original = live_definition(&world, &arn).await.expect("live machine");

    // Someone edits the machine in the console.
    let sfn = aws_sdk_sfn::Client::new(&world.sdk);
    let mut tampered = original.clone();
    tampered["Comment"] = json!("edited by hand");
    sfn.update_state_machine()
        .state_machine_arn(&arn)
        .definition(tampered.to_string())
        .send()
        .await
        .expect("out-of-band update");
    assert_eq!(
        live_definition(&world, &arn).await.unwrap()["Comment"],
        "edited by hand"
    );

    // The periodic resync is ten minutes away: ask for an immediate reconcile.
    patch_spec::<StateMachine>(
        &world,
        "drifty",
        json!({"metadata": {"annotations": {"sfn.operator.dev/reconcile-requested-at": "2026-01-01T00:00:00Z"}}}),
    )
    .await;
    let restored = eventually(TIMEOUT, || async {
        live_definition(&world, &arn)
            .await
            .filter(|d| *d == original)
    })
    .await;
    assert!(restored.is_some(), "the drift was not put back");
    let sm = world
        .wait_for::<StateMachine>("drifty", TIMEOUT, |sm| {
            ready_reason(sm).is_some_and(|(_, reason, _)| reason == "DriftCorrected")
        })
        .await;
    assert!(ready(&sm));
    let metrics = operator.metrics.encode();
    assert!(
        metrics.contains("sfn_operator_drift_corrections_total{kind=\"StateMachine\"} 1"),
        "{metrics}"
    );
    operator.stop().await;
    world.cleanup().await;
}

fn small_machine(name: &str, policy: &str) -> Value {
    json!({
        "apiVersion": "sfn.operator.dev/v1alpha1",
        "kind": "StateMachine",
        "metadata": {"name": name},
        "spec": {
            "deletionPolicy": policy,
            "definition": {"states": [
                {"name": "Hello", "type": "Pass", "result": {"hello": name}},
                {"name": "Done", "type": "Succeed"}
            ]}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_keeps_aws_resources_after_deletion() {
    let world = World::new().await;
    world.apply_value(small_machine("kept", "Retain")).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let sm = world.wait_for::<StateMachine>("kept", TIMEOUT, ready).await;
    let arn = sm.status.unwrap().state_machine_arn.unwrap();
    world.delete::<StateMachine>("kept").await;
    world.wait_gone::<StateMachine>("kept", TIMEOUT).await;
    assert!(
        live_definition(&world, &arn).await.is_some(),
        "Retain must leave the state machine in AWS"
    );
    operator.stop().await;
    world.cleanup().await;
}

async fn live_machine_names(world: &World) -> Vec<String> {
    let sfn = aws_sdk_sfn::Client::new(&world.sdk);
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let out = sfn
            .list_state_machines()
            .set_next_token(token)
            .send()
            .await
            .expect("listing state machines");
        names.extend(
            out.state_machines()
                .iter()
                .map(|m| m.name().to_owned())
                .filter(|n| n.starts_with(&world.aws_prefix())),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_in_the_middle_converges_without_duplicates() {
    let world = World::new().await;
    const N: usize = 12;
    for i in 0..N {
        world
            .apply_value(small_machine(&format!("m{i}"), "Delete"))
            .await;
    }
    let first = RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    // Let it get somewhere, then cut it off mid-flight, as a killed pod would be.
    eventually(Duration::from_secs(30), || async {
        let calls: u64 = first.backend.call_counts().values().sum();
        (calls > 5).then_some(())
    })
    .await;
    first.kill();

    let second =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    for i in 0..N {
        world
            .wait_for::<StateMachine>(&format!("m{i}"), TIMEOUT, ready)
            .await;
    }
    let names = live_machine_names(&world).await;
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), N, "{names:?}");
    assert_eq!(unique.len(), N, "{names:?}");
    let iam = aws_sdk_iam::Client::new(&world.sdk);
    let roles = iam
        .list_roles()
        .path_prefix("/sfn-operator/")
        .send()
        .await
        .expect("listing roles");
    let ours = roles
        .roles()
        .iter()
        .filter(|r| r.role_name().starts_with(&world.aws_prefix()))
        .count();
    assert_eq!(ours, N);
    second.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_cluster_makes_no_writes() {
    let world = World::new().await;
    world.apply_value(small_machine("idle", "Delete")).await;
    let mut config = world.config();
    config.resync_period = Duration::from_secs(1);
    let operator = RunningOperator::start(world.client.clone(), config, world.backend().await);
    let sm = world.wait_for::<StateMachine>("idle", TIMEOUT, ready).await;
    // Let the post-creation reconciles settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sm_before = world.api::<StateMachine>().get("idle").await.unwrap();
    let writes = |op: &RunningOperator| -> u64 {
        op.backend
            .call_counts()
            .iter()
            .filter(|(api, _)| !sfn_aws::limiter::is_read_api(api))
            .map(|(_, n)| n)
            .sum()
    };
    let writes_before = writes(&operator);
    let reads_before: u64 = operator.backend.call_counts().values().sum();
    // Several resync periods.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let sm_after = world.api::<StateMachine>().get("idle").await.unwrap();
    assert_eq!(
        sm_before.metadata.resource_version, sm_after.metadata.resource_version,
        "an idle resync must not write the object"
    );
    assert_eq!(
        writes(&operator),
        writes_before,
        "{:?}",
        operator.backend.call_counts()
    );
    let reads_after: u64 = operator.backend.call_counts().values().sum();
    assert!(reads_after > reads_before, "resyncs should have read AWS");
    assert!(sm.status.is_some());
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_elect_one_leader() {
    use sfn_controller::leader::LeaderConfig;
    let world = World::new().await;
    world.apply_value(small_machine("led", "Delete")).await;
    let backend = world.backend().await;
    let start = |identity: &str| {
        let mut config = world.config();
        let mut leader = LeaderConfig::new("sfn-operator-e2e", &world.namespace, identity);
        leader.lease_duration_secs = 6;
        leader.grace_secs = 2;
        config.leader = Some(leader);
        config.instance = identity.to_owned();
        RunningOperator::start(world.client.clone(), config, backend.clone())
    };
    let a = start("replica-a");
    let b = start("replica-b");
    let one_leader = eventually(Duration::from_secs(30), || async {
        (a.health.is_leading() ^ b.health.is_leading()).then_some(())
    })
    .await;
    assert!(one_leader.is_some(), "exactly one replica should lead");
    world.wait_for::<StateMachine>("led", TIMEOUT, ready).await;
    // Both stay consistent for a while: never two leaders.
    for _ in 0..20 {
        assert!(!(a.health.is_leading() && b.health.is_leading()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (leader, standby) = if a.health.is_leading() {
        (a, b)
    } else {
        (b, a)
    };
    let lease: k8s_openapi::api::coordination::v1::Lease = world
        .api()
        .get("sfn-operator-e2e")
        .await
        .expect("the lease");
    assert!(lease.spec.and_then(|s| s.holder_identity).is_some());
    leader.stop().await;
    let took_over = eventually(Duration::from_secs(30), || async {
        standby.health.is_leading().then_some(())
    })
    .await;
    assert!(took_over.is_some(), "the standby should take over");
    standby.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_reports_the_version_arn() {
    let world = World::new().await;
    let mut m = small_machine("versioned", "Delete");
    m["spec"]["publish"] = json!(true);
    m["spec"]["versionDescription"] = json!("first");
    world.apply_value(m).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let sm = world
        .wait_for::<StateMachine>("versioned", TIMEOUT, |sm| {
            ready(sm) && sm.status.as_ref().is_some_and(|s| s.version_arn.is_some())
        })
        .await;
    let status = sm.status.unwrap();
    let version = status.version_arn.unwrap();
    let arn = status.state_machine_arn.unwrap();
    assert!(
        version.starts_with(&format!("{arn}:")),
        "{version} is a version of {arn}"
    );
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_an_activity_leaves_no_orphan() {
    let world = World::new().await;
    let activity = |aws_name: Option<&str>| {
        let mut a = json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "Activity",
            "metadata": {"name": "worker"},
            "spec": {}
        });
        if let Some(n) = aws_name {
            a["spec"]["name"] = json!(n);
        }
        a
    };
    world.apply_value(activity(None)).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let arn_of = |a: &Activity| a.status.as_ref().and_then(|s| s.activity_arn.clone());
    let first = world
        .wait_for::<Activity>("worker", TIMEOUT, |a| arn_of(a).is_some())
        .await;
    let old_arn = arn_of(&first).unwrap();
    let sfn = aws_sdk_sfn::Client::new(&world.sdk);
    assert!(
        sfn.describe_activity()
            .activity_arn(&old_arn)
            .send()
            .await
            .is_ok()
    );
    let new_name = format!("{}renamed", world.aws_prefix());
    world.apply_value(activity(Some(&new_name))).await;
    let renamed = world
        .wait_for::<Activity>("worker", TIMEOUT, |a| {
            arn_of(a).is_some_and(|arn| arn.ends_with(&format!(":activity:{new_name}")))
        })
        .await;
    let new_arn = arn_of(&renamed).unwrap();
    assert!(
        sfn.describe_activity()
            .activity_arn(&new_arn)
            .send()
            .await
            .is_ok()
    );
    assert!(
        sfn.describe_activity()
            .activity_arn(&old_arn)
            .send()
            .await
            .is_err(),
        "the activity under the old name must be gone"
    );
    operator.stop().await;
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_a_state_machine_replaces_it_without_orphans() {
    let world = World::new().await;
    world.apply_value(small_machine("movable", "Delete")).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let sm = world
        .wait_for::<StateMachine>("movable", TIMEOUT, ready)
        .await;
    let old_arn = sm.status.unwrap().state_machine_arn.unwrap();
    let new_name = format!("{}moved", world.aws_prefix());
    let mut renamed = small_machine("movable", "Delete");
    renamed["spec"]["name"] = json!(new_name);
    world.apply_value(renamed.clone()).await;
    // A new AWS name means a new machine: refused until replacement is allowed, and nothing is touched.
    let refused = world
        .wait_for::<StateMachine>("movable", TIMEOUT, |sm| {
            ready_reason(sm).is_some_and(|(status, _, _)| status == "False")
        })
        .await;
    let (_, _, message) = ready_reason(&refused).unwrap();
    assert!(message.contains("allow"), "{message}");
    assert!(live_definition(&world, &old_arn).await.is_some());
    renamed["metadata"]["annotations"] = json!({"sfn.operator.dev/allow-replacement": "true"});
    world.apply_value(renamed).await;
    let sm = world
        .wait_for::<StateMachine>("movable", TIMEOUT, |sm| {
            ready(sm)
                && sm
                    .status
                    .as_ref()
                    .and_then(|s| s.state_machine_arn.as_deref())
                    .is_some_and(|a| a.ends_with(&format!(":stateMachine:{new_name}")))
        })
        .await;
    let new_arn = sm.status.unwrap().state_machine_arn.unwrap();
    assert!(live_definition(&world, &new_arn).await.is_some());
    let gone = eventually(TIMEOUT, || async {
        live_definition(&world, &old_arn)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "the machine under the old name must be deleted"
    );
    let names = live_machine_names(&world).await;
    assert_eq!(names, vec![new_name.clone()], "exactly one machine is left");
    let iam = aws_sdk_iam::Client::new(&world.sdk);
    let roles: Vec<String> = iam
        .list_roles()
        .path_prefix("/sfn-operator/")
        .send()
        .await
        .expect("listing roles")
        .roles()
        .iter()
        .map(|r| r.role_name().to_owned())
        .filter(|n| n.starts_with(&world.aws_prefix()))
        .collect();
    assert_eq!(
        roles,
        vec![sfn_api::naming::regional_role_name(
            "",
            &new_name,
            e2e_support::REGION
        )],
        "the old role must not be left behind"
    );
    operator.stop().await;
    world.cleanup().await;
}

fn warnings(sm: &StateMachine) -> Vec<String> {
    sm.status
        .as_ref()
        .map(|s| s.warnings.clone())
        .unwrap_or_default()
}

/// `--aws-validate` against moto, which does not implement ValidateStateMachineDefinition: the machine is
/// created and Ready as without the flag, the status says the validation was skipped, and resyncs of the
/// unchanged definition do not ask again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_validation_unavailable_leaves_the_machine_ready_with_a_warning() {
    let world = World::new().await;
    world.apply_value(small_machine("checked", "Delete")).await;
    let mut config = world.config();
    config.aws_validate = true;
    config.resync_period = Duration::from_secs(1);
    let operator = RunningOperator::start(world.client.clone(), config, world.backend().await);
    let sm = world
        .wait_for::<StateMachine>("checked", TIMEOUT, ready)
        .await;
    let warned = warnings(&sm);
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("AWS validation skipped: ")
                && w.contains("sfn:ValidateStateMachineDefinition")),
        "{warned:?}"
    );
    let arn = sm.status.unwrap().state_machine_arn.unwrap();
    assert!(live_definition(&world, &arn).await.is_some());
    // Several resync periods: the answer is remembered.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let calls = operator.backend.call_counts();
    assert_eq!(
        calls.get("sfn:ValidateStateMachineDefinition"),
        Some(&1),
        "{calls:?}"
    );
    operator.stop().await;
    world.cleanup().await;
}

/// AWS's FAIL (here from the in-memory backend, as moto cannot give one) stops the apply like an
/// invalid definition found offline, naming AWS's codes and locations; nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_rejection_is_an_invalid_definition_and_nothing_is_applied() {
    use sfn_controller::backend::memory::InMemoryBackend;
    use sfn_controller::backend::{AwsBackend, DefinitionReview};
    let world = World::new().await;
    world.apply_value(small_machine("refused", "Delete")).await;
    let mut config = world.config();
    config.aws_validate = true;
    let backend = std::sync::Arc::new(InMemoryBackend::new(
        &config.aws.region,
        &config.aws.account_id,
    ));
    backend.set_review(DefinitionReview::Rejected {
        errors: vec![
            "MISSING_TRANSITION_TARGET at /States/Hello/Next: Missing 'Next' target".into(),
        ],
        warnings: vec![],
    });
    let operator = RunningOperator::start(world.client.clone(), config, backend.clone());
    let sm = world
        .wait_for::<StateMachine>("refused", TIMEOUT, |sm| ready_reason(sm).is_some())
        .await;
    let (status, reason, message) = ready_reason(&sm).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidDefinition")
    );
    assert!(
        message.contains("MISSING_TRANSITION_TARGET at /States/Hello/Next"),
        "{message}"
    );
    assert!(backend.machine_names().is_empty(), "nothing is applied");
    let calls = backend.call_counts();
    assert_eq!(
        calls.get("ValidateStateMachineDefinition"),
        Some(&1),
        "{calls:?}"
    );
    assert_eq!(calls.get("ReconcileStateMachine"), None, "{calls:?}");
    operator.stop().await;
    world.cleanup().await;
}

fn role_covers(sm: &StateMachine) -> Option<(String, String)> {
    let s = sm.status.as_ref()?;
    if s.observed_generation != sm.metadata.generation {
        return None;
    }
    s.conditions
        .iter()
        .find(|c| c.type_ == "RoleCoversDefinition")
        .map(|c| (c.status.as_str().to_owned(), c.reason.clone()))
}

/// A bring-your-own role lacking one permission: the machine is Ready all the same, `status.iam` names the
/// missing action and `RoleCoversDefinition` is False; resyncs do not read the role again; once the policy
/// is granted in IAM, a requested reconcile audits again and the condition turns True.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bring_your_own_role_is_audited_against_the_definition() {
    let world = World::new().await;
    let iam = aws_sdk_iam::Client::new(&world.sdk);
    let role_name = format!("{}byo", world.aws_prefix());
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role_arn = iam
        .create_role()
        .role_name(&role_name)
        .path("/apps/")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("role created")
        .role()
        .expect("a role")
        .arn()
        .to_owned();
    // Lambda is allowed through an attached managed policy (wildcards, another case); SNS is not.
    let invoke = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["LAMBDA:Invoke*"], "Resource": "arn:aws:lambda:*:*:function:work*"}]});
    let policy_arn = iam
        .create_policy()
        .policy_name(format!("{}invoke", world.aws_prefix()))
        .policy_document(invoke.to_string())
        .send()
        .await
        .expect("policy created")
        .policy()
        .and_then(|p| p.arn())
        .expect("a policy ARN")
        .to_owned();
    iam.attach_role_policy()
        .role_name(&role_name)
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("policy attached");

    let account = &world.account;
    let topic = format!("arn:aws:sns:us-east-1:{account}:done");
    let definition = json!({"StartAt": "Notify", "States": {
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": topic, "Message": "hi"}, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": format!("arn:aws:lambda:us-east-1:{account}:function:work"),
                "Payload": {}}, "End": true}
    }});
    world
        .apply_value(json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "byo"},
            "spec": {"roleArn": role_arn, "definitionJson": definition.to_string()}
        }))
        .await;
    let mut config = world.config();
    config.resync_period = Duration::from_secs(1);
    let operator = RunningOperator::start(world.client.clone(), config, world.backend().await);

    let sm = world
        .wait_for::<StateMachine>("byo", TIMEOUT, |sm| ready(sm) && role_covers(sm).is_some())
        .await;
    assert_eq!(
        role_covers(&sm),
        Some(("False".to_owned(), "MissingPermissions".to_owned()))
    );
    let status = sm.status.clone().unwrap();
    assert_eq!(status.role_arn.as_deref(), Some(role_arn.as_str()));
    let audit = status.iam.expect("status.iam");
    assert!(audit.audited, "{audit:?}");
    let missing: Vec<(&str, &str)> = audit
        .missing
        .iter()
        .map(|m| (m.action.as_str(), m.resource.as_str()))
        .collect();
    assert_eq!(missing, [("sns:Publish", topic.as_str())], "{audit:?}");
    assert_eq!(audit.missing[0].needed_by, ["state Notify"]);
    assert_eq!(audit.missing_count, 1);

    // Several resyncs: the audit is remembered, the role is not read again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let calls = operator.backend.call_counts();
    assert_eq!(calls.get("iam:ListRolePolicies"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("iam:GetPolicyVersion"), Some(&1), "{calls:?}");

    // Granted in IAM; a requested reconcile audits again.
    let publish = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sns:Publish", "Resource": "arn:aws:sns:*:*:done",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]});
    iam.put_role_policy()
        .role_name(&role_name)
        .policy_name("publish")
        .policy_document(publish.to_string())
        .send()
        .await
        .expect("inline policy put");
    patch_spec::<StateMachine>(
        &world,
        "byo",
        json!({"metadata": {"annotations": {"sfn.operator.dev/reconcile-requested-at": "now"}}}),
    )
    .await;
    let sm = world
        .wait_for::<StateMachine>("byo", TIMEOUT, |sm| {
            role_covers(sm).is_some_and(|(s, _)| s == "True")
        })
        .await;
    assert_eq!(
        role_covers(&sm),
        Some(("True".to_owned(), "PermissionsCovered".to_owned()))
    );
    assert!(ready(&sm));
    let audit = sm.status.unwrap().iam.expect("status.iam");
    assert!(
        audit.missing.is_empty() && audit.missing_count == 0,
        "{audit:?}"
    );
    operator.stop().await;
    world.cleanup().await;
}

/// Clients for the account of `role_arn`, assumed from the test's own credentials (moto assumes any role
/// and answers in the role's account).
async fn sfn_as(world: &World, role_arn: &str) -> aws_sdk_sfn::Client {
    let sts = aws_sdk_sts::Client::new(&world.sdk);
    let assumed = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("e2e")
        .send()
        .await
        .expect("AssumeRole");
    let c = assumed.credentials().expect("credentials");
    let credentials = aws_sdk_sfn::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "e2e",
    );
    aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&world.sdk)
            .credentials_provider(credentials)
            .build(),
    )
}

async fn machine_names(sfn: &aws_sdk_sfn::Client) -> Vec<String> {
    sfn.list_state_machines()
        .send()
        .await
        .expect("ListStateMachines")
        .state_machines()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// The namespace's AwsIdentity through the real AWS layer: the operator assumes the identity's role, the
/// machine and its role land in that account (status.identity says so), not in the operator's, and the
/// deletion cleans up there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_identity_puts_its_machines_in_its_account() {
    let world = World::new().await;
    let ns = world.namespace.clone();
    // An account of this test's own, from its namespace.
    let digits: String = ns
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .rev()
        .take(11)
        .collect();
    let team = format!("9{digits:0>11}");
    assert_ne!(team, world.account);
    let role = format!("arn:aws:iam::{team}:role/sfn-operator-team");
    let identities: kube::Api<sfn_api::AwsIdentity> = kube::Api::all(world.client.clone());
    let identity = format!("{ns}-team");
    identities
        .patch(
            &identity,
            &PatchParams::apply("sfn-e2e").force(),
            &Patch::Apply(&json!({
                "apiVersion": "sfn.operator.dev/v1alpha1",
                "kind": "AwsIdentity",
                "metadata": {"name": identity},
                "spec": {
                    "roleChain": [{"roleArn": role, "externalId": "e2e-ext"}],
                    "namespaces": {"defaultFor": [ns]}
                }
            })),
        )
        .await
        .expect("applying the AwsIdentity");
    world.apply_value(small_machine("tenant", "Delete")).await;
    let operator =
        RunningOperator::start(world.client.clone(), world.config(), world.backend().await);
    let sm = world
        .wait_for::<StateMachine>("tenant", TIMEOUT, ready)
        .await;
    let status = sm.status.unwrap();
    let recorded = status.identity.expect("status.identity");
    assert_eq!(recorded.name.as_deref(), Some(identity.as_str()));
    assert_eq!(recorded.account_id, team);
    let arn = status.state_machine_arn.unwrap();
    assert!(arn.contains(&format!(":{team}:stateMachine:")), "{arn}");
    assert!(
        status
            .role_arn
            .as_deref()
            .is_some_and(|r| r.starts_with(&format!("arn:aws:iam::{team}:role/"))),
        "{:?}",
        status.role_arn
    );
    let name = format!("{}tenant", world.aws_prefix());
    let in_team = sfn_as(&world, &role).await;
    assert!(machine_names(&in_team).await.contains(&name));
    let own = aws_sdk_sfn::Client::new(&world.sdk);
    assert!(
        !machine_names(&own).await.contains(&name),
        "nothing in the operator's own account"
    );

    world.delete::<StateMachine>("tenant").await;
    world.wait_gone::<StateMachine>("tenant", TIMEOUT).await;
    let gone = eventually(TIMEOUT, || {
        let in_team = in_team.clone();
        let arn = arn.clone();
        async move {
            match in_team
                .describe_state_machine()
                .state_machine_arn(&arn)
                .send()
                .await
            {
                Err(_) => Some(()),
                Ok(out) => (out.status().map(|s| s.as_str()) == Some("DELETING")).then_some(()),
            }
        }
    })
    .await;
    assert!(gone.is_some(), "deleted in the team's account");
    operator.stop().await;
    let _ = identities.delete(&identity, &Default::default()).await;
    world.cleanup().await;
}
