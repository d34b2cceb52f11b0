//! Validation of the built-in kinds a Helm chart renders (ServiceAccounts, Services, Deployments and the RBAC
//! kinds), limited to the rules of the real server that a broken chart would trip: required fields, a
//! Deployment selector that matches its pod template, container names and images, Service ports, RBAC rule
//! verbs and API groups, and `roleRef` that is required and cannot change. These kinds have no schema here,
//! so everything else is stored as sent.
//!
//! Messages follow kube-apiserver's (`pkg/apis/apps/validation`, `pkg/apis/core/validation`,
//! `pkg/apis/rbac/validation`), so a test that passes here fails the same way on a real cluster.

use serde_json::{Value, json};

use super::status::Cause;

type Check = fn(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>);

/// Storage bucket → the checks of that kind. The bucket is `group/plural`, as in
/// [`super::registry::ResourceType::storage`].
const CHECKS: &[(&str, Check)] = &[
    ("apps/deployments", deployment),
    ("/services", service),
    ("rbac.authorization.k8s.io/roles", role),
    ("rbac.authorization.k8s.io/clusterroles", cluster_role),
    ("rbac.authorization.k8s.io/rolebindings", role_binding),
    (
        "rbac.authorization.k8s.io/clusterrolebindings",
        cluster_role_binding,
    ),
];

/// Runs the checks of the kind stored in `storage` (none for kinds without any) and returns the failures.
pub fn validate(storage: &str, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (_, check) in CHECKS.iter().filter(|(s, _)| *s == storage) {
        check(obj, old, &mut causes);
    }
    causes
}

/// Fills the defaults a real server writes that clients read back (`spec.replicas` of a Deployment, the
/// protocol and target port of Service ports).
pub fn default(storage: &str, obj: &mut Value) {
    match storage {
        "apps/deployments" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("replicas").or_insert(json!(1));
            }
        }
        "/services" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("type").or_insert(json!("ClusterIP"));
                if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        p.entry("protocol").or_insert(json!("TCP"));
                        if let Some(port) = p.get("port").cloned() {
                            p.entry("targetPort").or_insert(port);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn deployment(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if let Some(r) = spec.get("replicas")
        && r.as_i64().is_none_or(|n| n < 0)
    {
        causes.push(Cause::invalid(
            "spec.replicas",
            r,
            "must be greater than or equal to 0",
        ));
    }
    let selector = spec.get("selector").filter(|s| !s.is_null());
    match selector {
        None => causes.push(Cause::required("spec.selector")),
        Some(sel) => {
            let match_labels = sel.get("matchLabels").and_then(Value::as_object);
            let exprs = array(sel, "matchExpressions");
            if match_labels.is_none_or(|m| m.is_empty()) && exprs.is_empty() {
                causes.push(Cause::invalid(
                    "spec.selector",
                    sel,
                    "empty selector is invalid for deployment",
                ));
            }
            let labels = spec
                .pointer("/template/metadata/labels")
                .and_then(Value::as_object);
            let matches = match_labels.is_none_or(|m| {
                m.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            });
            if !matches {
                causes.push(Cause::invalid(
                    "spec.template.metadata.labels",
                    &labels.cloned().map(Value::Object).unwrap_or(Value::Null),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    // apps/v1 made the selector immutable: changing it would orphan the existing ReplicaSets.
    if let (Some(old), Some(sel)) = (old, selector)
        && let Some(before) = old.pointer("/spec/selector")
        && before != sel
    {
        causes.push(Cause::invalid("spec.selector", sel, "field is immutable"));
    }
    match spec.get("template").filter(|t| !t.is_null()) {
        None => causes.push(Cause::required("spec.template")),
        Some(t) => pod_spec(
            t.get("spec").unwrap_or(&Value::Null),
            "spec.template.spec",
            causes,
        ),
    }
}

fn pod_spec(spec: &Value, path: &str, causes: &mut Vec<Cause>) {
    let containers = array(spec, "containers");
    if containers.is_empty() {
        causes.push(Cause::required(format!("{path}.containers")));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (kind, list) in [
        ("containers", containers),
        ("initContainers", array(spec, "initContainers")),
    ] {
        for (i, c) in list.iter().enumerate() {
            let at = format!("{path}.{kind}[{i}]");
            let name = text(c, "name");
            if name.is_empty() {
                causes.push(Cause::required(format!("{at}.name")));
            } else if seen.contains(&name) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("{at}.name"),
                    format!("Duplicate value: {name:?}"),
                ));
            } else {
                seen.push(name);
            }
            if text(c, "image").trim().is_empty() {
                causes.push(Cause::required(format!("{at}.image")));
            }
            for (j, p) in array(c, "ports").iter().enumerate() {
                let port = p.get("containerPort").unwrap_or(&Value::Null);
                if !valid_port_number(port) {
                    causes.push(Cause::invalid(
                        format!("{at}.ports[{j}].containerPort"),
                        port,
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
        }
    }
}

fn valid_port_number(v: &Value) -> bool {
    v.as_i64().is_some_and(|n| (1..=65535).contains(&n))
}

/// A named port (IANA_SVC_NAME): at most 15 lowercase alphanumerics or '-', with at least one letter, no
/// leading, trailing or doubled '-'.
fn valid_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn service(obj: &Value, _old: Option<&Value>, causes: &mut Vec<Cause>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if !matches!(
        ty,
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.type",
            format!(
                "Unsupported value: {ty:?}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ),
        ));
    }
    let ports = array(spec, "ports");
    let headless = text(spec, "clusterIP") == "None";
    if ports.is_empty() && ty != "ExternalName" && !headless {
        causes.push(Cause::required("spec.ports"));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        let name = text(p, "name");
        if ports.len() > 1 && name.is_empty() {
            causes.push(Cause::required(format!("{at}.name")));
        } else if !name.is_empty() {
            if names.contains(&name) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("{at}.name"),
                    format!("Duplicate value: {name:?}"),
                ));
            }
            names.push(name);
        }
        let port = p.get("port").unwrap_or(&Value::Null);
        if port.is_null() {
            causes.push(Cause::required(format!("{at}.port")));
        } else if !valid_port_number(port) {
            causes.push(Cause::invalid(
                format!("{at}.port"),
                port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        if !matches!(protocol, "TCP" | "UDP" | "SCTP") {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                format!("{at}.protocol"),
                format!(
                    "Unsupported value: {protocol:?}: supported values: \"SCTP\", \"TCP\", \"UDP\""
                ),
            ));
        }
        match p.get("targetPort") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if valid_port_name(s) => {}
            Some(t @ Value::String(_)) => causes.push(Cause::invalid(
                format!("{at}.targetPort"),
                t,
                "must be no more than 15 lowercase alphanumeric characters or '-', with at least one letter",
            )),
            Some(t) if valid_port_number(t) => {}
            Some(t) => causes.push(Cause::invalid(
                format!("{at}.targetPort"),
                t,
                "must be between 1 and 65535, inclusive",
            )),
        }
    }
}

fn rules(obj: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    for (i, r) in array(obj, "rules").iter().enumerate() {
        let at = format!("rules[{i}]");
        if array(r, "verbs").is_empty() {
            causes.push(
                Cause::required(format!("{at}.verbs"))
                    .with_message("Required value: verbs must contain at least one value"),
            );
        }
        let non_resource = array(r, "nonResourceURLs");
        if namespaced && !non_resource.is_empty() {
            causes.push(Cause::invalid(
                format!("{at}.nonResourceURLs"),
                &Value::Array(non_resource.to_vec()),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        let resources = array(r, "resources");
        if non_resource.is_empty() && resources.is_empty() {
            causes.push(
                Cause::required(format!("{at}.resources")).with_message(
                    "Required value: resource rules must supply at least one resource",
                ),
            );
        }
        if !resources.is_empty() && r.get("apiGroups").and_then(Value::as_array).is_none() {
            causes.push(
                Cause::required(format!("{at}.apiGroups")).with_message(
                    "Required value: resource rules must supply at least one api group",
                ),
            );
        }
    }
}

fn role(obj: &Value, _old: Option<&Value>, causes: &mut Vec<Cause>) {
    rules(obj, true, causes);
}

fn cluster_role(obj: &Value, _old: Option<&Value>, causes: &mut Vec<Cause>) {
    // An aggregated ClusterRole gets its rules from the controller; they are not checked on write.
    if obj.get("aggregationRule").is_none() {
        rules(obj, false, causes);
    }
}

fn role_binding(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    binding(obj, old, &["Role", "ClusterRole"], true, causes);
}

fn cluster_role_binding(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    binding(obj, old, &["ClusterRole"], false, causes);
}

fn binding(
    obj: &Value,
    old: Option<&Value>,
    kinds: &[&str],
    namespaced: bool,
    causes: &mut Vec<Cause>,
) {
    match obj.get("roleRef").filter(|r| r.is_object()) {
        None => causes.push(Cause::required("roleRef")),
        Some(r) => {
            if text(r, "apiGroup") != "rbac.authorization.k8s.io" {
                causes.push(Cause::new(
                    "FieldValueNotSupported",
                    "roleRef.apiGroup",
                    format!(
                        "Unsupported value: {:?}: supported values: \"rbac.authorization.k8s.io\"",
                        text(r, "apiGroup")
                    ),
                ));
            }
            let kind = text(r, "kind");
            if !kinds.contains(&kind) {
                let supported: Vec<String> = kinds.iter().map(|k| format!("{k:?}")).collect();
                causes.push(Cause::new(
                    "FieldValueNotSupported",
                    "roleRef.kind",
                    format!(
                        "Unsupported value: {kind:?}: supported values: {}",
                        supported.join(", ")
                    ),
                ));
            }
            if text(r, "name").is_empty() {
                causes.push(Cause::required("roleRef.name"));
            }
            // A binding grants what its role grants; switching roles in place would let an update escalate
            // a binding someone else reviewed, so the server makes it immutable.
            if let Some(before) = old.and_then(|o| o.get("roleRef"))
                && before != r
            {
                causes.push(Cause::invalid("roleRef", r, "cannot change roleRef"));
            }
        }
    }
    for (i, s) in array(obj, "subjects").iter().enumerate() {
        let at = format!("subjects[{i}]");
        let kind = text(s, "kind");
        if !matches!(kind, "ServiceAccount" | "User" | "Group") {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                format!("{at}.kind"),
                format!(
                    "Unsupported value: {kind:?}: supported values: \"ServiceAccount\", \"User\", \"Group\""
                ),
            ));
        }
        if text(s, "name").is_empty() {
            causes.push(Cause::required(format!("{at}.name")));
        }
        if kind == "ServiceAccount" && !namespaced && text(s, "namespace").is_empty() {
            causes.push(Cause::required(format!("{at}.namespace")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(storage: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
        validate(storage, obj, old)
            .into_iter()
            .map(|c| c.field)
            .collect()
    }

    fn deployment_obj() -> Value {
        json!({
            "metadata": {"name": "op"},
            "spec": {
                "selector": {"matchLabels": {"app": "op"}},
                "template": {
                    "metadata": {"labels": {"app": "op", "extra": "x"}},
                    "spec": {"containers": [{"name": "operator", "image": "op:1", "ports": [{"containerPort": 8080}]}]}
                }
            }
        })
    }

    #[test]
    fn a_complete_deployment_is_valid() {
        assert_eq!(
            fields("apps/deployments", &deployment_obj(), None),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_deployment_needs_selector_and_template() {
        let d = json!({"spec": {"replicas": 1}});
        assert_eq!(
            fields("apps/deployments", &d, None),
            ["spec.selector", "spec.template"]
        );
    }

    #[test]
    fn the_selector_must_match_the_template_labels() {
        let mut d = deployment_obj();
        d["spec"]["selector"]["matchLabels"]["app"] = json!("other");
        let causes = validate("apps/deployments", &d, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.template.metadata.labels");
        assert!(causes[0].message.contains("does not match"), "{causes:?}");
        d["spec"]["selector"] = json!({});
        assert_eq!(
            fields("apps/deployments", &d, None),
            ["spec.selector"],
            "an empty selector would select every pod"
        );
    }

    #[test]
    fn the_deployment_selector_is_immutable() {
        let old = deployment_obj();
        let mut d = old.clone();
        d["spec"]["selector"]["matchLabels"] = json!({"extra": "x"});
        assert_eq!(
            fields("apps/deployments", &d, Some(&old)),
            ["spec.selector"]
        );
        d = old.clone();
        d["spec"]["replicas"] = json!(3);
        assert!(fields("apps/deployments", &d, Some(&old)).is_empty());
    }

    #[test]
    fn containers_need_unique_names_images_and_valid_ports() {
        let mut d = deployment_obj();
        d["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "a", "image": ""},
            {"name": "a", "image": "x", "ports": [{"containerPort": 70000}]},
            {"image": "y"}
        ]);
        assert_eq!(
            fields("apps/deployments", &d, None),
            [
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[1].name",
                "spec.template.spec.containers[1].ports[0].containerPort",
                "spec.template.spec.containers[2].name",
            ]
        );
        d["spec"]["template"]["spec"]["containers"] = json!([]);
        assert_eq!(
            fields("apps/deployments", &d, None),
            ["spec.template.spec.containers"]
        );
    }

    #[test]
    fn service_ports_are_required_named_and_in_range() {
        let ok = json!({"spec": {"ports": [{"name": "metrics", "port": 8080, "targetPort": "metrics"}]}});
        assert!(fields("/services", &ok, None).is_empty());
        assert_eq!(
            fields("/services", &json!({"spec": {}}), None),
            ["spec.ports"]
        );
        let headless = json!({"spec": {"clusterIP": "None"}});
        assert!(fields("/services", &headless, None).is_empty());
        let bad = json!({"spec": {"ports": [
            {"port": 0, "targetPort": "Not_A_Name"},
            {"name": "b", "protocol": "HTTP", "targetPort": 70000}
        ]}});
        assert_eq!(
            fields("/services", &bad, None),
            [
                "spec.ports[0].name",
                "spec.ports[0].port",
                "spec.ports[0].targetPort",
                "spec.ports[1].port",
                "spec.ports[1].protocol",
                "spec.ports[1].targetPort",
            ]
        );
    }

    #[test]
    fn service_defaults_fill_protocol_and_target_port() {
        let mut s = json!({"spec": {"ports": [{"port": 80}, {"port": 81, "targetPort": "web", "protocol": "UDP"}]}});
        default("/services", &mut s);
        assert_eq!(s["spec"]["type"], "ClusterIP");
        assert_eq!(
            s["spec"]["ports"],
            json!([
                {"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 81, "targetPort": "web", "protocol": "UDP"}
            ])
        );
    }

    #[test]
    fn rbac_rules_need_verbs_groups_and_resources() {
        let role = json!({"rules": [
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": []},
            {"resources": ["pods"], "verbs": ["get"]},
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            {"apiGroups": [""], "verbs": ["get"]}
        ]});
        assert_eq!(
            fields("rbac.authorization.k8s.io/roles", &role, None),
            [
                "rules[1].verbs",
                "rules[2].apiGroups",
                "rules[3].nonResourceURLs",
                "rules[4].resources"
            ]
        );
        // Non-resource URLs are fine on a ClusterRole.
        assert_eq!(
            fields("rbac.authorization.k8s.io/clusterroles", &role, None),
            ["rules[1].verbs", "rules[2].apiGroups", "rules[4].resources"]
        );
    }

    #[test]
    fn role_ref_is_required_checked_and_immutable() {
        let rb = json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "op"},
            "subjects": [{"kind": "ServiceAccount", "name": "op"}]
        });
        assert!(fields("rbac.authorization.k8s.io/rolebindings", &rb, None).is_empty());
        assert_eq!(
            fields("rbac.authorization.k8s.io/clusterrolebindings", &rb, None),
            ["roleRef.kind", "subjects[0].namespace"],
            "a ClusterRoleBinding binds ClusterRoles, and its service account subjects need a namespace"
        );
        assert_eq!(
            fields(
                "rbac.authorization.k8s.io/rolebindings",
                &json!({"subjects": []}),
                None
            ),
            ["roleRef"]
        );
        let mut changed = rb.clone();
        changed["roleRef"]["name"] = json!("admin");
        let causes = validate(
            "rbac.authorization.k8s.io/rolebindings",
            &changed,
            Some(&rb),
        );
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "roleRef");
        assert!(causes[0].message.contains("cannot change roleRef"));
        let mut subjects = rb.clone();
        subjects["subjects"] = json!([{"kind": "Robot", "name": ""}]);
        assert_eq!(
            fields(
                "rbac.authorization.k8s.io/rolebindings",
                &subjects,
                Some(&rb)
            ),
            ["subjects[0].kind", "subjects[0].name"]
        );
    }

    #[test]
    fn kinds_without_checks_accept_anything() {
        assert!(fields("/serviceaccounts", &json!({"whatever": 1}), None).is_empty());
    }
}
