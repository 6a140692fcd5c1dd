//! The `ssh` module: `ssh.connect(spec)` → a host object whose `:run(cmd, opts)` suspends only
//! the calling task while the command runs remotely. One connection per host object, opened
//! on first use and shared by every task that uses it (single flight).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Lua, Table, Value};

use crate::connection;
use crate::lua::error_value::{ErrorValue, ExitStatus, lua_err};
use crate::lua::host::{self, DefaultSudoPassword, Host};
use crate::lua::secret;
use crate::lua::task::{check_options, ensure_can_suspend, seconds};
use crate::ssh::ssh_config::{self, Explicit, SshConfig};
use crate::ssh::{ExecOptions, Secret, SshContext, SshError, Target};

/// The runtime's SSH context (connections, key cache, prompts), kept in the Lua app data.
pub(crate) fn ssh_context(lua: &Lua) -> mlua::Result<Arc<SshContext>> {
    lua.app_data_ref::<Arc<SshContext>>()
        .map(|ctx| Arc::clone(&ctx))
        .ok_or_else(|| mlua::Error::RuntimeError("ssh: no SSH context in this Lua state".into()))
}

/// A failure to read the ssh config file: the caller's configuration, a plain message.
fn config_err(e: SshError) -> mlua::Error {
    mlua::Error::RuntimeError(match e.host() {
        Some(h) => format!("{h}: {e}"),
        None => e.to_string(),
    })
}

/// `ssh.connect: <cause>`, for connection values refused by [`connection`].
fn connect_err(cause: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::RuntimeError(format!("ssh.connect: {cause}"))
}

/// Parses `user@host:port` (user and port optional), checked as `-H` and the inventory are.
fn parse_target_str(spec: &str) -> mlua::Result<Target> {
    let dest = connection::destination(spec)
        .map_err(|e| ErrorValue::bad_destination(spec, format!("ssh.connect: {e}")))?;
    let t = Target::at(dest, &Target::default_for(""));
    connection::host_name(&t.name).map_err(connect_err)?;
    Ok(t)
}

/// A number of seconds (or its text) as a connect timeout.
fn connect_timeout_value(v: &Value) -> mlua::Result<Duration> {
    match v {
        Value::Integer(i) => connection::connect_timeout_secs(*i as f64),
        Value::Number(n) => connection::connect_timeout_secs(*n),
        Value::String(s) => connection::connect_timeout(&s.to_str()?),
        other => {
            return Err(connect_err(format!(
                "connect_timeout must be a number of seconds, got {}",
                other.type_name()
            )));
        }
    }
    .map_err(connect_err)
}

/// A port number (or its digits).
fn port_value(v: &Value) -> mlua::Result<u16> {
    match v {
        Value::Integer(i) => connection::port_number(*i),
        Value::Number(n) if n.fract() == 0.0 => connection::port_number(*n as i64),
        Value::Number(n) => Err(connection::ConnectionError::Port(n.to_string())),
        Value::String(s) => connection::port(&s.to_str()?),
        other => {
            return Err(connect_err(format!(
                "port must be a number, got {}",
                other.type_name()
            )));
        }
    }
    .map_err(connect_err)
}

fn parse_target_table(ssh: &SshContext, spec: &Table) -> mlua::Result<Target> {
    check_options(
        spec,
        &[
            "address",
            "port",
            "user",
            "password",
            "identity",
            "key",
            "known_hosts",
            "host_key_policy",
            "connect_timeout",
            "agent",
            "passphrase",
            "passphrase_env",
            "proxy_jump",
            "ssh_config",
            "name",
        ],
        "ssh.connect",
    )?;
    let address: String = spec
        .get::<Option<String>>("address")?
        .ok_or_else(|| mlua::Error::RuntimeError("ssh.connect: address is required".into()))?;
    let mut t = parse_target_str(&address)?;
    if let Some(v) = spec.get::<Option<Value>>("port")? {
        let port = port_value(&v)?;
        t.port = port;
        t.name = format!("{}:{port}", t.address);
    }
    if let Some(user) = spec.get::<Option<String>>("user")? {
        t.user = connection::user(&user).map_err(connect_err)?.to_string();
    }
    if let Some(name) = spec.get::<Option<String>>("name")? {
        // the name is a directory name for get (LOCAL_DIR/<name>/)
        t.name = connection::host_name(&name)
            .map_err(connect_err)?
            .to_string();
    }
    t.password = secret::field(spec, "password", "ssh.connect")?.map(Secret);
    t.key_text = secret::field(spec, "key", "ssh.connect")?.map(Secret);
    t.passphrase = secret::field(spec, "passphrase", "ssh.connect")?.map(Secret);
    if let Some(var) = spec.get::<Option<String>>("passphrase_env")? {
        let value = std::env::var(&var).map_err(|_| {
            mlua::Error::RuntimeError(format!(
                "ssh.connect: passphrase_env names {var}, which is not set"
            ))
        })?;
        t.passphrase = Some(Secret(value));
    }
    // `~/` as in the inventory and ~/.ssh/config
    t.identity = spec
        .get::<Option<String>>("identity")?
        .map(|p| crate::ssh::expand_tilde(&p));
    if let Some(kh) = spec.get::<Option<String>>("known_hosts")? {
        t.known_hosts = crate::ssh::expand_tilde(&kh);
    }
    t.agent = match spec.get::<Value>("agent")? {
        Value::Nil => None,
        Value::Boolean(false) => Some(None),
        Value::String(s) => Some(Some(PathBuf::from(s.to_str()?.to_string()))),
        other => {
            return Err(mlua::Error::RuntimeError(format!(
                "ssh.connect: agent must be a socket path or false, got {}",
                other.type_name()
            )));
        }
    };
    t.proxy_jump = match spec.get::<Value>("proxy_jump")? {
        Value::Nil => None,
        Value::String(s) => Some(Box::new(target_from_str(ssh, &s.to_str()?)?)),
        Value::Table(j) => Some(Box::new(target_from_table(ssh, &j)?)),
        Value::UserData(ud) => match ud.borrow::<Host>() {
            Ok(h) => Some(Box::new(h.target().clone())),
            Err(_) => {
                return Err(mlua::Error::RuntimeError(
                    "ssh.connect: proxy_jump must be a host".into(),
                ));
            }
        },
        other => {
            return Err(mlua::Error::RuntimeError(format!(
                "ssh.connect: proxy_jump must be a host, a table or \"user@host:port\", got {}",
                other.type_name()
            )));
        }
    };
    if let Some(p) = spec.get::<Option<String>>("host_key_policy")? {
        t.host_key_policy = connection::host_key_policy(&p).map_err(connect_err)?;
    }
    if let Some(v) = spec.get::<Option<Value>>("connect_timeout")? {
        t.connect_timeout = connect_timeout_value(&v)?;
    }
    Ok(t)
}

/// `exec` with the runtime's default sudo password when it goes through sudo without one.
fn with_default_sudo_password(lua: &Lua, mut exec: ExecOptions) -> ExecOptions {
    if (exec.sudo || exec.sudo_user.is_some())
        && exec.sudo_password.is_none()
        && let Some(default) = lua.app_data_ref::<DefaultSudoPassword>()
    {
        exec.sudo_password = Some(default.0.clone());
    }
    exec
}

/// Reads `host:run` options: `check` and the [`ExecOptions`].
fn exec_options(opts: Option<&Table>) -> mlua::Result<(bool, ExecOptions)> {
    let mut exec = ExecOptions::default();
    let Some(opts) = opts else {
        return Ok((true, exec));
    };
    check_options(
        opts,
        &[
            "check",
            "timeout",
            "env",
            "cwd",
            "stdin",
            "sudo",
            "user",
            "max_output",
            "pty",
            "stream",
            "sudo_password",
            "readonly",
        ],
        "host:run",
    )?;
    let check = opts.get::<Option<bool>>("check")?.unwrap_or(true);
    if let Some(v) = opts.get::<Option<Value>>("timeout")? {
        exec.timeout = Some(seconds(&v, "host:run timeout")?);
    }
    if let Some(env) = opts.get::<Option<Table>>("env")? {
        for pair in env.pairs::<String, Value>() {
            let (k, v) = pair?;
            let v = secret::text(&v, &format!("host:run: env {k}"))?;
            if k.is_empty()
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || k.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(mlua::Error::RuntimeError(format!(
                    "host:run: env name '{k}' is not a valid variable name"
                )));
            }
            exec.env.push((k, v));
        }
        exec.env.sort();
    }
    exec.cwd = opts.get::<Option<String>>("cwd")?;
    exec.stdin = match opts.get::<Value>("stdin")? {
        Value::Nil => None,
        v => Some(secret::bytes(&v, "host:run: stdin")?),
    };
    exec.sudo = opts.get::<Option<bool>>("sudo")?.unwrap_or(false);
    exec.sudo_user = opts.get::<Option<String>>("user")?;
    exec.sudo_password = secret::field(opts, "sudo_password", "host:run")?.map(Secret);
    if exec.sudo_password.is_some() {
        exec.sudo = true;
    }
    exec.pty = opts.get::<Option<bool>>("pty")?.unwrap_or(false);
    if opts.get::<Option<bool>>("stream")?.unwrap_or(false) {
        exec.sink = Some(crate::lua::output::task_output("host:run")?);
    }
    if let Some(v) = opts.get::<Option<Value>>("max_output")? {
        exec.max_output = crate::lua::task::integer_at_least(&v, 1, "host:run: max_output")?;
    }
    Ok((check, exec))
}

/// `~/.ssh/config`, unless `ssh_config` names another file or is false.
fn ssh_config_path(opt: Value) -> mlua::Result<Option<PathBuf>> {
    match opt {
        Value::Nil => Ok(ssh_config::user_config()),
        Value::Boolean(false) => Ok(None),
        Value::String(s) => Ok(Some(PathBuf::from(s.to_str()?.to_string()))),
        other => Err(mlua::Error::RuntimeError(format!(
            "ssh.connect: ssh_config must be a path or false, got {}",
            other.type_name()
        ))),
    }
}

/// A target from `"user@host:port"`, with `~/.ssh/config` applied.
fn target_from_str(ssh: &SshContext, spec: &str) -> mlua::Result<Target> {
    let mut t = parse_target_str(spec)?;
    let (user_part, rest) = spec
        .rsplit_once('@')
        .map(|(u, r)| (Some(u), r))
        .unwrap_or((None, spec));
    let explicit = Explicit {
        user: user_part.is_some(),
        port: rest.contains(':'),
        ..Explicit::default()
    };
    if let Some(path) = ssh_config_path(Value::Nil)? {
        let config = SshConfig {
            cache: ssh.ssh_configs(),
            path: &path,
        };
        config.apply(&mut t, explicit).map_err(config_err)?;
    }
    Ok(t)
}

/// A target from a spec table, with the ssh config file applied under the explicit fields.
fn target_from_table(ssh: &SshContext, spec: &Table) -> mlua::Result<Target> {
    let mut t = parse_target_table(ssh, spec)?;
    let address: String = spec.get("address")?;
    let has = |k: &str| spec.contains_key(k).unwrap_or(false);
    let explicit = Explicit {
        user: has("user") || address.contains('@'),
        port: has("port") || address.rsplit_once(':').is_some(),
        identity: has("identity") || has("key"),
        known_hosts: has("known_hosts"),
        proxy_jump: has("proxy_jump"),
    };
    if let Some(path) = ssh_config_path(spec.get("ssh_config")?)? {
        let config = SshConfig {
            cache: ssh.ssh_configs(),
            path: &path,
        };
        config.apply(&mut t, explicit).map_err(config_err)?;
    }
    Ok(t)
}

/// The last `n` lines of `text`, for error messages.
fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What `host:run` returns for a command check mode did not run: ok, code 0, no output,
/// `skipped = true`.
fn skipped_result(lua: &Lua, host: &str, cmd: &str) -> mlua::Result<Table> {
    let result = lua.create_table()?;
    result.set("ok", true)?;
    result.set("code", 0)?;
    result.set("stdout", "")?;
    result.set("stderr", "")?;
    result.set("host", host)?;
    result.set("cmd", cmd)?;
    result.set("truncated", false)?;
    result.set("elapsed", 0.0)?;
    result.set("skipped", true)?;
    Ok(result)
}

/// Lua half: ssh.run and ssh.with on top of the current host.
const SSH_LUA: &str = include_str!("../../stdlib/internal/ssh.lua");

/// Builds the `ssh` module.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    let private = lua.create_table()?;
    private.set(
        "current_host",
        lua.create_function(|lua, ()| crate::lua::task::current_host(lua))?,
    )?;
    private.set(
        "set_host",
        lua.create_function(|_, host: Value| {
            if let Value::UserData(ud) = &host
                && !ud.is::<Host>()
            {
                return Err(mlua::Error::RuntimeError(
                    "ssh.with: expected a host object".into(),
                ));
            }
            let task = crate::lua::task::current_task()
                .ok_or_else(|| mlua::Error::RuntimeError("ssh.with: not inside a task".into()))?;
            Ok(task.set_host(if host.is_nil() { None } else { Some(host) }))
        })?,
    )?;
    m.set(
        "connect",
        lua.create_function(|lua, spec: Value| {
            let ssh = ssh_context(lua)?;
            let target = match spec {
                Value::String(s) => target_from_str(&ssh, &s.to_str()?)?,
                Value::Table(t) => target_from_table(&ssh, &t)?,
                other => {
                    return Err(mlua::Error::RuntimeError(format!(
                        "ssh.connect: expected \"user@host:port\" or a table, got {}",
                        other.type_name()
                    )));
                }
            };
            Host::create(lua, ssh, target, BTreeMap::new(), Vec::new())
        })?,
    )?;
    host::add_async_method(
        lua,
        "run",
        |lua, this, (cmd, opts): (Value, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "host:run");
            let cmd = secret::text(&cmd, "host:run: the command");
            let target = this.target().clone();
            let conn = this.connection();
            async move {
                allowed?;
                let cmd = cmd?;
                let (check, exec_opts) = exec_options(opts.as_ref())?;
                let readonly = match &opts {
                    Some(o) => o.get::<Option<bool>>("readonly")?.unwrap_or(false),
                    None => false,
                };
                if crate::lua::opcore::skip_in_check(&lua, "ssh", "run", &cmd, readonly) {
                    return skipped_result(&lua, &target.name, &cmd);
                }
                let exec_opts = with_default_sudo_password(&lua, exec_opts);
                let started = Instant::now();
                let session = conn.await?;
                // (a host that went away mid-command raises kind connection_lost: the
                // fan-out counts it unreachable)
                let out = session.exec(&cmd, &exec_opts).await.map_err(lua_err)?;
                let stdout = lua.create_string(&out.stdout)?;
                let stderr = lua.create_string(&out.stderr)?;
                let ok = out.code == Some(0);
                if check && !ok {
                    let why = match (&out.code, &out.signal) {
                        (Some(code), _) => format!("exited with code {code}"),
                        (None, Some(sig)) => format!("was killed by signal {sig}"),
                        _ => "ended without an exit status".to_string(),
                    };
                    let tail = tail_lines(&String::from_utf8_lossy(&out.stderr), 5);
                    let tail = if tail.is_empty() {
                        String::new()
                    } else {
                        format!("; stderr:\n{tail}")
                    };
                    // (without the host: the error value adds it where a script sees it)
                    let message = format!(
                        "command `{cmd}` {why}{tail} (pass {{check = false}} to get the result instead)"
                    );
                    let status = ExitStatus {
                        host: &target.name,
                        command: &cmd,
                        code: out.code,
                        signal: out.signal.as_deref(),
                        stdout: &out.stdout,
                        stderr: &out.stderr,
                    };
                    return Err(ErrorValue::exit(&status, message).into());
                }
                let result = lua.create_table()?;
                result.set("ok", ok)?;
                result.set("code", out.code)?;
                result.set("signal", out.signal)?;
                result.set("stdout", stdout)?;
                result.set("stderr", stderr)?;
                result.set("host", target.name.as_str())?;
                result.set("cmd", cmd)?;
                result.set("truncated", out.truncated)?;
                result.set("elapsed", started.elapsed().as_secs_f64())?;
                Ok(result)
            }
        },
    )?;
    m.set(
        "max_connections",
        lua.create_function(|_, ()| {
            let nofile = crate::ssh::limits::nofile_limit().map_err(mlua::Error::external)?;
            Ok(crate::ssh::limits::connection_cap(nofile))
        })?,
    )?;
    lua.load(SSH_LUA)
        .set_name("=[drover] ssh.lua")
        .call::<()>((m.clone(), private))?;
    Ok(m)
}
