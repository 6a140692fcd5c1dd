//! The `log` module: `log.debug`, `log.info`, `log.warn`, `log.error`. Each call is one
//! [`Event::Log`] on the calling task's sink, its host the one whose output the task's
//! `print` is (so a per-host run's logs are that host's, in child tasks too). Arguments are
//! joined as `print` joins them: `tostring` of each, tab-separated. `log.error` only
//! reports; it does not raise.

use std::sync::Arc;

use mlua::{Function, Lua, LuaString, MultiValue, Table};

use crate::lua::output::RuntimeSink;
use crate::lua::task::current_task;
use crate::report::{Event, LogLevel};

/// The `log` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    // The stock `tostring`, taken once as `print` takes it: a script that replaces the
    // global changes neither.
    let tostring: Function = lua.globals().get("tostring")?;
    for level in [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ] {
        let tostring = tostring.clone();
        let log = lua.create_function(move |lua, args: MultiValue| {
            let text = joined(&tostring, args)?;
            send(lua, level, text);
            Ok(())
        })?;
        table.set(level.as_str(), log)?;
    }
    Ok(table)
}

/// `tostring` of each argument, tab-separated (invalid UTF-8 replaced).
fn joined(tostring: &Function, args: MultiValue) -> mlua::Result<String> {
    let mut bytes = Vec::new();
    for (i, value) in args.into_iter().enumerate() {
        if i > 0 {
            bytes.push(b'\t');
        }
        let text: LuaString = tostring.call(value)?;
        bytes.extend_from_slice(&text.as_bytes());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Sends the line to the calling task's sink; outside any task (a `__gc` metamethod, say),
/// to the runtime's.
fn send(lua: &Lua, level: LogLevel, text: String) {
    match current_task() {
        Some(task) => task.scope().sink.event(&Event::Log {
            host: task.label().map(|h| h.to_string()),
            level,
            text,
        }),
        None => {
            // The Arc out of the app data first: a sink must not run under its borrow.
            let sink = lua.app_data_ref::<RuntimeSink>().map(|s| Arc::clone(&s.0));
            if let Some(sink) = sink {
                sink.event(&Event::Log {
                    host: None,
                    level,
                    text,
                });
            }
        }
    }
}
