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
//! At a run's [`Event::Summary`]: counts per outcome and the first error line of each host that
//! was not ok.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use super::event::{Event, EventSink, JsonEvent, Outcome, Stream};
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
    /// Gather mode: each host's lines, in order, stderr lines marked.
    buffers: BTreeMap<String, Vec<(Stream, String)>>,
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

/// What makes hosts alike in gather mode: their lines (stderr marked) and exit code.
type GatherKey = (Vec<(bool, String)>, Option<u32>);

const COLOURS: [&str; 6] = ["31", "32", "33", "34", "35", "36"];

fn colour_of(host: &str) -> &'static str {
    let h = host
        .bytes()
        .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
    COLOURS[h as usize % COLOURS.len()]
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
            Self::print_gathered(state, &ends);
        }
        Self::print_summary(state, &ends);
        state.buffers.clear();
    }

    fn print_gathered(state: &mut State, ends: &[End]) {
        // (output, code) -> hosts
        let mut groups: BTreeMap<GatherKey, Vec<String>> = BTreeMap::new();
        for e in ends {
            let lines = state
                .buffers
                .get(&e.host)
                .map(|ls| {
                    ls.iter()
                        .map(|(s, l)| (*s == Stream::Stderr, l.clone()))
                        .collect()
                })
                .unwrap_or_default();
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
            for (err, line) in lines {
                let _ = writeln!(out, "{}{line}", if err { "! " } else { "" });
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
                        .push((*stream, line.clone()));
                } else {
                    self.live_line(state, host, *stream, line);
                }
            }
            Event::Print { text } => {
                let _ = state.out.write_all(text.as_bytes());
                let _ = state.out.flush();
            }
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
                            .push((Stream::Stdout, text));
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
        let (out, err) = (Captured::default(), Captured::default());
        let r = Renderer::new(
            mode,
            RenderOptions::default(),
            Box::new(out.clone()),
            Box::new(err.clone()),
        );
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
}
