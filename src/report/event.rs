//! The one typed event stream of a run. Every producer (a script's `print` and `log`,
//! `stream = true` command output, transfer progress, batch commands, the per-host driver,
//! warnings) sends an [`Event`] to the [`EventSink`] of the task it runs in; the CLI's
//! renderer is one sink, an embedder plugs in its own. `--json` prints [`JsonEvent`]s: the
//! serialization of `Event` with a schema version and the time it was written (`ts`, kept
//! out of `Event` so that events compare by what happened).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// How a host's part of a run ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything it was asked to do worked.
    #[default]
    Ok,
    /// Its script raised an error, or its command failed.
    Failed,
    /// It could not be connected to (or the connection was lost).
    Unreachable,
    /// It ran past its time limit (its remote command was sent TERM).
    TimedOut,
    /// The caller cancelled it, or it never started.
    Cancelled,
}

impl Outcome {
    /// `ok`, `failed`, `unreachable`, `timed_out`, `cancelled`.
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

/// Whether an operation changed something: JSON `true`, `false` or `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Changed {
    /// Nothing to do: the host was already as asked.
    #[default]
    No,
    /// It changed (or in check mode, would change) the host.
    Yes,
    /// Cannot be known without doing it (a command check mode did not run).
    Unknown,
}

impl Changed {
    /// `false`, `true`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Changed::No => "false",
            Changed::Yes => "true",
            Changed::Unknown => "unknown",
        }
    }
}

impl From<bool> for Changed {
    fn from(b: bool) -> Self {
        if b { Changed::Yes } else { Changed::No }
    }
}

impl Serialize for Changed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Changed::No => s.serialize_bool(false),
            Changed::Yes => s.serialize_bool(true),
            Changed::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Changed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Bool(bool),
            Text(String),
        }
        match Form::deserialize(d)? {
            Form::Bool(b) => Ok(b.into()),
            Form::Text(t) if t == "unknown" => Ok(Changed::Unknown),
            Form::Text(t) => Err(serde::de::Error::custom(format!(
                "changed must be true, false or \"unknown\", got \"{t}\""
            ))),
        }
    }
}

/// Which stream of a remote command a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output (also a host script's `print` and `io.write`).
    Stdout,
    /// Standard error.
    Stderr,
}

/// The level of a script's `log.debug`, `log.info`, `log.warn` or `log.error` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Detail for the script's author (the CLI shows it with `-v` only).
    Debug,
    /// Progress worth seeing.
    Info,
    /// Something odd that did not stop the script.
    Warn,
    /// Something failed; reported only (`log.error` does not raise).
    Error,
}

impl LogLevel {
    /// `debug`, `info`, `warn`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Something that happened in a run, in the order it happened (per host: `HostStarted`, its
/// lines and progress, `HostFinished`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run over hosts begins: the hosts it will visit, in order.
    RunStarted {
        /// Host names.
        hosts: Vec<String>,
    },
    /// A host's part of the run has started.
    #[serde(rename = "started")]
    HostStarted {
        /// The host.
        host: String,
    },
    /// One line of output of a host: its command's stdout or stderr, or what its script
    /// printed (stdout). Without the newline; lines past 64 KiB come in pieces.
    Line {
        /// The host.
        host: String,
        /// Where the line came from.
        stream: Stream,
        /// The text (invalid UTF-8 replaced).
        line: String,
    },
    /// Text a script printed outside any host's part (a controller script), as written.
    Print {
        /// The text, newlines included.
        text: String,
    },
    /// A line of a script's `log` module (`log.warn("disk at 91%")`).
    Log {
        /// The host whose part of a per-host run logged it; none outside any host's part.
        host: Option<String>,
        /// Its level.
        level: LogLevel,
        /// The arguments, joined as `print` joins them (no trailing newline).
        text: String,
    },
    /// A file transfer has moved `done` of `total` bytes.
    Progress {
        /// The host.
        host: String,
        /// The file.
        path: String,
        /// Bytes moved so far.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// An operation (a stdlib module's state change) has finished, or in check mode has
    /// predicted what it would do; also a command or file write that check mode skipped
    /// (`ssh.run`, `sftp.write`: module `ssh` or `sftp`, changed `unknown`).
    Op {
        /// The host it ran on, if any.
        host: Option<String>,
        /// The module (`file`, `pkg`, ...).
        module: String,
        /// The operation (`present`, `installed`, ...).
        op: String,
        /// What it acted on (a path, a package; a skipped command's text), secrets masked.
        target: String,
        /// Whether it changed anything (in check mode: would have); `unknown` (JSON
        /// `"unknown"`) when that cannot be known without doing it.
        changed: Changed,
        /// What changed, as a unified diff, secrets left out; only with `--diff`.
        diff: Option<String>,
        /// A sentence: what changed (`created`, `mode 0644 -> 0600`) or why it is unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// A check-mode prediction: nothing was done.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        check: bool,
        /// How long it took, in milliseconds.
        #[serde(default)]
        elapsed_ms: u64,
    },
    /// A host's part of the run has ended.
    #[serde(rename = "finished")]
    HostFinished {
        /// The host.
        host: String,
        /// How it ended.
        outcome: Outcome,
        /// The exit code of its command (batch `exec`), when there was one.
        code: Option<u32>,
        /// Time from its start to its end, in milliseconds.
        elapsed_ms: u64,
        /// The kind of its error (`exit`, `unreachable`, `timeout`, ...), when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_kind: Option<String>,
        /// Why it was not ok: the error with its traceback.
        error: Option<String>,
    },
    /// Something a person should know (host key checking off, a readable password file).
    Warning {
        /// The text.
        message: String,
    },
    /// A run over hosts has ended: how many hosts, how many per outcome.
    Summary {
        /// Hosts in the run.
        hosts: usize,
        /// Hosts per outcome (`ok`, `failed`, ...); outcomes no host had are left out.
        outcomes: BTreeMap<Outcome, usize>,
    },
}

/// The version of the JSON form of [`Event`] (`"v"` in every line of `--json`).
pub const SCHEMA_VERSION: u32 = 1;

/// One line of `--json`: an [`Event`], the schema version and when it happened, e.g.
/// `{"event":"line","host":"web1","line":"up 3 days","stream":"stdout","ts":1767225600000,"v":1}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonEvent {
    /// The schema version, [`SCHEMA_VERSION`].
    pub v: u32,
    /// When the event was written: milliseconds since the Unix epoch (0 in lines written
    /// before drover had it).
    #[serde(default)]
    pub ts: u64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl JsonEvent {
    /// The JSON text of `event` stamped with the current time (see [`JsonEvent::to_line_at`]).
    pub fn to_line(event: &Event) -> String {
        JsonEvent::to_line_at(event, unix_ms())
    }

    /// The JSON text of `event` at `ts` (Unix milliseconds): keys sorted, one line; it reads
    /// back as the same event.
    ///
    /// ```
    /// use drover::{Event, JsonEvent, Stream};
    ///
    /// let event = Event::Line { host: "web1".into(), stream: Stream::Stdout, line: "up 3 days".into() };
    /// let line = JsonEvent::to_line_at(&event, 1767225600000);
    /// assert_eq!(line, r#"{"event":"line","host":"web1","line":"up 3 days","stream":"stdout","ts":1767225600000,"v":1}"#);
    /// let back: JsonEvent = serde_json::from_str(&line)?;
    /// assert_eq!((back.v, back.ts, back.event), (1, 1767225600000, event));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn to_line_at(event: &Event, ts: u64) -> String {
        let wrapped = JsonEvent {
            v: SCHEMA_VERSION,
            ts,
            event: event.clone(),
        };
        // Through a Value: its map sorts keys, so lines are stable for tests and diffs.
        match serde_json::to_value(&wrapped) {
            Ok(value) => value.to_string(),
            Err(e) => format!(
                r#"{{"event":"warning","message":"unserializable event: {e}","ts":{ts},"v":1}}"#
            ),
        }
    }
}

/// Where a run's events go. Called from the Lua thread and from I/O threads: implementations
/// must be cheap and must not block for long (the renderer writes one line per call).
pub trait EventSink: Send + Sync {
    /// Receives one event.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// A shared sink.
pub type SharedSink = Arc<dyn EventSink>;

/// A sink that drops every event (the default of a runtime built without one).
pub fn discard() -> SharedSink {
    Arc::new(|_: &Event| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_round_trip_and_keep_the_old_field_names() {
        let events = vec![
            Event::RunStarted {
                hosts: vec!["a".into(), "b".into()],
            },
            Event::HostStarted { host: "a".into() },
            Event::Line {
                host: "a".into(),
                stream: Stream::Stderr,
                line: "x\ty".into(),
            },
            Event::Print {
                text: "hi\n".into(),
            },
            Event::Log {
                host: Some("a".into()),
                level: LogLevel::Warn,
                text: "disk\t91%".into(),
            },
            Event::Log {
                host: None,
                level: LogLevel::Debug,
                text: "two\nlines".into(),
            },
            Event::Progress {
                host: "a".into(),
                path: "/p".into(),
                done: 1,
                total: 2,
            },
            Event::Op {
                host: Some("a".into()),
                module: "file".into(),
                op: "present".into(),
                target: "/etc/motd".into(),
                changed: Changed::Yes,
                diff: None,
                reason: None,
                check: false,
                elapsed_ms: 3,
            },
            Event::Op {
                host: Some("a".into()),
                module: "ssh".into(),
                op: "run".into(),
                target: "make install".into(),
                changed: Changed::Unknown,
                diff: Some("--- a\n+++ b\n".into()),
                reason: Some("not run in check mode".into()),
                check: true,
                elapsed_ms: 0,
            },
            Event::HostFinished {
                host: "a".into(),
                outcome: Outcome::TimedOut,
                code: None,
                elapsed_ms: 5,
                error_kind: Some("timeout".into()),
                error: Some("timed out".into()),
            },
            Event::Warning {
                message: "careful".into(),
            },
            Event::Summary {
                hosts: 2,
                outcomes: BTreeMap::from([(Outcome::Ok, 1), (Outcome::TimedOut, 1)]),
            },
        ];
        for e in &events {
            let line = JsonEvent::to_line(e);
            assert!(line.contains(r#""ts":1"#), "{line}");
            let back: JsonEvent = serde_json::from_str(&line).unwrap_or_else(|err| {
                panic!("{line}: {err}");
            });
            assert_eq!(&back.event, e, "{line}");
            assert_eq!(back.v, SCHEMA_VERSION);
        }
        assert_eq!(
            JsonEvent::to_line_at(&events[2], 7),
            r#"{"event":"line","host":"a","line":"x\ty","stream":"stderr","ts":7,"v":1}"#
        );
        assert_eq!(
            JsonEvent::to_line_at(&events[4], 7),
            r#"{"event":"log","host":"a","level":"warn","text":"disk\t91%","ts":7,"v":1}"#
        );
        assert_eq!(
            JsonEvent::to_line_at(&events[5], 7),
            r#"{"event":"log","host":null,"level":"debug","text":"two\nlines","ts":7,"v":1}"#
        );
        assert_eq!(
            JsonEvent::to_line_at(&events[8], 7),
            r#"{"changed":"unknown","check":true,"diff":"--- a\n+++ b\n","elapsed_ms":0,"event":"op","host":"a","module":"ssh","op":"run","reason":"not run in check mode","target":"make install","ts":7,"v":1}"#
        );
        // lines written before elapsed_ms, reason and check existed still read
        let old = r#"{"changed":true,"diff":null,"event":"op","host":"a","module":"file","op":"present","target":"/x","ts":7,"v":1}"#;
        let back: JsonEvent = serde_json::from_str(old).expect("old op line");
        assert!(matches!(
            back.event,
            Event::Op {
                changed: Changed::Yes,
                elapsed_ms: 0,
                check: false,
                ..
            }
        ));
        assert!(serde_json::from_str::<JsonEvent>(&old.replace("true", "\"maybe\"")).is_err());
        assert_eq!(
            JsonEvent::to_line_at(&events[11], 7),
            r#"{"event":"summary","hosts":2,"outcomes":{"ok":1,"timed_out":1},"ts":7,"v":1}"#
        );
    }
}
