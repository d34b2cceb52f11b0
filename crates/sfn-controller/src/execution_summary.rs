//! `status.executions`: when a StateMachine's executions are sampled, and what the status keeps when they
//! are not.
//!
//! The sample (a few bounded reads, see `sfn_aws::execution_sample`) is taken after a successful apply, at
//! most once per resync of the object: a reconcile sooner than [`SAMPLE_SHARE`] of its resync period after
//! the previous sample (a rollout's next step, a spec change, a referenced object that changed) keeps the
//! summary as it is. The time of the last sample is remembered in this process, not in the status, so that an
//! unchanged summary is an unchanged status and an idle resync writes nothing; after a restart the first
//! reconcile of each object samples again. A failed read keeps the previous summary and is logged; it never
//! fails the reconcile. Nothing is read, and the summary is removed, for Express machines, for
//! `spec.executionSummary: Disabled` and when the operator runs with `--sample-executions=false`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::ResourceExt;
use sfn_api::{ExecutionsStatus, StateMachine};

use super::backend::AwsBackend;
use super::{Context, object_key, policy};

/// The share of the object's resync period that must have passed since the previous sample: the resync
/// requeue is jittered by ±10 %, so a resync always qualifies and faster requeues do not.
pub const SAMPLE_SHARE: f64 = 0.8;

/// Most objects whose last sample time is remembered; past it the oldest is forgotten (and that object
/// samples at its next reconcile).
const CAPACITY: usize = 65_536;

/// What a reconcile does to `status.executions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Sampled {
    /// Leave it as it is (not due, or the read failed).
    #[default]
    Keep,
    /// Set it to this (`None` removes it). Boxed: a summary is large next to `Keep`.
    Set(Option<Box<ExecutionsStatus>>),
}

/// When each object was last sampled, shared by the reconciles of one scope.
#[derive(Debug, Default)]
pub struct SampleClock {
    last: Mutex<HashMap<String, Instant>>,
}

impl SampleClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` is due at `now` with `min_gap` between samples; if so, records `now` as its sample.
    pub fn take_if_due(&self, key: &str, now: Instant, min_gap: Duration) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last
            .get(key)
            .is_some_and(|at| now.saturating_duration_since(*at) < min_gap)
        {
            return false;
        }
        if last.len() >= CAPACITY
            && !last.contains_key(key)
            && let Some(oldest) = last
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
        {
            last.remove(&oldest);
        }
        last.insert(key.to_owned(), now);
        true
    }

    /// Forgets `key`, so that its next reconcile samples at once (sampling was turned off for it).
    pub fn forget(&self, key: &str) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The shortest time between two samples of `sm`: [`SAMPLE_SHARE`] of its resync period (the
/// `sfn.operator.dev/resync-period` annotation, else the operator's).
pub fn min_gap(sm: &StateMachine, resync_period: Duration) -> Duration {
    let annotation = sm
        .annotations()
        .get(policy::RESYNC_PERIOD_ANNOTATION)
        .map(String::as_str);
    let period = policy::resync_period(annotation, resync_period).unwrap_or(resync_period);
    period.mul_f64(SAMPLE_SHARE)
}

/// Samples the executions of `sm`, whose machine is `state_machine_arn`, if it is due, through `backend`
/// (the object's identity).
pub async fn sample(
    sm: &StateMachine,
    state_machine_arn: &str,
    ctx: &Context,
    backend: &dyn AwsBackend,
) -> Sampled {
    let key = object_key(sm);
    if !ctx.config.sample_executions || !sm.spec.wants_execution_summary() {
        ctx.execution_samples.forget(&key);
        return Sampled::Set(None);
    }
    if !ctx.execution_samples.take_if_due(
        &key,
        Instant::now(),
        min_gap(sm, ctx.config.resync_period),
    ) {
        return Sampled::Keep;
    }
    let status = sm.status.as_ref();
    // A summary of another machine (the object was renamed or replaced) says nothing about this one.
    let previous = status
        .filter(|s| s.state_machine_arn.as_deref() == Some(state_machine_arn))
        .and_then(|s| s.executions.as_ref());
    match backend.sample_executions(state_machine_arn, previous).await {
        Ok(summary) => Sampled::Set(Some(Box::new(summary))),
        Err(reason) => {
            tracing::info!(object = %key, %reason, "executions not sampled; the summary stays as it was");
            Sampled::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_due_once_per_gap() {
        let clock = SampleClock::new();
        let t0 = Instant::now();
        let gap = Duration::from_secs(480);
        assert!(clock.take_if_due("ns/a", t0, gap), "first reconcile");
        assert!(
            !clock.take_if_due("ns/a", t0 + Duration::from_secs(5), gap),
            "rollout requeue"
        );
        assert!(
            clock.take_if_due("ns/b", t0, gap),
            "objects are independent"
        );
        assert!(clock.take_if_due("ns/a", t0 + gap, gap), "the next resync");
        assert!(!clock.take_if_due("ns/a", t0 + gap + Duration::from_secs(1), gap));
        clock.forget("ns/a");
        assert!(clock.take_if_due("ns/a", t0 + gap + Duration::from_secs(2), gap));
    }

    #[test]
    fn the_gap_follows_the_resync_period_and_its_annotation() {
        let mut sm: StateMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "m", "namespace": "ns"},
            "spec": {"definition": {"states": [{"name": "A", "type": "Pass", "end": true}]}}
        }))
        .expect("a valid StateMachine");
        assert_eq!(
            min_gap(&sm, Duration::from_secs(600)),
            Duration::from_secs(480)
        );
        sm.metadata.annotations = Some(
            [(
                policy::RESYNC_PERIOD_ANNOTATION.to_owned(),
                "100s".to_owned(),
            )]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            min_gap(&sm, Duration::from_secs(600)),
            Duration::from_secs(80)
        );
        // Jitter never brings a resync under the gap.
        assert!(Duration::from_secs(100).mul_f64(0.9) > min_gap(&sm, Duration::from_secs(600)));
    }
}
