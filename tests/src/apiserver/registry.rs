//! The resource types the server serves: the built-ins an operator touches (Namespaces, ConfigMaps, Secrets,
//! Events in both API groups, Leases, CustomResourceDefinitions), the ones its Helm chart renders
//! (ServiceAccounts, Services, Deployments, Roles, ClusterRoles and their bindings) plus one entry per served version of every
//! installed CRD, and the discovery documents kube-rs reads (`/api`, `/apis`, `/apis/GROUP/VERSION`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::status::{ApiError, Cause};

/// One servable `group/version/plural`.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Storage bucket shared by every version of the same resource.
    pub storage: String,
    /// `openAPIV3Schema` of a CRD version; built-ins are stored as given.
    pub schema: Option<Arc<Value>>,
    pub status_subresource: bool,
    /// Custom resources carry `metadata.generation`, answer strategic merge patches with 415 and return
    /// the deleted object from DELETE.
    pub custom: bool,
    /// Extra fields a field selector may use (`selectableFields` of a CRD version), as dotted paths.
    pub selectable_fields: Vec<String>,
    /// `additionalPrinterColumns` of a CRD version, for server-side printing (`kubectl get`).
    pub printer_columns: Vec<Value>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether objects carry `metadata.generation` (custom resources, CRDs and Deployments do; the other
    /// built-ins here do not).
    pub fn has_generation(&self) -> bool {
        self.custom
            || matches!(
                self.storage.as_str(),
                "apiextensions.k8s.io/customresourcedefinitions" | "apps/deployments"
            )
    }

    /// Core v1 Events are stored as `events.k8s.io/v1` Events, as on a real server, and converted on the way
    /// in and out.
    fn is_core_event(&self) -> bool {
        self.group.is_empty() && self.plural == "events"
    }

    /// `apiVersion` and `kind` of the stored form.
    pub fn storage_type(&self) -> (String, String) {
        if self.is_core_event() {
            ("events.k8s.io/v1".into(), "Event".into())
        } else {
            (self.api_version(), self.kind.clone())
        }
    }

    /// Converts an object written through this endpoint to the stored form.
    pub fn to_storage(&self, mut obj: Value) -> Value {
        if self.is_core_event()
            && let Some(m) = obj.as_object_mut()
        {
            rename(m, CORE_TO_NEW);
            m.insert("apiVersion".into(), json!("events.k8s.io/v1"));
        }
        obj
    }

    /// Converts a stored object to the form this endpoint serves, with its `apiVersion` and `kind`.
    pub fn from_storage(&self, obj: &Value) -> Value {
        let mut o = obj.clone();
        if let Some(m) = o.as_object_mut() {
            if self.is_core_event() {
                let reversed: Vec<(&str, &str)> =
                    CORE_TO_NEW.iter().map(|(a, b)| (*b, *a)).collect();
                rename(m, &reversed);
            }
            m.insert("apiVersion".into(), json!(self.api_version()));
            m.insert("kind".into(), json!(self.kind));
        }
        o
    }

    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        short: &[&str],
    ) -> Self {
        ResourceType {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            storage: if group.is_empty() && plural == "events" {
                "events.k8s.io/events".into()
            } else {
                format!("{group}/{plural}")
            },
            schema: None,
            status_subresource: matches!(
                plural,
                "namespaces" | "customresourcedefinitions" | "services" | "deployments"
            ),
            custom: false,
            selectable_fields: vec![],
            printer_columns: vec![],
        }
    }
}

/// Field names of core v1 Events and their `events.k8s.io/v1` counterparts (the conversion the real server
/// applies between the two APIs).
const CORE_TO_NEW: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

fn rename(m: &mut serde_json::Map<String, Value>, pairs: &[(&str, &str)]) {
    for (from, to) in pairs {
        if let Some(v) = m.shift_remove(*from) {
            m.insert((*to).to_string(), v);
        }
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";

/// The built-in resources, served without schema validation (the kinds a chart renders get the checks in
/// [`super::workloads`]).
pub fn builtins() -> Vec<ResourceType> {
    vec![
        ResourceType::builtin("", "v1", "namespaces", "Namespace", false, &["ns"]),
        ResourceType::builtin("", "v1", "configmaps", "ConfigMap", true, &["cm"]),
        ResourceType::builtin("", "v1", "secrets", "Secret", true, &[]),
        ResourceType::builtin("", "v1", "events", "Event", true, &["ev"]),
        ResourceType::builtin("events.k8s.io", "v1", "events", "Event", true, &["ev"]),
        ResourceType::builtin("coordination.k8s.io", "v1", "leases", "Lease", true, &[]),
        ResourceType::builtin("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"]),
        ResourceType::builtin("", "v1", "services", "Service", true, &["svc"]),
        ResourceType::builtin("apps", "v1", "deployments", "Deployment", true, &["deploy"]),
        ResourceType::builtin(RBAC, "v1", "roles", "Role", true, &[]),
        ResourceType::builtin(RBAC, "v1", "clusterroles", "ClusterRole", false, &[]),
        ResourceType::builtin(RBAC, "v1", "rolebindings", "RoleBinding", true, &[]),
        ResourceType::builtin(
            RBAC,
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            &[],
        ),
        ResourceType::builtin(
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
            &[],
        ),
        ResourceType::builtin(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            &["pdb"],
        ),
        ResourceType::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
        ),
    ]
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

/// Checks a CRD the way the real server's validation does for the parts that matter to clients, and
/// returns the resource types it serves.
pub fn crd_types(crd: &Value) -> Result<Vec<ResourceType>, Vec<Cause>> {
    let mut causes = Vec::new();
    let name = str_at(crd, &["metadata", "name"]).unwrap_or_default();
    let group = str_at(crd, &["spec", "group"]).unwrap_or_default();
    let plural = str_at(crd, &["spec", "names", "plural"]).unwrap_or_default();
    let kind = str_at(crd, &["spec", "names", "kind"]).unwrap_or_default();
    let scope = str_at(crd, &["spec", "scope"]).unwrap_or_default();
    if group.is_empty() {
        causes.push(Cause::required("spec.group"));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural"));
    }
    if kind.is_empty() {
        causes.push(Cause::required("spec.names.kind"));
    }
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!("Unsupported value: {scope:?}: supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::required("spec.versions"));
    }
    let storage_count = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage_count != 1 {
        causes.push(Cause::invalid(
            "spec.versions",
            &Value::Array(versions.clone()),
            "must have exactly one version marked as storage version",
        ));
    }
    let names = &crd["spec"]["names"];
    let list_of = |key: &str| -> Vec<String> {
        names
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The real server validates the internal form of a v1 CRD, whose conversion lifts a schema that every
    // version shares to `spec.validation`: its errors are named there, and under `spec.versions[i].schema`
    // only when the versions' schemas differ.
    let shared = versions
        .first()
        .and_then(|first| first.get("schema"))
        .filter(|first| versions.iter().all(|v| v.get("schema") == Some(*first)))
        .and_then(|first| first.get("openAPIV3Schema"));
    if let Some(s) = shared {
        super::schema::check_structural(s, "spec.validation.openAPIV3Schema", true, &mut causes);
    }
    let mut out = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = v.get("name").and_then(Value::as_str).unwrap_or_default();
        let field = format!("spec.versions[{i}]");
        if vname.is_empty() {
            causes.push(Cause::required(format!("{field}.name")));
        }
        let schema = v.pointer("/schema/openAPIV3Schema").cloned();
        match &schema {
            None if shared.is_none() => causes.push(
                Cause::required(format!("{field}.schema.openAPIV3Schema"))
                    .with_message("Required value: schemas are required"),
            ),
            Some(s) if shared.is_none() => {
                let path = format!("{field}.schema.openAPIV3Schema");
                super::schema::check_structural(s, &path, true, &mut causes);
            }
            _ => {}
        }
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        out.push(ResourceType {
            group: group.into(),
            version: vname.into(),
            plural: plural.into(),
            singular: names
                .get("singular")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| kind.to_lowercase()),
            kind: kind.into(),
            list_kind: names
                .get("listKind")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| format!("{kind}List")),
            namespaced: scope == "Namespaced",
            short_names: list_of("shortNames"),
            categories: list_of("categories"),
            storage: format!("{group}/{plural}"),
            schema: schema.map(Arc::new),
            status_subresource: v.pointer("/subresources/status").is_some(),
            custom: true,
            printer_columns: v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            selectable_fields: v
                .get("selectableFields")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                        .map(|p| p.trim_start_matches('.').to_string())
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    if causes.is_empty() {
        Ok(out)
    } else {
        Err(causes)
    }
}

/// `/version`.
pub fn version_doc() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-sfn-operator-test",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
    })
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// Every non-core group with its served versions, in the order types were registered.
fn groups(types: &[ResourceType]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, vs)) => {
                if !vs.contains(&t.version) {
                    vs.push(t.version.clone());
                }
            }
            None => out.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    out
}

/// `/apis`.
pub fn group_list(types: &[ResourceType]) -> Value {
    let gs: Vec<Value> = groups(types)
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

/// `/apis/GROUP`.
pub fn group(types: &[ResourceType], group: &str) -> Option<Value> {
    groups(types)
        .iter()
        .find(|(g, _)| g == group)
        .map(|(g, vs)| {
            let mut d = group_doc(g, vs);
            d["kind"] = json!("APIGroup");
            d["apiVersion"] = json!("v1");
            d
        })
}

/// `/api/v1` and `/apis/GROUP/VERSION`.
pub fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let matching: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if matching.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &matching {
        resources.push(json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": t.short_names,
            "categories": t.categories,
        }));
        if t.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// The error for a path that names no served resource.
pub fn unknown_resource() -> ApiError {
    ApiError::not_found_path()
}

/// `/openapi/v3`: one entry per served group-version. kubectl reads it to learn that the server validates
/// fields itself (`fieldValidation`), so it sends its objects without client-side schema validation.
pub fn openapi_root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let key = if t.group.is_empty() {
            format!("api/{}", t.version)
        } else {
            format!("apis/{}/{}", t.group, t.version)
        };
        let url = format!("/openapi/v3/{key}");
        paths.insert(key, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

/// `/openapi/v3/apis/GROUP/VERSION`: the PATCH operations of the group-version's resources with their
/// `fieldValidation` parameter and kind (no schemas).
pub fn openapi_group_version(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let matching: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if matching.is_empty() {
        return None;
    }
    let mut paths = serde_json::Map::new();
    for t in matching {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let path = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{prefix}/{}/{{name}}", t.plural)
        };
        let op = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", t.kind),
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}
                ],
                "responses": {"200": {"description": "OK"}}
            })
        };
        paths.insert(path, json!({"patch": op("patch"), "put": op("put")}));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {}
    }))
}
