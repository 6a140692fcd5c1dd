//! `task.pool(n)`: at most `n` tasks of the pool run at once (gevent's `Pool`/`GreenPool`).
//! `p:spawn` waits for a free slot; a slot is freed however the task ends (even cancelled).
//! `p:map` (in task.lua) keeps input order; it re-raises the first failure, or with
//! `{ errors = "collect" }` returns every result and the errors by index.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{AnyUserData, Function, Lua, MetaMethod, MultiValue, UserData, UserDataMethods, Value};
use tokio::sync::Semaphore;

use super::{Scheduler, TaskHandle, TaskInner, ensure_can_suspend, lua_methods};

pub(super) struct Pool {
    slots: Arc<Semaphore>,
    size: usize,
    tasks: Rc<RefCell<Vec<Rc<TaskInner>>>>,
}

impl Pool {
    pub(super) fn create(_lua: &Lua, size: Value) -> mlua::Result<Pool> {
        let size = super::args::slots(&size, 1, "task.pool: size")?;
        Ok(Pool {
            slots: Arc::new(Semaphore::new(size)),
            size,
            tasks: Rc::new(RefCell::new(Vec::new())),
        })
    }
}

impl UserData for Pool {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method(
            "spawn",
            |lua, this, (func, args): (Function, MultiValue)| {
                let allowed = ensure_can_suspend(&lua, "pool:spawn");
                let (slots, tasks) = (Arc::clone(&this.slots), Rc::clone(&this.tasks));
                let size = this.size;
                async move {
                    allowed?;
                    let permit = slots.acquire_owned().await.map_err(mlua::Error::external)?;
                    let task = Scheduler::of(&lua)?.spawn(func, args)?;
                    task.set_guard(Box::new(permit));
                    let mut list = tasks.borrow_mut();
                    if list.len() >= 2 * size {
                        list.retain(|t| !t.is_finished());
                    }
                    list.push(Rc::clone(&task));
                    drop(list);
                    lua.create_userdata(TaskHandle(task))
                }
            },
        );
        methods.add_async_method("join", |lua, this, ()| {
            let allowed = ensure_can_suspend(&lua, "pool:join");
            let tasks = Rc::clone(&this.tasks);
            async move {
                allowed?;
                loop {
                    let pending = tasks.borrow().iter().find(|t| !t.is_finished()).cloned();
                    match pending {
                        Some(t) => t.finished().await,
                        None => break,
                    }
                }
                tasks.borrow_mut().clear();
                Ok(())
            }
        });
        methods.add_method("running", |_, this, ()| {
            Ok(this.size - this.slots.available_permits())
        });
        methods.add_method("size", |_, this, ()| Ok(this.size));
        methods.add_method("free", |_, this, ()| Ok(this.slots.available_permits()));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!(
                "pool ({}/{} running)",
                this.size - this.slots.available_permits(),
                this.size
            ))
        });
        methods.add_meta_function(MetaMethod::Index, |lua, (_, key): (AnyUserData, Value)| {
            lua_methods(lua, "Pool")?.raw_get::<Value>(key)
        });
    }
}
