//! The object store and the semantics of every write: one global, monotonically increasing
//! `resourceVersion`; `uid`, `creationTimestamp` and `generation` (bumped only by changes outside `metadata`
//! and `status`); optimistic concurrency (409 on a stale `resourceVersion`); the status subresource; CRD
//! schemas; finalizers and `deletionTimestamp`; namespace and CRD termination; owner-reference garbage
//! collection with the three propagation policies; managed fields; and the event history that watches replay
//! from. No-op writes keep the `resourceVersion` and emit no event. Everything happens under one lock, so
//! the cascades a real cluster runs in the background are done by the time a request returns.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::patch::{self, FieldPath};
use super::registry::{self, ResourceType};
use super::schema;
use super::selector::{FieldSelector, LabelSelector};
use super::status::{ApiError, Cause};
use super::workloads;

/// Kind of change a watch event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

/// One committed change, kept in the history watches replay from and broadcast to open watches.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub storage: String,
    pub namespace: String,
    pub kind: EventKind,
    pub object: Value,
    /// The object before the change, so selector-filtered watches can turn a MODIFIED that leaves (enters)
    /// the selection into DELETED (ADDED), as the real watch cache does.
    pub old: Option<Value>,
}

/// How unknown fields are handled (`fieldValidation` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// `propagationPolicy` of a delete: what happens to the objects that name the deleted one as owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are garbage-collected after the owner is gone (the default).
    #[default]
    Background,
    /// The owner stays (finalizer `foregroundDeletion`) until its dependents are gone.
    Foreground,
    /// Dependents lose their owner reference and stay.
    Orphan,
}

/// Per-request write options.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: Option<String>,
    /// Manager name derived from the User-Agent when `fieldManager` is not given.
    pub default_manager: String,
    pub field_validation: FieldValidation,
    pub force: bool,
}

impl WriteOptions {
    fn manager(&self) -> String {
        self.field_manager
            .clone()
            .unwrap_or_else(|| self.default_manager.clone())
    }
}

/// Result of a write: the object and any warnings (sent as `Warning` headers).
pub struct Written {
    pub code: u16,
    pub object: Value,
    pub warnings: Vec<String>,
}

enum Managed {
    Update,
    Apply {
        fields: BTreeSet<FieldPath>,
        taken: BTreeSet<FieldPath>,
    },
}

type Bucket = BTreeMap<(String, String), Value>;

mod snapshot;

/// The finalizer that holds an owner deleted in the foreground until its dependents are gone.
const FOREGROUND: &str = "foregroundDeletion";

/// The finalizer a real server puts on a CRD when it is first deleted (not at creation): its objects are
/// deleted before the CRD goes.
const CRD_CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Storage of the built-ins whose registry strategy has `AllowCreateOnUpdate` true.
const CREATE_ON_UPDATE: &[&str] = &[
    "/events",
    "coordination.k8s.io/leases",
    "rbac.authorization.k8s.io/roles",
    "rbac.authorization.k8s.io/clusterroles",
    "rbac.authorization.k8s.io/rolebindings",
    "rbac.authorization.k8s.io/clusterrolebindings",
];

/// How many events watches can replay before older versions answer 410 Expired.
pub const DEFAULT_HISTORY: usize = 10_000;

pub struct Inner {
    rv: u64,
    crd_types: Vec<ResourceType>,
    objects: HashMap<String, Bucket>,
    history: VecDeque<Arc<Event>>,
    /// Watches may start from any version at or after this one; older ones get 410 Expired.
    history_floor: u64,
    max_history: usize,
    uid_state: u64,
    /// Whether any object ever carried owner references; garbage collection is skipped until one does.
    owner_refs_seen: bool,
}

/// The shared server state.
pub struct Store {
    inner: Mutex<Inner>,
    pub events: broadcast::Sender<Arc<Event>>,
}

/// What a watch starts with: the events to send first, the live feed, and the version they bring it to.
pub struct WatchStart {
    pub initial: Vec<Value>,
    pub rx: broadcast::Receiver<Arc<Event>>,
    pub rv: u64,
}

/// The filters of a list or watch.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace
            && obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                != ns
        {
            return false;
        }
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Sets a CRD's `Terminating` condition as the real server's `SetCRDCondition` does: in place, with a new
/// `lastTransitionTime` only when the status changes.
fn set_crd_terminating(crd: &mut Value, status: &str, reason: &str, message: &str) {
    let conds = crd
        .as_object_mut()
        .map(|o| o.entry("status").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
        .map(|st| st.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conds)) = conds else {
        return;
    };
    let fresh = json!({"type": "Terminating", "status": status, "lastTransitionTime": now(),
        "reason": reason, "message": message});
    match conds.iter_mut().find(|c| c["type"] == "Terminating") {
        Some(c) => {
            let time = if c["status"] == status {
                c["lastTransitionTime"].clone()
            } else {
                fresh["lastTransitionTime"].clone()
            };
            *c = fresh;
            c["lastTransitionTime"] = time;
        }
        None => conds.push(fresh),
    }
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// What `generation` tracks: everything but `metadata`, and but `status` when it is a subresource (without
/// one, a status change is a change like any other, as on a real server).
fn spec_part(obj: &Value, status_subresource: bool) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        for k in ["metadata", "apiVersion", "kind"] {
            m.shift_remove(k);
        }
        if status_subresource {
            m.shift_remove("status");
        }
    }
    o
}

fn without_volatile(obj: &Value) -> Value {
    let mut o = obj.clone();
    let m = meta_mut(&mut o);
    m.shift_remove("managedFields");
    m.shift_remove("resourceVersion");
    o
}

fn dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A qualified name (`[prefix/]name`, as for label keys and finalizers).
fn qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && prefix.is_none_or(dns_subdomain)
}

/// Finalizer names and owner references, as `metav1` validation checks them (its field paths carry no
/// index).
fn check_finalizers_and_owners(obj: &Value, causes: &mut Vec<Cause>) {
    if let Some(list) = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
    {
        for f in list {
            if !f.as_str().is_some_and(qualified_name) {
                causes.push(Cause::invalid(
                    "metadata.finalizers",
                    f,
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ));
            }
        }
    }
    if let Some(refs) = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
    {
        for r in refs {
            for (key, what) in [
                ("apiVersion", "version"),
                ("kind", "kind"),
                ("name", "name"),
                ("uid", "uid"),
            ] {
                let v = r.get(key).cloned().unwrap_or(json!(""));
                if v.as_str().is_none_or(str::is_empty) {
                    causes.push(Cause::invalid(
                        format!("metadata.ownerReferences.{key}"),
                        &v,
                        &format!("{what} must not be empty"),
                    ));
                }
            }
        }
    }
}

/// `[prefix/]name` label keys and label values, as `metav1` validation checks them.
fn check_labels(obj: &Value, causes: &mut Vec<Cause>) {
    let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) else {
        return;
    };
    let name_ok = |s: &str| {
        s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && s.bytes().next().is_none_or(|b| b.is_ascii_alphanumeric())
            && s.bytes().last().is_none_or(|b| b.is_ascii_alphanumeric())
    };
    for (k, v) in labels {
        let (prefix, name) = match k.split_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, k.as_str()),
        };
        if name.is_empty() || !name_ok(name) || prefix.is_some_and(|p| !dns_subdomain(p)) {
            causes.push(Cause::invalid(
                "metadata.labels",
                &json!(k),
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ));
        }
        match v.as_str() {
            Some(val) if name_ok(val) => {}
            _ => causes.push(Cause::invalid(
                "metadata.labels",
                v,
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            )),
        }
    }
}

fn dns_label(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && dns_subdomain(name)
}

#[derive(Debug, Clone)]
struct ManagedEntry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: BTreeSet<FieldPath>,
}

fn read_managed(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| ManagedEntry {
                    manager: e
                        .get("manager")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    operation: e
                        .get("operation")
                        .and_then(Value::as_str)
                        .unwrap_or("Update")
                        .into(),
                    api_version: e
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    time: e
                        .get("time")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    subresource: e
                        .get("subresource")
                        .and_then(Value::as_str)
                        .map(String::from),
                    fields: e
                        .get("fieldsV1")
                        .map(patch::from_fields_v1)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write_managed(obj: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": patch::to_fields_v1(&e.fields),
            });
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    let m = meta_mut(obj);
    if list.is_empty() {
        m.shift_remove("managedFields");
    } else {
        m.insert("managedFields".into(), Value::Array(list));
    }
}

fn sub_filter(fields: BTreeSet<FieldPath>, status: bool, rt: &ResourceType) -> BTreeSet<FieldPath> {
    if !rt.status_subresource {
        return fields;
    }
    fields
        .into_iter()
        .filter(|p| (p.first().map(String::as_str) == Some("f:status")) == status)
        .collect()
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(16384);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(42);
        let store = Store {
            inner: Mutex::new(Inner {
                rv: 0,
                crd_types: Vec::new(),
                objects: HashMap::new(),
                history: VecDeque::new(),
                history_floor: 0,
                max_history: DEFAULT_HISTORY,
                uid_state: seed,
                owner_refs_seen: false,
            }),
            events,
        };
        {
            let mut inner = store.lock();
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let obj =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                let rt = Self::builtin(&inner, "", "namespaces");
                let res = store.create_locked(&mut inner, &rt, None, obj, &WriteOptions::default());
                debug_assert!(res.is_ok());
            }
        }
        store
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn builtin(inner: &Inner, group: &str, plural: &str) -> ResourceType {
        Self::all_types(inner)
            .into_iter()
            .find(|t| t.group == group && t.plural == plural)
            .unwrap_or_else(|| panic!("built-in {plural} is registered"))
    }

    fn all_types(inner: &Inner) -> Vec<ResourceType> {
        let mut t = registry::builtins();
        t.extend(inner.crd_types.iter().cloned());
        t
    }

    pub fn types(&self) -> Vec<ResourceType> {
        Self::all_types(&self.lock())
    }

    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types()
            .into_iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Forgets the watch history: a watch from any version older than the current one gets 410 Expired.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.history_floor = inner.rv;
    }

    /// Keeps at most `n` events of watch history.
    pub fn set_history_limit(&self, n: usize) {
        self.lock().max_history = n.max(1);
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    fn uid(inner: &mut Inner) -> String {
        // splitmix64: unique per server, good enough for test identities.
        let mut next = || {
            inner.uid_state = inner.uid_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = inner.uid_state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (a, b) = (next(), next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// Sets `apiVersion`/`kind` to those of the endpoint the object is read through.
    pub fn present(rt: &ResourceType, obj: &Value) -> Value {
        rt.from_storage(obj)
    }

    fn namespace_state<'a>(inner: &'a Inner, ns: &str) -> Option<&'a Value> {
        inner
            .objects
            .get("/namespaces")
            .and_then(|b| b.get(&(String::new(), ns.to_string())))
    }

    /// The NamespaceLifecycle admission plugin on a create: a missing namespace is 404, a terminating one
    /// refuses `creating` (the object's `name`, or its `generateName` before a name is generated). Reads,
    /// and writes to existing objects, are not checked: in a missing namespace they find no object (404 for
    /// it, an empty list) as on a real server.
    fn check_namespace(
        inner: &Inner,
        rt: &ResourceType,
        ns: Option<&str>,
        creating: &str,
    ) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let ns = ns.unwrap_or_default();
        match Self::namespace_state(inner, ns) {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(ApiError::forbidden_object(
                    &rt.group,
                    &rt.plural,
                    creating,
                    &format!(
                        "unable to create new content in namespace {ns} because it is being terminated"
                    ),
                )
                .with_cause(
                    "NamespaceTerminating",
                    "metadata.namespace",
                    &format!("namespace {ns} is being terminated"),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    fn commit(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        kind: EventKind,
        mut obj: Value,
        old: Option<Value>,
    ) -> Value {
        inner.rv += 1;
        let rv = inner.rv;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        let ns = meta_str(&obj, "namespace").unwrap_or_default().to_string();
        let name = meta_str(&obj, "name").unwrap_or_default().to_string();
        if obj.pointer("/metadata/ownerReferences").is_some() {
            inner.owner_refs_seen = true;
        }
        let bucket = inner.objects.entry(rt.storage.clone()).or_default();
        if kind == EventKind::Deleted {
            bucket.remove(&(ns.clone(), name));
        } else {
            bucket.insert((ns.clone(), name), obj.clone());
        }
        let ev = Arc::new(Event {
            rv,
            storage: rt.storage.clone(),
            namespace: ns,
            kind,
            object: obj.clone(),
            old,
        });
        inner.history.push_back(ev.clone());
        while inner.history.len() > inner.max_history {
            if let Some(e) = inner.history.pop_front() {
                inner.history_floor = e.rv;
            }
        }
        // Nobody listening is fine.
        let _ = self.events.send(ev);
        obj
    }

    pub fn get(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        let inner = self.lock();
        Self::lookup(&inner, rt, ns, name)
            .map(|o| Self::present(rt, &o))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    fn lookup(inner: &Inner, rt: &ResourceType, ns: Option<&str>, name: &str) -> Option<Value> {
        inner
            .objects
            .get(&rt.storage)
            .and_then(|b| b.get(&(ns.unwrap_or_default().to_string(), name.to_string())))
            .cloned()
    }

    /// A list: items in the order of their etcd keys (see [`in_key_order`]), `limit`/`continue` pagination.
    pub fn list(
        &self,
        rt: &ResourceType,
        filter: &Filter,
        limit: Option<usize>,
        cont: Option<&str>,
    ) -> Result<Value, ApiError> {
        let inner = self.lock();
        let start = match cont {
            Some(c) if !c.is_empty() => Some(decode_continue(c)?),
            _ => None,
        };
        let mut items = Vec::new();
        let mut next = None;
        if let Some(bucket) = inner.objects.get(&rt.storage) {
            let start = start.as_ref().map(etcd_key);
            for (key, obj) in in_key_order(bucket) {
                if start.as_ref().is_some_and(|s| etcd_key(key) <= *s)
                    || !filter.matches(&Self::present(rt, obj))
                {
                    continue;
                }
                if limit.is_some_and(|l| l > 0 && items.len() >= l) {
                    next = Some(encode_continue(&items_key(items.last())));
                    break;
                }
                items.push(Self::present(rt, obj));
            }
        }
        let mut meta = json!({"resourceVersion": inner.rv.to_string()});
        if let Some(n) = next {
            meta["continue"] = json!(n);
        }
        Ok(
            json!({"apiVersion": rt.api_version(), "kind": rt.list_kind, "metadata": meta, "items": items}),
        )
    }

    pub fn create(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let mut inner = self.lock();
        self.create_locked(&mut inner, rt, ns, body, opts)
    }

    fn create_locked(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        Self::check_body(rt, &obj, ns)?;
        let mut obj = rt.to_storage(obj);
        if meta_str(&obj, "resourceVersion").is_some_and(|r| !r.is_empty()) {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let requested = [meta_str(&obj, "name"), meta_str(&obj, "generateName")]
            .into_iter()
            .flatten()
            .find(|n| !n.is_empty())
            .unwrap_or_default()
            .to_string();
        if meta_str(&obj, "name").is_none_or(str::is_empty) {
            match meta_str(&obj, "generateName").filter(|g| !g.is_empty()) {
                Some(g) => {
                    let suffix: String = Self::uid(inner)
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric())
                        .take(5)
                        .collect();
                    let name = format!("{g}{suffix}");
                    meta_mut(&mut obj).insert("name".into(), json!(name));
                }
                None => {
                    return Err(ApiError::invalid(
                        &rt.kind,
                        &rt.group,
                        "",
                        vec![
                            Cause::required("metadata.name")
                                .with_message("Required value: name or generateName is required"),
                        ],
                    ));
                }
            }
        }
        let name = meta_str(&obj, "name").unwrap_or_default().to_string();
        Self::check_namespace(inner, rt, ns, &requested)?;
        let crd_name = format!("{}.{}", rt.plural, rt.group);
        if rt.custom
            && Self::lookup(inner, &Self::crd_type(), None, &crd_name)
                .is_some_and(|c| c.pointer("/metadata/deletionTimestamp").is_some())
        {
            return Err(ApiError::forbidden_object(
                &rt.group,
                &rt.plural,
                &name,
                "create not allowed while custom resource definition is terminating",
            ));
        }
        if Self::lookup(inner, rt, ns, &name).is_some() {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        {
            let m = meta_mut(&mut obj);
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "managedFields",
            ] {
                m.shift_remove(k);
            }
            if let Some(ns) = ns.filter(|_| rt.namespaced) {
                m.insert("namespace".into(), json!(ns));
            } else {
                m.shift_remove("namespace");
            }
        }
        if rt.status_subresource
            && rt.custom
            && let Some(m) = obj.as_object_mut()
        {
            m.shift_remove("status");
        }
        let warnings = self.prepare(rt, None, &mut obj, opts)?;
        {
            let uid = Self::uid(inner);
            let m = meta_mut(&mut obj);
            m.insert("uid".into(), json!(uid));
            m.insert("creationTimestamp".into(), json!(now()));
            if rt.has_generation() {
                m.insert("generation".into(), json!(1));
            }
        }
        self.set_managed(rt, None, &mut obj, opts, Managed::Update, false);
        if opts.dry_run {
            return Ok(Written {
                code: 201,
                object: Self::present(rt, &obj),
                warnings,
            });
        }
        let stored = self.commit(inner, rt, EventKind::Added, obj, None);
        if rt.plural == "customresourcedefinitions" {
            Self::refresh_crds(inner);
        }
        Ok(Written {
            code: 201,
            object: Self::present(rt, &stored),
            warnings,
        })
    }

    fn check_body(rt: &ResourceType, obj: &Value, ns: Option<&str>) -> Result<(), ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        if let Some(av) = obj.get("apiVersion").and_then(Value::as_str)
            && av != rt.api_version()
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
        if let Some(k) = obj.get("kind").and_then(Value::as_str)
            && k != rt.kind
        {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        if rt.namespaced
            && let (Some(body_ns), Some(ns)) = (meta_str(obj, "namespace"), ns)
            && !body_ns.is_empty()
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        Ok(())
    }

    /// Type-specific preparation and validation shared by every write (after metadata fix-ups, before commit).
    fn prepare(
        &self,
        rt: &ResourceType,
        old: Option<&Value>,
        obj: &mut Value,
        opts: &WriteOptions,
    ) -> Result<Vec<String>, ApiError> {
        let mut warnings = Vec::new();
        let (api_version, kind) = rt.storage_type();
        if let Some(m) = obj.as_object_mut() {
            m.insert("apiVersion".into(), json!(api_version));
            m.insert("kind".into(), json!(kind));
        }
        let name = meta_str(obj, "name").unwrap_or_default().to_string();
        let mut causes = Vec::new();
        let name_ok = if rt.plural == "namespaces" {
            dns_label(&name)
        } else {
            dns_subdomain(&name)
        };
        if !name_ok && old.is_none() {
            let what = if rt.plural == "namespaces" {
                "RFC 1123 label"
            } else {
                "RFC 1123 subdomain"
            };
            causes.push(Cause::invalid(
                "metadata.name",
                &json!(name),
                &format!(
                    "a lowercase {what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
        check_labels(obj, &mut causes);
        check_finalizers_and_owners(obj, &mut causes);
        if let Some(old) = old
            && old.pointer("/metadata/deletionTimestamp").is_some()
        {
            let before = finalizers(old);
            let added: Vec<String> = finalizers(obj)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                causes.push(Cause::forbidden(
                    "metadata.finalizers",
                    &format!("no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
                ));
            }
        }
        match rt.storage.as_str() {
            "/secrets" => {
                if let Some(sd) = obj.get("stringData").and_then(Value::as_object).cloned() {
                    use base64::Engine;
                    let data = obj.as_object_mut().map(|m| {
                        m.shift_remove("stringData");
                        m.entry("data").or_insert_with(|| json!({}))
                    });
                    if let Some(Value::Object(d)) = data {
                        for (k, v) in sd {
                            let text = v.as_str().unwrap_or_default().to_string();
                            d.insert(
                                k,
                                json!(base64::engine::general_purpose::STANDARD.encode(text)),
                            );
                        }
                    }
                }
                if obj.get("type").is_none() {
                    obj["type"] = json!("Opaque");
                }
            }
            "/namespaces" if old.is_none() => {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
                obj["status"] = json!({"phase": "Active"});
                let labels = meta_mut(obj).entry("labels").or_insert_with(|| json!({}));
                labels["kubernetes.io/metadata.name"] = json!(name);
            }
            "apiextensions.k8s.io/customresourcedefinitions" => match registry::crd_types(obj) {
                Err(c) => causes.extend(c),
                Ok(_) => {
                    let storage: Vec<Value> = obj
                        .pointer("/spec/versions")
                        .and_then(Value::as_array)
                        .map(|vs| {
                            vs.iter()
                                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                                .filter_map(|v| v.get("name").cloned())
                                .collect()
                        })
                        .unwrap_or_default();
                    let t = now();
                    obj["status"] = json!({
                        "conditions": [
                            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t, "reason": "NoConflicts", "message": "no conflicts found"},
                            {"type": "Established", "status": "True", "lastTransitionTime": t, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
                        ],
                        "acceptedNames": obj["spec"]["names"].clone(),
                        "storedVersions": storage,
                    });
                    if let Some(old_conds) = old.and_then(|o| o.pointer("/status/conditions")) {
                        obj["status"]["conditions"] = old_conds.clone();
                    }
                }
            },
            _ => {}
        }
        if !rt.custom {
            workloads::default(&rt.storage, obj);
            causes.extend(workloads::validate(&rt.storage, obj, old));
        }
        if let Some(schema) = rt.schema.as_deref() {
            schema::apply_defaults(obj, schema);
            let mut unknown = Vec::new();
            schema::prune(obj, schema, "", true, &mut unknown);
            match opts.field_validation {
                FieldValidation::Strict if !unknown.is_empty() => {
                    let list: Vec<String> = unknown
                        .iter()
                        .map(|u| format!("unknown field \"{u}\""))
                        .collect();
                    return Err(ApiError::bad_request(format!(
                        "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                        list.join(", "),
                        kind = rt.kind,
                        v = rt.version
                    )));
                }
                FieldValidation::Warn => {
                    warnings.extend(unknown.iter().map(|u| format!("unknown field \"{u}\"")))
                }
                _ => {}
            }
            let mut rule_causes = Vec::new();
            schema::validate(obj, schema, old, "", true, &mut causes, &mut rule_causes);
            // Metadata errors count too: the strategies look at everything found before the rules.
            if schema::has_rules(schema) {
                if schema::blocks_rules(&causes) {
                    causes.push(schema::rules_not_checked());
                } else {
                    causes.extend(rule_causes);
                }
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.kind, &rt.group, &name, causes));
        }
        Ok(warnings)
    }

    fn set_managed(
        &self,
        rt: &ResourceType,
        old: Option<&Value>,
        obj: &mut Value,
        opts: &WriteOptions,
        op: Managed,
        status: bool,
    ) {
        let manager = opts.manager();
        let schema = rt.schema.as_deref();
        let mut entries = old.map(read_managed).unwrap_or_default();
        let new_fields = patch::leaf_fields(obj, schema);
        let subresource = status.then(|| "status".to_string());
        let (operation, owned) = match op {
            Managed::Update => {
                let changed: BTreeSet<FieldPath> = new_fields
                    .iter()
                    .filter(|p| {
                        old.and_then(|o| patch::field_value(o, p)) != patch::field_value(obj, p)
                    })
                    .cloned()
                    .collect();
                for e in entries.iter_mut() {
                    e.fields.retain(|p| !changed.contains(p));
                }
                ("Update", changed)
            }
            Managed::Apply { fields, taken } => {
                for e in entries.iter_mut() {
                    if e.manager != manager {
                        e.fields.retain(|p| !taken.contains(p));
                    }
                }
                ("Apply", fields)
            }
        };
        // Fields that are gone are owned by nobody.
        for e in entries.iter_mut() {
            e.fields
                .retain(|p| new_fields.contains(p) || patch::field_value(obj, p).is_some());
        }
        let t = now();
        match entries.iter_mut().find(|e| {
            e.manager == manager && e.operation == operation && e.subresource == subresource
        }) {
            Some(e) => {
                if operation == "Apply" {
                    e.fields = owned;
                } else {
                    e.fields.extend(owned);
                }
                e.time = t;
                e.api_version = rt.api_version();
            }
            None => entries.push(ManagedEntry {
                manager,
                operation: operation.into(),
                api_version: rt.api_version(),
                time: t,
                subresource,
                fields: owned,
            }),
        }
        write_managed(obj, &entries);
    }

    /// PUT (and the final step of PATCH): `desired` is the complete new object.
    pub fn update(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        desired: Value,
        opts: &WriteOptions,
        status: bool,
    ) -> Result<Written, ApiError> {
        let mut inner = self.lock();
        Self::check_body(rt, &desired, ns)?;
        if let Some(body_name) = meta_str(&desired, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let Some(old) = Self::lookup(&inner, rt, ns, name) else {
            // Kinds whose strategy allows create on update (Events, Leases, the RBAC kinds) are created by
            // a PUT of a missing object; every other kind, custom resources included, answers 404.
            if status || !CREATE_ON_UPDATE.contains(&rt.storage.as_str()) {
                return Err(ApiError::not_found(&rt.group, &rt.plural, name));
            }
            let mut desired = desired;
            meta_mut(&mut desired).shift_remove("resourceVersion");
            meta_mut(&mut desired).insert("name".into(), json!(name));
            return self.create_locked(&mut inner, rt, ns, desired, opts);
        };
        let desired = rt.to_storage(desired);
        self.update_locked(&mut inner, rt, old, desired, opts, status, Managed::Update)
    }

    #[allow(clippy::too_many_arguments)]
    fn update_locked(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        old: Value,
        desired: Value,
        opts: &WriteOptions,
        status: bool,
        managed: Managed,
    ) -> Result<Written, ApiError> {
        let name = meta_str(&old, "name").unwrap_or_default().to_string();
        if let Some(rv) = meta_str(&desired, "resourceVersion").filter(|r| !r.is_empty())
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::stale(&rt.group, &rt.plural, &name));
        }
        let mut obj = if status {
            let mut o = old.clone();
            match desired.get("status") {
                Some(s) => o["status"] = s.clone(),
                None => {
                    if let Some(m) = o.as_object_mut() {
                        m.shift_remove("status");
                    }
                }
            }
            o
        } else {
            let mut o = desired;
            if rt.status_subresource {
                match old.get("status") {
                    Some(s) => o["status"] = s.clone(),
                    None => {
                        if let Some(m) = o.as_object_mut() {
                            m.shift_remove("status");
                        }
                    }
                }
            }
            o
        };
        {
            let old_meta = old.get("metadata").cloned().unwrap_or_default();
            let m = meta_mut(&mut obj);
            for k in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "resourceVersion",
                "managedFields",
            ] {
                match old_meta.get(k) {
                    Some(v) => m.insert(k.into(), v.clone()),
                    None => m.shift_remove(k),
                };
            }
        }
        let warnings = self.prepare(rt, Some(&old), &mut obj, opts)?;
        if rt.has_generation()
            && spec_part(&obj, rt.status_subresource) != spec_part(&old, rt.status_subresource)
        {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta_mut(&mut obj).insert("generation".into(), json!(g + 1));
        }
        self.set_managed(rt, Some(&old), &mut obj, opts, managed, status);
        let same_fields = read_managed(&obj)
            .iter()
            .map(|e| (e.manager.clone(), e.operation.clone(), e.fields.clone()))
            .collect::<Vec<_>>()
            == read_managed(&old)
                .iter()
                .map(|e| (e.manager.clone(), e.operation.clone(), e.fields.clone()))
                .collect::<Vec<_>>();
        if without_volatile(&obj) == without_volatile(&old) && same_fields {
            return Ok(Written {
                code: 200,
                object: Self::present(rt, &old),
                warnings,
            });
        }
        if opts.dry_run {
            return Ok(Written {
                code: 200,
                object: Self::present(rt, &obj),
                warnings,
            });
        }
        let deleting =
            obj.pointer("/metadata/deletionTimestamp").is_some() && finalizers(&obj).is_empty();
        let kind = if deleting {
            EventKind::Deleted
        } else {
            EventKind::Modified
        };
        let stored = self.commit(inner, rt, kind, obj, Some(old));
        if rt.plural == "customresourcedefinitions" {
            Self::refresh_crds(inner);
        }
        if deleting {
            self.after_removal(inner, rt, &stored);
        }
        Ok(Written {
            code: 200,
            object: Self::present(rt, &stored),
            warnings,
        })
    }

    /// PATCH: merge patch, JSON patch, strategic merge patch (built-ins only) and server-side apply.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        content_type: &str,
        body: &[u8],
        opts: &WriteOptions,
        status: bool,
    ) -> Result<Written, ApiError> {
        let ct = content_type.split(';').next().unwrap_or_default().trim();
        let accepted: &[&str] = if rt.custom {
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ]
        } else {
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ]
        };
        if !accepted.contains(&ct) {
            return Err(ApiError::unsupported_media_type(accepted));
        }
        let parsed: Value = if ct == "application/apply-patch+yaml" {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => serde_saphyr::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
            }
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
        };
        let mut inner = self.lock();
        let old = Self::lookup(&inner, rt, ns, name);
        if ct == "application/apply-patch+yaml" {
            return self.apply_locked(&mut inner, rt, ns, name, old, parsed, opts, status);
        }
        let old = old.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        // Patches apply to the object as this endpoint serves it.
        let mut desired = Self::present(rt, &old);
        if ct == "application/json-patch+json" {
            patch::json_patch(&mut desired, &parsed)
                .map_err(|e| ApiError::new(422, "Invalid", e))?;
        } else {
            if !parsed.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            if ct == "application/strategic-merge-patch+json" {
                patch::strategic_merge_patch(&mut desired, &parsed);
            } else {
                patch::merge_patch(&mut desired, &parsed);
            }
        }
        // The patched object keeps the live resourceVersion unless the patch sets one, which then acts
        // as a precondition.
        if meta_str(&desired, "name") != Some(name) {
            return Err(ApiError::bad_request(
                "metadata.name cannot be changed by a patch",
            ));
        }
        let desired = rt.to_storage(desired);
        self.update_locked(&mut inner, rt, old, desired, opts, status, Managed::Update)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_locked(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        old: Option<Value>,
        applied: Value,
        opts: &WriteOptions,
        status: bool,
    ) -> Result<Written, ApiError> {
        let Some(manager) = opts.field_manager.clone().filter(|m| !m.is_empty()) else {
            return Err(ApiError::invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                vec![
                    Cause::required("fieldManager")
                        .with_message("Required value: is required for apply patch"),
                ],
            ));
        };
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "an applied configuration must be an object",
            ));
        }
        if applied.get("apiVersion").is_none() || applied.get("kind").is_none() {
            return Err(ApiError::bad_request(
                "invalid object type: apiVersion and kind must be set in an applied configuration",
            ));
        }
        Self::check_body(rt, &applied, ns)?;
        if let Some(n) = meta_str(&applied, "name")
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        let schema = rt.schema.as_deref();
        let mut applied = rt.to_storage(applied);
        let fields = sub_filter(patch::leaf_fields(&applied, schema), status, rt);
        if rt.status_subresource {
            if status {
                applied = json!({"status": applied.get("status").cloned().unwrap_or(json!({}))});
            } else if let Some(m) = applied.as_object_mut() {
                m.shift_remove("status");
            }
        }
        let Some(old) = old else {
            if status {
                return Err(ApiError::not_found(&rt.group, &rt.plural, name));
            }
            // The patch handler's checkName: an apply that creates must name the object itself (later
            // applies merge into the live object, which has a name), and must not claim a uid.
            if meta_str(&applied, "name").is_none_or(str::is_empty) {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({name} based on URL) was undeterminable: name must be provided"
                )));
            }
            if let Some(uid) = meta_str(&applied, "uid").filter(|u| !u.is_empty()) {
                return Err(ApiError::conflict(
                    &rt.group,
                    &rt.plural,
                    name,
                    &format!(
                        "uid mismatch: the provided object specified uid {uid}, and no existing object was found"
                    ),
                ));
            }
            let mut obj = applied.clone();
            obj["apiVersion"] = json!(rt.api_version());
            let mut w = self.create_locked(
                inner,
                rt,
                ns,
                obj,
                &WriteOptions {
                    dry_run: true,
                    ..opts.clone()
                },
            )?;
            let mut obj = rt.to_storage(w.object);
            self.set_managed(
                rt,
                None,
                &mut obj,
                opts,
                Managed::Apply {
                    fields,
                    taken: BTreeSet::new(),
                },
                status,
            );
            if !opts.dry_run {
                obj = Self::present(rt, &self.commit(inner, rt, EventKind::Added, obj, None));
                if rt.plural == "customresourcedefinitions" {
                    Self::refresh_crds(inner);
                }
            }
            w.object = obj;
            return Ok(w);
        };
        let entries = read_managed(&old);
        let mut conflicts: Vec<(String, FieldPath)> = Vec::new();
        let mut taken = BTreeSet::new();
        for p in &fields {
            let live = patch::field_value(&old, p);
            if live == patch::field_value(&applied, p) {
                continue;
            }
            for e in entries
                .iter()
                .filter(|e| e.manager != manager && e.fields.contains(p))
            {
                conflicts.push((e.manager.clone(), p.clone()));
                taken.insert(p.clone());
            }
        }
        if !conflicts.is_empty() && !opts.force {
            let av = rt.api_version();
            let n = conflicts.len();
            let parts: Vec<String> = conflicts
                .iter()
                .map(|(m, p)| {
                    format!(
                        "conflict with \"{m}\" using {av}: {}",
                        patch::display_path(p)
                    )
                })
                .collect();
            let mut err = ApiError::conflict(&rt.group, &rt.plural, name, "");
            err.message = format!(
                "Apply failed with {n} conflict{}: {}",
                if n == 1 { "" } else { "s" },
                parts.join("\n")
            );
            if let Some(Value::Object(d)) = err.details.as_mut() {
                d.insert(
                    "causes".into(),
                    Value::Array(
                        conflicts
                            .iter()
                            .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {av}"), "field": patch::display_path(p)}))
                            .collect(),
                    ),
                );
            }
            return Err(err);
        }
        let mut desired = old.clone();
        // Fields this manager applied before but no longer applies are removed unless someone else owns them.
        let subresource = status.then(|| "status".to_string());
        if let Some(prev) = entries.iter().find(|e| {
            e.manager == manager && e.operation == "Apply" && e.subresource == subresource
        }) {
            for p in prev.fields.difference(&fields) {
                let shared = entries.iter().any(|e| {
                    !(e.manager == manager && e.operation == "Apply") && e.fields.contains(p)
                });
                if !shared {
                    patch::remove_field(&mut desired, p);
                }
            }
        }
        patch::apply_merge(&mut desired, &applied, schema);
        // A resourceVersion in the applied configuration is a precondition; otherwise the live one holds.
        let precondition = meta_str(&applied, "resourceVersion").filter(|r| !r.is_empty());
        let rv = match precondition {
            Some(r) => json!(r),
            None => old["metadata"]["resourceVersion"].clone(),
        };
        meta_mut(&mut desired).insert("resourceVersion".into(), rv);
        self.update_locked(
            inner,
            rt,
            old,
            desired,
            opts,
            status,
            Managed::Apply { fields, taken },
        )
    }

    /// DELETE: objects with finalizers get a `deletionTimestamp` and stay until the last finalizer is removed.
    pub fn delete(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        options: &Value,
    ) -> Result<Written, ApiError> {
        let mut inner = self.lock();
        let old = Self::lookup(&inner, rt, ns, name)
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        if let Some(pre) = options.get("preconditions") {
            if let Some(uid) = pre.get("uid").and_then(Value::as_str)
                && Some(uid) != meta_str(&old, "uid")
            {
                return Err(ApiError::conflict(
                    &rt.group,
                    &rt.plural,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta_str(&old, "uid").unwrap_or_default()
                    ),
                ));
            }
            if let Some(rv) = pre.get("resourceVersion").and_then(Value::as_str)
                && Some(rv) != meta_str(&old, "resourceVersion")
            {
                return Err(ApiError::conflict(
                    &rt.group,
                    &rt.plural,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        meta_str(&old, "resourceVersion").unwrap_or_default()
                    ),
                ));
            }
        }
        let dry_run = options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"));
        let orphan = options.get("orphanDependents").and_then(Value::as_bool) == Some(true);
        let policy = match options.get("propagationPolicy").and_then(Value::as_str) {
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            Some("Background") => Propagation::Background,
            None if orphan => Propagation::Orphan,
            None => Propagation::Background,
            Some(other) => {
                return Err(ApiError::invalid(
                    "DeleteOptions",
                    "meta.k8s.io",
                    "",
                    vec![Cause::new(
                        "FieldValueNotSupported",
                        "propagationPolicy",
                        format!(
                            "Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
                        ),
                    )],
                ));
            }
        };
        self.delete_locked(&mut inner, rt, old, dry_run, policy)
    }

    /// Deletes with a propagation policy (see [`Propagation`]).
    fn delete_locked(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        mut old: Value,
        dry_run: bool,
        policy: Propagation,
    ) -> Result<Written, ApiError> {
        let uid = meta_str(&old, "uid").unwrap_or_default().to_string();
        let fresh = old.pointer("/metadata/deletionTimestamp").is_none();
        let foreground = policy == Propagation::Foreground
            && fresh
            && !dry_run
            && !self.dependents(inner, &uid).is_empty();
        if fresh && !dry_run && policy == Propagation::Orphan {
            self.orphan_dependents(inner, &uid);
        }
        if foreground {
            let mut list = finalizers(&old);
            list.push(FOREGROUND.to_string());
            meta_mut(&mut old).insert("finalizers".into(), json!(list));
        }
        let written = self.delete_object(inner, rt, old, dry_run)?;
        if foreground {
            for (t, dep) in self.dependents(inner, &uid) {
                let _ = self.delete_locked(inner, &t, dep, false, Propagation::Foreground);
            }
            self.finish_foreground(inner, &uid);
        }
        Ok(written)
    }

    fn delete_object(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        old: Value,
        dry_run: bool,
    ) -> Result<Written, ApiError> {
        let is_ns = rt.storage == "/namespaces";
        let is_crd = rt.plural == "customresourcedefinitions";
        if !finalizers(&old).is_empty() || is_ns || is_crd {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(Written {
                    code: 200,
                    object: Self::present(rt, &old),
                    warnings: vec![],
                });
            }
            let mut obj = old.clone();
            if is_crd {
                // The CRD registry's own first delete: one update that sets the timestamp, adds the cleanup
                // finalizer and says so in a condition (no grace period, no generation bump).
                let mut list = finalizers(&old);
                if !list.iter().any(|f| f == CRD_CLEANUP) {
                    list.push(CRD_CLEANUP.to_string());
                }
                let m = meta_mut(&mut obj);
                m.insert("deletionTimestamp".into(), json!(now()));
                m.insert("finalizers".into(), json!(list));
                set_crd_terminating(
                    &mut obj,
                    "True",
                    "InstanceDeletionPending",
                    "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
                );
            } else {
                let m = meta_mut(&mut obj);
                m.insert("deletionTimestamp".into(), json!(now()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
                if rt.has_generation() {
                    let g = old
                        .pointer("/metadata/generation")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    m.insert("generation".into(), json!(g + 1));
                }
            }
            if is_ns {
                obj["status"] = json!({"phase": "Terminating"});
            }
            if dry_run {
                return Ok(Written {
                    code: 200,
                    object: Self::present(rt, &obj),
                    warnings: vec![],
                });
            }
            let stored = self.commit(inner, rt, EventKind::Modified, obj, Some(old));
            if is_crd {
                // The answer is the CRD as the delete left it; the cleanup that follows (a controller's
                // work on a real server) shows in later reads and watch events.
                self.terminate_crd(inner, &stored);
                return Ok(Written {
                    code: 200,
                    object: Self::present(rt, &stored),
                    warnings: vec![],
                });
            }
            if is_ns {
                self.terminate_namespace(inner, meta_str(&stored, "name").unwrap_or_default());
                let latest = Self::lookup(
                    inner,
                    rt,
                    None,
                    meta_str(&stored, "name").unwrap_or_default(),
                );
                return Ok(Written {
                    code: 200,
                    object: Self::present(rt, &latest.unwrap_or(stored)),
                    warnings: vec![],
                });
            }
            return Ok(Written {
                code: 200,
                object: Self::present(rt, &stored),
                warnings: vec![],
            });
        }
        if dry_run {
            return Ok(Written {
                code: 200,
                object: Self::present(rt, &old),
                warnings: vec![],
            });
        }
        let stored = self.commit(inner, rt, EventKind::Deleted, old.clone(), Some(old));
        self.after_removal(inner, rt, &stored);
        // Immediate deletion answers with a Status naming the object (the real registry's default; only
        // resources with finalizers pending, like namespaces, return the object).
        let object = {
            json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": meta_str(&stored, "name"), "group": rt.group, "kind": rt.plural, "uid": meta_str(&stored, "uid")}
            })
        };
        Ok(Written {
            code: 200,
            object,
            warnings: vec![],
        })
    }

    /// DELETE on a collection.
    pub fn delete_collection(&self, rt: &ResourceType, filter: &Filter) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let victims: Vec<Value> = inner
            .objects
            .get(&rt.storage)
            .map(|b| {
                b.values()
                    .filter(|o| filter.matches(&Self::present(rt, o)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut items = Vec::new();
        for v in victims {
            items.push(
                self.delete_locked(&mut inner, rt, v, false, Propagation::Background)?
                    .object,
            );
        }
        Ok(
            json!({"apiVersion": rt.api_version(), "kind": rt.list_kind, "metadata": {"resourceVersion": inner.rv.to_string()}, "items": items}),
        )
    }

    /// Cascades after an object is gone: a CRD takes its objects with it, and a terminating namespace goes
    /// once it is empty.
    fn after_removal(&self, inner: &mut Inner, rt: &ResourceType, removed: &Value) {
        if inner.owner_refs_seen {
            let uid = meta_str(removed, "uid").unwrap_or_default().to_string();
            self.collect_garbage(inner, &uid);
            let owners: Vec<String> = owner_uids(removed);
            for owner in owners {
                self.finish_foreground(inner, &owner);
            }
        }
        if rt.plural == "customresourcedefinitions" {
            let storage = format!(
                "{}/{}",
                removed
                    .pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                removed
                    .pointer("/spec/names/plural")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            );
            let types = Self::all_types(inner);
            if let Some(t) = types.iter().find(|t| t.storage == storage) {
                let objs: Vec<Value> = inner
                    .objects
                    .get(&storage)
                    .map(|b| b.values().cloned().collect())
                    .unwrap_or_default();
                for o in objs {
                    self.commit(inner, t, EventKind::Deleted, o.clone(), Some(o));
                }
            }
            Self::refresh_crds(inner);
        }
        if rt.custom {
            self.finish_crd(inner, &format!("{}.{}", rt.plural, rt.group));
        }
        let ns = meta_str(removed, "namespace")
            .unwrap_or_default()
            .to_string();
        if !ns.is_empty()
            && Self::namespace_state(inner, &ns)
                .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_some())
        {
            self.finish_namespace(inner, &ns);
        }
    }

    fn type_for_storage(inner: &Inner, storage: &str) -> Option<ResourceType> {
        Self::all_types(inner)
            .into_iter()
            .find(|t| t.storage == storage)
    }

    /// Objects naming `uid` among their owner references.
    fn dependents(&self, inner: &Inner, uid: &str) -> Vec<(ResourceType, Value)> {
        if !inner.owner_refs_seen || uid.is_empty() {
            return vec![];
        }
        let mut out = Vec::new();
        for (storage, bucket) in &inner.objects {
            for obj in bucket
                .values()
                .filter(|o| owner_uids(o).iter().any(|u| u == uid))
            {
                if let Some(t) = Self::type_for_storage(inner, storage) {
                    out.push((t, obj.clone()));
                }
            }
        }
        out
    }

    fn uid_exists(inner: &Inner, uid: &str) -> bool {
        inner
            .objects
            .values()
            .any(|b| b.values().any(|o| meta_str(o, "uid") == Some(uid)))
    }

    fn drop_owner_ref(&self, inner: &mut Inner, t: &ResourceType, dep: Value, uid: &str) {
        let mut obj = dep.clone();
        if let Some(Value::Array(refs)) = obj.pointer_mut("/metadata/ownerReferences") {
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
        }
        self.commit(inner, t, EventKind::Modified, obj, Some(dep));
    }

    fn orphan_dependents(&self, inner: &mut Inner, uid: &str) {
        for (t, dep) in self.dependents(inner, uid) {
            self.drop_owner_ref(inner, &t, dep, uid);
        }
    }

    /// The garbage collector's part: dependents whose every owner is gone are deleted, the others lose the
    /// reference to the removed owner.
    fn collect_garbage(&self, inner: &mut Inner, uid: &str) {
        for (t, dep) in self.dependents(inner, uid) {
            let other_owner = owner_uids(&dep)
                .iter()
                .any(|u| u != uid && Self::uid_exists(inner, u));
            if other_owner {
                self.drop_owner_ref(inner, &t, dep, uid);
            } else {
                let _ = self.delete_locked(inner, &t, dep, false, Propagation::Background);
            }
        }
    }

    /// Releases an owner deleted in the foreground once no dependent that blocks it
    /// (`blockOwnerDeletion: true`) is left.
    fn finish_foreground(&self, inner: &mut Inner, uid: &str) {
        let blocking = self.dependents(inner, uid).iter().any(|(_, dep)| {
            dep.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r.get("uid").and_then(Value::as_str) == Some(uid)
                            && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
                    })
                })
        });
        if blocking {
            return;
        }
        let found = inner.objects.iter().find_map(|(storage, b)| {
            b.values()
                .find(|o| meta_str(o, "uid") == Some(uid))
                .map(|o| (storage.clone(), o.clone()))
        });
        let Some((storage, owner)) = found else {
            return;
        };
        if !finalizers(&owner).iter().any(|f| f == FOREGROUND) {
            return;
        }
        let Some(t) = Self::type_for_storage(inner, &storage) else {
            return;
        };
        let mut obj = owner.clone();
        let remaining: Vec<String> = finalizers(&owner)
            .into_iter()
            .filter(|f| f != FOREGROUND)
            .collect();
        meta_mut(&mut obj).insert("finalizers".into(), json!(remaining));
        if remaining.is_empty() {
            let stored = self.commit(inner, &t, EventKind::Deleted, obj, Some(owner));
            self.after_removal(inner, &t, &stored);
        } else {
            self.commit(inner, &t, EventKind::Modified, obj, Some(owner));
        }
    }

    fn crd_type() -> ResourceType {
        registry::builtins()
            .into_iter()
            .find(|t| t.plural == "customresourcedefinitions")
            .unwrap_or_else(|| panic!("the CRD type is built in"))
    }

    fn crd_storage(crd: &Value) -> String {
        format!(
            "{}/{}",
            crd.pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            crd.pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )
    }

    /// What the CRD finalizer controller does: marks the deletion in progress, deletes every object of the
    /// CRD (finalizers still hold them), then lets the CRD go once it is empty.
    fn terminate_crd(&self, inner: &mut Inner, crd: &Value) {
        let mut progress = crd.clone();
        set_crd_terminating(
            &mut progress,
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        );
        let crd = &self.commit(
            inner,
            &Self::crd_type(),
            EventKind::Modified,
            progress,
            Some(crd.clone()),
        );
        let storage = Self::crd_storage(crd);
        let types = Self::all_types(inner);
        if let Some(t) = types.iter().find(|t| t.storage == storage) {
            let objs: Vec<Value> = inner
                .objects
                .get(&storage)
                .map(|b| b.values().cloned().collect())
                .unwrap_or_default();
            for o in objs {
                let _ = self.delete_locked(inner, t, o, false, Propagation::Background);
            }
        }
        self.finish_crd(inner, meta_str(crd, "name").unwrap_or_default());
    }

    /// Removes the cleanup finalizer of a terminating CRD that has no objects left.
    fn finish_crd(&self, inner: &mut Inner, name: &str) {
        let rt = Self::crd_type();
        let Some(crd) = Self::lookup(inner, &rt, None, name) else {
            return;
        };
        if crd.pointer("/metadata/deletionTimestamp").is_none()
            || !finalizers(&crd).iter().any(|f| f == CRD_CLEANUP)
            || inner
                .objects
                .get(&Self::crd_storage(&crd))
                .is_some_and(|b| !b.is_empty())
        {
            return;
        }
        let mut obj = crd.clone();
        let remaining: Vec<String> = finalizers(&crd)
            .into_iter()
            .filter(|f| f != CRD_CLEANUP)
            .collect();
        meta_mut(&mut obj).insert("finalizers".into(), json!(remaining));
        set_crd_terminating(
            &mut obj,
            "False",
            "InstanceDeletionCompleted",
            "removed all instances",
        );
        if remaining.is_empty() {
            let stored = self.commit(inner, &rt, EventKind::Deleted, obj, Some(crd));
            self.after_removal(inner, &rt, &stored);
        } else {
            self.commit(inner, &rt, EventKind::Modified, obj, Some(crd));
        }
    }

    fn terminate_namespace(&self, inner: &mut Inner, ns: &str) {
        let types = Self::all_types(inner);
        let mut seen = BTreeSet::new();
        for t in types.iter().filter(|t| t.namespaced) {
            if !seen.insert(t.storage.clone()) {
                continue;
            }
            let objs: Vec<Value> = inner
                .objects
                .get(&t.storage)
                .map(|b| {
                    b.iter()
                        .filter(|((n, _), _)| n == ns)
                        .map(|(_, o)| o.clone())
                        .collect()
                })
                .unwrap_or_default();
            for o in objs {
                let _ = self.delete_locked(inner, t, o, false, Propagation::Background);
            }
        }
        self.finish_namespace(inner, ns);
    }

    fn finish_namespace(&self, inner: &mut Inner, ns: &str) {
        let empty = inner
            .objects
            .iter()
            .all(|(k, b)| k == "/namespaces" || !b.keys().any(|(n, _)| n == ns));
        if !empty {
            return;
        }
        let rt = Self::builtin(inner, "", "namespaces");
        if let Some(n) = Self::lookup(inner, &rt, None, ns) {
            self.commit(inner, &rt, EventKind::Deleted, n.clone(), Some(n));
        }
    }

    fn refresh_crds(inner: &mut Inner) {
        let crds: Vec<Value> = inner
            .objects
            .get("apiextensions.k8s.io/customresourcedefinitions")
            .map(|b| b.values().cloned().collect())
            .unwrap_or_default();
        inner.crd_types = crds
            .iter()
            .filter_map(|c| registry::crd_types(c).ok())
            .flatten()
            .collect();
    }

    /// Opens a watch: the initial events (synthetic ADDED for a watch without a version or from "0", the
    /// history after the given version otherwise) and the live feed, subscribed atomically with the snapshot.
    pub fn watch(
        &self,
        rt: &ResourceType,
        filter: &Filter,
        rv: Option<&str>,
        send_initial: bool,
    ) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        let rx = self.events.subscribe();
        let mut initial = Vec::new();
        let from = rv.filter(|r| !r.is_empty() && *r != "0");
        match from {
            Some(r) if !send_initial => {
                let n: u64 = r
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r}")))?;
                if n < inner.history_floor {
                    return Err(ApiError::expired(n, inner.history_floor));
                }
                for ev in inner
                    .history
                    .iter()
                    .filter(|e| e.rv > n && e.storage == rt.storage)
                {
                    if let Some(j) = event_json(rt, filter, ev) {
                        initial.push(j);
                    }
                }
            }
            _ => {
                if let Some(bucket) = inner.objects.get(&rt.storage) {
                    for obj in in_key_order(bucket)
                        .into_iter()
                        .map(|(_, o)| Self::present(rt, o))
                    {
                        if filter.matches(&obj) {
                            initial.push(json!({"type": "ADDED", "object": obj}));
                        }
                    }
                }
            }
        }
        Ok(WatchStart {
            initial,
            rx,
            rv: inner.rv,
        })
    }
}

/// The event a filtered watch sends for a change, if any.
pub fn event_json(rt: &ResourceType, filter: &Filter, ev: &Event) -> Option<Value> {
    if ev.storage != rt.storage {
        return None;
    }
    let object = Store::present(rt, &ev.object);
    let now_in = filter.matches(&object);
    let was_in = ev
        .old
        .as_ref()
        .is_some_and(|o| filter.matches(&Store::present(rt, o)));
    let kind = match ev.kind {
        EventKind::Added if now_in => "ADDED",
        EventKind::Deleted if now_in || was_in => "DELETED",
        EventKind::Modified if now_in && was_in => "MODIFIED",
        EventKind::Modified if now_in => "ADDED",
        EventKind::Modified if was_in => "DELETED",
        _ => return None,
    };
    Some(json!({"type": kind, "object": Store::present(rt, &ev.object)}))
}

/// An object's etcd key below its resource's prefix: `namespace/name`, or `name` for cluster-scoped objects.
fn etcd_key(key: &(String, String)) -> String {
    if key.0.is_empty() {
        key.1.clone()
    } else {
        format!("{}/{}", key.0, key.1)
    }
}

/// A bucket in the order kube-apiserver lists it: etcd's, which compares the joined key byte by byte, so
/// `ns-2/d` comes before `ns/a` (the bucket's own `(namespace, name)` order puts `ns` first). Kubernetes
/// promises no order; this only keeps the two backends alike.
fn in_key_order(bucket: &Bucket) -> Vec<(&(String, String), &Value)> {
    let mut items: Vec<_> = bucket.iter().collect();
    items.sort_by_cached_key(|(k, _)| etcd_key(k));
    items
}

fn items_key(last: Option<&Value>) -> (String, String) {
    last.map(|o| {
        (
            meta_str(o, "namespace").unwrap_or_default().to_string(),
            meta_str(o, "name").unwrap_or_default().to_string(),
        )
    })
    .unwrap_or_default()
}

fn encode_continue(key: &(String, String)) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([key.0, key.1]).to_string())
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    use base64::Engine;
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: (String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(v)
}
