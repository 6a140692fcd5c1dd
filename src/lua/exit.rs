//! `os.exit` that ends what it should, cleanly, instead of the whole process under every other
//! task's feet (Lua's own `os.exit` abandoned other hosts mid-command with their remote jobs
//! running, and printed no summary).
//!
//! - In a per-host run (`drover run SCRIPT -g web`), `os.exit(code)` ends *that host's* script
//!   (its root task, also when a task the script spawned calls it): code 0 (or `true`, or none)
//!   makes the host `ok`, any other `failed`; other hosts go on.
//! - Otherwise it ends the run: every task is cancelled (remote commands get TERM), and the
//!   run's exit code is `code`.
//!
//! Either way the calling task stops at once: the call never returns, and `pcall` cannot catch
//! it (the task is cancelled while suspended, so nothing after the call runs; `<close>`
//! variables do run). Where a task cannot suspend (inside a `table.sort` comparator or a
//! `string.gsub` callback) it could not stop either: there `os.exit` raises an error instead
//! and changes nothing.

use mlua::{Lua, Table, Value};

use crate::lua::task::{current_task, ensure_can_suspend};

/// `os.exit([code])`: nil and true are 0, false is 1, else an integer from 0 to 255.
fn exit_code(code: &Value) -> mlua::Result<i32> {
    let n = match code {
        Value::Nil | Value::Boolean(true) => return Ok(0),
        Value::Boolean(false) => return Ok(1),
        Value::Integer(i) => *i,
        Value::Number(f) if f.fract() == 0.0 && f.abs() < 1e15 => *f as i64,
        other => {
            return Err(mlua::Error::RuntimeError(format!(
                "os.exit: code must be a boolean or an integer from 0 to 255, got {}",
                other.type_name()
            )));
        }
    };
    u8::try_from(n).map(i32::from).map_err(|_| {
        mlua::Error::RuntimeError(format!(
            "os.exit: code must be an integer from 0 to 255, got {n}"
        ))
    })
}

/// Replaces `os.exit`.
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let os: Table = lua.globals().get("os")?;
    let exit = lua.create_async_function(|lua, (code, _close): (Value, Value)| async move {
        // Where the task cannot suspend (a table.sort comparator, a gsub callback) it could
        // not stop here either: refuse before anything is recorded.
        ensure_can_suspend(&lua, "os.exit")?;
        let code = exit_code(&code)?;
        let task = current_task()
            .ok_or_else(|| mlua::Error::RuntimeError("os.exit: called outside any task".into()))?;
        let scope = task.scope();
        match task.label().filter(|_| scope.per_host_exit.get()) {
            // The whole script of the host ends, also when a task it spawned called this.
            Some(host) => scope.request_host_exit(host, code),
            None => scope.request_exit(code),
        }
        // Cancelled while suspended here: nothing after the call runs.
        task.cancel();
        std::future::pending::<()>().await;
        Ok(())
    })?;
    os.set("exit", exit)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(&Value::Nil).ok(), Some(0));
        assert_eq!(exit_code(&Value::Boolean(true)).ok(), Some(0));
        assert_eq!(exit_code(&Value::Boolean(false)).ok(), Some(1));
        assert_eq!(exit_code(&Value::Integer(3)).ok(), Some(3));
        assert_eq!(exit_code(&Value::Number(4.0)).ok(), Some(4));
        assert!(exit_code(&Value::Integer(256)).is_err());
        assert!(exit_code(&Value::Integer(-1)).is_err());
        assert!(exit_code(&Value::Number(1e300)).is_err());
    }
}
