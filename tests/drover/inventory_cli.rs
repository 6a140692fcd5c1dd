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
            "port.ini:2: bad port \"http\": not a port number",
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
        db.contains("password=<secret>") && !out.contains("hunter2"),
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
        h["name"] == "db1" && h["port"] == 2222 && h["password"] == "<secret>",
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

/// The first word of each output line: the host names `drover hosts` printed.
fn host_names(out: &str) -> Vec<&str> {
    out.lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect()
}

fn limit_narrows_the_selection() -> Result<(), Failed> {
    // once: -g web -l 'web:!web02' reconfigured web02, and -g web -l '!web02' selected all web
    let dir = Dir::new("limit");
    dir.write("inventory.ini", GOOD, 0o600);
    for pattern in ["web:!web02", "!web02"] {
        let (code, out, err) = dir.drover(&["hosts", "-g", "web", "-l", pattern]);
        check(
            code == 0 && host_names(&out) == ["web01", "web03", "web-canary"],
            &format!("-g web -l {pattern}"),
            &out,
            &err,
        )?;
    }
    let (code, out, err) = dir.drover(&["hosts", "-H", "web01,web02,db1", "-l", "web"]);
    check(
        code == 0 && host_names(&out) == ["web01", "web02"],
        "-H narrowed by -l",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-l", "!web02"]);
    check(
        code == 0 && host_names(&out) == ["web01", "web03", "web-canary", "db1"],
        "-l alone: everything but",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-g", "db", "-l", "web"]);
    check(
        code == 2 && err.contains("no host matches the targets"),
        "disjoint: nothing selected",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-H", "web01,me@127.0.0.9:2200", "-l", "me@*"]);
    check(
        code == 0 && host_names(&out) == ["me@127.0.0.9:2200"],
        "ad-hoc hosts stay when a glob names them",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "--help"]);
    check(
        code == 0 && out.contains("Narrows the hosts -H/-g selected"),
        "--help says -l narrows",
        &out,
        &err,
    )
}

fn bad_flag_values_name_the_flag() -> Result<(), Failed> {
    let dir = Dir::new("flags");
    dir.write("inventory.ini", GOOD, 0o600);
    let cases: &[(&[&str], &str)] = &[
        (
            &["-e", "host_key_policy=stirct"],
            "-e host_key_policy=stirct: host_key_policy \"stirct\" must be accept-new, strict or off",
        ),
        (
            &["-e", "port=0"],
            "-e port=0: bad port \"0\": not a port number",
        ),
        (&["-e", "port=+22"], "-e port=+22: bad port \"+22\""),
        (&["-e", "address="], "-e address=: address is empty"),
        (
            &["-e", "connect_timeout=0"],
            "-e connect_timeout=0: connect_timeout \"0\"",
        ),
        (
            &["-e", "connect_timeout=-1"],
            "-e connect_timeout=-1: connect_timeout",
        ),
        (
            &["-e", "connect_timeout=NaN"],
            "-e connect_timeout=NaN: connect_timeout",
        ),
        (
            &["-e", "connect_timeout=1e400"],
            "-e connect_timeout=1e400: connect_timeout",
        ),
        (
            &["-e", "connect_timeout=1e20"],
            "-e connect_timeout=1e20: connect_timeout",
        ),
        (&["-e", "bad key=1"], "-e bad key=1: bad key \"bad key\""),
        (&["-e", "novalue"], "-e novalue: expected KEY=VALUE"),
        (
            &["-H", "u@addr:0"],
            "-H u@addr:0: bad destination \"u@addr:0\": bad port \"0\"",
        ),
        (
            &["-H", ".."],
            "-H ..: host name \"..\" is not a usable directory name",
        ),
        (
            &["-H", "a[1-1000]b[1-1000]c[1-1000]"],
            "expands to more than 100000 hosts",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["hosts"];
        all.extend_from_slice(args);
        let (code, out, err) = dir.drover(&all);
        check(
            code == 2 && err.contains(want),
            &format!("{args:?}: want exit 2 and {want:?}"),
            &out,
            &err,
        )?;
    }
    // 20,000 brackets once overflowed the stack (exit 134)
    let deep = "a[1]".repeat(20_000);
    let (code, out, err) = dir.drover(&["hosts", "-H", &deep]);
    check(
        code == 2 && err.contains("expands to names longer than 255 bytes"),
        "deep brackets",
        &out,
        &err,
    )?;
    // a name of 65,536 characters once panicked the padding of `drover hosts` (exit 101)
    let long = format!("{}.example", "h".repeat(65_536));
    let (code, out, err) = dir.drover(&["hosts", "-H", &long]);
    check(
        code == 2 && err.contains("is longer than 255 bytes"),
        "long -H name",
        &out,
        &err,
    )?;
    for timeout in ["1e20", "0", "-1", "NaN", "inf"] {
        let (code, out, err) = dir.drover(&[
            "exec",
            "-H",
            "127.0.0.1",
            &format!("--timeout={timeout}"),
            "--",
            "true",
        ]);
        check(
            code == 2
                && err.contains(&format!(
                    "--timeout {}",
                    timeout.parse::<f64>().unwrap_or(0.0)
                )),
            &format!("--timeout {timeout}"),
            &out,
            &err,
        )?;
    }
    Ok(())
}

fn inventory_values_are_checked() -> Result<(), Failed> {
    let dir = Dir::new("values");
    let long = "h".repeat(65_536);
    let cases = [
        (
            "plus.ini",
            "[host a]\nport = +22\n".to_string(),
            "plus.ini:2: bad port \"+22\": not a port number",
        ),
        (
            "addr.ini",
            "[host a]\naddress =\n".into(),
            "addr.ini:2: address is empty",
        ),
        (
            "timeout.ini",
            "[defaults]\nconnect_timeout = 1e20\n".into(),
            "timeout.ini:2: connect_timeout \"1e20\"",
        ),
        (
            "policy.ini",
            "[host a]\nhost_key_policy = stirct\n".into(),
            "policy.ini:2: host_key_policy \"stirct\" must be",
        ),
        (
            "dotdot.ini",
            "[host ..]\n".into(),
            "dotdot.ini:1: host name \"..\" is not a usable",
        ),
        (
            "dot.ini",
            "[group g]\nhosts = a, .\n".into(),
            "dot.ini:2: host name \".\"",
        ),
        (
            "long.ini",
            format!("[host {long}]\n"),
            "long.ini:1: host name",
        ),
        (
            "product.ini",
            "[group g]\nhosts = a[1-100]b[1-100]c[1-100]d[1-100]\n".into(),
            "product.ini:2: \"a[1-100]b[1-100]c[1-100]d[1-100]\" expands to more than 100000 hosts",
        ),
        (
            "comment.ini",
            "[host a]\npassword = Pw #x\n".into(),
            "comment.ini:2: the value of password holds \" #\" or \" ;\", which would start a comment: quote the value",
        ),
        (
            "child.ini",
            "[group prod]\nchildren = nobody\n[host a]\ngroups = db\n".into(),
            "child.ini:2: group prod has undefined child group \"nobody\"",
        ),
    ];
    for (name, text, want) in &cases {
        dir.write(name, text, 0o600);
        let (code, out, err) = dir.drover(&["hosts", "-i", name]);
        check(
            code == 2 && err.contains(want) && err.len() < 1000,
            &format!("{name}: want exit 2 and {want:?} (shortened)"),
            &out,
            &err,
        )?;
    }
    // the README's example: db exists only through db1's `groups =`; a BOM is skipped;
    // a quoted value keeps ` ;` and ` #`
    dir.write(
        "readme.ini",
        "\u{feff}[defaults]\nuser = deploy\n[group prod]\nchildren = web, db\n\
         [group web]\nhosts = web1\n[host db1]\naddress = 10.0.0.21\ngroups = db\n\
         motd = \"hello ; world # !\"   ; a comment\npassword = \"Pw #x\"\n",
        0o600,
    );
    let (code, out, err) = dir.drover(&["hosts", "-i", "readme.ini", "-g", "db"]);
    check(
        code == 0
            && host_names(&out) == ["db1"]
            && out.contains("groups=prod,db")
            && out.contains("motd=hello ; world # !  ")
            && out.contains("password=<secret>")
            && !out.contains("Pw"),
        "group named only by a host, BOM, quoting",
        &out,
        &err,
    )
}

fn secret_variables_are_redacted() -> Result<(), Failed> {
    let dir = Dir::new("redact");
    dir.write(
        "inventory.ini",
        "[group web]\nhosts = w1\ndb_password = hunter3\nAPI_Token = tkn-value\n\
         [host w1]\nkey_passphrase = pp-value\ncolour = blue\n",
        0o600,
    );
    let (code, out, err) = dir.drover(&["hosts", "-e", "MySecret=sss-value"]);
    check(
        code == 0
            && out.contains("db_password=<secret>")
            && out.contains("API_Token=<secret>")
            && out.contains("key_passphrase=<secret>")
            && out.contains("MySecret=<secret>")
            && out.contains("colour=blue"),
        "text redacted",
        &out,
        &err,
    )?;
    let (code, out, err) = dir.drover(&["hosts", "-e", "MySecret=sss-value", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("bad JSON: {e}: {out}"))?;
    check(
        code == 0
            && v[0]["vars"]["db_password"] == "<secret>"
            && v[0]["vars"]["MySecret"] == "<secret>"
            && v[0]["vars"]["colour"] == "blue",
        "json redacted",
        &out,
        &err,
    )?;
    for secret in ["hunter3", "tkn-value", "pp-value", "sss-value"] {
        check(
            !out.contains(secret),
            &format!("{secret} not shown"),
            &out,
            &err,
        )?;
    }
    Ok(())
}

fn large_inventories_resolve_fast() -> Result<(), Failed> {
    // once: w[1-100000] took 51 s (quadratic), a 3,000-deep children chain over 60 s
    let dir = Dir::new("large");
    let mut text = String::from("[group all]\nhosts = w[1-100000]\n[host w5]\nport = 2222\n");
    for i in 0..2999 {
        text.push_str(&format!("[group c{i}]\nchildren = c{}\n", i + 1));
    }
    text.push_str("[group c2999]\nhosts = w7\nlevel = deepest\n");
    dir.write("inventory.ini", &text, 0o600);
    let started = std::time::Instant::now();
    let (code, out, err) = dir.drover(&["hosts"]);
    let took = started.elapsed();
    check(
        code == 0 && out.lines().count() == 100_000,
        "100,000 hosts listed",
        &out[..out.len().min(500)],
        &err,
    )?;
    check(
        out.contains("w5      deploy@w5:2222")
            || out
                .lines()
                .any(|l| l.starts_with("w5 ") && l.contains(":2222")),
        "host section applied",
        "",
        &err,
    )?;
    check(
        out.lines()
            .any(|l| l.starts_with("w7 ") && l.contains("level=deepest")),
        "deep group applied",
        "",
        &err,
    )?;
    check(
        took < std::time::Duration::from_secs(10),
        &format!("took {took:?} (bound 10 s, debug build)"),
        "",
        &err,
    )
}

fn ssh_connect_checks_its_spec() -> Result<(), Failed> {
    // the same checks as the inventory and -H, before any connection is tried
    let dir = Dir::new("connect");
    dir.write(
        "connect.lua",
        r#"
for _, spec in ipairs({
  "u@127.0.0.1:0",
  "u@:22",
  "..",
  {address = "127.0.0.1", port = 0},
  {address = "127.0.0.1", port = 70000},
  {address = "127.0.0.1", host_key_policy = "stirct"},
  {address = "127.0.0.1", connect_timeout = 1e20},
  {address = "127.0.0.1", connect_timeout = 0},
  {address = "127.0.0.1", connect_timeout = 0/0},
  {address = "127.0.0.1", name = ".."},
  {address = "127.0.0.1", user = ""},
}) do
  local ok, err = pcall(ssh.connect, spec)
  print(ok, tostring(err):match("ssh%.connect: [^\n]*"))
end
"#,
        0o644,
    );
    let (code, out, err) = dir.drover(&["run", "connect.lua"]);
    let lines: Vec<&str> = out.lines().collect();
    let want = [
        "bad port \"0\": not a port number",
        "no host (the address is empty)",
        "host name \"..\" is not a usable directory name",
        "bad port \"0\": not a port number",
        "bad port \"70000\": not a port number",
        "host_key_policy \"stirct\" must be accept-new, strict or off",
        "connect_timeout \"100000000000000000000\" is not a number of seconds",
        "connect_timeout \"0\" is not a number of seconds",
        "connect_timeout \"NaN\" is not a number of seconds",
        "host name \"..\" is not a usable",
        "user is empty",
    ];
    check(
        code == 0 && lines.len() == want.len(),
        "one line per spec",
        &out,
        &err,
    )?;
    for (line, want) in lines.iter().zip(want) {
        check(
            line.starts_with("false\tssh.connect: ") && line.contains(want),
            &format!("want {want:?} in {line:?}"),
            &out,
            &err,
        )?;
    }
    Ok(())
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
        Trial::test(
            "cli::limit_narrows_the_selection",
            limit_narrows_the_selection,
        ),
        Trial::test(
            "cli::bad_flag_values_name_the_flag",
            bad_flag_values_name_the_flag,
        ),
        Trial::test(
            "cli::inventory_values_are_checked",
            inventory_values_are_checked,
        ),
        Trial::test(
            "cli::hosts_redacts_secret_variables",
            secret_variables_are_redacted,
        ),
        Trial::test(
            "cli::large_inventories_resolve_fast",
            large_inventories_resolve_fast,
        ),
        Trial::test(
            "cli::ssh_connect_checks_its_spec",
            ssh_connect_checks_its_spec,
        ),
    ]
}
