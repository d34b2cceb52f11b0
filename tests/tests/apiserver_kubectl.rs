//! An independent client, kubectl (client-go), against the API server: discovery, server-side apply of a CRD,
//! `wait --for=condition=Established`, apply, get, merge patch and delete of a custom resource. Needs the
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
    k.run(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "--validate=false",
        "-f",
        &crd,
    ])
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
    k.run(&[
        "apply",
        "--server-side",
        "--validate=false",
        "-n",
        ns,
        "-f",
        &widget,
    ])
    .await;
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
