//! SIGINT (Ctrl-C), SIGTERM (`timeout`, systemd, CI) and SIGHUP (a closed terminal): the first
//! cancels the run through its `CancellationToken` (no new hosts, running ones cancelled,
//! their remote commands sent TERM, the summary printed); a second one of any kind ends the
//! process at once with that signal's exit code. The handlers are installed before anything
//! starts: an early signal must not meet the default action, which kills the process and
//! leaves every remote job running.

use std::sync::{Arc, Mutex};

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C): exit code 130.
    Interrupt,
    /// SIGTERM: exit code 143.
    Terminate,
    /// SIGHUP: exit code 129.
    Hangup,
}

impl StopSignal {
    /// 128 + the signal number, as shells report a process killed by it.
    pub fn exit_code(self) -> i32 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
            StopSignal::Hangup => 129,
        }
    }

    /// What happened, for a person.
    pub fn describe(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "interrupted (Ctrl-C)",
            StopSignal::Terminate => "terminated (SIGTERM)",
            StopSignal::Hangup => "hung up (SIGHUP)",
        }
    }

    /// How to send it again.
    pub fn short(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "Ctrl-C",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }
}

/// The run's cancellation and the signal that triggered it.
#[derive(Clone)]
pub struct Stop {
    pub token: CancellationToken,
    reason: Arc<Mutex<Option<StopSignal>>>,
}

impl Stop {
    /// The signal that stopped the run, if one did.
    pub fn reason(&self) -> Option<StopSignal> {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Installs the handlers, on a thread of their own (so they work whatever the run's threads
/// are doing); returns the [`Stop`] they trigger.
pub fn install() -> std::io::Result<Stop> {
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
    let stop = Stop {
        token: CancellationToken::new(),
        reason: Arc::default(),
    };
    let requested = stop.clone();
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
                *requested.reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(first);
                requested.token.cancel();
                if let Some(again) = rx.recv().await {
                    eprintln!("drover: aborted");
                    std::process::exit(again.exit_code());
                }
            })
        })?;
    Ok(stop)
}
