//! The Helm chart (`charts/sfn-operator`), rendered by the real `helm template` with the default values and
//! with `ci/namespaced-values.yaml`, applies to the test API server the way `helm install` applies it to a
//! cluster: every object is accepted under the scope discovery reports and reads back as rendered. On top of
//! that, the properties a reviewer looks for in the rendered objects: a locked-down Deployment with probes on
//! the operator's endpoints, RBAC limited to the operator's kinds (cluster-wide or per watched namespace) with
//! leases only in the release namespace, and the IRSA annotation on the ServiceAccount.
//!
//! A plain client-side `kubectl apply` of the same render is accepted too, and is a no-op the second time.
//!
//! Needs `.tools/bin/helm` and `.tools/bin/kubectl` (installed by `scripts/test`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use serde_json::{Value, json};
use sfn_operator_tests::apiserver::TestApiServer;
use sfn_operator_tests::cluster::install_crd;

const RELEASE: &str = "sfn-operator";
const RELEASE_NS: &str = "sfn-system";
const FIELD_MANAGER: &str = "helm";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn chart_dir() -> PathBuf {
    workspace_root().join("charts/sfn-operator")
}

fn helm() -> PathBuf {
    let path = workspace_root().join(".tools/bin/helm");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs helm into .tools/)",
        path.display()
    );
    path
}

fn yaml_docs(text: &str, origin: &str) -> Vec<Value> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("{origin}: {e}"));
    docs.into_iter().filter(|d| d.is_object()).collect()
}

/// `helm template` of the chart into the release namespace, with an optional values file (relative to the
/// chart).
fn render(values: Option<&str>) -> Vec<Value> {
    render_with(values, &[])
}

/// [`render`] with extra `--set key=value` overrides.
fn render_with(values: Option<&str>, sets: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(helm());
    cmd.arg("template")
        .arg(RELEASE)
        .arg(chart_dir())
        .args(["--namespace", RELEASE_NS]);
    if let Some(v) = values {
        cmd.arg("--values").arg(chart_dir().join(v));
    }
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.output().expect("running helm template");
    assert!(
        out.status.success(),
        "helm template ({values:?}) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = yaml_docs(
        &String::from_utf8_lossy(&out.stdout),
        "helm template output",
    );
    assert!(!docs.is_empty(), "helm template rendered nothing");
    docs
}

fn values_file(name: &str) -> Value {
    let path = chart_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A stand-in for the Prometheus Operator's ServiceMonitor CRD: only its names matter to the chart.
fn service_monitor_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    })
}

fn kind_of(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name_of(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace_of(doc: &Value) -> Option<&str> {
    doc["metadata"]["namespace"].as_str()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind_of(d) == kind).collect()
}

fn one_of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(docs, kind);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {kind}, got {found:#?}"
    );
    found[0]
}

/// Whether every field of `expected` is in `actual` with the same value (the server adds defaults and
/// metadata, so read-back objects are a superset of what was applied).
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| contains(av, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| contains(x, y))
        }
        // YAML renders small numbers as integers and the server may hand them back as floats.
        (Value::Number(a), Value::Number(e)) => a.as_f64() == e.as_f64(),
        (a, e) => a == e,
    }
}

/// A server with the chart's CRDs, the ServiceMonitor CRD and the namespaces the rendered objects live in.
async fn server_for(docs: &[Value]) -> TestApiServer {
    let server = TestApiServer::start().await;
    let client = server.client();
    install_crd(&client, &service_monitor_crd())
        .await
        .expect("the ServiceMonitor CRD fixture installs");
    let crd_dir = chart_dir().join("crds");
    let mut crd_files: Vec<PathBuf> = std::fs::read_dir(&crd_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", crd_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    crd_files.sort();
    assert!(!crd_files.is_empty(), "no CRDs in {}", crd_dir.display());
    for f in crd_files {
        let text = std::fs::read_to_string(&f).unwrap();
        for crd in yaml_docs(&text, &f.display().to_string()) {
            install_crd(&client, &crd)
                .await
                .unwrap_or_else(|e| panic!("{} does not install: {e}", f.display()));
        }
    }
    let namespaces: BTreeSet<&str> = docs.iter().filter_map(namespace_of).collect();
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for ns in namespaces {
        let obj = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        ns_api
            .create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {ns}: {e}"));
    }
    server
}

/// The API for a rendered object, resolved through discovery as kubectl and helm do; the object's scope
/// must agree with the one discovery reports.
fn api_for(client: &kube::Client, discovery: &Discovery, doc: &Value) -> Api<DynamicObject> {
    let (group, version) = match doc["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .split_once('/')
    {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            doc["apiVersion"].as_str().unwrap().to_string(),
        ),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, kind_of(doc));
    let (ar, caps): (ApiResource, _) = discovery
        .resolve_gvk(&gvk)
        .unwrap_or_else(|| panic!("the server does not serve {gvk:?} ({})", name_of(doc)));
    match (caps.scope, namespace_of(doc)) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        (Scope::Cluster, None) => Api::all_with(client.clone(), &ar),
        (scope, ns) => panic!(
            "{} {} is rendered with namespace {ns:?}, but the server serves the kind as {scope:?}",
            kind_of(doc),
            name_of(doc)
        ),
    }
}

/// Applies every rendered object (server-side apply, as `helm install --server-side` and `kubectl apply
/// --server-side` do) and checks each one reads back with the rendered content.
async fn apply_all(docs: &[Value]) -> TestApiServer {
    let server = server_for(docs).await;
    let client = server.client();
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let pp = PatchParams::apply(FIELD_MANAGER);
    for doc in docs {
        let api = api_for(&client, &discovery, doc);
        api.patch(name_of(doc), &pp, &Patch::Apply(doc))
            .await
            .unwrap_or_else(|e| panic!("{} {} was rejected: {e}", kind_of(doc), name_of(doc)));
    }
    for doc in docs {
        let api = api_for(&client, &discovery, doc);
        let back = api.get(name_of(doc)).await.unwrap_or_else(|e| {
            panic!("{} {} does not read back: {e}", kind_of(doc), name_of(doc))
        });
        let back = serde_json::to_value(back).unwrap();
        for (key, value) in doc.as_object().unwrap() {
            if key == "status" {
                continue;
            }
            assert!(
                contains(&back[key], value),
                "{} {}: {key} reads back as {:#} instead of {value:#}",
                kind_of(doc),
                name_of(doc),
                back[key]
            );
        }
    }
    server
}

#[tokio::test]
async fn the_chart_with_default_values_applies() {
    let docs = render(None);
    let kinds: BTreeSet<&str> = docs.iter().map(kind_of).collect();
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
    ] {
        assert!(
            kinds.contains(kind),
            "the default render has no {kind}: {kinds:?}"
        );
    }
    apply_all(&docs).await;
}

#[tokio::test]
async fn the_chart_with_namespaced_values_applies() {
    let docs = render(Some("ci/namespaced-values.yaml"));
    let kinds: BTreeSet<&str> = docs.iter().map(kind_of).collect();
    assert!(
        kinds.contains("ServiceMonitor"),
        "the namespaced values enable the ServiceMonitor: {kinds:?}"
    );
    let server = apply_all(&docs).await;
    // Readable back through a list too, in every namespace the chart writes to.
    let client = server.client();
    let roles: Api<k8s_openapi::api::rbac::v1::Role> = Api::all(client);
    let listed: BTreeSet<(String, String)> = roles
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.metadata.namespace.unwrap(), r.metadata.name.unwrap()))
        .collect();
    let rendered: BTreeSet<(String, String)> = of_kind(&docs, "Role")
        .iter()
        .map(|r| (namespace_of(r).unwrap().to_string(), name_of(r).to_string()))
        .collect();
    assert_eq!(listed, rendered);
}

fn deployment_checks(docs: &[Value]) {
    let d = one_of_kind(docs, "Deployment");
    let pod = &d["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one container: the operator");
    let c = &containers[0];
    let non_root = c["securityContext"]["runAsNonRoot"] == json!(true)
        || pod["securityContext"]["runAsNonRoot"] == json!(true);
    assert!(non_root, "the operator must run as non-root: {pod:#}");
    if let Some(uid) = pod["securityContext"]["runAsUser"].as_i64() {
        assert_ne!(uid, 0, "runAsUser 0 contradicts runAsNonRoot");
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], json!(true), "{sc:#}");
    assert_eq!(sc["allowPrivilegeEscalation"], json!(false), "{sc:#}");
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{sc:#}");
    assert!(
        sc["capabilities"].get("add").is_none(),
        "no capabilities are added back: {sc:#}"
    );
    for part in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            assert!(
                c["resources"][part][res].is_string() || c["resources"][part][res].is_number(),
                "resources.{part}.{res} is missing: {:#}",
                c["resources"]
            );
        }
    }
    let port_names: Vec<&str> = c["ports"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], json!(path), "{probe}: {:#}", c[probe]);
        let port = &get["port"];
        let served = match port {
            Value::String(name) => port_names.contains(&name.as_str()),
            other => c["ports"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| &p["containerPort"] == other)),
        };
        assert!(
            served,
            "{probe} targets port {port}, which the container does not expose"
        );
    }
    // The probes and the metrics Service reach the port the operator listens on.
    let args: Vec<&str> = c["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let addr = args
        .iter()
        .find_map(|a| a.strip_prefix("--metrics-addr="))
        .expect("--metrics-addr in the args");
    let listen_port: i64 = addr.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        c["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["containerPort"] == json!(listen_port) && p["name"] == json!("metrics")),
        "the metrics container port is the one in --metrics-addr ({addr})"
    );
    let sa = one_of_kind(docs, "ServiceAccount");
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
}

#[test]
fn the_deployment_is_locked_down_and_probed_with_default_values() {
    deployment_checks(&render(None));
}

#[test]
fn the_deployment_is_locked_down_and_probed_with_namespaced_values() {
    let docs = render(Some("ci/namespaced-values.yaml"));
    deployment_checks(&docs);
    let values = values_file("ci/namespaced-values.yaml");
    let c = &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["resources"], values["resources"]);
    let env: Vec<(&str, &str)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?)))
        .collect();
    assert!(env.contains(&("AWS_REGION", values["aws"]["region"].as_str().unwrap())));
    assert!(env.contains(&(
        "AWS_ENDPOINT_URL",
        values["aws"]["endpointUrl"].as_str().unwrap()
    )));
}

/// `(apiGroup, resource)` pairs a set of rules grants, with the verbs of each.
fn grants(rules: &Value) -> BTreeSet<(String, String, Vec<String>)> {
    let mut out = BTreeSet::new();
    for r in rules.as_array().expect("rules") {
        assert!(
            r.get("nonResourceURLs").is_none(),
            "the operator needs no non-resource URLs: {r}"
        );
        let strings = |k: &str| -> Vec<String> {
            r[k].as_array()
                .unwrap_or_else(|| panic!("rule without {k}: {r}"))
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let mut verbs = strings("verbs");
        verbs.sort();
        for list in [strings("apiGroups"), strings("resources"), verbs.clone()] {
            assert!(!list.iter().any(|s| s == "*"), "wildcard in rule {r}");
        }
        for g in strings("apiGroups") {
            for res in strings("resources") {
                out.insert((g.clone(), res, verbs.clone()));
            }
        }
    }
    out
}

/// The resources the operator works on in the namespaces it watches: its three kinds with their status and
/// finalizers subresources, and events in both API groups.
fn operator_resources() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for kind in ["statemachines", "taskintegrations", "activities"] {
        for sub in ["", "/status", "/finalizers"] {
            out.insert(("sfn.operator.dev".to_string(), format!("{kind}{sub}")));
        }
    }
    // Read only: the operator never writes ReferenceGrants.
    out.insert((
        "sfn.operator.dev".to_string(),
        "referencegrants".to_string(),
    ));
    out.insert((String::new(), "events".to_string()));
    out.insert(("events.k8s.io".to_string(), "events".to_string()));
    out
}

fn resources_of(g: &BTreeSet<(String, String, Vec<String>)>) -> BTreeSet<(String, String)> {
    g.iter().map(|(a, r, _)| (a.clone(), r.clone())).collect()
}

fn check_operator_rules(rules: &Value, where_: &str) {
    let g = grants(rules);
    assert_eq!(resources_of(&g), operator_resources(), "{where_}");
    for (group, res, verbs) in &g {
        let allowed: &[&str] = if res == "referencegrants" {
            &["get", "list", "watch"]
        } else if group == "sfn.operator.dev" && !res.contains('/') {
            // The operator reads, watches and patches its objects (finalizers); users create and delete them.
            &["get", "list", "watch", "patch", "update"]
        } else if res.ends_with("/status") {
            &["get", "patch", "update"]
        } else if res.ends_with("/finalizers") {
            &["update"]
        } else {
            &["create", "patch"]
        };
        for v in verbs {
            assert!(
                allowed.contains(&v.as_str()),
                "{where_}: verb {v} on {group}/{res} goes beyond what the operator needs"
            );
        }
    }
    let watch = g
        .iter()
        .find(|(grp, r, _)| grp == "sfn.operator.dev" && r == "statemachines")
        .unwrap();
    for v in ["get", "list", "watch", "patch"] {
        assert!(
            watch.2.iter().any(|x| x == v),
            "{where_}: statemachines need {v}"
        );
    }
}

/// The leader election Role: leases only, only in the release namespace, bound to the operator's account.
fn check_leases(docs: &[Value], sa: &str) {
    let lease_roles: Vec<&Value> = docs
        .iter()
        .filter(|d| matches!(kind_of(d), "Role" | "ClusterRole"))
        .filter(|d| grants(&d["rules"]).iter().any(|(_, r, _)| r == "leases"))
        .collect();
    assert_eq!(
        lease_roles.len(),
        1,
        "one role grants leases: {lease_roles:#?}"
    );
    let role = lease_roles[0];
    assert_eq!(
        kind_of(role),
        "Role",
        "leases are granted by a namespaced Role"
    );
    assert_eq!(namespace_of(role), Some(RELEASE_NS));
    assert_eq!(
        resources_of(&grants(&role["rules"])),
        BTreeSet::from([("coordination.k8s.io".to_string(), "leases".to_string())])
    );
    let binding = of_kind(docs, "RoleBinding")
        .into_iter()
        .find(|b| b["roleRef"]["name"] == role["metadata"]["name"])
        .expect("a RoleBinding for the leader election Role");
    assert_eq!(namespace_of(binding), Some(RELEASE_NS));
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": sa, "namespace": RELEASE_NS}])
    );
}

/// The webhook's roles name the objects they grant (one Secret, one webhook configuration); the operator's
/// roles grant whole resource types.
fn is_webhook_role(doc: &Value) -> bool {
    doc["rules"]
        .as_array()
        .is_some_and(|rules| rules.iter().all(|r| r.get("resourceNames").is_some()))
}

/// The documents of `kind` that are not the webhook's own RBAC.
fn operator_rbac<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    of_kind(docs, kind)
        .into_iter()
        .filter(|d| {
            !is_webhook_role(d)
                && !name_of(d).ends_with("-webhook-tls")
                && !name_of(d).ends_with("-webhook-ca")
                && !name_of(d).ends_with("-identities")
        })
        .collect()
}

/// Reading AwsIdentities (cluster-scoped) is the one cluster-wide right of every install, watched
/// namespaces or not, and it is read-only.
#[test]
fn every_install_may_read_aws_identities_and_nothing_more_cluster_wide() {
    for values in [None, Some("ci/namespaced-values.yaml")] {
        let docs = render(values);
        let sa = name_of(one_of_kind(&docs, "ServiceAccount")).to_string();
        let roles: Vec<&Value> = of_kind(&docs, "ClusterRole")
            .into_iter()
            .filter(|d| name_of(d).ends_with("-identities"))
            .collect();
        assert_eq!(roles.len(), 1, "{values:?}: {roles:#?}");
        assert_eq!(
            grants(&roles[0]["rules"]),
            BTreeSet::from([(
                "sfn.operator.dev".to_string(),
                "awsidentities".to_string(),
                vec!["get".to_string(), "list".to_string(), "watch".to_string()]
            )]),
            "{values:?}"
        );
        let binding = of_kind(&docs, "ClusterRoleBinding")
            .into_iter()
            .find(|b| b["roleRef"]["name"] == roles[0]["metadata"]["name"])
            .expect("a binding of the identities role");
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": sa, "namespace": RELEASE_NS}])
        );
    }
}

#[test]
fn default_rbac_is_one_cluster_role_for_the_operator_kinds() {
    let docs = render(None);
    let sa = name_of(one_of_kind(&docs, "ServiceAccount")).to_string();
    let crs = operator_rbac(&docs, "ClusterRole");
    assert_eq!(crs.len(), 1, "{crs:#?}");
    let cr = crs[0];
    check_operator_rules(&cr["rules"], "ClusterRole");
    let crbs = operator_rbac(&docs, "ClusterRoleBinding");
    assert_eq!(crbs.len(), 1, "{crbs:#?}");
    let crb = crbs[0];
    assert_eq!(crb["roleRef"]["name"], cr["metadata"]["name"]);
    assert_eq!(crb["roleRef"]["kind"], json!("ClusterRole"));
    assert_eq!(
        crb["subjects"],
        json!([{"kind": "ServiceAccount", "name": sa, "namespace": RELEASE_NS}])
    );
    check_leases(&docs, &sa);
}

#[test]
fn namespaced_rbac_is_one_role_per_watched_namespace() {
    let docs = render(Some("ci/namespaced-values.yaml"));
    let values = values_file("ci/namespaced-values.yaml");
    let sa = name_of(one_of_kind(&docs, "ServiceAccount")).to_string();
    assert_eq!(sa, values["serviceAccount"]["name"].as_str().unwrap());
    // Cluster-wide, only the one webhook configuration the operator injects its CA into (a cluster-scoped kind).
    assert!(
        operator_rbac(&docs, "ClusterRole").is_empty(),
        "no cluster-wide rights"
    );
    assert!(operator_rbac(&docs, "ClusterRoleBinding").is_empty());
    let watched: BTreeSet<&str> = values["operator"]["watchNamespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let operator_roles: Vec<&Value> = operator_rbac(&docs, "Role")
        .into_iter()
        .filter(|r| {
            !grants(&r["rules"])
                .iter()
                .any(|(_, res, _)| res == "leases")
        })
        .collect();
    let role_namespaces: BTreeSet<&str> = operator_roles
        .iter()
        .filter_map(|r| namespace_of(r))
        .collect();
    assert_eq!(role_namespaces, watched);
    assert_eq!(operator_roles.len(), watched.len());
    for role in operator_roles {
        let ns = namespace_of(role).unwrap();
        check_operator_rules(&role["rules"], &format!("Role in {ns}"));
        let binding = of_kind(&docs, "RoleBinding")
            .into_iter()
            .find(|b| {
                namespace_of(b) == Some(ns) && b["roleRef"]["name"] == role["metadata"]["name"]
            })
            .unwrap_or_else(|| panic!("no RoleBinding for the Role in {ns}"));
        assert_eq!(binding["roleRef"]["kind"], json!("Role"));
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": sa, "namespace": RELEASE_NS}])
        );
    }
    check_leases(&docs, &sa);
    // The operator is told to watch exactly those namespaces, with its own Lease.
    let args =
        &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"];
    let flag_namespaces: BTreeSet<&str> = args
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str()?.strip_prefix("--namespace="))
        .collect();
    assert_eq!(flag_namespaces, watched);
    let lease = format!(
        "--lease-name={}",
        values["leaderElection"]["leaseName"].as_str().unwrap()
    );
    assert!(args.as_array().unwrap().contains(&json!(lease)), "{args:#}");
}

#[test]
fn role_guardrail_values_become_operator_flags_and_are_absent_by_default() {
    let guardrail_args = |docs: &[Value]| -> Vec<String> {
        one_of_kind(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str())
            .filter(|a| {
                [
                    "--role-permissions-boundary",
                    "--role-path",
                    "--role-name-prefix",
                    "--role-tag",
                ]
                .iter()
                .any(|f| a.starts_with(f))
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(guardrail_args(&render(None)), Vec::<String>::new());
    let docs = render_with(
        None,
        &[
            "operator.roleGuardrails.permissionsBoundary=arn:aws:iam::123456789012:policy/tenant-boundary",
            "operator.roleGuardrails.path=/tenants/",
            "operator.roleGuardrails.namePrefix=tenant-",
            "operator.roleGuardrails.tags.cost-center=platform",
        ],
    );
    assert_eq!(
        guardrail_args(&docs),
        vec![
            "--role-permissions-boundary=arn:aws:iam::123456789012:policy/tenant-boundary",
            "--role-path=/tenants/",
            "--role-name-prefix=tenant-",
            "--role-tag=cost-center=platform",
        ]
    );
}

#[test]
fn the_service_account_carries_the_irsa_annotation_from_the_values() {
    let values = values_file("ci/namespaced-values.yaml");
    let docs = render(Some("ci/namespaced-values.yaml"));
    let sa = one_of_kind(&docs, "ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"],
        values["serviceAccount"]["annotations"]
    );
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:iam::")),
        "{sa:#}"
    );
    let defaults = render(None);
    let sa = one_of_kind(&defaults, "ServiceAccount");
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
        "no role ARN unless one is configured: {sa:#}"
    );
}

/// What the server's validation does with a broken chart: the rendered objects with one field broken are
/// rejected, naming that field, and a rendered binding cannot be pointed at another role on upgrade.
#[tokio::test]
async fn broken_renders_are_rejected_by_the_server() {
    let docs = render(None);
    let server = server_for(&docs).await;
    let client = server.client();
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let pp = PatchParams::apply(FIELD_MANAGER);
    let reject = |doc: Value, field: &'static str| {
        let api = api_for(&client, &discovery, &doc);
        let pp = pp.clone();
        async move {
            let err = api
                .patch(name_of(&doc), &pp, &Patch::Apply(&doc))
                .await
                .expect_err(&format!(
                    "{} with a broken {field} was accepted",
                    kind_of(&doc)
                ));
            let kube::Error::Api(status) = err else {
                panic!("unexpected error {err}")
            };
            assert_eq!(status.code, 422, "{status:?}");
            let causes = status
                .details
                .as_ref()
                .map(|d| d.causes.clone())
                .unwrap_or_default();
            assert!(
                causes.iter().any(|c| c.field == field),
                "{} rejected without naming {field}: {status:?}",
                kind_of(&doc)
            );
        }
    };

    let deployment = one_of_kind(&docs, "Deployment").clone();
    let mut d = deployment.clone();
    d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = json!("someone-else");
    reject(d, "spec.template.metadata.labels").await;
    let mut d = deployment.clone();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    reject(d, "spec.template.spec.containers[0].image").await;

    let mut s = of_kind(&docs, "Service")
        .into_iter()
        .find(|s| name_of(s).ends_with("-metrics"))
        .expect("the metrics Service")
        .clone();
    s["spec"]["ports"][0]["port"] = json!(0);
    reject(s, "spec.ports[0].port").await;

    let mut r = operator_rbac(&docs, "ClusterRole")[0].clone();
    r["rules"][0]["verbs"] = json!([]);
    reject(r, "rules[0].verbs").await;

    let crb = operator_rbac(&docs, "ClusterRoleBinding")[0].clone();
    let api = api_for(&client, &discovery, &crb);
    api.patch(name_of(&crb), &pp, &Patch::Apply(&crb))
        .await
        .expect("the rendered ClusterRoleBinding applies");
    let mut moved = crb.clone();
    moved["roleRef"]["name"] = json!("cluster-admin");
    reject(moved, "roleRef").await;
    let mut missing = crb.clone();
    missing["metadata"]["name"] = json!("no-role-ref");
    missing.as_object_mut().unwrap().remove("roleRef");
    reject(missing, "roleRef").await;
}

fn kubectl() -> PathBuf {
    let path = workspace_root().join(".tools/bin/kubectl");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs kubectl into .tools/)",
        path.display()
    );
    path
}

fn write_stream(path: &Path, docs: &[Value]) {
    // A YAML stream of the rendered objects (JSON documents are YAML), as `helm template | kubectl apply -f -`.
    let stream: Vec<String> = docs
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect();
    std::fs::write(path, stream.join("\n---\n")).unwrap();
}

/// A plain client-side `kubectl apply -f` of the rendered chart (kubectl's own discovery, OpenAPI lookups
/// and last-applied annotation), applied twice: the second run patches nothing. Then an upgrade (new image
/// tag, log level and resources) goes through kubectl's strategic merge patch and the Deployment reads back
/// as the new render, with its containers merged by name rather than replaced by the patch.
#[tokio::test]
async fn kubectl_apply_of_the_rendered_chart_is_accepted_idempotent_and_upgradable() {
    let docs = render(None);
    let server = server_for(&docs).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("default")).unwrap();
    let manifest = dir.path().join("chart.yaml");
    let apply = || async {
        let out = tokio::process::Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("apply")
            .arg("-f")
            .arg(&manifest)
            .output()
            .await
            .expect("running kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl apply failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    write_stream(&manifest, &docs);
    let first = apply().await;
    assert_eq!(
        first.lines().filter(|l| l.ends_with(" created")).count(),
        docs.len(),
        "{first}"
    );
    let rv = server.resource_version();
    let second = apply().await;
    assert_eq!(
        second.lines().filter(|l| l.ends_with(" unchanged")).count(),
        docs.len(),
        "{second}"
    );
    assert_eq!(
        server.resource_version(),
        rv,
        "a repeated apply wrote something"
    );

    let upgraded = render_with(
        None,
        &[
            "image.tag=0.2.0",
            "operator.logLevel=debug",
            "resources.limits.memory=384Mi",
        ],
    );
    write_stream(&manifest, &upgraded);
    let third = apply().await;
    assert!(
        third.contains("deployment.apps/sfn-operator configured"),
        "{third}"
    );
    let want = one_of_kind(&upgraded, "Deployment");
    let api: Api<DynamicObject> = Api::namespaced_with(
        server.client(),
        RELEASE_NS,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")),
    );
    let back = serde_json::to_value(api.get(name_of(want)).await.unwrap()).unwrap();
    assert!(
        contains(&back["spec"], &want["spec"]),
        "after the upgrade the Deployment spec is {:#} instead of {:#}",
        back["spec"],
        want["spec"]
    );
    let text = back.to_string();
    assert!(
        !text.contains("$setElementOrder"),
        "patch directives were stored: {text}"
    );
}

/// Discovery lists the chart's built-in kinds under their real group, version and scope: kubectl and helm
/// decide from it whether an object's namespace is used.
#[tokio::test]
async fn discovery_lists_the_chart_kinds_with_their_scope() {
    let server = TestApiServer::start().await;
    let discovery = Discovery::new(server.client())
        .run()
        .await
        .expect("discovery");
    let table = [
        (
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            Scope::Namespaced,
        ),
        ("", "v1", "Service", "services", Scope::Namespaced),
        ("apps", "v1", "Deployment", "deployments", Scope::Namespaced),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            Scope::Namespaced,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            Scope::Namespaced,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            Scope::Cluster,
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            Scope::Cluster,
        ),
    ];
    for (group, version, kind, plural, scope) in table {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{kind} is not discoverable"));
        assert_eq!(ar.plural, plural, "{kind}");
        assert_eq!(caps.scope, scope, "{kind}");
    }
}

/// Typed clients (k8s-openapi) work on the new kinds, and a Deployment behaves like one: `generation` starts
/// at 1 and moves only with the spec, `status` is written through its subresource, the defaults are filled.
#[tokio::test]
async fn deployments_have_generation_status_and_defaults() {
    use k8s_openapi::api::apps::v1::Deployment;
    let server = TestApiServer::start().await;
    let api: Api<Deployment> = Api::namespaced(server.client(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "op", "labels": {"team": "a"}},
        "spec": {
            "selector": {"matchLabels": {"app": "op"}},
            "template": {
                "metadata": {"labels": {"app": "op"}},
                "spec": {"containers": [{"name": "operator", "image": "op:1"}]}
            }
        }
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &d).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.as_ref().unwrap().replicas, Some(1));

    let mut relabelled = created.clone();
    relabelled
        .metadata
        .labels
        .get_or_insert_default()
        .insert("team".into(), "b".into());
    let relabelled = api
        .replace("op", &PostParams::default(), &relabelled)
        .await
        .unwrap();
    assert_eq!(relabelled.metadata.generation, Some(1), "metadata only");

    let mut scaled = relabelled.clone();
    scaled.spec.as_mut().unwrap().replicas = Some(3);
    let scaled = api
        .replace("op", &PostParams::default(), &scaled)
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));

    let status = json!({"status": {"observedGeneration": 2, "replicas": 3}});
    let with_status = api
        .patch_status("op", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(with_status.status.unwrap().observed_generation, Some(2));
    assert_eq!(
        with_status.metadata.generation,
        Some(2),
        "status writes keep the generation"
    );
}

/// The webhook as the chart installs it: a configuration that sends only the three kinds (create and update)
/// to the webhook Service, with failurePolicy, timeoutSeconds and selectors from the values; by default the
/// operator's own CA with RBAC naming one Secret and one configuration; with cert-manager a Certificate,
/// CA injection and the Secret mounted instead.
#[test]
fn the_webhook_is_scoped_to_the_three_kinds_and_configured_from_values() {
    let docs = render(None);
    let vwc = one_of_kind(&docs, "ValidatingWebhookConfiguration");
    let hooks = vwc["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(
        hook["rules"],
        json!([{
            "apiGroups": ["sfn.operator.dev"],
            "apiVersions": ["v1alpha1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["statemachines", "taskintegrations", "activities"],
            "scope": "Namespaced",
        }])
    );
    assert_eq!(hook["failurePolicy"], "Fail");
    assert_eq!(hook["timeoutSeconds"], 10);
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
    assert!(hook.get("namespaceSelector").is_none());
    let svc = &hook["clientConfig"]["service"];
    assert_eq!(svc["namespace"], RELEASE_NS);
    assert_eq!(svc["path"], "/validate");
    let service = of_kind(&docs, "Service")
        .into_iter()
        .find(|s| s["metadata"]["name"] == svc["name"])
        .expect("the webhook Service is rendered");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "webhook");
    assert!(
        hook["clientConfig"].get("caBundle").is_none(),
        "the operator injects it"
    );

    // The operator's own CA: flags, and RBAC naming exactly one Secret and one configuration.
    let args =
        &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"];
    let secret = one_of_kind(&docs, "Secret");
    for flag in [
        "--webhook-addr=0.0.0.0:9443".to_owned(),
        format!("--webhook-secret={}", name_of(secret)),
        format!("--webhook-configuration={}", name_of(vwc)),
        format!("--webhook-service={}", svc["name"].as_str().unwrap()),
    ] {
        assert!(
            args.as_array().unwrap().contains(&json!(flag)),
            "{flag}: {args:#}"
        );
    }
    let webhook_roles: Vec<&Value> = docs
        .iter()
        .filter(|d| matches!(kind_of(d), "Role" | "ClusterRole") && is_webhook_role(d))
        .collect();
    assert_eq!(webhook_roles.len(), 2, "{webhook_roles:#?}");
    for role in webhook_roles {
        for rule in role["rules"].as_array().unwrap() {
            let names = rule["resourceNames"].as_array().unwrap();
            assert_eq!(names.len(), 1, "{rule}");
            let expected = if rule["resources"] == json!(["secrets"]) {
                name_of(secret)
            } else {
                name_of(vwc)
            };
            assert_eq!(names[0], expected, "{rule}");
            assert_eq!(rule["verbs"], json!(["get", "update"]), "{rule}");
        }
    }
    assert!(
        of_kind(&docs, "PodDisruptionBudget").is_empty(),
        "one replica: no PDB"
    );

    // Values reach the configuration.
    let docs = render_with(
        None,
        &[
            "webhook.failurePolicy=Ignore",
            "webhook.timeoutSeconds=5",
            "webhook.namespaceSelector.matchLabels.team=payments",
            "webhook.objectSelector.matchLabels.validate=yes",
        ],
    );
    let hook = &one_of_kind(&docs, "ValidatingWebhookConfiguration")["webhooks"][0];
    assert_eq!(hook["failurePolicy"], "Ignore");
    assert_eq!(hook["timeoutSeconds"], 5);
    assert_eq!(
        hook["namespaceSelector"],
        json!({"matchLabels": {"team": "payments"}})
    );
    assert_eq!(
        hook["objectSelector"],
        json!({"matchLabels": {"validate": "yes"}})
    );

    // cert-manager: a Certificate, CA injection, the Secret mounted, no Secret or RBAC of the operator's own.
    let docs = render_with(None, &["webhook.certManager.enabled=true"]);
    let vwc = one_of_kind(&docs, "ValidatingWebhookConfiguration");
    let cert = one_of_kind(&docs, "Certificate");
    assert_eq!(
        vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        json!(format!("{RELEASE_NS}/{}", name_of(cert)))
    );
    assert_eq!(
        one_of_kind(&docs, "Issuer")["spec"],
        json!({"selfSigned": {}})
    );
    assert!(of_kind(&docs, "Secret").is_empty());
    assert!(!docs.iter().any(is_webhook_role));
    let pod = &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        cert["spec"]["secretName"]
    );
    let args = pod["containers"][0]["args"].as_array().unwrap();
    assert!(
        args.contains(&json!("--webhook-cert-dir=/etc/sfn-operator/webhook-tls")),
        "{args:?}"
    );
    let svc_name = vwc["webhooks"][0]["clientConfig"]["service"]["name"]
        .as_str()
        .unwrap();
    assert!(
        cert["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("{svc_name}.{RELEASE_NS}.svc"))),
        "{cert:#}"
    );

    // Off: nothing of the webhook is rendered.
    let docs = render_with(None, &["webhook.enabled=false"]);
    assert!(of_kind(&docs, "ValidatingWebhookConfiguration").is_empty());
    assert!(!docs.iter().any(is_webhook_role));
}

#[test]
fn more_than_one_replica_gets_a_disruption_budget() {
    let docs = render(Some("ci/namespaced-values.yaml"));
    let pdb = one_of_kind(&docs, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    let deployment = one_of_kind(&docs, "Deployment");
    assert_eq!(pdb["spec"]["selector"], deployment["spec"]["selector"]);
}
