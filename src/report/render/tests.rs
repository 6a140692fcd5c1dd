//! The renderer's forms, checked on captured writers.
use super::*;
use crate::report::event::Changed;
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
    // the failure shows as soon as the host ends, named by its outcome, then the summary
    assert_eq!(
        err,
        "db1 ! failed: boom\ndb1 ! more\n== 3 hosts: 2 ok, 1 failed\n   failed db1: boom\n"
    );
}

fn end(host: &str, outcome: Outcome, error: Option<&str>) -> Event {
    Event::HostFinished {
        host: host.into(),
        outcome,
        code: None,
        elapsed_ms: 1,
        error_kind: None,
        error: error.map(str::to_string),
    }
}

/// web01..web04 fail alike, dead1 and dead2 cannot be reached, db1 is ok.
fn failing_fleet() -> Vec<Event> {
    let names = ["web01", "web02", "web03", "web04", "dead1", "dead2", "db1"];
    let mut events = vec![Event::RunStarted {
        hosts: names.iter().map(|h| h.to_string()).collect(),
    }];
    let exit =
        "f.lua:1: command `false` exited with code 1\nstack traceback:\n\tf.lua:1: in main chunk";
    for h in &names[..4] {
        events.push(end(h, Outcome::Failed, Some(exit)));
    }
    for h in &names[4..6] {
        events.push(end(
            h,
            Outcome::Unreachable,
            Some("cannot connect to 10.0.0.9:22: refused"),
        ));
    }
    events.push(end("db1", Outcome::Ok, None));
    events.push(Event::Summary {
        hosts: 7,
        outcomes: BTreeMap::new(),
    });
    events
}

#[test]
fn gather_folds_identical_failures_and_names_the_reason() {
    let (out, err) = run(Mode::Gather, &failing_fleet());
    let header = "web[01-04] (4) failed: f.lua:1: command `false` exited with code 1";
    let rule = "-".repeat(header.len());
    assert!(
        out.starts_with(&format!("{rule}\n{header}\n{rule}\n{}\n", "-".repeat(65))),
        "{out}"
    );
    assert!(
        out.contains("dead[1-2] (2) unreachable: cannot connect to 10.0.0.9:22: refused\n"),
        "{out}"
    );
    assert!(out.contains("\ndb1 (1)\n"), "{out}");
    assert!(!out.contains("stack traceback"), "{out}");
    assert_eq!(
        err,
        "== 7 hosts: 1 ok, 4 failed, 2 unreachable\n\
         \x20  failed web[01-04] (4): f.lua:1: command `false` exited with code 1\n\
         \x20  unreachable dead[1-2] (2): cannot connect to 10.0.0.9:22: refused\n"
    );
}

#[test]
fn error_parts_keep_the_scripts_frames_but_not_a_lone_repeat() {
    let deep =
        "f.lua:2: boom\nstack traceback:\n\tf.lua:2: in function 'x'\n\tf.lua:5: in main chunk";
    assert_eq!(
        error_parts(Some(deep)),
        (
            Some("f.lua:2: boom"),
            vec!["\tf.lua:2: in function 'x'", "\tf.lua:5: in main chunk"]
        )
    );
    let lone = "f.lua:1: boom\nstack traceback:\n\tf.lua:1: in main chunk";
    assert_eq!(error_parts(Some(lone)), (Some("f.lua:1: boom"), vec![]));
    let elsewhere = "f.lua:1: boom\nstack traceback:\n\tg.lua:4: in main chunk";
    assert_eq!(
        error_parts(Some(elsewhere)).1,
        vec!["\tg.lua:4: in main chunk"]
    );
    assert_eq!(error_parts(None), (None, vec![]));
}

#[test]
fn live_names_each_outcome_when_the_host_ends() {
    let (_, err) = run(Mode::Live, &failing_fleet());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        &lines[..3],
        &[
            "web01 ! failed: f.lua:1: command `false` exited with code 1",
            "web02 ! failed: f.lua:1: command `false` exited with code 1",
            "web03 ! failed: f.lua:1: command `false` exited with code 1",
        ]
    );
    assert!(
        err.contains("dead1 ! unreachable: cannot connect to 10.0.0.9:22: refused\n"),
        "{err}"
    );
    // an error that already names the outcome is not prefixed twice
    let (_, err) = run(
        Mode::Live,
        &[end("h1", Outcome::TimedOut, Some("timed_out after 2s"))],
    );
    assert_eq!(err, "h1 ! timed_out after 2s\n");
    // cancelled hosts (all of them at once, after Ctrl-C) only in the summary, folded
    let cancelled = Some("cancelled: the run was cancelled");
    let (_, err) = run(
        Mode::Live,
        &[
            end("h1", Outcome::Cancelled, cancelled),
            end("h2", Outcome::Cancelled, cancelled),
            Event::Summary {
                hosts: 2,
                outcomes: BTreeMap::new(),
            },
        ],
    );
    assert_eq!(
        err,
        "== 2 hosts: 2 cancelled\n   cancelled h[1-2] (2): cancelled: the run was cancelled\n"
    );
}

#[test]
fn colour_marks_hosts_stderr_outcomes_and_headers() {
    let colour = RenderOptions {
        colour: true,
        ..RenderOptions::default()
    };
    let mut events = failing_fleet();
    events.insert(
        1,
        Event::Line {
            host: "web01".into(),
            stream: Stream::Stderr,
            line: "oops".into(),
        },
    );
    let (_, err) = run_with(Mode::Live, colour, &events);
    assert!(
        err.starts_with("\x1b[38;5;33mweb01\x1b[0m \x1b[31m! oops\x1b[0m\n"),
        "{err:?}"
    );
    assert!(err.contains("\x1b[1;31m4 failed\x1b[0m"), "{err:?}");
    assert!(err.contains("\x1b[32m1 ok\x1b[0m"), "{err:?}");
    assert!(err.contains("\x1b[1;35m2 unreachable\x1b[0m"), "{err:?}");
    let (out, _) = run_with(Mode::Gather, colour, &failing_fleet());
    assert!(out.starts_with("\x1b[1m---"), "{out:?}");
    assert!(
        out.contains("\x1b[1mweb[01-04] (4)\x1b[0m\x1b[1;31m failed: "),
        "{out:?}"
    );
}

fn op(host: &str, target: &str, changed: Changed, check: bool) -> Event {
    Event::Op {
        host: Some(host.into()),
        module: "file".into(),
        op: "present".into(),
        target: target.into(),
        changed,
        diff: None,
        reason: None,
        check,
        elapsed_ms: 1,
    }
}

#[test]
fn summary_counts_hosts_that_changed_something_and_ops_per_host() {
    let mut events = fleet();
    events.insert(2, op("web1", "/etc/motd", Changed::Yes, false));
    events.insert(2, op("web1", "/etc/issue", Changed::No, false));
    let (out, err) = run(Mode::Live, &events);
    assert!(
        err.contains("== 3 hosts: 2 ok (1 changed), 1 failed\n"),
        "{err}"
    );
    assert!(err.contains("   ops web1: ok=2 changed=1\n"), "{err}");
    assert!(
        out.contains("web1 ~ file.present /etc/motd: changed\n"),
        "{out}"
    );
    assert!(
        out.contains("web1 ~ file.present /etc/issue: ok\n"),
        "{out}"
    );
}

#[test]
fn check_mode_ops_say_would_and_hosts_with_equal_counts_fold() {
    let mut events = vec![Event::RunStarted {
        hosts: vec!["web1".into(), "web2".into(), "web3".into()],
    }];
    for h in ["web1", "web2", "web3"] {
        events.push(op(h, "/srv/app", Changed::Yes, true));
    }
    events.push(Event::Op {
        host: Some("web3".into()),
        module: "ssh".into(),
        op: "run".into(),
        target: "make install".into(),
        changed: Changed::Unknown,
        diff: Some("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y".into()),
        reason: Some("not run in check mode".into()),
        check: true,
        elapsed_ms: 0,
    });
    for h in ["web1", "web2", "web3"] {
        events.push(Event::HostFinished {
            host: h.into(),
            outcome: Outcome::Ok,
            code: None,
            elapsed_ms: 1,
            error_kind: None,
            error: None,
        });
    }
    events.push(Event::Summary {
        hosts: 3,
        outcomes: BTreeMap::from([(Outcome::Ok, 3)]),
    });
    let (out, err) = run(Mode::Live, &events);
    assert!(
        out.contains("web1 ~ file.present /srv/app: would change\n"),
        "{out}"
    );
    assert!(out.contains("web3 ~ would run: make install\n"), "{out}");
    assert!(out.contains("web3 ~ +y\n"), "the diff under its op: {out}");
    assert!(err.contains("== 3 hosts: 3 ok (3 would change)\n"), "{err}");
    assert!(
        err.contains("   ops web[1-2] (2): ok=1 changed=1\n"),
        "{err}"
    );
    assert!(
        err.contains("   ops web3: ok=2 changed=1 unknown=1\n"),
        "{err}"
    );
    let (out, _) = run(Mode::Gather, &events);
    assert!(out.contains("would run: make install"), "{out}");
}

#[test]
fn progress_line_draws_on_the_error_writer_in_live_mode_and_goes_away() {
    let progress = RenderOptions {
        progress: true,
        ..RenderOptions::default()
    };
    let (out, err) = run_with(Mode::Live, progress, &failing_fleet());
    assert!(err.contains("/7 done, "), "{err:?}");
    assert!(err.contains("failed"), "{err:?}");
    // lines keep their place: stdout untouched, the summary after the line was cleared
    assert!(!out.contains("done"), "{out:?}");
    assert!(err.trim_end().ends_with("refused"), "{err:?}");
    let (_, plain) = run(Mode::Live, &failing_fleet());
    assert!(!plain.contains("done,"), "{plain}");
}

#[test]
fn gather_folds_identical_hosts() {
    let (out, _) = run(Mode::Gather, &fleet());
    assert!(out.starts_with("------------\nweb[1-2] (2)\n"), "{out}");
    assert!(
        out.contains("db1 (1) failed: boom\n--------------------\nother\n! more\n"),
        "{out}"
    );
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
    // every line has a time, in order
    let ts: Vec<u64> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<JsonEvent>(l).ok())
        .map(|e| e.ts)
        .collect();
    assert!(ts.iter().all(|t| *t > 1_600_000_000_000), "{ts:?}");
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
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
        out.contains(r#"{"event":"log","host":"web2","level":"warn","text":"disk\n91%","ts":"#),
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
