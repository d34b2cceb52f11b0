//! Semantic comparison: canonical JSON, IAM policy documents as sets, tag and alarm equality. Every
//! "does this need an update" question goes through here, so that reformatting a document, reordering
//! statements or tags, or spelling a one-element list as a string never causes a write. Depends on no
//! other module of the crate, so the model and the planners can both use it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use sfn_alarms::AlarmSpec;

/// Tags to set and keys to remove so that `live` equals `want`. Keys in the `aws:` namespace are AWS's own
/// and cannot be changed.
pub fn diff_tags(
    live: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = want
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !want.contains_key(*k) && !k.starts_with("aws:"))
        .cloned()
        .collect();
    (set, remove)
}

/// Recursively sorts object keys, so two documents that differ only in key order or whitespace compare
/// equal.
pub fn canonical_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical_json(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical_json).collect()),
        other => other.clone(),
    }
}

/// The canonical form of an IAM policy document: keys sorted; `Statement` a set (sorted, deduplicated,
/// a single object equal to a one-element list); the values of `Action`, `NotAction`, `Resource`,
/// `NotResource`, each `Principal` kind and each condition operand sets too (a single string equals a
/// one-element list, as IAM treats them).
pub fn canonical_policy(doc: &Value) -> Value {
    let mut doc = canonical_json(doc);
    if let Some(obj) = doc.as_object_mut()
        && let Some(statements) = obj.get_mut("Statement")
    {
        let list = match statements.take() {
            Value::Array(items) => items,
            single => vec![single],
        };
        let mut canon: Vec<Value> = list.into_iter().map(canonical_statement).collect();
        canon.sort_by_key(|s| s.to_string());
        canon.dedup();
        *statements = Value::Array(canon);
    }
    doc
}

fn canonical_statement(mut statement: Value) -> Value {
    if let Some(obj) = statement.as_object_mut() {
        for key in ["Action", "NotAction", "Resource", "NotResource"] {
            if let Some(v) = obj.get_mut(key) {
                *v = string_set(v.take());
            }
        }
        for key in ["Principal", "NotPrincipal"] {
            if let Some(Value::Object(kinds)) = obj.get_mut(key) {
                for v in kinds.values_mut() {
                    *v = string_set(v.take());
                }
            }
        }
        if let Some(Value::Object(operators)) = obj.get_mut("Condition") {
            for keys in operators.values_mut() {
                if let Value::Object(keys) = keys {
                    for v in keys.values_mut() {
                        *v = string_set(v.take());
                    }
                }
            }
        }
    }
    statement
}

/// A string or a list of scalars as a sorted, deduplicated list of strings (booleans and numbers in IAM
/// conditions are compared as their text, as IAM does).
fn string_set(v: Value) -> Value {
    let items = match v {
        Value::Array(items) => items,
        single => vec![single],
    };
    let set: BTreeSet<String> = items
        .into_iter()
        .map(|i| match i {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    Value::Array(set.into_iter().map(Value::String).collect())
}

/// Whether two IAM policy documents grant the same.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    canonical_policy(a) == canonical_policy(b)
}

/// Whether a live definition string means the same ASL as the desired document.
pub fn same_definition(live: &str, desired: &Value) -> bool {
    match serde_json::from_str::<Value>(live) {
        Ok(live) => canonical_json(&live) == canonical_json(desired),
        Err(_) => false,
    }
}

/// Whether a live alarm already matches the desired one: dimensions and actions compared as sets, an
/// unset `DatapointsToAlarm` equal to `EvaluationPeriods`, as CloudWatch evaluates it.
pub fn same_alarm(live: &AlarmSpec, want: &AlarmSpec) -> bool {
    fn set<T: Ord + Clone>(v: &[T]) -> BTreeSet<T> {
        v.iter().cloned().collect()
    }
    let dta = |a: &AlarmSpec| a.datapoints_to_alarm.unwrap_or(a.evaluation_periods);
    live.name == want.name
        && live.description.as_deref().unwrap_or("") == want.description.as_deref().unwrap_or("")
        && live.namespace == want.namespace
        && live.metric_name == want.metric_name
        && set(&live.dimensions) == set(&want.dimensions)
        && live.statistic == want.statistic
        && live.period == want.period
        && live.evaluation_periods == want.evaluation_periods
        && dta(live) == dta(want)
        && live.threshold == want.threshold
        && live.comparison_operator == want.comparison_operator
        && live.treat_missing_data == want.treat_missing_data
        && set(&live.alarm_actions) == set(&want.alarm_actions)
        && set(&live.ok_actions) == set(&want.ok_actions)
        && set(&live.insufficient_data_actions) == set(&want.insufficient_data_actions)
}
