//! The `task` module: gevent's toolbox for Lua coroutines.
//!
//! Rust provides the primitives (spawn, sleep, waiting, queues, events, semaphores, pools);
//! `stdlib/internal/task.lua` builds the parts that must raise plain Lua values or use `<close>`
//! (join, timeout, retry, delay, `with`, pool map) on top of them.
//!
//! Convention for every wait with an optional timeout: it returns `nil, "timeout"` when the
//! time runs out. `task.timeout(s, fn)`, whose whole job is a deadline, raises instead.

mod args;
pub(crate) mod core;
mod pool;
mod queue;
pub(crate) mod scope;
mod sync;
mod wait;

use std::rc::Rc;

use futures_util::future::select_all;
use mlua::{
    AnyUserData, Function, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods, Value,
    Variadic,
};

pub(crate) use self::args::opt_seconds;
pub(crate) use self::args::{check_options, integer_at_least, seconds};
pub(crate) use self::core::{
    Scheduler, SoleTarget, TaskInner, TaskStatus, current_host, current_task,
};
pub(crate) use self::scope::{OpMode, Scope};
pub(crate) use self::wait::ensure_can_suspend;
pub(crate) use self::wait::{done_or_timed_out, suspending_function, timed_out, wait_until};
use crate::lua::preempt::Preempt;

/// Lua part of the module (join, timeout, retry, ...), embedded in the binary.
const TASK_LUA: &str = include_str!("../../../stdlib/internal/task.lua");

/// A Lua handle on a task.
pub(crate) struct TaskHandle(pub Rc<TaskInner>);

impl UserData for TaskHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("cancel", |_, this, ()| {
            this.0.cancel();
            Ok(())
        });
        methods.add_method("status", |_, this, ()| {
            let status = this.0.status();
            if status == TaskStatus::Failed {
                this.0.mark_observed();
            }
            Ok(status.as_str())
        });
        methods.add_method("done", |_, this, ()| Ok(this.0.is_finished()));
        methods.add_method("id", |_, this, ()| Ok(this.0.id));
        methods.add_method("error", |_, this, ()| {
            this.0.mark_observed();
            Ok(this.0.failure_report())
        });
        methods.add_method("_result_now", |lua, this, ()| {
            if this.0.is_finished() {
                this.0.result(lua)
            } else {
                Ok(MultiValue::new())
            }
        });
        methods.add_async_method("_result", |lua, this, ()| async move {
            this.0.finished().await;
            this.0.result(&lua)
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("task#{} ({})", this.0.id, this.0.status().as_str()))
        });
        methods.add_meta_function(MetaMethod::Index, |lua, (_, key): (AnyUserData, Value)| {
            lua_methods(lua, "Handle")?.raw_get::<Value>(key)
        });
    }
}

/// Lua-implemented methods of userdata types (filled by `task.lua`), found through `__index`.
#[derive(Default)]
struct MethodTables(std::collections::HashMap<&'static str, Table>);

/// The table of Lua-implemented methods of `type_name`, created on first use.
pub(crate) fn lua_methods(lua: &Lua, type_name: &'static str) -> mlua::Result<Table> {
    if let Some(tables) = lua.app_data_ref::<MethodTables>()
        && let Some(t) = tables.0.get(type_name)
    {
        return Ok(t.clone());
    }
    let t = lua.create_table()?;
    if lua.app_data_ref::<MethodTables>().is_none() {
        lua.set_app_data(MethodTables::default());
    }
    if let Some(mut tables) = lua.app_data_mut::<MethodTables>() {
        tables.0.insert(type_name, t.clone());
    }
    Ok(t)
}

fn handles_of(list: &Table, what: &str) -> mlua::Result<Vec<Rc<TaskInner>>> {
    let mut out = Vec::new();
    for (i, v) in list.sequence_values::<Value>().enumerate() {
        match v? {
            Value::UserData(ud) => match ud.borrow::<TaskHandle>() {
                Ok(h) => out.push(Rc::clone(&h.0)),
                Err(_) => {
                    return Err(mlua::Error::RuntimeError(format!(
                        "{what}: item {} is not a task handle",
                        i + 1
                    )));
                }
            },
            other => {
                return Err(mlua::Error::RuntimeError(format!(
                    "{what}: item {} is a {}, not a task handle",
                    i + 1,
                    other.type_name()
                )));
            }
        }
    }
    Ok(out)
}

/// Spawns `func(args...)` and returns its Lua handle.
pub(crate) fn spawn(lua: &Lua, func: Function, args: MultiValue) -> mlua::Result<AnyUserData> {
    let task = Scheduler::of(lua)?.spawn(func, args)?;
    lua.create_userdata(TaskHandle(task))
}

/// Builds the `task` module, installing the scheduler in `lua` on first use.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    if let Some(t) = lua.named_registry_value::<Option<Table>>("drover.module.task")? {
        return Ok(t);
    }
    let m = lua.create_table()?;
    let private = lua.create_table()?;

    m.set(
        "spawn",
        lua.create_function(|lua, (func, args): (Function, MultiValue)| spawn(lua, func, args))?,
    )?;
    m.set(
        "current",
        lua.create_function(|lua, ()| match current_task() {
            Some(t) => Ok(Some(lua.create_userdata(TaskHandle(t))?)),
            None => Ok(None),
        })?,
    )?;
    let epoch = std::time::Instant::now();
    m.set(
        "now",
        lua.create_function(move |_, ()| Ok(epoch.elapsed().as_secs_f64()))?,
    )?;
    m.set(
        "sleep",
        suspending_function(lua, "task.sleep", |_, secs: Value| async move {
            let d = seconds(&secs, "task.sleep")?;
            if d.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(d).await;
            }
            Ok(())
        })?,
    )?;
    m.set(
        "join_all",
        suspending_function(
            lua,
            "task.join_all",
            |lua, (list, timeout): (Table, Value)| async move {
                let tasks = handles_of(&list, "task.join_all")?;
                let timeout = opt_seconds(&timeout, "task.join_all timeout")?;
                let all = async {
                    for t in &tasks {
                        t.finished().await;
                    }
                };
                match timeout {
                    None => all.await,
                    Some(d) => {
                        if tokio::time::timeout(d, all).await.is_err() {
                            return timed_out(&lua);
                        }
                    }
                }
                Ok(MultiValue::from_iter([Value::Boolean(true)]))
            },
        )?,
    )?;
    m.set(
        "wait_any",
        suspending_function(
            lua,
            "task.wait_any",
            |lua, (list, timeout): (Table, Value)| async move {
                let tasks = handles_of(&list, "task.wait_any")?;
                let timeout = opt_seconds(&timeout, "task.wait_any timeout")?;
                if tasks.is_empty() {
                    return Err(mlua::Error::RuntimeError(
                        "task.wait_any: the list of tasks is empty".into(),
                    ));
                }
                let any = async {
                    if let Some(i) = tasks.iter().position(|t| t.is_finished()) {
                        return i;
                    }
                    let (_, i, _) = select_all(tasks.iter().map(|t| Box::pin(t.finished()))).await;
                    i
                };
                let index = match timeout {
                    None => any.await,
                    Some(d) => match tokio::time::timeout(d, any).await {
                        Ok(i) => i,
                        Err(_) => return timed_out(&lua),
                    },
                };
                let handle = lua.create_userdata(TaskHandle(Rc::clone(&tasks[index])))?;
                Ok(MultiValue::from_iter([
                    Value::UserData(handle),
                    Value::Integer(index as i64 + 1),
                ]))
            },
        )?,
    )?;
    m.set(
        "pool",
        lua.create_function(|lua, size: Value| pool::Pool::create(lua, size))?,
    )?;
    m.set(
        "queue",
        lua.create_function(|lua, opts: Option<Table>| queue::Queue::create(lua, opts))?,
    )?;
    m.set(
        "event",
        lua.create_function(|_, ()| Ok(sync::Event::new()))?,
    )?;
    m.set(
        "semaphore",
        lua.create_function(|_, n: Value| sync::Semaphore::create(n, "task.semaphore"))?,
    )?;
    m.set(
        "lock",
        lua.create_function(|_, ()| sync::Semaphore::create(Value::Integer(1), "task.lock"))?,
    )?;

    // Private helpers for task.lua.
    private.set(
        "capture",
        lua.create_function(
            |lua, (value, traceback, position): (Value, String, Option<String>)| {
                crate::lua::errors::capture(lua, value, traceback, position)
            },
        )?,
    )?;
    private.set(
        "as_failure",
        lua.create_function(|lua, (value, first_raised): (Value, Value)| {
            if let Value::UserData(ud) = &value
                && ud.borrow::<crate::lua::errors::TaskFailure>().is_ok()
            {
                return Ok(value);
            }
            let failure = crate::lua::errors::failure_without_handler(lua, value, first_raised)?;
            Ok(Value::UserData(lua.create_userdata(failure)?))
        })?,
    )?;
    crate::lua::errors::add_helpers(lua, &private)?;
    private.set(
        "scope_table",
        lua.create_function(|lua, ()| match current_task() {
            Some(t) => t.scope().table(lua).map(Some),
            None => Ok(None),
        })?,
    )?;
    private.set(
        "bind",
        lua.create_function(|lua, thread: mlua::Thread| {
            if let Some(task) = current_task() {
                task.bind_state(thread.state());
                Scheduler::of(lua)?.preempt.set_current(thread.state());
            }
            Ok(())
        })?,
    )?;
    private.set(
        "set_deadline",
        lua.create_function(|_, (handle, secs): (AnyUserData, Value)| {
            let d = seconds(&secs, "task.timeout")?;
            handle
                .borrow::<TaskHandle>()?
                .0
                .set_deadline(args::deadline_after(d));
            Ok(())
        })?,
    )?;
    private.set(
        "wait",
        suspending_function(
            lua,
            "task.timeout",
            |lua, (handle, secs): (AnyUserData, Value)| async move {
                let task = Rc::clone(&handle.borrow::<TaskHandle>()?.0);
                let d = seconds(&secs, "task.timeout")?;
                if tokio::time::timeout(d, task.finished()).await.is_err() {
                    return timed_out(&lua);
                }
                task.result(&lua)
            },
        )?,
    )?;
    private.set(
        "seconds",
        lua.create_function(|_, (v, what): (Value, String)| Ok(seconds(&v, &what)?.as_secs_f64()))?,
    )?;
    private.set(
        "integer",
        lua.create_function(|_, (v, what, min, max): (Value, String, i64, i64)| {
            args::integer_in(&v, min, max, &what)
        })?,
    )?;
    private.set("max_seconds", args::MAX_SECONDS)?;
    private.set(
        "check_options",
        lua.create_function(
            |_, (opts, what, allowed): (Table, String, Variadic<String>)| {
                let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                check_options(&opts, &allowed, &what)
            },
        )?,
    )?;
    private.set("handle_methods", lua_methods(lua, "Handle")?)?;
    private.set("pool_methods", lua_methods(lua, "Pool")?)?;
    private.set("semaphore_methods", lua_methods(lua, "Semaphore")?)?;
    private.set("queue_methods", lua_methods(lua, "Queue")?)?;

    let task_main: Function = lua
        .load(TASK_LUA)
        .set_name("=[drover] task.lua")
        .call((m.clone(), private))?;

    if lua.app_data_ref::<Rc<Scheduler>>().is_none() {
        let preempt = {
            let lua_weak = lua.weak();
            Preempt::install(
                lua,
                std::rc::Rc::new(move || {
                    let lua = lua_weak.try_upgrade()?;
                    Scheduler::of(&lua).ok()?.stop_reason()
                }),
            )?
        };
        let scheduler = Scheduler::new(task_main, preempt);
        lua.set_app_data(scheduler);
    }
    lua.set_named_registry_value("drover.module.task", &m)?;
    Ok(m)
}
