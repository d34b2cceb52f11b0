//! One problem found in an ASL document, located by a JSON pointer into the ASL and, when it applies, by the
//! state and field it concerns. Parser, validator and compiler all report through this type so that every
//! front end (CLI, status conditions) prints errors the same way.
//!
//! Each diagnostic has a [`Severity`] (an error blocks; a warning is reported and does not) and a stable
//! [`Code`]. Where AWS's `ValidateStateMachineDefinition` has a code for the same problem we use AWS's, so a
//! user can match our findings to AWS's; the few problems AWS has no code for get codes of their own.

use std::fmt;

/// Whether a diagnostic blocks the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// AWS would refuse the definition (CreateStateMachine fails): nothing is applied.
    Error,
    /// AWS accepts the definition, but it probably does not do what was meant.
    Warning,
}

impl Severity {
    /// `ERROR` or `WARNING`, as AWS spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        }
    }
}

/// The stable code of a diagnostic. The first group are AWS's own codes (the documented list of
/// `ValidateStateMachineDefinitionDiagnostic`); the rest name problems AWS reports without a code of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// AWS: JSON syntax problem.
    InvalidJsonDescription,
    /// AWS: empty definition.
    MissingDescription,
    /// AWS: schema validation reported errors (AWS's code for most structural problems).
    SchemaValidationFailed,
    /// AWS: the value of a Task state's `Resource` is invalid.
    InvalidResource,
    /// AWS: the workflow has no terminal state.
    MissingEndState,
    /// AWS: the same state name appears more than once.
    DuplicateStateName,
    /// AWS: a state name does not follow the naming rules.
    InvalidStateName,
    /// AWS: `Next`, `Default` or a Catch's `Next` names no state of the scope.
    MissingTransitionTarget,
    /// AWS: states are nested too deeply.
    TooDeeplyNested,
    /// AWS warning: a field looks like a path or intrinsic function but its name lacks `.$`.
    NoDollar,
    /// AWS warning: a path-looking value in a field whose name does not end in `Path`.
    NoPath,
    /// AWS warning: a path in a Pass state's static `Result`.
    PassResultIsStatic,
    /// The serialised definition is over the Step Functions size quota.
    DefinitionTooLarge,
    /// A custom error name uses the reserved `States.` prefix (AWS accepts it; it cannot match a runtime error).
    ReservedErrorName,
    /// A `.waitForTaskToken` task passes no `$$.Task.Token` (or `$states.context.Task.Token`), so nothing can
    /// call back and the task waits until it times out.
    MissingTaskToken,
}

impl Code {
    /// The code as printed and matched: AWS's spelling for AWS's codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJsonDescription => "INVALID_JSON_DESCRIPTION",
            Code::MissingDescription => "MISSING_DESCRIPTION",
            Code::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            Code::InvalidResource => "INVALID_RESOURCE",
            Code::MissingEndState => "MISSING_END_STATE",
            Code::DuplicateStateName => "DUPLICATE_STATE_NAME",
            Code::InvalidStateName => "INVALID_STATE_NAME",
            Code::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            Code::TooDeeplyNested => "TOO_DEEPLY_NESTED",
            Code::NoDollar => "NO_DOLLAR",
            Code::NoPath => "NO_PATH",
            Code::PassResultIsStatic => "PASS_RESULT_IS_STATIC",
            Code::DefinitionTooLarge => "DEFINITION_TOO_LARGE",
            Code::ReservedErrorName => "RESERVED_ERROR_NAME",
            Code::MissingTaskToken => "MISSING_TASK_TOKEN",
        }
    }

    /// Whether AWS's `ValidateStateMachineDefinition` documents this code.
    pub fn is_aws(self) -> bool {
        !matches!(
            self,
            Code::DefinitionTooLarge | Code::ReservedErrorName | Code::MissingTaskToken
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A located problem in an ASL document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Blocks the definition (error) or not (warning).
    pub severity: Severity,
    /// Stable code; AWS's where AWS has one for the problem.
    pub code: Code,
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
    /// An error at `pointer`, optionally naming a state and a field, with AWS's catch-all code
    /// `SCHEMA_VALIDATION_FAILED`; [`Diagnostic::with_code`] gives a more precise one.
    pub fn new(
        pointer: impl Into<String>,
        state: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: Code::SchemaValidationFailed,
            pointer: pointer.into(),
            state: state.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A warning at `pointer`: reported, never blocking.
    pub fn warning(
        code: Code,
        pointer: impl Into<String>,
        state: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::new(pointer, state, field, message).with_code(code)
        }
    }

    /// The same diagnostic with another code.
    pub fn with_code(self, code: Code) -> Self {
        Diagnostic { code, ..self }
    }

    /// Whether this diagnostic blocks the definition.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic with its code in front, as status warnings and `plan` list them:
    /// `NO_DOLLAR: state "A", field Parameters (/States/A/Parameters/x): ...`.
    pub fn coded(&self) -> String {
        format!("{}: {self}", self.code)
    }

    /// The diagnostic with its severity and code in front, as `validate` prints warnings:
    /// `warning[NO_DOLLAR]: state "A", field Parameters (/States/A/Parameters/x): ...`.
    pub fn labelled(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!("{severity}[{}]: {self}", self.code)
    }
}

/// Splits diagnostics into errors and warnings, keeping their order.
pub fn partition(diags: Vec<Diagnostic>) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    diags.into_iter().partition(Diagnostic::is_error)
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
