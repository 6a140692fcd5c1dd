//! Remote clean-ups that outlive the future that needed them: a cancelled command's TERM and
//! channel close, an abandoned upload's temp or staging file. Drop guards cannot await, so they
//! hand the work to [`Cleanups::spawn`]; whoever ends a run calls [`Cleanups::drain`] so the
//! process does not exit (and drop the connections) before those requests reached the hosts.
//!
//! Each [`SshContext`](super::SshContext) has its own [`Cleanups`]; every session connected
//! through it spawns there, so draining one runtime's clean-ups never waits for another's.

use std::future::Future;
use std::time::Duration;

use tokio_util::task::TaskTracker;

/// The clean-ups of one context (cheap to clone: clones share the same set).
#[derive(Clone, Default)]
pub(crate) struct Cleanups {
    tracker: TaskTracker,
}

impl Cleanups {
    /// Runs `work` on the tokio runtime of the caller, tracked until it ends.
    pub(crate) fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(work);
    }

    /// Runs `work` on `runtime`, tracked until it ends (for drop guards that may run outside
    /// any runtime's context).
    pub(crate) fn spawn_on<F>(&self, work: F, runtime: &tokio::runtime::Handle)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn_on(work, runtime);
    }

    /// Clean-ups spawned and not yet finished.
    pub(crate) fn pending(&self) -> usize {
        self.tracker.len()
    }

    /// Waits until every clean-up spawned so far has finished, at most `limit`; says whether
    /// all did. Clean-ups spawned meanwhile are waited for too.
    pub(crate) async fn drain(&self, limit: Duration) -> bool {
        self.tracker.close();
        let done = tokio::time::timeout(limit, self.tracker.wait())
            .await
            .is_ok();
        self.tracker.reopen();
        done
    }
}

impl std::fmt::Debug for Cleanups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleanups")
            .field("pending", &self.pending())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_one_set_does_not_wait_for_another() {
        let (a, b) = (Cleanups::default(), Cleanups::default());
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        b.spawn(async move {
            let _ = held.await;
        });
        a.spawn(async {});
        assert!(
            a.drain(Duration::from_secs(5)).await,
            "a's own clean-up ends"
        );
        assert_eq!(a.pending(), 0);
        assert_eq!(b.pending(), 1, "b's clean-up is still running");
        assert!(!b.drain(Duration::from_millis(20)).await, "b's is held");
        let _ = release.send(());
        assert!(b.drain(Duration::from_secs(5)).await);
    }
}
