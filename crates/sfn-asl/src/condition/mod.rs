//! The Choice condition expression language: `$.status == "FAILED" && $.attempts > 5` in, the ASL Choice rule
//! object out, and back again.
//!
//! ASL Choice rules are verbose JSON trees with one operator name per comparison type (`StringEquals`,
//! `NumericGreaterThanPath`, ...). Users write them as expressions instead; the type of each comparison comes
//! from the right-hand side (a string, number, boolean or `timestamp("...")` literal) or, when a path is compared
//! with a path, from an explicit conversion such as `number($.a) < $.b`. The printer turns any rule object back
//! into an expression so that `plan` can show Choice rules readably, and `parse(print(rule)) == rule` holds for
//! every rule it accepts. The grammar and every operator are documented for users in `docs/conditions.md`.
//!
//! Layout: [`path`] scans reference paths (shared with the validator through [`is_valid_path`]), `lexer` and
//! `parser` turn text into a [`Rule`], [`rule`] converts between [`Rule`] and ASL JSON, `printer` renders a
//! [`Rule`] as text; `error` holds [`ConditionError`] and `jsonata` recognises the JSONata conditions that
//! pass through untouched. The entry points below only call into those modules, never the other way.

mod error;
mod jsonata;
mod lexer;
mod parser;
pub mod path;
mod printer;
pub mod rule;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

pub use error::ConditionError;
pub use jsonata::is_jsonata;
pub use path::is_valid_path;
pub use rule::{CompareOp, Comparison, MAX_DEPTH, Operand, Rule, TypeTest, ValueKind};

use jsonata::jsonata_condition;

use serde_json::Value;

/// Parses a condition into the ASL Choice rule object it stands for (without `Next`).
///
/// A JSONata condition (`{% ... %}`) is not this language: it is passed through as `{"Condition": "{% ... %}"}`,
/// the form JSONata Choice rules take.
pub fn parse(src: &str) -> Result<Value, ConditionError> {
    if let Some(jsonata) = jsonata_condition(src)? {
        return Ok(serde_json::json!({ "Condition": jsonata }));
    }
    Ok(parse_rule(src)?.to_asl())
}

/// Parses a condition into the typed [`Rule`] (JSONata conditions are rejected: they have no typed form).
pub fn parse_rule(src: &str) -> Result<Rule, ConditionError> {
    parser::parse(src)
}

/// Prints an ASL Choice rule object (with or without `Next`, `Comment`, `Assign`, `Output`, which are not part
/// of the condition and are ignored) as an expression with minimal parentheses. A JSONata rule prints as its
/// `Condition` string.
pub fn print(rule: &Value) -> Result<String, ConditionError> {
    if let Some(condition) = rule.get("Condition") {
        return rule::jsonata_condition(rule, condition).map(str::to_string);
    }
    Ok(Rule::from_asl(rule)?.to_string())
}

/// Checks an ASL Choice rule object (JSONPath form, or JSONata with `Condition`) the way [`print`] reads it:
/// known operators with values of the right type, reference paths, non-empty `And`/`Or`, no `Next` inside
/// nested rules. Errors carry the JSON pointer of the field inside the rule.
pub fn check_rule(rule: &Value) -> Result<(), ConditionError> {
    print(rule).map(drop)
}
