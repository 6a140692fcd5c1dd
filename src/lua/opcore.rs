//! `drover.opcore`, the Rust half of the operations helper (`stdlib/drover/op.lua`): the
//! calling eval's check and diff mode, the `Op` event, unified diffs and targets with the
//! host's secrets masked, sha256 of contents, readonly sections (commands a check-mode read
//! may run) and error context. Also what `ssh.run` and sftp writes ask before acting in check
//! mode ([`skip_in_check`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mlua::{Lua, LuaString, Table, Value};
use sha2::{Digest, Sha256};

use crate::lua::error_value::ErrorValue;
use crate::lua::task::{OpMode, check_options, current_task};
use crate::report::{Changed, Event, Secrets};

thread_local! {
    /// Per task id: how many readonly sections it is in (the Lua VM is on one thread).
    static READONLY: RefCell<HashMap<u64, usize>> = RefCell::default();
}

/// The calling task's eval's mode (outside any task: neither check nor diff).
pub(crate) fn op_mode() -> OpMode {
    current_task().map_or_else(OpMode::default, |t| t.scope().op_mode.get())
}

/// Whether the calling task is inside a readonly section (an operation reading state).
fn in_readonly() -> bool {
    current_task().is_some_and(|t| READONLY.with(|r| r.borrow().get(&t.id).is_some_and(|n| *n > 0)))
}

/// The runtime's secrets, with `extra` (values an operation knows to be secret) added:
/// every host's password, key text and password-like variables, `secret(...)` values and the
/// sudo password are in already.
pub(crate) fn secrets(lua: &Lua, extra: &[String]) -> Arc<Secrets> {
    let secrets = crate::lua::secret::secrets(lua);
    for e in extra {
        secrets.add(e);
    }
    secrets
}

/// In check mode, a write that is not `readonly` is skipped: its `Op` event (`would run:
/// CMD`, changed unknown) goes out and this returns true; otherwise false (do it).
pub(crate) fn skip_in_check(
    lua: &Lua,
    module: &str,
    op: &str,
    target: &str,
    readonly: bool,
) -> bool {
    if !op_mode().check || readonly || in_readonly() {
        return false;
    }
    let target = crate::lua::diff::mask(target, &secrets(lua, &[]));
    send(Event::Op {
        host: None,
        module: module.into(),
        op: op.into(),
        target,
        changed: Changed::Unknown,
        diff: None,
        reason: Some("not done in check mode".into()),
        check: true,
        elapsed_ms: 0,
    });
    true
}

/// Sends `event` (an `Op`) on the calling task's sink, its host the task's.
fn send(mut event: Event) {
    let Some(task) = current_task() else {
        return;
    };
    if let Event::Op { host, .. } = &mut event {
        *host = task.label().map(|h| h.to_string());
    }
    task.scope().sink.event(&event);
}

fn changed_of(v: &Value) -> mlua::Result<Changed> {
    match v {
        Value::Boolean(b) => Ok((*b).into()),
        Value::String(s) if s.to_str()? == "unknown" => Ok(Changed::Unknown),
        other => Err(mlua::Error::RuntimeError(format!(
            "opcore.emit: changed must be true, false or \"unknown\", got {}",
            other.type_name()
        ))),
    }
}

fn strings(t: Option<Table>) -> mlua::Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(t) = t {
        for v in t.sequence_values::<LuaString>() {
            out.push(v?.to_string_lossy());
        }
    }
    Ok(out)
}

/// Builds the `drover.opcore` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "mode",
        lua.create_function(|lua, ()| {
            let mode = op_mode();
            let t = lua.create_table()?;
            t.set("check", mode.check)?;
            t.set("diff", mode.diff)?;
            Ok(t)
        })?,
    )?;
    m.set(
        "emit",
        lua.create_function(|lua, t: Table| {
            check_options(
                &t,
                &[
                    "module", "op", "target", "changed", "diff", "reason", "elapsed", "secrets",
                ],
                "opcore.emit",
            )?;
            let secrets = secrets(lua, &strings(t.get("secrets")?)?);
            let elapsed = t.get::<Option<f64>>("elapsed")?.unwrap_or(0.0);
            let elapsed_ms = Duration::try_from_secs_f64(elapsed)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let masked = |s: Option<String>| s.map(|s| crate::lua::diff::mask(&s, &secrets));
            send(Event::Op {
                host: None,
                module: t.get("module")?,
                op: t.get("op")?,
                target: crate::lua::diff::mask(&t.get::<String>("target")?, &secrets),
                changed: changed_of(&t.get("changed")?)?,
                // (a diff is masked line by line where it is made)
                diff: t.get("diff")?,
                reason: masked(t.get("reason")?),
                check: op_mode().check,
                elapsed_ms,
            });
            Ok(())
        })?,
    )?;
    m.set(
        "diff",
        lua.create_function(
            |lua,
             (old, new, label, extra): (
                Option<LuaString>,
                Option<LuaString>,
                String,
                Option<Table>,
            )| {
                let secrets = secrets(lua, &strings(extra)?);
                let (old, new) = (
                    old.map(|s| s.as_bytes().to_vec()),
                    new.map(|s| s.as_bytes().to_vec()),
                );
                Ok(crate::lua::diff::unified(
                    old.as_deref(),
                    new.as_deref(),
                    &label,
                    &secrets,
                ))
            },
        )?,
    )?;
    m.set(
        "mask",
        lua.create_function(|lua, (text, extra): (String, Option<Table>)| {
            Ok(crate::lua::diff::mask(
                &text,
                &secrets(lua, &strings(extra)?),
            ))
        })?,
    )?;
    m.set(
        "sha256",
        lua.create_function(|_, data: LuaString| {
            let digest = Sha256::digest(&*data.as_bytes());
            Ok(digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>())
        })?,
    )?;
    m.set(
        "readonly_begin",
        lua.create_function(|_, ()| {
            let task = current_task().ok_or_else(|| {
                mlua::Error::RuntimeError("opcore.readonly_begin: not inside a task".into())
            })?;
            READONLY.with(|r| *r.borrow_mut().entry(task.id).or_default() += 1);
            Ok(task.id)
        })?,
    )?;
    m.set(
        "readonly_end",
        lua.create_function(|_, id: u64| {
            READONLY.with(|r| {
                let mut r = r.borrow_mut();
                if let Some(n) = r.get_mut(&id) {
                    *n -= 1;
                    if *n == 0 {
                        r.remove(&id);
                    }
                }
            });
            Ok(())
        })?,
    )?;
    m.set(
        "with_context",
        lua.create_function(
            |lua, (err, context, host): (Value, String, Option<String>)| {
                let secrets = secrets(lua, &[]);
                // (an ssh or sftp error value names its host itself)
                let on_host = match &host {
                    Some(h) => format!("{context} on {h}"),
                    None => context.clone(),
                };
                let mask = |t: &str| crate::lua::diff::mask(t, &secrets);
                match ErrorValue::of_value(&err) {
                    Some(v) => {
                        let v = match v.host() {
                            Some(_) => v.with_context(&context),
                            None => v.with_context(&on_host),
                        };
                        Ok(Value::UserData(lua.create_userdata(v.map_text(mask))?))
                    }
                    None => {
                        let text = match &err {
                            Value::String(s) => s.to_string_lossy(),
                            other => other.to_string()?,
                        };
                        let text = mask(&format!("{on_host}: {text}"));
                        Ok(Value::String(lua.create_string(text)?))
                    }
                }
            },
        )?,
    )?;
    Ok(m)
}
