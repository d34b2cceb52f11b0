//! Structural OpenAPI v3 schemas of CRDs: the install-time check, and what the real server does to every
//! custom object written: `default`s applied, unknown fields pruned (or reported, for `fieldValidation=Strict`),
//! then validation of types, `required`, `enum`, bounds, lengths, `pattern`, item counts, `nullable`,
//! `x-kubernetes-int-or-string`, `x-kubernetes-list-type`, `allOf`/`anyOf`/`oneOf`/`not`, and the CEL rules in
//! `x-kubernetes-validations`. Messages and cause reasons follow the real server's wording, see
//! <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/>.

use serde_json::{Map, Value};

use super::cel;
use super::status::{Cause, short_value};

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn bool_at(s: &Value, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn schema_type(s: &Value) -> &str {
    s.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Install-time check of one schema node: types where the structural-schema rules require them, and CEL rules
/// that this server can evaluate.
pub fn check_structural(s: &Value, path: &str, root: bool, causes: &mut Vec<Cause>) {
    if root && schema_type(s) != "object" {
        causes.push(Cause::new(
            "FieldValueRequired",
            format!("{path}.type"),
            "Required value: must be object at the root",
        ));
    }
    let typeless_ok = bool_at(s, "x-kubernetes-int-or-string")
        || bool_at(s, "x-kubernetes-preserve-unknown-fields");
    if !root && schema_type(s).is_empty() && !typeless_ok {
        causes.push(Cause::new(
            "FieldValueRequired",
            format!("{path}.type"),
            "Required value: must not be empty for specified object fields",
        ));
    }
    if let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) {
        for (i, r) in rules.iter().enumerate() {
            let field = format!("{path}.x-kubernetes-validations[{i}]");
            match r.get("rule").and_then(Value::as_str) {
                None => causes.push(Cause::required(format!("{field}.rule"))),
                Some(rule) => {
                    if let Err(e) = cel::parse(rule) {
                        causes.push(Cause::invalid(
                            format!("{field}.rule"),
                            &Value::String(rule.into()),
                            &format!("compilation failed: {e}"),
                        ));
                    }
                }
            }
            if let Some(m) = r.get("messageExpression").and_then(Value::as_str)
                && let Err(e) = cel::parse(m)
            {
                causes.push(Cause::invalid(
                    format!("{field}.messageExpression"),
                    &Value::String(m.into()),
                    &format!("compilation failed: {e}"),
                ));
            }
        }
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, sub) in props {
            if root && k == "metadata" {
                continue;
            }
            check_structural(sub, &format!("{path}.properties[{k}]"), false, causes);
        }
    }
    if let Some(items) = s.get("items") {
        check_structural(items, &format!("{path}.items"), false, causes);
    }
    if let Some(ap) = s.get("additionalProperties").filter(|v| v.is_object()) {
        check_structural(ap, &format!("{path}.additionalProperties"), false, causes);
    }
}

/// Applies `default`s; a `null` in a non-nullable field counts as absent, as on the real server.
pub fn apply_defaults(v: &mut Value, s: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    let nullable = bool_at(sub, "nullable");
                    if m.get(k).is_some_and(Value::is_null) && !nullable {
                        m.remove(k);
                    }
                    if !m.contains_key(k)
                        && let Some(d) = sub.get("default")
                    {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(child) = m.get_mut(k) {
                        apply_defaults(child, sub);
                    }
                }
            }
            if let Some(ap) = s.get("additionalProperties").filter(|v| v.is_object()) {
                for child in m.values_mut() {
                    apply_defaults(child, ap);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for child in items {
                    apply_defaults(child, is);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields the schema does not declare and records their paths (`spec.foo`).
pub fn prune(v: &mut Value, s: &Value, path: &str, root: bool, unknown: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let preserve = bool_at(s, "x-kubernetes-preserve-unknown-fields");
            let embedded = bool_at(s, "x-kubernetes-embedded-resource");
            let props = s.get("properties").and_then(Value::as_object);
            let ap = s.get("additionalProperties");
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if (root || embedded) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_path = join(path, &k);
                if let Some(sub) = props.and_then(|p| p.get(&k)) {
                    if let Some(child) = m.get_mut(&k) {
                        prune(child, sub, &child_path, false, unknown);
                    }
                } else if let Some(sub) = ap.filter(|a| a.is_object()) {
                    if let Some(child) = m.get_mut(&k) {
                        prune(child, sub, &format!("{path}[{k}]"), false, unknown);
                    }
                } else if ap == Some(&Value::Bool(true)) || preserve {
                    continue;
                } else {
                    unknown.push(child_path);
                    m.remove(&k);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for (i, child) in items.iter_mut().enumerate() {
                    prune(child, is, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

fn type_matches(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn list_map_key(item: &Value, keys: &[String]) -> Value {
    let mut m = Map::new();
    for k in keys {
        m.insert(k.clone(), item.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(m)
}

fn list_map_keys(s: &Value) -> Option<Vec<String>> {
    if s.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    Some(
        s.get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Validates `v` against schema `s`; `old` is the value at the same place in the stored object (for CEL
/// transition rules). Causes name the field as the real server does (`spec.states[0].name`).
/// Validates `v` against schema `s`: schema errors go to `causes`, the failures of `x-kubernetes-validations`
/// rules to `rule_causes`, since the real server reports those only when the schema errors allow it (see
/// [`blocks_rules`]).
pub fn validate(
    v: &Value,
    s: &Value,
    old: Option<&Value>,
    path: &str,
    root: bool,
    causes: &mut Vec<Cause>,
    rule_causes: &mut Vec<Cause>,
) {
    let here = if path.is_empty() {
        "<root>".to_string()
    } else {
        path.to_string()
    };
    if v.is_null() {
        if !bool_at(s, "nullable") && !schema_type(s).is_empty() {
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"null\": {here} in body must be of type {}: \"null\"",
                    schema_type(s)
                ),
            ));
        }
        return;
    }
    if bool_at(s, "x-kubernetes-int-or-string") {
        if !(type_matches(v, "integer") || v.is_string()) {
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: {}: {here} in body must be of type integer,string: \"{}\"",
                    short_value(v),
                    json_type_name(v)
                ),
            ));
            return;
        }
    } else {
        let t = schema_type(s);
        if !t.is_empty() && !type_matches(v, t) {
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"{}\": {here} in body must be of type {t}: \"{}\"",
                    json_type_name(v),
                    json_type_name(v)
                ),
            ));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.iter().any(|x| x == v)
    {
        let supported: Vec<String> = e.iter().map(short_value).collect();
        causes.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                short_value(v),
                supported.join(", ")
            ),
        ));
    }
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    match v {
        Value::String(st) => {
            let len = st.chars().count() as u64;
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                causes.push(Cause::new(
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{here} in body should be at least {min} chars long"),
                ));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(p) {
                    Ok(re) if !re.is_match(st) => causes.push(Cause::invalid(
                        path,
                        v,
                        &format!("{here} in body should match '{p}'"),
                    )),
                    Ok(_) => {}
                    Err(e) => causes.push(Cause::invalid(
                        path,
                        v,
                        &format!("pattern {p:?} does not compile: {e}"),
                    )),
                }
            }
        }
        Value::Number(_) => {
            let x = v.as_f64().unwrap_or(0.0);
            let excl_min = bool_at(s, "exclusiveMinimum");
            let excl_max = bool_at(s, "exclusiveMaximum");
            if let Some(min) = num("minimum")
                && (x < min || (excl_min && x == min))
            {
                let rel = if excl_min {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{here} in body should be {rel} {}", fmt_num(min)),
                ));
            }
            if let Some(max) = num("maximum")
                && (x > max || (excl_max && x == max))
            {
                let rel = if excl_max {
                    "less than"
                } else {
                    "less than or equal to"
                };
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{here} in body should be {rel} {}", fmt_num(max)),
                ));
            }
            if let Some(m) = num("multipleOf")
                && m != 0.0
                && (x / m).fract() != 0.0
            {
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{here} in body should be a multiple of {}", fmt_num(m)),
                ));
            }
        }
        Value::Array(items) => {
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                causes.push(Cause::new(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                causes.push(Cause::invalid(
                    path,
                    &Value::from(items.len()),
                    &format!("{here} in body should have at least {min} items"),
                ));
            }
            let set = s.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set")
                || bool_at(s, "uniqueItems");
            let map_keys = list_map_keys(s);
            for (i, a) in items.iter().enumerate() {
                let dup = items[..i].iter().any(|b| match &map_keys {
                    Some(keys) => list_map_key(a, keys) == list_map_key(b, keys),
                    None => set && a == b,
                });
                if dup {
                    let shown = match &map_keys {
                        Some(keys) => list_map_key(a, keys).to_string(),
                        None => short_value(a),
                    };
                    causes.push(Cause::new(
                        "FieldValueDuplicate",
                        format!("{path}[{i}]"),
                        format!("Duplicate value: {shown}"),
                    ));
                }
            }
            if let Some(is) = s.get("items") {
                let old_items = old.and_then(Value::as_array);
                for (i, item) in items.iter().enumerate() {
                    let old_item = match (&map_keys, old_items) {
                        (Some(keys), Some(olds)) => {
                            let k = list_map_key(item, keys);
                            olds.iter().find(|o| list_map_key(o, keys) == k)
                        }
                        _ => None,
                    };
                    validate(
                        item,
                        is,
                        old_item,
                        &format!("{path}[{i}]"),
                        false,
                        causes,
                        rule_causes,
                    );
                }
            }
        }
        Value::Object(m) => {
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !m.contains_key(r) {
                        causes.push(Cause::required(join(path, r)));
                    }
                }
            }
            if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
                && m.len() as u64 > max
            {
                causes.push(Cause::new(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {}: must have at most {max} items", m.len()),
                ));
            }
            if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
                && (m.len() as u64) < min
            {
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{here} in body should have at least {min} properties"),
                ));
            }
            let props = s.get("properties").and_then(Value::as_object);
            let ap = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in m {
                if root && k == "metadata" {
                    // A CRD may constrain only `metadata.name` and `metadata.generateName`.
                    for field in ["name", "generateName"] {
                        if let (Some(v), Some(sub)) = (
                            child.get(field),
                            s.pointer(&format!("/properties/metadata/properties/{field}")),
                        ) {
                            validate(
                                v,
                                sub,
                                None,
                                &format!("metadata.{field}"),
                                false,
                                causes,
                                rule_causes,
                            );
                        }
                    }
                    continue;
                }
                if root && matches!(k.as_str(), "apiVersion" | "kind") {
                    continue;
                }
                let old_child = old.and_then(|o| o.get(k));
                if let Some(sub) = props.and_then(|p| p.get(k)) {
                    validate(
                        child,
                        sub,
                        old_child,
                        &join(path, k),
                        false,
                        causes,
                        rule_causes,
                    );
                } else if let Some(sub) = ap {
                    validate(
                        child,
                        sub,
                        old_child,
                        &format!("{path}[{k}]"),
                        false,
                        causes,
                        rule_causes,
                    );
                }
            }
        }
        _ => {}
    }
    combinators(v, s, old, path, causes, rule_causes);
    rules(v, s, old, path, rule_causes);
}

/// Whether schema errors keep the CEL rules from running: the apiextensions strategies skip them once the
/// object has a Required, TypeInvalid, NotSupported, TooLong or TooMany error (the rules could not be
/// evaluated meaningfully), and add [`rules_not_checked`] instead.
pub fn blocks_rules(causes: &[Cause]) -> bool {
    causes.iter().any(|c| {
        matches!(
            c.reason.as_str(),
            "FieldValueRequired"
                | "FieldValueTypeInvalid"
                | "FieldValueNotSupported"
                | "FieldValueTooLong"
                | "FieldValueTooMany"
        )
    })
}

/// The cause the real server adds when [`blocks_rules`] holds: `field.Invalid(nil, nil, ...)`, whose path
/// prints as `<nil>`.
pub fn rules_not_checked() -> Cause {
    Cause::new(
        "FieldValueInvalid",
        "<nil>",
        "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
    )
}

/// Whether a schema carries any `x-kubernetes-validations` rule (the real server builds a CEL validator only
/// then, so only then can [`rules_not_checked`] appear).
pub fn has_rules(s: &Value) -> bool {
    match s {
        Value::Object(m) => {
            m.get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
                || m.iter().any(|(k, v)| {
                    k != "x-kubernetes-validations"
                        && k != "default"
                        && k != "enum"
                        && k != "example"
                        && has_rules(v)
                })
        }
        Value::Array(a) => a.iter().any(has_rules),
        _ => false,
    }
}

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn combinators(
    v: &Value,
    s: &Value,
    old: Option<&Value>,
    path: &str,
    causes: &mut Vec<Cause>,
    rule_causes: &mut Vec<Cause>,
) {
    let here = if path.is_empty() { "<root>" } else { path };
    let passes = |sub: &Value| {
        let (mut c, mut r) = (Vec::new(), Vec::new());
        validate(v, sub, old, path, false, &mut c, &mut r);
        c.is_empty() && r.is_empty()
    };
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            validate(v, sub, old, path, false, causes, rule_causes);
        }
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(passes)
    {
        causes.push(Cause::invalid(
            path,
            v,
            &format!("{here} in body must match at least one schema in anyOf"),
        ));
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        let n = one.iter().filter(|sub| passes(sub)).count();
        if n != 1 {
            causes.push(Cause::invalid(
                path,
                v,
                &format!("{here} in body must match exactly one schema in oneOf"),
            ));
        }
    }
    if let Some(not) = s.get("not")
        && passes(not)
    {
        causes.push(Cause::invalid(
            path,
            v,
            &format!("{here} in body should not match the schema in not"),
        ));
    }
}

fn rules(v: &Value, s: &Value, old: Option<&Value>, path: &str, causes: &mut Vec<Cause>) {
    let Some(list) = s.get("x-kubernetes-validations").and_then(Value::as_array) else {
        return;
    };
    for r in list {
        let Some(src) = r.get("rule").and_then(Value::as_str) else {
            continue;
        };
        let field = match r.get("fieldPath").and_then(Value::as_str) {
            Some(fp) => format!("{path}{fp}"),
            None => path.to_string(),
        };
        let rule = match cel::parse(src) {
            Ok(rule) => rule,
            Err(e) => {
                causes.push(Cause::invalid(
                    field,
                    v,
                    &format!("rule compile error: {e}"),
                ));
                continue;
            }
        };
        // Transition rules only run when there is an old value to compare with.
        if cel::uses_old_self(&rule) && old.is_none() {
            continue;
        }
        let reason = r
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("FieldValueInvalid");
        match cel::check(&rule, v, old) {
            Ok(true) => {}
            Ok(false) => {
                let msg = r
                    .get("messageExpression")
                    .and_then(Value::as_str)
                    .and_then(|m| cel::parse(m).ok())
                    .and_then(|m| cel::message(&m, v, old).ok())
                    .or_else(|| r.get("message").and_then(Value::as_str).map(String::from))
                    .unwrap_or_else(|| format!("failed rule: {src}"));
                let text = match reason {
                    "FieldValueRequired" => format!("Required value: {msg}"),
                    "FieldValueForbidden" => format!("Forbidden: {msg}"),
                    "FieldValueDuplicate" => format!("Duplicate value: {msg}"),
                    _ => format!("Invalid value: {}: {msg}", short_value(v)),
                };
                causes.push(Cause::new(reason, field, text));
            }
            Err(e) => causes.push(Cause::invalid(
                field,
                v,
                &format!("rule evaluation error: {src}: {e}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["size"],
                    "x-kubernetes-validations": [{"rule": "!has(self.a) || !has(self.b)", "message": "a and b are exclusive"}],
                    "properties": {
                        "size": {"type": "integer", "minimum": 1, "maximum": 10},
                        "mode": {"type": "string", "enum": ["A", "B"], "default": "A"},
                        "a": {"type": "string"},
                        "b": {"type": "string"},
                        "port": {"x-kubernetes-int-or-string": true},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }
            }
        })
    }

    fn check(v: &Value) -> Vec<Cause> {
        let (mut c, mut r) = (Vec::new(), Vec::new());
        validate(v, &schema(), None, "", true, &mut c, &mut r);
        c.extend(r);
        c
    }

    #[test]
    fn defaults_prune_and_validate() {
        let mut v = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n"},
            "spec": {"size": 3, "extra": 1, "free": {"anything": [1]}, "port": "http"}});
        apply_defaults(&mut v, &schema());
        let mut unknown = Vec::new();
        prune(&mut v, &schema(), "", true, &mut unknown);
        assert_eq!(unknown, vec!["spec.extra".to_string()]);
        assert_eq!(v["spec"]["mode"], json!("A"));
        assert_eq!(v["spec"]["free"], json!({"anything": [1]}));
        assert!(check(&v).is_empty(), "{:?}", check(&v));
    }

    #[test]
    fn reports_each_field() {
        let v = json!({"spec": {"size": 11, "mode": "C", "a": "x", "b": "y", "port": true}});
        let fields: Vec<(String, String)> =
            check(&v).into_iter().map(|c| (c.field, c.reason)).collect();
        assert!(
            fields.contains(&("spec.size".into(), "FieldValueInvalid".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("spec.mode".into(), "FieldValueNotSupported".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("spec.port".into(), "FieldValueTypeInvalid".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("spec".into(), "FieldValueInvalid".into())),
            "{fields:?}"
        );
        let missing = check(&json!({"spec": {}}));
        assert_eq!(missing[0].field, "spec.size");
        assert_eq!(missing[0].reason, "FieldValueRequired");
    }
}
