//! SIGINT (Ctrl-C), SIGTERM (`timeout`, systemd, CI) and SIGHUP (a closed terminal): the first
//! asks the run to stop cleanly through its [`Stop`] (no new hosts, running ones cancelled,
//! their remote commands sent TERM, the summary printed); a second one of any kind ends the
//! process at once with that signal's exit code. The handlers are installed before anything
//! starts: an early signal must not meet the default action, which kills the process and
//! leaves every remote job running.

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use crate::runtime::{Stop, StopSignal};

/// Installs the handlers, on a thread of their own (so they work whatever the run's threads
/// are doing); returns the [`Stop`] they trigger.
pub fn install() -> std::io::Result<Arc<Stop>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut streams = Vec::new();
    {
        let _entered = rt.enter();
        for (kind, which) in [
            (SignalKind::interrupt(), StopSignal::Interrupt),
            (SignalKind::terminate(), StopSignal::Terminate),
            (SignalKind::hangup(), StopSignal::Hangup),
        ] {
            streams.push((signal(kind)?, which));
        }
    }
    let stop = Arc::new(Stop::default());
    let requested = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("drover-signals".into())
        .spawn(move || {
            rt.block_on(async move {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                for (mut stream, which) in streams {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while stream.recv().await.is_some() && tx.send(which).is_ok() {}
                    });
                }
                let Some(first) = rx.recv().await else {
                    return;
                };
                eprintln!(
                    "\ndrover: {}: stopping (running hosts cancelled, their remote commands get TERM); {} again to abort now",
                    first.describe(),
                    first.short()
                );
                requested.request(first);
                if let Some(again) = rx.recv().await {
                    eprintln!("drover: aborted");
                    std::process::exit(again.exit_code());
                }
            })
        })?;
    Ok(stop)
}
