//! JSONPath Choice rules: every comparison operator (`StringEquals` ... `IsTimestamp`, their `...Path` forms),
//! `And` / `Or` / `Not`, evaluated as AWS does (a type mismatch is simply false; a missing `Variable` is a
//! `States.Runtime` error except for `IsPresent`). Operator list:
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>.

use serde_json::Value;

use super::Failure;

/// Reads a path (`$.x`, `$$.x`, `$var`) for the rule; `Ok(None)` when absent.
pub type Lookup<'a> = dyn Fn(&str) -> Result<Option<Value>, Failure> + 'a;

const OPS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

fn invalid(msg: String) -> Failure {
    Failure::new("States.Runtime", msg)
}

/// Evaluates one rule object.
pub fn evaluate(rule: &Value, lookup: &Lookup<'_>) -> Result<bool, Failure> {
    let obj = rule
        .as_object()
        .ok_or_else(|| invalid(format!("a choice rule must be an object, found {rule}")))?;
    if let Some(list) = obj.get("And") {
        for r in list.as_array().into_iter().flatten() {
            if !evaluate(r, lookup)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(list) = obj.get("Or") {
        for r in list.as_array().into_iter().flatten() {
            if evaluate(r, lookup)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(r) = obj.get("Not") {
        return Ok(!evaluate(r, lookup)?);
    }
    let variable = obj
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("a choice rule needs 'Variable' and an operator".into()))?;
    let (op, operand, is_path) = obj
        .iter()
        .find_map(|(k, v)| {
            let base = k.strip_suffix("Path").unwrap_or(k);
            OPS.contains(&base)
                .then(|| (base.to_string(), v.clone(), k.ends_with("Path")))
        })
        .ok_or_else(|| invalid(format!("the choice rule on '{variable}' has no operator")))?;
    let value = lookup(variable)?;
    if op == "IsPresent" {
        return Ok(value.is_some() == operand.as_bool().unwrap_or(true));
    }
    let Some(value) = value else {
        return Err(invalid(format!(
            "Invalid path '{variable}': The choice state's condition path references an invalid value."
        )));
    };
    let operand = if is_path {
        let p = operand.as_str().unwrap_or_default();
        lookup(p)?.ok_or_else(|| {
            invalid(format!(
                "Invalid path '{p}': The choice state's condition path references an invalid value."
            ))
        })?
    } else {
        operand
    };
    Ok(compare(&op, &value, &operand))
}

fn timestamp(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(parse_timestamp)
}

/// Parses an RFC 3339 timestamp as Step Functions accepts it (uppercase `T`, offset or `Z` required).
pub fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    if !s.contains('T') {
        return None;
    }
    s.parse::<jiff::Timestamp>().ok()
}

/// Parses a Wait state's `Timestamp` / `TimestampPath` value strictly, with the rules the validator applies
/// to literal timestamps (see [`sfn_jsonata::timestamp::parse_rfc3339`]). Unlike [`parse_timestamp`], which
/// leans on jiff's broader ISO 8601 reading for Choice rules, this refuses a lowercase `t` or `z`, a space
/// separator, missing seconds, a missing offset, an offset without its colon, and any date or time that does
/// not exist.
pub use sfn_jsonata::timestamp::parse_rfc3339;

fn compare(op: &str, v: &Value, operand: &Value) -> bool {
    use std::cmp::Ordering::*;
    let want_true = operand.as_bool().unwrap_or(false);
    match op {
        "IsNull" => v.is_null() == want_true,
        "IsNumeric" => v.is_number() == want_true,
        "IsString" => v.is_string() == want_true,
        "IsBoolean" => v.is_boolean() == want_true,
        "IsTimestamp" => timestamp(v).is_some() == want_true,
        "BooleanEquals" => v.is_boolean() && v == operand,
        "StringMatches" => match (v.as_str(), operand.as_str()) {
            (Some(s), Some(p)) => wildcard_match(s, p),
            _ => false,
        },
        _ => {
            let ord = if op.starts_with("String") {
                match (v.as_str(), operand.as_str()) {
                    (Some(a), Some(b)) => Some(a.cmp(b)),
                    _ => None,
                }
            } else if op.starts_with("Numeric") {
                match (v.as_f64().filter(|_| v.is_number()), operand.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => None,
                }
            } else {
                match (timestamp(v), timestamp(operand)) {
                    (Some(a), Some(b)) => Some(a.cmp(&b)),
                    _ => None,
                }
            };
            let Some(ord) = ord else { return false };
            if op.ends_with("GreaterThanEquals") {
                ord != Less
            } else if op.ends_with("LessThanEquals") {
                ord != Greater
            } else if op.ends_with("GreaterThan") {
                ord == Greater
            } else if op.ends_with("LessThan") {
                ord == Less
            } else {
                ord == Equal
            }
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub fn wildcard_match(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    toks.push(Tok::Ch(n));
                }
            }
            '*' => toks.push(Tok::Star),
            other => toks.push(Tok::Ch(other)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    // Iterative glob matching with backtracking on the last star.
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < chars.len() {
        if j < toks.len() && toks[j] == Tok::Ch(chars[i]) {
            i += 1;
            j += 1;
        } else if j < toks.len() && toks[j] == Tok::Star {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    while j < toks.len() && toks[j] == Tok::Star {
        j += 1;
    }
    j == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(rule: Value, input: Value) -> Result<bool, Failure> {
        let lookup = move |p: &str| -> Result<Option<Value>, Failure> {
            Ok(super::super::jsonpath::Path::parse(p)
                .unwrap()
                .select(&input))
        };
        evaluate(&rule, &lookup)
    }

    #[test]
    fn comparisons_and_combinators() {
        let input = json!({"n": 5, "s": "abc", "t": "2024-01-01T00:00:00Z", "b": true, "m": 5});
        assert!(
            eval(
                json!({"Variable": "$.n", "NumericGreaterThan": 4}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            !eval(
                json!({"Variable": "$.s", "NumericEquals": 4}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.s", "StringMatches": "a*c"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.t", "TimestampLessThan": "2024-06-01T00:00:00Z"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.zz", "IsPresent": false}),
                input.clone()
            )
            .unwrap()
        );
        assert!(eval(
            json!({"And": [{"Variable": "$.b", "BooleanEquals": true}, {"Not": {"Variable": "$.s", "StringEquals": "x"}}]}),
            input.clone()
        )
        .unwrap());
        let e = eval(json!({"Variable": "$.zz", "StringEquals": "x"}), input).unwrap_err();
        assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("log-2024.txt", "log-*.txt"));
        assert!(wildcard_match("anything", "*"));
        assert!(!wildcard_match("a*b", "a\\*c"));
        assert!(wildcard_match("a*b", "a\\*b"));
        assert!(!wildcard_match("abc", "a*d"));
    }

    #[test]
    fn wait_timestamps_are_strict_rfc3339() {
        for ok in [
            "2024-08-18T17:33:00Z",
            "2024-08-18T17:33:00.5Z",
            "2016-03-05T21:29:29.243167252Z",
            "2024-08-18T17:33:00-07:30",
            "2024-02-29T23:59:59Z",
        ] {
            assert!(parse_rfc3339(ok).is_some(), "{ok}");
        }
        for bad in [
            "2024-08-18t17:33:00Z",
            "2024-08-18T17:33:00z",
            "2024-08-18T17:33Z",
            "2024-08-18T17:33:00.Z",
            "2024-08-18T17:33:00+24:00",
            "2024-08-18T17:33:00+07",
            "2023-02-29T00:00:00Z",
            "2024-08-18T17:33:00Z ",
            "",
        ] {
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
        // The lenient reading that Choice rules keep is unchanged.
        assert!(parse_timestamp("2024-08-18T17:33Z").is_some());
    }
}
