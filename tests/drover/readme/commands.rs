//! The README's `sh` blocks: every line is a command with a handler of its own. Lines that can
//! run here run against a fixture fleet, as written but for the inventory (given through
//! `$DROVER_INVENTORY`) and the root-owned remote paths listed in [`REMOTE_PATHS`]; synopsis
//! lines (`[optional]` parts) have every flag they name checked against `--help`, and
//! `drover run` synopses run twice: without their optional parts and with all of them.
//! `drover completions` / `drover man` lines run as written under a throwaway HOME.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use libtest_mimic::Failed;

use super::{Block, Outcome, TempDir, ensure, repo_root, run_limited, substitute};
use crate::sshd::{Sshd, TEST_USER};

/// README paths that are the root's on a real host, and the file in the fleet's "remote"
/// directory (this machine, owned by the login user) that stands in for each.
const REMOTE_PATHS: &[(&str, &str)] = &[
    ("/etc/app/", "etc/app/"),
    ("/var/log/syslog", "var/log/syslog"),
];

/// What checks one line.
#[derive(Debug, PartialEq)]
enum LineHandler {
    /// `scripts/NAME.sh`: exists and is executable (never run: test.sh would recurse).
    Script,
    /// `cargo install --path .`: Cargo.toml has a `[[bin]]` named drover.
    CargoInstall,
    /// A line with `[optional]` parts: every flag it names is in the subcommand's `--help`.
    Synopsis,
    /// `drover exec|put|get ...` (a synopsis too when it has `[...]`): run on the fleet.
    Fleet,
    /// `drover ... | jq ...`: the pipeline, with an unreachable web host in the inventory.
    Jq,
    /// `drover run SCRIPT ...` (`hello.lua` is the Quickstart's block): run on the fleet, with
    /// its `[optional]` parts left out, then once more with each filled in ([`FILLED`]).
    Run,
    /// `drover completions ...`, `drover man ...`: run as written under a throwaway HOME.
    Local,
}

/// How the README's `[optional]` parts are filled in when a synopsis is run with all of them:
/// a placeholder with no filling here fails the test (the README changed).
const FILLED: &[(&str, &str)] = &[
    ("[ARGS...]", "a b"),
    ("[--forks 256]", "--forks 256"),
    ("[--timeout S]", "--timeout 30"),
    ("[--serial N|N% --max-fail P%]", "--serial 1 --max-fail 50%"),
    ("[--check]", "--check"),
    ("[--diff]", "--diff"),
    ("[-b|--json]", "-b"),
    ("[-v]", "-v"),
    ("[--lib DIR]", "--lib lib"),
    ("[-- ARGS]", "-- ARGS"),
];

/// The README's stand-in for a deployment script: what each host prints, identical on every
/// host so `-b` folds it, and its arguments.
const DEPLOY_LUA: &str = "log.debug('checking')\nprint('deployed', ...)\n";

/// The command part of a line (a `#` comment after whitespace cut off), trimmed.
fn command_of(line: &str) -> &str {
    let cut = line.find(" #").unwrap_or(line.len());
    line[..cut].trim()
}

fn claim(line: &str) -> Vec<LineHandler> {
    let cmd = command_of(line);
    let word = |n: usize| cmd.split_whitespace().nth(n).unwrap_or_default();
    let synopsis = cmd.contains('[') && cmd.contains(']');
    if word(0).starts_with("scripts/") && word(0).ends_with(".sh") {
        return vec![LineHandler::Script];
    }
    if cmd == "cargo install --path ." {
        return vec![LineHandler::CargoInstall];
    }
    if word(0) != "drover" {
        return vec![];
    }
    if cmd.contains("| jq ") {
        return vec![LineHandler::Jq];
    }
    if matches!(word(1), "completions" | "man") {
        return vec![LineHandler::Local];
    }
    let mut handlers = Vec::new();
    if synopsis {
        handlers.push(LineHandler::Synopsis);
    }
    if matches!(word(1), "exec" | "put" | "get") {
        handlers.push(LineHandler::Fleet);
    }
    if word(1) == "run" {
        handlers.push(LineHandler::Run);
    }
    handlers
}

pub fn check(block: &Block) -> Result<(), Failed> {
    let mut fleet: Option<Fleet> = None;
    let mut failures = Vec::new();
    for (i, line) in block.body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = block.line + 1 + i;
        let handlers = claim(line);
        if handlers.is_empty() {
            failures.push(format!(
                "README.md:{at}: no handler in tests/drover/readme/commands.rs claims `{line}`"
            ));
        }
        for h in handlers {
            let result = match h {
                LineHandler::Script => script(line),
                LineHandler::CargoInstall => cargo_bin(),
                LineHandler::Synopsis => synopsis(line),
                LineHandler::Local => local(line),
                LineHandler::Fleet | LineHandler::Jq | LineHandler::Run => {
                    if fleet.is_none() {
                        fleet = Some(Fleet::start()?);
                    }
                    let f = fleet.as_ref().ok_or("no fleet")?;
                    if h == LineHandler::Jq {
                        f.jq(line)
                    } else if h == LineHandler::Run {
                        f.run_script(line)
                    } else {
                        f.run_line(line)
                    }
                }
            };
            if let Err(e) = result {
                failures.push(format!(
                    "README.md:{at}: `{line}`: {}",
                    e.message().unwrap_or("failed")
                ));
            }
        }
    }
    ensure(failures.is_empty(), failures.join("\n\n"))
}

fn script(line: &str) -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let path = command_of(line)
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let meta = std::fs::metadata(repo_root().join(path)).map_err(|e| format!("{path}: {e}"))?;
    ensure(
        meta.is_file() && meta.permissions().mode() & 0o111 != 0,
        format!("{path} is not an executable file"),
    )
}

fn cargo_bin() -> Result<(), Failed> {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml"))?;
    // each [[bin]] table runs to the next table header
    let has = toml.split("[[bin]]").skip(1).any(|table| {
        let table = table.split("\n[").next().unwrap_or_default();
        table
            .lines()
            .any(|l| l.replace(' ', "") == "name=\"drover\"")
    });
    ensure(has, "Cargo.toml has no [[bin]] named drover")
}

/// The flags a subcommand's `--help` lists (`-i`, `--inventory`, ...).
fn help_flags(sub: &str) -> Result<BTreeSet<String>, Failed> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drover"));
    cmd.args([sub, "--help"]);
    let out = run_limited(cmd, Duration::from_secs(20))?;
    ensure(
        out.code == 0,
        format!("drover {sub} --help: {}", out.show()),
    )?;
    let mut flags = BTreeSet::new();
    for l in out.stdout.lines().map(str::trim_start) {
        if !l.starts_with('-') {
            continue;
        }
        for token in l.split_whitespace() {
            let token = token.trim_end_matches(',');
            if !token.starts_with('-') {
                break;
            }
            flags.insert(token.to_string());
        }
    }
    Ok(flags)
}

/// The flags a README line names (in the command and in its comment): `-g`, `--forks`.
fn named_flags(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "[]|`()".contains(c))
        .filter(|t| {
            let name = t.trim_start_matches('-');
            t.starts_with('-')
                && t.len() - name.len() <= 2
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
        })
        .map(|t| t.trim_end_matches([',', '.']).to_string())
        .collect()
}

fn synopsis(line: &str) -> Result<(), Failed> {
    let sub = command_of(line)
        .split_whitespace()
        .nth(1)
        .ok_or("no subcommand")?;
    let known = help_flags(sub)?;
    let named = named_flags(line);
    let missing: Vec<_> = named.iter().filter(|f| !known.contains(*f)).collect();
    ensure(
        missing.is_empty(),
        format!("drover {sub} --help lacks {missing:?} (it has {known:?})"),
    )
}

/// `line` with its `[optional]` parts (brackets nested or not) left out.
fn without_optional(line: &str) -> String {
    let mut cmd = String::new();
    let mut depth = 0usize;
    for c in line.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => cmd.push(c),
            _ => {}
        }
    }
    cmd
}

/// `line` with every `[optional]` part filled in from [`FILLED`].
fn filled(line: &str) -> Result<String, Failed> {
    let mut cmd = command_of(line).to_string();
    for (from, to) in FILLED {
        cmd = cmd.replace(from, to);
    }
    ensure(
        !cmd.contains('['),
        format!("no filling in FILLED for an optional part of `{cmd}`"),
    )?;
    Ok(cmd)
}

/// The Quickstart's hello.lua, as the README has it.
fn hello_lua() -> Result<String, Failed> {
    let readme = std::fs::read_to_string(repo_root().join("README.md"))?;
    super::blocks(&readme)?
        .into_iter()
        .find(|b| b.lang() == "lua" && b.body.starts_with("-- hello.lua\n"))
        .map(|b| b.body)
        .ok_or_else(|| "README.md has no `-- hello.lua` block".into())
}

/// A `drover completions|man` line as written, HOME a throwaway directory: it succeeds, and
/// what it writes (a `> FILE` redirection, or man's rendering) is there.
fn local(line: &str) -> Result<(), Failed> {
    let home = TempDir::new("sh-local")?;
    let cmd = command_of(line);
    let target = cmd
        .split_once(" > ")
        .map(|(_, t)| home.0.join(t.trim().trim_start_matches("~/")));
    if let Some(parent) = target.as_ref().and_then(|t| t.parent()) {
        std::fs::create_dir_all(parent)?;
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_drover"))
        .parent()
        .ok_or("no bin dir")?;
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(cmd)
        .current_dir(&home.0)
        .env("HOME", &home.0)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    let out = run_limited(sh, Duration::from_secs(30))?;
    ensure(out.code == 0, out.show())?;
    match target {
        Some(t) => ensure(
            std::fs::metadata(&t).is_ok_and(|m| m.len() > 1000),
            format!("{} not written\n{}", t.display(), out.show()),
        ),
        None if cmd.contains("man -l") => ensure(
            out.stdout.contains("SYNOPSIS") && out.stdout.contains("EXAMPLES"),
            format!("man did not render drover(1)\n{}", out.show()),
        ),
        None => ensure(!out.stdout.is_empty(), out.show()),
    }
}

/// Three sshd as hosts web1, web2 (group web) and db1 (group db), and a "remote" directory
/// standing in for the root-owned paths of [`REMOTE_PATHS`].
struct Fleet {
    _sshd: Vec<Sshd>,
    dir: TempDir,
    remote: TempDir,
    inventory: String,
}

const WEB: [&str; 2] = ["web1", "web2"];

impl Fleet {
    fn start() -> Result<Fleet, Failed> {
        let sshd: Vec<Sshd> = (0..3).map(|_| Sshd::start("")).collect::<Result<_, _>>()?;
        let dir = TempDir::new("sh")?;
        let remote = TempDir::new("sh-remote")?;
        super::sh(&format!(
            "chown -R {TEST_USER} '{0}' && chmod 0755 '{0}'",
            remote.0.display()
        ))?;
        let mut inventory = format!(
            "[defaults]\nuser = {TEST_USER}\nknown_hosts = {}\n\n",
            dir.path("known_hosts").display()
        );
        for (name, s) in WEB.iter().chain(["db1"].iter()).zip(&sshd) {
            let group = if name.starts_with("web") { "web" } else { "db" };
            inventory.push_str(&format!(
                "[host {name}]\naddress = 127.0.0.1\nport = {}\nidentity = {}\ngroups = {group}\n\n",
                s.port(),
                s.client_key().display()
            ));
        }
        dir.write("fleet.ini", &inventory)?;
        Ok(Fleet {
            _sshd: sshd,
            dir,
            remote,
            inventory,
        })
    }

    /// Runs `line` with `sh -c` in the fleet's directory, `drover` on PATH, `inventory` as
    /// `$DROVER_INVENTORY`.
    fn sh(&self, line: &str, inventory: &Path) -> Result<Outcome, Failed> {
        let bin = Path::new(env!("CARGO_BIN_EXE_drover"))
            .parent()
            .ok_or("no bin dir")?;
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(line)
            .current_dir(&self.dir.0)
            .env("PATH", path)
            .env("DROVER_INVENTORY", inventory)
            .env("HOME", &self.dir.0)
            .env_remove("SSH_AUTH_SOCK");
        run_limited(cmd, Duration::from_secs(60))
    }

    /// A `drover exec|put|get` line, its `[optional]` parts left out, on the fleet.
    fn run_line(&self, line: &str) -> Result<(), Failed> {
        let mut cmd = without_optional(line);
        let sub = command_of(&cmd)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        for (abs, rel) in REMOTE_PATHS {
            if cmd.contains(abs) {
                cmd = substitute(&cmd, abs, &self.remote.path(rel).display().to_string())?;
            }
        }
        match sub.as_str() {
            "exec" => self.exec(&cmd),
            "put" => self.put(&cmd),
            "get" => self.get(&cmd),
            other => Err(format!("no fleet check for drover {other}").into()),
        }
    }

    fn inventory_path(&self) -> std::path::PathBuf {
        self.dir.path("fleet.ini")
    }

    /// A `drover run` line on the fleet: hello.lua prints 1 4 9 (from a file or from stdin);
    /// deploy.lua runs on each selected host, and again with every optional flag given.
    fn run_script(&self, line: &str) -> Result<(), Failed> {
        self.dir.write("hello.lua", &hello_lua()?)?;
        self.dir.write("deploy.lua", DEPLOY_LUA)?;
        let inventory = self.inventory_path();
        let bare = without_optional(command_of(line));
        let out = self.sh(&bare, &inventory)?;
        ensure(out.code == 0, format!("`{bare}`: {}", out.show()))?;
        if line.contains("hello.lua") {
            ensure(
                out.stdout == "1\n4\n9\n",
                format!("`{bare}`: {}", out.show()),
            )?;
        } else {
            let hosts: Vec<&str> = out
                .stdout
                .lines()
                .filter_map(|l| l.split(" | ").next())
                .collect();
            ensure(
                hosts == WEB,
                format!("`{bare}`: web1 and web2 only\n{}", out.show()),
            )?;
        }
        if !line.contains('[') {
            return Ok(());
        }
        let full = filled(line)?;
        let out = self.sh(&full, &inventory)?;
        ensure(out.code == 0, format!("`{full}`: {}", out.show()))?;
        let shows = if line.contains("hello.lua") {
            out.stdout == "1\n4\n9\n"
        } else {
            // -b folds the identical output of both hosts; -v shows log.debug; -- ARGS reach `...`
            out.stdout.contains("web[1-2] (2)")
                && out.stdout.contains("deployed\tARGS")
                && out.stdout.contains("[debug] checking")
        };
        ensure(shows, format!("`{full}`: {}", out.show()))
    }

    /// Every selected host ran the command: its `host | line` output is there.
    fn exec(&self, cmd: &str) -> Result<(), Failed> {
        let out = self.sh(cmd, &self.inventory_path())?;
        ensure(out.code == 0, out.show())?;
        for host in WEB.iter().chain(["db1"].iter()) {
            ensure(
                out.stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("{host} | "))),
                format!("no output from {host}\n{}", out.show()),
            )?;
        }
        Ok(())
    }

    /// The upload lands in the directory; a second, identical run changes nothing.
    fn put(&self, cmd: &str) -> Result<(), Failed> {
        let local = command_of(cmd)
            .split_whitespace()
            .find(|w| w.starts_with("./"))
            .ok_or("no ./LOCAL in the put line")?;
        let text = "listen = 8080\n";
        self.dir.write(local, text)?;
        std::fs::create_dir_all(self.remote.path("etc/app"))?;
        super::sh(&format!(
            "chown -R {TEST_USER} '{}'",
            self.remote.0.display()
        ))?;
        let out = self.sh(cmd, &self.inventory_path())?;
        ensure(out.code == 0, out.show())?;
        let name = Path::new(local).file_name().ok_or("no file name")?;
        let landed = self.remote.path("etc/app").join(name);
        ensure(
            std::fs::read_to_string(&landed).ok().as_deref() == Some(text),
            format!("{} not uploaded\n{}", landed.display(), out.show()),
        )?;
        let again = self.sh(
            &format!("{} --json", command_of(cmd)),
            &self.inventory_path(),
        )?;
        ensure(again.code == 0, again.show())?;
        let finished: Vec<serde_json::Value> = again
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["event"] == "finished")
            .collect();
        ensure(
            finished.len() == WEB.len() && finished.iter().all(|e| e["outcome"] == "ok"),
            again.show(),
        )?;
        Ok(())
    }

    /// Each web host's copy in ./logs/<host>/, none from db1.
    fn get(&self, cmd: &str) -> Result<(), Failed> {
        let text = "Jan 1 00:00:00 host started\n";
        let remote = self.remote.path("var/log/syslog");
        std::fs::create_dir_all(remote.parent().ok_or("no parent")?)?;
        std::fs::write(&remote, text)?;
        super::sh(&format!(
            "chown -R {TEST_USER} '{}'",
            self.remote.0.display()
        ))?;
        let out = self.sh(cmd, &self.inventory_path())?;
        ensure(out.code == 0, out.show())?;
        for host in WEB {
            let copy = self.dir.path(&format!("logs/{host}/syslog"));
            ensure(
                std::fs::read_to_string(&copy).ok().as_deref() == Some(text),
                format!("{} missing\n{}", copy.display(), out.show()),
            )?;
        }
        ensure(
            !self.dir.path("logs/db1").exists(),
            "db1 is not in -g web but has a copy",
        )
    }

    /// The jq pipeline names exactly the hosts that were not ok: here web-down, a web host
    /// whose port nobody listens on.
    fn jq(&self, line: &str) -> Result<(), Failed> {
        ensure(
            Command::new("jq").arg("--version").output().is_ok(),
            "jq is not installed: scripts/test.sh installs it (scripts/setup.sh, ensure_sshd_fixture)",
        )?;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let inventory = format!(
            "{}[host web-down]\naddress = 127.0.0.1\nport = {closed}\ngroups = web\n",
            self.inventory
        );
        let path = self.dir.write("with-down.ini", &inventory)?;
        let out = self.sh(command_of(line), &path)?;
        ensure(
            out.code == 0 && out.stdout == "web-down\n",
            format!("expected exactly `web-down`\n{}", out.show()),
        )
    }
}
