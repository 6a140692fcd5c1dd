//! The `inventory` module: the run's inventory from Lua, for scripts that run once on the
//! controller and reach hosts themselves: `inventory.hosts(pattern)` → host objects (one per
//! name for the whole run, so one connection each), `inventory.host(name)`,
//! `inventory.groups()`.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

use mlua::{AnyUserData, Lua, Table};

use crate::inventory::Inventory;
use crate::inventory::select::{Chosen, TargetSpec, select};
use crate::lua::host::Host;

/// Where the inventory comes from (set by the CLI from `-i` and `-e`); without it,
/// `$DROVER_INVENTORY`, else `./inventory.ini`.
#[derive(Debug, Clone, Default)]
pub(crate) struct InventorySource {
    /// The file to read (`-i`).
    pub path: Option<PathBuf>,
    /// Variables over the inventory's (`-e`).
    pub extra: BTreeMap<String, String>,
    /// An inventory built in code: used instead of any file.
    pub given: Option<Rc<Inventory>>,
}

struct Loaded {
    inventory: OnceCell<Rc<Inventory>>,
}

fn err(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::RuntimeError(msg.to_string())
}

fn source(lua: &Lua) -> InventorySource {
    lua.app_data_ref::<InventorySource>()
        .map(|s| s.clone())
        .unwrap_or_default()
}

/// The `-e` variables of the runtime.
pub(crate) fn extra_vars(lua: &Lua) -> BTreeMap<String, String> {
    source(lua).extra
}

/// The runtime's inventory (read once).
pub(crate) fn inventory(lua: &Lua) -> mlua::Result<Rc<Inventory>> {
    if lua.app_data_ref::<Loaded>().is_none() {
        lua.set_app_data(Loaded {
            inventory: OnceCell::new(),
        });
    }
    let loaded = lua.app_data_ref::<Loaded>().expect("set above");
    if let Some(inv) = loaded.inventory.get() {
        return Ok(Rc::clone(inv));
    }
    let source = source(lua);
    let inv = match (
        source.given,
        Inventory::default_path(source.path.as_deref()),
    ) {
        (Some(given), _) => given,
        (None, Some(path)) => {
            let inv = Inventory::load(&path).map_err(|e| err(format!("inventory: {e}")))?;
            if let Some(w) = inv.password_warning() {
                crate::lua::output::warn(lua, w);
            }
            Rc::new(inv)
        }
        (None, None) => Rc::new(Inventory::empty(std::path::Path::new("inventory.ini"))),
    };
    let _ = loaded.inventory.set(Rc::clone(&inv));
    Ok(inv)
}

/// The host object for inventory host `name`, made once per run.
pub(crate) fn host_object(lua: &Lua, inv: &Inventory, name: &str) -> mlua::Result<AnyUserData> {
    let cache: Table = match lua.named_registry_value::<Option<Table>>("drover.inventory.hosts")? {
        Some(t) => t,
        None => {
            let t = lua.create_table()?;
            lua.set_named_registry_value("drover.inventory.hosts", &t)?;
            t
        }
    };
    if let Some(h) = cache.get::<Option<AnyUserData>>(name)? {
        return Ok(h);
    }
    let ssh = crate::lua::ssh::ssh_context(lua)?;
    let r = inv.resolve(name, &source(lua).extra);
    let target = crate::ssh::Target::for_host(&ssh, name, &r.connection).map_err(|e| {
        err(format!(
            "inventory: {}: host {name}: {e}",
            inv.file.display()
        ))
    })?;
    let h = Host::create(lua, ssh, target, r.vars, r.groups)?;
    cache.set(name, &h)?;
    Ok(h)
}

/// Builds the `inventory` module.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "hosts",
        lua.create_function(|lua, pattern: Option<String>| {
            let inv = inventory(lua)?;
            let spec = TargetSpec {
                hosts: if pattern.is_none() {
                    inv.hosts.clone()
                } else {
                    Vec::new()
                },
                pattern,
                ..TargetSpec::default()
            };
            let chosen = select(&inv, &spec).map_err(|e| err(format!("inventory.hosts: {e}")))?;
            let out = lua.create_table()?;
            for c in chosen {
                if let Chosen::Inventory(name) = c {
                    out.raw_push(host_object(lua, &inv, &name)?)?;
                }
            }
            Ok(out)
        })?,
    )?;
    m.set(
        "host",
        lua.create_function(|lua, name: String| {
            let inv = inventory(lua)?;
            if !inv.has_host(&name) {
                return Ok(None);
            }
            host_object(lua, &inv, &name).map(Some)
        })?,
    )?;
    m.set(
        "groups",
        lua.create_function(|lua, ()| {
            let inv = inventory(lua)?;
            lua.create_sequence_from(inv.groups.keys().map(String::as_str))
        })?,
    )?;
    Ok(m)
}
