//! The `sftp` module: file transfer on the task's current host (`sftp.put(...)`), and the same
//! methods on host objects (`host:put(...)`). Each call suspends only its task; the transfer
//! itself runs over the host's one connection (see [`crate::ssh::sftp`]).

use std::path::PathBuf;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use crate::lua::error_value::lua_err;
use crate::lua::host;
use crate::lua::opcore::skip_in_check;
use crate::lua::task::{check_options, ensure_can_suspend};
use crate::ssh::Secret;
use crate::ssh::sftp::{FileStat, GetOptions, PutOptions, Source, Transfer};

/// Reads a permission mode: an octal string ("0644", "755") or an integer (`tonumber("644", 8)`).
fn mode_of(value: &Value, what: &str) -> mlua::Result<u32> {
    let bad = || {
        mlua::Error::RuntimeError(format!(
            "{what}: mode must be an octal string such as \"0644\" or an integer up to 0o7777"
        ))
    };
    match value {
        Value::String(s) => {
            let text = s.to_str()?;
            let digits = text.trim_start_matches("0o");
            u32::from_str_radix(digits, 8)
                .ok()
                .filter(|m| *m <= 0o7777 && !digits.is_empty())
                .ok_or_else(bad)
        }
        Value::Integer(i) if (0..=0o7777).contains(i) => Ok(*i as u32),
        _ => Err(bad()),
    }
}

fn put_options(opts: Option<&Table>, what: &str) -> mlua::Result<PutOptions> {
    let mut out = PutOptions::default();
    let Some(opts) = opts else {
        return Ok(out);
    };
    check_options(
        opts,
        &[
            "mode",
            "owner",
            "group",
            "recursive",
            "skip_same",
            "sudo",
            "user",
            "sudo_password",
            "progress",
        ],
        what,
    )?;
    if let Some(v) = opts.get::<Option<Value>>("mode")? {
        out.mode = Some(mode_of(&v, what)?);
    }
    out.owner = opts.get("owner")?;
    out.group = opts.get("group")?;
    out.recursive = opts.get::<Option<bool>>("recursive")?.unwrap_or(false);
    out.skip_same = opts.get::<Option<bool>>("skip_same")?.unwrap_or(true);
    out.sudo_password = crate::lua::secret::field(opts, "sudo_password", "sftp")?.map(Secret);
    out.sudo_user = opts.get("user")?;
    out.sudo = opts.get::<Option<bool>>("sudo")?.unwrap_or(false)
        || out.sudo_password.is_some()
        || out.sudo_user.is_some();
    if opts.get::<Option<bool>>("progress")?.unwrap_or(false) {
        out.sink = Some(crate::lua::output::task_output(what)?);
    }
    Ok(out)
}

fn get_options(opts: Option<&Table>, what: &str) -> mlua::Result<GetOptions> {
    let mut out = GetOptions::default();
    let Some(opts) = opts else {
        return Ok(out);
    };
    check_options(opts, &["recursive", "progress"], what)?;
    out.recursive = opts.get::<Option<bool>>("recursive")?.unwrap_or(false);
    if opts.get::<Option<bool>>("progress")?.unwrap_or(false) {
        out.sink = Some(crate::lua::output::task_output(what)?);
    }
    Ok(out)
}

fn flag(opts: Option<&Table>, key: &str, what: &str) -> mlua::Result<bool> {
    match opts {
        None => Ok(false),
        Some(t) => {
            check_options(t, &[key], what)?;
            Ok(t.get::<Option<bool>>(key)?.unwrap_or(false))
        }
    }
}

fn transfer_table(lua: &Lua, t: &Transfer) -> mlua::Result<Table> {
    let r = lua.create_table()?;
    r.set("changed", t.changed)?;
    r.set("bytes", t.bytes)?;
    r.set("files", t.files)?;
    r.set("elapsed", t.elapsed.as_secs_f64())?;
    Ok(r)
}

/// What a put or write check mode skipped returns: nothing moved, `skipped = true`.
fn skipped_transfer(lua: &Lua) -> mlua::Result<Table> {
    let r = lua.create_table()?;
    r.set("changed", false)?;
    r.set("bytes", 0)?;
    r.set("files", 0)?;
    r.set("elapsed", 0.0)?;
    r.set("skipped", true)?;
    Ok(r)
}

fn stat_table(lua: &Lua, st: &FileStat) -> mlua::Result<Table> {
    let r = lua.create_table()?;
    r.set("type", st.kind.as_str())?;
    r.set("size", st.size)?;
    r.set("mode", st.mode)?;
    r.set("perms", format!("{:04o}", st.mode))?;
    r.set("uid", st.uid)?;
    r.set("gid", st.gid)?;
    r.set("mtime", st.mtime)?;
    r.set("atime", st.atime)?;
    Ok(r)
}

/// Adds `put get read write stat list mkdir remove rename chmod` to the host method table.
fn add_host_methods(lua: &Lua) -> mlua::Result<()> {
    host::add_async_method(
        lua,
        "put",
        |lua, this, (local, remote, opts): (String, String, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "sftp.put");
            let conn = this.sftp();
            async move {
                allowed?;
                let opts = put_options(opts.as_ref(), "sftp.put")?;
                if skip_in_check(&lua, "sftp", "put", &remote, false) {
                    return skipped_transfer(&lua);
                }
                let (session, sftp) = conn.await?;
                let src = Source::Path(PathBuf::from(local));
                let t = sftp
                    .put(&session, src, &remote, &opts)
                    .await
                    .map_err(lua_err)?;
                transfer_table(&lua, &t)
            }
        },
    )?;
    host::add_async_method(
        lua,
        "write",
        |lua, this, (remote, text, opts): (String, Value, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "sftp.write");
            let conn = this.sftp();
            let bytes = crate::lua::secret::bytes(&text, "sftp.write: the content");
            async move {
                allowed?;
                let bytes = bytes?;
                let opts = put_options(opts.as_ref(), "sftp.write")?;
                if opts.recursive {
                    return Err(mlua::Error::RuntimeError(
                        "sftp.write: recursive does not apply to text".into(),
                    ));
                }
                if skip_in_check(&lua, "sftp", "write", &remote, false) {
                    return skipped_transfer(&lua);
                }
                let (session, sftp) = conn.await?;
                let t = sftp
                    .put(&session, Source::Bytes(Arc::new(bytes)), &remote, &opts)
                    .await
                    .map_err(lua_err)?;
                transfer_table(&lua, &t)
            }
        },
    )?;
    host::add_async_method(
        lua,
        "get",
        |lua, this, (remote, local, opts): (String, String, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "sftp.get");
            let conn = this.sftp();
            async move {
                allowed?;
                let opts = get_options(opts.as_ref(), "sftp.get")?;
                let (_, sftp) = conn.await?;
                let t = sftp
                    .get(&remote, &PathBuf::from(local), &opts)
                    .await
                    .map_err(lua_err)?;
                transfer_table(&lua, &t)
            }
        },
    )?;
    host::add_async_method(lua, "read", |lua, this, remote: String| {
        let allowed = ensure_can_suspend(&lua, "sftp.read");
        let conn = this.sftp();
        async move {
            allowed?;
            let (_, sftp) = conn.await?;
            let data = sftp.read(&remote).await.map_err(lua_err)?;
            lua.create_string(&data)
        }
    })?;
    host::add_async_method(
        lua,
        "stat",
        |lua, this, (path, opts): (String, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "sftp.stat");
            let conn = this.sftp();
            async move {
                allowed?;
                let follow = match &opts {
                    None => true,
                    Some(t) => {
                        check_options(t, &["follow"], "sftp.stat")?;
                        t.get::<Option<bool>>("follow")?.unwrap_or(true)
                    }
                };
                let (_, sftp) = conn.await?;
                match sftp.stat(&path, follow).await.map_err(lua_err)? {
                    None => Ok(Value::Nil),
                    Some(st) => Ok(Value::Table(stat_table(&lua, &st)?)),
                }
            }
        },
    )?;
    host::add_async_method(lua, "list", |lua, this, dir: String| {
        let allowed = ensure_can_suspend(&lua, "sftp.list");
        let conn = this.sftp();
        async move {
            allowed?;
            let (_, sftp) = conn.await?;
            let entries = sftp.list(&dir).await.map_err(lua_err)?;
            let out = lua.create_table_with_capacity(entries.len(), 0)?;
            for (i, e) in entries.iter().enumerate() {
                let t = stat_table(&lua, &e.stat)?;
                t.set("name", e.name.as_str())?;
                out.raw_set(i + 1, t)?;
            }
            Ok(out)
        }
    })?;
    host::add_async_method(
        lua,
        "mkdir",
        |lua, this, (path, opts): (String, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "sftp.mkdir");
            let conn = this.sftp();
            async move {
                allowed?;
                let (mut parents, mut mode) = (false, None);
                if let Some(t) = &opts {
                    check_options(t, &["parents", "mode"], "sftp.mkdir")?;
                    parents = t.get::<Option<bool>>("parents")?.unwrap_or(false);
                    if let Some(v) = t.get::<Option<Value>>("mode")? {
                        mode = Some(mode_of(&v, "sftp.mkdir")?);
                    }
                }
                if skip_in_check(&lua, "sftp", "mkdir", &path, false) {
                    return Ok(());
                }
                let (_, sftp) = conn.await?;
                sftp.mkdir(&path, parents, mode).await.map_err(lua_err)
            }
        },
    )?;
    host::add_async_method(
        lua,
        "remove",
        |lua, this, (path, opts): (String, Option<Table>)| {
            let allowed = ensure_can_suspend(&lua, "sftp.remove");
            let conn = this.sftp();
            async move {
                allowed?;
                let recursive = flag(opts.as_ref(), "recursive", "sftp.remove")?;
                if skip_in_check(&lua, "sftp", "remove", &path, false) {
                    return Ok(());
                }
                let (_, sftp) = conn.await?;
                sftp.remove(&path, recursive).await.map_err(lua_err)
            }
        },
    )?;
    host::add_async_method(lua, "rename", |lua, this, (from, to): (String, String)| {
        let allowed = ensure_can_suspend(&lua, "sftp.rename");
        let conn = this.sftp();
        async move {
            allowed?;
            if skip_in_check(&lua, "sftp", "rename", &format!("{from} -> {to}"), false) {
                return Ok(());
            }
            let (_, sftp) = conn.await?;
            sftp.rename(&from, &to).await.map_err(lua_err)
        }
    })?;
    host::add_async_method(lua, "chmod", |lua, this, (path, mode): (String, Value)| {
        let allowed = ensure_can_suspend(&lua, "sftp.chmod");
        let conn = this.sftp();
        async move {
            allowed?;
            let mode = mode_of(&mode, "sftp.chmod")?;
            if skip_in_check(&lua, "sftp", "chmod", &path, false) {
                return Ok(());
            }
            let (_, sftp) = conn.await?;
            sftp.chmod(&path, mode).await.map_err(lua_err)
        }
    })?;
    Ok(())
}

/// Lua half: each function runs the host method of the same name on the current host.
const SFTP_LUA: &str = include_str!("../../stdlib/internal/sftp.lua");

/// Builds the `sftp` module.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    add_host_methods(lua)?;
    let m = lua.create_table()?;
    let current = lua.create_function(|lua, ()| crate::lua::task::current_host(lua))?;
    lua.load(SFTP_LUA)
        .set_name("=[drover] sftp.lua")
        .call::<()>((m.clone(), current))?;
    Ok(m)
}
