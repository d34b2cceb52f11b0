//! An independent client, kubectl (client-go), against the API server: discovery, server-side apply of a CRD,
//! `wait --for=condition=Established`, server-side and client-side apply (strict field validation done by
//! the server), get with printer columns, merge patch and delete of custom resources. Needs the
//! kubectl that `scripts/test` installs; runs against `SFN_TEST_KUBECONFIG` when set.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sfn_operator_tests::cluster::TestCluster;
use sfn_operator_tests::fixtures::{self, GROUP, PLURAL};

fn kubectl_path() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/kubectl");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs the test tools into .tools/)",
        path.display()
    );
    path
}

struct Kubectl {
    bin: PathBuf,
    target: Vec<String>,
    dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(cluster: &TestCluster) -> Self {
        let target = vec![
            "--kubeconfig".to_string(),
            cluster.kubeconfig_path().to_string_lossy().to_string(),
        ];
        Kubectl {
            bin: kubectl_path(),
            target,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new(&self.bin)
            .args(&self.target)
            .args(args)
            .output()
            .await
            .expect("running kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs kubectl expecting it to fail; returns its error output.
    async fn fail(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new(&self.bin)
            .args(&self.target)
            .args(args)
            .output()
            .await
            .expect("running kubectl");
        assert!(!out.status.success(), "kubectl {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    fn file(&self, name: &str, v: &Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        path.to_string_lossy().to_string()
    }
}

#[tokio::test]
async fn kubectl_manages_custom_resources() {
    let cluster = TestCluster::start().await;
    let k = Kubectl::new(&cluster);
    let ns = cluster.namespace.as_str();
    let version = k.run(&["version", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&version).unwrap();
    assert!(v["serverVersion"]["major"].is_string(), "{version}");
    let crd = k.file("crd.json", &fixtures::widget_crd());
    k.run(&["apply", "--server-side", "--force-conflicts", "-f", &crd])
        .await;
    let crd_name = format!("{PLURAL}.{GROUP}");
    k.run(&[
        "wait",
        "--for=condition=Established",
        &format!("crd/{crd_name}"),
        "--timeout=30s",
    ])
    .await;
    let resources = k
        .run(&["api-resources", "--api-group", GROUP, "-o", "name"])
        .await;
    assert!(resources.contains(&crd_name), "{resources}");
    let widget = k.file("widget.json", &fixtures::widget("k", 2));
    k.run(&["apply", "--server-side", "-n", ns, "-f", &widget])
        .await;
    // Client-side apply: kubectl learns from /openapi/v3 that the server validates fields itself.
    let second = k.file("second.json", &fixtures::widget("k2", 1));
    k.run(&["apply", "-n", ns, "-f", &second]).await;
    let mut bogus = fixtures::widget("k3", 1);
    bogus["spec"]["bogus"] = json!(1);
    let bogus = k.file("bogus.json", &bogus);
    let err = k.fail(&["apply", "-n", ns, "-f", &bogus]).await;
    assert!(err.contains("unknown field \"spec.bogus\""), "{err}");
    let got: Value =
        serde_json::from_str(&k.run(&["get", PLURAL, "k", "-n", ns, "-o", "json"]).await).unwrap();
    assert_eq!(
        got["spec"],
        json!({"size": 2, "mode": "STANDARD", "nested": {"enabled": false}})
    );
    k.run(&[
        "patch",
        PLURAL,
        "k",
        "-n",
        ns,
        "--type=merge",
        "-p",
        r#"{"spec":{"size":3}}"#,
    ])
    .await;
    let generation = k
        .run(&[
            "get",
            PLURAL,
            "k",
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.generation}",
        ])
        .await;
    assert_eq!(generation, "2");
    // The in-process kubeconfig's context defaults to the test namespace.
    if cluster.server.is_some() {
        assert!(k.run(&["get", PLURAL, "-o", "name"]).await.contains("k"));
    }
    let listed = k.run(&["get", "wd", "-A", "-o", "name"]).await;
    assert!(listed.contains("k"), "short names resolve: {listed}");
    k.run(&[
        "delete",
        PLURAL,
        "k",
        "k2",
        "-n",
        ns,
        "--wait=true",
        "--timeout=30s",
    ])
    .await;
    let after = k.run(&["get", PLURAL, "-n", ns, "-o", "name"]).await;
    assert!(after.trim().is_empty(), "{after}");
    cluster.cleanup().await;
}

#[tokio::test]
async fn kubectl_prints_the_operator_crds_columns() {
    let cluster = TestCluster::start().await;
    let k = Kubectl::new(&cluster);
    let ns = cluster.namespace.as_str();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let crds = root.join("crds");
    k.run(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &crds.to_string_lossy(),
    ])
    .await;
    k.run(&[
        "wait",
        "--for=condition=Established",
        "crd/statemachines.sfn.operator.dev",
        "--timeout=30s",
    ])
    .await;
    let sm = json!({
        "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine",
        "metadata": {"name": "printed"},
        "spec": {"type": "EXPRESS", "definition": {"states": [{"name": "Done", "type": "Succeed"}]}}
    });
    let file = k.file("sm.json", &sm);
    k.run(&["apply", "--server-side", "-n", ns, "-f", &file])
        .await;
    let printed = k.run(&["get", "statemachines", "-n", ns]).await;
    let header = printed.lines().next().unwrap_or_default().to_string();
    assert!(
        header.contains("TYPE") && header.contains("READY"),
        "printer columns: {printed}"
    );
    assert!(printed.contains("EXPRESS"), "{printed}");
    cluster.cleanup().await;
}
