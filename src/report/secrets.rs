//! The secret values of a run ([`Secrets`]: inventory passwords and key texts, `secret(...)`
//! values, the sudo password) and the sink that keeps them out of every event
//! ([`RedactingSink`]): command output, prints, logs, errors, warnings and op events show
//! `<secret>` where a secret's text was, so the renderer, `--json`, `--out-dir` files and an
//! embedder's sink never see one. One Aho-Corasick automaton over all of them: a line costs
//! one pass whatever the number of hosts with a password (a `str::replace` per secret would
//! make a 1,000-host run with one password each cost 1,000 scans per line).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

use super::event::{Event, EventSink, SharedSink};
use super::run_report::{ErrorReport, RunReport};

/// What a secret's text is replaced with.
pub const MASK: &str = "<secret>";

/// Lines of a multi-line secret (a key's text) shorter than this are not masked on their
/// own: they would hide ordinary text (`-----END`, a short base64 tail).
const MIN_LINE_PIECE: usize = 8;

/// The secret values of a runtime. Shared by the Lua thread (which adds them) and the sinks
/// (which mask them); adding is rare, masking is per event.
#[derive(Default)]
pub struct Secrets {
    /// Whether any secret was added: a run without one masks nothing at no cost.
    any: AtomicBool,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    values: BTreeSet<String>,
    /// Over `values`; `None` after an addition, built again on the next use.
    matcher: Option<Arc<AhoCorasick>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field(
                "count",
                &self
                    .inner
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .values
                    .len(),
            )
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Adds `value` (an empty one is ignored). A multi-line value also adds each of its
    /// longer lines, so a key's text is masked line by line as output shows it.
    pub fn add(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut pieces = vec![value];
        if value.contains('\n') {
            pieces.extend(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.len() >= MIN_LINE_PIECE && !l.starts_with("-----")),
            );
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut added = false;
        for p in pieces {
            if !inner.values.contains(p) {
                inner.values.insert(p.to_string());
                added = true;
            }
        }
        if added {
            inner.matcher = None;
            self.any.store(true, Ordering::Release);
        }
    }

    /// The automaton over every secret; `None` when there is none.
    fn matcher(&self) -> Option<Arc<AhoCorasick>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        if let Some(m) = &self.inner.read().unwrap_or_else(|e| e.into_inner()).matcher {
            return Some(Arc::clone(m));
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.matcher.is_none() {
            // leftmost-longest: a secret inside a longer one is masked with it
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&inner.values)
                .ok()?;
            inner.matcher = Some(Arc::new(built));
        }
        inner.matcher.clone()
    }

    /// Whether `text` holds a secret.
    pub fn found_in(&self, text: &str) -> bool {
        self.matcher().is_some_and(|m| m.is_match(text))
    }

    /// `text` with every secret in it replaced by [`MASK`].
    ///
    /// ```
    /// let secrets = drover::report::Secrets::default();
    /// secrets.add("hunter2");
    /// assert_eq!(secrets.redact("login with hunter2, then hunter2"), "login with <secret>, then <secret>");
    /// assert_eq!(secrets.redact("nothing here"), "nothing here");
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(m) = self.matcher() else {
            return Cow::Borrowed(text);
        };
        if !m.is_match(text) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let replaced = m.try_replace_all_with(text, &mut out, |_, _, dst| {
            dst.push_str(MASK);
            true
        });
        match replaced {
            Ok(()) => Cow::Owned(out),
            // (leftmost-longest unanchored search always supports replacing; if it ever
            // did not, showing nothing is the safe answer)
            Err(_) => Cow::Owned(MASK.to_string()),
        }
    }

    /// `event` with the secrets in its texts masked; `None` when it holds none.
    pub fn redact_event(&self, event: &Event) -> Option<Event> {
        let m = self.matcher()?;
        // (most events hold no secret: look before copying; this runs for every line)
        if !holds_secret(&m, event) {
            return None;
        }
        let mut out = event.clone();
        let fix = |s: &mut String| {
            if let Cow::Owned(r) = self.redact(s) {
                *s = r;
            }
        };
        match &mut out {
            Event::RunStarted { hosts } => hosts.iter_mut().for_each(fix),
            Event::HostStarted { .. } | Event::Summary { .. } => {}
            Event::Line { line, .. } => fix(line),
            Event::Print { text } | Event::Log { text, .. } => fix(text),
            Event::Progress { path, .. } => fix(path),
            Event::Op {
                target,
                diff,
                reason,
                ..
            } => {
                fix(target);
                diff.iter_mut().for_each(fix);
                reason.iter_mut().for_each(fix);
            }
            Event::HostFinished { error, .. } => error.iter_mut().for_each(fix),
            Event::Warning { message } => fix(message),
        }
        Some(out)
    }
}

/// Whether a text of `event` holds a secret that `m` finds.
fn holds_secret(m: &AhoCorasick, event: &Event) -> bool {
    let hit = |s: &str| m.is_match(s);
    match event {
        Event::RunStarted { hosts } => hosts.iter().any(|h| hit(h)),
        Event::HostStarted { .. } | Event::Summary { .. } => false,
        Event::Line { line, .. } => hit(line),
        Event::Print { text } | Event::Log { text, .. } => hit(text),
        Event::Progress { path, .. } => hit(path),
        Event::Op {
            target,
            diff,
            reason,
            ..
        } => hit(target) || diff.as_deref().is_some_and(hit) || reason.as_deref().is_some_and(hit),
        Event::HostFinished { error, .. } => error.as_deref().is_some_and(hit),
        Event::Warning { message } => hit(message),
    }
}

impl Secrets {
    /// `error` masked: its message and traceback.
    pub fn redact_error(&self, error: &mut ErrorReport) {
        if let Cow::Owned(m) = self.redact(&error.message) {
            error.message = m;
        }
        if let Some(t) = &mut error.traceback
            && let Cow::Owned(m) = self.redact(t)
        {
            *t = m;
        }
    }

    /// `report` masked: every error and every text in the values scripts returned.
    pub fn redact_report(&self, report: &mut RunReport) {
        if self.matcher().is_none() {
            return;
        }
        for f in &mut report.failures {
            self.redact_error(&mut f.error);
        }
        for h in &mut report.hosts {
            if let Some(e) = &mut h.error {
                self.redact_error(e);
            }
            h.values.iter_mut().for_each(|v| self.redact_json(v));
        }
        report.values.iter_mut().for_each(|v| self.redact_json(v));
    }

    fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(m) = self.redact(s) {
                    *s = m;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }
}

/// A sink that masks secrets before passing events on: the runtime wraps the sink it was
/// given in one, so no producer can forget to.
pub(crate) struct RedactingSink {
    pub(crate) inner: SharedSink,
    pub(crate) secrets: Arc<Secrets>,
}

impl EventSink for RedactingSink {
    fn event(&self, event: &Event) {
        match self.secrets.redact_event(event) {
            Some(masked) => self.inner.event(&masked),
            None => self.inner.event(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Stream;
    use proptest::prelude::*;

    #[test]
    fn longest_secret_wins_and_key_lines_are_masked() {
        let s = Secrets::default();
        s.add("pass");
        s.add("password123");
        assert_eq!(s.redact("x password123 pass"), "x <secret> <secret>");
        let key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAAB\nshort\n-----END KEY-----\n";
        s.add(key);
        assert_eq!(
            s.redact("line: AAAAB3NzaC1yc2EAAAADAQABAAAB; -----END KEY----- short"),
            "line: <secret>; -----END KEY----- short"
        );
    }

    #[test]
    fn events_are_masked_only_where_a_secret_is() {
        let s = Secrets::default();
        let line = Event::Line {
            host: "web1".into(),
            stream: Stream::Stdout,
            line: "pw=hunter2".into(),
        };
        assert!(s.redact_event(&line).is_none(), "no secret yet");
        s.add("hunter2");
        assert_eq!(
            s.redact_event(&line),
            Some(Event::Line {
                host: "web1".into(),
                stream: Stream::Stdout,
                line: "pw=<secret>".into()
            })
        );
        let warning = Event::Warning {
            message: "nothing".into(),
        };
        assert!(s.redact_event(&warning).is_none());
        let failed = Event::HostFinished {
            host: "web1".into(),
            outcome: crate::report::Outcome::Failed,
            code: None,
            elapsed_ms: 1,
            error_kind: None,
            error: Some("command `login hunter2` failed".into()),
        };
        match s.redact_event(&failed) {
            Some(Event::HostFinished { error: Some(e), .. }) => {
                assert_eq!(e, "command `login <secret>` failed")
            }
            other => panic!("not masked: {other:?}"),
        }
    }

    proptest! {
        /// Whatever the secrets and the text, masking never panics and never leaves a
        /// secret in the text.
        #[test]
        fn no_secret_survives(secrets in proptest::collection::vec("[a-c]{1,4}", 1..4), text in "[a-c <>]{0,40}") {
            let s = Secrets::default();
            for v in &secrets {
                s.add(v);
            }
            let out = s.redact(&text).replace(MASK, " ");
            for v in &secrets {
                prop_assert!(!out.contains(v.as_str()), "{v:?} left in {out:?}");
            }
        }
    }
}
