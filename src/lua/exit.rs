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

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Lua, Table, Value};
use tokio::sync::Notify;

use crate::lua::ssh::Host;
use crate::lua::task::{TaskInner, current_task, ensure_can_suspend};

/// The exits requested so far in one Lua VM.
#[derive(Default)]
pub struct Exits {
    /// Set by the per-host driver: `os.exit` in a host's task ends that host only.
    per_host: Cell<bool>,
    /// The run's exit code, once a script asked to end the run.
    run: Cell<Option<i32>>,
    /// Hosts whose script called `os.exit`, with the code.
    hosts: RefCell<HashMap<String, i32>>,
    /// Per host of a per-host run, the root task of its script (what `os.exit` ends).
    host_tasks: RefCell<HashMap<String, Rc<TaskInner>>>,
    /// Woken when the run is asked to end.
    requested: Notify,
}

impl Exits {
    /// The exits of `lua` (installed by [`install`]).
    pub fn of(lua: &Lua) -> mlua::Result<Rc<Exits>> {
        lua.app_data_ref::<Rc<Exits>>()
            .map(|e| Rc::clone(&e))
            .ok_or_else(|| mlua::Error::RuntimeError("os.exit support is not installed".into()))
    }

    /// Makes `os.exit` end only the calling host's script (per-host runs).
    pub fn set_per_host(&self, on: bool) {
        self.per_host.set(on);
    }

    /// The code a script asked the run to end with, and forgets it.
    pub fn take_run_exit(&self) -> Option<i32> {
        self.run.take()
    }

    /// Records the root task of `host`'s script in a per-host run.
    pub fn set_host_task(&self, host: &str, task: Rc<TaskInner>) {
        self.host_tasks.borrow_mut().insert(host.to_string(), task);
    }

    /// The code `host`'s script exited with, if it called `os.exit`; forgets it and the
    /// script's task (the host has ended).
    pub fn take_host_exit(&self, host: &str) -> Option<i32> {
        self.host_tasks.borrow_mut().remove(host);
        self.hosts.borrow_mut().remove(host)
    }

    /// Waits until a script asks to end the run.
    pub async fn run_exit_requested(&self) {
        loop {
            let notified = self.requested.notified();
            if self.run.get().is_some() {
                return;
            }
            notified.await;
        }
    }
}

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

fn host_name(value: Value) -> Option<String> {
    match value {
        Value::UserData(ud) => ud.borrow::<Host>().ok().map(|h| h.name().to_string()),
        _ => None,
    }
}

/// Replaces `os.exit` and installs the [`Exits`] record.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    lua.set_app_data(Rc::new(Exits::default()));
    let os: Table = lua.globals().get("os")?;
    let exit = lua.create_async_function(|lua, (code, _close): (Value, Value)| async move {
        // Where the task cannot suspend (a table.sort comparator, a gsub callback) it could
        // not stop here either: refuse before anything is recorded.
        ensure_can_suspend(&lua, "os.exit")?;
        let code = exit_code(&code)?;
        let exits = Exits::of(&lua)?;
        let task = current_task();
        let host = if exits.per_host.get() {
            task.as_ref().and_then(|t| t.host()).and_then(host_name)
        } else {
            None
        };
        match host {
            Some(name) => {
                // The whole script of the host ends, also when a task it spawned called this.
                if let Some(root) = exits.host_tasks.borrow().get(&name) {
                    root.cancel();
                }
                exits.hosts.borrow_mut().insert(name, code);
            }
            None => {
                exits.run.set(Some(code));
                exits.requested.notify_one();
            }
        }
        drop(exits);
        match task {
            // Cancelled while suspended here: nothing after the call runs.
            Some(task) => {
                task.cancel();
                std::future::pending::<()>().await;
                Ok(())
            }
            None => Err(mlua::Error::RuntimeError(
                "os.exit: called outside any task".into(),
            )),
        }
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
