//! JSONata conditions (`{% ... %}`): not this language, so they are recognised and passed through as the
//! `Condition` field of a JSONata Choice rule. Shared by the entry points and the rule converter.

use super::error::ConditionError;

/// True when `src` is a JSONata expression (`{% ... %}`) rather than a condition in this language.
pub fn is_jsonata(src: &str) -> bool {
    let s = src.trim();
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// The trimmed JSONata expression when `src` is one, an error when it opens `{%` but is malformed.
pub(super) fn jsonata_condition(src: &str) -> Result<Option<&str>, ConditionError> {
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
