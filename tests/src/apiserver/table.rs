//! Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for (`Accept: ...;as=Table`), with a CRD's
//! `additionalPrinterColumns` evaluated by a small JSONPath subset (`.a.b`, `[0]`, `[*]`,
//! `[?(@.key=="value")]`), so `kubectl get` against the test server shows the columns a cluster would.
//! See <https://kubernetes.io/docs/reference/kubectl/jsonpath/>.

use serde_json::{Value, json};

use super::registry::ResourceType;

fn step<'a>(values: Vec<&'a Value>, seg: &str) -> Vec<&'a Value> {
    values
        .into_iter()
        .flat_map(|v| -> Vec<&'a Value> {
            if seg == "*" {
                match v {
                    Value::Array(a) => a.iter().collect(),
                    Value::Object(m) => m.values().collect(),
                    _ => vec![],
                }
            } else if let Some(filter) = seg.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')'))
            {
                let Some((key, want)) = filter.split_once("==") else {
                    return vec![];
                };
                let want = want.trim().trim_matches('"').trim_matches('\'');
                let key = key.trim();
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter(|item| match item.get(key) {
                                Some(Value::String(s)) => s == want,
                                Some(other) => {
                                    let text = other.to_string();
                                    text == want
                                }
                                None => false,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            } else if let Ok(i) = seg.parse::<usize>() {
                v.get(i).into_iter().collect()
            } else {
                v.get(seg).into_iter().collect()
            }
        })
        .collect()
}

/// Evaluates a printer-column JSONPath; `None` when nothing matches.
pub fn eval(obj: &Value, path: &str) -> Option<Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' if depth == 0 => {
                if !cur.is_empty() {
                    segs.push(std::mem::take(&mut cur));
                }
                depth += 1;
            }
            ']' if depth == 1 => {
                segs.push(std::mem::take(&mut cur));
                depth -= 1;
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    segs.push(std::mem::take(&mut cur));
                }
            }
            _ => {
                if c == '[' {
                    depth += 1;
                } else if c == ']' {
                    depth -= 1;
                }
                cur.push(c);
            }
        }
    }
    if !cur.is_empty() {
        segs.push(cur);
    }
    let mut values = vec![obj];
    for seg in &segs {
        values = step(values, seg);
    }
    match values.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Some(Value::String(
            many.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        )),
    }
}

/// The Table for `items` of type `rt`.
pub fn table(rt: &ResourceType, items: &[Value], resource_version: Option<&Value>) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    let custom_columns: Vec<&Value> = rt.printer_columns.iter().collect();
    if custom_columns.is_empty() {
        columns.push(json!({"name": "Age", "type": "date", "format": "", "description": "CreationTimestamp", "priority": 0}));
    }
    for c in &custom_columns {
        columns.push(json!({
            "name": c.get("name").cloned().unwrap_or(json!("")),
            "type": c.get("type").cloned().unwrap_or(json!("string")),
            "format": c.get("format").cloned().unwrap_or(json!("")),
            "description": c.get("description").cloned().unwrap_or(json!("")),
            "priority": c.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut cells = vec![
                obj.pointer("/metadata/name")
                    .cloned()
                    .unwrap_or(Value::Null),
            ];
            if custom_columns.is_empty() {
                cells.push(
                    obj.pointer("/metadata/creationTimestamp")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
            }
            for c in &custom_columns {
                let path = c.get("jsonPath").and_then(Value::as_str).unwrap_or("");
                cells.push(eval(obj, path).unwrap_or(Value::Null));
            }
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
                },
            })
        })
        .collect();
    let mut meta = json!({});
    if let Some(rv) = resource_version {
        meta["resourceVersion"] = rv.clone();
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_subset() {
        let obj = json!({"spec": {"type": "STANDARD"}, "status": {"conditions": [
            {"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(eval(&obj, ".spec.type"), Some(json!("STANDARD")));
        assert_eq!(
            eval(&obj, r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(json!("True"))
        );
        assert_eq!(
            eval(&obj, ".status.conditions[0].type"),
            Some(json!("Synced"))
        );
        assert_eq!(
            eval(&obj, ".status.conditions[*].type"),
            Some(json!("Synced,Ready"))
        );
        assert_eq!(eval(&obj, ".status.missing"), None);
    }
}
