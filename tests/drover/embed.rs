//! The library as an embedder uses it: runtimes built in code, evals, host modules, the event
//! stream and reports, against the real sshd fixture.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drover::inventory::{HostEntry, Inventory};
use drover::{
    Changed, EvalError, EvalOptions, Event, FanoutOptions, JsonEvent, Outcome, Runtime,
    RuntimeError, Script,
};
use libtest_mimic::{Failed, Trial};

use super::sshd::{Sshd, TEST_USER};

fn ensure(cond: bool, what: impl std::fmt::Display) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(what.to_string().into())
    }
}

/// An inventory of `fleet` built in code: hosts h1..hN, group `all`.
fn inventory(fleet: &[Sshd]) -> Result<Inventory, Failed> {
    let mut b = Inventory::builder().default_var("user", TEST_USER);
    let mut names = Vec::new();
    for (i, sshd) in fleet.iter().enumerate() {
        let name = format!("h{}", i + 1);
        b = b.host(
            &name,
            HostEntry::new()
                .address("127.0.0.1")
                .port(sshd.port())
                .identity(sshd.client_key())
                .known_hosts(sshd.known_hosts()),
        );
        names.push(name);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(b.group("all", names, []).build()?)
}

fn fleet(n: usize) -> Result<Vec<Sshd>, Failed> {
    (0..n)
        .map(|_| Sshd::start("").map_err(Failed::from))
        .collect()
}

fn first_string(values: mlua::MultiValue) -> Option<String> {
    values.into_iter().next().and_then(|v| v.to_string().ok())
}

/// Three evals in a row: globals persist, a background task from eval 1 runs through eval 3,
/// an error in eval 2 does not cancel it, cancelling eval 3 leaves it alone.
fn evals_share_globals_not_fates() -> Result<(), Failed> {
    let rt = Runtime::builder().build()?;
    rt.eval("ticks = 0; ticker = task.spawn(function() while true do task.sleep(0.01); ticks = ticks + 1 end end)")?;
    match rt.eval("task.sleep(0.1); error('eval two fails')") {
        Err(EvalError::Failed(e)) => ensure(e.message.contains("eval two fails"), &e.message)?,
        other => return Err(format!("eval 2: {other:?}").into()),
    }
    let token = tokio_util::sync::CancellationToken::new();
    let cancel = token.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let opts = EvalOptions {
        cancel: Some(token),
        timeout: None,
    };
    let third = rt.eval_with("before = ticks; task.sleep(30)", &opts);
    ensure(
        matches!(third, Err(EvalError::Cancelled)),
        format!("eval 3: {third:?}"),
    )?;
    let v = rt.eval(
        "local t0 = ticks; task.sleep(0.1); return ticker:status(), before > 0 and ticks > t0",
    )?;
    let v: Vec<String> = v
        .into_iter()
        .map(|v| v.to_string().unwrap_or_default())
        .collect();
    ensure(v == ["running", "true"], format!("{v:?}"))?;
    Ok(())
}

/// A second command on a host reuses its connection across evals.
fn connections_persist_across_evals() -> Result<(), Failed> {
    let fleet = fleet(1)?;
    let rt = Runtime::builder().inventory(inventory(&fleet)?).build()?;
    let ask = "return inventory.host('h1'):run('echo $SSH_CONNECTION').stdout";
    let one = first_string(rt.eval(ask)?).unwrap_or_default();
    let two = first_string(rt.eval(ask)?).unwrap_or_default();
    let port = |s: &str| s.split_whitespace().nth(1).map(str::to_string);
    ensure(
        port(&one).is_some() && port(&one) == port(&two),
        format!("{one:?} vs {two:?}"),
    )
}

/// Two runtimes on two fleets in one process, at the same time: each sees its own.
fn two_runtimes_side_by_side() -> Result<(), Failed> {
    let (a, b) = (fleet(2)?, fleet(2)?);
    let ports = |f: &[Sshd]| f.iter().map(|s| s.port().to_string()).collect::<Vec<_>>();
    let (pa, pb) = (ports(&a), ports(&b));
    let run = |inv: Inventory| {
        std::thread::spawn(move || -> Result<Vec<String>, String> {
            let events = Arc::new(Mutex::new(Vec::new()));
            let seen = Arc::clone(&events);
            let rt = Runtime::builder()
                .inventory(inv)
                .event_sink(move |e: &Event| {
                    seen.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(e.clone())
                })
                .build()
                .map_err(|e| e.to_string())?;
            let script = Script::from_source("side", "mine = host.name; task.sleep(0.2); return ssh.run('echo $SSH_CONNECTION').stdout:match('%d+ (%d+)%s*$'), mine")
                .map_err(|e| e.to_string())?;
            let hosts = rt.targets(&drover::inventory::TargetSpec {
                groups: vec!["all".into()],
                ..Default::default()
            })?;
            let report = rt
                .run_fanout(&script, &[], hosts, &FanoutOptions::default())
                .map_err(|e| e.to_string())?;
            if !report.ok() {
                return Err(format!("{report:?}"));
            }
            Ok(report
                .hosts
                .iter()
                .map(|h| h.values[0].as_str().unwrap_or("").to_string())
                .collect())
        })
    };
    let (ta, tb) = (run(inventory(&a)?), run(inventory(&b)?));
    let got_a = ta.join().map_err(|_| "thread a panicked")??;
    let got_b = tb.join().map_err(|_| "thread b panicked")??;
    ensure(
        got_a == pa && got_b == pb,
        format!("a {got_a:?} (want {pa:?}), b {got_b:?} (want {pb:?})"),
    )
}

/// 1,000 concurrent calls of a host program's async function take about as long as one.
fn host_async_functions_run_concurrently() -> Result<(), Failed> {
    let rt = Runtime::builder()
        .module("acme", |lua| {
            let m = lua.create_table()?;
            m.set("double", lua.create_function(|_, n: i64| Ok(n * 2))?)?;
            m.set(
                "wait",
                lua.create_async_function(|_, secs: f64| async move {
                    tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, 10.0))).await;
                    Ok(secs)
                })?,
            )?;
            Ok(m)
        })
        .build()?;
    let start = Instant::now();
    let v = rt.eval(
        "local hs = {} for i = 1, 1000 do hs[i] = task.spawn(acme.wait, 0.3) end
         task.join_all(hs)
         return require('acme').double(21)",
    )?;
    let took = start.elapsed();
    ensure(first_string(v).as_deref() == Some("42"), "acme.double(21)")?;
    ensure(
        took < Duration::from_secs(2),
        format!("1000 x 0.3 s took {took:?}"),
    )
}

/// The events of a 5-host run: per host started, its lines, finished, in that order; each
/// event round-trips through its JSON form.
fn event_stream_is_ordered_per_host() -> Result<(), Failed> {
    let fleet = fleet(5)?;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let rt = Runtime::builder()
        .inventory(inventory(&fleet)?)
        .event_sink(move |e: &Event| {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone())
        })
        .build()?;
    let script = Script::from_source(
        "five",
        "print('one'); ssh.run('echo two; echo three >&2', {stream = true}); print('four')",
    )?;
    let hosts = rt.targets(&drover::inventory::TargetSpec {
        groups: vec!["all".into()],
        ..Default::default()
    })?;
    let report = rt.run_fanout(&script, &[], hosts, &FanoutOptions::default())?;
    ensure(
        report.ok() && report.hosts.len() == 5,
        format!("{report:?}"),
    )?;
    let events = events.lock().unwrap_or_else(|p| p.into_inner()).clone();
    ensure(
        matches!(events.first(), Some(Event::RunStarted { hosts }) if hosts.len() == 5),
        "run_started first",
    )?;
    ensure(
        matches!(events.last(), Some(Event::Summary { hosts: 5, .. })),
        "summary last",
    )?;
    for e in &events {
        let line = JsonEvent::to_line(e);
        let back: JsonEvent = serde_json::from_str(&line)?;
        ensure(&back.event == e && back.v == 1, &line)?;
    }
    for h in 1..=5 {
        let name = format!("h{h}");
        let mine: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::HostStarted { host } if *host == name => Some("started".to_string()),
                Event::Line { host, line, .. } if *host == name => Some(line.clone()),
                Event::HostFinished {
                    host,
                    outcome: Outcome::Ok,
                    ..
                } if *host == name => Some("finished".to_string()),
                _ => None,
            })
            .collect();
        ensure(
            mine.first().map(String::as_str) == Some("started")
                && mine.last().map(String::as_str) == Some("finished"),
            format!("{name}: {mine:?}"),
        )?;
        let body: Vec<&str> = mine[1..mine.len() - 1].iter().map(String::as_str).collect();
        ensure(
            body.len() == 4
                && body[0] == "one"
                && body[3] == "four"
                && body.contains(&"two")
                && body.contains(&"three"),
            format!("{name}: {mine:?}"),
        )?;
    }
    Ok(())
}

/// Check mode from the builder: an operation's `Op` event says it would change and nothing
/// changes; after `set_check_mode(false)` the same run changes the host.
fn check_mode_from_the_builder() -> Result<(), Failed> {
    let fleet = fleet(1)?;
    let remote = std::env::temp_dir().join(format!("drover-embed-check-{}", std::process::id()));
    std::fs::create_dir_all(&remote)?;
    let owned = std::process::Command::new("chown")
        .arg(TEST_USER)
        .arg(&remote)
        .status()?;
    ensure(owned.success(), "chown (the tests run as root)")?;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let rt = Runtime::builder()
        .inventory(inventory(&fleet)?)
        .check_mode(true)
        .event_sink(move |e: &Event| {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone())
        })
        .build()?;
    let script = Script::from_source(
        "dirs",
        "local base = ...\nrequire('drover.file').directory(base .. '/made', { mode = '0700' })",
    )?;
    let made = remote.join("made");
    let args = [remote.display().to_string()];
    let mut ops = Vec::new();
    for check in [true, false] {
        rt.set_check_mode(check);
        let hosts = rt.targets(&drover::inventory::TargetSpec {
            groups: vec!["all".into()],
            ..Default::default()
        })?;
        let report = rt.run_fanout(&script, &args, hosts, &FanoutOptions::default())?;
        ensure(report.ok(), format!("{report:?}"))?;
        ensure(
            made.is_dir() != check,
            format!("check mode {check}: made exists: {}", made.is_dir()),
        )?;
        let taken = std::mem::take(&mut *events.lock().unwrap_or_else(|p| p.into_inner()));
        ops.extend(taken.into_iter().filter_map(|e| match e {
            Event::Op {
                module,
                op,
                changed,
                check,
                reason,
                ..
            } => Some((module, op, changed, check, reason)),
            _ => None,
        }));
    }
    let _ = std::fs::remove_dir_all(&remote);
    let created = Some("created".to_string());
    ensure(
        ops == vec![
            (
                "file".into(),
                "directory".into(),
                Changed::Yes,
                true,
                created.clone(),
            ),
            (
                "file".into(),
                "directory".into(),
                Changed::Yes,
                false,
                created,
            ),
        ],
        format!("{ops:?}"),
    )
}

/// The builder's host key policy and known_hosts apply to every inventory host.
fn builder_host_key_settings() -> Result<(), Failed> {
    let fleet = fleet(1)?;
    let inv = || -> Result<Inventory, Failed> {
        Ok(Inventory::builder()
            .default_var("user", TEST_USER)
            .host(
                "h1",
                HostEntry::new()
                    .address("127.0.0.1")
                    .port(fleet[0].port())
                    .identity(fleet[0].client_key()),
            )
            .build()?)
    };
    let known = fleet[0].known_hosts().with_file_name("builder_known_hosts");
    std::fs::write(&known, "")?;
    let strict = Runtime::builder()
        .inventory(inv()?)
        .known_hosts(&known)
        .host_key_policy(drover::HostKeyPolicy::Strict)
        .build()?;
    match strict.eval("return inventory.host('h1'):run('true').code") {
        Err(EvalError::Failed(e)) => {
            ensure(e.kind.as_deref() == Some("host_key"), format!("{e:?}"))?
        }
        other => return Err(format!("strict: {other:?}").into()),
    }
    let accept = Runtime::builder()
        .inventory(inv()?)
        .known_hosts(&known)
        .build()?;
    let code = first_string(accept.eval("return inventory.host('h1'):run('true').code")?);
    ensure(code.as_deref() == Some("0"), format!("{code:?}"))?;
    let recorded = std::fs::read_to_string(&known)?;
    ensure(
        recorded.contains(&format!("[127.0.0.1]:{}", fleet[0].port())),
        recorded,
    )
}

/// Every public error variant, as a caller meets it.
fn public_errors() -> Result<(), Failed> {
    let rt = Runtime::builder().build()?;
    ensure(
        matches!(rt.eval("local x = = 1"), Err(EvalError::Syntax(m)) if m.contains("eval:1:")),
        "syntax",
    )?;
    ensure(
        matches!(rt.eval("os.exit(3)"), Err(EvalError::Exit(3))),
        "exit",
    )?;
    let opts = EvalOptions {
        cancel: None,
        timeout: Some(Duration::from_millis(50)),
    };
    ensure(
        matches!(
            rt.eval_with("task.sleep(5)", &opts),
            Err(EvalError::TimedOut(_))
        ),
        "timed out",
    )?;
    match Script::from_file(std::path::Path::new("/nonexistent/x.lua")) {
        Err(drover::LoadError::Read { path, .. }) => ensure(path.ends_with("x.lua"), "read")?,
        other => return Err(format!("read: {other:?}").into()),
    }
    ensure(
        matches!(
            Script::from_source("s", "end"),
            Err(drover::LoadError::Syntax { .. })
        ),
        "load syntax",
    )?;
    // Inside a tokio runtime the builder starts none of its own: blocking calls say so.
    let outer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let inside = outer.block_on(async {
        let rt = Runtime::builder().build().map_err(|e| e.to_string())?;
        Ok::<_, String>(
            matches!(rt.eval("return 1"), Err(EvalError::Runtime(m)) if m.contains("eval_async")),
        )
    })?;
    ensure(inside, "eval inside tokio")?;
    let err = RuntimeError::InsideTokio("eval");
    ensure(err.to_string().contains("use eval_async"), err)?;
    Ok(())
}

/// `RuntimeError::Setup`, provoked as a caller could: the runtime cannot be set up.
fn runtime_setup_error() -> Result<(), Failed> {
    // A host module whose constructor fails: the build fails with that module's error,
    // naming the module.
    let failing_module = Runtime::builder()
        .module("acme", |_| {
            Err(mlua::Error::runtime("acme: no licence file"))
        })
        .build();
    match failing_module {
        Err(RuntimeError::Setup(m)) => {
            ensure(m.contains("module acme: acme: no licence file"), &m)?
        }
        other => return Err(format!("failing module: {other:?}").into()),
    }
    // A memory limit too small for drover's own modules.
    match Runtime::builder().memory_limit(16 * 1024).build() {
        Err(RuntimeError::Setup(m)) => ensure(
            m.contains("a Lua memory limit of 16384 bytes is too small for drover's own modules"),
            &m,
        )?,
        other => return Err(format!("tiny memory limit: {other:?}").into()),
    }
    Ok(())
}

/// `LoadError::Setup`, provoked as a caller could: a script run cannot be prepared.
fn load_setup_error() -> Result<(), Failed> {
    let noop = Script::from_source("noop", "return 1")?;
    // A runtime built outside tokio, its blocking run called from inside a tokio runtime.
    let rt = Runtime::builder().build()?;
    let outer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match outer.block_on(async { rt.run_script(&noop, &[], &EvalOptions::default()) }) {
        Err(drover::LoadError::Setup(m)) => {
            ensure(m.contains("run_script: called inside a tokio runtime"), &m)?
        }
        other => return Err(format!("run_script inside tokio: {other:?}").into()),
    }
    // An earlier eval broke `package`: the run cannot point `require` at its modules.
    rt.eval("package = nil")?;
    match rt.run_script(&noop, &[], &EvalOptions::default()) {
        Err(drover::LoadError::Setup(m)) => ensure(
            m.starts_with("package.path: ") && m.contains("nil to table"),
            &m,
        )?,
        other => return Err(format!("package = nil: {other:?}").into()),
    }
    Ok(())
}

/// `examples/embed.rs` against a fleet of 3: its own UI line per host, then the report.
fn embed_example_runs_on_a_fleet() -> Result<(), Failed> {
    let exe = std::env::current_exe()?;
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("examples/embed"))
        .ok_or("no target directory")?;
    ensure(
        example.exists(),
        format!(
            "{} is missing: cargo test builds it (or cargo build --example embed)",
            example.display()
        ),
    )?;
    let fleet = fleet(3)?;
    let mut cmd = std::process::Command::new(&example);
    cmd.args(["--user", TEST_USER, "--key"])
        .arg(fleet[0].client_key());
    cmd.arg("--known-hosts").arg(fleet[0].known_hosts());
    for s in &fleet {
        cmd.arg(format!("127.0.0.1:{}", s.port()));
    }
    // each sshd of the fixture accepts its own client key: let them all accept the first's
    for s in &fleet[1..] {
        s.authorize(&fleet[0].client_key().with_extension("pub"))?;
    }
    let out = cmd.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure(
        out.status.success(),
        format!("exit {:?}\n{stdout}\n{stderr}", out.status),
    )?;
    for n in 1..=3 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("✓ node{n} ")))
            .ok_or(format!("no UI line for node{n}:\n{stdout}"))?;
        // "runs Linux ..." comes through the host method the example adds in Rust
        ensure(
            line.contains(" runs Linux ") && line.contains("(ticket T-5000, approved after 0.1s)"),
            line,
        )?;
    }
    let report = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .ok_or(format!("no report:\n{stdout}"))?;
    let report: serde_json::Value = serde_json::from_str(report)?;
    let hosts = report["hosts"].as_array().ok_or("no hosts in the report")?;
    ensure(hosts.len() == 3, report.to_string())?;
    for h in hosts {
        ensure(
            h["outcome"] == "ok" && h["values"][0]["ticket"] == "T-5000",
            h.to_string(),
        )?;
    }
    Ok(())
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "embed::check_mode_from_the_builder",
            check_mode_from_the_builder,
        ),
        Trial::test(
            "embed::evals_share_globals_not_fates",
            evals_share_globals_not_fates,
        ),
        Trial::test(
            "embed::connections_persist_across_evals",
            connections_persist_across_evals,
        ),
        Trial::test(
            "embed::two_runtimes_side_by_side",
            two_runtimes_side_by_side,
        ),
        Trial::test(
            "embed::host_async_functions_run_concurrently",
            host_async_functions_run_concurrently,
        ),
        Trial::test(
            "embed::event_stream_is_ordered_per_host",
            event_stream_is_ordered_per_host,
        ),
        Trial::test("embed::public_errors", public_errors),
        Trial::test("embed::runtime_setup_error", runtime_setup_error),
        Trial::test("embed::load_setup_error", load_setup_error),
        Trial::test(
            "embed::builder_host_key_settings",
            builder_host_key_settings,
        ),
        Trial::test(
            "embed::example_runs_on_a_fleet",
            embed_example_runs_on_a_fleet,
        ),
    ]
}
