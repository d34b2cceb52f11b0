//! Why a reconcile stopped, one error per step, and what that means for the metrics and the error policy.
//!
//! The three kinds share this type so that the reason label of `reconcile_failures` and the retry rules
//! are decided in one place: a step's error says where the reconcile stopped (building the desired state,
//! the AWS calls, a Kubernetes write), and [`Error::retry`] turns that into a retry rule without touching
//! the API server, so the rules are unit tested.

use std::time::Duration;

use kube::runtime::finalizer;

use sfn_plan::desired::DesiredError;

use super::backend::BackendError;
use super::identity::IdentityFailure;
use super::status::Reason;

/// Reason label of a failed Kubernetes write (a status patch, the finalizer's own patches).
pub const KUBERNETES_ERROR: &str = "KubernetesError";

/// The build step failed: the spec cannot become a desired state, now or until something else changes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// Retrying cannot fix it; only a spec change can. `subject` is what the kind calls its spec in
    /// messages ("definition" for a StateMachine, "spec" otherwise).
    #[error("invalid {subject}: {message}")]
    Invalid {
        subject: &'static str,
        message: String,
    },
    /// A referenced object is missing or has no ARN yet; the reference index wakes the object when it
    /// appears.
    #[error("reference not found: {0}")]
    ReferenceNotFound(String),
}

impl BuildError {
    /// The error of the desired-state builder, keeping a missing reference apart from an invalid spec.
    pub fn from_desired(err: DesiredError, subject: &'static str) -> Self {
        match err {
            DesiredError::ReferenceNotFound(m) => BuildError::ReferenceNotFound(m),
            other => BuildError::Invalid {
                subject,
                message: other.to_string(),
            },
        }
    }

    /// The condition reason of this failure.
    pub fn reason(&self) -> Reason {
        match self {
            BuildError::Invalid { .. } => Reason::InvalidDefinition,
            BuildError::ReferenceNotFound(_) => Reason::ReferenceNotFound,
        }
    }

    /// The message without the prefix naming the step, as conditions show it.
    pub fn message(&self) -> &str {
        match self {
            BuildError::Invalid { message, .. } | BuildError::ReferenceNotFound(message) => message,
        }
    }
}

/// Why a reconcile of any kind failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("AWS: {0}")]
    Aws(#[from] BackendError),
    #[error("identity: {0}")]
    Identity(#[from] IdentityFailure),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

/// When to try again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The client-side rate limit said when its next token is free.
    RateLimited(Duration),
    /// Only a spec change can help.
    OnChange,
    /// A missing reference: usually healed by a watch event, so the retry is a capped safety net.
    Reference,
    /// Exponential backoff with jitter.
    Backoff,
}

impl Error {
    /// The innermost error (the finalizer helper wraps the apply/cleanup one).
    pub fn inner(&self) -> &Error {
        match self {
            Error::Finalizer(f) => match f.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.inner(),
                _ => self,
            },
            other => other,
        }
    }

    /// The reason label for metrics.
    pub fn reason(&self) -> &'static str {
        match self.inner() {
            Error::Build(e) => e.reason().as_str(),
            Error::Aws(e) if e.throttled => Reason::Throttled.as_str(),
            Error::Aws(_) => Reason::AwsError.as_str(),
            Error::Identity(IdentityFailure::Refused(_)) => Reason::IdentityNotAllowed.as_str(),
            Error::Identity(IdentityFailure::Unavailable(_)) => {
                Reason::IdentityUnavailable.as_str()
            }
            Error::Kube(_) | Error::Finalizer(_) => KUBERNETES_ERROR,
        }
    }

    /// The retry rule of this failure.
    pub fn retry(&self) -> Retry {
        match self.inner() {
            Error::Aws(BackendError {
                retry_after: Some(after),
                ..
            }) => Retry::RateLimited(*after),
            Error::Build(BuildError::Invalid { .. }) => Retry::OnChange,
            Error::Build(BuildError::ReferenceNotFound(_)) => Retry::Reference,
            // A change of an AwsIdentity wakes the objects it concerns; the capped retry is the safety net.
            Error::Identity(IdentityFailure::Refused(_)) => Retry::Reference,
            _ => Retry::Backoff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(throttled: bool, retry_after: Option<Duration>) -> Error {
        Error::Aws(BackendError {
            message: "sfn:CreateStateMachine: client-side rate limit reached".into(),
            transient: true,
            throttled,
            retry_after,
        })
    }

    fn wrapped(err: Error) -> Error {
        Error::Finalizer(Box::new(finalizer::Error::ApplyFailed(err)))
    }

    #[test]
    fn reasons_look_through_the_finalizer() {
        assert_eq!(wrapped(aws(true, None)).reason(), "Throttled");
        assert_eq!(wrapped(aws(false, None)).reason(), "AwsError");
        let invalid = BuildError::Invalid {
            subject: "spec",
            message: "m".into(),
        };
        assert_eq!(wrapped(invalid.into()).reason(), "InvalidDefinition");
        let missing = BuildError::ReferenceNotFound("TaskIntegration x".into());
        assert_eq!(Error::from(missing).reason(), "ReferenceNotFound");
        let unnamed: Error = Error::Finalizer(Box::new(finalizer::Error::UnnamedObject));
        assert_eq!(unnamed.reason(), KUBERNETES_ERROR);
    }

    #[test]
    fn retry_rules() {
        let after = Duration::from_secs(30);
        assert_eq!(
            wrapped(aws(true, Some(after))).retry(),
            Retry::RateLimited(after)
        );
        assert_eq!(aws(true, None).retry(), Retry::Backoff);
        let invalid = BuildError::Invalid {
            subject: "definition",
            message: "state A: next".into(),
        };
        assert_eq!(wrapped(invalid.into()).retry(), Retry::OnChange);
        let missing = BuildError::ReferenceNotFound("TaskIntegration x".into());
        assert_eq!(Error::from(missing).retry(), Retry::Reference);
    }

    #[test]
    fn messages_keep_their_historical_wording() {
        let invalid = BuildError::Invalid {
            subject: "definition",
            message: "state A: next".into(),
        };
        assert_eq!(
            Error::from(invalid.clone()).to_string(),
            "invalid definition: state A: next"
        );
        assert_eq!(invalid.message(), "state A: next");
        let missing = BuildError::ReferenceNotFound("Activity a".into());
        assert_eq!(missing.to_string(), "reference not found: Activity a");
        assert_eq!(
            BuildError::from_desired(DesiredError::ReferenceNotFound("Activity a".into()), "spec"),
            missing
        );
    }
}
