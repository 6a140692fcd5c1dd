//! The renderer: the [`EventSink`] the CLI plugs into a run. It writes to the writers it is
//! given (stdout and stderr for the CLI) with the colour choice it is given, one event at a
//! time under one lock, so lines never interleave. Three forms:
//!
//! - live: `web01 | line` as lines arrive (`web01 ! line` on stderr for the command's
//!   stderr), a colour per host when colour is on;
//! - gather (`-b`): at the end, hosts grouped by identical output and exit code, headers folded
//!   ClusterShell-style (`web[01-07,09] (8)`), largest group first; a progress line meanwhile
//!   when asked for;
//! - json: one [`JsonEvent`] per line, flushed at once (for `jq` while the run goes on); nothing
//!   else on stdout.
//!
//! A script's `log` lines go to the error writer as `web01: [warn] text` (`[warn] text`
//! outside any host; warn and error coloured), in gather mode into their host's block;
//! `debug` lines only when [`RenderOptions::verbose`] asks for them, in every form.
//!
//! At a run's [`Event::Summary`]: counts per outcome and the first error line of each host that
//! was not ok.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use super::event::{Event, EventSink, JsonEvent, LogLevel, Outcome, Stream};
use crate::nodeset;

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
    /// ANSI colours (the CLI: stdout is a terminal and `NO_COLOR` is unset).
    pub colour: bool,
    /// A `done/total` progress line on the error writer while gathering (the CLI: stderr is a
    /// terminal).
    pub progress: bool,
    /// `log.debug` lines too (the CLI: `drover run -v`); without it they are dropped, JSON
    /// included.
    pub verbose: bool,
}

/// What a line of a host's gathered block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    /// Its command's stdout (or its script's print).
    Out,
    /// Its command's stderr.
    Err,
    /// A `log` line of this level.
    Log(LogLevel),
}

impl From<Stream> for Mark {
    fn from(stream: Stream) -> Mark {
        match stream {
            Stream::Stdout => Mark::Out,
            Stream::Stderr => Mark::Err,
        }
    }
}

/// The end of one host, as the summary shows it.
struct End {
    host: String,
    outcome: Outcome,
    code: Option<u32>,
    error: Option<String>,
}

struct State {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    /// Gather mode: each host's lines, in order, each marked with what it is.
    buffers: BTreeMap<String, Vec<(Mark, String)>>,
    ends: Vec<End>,
    total: usize,
    progress_shown: bool,
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

/// What makes hosts alike in gather mode: their lines (each marked) and exit code.
type GatherKey = (Vec<(Mark, String)>, Option<u32>);

const COLOURS: [&str; 6] = ["31", "32", "33", "34", "35", "36"];

fn colour_of(host: &str) -> &'static str {
    let h = host
        .bytes()
        .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
    COLOURS[h as usize % COLOURS.len()]
}

/// `[warn]`, in yellow (warn) or red (error) when `colour` is on.
fn level_tag(level: LogLevel, colour: bool) -> String {
    match (level, colour) {
        (LogLevel::Warn, true) => "\x1b[33m[warn]\x1b[0m".to_string(),
        (LogLevel::Error, true) => "\x1b[31m[error]\x1b[0m".to_string(),
        (level, _) => format!("[{}]", level.as_str()),
    }
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
                err,
                buffers: BTreeMap::new(),
                ends: Vec::new(),
                total: 0,
                progress_shown: false,
            }),
        }
    }

    fn json(state: &mut State, event: &Event) {
        let _ = writeln!(state.out, "{}", JsonEvent::to_line(event));
        let _ = state.out.flush();
    }

    fn clear_progress(state: &mut State) {
        if state.progress_shown {
            let _ = write!(state.err, "\r\x1b[2K");
            let _ = state.err.flush();
            state.progress_shown = false;
        }
    }

    fn live_line(&self, state: &mut State, host: &str, stream: Stream, text: &str) {
        let mark = match stream {
            Stream::Stdout => '|',
            Stream::Stderr => '!',
        };
        let prefix = if self.options.colour {
            format!("\x1b[{}m{host}\x1b[0m {mark}", colour_of(host))
        } else {
            format!("{host} {mark}")
        };
        let w = match stream {
            Stream::Stdout => &mut state.out,
            Stream::Stderr => &mut state.err,
        };
        let _ = writeln!(w, "{prefix} {text}");
        let _ = w.flush();
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
        Self::clear_progress(state);
        let tag = level_tag(level, self.options.colour);
        let prefix = match host {
            Some(h) if self.options.colour => format!("\x1b[{}m{h}\x1b[0m: {tag}", colour_of(h)),
            Some(h) => format!("{h}: {tag}"),
            None => tag,
        };
        for line in lines {
            let _ = writeln!(state.err, "{prefix} {line}");
        }
        let _ = state.err.flush();
    }

    fn finished(&self, state: &mut State, end: End) {
        state.ends.push(end);
        if self.options.progress && self.mode == Mode::Gather {
            let failed = state
                .ends
                .iter()
                .filter(|e| e.outcome != Outcome::Ok)
                .count();
            let (done, total) = (state.ends.len(), state.total);
            let _ = write!(state.err, "\r\x1b[2K{done}/{total} done, {failed} failed");
            let _ = state.err.flush();
            state.progress_shown = true;
        }
    }

    fn summary(&self, state: &mut State) {
        Self::clear_progress(state);
        let ends = std::mem::take(&mut state.ends);
        if self.mode == Mode::Gather {
            self.print_gathered(state, &ends);
        }
        Self::print_summary(state, &ends);
        state.buffers.clear();
    }

    fn print_gathered(&self, state: &mut State, ends: &[End]) {
        // (output, code) -> hosts
        let mut groups: BTreeMap<GatherKey, Vec<String>> = BTreeMap::new();
        for e in ends {
            let lines = state.buffers.get(&e.host).cloned().unwrap_or_default();
            groups
                .entry((lines, e.code))
                .or_default()
                .push(e.host.clone());
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1.cmp(&b.1)));
        let out = &mut state.out;
        for ((lines, code), hosts) in groups {
            let header = format!("{} ({})", nodeset::fold(&hosts), hosts.len());
            let rule = "-".repeat(header.chars().count().min(78));
            let code = match code {
                Some(0) | None => String::new(),
                Some(c) => format!("  exit {c}"),
            };
            let _ = writeln!(out, "{rule}\n{header}{code}\n{rule}");
            for (mark, line) in lines {
                let _ = match mark {
                    Mark::Out => writeln!(out, "{line}"),
                    Mark::Err => writeln!(out, "! {line}"),
                    Mark::Log(level) => {
                        writeln!(out, "{} {line}", level_tag(level, self.options.colour))
                    }
                };
            }
        }
        let _ = out.flush();
    }

    fn print_summary(state: &mut State, ends: &[End]) {
        let mut counts: BTreeMap<Outcome, usize> = BTreeMap::new();
        for e in ends {
            *counts.entry(e.outcome).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(o, n)| format!("{n} {}", o.as_str()))
            .collect();
        let err = &mut state.err;
        let noun = if ends.len() == 1 { "host" } else { "hosts" };
        let _ = writeln!(err, "== {} {noun}: {}", ends.len(), parts.join(", "));
        let mut bad: Vec<&End> = ends.iter().filter(|e| e.outcome != Outcome::Ok).collect();
        bad.sort_by(|a, b| a.host.cmp(&b.host));
        for e in bad {
            let first = e
                .error
                .as_deref()
                .and_then(|s| s.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or("");
            let _ = writeln!(err, "   {} {}: {first}", e.outcome.as_str(), e.host);
        }
        let _ = err.flush();
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
        if let Event::RunStarted { hosts } = event {
            state.total = hosts.len();
        }
        if self.mode == Mode::Json {
            if let Event::HostFinished { .. } | Event::Summary { .. } = event {
                Self::clear_progress(state);
            }
            Self::json(state, event);
            return;
        }
        match event {
            Event::RunStarted { .. } | Event::HostStarted { .. } => {}
            Event::Line { host, stream, line } => {
                if self.mode == Mode::Gather {
                    state
                        .buffers
                        .entry(host.clone())
                        .or_default()
                        .push(((*stream).into(), line.clone()));
                } else {
                    self.live_line(state, host, *stream, line);
                }
            }
            Event::Print { text } => {
                let _ = state.out.write_all(text.as_bytes());
                let _ = state.out.flush();
            }
            Event::Log { host, level, text } => self.log(state, host.as_deref(), *level, text),
            Event::Progress {
                host,
                path,
                done,
                total,
            } => {
                Self::clear_progress(state);
                let _ = writeln!(state.err, "{}", progress_text(host, path, *done, *total));
                let _ = state.err.flush();
            }
            Event::Op {
                host,
                module,
                op,
                target,
                changed,
                diff,
            } => {
                let what = if *changed { "changed" } else { "ok" };
                let text = format!("{what}: {module}.{op} {target}");
                match (host, self.mode) {
                    (Some(h), Mode::Gather) => {
                        state
                            .buffers
                            .entry(h.clone())
                            .or_default()
                            .push((Mark::Out, text));
                    }
                    (Some(h), _) => self.live_line(state, h, Stream::Stdout, &text),
                    (None, _) => {
                        let _ = writeln!(state.out, "{text}");
                    }
                }
                if let (Some(d), Some(h), Mode::Live) = (diff, host, self.mode) {
                    for l in d.lines() {
                        self.live_line(state, h, Stream::Stdout, l);
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
            Event::Warning { message } => {
                Self::clear_progress(state);
                let _ = writeln!(state.err, "drover: {message}");
                let _ = state.err.flush();
            }
            Event::Summary { .. } => self.summary(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer whose bytes a test can read afterwards.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into()
        }
    }

    fn run(mode: Mode, events: &[Event]) -> (String, String) {
        run_with(mode, RenderOptions::default(), events)
    }

    fn run_with(mode: Mode, options: RenderOptions, events: &[Event]) -> (String, String) {
        let (out, err) = (Captured::default(), Captured::default());
        let r = Renderer::new(mode, options, Box::new(out.clone()), Box::new(err.clone()));
        for e in events {
            r.event(e);
        }
        (out.text(), err.text())
    }

    fn host_events(host: &str, line: &str, outcome: Outcome) -> Vec<Event> {
        vec![
            Event::HostStarted { host: host.into() },
            Event::Line {
                host: host.into(),
                stream: Stream::Stdout,
                line: line.into(),
            },
            Event::HostFinished {
                host: host.into(),
                outcome,
                code: Some(0),
                elapsed_ms: 1,
                error_kind: None,
                error: (outcome != Outcome::Ok).then(|| "boom\nmore".to_string()),
            },
        ]
    }

    fn fleet() -> Vec<Event> {
        let mut events = vec![Event::RunStarted {
            hosts: vec!["web1".into(), "web2".into(), "db1".into()],
        }];
        events.extend(host_events("web1", "same", Outcome::Ok));
        events.extend(host_events("web2", "same", Outcome::Ok));
        events.extend(host_events("db1", "other", Outcome::Failed));
        events.push(Event::Summary {
            hosts: 3,
            outcomes: BTreeMap::new(),
        });
        events
    }

    #[test]
    fn live_prefixes_lines_and_summarises_on_the_error_writer() {
        let (out, err) = run(Mode::Live, &fleet());
        assert_eq!(out, "web1 | same\nweb2 | same\ndb1 | other\n");
        assert_eq!(err, "== 3 hosts: 2 ok, 1 failed\n   failed db1: boom\n");
    }

    #[test]
    fn gather_folds_identical_hosts() {
        let (out, _) = run(Mode::Gather, &fleet());
        assert!(out.starts_with("------------\nweb[1-2] (2)\n"), "{out}");
        assert!(out.contains("db1 (1)\n-------\nother\n"), "{out}");
    }

    #[test]
    fn json_writes_only_json_lines_on_out() {
        let (out, err) = run(Mode::Json, &fleet());
        assert_eq!(err, "");
        for line in out.lines() {
            let e: JsonEvent = serde_json::from_str(line).unwrap_or_else(|x| panic!("{x}"));
            assert_eq!(e.v, 1);
        }
        assert_eq!(out.lines().count(), fleet().len());
    }

    fn log(host: Option<&str>, level: LogLevel, text: &str) -> Event {
        Event::Log {
            host: host.map(str::to_string),
            level,
            text: text.into(),
        }
    }

    /// web1 and web2 print the same; web2 also logs a warning and a debug line.
    fn logging_fleet() -> Vec<Event> {
        let mut events = vec![Event::RunStarted {
            hosts: vec!["web1".into(), "web2".into()],
        }];
        events.extend(host_events("web1", "same", Outcome::Ok));
        let mut web2 = host_events("web2", "same", Outcome::Ok);
        web2.insert(1, log(Some("web2"), LogLevel::Warn, "disk\n91%"));
        web2.insert(2, log(Some("web2"), LogLevel::Debug, "detail"));
        events.extend(web2);
        events.push(log(None, LogLevel::Info, "all started"));
        events.push(Event::Summary {
            hosts: 2,
            outcomes: BTreeMap::new(),
        });
        events
    }

    #[test]
    fn live_logs_go_to_the_error_writer_debug_only_when_verbose() {
        let (out, err) = run(Mode::Live, &logging_fleet());
        assert_eq!(out, "web1 | same\nweb2 | same\n");
        assert!(
            err.starts_with("web2: [warn] disk\nweb2: [warn] 91%\n[info] all started\n=="),
            "{err}"
        );
        let verbose = RenderOptions {
            verbose: true,
            ..RenderOptions::default()
        };
        let (_, err) = run_with(Mode::Live, verbose, &logging_fleet());
        assert!(
            err.starts_with("web2: [warn] disk\nweb2: [warn] 91%\nweb2: [debug] detail\n"),
            "{err}"
        );
    }

    #[test]
    fn live_colours_warn_and_error_only() {
        let colour = RenderOptions {
            colour: true,
            ..RenderOptions::default()
        };
        let events = [
            log(None, LogLevel::Info, "i"),
            log(None, LogLevel::Warn, "w"),
            log(None, LogLevel::Error, "e"),
        ];
        let (_, err) = run_with(Mode::Live, colour, &events);
        assert_eq!(
            err,
            "[info] i\n\x1b[33m[warn]\x1b[0m w\n\x1b[31m[error]\x1b[0m e\n"
        );
        let (_, plain) = run(Mode::Live, &events);
        assert_eq!(plain, "[info] i\n[warn] w\n[error] e\n");
    }

    #[test]
    fn gather_keeps_logs_in_their_hosts_block() {
        let (out, err) = run(Mode::Gather, &logging_fleet());
        // the warning makes web2's output differ from web1's
        assert!(out.contains("web1 (1)\n--------\nsame\n"), "{out}");
        assert!(
            out.contains("web2 (1)\n--------\n[warn] disk\n[warn] 91%\nsame\n"),
            "{out}"
        );
        assert!(!out.contains("[debug]"), "{out}");
        assert!(err.starts_with("[info] all started\n=="), "{err}");
    }

    #[test]
    fn json_drops_debug_logs_unless_verbose() {
        let (out, _) = run(Mode::Json, &logging_fleet());
        assert!(
            out.contains(
                r#"{"event":"log","host":"web2","level":"warn","text":"disk\n91%","v":1}"#
            ),
            "{out}"
        );
        assert!(!out.contains(r#""level":"debug""#), "{out}");
        let verbose = RenderOptions {
            verbose: true,
            ..RenderOptions::default()
        };
        let (out, _) = run_with(Mode::Json, verbose, &logging_fleet());
        assert!(out.contains(r#""level":"debug","text":"detail""#), "{out}");
    }
}
