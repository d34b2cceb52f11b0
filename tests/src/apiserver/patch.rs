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

/// Strategic merge patch as far as the built-ins served here need it: a merge patch, except that
/// `metadata.finalizers` merges as a set (with `$deleteFromPrimitiveList/finalizers` removing entries) and
/// `metadata.ownerReferences` merges on `uid` (an item with `$patch: delete` removes one); a map carrying
/// `$patch: replace` replaces, `$patch: delete` deletes it. `$setElementOrder` and `$retainKeys` are ignored.
/// (See <https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/>.)
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    let mut patch = patch.clone();
    if let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
        let live = target.as_object_mut().map(|t| {
            t.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
        });
        if let Some(Value::Object(live)) = live {
            if let Some(add) = meta.shift_remove("finalizers") {
                match add {
                    Value::Array(items) => {
                        let list = live
                            .entry("finalizers")
                            .or_insert_with(|| Value::Array(vec![]));
                        if let Value::Array(l) = list {
                            for i in items {
                                if !l.contains(&i) {
                                    l.push(i);
                                }
                            }
                        }
                    }
                    _ => {
                        live.shift_remove("finalizers");
                    }
                }
            }
            if let Some(Value::Array(del)) =
                meta.shift_remove("$deleteFromPrimitiveList/finalizers")
                && let Some(Value::Array(l)) = live.get_mut("finalizers")
            {
                l.retain(|f| !del.contains(f));
            }
            if let Some(refs) = meta.shift_remove("ownerReferences") {
                match refs {
                    Value::Array(items) => {
                        let list = live
                            .entry("ownerReferences")
                            .or_insert_with(|| Value::Array(vec![]));
                        if let Value::Array(l) = list {
                            for item in items {
                                let uid = item.get("uid").cloned();
                                let pos = l.iter().position(|x| x.get("uid").cloned() == uid);
                                let delete =
                                    item.get("$patch").and_then(Value::as_str) == Some("delete");
                                match (pos, delete) {
                                    (Some(p), true) => {
                                        l.remove(p);
                                    }
                                    (Some(p), false) => merge_patch(&mut l[p], &item),
                                    (None, false) => l.push(item),
                                    (None, true) => {}
                                }
                            }
                        }
                    }
                    _ => {
                        live.shift_remove("ownerReferences");
                    }
                }
            }
        }
    }
    smp_maps(target, &patch);
}

fn smp_maps(target: &mut Value, patch: &Value) {
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
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        let delete = v.is_null() || v.get("$patch").and_then(Value::as_str) == Some("delete");
        if delete {
            t.shift_remove(k);
        } else {
            smp_maps(t.entry(k.clone()).or_insert(Value::Null), v);
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
        assert_eq!(doc["metadata"]["finalizers"], json!(["a", "b"]));
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
