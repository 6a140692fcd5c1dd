//! How a run ended: one shape for scripts, per-host runs and batch commands.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::event::Outcome;

/// An error as a report shows it: its kind (when it is one of drover's error values), its
/// message and the Lua traceback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// `exit`, `unreachable`, `timeout`, `auth`, ... (see the README's error kinds); `None`
    /// for plain Lua errors.
    pub kind: Option<String>,
    /// The message (`file:line: text`).
    pub message: String,
    /// The traceback below the message, when there is one.
    pub traceback: Option<String>,
}

impl ErrorReport {
    /// Splits a rendered error (`message\nstack traceback:\n...`) into message and traceback.
    pub fn from_text(kind: Option<String>, text: &str) -> ErrorReport {
        match text.split_once("\nstack traceback:") {
            Some((message, rest)) => ErrorReport {
                kind,
                message: message.to_string(),
                traceback: Some(format!("stack traceback:{rest}")),
            },
            None => ErrorReport {
                kind,
                message: text.to_string(),
                traceback: None,
            },
        }
    }
}

impl std::fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.traceback {
            write!(f, "\n{t}")?;
        }
        Ok(())
    }
}

/// One host's part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    /// The host's name.
    pub host: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The exit code of its command (batch `exec`).
    pub code: Option<u32>,
    /// What its script returned (as JSON values; functions and userdata become strings).
    pub values: Vec<serde_json::Value>,
    /// Why it was not ok.
    pub error: Option<ErrorReport>,
    /// From its start to its end.
    pub elapsed: Duration,
}

/// A failure outside any host: a task nobody joined, or a script run without hosts.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The task's id (as `task.spawn(...):id()` shows it).
    pub task: u64,
    /// Whether it is the root task of the run (the script itself) rather than a task it
    /// spawned and never joined.
    pub root: bool,
    /// The error.
    pub error: ErrorReport,
}

/// How a run ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Per host, in the order the hosts were given (empty for a run without hosts).
    pub hosts: Vec<HostReport>,
    /// What the root task returned, for a run without hosts.
    pub values: Vec<serde_json::Value>,
    /// Failures outside any host, in task order.
    pub failures: Vec<Failure>,
    /// The caller cancelled the run.
    pub cancelled: bool,
    /// The run's time limit ran out (its tasks were cancelled).
    pub timed_out: Option<Duration>,
    /// The code a script gave `os.exit` to end the run.
    pub exit: Option<i32>,
}

impl RunReport {
    /// Every host ok, nothing failed outside the hosts, not cancelled or timed out, and no
    /// `os.exit` with a non-zero code.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
            && !self.cancelled
            && self.timed_out.is_none()
            && self.exit.unwrap_or(0) == 0
            && self.hosts.iter().all(|h| h.outcome == Outcome::Ok)
    }

    /// Hosts per outcome.
    pub fn outcomes(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for h in &self.hosts {
            *counts.entry(h.outcome).or_default() += 1;
        }
        counts
    }

    /// The report of `host`, if it was part of the run.
    pub fn host(&self, host: &str) -> Option<&HostReport> {
        self.hosts.iter().find(|h| h.host == host)
    }
}
