//! The `fleet` module: the runtime's current targets and shell commands over all of them, with
//! their results as values. `fleet.targets(sel)` (also the global `targets`) sets the targets
//! from a `-l` pattern, flags (`-H h1 -g web -l '!db1'`), a spec table, host objects or names,
//! or a result set; `fleet.run(cmd)` runs `cmd` on each target at once (bounded by
//! `fleet.forks`, each host by `fleet.timeout`) and returns a result set: `:ok()`,
//! `:failed()`, `:where(fn)`, `:hosts()`, `:gather()`, `[name]`, `#`, `pairs`, a one-screen
//! `tostring`. The driver and the result sets are Lua (`stdlib/drover/fleet.lua`); this side
//! selects hosts from the inventory, folds names into node sets and turns a run's progress
//! into [`Event`]s when it streams (the REPL's `!CMD`).

use std::collections::BTreeMap;

use mlua::{AnyUserData, Lua, Table, Value};

use crate::inventory::select::{Chosen, TargetSpec, select};
use crate::lua::error_value::error_kind;
use crate::lua::host::Host;
use crate::lua::output::RuntimeSink;
use crate::lua::task::{check_options, current_task};
use crate::report::{Event, Outcome};

const FLEET_LUA: &str = include_str!("../../stdlib/drover/fleet.lua");

fn err(msg: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::RuntimeError(msg.to_string())
}

/// Strings of a list (`hosts = {...}`) or one string; `what` names the field in errors.
fn strings(value: Value, what: &str) -> mlua::Result<Vec<String>> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::String(s) => Ok(crate::inventory::split_list_ranges(&s.to_str()?)),
        Value::Table(t) => t
            .sequence_values::<String>()
            .collect::<mlua::Result<Vec<_>>>()
            .map_err(|_| err(format!("fleet.targets: {what} must be a list of names"))),
        other => Err(err(format!(
            "fleet.targets: {what} must be a name or a list of names, got {}",
            other.type_name()
        ))),
    }
}

/// A spec table `{hosts = ..., groups = ..., pattern = ...}` as a [`TargetSpec`].
fn spec_of(t: &Table) -> mlua::Result<TargetSpec> {
    check_options(t, &["hosts", "groups", "pattern"], "fleet.targets")?;
    Ok(TargetSpec {
        hosts: strings(t.get("hosts")?, "hosts")?,
        groups: strings(t.get("groups")?, "groups")?
            .iter()
            .flat_map(|g| g.split(',').map(str::trim).map(str::to_string))
            .filter(|g| !g.is_empty())
            .collect(),
        pattern: t.get("pattern")?,
    })
}

/// `-H h1,h2 -g web -l PATTERN` (flags as on the command line), or a bare `-l` pattern.
fn parse_selection(text: &str) -> Result<TargetSpec, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if !words.first().is_some_and(|w| w.starts_with('-')) {
        return Ok(TargetSpec {
            pattern: Some(text.trim().to_string()),
            ..TargetSpec::default()
        });
    }
    let mut spec = TargetSpec::default();
    let mut words = words.into_iter();
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("{flag}: needs a value (in `{text}`)"))?;
        match flag {
            "-H" | "--hosts" => spec
                .hosts
                .extend(crate::inventory::split_list_ranges(value)),
            "-g" | "--groups" => spec
                .groups
                .extend(value.split(',').filter(|g| !g.is_empty()).map(String::from)),
            "-l" | "--limit" => spec.pattern = Some(value.to_string()),
            other => {
                return Err(format!(
                    "{other}: not a target flag (use -H HOSTS, -g GROUPS, -l PATTERN, or a bare pattern)"
                ));
            }
        }
    }
    Ok(spec)
}

/// Host objects for what `spec` selects: inventory hosts are the inventory module's objects
/// (one per name, so one connection each); `user@address:port` hosts get the inventory's
/// defaults and the `-e` variables.
fn select_hosts(lua: &Lua, spec: &TargetSpec) -> mlua::Result<Table> {
    let inv = crate::lua::inventory::inventory(lua)?;
    let mut spec = spec.clone();
    if spec.hosts.is_empty() && spec.groups.is_empty() && spec.pattern.is_none() {
        spec.hosts = inv.hosts.clone();
    }
    let chosen = select(&inv, &spec).map_err(|e| err(format!("fleet.targets: {e}")))?;
    let out = lua.create_table()?;
    let extra = crate::lua::inventory::extra_vars(lua);
    for c in chosen {
        match c {
            Chosen::Inventory(name) => {
                out.raw_push(crate::lua::inventory::host_object(lua, &inv, &name)?)?;
            }
            Chosen::AdHoc(text) => out.raw_push(ad_hoc_host(lua, &inv, &extra, &text)?)?,
        }
    }
    Ok(out)
}

/// A `user@address:port` host outside the inventory, made once per name (so one connection).
fn ad_hoc_host(
    lua: &Lua,
    inv: &crate::inventory::Inventory,
    extra: &BTreeMap<String, String>,
    text: &str,
) -> mlua::Result<AnyUserData> {
    const CACHE: &str = "drover.fleet.adhoc";
    let cache: Table = match lua.named_registry_value::<Option<Table>>(CACHE)? {
        Some(t) => t,
        None => {
            let t = lua.create_table()?;
            lua.set_named_registry_value(CACHE, &t)?;
            t
        }
    };
    if let Some(h) = cache.get::<Option<AnyUserData>>(text)? {
        return Ok(h);
    }
    let host = inv
        .resolve_ad_hoc(text, extra)
        .map_err(|e| err(format!("-H {text}: {e}")))?;
    let ssh = crate::lua::ssh::ssh_context(lua)?;
    let target = crate::ssh::Target::for_host(&ssh, text, &host.connection)
        .map_err(|e| err(format!("host {text}: {e}")))?;
    let h = Host::create(lua, ssh, target, host.vars, host.groups)?;
    cache.set(text, &h)?;
    Ok(h)
}

fn outcome(name: &str) -> mlua::Result<Outcome> {
    Ok(match name {
        "ok" => Outcome::Ok,
        "failed" => Outcome::Failed,
        "unreachable" => Outcome::Unreachable,
        "timed_out" => Outcome::TimedOut,
        "cancelled" => Outcome::Cancelled,
        other => return Err(err(format!("fleet: unknown outcome {other}"))),
    })
}

/// Sends `event` to the calling task's sink, or the runtime's outside any task.
fn emit(lua: &Lua, event: &Event) {
    match current_task() {
        Some(task) => task.scope().sink.event(event),
        None => {
            if let Some(sink) = lua.app_data_ref::<RuntimeSink>() {
                sink.0.event(event);
            }
        }
    }
}

/// The events of a streamed run, from its Lua driver: `(what, ...)`.
fn emit_from_lua(lua: &Lua, (what, t): (String, Table)) -> mlua::Result<()> {
    let event = match what.as_str() {
        "run_started" => Event::RunStarted {
            hosts: strings(t.get("hosts")?, "hosts")?,
        },
        "started" => Event::HostStarted {
            host: t.get("host")?,
        },
        "finished" => Event::HostFinished {
            host: t.get("host")?,
            outcome: outcome(&t.get::<String>("outcome")?)?,
            code: t
                .get::<Option<i64>>("code")?
                .and_then(|c| u32::try_from(c).ok()),
            elapsed_ms: (t.get::<f64>("elapsed")?.max(0.0) * 1000.0) as u64,
            error_kind: t.get("kind")?,
            error: t.get("error")?,
        },
        "summary" => {
            let mut outcomes = BTreeMap::new();
            for pair in t.get::<Table>("outcomes")?.pairs::<String, usize>() {
                let (name, n) = pair?;
                outcomes.insert(outcome(&name)?, n);
            }
            Event::Summary {
                hosts: t.get("hosts")?,
                outcomes,
            }
        }
        other => return Err(err(format!("fleet: unknown event {other}"))),
    };
    emit(lua, &event);
    Ok(())
}

/// Builds the `fleet` module (and the global `targets`, its `fleet.targets`).
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    let private = lua.create_table()?;
    private.set(
        "select",
        lua.create_function(|lua, sel: Value| {
            let spec = match sel {
                Value::String(s) => {
                    parse_selection(&s.to_str()?).map_err(|e| err(format!("fleet.targets: {e}")))?
                }
                Value::Table(t) => spec_of(&t)?,
                other => {
                    return Err(err(format!(
                        "fleet.targets: expected a pattern or a spec table, got {}",
                        other.type_name()
                    )));
                }
            };
            select_hosts(lua, &spec)
        })?,
    )?;
    // The only current target, if there is one, is the host of tasks that have none.
    private.set(
        "set_sole_target",
        lua.create_function(|lua, host: Option<mlua::AnyUserData>| {
            match host {
                Some(h) => {
                    let key = lua.create_registry_value(h)?;
                    lua.set_app_data(crate::lua::task::SoleTarget(key));
                }
                None => {
                    lua.remove_app_data::<crate::lua::task::SoleTarget>();
                }
            }
            Ok(())
        })?,
    )?;
    private.set(
        "fold",
        lua.create_function(|_, names: Vec<String>| Ok(crate::nodeset::fold(&names)))?,
    )?;
    // An error's kind (`exit`, `unreachable`, ...) and whether it makes its host unreachable.
    private.set(
        "kind",
        lua.create_function(|_, e: Value| {
            Ok(match error_kind(&e) {
                Some(k) => (Some(k.as_str()), k.makes_host_unreachable()),
                None => (None, false),
            })
        })?,
    )?;
    // An error's text for a report about `host`: without the host's own name (the renderer
    // shows it beside), so identical failures on many hosts fold.
    private.set(
        "report_text",
        lua.create_function(|_, (e, text, host): (Value, String, String)| {
            Ok(match crate::lua::error_value::ErrorValue::of_value(&e) {
                Some(v) => v.report_for(&host, &text),
                None => text,
            })
        })?,
    )?;
    private.set(
        "check_options",
        lua.create_function(|_, (opts, allowed, what): (Table, Vec<String>, String)| {
            let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
            check_options(&opts, &allowed, &what)
        })?,
    )?;
    private.set("emit", lua.create_function(emit_from_lua)?)?;
    let task: Table = lua
        .globals()
        .get::<Table>("package")?
        .get::<Table>("loaded")?
        .get("task")?;
    lua.load(FLEET_LUA)
        .set_name("=[drover] fleet.lua")
        .call::<()>((m.clone(), private, task))?;
    lua.globals()
        .set("targets", m.get::<mlua::Function>("targets")?)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn selections_read_flags_or_a_pattern() {
        let s = parse_selection("-H a,b[1-2] -g web,db -l !x").expect("flags");
        assert_eq!(s.hosts, ["a", "b[1-2]"]);
        assert_eq!(s.groups, ["web", "db"]);
        assert_eq!(s.pattern.as_deref(), Some("!x"));
        let p = parse_selection("web:&prod").expect("pattern");
        assert_eq!(p.pattern.as_deref(), Some("web:&prod"));
        assert!(parse_selection("-g").unwrap_err().contains("needs a value"));
        assert!(
            parse_selection("-x y")
                .unwrap_err()
                .contains("not a target flag")
        );
    }

    proptest! {
        #[test]
        fn selections_never_panic(text in ".{0,200}") {
            let _ = parse_selection(&text);
        }
    }
}
