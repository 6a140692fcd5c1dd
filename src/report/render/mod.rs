//! The renderer: the [`EventSink`] the CLI plugs into a run. It writes to the writers it is
//! given (stdout and stderr for the CLI) with the colour choice it is given, one event at a
//! time under one lock, so lines never interleave. Three forms:
//!
//! - live: `web01 | line` as lines arrive (`web01 ! line` on stderr for the command's
//!   stderr); a host that ends other than ok says how at once (`web01 ! unreachable: cannot
//!   connect ...`, then its script's own traceback frames);
//! - gather (`-b`, `gather.rs`): at the end, hosts grouped by identical output, outcome and
//!   error, headers folded ClusterShell-style (`web[01-07,09] (8) failed: ...`);
//! - json: one [`JsonEvent`] per line (with its `ts`), flushed at once (for `jq` while the run
//!   goes on); nothing else on stdout.
//!
//! Error texts carry no host name (the renderer shows it beside them), so identical failures
//! fold. Outcomes have one name everywhere: live, the progress line, `-b`, the summary, JSON.
//!
//! A script's `log` lines go to the error writer as `web01: [warn] text` (`[warn] text`
//! outside any host; warn and error coloured), in gather mode into their host's block;
//! `debug` lines only when [`RenderOptions::verbose`] asks for them, in every form.
//!
//! With [`RenderOptions::progress`], live and gather runs over hosts show a progress line under
//! the scrolling lines (`progress.rs`). Colours (`style.rs`): one per host, stderr, outcomes,
//! headers. At a run's [`Event::Summary`]: counts per outcome and each distinct failure with
//! its hosts folded (`summary.rs`).

mod gather;
mod ops;
mod progress;
mod style;
mod summary;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use self::gather::{Buffers, Mark};
use self::ops::{OpLine, OpTally};
use self::progress::{ProgressLine, SharedWriter};
use self::style::Style;
use super::event::{Event, EventSink, JsonEvent, LogLevel, Outcome, Stream};

/// Output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lines as they arrive, prefixed by their host.
    Live,
    /// Hosts with identical output grouped at the end.
    Gather,
    /// JSON lines.
    Json,
}

/// What the caller decided about the terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours (the CLI: `--color`, by default when stdout is a terminal and `NO_COLOR`
    /// is unset).
    pub colour: bool,
    /// A progress line (`done/total`, failures, elapsed) on the error writer, under the
    /// scrolling lines, in live and gather runs over hosts (the CLI: stderr is a terminal).
    pub progress: bool,
    /// `log.debug` lines too (the CLI: `drover run -v`); without it they are dropped, JSON
    /// included.
    pub verbose: bool,
}

/// The end of one host, as the summary and `-b` show it.
struct End {
    host: String,
    outcome: Outcome,
    code: Option<u32>,
    /// Host-less error text, traceback included.
    error: Option<String>,
}

/// An error text's first line, and the lines a person reads after it: the rest of the message
/// and the script's own traceback frames (the `stack traceback:` heading left out).
fn error_parts(error: Option<&str>) -> (Option<&str>, Vec<&str>) {
    let Some(text) = error else {
        return (None, Vec::new());
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next();
    let mut rest: Vec<&str> = lines.filter(|l| *l != "stack traceback:").collect();
    // A lone `f.lua:3: in main chunk` under `f.lua:3: ...` says nothing new.
    if let ([frame], Some(first)) = (rest.as_slice(), first)
        && let Some(position) = frame.trim().strip_suffix(" in main chunk")
        && first.starts_with(position)
    {
        rest.clear();
    }
    (first, rest)
}

struct State {
    out: Box<dyn Write + Send>,
    err: SharedWriter,
    style: Style,
    /// Gather mode: each host's lines.
    buffers: Buffers,
    ends: Vec<End>,
    /// Hosts ended so far, by outcome (the progress line).
    ended: BTreeMap<Outcome, usize>,
    /// Per host, its operations (`Op` events) and how many changed something.
    ops: OpTally,
    /// Some operation was a check-mode prediction (`would change` in the summary).
    check: bool,
    progress: Option<ProgressLine>,
}

/// Where a line goes.
#[derive(Clone, Copy)]
enum To {
    Out,
    Err,
}

impl State {
    /// Writes `text` (whole lines) to `to`, the progress line taken away meanwhile.
    fn write(&mut self, to: To, text: &str) {
        let (out, err) = (&mut self.out, &self.err);
        let mut write = || match to {
            To::Out => {
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            To::Err => {
                let mut e = err.lock().unwrap_or_else(|p| p.into_inner());
                let _ = e.write_all(text.as_bytes());
                let _ = e.flush();
            }
        };
        match &self.progress {
            Some(p) => p.suspend(write),
            None => write(),
        }
    }

    fn finish_progress(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }
}

/// The renderer.
///
/// ```
/// use drover::{Event, EventSink, Mode, RenderOptions, Renderer, Stream};
/// let r = Renderer::new(Mode::Live, RenderOptions::default(), Box::new(std::io::sink()), Box::new(std::io::sink()));
/// r.event(&Event::Line { host: "web1".into(), stream: Stream::Stdout, line: "up".into() });
/// ```
pub struct Renderer {
    mode: Mode,
    options: RenderOptions,
    state: Mutex<State>,
}

impl Renderer {
    /// A renderer writing normal output to `out` and diagnostics to `err`.
    pub fn new(
        mode: Mode,
        options: RenderOptions,
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
    ) -> Renderer {
        Renderer {
            mode,
            options,
            state: Mutex::new(State {
                out,
                err: Arc::new(Mutex::new(err)),
                style: Style::new(options.colour),
                buffers: BTreeMap::new(),
                ends: Vec::new(),
                ended: BTreeMap::new(),
                ops: OpTally::new(),
                check: false,
                progress: None,
            }),
        }
    }

    fn live_line(state: &mut State, host: &str, stream: Stream, text: &str) {
        let host = state.style.host(host);
        match stream {
            Stream::Stdout => state.write(To::Out, &format!("{host} | {text}\n")),
            Stream::Stderr => {
                let marked = state.style.stderr(text);
                state.write(To::Err, &format!("{host} {marked}\n"));
            }
        }
    }

    /// A `log` line: into its host's block when gathering, else on the error writer, one
    /// output line per line of its text.
    fn log(&self, state: &mut State, host: Option<&str>, level: LogLevel, text: &str) {
        let lines = text.split('\n');
        if let (Some(h), Mode::Gather) = (host, self.mode) {
            let buffer = state.buffers.entry(h.to_string()).or_default();
            buffer.extend(lines.map(|l| (Mark::Log(level), l.to_string())));
            return;
        }
        let tag = state.style.level_tag(level);
        let prefix = match host {
            Some(h) => format!("{}: {tag}", state.style.host(h)),
            None => tag,
        };
        let text: String = lines.map(|l| format!("{prefix} {l}\n")).collect();
        state.write(To::Err, &text);
    }

    fn finished(&self, state: &mut State, end: End) {
        *state.ended.entry(end.outcome).or_default() += 1;
        if let Some(p) = &state.progress {
            p.host_ended(&state.ended);
        }
        // Live: a host that did not end ok says how now, not only in the summary (cancelled
        // hosts, all at once after Ctrl-C, only there).
        if self.mode == Mode::Live && !matches!(end.outcome, Outcome::Ok | Outcome::Cancelled) {
            let (first, rest) = error_parts(end.error.as_deref());
            let name = end.outcome.as_str();
            let first = match first {
                // (a cancelled host's error already starts with "cancelled")
                Some(f) if f.starts_with(name) => f.to_string(),
                Some(f) => format!("{name}: {f}"),
                None => name.to_string(),
            };
            let host = state.style.host(&end.host);
            let mut text = format!(
                "{host} {}\n",
                state.style.outcome(end.outcome, &format!("! {first}"))
            );
            for line in rest {
                text.push_str(&format!("{host} {}\n", state.style.stderr(line)));
            }
            state.write(To::Err, &text);
        }
        state.ends.push(end);
    }

    fn summary(&self, state: &mut State) {
        state.finish_progress();
        let ends = std::mem::take(&mut state.ends);
        if self.mode == Mode::Gather {
            gather::write_groups(&mut state.out, &state.style, &ends, &mut state.buffers);
        }
        let mut err = state.err.lock().unwrap_or_else(|p| p.into_inner());
        summary::write_summary(&mut *err, &state.style, &ends, &state.ops, state.check);
        drop(err);
        state.buffers.clear();
        state.ended.clear();
        state.ops.clear();
        state.check = false;
    }
}

/// `host ~ path 42% (42.0 of 100.0 MiB)`.
fn progress_text(host: &str, path: &str, done: u64, total: u64) -> String {
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let pct = (done.saturating_mul(100)).checked_div(total).unwrap_or(100);
    format!(
        "{host} ~ {path} {pct}% ({:.1} of {:.1} MiB)",
        mib(done),
        mib(total)
    )
}

impl EventSink for Renderer {
    fn event(&self, event: &Event) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *state;
        if let Event::Log {
            level: LogLevel::Debug,
            ..
        } = event
            && !self.options.verbose
        {
            return;
        }
        if self.mode == Mode::Json {
            let line = JsonEvent::to_line(event);
            state.write(To::Out, &format!("{line}\n"));
            return;
        }
        match event {
            Event::RunStarted { hosts } => {
                state.style.assign(hosts);
                state.finish_progress();
                if self.options.progress && !hosts.is_empty() {
                    state.progress = Some(ProgressLine::start(&state.err, hosts.len()));
                }
            }
            Event::HostStarted { .. } => {}
            Event::Line { host, stream, line } => {
                if self.mode == Mode::Gather {
                    state
                        .buffers
                        .entry(host.clone())
                        .or_default()
                        .push(((*stream).into(), line.clone()));
                } else {
                    Self::live_line(state, host, *stream, line);
                }
            }
            Event::Print { text } => state.write(To::Out, text),
            Event::Log { host, level, text } => self.log(state, host.as_deref(), *level, text),
            Event::Progress {
                host,
                path,
                done,
                total,
            } => {
                let text = progress_text(host, path, *done, *total);
                state.write(To::Err, &format!("{text}\n"));
            }
            Event::Op {
                host,
                module,
                op,
                target,
                changed,
                diff,
                reason,
                check,
                ..
            } => {
                if let Some(h) = host {
                    state.ops.entry(h.clone()).or_default().add(*changed);
                }
                state.check |= *check;
                let line = OpLine {
                    module,
                    op,
                    target,
                    changed: *changed,
                    reason: reason.as_deref(),
                    check: *check,
                };
                let mut lines = vec![line.text(&state.style)];
                lines.extend(diff.iter().flat_map(|d| d.lines().map(str::to_string)));
                match (host, self.mode) {
                    (Some(h), Mode::Gather) => {
                        let buffer = state.buffers.entry(h.clone()).or_default();
                        buffer.extend(lines.into_iter().map(|l| (Mark::Out, l)));
                    }
                    (Some(h), _) => {
                        let host = state.style.host(h);
                        let text: String =
                            lines.iter().map(|l| format!("{host} ~ {l}\n")).collect();
                        state.write(To::Out, &text);
                    }
                    (None, _) => {
                        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                        state.write(To::Out, &text);
                    }
                }
            }
            Event::HostFinished {
                host,
                outcome,
                code,
                error,
                ..
            } => self.finished(
                state,
                End {
                    host: host.clone(),
                    outcome: *outcome,
                    code: *code,
                    error: error.clone(),
                },
            ),
            Event::Warning { message } => state.write(To::Err, &format!("drover: {message}\n")),
            Event::Summary { .. } => self.summary(state),
        }
    }
}

#[cfg(test)]
mod tests;
