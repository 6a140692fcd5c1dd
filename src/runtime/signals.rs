//! The signals that stop a run: SIGINT (Ctrl-C), SIGTERM (`timeout`, systemd, CI) and SIGHUP
//! (a closed terminal). The first one stops the run cleanly (no new hosts, running tasks
//! cancelled, remote commands sent TERM, summary printed); a second one of any kind ends the
//! process at once. All three are installed before any host starts: an early signal must not
//! meet the default action, which kills the process with every remote job left running.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

pub use crate::report::StopSignal;

/// Listens for the stop signals on the current tokio runtime (call inside `Runtime::enter`).
/// Each arrival is sent on the returned channel.
pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<StopSignal>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (kind, which) in [
        (SignalKind::interrupt(), StopSignal::Interrupt),
        (SignalKind::terminate(), StopSignal::Terminate),
        (SignalKind::hangup(), StopSignal::Hangup),
    ] {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(which).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

/// What to say when the first stop signal arrives.
pub fn stopping_message(s: StopSignal) -> String {
    format!(
        "drover: {}: stopping (running hosts cancelled, their remote commands get TERM); {} again to abort now",
        s.describe(),
        s.short()
    )
}
