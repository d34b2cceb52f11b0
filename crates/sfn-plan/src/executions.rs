//! The summary of a state machine's recent executions (`status.executions`), from what one sample read.
//! Pure: the AWS layer lists the executions and describes at most one, this module decides what the
//! summary says and which reads it still needs.
//!
//! A sample is one page of the newest executions ([`PAGE_SIZE`], newest first as `ListExecutions` returns
//! them), plus, only when that page is full and holds no failure, the newest FAILED execution beyond it.
//! Everything counted comes from the page, so when more executions exist the counts are lower bounds
//! (`truncated`). The last failure is the one that ended last among the page, the older FAILED one and
//! the previous summary's (kept while it may still be true: it is beyond the page, not seen with another
//! status). Its error and cause come from the previous summary when it is the same execution, so
//! `DescribeExecution` is needed only for a failure the status does not describe yet.

use jiff::{SignedDuration, Timestamp};
use sfn_api::executions::{
    ExecutionsStatus, FAILURE_STATUSES, FailedExecution, RUNNING_STATUSES, StartedExecution,
    shorten_cause,
};
use sfn_api::status::format_time;

/// Executions read in one sample (one `ListExecutions` page; AWS allows up to 1000).
pub const PAGE_SIZE: i32 = 100;

/// How far back `failuresLastHour` looks from the time of the sample.
pub const FAILURE_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// One execution as `ListExecutions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub arn: String,
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE.
    pub status: String,
    pub start: Timestamp,
    pub stop: Option<Timestamp>,
}

impl Listed {
    /// Whether it ended as a failure (FAILED, TIMED_OUT or ABORTED).
    pub fn is_failure(&self) -> bool {
        is_failure(&self.status)
    }

    /// When it ended, or when it started for an end AWS did not report.
    fn ended(&self) -> Timestamp {
        self.stop.unwrap_or(self.start)
    }
}

fn is_failure(status: &str) -> bool {
    FAILURE_STATUSES.contains(&status)
}

/// The first page of a sample.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Newest first.
    pub executions: Vec<Listed>,
    /// AWS returned a next token: older executions exist that were not read.
    pub more: bool,
}

impl Page {
    /// Whether to look beyond the page for the newest FAILED execution: the page is full and holds no
    /// failure. A page that holds everything, or a failure, answers the question by itself.
    pub fn needs_older_failure(&self) -> bool {
        self.more && !self.executions.iter().any(Listed::is_failure)
    }
}

/// A summary, and the execution to describe for its error and cause, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub status: ExecutionsStatus,
    /// The ARN of `status.last_failed`, when the previous summary did not describe that execution.
    pub describe: Option<String>,
}

impl Summary {
    /// Fills in the error and cause `DescribeExecution` gave for the last failure.
    pub fn with_detail(mut self, error: Option<&str>, cause: Option<&str>) -> ExecutionsStatus {
        if let Some(failed) = self.status.last_failed.as_mut() {
            failed.error = error.map(str::to_owned);
            failed.cause = cause.map(shorten_cause);
        }
        self.describe = None;
        self.status
    }
}

/// The summary of a sample taken at `now`: `page` (the newest executions), `older_failure` (the newest
/// FAILED execution when [`Page::needs_older_failure`] asked for it) and `previous` (the summary in the
/// status before, for this same state machine).
pub fn summarize(
    page: &Page,
    older_failure: Option<&Listed>,
    previous: Option<&ExecutionsStatus>,
    now: Timestamp,
) -> Summary {
    let since = now - FAILURE_WINDOW;
    let count = |pred: &dyn Fn(&Listed) -> bool| {
        u32::try_from(page.executions.iter().filter(|e| pred(e)).count()).unwrap_or(u32::MAX)
    };
    let running = count(&|e| RUNNING_STATUSES.contains(&e.status.as_str()));
    let failures_last_hour = count(&|e| e.is_failure() && e.ended() >= since);
    // The newest start; AWS lists newest first, the first of equal starts wins.
    let last_started = page
        .executions
        .iter()
        .fold(None::<&Listed>, |best, e| match best {
            Some(b) if b.start >= e.start => Some(b),
            _ => Some(e),
        })
        .map(|e| StartedExecution {
            name: e.name.clone(),
            status: e.status.clone(),
            start_time: format_time(e.start),
        });

    // The failure that ended last among what was read.
    let fresh = page
        .executions
        .iter()
        .filter(|e| e.is_failure())
        .chain(older_failure.filter(|e| e.is_failure()))
        .fold(None::<&Listed>, |best, e| match best {
            Some(b) if b.ended() >= e.ended() => Some(b),
            _ => Some(e),
        });
    let kept = previous
        .and_then(|p| p.last_failed.as_ref())
        .filter(|p| still_failed(p, page));
    let previous_failed = previous.and_then(|p| p.last_failed.as_ref());

    let (last_failed, describe) = match (fresh, kept) {
        (None, None) => (None, None),
        (None, Some(kept)) => (Some(kept.clone()), None),
        (Some(fresh), kept) => {
            let kept_is_later = kept.is_some_and(|k| {
                k.name != fresh.name && parse_time(k.stop_time.as_deref()) > Some(fresh.ended())
            });
            if let (true, Some(kept)) = (kept_is_later, kept) {
                (Some(kept.clone()), None)
            } else {
                let known =
                    previous_failed.filter(|p| p.name == fresh.name && p.status == fresh.status);
                let failed = FailedExecution {
                    name: fresh.name.clone(),
                    status: fresh.status.clone(),
                    error: known.and_then(|k| k.error.clone()),
                    cause: known.and_then(|k| k.cause.clone()),
                    stop_time: fresh.stop.map(format_time),
                };
                let describe = known.is_none().then(|| fresh.arn.clone());
                (Some(failed), describe)
            }
        }
    };

    Summary {
        status: ExecutionsStatus {
            running,
            failures_last_hour,
            truncated: page.more,
            read: u32::try_from(page.executions.len()).unwrap_or(u32::MAX),
            last_started,
            last_failed,
        },
        describe,
    }
}

/// Whether a failure the previous summary named may still be the last one: it is not in the page with
/// another status (a redrive makes it run again), and if it is not in the page at all, the page did not
/// hold every execution (otherwise it is gone: the machine was recreated, or AWS no longer lists it).
fn still_failed(previous: &FailedExecution, page: &Page) -> bool {
    match page.executions.iter().find(|e| e.name == previous.name) {
        Some(e) => e.status == previous.status,
        None => page.more,
    }
}

fn parse_time(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed time of every sample below.
    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn ago(minutes: i64) -> Timestamp {
        now() - SignedDuration::from_mins(minutes)
    }

    fn run(name: &str, status: &str, started_min_ago: i64, stopped_min_ago: Option<i64>) -> Listed {
        Listed {
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:m:{name}"),
            name: name.into(),
            status: status.into(),
            start: ago(started_min_ago),
            stop: stopped_min_ago.map(ago),
        }
    }

    fn page(executions: Vec<Listed>, more: bool) -> Page {
        Page { executions, more }
    }

    #[test]
    fn no_executions_is_an_empty_exact_summary() {
        let s = summarize(&Page::default(), None, None, now());
        assert_eq!(s.status, ExecutionsStatus::default());
        assert_eq!(s.describe, None);
        assert!(!Page::default().needs_older_failure());
    }

    #[test]
    fn a_table_of_executions_is_counted() {
        // (executions, running, failures in the last hour, last started, last failed)
        type Case = (
            Vec<Listed>,
            u32,
            u32,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (vec![run("a", "RUNNING", 1, None)], 1, 0, Some("a"), None),
            (
                vec![
                    run("c", "PENDING_REDRIVE", 2, None),
                    run("b", "SUCCEEDED", 5, Some(4)),
                    run("a", "RUNNING", 90, None),
                ],
                2,
                0,
                Some("c"),
                None,
            ),
            (
                vec![
                    run("d", "SUCCEEDED", 1, Some(0)),
                    run("c", "TIMED_OUT", 10, Some(5)),
                    run("b", "ABORTED", 20, Some(2)),
                    run("a", "FAILED", 200, Some(150)),
                ],
                0,
                2,
                Some("d"),
                Some("b"),
            ),
        ];
        for (executions, running, failures, started, failed) in cases {
            let s = summarize(&page(executions.clone(), false), None, None, now());
            let names: Vec<&str> = executions.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(s.status.running, running, "{names:?}");
            assert_eq!(s.status.failures_last_hour, failures, "{names:?}");
            assert_eq!(
                s.status.last_started.as_ref().map(|e| e.name.as_str()),
                started
            );
            assert_eq!(
                s.status.last_failed.as_ref().map(|e| e.name.as_str()),
                failed,
                "{names:?}"
            );
            assert_eq!(s.status.read as usize, executions.len());
            assert!(!s.status.truncated);
        }
    }

    #[test]
    fn the_hour_is_counted_from_the_stop_time_and_includes_its_edge() {
        let edge = Listed {
            stop: Some(now() - FAILURE_WINDOW),
            ..run("edge", "FAILED", 120, None)
        };
        let just_out = Listed {
            stop: Some(now() - FAILURE_WINDOW - SignedDuration::from_secs(1)),
            ..run("out", "FAILED", 120, None)
        };
        // Started long ago, ended a minute ago: within the hour.
        let long = run("long", "TIMED_OUT", 600, Some(1));
        let s = summarize(&page(vec![edge, just_out, long], false), None, None, now());
        assert_eq!(s.status.failures_last_hour, 2);
        // The last failure is the one that ended last, not the one that started last.
        assert_eq!(s.status.last_failed.unwrap().name, "long");
    }

    #[test]
    fn a_full_page_makes_the_counts_lower_bounds() {
        let many: Vec<Listed> = (0..PAGE_SIZE as i64)
            .map(|n| run(&format!("r{n}"), "RUNNING", n, None))
            .collect();
        let full = page(many, true);
        assert!(full.needs_older_failure(), "no failure in a full page");
        let s = summarize(&full, None, None, now());
        assert!(s.status.truncated);
        assert_eq!(s.status.running, PAGE_SIZE as u32);
        assert_eq!(s.status.read, PAGE_SIZE as u32);
        assert_eq!(s.status.last_started.unwrap().name, "r0");

        // A failure in the page answers the question without the second read.
        let with_failure = page(vec![run("f", "FAILED", 3, Some(2))], true);
        assert!(!with_failure.needs_older_failure());
        // A page that holds everything needs nothing else either.
        assert!(!page(vec![run("a", "SUCCEEDED", 3, Some(2))], false).needs_older_failure());
    }

    #[test]
    fn an_older_failure_beyond_the_page_is_the_last_failed_but_not_counted_in_the_hour() {
        let full = page(vec![run("new", "SUCCEEDED", 1, Some(0))], true);
        let older = run("old", "FAILED", 30, Some(20));
        let s = summarize(&full, Some(&older), None, now());
        let failed = s.status.last_failed.clone().expect("the older failure");
        assert_eq!(failed.name, "old");
        assert_eq!(failed.stop_time.as_deref(), Some("2026-03-01T11:40:00Z"));
        assert_eq!(s.status.failures_last_hour, 0, "only the page is counted");
        assert_eq!(s.describe.as_deref(), Some(older.arn.as_str()));

        let described = s.with_detail(Some("States.TaskFailed"), Some("boom"));
        let failed = described.last_failed.unwrap();
        assert_eq!(failed.error.as_deref(), Some("States.TaskFailed"));
        assert_eq!(failed.cause.as_deref(), Some("boom"));
    }

    #[test]
    fn the_previous_description_is_reused_for_the_same_execution() {
        let p = page(vec![run("f", "FAILED", 10, Some(9))], false);
        let first = summarize(&p, None, None, now()).with_detail(Some("E"), Some("C"));
        let again = summarize(
            &p,
            None,
            Some(&first),
            now() + SignedDuration::from_mins(10),
        );
        assert_eq!(again.describe, None, "no second DescribeExecution");
        assert_eq!(
            again.status, first,
            "an unchanged sample is the same summary"
        );
        // Another failure needs describing.
        let newer = page(
            vec![
                run("g", "ABORTED", 2, Some(1)),
                run("f", "FAILED", 10, Some(9)),
            ],
            false,
        );
        let next = summarize(&newer, None, Some(&first), now());
        assert_eq!(next.status.last_failed.as_ref().unwrap().name, "g");
        assert_eq!(next.status.last_failed.as_ref().unwrap().error, None);
        assert!(next.describe.unwrap().ends_with(":g"));
    }

    #[test]
    fn a_previous_failure_is_kept_only_while_it_can_still_be_true() {
        let p = page(vec![run("f", "TIMED_OUT", 50, Some(40))], false);
        let previous = summarize(&p, None, None, now()).with_detail(Some("States.Timeout"), None);

        // Pushed out of a full page by successes, and no FAILED beyond it: still the last one known.
        let pushed = page(vec![run("s", "SUCCEEDED", 1, Some(0))], true);
        let s = summarize(&pushed, None, Some(&previous), now());
        assert_eq!(s.status.last_failed, previous.last_failed);
        assert_eq!(s.describe, None);

        // An older FAILED that ended before it does not replace it.
        let older = run("o", "FAILED", 300, Some(200));
        let s = summarize(&pushed, Some(&older), Some(&previous), now());
        assert_eq!(s.status.last_failed, previous.last_failed);

        // Every execution was read and it is not among them: gone.
        let all = page(vec![run("s", "SUCCEEDED", 1, Some(0))], false);
        assert_eq!(
            summarize(&all, None, Some(&previous), now())
                .status
                .last_failed,
            None
        );

        // Redriven: listed again as RUNNING, so no longer a failure.
        let redriven = page(vec![run("f", "RUNNING", 50, None)], true);
        let s = summarize(&redriven, None, Some(&previous), now());
        assert_eq!(s.status.last_failed, None);
        assert_eq!(s.status.running, 1);
    }
}
