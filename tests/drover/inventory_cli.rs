//! `drover hosts` and inventory errors through the command line: every error names the file
//! and line, unknown names get a hint, secrets are redacted, the JSON parses.

use std::path::PathBuf;
use std::process::Command;

use libtest_mimic::{Failed, Trial};

/// A throwaway directory holding inventory files.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("drover-inv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }

    fn write(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    fn drover(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(args)
            .current_dir(&self.0)
            .env_remove("DROVER_INVENTORY")
            .env("HOME", &self.0)
            .output()
            .expect("drover runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const GOOD: &str = "\
[defaults]
user = deploy
colour = grey

[group web]
hosts = web[01-03], web-canary   ; ranges expand
colour = blue

[group prod]
children = web, db

[group db]

[host db1]
address = 10.0.0.21
port = 2222
password = hunter2-secret
groups = db
colour = red
";

fn check(cond: bool, what: &str, out: &str, err: &str) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(format!("{what}\n--- stdout ---\n{out}--- stderr ---\n{err}").into())
    }
}

fn errors_name_file_and_line() -> Result<(), Failed> {
    let dir = Dir::new("errors");
    let cases = [
        (
            "glued.ini",
            "[group web]\nhosts = a\nweb2.example.com\nport = 22\n",
            "glued.ini:3: \"web2.example.com\" is not `key = value`",
        ),
        (
            "dup.ini",
            "[host a]\n\n[host a]\n",
            "dup.ini:3: duplicate section [host a] (first at line 1)",
        ),
        (
            "kind.ini",
            "[groups web]\n",
            "kind.ini:1: unknown section [groups web]",
        ),
        (
            "cycle.ini",
            "[group a]\nchildren = b\n[group b]\nchildren = a\n",
            "cycle.ini:2: group cycle: a -> b -> a",
        ),
        (
            "child.ini",
            "[group prod]\nchildren = wbe\n[group web]\n",
            "child.ini:2: group prod has undefined child group \"wbe\" (did you mean \"web\"?)",
        ),
        (
            "port.ini",
            "[host a]\nport = http\n",
            "port.ini:2: port \"http\" is not a port number",
        ),
    ];
    for (name, text, want) in cases {
        dir.write(name, text, 0o600);
        let (code, out, err) = dir.drover(&["hosts", "-i", name]);
        check(
            code == 2 && err.contains(want),
            &format!("{name}: want exit 2 and {want:?}"),
            &out,
            &err,
        )?;
    }
    let (code, out, err) = dir.drover(&["hosts", "-i", "missing.ini"]);
    check(
        code == 2 && err.contains("missing.ini: cannot read"),
        "missing file",
        &out,
        &err,
    )
}

fn lists_resolved_hosts() -> Result<(), Failed> {
    let dir = Dir::new("list");
    dir.write("inventory.ini", GOOD, 0o600);
    let (code, out, err) = dir.drover(&["hosts"]);
    check(code == 0, "exit 0", &out, &err)?;
    let lines: Vec<&str> = out.lines().collect();
    check(lines.len() == 5, "5 hosts", &out, &err)?;
    check(
        lines[0].starts_with("web01 ") && lines[0].contains("deploy@web01:22"),
        "web01 line",
        &out,
        &err,
    )?;
    check(
        lines[0].contains("colour=blue"),
        "group var over defaults",
        &out,
        &err,
    )?;
    let db = lines
        .iter()
        .find(|l| l.starts_with("db1"))
        .copied()
        .unwrap_or("");
    check(
        db.contains("deploy@10.0.0.21:2222") && db.contains("colour=red"),
        "db1 resolved",
        &out,
        &err,
    )?;
    check(
        db.contains("password=<redacted>") && !out.contains("hunter2"),
        "password redacted",
        &out,
        &err,
    )?;
    check(
        !err.contains("readable by others"),
        "mode 600: no warning",
        &out,
        &err,
    )?;
    // -e overrides, patterns, did-you-mean
    let (_, out, err) = dir.drover(&["hosts", "-l", "prod:!web0*", "-e", "colour=cli"]);
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    check(
        names == ["web-canary", "db1"],
        "pattern prod:!web0*",
        &out,
        &err,
    )?;
    check(
        out.lines().all(|l| l.contains("colour=cli")),
        "-e wins",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-g", "wbe"]);
    check(
        code == 2 && err.contains("did you mean \"web\""),
        "did you mean",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-H", "web[01,03],db1", "-H", "web02"]);
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    check(
        code == 0 && names == ["web01", "web02", "web03", "db1"],
        "-H with a node set (commas inside brackets) and repeated",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-H", "web01,me@127.0.0.9:2200"]);
    check(
        code == 0 && out.contains("me@127.0.0.9:2200") && out.contains("me@127.0.0.9:2200"),
        "ad hoc",
        &out,
        &err,
    )?;
    Ok(())
}

fn json_and_password_warning() -> Result<(), Failed> {
    let dir = Dir::new("json");
    dir.write("inv.ini", GOOD, 0o644);
    let (code, out, err) = dir.drover(&["hosts", "-i", "inv.ini", "-g", "db", "--json"]);
    check(code == 0, "exit 0", &out, &err)?;
    check(
        err.contains("inv.ini holds passwords and is readable by others (mode 0644)"),
        "warning",
        &out,
        &err,
    )?;
    let v: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("bad JSON: {e}: {out}"))?;
    let h = &v[0];
    check(
        h["name"] == "db1" && h["port"] == 2222 && h["password"] == "<redacted>",
        "json fields",
        &out,
        &err,
    )?;
    check(
        h["groups"] == serde_json::json!(["prod", "db"]),
        "json groups",
        &out,
        &err,
    )?;
    check(!out.contains("hunter2"), "no secret", &out, &err)
}

fn no_targets_no_inventory_read() -> Result<(), Failed> {
    // A script run on the controller only does not read ./inventory.ini, even a broken one.
    let dir = Dir::new("notargets");
    dir.write("inventory.ini", "[group web]\nweb1\n", 0o600);
    dir.write("hello.lua", "print('hello')\n", 0o644);
    let (code, out, err) = dir.drover(&["run", "hello.lua"]);
    check(
        code == 0 && out == "hello\n",
        "run without targets",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["run", "hello.lua", "-g", "web"]);
    check(
        code == 2 && err.contains("inventory.ini:2:"),
        "with targets the inventory is read",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["run", "hello.lua", "-e", "novalue"]);
    check(
        code == 2 && err.contains("-e novalue: expected KEY=VALUE"),
        "bad -e",
        &out,
        &err,
    )
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "cli::inventory_errors_name_file_and_line",
            errors_name_file_and_line,
        ),
        Trial::test("cli::hosts_lists_resolved_hosts", lists_resolved_hosts),
        Trial::test(
            "cli::hosts_json_and_password_warning",
            json_and_password_warning,
        ),
        Trial::test(
            "cli::run_without_targets_reads_no_inventory",
            no_targets_no_inventory_read,
        ),
    ]
}
