//! Status conditions shared by the three kinds, and the helpers that keep them in the Kubernetes convention:
//! one condition per type, and `lastTransitionTime` changes only when the status does.
//!
//! Convention: <https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#typical-status-properties>

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Ready`: the AWS resources match the spec and are usable.
pub const CONDITION_READY: &str = "Ready";
/// `Synced`: the last reconcile reached AWS without error.
pub const CONDITION_SYNCED: &str = "Synced";

/// `RoleCoversDefinition`: for a bring-your-own role only, whether the role's `Allow` statements cover what the
/// definition needs (see `status.iam`). Informational: it never changes `Ready`.
pub const CONDITION_ROLE_COVERS_DEFINITION: &str = "RoleCoversDefinition";

/// Reasons used in conditions (CamelCase, as Kubernetes expects).
pub mod reasons {
    /// Everything is in place.
    pub const AVAILABLE: &str = "Available";
    /// A referenced TaskIntegration, Activity or StateMachine does not exist (yet) or has no ARN yet.
    pub const REFERENCE_NOT_FOUND: &str = "ReferenceNotFound";
    /// The definition or spec is invalid; the message names the state and field.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// AWS rejected a call or could not be reached; retried with backoff.
    pub const AWS_ERROR: &str = "AwsError";
    /// A resource with the AWS name exists but is not owned by this object and adoption was not requested.
    pub const NOT_OWNED: &str = "NotOwned";
    /// The reconcile is in progress (for example waiting for a new IAM role to propagate).
    pub const PROGRESSING: &str = "Progressing";
    /// The object is being deleted.
    pub const DELETING: &str = "Deleting";
    /// Reconciled successfully.
    pub const RECONCILED: &str = "Reconciled";
    /// `RoleCoversDefinition=True`: every needed permission is allowed by the role's policies.
    pub const PERMISSIONS_COVERED: &str = "PermissionsCovered";
    /// `RoleCoversDefinition=False`: `status.iam.missing` lists what the role does not allow.
    pub const MISSING_PERMISSIONS: &str = "MissingPermissions";
    /// `RoleCoversDefinition=Unknown`: the role's policies could not be read (another account, access
    /// denied, not found); the message says why.
    pub const NOT_AUDITED: &str = "NotAudited";
}

/// Status of a condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    #[default]
    Unknown,
}

impl ConditionStatus {
    /// `"True"`, `"False"` or `"Unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

/// One observation of the object's state, as `kubectl describe` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready` or `Synced`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316))]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// Machine-readable reason in CamelCase, e.g. `ReferenceNotFound`.
    #[serde(default)]
    #[schemars(length(max = 1024))]
    pub reason: String,
    /// Human-readable details; for invalid specs it names the object, state and field.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub message: String,
    /// When the status last changed (RFC 3339).
    #[serde(default)]
    pub last_transition_time: String,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// A condition observed at `now`.
    pub fn new(
        type_: &str,
        status: impl Into<ConditionStatus>,
        reason: &str,
        message: impl Into<String>,
        observed_generation: Option<i64>,
        now: jiff::Timestamp,
    ) -> Self {
        Condition {
            type_: type_.to_string(),
            status: status.into(),
            reason: reason.to_string(),
            message: message.into(),
            last_transition_time: format_time(now),
            observed_generation,
        }
    }

    /// Whether the status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// RFC 3339 with second precision in UTC, the form Kubernetes uses for `metav1.Time`.
pub fn format_time(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The condition of the given type, if any.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the `Ready` condition is `True`.
pub fn is_ready(conditions: &[Condition]) -> bool {
    find_condition(conditions, CONDITION_READY).is_some_and(Condition::is_true)
}

/// Inserts or replaces the condition of the same type. `lastTransitionTime` is kept from the existing
/// condition when the status did not change, so that it records transitions, not reconciles.
/// Returns whether anything other than the timestamp changed (so callers can skip no-op status writes).
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) => {
            if existing.status == new.status {
                new.last_transition_time = existing.last_transition_time.clone();
            }
            let changed = *existing != new;
            *existing = new;
            changed
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn set_condition_keeps_transition_time_while_status_is_unchanged() {
        let mut conditions = Vec::new();
        assert!(set_condition(
            &mut conditions,
            Condition::new(
                CONDITION_READY,
                false,
                reasons::PROGRESSING,
                "creating",
                Some(1),
                at(0)
            )
        ));
        assert_eq!(conditions[0].last_transition_time, "1970-01-01T00:00:00Z");

        // Same status, new message: the message changes, the transition time does not.
        assert!(set_condition(
            &mut conditions,
            Condition::new(
                CONDITION_READY,
                false,
                reasons::AWS_ERROR,
                "throttled",
                Some(1),
                at(60)
            )
        ));
        assert_eq!(conditions[0].last_transition_time, "1970-01-01T00:00:00Z");
        assert_eq!(conditions[0].reason, reasons::AWS_ERROR);

        // Identical apart from time: reported as no change.
        assert!(!set_condition(
            &mut conditions,
            Condition::new(
                CONDITION_READY,
                false,
                reasons::AWS_ERROR,
                "throttled",
                Some(1),
                at(90)
            )
        ));

        // Status flips: the transition time moves.
        assert!(set_condition(
            &mut conditions,
            Condition::new(
                CONDITION_READY,
                true,
                reasons::AVAILABLE,
                "",
                Some(2),
                at(120)
            )
        ));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, "1970-01-01T00:02:00Z");
        assert!(is_ready(&conditions));
    }

    #[test]
    fn conditions_of_other_types_are_independent() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            Condition::new(CONDITION_READY, true, reasons::AVAILABLE, "", None, at(0)),
        );
        set_condition(
            &mut conditions,
            Condition::new(
                CONDITION_SYNCED,
                false,
                reasons::AWS_ERROR,
                "x",
                None,
                at(0),
            ),
        );
        assert_eq!(conditions.len(), 2);
        assert!(is_ready(&conditions));
        assert!(
            !find_condition(&conditions, CONDITION_SYNCED)
                .unwrap()
                .is_true()
        );
        let json = serde_json::to_value(&conditions[1]).unwrap();
        assert_eq!(json["status"], "False");
        assert_eq!(json["type"], "Synced");
    }
}
