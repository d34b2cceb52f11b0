//! Why a plan cannot be made. Separate from the planners because the controller maps each variant to a
//! condition reason without needing anything else from planning.

use sfn_api::naming;

/// Why a plan cannot be made. Both variants are terminal: retrying does not help until the spec (or the
/// live resource) changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{kind} {name} exists in AWS but is not owned by {owner} ({found}); add the annotation {annotation}: \"true\" to adopt it",
        annotation = naming::ADOPT_ANNOTATION
    )]
    NotOwned {
        kind: &'static str,
        name: String,
        owner: String,
        /// Who owns it, as far as the tags say.
        found: String,
    },
    /// The desired state itself is unusable (a bug in whoever built it, not in AWS).
    #[error("{object}: {reason}")]
    InvalidDesired { object: String, reason: String },
    #[error(
        "{object}: {field} cannot change in place ({from} -> {to}); allow replacement to delete and re-create the state machine"
    )]
    ImmutableChange {
        object: String,
        field: &'static str,
        from: String,
        to: String,
    },
}

impl PlanError {
    /// A short reason for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PlanError::NotOwned { .. } => "NotOwned",
            PlanError::ImmutableChange { .. } => "ImmutableChange",
            PlanError::InvalidDesired { .. } => "InvalidSpec",
        }
    }
}
