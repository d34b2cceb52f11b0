//! Schema pieces that schemars cannot derive on its own, and the post-processing that makes the generated
//! CRD schemas structural (what an API server 1.30+ accepts).
//!
//! Kubernetes requires every schema node to carry a `type` unless it is marked
//! `x-kubernetes-preserve-unknown-fields` or `x-kubernetes-int-or-string`, forbids `$ref`, and reads
//! `nullable: true` rather than `type: [x, "null"]`. kube's own rewriter handles most of what schemars emits;
//! [`make_structural`] finishes the job (formats the API server does not know, leftover `anyOf`/`oneOf`
//! nullable wrappers, `additionalProperties: false`) and [`structural_problems`] lists anything that would
//! still be rejected, so a test can keep the generated CRDs honest.
//!
//! Reference: <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema>

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

/// Any JSON value, `null` included, kept verbatim (user data such as `result`, `arguments`, `output`,
/// JSONata `items`).
pub fn any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "nullable": true, "x-kubernetes-preserve-unknown-fields": true })
}

/// A JSON object whose keys are user data (`parameters`, `resultSelector`, `assign`, raw Choice `rule`, ...).
pub fn any_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// A JSONPath that may be absent, a string, or JSON `null` (ASL gives `null` its own meaning on
/// `InputPath`, `OutputPath` and `ResultPath`).
pub fn nullable_path(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "nullable": true, "maxLength": 4096 })
}

/// An ordered list of states that is not typed in the CRD because a CRD schema cannot recurse
/// (see the `api` module documentation). Each item must be an object; the compiler deserialises it into
/// [`crate::State`] and reports errors with the state path.
pub fn opaque_states(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "maxItems": 500,
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Integer seconds, or (in JSONata mode) a string expression.
pub fn int_or_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-int-or-string": true })
}

/// Rewrites a generated CRD schema (as JSON) into the structural form the API server accepts.
pub fn make_structural(schema: &mut Value) {
    let Value::Object(node) = schema else {
        return;
    };
    collapse_nullable_wrappers(node);
    normalise_type_arrays(node);
    normalise_format(node);
    // Optional enums come out of schemars with `null` among the values; `nullable: true` already admits
    // null, and the API server checks enum values against the node's type.
    if let Some(Value::Array(values)) = node.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    // `additionalProperties: false` (from `deny_unknown_fields`) is not allowed next to `properties`;
    // the API server prunes unknown fields anyway.
    if node.get("additionalProperties") == Some(&Value::Bool(false)) {
        node.remove("additionalProperties");
    }
    if node.contains_key("properties") && node.get("type").is_none() {
        node.insert("type".into(), Value::String("object".into()));
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = node.get_mut(key) {
            for child in props.values_mut() {
                make_structural(child);
            }
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = node.get_mut(key) {
            make_structural(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = node.get_mut(key) {
            for child in children {
                make_structural(child);
            }
        }
    }
}

/// `anyOf: [{...T...}, {nullable: true, enum: [null]}]` (an `Option<T>` that kube left alone) becomes
/// `{...T..., nullable: true}`.
fn collapse_nullable_wrappers(node: &mut Map<String, Value>) {
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(variants)) = node.get(key) else {
            continue;
        };
        let is_null = |v: &Value| {
            v.get("enum") == Some(&Value::Array(vec![Value::Null]))
                || v.get("type") == Some(&Value::String("null".into()))
        };
        if variants.len() == 2 && variants.iter().filter(|v| is_null(v)).count() == 1 {
            let Some(Value::Object(inner)) = variants.iter().find(|v| !is_null(v)).cloned() else {
                continue;
            };
            node.remove(key);
            for (k, v) in inner {
                node.entry(k).or_insert(v);
            }
            node.insert("nullable".into(), Value::Bool(true));
        }
    }
}

/// `type: ["string", "null"]` becomes `type: string, nullable: true`.
fn normalise_type_arrays(node: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = node.get("type") else {
        return;
    };
    let non_null: Vec<Value> = types
        .iter()
        .filter(|t| t.as_str() != Some("null"))
        .cloned()
        .collect();
    let had_null = non_null.len() != types.len();
    if non_null.len() == 1 {
        node.insert("type".into(), non_null[0].clone());
    }
    if had_null {
        node.insert("nullable".into(), Value::Bool(true));
    }
}

/// Kubernetes knows `int32`, `int64`, `float` and `double` for numbers; schemars emits Rust names such as
/// `uint32` or `uint`. Unsigned types keep their `minimum: 0`, so nothing is lost.
fn normalise_format(node: &mut Map<String, Value>) {
    let Some(format) = node.get("format").and_then(Value::as_str) else {
        return;
    };
    let replacement = match format {
        "int32" | "int64" | "float" | "double" | "date-time" | "byte" => return,
        "uint8" | "uint16" | "int8" | "int16" | "uint32" => Some("int32"),
        "uint64" | "uint" | "int" => Some("int64"),
        _ if node.get("type").and_then(Value::as_str) == Some("integer") => Some("int64"),
        _ => None,
    };
    match replacement {
        Some(f) => {
            node.insert("format".into(), Value::String(f.into()));
        }
        None => {
            node.remove("format");
        }
    }
}

/// Everything in a schema that an API server would refuse as non-structural, each as
/// `<json path>: <problem>`. Empty means structural.
pub fn structural_problems(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check_node(schema, "", &mut problems);
    problems
}

fn check_node(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Value::Object(node) = schema else {
        problems.push(format!("{path}: schema is not an object"));
        return;
    };
    for key in ["$ref", "definitions", "$defs", "const", "$schema"] {
        if node.contains_key(key) {
            problems.push(format!("{path}: `{key}` is not allowed"));
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "not"] {
        if node.contains_key(key) {
            // Allowed in principle when free of types/descriptions, but this project never needs them.
            problems.push(format!(
                "{path}: `{key}` is not used by structural schemas here"
            ));
        }
    }
    let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    match node.get("type") {
        Some(Value::String(t)) => {
            if !matches!(
                t.as_str(),
                "object" | "array" | "string" | "integer" | "number" | "boolean"
            ) {
                problems.push(format!("{path}: unknown type {t}"));
            }
            if t == "array" && !node.contains_key("items") {
                problems.push(format!("{path}: array without items"));
            }
        }
        Some(other) => problems.push(format!("{path}: type must be a single string, got {other}")),
        None if preserve || int_or_string => {}
        None => problems.push(format!("{path}: missing type")),
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        problems.push(format!(
            "{path}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if let Some(Value::Object(props)) = node.get("properties") {
        for (name, child) in props {
            check_node(child, &format!("{path}.{name}"), problems);
        }
    }
    if let Some(items) = node.get("items") {
        check_node(items, &format!("{path}[*]"), problems);
    }
    if let Some(additional @ Value::Object(_)) = node.get("additionalProperties") {
        check_node(additional, &format!("{path}.*"), problems);
    }
}
