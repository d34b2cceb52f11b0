//! A stand-in for the Step Functions version and alias APIs, which moto 5.2.5 does not serve
//! (`ListStateMachineVersions`, `PublishStateMachineVersion`, `DeleteStateMachineVersion` and the alias
//! calls answer HTTP 500; `ListStateMachineAliases` answers an empty list whatever exists). It is an HTTP
//! proxy on 127.0.0.1 in front of moto: those operations are answered from an in-memory store, everything
//! else is forwarded unchanged.
//!
//! The store learns versions from moto itself: moto does publish a version when `CreateStateMachine` or
//! `UpdateStateMachine` carries `publish: true` (its answer holds `stateMachineVersionArn`, and
//! `DescribeStateMachine` on that ARN works), so those answers are recorded. `PublishStateMachineVersion`
//! is turned into an `UpdateStateMachine` with only `publish: true`, which makes moto publish the current
//! revision. The semantics answered are AWS's documented ones:
//!
//! - `PublishStateMachineVersion` is idempotent: when the current revision already has a version, that
//!   version is returned and nothing new is published;
//! - versions are listed newest first; deleting a version an alias routes to is a `ConflictException`;
//!   deleting a version that does not exist succeeds;
//! - an alias routes to one or two distinct versions of its own machine, with weights from 0 to 100 that
//!   sum to 100 (else `ValidationException`); an unknown version is `ResourceNotFound`; creating an alias
//!   that exists with another routing or description is a `ConflictException`, with the same ones it
//!   returns the existing alias;
//! - `DeleteStateMachine` deletes the machine's versions and aliases with it.
//!
//! Resources are keyed by ARN, which holds the account, so tests isolated by moto's account header stay
//! isolated here too. One request per connection (`Connection: close` both ways), as in the tests' other
//! proxies; bodies must carry `Content-Length`, which the AWS SDK's requests do.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::raw_http::{self, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One published version.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub arn: String,
    pub number: u64,
    pub description: Option<String>,
    /// Seconds since the epoch, as the JSON protocol carries timestamps.
    pub creation_date: f64,
}

/// One alias.
#[derive(Debug, Clone, PartialEq)]
struct Alias {
    name: String,
    description: Option<String>,
    /// Version ARN and weight, in the order given.
    routing: Vec<(String, u64)>,
    creation_date: f64,
    update_date: f64,
}

#[derive(Debug, Default)]
struct Machine {
    versions: BTreeMap<u64, Version>,
    /// Whether the current revision has no version yet (so a publish makes one).
    unpublished_revision: bool,
    aliases: BTreeMap<String, Alias>,
}

#[derive(Debug, Default)]
struct Store {
    /// By unqualified state machine ARN.
    machines: BTreeMap<String, Machine>,
}

/// A running stand-in; stops when dropped.
pub struct VersionsStandIn {
    addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    task: tokio::task::JoinHandle<()>,
}

impl VersionsStandIn {
    /// Listens on a free port of 127.0.0.1 and forwards what it does not answer itself to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let store = Arc::new(Mutex::new(Store::default()));
        let task = tokio::spawn({
            let store = store.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(serve(client, upstream, store.clone()));
                }
            }
        });
        Ok(VersionsStandIn { addr, store, task })
    }

    /// Starts a stand-in on a thread and runtime of its own that live as long as the process, for test
    /// binaries whose tests each run on a runtime of their own (a stand-in started on one test's runtime
    /// stops with that test). Returns its URL.
    pub fn start_for_process(upstream: SocketAddr) -> std::io::Result<String> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sfn-versions-standin".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match VersionsStandIn::start(upstream).await {
                        Ok(standin) => {
                            let _ = tx.send(Ok(standin.url()));
                            std::future::pending::<()>().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })?;
        rx.recv()
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }

    /// `http://127.0.0.1:PORT`, for the SDK's endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on, for a proxy placed in front of it.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live versions of a machine, oldest first (for assertions).
    pub fn versions(&self, state_machine_arn: &str) -> Vec<Version> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store
            .machines
            .get(state_machine_arn)
            .map(|m| m.versions.values().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for VersionsStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operations answered here rather than by moto.
const ANSWERED: [&str; 8] = [
    "ListStateMachineVersions",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "DescribeStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "ListStateMachineAliases",
    "PublishStateMachineVersion",
];

struct Request {
    head: String,
    body: Vec<u8>,
    /// The action of `X-Amz-Target: AWSStepFunctions.Action`, if it is one.
    action: Option<String>,
}

/// An answer to the client: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

fn ok(body: Value) -> Answer {
    Answer { status: 200, body }
}

fn fail(code: &str, message: impl Into<String>) -> Answer {
    Answer {
        status: 400,
        body: json!({"__type": code, "message": message.into()}),
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}

async fn read_request(client: &mut TcpStream) -> Option<Request> {
    let (head, body) = raw_http::read_request(client).await?;
    let action = header(&head, "x-amz-target")
        .and_then(|t| t.strip_prefix("AWSStepFunctions.").map(str::to_owned));
    Some(Request { head, body, action })
}

/// Sends a request to moto with `target` and `body` in place of the client's (the other headers kept;
/// moto checks no signature) and returns its status and body.
async fn forward(
    upstream: SocketAddr,
    req: &Request,
    replace: Option<(&str, &[u8])>,
) -> Option<(u16, Vec<u8>, Vec<u8>)> {
    let mut conn = TcpStream::connect(upstream).await.ok()?;
    let body = replace.map(|(_, b)| b).unwrap_or(&req.body);
    let mut head = String::new();
    for (i, line) in req.head.trim_end().lines().enumerate() {
        let name = line
            .split_once(':')
            .map(|(k, _)| k.trim().to_ascii_lowercase());
        if i > 0 && matches!(name.as_deref(), Some("connection" | "content-length")) {
            continue;
        }
        if i > 0
            && name.as_deref() == Some("x-amz-target")
            && let Some((target, _)) = replace
        {
            head.push_str(&format!("X-Amz-Target: AWSStepFunctions.{target}\r\n"));
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    conn.write_all(head.as_bytes()).await.ok()?;
    conn.write_all(body).await.ok()?;
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let status = String::from_utf8_lossy(&response[..split])
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let body = response[split..].to_vec();
    Some((status, body, response))
}

fn render(answer: &Answer) -> Vec<u8> {
    let body = answer.body.to_string();
    let reason = if answer.status == 200 {
        "OK"
    } else {
        "Bad Request"
    };
    let error_type = answer
        .body
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| format!("x-amzn-ErrorType: {t}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nx-amzn-RequestId: versions-standin\r\n{error_type}Connection: close\r\n\r\n{body}",
        answer.status,
        body.len()
    )
    .into_bytes()
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, store: Arc<Mutex<Store>>) {
    let Some(req) = read_request(&mut client).await else {
        return;
    };
    let input: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let response = match req.action.as_deref() {
        Some("PublishStateMachineVersion") => {
            let answer = publish(upstream, &req, &input, &store).await;
            render(&answer)
        }
        Some(action) if ANSWERED.contains(&action) => {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            render(&answer(&mut store, action, &input))
        }
        action => {
            let Some((status, body, raw)) = forward(upstream, &req, None).await else {
                return;
            };
            if status == 200 {
                let output: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                learn(&mut store, action.unwrap_or(""), &input, &output);
            }
            raw
        }
    };
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}

/// Records what a forwarded call that succeeded did to versions and aliases.
fn learn(store: &mut Store, action: &str, input: &Value, output: &Value) {
    let published = output
        .get("stateMachineVersionArn")
        .and_then(Value::as_str)
        .and_then(|arn| Some((arn, version_number(arn)?)));
    let machine_arn = match action {
        "CreateStateMachine" => output.get("stateMachineArn").and_then(Value::as_str),
        "UpdateStateMachine" | "DeleteStateMachine" => {
            input.get("stateMachineArn").and_then(Value::as_str)
        }
        _ => None,
    };
    let Some(machine_arn) = machine_arn else {
        return;
    };
    if action == "DeleteStateMachine" {
        store.machines.remove(machine_arn);
        return;
    }
    let machine = store.machines.entry(machine_arn.to_owned()).or_default();
    match published {
        Some((arn, number)) => {
            let date = output
                .get("creationDate")
                .or_else(|| output.get("updateDate"))
                .and_then(Value::as_f64)
                .unwrap_or_else(now);
            machine.versions.insert(
                number,
                Version {
                    arn: arn.to_owned(),
                    number,
                    description: input
                        .get("versionDescription")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    creation_date: date,
                },
            );
            machine.unpublished_revision = false;
        }
        None => machine.unpublished_revision = true,
    }
}

/// `…:stateMachine:NAME:N` → `N`.
fn version_number(arn: &str) -> Option<u64> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 8 && parts[5] == "stateMachine")
        .then(|| parts[7].parse().ok())
        .flatten()
}

/// Splits a qualified ARN into the machine's ARN and the qualifier.
fn split_qualified(arn: &str) -> Option<(String, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 8 || parts[0] != "arn" || parts[5] != "stateMachine" {
        return None;
    }
    Some((parts[..7].join(":"), parts[7]))
}

fn is_machine_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[5] == "stateMachine" && !parts[6].is_empty()
}

fn string<'a>(input: &'a Value, field: &str) -> Result<&'a str, Answer> {
    input.get(field).and_then(Value::as_str).ok_or_else(|| {
        fail(
            "ValidationException",
            format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

async fn publish(
    upstream: SocketAddr,
    req: &Request,
    input: &Value,
    store: &Mutex<Store>,
) -> Answer {
    let machine_arn = match string(input, "stateMachineArn") {
        Ok(a) => a.to_owned(),
        Err(e) => return e,
    };
    if !is_machine_arn(&machine_arn) {
        return fail("InvalidArn", format!("Invalid Arn: '{machine_arn}'"));
    }
    {
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = store.machines.get(&machine_arn)
            && let (false, Some(latest)) = (m.unpublished_revision, m.versions.values().last())
        {
            return ok(json!({
                "stateMachineVersionArn": latest.arn,
                "creationDate": latest.creation_date,
            }));
        }
    }
    let mut update = json!({"stateMachineArn": machine_arn, "publish": true});
    if let Some(d) = input.get("description") {
        update["versionDescription"] = d.clone();
    }
    let body = update.to_string();
    let Some((status, out, _)) =
        forward(upstream, req, Some(("UpdateStateMachine", body.as_bytes()))).await
    else {
        return Answer {
            status: 500,
            body: json!({"__type": "InternalFailure", "message": "the emulator did not answer"}),
        };
    };
    let output: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    if status != 200 {
        return Answer {
            status,
            body: output,
        };
    }
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    learn(&mut store, "UpdateStateMachine", &update, &output);
    ok(json!({
        "stateMachineVersionArn": output.get("stateMachineVersionArn").cloned().unwrap_or(Value::Null),
        "creationDate": output.get("updateDate").cloned().unwrap_or_else(|| json!(now())),
    }))
}

/// Answers one of the operations served here.
fn answer(store: &mut Store, action: &str, input: &Value) -> Answer {
    let result = match action {
        "ListStateMachineVersions" => list_versions(store, input),
        "DeleteStateMachineVersion" => delete_version(store, input),
        "CreateStateMachineAlias" => create_alias(store, input),
        "DescribeStateMachineAlias" => describe_alias(store, input),
        "UpdateStateMachineAlias" => update_alias(store, input),
        "DeleteStateMachineAlias" => delete_alias(store, input),
        "ListStateMachineAliases" => list_aliases(store, input),
        _ => Err(fail("UnknownOperationException", action.to_owned())),
    };
    result.unwrap_or_else(|e| e)
}

fn list_versions(store: &Store, input: &Value) -> Result<Answer, Answer> {
    let arn = string(input, "stateMachineArn")?;
    if !is_machine_arn(arn) {
        return Err(fail("InvalidArn", format!("Invalid Arn: '{arn}'")));
    }
    let versions: Vec<Value> = store
        .machines
        .get(arn)
        .map(|m| {
            m.versions
                .values()
                .rev()
                .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}))
                .collect()
        })
        .unwrap_or_default();
    Ok(ok(json!({ "stateMachineVersions": versions })))
}

fn delete_version(store: &mut Store, input: &Value) -> Result<Answer, Answer> {
    let arn = string(input, "stateMachineVersionArn")?;
    let (machine_arn, number) = split_qualified(arn)
        .and_then(|(m, q)| Some((m, q.parse::<u64>().ok()?)))
        .ok_or_else(|| fail("InvalidArn", format!("Invalid Arn: '{arn}'")))?;
    let Some(machine) = store.machines.get_mut(&machine_arn) else {
        return Ok(ok(json!({})));
    };
    if let Some(alias) = machine
        .aliases
        .values()
        .find(|a| a.routing.iter().any(|(v, _)| v == arn))
    {
        return Err(fail(
            "ConflictException",
            format!(
                "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                alias.name
            ),
        ));
    }
    machine.versions.remove(&number);
    Ok(ok(json!({})))
}

fn alias_arn_parts(arn: &str) -> Result<(String, String), Answer> {
    split_qualified(arn)
        .filter(|(_, q)| q.parse::<u64>().is_err() && !q.is_empty())
        .map(|(m, q)| (m, q.to_owned()))
        .ok_or_else(|| fail("InvalidArn", format!("Invalid Arn: '{arn}'")))
}

/// Checks a routing configuration against AWS's rules and the machine's versions.
fn routing(store: &Store, input: &Value) -> Result<(String, Vec<(String, u64)>), Answer> {
    let entries = input
        .get("routingConfiguration")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            fail(
                "ValidationException",
                "routingConfiguration must not be null",
            )
        })?;
    if entries.is_empty() || entries.len() > 2 {
        return Err(fail(
            "ValidationException",
            "routingConfiguration must have one or two entries",
        ));
    }
    let mut routes = Vec::new();
    let mut machine_arn: Option<String> = None;
    for entry in entries {
        let version = string(entry, "stateMachineVersionArn")?;
        let weight = entry
            .get("weight")
            .and_then(Value::as_u64)
            .filter(|w| *w <= 100)
            .ok_or_else(|| fail("ValidationException", "weight must be between 0 and 100"))?;
        let (machine, number) = split_qualified(version)
            .and_then(|(m, q)| Some((m, q.parse::<u64>().ok()?)))
            .ok_or_else(|| fail("InvalidArn", format!("Invalid Arn: '{version}'")))?;
        if machine_arn.as_ref().is_some_and(|m| *m != machine) {
            return Err(fail(
                "ValidationException",
                "routingConfiguration versions must belong to the same state machine",
            ));
        }
        if routes.iter().any(|(v, _)| v == version) {
            return Err(fail(
                "ValidationException",
                "routingConfiguration must not name a version twice",
            ));
        }
        let exists = store
            .machines
            .get(&machine)
            .is_some_and(|m| m.versions.contains_key(&number));
        if !exists {
            return Err(fail(
                "ResourceNotFound",
                format!("Resource not found: '{version}'"),
            ));
        }
        machine_arn = Some(machine);
        routes.push((version.to_owned(), weight));
    }
    if routes.iter().map(|(_, w)| w).sum::<u64>() != 100 {
        return Err(fail(
            "ValidationException",
            "The sum of the weights in routingConfiguration must be 100",
        ));
    }
    Ok((machine_arn.unwrap_or_default(), routes))
}

fn routing_json(routes: &[(String, u64)]) -> Value {
    routes
        .iter()
        .map(|(v, w)| json!({"stateMachineVersionArn": v, "weight": w}))
        .collect()
}

fn create_alias(store: &mut Store, input: &Value) -> Result<Answer, Answer> {
    let name = string(input, "name")?.to_owned();
    let valid_name = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.chars().all(|c| c.is_ascii_digit());
    if !valid_name {
        return Err(fail(
            "ValidationException",
            format!("Invalid alias name: '{name}'"),
        ));
    }
    let description = input
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (machine_arn, routes) = routing(store, input)?;
    let alias_arn = format!("{machine_arn}:{name}");
    let machine = store.machines.entry(machine_arn).or_default();
    if let Some(existing) = machine.aliases.get(&name) {
        if existing.routing == routes && existing.description == description {
            return Ok(ok(
                json!({"stateMachineAliasArn": alias_arn, "creationDate": existing.creation_date}),
            ));
        }
        return Err(fail(
            "ConflictException",
            format!("Alias already exists with a different configuration: '{alias_arn}'"),
        ));
    }
    let date = now();
    machine.aliases.insert(
        name.clone(),
        Alias {
            name,
            description,
            routing: routes,
            creation_date: date,
            update_date: date,
        },
    );
    Ok(ok(
        json!({"stateMachineAliasArn": alias_arn, "creationDate": date}),
    ))
}

fn find_alias<'a>(store: &'a mut Store, arn: &str) -> Result<&'a mut Alias, Answer> {
    let (machine_arn, name) = alias_arn_parts(arn)?;
    store
        .machines
        .get_mut(&machine_arn)
        .and_then(|m| m.aliases.get_mut(&name))
        .ok_or_else(|| fail("ResourceNotFound", format!("Resource not found: '{arn}'")))
}

fn describe_alias(store: &mut Store, input: &Value) -> Result<Answer, Answer> {
    let arn = string(input, "stateMachineAliasArn")?;
    let alias = find_alias(store, arn)?;
    let mut out = json!({
        "stateMachineAliasArn": arn,
        "name": alias.name,
        "routingConfiguration": routing_json(&alias.routing),
        "creationDate": alias.creation_date,
        "updateDate": alias.update_date,
    });
    if let Some(d) = &alias.description {
        out["description"] = json!(d);
    }
    Ok(ok(out))
}

fn update_alias(store: &mut Store, input: &Value) -> Result<Answer, Answer> {
    let arn = string(input, "stateMachineAliasArn")?.to_owned();
    let (machine_arn, _) = alias_arn_parts(&arn)?;
    let routes = if input.get("routingConfiguration").is_some() {
        let (routed_machine, routes) = routing(store, input)?;
        if routed_machine != machine_arn {
            return Err(fail(
                "ValidationException",
                "routingConfiguration versions must belong to the alias's state machine",
            ));
        }
        Some(routes)
    } else {
        None
    };
    let description = input
        .get("description")
        .map(|d| d.as_str().map(str::to_owned));
    if routes.is_none() && description.is_none() {
        return Err(fail(
            "ValidationException",
            "Either the description or the routingConfiguration must be specified",
        ));
    }
    let alias = find_alias(store, &arn)?;
    if let Some(routes) = routes {
        alias.routing = routes;
    }
    if let Some(description) = description {
        alias.description = description;
    }
    alias.update_date = now();
    Ok(ok(json!({"updateDate": alias.update_date})))
}

fn delete_alias(store: &mut Store, input: &Value) -> Result<Answer, Answer> {
    let arn = string(input, "stateMachineAliasArn")?;
    let (machine_arn, name) = alias_arn_parts(arn)?;
    find_alias(store, arn)?;
    if let Some(m) = store.machines.get_mut(&machine_arn) {
        m.aliases.remove(&name);
    }
    Ok(ok(json!({})))
}

fn list_aliases(store: &Store, input: &Value) -> Result<Answer, Answer> {
    let arn = string(input, "stateMachineArn")?;
    // A version ARN lists the aliases that route to that version.
    let (machine_arn, version) = if is_machine_arn(arn) {
        (arn.to_owned(), None)
    } else {
        let (m, _) = split_qualified(arn)
            .ok_or_else(|| fail("InvalidArn", format!("Invalid Arn: '{arn}'")))?;
        (m, Some(arn))
    };
    let machine = store.machines.get(&machine_arn);
    if let (Some(version), Some(m)) = (version, machine) {
        let known = version_number(version).is_some_and(|n| m.versions.contains_key(&n));
        if !known {
            return Err(fail(
                "ResourceNotFound",
                format!("Resource not found: '{version}'"),
            ));
        }
    }
    let aliases: Vec<Value> = machine
        .map(|m| {
            m.aliases
                .values()
                .filter(|a| version.is_none_or(|v| a.routing.iter().any(|(r, _)| r == v)))
                .map(|a| {
                    json!({
                        "stateMachineAliasArn": format!("{machine_arn}:{}", a.name),
                        "creationDate": a.creation_date,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ok(json!({ "stateMachineAliases": aliases })))
}
