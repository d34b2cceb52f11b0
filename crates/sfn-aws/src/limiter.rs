//! Client-side rate limiting and call counting, per AWS API.
//!
//! Step Functions throttles each control-plane API with its own token bucket per account and region
//! (for example DescribeStateMachine and CreateStateMachine have different bucket sizes and refill rates;
//! see "Quotas related to API action throttling" in the Step Functions developer guide). A thousand
//! objects resyncing at once must not drain those buckets for every other user of the account, so every
//! call first takes a token from a local bucket of the same shape. The SDK's standard retry mode (backoff
//! with jitter) handles the throttling that still happens; see [`crate::retry_config`] for why not the
//! adaptive one.
//!
//! Every call is also counted, so tests and the cost benchmark can assert how many reads and writes a
//! reconcile makes.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Size and refill rate of one token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Calls that may be made at once after a quiet period.
    pub burst: f64,
    /// Calls per second in the long run.
    pub per_second: f64,
}

/// Client-side rate limits: a default bucket per API plus overrides by API name (`"sfn:CreateStateMachine"`).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    pub default: Bucket,
    pub per_api: BTreeMap<String, Bucket>,
}

impl Default for RateLimits {
    /// Conservative buckets: control-plane writes (create, update, delete) slow and steady, reads faster.
    /// They stay below the per-API defaults of "Quotas related to API action throttling" in the Step
    /// Functions developer guide, leaving room for everyone else in the account; an account with raised
    /// quotas can widen them with [`RateLimits::with_overrides`].
    fn default() -> Self {
        let b = |burst, per_second| Bucket { burst, per_second };
        RateLimits {
            default: b(50.0, 5.0),
            per_api: BTreeMap::from([
                ("sfn:CreateStateMachine".to_string(), b(50.0, 0.5)),
                ("sfn:UpdateStateMachine".to_string(), b(50.0, 0.5)),
                ("sfn:DeleteStateMachine".to_string(), b(50.0, 0.5)),
                ("sfn:CreateActivity".to_string(), b(50.0, 0.5)),
                ("sfn:DeleteActivity".to_string(), b(50.0, 0.5)),
                ("sfn:DescribeStateMachine".to_string(), b(100.0, 10.0)),
                ("sfn:ListTagsForResource".to_string(), b(100.0, 10.0)),
                // The execution summary's one listing per machine and resync needs no more than this, and
                // it leaves most of the account's ListExecutions quota to the people and tools listing
                // executions themselves.
                ("sfn:ListExecutions".to_string(), b(50.0, 1.0)),
                // AWS: bucket 100, refill 1/s (the same as the control-plane writes).
                (
                    "sfn:ValidateStateMachineDefinition".to_string(),
                    b(50.0, 0.5),
                ),
            ]),
        }
    }
}

impl RateLimits {
    /// No limit at all (tests).
    pub fn unlimited() -> Self {
        RateLimits {
            default: Bucket {
                burst: f64::INFINITY,
                per_second: f64::INFINITY,
            },
            per_api: BTreeMap::new(),
        }
    }
}

/// A rate limit specification that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rate limit {entry:?}: {reason} (expected API=PER_SECOND[/BURST], e.g. sfn:CreateStateMachine=1/20)"
)]
pub struct RateLimitParseError {
    pub entry: String,
    pub reason: String,
}

impl RateLimits {
    /// Overrides from a comma-separated list of `API=PER_SECOND[/BURST]` (burst defaults to ten seconds'
    /// worth), where `API` is `service:Action` as in the call counters or `default`. For a flag or an
    /// environment variable, so that an account with raised (or shared) quotas can be matched.
    pub fn with_overrides(mut self, spec: &str) -> Result<Self, RateLimitParseError> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let err = |reason: &str| RateLimitParseError {
                entry: entry.to_string(),
                reason: reason.to_string(),
            };
            let (api, value) = entry.split_once('=').ok_or_else(|| err("missing '='"))?;
            let (rate, burst) = match value.split_once('/') {
                Some((r, b)) => (r, Some(b)),
                None => (value, None),
            };
            let per_second: f64 = rate
                .trim()
                .parse()
                .map_err(|_| err("the rate is not a number"))?;
            let burst: f64 = match burst {
                Some(b) => b
                    .trim()
                    .parse()
                    .map_err(|_| err("the burst is not a number"))?,
                None => (per_second * 10.0).max(1.0),
            };
            if !(per_second > 0.0 && burst >= 1.0) {
                return Err(err("the rate must be positive and the burst at least 1"));
            }
            let bucket = Bucket { burst, per_second };
            match api.trim() {
                "default" => self.default = bucket,
                name if name.contains(':') => {
                    self.per_api.insert(name.to_string(), bucket);
                }
                _ => return Err(err("the API must be `default` or `service:Action`")),
            }
        }
        Ok(self)
    }
}

#[derive(Debug)]
struct BucketState {
    bucket: Bucket,
    tokens: f64,
    updated: Instant,
    /// When the next refused caller should come back: each refusal is told a later time, one token
    /// apart, so that a thousand callers refused together return one by one as tokens refill instead
    /// of all at once (and all refused again).
    next_retry: Instant,
}

/// The token buckets of all APIs.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<BTreeMap<&'static str, BucketState>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            limits,
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes a token for `api`, waiting as long as the bucket needs to refill, but no longer than
    /// `max_wait` (`None`: as long as it takes). When the token would come later than that, no token is
    /// taken and the error says how long until one is free, so the caller can give its slot to other work
    /// and come back instead of sleeping on it.
    pub async fn acquire(
        &self,
        api: &'static str,
        max_wait: Option<Duration>,
    ) -> Result<(), RateLimitWait> {
        if let Some(wait) = self.reserve(api, Instant::now(), max_wait)? {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Takes a token now (possibly driving the bucket negative, which queues later callers behind this
    /// one) and returns how long the caller must wait before using it. A caller that would wait longer
    /// than `max_wait` takes nothing: leaving the bucket alone keeps the callers that do wait from being
    /// pushed further back by ones that will not use their token; instead it is given a time to come back
    /// after the callers refused before it.
    fn reserve(
        &self,
        api: &'static str,
        now: Instant,
        max_wait: Option<Duration>,
    ) -> Result<Option<Duration>, RateLimitWait> {
        let bucket = self
            .limits
            .per_api
            .get(api)
            .copied()
            .unwrap_or(self.limits.default);
        if bucket.per_second.is_infinite() {
            return Ok(None);
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let state = buckets.entry(api).or_insert(BucketState {
            bucket,
            tokens: bucket.burst,
            updated: now,
            next_retry: now,
        });
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * state.bucket.per_second).min(state.bucket.burst);
        state.updated = now;
        let after = state.tokens - 1.0;
        if after >= 0.0 {
            state.tokens = after;
            return Ok(None);
        }
        let wait = Duration::from_secs_f64(-after / state.bucket.per_second.max(f64::MIN_POSITIVE));
        match max_wait {
            Some(bound) if wait > bound => {
                let at = state.next_retry.max(now + wait);
                state.next_retry =
                    at + Duration::from_secs_f64(1.0 / state.bucket.per_second.max(1e-9));
                Err(RateLimitWait {
                    retry_after: at - now,
                })
            }
            _ => {
                state.tokens = after;
                Ok(Some(wait))
            }
        }
    }
}

/// The token for a call would only be free after the caller's longest acceptable wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitWait {
    /// How long until the bucket has a token for this caller: after the callers already waiting and
    /// those refused before it (if nobody else takes the token first).
    pub retry_after: Duration,
}

/// Calls made, by API name (`"sfn:DescribeStateMachine"`).
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

/// A copy of the counters at one moment; subtract two to get the calls in between.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounts(pub BTreeMap<&'static str, u64>);

impl CallCounter {
    pub fn record(&self, api: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(api)
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> CallCounts {
        CallCounts(
            self.counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// Whether an API name is a read (Describe/Get/List, Validate, which looks at a definition, and
/// `sts:AssumeRole`: none of them changes anything) rather than a write.
pub fn is_read_api(api: &str) -> bool {
    let action = api.rsplit(':').next().unwrap_or(api);
    // Assuming an identity's role creates a session, not a resource: nothing in the account changes.
    api == "sts:AssumeRole"
        || ["Describe", "Get", "List", "Validate"]
            .iter()
            .any(|p| action.starts_with(p))
}

impl CallCounts {
    /// The calls made since `earlier`.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        CallCounts(
            self.0
                .iter()
                .filter_map(|(api, n)| {
                    let d = n - earlier.0.get(api).copied().unwrap_or(0);
                    (d > 0).then_some((*api, d))
                })
                .collect(),
        )
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn reads(&self) -> u64 {
        self.0
            .iter()
            .filter(|(api, _)| is_read_api(api))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn writes(&self) -> u64 {
        self.total() - self.reads()
    }

    pub fn get(&self, api: &str) -> u64 {
        self.0.get(api).copied().unwrap_or(0)
    }
}

impl std::fmt::Display for CallCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "{}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_paces() {
        let limiter = RateLimiter::new(RateLimits {
            default: Bucket {
                burst: 2.0,
                per_second: 10.0,
            },
            per_api: BTreeMap::new(),
        });
        let t0 = Instant::now();
        assert_eq!(limiter.reserve("a", t0, None).unwrap(), None);
        assert_eq!(limiter.reserve("a", t0, None).unwrap(), None);
        let wait = limiter.reserve("a", t0, None).unwrap().unwrap();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        // A second caller queues behind the first.
        let wait = limiter.reserve("a", t0, None).unwrap().unwrap();
        assert!((wait.as_secs_f64() - 0.2).abs() < 1e-6, "{wait:?}");
        // Other APIs have their own bucket.
        assert_eq!(limiter.reserve("b", t0, None).unwrap(), None);
        // After a second the bucket is full again (capped at the burst).
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(limiter.reserve("a", t1, None).unwrap(), None);
        assert_eq!(limiter.reserve("a", t1, None).unwrap(), None);
        assert!(limiter.reserve("a", t1, None).unwrap().is_some());
    }

    fn slow_limiter() -> RateLimiter {
        RateLimiter::new(RateLimits {
            default: Bucket {
                burst: 1.0,
                per_second: 0.5,
            },
            per_api: BTreeMap::new(),
        })
    }

    #[test]
    fn bounded_wait_refuses_without_taking_a_token() {
        let limiter = slow_limiter();
        let bound = Some(Duration::from_secs(2));
        let t0 = Instant::now();
        assert_eq!(limiter.reserve("a", t0, bound), Ok(None));
        // The next token is 2 s away: within the bound, so the caller waits for it.
        let wait = limiter.reserve("a", t0, bound).unwrap().unwrap();
        assert!((wait.as_secs_f64() - 2.0).abs() < 1e-6, "{wait:?}");
        // The one after is 4 s away: refused, with the time until it is free.
        let refused = limiter.reserve("a", t0, bound).unwrap_err();
        assert!(
            (refused.retry_after.as_secs_f64() - 4.0).abs() < 1e-6,
            "{refused:?}"
        );
        // The next refused caller is told to come back one token (2 s) later, and so on.
        let second = limiter.reserve("a", t0, bound).unwrap_err();
        assert!(
            (second.retry_after.as_secs_f64() - 6.0).abs() < 1e-6,
            "{second:?}"
        );
        let third = limiter.reserve("a", t0, bound).unwrap_err();
        assert!(
            (third.retry_after.as_secs_f64() - 8.0).abs() < 1e-6,
            "{third:?}"
        );
        // Refusals take no token: when the refused callers come back at their times, each finds one.
        for r in [refused, second, third] {
            let wait = limiter.reserve("a", t0 + r.retry_after, bound).unwrap();
            assert_eq!(wait, None, "{r:?}");
        }
        // Once the promised times are past, a refusal is again counted from the bucket alone.
        let t1 = t0 + Duration::from_secs(8);
        assert_eq!(
            limiter.reserve("a", t1 + Duration::from_secs(2), bound),
            Ok(None)
        );
        let wait = limiter
            .reserve("a", t1 + Duration::from_secs(2), bound)
            .unwrap();
        assert!(
            wait.is_some_and(|w| (w.as_secs_f64() - 2.0).abs() < 1e-6),
            "{wait:?}"
        );
        let refused = limiter
            .reserve("a", t1 + Duration::from_secs(2), bound)
            .unwrap_err();
        assert!(
            (refused.retry_after.as_secs_f64() - 4.0).abs() < 1e-6,
            "{refused:?}"
        );
    }

    #[test]
    fn unbounded_wait_queues_instead_of_refusing() {
        let limiter = slow_limiter();
        let t0 = Instant::now();
        assert_eq!(limiter.reserve("a", t0, None), Ok(None));
        for n in 1..=5 {
            let wait = limiter.reserve("a", t0, None).unwrap().unwrap();
            assert!(
                (wait.as_secs_f64() - 2.0 * n as f64).abs() < 1e-6,
                "{wait:?}"
            );
        }
    }

    #[tokio::test]
    async fn acquire_sleeps_within_the_bound_and_errs_beyond_it() {
        // Real time, so a fast bucket: one token every 100 ms.
        let limiter = RateLimiter::new(RateLimits {
            default: Bucket {
                burst: 1.0,
                per_second: 10.0,
            },
            per_api: BTreeMap::new(),
        });
        let bound = Some(Duration::from_millis(150));
        limiter.acquire("a", bound).await.unwrap();
        let start = Instant::now();
        limiter.acquire("a", bound).await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
        // The bucket is empty again: an unbounded caller sleeps for its token; a bounded one queued behind
        // it would need ~200 ms and is refused at once. `join!` polls in order, so the unbounded caller
        // reserves first.
        let start = Instant::now();
        let (unbounded, bounded) = tokio::join!(limiter.acquire("a", None), async {
            let r = limiter.acquire("a", bound).await;
            (r, start.elapsed())
        });
        assert_eq!(unbounded, Ok(()));
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
        let (refused, refused_after) = bounded;
        assert!(
            refused_after < Duration::from_millis(50),
            "{refused_after:?}"
        );
        let retry_after = refused.unwrap_err().retry_after;
        assert!(
            retry_after > Duration::from_millis(150) && retry_after <= Duration::from_millis(200),
            "{retry_after:?}"
        );
    }

    #[test]
    fn overrides_parse() {
        let limits = RateLimits::default()
            .with_overrides("sfn:CreateStateMachine=2/30, default=8")
            .unwrap();
        assert_eq!(
            limits.per_api["sfn:CreateStateMachine"],
            Bucket {
                burst: 30.0,
                per_second: 2.0
            }
        );
        assert_eq!(
            limits.default,
            Bucket {
                burst: 80.0,
                per_second: 8.0
            }
        );
        assert_eq!(limits.per_api["sfn:DescribeStateMachine"].per_second, 10.0);
        let err = RateLimits::default()
            .with_overrides("sfn:X=fast")
            .unwrap_err();
        assert!(err.to_string().contains("sfn:X=fast"), "{err}");
        assert!(
            RateLimits::default()
                .with_overrides("CreateStateMachine=1")
                .is_err()
        );
        assert!(RateLimits::default().with_overrides("default=0").is_err());
        assert_eq!(
            RateLimits::default().with_overrides("").unwrap(),
            RateLimits::default()
        );
    }

    #[test]
    fn counts_split_reads_and_writes() {
        let c = CallCounter::default();
        c.record("sfn:DescribeStateMachine");
        let before = c.snapshot();
        c.record("sfn:DescribeStateMachine");
        c.record("iam:GetRole");
        c.record("sfn:UpdateStateMachine");
        let d = c.snapshot().since(&before);
        assert_eq!(d.reads(), 2);
        assert_eq!(d.writes(), 1);
        assert_eq!(d.get("iam:GetRole"), 1);
        assert_eq!(
            d.to_string(),
            "iam:GetRole=1 sfn:DescribeStateMachine=1 sfn:UpdateStateMachine=1"
        );
    }
}
