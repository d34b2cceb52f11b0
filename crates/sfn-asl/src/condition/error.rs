//! The error every part of the condition language reports, from the lexer to the rule converter. Its own
//! module so those parts do not import the entry points that call them.

/// A condition that cannot be parsed, or a rule object that cannot be printed.
///
/// For expressions, `column` is the 1-based character column where the problem was found and `pointer` is
/// empty. Errors about rule objects (from [`print`](super::print) and
/// [`Rule::from_asl`](super::Rule::from_asl)) have no source text: `column` is 0
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
