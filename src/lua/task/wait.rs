//! Waiting: the one wait-with-timeout loop every primitive uses, its `nil, "timeout"`
//! convention, and the check that the calling coroutine can suspend at all.

use std::future::Future;
use std::time::Duration;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::Scheduler;

/// Waits until `ready()` holds, re-checking whenever `notify` fires (notify_one or
/// notify_waiters). Returns false when `timeout` ran out first.
pub(crate) async fn wait_until(
    notify: &tokio::sync::Notify,
    timeout: Option<Duration>,
    ready: impl Fn() -> bool,
) -> bool {
    let wait = async {
        loop {
            let notified = notify.notified();
            if ready() {
                return;
            }
            notified.await;
        }
    };
    match timeout {
        None => {
            wait.await;
            true
        }
        Some(d) => tokio::time::timeout(d, wait).await.is_ok(),
    }
}

/// `true`, or `nil, "timeout"`.
pub(crate) fn done_or_timed_out(lua: &Lua, done: bool) -> mlua::Result<MultiValue> {
    if done {
        Ok(MultiValue::from_iter([Value::Boolean(true)]))
    } else {
        timed_out(lua)
    }
}

/// `nil, "timeout"`: what every wait returns when its timeout runs out.
pub(crate) fn timed_out(lua: &Lua) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string("timeout")?),
    ]))
}

/// Fails unless the calling coroutine can suspend; names the Lua restriction in the way.
pub(crate) fn ensure_can_suspend(lua: &Lua, op: &str) -> mlua::Result<()> {
    let scheduler = Scheduler::of(lua)?;
    let state = scheduler.preempt.current();
    if state.is_null() {
        return Err(mlua::Error::RuntimeError(format!(
            "{op} can only suspend inside a task (a script run by drover, or task.spawn)"
        )));
    }
    if unsafe { mlua::ffi::lua_isyieldable(state) } != 0 {
        return Ok(());
    }
    // Which C function is in the way: known by identity first (its name is unknown when it
    // was called from C, e.g. through pcall), by its call-site name otherwise.
    let known = |ptr: *const std::ffi::c_void| -> Option<&'static str> {
        let globals = lua.globals();
        let lookup = |table: &str, field: &str| -> Option<*const std::ffi::c_void> {
            let f: Function = if table.is_empty() {
                globals.get(field).ok()?
            } else {
                globals.get::<Table>(table).ok()?.get(field).ok()?
            };
            Some(f.to_pointer())
        };
        [
            ("table", "sort", "sort"),
            ("string", "gsub", "gsub"),
            ("", "require", "require"),
        ]
        .into_iter()
        .find(|(t, f, _)| lookup(t, f) == Some(ptr))
        .map(|(_, _, name)| name)
    };
    let mut culprit = None;
    let mut callee_what = String::new();
    for level in 1..64 {
        let Some((what, name, source, ptr)) = lua.inspect_stack(level, |d| {
            let src = d.source();
            (
                src.what.to_string(),
                d.names().name.map(|n| n.to_string()),
                src.source.map(|s| s.to_string()).unwrap_or_default(),
                d.function().to_pointer(),
            )
        }) else {
            break;
        };
        if what == "C" && !source.contains("__mlua") {
            // A C function running a main chunk is require (or dofile) loading a module.
            culprit = Some(match known(ptr) {
                Some(name) => name.to_string(),
                None if callee_what == "main" => "require".to_string(),
                None => name.unwrap_or_else(|| "?".into()),
            });
            break;
        }
        callee_what = what;
    }
    let place = match culprit.as_deref() {
        Some("sort") => "inside a table.sort comparator".to_string(),
        Some("gsub") => "inside a string.gsub callback".to_string(),
        Some("require") => "at the top level of a module being loaded by require (call it from a function the module returns)".to_string(),
        Some(name) => format!("inside a call to the C function '{name}'"),
        None => "here (the calling coroutine is not yieldable)".to_string(),
    };
    Err(mlua::Error::RuntimeError(format!(
        "{op} cannot suspend {place}: Lua cannot yield across a C call boundary"
    )))
}

/// Creates an async Lua function that first checks it may suspend here.
pub(crate) fn suspending_function<A, R, F, FR>(
    lua: &Lua,
    name: &'static str,
    func: F,
) -> mlua::Result<Function>
where
    A: mlua::FromLuaMulti + 'static,
    R: mlua::IntoLuaMulti + 'static,
    F: Fn(Lua, A) -> FR + 'static,
    FR: Future<Output = mlua::Result<R>> + 'static,
{
    lua.create_async_function(move |lua: Lua, args: A| {
        // Checked before the future exists: it is created only where suspending is allowed.
        // Boxed: freed when it completes, not when Lua collects the call (see host.rs).
        let fut = ensure_can_suspend(&lua, name).map(|()| Box::pin(func(lua, args)));
        async move { fut?.await }
    })
}
