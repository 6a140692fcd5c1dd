//! Replaces `coroutine.resume` / `coroutine.wrap` with forwarders (stdlib/internal/coroutine.lua)
//! so that a suspension inside a user's own coroutine reaches the task scheduler instead of
//! the user's resume, and records which Lua state is running for the preemption watchdog.

use mlua::{LightUserData, Lua, Thread};

use crate::lua::preempt::take_hook_yielded;
use crate::lua::task::Scheduler;

const COROUTINE_LUA: &str = include_str!("../../stdlib/internal/coroutine.lua");

/// Yielded outward by a forwarder whose inner coroutine was preempted.
static PREEMPTED_MARK: u8 = 0;

/// Installs the forwarders into the global `coroutine` table.
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let private = lua.create_table()?;
    private.set("pending", Lua::poll_pending())?;
    private.set(
        "preempted_mark",
        LightUserData(&PREEMPTED_MARK as *const u8 as *mut _),
    )?;
    private.set(
        "enter",
        lua.create_function(|lua, co: Thread| {
            let prev = Scheduler::of(lua)?.preempt.set_current(co.state());
            Ok(LightUserData(prev.cast()))
        })?,
    )?;
    private.set(
        "leave",
        lua.create_function(|lua, prev: LightUserData| {
            Scheduler::of(lua)?.preempt.set_current(prev.0.cast());
            Ok(())
        })?,
    )?;
    private.set(
        "was_preempted",
        lua.create_function(|_, ()| Ok(take_hook_yielded()))?,
    )?;
    lua.load(COROUTINE_LUA)
        .set_name("=[drover] coroutine.lua")
        .call::<()>(private)
}
