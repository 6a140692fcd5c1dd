//! The README's operations block (`-- deploy.lua`), run as its comment says against the sshd
//! fixture, `/srv/app` standing in a directory the test creates: `--check --diff` changes
//! nothing and says what would change (the inventory's password hidden), the real run makes
//! exactly that, a second real run finds everything done.

use libtest_mimic::Failed;

use super::{Block, TempDir, drover, ensure, sh, substitute};
use crate::sshd::{Sshd, TEST_USER};

const SECRET: &str = "readme-secret-77";

pub fn deploy(block: &Block) -> Result<(), Failed> {
    let sshd = Sshd::start("")?;
    let local = TempDir::new("ops")?;
    let home = local.mkdir("home/.ssh")?;
    let remote = TempDir::new("ops-remote")?;
    sh(&format!(
        "chown {TEST_USER} '{0}' && chmod 0755 '{0}'",
        remote.0.display()
    ))?;
    let app = format!("{}/srv/app", remote.0.display());
    let body = substitute(&block.body, "/srv/app", &app)?;
    local.write("deploy.lua", &body)?;
    local.write(
        "inventory.ini",
        &format!(
            "[defaults]\nuser = {TEST_USER}\nknown_hosts = {}\n\n[host web1]\naddress = 127.0.0.1\nport = {}\nidentity = {}\n\n[group web]\nhosts = web1\ndb_password = {SECRET}\n",
            local.path("known_hosts").display(),
            sshd.port(),
            sshd.client_key().display()
        ),
    )?;
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "deploy.lua", "-i", "inventory.ini", "-g", "web"];
        args.extend_from_slice(extra);
        drover(&local.0, &home, &args)
    };
    let conf = format!("{app}/app.conf");

    let check = run(&["--check", "--diff"])?;
    let all = format!("{}{}", check.stdout, check.stderr);
    ensure(check.code == 0, check.show())?;
    ensure(!all.contains(SECRET), format!("the password shows:\n{all}"))?;
    ensure(
        std::fs::metadata(format!("{}/srv", remote.0.display())).is_err(),
        "check mode made /srv",
    )?;
    for line in [
        format!("web1 ~ file.directory {app}: would change (created)\n"),
        format!("web1 ~ file.template {conf}: would change (created)\n"),
        "web1 ~ +listen = 8080\n".to_string(),
        "web1 ~ +<line hidden: it contains a secret>\n".to_string(),
        format!("web1 ~ file.line {app}/env: would change (created)\n"),
        "web1 ~ +DEBUG=0\n".to_string(),
        format!(
            "web1 ~ command.run touch {app}/restarted: unknown (would run; what it changes is not predicted)\n"
        ),
    ] {
        ensure(
            check.stdout.contains(&line),
            format!("no {line:?} in\n{}", check.show()),
        )?;
    }
    ensure(
        check.stderr.contains("== 1 host: 1 ok (1 would change)\n")
            && check
                .stderr
                .contains("   ops web1: ok=4 changed=3 unknown=1\n"),
        check.show(),
    )?;

    let real = run(&[])?;
    ensure(real.code == 0, real.show())?;
    ensure(!real.stdout.contains(SECRET), real.show())?;
    ensure(
        std::fs::read_to_string(&conf)? == format!("listen = 8080\npassword = {SECRET}\n")
            && std::fs::read_to_string(format!("{app}/env"))? == "DEBUG=0\n"
            && std::fs::metadata(format!("{app}/restarted")).is_ok(),
        real.show(),
    )?;
    ensure(
        real.stderr.contains("   ops web1: ok=4 changed=4\n"),
        real.show(),
    )?;

    // done: nothing to change, so no restart either
    std::fs::remove_file(format!("{app}/restarted"))?;
    let again = run(&[])?;
    ensure(
        again.code == 0
            && again.stderr.contains("   ops web1: ok=3 changed=0\n")
            && std::fs::metadata(format!("{app}/restarted")).is_err(),
        again.show(),
    )?;
    let check = run(&["--check"])?;
    ensure(
        check.code == 0
            && !check.stdout.contains("would")
            && check.stderr.contains("ok=3 changed=0"),
        check.show(),
    )
}

/// The secrets block (`-- drover run app.lua -g db`): run with `--diff` as its comment says,
/// `/tmp/app.env` standing in a file of a directory the test creates; neither the inventory's
/// password nor `APP_KEY` shows anywhere, the host's file gets both.
pub fn secrets(block: &Block) -> Result<(), Failed> {
    const KEY: &str = "readme-app-key-4410";
    let sshd = Sshd::start("")?;
    let local = TempDir::new("secrets")?;
    let home = local.mkdir("home/.ssh")?;
    let remote = TempDir::new("secrets-remote")?;
    sh(&format!(
        "chown {TEST_USER} '{0}' && chmod 0755 '{0}'",
        remote.0.display()
    ))?;
    let env_file = format!("{}/app.env", remote.0.display());
    let body = substitute(&block.body, "/tmp/app.env", &env_file)?;
    let body = substitute(&body, "os.getenv(\"APP_KEY\")", &format!("\"{KEY}\""))?;
    local.write("app.lua", &body)?;
    local.write(
        "inventory.ini",
        &format!(
            "[defaults]\nuser = {TEST_USER}\nknown_hosts = {}\n\n[host db1]\naddress = 127.0.0.1\nport = {}\nidentity = {}\n\n[group db]\nhosts = db1\ndb_password = {SECRET}\n",
            local.path("known_hosts").display(),
            sshd.port(),
            sshd.client_key().display()
        ),
    )?;
    for extra in [&["--diff"][..], &["--diff", "--json"]] {
        let mut args = vec!["run", "app.lua", "-i", "inventory.ini", "-g", "db"];
        args.extend_from_slice(extra);
        let out = drover(&local.0, &home, &args)?;
        let all = format!("{}{}", out.stdout, out.stderr);
        ensure(out.code == 0, out.show())?;
        ensure(
            !all.contains(SECRET) && !all.contains(KEY),
            format!("a secret shows:\n{}", out.show()),
        )?;
        if extra.len() == 1 {
            ensure(
                out.stdout.contains("db1 | deploying with\t<secret>\n")
                    && out
                        .stdout
                        .contains("db1 ~ +<line hidden: it contains a secret>\ndb1 ~ +<line hidden: it contains a secret>\n"),
                out.show(),
            )?;
        }
        ensure(
            std::fs::read_to_string(&env_file)? == format!("DB_PASSWORD={SECRET}\nAPP_KEY={KEY}\n"),
            "the host's file holds the real values",
        )?;
        std::fs::remove_file(&env_file)?;
    }
    Ok(())
}

/// The README's packages block (`-- web.lua`), in check mode only, as root on the sshd
/// fixture: a real run would install nginx from the machine's own sources (the network).
/// `nginx` stands for a package and service that exist nowhere (a fresh name) and `ssl-cert`
/// for one every dpkg host has (`dpkg`), so what check mode must say does not depend on this
/// machine: "would install" the missing one although the index does not have it, the
/// service steps `unknown` (it does not exist yet), and nothing changed (dpkg, apt's lists).
pub fn packages(block: &Block) -> Result<(), Failed> {
    let sshd = Sshd::start("")?;
    let local = TempDir::new("packages")?;
    let home = local.mkdir("home/.ssh")?;
    let name = format!("drover-readme-web-{}", std::process::id());
    let body = substitute(&block.body, "\"nginx\"", &format!("\"{name}\""))?;
    let body = substitute(&body, "\"ssl-cert\"", "\"dpkg\"")?;
    local.write("web.lua", &body)?;
    local.write(
        "inventory.ini",
        &format!(
            "[defaults]\nuser = root\nknown_hosts = {}\n\n[host web1]\naddress = 127.0.0.1\nport = {}\nidentity = {}\n\n[group web]\nhosts = web1\n",
            local.path("known_hosts").display(),
            sshd.port(),
            sshd.client_key().display()
        ),
    )?;
    let state = || {
        sh(&format!(
            "dpkg-query -W -f='${{db:Status-Abbrev}}' {name} 2>&1; ls -l --time-style=full-iso /var/lib/apt/lists"
        ))
    };
    let before = state()?;
    let check = drover(
        &local.0,
        &home,
        &[
            "run",
            "web.lua",
            "-i",
            "inventory.ini",
            "-g",
            "web",
            "--check",
        ],
    )?;
    ensure(check.code == 0, check.show())?;
    ensure(state()? == before, "check mode changed dpkg or apt's lists")?;
    for line in [
        format!(
            "web1 ~ pkg.installed {name} dpkg: would change (would install {name} ({name} not in the package index yet))\n"
        ),
        format!(
            "web1 ~ service.enabled {name}: unknown (service {name} does not exist yet (an earlier step may install it))\n"
        ),
        format!("web1 ~ service.restarted {name}: unknown (service {name} does not exist yet"),
    ] {
        ensure(
            check.stdout.contains(&line),
            format!("no {line:?} in\n{}", check.show()),
        )?;
    }
    ensure(
        check
            .stderr
            .contains("   ops web1: ok=3 changed=1 unknown=2\n"),
        check.show(),
    )
}
