//! drover's integration tests: one binary, libtest's CLI (`cargo test --test drover -- NAME`).
//!
//! Every `tests/lua/**/*.lua` is a named test run through the real `drover run`. A script
//! passes when it exits 0 (it asserts with `assert`/`tests/support/check.lua`), unless its
//! header says otherwise:
//!
//! ```lua
//! -- expect-exit: 1            (expected exit code)
//! -- expect-stderr: some text  (substring of stderr; repeatable)
//! -- reject-stderr: some text  (must NOT be in stderr; repeatable)
//! -- expect-stdout: some text  (substring of stdout; repeatable)
//! -- args: a b c               (script arguments)
//! -- interrupt-on: READY       (send SIGINT when stdout shows this line; twice with `interrupt-twice`)
//! -- time-limit: 20            (seconds before the test is killed and failed; default 60)
//! ```
//!
//! Examples under `examples/` are run too (they must exit 0), or, with a header
//! `-- driver: tests/examples/NAME.lua`, by that test, which runs the example through
//! `drover run` against fixture hosts and services it sets up (in normal and check mode).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

#[path = "drover/cli_docs.rs"]
mod cli_docs;
#[path = "drover/embed.rs"]
mod embed;
#[path = "drover/inventory_cli.rs"]
mod inventory_cli;
#[path = "drover/layout.rs"]
mod layout;
#[path = "drover/public_api.rs"]
mod public_api;
#[path = "drover/readme.rs"]
mod readme;
#[path = "drover/sshd.rs"]
mod sshd;
#[path = "drover/types.rs"]
mod types;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lua_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            lua_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "lua") {
            out.push(path);
        }
    }
}

#[derive(Default, Debug)]
struct Expectations {
    exit: i32,
    stderr: Vec<String>,
    reject_stderr: Vec<String>,
    stdout: Vec<String>,
    reject_stdout: Vec<String>,
    args: Vec<String>,
    interrupt_on: Option<String>,
    interrupt_twice: bool,
    time_limit: Duration,
    needs_sshd: usize,
    sshd_config: String,
    /// `fleet: N`: N sshd and an inventory of them (hosts h01..hNN, groups odd, even, all);
    /// the script runs once per host (`-i INVENTORY -g all` follow the script).
    fleet: usize,
    /// `driver: PATH`: an example run by the test script at PATH (from the repository root).
    driver: Option<PathBuf>,
}

fn expectations(source: &str) -> Expectations {
    let mut e = Expectations {
        time_limit: Duration::from_secs(60),
        ..Default::default()
    };
    for line in source
        .lines()
        .take_while(|l| l.starts_with("--") || l.starts_with("#!"))
    {
        let line = line.trim_start_matches('-').trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "expect-exit" => e.exit = value.parse().expect("expect-exit takes a number"),
            "expect-stderr" => e.stderr.push(value),
            "reject-stderr" => e.reject_stderr.push(value),
            "expect-stdout" => e.stdout.push(value),
            "reject-stdout" => e.reject_stdout.push(value),
            "args" => e.args = value.split_whitespace().map(String::from).collect(),
            "interrupt-on" => e.interrupt_on = Some(value),
            "interrupt-twice" => e.interrupt_twice = value == "true",
            "driver" => e.driver = Some(PathBuf::from(value)),
            "fleet" => {
                e.fleet = value.parse().expect("fleet takes a number");
                e.needs_sshd = e.needs_sshd.max(e.fleet);
            }
            "sshd-config" => {
                e.sshd_config.push_str(&value);
                e.sshd_config.push('\n');
            }
            // "sshd" once per sshd, or "sshd*N"
            "needs" => {
                e.needs_sshd = value
                    .split_whitespace()
                    .map(|n| match n.strip_prefix("sshd*") {
                        Some(k) => k.parse().expect("sshd*N takes a number"),
                        None => usize::from(n == "sshd"),
                    })
                    .sum()
            }
            "time-limit" => {
                e.time_limit =
                    Duration::from_secs_f64(value.parse().expect("time-limit takes seconds"))
            }
            _ => {}
        }
    }
    e
}

/// A directory of one test's own files (`$DROVER_TEST_TMP`: the fixture's local and remote
/// directories live under it), removed when the test ends, passed or failed. World-writable
/// and sticky: the sshd fixture's login users make their directories in it too.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, Failed> {
        use std::os::unix::fs::PermissionsExt;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("drover-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `drover run SCRIPT` as the tests expect; returns (exit code, stdout, stderr).
fn run_script(script: &Path, e: &Expectations) -> Result<(i32, String, String), Failed> {
    let root = repo_root();
    let scratch = Scratch::new()?;
    // One sshd per "sshd" in the header; the second one's variables say SSH2, and so on.
    let fleet: Vec<sshd::Sshd> = (0..e.needs_sshd)
        .map(|_| sshd::Sshd::start(&e.sshd_config))
        .collect::<Result<_, _>>()?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_drover"));
    for (i, sshd) in fleet.iter().enumerate() {
        for (k, v) in sshd.env() {
            let k = if i == 0 {
                k
            } else {
                k.replacen("SSH", &format!("SSH{}", i + 1), 1)
            };
            command.env(k, v);
        }
    }
    let mut fleet_args = Vec::new();
    if e.fleet > 0 {
        let path = sshd::write_inventory(&fleet[..e.fleet])?;
        fleet_args = vec![
            "-i".to_string(),
            path.display().to_string(),
            "-g".into(),
            "all".into(),
        ];
    }
    let mut child = command
        .arg("run")
        .arg(script.strip_prefix(&root).unwrap_or(script))
        .args(&fleet_args)
        .args(&e.args)
        .current_dir(&root)
        .env(
            "LUA_PATH",
            format!("{}/tests/support/?.lua;;", root.display()),
        )
        .env_remove("LUA_PATH_5_4")
        .env("DROVER_EXE", env!("CARGO_BIN_EXE_drover"))
        .env("DROVER_TEST_TMP", &scratch.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start drover: {err}"))?;
    let pid = child.id() as i32;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let out_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            let _ = line_tx.send(line);
        }
        all
    });
    let err_reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let start = Instant::now();
    let mut interrupted = false;
    let status = loop {
        while let Ok(line) = line_rx.try_recv() {
            if !interrupted && e.interrupt_on.as_deref() == Some(line.trim()) {
                interrupted = true;
                unsafe { libc::kill(pid, libc::SIGINT) };
                if e.interrupt_twice {
                    std::thread::sleep(Duration::from_millis(200));
                    unsafe { libc::kill(pid, libc::SIGINT) };
                }
            }
        }
        if let Some(status) = child.try_wait().map_err(|err| err.to_string())? {
            break status;
        }
        if start.elapsed() > e.time_limit {
            let _ = child.kill();
            let _ = child.wait();
            let out = out_reader.join().unwrap_or_default();
            let err = err_reader.join().unwrap_or_default();
            return Err(format!(
                "drover did not finish within {:?}\n--- stdout ---\n{out}--- stderr ---\n{err}",
                e.time_limit
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let code = status.code().unwrap_or(-1);
    let err = if code == e.exit {
        err
    } else {
        fleet.iter().fold(err, |acc, sshd| {
            format!("{acc}--- sshd log ---\n{}", sshd.log_tail())
        })
    };
    Ok((code, out, err))
}

fn check_script(script: &Path) -> Result<(), Failed> {
    let source = std::fs::read_to_string(script)
        .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let e = expectations(&source);
    if let Some(driver) = &e.driver {
        let driver = repo_root().join(driver);
        if driver == script {
            return Err(format!("{}: a driver of itself", script.display()).into());
        }
        return check_script(&driver);
    }
    let (code, out, err) = run_script(script, &e)?;
    let show = || format!("\n--- stdout ---\n{out}--- stderr ---\n{err}");
    if code != e.exit {
        return Err(format!("exit code {code}, expected {}{}", e.exit, show()).into());
    }
    for want in &e.stderr {
        if !err.contains(want.as_str()) {
            return Err(format!("stderr lacks {want:?}{}", show()).into());
        }
    }
    for unwanted in &e.reject_stderr {
        if err.contains(unwanted.as_str()) {
            return Err(format!("stderr contains {unwanted:?}{}", show()).into());
        }
    }
    for want in &e.stdout {
        if !out.contains(want.as_str()) {
            return Err(format!("stdout lacks {want:?}{}", show()).into());
        }
    }
    for unwanted in &e.reject_stdout {
        if out.contains(unwanted.as_str()) {
            return Err(format!("stdout contains {unwanted:?}{}", show()).into());
        }
    }
    Ok(())
}

/// `drover ARGS...` from the repository root: (exit code, stdout, stderr).
fn drover(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("drover runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn missing_script_is_a_load_error() -> Result<(), Failed> {
    let (code, _, err) = drover(&["run", "no/such/script.lua"]);
    if code != 2 || !err.contains("cannot read no/such/script.lua") {
        return Err(format!("exit {code}, stderr: {err}").into());
    }
    Ok(())
}

fn usage_error_exits_2() -> Result<(), Failed> {
    let (code, _, err) = drover(&["frobnicate"]);
    if code != 2 || !err.contains("frobnicate") {
        return Err(format!("exit {code}, stderr: {err}").into());
    }
    let (code, out, _) = drover(&["--help"]);
    if code != 0 || !out.contains("run") {
        return Err(format!("--help: exit {code}, stdout: {out}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let root = repo_root();
    let mut trials = Vec::new();
    for (dir, prefix) in [("tests/lua", "lua"), ("examples", "examples")] {
        let base = root.join(dir);
        let mut files = Vec::new();
        lua_files(&base, &mut files);
        for file in files {
            let rel = file.strip_prefix(&base).unwrap_or(&file).with_extension("");
            let name = format!("{prefix}::{}", rel.display().to_string().replace('/', "::"));
            trials.push(Trial::test(name, move || check_script(&file)));
        }
    }
    trials.push(Trial::test(
        "cli::missing_script_is_a_load_error",
        missing_script_is_a_load_error,
    ));
    trials.push(Trial::test("cli::usage_error_exits_2", usage_error_exits_2));
    trials.extend(inventory_cli::trials());
    trials.extend(cli_docs::trials());
    trials.extend(embed::trials());
    trials.extend(public_api::trials());
    trials.extend(layout::trials());
    trials.extend(readme::trials());
    trials.extend(types::trials());
    libtest_mimic::run(&args, trials).exit();
}
