//! Service integration patterns (request-response, `.sync`, `.sync:2`, `.waitForTaskToken`): the suffix each
//! adds to a `Resource`. Its own module because the integration table, the task being granted and the
//! service files all name it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A service integration pattern ("Discover service integration patterns in Step Functions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Pattern {
    /// Call the API and continue with its response.
    RequestResponse,
    /// `.sync`: run a job and wait for it.
    Sync,
    /// `.sync:2`: Step Functions nested executions with parsed JSON output.
    Sync2,
    /// `.waitForTaskToken`: wait for a callback with the task token.
    WaitForTaskToken,
}

impl Pattern {
    /// The suffix this pattern adds to a `Resource`.
    pub fn suffix(self) -> &'static str {
        match self {
            Pattern::RequestResponse => "",
            Pattern::Sync => ".sync",
            Pattern::Sync2 => ".sync:2",
            Pattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }

    /// Whether Step Functions waits for a job (both `.sync` flavours).
    pub fn is_sync(self) -> bool {
        matches!(self, Pattern::Sync | Pattern::Sync2)
    }

    /// Splits `action.suffix` into the action and its pattern.
    pub fn split(action_with_suffix: &str) -> (&str, Pattern) {
        for (suffix, p) in [
            (".sync:2", Pattern::Sync2),
            (".sync", Pattern::Sync),
            (".waitForTaskToken", Pattern::WaitForTaskToken),
        ] {
            if let Some(a) = action_with_suffix.strip_suffix(suffix) {
                return (a, p);
            }
        }
        (action_with_suffix, Pattern::RequestResponse)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pattern::RequestResponse => "request-response",
            Pattern::Sync => ".sync",
            Pattern::Sync2 => ".sync:2",
            Pattern::WaitForTaskToken => ".waitForTaskToken",
        })
    }
}
