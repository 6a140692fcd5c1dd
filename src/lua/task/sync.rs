//! `task.event()`, `task.semaphore(n)` and `task.lock()` (a semaphore of one).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{AnyUserData, MetaMethod, MultiValue, UserData, UserDataMethods, Value};
use tokio::sync::Notify;

use super::{
    done_or_timed_out, ensure_can_suspend, lua_methods, opt_seconds, timed_out, wait_until,
};

/// A flag tasks can wait on; `set` wakes every waiter (gevent's `Event`).
pub(super) struct Event {
    set: Rc<Cell<bool>>,
    notify: Rc<Notify>,
}

impl Event {
    pub(super) fn new() -> Event {
        Event {
            set: Rc::new(Cell::new(false)),
            notify: Rc::new(Notify::new()),
        }
    }
}

impl UserData for Event {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("set", |_, this, ()| {
            this.set.set(true);
            this.notify.notify_waiters();
            Ok(())
        });
        methods.add_method("clear", |_, this, ()| {
            this.set.set(false);
            Ok(())
        });
        methods.add_method("is_set", |_, this, ()| Ok(this.set.get()));
        methods.add_async_method("wait", |lua, this, timeout: Value| {
            let allowed = ensure_can_suspend(&lua, "event:wait");
            let (set, notify) = (Rc::clone(&this.set), Rc::clone(&this.notify));
            async move {
                allowed?;
                let timeout = opt_seconds(&timeout, "event:wait timeout")?;
                let done = wait_until(&notify, timeout, || set.get()).await;
                done_or_timed_out(&lua, done)
            }
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!(
                "event ({})",
                if this.set.get() { "set" } else { "clear" }
            ))
        });
    }
}

/// A counting semaphore; `release` beyond its size is an error (gevent's `BoundedSemaphore`).
pub(super) struct Semaphore {
    sem: Arc<tokio::sync::Semaphore>,
    size: usize,
    name: &'static str,
}

impl Semaphore {
    pub(super) fn create(n: Value, name: &'static str) -> mlua::Result<Semaphore> {
        let size = super::args::slots(&n, 1, &format!("{name}: size"))?;
        Ok(Semaphore {
            sem: Arc::new(tokio::sync::Semaphore::new(size)),
            size,
            name,
        })
    }
}

impl UserData for Semaphore {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("acquire", |lua, this, timeout: Value| {
            let allowed = ensure_can_suspend(&lua, "semaphore:acquire");
            let sem = Arc::clone(&this.sem);
            async move {
                allowed?;
                let timeout = opt_seconds(&timeout, "semaphore:acquire timeout")?;
                let permit = match timeout {
                    None => sem.acquire().await,
                    Some(d) => match tokio::time::timeout(d, sem.acquire()).await {
                        Ok(p) => p,
                        Err(_) => return timed_out(&lua),
                    },
                };
                permit.map_err(mlua::Error::external)?.forget();
                Ok(MultiValue::from_iter([Value::Boolean(true)]))
            }
        });
        methods.add_method("try_acquire", |_, this, ()| match this.sem.try_acquire() {
            Ok(p) => {
                p.forget();
                Ok(true)
            }
            Err(_) => Ok(false),
        });
        methods.add_method("release", |_, this, ()| {
            if this.sem.available_permits() >= this.size {
                return Err(mlua::Error::RuntimeError(format!(
                    "{}: release without a matching acquire",
                    this.name.trim_start_matches("task.")
                )));
            }
            this.sem.add_permits(1);
            Ok(())
        });
        methods.add_method("available", |_, this, ()| Ok(this.sem.available_permits()));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!(
                "{} ({}/{} free)",
                this.name.trim_start_matches("task."),
                this.sem.available_permits(),
                this.size
            ))
        });
        methods.add_meta_function(MetaMethod::Index, |lua, (_, key): (AnyUserData, Value)| {
            lua_methods(lua, "Semaphore")?.raw_get::<Value>(key)
        });
    }
}
