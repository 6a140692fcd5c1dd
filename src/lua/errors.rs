//! Turning Lua and mlua errors into text a person can read: the message first, then a
//! traceback with mlua's and drover's internal frames removed.

use mlua::{Lua, Value};

use crate::lua::error_value::ErrorValue;

/// A failed task's error: what to re-raise in a joiner, and what to show a person.
#[derive(Clone)]
pub(crate) struct TaskFailure {
    /// The value `join` re-raises: the message with the task's traceback for string errors,
    /// the original value otherwise.
    pub reraise: Value,
    /// Message plus filtered traceback, for reports.
    pub report: String,
}

impl mlua::UserData for TaskFailure {}

/// Chunk names of drover's own Lua code; frames from them are internal.
pub(crate) const INTERNAL_SOURCES: &[&str] = &[
    "__mlua",
    "[drover]",
    "[C]: in ?",
    "in function 'xpcall'",
    "in upvalue 'get_future'",
];

/// The message of an mlua error without its wrappers (callback chains, context).
pub(crate) fn root_message(err: &mlua::Error) -> String {
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
pub(crate) fn message_of(err: &mlua::Error) -> String {
    let msg = root_message(err);
    split_traceback(&msg).0.to_string()
}

/// The message of an mlua error raised by a Rust function, prefixed with the caller's
/// `file:line:` (what Lua's own `error` would have added).
pub(crate) fn positioned_message(err: &mlua::Error, position: Option<&str>) -> String {
    let msg = message_of(err);
    match position {
        Some(pos) if !msg.starts_with(pos) => format!("{pos} {msg}"),
        _ => msg,
    }
}

/// An error that escaped to Rust, rendered for a report (message, then its traceback if any).
pub(crate) fn render_error(err: &mlua::Error) -> String {
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

/// Drops frames that belong to mlua's async machinery or to drover's own Lua prelude, and the
/// C functions those call (`raw_xpcall`, `ssh.with` of the fan-out driver ...).
pub(crate) fn filter_traceback(traceback: &str) -> String {
    let lines: Vec<&str> = traceback.lines().map(str::trim).collect();
    // A frame's caller is the next line; walk from the outermost frame inward so that a C
    // function called by internal code is known internal when it is reached.
    let mut keep = vec![false; lines.len()];
    let mut caller_internal = false;
    for (i, line) in lines.iter().enumerate().rev() {
        if line.is_empty() || *line == "(...tail calls...)" {
            continue;
        }
        if *line == "stack traceback:" || line.starts_with("...") {
            keep[i] = true;
            continue;
        }
        let internal = INTERNAL_SOURCES.iter().any(|s| line.contains(s))
            || (line.starts_with("[C]:") && caller_internal)
            || line.starts_with("[C]: in function 'error'");
        keep[i] = !internal;
        caller_internal = internal;
    }
    let mut out = Vec::new();
    for (line, keep) in lines.iter().zip(keep) {
        if keep {
            out.push(if *line == "stack traceback:" {
                line.to_string()
            } else {
                format!("\t{line}")
            });
        }
    }
    out.join("\n")
}

/// Whether `message` starts with the position of an internal chunk (`__mlua_async_poll:29: `,
/// `[drover] task.lua:12: `); returns the rest of the message.
fn strip_internal_position(message: &str) -> Option<&str> {
    if !(message.starts_with("__mlua") || message.starts_with("[drover]")) {
        return None;
    }
    let (_, rest) = message.split_once(": ")?;
    Some(rest)
}

/// Lua's own messages that carry no position when raised where no Lua line runs (a C
/// function, the error handler): a person needs the script's line for them.
const UNPOSITIONED_LUA_ERRORS: &[&str] = &[
    "stack overflow",
    "C stack overflow",
    "error in error handling",
];

/// A string error as shown: an internal chunk's position (where mlua's glue raised it) is
/// replaced by the script's `position`; Lua's stack errors get that position too.
fn string_message(message: &str, position: Option<&str>) -> String {
    let (body, needs_position) = match strip_internal_position(message) {
        Some(rest) => (rest, true),
        None => (message, UNPOSITIONED_LUA_ERRORS.contains(&message)),
    };
    let body = if body == "error in error handling" {
        STACK_EXHAUSTED
    } else {
        body
    };
    match position {
        Some(pos) if needs_position => format!("{pos} {body}"),
        _ => body.to_string(),
    }
}

/// Said of a task that ran out of Lua memory.
const MEMORY_EXHAUSTED: &str = "the Lua memory limit was reached; DROVER_LUA_MEMORY sets it";

/// What Lua's "error in error handling" means in practice: the error (almost always a stack
/// overflow) left no room to run the handler that records it.
const STACK_EXHAUSTED: &str = "stack overflow (error in error handling: no room was left to \
     record the error; infinite recursion?)";

/// Builds the failure of a task from the value its code raised (called by the message handler,
/// with the traceback taken at the raise point and the position of the first Lua frame).
pub(crate) fn capture(
    lua: &Lua,
    value: Value,
    traceback: String,
    position: Option<String>,
) -> mlua::Result<TaskFailure> {
    let tb = filter_traceback(&traceback);
    let pos = position.as_deref();
    // An error value (see `error_value`) is shown and re-raised as the string it stands for
    // would be, keeping its kind and fields.
    let carried = ErrorValue::of_value(&value);
    let (message, reraise_original) = match &value {
        Value::String(s) => (string_message(&s.to_string_lossy(), pos), false),
        Value::Error(err) => {
            let raw = message_of(err);
            let message = if strip_internal_position(&raw).is_some()
                || UNPOSITIONED_LUA_ERRORS.contains(&raw.as_str())
            {
                string_message(&raw, pos)
            } else {
                positioned_message(err, pos)
            };
            (message, false)
        }
        Value::UserData(ud) if ud.borrow::<TaskFailure>().is_ok() => {
            let f = ud.borrow::<TaskFailure>()?.clone();
            return Ok(f);
        }
        Value::UserData(_) if carried.is_some() => {
            let shown = carried.as_ref().map(ErrorValue::shown).unwrap_or_default();
            (string_message(shown, pos), false)
        }
        other => (with_position(pos, &describe_error_value(lua, other)), true),
    };
    let report = join_report(&message, &tb);
    let reraise = if reraise_original {
        value
    } else {
        reraise_as(lua, carried.as_ref(), &report)?
    };
    Ok(TaskFailure { reraise, report })
}

/// What a joiner re-raises for a failure shown as `report`: the error value it carries, shown
/// as the report, or the report itself.
fn reraise_as(lua: &Lua, carried: Option<&ErrorValue>, report: &str) -> mlua::Result<Value> {
    Ok(match carried {
        Some(v) => Value::UserData(lua.create_userdata(v.shown_as(report.to_string()))?),
        None => Value::String(lua.create_string(report)?),
    })
}

/// What drover's `pcall` / `xpcall` hand Lua code for an error raised by a Rust function: an
/// error value for ssh and sftp failures, else the message as a string, both positioned at
/// the caller's `file:line:` as Lua's own `error` would; `nil` for Lua's own error values.
fn error_text(lua: &Lua, (value, position): (Value, Option<String>)) -> mlua::Result<Value> {
    let Value::Error(err) = value else {
        return Ok(Value::Nil);
    };
    let text = positioned_message(&err, position.as_deref());
    reraise_as(lua, ErrorValue::in_error(&err), &text)
}

/// `prefix .. tostring(value)` for a string or an error value (keeping its kind); other values
/// unchanged. `task.retry` says how many attempts failed with it.
fn reword_error(lua: &Lua, (value, prefix): (Value, String)) -> mlua::Result<Value> {
    match &value {
        Value::String(s) => Ok(Value::String(
            lua.create_string(format!("{prefix}{}", s.to_string_lossy()))?,
        )),
        Value::UserData(ud) if ud.is::<ErrorValue>() => {
            let v = ud.borrow::<ErrorValue>()?;
            let text = format!("{prefix}{}", v.shown());
            Ok(Value::UserData(lua.create_userdata(v.shown_as(text))?))
        }
        _ => Ok(value),
    }
}

/// Adds the error helpers task.lua uses to its private table: `error_text` (for pcall and
/// xpcall) and `reword_error` (for task.retry).
pub(crate) fn add_helpers(lua: &Lua, private: &mlua::Table) -> mlua::Result<()> {
    private.set("error_text", lua.create_function(error_text)?)?;
    private.set("reword_error", lua.create_function(reword_error)?)?;
    Ok(())
}

/// The failure of a task whose error handler could not run to its end (Lua gives up with
/// "error in error handling", typically out of stack): built after the stack has unwound, from
/// the value first raised if the handler got to record it. No traceback survives.
pub(crate) fn failure_without_handler(
    lua: &Lua,
    value: Value,
    first_raised: Value,
) -> mlua::Result<TaskFailure> {
    let raised = if first_raised.is_nil() {
        value
    } else {
        first_raised
    };
    let mut failure = capture(lua, raised, String::new(), None)?;
    // Lua runs no message handler for a memory error either: that one is no stack overflow.
    let note = if failure.report.contains("not enough memory") {
        Some(MEMORY_EXHAUSTED)
    } else if !failure.report.contains("stack overflow") {
        Some(STACK_EXHAUSTED)
    } else {
        None
    };
    if let Some(note) = note {
        failure.report = format!("{} ({note})", failure.report);
        match &failure.reraise {
            Value::String(_) => {
                failure.reraise = Value::String(lua.create_string(&failure.report)?);
            }
            carrier @ Value::UserData(_) => {
                if let Some(v) = ErrorValue::of_value(carrier) {
                    failure.reraise = reraise_as(lua, Some(&v), &failure.report)?;
                }
            }
            _ => {}
        }
    }
    Ok(failure)
}

fn with_position(position: Option<&str>, message: &str) -> String {
    match position {
        Some(pos) => format!("{pos} {message}"),
        None => message.to_string(),
    }
}

/// A non-string error value as text: its `__tostring`, else a table's `message` field, else
/// a short look at its contents (never `table: 0x...`).
pub(crate) fn describe_error_value(lua: &Lua, value: &Value) -> String {
    let has_tostring = match value {
        Value::Table(t) => t
            .metatable()
            .is_some_and(|m| m.contains_key("__tostring").unwrap_or(false)),
        Value::UserData(ud) => ud
            .metatable()
            .is_ok_and(|m| m.contains(mlua::MetaMethod::ToString).unwrap_or(false)),
        _ => false,
    };
    if (has_tostring || matches!(value, Value::Integer(_) | Value::Number(_)))
        && let Ok(text) = lua
            .globals()
            .get::<mlua::Function>("tostring")
            .and_then(|f| f.call::<String>(value.clone()))
    {
        return text;
    }
    match value {
        Value::Nil => "error object is nil (error() was called without a message)".into(),
        Value::Boolean(b) => format!("error object is a boolean: {b}"),
        Value::Table(t) => match t.raw_get::<Value>("message") {
            Ok(Value::String(m)) => m.to_string_lossy(),
            _ => format!("error object is a table: {}", table_preview(t)),
        },
        other => format!("error object is a {} value", other.type_name()),
    }
}

/// `{code = 2, reason = "full"}`: the first few fields (sorted by key) of a table.
fn table_preview(t: &mlua::Table) -> String {
    const SHOWN: usize = 6;
    let mut fields: Vec<(String, String)> = t
        .clone()
        .pairs::<Value, Value>()
        .filter_map(Result::ok)
        .map(|(k, v)| (preview_key(&k), preview_value(&v)))
        .collect();
    if fields.is_empty() {
        return "{}".into();
    }
    fields.sort();
    let more = fields.len().saturating_sub(SHOWN);
    let mut parts: Vec<String> = fields
        .into_iter()
        .take(SHOWN)
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    if more > 0 {
        parts.push(format!("... ({more} more)"));
    }
    format!("{{{}}}", parts.join(", "))
}

fn preview_key(k: &Value) -> String {
    match k {
        Value::String(s) => {
            let s = s.to_string_lossy();
            let identifier = s
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_alphanumeric() || c == '_');
            if identifier {
                s
            } else {
                format!("[{}]", preview_value(k))
            }
        }
        other => format!("[{}]", preview_value(other)),
    }
}

fn preview_value(v: &Value) -> String {
    const LONGEST: usize = 40;
    match v {
        Value::String(s) => {
            let s = s.to_string_lossy();
            if s.chars().count() > LONGEST {
                let cut: String = s.chars().take(LONGEST).collect();
                format!("{cut:?}...")
            } else {
                format!("{s:?}")
            }
        }
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => lua_number(*n),
        Value::Boolean(b) => b.to_string(),
        Value::Nil => "nil".into(),
        other => other.type_name().to_string(),
    }
}

/// A float as Lua's `tostring` shows it (`%.14g`, plus `.0` when it looks like an integer):
/// `1e+20`, `2.5`, `3.0`, `inf`.
pub(crate) fn lua_number(n: f64) -> String {
    if n.is_nan() {
        return "nan".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    const PRECISION: i32 = 14;
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, n);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let text = if (-4..PRECISION).contains(&exp) {
        let decimals = (PRECISION - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{n:.decimals$}")).to_string()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exp.abs())
    };
    if text.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
        format!("{text}.0")
    } else {
        text
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
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

    #[test]
    fn filter_traceback_drops_c_frames_called_by_drover_and_tail_calls() {
        let tb = "stack traceback:\n\t[C]: in function 'error'\n\tsite.lua:4: in upvalue 'deeper'\n\
                  \t(...tail calls...)\n\t[C]: in function 'string.gsub'\n\tsite.lua:9: in function <site.lua:1>\n\
                  \t[C]: in function 'ssh.with'\n\t[drover] fanout.lua:90: in function <[drover] fanout.lua:90>\n\
                  \t[C]: in upvalue 'raw_xpcall'\n\t[drover] task.lua:66: in function <[drover] task.lua:64>";
        assert_eq!(
            filter_traceback(tb),
            "stack traceback:\n\tsite.lua:4: in upvalue 'deeper'\n\t[C]: in function 'string.gsub'\n\
             \tsite.lua:9: in function <site.lua:1>"
        );
    }

    #[test]
    fn internal_positions_become_the_script_position() {
        assert_eq!(
            string_message("__mlua_async_poll:29: stack overflow", Some("a.lua:3:")),
            "a.lua:3: stack overflow"
        );
        assert_eq!(
            string_message("C stack overflow", Some("a.lua:3:")),
            "a.lua:3: C stack overflow"
        );
        // a message raised with level 0 keeps its own form
        assert_eq!(string_message("plain", Some("a.lua:3:")), "plain");
        assert_eq!(string_message("b.lua:1: x", Some("a.lua:3:")), "b.lua:1: x");
    }

    #[test]
    fn a_failed_handler_still_reports_a_stack_overflow() {
        let lua = Lua::new();
        let value = Value::String(
            lua.create_string("error in error handling")
                .expect("string"),
        );
        let f = failure_without_handler(&lua, value.clone(), Value::Nil).expect("failure");
        assert!(
            f.report
                .starts_with("stack overflow (error in error handling"),
            "{}",
            f.report
        );
        let raised = Value::String(
            lua.create_string("x.lua:7: stack overflow")
                .expect("string"),
        );
        let f = failure_without_handler(&lua, value, raised).expect("failure");
        assert_eq!(f.report, "x.lua:7: stack overflow");
    }

    #[test]
    fn error_values_are_described_not_addressed() {
        let lua = Lua::new();
        let t: mlua::Table = lua
            .load("return {code = 2, reason = 'disk full'}")
            .eval()
            .expect("t");
        assert_eq!(
            describe_error_value(&lua, &Value::Table(t)),
            "error object is a table: {code = 2, reason = \"disk full\"}"
        );
        let m: mlua::Table = lua
            .load("return {message = 'no route', code = 7}")
            .eval()
            .expect("m");
        assert_eq!(describe_error_value(&lua, &Value::Table(m)), "no route");
        assert_eq!(
            describe_error_value(&lua, &Value::Nil),
            "error object is nil (error() was called without a message)"
        );
    }
}
