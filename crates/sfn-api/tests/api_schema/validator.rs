//! A small validator for the structural OpenAPI v3 schemas of CRDs, doing what the API server does on
//! create with `fieldValidation=Strict`: types, `nullable`, `enum`, `required`, string lengths and
//! `pattern`, numeric bounds, list and map sizes, `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields`, unknown fields, and the `x-kubernetes-validations` CEL rules
//! (through the tiny evaluator in `cel.rs`). Messages mimic the API server's: the field path, then what
//! is wrong.

use serde_json::Value;

use super::cel;

/// Validates `value` against `schema`; every problem as `<path>: <message>`.
pub fn validate(value: &Value, schema: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    check(value, schema, path, &mut errors);
    errors
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let s = |k: &str| schema.get(k);
    if value.is_null() {
        if s("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!(
                "{path}: Invalid value: \"null\": {path} in body must not be null"
            ));
        }
        return;
    }
    if s("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !matches!(type_name(value), "integer" | "string") {
            errors.push(format!(
                "{path}: Invalid value: {value}: must be an integer or a string"
            ));
        }
        return;
    }
    let preserve = s("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if let Some(Value::String(expected)) = s("type") {
        let actual = type_name(value);
        let ok = actual == expected || (expected == "number" && actual == "integer");
        if !ok {
            errors.push(format!(
                "{path}: Invalid value: \"{actual}\": {path} in body must be of type {expected}: \"{actual}\""
            ));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = s("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
        errors.push(format!(
            "{path}: Unsupported value: {value}: supported values: {}",
            list.join(", ")
        ));
    }
    match value {
        Value::String(text) => {
            let len = text.chars().count() as u64;
            if let Some(max) = s("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errors.push(format!(
                    "{path}: Too long: may not be more than {max} bytes"
                ));
            }
            if let Some(min) = s("minLength").and_then(Value::as_u64)
                && len < min
            {
                errors.push(format!("{path}: Invalid value: {value}: {path} in body should be at least {min} chars long"));
            }
            if let Some(pattern) = s("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(pattern).expect("schema pattern compiles");
                if !re.is_match(text) {
                    errors.push(format!(
                        "{path}: Invalid value: {value}: {path} in body should match '{pattern}'"
                    ));
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if let Some(max) = s("maximum").and_then(Value::as_f64)
                && x > max
            {
                errors.push(format!("{path}: Invalid value: {value}: {path} in body should be less than or equal to {max}"));
            }
            if let Some(min) = s("minimum").and_then(Value::as_f64)
                && x < min
            {
                errors.push(format!("{path}: Invalid value: {value}: {path} in body should be greater than or equal to {min}"));
            }
        }
        Value::Array(items) => {
            if let Some(max) = s("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                errors.push(format!(
                    "{path}: Too many: {}: must have at most {max} items",
                    items.len()
                ));
            }
            if let Some(min) = s("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                errors.push(format!(
                    "{path}: Invalid value: {}: {path} in body should have at least {min} items",
                    items.len()
                ));
            }
            if let Some(item_schema) = s("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            if let Some(max) = s("maxProperties").and_then(Value::as_u64)
                && map.len() as u64 > max
            {
                errors.push(format!(
                    "{path}: Too many: {}: must have at most {max} items",
                    map.len()
                ));
            }
            if let Some(Value::Array(required)) = s("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        errors.push(format!("{path}.{name}: Required value"));
                    }
                }
            }
            let properties = s("properties").and_then(Value::as_object);
            let additional = s("additionalProperties");
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(child_schema), _) => check(child, child_schema, &child_path, errors),
                    (None, Some(additional @ Value::Object(_))) => {
                        check(child, additional, &child_path, errors)
                    }
                    (None, _) if preserve => {}
                    (None, _) => {
                        errors.push(format!("{child_path}: unknown field \"{child_path}\""))
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Array(rules)) = s("x-kubernetes-validations") {
        for rule in rules {
            let text = rule["rule"].as_str().unwrap_or_default();
            if cel::is_transition_rule(text) {
                continue;
            }
            match cel::holds(text, value) {
                Ok(true) => {}
                Ok(false) => errors.push(format!(
                    "{path}: Invalid value: \"object\": {}",
                    rule["message"].as_str().unwrap_or(text)
                )),
                Err(err) => errors.push(format!(
                    "{path}: rule {text:?} could not be evaluated: {err}"
                )),
            }
        }
    }
}
