//! Remote clean-ups that outlive the future that needed them: a cancelled command's TERM and
//! channel close, an abandoned upload's temp or staging file. Drop guards cannot await, so they
//! hand the work to [`spawn`]; whoever ends a run calls [`drain`] so the process does not exit
//! (and drop the connections) before those requests reached the hosts.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio_util::task::TaskTracker;

fn tracker() -> &'static TaskTracker {
    static TRACKER: OnceLock<TaskTracker> = OnceLock::new();
    TRACKER.get_or_init(TaskTracker::new)
}

/// Runs `work` on the tokio runtime of the caller, tracked until it ends.
pub fn spawn<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    tracker().spawn(work);
}

/// Clean-ups spawned and not yet finished.
pub fn pending() -> usize {
    tracker().len()
}

/// Waits until every clean-up spawned so far has finished, at most `limit`; says whether all
/// did. Clean-ups spawned meanwhile are waited for too.
pub async fn drain(limit: Duration) -> bool {
    let t = tracker();
    t.close();
    let done = tokio::time::timeout(limit, t.wait()).await.is_ok();
    t.reopen();
    done
}
