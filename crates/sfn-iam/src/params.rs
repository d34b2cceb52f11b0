//! Reading a Task state's parameters the way IAM derivation needs them: is a value fixed in the definition
//! (so we can name the exact ARN) or chosen at run time (so the statement must widen)?
//!
//! JSONPath states carry `Parameters`, where a key ending in `.$` takes its value from a path at run time.
//! JSONata states carry `Arguments`, where a string `{% ... %}` is an expression evaluated at run time.

use serde_json::Value;

/// What the definition says about one parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Param<'a> {
    /// Fixed in the definition.
    Static(&'a Value),
    /// Computed at run time (a `.$` key, a JSONata expression, or inside something computed).
    Dynamic,
    /// Not given.
    Absent,
}

impl<'a> Param<'a> {
    /// The static string value, if it is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Param::Static(v) => v.as_str(),
            _ => None,
        }
    }

    pub fn is_dynamic(&self) -> bool {
        matches!(self, Param::Dynamic)
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Param::Absent)
    }
}

/// Whether a string is a JSONata expression (`{% ... %}`).
pub(crate) fn is_jsonata(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("{%") && t.ends_with("%}")
}

/// The parameters of one Task state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    root: Param<'a>,
}

impl<'a> Params<'a> {
    /// Parameters of `state` (`Parameters` or `Arguments`, whichever is present).
    pub fn of(state: &'a Value) -> Self {
        let root = match state.get("Arguments").or_else(|| state.get("Parameters")) {
            None | Some(Value::Null) => Param::Absent,
            Some(v) => classify(v),
        };
        Params { root }
    }

    /// Parameters taken from an arbitrary object (for `ItemReader`/`ResultWriter`).
    pub fn from_value(v: Option<&'a Value>) -> Self {
        Params {
            root: v.map(classify).unwrap_or(Param::Absent),
        }
    }

    /// Whether the whole parameter block is computed at run time.
    pub fn all_dynamic(&self) -> bool {
        self.root.is_dynamic()
    }

    /// Looks up a nested parameter, such as `["Authentication", "ConnectionArn"]`.
    pub fn get(&self, path: &[&str]) -> Param<'a> {
        lookup(self.root, path)
    }

    /// The expression of a top-level parameter chosen at run time (a `Key.$` path or intrinsic, or a JSONata
    /// `{% %}` string), to look for the literal parts it always produces.
    pub fn expression(&self, key: &str) -> Option<&'a str> {
        let Param::Static(Value::Object(m)) = self.root else {
            return None;
        };
        m.get(&format!("{key}.$"))
            .and_then(Value::as_str)
            .or_else(|| m.get(key).and_then(Value::as_str).filter(|s| is_jsonata(s)))
    }

    /// Shorthand for a top-level static string.
    pub fn str(&self, key: &str) -> Param<'a> {
        self.get(&[key])
    }
}

fn classify(v: &Value) -> Param<'_> {
    match v {
        Value::String(s) if is_jsonata(s) => Param::Dynamic,
        _ => Param::Static(v),
    }
}

/// Looks `path` up below `at`, also relative to any value (array elements are reached with
/// [`elements`]).
pub(crate) fn lookup<'a>(at: Param<'a>, path: &[&str]) -> Param<'a> {
    let mut cur = at;
    for key in path {
        cur = match cur {
            Param::Static(Value::Object(m)) => {
                if m.contains_key(&format!("{key}.$")) {
                    Param::Dynamic
                } else {
                    match m.get(*key) {
                        None => Param::Absent,
                        Some(v) => classify(v),
                    }
                }
            }
            Param::Static(_) => Param::Absent,
            other => other,
        };
    }
    cur
}

/// The elements of an array parameter: `None` when the array itself is computed at run time.
pub(crate) fn elements<'a>(p: Param<'a>) -> Option<Vec<Param<'a>>> {
    match p {
        Param::Static(Value::Array(items)) => Some(items.iter().map(classify).collect()),
        Param::Absent => Some(Vec::new()),
        Param::Static(_) | Param::Dynamic => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonpath_and_jsonata_values_are_told_apart() {
        let s = json!({"Parameters": {"FunctionName": "f", "Payload.$": "$", "Nested": {"A.$": "$.a", "B": "b"}}});
        let p = Params::of(&s);
        assert_eq!(p.str("FunctionName").as_str(), Some("f"));
        assert!(p.str("Payload").is_dynamic());
        assert!(p.get(&["Nested", "A"]).is_dynamic());
        assert_eq!(p.get(&["Nested", "B"]).as_str(), Some("b"));
        assert!(p.str("Missing").is_absent());

        let s = json!({"Arguments": {"FunctionName": "{% $states.input.fn %}", "Other": "x"}});
        let p = Params::of(&s);
        assert!(p.str("FunctionName").is_dynamic());
        assert_eq!(p.str("Other").as_str(), Some("x"));

        let s = json!({"Arguments": "{% $states.input %}"});
        assert!(Params::of(&s).str("FunctionName").is_dynamic());
    }
}
