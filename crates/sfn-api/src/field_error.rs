//! A rule or parse violation at a field path, and the shortening of serde's messages that goes into it.
//! Shared by the rule checks ([`crate::rules`]), nested state parsing ([`crate::definition`]) and the
//! manifest loader, so none of them depends on another for it.

/// A rule violation: the field path (as the API server would print it, e.g.
/// `spec.definition.states[2]`) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// serde's unknown-field message lists every expected field (fifty for a State); keep the first part,
/// which names the field, unless the list is short enough to help.
pub(crate) fn shorten_serde_message(message: &str) -> String {
    match message.split_once(", expected one of") {
        Some((head, _)) if message.len() > 160 => head.to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_shortened_only_when_long() {
        let long = format!("unknown field `x`, expected one of {}", "`a`, ".repeat(40));
        assert_eq!(shorten_serde_message(&long), "unknown field `x`");
        let short = "unknown field `x`, expected one of `a`, `b`";
        assert_eq!(shorten_serde_message(short), short);
    }
}
