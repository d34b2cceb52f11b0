//! Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902, including `test`), and the simplified
//! server-side apply this server offers, with field ownership recorded in `metadata.managedFields`.
//!
//! Server-side apply here: the applied configuration is merged into the live object like a merge patch,
//! except that lists declared `x-kubernetes-list-type: map` merge item by item on their keys, and fields the
//! same manager applied before but left out now are removed (unless another manager owns them). Every field
//! is owned by the managers that set it; applying a different value to a field owned by another manager is a
//! 409 `Conflict` naming the manager, unless `force=true`, which takes the field over. Lists declared
//! `x-kubernetes-list-type: set` (and `metadata.finalizers`) are owned per element; `metadata.ownerReferences`
//! per `uid`; every other list is owned as a whole (atomic), as the real server does for undeclared lists.
//!
//! What differs from the real field manager: ownership is tracked per leaf field path only (no `.` entries
//! for parents, no conversion of field sets between API versions); a `null` in an applied configuration
//! removes the field; clients cannot reset `managedFields` by writing an empty list; the built-ins' strategic
//! merge keys other than `finalizers`/`ownerReferences` are not used by apply. The operator's uses (applying
//! its objects and status with `force`, conflicts between leader-election candidates on a Lease) behave as on
//! a real server.
//!
//! Strategic merge patch (built-ins only) is described at [`strategic_merge_patch`].

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.shift_remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Strategic merge patch as far as the built-ins served here need it: a merge patch, except for the lists
/// in [`SMP_LIST_KEYS`] (`metadata.finalizers` and `ownerReferences`, pod containers, env, ports, ...),
/// which merge as kube-apiserver merges them (`k8s.io/apimachinery/pkg/util/strategicpatch`): items merge
/// into the live item with the same merge key (scalars: the same value), `$patch: delete` items and
/// `$deleteFromPrimitiveList/FIELD` remove, a `$patch: replace` item replaces the whole list, and the result
/// is ordered by `$setElementOrder/FIELD` when given, otherwise with the patch's items in front of the live
/// ones the patch does not mention, unless the live order already puts them first (live `[a, c]` patched with
/// `[b]` gives `[b, a, c]`, then `[c, d]` gives `[b, a, c, d]`). A map carrying `$patch: replace` replaces,
/// `$patch: delete` deletes it, `$retainKeys` drops the live keys it does not list. So `kubectl apply` of a
/// changed Deployment keeps what it did not send.
/// (See <https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/>.)
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    smp_maps(target, patch, "");
}

/// Lists that strategic merge patch merges in the built-ins served here, as `(parent field, list field, merge
/// key)`: the `patchStrategy:"merge"` tags of the Kubernetes API types. An empty key is a list of scalars
/// (`finalizers`), merged as a set. Every other list is replaced.
const SMP_LIST_KEYS: &[(&str, &str, &str)] = &[
    // ObjectMeta, also a pod template's.
    ("metadata", "finalizers", ""),
    ("metadata", "ownerReferences", "uid"),
    // PodSpec.
    ("spec", "containers", "name"),
    ("spec", "initContainers", "name"),
    ("spec", "ephemeralContainers", "name"),
    ("spec", "volumes", "name"),
    ("spec", "imagePullSecrets", "name"),
    ("spec", "hostAliases", "ip"),
    ("spec", "topologySpreadConstraints", "topologyKey"),
    ("spec", "resourceClaims", "name"),
    ("spec", "schedulingGates", "name"),
    // Container, init and ephemeral containers alike.
    ("containers", "env", "name"),
    ("containers", "ports", "containerPort"),
    ("containers", "volumeMounts", "mountPath"),
    ("containers", "volumeDevices", "devicePath"),
    ("initContainers", "env", "name"),
    ("initContainers", "ports", "containerPort"),
    ("initContainers", "volumeMounts", "mountPath"),
    ("initContainers", "volumeDevices", "devicePath"),
    ("ephemeralContainers", "env", "name"),
    ("ephemeralContainers", "ports", "containerPort"),
    ("ephemeralContainers", "volumeMounts", "mountPath"),
    ("ephemeralContainers", "volumeDevices", "devicePath"),
    // Service ports; a Deployment's `spec` has no `ports`, and container ports have their own entry.
    ("spec", "ports", "port"),
    // A ServiceAccount's `secrets` (its `imagePullSecrets` have no merge strategy and are replaced).
    ("", "secrets", "name"),
    // Deployment, Namespace and Service conditions.
    ("status", "conditions", "type"),
];

fn smp_list_key(parent: &str, field: &str) -> Option<&'static str> {
    SMP_LIST_KEYS
        .iter()
        .find(|(p, f, _)| *p == parent && *f == field)
        .map(|(_, _, k)| *k)
}

/// What identifies a list item: its merge key's value, or the item itself in a list of scalars.
fn smp_id<'a>(item: &'a Value, key: &str) -> Option<&'a Value> {
    if key.is_empty() {
        Some(item)
    } else {
        item.get(key)
    }
}

fn smp_index(order: &[Value], item: &Value, key: &str) -> Option<usize> {
    let id = smp_id(item, key)?;
    order.iter().position(|o| smp_id(o, key) == Some(id))
}

/// Merges the patch's items into `live` (see [`strategic_merge_patch`]); `order` is `$setElementOrder/FIELD`.
fn smp_list(live: &mut Vec<Value>, patch: &[Value], key: &str, field: &str, order: Option<&Value>) {
    let original = live.clone();
    let mut items = Vec::new();
    let mut replace = false;
    for item in patch {
        match item.get("$patch").and_then(Value::as_str) {
            Some("delete") if !key.is_empty() => {
                let id = item.get(key);
                live.retain(|x| x.get(key) != id);
            }
            Some("replace") if !key.is_empty() => replace = true,
            _ => items.push(item),
        }
    }
    if replace {
        live.clear();
    }
    for item in &items {
        let pos = live
            .iter()
            .position(|x| smp_id(x, key).is_some() && smp_id(x, key) == smp_id(item, key));
        match pos {
            Some(_) if key.is_empty() => {}
            Some(p) => smp_maps(&mut live[p], item, field),
            None if key.is_empty() => live.push((*item).clone()),
            None => {
                let mut fresh = Value::Null;
                smp_maps(&mut fresh, item, field);
                live.push(fresh);
            }
        }
    }
    if let Some(Value::Array(order)) = order {
        live.sort_by_key(|v| smp_index(order, v, key).unwrap_or(usize::MAX));
        return;
    }
    if replace {
        return;
    }
    // The real server's normalizeElementOrder: the patch's items in patch order, the others in live order,
    // interleaved where the live order ranks both (mergeSortedSlice), patch items first otherwise.
    let patched: Vec<Value> = items.iter().map(|v| (*v).clone()).collect();
    let (mut ours, theirs): (Vec<Value>, Vec<Value>) = std::mem::take(live)
        .into_iter()
        .partition(|v| smp_index(&patched, v, key).is_some());
    ours.sort_by_key(|v| smp_index(&patched, v, key));
    let (mut left, mut right) = (theirs.into_iter().peekable(), ours.into_iter().peekable());
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!(
                (smp_index(&original, l, key), smp_index(&original, r, key)),
                (Some(a), Some(b)) if a < b
            ),
        };
        live.extend(if take_left { left.next() } else { right.next() });
    }
}

/// `field` is the name of the field `target` sits in, which with the keys of `patch` picks list merge keys.
fn smp_maps(target: &mut Value, patch: &Value, field: &str) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replacement = p.clone();
        replacement.shift_remove("$patch");
        *target = Value::Object(replacement);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        t.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
    for (k, v) in p {
        let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") else {
            continue;
        };
        if let (Value::Array(del), Some(Value::Array(l))) = (v, t.get_mut(list)) {
            l.retain(|x| !del.contains(x));
        }
    }
    // A `$setElementOrder` for a list the patch does not carry still orders the live list.
    for (k, order) in p {
        if let Some(list) = k.strip_prefix("$setElementOrder/")
            && !p.contains_key(list)
            && let (Some(key), Some(Value::Array(l))) = (smp_list_key(field, list), t.get_mut(list))
        {
            smp_list(l, &[], key, list, Some(order));
        }
    }
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        let delete = v.is_null() || v.get("$patch").and_then(Value::as_str) == Some("delete");
        if delete {
            t.shift_remove(k);
            continue;
        }
        match (smp_list_key(field, k), v) {
            (Some(key), Value::Array(items)) => {
                let order = p.get(&format!("$setElementOrder/{k}"));
                let live = t.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
                if !live.is_array() {
                    *live = Value::Array(vec![]);
                }
                if let Value::Array(l) = live {
                    smp_list(l, items, key, k, order);
                }
            }
            _ => smp_maps(t.entry(k.clone()).or_insert(Value::Null), v, k),
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(vec![]);
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}: must start with '/'"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_mut<'a>(
    doc: &'a mut Value,
    tokens: &[String],
    path: &str,
) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: {path:?}"))?;
    }
    Ok(cur)
}

fn get_pointer<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, String> {
    let tokens = split_pointer(path)?;
    let mut cur = doc;
    for t in &tokens {
        cur = match cur {
            Value::Object(m) => m.get(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: {path:?}"))?;
    }
    Ok(cur)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let tokens = split_pointer(path)?;
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?} in {path:?}"))?;
            if i > a.len() {
                return Err(format!("array index {i} out of bounds in {path:?}"));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("doc is missing path: {path:?}")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let tokens = split_pointer(path)?;
    let Some((last, parents)) = tokens.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    let missing = || format!("doc is missing path: {path:?}");
    match parent_mut(doc, parents, path)? {
        Value::Object(m) => m.shift_remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i < a.len() {
                Ok(a.remove(i))
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}

/// RFC 6902. Errors read like the real server's (`testing value /x failed`, `doc is missing path`).
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be a list of operations")?;
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or("operation is missing \"op\"")?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("operation is missing \"path\"")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("{kind} operation is missing \"value\""))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{kind} operation is missing \"from\""))
        };
        match kind {
            "add" => add(doc, path, value()?)?,
            "remove" => {
                remove(doc, path).map_err(|e| format!("remove operation does not apply: {e}"))?;
            }
            "replace" => {
                get_pointer(doc, path)
                    .map_err(|e| format!("replace operation does not apply: {e}"))?;
                if split_pointer(path)?.is_empty() {
                    *doc = value()?;
                } else {
                    remove(doc, path)?;
                    add(doc, path, value()?)?;
                }
            }
            "move" => {
                let v = remove(doc, from()?)
                    .map_err(|e| format!("move operation does not apply: {e}"))?;
                add(doc, path, v)?;
            }
            "copy" => {
                let v = get_pointer(doc, from()?)
                    .map_err(|e| format!("copy operation does not apply: {e}"))?
                    .clone();
                add(doc, path, v)?;
            }
            "test" => {
                let want = value()?;
                match get_pointer(doc, path) {
                    Ok(v) if *v == want => {}
                    // A missing path tests equal to null, as in the real server's JSON patch library.
                    Err(_) if want.is_null() => {}
                    _ => return Err(format!("testing value {path} failed: test failed")),
                }
            }
            other => return Err(format!("unexpected kind of operation: {other:?}")),
        }
    }
    Ok(())
}

/// A field path in `managedFields` form: `f:spec`, `f:name`, `k:{"type":"Ready"}`.
pub type FieldPath = Vec<String>;

/// How server-side apply sees `metadata`: `finalizers` is a set and `ownerReferences` a map keyed by `uid`,
/// as in the real ObjectMeta schema.
static METADATA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    serde_json::json!({"type": "object", "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"], "items": {"type": "object"}}
    }})
});

fn child_schema<'a>(s: Option<&'a Value>, key: &str, root: bool) -> Option<&'a Value> {
    if root && key == "metadata" {
        return Some(&METADATA);
    }
    sub_schema(s, key)
}

fn is_set(s: Option<&Value>) -> bool {
    s.and_then(|s| s.get("x-kubernetes-list-type"))
        .and_then(Value::as_str)
        == Some("set")
}

fn sub_schema<'a>(s: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    let s = s?;
    s.get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
}

fn list_keys(s: Option<&Value>) -> Option<Vec<String>> {
    let s = s?;
    if s.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    s.get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
}

fn item_key(item: &Value, keys: &[String]) -> String {
    let mut m = Map::new();
    for k in keys {
        m.insert(k.clone(), item.get(k).cloned().unwrap_or(Value::Null));
    }
    format!("k:{}", Value::Object(m))
}

fn collect(v: &Value, s: Option<&Value>, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                prefix.push(format!("f:{k}"));
                collect(child, sub_schema(s, k), prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) if list_keys(s).is_some() && !items.is_empty() => {
            let keys = list_keys(s).unwrap_or_default();
            let item_schema = s.and_then(|s| s.get("items"));
            for item in items {
                prefix.push(item_key(item, &keys));
                collect(item, item_schema, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) if is_set(s) && !items.is_empty() => {
            for item in items {
                prefix.push(format!("v:{item}"));
                out.insert(prefix.clone());
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

/// The leaf fields an object sets, skipping the metadata the server owns.
pub fn leaf_fields(obj: &Value, schema: Option<&Value>) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    let Some(m) = obj.as_object() else { return out };
    for (k, v) in m {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                for mk in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(child) = v.get(mk) {
                        let mut prefix = vec!["f:metadata".to_string(), format!("f:{mk}")];
                        collect(
                            child,
                            sub_schema(Some(&METADATA), mk),
                            &mut prefix,
                            &mut out,
                        );
                    }
                }
            }
            _ => {
                let mut prefix = vec![format!("f:{k}")];
                collect(v, sub_schema(schema, k), &mut prefix, &mut out);
            }
        }
    }
    out
}

/// The value at a field path, if present.
pub fn field_value<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path {
        cur = if let Some(name) = seg.strip_prefix("f:") {
            cur.get(name)?
        } else if let Some(key) = seg.strip_prefix("k:") {
            let want: Map<String, Value> = serde_json::from_str(key).ok()?;
            cur.as_array()?.iter().find(|item| {
                want.iter()
                    .all(|(k, v)| item.get(k).unwrap_or(&Value::Null) == v)
            })?
        } else if let Some(val) = seg.strip_prefix("v:") {
            let want: Value = serde_json::from_str(val).ok()?;
            cur.as_array()?.iter().find(|item| **item == want)?
        } else {
            return None;
        };
    }
    Some(cur)
}

/// Removes the field at `path` (no-op when absent).
pub fn remove_field(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for seg in parents {
        let next = if let Some(name) = seg.strip_prefix("f:") {
            cur.get_mut(name)
        } else if let Some(key) = seg.strip_prefix("k:") {
            let Ok(want) = serde_json::from_str::<Map<String, Value>>(key) else {
                return;
            };
            cur.as_array_mut().and_then(|a| {
                a.iter_mut().find(|item| {
                    want.iter()
                        .all(|(k, v)| item.get(k).unwrap_or(&Value::Null) == v)
                })
            })
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.shift_remove(name);
        }
    } else if let Some(val) = last.strip_prefix("v:")
        && let Ok(want) = serde_json::from_str::<Value>(val)
        && let Some(a) = cur.as_array_mut()
    {
        a.retain(|item| *item != want);
    } else if let Some(key) = last.strip_prefix("k:")
        && let Ok(want) = serde_json::from_str::<Map<String, Value>>(key)
        && let Some(a) = cur.as_array_mut()
    {
        a.retain(|item| {
            !want
                .iter()
                .all(|(k, v)| item.get(k).unwrap_or(&Value::Null) == v)
        });
    }
}

/// Merges an applied configuration into the live object (see the module comment).
pub fn apply_merge(target: &mut Value, applied: &Value, schema: Option<&Value>) {
    merge(target, applied, schema, true);
}

fn merge(target: &mut Value, applied: &Value, schema: Option<&Value>, root: bool) {
    match (target, applied) {
        (Value::Object(t), Value::Object(a)) => {
            for (k, v) in a {
                if v.is_null() {
                    t.shift_remove(k);
                    continue;
                }
                let sub = child_schema(schema, k, root);
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v, sub, false),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(a)) if list_keys(schema).is_some() => {
            let keys = list_keys(schema).unwrap_or_default();
            let item_schema = schema.and_then(|s| s.get("items"));
            for item in a {
                let k = item_key(item, &keys);
                match t.iter_mut().find(|x| item_key(x, &keys) == k) {
                    Some(existing) => merge(existing, item, item_schema, false),
                    None => t.push(item.clone()),
                }
            }
        }
        (Value::Array(t), Value::Array(a)) if is_set(schema) => {
            for item in a {
                if !t.contains(item) {
                    t.push(item.clone());
                }
            }
        }
        (t, a) => *t = a.clone(),
    }
}

/// Renders a set of field paths as a `fieldsV1` tree.
pub fn to_fields_v1(paths: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut cur = &mut root;
        for seg in p {
            let entry = cur
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            cur = match entry {
                Value::Object(m) => m,
                _ => unreachable!("fieldsV1 nodes are objects"),
            };
        }
    }
    Value::Object(root)
}

/// Reads a `fieldsV1` tree back into leaf paths (a node without children, or with only `.`, is a leaf).
pub fn from_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.as_str() != ".").collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.insert(prefix.clone());
            }
            return;
        }
        for (k, child) in children {
            prefix.push(k.clone());
            walk(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// Renders a path as the real server does in conflict messages: `.spec.replicas`, `.status.conditions[type="Ready"]`.
pub fn display_path(p: &[String]) -> String {
    let mut s = String::new();
    for seg in p {
        if let Some(name) = seg.strip_prefix("f:") {
            s.push('.');
            s.push_str(name);
        } else if let Some(val) = seg.strip_prefix("v:") {
            s.push_str(&format!("[={val}]"));
        } else if let Some(key) = seg.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(key)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_with_null() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut doc, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(doc, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn strategic_merge_patch_merges_finalizers_and_owner_references() {
        let mut doc = json!({"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
            "spec": {"keep": 1, "drop": 2, "sub": {"a": 1}}});
        strategic_merge_patch(
            &mut doc,
            &json!({"metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "2", "name": "y"}, {"uid": "1", "$patch": "delete"}]},
                "spec": {"drop": null, "sub": {"$patch": "replace", "b": 2}}}),
        );
        assert_eq!(doc["metadata"]["finalizers"], json!(["b", "a"]));
        assert_eq!(
            doc["metadata"]["ownerReferences"],
            json!([{"uid": "2", "name": "y"}])
        );
        assert_eq!(doc["spec"], json!({"keep": 1, "sub": {"b": 2}}));
        strategic_merge_patch(
            &mut doc,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(doc["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn strategic_merge_patch_puts_new_items_before_the_live_ones() {
        let mut doc = json!({"metadata": {"finalizers": ["a", "c"]}});
        strategic_merge_patch(&mut doc, &json!({"metadata": {"finalizers": ["b"]}}));
        assert_eq!(doc["metadata"]["finalizers"], json!(["b", "a", "c"]));
        strategic_merge_patch(&mut doc, &json!({"metadata": {"finalizers": ["c", "d"]}}));
        assert_eq!(doc["metadata"]["finalizers"], json!(["b", "a", "c", "d"]));
        // The live order wins where it ranks a patch item after a live-only one.
        strategic_merge_patch(&mut doc, &json!({"metadata": {"finalizers": ["a", "e"]}}));
        assert_eq!(
            doc["metadata"]["finalizers"],
            json!(["b", "a", "e", "c", "d"])
        );
        let mut svc =
            json!({"spec": {"ports": [{"name": "a", "port": 80}, {"name": "c", "port": 82}]}});
        strategic_merge_patch(
            &mut svc,
            &json!({"spec": {"ports": [{"name": "b", "port": 81}]}}),
        );
        let ports: Vec<&Value> = svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["port"])
            .collect();
        assert_eq!(ports, [&json!(81), &json!(80), &json!(82)]);
        strategic_merge_patch(
            &mut svc,
            &json!({"spec": {"ports": [{"$patch": "replace"}, {"name": "d", "port": 83}]}}),
        );
        assert_eq!(svc["spec"]["ports"], json!([{"name": "d", "port": 83}]));
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "x", "args": ["1"]}]}});
        strategic_merge_patch(
            &mut pod,
            &json!({"spec": {"containers": [{"name": "a", "$retainKeys": ["name", "image"], "image": "y"}]}}),
        );
        assert_eq!(
            pod["spec"]["containers"],
            json!([{"name": "a", "image": "y"}])
        );
    }

    #[test]
    fn strategic_merge_patch_merges_containers_env_and_ports_on_their_keys() {
        let mut doc = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1", "args": ["x", "y"], "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}],
             "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "b", "image": "b:1"}
        ]}}}});
        strategic_merge_patch(
            &mut doc,
            &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
            "containers": [
                {"name": "a", "image": "a:2", "args": ["z"],
                 "$setElementOrder/env": [{"name": "E"}, {"name": "G"}],
                 "env": [{"name": "F", "$patch": "delete"}, {"name": "G", "value": "3"}]},
                {"name": "b", "$patch": "delete"},
                {"name": "c", "image": "c:1"}
            ]}}}}),
        );
        assert_eq!(
            doc["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "c", "image": "c:1"},
                {"name": "a", "image": "a:2", "args": ["z"],
                 "env": [{"name": "E", "value": "1"}, {"name": "G", "value": "3"}],
                 "ports": [{"containerPort": 80, "name": "http"}]}
            ]),
            "containers and env merge by name, args (no merge key) are replaced"
        );
        let mut svc = json!({"spec": {"ports": [{"port": 80, "name": "web", "protocol": "TCP"}]}});
        strategic_merge_patch(
            &mut svc,
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
        );
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 80, "name": "web", "protocol": "TCP", "targetPort": 8080}])
        );
    }

    #[test]
    fn json_patch_ops_and_test() {
        let mut doc = json!({"metadata": {"finalizers": ["a"]}});
        json_patch(
            &mut doc,
            &json!([
                {"op": "test", "path": "/metadata/finalizers", "value": ["a"]},
                {"op": "add", "path": "/metadata/finalizers/-", "value": "b"},
                {"op": "replace", "path": "/metadata/finalizers/0", "value": "c"},
                {"op": "copy", "from": "/metadata/finalizers", "path": "/copy"},
                {"op": "move", "from": "/copy", "path": "/moved"},
                {"op": "remove", "path": "/moved/1"}
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"finalizers": ["c", "b"]}, "moved": ["c"]})
        );
        let err = json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "x"}]),
        )
        .unwrap_err();
        assert!(
            err.contains("testing value /metadata/finalizers/0 failed"),
            "{err}"
        );
        assert!(json_patch(&mut doc, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }

    #[test]
    fn fields_round_trip_and_list_maps() {
        let schema = json!({"properties": {"status": {"properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object"}}}}}});
        let obj = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}, "spec": {"a": 1}});
        let fields = leaf_fields(&obj, Some(&schema));
        assert!(fields.contains(&vec![
            "f:status".to_string(),
            "f:conditions".to_string(),
            "k:{\"type\":\"Ready\"}".to_string(),
            "f:status".to_string()
        ]));
        assert_eq!(from_fields_v1(&to_fields_v1(&fields)), fields);
        let mut live = json!({"status": {"conditions": [{"type": "Synced", "status": "True"}]}});
        apply_merge(&mut live, &obj, Some(&schema));
        assert_eq!(live["status"]["conditions"].as_array().unwrap().len(), 2);
        let ready: Vec<String> = fields.iter().next().unwrap().clone();
        assert!(field_value(&live, &ready).is_some());
    }
}
