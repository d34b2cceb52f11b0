//! Errors of the AWS layer, classified so the controller can decide between requeueing (transient) and
//! reporting a terminal condition, and can label its error metric.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use sfn_plan::PlanError;

/// An AWS call (or the plan before the calls) failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The operator's own per-API rate limit has no token for this call soon enough; the request was not
    /// sent. Retry after `retry_after`.
    #[error("{api}: client-side rate limit reached, not sent; retry in {:.1}s", retry_after.as_secs_f64())]
    RateLimited {
        api: &'static str,
        retry_after: std::time::Duration,
    },
    #[error("{api}: throttled by AWS: {message}")]
    Throttled { api: &'static str, message: String },
    #[error("{api}: access denied: {message}")]
    AccessDenied { api: &'static str, message: String },
    #[error("{api}: not found: {message}")]
    NotFound { api: &'static str, message: String },
    /// Another writer got there first (name taken, concurrent change, resource being deleted).
    #[error("{api}: conflict ({code}): {message}")]
    Conflict {
        api: &'static str,
        code: String,
        message: String,
    },
    /// A new or changed role is not assumable by Step Functions yet (IAM is eventually consistent), and the
    /// bounded retries ran out.
    #[error("{api}: the role is not assumable by Step Functions yet (IAM propagation): {message}")]
    RoleNotAssumable { api: &'static str, message: String },
    /// AWS rejected the request itself; retrying the same request cannot help.
    #[error("{api}: rejected ({code}): {message}")]
    Invalid {
        api: &'static str,
        code: String,
        message: String,
    },
    #[error("{api}: could not reach AWS: {message}")]
    Transport { api: &'static str, message: String },
    #[error("{api}: {code}: {message}")]
    Service {
        api: &'static str,
        code: String,
        message: String,
    },
    /// The credentials of an AwsIdentity could not be had: a hop of its role chain cannot be assumed (trust
    /// policy, external id, revoked permission) or the assumed credentials do not work.
    #[error("AwsIdentity {identity}: cannot assume role {role_arn}: {message}")]
    IdentityUnavailable {
        identity: String,
        role_arn: String,
        message: String,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// AWS answered with something the operator cannot interpret.
    #[error("{api}: unexpected response: {message}")]
    Unexpected { api: &'static str, message: String },
}

impl AwsError {
    /// A bounded label for the error metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            AwsError::Throttled { .. } | AwsError::RateLimited { .. } => "throttled",
            AwsError::AccessDenied { .. } => "access_denied",
            AwsError::NotFound { .. } => "not_found",
            AwsError::Conflict { .. } => "conflict",
            AwsError::RoleNotAssumable { .. } => "role_propagation",
            AwsError::Invalid { .. } => "invalid",
            AwsError::Transport { .. } => "transport",
            AwsError::Service { .. } | AwsError::Unexpected { .. } => "other",
            AwsError::Plan(_) => "plan",
            AwsError::IdentityUnavailable { .. } => "identity",
        }
    }

    /// Whether trying again later can succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AwsError::Throttled { .. }
                | AwsError::RateLimited { .. }
                | AwsError::Conflict { .. }
                | AwsError::RoleNotAssumable { .. }
                // A trust policy being fixed, or STS briefly unreachable: retried with backoff.
                | AwsError::IdentityUnavailable { .. }
                | AwsError::Transport { .. }
                | AwsError::Service { .. }
                // A resource that vanished between observing and acting: the next observation sees it.
                | AwsError::NotFound { .. }
        )
    }

    /// How long to wait before trying again, when the error says (the client-side rate limit).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            AwsError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The planner's refusal (not owned, immutable change, invalid desired state), when that is the error:
    /// terminal until the spec or the live resource changes.
    pub fn plan_error(&self) -> Option<&PlanError> {
        match self {
            AwsError::Plan(p) => Some(p),
            _ => None,
        }
    }

    /// The AWS error code, when AWS sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Conflict { code, .. }
            | AwsError::Invalid { code, .. }
            | AwsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn from_sdk<E, R>(api: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => AwsError::Transport {
                api,
                message: error_chain(&err),
            },
            SdkError::ResponseError(_) => AwsError::Transport {
                api,
                message: error_chain(&err),
            },
            _ => {
                let code = err.code().unwrap_or("Unknown").to_string();
                let message = err
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| error_chain(&err));
                classify(api, code, message)
            }
        }
    }
}

/// Whether an error from CreateStateMachine / UpdateStateMachine means "the role exists but Step
/// Functions cannot assume it yet". AWS answers `AccessDeniedException` with "Neither the global service
/// principal states.amazonaws.com, nor the regional one is authorized to assume the provided role." while
/// a new role or trust policy propagates through IAM (older responses say "... is not authorized to assume
/// the provided role" under `InvalidDefinition`/`AccessDeniedException`).
pub fn is_role_propagation(code: &str, message: &str) -> bool {
    matches!(code, "AccessDeniedException" | "InvalidDefinition")
        && message.contains("authorized to assume the provided role")
}

fn classify(api: &'static str, code: String, message: String) -> AwsError {
    if is_role_propagation(&code, &message) {
        return AwsError::RoleNotAssumable { api, message };
    }
    match code.as_str() {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ThrottledException"
        | "LimitExceededException"
        | "KmsThrottlingException" => AwsError::Throttled { api, message },
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            AwsError::AccessDenied { api, message }
        }
        "StateMachineDoesNotExist"
        | "ActivityDoesNotExist"
        | "NoSuchEntity"
        | "ResourceNotFound"
        | "ResourceNotFoundException" => AwsError::NotFound { api, message },
        "ConflictException"
        | "StateMachineAlreadyExists"
        | "ActivityAlreadyExists"
        | "EntityAlreadyExists"
        | "DeleteConflict"
        | "StateMachineDeleting"
        | "ConcurrentModification"
        | "ConcurrentModificationException"
        | "ActivityAlreadyExistsException"
        | "ResourceAlreadyExistsException"
        | "OperationAbortedException" => AwsError::Conflict { api, code, message },
        "InvalidDefinition"
        | "InvalidArn"
        | "InvalidName"
        | "ValidationException"
        | "MalformedPolicyDocument"
        | "InvalidLoggingConfiguration"
        | "InvalidTracingConfiguration"
        | "InvalidEncryptionConfiguration"
        | "LimitExceeded"
        | "TooManyTags"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "MissingParameter"
        | "InvalidInput"
        | "StateMachineTypeNotSupported"
        | "StateMachineLimitExceeded"
        | "ActivityLimitExceeded"
        | "KmsAccessDeniedException"
        | "KmsInvalidStateException"
        | "InvalidFormat"
        | "ServiceQuotaExceededException"
        | "UnmodifiableEntity" => AwsError::Invalid { api, code, message },
        _ => AwsError::Service { api, code, message },
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let e = classify(
            "CreateStateMachine",
            "AccessDeniedException".into(),
            "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.".into(),
        );
        assert_eq!(e.metric_label(), "role_propagation");
        assert!(e.is_transient());
        let e = classify("GetRole", "AccessDenied".into(), "no".into());
        assert_eq!(e.metric_label(), "access_denied");
        assert!(!e.is_transient());
        let e = classify("X", "ThrottlingException".into(), "slow down".into());
        assert_eq!(e.metric_label(), "throttled");
        assert!(e.is_transient());
        let e = classify("X", "StateMachineAlreadyExists".into(), "taken".into());
        assert_eq!(e.metric_label(), "conflict");
        assert_eq!(e.code(), Some("StateMachineAlreadyExists"));
        let e = classify("X", "InvalidDefinition".into(), "bad".into());
        assert_eq!(e.metric_label(), "invalid");
        assert!(!e.is_transient());
        assert!(
            e.to_string()
                .contains("X: rejected (InvalidDefinition): bad")
        );
        let e = AwsError::RateLimited {
            api: "sfn:CreateStateMachine",
            retry_after: std::time::Duration::from_millis(31_500),
        };
        assert_eq!(e.metric_label(), "throttled");
        assert!(e.is_transient());
        assert_eq!(
            e.retry_after(),
            Some(std::time::Duration::from_millis(31_500))
        );
        assert!(e.to_string().contains("sfn:CreateStateMachine"), "{e}");
        assert!(e.to_string().contains("31.5s"), "{e}");
    }
}
