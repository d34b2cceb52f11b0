//! When to reconcile again: periodic resync (drift detection), per-object overrides by annotation, and
//! exponential backoff with jitter after transient failures.
//!
//! Jitter matters for both: a thousand objects created together would otherwise resync together and hit
//! the Step Functions API quotas in the same second, and retry together after a throttling burst.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// Annotation overriding the resync period of one object (`90s`, `15m`, `2h`, or plain seconds).
pub const RESYNC_PERIOD_ANNOTATION: &str = "sfn.operator.dev/resync-period";
/// Annotation whose every new value forces an immediate reconcile (a timestamp by convention).
pub const RECONCILE_REQUESTED_AT_ANNOTATION: &str = "sfn.operator.dev/reconcile-requested-at";

/// Default periodic resync.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(600);
/// Shortest resync accepted from an annotation, so one object cannot hammer AWS.
pub const MIN_RESYNC: Duration = Duration::from_secs(10);

/// Longest wait before retrying a missing reference (the watch on the referenced kind normally heals it first).
pub const REFERENCE_RETRY_MAX: Duration = Duration::from_secs(30);

/// Parses a duration such as `30s`, `15m`, `2h`, `1h30m` or plain seconds (`600`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !number.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// The resync period of an object: its annotation when valid, else the global default. An invalid annotation
/// falls back to the default (reported by the caller as a warning) rather than stopping the resync.
pub fn resync_period(annotation: Option<&str>, default: Duration) -> Result<Duration, String> {
    match annotation {
        None => Ok(default),
        Some(text) => match parse_duration(text) {
            Some(d) if d >= MIN_RESYNC => Ok(d),
            Some(_) => Err(format!(
                "annotation {RESYNC_PERIOD_ANNOTATION}={text:?} is below the minimum of {}s; using {}s",
                MIN_RESYNC.as_secs(),
                default.as_secs()
            )),
            None => Err(format!(
                "annotation {RESYNC_PERIOD_ANNOTATION}={text:?} is not a duration such as 30s, 15m or 2h; using {}s",
                default.as_secs()
            )),
        },
    }
}

/// Spreads `period` by up to ±10 % so that objects created together do not resync together.
pub fn jittered(period: Duration) -> Duration {
    let spread = period.as_secs_f64() * 0.1;
    let offset = rand::rng().random_range(-spread..=spread);
    Duration::from_secs_f64((period.as_secs_f64() + offset).max(1.0))
}

/// The requeue after the client-side rate limit refused a call: when its token is free (the limiter
/// already spaces the refused callers one token apart), plus a little jitter (a tenth, at least a second)
/// so that objects told the same time by separate replicas or restarts do not return in the same instant.
pub fn after_rate_limit(retry_after: Duration) -> Duration {
    let spread = (retry_after.as_secs_f64() / 10.0).max(1.0);
    let extra = rand::rng().random_range(0.0..=spread);
    retry_after + Duration::from_secs_f64(extra)
}

/// Exponential backoff with full jitter, bounded.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay after `failures` consecutive failures (1 = first failure).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }

    /// A delay drawn between half the ceiling and the ceiling: jittered, yet never a near-zero retry.
    pub fn delay(&self, failures: u32) -> Duration {
        let ceiling = self.ceiling(failures).as_secs_f64();
        let secs = rand::rng().random_range(ceiling / 2.0..=ceiling);
        Duration::from_secs_f64(secs)
    }
}

/// Consecutive failures per object, reset by a success.
#[derive(Debug, Default)]
pub struct FailureCounter {
    counts: Mutex<HashMap<String, u32>>,
}

impl FailureCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one more failure of `key` and returns the new count.
    pub fn failed(&self, key: &str) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(key.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    pub fn succeeded(&self, key: &str) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_usual_forms() {
        assert_eq!(parse_duration("600"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("10m5"), None);
    }

    #[test]
    fn resync_annotation_overrides_default_within_bounds() {
        let d = DEFAULT_RESYNC;
        assert_eq!(resync_period(None, d), Ok(d));
        assert_eq!(resync_period(Some("2m"), d), Ok(Duration::from_secs(120)));
        let too_short = resync_period(Some("1s"), d).unwrap_err();
        assert!(too_short.contains("below the minimum"), "{too_short}");
        let garbage = resync_period(Some("soon"), d).unwrap_err();
        assert!(garbage.contains(RESYNC_PERIOD_ANNOTATION), "{garbage}");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..200 {
            let j = jittered(Duration::from_secs(600)).as_secs_f64();
            assert!((540.0..=660.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_and_is_bounded() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(1), Duration::from_secs(2));
        assert_eq!(b.ceiling(2), Duration::from_secs(4));
        assert_eq!(b.ceiling(5), Duration::from_secs(32));
        assert_eq!(b.ceiling(50), Duration::from_secs(300));
        for n in 1..12 {
            let d = b.delay(n);
            assert!(d <= b.ceiling(n) && d >= b.ceiling(n) / 2, "{n}: {d:?}");
        }
    }

    #[test]
    fn failure_counter_resets_on_success() {
        let c = FailureCounter::new();
        assert_eq!(c.failed("ns/a"), 1);
        assert_eq!(c.failed("ns/a"), 2);
        assert_eq!(c.failed("ns/b"), 1);
        c.succeeded("ns/a");
        assert_eq!(c.failed("ns/a"), 1);
    }
}
