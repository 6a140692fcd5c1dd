//! The CLI's own documentation through the real binary: every subcommand's `--help` ends with
//! examples that run (on a fixture fleet, as typed at a shell) and points to the Lua API;
//! `drover completions` loads in bash and completes; `drover man` renders with `man -l`;
//! `--forks 0` is refused; `drover run -` reads the script from stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::readme::{Outcome, TempDir, ensure, run_limited};
use crate::sshd::{Sshd, TEST_USER};

/// Every subcommand; `drover --help` must list exactly these (a new one gets examples and a
/// test deliberately).
const SUBCOMMANDS: &[&str] = &[
    "run",
    "hosts",
    "exec",
    "put",
    "get",
    "repl",
    "types",
    "completions",
    "man",
];

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "cli::help_lists_every_subcommand",
            help_lists_every_subcommand,
        ),
        Trial::test("cli::help_ends_with_examples", help_ends_with_examples),
        Trial::test("cli::help_examples_run", help_examples_run),
        Trial::test("cli::sudo_help_per_subcommand", sudo_help_per_subcommand),
        Trial::test("cli::completions_bash_complete", completions_bash_complete),
        Trial::test("cli::completions_zsh_fish", completions_zsh_fish),
        Trial::test("cli::man_page_renders", man_page_renders),
        Trial::test("cli::forks_zero_rejected", forks_zero_rejected),
        Trial::test("cli::run_stdin", run_stdin),
    ]
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_drover")
}

/// `drover ARGS` with `stdin` as its input, in `dir`.
fn drover_in(dir: &Path, args: &[&str], stdin: &str) -> Result<Outcome, Failed> {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("DROVER_INVENTORY")
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut input = child.stdin.take().ok_or("no stdin pipe")?;
    input.write_all(stdin.as_bytes())?;
    drop(input);
    let start = std::time::Instant::now();
    let out = child.wait_with_output()?;
    Ok(Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    })
}

fn help(sub: Option<&str>) -> Result<String, Failed> {
    let mut cmd = Command::new(bin());
    cmd.args(sub).arg("--help");
    let out = run_limited(cmd, Duration::from_secs(20))?;
    ensure(
        out.code == 0,
        format!("drover {sub:?} --help: {}", out.show()),
    )?;
    Ok(out.stdout)
}

/// The example command lines of a `--help` text: the `  drover ...` lines under `Examples:`.
fn examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("      "))
        .map(|l| l.trim().to_string())
        .collect()
}

fn help_lists_every_subcommand() -> Result<(), Failed> {
    let text = help(None)?;
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    ensure(
        listed == SUBCOMMANDS,
        format!("drover --help lists {listed:?}, the tests know {SUBCOMMANDS:?}"),
    )
}

fn help_ends_with_examples() -> Result<(), Failed> {
    let mut problems = Vec::new();
    for sub in std::iter::once(None).chain(SUBCOMMANDS.iter().map(|s| Some(*s))) {
        let text = help(sub)?;
        let found = examples(&text);
        let name = sub.unwrap_or("(top level)");
        if !(2..=4).contains(&found.len()) {
            problems.push(format!("{name}: {} examples, want 2-4", found.len()));
        }
        if let Some(sub) = sub
            && !found.iter().all(|e| e.contains(&format!("drover {sub}")))
        {
            problems.push(format!(
                "{name}: an example of another subcommand: {found:?}"
            ));
        }
        let last = text.trim_end().lines().last().unwrap_or_default();
        if !(last.starts_with("Lua API: README.md") && last.contains("stdlib/drover/_meta/")) {
            problems.push(format!(
                "{name}: the help does not end with the Lua API pointer"
            ));
        }
    }
    ensure(problems.is_empty(), problems.join("\n"))
}

/// A fixture fleet the examples' names resolve in: web01..web20 (group web) and db1 (group
/// db), all one real sshd, and the local files the examples name.
struct ExampleFleet {
    _sshd: Sshd,
    dir: TempDir,
}

impl ExampleFleet {
    fn start() -> Result<ExampleFleet, Failed> {
        let sshd = Sshd::start("")?;
        let dir = TempDir::new("cli-examples")?;
        let inventory = format!(
            "[defaults]\naddress = 127.0.0.1\nport = {}\nuser = {TEST_USER}\nidentity = {}\n\
             known_hosts = {}\n\n[group web]\nhosts = web[01-20]\n\n[host db1]\ngroups = db\n",
            sshd.port(),
            sshd.client_key().display(),
            dir.path("known_hosts").display()
        );
        dir.write("inventory.ini", &inventory)?;
        dir.write("hello.lua", "print('hello')\n")?;
        dir.write("deploy.lua", "print('deploying ' .. host.name)\n")?;
        dir.write(
            "check.lua",
            "assert(select(1, ...) == '--strict', 'check.lua got ' .. tostring((...)))\n\
             print('checked ' .. host.name)\n",
        )?;
        dir.write("app.conf", "listen = 8080\n")?;
        dir.write("nginx.conf", "events {}\n")?;
        dir.write("site/index.html", "<h1>hi</h1>\n")?;
        for d in [
            ".local/share/bash-completion/completions",
            ".zfunc",
            ".config/fish/completions",
            "man/man1",
        ] {
            dir.mkdir(d)?;
        }
        Ok(ExampleFleet { _sshd: sshd, dir })
    }

    /// `line` as a shell runs it in the fleet's directory (HOME too), `drover` on PATH.
    fn sh(&self, line: &str) -> Result<Outcome, Failed> {
        let bin_dir = Path::new(bin()).parent().ok_or("no bin dir")?;
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(line)
            .current_dir(&self.dir.0)
            .env("PATH", path)
            .env("HOME", &self.dir.0)
            .env_remove("DROVER_INVENTORY")
            .env_remove("SSH_AUTH_SOCK");
        run_limited(cmd, Duration::from_secs(90))
    }
}

/// Every example of every `--help` runs as written (only the man example's system directory
/// is replaced by one of the test's): never a usage error, and each does its job on the
/// fleet. Commands that need what the fixture lacks (nginx, passwordless sudo, root-owned
/// directories) fail on the hosts, with exit 1 and the hosts named.
fn help_examples_run() -> Result<(), Failed> {
    let fleet = ExampleFleet::start()?;
    let man_dir = fleet.dir.path("man/man1").display().to_string();
    let mut failures = Vec::new();
    let mut all = examples(&help(None)?);
    for sub in SUBCOMMANDS {
        all.extend(examples(&help(Some(sub))?));
    }
    for example in all {
        {
            // the subcommand: the word after `drover` (after a pipe for `echo ... | drover run -`)
            let sub = example
                .rsplit("drover ")
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_default()
                .to_string();
            let line = example.replace("/usr/local/share/man/man1", &man_dir);
            let out = fleet.sh(&line)?;
            let usage_error =
                out.code == 2 || out.stderr.contains("Usage:") || out.stderr.starts_with("error:");
            // what the example must have done, beyond parsing
            let did: Result<(), String> = match sub.as_str() {
                "exec" | "put" | "get" => {
                    let all = format!("{}{}", out.stdout, out.stderr);
                    // the first host the example targets, folded under -b
                    let host = match (line.contains(" db"), line.contains(" -b ")) {
                        (true, _) => "db1",
                        (false, true) => "web[01-",
                        (false, false) => "web01",
                    };
                    match all.contains(host) {
                        true => Ok(()),
                        false => Err(format!("nothing from {host}")),
                    }
                }
                "run" => match example.as_str() {
                    "drover run hello.lua" => ensure_out(out.stdout == "hello\n"),
                    l if l.contains("deploy.lua") => ensure_out(
                        out.code == 0 && out.stdout.matches("deploying web").count() == 20,
                    ),
                    l if l.contains("check.lua") => {
                        ensure_out(out.code == 0 && out.stdout.matches("checked web0").count() == 4)
                    }
                    _ => ensure_out(out.code == 0 && out.stdout.contains("load average")),
                },
                "hosts" => ensure_out(
                    out.code == 0 && out.stdout.contains("web03") != line.contains("!web03"),
                ),
                "completions" => {
                    let written = ["drover", "_drover", "drover.fish"].iter().any(|f| {
                        line.ends_with(f)
                            && std::fs::metadata(expand_home(&line, &fleet.dir.0))
                                .is_ok_and(|m| m.len() > 1000)
                    });
                    ensure_out(out.code == 0 && written)
                }
                "man" if line.contains("--dir") => {
                    ensure_out(out.code == 0 && Path::new(&man_dir).join("drover-exec.1").is_file())
                }
                "man" => ensure_out(out.code == 0 && out.stdout.contains("EXAMPLES")),
                "types" => ensure_out(out.code == 0 && out.stdout.starts_with("wrote ")),
                "repl" if line.contains('!') => ensure_out(
                    out.code == 0
                        && out.stdout.contains("web01 |")
                        && out.stdout.contains("load average"),
                ),
                // stdin is not a terminal here and holds nothing: the session ends at once
                "repl" => ensure_out(out.code == 0),
                other => Err(format!("no check for {other}")),
            };
            if usage_error || !(out.code == 0 || out.code == 1) || did.is_err() {
                failures.push(format!(
                    "`{line}`: {}\n{}",
                    did.err().unwrap_or_else(|| "a usage error".into()),
                    out.show()
                ));
            }
        }
    }
    ensure(failures.is_empty(), failures.join("\n\n"))
}

fn ensure_out(ok: bool) -> Result<(), String> {
    ok.then_some(())
        .ok_or_else(|| "not the output the example describes".to_string())
}

/// The file a `... > ~/PATH` line writes, under `home`.
fn expand_home(line: &str, home: &Path) -> std::path::PathBuf {
    let target = line.rsplit("> ").next().unwrap_or_default().trim();
    home.join(target.trim_start_matches("~/"))
}

/// `--sudo` says what it does for each subcommand; get has none and refuses it.
fn sudo_help_per_subcommand() -> Result<(), Failed> {
    // the option's line and its wrapped continuation (up to the next option or a blank line)
    let sudo_line = |sub: &str| -> Result<Option<String>, Failed> {
        let text = help(Some(sub))?;
        let mut lines = text
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("--sudo"));
        Ok(lines.next().map(|first| {
            let rest = lines.take_while(|l| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with('-')
            });
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join(" ")
        }))
    };
    let exec = sudo_line("exec")?.unwrap_or_default();
    ensure(exec.contains("Run the command"), format!("exec: {exec}"))?;
    let put = sudo_line("put")?.unwrap_or_default();
    ensure(
        !put.contains("command") && put.contains("into place"),
        format!("put: {put}"),
    )?;
    let get = sudo_line("get")?;
    ensure(get.is_none(), format!("get --help shows {get:?}"))?;
    let dir = TempDir::new("cli-get-sudo")?;
    let out = drover_in(
        &dir.0,
        &["get", "--sudo", "-H", "nobody@127.0.0.1:1", "/x", "."],
        "",
    )?;
    ensure(
        out.code == 2 && out.stderr.contains("get --sudo") && out.stdout.is_empty(),
        out.show(),
    )
}

/// bash sources the script and completes a subcommand and a flag of it.
fn completions_bash_complete() -> Result<(), Failed> {
    let dir = TempDir::new("cli-bash")?;
    let out = drover_in(&dir.0, &["completions", "bash"], "")?;
    ensure(out.code == 0, out.show())?;
    let script = dir.write("drover.bash", &out.stdout)?;
    let complete = |words: &str| -> Result<String, Failed> {
        let probe = format!(
            "source '{}' || exit 9\nCOMP_WORDS=({words})\nCOMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             COMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n\
             _drover drover \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let mut cmd = Command::new("bash");
        cmd.arg("--norc").arg("-c").arg(probe);
        let out = run_limited(cmd, Duration::from_secs(20))?;
        ensure(out.code == 0, format!("bash: {}", out.show()))?;
        Ok(out.stdout)
    };
    let sub = complete("drover ex")?;
    ensure(sub == "exec\n", format!("`drover ex<TAB>` gives {sub:?}"))?;
    let flag = complete("drover exec --fo")?;
    ensure(
        flag == "--forks\n",
        format!("`drover exec --fo<TAB>` gives {flag:?}"),
    )?;
    let shells = complete("drover completions ''")?;
    ensure(
        shells
            .lines()
            .filter(|w| !w.starts_with('-'))
            .collect::<Vec<_>>()
            == ["bash", "elvish", "fish", "powershell", "zsh"],
        format!("`drover completions <TAB>` gives {shells:?}"),
    )
}

/// zsh and fish are not installed here: their scripts are checked for what those shells
/// read (the compdef header, one `complete -c drover` per flag).
fn completions_zsh_fish() -> Result<(), Failed> {
    let dir = TempDir::new("cli-zsh-fish")?;
    let zsh = drover_in(&dir.0, &["completions", "zsh"], "")?;
    ensure(
        zsh.code == 0
            && zsh.stdout.starts_with("#compdef drover")
            && zsh.stdout.contains("--forks"),
        zsh.show(),
    )?;
    let fish = drover_in(&dir.0, &["completions", "fish"], "")?;
    ensure(
        fish.code == 0
            && fish.stdout.contains(
                "complete -c drover -n \"__fish_drover_using_subcommand exec\" -s f -l forks",
            ),
        fish.show(),
    )?;
    let bad = drover_in(&dir.0, &["completions", "tcsh"], "")?;
    ensure(bad.code == 2 && bad.stderr.contains("tcsh"), bad.show())
}

/// `drover man` and `drover man exec` render with `man -l` and hold the usual sections;
/// `--dir` writes a page per subcommand.
fn man_page_renders() -> Result<(), Failed> {
    let dir = TempDir::new("cli-man")?;
    let render = |args: &[&str]| -> Result<String, Failed> {
        let page = drover_in(&dir.0, args, "")?;
        ensure(
            page.code == 0 && page.stdout.starts_with(".ie"),
            page.show(),
        )?;
        let file = dir.write("page.1", &page.stdout)?;
        let mut cmd = Command::new("man");
        cmd.args(["-l", "-P", "cat"])
            .arg(&file)
            .env("MANWIDTH", "100")
            .env("LC_ALL", "C.UTF-8");
        let out = run_limited(cmd, Duration::from_secs(20)).map_err(|e| {
            format!(
                "man -l (install man-db): {}",
                e.message().unwrap_or("failed")
            )
        })?;
        ensure(
            out.code == 0 && !out.stderr.contains("warning"),
            format!("man -l: {}", out.show()),
        )?;
        Ok(out.stdout)
    };
    let top = render(&["man"])?;
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "SUBCOMMANDS",
        "EXAMPLES",
        "LUA API",
        "SEE ALSO",
    ] {
        ensure(
            top.lines().any(|l| l == section),
            format!("drover(1) lacks {section}\n{top}"),
        )?;
    }
    ensure(
        top.contains("drover-exec(1)"),
        "drover(1) does not list drover-exec(1)",
    )?;
    let exec = render(&["man", "exec"])?;
    ensure(
        exec.contains("drover-exec")
            && exec.contains("--forks")
            && exec.contains("drover exec -g web -- uptime")
            && exec.contains("drover(1)"),
        format!("drover-exec(1):\n{exec}"),
    )?;
    let pages = dir.mkdir("pages")?;
    let out = drover_in(&dir.0, &["man", "--dir", &pages.display().to_string()], "")?;
    ensure(out.code == 0, out.show())?;
    let mut written: Vec<String> = std::fs::read_dir(&pages)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut want: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("drover-{s}.1"))
        .collect();
    want.push("drover.1".into());
    want.sort();
    ensure(written == want, format!("man --dir wrote {written:?}"))?;
    let unknown = drover_in(&dir.0, &["man", "nope"], "")?;
    ensure(
        unknown.code == 2 && unknown.stderr.contains("no such subcommand"),
        unknown.show(),
    )
}

/// `--forks 0` is a usage error on every subcommand that fans out, before anything runs.
fn forks_zero_rejected() -> Result<(), Failed> {
    let dir = TempDir::new("cli-forks")?;
    dir.write("s.lua", "print('ran')\n")?;
    dir.write("f", "x\n")?;
    let host = "nobody@127.0.0.1:1";
    let cases: [&[&str]; 4] = [
        &["run", "s.lua", "--forks", "0", "-H", host],
        &["exec", "-f", "0", "-H", host, "--", "true"],
        &["put", "--forks=0", "-H", host, "f", "/tmp/"],
        &["get", "-f", "0", "-H", host, "/etc/hostname", "."],
    ];
    for args in cases {
        let out = drover_in(&dir.0, args, "")?;
        ensure(
            out.code == 2
                && out.stderr.contains("--forks")
                && out.stderr.contains("at least 1")
                && out.stdout.is_empty(),
            format!("drover {}: {}", args.join(" "), out.show()),
        )?;
    }
    // 1 is the smallest that runs
    let one = drover_in(&dir.0, &["run", "s.lua", "--forks", "1"], "")?;
    ensure(one.code == 0 && one.stdout == "ran\n", one.show())
}

/// `drover run -`: the script from stdin, named `stdin` in errors, its requires from the
/// current directory, its arguments as for a file; a `#!` line is a comment.
fn run_stdin() -> Result<(), Failed> {
    let dir = TempDir::new("cli-stdin")?;
    dir.write(
        "helper.lua",
        "return { twice = function(x) return 2 * x end }\n",
    )?;
    let script = "#!/usr/bin/env drover run\nlocal h = require 'helper'\nprint(h.twice(21), ...)\n";
    let out = drover_in(&dir.0, &["run", "-", "a", "b"], script)?;
    ensure(out.code == 0 && out.stdout == "42\ta\tb\n", out.show())?;
    let failing = drover_in(&dir.0, &["run", "-"], "\n\nerror('boom')\n")?;
    ensure(
        failing.code == 1 && failing.stderr.contains("stdin:3: boom"),
        failing.show(),
    )?;
    let syntax = drover_in(&dir.0, &["run", "-"], "x = = 1\n")?;
    ensure(
        syntax.code == 2 && syntax.stderr.contains("stdin:1:"),
        syntax.show(),
    )?;
    // stdin is the script's: a host list cannot come from it too
    let both = drover_in(&dir.0, &["run", "-", "-H", "@-"], script)?;
    ensure(
        both.code == 2 && both.stderr.contains("-H @-") && both.stdout.is_empty(),
        both.show(),
    )?;
    // from another directory the same script does not find helper.lua: requires start from
    // the current directory
    let sub = dir.mkdir("elsewhere")?;
    let elsewhere = drover_in(&sub, &["run", "-"], script)?;
    ensure(
        elsewhere.code == 1 && elsewhere.stderr.contains("module 'helper' not found"),
        elsewhere.show(),
    )
}
