//! Every fenced block of README.md works as written: one trial per block, its handler chosen
//! by the block's language and content. A block no handler claims fails (`readme::unclaimed_*`
//! names its line), so a new block gets covered deliberately.
//!
//! Blocks that name example hosts and root-owned paths run against the sshd fixture through
//! small, explicit substitutions (each must match, or the trial fails: the README changed).
//! The fixture's sshd runs on this machine, so "remote" effects are checked as local files
//! under a directory the test creates and removes.

#[path = "readme/commands.rs"]
mod commands;
#[path = "readme/ops.rs"]
mod ops;
#[path = "readme/scripts.rs"]
mod scripts;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

/// One fenced block: its info string (`rust,no_run`), the line of its opening fence, its text.
#[derive(Debug, Clone)]
pub struct Block {
    pub info: String,
    pub line: usize,
    pub body: String,
}

impl Block {
    /// The language: the info string up to the first comma or space.
    pub fn lang(&self) -> &str {
        self.info
            .split([',', ' '])
            .next()
            .unwrap_or_default()
            .trim()
    }
}

/// The fenced blocks of a Markdown text (``` or ~~~ fences at the start of a line).
pub fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut open: Option<(&str, Block)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut open {
            None => {
                for fence in ["```", "~~~"] {
                    if let Some(info) = line.strip_prefix(fence) {
                        let block = Block {
                            info: info.trim().to_string(),
                            line: i + 1,
                            body: String::new(),
                        };
                        open = Some((fence, block));
                        break;
                    }
                }
            }
            Some((fence, block)) => {
                if line.trim_end() == *fence {
                    out.push(block.clone());
                    open = None;
                } else {
                    block.body.push_str(line);
                    block.body.push('\n');
                }
            }
        }
    }
    match open {
        Some((_, b)) => Err(format!("README.md:{}: a fence is never closed", b.line)),
        None => Ok(out),
    }
}

/// What checks a block.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Handler {
    /// `-- hello.lua`: run, timed.
    LuaHello,
    /// `ssh.connect`: run against the fixture.
    LuaSsh,
    /// `sftp.put`: run against the fixture, its effects checked.
    LuaSftp,
    /// `err.kind`: run per host on the fixture, and on an unreachable host.
    LuaErrors,
    /// `-- deploy.lua`: operations in check mode, for real, and again, on the fixture.
    LuaOps,
    LuaSecrets,
    /// `require "drover.facts"`: run per host on the fixture, its output checked locally.
    LuaFacts,
    /// `-- web.lua`: packages and services in check mode, as root on the fixture.
    LuaPackages,
    /// An inventory: parsed with the library, its comments checked.
    Inventory,
    /// Command lines, one handler per line.
    Commands,
    /// A doc test: only its marking is checked here, rustdoc compiles it.
    Rust,
    /// The Layout map: every path exists.
    Layout,
}

impl Handler {
    fn name(self) -> &'static str {
        match self {
            Handler::LuaHello => "lua_hello",
            Handler::LuaSsh => "lua_ssh",
            Handler::LuaSftp => "lua_sftp",
            Handler::LuaErrors => "lua_errors",
            Handler::LuaOps => "lua_ops",
            Handler::LuaSecrets => "lua_secrets",
            Handler::LuaFacts => "lua_facts",
            Handler::LuaPackages => "lua_packages",
            Handler::Inventory => "ini_inventory",
            Handler::Commands => "sh_commands",
            Handler::Rust => "rust_doc_test",
            Handler::Layout => "text_layout",
        }
    }
}

fn claim(b: &Block) -> Option<Handler> {
    match b.lang() {
        "lua" if b.body.lines().next() == Some("-- hello.lua") => Some(Handler::LuaHello),
        "lua" if b.body.contains("ssh.connect") => Some(Handler::LuaSsh),
        "lua" if b.body.contains("sftp.put") => Some(Handler::LuaSftp),
        "lua" if b.body.contains("err.kind") => Some(Handler::LuaErrors),
        "lua" if b.body.starts_with("-- deploy.lua") => Some(Handler::LuaOps),
        "lua" if b.body.starts_with("-- drover run app.lua") => Some(Handler::LuaSecrets),
        "lua" if b.body.starts_with("-- web.lua") => Some(Handler::LuaPackages),
        "lua" if b.body.contains("require \"drover.facts\"") => Some(Handler::LuaFacts),
        "ini" if b.body.contains("[group ") => Some(Handler::Inventory),
        "sh" => Some(Handler::Commands),
        "rust" => Some(Handler::Rust),
        "text" if b.body.lines().all(|l| l.is_empty() || l.contains('/')) => Some(Handler::Layout),
        _ => None,
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn ensure(cond: bool, what: impl std::fmt::Display) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(what.to_string().into())
    }
}

/// `text` with `from` replaced by `to`; fails when `from` is absent (the README changed and
/// the substitution would silently do nothing).
pub fn substitute(text: &str, from: &str, to: &str) -> Result<String, Failed> {
    ensure(
        text.contains(from),
        format!("the block no longer contains {from:?}: update the substitution in the test"),
    )?;
    Ok(text.replace(from, to))
}

/// A directory the test creates and removes.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Result<TempDir, Failed> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let d =
            std::env::temp_dir().join(format!("drover-readme-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        Ok(TempDir(d))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes `text` to `rel`, creating its directories.
    pub fn write(&self, rel: &str, text: &str) -> Result<PathBuf, Failed> {
        let p = self.0.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text).map_err(|e| format!("write {}: {e}", p.display()))?;
        Ok(p)
    }

    pub fn mkdir(&self, rel: &str) -> Result<PathBuf, Failed> {
        let p = self.0.join(rel);
        std::fs::create_dir_all(&p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        Ok(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A local command that must succeed (chown, chmod, ...).
pub fn sh(cmd: &str) -> Result<String, Failed> {
    let out = Command::new("sh").arg("-c").arg(cmd).output()?;
    ensure(
        out.status.success(),
        format!("`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr)),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a finished command left: exit code, output, wall time.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to its end, killed (by its PID) after `limit`.
pub fn run_limited(mut cmd: Command, limit: Duration) -> Result<Outcome, Failed> {
    use std::io::Read;
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let (Some(mut out_pipe), Some(mut err_pipe)) = (child.stdout.take(), child.stderr.take())
    else {
        return Err("no pipes to the child".into());
    };
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish within {limit:?}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    Ok(Outcome {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed,
    })
}

/// `drover ARGS` in `dir`, with `home` as HOME (so ~/.ssh is the test's) and no ssh-agent.
pub fn drover(dir: &Path, home: &Path, args: &[&str]) -> Result<Outcome, Failed> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drover"));
    cmd.args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("DROVER_INVENTORY");
    run_limited(cmd, Duration::from_secs(60))
}

fn check_block(handler: Handler, block: &Block) -> Result<(), Failed> {
    match handler {
        Handler::LuaHello => scripts::hello(block),
        Handler::LuaSsh => scripts::ssh(block, scripts::Identity::FixtureKey),
        Handler::LuaSftp => scripts::sftp(block),
        Handler::LuaErrors => scripts::errors(block),
        Handler::LuaOps => ops::deploy(block),
        Handler::LuaSecrets => ops::secrets(block),
        Handler::LuaFacts => scripts::facts(block),
        Handler::LuaPackages => ops::packages(block),
        Handler::Inventory => inventory(block),
        Handler::Commands => commands::check(block),
        Handler::Rust => rust_doc_test(block),
        Handler::Layout => layout(block),
    }
}

/// The inventory block parses with the library, and its comments hold.
fn inventory(block: &Block) -> Result<(), Failed> {
    use drover::inventory::{Inventory, TargetSpec};
    let file = Path::new("inventory.ini");
    // `password_env = DB1_PASS` is read when db1 is connected to, never while parsing.
    let inv = Inventory::parse(&block.body, file)?;
    let web = inv.group_hosts("web");
    let expected: Vec<String> = (1..=20)
        .map(|i| format!("web{i:02}.example.com"))
        .chain(["web-canary".to_string()])
        .collect();
    ensure(
        web == expected,
        format!("web[01-20].example.com, web-canary: {web:?}"),
    )?;
    // `db` exists only through db1's `groups = db`
    ensure(
        inv.groups.contains_key("db") && inv.group_hosts("db") == ["db1"],
        format!("group db: {:?}", inv.group_hosts("db")),
    )?;
    let prod = &inv.groups.get("prod").ok_or("no group prod")?;
    ensure(
        prod.children == ["web", "db"],
        format!("prod's children: {:?}", prod.children),
    )?;
    let prod_hosts = inv.group_hosts("prod");
    ensure(
        prod_hosts.len() == 22 && prod_hosts.contains(&"db1".to_string()),
        format!("prod's hosts: {prod_hosts:?}"),
    )?;
    // [defaults] reaches every host; http_port is a variable of web's hosts only
    // resolved as a run resolves its targets: through a runtime over this inventory
    let runtime = drover::Runtime::builder().inventory(inv.clone()).build()?;
    let one = |name: &str| {
        runtime.targets(&TargetSpec {
            hosts: vec![name.to_string()],
            ..TargetSpec::default()
        })
    };
    let canary = one("web-canary")?.pop().ok_or("web-canary not resolved")?;
    ensure(
        canary.target.user == "deploy"
            && canary
                .target
                .identity
                .as_ref()
                .is_some_and(|p| p.ends_with(".ssh/id_ed25519") && !p.starts_with("~"))
            && canary.vars.get("http_port").map(String::as_str) == Some("8080")
            && canary.groups == ["prod", "web"],
        format!("web-canary: {canary:?}"),
    )?;
    let db1 = &inv.host_sections.get("db1").ok_or("no [host db1]")?.values;
    let value = |k: &str| db1.get(k).map(|(v, _)| v.as_str());
    ensure(
        value("address") == Some("10.0.0.21")
            && value("port") == Some("2222")
            && value("user") == Some("dba")
            && value("password_env") == Some("DB1_PASS"),
        format!("db1: {db1:?}"),
    )?;
    // the variable is looked up when db1 is connected to: resolving keeps its name
    let db1 = one("db1")?.pop().ok_or("db1 not resolved")?;
    ensure(
        db1.target.password_env.as_deref() == Some("DB1_PASS"),
        format!("db1's password_env: {:?}", db1.target.password_env),
    )?;
    inventory_through_cli(block)
}

/// The block as a file given to the real binary (`drover hosts -i inventory.ini`), its
/// `password_env` set: every host resolved as its comments say, the password shown as <secret>.
fn inventory_through_cli(block: &Block) -> Result<(), Failed> {
    let dir = TempDir::new("ini")?;
    dir.write("inventory.ini", &block.body)?;
    let hosts = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_drover"));
        cmd.args(["hosts", "-i", "inventory.ini"])
            .args(args)
            .current_dir(&dir.0)
            .env("HOME", &dir.0)
            .env("DB1_PASS", "s3cret-from-env")
            .env_remove("DROVER_INVENTORY");
        run_limited(cmd, Duration::from_secs(20))
    };
    let all = hosts(&[])?;
    ensure(all.code == 0, all.show())?;
    let line = |name: &str| {
        all.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_default()
    };
    ensure(
        all.stdout.lines().count() == 22
            && line("web07.example.com").contains("deploy@web07.example.com:22")
            && line("web07.example.com").contains("groups=prod,web")
            && line("web07.example.com").contains("http_port=8080")
            && line("db1").contains("dba@10.0.0.21:2222")
            && line("db1")
                .split_whitespace()
                .find_map(|w| w.strip_prefix("groups="))
                .is_some_and(|g| {
                    let mut g: Vec<&str> = g.split(',').collect();
                    g.sort();
                    g == ["db", "prod"]
                })
            && line("db1").contains("password=<secret>")
            && !all.stdout.contains("s3cret-from-env"),
        format!("drover hosts -i inventory.ini\n{}", all.show()),
    )?;
    let prod = hosts(&["-g", "prod", "--json"])?;
    let parsed: serde_json::Value = serde_json::from_str(prod.stdout.trim())
        .map_err(|e| format!("--json: {e}\n{}", prod.show()))?;
    ensure(
        parsed.as_array().is_some_and(|a| a.len() == 22),
        format!("-g prod: 22 hosts\n{}", prod.show()),
    )
}

/// Rust blocks compile as doc tests (src/lib.rs includes the README); here only their marking.
fn rust_doc_test(block: &Block) -> Result<(), Failed> {
    ensure(
        matches!(block.info.as_str(), "rust" | "rust,no_run"),
        format!(
            "README.md:{}: a Rust block must be `rust` or `rust,no_run` so rustdoc compiles it, got `{}`",
            block.line, block.info
        ),
    )?;
    let lib = std::fs::read_to_string(repo_root().join("src/lib.rs"))?;
    ensure(
        lib.contains("#[doc = include_str!(\"../README.md\")]"),
        "src/lib.rs no longer includes README.md: its Rust blocks are not compiled",
    )
}

/// Every path the Layout map lists exists (a trailing `/` means a directory).
fn layout(block: &Block) -> Result<(), Failed> {
    let root = repo_root();
    let mut missing = Vec::new();
    for (i, line) in block.body.lines().enumerate() {
        let Some(path) = line.split_whitespace().next() else {
            continue;
        };
        let p = root.join(path);
        let ok = if path.ends_with('/') {
            p.is_dir()
        } else {
            p.exists()
        };
        if !ok {
            missing.push(format!("README.md:{}: {path}", block.line + 1 + i));
        }
    }
    ensure(
        missing.is_empty(),
        format!("listed but missing: {}", missing.join(", ")),
    )
}

pub fn trials() -> Vec<Trial> {
    let path = repo_root().join("README.md");
    let parsed = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
        .and_then(|text| blocks(&text));
    let blocks = match parsed {
        Ok(b) => b,
        Err(e) => return vec![Trial::test("readme::blocks", move || Err(e.into()))],
    };
    let mut trials = Vec::new();
    for block in blocks {
        let line = block.line;
        match claim(&block) {
            Some(handler) => {
                if handler == Handler::LuaSsh {
                    // the block as written: `identity = "~/.ssh/id_ed25519"` under the test's HOME
                    let b = block.clone();
                    trials.push(Trial::test(
                        format!("readme::lua_ssh_identity_as_written_line{line}"),
                        move || scripts::ssh(&b, scripts::Identity::AsWritten),
                    ));
                }
                trials.push(Trial::test(
                    format!("readme::{}_line{line}", handler.name()),
                    move || check_block(handler, &block),
                ));
            }
            None => trials.push(Trial::test(format!("readme::unclaimed_line{line}"), move || {
                Err(format!(
                    "README.md:{line}: no handler in tests/drover/readme.rs claims this `{}` block: add one",
                    block.info
                )
                .into())
            })),
        }
    }
    trials.push(Trial::test("readme::fences_parse", fences_parse));
    trials.push(Trial::test(
        "readme::references_stay_in_repository",
        references_stay_in_repository,
    ));
    trials
}

/// The fence parser itself: info strings, lines, bodies, an unclosed fence.
fn fences_parse() -> Result<(), Failed> {
    let text = "intro\n```sh\nls\n```\n\n~~~rust,no_run\nfn main() {}\n~~~\n";
    let b = blocks(text)?;
    ensure(b.len() == 2, format!("{b:?}"))?;
    ensure(
        b[0].lang() == "sh" && b[0].line == 2 && b[0].body == "ls\n",
        format!("{:?}", b[0]),
    )?;
    ensure(
        b[1].lang() == "rust" && b[1].info == "rust,no_run" && b[1].line == 6,
        format!("{:?}", b[1]),
    )?;
    let unclosed = blocks("```lua\nprint(1)\n");
    ensure(
        unclosed.as_ref().is_err_and(|e| e.contains("README.md:1")),
        format!("{unclosed:?}"),
    )?;
    let odd = Block {
        info: "python".into(),
        line: 1,
        body: "print(1)\n".into(),
    };
    ensure(claim(&odd).is_none(), "a python block is claimed")
}

/// The README ships with the repository and points only into it: no links or paths that leave
/// it (`../shared/DESIGN.md`, web addresses), and every repository path it names exists.
fn references_stay_in_repository() -> Result<(), Failed> {
    let root = repo_root();
    // the checker itself flags what it is for
    let sample = "See ../shared/DESIGN.md, https://example.org and `src/nothere.rs`; `src/lib.rs`.";
    let flagged = outside_references(sample, &root)?;
    ensure(
        flagged.len() == 3 && flagged.iter().all(|f| !f.contains("src/lib.rs")),
        format!("the checker on a sample: {flagged:?}"),
    )?;
    let text = std::fs::read_to_string(root.join("README.md"))?;
    let bad = outside_references(&text, &root)?;
    ensure(bad.is_empty(), bad.join("\n"))
}

/// What in `text` points outside the repository at `root`, or at a path of it that is missing.
fn outside_references(text: &str, root: &Path) -> Result<Vec<String>, Failed> {
    // directories of the repository a path in the README may start with (target/ is built)
    let top: Vec<String> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "target" && !n.starts_with('.'))
        .collect();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = i + 1;
        for word in line.split(|c: char| c.is_whitespace() || "`()<>\"',;".contains(c)) {
            let word = word.trim_end_matches(['.', ':']);
            if word.contains("../") || word.starts_with("http://") || word.starts_with("https://") {
                bad.push(format!("README.md:{at}: `{word}` leaves the repository"));
                continue;
            }
            // a glob (tests/lua/**/*.lua) names the directory before its first wildcard
            let path = word.split('*').next().unwrap_or_default();
            let first = path.split('/').next().unwrap_or_default();
            let names_repo_path = path.contains('/') && top.iter().any(|t| t == first);
            let names_doc = path == word && word.ends_with(".md");
            if (names_repo_path || names_doc) && !root.join(path.trim_end_matches('/')).exists() {
                bad.push(format!("README.md:{at}: `{word}` is not in the repository"));
            }
        }
    }
    Ok(bad)
}
