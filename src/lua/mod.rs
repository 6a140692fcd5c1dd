//! Lua modules and the glue they share. One file (or folder) per module, each exposing
//! `pub fn module(lua) -> mlua::Result<Table>`; [`install`] is the one explicit registry.

pub(crate) mod coroutine;
pub(crate) mod diff;
pub(crate) mod error_value;
pub(crate) mod errors;
pub(crate) mod exit;
pub(crate) mod fleet;
pub(crate) mod host;
pub(crate) mod inventory;
pub(crate) mod log;
pub(crate) mod opcore;
pub(crate) mod output;
pub(crate) mod preempt;
pub(crate) mod require;
pub(crate) mod secret;
pub(crate) mod sftp;
pub(crate) mod ssh;
pub(crate) mod task;

use mlua::{Lua, Table};

/// Builds one module's table.
pub(crate) type ModuleFn = fn(&Lua) -> mlua::Result<Table>;

/// Every module drover registers: name and constructor.
pub(crate) const MODULES: &[(&str, ModuleFn)] = &[
    ("task", task::module),
    ("ssh", ssh::module),
    ("sftp", sftp::module),
    ("inventory", inventory::module),
    ("log", log::module),
    ("fleet", fleet::module),
    ("secret", secret::module),
];

/// Registers every module as a global and in `package.loaded` (so `require "task"` works),
/// and installs the coroutine forwarders and `os.exit`.
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let loaded: Table = lua.globals().get::<Table>("package")?.get("loaded")?;
    for (name, module) in MODULES {
        let table = module(lua)?;
        lua.globals().set(*name, &table)?;
        loaded.set(*name, table)?;
    }
    // Not a global: `host` is the current host of a per-host run.
    loaded.set("drover.host", host::module(lua)?)?;
    // Not a global either: the Rust half of `drover.op`, the operations helper.
    loaded.set("drover.opcore", opcore::module(lua)?)?;
    coroutine::install(lua)?;
    exit::install(lua)?;
    output::install(lua)?;
    // Data hosts of a per-host run share on purpose (their own globals stay with them).
    lua.globals().set("shared", lua.create_table()?)?;
    Ok(())
}
