//! The admission webhook end to end, through the real kubectl: an invalid StateMachine is refused at
//! `kubectl apply` with the object, state and field named, `--dry-run=server` refuses it too and stores
//! nothing, a valid one is admitted, and warnings (a TaskIntegration that does not exist yet) are printed.
//!
//! Runs against the test API server, or the cluster in `SFN_TEST_KUBECONFIG` (whose API server must reach
//! the webhook on `SFN_TEST_WEBHOOK_HOST`, see `sfn_operator_tests::webhook`). Needs `.tools/bin/kubectl`.

mod e2e_support;

use std::path::{Path, PathBuf};

use sfn_operator_tests::cluster::TestCluster;
use sfn_operator_tests::webhook::{HOOK_NAME, TestWebhook};

fn kubectl_path() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/kubectl");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs the test tools into .tools/)",
        path.display()
    );
    path
}

/// What one kubectl run printed.
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn kubectl(cluster: &TestCluster, args: &[&str]) -> Out {
    let out = tokio::process::Command::new(kubectl_path())
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .args(["--namespace", &cluster.namespace])
        .args(args)
        .output()
        .await
        .expect("running kubectl");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn manifest(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing a manifest");
    path.to_string_lossy().into_owned()
}

const BROKEN: &str = "\
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata:
  name: broken
spec:
  definition:
    states:
      - name: Start
        type: Pass
        next: Nowhere
      - name: Done
        type: Succeed
";

const HELLO: &str = "\
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata:
  name: hello
spec:
  definition:
    states:
      - name: Hello
        type: Pass
        end: true
";

const CALLER: &str = "\
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata:
  name: caller
spec:
  definition:
    states:
      - name: Call
        type: Task
        integration: submit-job
        end: true
";

const INTEGRATION: &str = "\
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata:
  name: submit-job
spec:
  lambda:
    functionArn: arn:aws:lambda:us-east-1:123456789012:function:SubmitJob
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_is_refused_warned_or_admitted_by_the_webhook() {
    let cluster = TestCluster::start().await;
    e2e_support::install_crds(&cluster.client).await;
    let hook = TestWebhook::start(&cluster.client, &cluster.namespace).await;
    let dir = tempfile::tempdir().unwrap();
    let ns = cluster.namespace.clone();

    // Refused, naming the webhook, the object, the state and the field.
    let broken = manifest(dir.path(), "broken.yaml", BROKEN);
    let out = kubectl(&cluster, &["apply", "-f", &broken]).await;
    assert!(
        !out.ok,
        "an invalid StateMachine was admitted: {}",
        out.stdout
    );
    let expected = format!(
        "admission webhook \"{HOOK_NAME}\" denied the request: StateMachine {ns}/broken: state \"Start\", field Next"
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(
        out.stderr.contains("Error from server (Forbidden)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Nowhere"), "{}", out.stderr);
    println!(
        "kubectl apply of an invalid StateMachine printed:\n{}",
        out.stderr
    );

    // A server-side dry run asks the webhook too, and stores nothing either way.
    let out = kubectl(&cluster, &["apply", "--dry-run=server", "-f", &broken]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    let hello = manifest(dir.path(), "hello.yaml", HELLO);
    let out = kubectl(&cluster, &["apply", "--dry-run=server", "-f", &hello]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.contains("(server dry run)"), "{}", out.stdout);
    for name in ["broken", "hello"] {
        let out = kubectl(&cluster, &["get", "statemachine", name]).await;
        assert!(!out.ok, "{name} was stored by a dry run");
        assert!(
            out.stderr.contains("NotFound") || out.stderr.contains("not found"),
            "{}",
            out.stderr
        );
    }

    // Admitted, without warnings.
    let out = kubectl(&cluster, &["apply", "-f", &hello]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(!out.stderr.contains("Warning"), "{}", out.stderr);
    assert!(
        kubectl(&cluster, &["get", "statemachine", "hello"])
            .await
            .ok
    );

    // A reference to a TaskIntegration that does not exist yet is a warning; once it exists, none.
    let caller = manifest(dir.path(), "caller.yaml", CALLER);
    let out = kubectl(&cluster, &["apply", "-f", &caller]).await;
    assert!(out.ok, "{}", out.stderr);
    let warning = format!(
        "Warning: StateMachine {ns}/caller: TaskIntegration \"submit-job\" does not exist in namespace \"{ns}\" yet"
    );
    assert!(out.stderr.contains(&warning), "{}", out.stderr);
    let integration = manifest(dir.path(), "integration.yaml", INTEGRATION);
    assert!(kubectl(&cluster, &["apply", "-f", &integration]).await.ok);
    let edited = manifest(
        dir.path(),
        "caller-2.yaml",
        &CALLER.replace("end: true", "end: true\n        comment: edited"),
    );
    let out = kubectl(&cluster, &["apply", "-f", &edited]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(!out.stderr.contains("Warning"), "{}", out.stderr);

    // An edit that breaks a stored object is refused, and the stored object stays as it was.
    let out = kubectl(
        &cluster,
        &[
            "apply",
            "-f",
            &manifest(
                dir.path(),
                "hello-broken.yaml",
                &BROKEN.replace("name: broken", "name: hello"),
            ),
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains(&format!("StateMachine {ns}/hello: state \"Start\"")),
        "{}",
        out.stderr
    );
    let out = kubectl(
        &cluster,
        &[
            "get",
            "statemachine",
            "hello",
            "-o",
            "jsonpath={.spec.definition.states[0].name}",
        ],
    )
    .await;
    assert_eq!(out.stdout, "Hello");

    // spec.identityRef: an AwsIdentity that does not exist yet is a warning; one that does not allow the
    // namespace is refused, and the object is not stored.
    let identity = format!("{ns}-team");
    let tenant = |name: &str| {
        HELLO
            .replace("name: hello", &format!("name: {name}"))
            .replace(
                "spec:\n",
                &format!("spec:\n  identityRef:\n    name: {identity}\n"),
            )
    };
    let out = kubectl(
        &cluster,
        &[
            "apply",
            "-f",
            &manifest(dir.path(), "early.yaml", &tenant("early")),
        ],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    let warning = format!(
        "Warning: StateMachine {ns}/early: field spec.identityRef: AwsIdentity \"{identity}\" does not exist yet"
    );
    assert!(out.stderr.contains(&warning), "{}", out.stderr);
    let other_team = format!(
        "apiVersion: sfn.operator.dev/v1alpha1\nkind: AwsIdentity\nmetadata:\n  name: {identity}\nspec:\n  namespaces:\n    defaultFor: [{ns}-other]\n"
    );
    let identity_file = manifest(dir.path(), "identity.yaml", &other_team);
    let out = kubectl(&cluster, &["apply", "-f", &identity_file]).await;
    assert!(out.ok, "{}", out.stderr);
    let out = kubectl(
        &cluster,
        &[
            "apply",
            "-f",
            &manifest(dir.path(), "late.yaml", &tenant("late")),
        ],
    )
    .await;
    assert!(!out.ok, "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "StateMachine {ns}/late: field spec.identityRef: AwsIdentity \"{identity}\" does not allow namespace \"{ns}\""
        )),
        "{}",
        out.stderr
    );
    assert!(!kubectl(&cluster, &["get", "statemachine", "late"]).await.ok);
    assert!(
        kubectl(&cluster, &["delete", "-f", &identity_file])
            .await
            .ok
    );

    hook.stop().await;
    cluster.cleanup().await;
}
