//! Prometheus metrics of the controllers, served on `/metrics`.
//!
//! One registry per operator instance (not a global), so that several operators can run in one test process
//! and each exposes only its own figures. Objects-by-Ready-state is kept as a per-object map rather than as
//! bare inc/dec on a gauge, so that a missed transition (restart, deleted object) can never make it drift.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    kind: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadyLabels {
    kind: String,
    ready: String,
}

fn duration_histogram() -> Histogram {
    // 5 ms .. ~82 s: a reconcile that only reads AWS takes tens of milliseconds, one that waits for IAM
    // propagation takes tens of seconds.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Values the Ready condition can take, as reported in the `ready` label.
pub const READY_STATES: [&str; 3] = ["True", "False", "Unknown"];

/// The operator's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    duration: Family<KindLabels, Histogram, fn() -> Histogram>,
    aws_calls: Family<ApiLabels, Counter>,
    drift: Family<KindLabels, Counter>,
    noop_writes: Family<KindLabels, Counter>,
    objects: Family<ReadyLabels, Gauge>,
    ready_by_object: Mutex<HashMap<(String, String), String>>,
    aws_seen: Mutex<BTreeMap<String, u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered under the `sfn_operator` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sfn_operator");
        let reconciles = Family::<KindLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let duration = Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let aws_calls = Family::<ApiLabels, Counter>::default();
        let drift = Family::<KindLabels, Counter>::default();
        let noop_writes = Family::<KindLabels, Counter>::default();
        let objects = Family::<ReadyLabels, Gauge>::default();
        registry.register("reconciles", "Reconciles run, by kind", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by kind and reason",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile, by kind",
            duration.clone(),
        );
        registry.register(
            "aws_calls",
            "AWS API calls made, by API operation",
            aws_calls.clone(),
        );
        registry.register(
            "drift_corrections",
            "Reconciles that found AWS drifted from the spec and put it back, by kind",
            drift.clone(),
        );
        registry.register(
            "noop_writes",
            "Reconciles whose AWS writes left AWS as it was observed before them, by kind (should stay 0)",
            noop_writes.clone(),
        );
        registry.register(
            "objects",
            "Objects known to the operator, by kind and Ready condition status",
            objects.clone(),
        );
        Self {
            registry,
            reconciles,
            failures,
            duration,
            aws_calls,
            drift,
            noop_writes,
            objects,
            ready_by_object: Mutex::new(HashMap::new()),
            aws_seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one finished reconcile. `failure` is the stable reason word of a failed one.
    pub fn reconciled(&self, kind: &str, elapsed: Duration, failure: Option<&str>) {
        let kind_labels = KindLabels {
            kind: kind.to_owned(),
        };
        self.reconciles.get_or_create(&kind_labels).inc();
        self.duration
            .get_or_create(&kind_labels)
            .observe(elapsed.as_secs_f64());
        if let Some(reason) = failure {
            self.failures
                .get_or_create(&FailureLabels {
                    kind: kind.to_owned(),
                    reason: reason.to_owned(),
                })
                .inc();
        }
    }

    /// Records that a reconcile put drifted AWS resources back.
    pub fn drift_corrected(&self, kind: &str) {
        self.drift
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Records that the writes of an object's previous reconcile changed nothing AWS shows.
    pub fn noop_writes(&self, kind: &str) {
        self.noop_writes
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Sets the Ready state of one object (`None` when the object is gone).
    pub fn set_ready(&self, kind: &str, key: &str, ready: Option<&str>) {
        let mut map = self
            .ready_by_object
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let id = (kind.to_owned(), key.to_owned());
        match ready {
            Some(state) => {
                map.insert(id, state.to_owned());
            }
            None => {
                map.remove(&id);
            }
        }
        let mut counts: HashMap<&str, i64> = READY_STATES.iter().map(|s| (*s, 0)).collect();
        for ((k, _), state) in map.iter() {
            if k == kind {
                *counts.entry(state.as_str()).or_default() += 1;
            }
        }
        for (state, count) in counts {
            self.objects
                .get_or_create(&ReadyLabels {
                    kind: kind.to_owned(),
                    ready: state.to_owned(),
                })
                .set(count);
        }
    }

    /// Brings the AWS call counters up to date with a cumulative snapshot taken from the AWS layer.
    /// Counters only move forward, so only the growth since the previous snapshot is added.
    pub fn sync_aws_calls(&self, snapshot: &BTreeMap<String, u64>) {
        let mut seen = self.aws_seen.lock().unwrap_or_else(|e| e.into_inner());
        for (api, total) in snapshot {
            let before = seen.get(api).copied().unwrap_or(0);
            if *total > before {
                self.aws_calls
                    .get_or_create(&ApiLabels { api: api.clone() })
                    .inc_by(*total - before);
            }
            seen.insert(api.clone(), (*total).max(before));
        }
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn reconciles_and_failures_are_counted_by_kind_and_reason() {
        let m = Metrics::new();
        m.reconciled("StateMachine", Duration::from_millis(20), None);
        m.reconciled(
            "StateMachine",
            Duration::from_millis(30),
            Some("InvalidDefinition"),
        );
        let text = m.encode();
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_reconciles_total{kind=\"StateMachine\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_reconcile_failures_total{kind=\"StateMachine\",reason=\"InvalidDefinition\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_reconcile_duration_seconds_count{kind=\"StateMachine\"}"
            ),
            Some(2.0)
        );
    }

    #[test]
    fn ready_gauge_follows_objects_not_transitions() {
        let m = Metrics::new();
        m.set_ready("Activity", "ns/a", Some("False"));
        m.set_ready("Activity", "ns/a", Some("True"));
        m.set_ready("Activity", "ns/b", Some("True"));
        m.set_ready("Activity", "ns/b", Some("True"));
        let text = m.encode();
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_objects{kind=\"Activity\",ready=\"True\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_objects{kind=\"Activity\",ready=\"False\"}"
            ),
            Some(0.0)
        );
        m.set_ready("Activity", "ns/a", None);
        let text = m.encode();
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_objects{kind=\"Activity\",ready=\"True\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn aws_calls_add_only_the_growth_between_snapshots() {
        let m = Metrics::new();
        let mut snap = BTreeMap::new();
        snap.insert("DescribeStateMachine".to_owned(), 3);
        m.sync_aws_calls(&snap);
        snap.insert("DescribeStateMachine".to_owned(), 5);
        snap.insert("GetRole".to_owned(), 1);
        m.sync_aws_calls(&snap);
        m.sync_aws_calls(&snap);
        let text = m.encode();
        assert_eq!(
            line_value(
                &text,
                "sfn_operator_aws_calls_total{api=\"DescribeStateMachine\"}"
            ),
            Some(5.0)
        );
        assert_eq!(
            line_value(&text, "sfn_operator_aws_calls_total{api=\"GetRole\"}"),
            Some(1.0)
        );
    }
}
