//! The one renderer of a run: it owns stdout and stderr, takes events from every host (started,
//! output line, finished) and prints them so lines never interleave. Three forms:
//!
//! - live: `web01 | line` as lines arrive (`web01 ! line` on stderr for the command's
//!   stderr), a colour per host on a terminal (none with `NO_COLOR` or when piped);
//! - gather (`-b`): at the end, hosts grouped by identical output and exit code, headers folded
//!   ClusterShell-style (`web[01-07,09] (8)`), largest group first; a progress line on a
//!   terminal meanwhile;
//! - json: one JSON object per event per line, flushed at once (for `jq` while the run goes on).
//!
//! Then a summary: counts per outcome and the first error line of each host that was not ok.
//! Knows nothing of Lua.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::inventory::nodeset;
use crate::ssh::{OutputSink, Stream};

/// How a host's part of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Ok,
    Failed,
    Unreachable,
    TimedOut,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Unreachable => "unreachable",
            Outcome::TimedOut => "timed_out",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The end of one host.
#[derive(Debug, Clone)]
pub struct HostEnd {
    pub host: String,
    pub outcome: Outcome,
    pub code: Option<u32>,
    pub elapsed: Duration,
    /// Why it was not ok.
    pub error: Option<String>,
}

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

    /// `SIGINT (Ctrl-C)`, `SIGTERM`, `SIGHUP`.
    pub fn describe(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "interrupted (Ctrl-C)",
            StopSignal::Terminate => "terminated (SIGTERM)",
            StopSignal::Hangup => "hung up (SIGHUP)",
        }
    }

    /// `Ctrl-C`, `SIGTERM`, `SIGHUP`: how to send it again.
    pub fn short(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "Ctrl-C",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }
}

/// How a run over many hosts ended (batch commands and per-host scripts alike).
#[derive(Debug)]
pub struct HostsReport {
    pub ends: Vec<HostEnd>,
    /// The signal that stopped the run, if one did.
    pub stopped: Option<StopSignal>,
    /// Errors outside any host (a failure of the per-host driver itself).
    pub failures: Vec<String>,
}

impl HostsReport {
    /// 130/143/129 when a signal stopped the run, 0 when every host is ok and nothing else
    /// failed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if let Some(s) = self.stopped {
            s.exit_code()
        } else if self.failures.is_empty() && self.ends.iter().all(|e| e.outcome == Outcome::Ok) {
            0
        } else {
            1
        }
    }
}

/// Output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Gather,
    Json,
}

#[derive(Default)]
struct State {
    /// Gather mode: each host's lines, in order, stderr lines marked.
    buffers: BTreeMap<String, Vec<(Stream, String)>>,
    ends: Vec<HostEnd>,
    total: usize,
    progress_shown: bool,
}

/// The renderer.
pub struct Renderer {
    mode: Mode,
    colour: bool,
    progress: bool,
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
    /// A renderer for `total` hosts; colour and the progress line only on a terminal.
    pub fn new(mode: Mode, total: usize) -> Renderer {
        use std::io::IsTerminal;
        let tty = std::io::stdout().is_terminal();
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Renderer {
            mode,
            colour: tty && !no_colour,
            progress: mode == Mode::Gather && std::io::stderr().is_terminal(),
            state: Mutex::new(State {
                total,
                ..State::default()
            }),
        }
    }

    fn json_line(&self, value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    fn clear_progress(&self, state: &mut State) {
        if state.progress_shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            state.progress_shown = false;
        }
    }

    /// A host has started.
    pub fn started(&self, host: &str) {
        if self.mode == Mode::Json {
            self.json_line(serde_json::json!({"event": "started", "host": host}));
        }
    }

    /// A host has finished.
    pub fn finished(&self, end: HostEnd) {
        if self.mode == Mode::Json {
            self.json_line(serde_json::json!({
                "event": "finished",
                "host": end.host,
                "outcome": end.outcome.as_str(),
                "code": end.code,
                "elapsed_ms": end.elapsed.as_millis() as u64,
                "error": end.error,
            }));
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.ends.push(end);
        if self.progress {
            let failed = state
                .ends
                .iter()
                .filter(|e| e.outcome != Outcome::Ok)
                .count();
            let _ = write!(
                std::io::stderr().lock(),
                "\r\x1b[2K{}/{} done, {failed} failed",
                state.ends.len(),
                state.total
            );
            state.progress_shown = true;
        }
    }

    /// Prints what is left (gathered groups) and the summary; returns the hosts' ends.
    pub fn finish(&self) -> Vec<HostEnd> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.clear_progress(&mut state);
        let ends = std::mem::take(&mut state.ends);
        match self.mode {
            Mode::Gather => self.print_gathered(&state, &ends),
            Mode::Json => {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for e in &ends {
                    *counts.entry(e.outcome.as_str()).or_default() += 1;
                }
                self.json_line(serde_json::json!({"event": "summary", "hosts": ends.len(), "outcomes": counts}));
                return ends;
            }
            Mode::Live => {}
        }
        self.print_summary(&ends);
        ends
    }

    fn print_gathered(&self, state: &State, ends: &[HostEnd]) {
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
        let mut out = std::io::stdout().lock();
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
    }

    fn print_summary(&self, ends: &[HostEnd]) {
        let mut counts: BTreeMap<Outcome, usize> = BTreeMap::new();
        for e in ends {
            *counts.entry(e.outcome).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(o, n)| format!("{n} {}", o.as_str()))
            .collect();
        let mut err = std::io::stderr().lock();
        let noun = if ends.len() == 1 { "host" } else { "hosts" };
        let _ = writeln!(err, "== {} {noun}: {}", ends.len(), parts.join(", "));
        let mut bad: Vec<&HostEnd> = ends.iter().filter(|e| e.outcome != Outcome::Ok).collect();
        bad.sort_by(|a, b| a.host.cmp(&b.host));
        for e in bad {
            let first = e
                .error
                .as_deref()
                .and_then(|s| s.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or("");
            let _ = writeln!(err, "   {} {}: {first}", e.outcome.as_str(), e.host);
        }
    }
}

impl OutputSink for Renderer {
    fn line(&self, host: &str, stream: Stream, line: &[u8]) {
        let text = String::from_utf8_lossy(line).into_owned();
        match self.mode {
            Mode::Json => {
                let stream = match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                };
                self.json_line(
                    serde_json::json!({"event": "line", "host": host, "stream": stream, "line": text}),
                );
            }
            Mode::Gather => {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                state
                    .buffers
                    .entry(host.to_string())
                    .or_default()
                    .push((stream, text));
            }
            Mode::Live => {
                let _state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let (mark, to_err) = match stream {
                    Stream::Stdout => ('|', false),
                    Stream::Stderr => ('!', true),
                };
                let prefix = if self.colour {
                    format!("\x1b[{}m{host}\x1b[0m {mark}", colour_of(host))
                } else {
                    format!("{host} {mark}")
                };
                let _ = if to_err {
                    writeln!(std::io::stderr().lock(), "{prefix} {text}")
                } else {
                    writeln!(std::io::stdout().lock(), "{prefix} {text}")
                };
            }
        }
    }

    fn progress(&self, host: &str, path: &str, done: u64, total: u64) {
        if self.mode == Mode::Json {
            self.json_line(serde_json::json!({"event": "progress", "host": host, "path": path, "done": done, "total": total}));
        }
    }
}
