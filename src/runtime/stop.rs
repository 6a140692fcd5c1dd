//! How a caller stops a run: a [`Stop`] it shares with the runtime and triggers with the
//! reason (the CLI does on SIGINT, SIGTERM and SIGHUP). A run that sees it starts no new hosts,
//! cancels its running tasks (their remote commands get TERM), and reports the reason; ending
//! the process, or a harder stop on a second signal, is the caller's business. The library
//! installs no signal handler itself.

use std::sync::Mutex;

use tokio::sync::Notify;

pub use crate::report::StopSignal;

/// A stop request, shared between whoever asks (any thread) and the run that obeys.
#[derive(Default)]
pub struct Stop {
    reason: Mutex<Option<StopSignal>>,
    requested: Notify,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("reason", &self.reason())
            .finish()
    }
}

impl Stop {
    /// Asks the run to stop because of `reason`; the first reason given is kept.
    pub fn request(&self, reason: StopSignal) {
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            *r = Some(reason);
        }
        drop(r);
        self.requested.notify_waiters();
    }

    /// Why the run was asked to stop, if it was.
    pub fn reason(&self) -> Option<StopSignal> {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a stop is requested (at once if it already was).
    pub async fn requested(&self) {
        loop {
            // Created before the check: it receives a notify_waiters that comes in between.
            let notified = self.requested.notified();
            if self.reason().is_some() {
                return;
            }
            notified.await;
        }
    }
}
