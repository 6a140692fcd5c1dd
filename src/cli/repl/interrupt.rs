//! Signals in the REPL: Ctrl-C (SIGINT) cancels the line being evaluated and never ends the
//! session on a terminal; SIGTERM and SIGHUP end it. At the prompt the line editor reads
//! Ctrl-C as a key (the terminal is raw), so a SIGINT only comes while a line runs.

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::super::signals::StopSignal;

/// The REPL's signal streams, installed before anything runs.
pub struct Interrupts {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Interrupts {
    /// Installs the handlers (inside the REPL's tokio runtime).
    pub fn install() -> std::io::Result<Interrupts> {
        Ok(Interrupts {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Runs `work` to its end; every signal meanwhile cancels `token` (the work's tasks end
    /// and it returns). Also gives the first signal, if one came.
    pub async fn cancelling<F: std::future::Future>(
        &mut self,
        token: &tokio_util::sync::CancellationToken,
        work: F,
    ) -> (F::Output, Option<StopSignal>) {
        tokio::pin!(work);
        let mut stop = None;
        loop {
            tokio::select! {
                r = &mut work => return (r, stop),
                s = self.next() => {
                    token.cancel();
                    stop.get_or_insert(s);
                }
            }
        }
    }

    /// The next signal.
    pub async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.int.recv() => StopSignal::Interrupt,
            _ = self.term.recv() => StopSignal::Terminate,
            _ = self.hup.recv() => StopSignal::Hangup,
        }
    }
}
