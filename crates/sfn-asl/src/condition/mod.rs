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
//! [`Rule`] as text.

mod lexer;
mod parser;
pub mod path;
mod printer;
pub mod rule;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

pub use path::is_valid_path;
pub use rule::{CompareOp, Comparison, Operand, Rule, TypeTest, ValueKind};

use serde_json::Value;

/// Nesting limit for parentheses, `!`, `all(...)`/`any(...)` and nested rule objects. Keeps the recursive
/// parser and printer far from the stack limit whatever the input; real conditions nest a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// A condition that cannot be parsed, or a rule object that cannot be printed.
///
/// For expressions, `column` is the 1-based character column where the problem was found and `pointer` is
/// empty. Errors about rule objects (from [`print`] and [`Rule::from_asl`]) have no source text: `column` is 0
/// and `pointer` is the JSON pointer of the offending field inside the rule (empty for the rule itself), so a
/// validator can append it to the pointer of the rule in the definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(*.column, .pointer, .message))]
pub struct ConditionError {
    pub column: usize,
    pub pointer: String,
    pub message: String,
}

fn render(column: usize, pointer: &str, message: &str) -> String {
    if column > 0 {
        format!("column {column}: {message}")
    } else if pointer.is_empty() {
        message.to_string()
    } else {
        format!("{pointer}: {message}")
    }
}

impl ConditionError {
    /// An error at a byte offset of `src`; the column counts characters, not bytes.
    pub(crate) fn at(src: &str, byte_offset: usize, message: impl Into<String>) -> Self {
        let offset = byte_offset.min(src.len());
        let column = src
            .get(..offset)
            .map_or(offset, |prefix| prefix.chars().count())
            + 1;
        Self {
            column,
            pointer: String::new(),
            message: message.into(),
        }
    }

    /// An error about a rule object, located by a JSON pointer.
    pub(crate) fn in_rule(pointer: &str, message: impl Into<String>) -> Self {
        Self {
            column: 0,
            pointer: pointer.to_string(),
            message: message.into(),
        }
    }
}

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

/// True when `src` is a JSONata expression (`{% ... %}`) rather than a condition in this language.
pub fn is_jsonata(src: &str) -> bool {
    let s = src.trim();
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// The trimmed JSONata expression when `src` is one, an error when it opens `{%` but is malformed.
fn jsonata_condition(src: &str) -> Result<Option<&str>, ConditionError> {
    let trimmed = src.trim();
    if !trimmed.starts_with("{%") {
        return Ok(None);
    }
    let start = src.len() - src.trim_start().len();
    if !is_jsonata(trimmed) {
        return Err(ConditionError::at(
            src,
            start,
            "a JSONata condition must end with '%}'",
        ));
    }
    if trimmed[2..trimmed.len() - 2].trim().is_empty() {
        return Err(ConditionError::at(
            src,
            start,
            "the JSONata condition between '{%' and '%}' is empty",
        ));
    }
    Ok(Some(trimmed))
}
