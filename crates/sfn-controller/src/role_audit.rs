//! The audit of bring-your-own roles (`spec.roleArn`): after a successful apply, the role's permission
//! policies are read and compared with what the definition needs ([`sfn_plan::role_audit`]); the result goes
//! to `status.iam` and the `RoleCoversDefinition` condition. It is informational: it never fails a reconcile
//! and never changes `Ready` (the role may be allowed things by means the audit does not evaluate).
//!
//! Cost: reading a role takes at least four IAM reads, so results are cached by role ARN, a digest of the
//! needed statements (the definition, logging, tracing and encryption) and the value of the
//! reconcile-requested-at annotation, for [`DEFAULT_INTERVAL`] (`Config::role_audit_interval`). An idle
//! machine is re-audited at most once per interval, a changed definition or role ARN right away, and a role
//! fixed in IAM is noticed within the interval, or at once on a requested reconcile.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sfn_api::status::{Condition, ConditionStatus, reasons};
use sfn_api::{CONDITION_ROLE_COVERS_DEFINITION, IamAudit, StateMachine};
use sfn_plan::DesiredRole;
use sfn_plan::desired::Built;
use sfn_plan::role_audit;

use super::Context;
use super::backend::{AwsBackend, RolePolicyDocuments};
use super::policy::RECONCILE_REQUESTED_AT_ANNOTATION;

/// How long an audit is believed before the role is read again.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

/// Most audits kept; past it the oldest is forgotten.
const CAPACITY: usize = 4096;

#[derive(Debug, Clone)]
struct Cached {
    audit: IamAudit,
    at: Instant,
}

/// Audits by role, needed statements and requested reconcile, shared by the reconciles of one scope.
#[derive(Debug, Default)]
pub struct RoleAuditCache {
    entries: Mutex<HashMap<String, Cached>>,
}

impl RoleAuditCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, key: &str, now: Instant, interval: Duration) -> Option<IamAudit> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let cached = entries.get(key)?;
        (now.saturating_duration_since(cached.at) < interval).then(|| cached.audit.clone())
    }

    fn put(&self, key: String, audit: IamAudit, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY
            && !entries.contains_key(&key)
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, Cached { audit, at: now });
    }
}

fn cache_key(role_arn: &str, built: &Built, sm: &StateMachine) -> String {
    let requested = sm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RECONCILE_REQUESTED_AT_ANNOTATION))
        .map(String::as_str)
        .unwrap_or_default();
    format!(
        "{role_arn}\n{}\n{requested}",
        role_audit::fingerprint(&built.policy)
    )
}

/// The audit of `sm`'s bring-your-own role, from the cache or read now; `None` for a role the operator
/// creates (it derives that role's policy, nothing to audit).
pub async fn audit(
    sm: &StateMachine,
    built: &Built,
    ctx: &Context,
    backend: &dyn AwsBackend,
) -> Option<IamAudit> {
    let DesiredRole::External { arn } = &built.desired.role else {
        return None;
    };
    let key = cache_key(arn, built, sm);
    let interval = ctx.config.role_audit_interval;
    if let Some(audit) = ctx.role_audits.get(&key, Instant::now(), interval) {
        return Some(audit);
    }
    let audit = match backend.role_policies(arn).await {
        RolePolicyDocuments::Read(documents) => {
            role_audit::audited(&role_audit::missing(&built.policy, &documents))
        }
        RolePolicyDocuments::Unavailable { reason } => {
            tracing::info!(role = %arn, %reason, "bring-your-own role not audited");
            role_audit::not_audited(&reason)
        }
    };
    ctx.role_audits.put(key, audit.clone(), Instant::now());
    Some(audit)
}

/// The `RoleCoversDefinition` condition for an audit.
pub fn condition(audit: &IamAudit, generation: Option<i64>, now: &str) -> Condition {
    let (status, reason) = if !audit.audited {
        (ConditionStatus::Unknown, reasons::NOT_AUDITED)
    } else if audit.missing_count > 0 {
        (ConditionStatus::False, reasons::MISSING_PERMISSIONS)
    } else {
        (ConditionStatus::True, reasons::PERMISSIONS_COVERED)
    };
    Condition {
        type_: CONDITION_ROLE_COVERS_DEFINITION.to_owned(),
        status,
        reason: reason.to_owned(),
        message: audit.message.clone(),
        last_transition_time: now.to_owned(),
        observed_generation: generation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(missing: u32) -> IamAudit {
        IamAudit {
            audited: true,
            missing_count: missing,
            message: "m".into(),
            ..Default::default()
        }
    }

    #[test]
    fn audits_are_believed_for_the_interval() {
        let cache = RoleAuditCache::new();
        let t0 = Instant::now();
        cache.put("a".into(), audit(1), t0);
        let interval = Duration::from_secs(600);
        assert_eq!(
            cache.get("a", t0 + Duration::from_secs(599), interval),
            Some(audit(1))
        );
        assert_eq!(cache.get("a", t0 + interval, interval), None);
        assert_eq!(cache.get("b", t0, interval), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = RoleAuditCache::new();
        let t0 = Instant::now();
        for n in 0..=CAPACITY {
            cache.put(
                format!("k{n}"),
                audit(0),
                t0 + Duration::from_millis(n as u64),
            );
        }
        let interval = Duration::from_secs(3600);
        assert_eq!(cache.get("k0", t0, interval), None, "the oldest went");
        assert!(cache.get(&format!("k{CAPACITY}"), t0, interval).is_some());
    }

    #[test]
    fn the_condition_follows_the_audit() {
        let covered = condition(&audit(0), Some(3), "t");
        assert_eq!(covered.type_, "RoleCoversDefinition");
        assert_eq!(
            (covered.status, covered.reason.as_str()),
            (ConditionStatus::True, "PermissionsCovered")
        );
        assert_eq!(covered.observed_generation, Some(3));
        let missing = condition(&audit(2), None, "t");
        assert_eq!(
            (missing.status, missing.reason.as_str()),
            (ConditionStatus::False, "MissingPermissions")
        );
        let unknown = condition(&role_audit::not_audited("access denied"), None, "t");
        assert_eq!(
            (unknown.status, unknown.reason.as_str()),
            (ConditionStatus::Unknown, "NotAudited")
        );
        assert_eq!(unknown.message, "not audited: access denied");
    }
}
