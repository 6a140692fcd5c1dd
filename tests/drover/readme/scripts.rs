//! The README's Lua blocks, run for real through `drover run` against the sshd fixture.

use std::os::unix::fs::PermissionsExt;

use libtest_mimic::Failed;

use super::{Block, TempDir, drover, ensure, sh, substitute};
use crate::sshd::{Sshd, TEST_PASSWORD, TEST_USER};

/// The user the sudo tests may sudo to (with the test user's password; scripts/setup.sh's
/// `ensure_sudo_fixture`): stands in for root and for the README's `app`.
const SUDO_TARGET: &str = "drover-sudo-target";

/// How the ssh block's `identity = "~/.ssh/id_ed25519"` is given the fixture's key.
pub enum Identity {
    /// Replaced by the key's absolute path.
    FixtureKey,
    /// As written, with the key copied to the test HOME's ~/.ssh/id_ed25519 (`ssh.connect`
    /// expands `~/` as the inventory does).
    AsWritten,
}

/// A working directory (the README's local files) with its own HOME, so ~/.ssh/known_hosts
/// and ~/.ssh/config are the test's.
struct Local {
    dir: TempDir,
}

impl Local {
    fn new(tag: &str) -> Result<Local, Failed> {
        let dir = TempDir::new(tag)?;
        dir.mkdir("home/.ssh")?;
        Ok(Local { dir })
    }

    fn home(&self) -> std::path::PathBuf {
        self.dir.path("home")
    }

    fn run(&self, script: &str, text: &str) -> Result<super::Outcome, Failed> {
        self.dir.write(script, text)?;
        drover(&self.dir.0, &self.home(), &["run", script])
    }
}

/// The "remote" side: a directory on this machine (the fixture's sshd runs here) standing in
/// for `/`, so `/etc/app` is `REMOTE/etc/app`. Needs root, to hand parts to the test users.
struct Remote {
    dir: TempDir,
}

impl Remote {
    fn new(tag: &str) -> Result<Remote, Failed> {
        let dir = TempDir::new(tag)?;
        std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755))?;
        Ok(Remote { dir })
    }

    fn path(&self, abs: &str) -> String {
        format!("{}{abs}", self.dir.0.display())
    }

    /// `abs` (and its parents) as a directory owned by `owner`, mode 0755.
    fn own_dir(&self, abs: &str, owner: &str) -> Result<(), Failed> {
        let p = self.dir.mkdir(abs.trim_start_matches('/'))?;
        sh(&format!(
            "chown {owner} '{}' && chmod 0755 '{}'",
            p.display(),
            p.display()
        ))
        .map(drop)
        .map_err(|e| {
            let why = e.message().unwrap_or("failed").to_string();
            format!("{why} (the README tests run as root, as scripts/test.sh does)").into()
        })
    }
}

fn connect_spec(sshd: &Sshd) -> String {
    format!(
        "address = \"127.0.0.1\", port = {}, user = \"{TEST_USER}\", identity = \"{}\", agent = false",
        sshd.port(),
        sshd.client_key().display()
    )
}

/// The `err.kind` block, once per host as its comment says: the first run adds the line, the
/// second finds it and changes nothing, and on a host that cannot be reached the re-raised
/// error makes the host `unreachable`.
pub fn errors(block: &Block) -> Result<(), Failed> {
    let sshd = Sshd::start("")?;
    let local = Local::new("errors")?;
    let remote = Remote::new("errors-remote")?;
    remote.own_dir("/tmp", TEST_USER)?;
    let motd = remote.path("/tmp/motd");
    let body = substitute(&block.body, "/tmp/motd", &motd)?;
    local.dir.write("motd.lua", &body)?;
    let key = sshd.client_key().display().to_string();
    let run = |host: &str| {
        drover(
            &local.dir.0,
            &local.home(),
            &[
                "run",
                "motd.lua",
                "-H",
                host,
                "-e",
                &format!("identity={key}"),
            ],
        )
    };
    let host = format!("{TEST_USER}@127.0.0.1:{}", sshd.port());
    for round in 1..=2 {
        let out = run(&host)?;
        ensure(out.code == 0, format!("round {round}: {}", out.show()))?;
    }
    let text = std::fs::read_to_string(&motd)?;
    ensure(
        text == "drover\n",
        format!("/tmp/motd after two runs: {text:?}"),
    )?;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let out = run(&format!("{TEST_USER}@127.0.0.1:{closed}"))?;
    ensure(
        out.code == 1 && out.stderr.contains("== 1 host: 1 unreachable"),
        format!("an unreachable host: {}", out.show()),
    )
}

/// hello.lua prints 1, 4, 9 after about one second: its three sleeps overlap.
pub fn hello(block: &Block) -> Result<(), Failed> {
    let local = Local::new("hello")?;
    let out = local.run("hello.lua", &block.body)?;
    ensure(
        out.code == 0 && out.stdout == "1\n4\n9\n",
        format!("hello.lua should print 1 4 9\n{}", out.show()),
    )?;
    // "after 1 s, not 3": the bound is generous, the point is that the sleeps overlap
    let secs = out.elapsed.as_secs_f64();
    ensure(
        (1.0..2.5).contains(&secs),
        format!("hello.lua took {secs:.2}s, expected about 1 s"),
    )
}

/// The field list of a `--> {a, b, c}` comment on the line containing `marker`.
fn documented_fields(body: &str, marker: &str) -> Result<Vec<String>, Failed> {
    let line = body
        .lines()
        .find(|l| l.contains(marker))
        .ok_or(format!("no line with {marker}"))?;
    let list = line
        .split_once("--> {")
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(list, _)| list)
        .ok_or(format!("no `--> {{fields}}` comment on: {line}"))?;
    Ok(list.split(',').map(|f| f.trim().to_string()).collect())
}

/// The ssh block on the fixture: connect, `run` returns the documented fields, the `make`
/// call runs in `cwd` with `env` and `stdin`, as the sudo `user`, streaming its lines.
pub fn ssh(block: &Block, identity: Identity) -> Result<(), Failed> {
    let sshd = Sshd::start("")?;
    let local = Local::new("ssh")?;
    let remote = Remote::new("ssh-remote")?;
    remote.own_dir("/srv/app", TEST_USER)?;
    // what `make` runs there: proof of cwd, env, stdin and the sudo user
    remote.dir.write(
        "srv/app/Makefile",
        "all:\n\t@echo \"CC=$(CC) user=$$(id -un) stdin=$$(cat)\"\n",
    )?;
    let mut body = block.body.clone();
    body = substitute(
        &body,
        "address = \"10.0.0.5\"",
        &format!("address = \"127.0.0.1\", port = {}", sshd.port()),
    )?;
    body = substitute(
        &body,
        "user = \"deploy\"",
        &format!("user = \"{TEST_USER}\""),
    )?;
    match identity {
        Identity::FixtureKey => {
            body = substitute(
                &body,
                "\"~/.ssh/id_ed25519\"",
                &format!("\"{}\"", sshd.client_key().display()),
            )?;
        }
        Identity::AsWritten => {
            std::fs::copy(sshd.client_key(), local.home().join(".ssh/id_ed25519"))?;
        }
    }
    body = substitute(
        &body,
        "\"/srv/app\"",
        &format!("\"{}\"", remote.path("/srv/app")),
    )?;
    body = substitute(
        &body,
        "user = \"app\"",
        &format!("user = \"{SUDO_TARGET}\", sudo_password = \"{TEST_PASSWORD}\""),
    )?;
    // What the block claims of `r`: exactly the documented fields, and a successful uptime.
    let fields = documented_fields(&block.body, "web:run(\"uptime\")")?;
    let fields_lua: Vec<String> = fields.iter().map(|f| format!("{f:?}")).collect();
    body.push_str(&format!(
        r#"
local documented = {{ {} }}
local listed = {{}}
for _, f in ipairs(documented) do
  listed[f] = true
  -- `signal` is nil (absent) unless the command was killed by one
  assert(r[f] ~= nil or (f == "signal" and r.code ~= nil), "run result lacks " .. f)
end
for k in pairs(r) do assert(listed[k], "run result has an undocumented field " .. k) end
assert(r.ok == true and r.code == 0 and r.cmd == "uptime", "uptime: " .. tostring(r.stderr))
assert(r.stdout:find("load average"), r.stdout)
assert(type(r.elapsed) == "number" and r.truncated == false)
print("checked " .. #documented .. " fields")
"#,
        fields_lua.join(", ")
    ));
    let out = local.run("ssh.lua", &body)?;
    ensure(out.code == 0, out.show())?;
    ensure(
        out.stdout
            .contains(&format!("checked {} fields", fields.len())),
        out.show(),
    )?;
    let streamed = format!(" | CC=gcc user={SUDO_TARGET} stdin=...");
    ensure(
        out.stdout.lines().any(|l| l.ends_with(&streamed)),
        format!("make's streamed line {streamed:?} missing\n{}", out.show()),
    )?;
    // the new host key was recorded in (the test HOME's) ~/.ssh/known_hosts
    let known = std::fs::read_to_string(local.home().join(".ssh/known_hosts")).unwrap_or_default();
    ensure(
        known.contains(&format!("[127.0.0.1]:{}", sshd.port())),
        format!("known_hosts: {known:?}"),
    )
}

/// The sftp block on the fixture; its effects checked on the "remote" (this machine).
pub fn sftp(block: &Block) -> Result<(), Failed> {
    let sshd = Sshd::start("")?;
    let local = Local::new("sftp")?;
    let remote = Remote::new("sftp-remote")?;
    // /etc/app is root's in the README: here SUDO_TARGET's, which the login user may not write
    remote.own_dir("/etc/app", SUDO_TARGET)?;
    remote.own_dir("/srv", TEST_USER)?;
    remote.own_dir("/tmp", TEST_USER)?;
    remote.own_dir("/var/log", TEST_USER)?;
    remote.dir.write("var/log/app.log", "started\nready\n")?;
    let conf = "listen = 8080\n";
    local.dir.write("build/app.conf", conf)?;
    local.dir.write("site/index.html", "<h1>hi</h1>\n")?;
    local
        .dir
        .write("site/css/site.css", "h1 { color: teal }\n")?;
    std::os::unix::fs::symlink("index.html", local.dir.path("site/latest"))?;
    local.dir.mkdir("logs")?;

    let mut body = format!("local web = ssh.connect {{ {} }}\n", connect_spec(&sshd));
    let mut block_body = block.body.clone();
    block_body = substitute(
        &block_body,
        "sudo = true",
        &format!("sudo = true, user = \"{SUDO_TARGET}\", sudo_password = \"{TEST_PASSWORD}\""),
    )?;
    for abs in ["/etc/app", "/srv/", "/var/log/app.log", "/tmp/flag"] {
        block_body = substitute(
            &block_body,
            &format!("\"{abs}"),
            &format!("\"{}", remote.path(abs)),
        )?;
    }
    body.push_str(&block_body);
    let out = local.run("sftp.lua", &body)?;
    ensure(out.code == 0, out.show())?;

    let read = |p: String| std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"));
    let conf_path = remote.path("/etc/app/app.conf");
    ensure(read(conf_path.clone())? == conf, "app.conf content")?;
    // put through sudo as SUDO_TARGET; the block's last put (no `mode`) leaves the local
    // file's mode, fixed by a chmod alone since the content is the same (skip_same)
    let local_mode = std::fs::metadata(local.dir.path("build/app.conf"))?
        .permissions()
        .mode()
        & 0o777;
    let owner_mode = sh(&format!("stat -c '%U %a' '{conf_path}'"))?;
    ensure(
        owner_mode == format!("{SUDO_TARGET} {local_mode:o}\n"),
        format!("app.conf: {owner_mode} (want {SUDO_TARGET} {local_mode:o})"),
    )?;
    let listed: Vec<_> = std::fs::read_dir(remote.path("/etc/app"))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ensure(
        listed == ["app.conf"],
        format!("/etc/app holds {listed:?}: temp or staging files left"),
    )?;
    // the listing printed what /etc/app holds
    ensure(
        out.stdout
            .lines()
            .any(|l| l.starts_with("app.conf\tfile\t")),
        format!("sftp.list output missing\n{}", out.show()),
    )?;
    // the site tree, with its symlink as a symlink
    ensure(
        read(remote.path("/srv/site/index.html"))? == "<h1>hi</h1>\n"
            && read(remote.path("/srv/site/css/site.css"))? == "h1 { color: teal }\n",
        "site/ files not mirrored",
    )?;
    let link = std::fs::read_link(remote.path("/srv/site/latest"))
        .map_err(|e| format!("site/latest is not a symlink on the remote: {e}"))?;
    ensure(
        link == std::path::Path::new("index.html"),
        format!("{link:?}"),
    )?;
    ensure(
        read(local.dir.path("logs/app.log").display().to_string())? == "started\nready\n",
        "sftp.get did not put app.log into logs/",
    )?;
    let flag = remote.path("/tmp/flag");
    ensure(read(flag.clone())? == "ready\n", "/tmp/flag content")?;
    let mode = std::fs::metadata(&flag)?.permissions().mode() & 0o7777;
    ensure(mode == 0o644, format!("/tmp/flag mode {mode:o}, want 644"))?;
    // mkdir, rename, chmod, then remove: nothing is left of /srv/a or /srv/b
    for gone in ["/srv/a", "/srv/b"] {
        ensure(
            std::fs::symlink_metadata(remote.path(gone)).is_err(),
            format!("{gone} still exists"),
        )?;
    }
    Ok(())
}

/// The facts block, run on the fixture's host as written (the sshd runs on this machine):
/// what it prints is what this machine's own files and dpkg say.
pub fn facts(block: &Block) -> Result<(), Failed> {
    let sshd = Sshd::start("")?;
    let local = Local::new("facts")?;
    local.dir.write("facts.lua", &block.body)?;
    let key = sshd.client_key().display().to_string();
    let host = format!("{TEST_USER}@127.0.0.1:{}", sshd.port());
    let out = drover(
        &local.dir.0,
        &local.home(),
        &[
            "run",
            "facts.lua",
            "-H",
            &host,
            "-e",
            &format!("identity={key}"),
        ],
    )?;
    ensure(out.code == 0, out.show())?;
    let pretty = sh(". /etc/os-release && printf %s \"$PRETTY_NAME\"")?;
    let kernel = sh("uname -r")?;
    let cpus = sh("nproc")?;
    let first = format!("{pretty}\t{}\tdpkg\t{} cpus", kernel.trim(), cpus.trim());
    ensure(
        out.stdout.contains(&first),
        format!("expected a line ending {first:?}\n{}", out.show()),
    )?;
    let version = sh("dpkg-query -W -f='${Version}' openssh-server")?;
    let sum = sh("sha256sum /etc/ssh/sshd_config")?;
    let mode = sh("stat -c %a /etc/ssh/sshd_config")?;
    let second = format!(
        "sshd {version}, config 0{} {}",
        mode.trim(),
        sum.get(..12).unwrap_or_default()
    );
    ensure(
        out.stdout.contains(&second),
        format!("expected {second:?}\n{}", out.show()),
    )
}
