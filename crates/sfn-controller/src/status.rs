//! Status conditions as GitOps tools read them (Flux kstatus, Argo CD): `Ready` and `Synced`, each with a
//! stable reason word, a message, `observedGeneration` and a `lastTransitionTime` that moves only when the
//! condition's status flips. Pure, so the rules are unit tested without a cluster.
//!
//! `Ready` answers "is what this generation declares live in AWS?"; `Synced` answers "did the last reconcile
//! succeed?". They differ on a transient failure (throttling, an AWS outage) after a successful sync of the
//! same generation: the resources are still live and correct, so `Ready` stays `True` while `Synced` turns
//! `False` — a throttled resync must not page anyone through a GitOps health check.

use sfn_api::status::{Condition, ConditionStatus, find_condition, set_condition};

/// Condition type: the declared state is live.
pub const READY: &str = "Ready";
/// Condition type: the last reconcile succeeded.
pub const SYNCED: &str = "Synced";

/// The stable reason words used in conditions, events and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Compiled,
    InvalidDefinition,
    ReferenceNotFound,
    AwsError,
    Throttled,
    DriftCorrected,
    Deleting,
    /// The object's AwsIdentity cannot be used: not found, not allowed for the namespace, ambiguous.
    IdentityNotAllowed,
    /// The object's AwsIdentity's credentials cannot be had (a role in its chain cannot be assumed).
    IdentityUnavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Compiled => "Compiled",
            Reason::InvalidDefinition => "InvalidDefinition",
            Reason::ReferenceNotFound => "ReferenceNotFound",
            Reason::AwsError => "AwsError",
            Reason::Throttled => "Throttled",
            Reason::DriftCorrected => "DriftCorrected",
            Reason::Deleting => "Deleting",
            Reason::IdentityNotAllowed => "IdentityNotAllowed",
            Reason::IdentityUnavailable => "IdentityUnavailable",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reconcile ended with, as far as conditions are concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// AWS is in line with the spec. `drift_corrected` when it was not and has been put back.
    Synced {
        drift_corrected: bool,
        message: String,
    },
    /// The reconcile failed. `transient` failures (throttling, 5xx, IAM propagation) keep a Ready=True of the
    /// same generation; the others mean the declared state is not live.
    Failed {
        reason: Reason,
        message: String,
        transient: bool,
    },
    /// The object is being deleted and its AWS resources cleaned up.
    Deleting { message: String },
}

impl Outcome {
    /// The reason word of a failure, for metrics.
    pub fn failure_reason(&self) -> Option<Reason> {
        match self {
            Outcome::Failed { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

fn condition(
    type_: &str,
    status: ConditionStatus,
    reason: Reason,
    message: &str,
    generation: Option<i64>,
    now: &str,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status,
        reason: reason.as_str().to_owned(),
        message: message.to_owned(),
        last_transition_time: now.to_owned(),
        observed_generation: generation,
    }
}

/// Looks a condition up by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    find_condition(conditions, type_)
}

/// The conditions after a reconcile of `generation` that ended with `outcome`, at time `now` (RFC 3339).
pub fn next_conditions(
    previous: &[Condition],
    outcome: &Outcome,
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    let mut out = previous.to_vec();
    match outcome {
        Outcome::Synced {
            drift_corrected,
            message,
        } => {
            let reason = if *drift_corrected {
                Reason::DriftCorrected
            } else {
                Reason::Compiled
            };
            let _ = set_condition(
                &mut out,
                condition(
                    READY,
                    ConditionStatus::True,
                    reason,
                    message,
                    generation,
                    now,
                ),
            );
            let _ = set_condition(
                &mut out,
                condition(
                    SYNCED,
                    ConditionStatus::True,
                    reason,
                    message,
                    generation,
                    now,
                ),
            );
        }
        Outcome::Failed {
            reason,
            message,
            transient,
        } => {
            let still_ready = *transient
                && find(previous, READY).is_some_and(|c| {
                    c.status == ConditionStatus::True && c.observed_generation == generation
                });
            if !still_ready {
                let _ = set_condition(
                    &mut out,
                    condition(
                        READY,
                        ConditionStatus::False,
                        *reason,
                        message,
                        generation,
                        now,
                    ),
                );
            }
            let _ = set_condition(
                &mut out,
                condition(
                    SYNCED,
                    ConditionStatus::False,
                    *reason,
                    message,
                    generation,
                    now,
                ),
            );
        }
        Outcome::Deleting { message } => {
            let _ = set_condition(
                &mut out,
                condition(
                    READY,
                    ConditionStatus::False,
                    Reason::Deleting,
                    message,
                    generation,
                    now,
                ),
            );
            let _ = set_condition(
                &mut out,
                condition(
                    SYNCED,
                    ConditionStatus::False,
                    Reason::Deleting,
                    message,
                    generation,
                    now,
                ),
            );
        }
    }
    out
}

/// The Ready status word of a condition list (`Unknown` when absent), for the objects-by-Ready metric.
pub fn ready_status(conditions: &[Condition]) -> &'static str {
    find(conditions, READY)
        .map(|c| c.status.as_str())
        .unwrap_or("Unknown")
}

/// The current time in RFC 3339 with second precision, as Kubernetes writes `metav1.Time`.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2026-01-01T00:00:00Z";
    const T2: &str = "2026-01-01T00:10:00Z";
    const T3: &str = "2026-01-01T00:20:00Z";

    fn synced() -> Outcome {
        Outcome::Synced {
            drift_corrected: false,
            message: "in line".into(),
        }
    }

    #[test]
    fn first_success_sets_ready_and_synced_true() {
        let c = next_conditions(&[], &synced(), Some(1), T1);
        let ready = find(&c, READY).unwrap();
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::True, "Compiled")
        );
        assert_eq!(ready.observed_generation, Some(1));
        assert_eq!(ready.last_transition_time, T1);
        assert_eq!(find(&c, SYNCED).unwrap().status, ConditionStatus::True);
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let c1 = next_conditions(&[], &synced(), Some(1), T1);
        let c2 = next_conditions(&c1, &synced(), Some(2), T2);
        assert_eq!(c1.len(), 2);
        assert_eq!(find(&c2, READY).unwrap().last_transition_time, T1);
        assert_eq!(find(&c2, READY).unwrap().observed_generation, Some(2));
        // Identical inputs give identical conditions: no status write on an idle resync.
        assert_eq!(next_conditions(&c2, &synced(), Some(2), T3), c2);

        let invalid = Outcome::Failed {
            reason: Reason::InvalidDefinition,
            message: "state \"Wait\", field Seconds: must be positive".into(),
            transient: false,
        };
        let c3 = next_conditions(&c2, &invalid, Some(3), T3);
        let ready = find(&c3, READY).unwrap();
        assert_eq!(ready.status, ConditionStatus::False);
        assert_eq!(ready.reason, "InvalidDefinition");
        assert_eq!(ready.last_transition_time, T3);
        assert!(ready.message.contains("\"Wait\""));
    }

    #[test]
    fn transient_failure_keeps_ready_of_the_same_generation() {
        let ok = next_conditions(&[], &synced(), Some(4), T1);
        let throttled = Outcome::Failed {
            reason: Reason::Throttled,
            message: "rate exceeded".into(),
            transient: true,
        };
        let c = next_conditions(&ok, &throttled, Some(4), T2);
        assert_eq!(find(&c, READY).unwrap(), find(&ok, READY).unwrap());
        let synced_c = find(&c, SYNCED).unwrap();
        assert_eq!(
            (synced_c.status, synced_c.reason.as_str()),
            (ConditionStatus::False, "Throttled")
        );
        assert_eq!(synced_c.last_transition_time, T2);

        // A new generation that cannot be applied yet is not Ready, even if the failure is transient.
        let c = next_conditions(&ok, &throttled, Some(5), T2);
        assert_eq!(find(&c, READY).unwrap().status, ConditionStatus::False);
        assert_eq!(find(&c, READY).unwrap().reason, "Throttled");
    }

    #[test]
    fn drift_correction_and_deletion_have_their_reasons() {
        let c = next_conditions(
            &[],
            &Outcome::Synced {
                drift_corrected: true,
                message: "put back".into(),
            },
            Some(1),
            T1,
        );
        assert_eq!(find(&c, READY).unwrap().reason, "DriftCorrected");
        let c = next_conditions(
            &c,
            &Outcome::Deleting {
                message: "cleaning up".into(),
            },
            Some(1),
            T2,
        );
        assert_eq!(find(&c, READY).unwrap().reason, "Deleting");
        assert_eq!(find(&c, READY).unwrap().status, ConditionStatus::False);
        assert_eq!(ready_status(&c), "False");
        assert_eq!(ready_status(&[]), "Unknown");
    }

    #[test]
    fn foreign_conditions_are_preserved() {
        let foreign = Condition {
            type_: "Reconciling".into(),
            status: ConditionStatus::False,
            reason: "Other".into(),
            message: String::new(),
            last_transition_time: T1.into(),
            observed_generation: None,
        };
        let c = next_conditions(std::slice::from_ref(&foreign), &synced(), Some(1), T2);
        assert_eq!(c[0], foreign);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn now_is_rfc3339_without_fractions() {
        let now = now_rfc3339();
        assert!(now.ends_with('Z') && !now.contains('.'), "{now}");
        assert!(now.parse::<jiff::Timestamp>().is_ok());
    }
}
