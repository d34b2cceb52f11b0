//! The typed form of an ASL Choice rule and its conversion to and from the rule's JSON object.
//!
//! Every ASL comparison operator name is the concatenation of a value kind, a comparison and an optional
//! `Path` suffix (`Numeric` + `GreaterThan` + `Path`), so the model stores those three parts instead of one
//! enum of 37 names; the JSON names are rebuilt and decoded in one place here. Operators and value types follow
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>.

use serde_json::{Map, Value};

use super::error::ConditionError;
use super::jsonata::is_jsonata;
use super::path::is_valid_path;

/// Nesting limit for parentheses, `!`, `all(...)`/`any(...)` and nested rule objects. Keeps the recursive
/// parser and printer far from the stack limit whatever the input; real conditions nest a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// One ASL Choice rule (without `Next`).
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `And`: all of the rules (ASL requires at least one).
    And(Vec<Rule>),
    /// `Or`: any of the rules (at least one).
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare(Comparison),
    /// `StringMatches`: `*` is a wildcard, `\*` a literal star, `\\` a backslash.
    Matches {
        variable: String,
        pattern: String,
    },
    /// `IsNull`, `IsPresent`, ... with their boolean operand (`false` means "is not").
    Test {
        variable: String,
        test: TypeTest,
        expected: bool,
    },
}

/// A typed comparison of the value at `variable` with a literal or with the value at another path.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub variable: String,
    pub kind: ValueKind,
    pub op: CompareOp,
    pub operand: Operand,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A string (also for timestamps), number or boolean, matching the comparison's kind.
    Literal(Value),
    /// A reference path: the operator gets the `Path` suffix.
    Path(String),
}

/// What a comparison compares: the prefix of the ASL operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// The comparison part of the ASL operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

/// The `Is...` type and presence tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

impl ValueKind {
    pub const ALL: [ValueKind; 4] = [
        ValueKind::String,
        ValueKind::Numeric,
        ValueKind::Boolean,
        ValueKind::Timestamp,
    ];

    pub fn asl_prefix(self) -> &'static str {
        match self {
            ValueKind::String => "String",
            ValueKind::Numeric => "Numeric",
            ValueKind::Boolean => "Boolean",
            ValueKind::Timestamp => "Timestamp",
        }
    }

    /// The conversion that gives a comparison this kind in the expression language: `number($.a)`.
    pub fn keyword(self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Numeric => "number",
            ValueKind::Boolean => "boolean",
            ValueKind::Timestamp => "timestamp",
        }
    }

    /// ASL has only `BooleanEquals`: booleans have no order.
    pub fn supports(self, op: CompareOp) -> bool {
        self != ValueKind::Boolean || op == CompareOp::Equals
    }
}

impl CompareOp {
    pub const ALL: [CompareOp; 5] = [
        CompareOp::Equals,
        CompareOp::LessThan,
        CompareOp::GreaterThan,
        CompareOp::LessThanEquals,
        CompareOp::GreaterThanEquals,
    ];

    pub fn asl_suffix(self) -> &'static str {
        match self {
            CompareOp::Equals => "Equals",
            CompareOp::LessThan => "LessThan",
            CompareOp::GreaterThan => "GreaterThan",
            CompareOp::LessThanEquals => "LessThanEquals",
            CompareOp::GreaterThanEquals => "GreaterThanEquals",
        }
    }
}

impl TypeTest {
    pub const ALL: [TypeTest; 6] = [
        TypeTest::Null,
        TypeTest::Present,
        TypeTest::Numeric,
        TypeTest::String,
        TypeTest::Boolean,
        TypeTest::Timestamp,
    ];

    /// The word after `is` in the expression language.
    pub fn keyword(self) -> &'static str {
        match self {
            TypeTest::Null => "null",
            TypeTest::Present => "present",
            TypeTest::Numeric => "number",
            TypeTest::String => "string",
            TypeTest::Boolean => "boolean",
            TypeTest::Timestamp => "timestamp",
        }
    }

    pub fn asl_name(self) -> &'static str {
        match self {
            TypeTest::Null => "IsNull",
            TypeTest::Present => "IsPresent",
            TypeTest::Numeric => "IsNumeric",
            TypeTest::String => "IsString",
            TypeTest::Boolean => "IsBoolean",
            TypeTest::Timestamp => "IsTimestamp",
        }
    }
}

impl Comparison {
    /// The ASL operator name, e.g. `NumericGreaterThanPath`.
    pub fn operator_name(&self) -> String {
        let suffix = match self.operand {
            Operand::Literal(_) => "",
            Operand::Path(_) => "Path",
        };
        format!(
            "{}{}{}",
            self.kind.asl_prefix(),
            self.op.asl_suffix(),
            suffix
        )
    }
}

/// Keys that may sit beside the condition in a top-level Choice rule; they are not part of the condition.
const TOP_LEVEL_EXTRAS: [&str; 4] = ["Next", "Comment", "Assign", "Output"];

impl Rule {
    /// The ASL rule object (no `Next`).
    pub fn to_asl(&self) -> Value {
        let mut obj = Map::new();
        match self {
            Rule::And(rules) => {
                obj.insert(
                    "And".into(),
                    Value::Array(rules.iter().map(Rule::to_asl).collect()),
                );
            }
            Rule::Or(rules) => {
                obj.insert(
                    "Or".into(),
                    Value::Array(rules.iter().map(Rule::to_asl).collect()),
                );
            }
            Rule::Not(rule) => {
                obj.insert("Not".into(), rule.to_asl());
            }
            Rule::Compare(c) => {
                obj.insert("Variable".into(), Value::String(c.variable.clone()));
                let value = match &c.operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => Value::String(p.clone()),
                };
                obj.insert(c.operator_name(), value);
            }
            Rule::Matches { variable, pattern } => {
                obj.insert("Variable".into(), Value::String(variable.clone()));
                obj.insert("StringMatches".into(), Value::String(pattern.clone()));
            }
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                obj.insert("Variable".into(), Value::String(variable.clone()));
                obj.insert(test.asl_name().into(), Value::Bool(*expected));
            }
        }
        Value::Object(obj)
    }

    /// Reads an ASL rule object. A top-level rule may carry `Next`, `Comment`, `Assign` and `Output`, which are
    /// ignored; nested rules hold only the condition and an optional (ignored) `Comment`. Errors name the JSON pointer of the bad field.
    pub fn from_asl(rule: &Value) -> Result<Rule, ConditionError> {
        decode(rule, "", 0)
    }
}

/// The `Condition` string of a JSONata rule, checked to be the only condition in it.
pub(crate) fn jsonata_condition<'a>(
    rule: &'a Value,
    condition: &'a Value,
) -> Result<&'a str, ConditionError> {
    let Some(obj) = rule.as_object() else {
        return Err(ConditionError::in_rule(
            "",
            "a Choice rule must be an object",
        ));
    };
    if let Some(other) = obj
        .keys()
        .find(|k| *k != "Condition" && !TOP_LEVEL_EXTRAS.contains(&k.as_str()))
    {
        return Err(ConditionError::in_rule(
            &format!("/{}", escape_pointer(other)),
            "a JSONata rule holds only Condition (with Next, Comment, Assign, Output)",
        ));
    }
    match condition.as_str() {
        Some(s) if is_jsonata(s) => Ok(s),
        _ => Err(ConditionError::in_rule(
            "/Condition",
            "Condition must be a JSONata expression string \"{% ... %}\"",
        )),
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn decode(value: &Value, pointer: &str, depth: usize) -> Result<Rule, ConditionError> {
    if depth > MAX_DEPTH {
        return Err(ConditionError::in_rule(
            pointer,
            format!("rules nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let Some(obj) = value.as_object() else {
        return Err(ConditionError::in_rule(
            pointer,
            "a Choice rule must be an object",
        ));
    };
    let top_level = depth == 0;
    let mut variable = None;
    let mut operators = Vec::new();
    for (key, v) in obj {
        if key == "Variable" {
            variable = Some(v);
        } else if (top_level && TOP_LEVEL_EXTRAS.contains(&key.as_str())) || key == "Comment" {
            // AWS allows a Comment on nested rules too; like the top-level extras it is no part of the
            // condition.
            continue;
        } else if !top_level && TOP_LEVEL_EXTRAS.contains(&key.as_str()) {
            return Err(ConditionError::in_rule(
                &format!("{pointer}/{}", escape_pointer(key)),
                format!("{key} is only allowed in a top-level Choice rule, not in a nested one"),
            ));
        } else {
            operators.push((key.as_str(), v));
        }
    }
    let (key, operand) = match operators.as_slice() {
        [one] => *one,
        [] => {
            return Err(ConditionError::in_rule(
                pointer,
                "no condition: expected And, Or, Not or Variable with a comparison operator",
            ));
        }
        [_, (second, _), ..] => {
            return Err(ConditionError::in_rule(
                &format!("{pointer}/{}", escape_pointer(second)),
                "a Choice rule holds exactly one comparison operator or And/Or/Not",
            ));
        }
    };
    let field = format!("{pointer}/{}", escape_pointer(key));
    match key {
        "And" | "Or" | "Not" => {
            if variable.is_some() {
                return Err(ConditionError::in_rule(
                    &format!("{pointer}/Variable"),
                    format!("Variable is not allowed beside {key}"),
                ));
            }
            if key == "Not" {
                return Ok(Rule::Not(Box::new(decode(operand, &field, depth + 1)?)));
            }
            let Some(items) = operand.as_array().filter(|a| !a.is_empty()) else {
                return Err(ConditionError::in_rule(
                    &field,
                    format!("{key} must be a non-empty array of rules"),
                ));
            };
            let rules = items
                .iter()
                .enumerate()
                .map(|(i, item)| decode(item, &format!("{field}/{i}"), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if key == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        _ => {
            let Some(variable) = variable else {
                return Err(ConditionError::in_rule(
                    &format!("{pointer}/Variable"),
                    format!("{key} needs a Variable"),
                ));
            };
            let variable = match variable.as_str() {
                Some(v) if is_valid_path(v) => v.to_string(),
                _ => {
                    return Err(ConditionError::in_rule(
                        &format!("{pointer}/Variable"),
                        "Variable must be a reference path such as $.a.b, $$.Execution.Input or $var",
                    ));
                }
            };
            decode_comparison(variable, key, operand, &field)
        }
    }
}

fn decode_comparison(
    variable: String,
    key: &str,
    operand: &Value,
    field: &str,
) -> Result<Rule, ConditionError> {
    if key == "StringMatches" {
        let Some(pattern) = operand.as_str() else {
            return Err(ConditionError::in_rule(
                field,
                "StringMatches takes a string pattern",
            ));
        };
        return Ok(Rule::Matches {
            variable,
            pattern: pattern.to_string(),
        });
    }
    if let Some(test) = TypeTest::ALL.into_iter().find(|t| t.asl_name() == key) {
        let Some(expected) = operand.as_bool() else {
            return Err(ConditionError::in_rule(
                field,
                format!("{key} takes true or false"),
            ));
        };
        return Ok(Rule::Test {
            variable,
            test,
            expected,
        });
    }
    let Some((kind, op, is_path)) = split_operator(key) else {
        return Err(ConditionError::in_rule(
            field,
            format!("unknown comparison operator {key:?}"),
        ));
    };
    let name = key;
    let operand = if is_path {
        match operand.as_str() {
            Some(p) if is_valid_path(p) => Operand::Path(p.to_string()),
            _ => {
                return Err(ConditionError::in_rule(
                    field,
                    format!("{name} takes a reference path such as $.a.b"),
                ));
            }
        }
    } else {
        let ok = match kind {
            ValueKind::String => operand.is_string(),
            ValueKind::Numeric => operand.is_number(),
            ValueKind::Boolean => operand.is_boolean(),
            ValueKind::Timestamp => operand.as_str().is_some_and(is_timestamp),
        };
        if !ok {
            let expected = match kind {
                ValueKind::String => "a string",
                ValueKind::Numeric => "a number",
                ValueKind::Boolean => "true or false",
                ValueKind::Timestamp => {
                    "an RFC 3339 timestamp string such as \"2016-03-14T01:59:00Z\""
                }
            };
            return Err(ConditionError::in_rule(
                field,
                format!("{name} takes {expected}"),
            ));
        }
        Operand::Literal(operand.clone())
    };
    Ok(Rule::Compare(Comparison {
        variable,
        kind,
        op,
        operand,
    }))
}

/// Splits `NumericGreaterThanPath` into its parts; `None` for names that are not comparison operators
/// (including orderings of booleans, which ASL does not have).
fn split_operator(name: &str) -> Option<(ValueKind, CompareOp, bool)> {
    let (name, is_path) = match name.strip_suffix("Path") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let kind = ValueKind::ALL
        .into_iter()
        .find(|k| name.starts_with(k.asl_prefix()))?;
    let rest = &name[kind.asl_prefix().len()..];
    let op = CompareOp::ALL
        .into_iter()
        .find(|o| o.asl_suffix() == rest)?;
    kind.supports(op).then_some((kind, op, is_path))
}

/// The timestamp format ASL comparisons accept: RFC 3339 with an uppercase `T` between date and time and `Z` or
/// a numeric offset (<https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>), and a real
/// calendar date and time.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let structure = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !structure {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    let zone_ok = match &b[i..] {
        [b'Z'] => true,
        [sign, rest @ ..] if (*sign == b'+' || *sign == b'-') && rest.len() == 5 => {
            rest[2] == b':'
                && rest[..2].iter().all(u8::is_ascii_digit)
                && rest[3..].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    zone_ok && s.parse::<jiff::Timestamp>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123Z",
            "2016-03-14T01:59:00+01:00",
            "2016-03-14T01:59:00.5-08:30",
        ] {
            assert!(is_timestamp(ok), "{ok}");
        }
        for bad in [
            "2016-03-14",
            "2016-03-14t01:59:00Z",
            "2016-03-14T01:59:00z",
            "2016-03-14 01:59:00Z",
            "2016-03-14T01:59:00",
            "2016-02-30T01:59:00Z",
            "2016-03-14T25:59:00Z",
            "2016-03-14T01:59:00.Z",
            "2016-03-14T01:59:00+0100",
            "2016-03-14T01:59:00Z[UTC]",
            "",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }

    #[test]
    fn operator_names_split_and_join() {
        for kind in ValueKind::ALL {
            for op in CompareOp::ALL {
                for path in [false, true] {
                    let c = Comparison {
                        variable: "$.a".into(),
                        kind,
                        op,
                        operand: if path {
                            Operand::Path("$.b".into())
                        } else {
                            Operand::Literal(json!(1))
                        },
                    };
                    let name = c.operator_name();
                    let split = split_operator(&name);
                    if kind.supports(op) {
                        assert_eq!(split, Some((kind, op, path)), "{name}");
                    } else {
                        assert_eq!(split, None, "{name}");
                    }
                }
            }
        }
        assert_eq!(split_operator("StringEqual"), None);
        assert_eq!(split_operator("Path"), None);
        assert_eq!(split_operator("BooleanLessThan"), None);
    }

    #[test]
    fn decode_errors_name_the_field() {
        let cases = [
            (json!("x"), "a Choice rule must be an object"),
            (
                json!({"Variable": "$.a", "StringEqual": "x"}),
                "/StringEqual: unknown comparison operator \"StringEqual\"",
            ),
            (
                json!({"And": [{"Variable": "$.a", "NumericEquals": "5"}]}),
                "/And/0/NumericEquals: NumericEquals takes a number",
            ),
            (
                json!({"And": []}),
                "/And: And must be a non-empty array of rules",
            ),
            (
                json!({"Not": {"Variable": "$.a", "IsNull": true, "Next": "X"}}),
                "/Not/Next: Next is only allowed in a top-level Choice rule, not in a nested one",
            ),
            (
                json!({"Variable": "a", "IsNull": true}),
                "/Variable: Variable must be a reference path such as $.a.b, $$.Execution.Input or $var",
            ),
            (
                json!({"Variable": "$.a", "IsNull": true, "IsString": true}),
                "/IsString: a Choice rule holds exactly one comparison operator or And/Or/Not",
            ),
            (
                json!({"Next": "X"}),
                "no condition: expected And, Or, Not or Variable with a comparison operator",
            ),
            (
                json!({"StringEquals": "x"}),
                "/Variable: StringEquals needs a Variable",
            ),
            (
                json!({"Variable": "$.a", "Not": {"Variable": "$.a", "IsNull": true}}),
                "/Variable: Variable is not allowed beside Not",
            ),
            (
                json!({"Variable": "$.a", "TimestampEquals": "2016-03-14"}),
                "/TimestampEquals: TimestampEquals takes an RFC 3339 timestamp string such as \"2016-03-14T01:59:00Z\"",
            ),
            (
                json!({"Variable": "$.a", "StringEqualsPath": "$.b[*]"}),
                "/StringEqualsPath: StringEqualsPath takes a reference path such as $.a.b",
            ),
            (
                json!({"Variable": "$.a", "IsPresent": "yes"}),
                "/IsPresent: IsPresent takes true or false",
            ),
            (
                json!({"Variable": "$.a", "StringMatches": 1}),
                "/StringMatches: StringMatches takes a string pattern",
            ),
        ];
        for (rule, expected) in cases {
            let err = Rule::from_asl(&rule).unwrap_err();
            assert_eq!(err.column, 0);
            assert_eq!(err.to_string(), expected, "{rule}");
            assert!(expected.starts_with(&err.pointer), "{rule}");
        }
    }

    #[test]
    fn deep_rules_are_refused_not_overflowed() {
        let mut rule = json!({"Variable": "$.a", "IsNull": true});
        for _ in 0..(MAX_DEPTH + 5) {
            rule = json!({ "Not": rule });
        }
        let err = Rule::from_asl(&rule).unwrap_err();
        assert!(err.message.contains("nested more than"), "{err}");
    }
}
