//! `--aws-validate`: AWS's `ValidateStateMachineDefinition` as a second opinion after the offline checks,
//! between building a StateMachine's desired state and applying it.
//!
//! It must never become a new way to fail: AWS's FAIL stops the apply like an invalid definition found
//! offline (`InvalidDefinition`, waiting for a spec change), its warnings join the status warnings, and
//! when there is no verdict (no permission, throttled, unreachable, an emulator without the API) one
//! warning says so and the reconcile goes on as if the flag were off.
//!
//! Answers are cached by machine type and definition hash, so a resync of an unchanged definition asks
//! nothing: an idle cluster makes no extra AWS calls beyond the first validation of each definition.
//! Only "unavailable" is asked again, after [`UNAVAILABLE_RETRY`], so that a permission granted later
//! (or an outage that ended) is noticed without a restart at the cost of one read per definition per
//! retry period.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sfn_plan::desired::Built;

use super::Context;
use super::backend::DefinitionReview;
use super::error::BuildError;

/// How long "AWS validation unavailable" is believed before asking again.
pub const UNAVAILABLE_RETRY: Duration = Duration::from_secs(3600);

/// Most answers kept; past it the oldest is forgotten (and asked again if its definition comes back).
const CAPACITY: usize = 4096;

#[derive(Debug, Clone)]
struct Cached {
    review: DefinitionReview,
    at: Instant,
}

/// AWS's answers by machine type and definition hash, shared by the reconciles of one scope.
#[derive(Debug, Default)]
pub struct ValidationCache {
    entries: Mutex<HashMap<String, Cached>>,
}

impl ValidationCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached answer for `key`, unless it is an "unavailable" older than [`UNAVAILABLE_RETRY`].
    fn get(&self, key: &str, now: Instant) -> Option<DefinitionReview> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let cached = entries.get(key)?;
        let stale = matches!(cached.review, DefinitionReview::Unavailable { .. })
            && now.saturating_duration_since(cached.at) >= UNAVAILABLE_RETRY;
        (!stale).then(|| cached.review.clone())
    }

    fn put(&self, key: String, review: DefinitionReview, now: Instant) {
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
        entries.insert(key, Cached { review, at: now });
    }
}

/// What a review means for the reconcile: the warnings to add, or the failure that stops it.
pub fn outcome(review: &DefinitionReview) -> Result<Vec<String>, BuildError> {
    match review {
        DefinitionReview::Accepted { warnings } => Ok(aws_warnings(warnings)),
        DefinitionReview::Rejected { errors, .. } => Err(BuildError::Invalid {
            subject: "definition",
            message: format!("AWS rejected the definition: {}", errors.join("; ")),
        }),
        DefinitionReview::Unavailable { reason } => {
            Ok(vec![format!("AWS validation skipped: {reason}")])
        }
    }
}

fn aws_warnings(warnings: &[String]) -> Vec<String> {
    warnings
        .iter()
        .map(|w| format!("AWS validation: {w}"))
        .collect()
}

/// Asks AWS about `built`'s definition (or remembers its answer) and adds its warnings to `built`; an
/// AWS rejection is the error.
pub async fn review(built: &mut Built, ctx: &Context) -> Result<(), BuildError> {
    let key = format!(
        "{}:{}",
        built.desired.machine_type.as_str(),
        built.definition_hash
    );
    let review = match ctx.validations.get(&key, Instant::now()) {
        Some(review) => review,
        None => {
            let review = ctx
                .backend
                .validate_definition(&built.desired.definition, built.desired.machine_type)
                .await;
            if let DefinitionReview::Unavailable { reason } = &review {
                tracing::info!(definition = %built.definition_hash, %reason, "AWS validation unavailable");
            }
            ctx.validations.put(key, review.clone(), Instant::now());
            review
        }
    };
    let warnings = outcome(&review)?;
    built.other_warnings.extend(warnings);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> DefinitionReview {
        DefinitionReview::Unavailable {
            reason: "sfn:ValidateStateMachineDefinition: access denied: no".into(),
        }
    }

    #[test]
    fn verdicts_stay_and_unavailable_is_asked_again_later() {
        let cache = ValidationCache::new();
        let t0 = Instant::now();
        let accepted = DefinitionReview::Accepted { warnings: vec![] };
        cache.put("STANDARD:a".into(), accepted.clone(), t0);
        cache.put("STANDARD:b".into(), unavailable(), t0);
        let later = t0 + UNAVAILABLE_RETRY;
        assert_eq!(cache.get("STANDARD:a", later), Some(accepted));
        assert_eq!(
            cache.get("STANDARD:b", t0 + Duration::from_secs(600)),
            Some(unavailable())
        );
        assert_eq!(cache.get("STANDARD:b", later), None);
        assert_eq!(cache.get("EXPRESS:a", t0), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = ValidationCache::new();
        let t0 = Instant::now();
        for n in 0..=CAPACITY {
            let review = DefinitionReview::Accepted { warnings: vec![] };
            cache.put(
                format!("k{n}"),
                review,
                t0 + Duration::from_millis(n as u64),
            );
        }
        assert_eq!(
            cache
                .entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len(),
            CAPACITY
        );
        assert_eq!(cache.get("k0", t0), None, "the oldest went");
        assert!(cache.get(&format!("k{CAPACITY}"), t0).is_some());
    }

    #[test]
    fn what_each_review_means() {
        let rejected = DefinitionReview::Rejected {
            errors: vec![
                "MISSING_TRANSITION_TARGET at /States/A/Next: Missing 'Next' target: B".into(),
                "SCHEMA_VALIDATION_FAILED at /States/C: bad".into(),
            ],
            warnings: vec![],
        };
        let err = outcome(&rejected).unwrap_err();
        assert_eq!(err.reason().as_str(), "InvalidDefinition");
        assert!(
            err.message()
                .contains("MISSING_TRANSITION_TARGET at /States/A/Next"),
            "{err}"
        );
        assert!(
            err.message()
                .contains("SCHEMA_VALIDATION_FAILED at /States/C")
        );
        let accepted = DefinitionReview::Accepted {
            warnings: vec!["W at /States/A: hm".into()],
        };
        assert_eq!(
            outcome(&accepted).unwrap(),
            ["AWS validation: W at /States/A: hm"]
        );
        assert_eq!(
            outcome(&unavailable()).unwrap(),
            ["AWS validation skipped: sfn:ValidateStateMachineDefinition: access denied: no"]
        );
    }
}
