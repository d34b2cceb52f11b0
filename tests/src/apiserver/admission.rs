//! Validating admission webhooks, called as kube-apiserver calls them
//! (<https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/>).
//!
//! `admissionregistration.k8s.io/v1` ValidatingWebhookConfigurations are stored like any object. Before a
//! create, update or patch is written, every webhook whose rules match is called:
//! - matching: `rules` by API group, version, resource (with `*`, `plural/sub`, `*/*` forms), operation and
//!   `scope`; `namespaceSelector` against the labels of the object's Namespace (ignored for cluster-scoped
//!   objects); `objectSelector` against the labels of the object or, on update, of the old object;
//! - the request: an `admission.k8s.io/v1` AdmissionReview with a fresh `uid`, `kind`, `resource`,
//!   `subResource`, `requestKind`/`requestResource`, `name`, `namespace`, `operation`, `userInfo`, `object`
//!   (as it would be stored: defaulted, pruned and schema-validated first, as the real server validates the
//!   schema before validating admission), `oldObject` on update, `dryRun` and `options`, POSTed to
//!   `clientConfig.url` (or `https://<service>.<namespace>.svc:<port><path>`) with `?timeout=<N>s`, trusting
//!   only `caBundle` when it is set;
//! - the answer: a denial becomes the response, a `metav1.Status` with the webhook's code (400 when it gave
//!   less) and the message as kube-apiserver formats it, `admission webhook "<name>" denied the request:
//!   <message>`; warnings become `Warning: 299 - "<text>"` headers (also on a denial); a timeout
//!   (`timeoutSeconds`, default 10), a refused connection, a TLS failure or an unreadable answer is
//!   `failurePolicy`'s to decide: `Ignore` goes on, `Fail` (the v1 default) answers 500 InternalError
//!   `failed calling webhook "<name>": failed to call webhook: <error>`;
//! - dry runs: the webhook is called with `dryRun: true` and nothing is stored afterwards (v1 webhooks
//!   declare `sideEffects: None` or `NoneOnDryRun`, so every one of them may be called for a dry run).
//!
//! Not reproduced: `matchPolicy: Equivalent` (only the exact group/version/resource matches),
//! `matchConditions`, `reinvocationPolicy` and mutating webhooks, DELETE and CONNECT operations, and the
//! webhooks being called in parallel (they are called one after the other; the first denial wins either way).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::http::{AppState, Route, json_response, split_route};
use super::registry::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::store::Filter;

const GROUP: &str = "admissionregistration.k8s.io";
const PLURAL: &str = "validatingwebhookconfigurations";
/// kube-apiserver's default `timeoutSeconds` for v1 webhooks.
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

/// One matching webhook of a configuration.
struct Hook {
    name: String,
    config: Value,
}

/// What the write under review is.
struct Attributes<'a> {
    rt: &'a ResourceType,
    route: &'a Route<'a>,
    operation: &'static str,
    object: Value,
    old: Option<Value>,
    dry_run: bool,
}

fn str_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn any_matches(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == "*" || x == value)
}

/// Whether a rule's `resources` entry names `plural` (and `sub`, if any).
fn resource_matches(entry: &str, plural: &str, sub: Option<&str>) -> bool {
    let (res, entry_sub) = match entry.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (entry, None),
    };
    let res_ok = res == "*" || res == plural;
    let sub_ok = match (entry_sub, sub) {
        (None, None) => true,
        (Some("*"), Some(_)) => true,
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    res_ok && sub_ok
}

fn rule_matches(rule: &Value, a: &Attributes<'_>) -> bool {
    let scope = rule.get("scope").and_then(Value::as_str).unwrap_or("*");
    let scope_ok = match scope {
        "Cluster" => !a.rt.namespaced,
        "Namespaced" => a.rt.namespaced,
        _ => true,
    };
    scope_ok
        && any_matches(&str_list(rule, "operations"), a.operation)
        && any_matches(&str_list(rule, "apiGroups"), &a.rt.group)
        && any_matches(&str_list(rule, "apiVersions"), &a.rt.version)
        && str_list(rule, "resources")
            .iter()
            .any(|r| resource_matches(r, &a.rt.plural, a.route.sub))
}

/// A `metav1.LabelSelector` (matchLabels, matchExpressions) in the string form the selector parser reads.
fn selector_of(v: Option<&Value>) -> LabelSelector {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return LabelSelector::default();
    };
    let mut parts = Vec::new();
    if let Some(m) = v.get("matchLabels").and_then(Value::as_object) {
        for (k, val) in m {
            parts.push(format!("{k}={}", val.as_str().unwrap_or_default()));
        }
    }
    for e in v
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let values = str_list(e, "values").join(",");
        match e.get("operator").and_then(Value::as_str) {
            Some("In") => parts.push(format!("{key} in ({values})")),
            Some("NotIn") => parts.push(format!("{key} notin ({values})")),
            Some("Exists") => parts.push(key.to_owned()),
            Some("DoesNotExist") => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    LabelSelector::parse(&parts.join(",")).unwrap_or_default()
}

fn hook_matches(app: &AppState, hook: &Value, a: &Attributes<'_>) -> bool {
    if !rules_match(hook, a) {
        return false;
    }
    if a.rt.namespaced
        && let Some(ns) = a.route.ns
    {
        let selector = selector_of(hook.get("namespaceSelector"));
        let ns_rt = app.store.resolve("", "v1", "namespaces");
        let ns_obj = ns_rt
            .and_then(|rt| app.store.get(&rt, None, ns).ok())
            .unwrap_or(json!({}));
        if !selector.matches(&ns_obj) {
            return false;
        }
    }
    let objects = selector_of(hook.get("objectSelector"));
    objects.matches(&a.object) || a.old.as_ref().is_some_and(|o| objects.matches(o))
}

/// Every webhook of every stored ValidatingWebhookConfiguration.
fn all_hooks(app: &AppState) -> Vec<Value> {
    let Some(rt) = app.store.resolve(GROUP, "v1", PLURAL) else {
        return Vec::new();
    };
    let filter = Filter {
        namespace: None,
        labels: LabelSelector::default(),
        fields: FieldSelector::default(),
    };
    let Ok(list) = app.store.list(&rt, &filter, None, None) else {
        return Vec::new();
    };
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|vwc| vwc["webhooks"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn rules_match(hook: &Value, a: &Attributes<'_>) -> bool {
    hook.get("rules")
        .and_then(Value::as_array)
        .is_some_and(|rules| rules.iter().any(|r| rule_matches(r, a)))
}

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

fn review_request(uid: &str, a: &Attributes<'_>) -> Value {
    let gvk = json!({"group": a.rt.group, "version": a.rt.version, "kind": a.rt.kind});
    let gvr = json!({"group": a.rt.group, "version": a.rt.version, "resource": a.rt.plural});
    let name = a
        .object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .or(a.route.name)
        .unwrap_or_default();
    let options_kind = if a.operation == "CREATE" {
        "CreateOptions"
    } else {
        "UpdateOptions"
    };
    let mut req = json!({
        "uid": uid,
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": name,
        "operation": a.operation,
        "userInfo": {"username": "sfn-test-admin", "groups": ["system:masters", "system:authenticated"]},
        "object": a.object,
        "oldObject": a.old.clone().unwrap_or(Value::Null),
        "dryRun": a.dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": options_kind},
    });
    if let Some(sub) = a.route.sub {
        req["subResource"] = json!(sub);
    }
    if let Some(ns) = a.route.ns {
        req["namespace"] = json!(ns);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
}

/// Where the webhook is reached: `clientConfig.url`, or the Service's in-cluster name.
fn endpoint(cc: &Value) -> Result<(String, String), String> {
    if let Some(url) = cc.get("url").and_then(Value::as_str) {
        let uri: Uri = url.parse().map_err(|e| format!("parse {url:?}: {e}"))?;
        let base = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("https"),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return Ok((base, path.to_owned()));
    }
    let svc = cc
        .get("service")
        .ok_or("clientConfig has neither url nor service")?;
    let s = |k: &str| svc.get(k).and_then(Value::as_str).unwrap_or_default();
    let port = svc.get("port").and_then(Value::as_u64).unwrap_or(443);
    let path = match s("path") {
        "" => "/",
        p => p,
    };
    Ok((
        format!("https://{}.{}.svc:{port}", s("name"), s("namespace")),
        path.to_owned(),
    ))
}

fn ca_roots(cc: &Value) -> Result<Option<Vec<Vec<u8>>>, String> {
    let Some(b64) = cc
        .get("caBundle")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    let pem = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("caBundle is not base64: {e}"))?;
    let text = String::from_utf8_lossy(&pem);
    let mut ders = Vec::new();
    for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body = block
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap_or_default();
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        ders.push(
            base64::engine::general_purpose::STANDARD
                .decode(clean)
                .map_err(|e| format!("caBundle certificate: {e}"))?,
        );
    }
    Ok(Some(ders))
}

/// Calls one webhook; the AdmissionReview `response` on success, else the reason it could not be called.
async fn call(hook: &Hook, review: &Value, uid: &str) -> Result<Value, String> {
    let cc = &hook.config["clientConfig"];
    let timeout = Duration::from_secs(
        hook.config
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
    );
    let (base, path) = endpoint(cc)?;
    let url: http::Uri = base.parse().map_err(|e| format!("parse {base:?}: {e}"))?;
    let mut config = kube::Config::new(url);
    config.root_cert = ca_roots(cc)?;
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
    let sep = if path.contains('?') { '&' } else { '?' };
    let target = format!("{path}{sep}timeout={}s", timeout.as_secs());
    let request = http::Request::post(&target)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(serde_json::to_vec(review).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let post = format!("Post \"{base}{target}\"");
    let response = tokio::time::timeout(timeout, async {
        let resp = client.send(request.map(Into::into)).await?;
        let status = resp.status();
        let body = axum::body::to_bytes(axum::body::Body::new(resp.into_body()), 16 << 20)
            .await
            .map_err(|e| kube::Error::Service(e.into()))?;
        Ok::<_, kube::Error>((status, body))
    })
    .await
    .map_err(|_| format!("{post}: context deadline exceeded"))?
    .map_err(|e| format!("{post}: {e}"))?;
    let (status, body) = response;
    if !status.is_success() {
        return Err(format!(
            "{post}: the server responded with status {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&body)
        ));
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("received invalid webhook response: {e}"))?;
    let resp = doc
        .get("response")
        .cloned()
        .ok_or("received invalid webhook response: the response is missing")?;
    let got = resp.get("uid").and_then(Value::as_str).unwrap_or_default();
    if got != uid {
        return Err(format!("expected response.uid=\"{uid}\", got \"{got}\""));
    }
    Ok(resp)
}

fn status_response(code: u16, status: Value, warnings: &[String]) -> Response {
    json_response(code, &status, warnings)
}

/// The 4xx answer to a denial, as kube-apiserver's `ToStatusErr` builds it from the webhook's status.
fn denial(name: &str, result: Option<&Value>) -> (u16, Value) {
    let mut status = result.cloned().unwrap_or(json!({}));
    let code = status
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| *c >= 400)
        .unwrap_or(400) as u16;
    let denied_by = format!("admission webhook \"{name}\" denied the request");
    let text = |k: &str| {
        status
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let message = match (text("message"), text("reason")) {
        (Some(m), _) => format!("{denied_by}: {m}"),
        (None, Some(r)) => format!("{denied_by}: {r}"),
        (None, None) => format!("{denied_by} without explanation"),
    };
    if let Some(m) = status.as_object_mut() {
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.entry("metadata").or_insert(json!({}));
        m.insert("message".into(), json!(message));
        m.insert("code".into(), json!(code));
        match m.get("status").and_then(Value::as_str) {
            None | Some("") | Some("Success") => {
                m.insert("status".into(), json!("Failure"));
            }
            _ => {}
        }
    }
    (code, status)
}

fn internal_error(message: String) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("Internal error occurred: {message}"),
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    })
}

/// Reviews a write before it happens. `Ok` carries the webhooks' warnings (for the response's headers);
/// `Err` is the response that replaces the write (a denial, a webhook failure under `failurePolicy: Fail`,
/// or the error the write itself would get).
pub(super) async fn admit(
    app: &Arc<AppState>,
    method: &Method,
    uri: &Uri,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<String>, Response> {
    if !matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        return Ok(Vec::new());
    }
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Ok(Vec::new()),
    };
    let Some(route) = split_route(rest) else {
        return Ok(Vec::new());
    };
    let Some(rt) = app.store.resolve(group, version, route.plural) else {
        return Ok(Vec::new());
    };
    let old = route
        .name
        .and_then(|n| app.store.get(&rt, route.ns, n).ok());
    let operation = match (method, &old) {
        (&Method::POST, _) | (_, None) => "CREATE",
        _ => "UPDATE",
    };
    let dry_run = query.get("dryRun").is_some_and(|v| v == "All");
    let probe = Attributes {
        rt: &rt,
        route: &route,
        operation,
        object: json!({}),
        old: old.clone(),
        dry_run,
    };
    // Rules first (cheap); selectors need the object, which needs the dry run below.
    let hooks: Vec<Value> = all_hooks(app)
        .into_iter()
        .filter(|h| rules_match(h, &probe))
        .collect();
    if hooks.is_empty() {
        return Ok(Vec::new());
    }
    // The object as it would be stored: the same write as a dry run. An error here is the write's own
    // (schema validation runs before validating admission on a real server too).
    let mut dry_query = query.clone();
    dry_query.insert("dryRun".into(), "All".into());
    let dry = super::http::route_with(app, method, uri, &dry_query, headers, body);
    let status = dry.status();
    let bytes = axum::body::to_bytes(dry.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    if !status.is_success() {
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(json!({}));
        return Err(json_response(status.as_u16(), &body, &[]));
    }
    let object: Value = serde_json::from_slice(&bytes).unwrap_or(json!({}));
    let attrs = Attributes { object, ..probe };
    let mut warnings = Vec::new();
    let matching = hooks
        .into_iter()
        .filter(|h| hook_matches(app, h, &attrs))
        .map(|h| Hook {
            name: h["name"].as_str().unwrap_or_default().to_owned(),
            config: h,
        });
    for hook in matching {
        let uid = format!(
            "00000000-0000-4000-8000-{:012x}",
            NEXT_UID.fetch_add(1, Ordering::Relaxed)
        );
        let review = review_request(&uid, &attrs);
        match call(&hook, &review, &uid).await {
            Ok(resp) => {
                warnings.extend(str_list(&resp, "warnings"));
                if resp.get("allowed").and_then(Value::as_bool) != Some(true) {
                    let (code, status) = denial(&hook.name, resp.get("status"));
                    return Err(status_response(code, status, &warnings));
                }
            }
            Err(reason) => {
                let ignore =
                    hook.config.get("failurePolicy").and_then(Value::as_str) == Some("Ignore");
                if ignore {
                    continue;
                }
                let message = format!(
                    "failed calling webhook \"{}\": failed to call webhook: {reason}",
                    hook.name
                );
                return Err(status_response(500, internal_error(message), &warnings));
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_match_in_every_form() {
        assert!(resource_matches("statemachines", "statemachines", None));
        assert!(!resource_matches(
            "statemachines",
            "statemachines",
            Some("status")
        ));
        assert!(resource_matches(
            "statemachines/status",
            "statemachines",
            Some("status")
        ));
        assert!(resource_matches("*", "activities", None));
        assert!(!resource_matches("*", "activities", Some("status")));
        assert!(resource_matches("*/*", "activities", Some("status")));
        assert!(resource_matches("*/status", "activities", Some("status")));
        assert!(!resource_matches("activities", "statemachines", None));
    }

    #[test]
    fn label_selectors_are_read_from_their_object_form() {
        let sel = selector_of(Some(&json!({
            "matchLabels": {"team": "a"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["x", "y"]},
                {"key": "skip", "operator": "DoesNotExist"}
            ]
        })));
        let obj = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(sel.matches(&obj(json!({"team": "a", "tier": "y"}))));
        assert!(!sel.matches(&obj(json!({"team": "a", "tier": "z"}))));
        assert!(!sel.matches(&obj(json!({"team": "a", "tier": "x", "skip": "1"}))));
        assert!(selector_of(None).matches(&obj(json!({}))));
        assert!(selector_of(Some(&json!({}))).matches(&obj(json!({}))));
    }

    #[test]
    fn denials_are_formatted_as_kube_apiserver_does() {
        let (code, s) = denial(
            "v.example.com",
            Some(&json!({"code": 403, "reason": "Forbidden", "message": "no"})),
        );
        assert_eq!(code, 403);
        assert_eq!(
            s["message"],
            "admission webhook \"v.example.com\" denied the request: no"
        );
        assert_eq!(s["status"], "Failure");
        assert_eq!(s["reason"], "Forbidden");
        let (code, s) = denial("v.example.com", None);
        assert_eq!(code, 400);
        assert_eq!(
            s["message"],
            "admission webhook \"v.example.com\" denied the request without explanation"
        );
        let (_, s) = denial("v", Some(&json!({"reason": "NotAllowed", "code": 200})));
        assert_eq!(s["code"], 400);
        assert_eq!(
            s["message"],
            "admission webhook \"v\" denied the request: NotAllowed"
        );
    }

    #[test]
    fn endpoints_come_from_the_url_or_the_service() {
        assert_eq!(
            endpoint(&json!({"url": "https://127.0.0.1:9443/validate"})).unwrap(),
            ("https://127.0.0.1:9443".into(), "/validate".into())
        );
        assert_eq!(
            endpoint(&json!({"service": {"name": "w", "namespace": "sys", "path": "/validate"}}))
                .unwrap(),
            ("https://w.sys.svc:443".into(), "/validate".into())
        );
    }
}
