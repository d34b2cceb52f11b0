//! One problem found in an ASL document, located by a JSON pointer into the ASL and, when it applies, by the
//! state and field it concerns. Parser, validator and compiler all report through this type so that every
//! front end (CLI, status conditions) prints errors the same way.

use std::fmt;

/// A located problem in an ASL document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// JSON pointer into the ASL document, e.g. `/States/Submit Job/ResultPath`.
    pub pointer: String,
    /// The state the problem concerns (innermost state for nested scopes).
    pub state: Option<String>,
    /// The ASL field the problem concerns, e.g. `ResultPath`.
    pub field: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `pointer`, optionally naming a state and a field.
    pub fn new(
        pointer: impl Into<String>,
        state: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            pointer: pointer.into(),
            state: state.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        match (&self.state, &self.field) {
            (Some(s), Some(field)) => write!(f, "state {s:?}, field {field} ({pointer}): ")?,
            (Some(s), None) => write!(f, "state {s:?} ({pointer}): ")?,
            (None, Some(field)) => write!(f, "field {field} ({pointer}): ")?,
            (None, None) => write!(f, "({pointer}): ")?,
        }
        f.write_str(&self.message)
    }
}

/// Appends one JSON pointer reference token to `base`, escaping `~` and `/` as RFC 6901 requires (state
/// names may contain slashes).
pub fn child(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// Like [`child`] for an array index.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}/{i}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_state_field_and_pointer() {
        let d = Diagnostic::new(
            "/States/Submit Job/ResultPath",
            Some("Submit Job"),
            Some("ResultPath"),
            "must be a reference path",
        );
        assert_eq!(
            d.to_string(),
            "state \"Submit Job\", field ResultPath (/States/Submit Job/ResultPath): must be a reference path"
        );
        let d = Diagnostic::new("", None, None, "too large");
        assert_eq!(d.to_string(), "(/): too large");
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(child("/States", "a/b~c"), "/States/a~1b~0c");
        assert_eq!(index("/Retry", 2), "/Retry/2");
    }
}
