//! The HTTP face of the server: URL routing in the Kubernetes REST layout (`/api/v1/...`,
//! `/apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME/status`), query parameters, content types, metadata-only
//! responses (`as=PartialObjectMetadata`), `Warning` headers, and streaming watches with bookmarks,
//! `timeoutSeconds`, and in-stream `ERROR` events for expired versions.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::registry::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{FieldValidation, Filter, Store, WriteOptions, event_json};

/// Shared by all requests of one server.
pub struct AppState {
    pub store: Arc<Store>,
    pub bookmark_interval: Duration,
}

fn object_response(w: super::store::Written, meta: bool) -> Response {
    let body = if meta && w.object.get("kind").and_then(Value::as_str) != Some("Status") {
        meta_only(&w.object)
    } else {
        w.object
    };
    json_response(w.code, &body, &w.warnings)
}

pub(super) fn json_response(code: u16, body: &Value, warnings: &[String]) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    for w in warnings {
        let text = format!("299 - {}", Value::String(w.clone()));
        if let Ok(h) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", h);
        }
    }
    resp
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.to_json(), &[])
}

fn meta_only(obj: &Value) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

pub(super) struct Route<'a> {
    pub ns: Option<&'a str>,
    pub plural: &'a str,
    pub name: Option<&'a str>,
    pub sub: Option<&'a str>,
}

pub(super) fn split_route<'a>(rest: &[&'a str]) -> Option<Route<'a>> {
    let nested = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (ns, rest) = if nested {
        (Some(rest[1]), &rest[2..])
    } else {
        (None, rest)
    };
    match rest {
        [p] => Some(Route {
            ns,
            plural: p,
            name: None,
            sub: None,
        }),
        [p, n] => Some(Route {
            ns,
            plural: p,
            name: Some(n),
            sub: None,
        }),
        [p, n, s] => Some(Route {
            ns,
            plural: p,
            name: Some(n),
            sub: Some(s),
        }),
        _ => None,
    }
}

/// The single entry point: every request is routed here.
pub async fn handle(
    State(app): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Validating admission webhooks see a write before it is stored (see `admission`).
    let warnings = match super::admission::admit(&app, &method, &uri, &query, &headers, &body).await
    {
        Ok(w) => w,
        Err(refused) => return refused,
    };
    let mut resp = route_with(&app, &method, &uri, &query, &headers, &body);
    for w in &warnings {
        if let Ok(h) = HeaderValue::from_str(&format!("299 - {}", Value::String(w.clone()))) {
            resp.headers_mut().append("warning", h);
        }
    }
    resp
}

/// One request routed and answered, errors as `metav1.Status` responses.
pub(super) fn route_with(
    app: &Arc<AppState>,
    method: &Method,
    uri: &Uri,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    match route(app, method, uri, query, headers, body) {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn route(
    app: &Arc<AppState>,
    method: &Method,
    uri: &Uri,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let store = &app.store;
    let types = store.types();
    let doc = |v: Option<Value>| {
        v.map(|d| json_response(200, &d, &[]))
            .ok_or_else(registry::unknown_resource)
    };
    match segs.as_slice() {
        ["version"] => doc(Some(registry::version_doc())),
        ["api"] => doc(Some(registry::core_versions())),
        ["apis"] => doc(Some(registry::group_list(&types))),
        ["api", v] => doc(registry::resource_list(&types, "", v)),
        ["apis", g] => doc(registry::group(&types, g)),
        ["apis", g, v] => doc(registry::resource_list(&types, g, v)),
        ["openapi", "v3"] => doc(Some(registry::openapi_root(&types))),
        ["openapi", "v3", "api", v] => doc(registry::openapi_group_version(&types, "", v)),
        ["openapi", "v3", "apis", g, v] => doc(registry::openapi_group_version(&types, g, v)),
        ["api", v, rest @ ..] => resource(app, "", v, rest, method, q, headers, body),
        ["apis", g, v, rest @ ..] => resource(app, g, v, rest, method, q, headers, body),
        _ => Err(ApiError::not_found_path()),
    }
}

/// kubectl asks for server-side printing with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`.
fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.contains("as=Table") && a.contains("g=meta.k8s.io"))
}

fn bool_param(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).is_some_and(|v| v == "true" || v == "1")
}

fn filter(
    q: &HashMap<String, String>,
    ns: Option<&str>,
    rt: &ResourceType,
) -> Result<Filter, ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    fields
        .check_supported(rt.custom, &rt.selectable_fields)
        .map_err(ApiError::bad_request)?;
    Ok(Filter {
        namespace: ns.map(String::from),
        labels,
        fields,
    })
}

fn write_options(
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<WriteOptions, ApiError> {
    let field_validation = match q.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got {other:?}"
            )));
        }
    };
    let ua = headers
        .get("user-agent")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("unknown");
    Ok(WriteOptions {
        dry_run: q.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: q.get("fieldManager").cloned(),
        default_manager: ua.split('/').next().unwrap_or("unknown").to_string(),
        field_validation,
        force: bool_param(q, "force"),
    })
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .or_else(|_| serde_saphyr::from_slice(body))
        .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
}

#[allow(clippy::too_many_arguments)]
fn resource(
    app: &Arc<AppState>,
    group: &str,
    version: &str,
    rest: &[&str],
    method: &Method,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let r = split_route(rest).ok_or_else(ApiError::not_found_path)?;
    let store = &app.store;
    let rt = store
        .resolve(group, version, r.plural)
        .ok_or_else(ApiError::not_found_path)?;
    if (!rt.namespaced && r.ns.is_some()) || (rt.namespaced && r.ns.is_none() && r.name.is_some()) {
        return Err(ApiError::not_found_path());
    }
    let status = match r.sub {
        None => false,
        Some("status") if rt.status_subresource => true,
        Some(_) => return Err(ApiError::not_found_path()),
    };
    let content_type = headers
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if content_type.contains("protobuf") {
        // kube-rs always sends JSON; client-go (kubectl) may send protobuf for built-ins, which this
        // server does not decode.
        return Err(ApiError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/apply-patch+yaml",
        ]));
    }
    let accept = headers
        .get("accept")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let meta = accept.contains("as=PartialObjectMetadata");
    let ns = r.ns;
    match (method.clone(), r.name) {
        (Method::GET, Some(name)) if wants_table(headers) => {
            let obj = store.get(&rt, ns, name)?;
            let rv = obj.pointer("/metadata/resourceVersion").cloned();
            Ok(json_response(
                200,
                &super::table::table(&rt, &[obj], rv.as_ref()),
                &[],
            ))
        }
        (Method::GET, None) if wants_table(headers) && !bool_param(q, "watch") => {
            let f = filter(q, ns, &rt)?;
            let limit = q.get("limit").and_then(|l| l.parse().ok());
            let list = store.list(&rt, &f, limit, q.get("continue").map(String::as_str))?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            let mut table =
                super::table::table(&rt, &items, list.pointer("/metadata/resourceVersion"));
            if let Some(c) = list.pointer("/metadata/continue") {
                table["metadata"]["continue"] = c.clone();
            }
            Ok(json_response(200, &table, &[]))
        }
        (Method::GET, Some(name)) => {
            let obj = store.get(&rt, ns, name)?;
            Ok(json_response(
                200,
                &if meta { meta_only(&obj) } else { obj },
                &[],
            ))
        }
        (Method::GET, None) => {
            let f = filter(q, ns, &rt)?;
            if bool_param(q, "watch") {
                return Ok(watch(app, rt, f, q, meta));
            }
            let limit = q.get("limit").and_then(|l| l.parse().ok());
            let mut list = store.list(&rt, &f, limit, q.get("continue").map(String::as_str))?;
            if meta {
                let items: Vec<Value> = list["items"]
                    .as_array()
                    .map(|a| a.iter().map(meta_only).collect())
                    .unwrap_or_default();
                list["items"] = Value::Array(items);
                list["apiVersion"] = json!("meta.k8s.io/v1");
                list["kind"] = json!("PartialObjectMetadataList");
            }
            Ok(json_response(200, &list, &[]))
        }
        (Method::POST, None) => {
            let w = store.create(&rt, ns, parse_body(body)?, &write_options(q, headers)?)?;
            Ok(object_response(w, meta))
        }
        (Method::PUT, Some(name)) => {
            let w = store.update(
                &rt,
                ns,
                name,
                parse_body(body)?,
                &write_options(q, headers)?,
                status,
            )?;
            Ok(object_response(w, meta))
        }
        (Method::PATCH, Some(name)) => {
            let ct = headers
                .get("content-type")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let w = store.patch(&rt, ns, name, ct, body, &write_options(q, headers)?, status)?;
            Ok(object_response(w, meta))
        }
        (Method::DELETE, Some(name)) if !status => {
            let w = store.delete(&rt, ns, name, &parse_body(body)?)?;
            Ok(object_response(w, meta))
        }
        (Method::DELETE, None) => {
            let list = store.delete_collection(&rt, &filter(q, ns, &rt)?)?;
            Ok(json_response(200, &list, &[]))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}})
}

fn line(v: &Value, meta: bool) -> Bytes {
    let mut v = v.clone();
    if meta && v.get("type").and_then(Value::as_str) != Some("ERROR") {
        v["object"] = meta_only(&v["object"]);
    }
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

fn watch(
    app: &Arc<AppState>,
    rt: ResourceType,
    f: Filter,
    q: &HashMap<String, String>,
    meta: bool,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let bookmarks = bool_param(q, "allowWatchBookmarks");
    let send_initial = bool_param(q, "sendInitialEvents");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let start = app.store.watch(
        &rt,
        &f,
        q.get("resourceVersion").map(String::as_str),
        send_initial,
    );
    let interval = app.bookmark_interval;
    tokio::spawn(async move {
        let start = match start {
            Ok(s) => s,
            Err(e) => {
                let _ = tx
                    .send(line(
                        &json!({"type": "ERROR", "object": e.to_json()}),
                        false,
                    ))
                    .await;
                return;
            }
        };
        for ev in &start.initial {
            if tx.send(line(ev, meta)).await.is_err() {
                return;
            }
        }
        if send_initial
            && tx
                .send(line(&bookmark(&rt, start.rv, true), meta))
                .await
                .is_err()
        {
            return;
        }
        let mut live = start.rx;
        let mut last_rv = start.rv;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                ev = live.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= last_rv {
                            continue;
                        }
                        last_rv = ev.rv;
                        if let Some(j) = event_json(&rt, &f, &ev)
                            && tx.send(line(&j, meta)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let e = super::status::ApiError::expired(last_rv, last_rv + 1);
                        let _ = tx.send(line(&json!({"type": "ERROR", "object": e.to_json()}), false)).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(line(&bookmark(&rt, last_rv, false), meta)).await.is_err() {
                        return;
                    }
                }
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut resp = Body::from_stream(stream).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}
