//! AWS's own opinion of a definition: `ValidateStateMachineDefinition`, as an optional second check after
//! the offline one.
//!
//! The call must never become a new way for a reconcile to fail: an account without the permission, a
//! throttled or unreachable endpoint, or an emulator that does not implement the API all give
//! [`Validation::Unavailable`] with the reason, and the caller carries on as if it had not asked. Only an
//! answer from AWS ([`Validation::Checked`]) says anything about the definition.

use aws_sdk_sfn::types::{
    StateMachineType, ValidateStateMachineDefinitionResultCode as ResultCode,
    ValidateStateMachineDefinitionSeverity as SdkSeverity,
};
use sfn_plan::MachineType;

use crate::AwsClients;

/// The call label of the validation (its IAM action is `states:ValidateStateMachineDefinition`). The
/// call itself spells it out: the IAM policy test reads the labels from the source.
pub const VALIDATE_API: &str = "sfn:ValidateStateMachineDefinition";

/// How serious one diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The definition cannot be created or updated as it is.
    Error,
    /// Allowed, but probably not what was meant.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        }
    }
}

/// One finding of AWS's validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// AWS's code (`SCHEMA_VALIDATION_FAILED`, …). AWS documents that codes and wording may change, so
    /// they are shown, never matched on.
    pub code: String,
    pub message: String,
    /// Where in the definition, as AWS names it (`/States/A/Next`), when it says.
    pub location: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// AWS's verdict on a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `OK` (AWS would create it, possibly with warnings) rather than `FAIL`.
    pub ok: bool,
    pub diagnostics: Vec<Diagnostic>,
    /// AWS returned only the first diagnostics.
    pub truncated: bool,
}

impl Verdict {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
}

/// What asking AWS gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// AWS answered.
    Checked(Verdict),
    /// No verdict: the call was denied, throttled past the SDK's retries, refused by the client-side rate
    /// limit, could not reach AWS, is not implemented by the endpoint, or failed otherwise.
    Unavailable {
        reason: String,
        /// Asking again later may succeed by itself (throttling, network, 5xx), as opposed to needing
        /// someone to act (a missing permission, an endpoint without the API).
        transient: bool,
    },
}

/// Asks AWS to validate `definition` for a machine of `machine_type`, warnings included. Never fails:
/// every error becomes [`Validation::Unavailable`].
pub async fn validate_definition(
    clients: &AwsClients,
    definition: &serde_json::Value,
    machine_type: MachineType,
) -> Validation {
    let definition = match crate::apply::to_json(VALIDATE_API, definition) {
        Ok(d) => d,
        Err(err) => {
            return Validation::Unavailable {
                reason: err.to_string(),
                transient: false,
            };
        }
    };
    let answer = clients
        .call(
            "sfn:ValidateStateMachineDefinition",
            clients
                .sfn
                .validate_state_machine_definition()
                .definition(definition)
                .r#type(StateMachineType::from(machine_type.as_str()))
                // The default returns errors only.
                .severity(SdkSeverity::Warning)
                .send(),
        )
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(err) => {
            return Validation::Unavailable {
                reason: err.to_string(),
                transient: err.is_transient(),
            };
        }
    };
    let ok = match out.result() {
        ResultCode::Ok => true,
        ResultCode::Fail => false,
        other => {
            return Validation::Unavailable {
                reason: format!("{VALIDATE_API}: unexpected result {:?}", other.as_str()),
                transient: false,
            };
        }
    };
    let diagnostics = out
        .diagnostics()
        .iter()
        .map(|d| Diagnostic {
            // A severity added after this SDK was generated is not an error AWS blocks on unless the
            // result says FAIL, so it is shown as a warning.
            severity: if *d.severity() == SdkSeverity::Error {
                Severity::Error
            } else {
                Severity::Warning
            },
            code: d.code().to_string(),
            message: d.message().to_string(),
            location: d.location().map(str::to_string),
        })
        .collect();
    Validation::Checked(Verdict {
        ok,
        diagnostics,
        truncated: out.truncated().unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_validation_has_its_own_rate_limit_bucket() {
        let limits = crate::RateLimits::default();
        let bucket = limits.per_api[VALIDATE_API];
        assert!(bucket.per_second < limits.default.per_second, "{bucket:?}");
        assert!(crate::limiter::is_read_api(VALIDATE_API));
    }

    #[test]
    fn a_diagnostic_reads_code_location_message() {
        let d = Diagnostic {
            severity: Severity::Error,
            code: "SCHEMA_VALIDATION_FAILED".into(),
            message: "bad".into(),
            location: Some("/States/A".into()),
        };
        assert_eq!(d.to_string(), "SCHEMA_VALIDATION_FAILED at /States/A: bad");
        let d = Diagnostic {
            location: None,
            ..d
        };
        assert_eq!(d.to_string(), "SCHEMA_VALIDATION_FAILED: bad");
    }
}
