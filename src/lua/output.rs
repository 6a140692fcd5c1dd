//! Where a task's output goes: `print`, `io.write` and `io.stdout:write`
//! (`stdlib/internal/output.lua`), `stream = true` command output and `progress = true`
//! transfers all become [`Event`]s on the sink of the calling task's scope.

use std::sync::Arc;

use mlua::{Lua, LuaString};

use crate::lua::task::current_task;
use crate::report::{Event, SharedSink, Stream};
use crate::ssh::OutputSink;

const OUTPUT_LUA: &str = include_str!("../../stdlib/internal/output.lua");

/// Routes `print` and the writes to stdout through the calling task's sink.
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let write = lua.create_function(|_, text: LuaString| {
        let Some(task) = current_task() else {
            return Ok(false);
        };
        let scope = task.scope();
        match task.label() {
            Some(host) => scope.host_output(&host, &text.as_bytes()),
            None => scope.sink.event(&Event::Print {
                text: text.to_string_lossy(),
            }),
        }
        Ok(true)
    })?;
    lua.load(OUTPUT_LUA)
        .set_name("=[drover] output.lua")
        .call::<()>(write)
}

/// The runtime's own sink, for events outside any task (warnings while loading).
pub(crate) struct RuntimeSink(pub SharedSink);

/// Sends a warning to the runtime's sink.
pub(crate) fn warn(lua: &Lua, message: String) {
    if let Some(sink) = lua.app_data_ref::<RuntimeSink>() {
        sink.0.event(&Event::Warning { message });
    }
}

/// Command output and transfer progress of ssh calls, as events.
struct EventOutput(SharedSink);

impl OutputSink for EventOutput {
    fn line(&self, host: &str, stream: crate::ssh::Stream, line: &[u8]) {
        self.0.event(&Event::Line {
            host: host.to_string(),
            stream: match stream {
                crate::ssh::Stream::Stdout => Stream::Stdout,
                crate::ssh::Stream::Stderr => Stream::Stderr,
            },
            line: String::from_utf8_lossy(line).into_owned(),
        });
    }

    fn progress(&self, host: &str, path: &str, done: u64, total: u64) {
        self.0.event(&Event::Progress {
            host: host.to_string(),
            path: path.to_string(),
            done,
            total,
        });
    }
}

/// An output sink for the ssh layer that sends to `sink`.
pub(crate) fn output_to(sink: SharedSink) -> Arc<dyn OutputSink> {
    Arc::new(EventOutput(sink))
}

/// The ssh output sink of the calling task (`stream = true`, `progress = true`).
pub(crate) fn task_output(op: &str) -> mlua::Result<Arc<dyn OutputSink>> {
    let task = current_task()
        .ok_or_else(|| mlua::Error::RuntimeError(format!("{op}: called outside any task")))?;
    Ok(output_to(Arc::clone(&task.scope().sink)))
}
