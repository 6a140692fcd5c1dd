//! Turning Lua and mlua errors into text a person can read: the message first, then a
//! traceback with mlua's and drover's internal frames removed.

use mlua::{Lua, Value};

use crate::lua::task::core::TaskFailure;

/// Chunk names of drover's own Lua code; frames from them are internal.
pub const INTERNAL_SOURCES: &[&str] = &[
    "__mlua",
    "[drover]",
    "[C]: in ?",
    "in function 'xpcall'",
    "in upvalue 'get_future'",
];

/// The message of an mlua error without its wrappers (callback chains, context).
pub fn root_message(err: &mlua::Error) -> String {
    match err {
        mlua::Error::CallbackError { cause, .. } => root_message(cause),
        mlua::Error::WithContext { context, cause } => {
            format!("{context}: {}", root_message(cause))
        }
        mlua::Error::RuntimeError(msg) | mlua::Error::SyntaxError { message: msg, .. } => {
            msg.clone()
        }
        mlua::Error::BadArgument {
            to,
            pos,
            name,
            cause,
        } => {
            let name = name
                .as_deref()
                .map(|n| format!(" '{n}'"))
                .unwrap_or_default();
            let to = to
                .as_deref()
                .map(|t| format!(" to '{t}'"))
                .unwrap_or_default();
            format!("bad argument #{pos}{name}{to}: {}", root_message(cause))
        }
        other => other.to_string(),
    }
}

/// The message of an mlua error, without wrappers and without any embedded traceback.
pub fn message_of(err: &mlua::Error) -> String {
    let msg = root_message(err);
    split_traceback(&msg).0.to_string()
}

/// The message of an mlua error raised by a Rust function, prefixed with the caller's
/// `file:line:` (what Lua's own `error` would have added).
pub fn positioned_message(err: &mlua::Error, position: Option<&str>) -> String {
    let msg = message_of(err);
    match position {
        Some(pos) if !msg.starts_with(pos) => format!("{pos} {msg}"),
        _ => msg,
    }
}

/// An error that escaped to Rust, rendered for a report (message, then its traceback if any).
pub fn render_error(err: &mlua::Error) -> String {
    let mut traceback = None;
    let mut cur = err;
    while let mlua::Error::CallbackError {
        cause,
        traceback: tb,
    } = cur
    {
        traceback.get_or_insert(tb.clone());
        cur = cause;
    }
    let message = root_message(cur);
    let (message, embedded) = split_traceback(&message);
    let tb = embedded
        .or(traceback)
        .map(|t| filter_traceback(&t))
        .unwrap_or_default();
    join_report(message, &tb)
}

fn split_traceback(message: &str) -> (&str, Option<String>) {
    match message.find("\nstack traceback:") {
        Some(pos) => (&message[..pos], Some(message[pos + 1..].to_string())),
        None => (message, None),
    }
}

fn join_report(message: &str, traceback: &str) -> String {
    if traceback.trim().is_empty() || traceback.trim() == "stack traceback:" {
        message.to_string()
    } else {
        format!("{message}\n{traceback}")
    }
}

/// Drops frames that belong to mlua's async machinery or to drover's own Lua prelude.
pub fn filter_traceback(traceback: &str) -> String {
    let mut out = Vec::new();
    for line in traceback.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || INTERNAL_SOURCES.iter().any(|s| trimmed.contains(s)) {
            continue;
        }
        if trimmed.starts_with("[C]: in function 'error'") {
            continue;
        }
        out.push(if trimmed == "stack traceback:" {
            trimmed.to_string()
        } else {
            format!("\t{trimmed}")
        });
    }
    out.join("\n")
}

/// Builds the failure of a task from the value its code raised (called by the message handler,
/// with the traceback taken at the raise point and the position of the first Lua frame).
pub fn capture(
    lua: &Lua,
    value: Value,
    traceback: String,
    position: Option<String>,
) -> mlua::Result<TaskFailure> {
    let tb = filter_traceback(&traceback);
    let (message, reraise_original) = match &value {
        Value::String(s) => (s.to_string_lossy(), false),
        Value::Error(err) => (positioned_message(err, position.as_deref()), false),
        Value::UserData(ud) if ud.borrow::<TaskFailure>().is_ok() => {
            let f = ud.borrow::<TaskFailure>()?.clone();
            return Ok(f);
        }
        Value::Nil => ("error: nil error value".to_string(), false),
        other => (tostring(lua, other), true),
    };
    let report = join_report(&message, &tb);
    let reraise = if reraise_original {
        value
    } else {
        Value::String(lua.create_string(&report)?)
    };
    Ok(TaskFailure { reraise, report })
}

fn tostring(lua: &Lua, value: &Value) -> String {
    lua.globals()
        .get::<mlua::Function>("tostring")
        .and_then(|f| f.call::<String>(value.clone()))
        .unwrap_or_else(|_| format!("(error object is a {} value)", value.type_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_traceback_drops_internal_frames() {
        let tb = "stack traceback:\n\t[C]: in upvalue 'get_future'\n\t__mlua_async_poll:5: in function 'task.sleep'\n\
                  \tmain.lua:3: in local 'nap'\n\tmain.lua:5: in main chunk\n\t[C]: in function 'xpcall'\n\
                  \t[drover] task.lua:32: in function <[drover] task.lua:31>\n\t[C]: in ?";
        assert_eq!(
            filter_traceback(tb),
            "stack traceback:\n\tmain.lua:3: in local 'nap'\n\tmain.lua:5: in main chunk"
        );
    }

    #[test]
    fn render_error_unwraps_callback_chains() {
        let err = mlua::Error::CallbackError {
            traceback: "stack traceback:\n\tx.lua:1: in main chunk".into(),
            cause: std::sync::Arc::new(mlua::Error::RuntimeError("boom".into())),
        };
        assert_eq!(
            render_error(&err),
            "boom\nstack traceback:\n\tx.lua:1: in main chunk"
        );
    }

    #[test]
    fn capture_prefixes_rust_errors_with_the_caller_position() {
        let lua = Lua::new();
        let value = Value::Error(Box::new(mlua::Error::RuntimeError(
            "task.sleep: bad".into(),
        )));
        let f = capture(
            &lua,
            value,
            "stack traceback:\n\ta.lua:2: in main chunk".into(),
            Some("a.lua:2:".into()),
        )
        .expect("capture");
        assert_eq!(
            f.report,
            "a.lua:2: task.sleep: bad\nstack traceback:\n\ta.lua:2: in main chunk"
        );
    }
}
