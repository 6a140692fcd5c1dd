//! The progress line under the scrolling output (`12/40 done, 1 failed, 2 unreachable (9s)`),
//! drawn by indicatif on the renderer's error writer. Every other line the renderer writes
//! while it is shown goes through [`ProgressLine::suspend`], which takes it away, writes,
//! and draws it again below, so lines never mix with it.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, TermLike};

use crate::report::event::Outcome;

/// A writer shared by the renderer and the progress line's draws.
pub(super) type SharedWriter = Arc<Mutex<Box<dyn Write + Send>>>;

/// The error writer as indicatif's terminal: cursor moves and clears as ANSI sequences.
struct WriterTerm(SharedWriter);

impl std::fmt::Debug for WriterTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriterTerm")
    }
}

impl WriterTerm {
    fn put(&self, text: &str) -> std::io::Result<()> {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(text.as_bytes())
    }
}

impl TermLike for WriterTerm {
    fn width(&self) -> u16 {
        // The line is short; the width only bounds how indicatif truncates it.
        80
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}A"))
        }
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}B"))
        }
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}C"))
        }
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}D"))
        }
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).flush()
    }
}

/// The progress line of one run.
pub(super) struct ProgressLine {
    bar: ProgressBar,
}

impl ProgressLine {
    /// A line for `total` hosts drawn on `err`, its elapsed time ticking every second.
    pub(super) fn start(err: &SharedWriter, total: usize) -> ProgressLine {
        let target = ProgressDrawTarget::term_like(Box::new(WriterTerm(Arc::clone(err))));
        // (a renderer dropped before its summary takes the line away too)
        let bar = ProgressBar::with_draw_target(Some(total as u64), target)
            .with_finish(ProgressFinish::AndClear);
        // (a template of literals and known keys: it parses; if not, the default style stays)
        if let Ok(style) = ProgressStyle::with_template("{pos}/{len} done, {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(counts_text(&BTreeMap::new()));
        bar.enable_steady_tick(Duration::from_secs(1));
        ProgressLine { bar }
    }

    /// A host has ended; `ended` counts every host ended so far by outcome.
    pub(super) fn host_ended(&self, ended: &BTreeMap<Outcome, usize>) {
        self.bar.set_message(counts_text(ended));
        self.bar.set_position(ended.values().sum::<usize>() as u64);
    }

    /// Runs `write` with the line taken away, then draws it again.
    pub(super) fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        self.bar.suspend(write)
    }

    /// Takes the line away for good.
    pub(super) fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// `1 failed, 2 unreachable`: always the failed count, other outcomes but ok when there are any.
fn counts_text(ended: &BTreeMap<Outcome, usize>) -> String {
    let mut parts = vec![format!(
        "{} {}",
        ended.get(&Outcome::Failed).copied().unwrap_or(0),
        Outcome::Failed.as_str()
    )];
    for (outcome, n) in ended {
        if !matches!(outcome, Outcome::Ok | Outcome::Failed) && *n > 0 {
            parts.push(format!("{n} {}", outcome.as_str()));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_name_outcomes_as_everywhere_else() {
        assert_eq!(counts_text(&BTreeMap::new()), "0 failed");
        let ended = BTreeMap::from([
            (Outcome::Ok, 3),
            (Outcome::Unreachable, 2),
            (Outcome::TimedOut, 1),
        ]);
        assert_eq!(counts_text(&ended), "0 failed, 2 unreachable, 1 timed_out");
    }
}
