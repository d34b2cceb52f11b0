//! The two ways derivation reports a problem: an [`IamError`] for a definition it cannot read, and a
//! [`Widening`] for a statement that had to be wider than one exact ARN. Shared by the root, the walker
//! and the catalogue, so it sits below all of them.

use serde::{Deserialize, Serialize};

/// Errors for definitions the derivation cannot read. Each names the state and the field at fault; the caller adds
/// the object name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("definition: {path}: {message}")]
    InvalidDefinition { path: String, message: String },
    #[error("state {state:?}: field {field}: {message}")]
    InvalidField {
        state: String,
        field: String,
        message: String,
    },
    #[error(
        "state {state:?}: field Resource: integration {service}:{action} does not support the {pattern} pattern (supported: {supported})"
    )]
    UnsupportedPattern {
        state: String,
        service: String,
        action: String,
        pattern: String,
        supported: String,
    },
    /// A `Resource` naming an integration AWS does not have: an optimized integration outside the catalogue, or an
    /// `aws-sdk:` service or action missing from the Service Authorization Reference.
    #[error("state {state:?}: field Resource: {message}")]
    UnknownIntegration { state: String, message: String },
}

/// A statement that had to be wider than one exact ARN, and the state that caused it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Widening {
    pub state: String,
    pub message: String,
}
