//! Whether two ASL documents mean the same: object keys in any order, numbers by value (`2.0` is `2`, as
//! every JSON reader takes them), everything else exact. Import checks its own typed output with this, and
//! the first difference is what a fallback note and a failing round-trip test point at.

use serde_json::Value;

/// The JSON pointer of the first place where `a` and `b` differ (keys in sorted order), or `None` when they
/// are the same document.
pub fn first_difference(a: &Value, b: &Value) -> Option<String> {
    let mut pointer = String::new();
    if diff(a, b, &mut pointer) {
        Some(if pointer.is_empty() {
            "/".to_owned()
        } else {
            pointer
        })
    } else {
        None
    }
}

/// Whether `a` and `b` are the same document (see the module doc).
pub fn same_document(a: &Value, b: &Value) -> bool {
    first_difference(a, b).is_none()
}

/// Walks both documents; on the first difference leaves its pointer in `at` and returns true.
fn diff(a: &Value, b: &Value, at: &mut String) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match (x.get(key), y.get(key)) {
                    (Some(u), Some(v)) => {
                        if diff(u, v, at) {
                            return true;
                        }
                    }
                    _ => return true,
                }
                at.truncate(len);
            }
            false
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                if diff(u, v, at) {
                    return true;
                }
                at.truncate(len);
            }
            if x.len() != y.len() {
                at.push_str(&format!("/{}", x.len().min(y.len())));
                return true;
            }
            false
        }
        (Value::Number(x), Value::Number(y)) => {
            if x == y {
                return false;
            }
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(i), Some(j), _, _) => i != j,
                (_, _, Some(i), Some(j)) => i != j,
                _ => x.as_f64() != y.as_f64(),
            }
        }
        _ => a != b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_number_spelling_do_not_matter() {
        let a = json!({"A": 1, "B": {"x": 2.0, "y": [1, 2]}});
        let b = json!({"B": {"y": [1, 2], "x": 2}, "A": 1});
        assert!(same_document(&a, &b));
    }

    #[test]
    fn the_first_difference_is_located() {
        let a = json!({"States": {"A/B": {"Next": "C"}, "Z": {}}});
        let b = json!({"States": {"A/B": {"Next": "D"}, "Z": {}}});
        assert_eq!(
            first_difference(&a, &b).as_deref(),
            Some("/States/A~1B/Next")
        );
        assert_eq!(
            first_difference(&json!({"a": [1, 2]}), &json!({"a": [1]})).as_deref(),
            Some("/a/1")
        );
        assert_eq!(
            first_difference(&json!({"a": 1}), &json!({"b": 1})).as_deref(),
            Some("/a")
        );
        assert_eq!(
            first_difference(&json!(1.5), &json!(1)).as_deref(),
            Some("/")
        );
    }
}
