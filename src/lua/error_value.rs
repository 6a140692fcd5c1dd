//! Errors Lua can branch on: ssh and sftp failures reach scripts as values with `kind`, `host`,
//! `message` and fields of their kind, whose `tostring` is the text people have always seen.
//!
//! How one travels: a Rust callback fails with `mlua::Error::external(ErrorValue)`; mlua hands
//! Lua an opaque error object (`Value::Error`). drover's `pcall` / `xpcall` and the task message
//! handler (stdlib/internal/task.lua, `errors::capture`) turn that object into an
//! `ErrorValue` userdata whose text starts with the caller's `file:line:` (and, once a task has
//! failed with it, ends with that task's traceback), exactly the string they produced before.
//!
//! The text a script sees says which host (`f.lua:3: web1: command ...`); what a report of
//! that host says leaves it out ([`ErrorValue::report_for`]): the renderer shows the host
//! beside it, and identical failures on many hosts fold.
//! From there it is a plain Lua value: `error(err)`, `join` and `task.retry` re-raise it as is.

use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value};

use crate::ssh::{ErrorKind, SshError};

/// A failure as a Lua value (see the module docs).
#[derive(Debug, Clone)]
pub struct ErrorValue {
    kind: ErrorKind,
    host: Option<String>,
    /// What went wrong, without a position or host: `command `false` exited with code 1 ...`.
    message: String,
    /// What `tostring` gives: the message, positioned and with a traceback once in Lua.
    shown: String,
    /// Fields of the kind (`code`, `stdout`, `path` ...), read by `err.name`.
    fields: Vec<(&'static str, Field)>,
}

#[derive(Debug, Clone)]
enum Field {
    Text(String),
    Bytes(Vec<u8>),
    Integer(i64),
    Number(f64),
}

/// How a command ended, for an `exit` error.
pub struct ExitStatus<'a> {
    /// The host's name.
    pub host: &'a str,
    /// The command as given to `run`.
    pub command: &'a str,
    /// Its exit code, if it exited.
    pub code: Option<u32>,
    /// The signal that ended it (`KILL`), if one did.
    pub signal: Option<&'a str>,
    /// What it wrote (as kept: up to `max_output`).
    pub stdout: &'a [u8],
    /// What it wrote to stderr.
    pub stderr: &'a [u8],
}

impl ErrorValue {
    fn new(kind: ErrorKind, host: Option<String>, message: String) -> ErrorValue {
        let shown = match &host {
            Some(h) => format!("{h}: {message}"),
            None => message.clone(),
        };
        ErrorValue {
            kind,
            host,
            shown,
            message,
            fields: Vec::new(),
        }
    }

    /// `text` (this error as shown, positioned, maybe with a traceback) as the report of
    /// `host` gives it: without the `host: ` before the message when the error is about
    /// that host (an error about another host keeps its name).
    pub fn report_for(&self, host: &str, text: &str) -> String {
        if self.host.as_deref() != Some(host) {
            return text.to_string();
        }
        text.replacen(&format!("{host}: {}", self.message), &self.message, 1)
    }

    fn text(mut self, name: &'static str, value: impl Into<String>) -> ErrorValue {
        self.fields.push((name, Field::Text(value.into())));
        self
    }

    /// An SSH failure, its kind by its variant, with the variant's details as fields.
    pub fn ssh(err: &SshError) -> ErrorValue {
        let v = ErrorValue::new(err.kind(), err.host().map(String::from), err.to_string());
        match err {
            SshError::Connect { addr, reason, .. } => {
                v.text("address", addr).text("reason", reason)
            }
            SshError::Timeout { secs, .. } => v.number("seconds", *secs),
            SshError::HostKeyChanged {
                key_type,
                fingerprint,
                file,
                line,
                ..
            } => v
                .text("key_type", key_type)
                .text("fingerprint", fingerprint)
                .text("file", file)
                .integer("line", i64::try_from(*line).unwrap_or(i64::MAX)),
            SshError::HostKeyUnknown {
                key_type,
                fingerprint,
                file,
                ..
            } => v
                .text("key_type", key_type)
                .text("fingerprint", fingerprint)
                .text("file", file),
            SshError::KnownHosts { file, reason, .. } => {
                v.text("file", file).text("reason", reason)
            }
            SshError::Auth { user, tried, .. } => v.text("user", user).text("tried", tried),
            SshError::Identity { path, reason, .. } => v.text("path", path).text("reason", reason),
            SshError::UnsetEnv { key, var, .. } => v.text("key", *key).text("variable", var),
            SshError::CommandTimeout { command, secs, .. } => {
                v.text("command", command).number("seconds", *secs)
            }
            SshError::ConnectionLost { during, .. } => v.text("during", during),
            SshError::BadDestination { spec, reason } => {
                v.text("destination", spec).text("reason", reason)
            }
            SshError::Sftp {
                op, path, cause, ..
            } => v.text("op", op).text("path", path).text("reason", cause),
            SshError::Protocol { what, reason, .. } => {
                v.text("during", what).text("reason", reason)
            }
        }
    }

    /// A failure to open a connection: as [`ErrorValue::ssh`], except that a protocol failure
    /// (the handshake, an auth exchange) means the host is `unreachable`.
    pub fn connecting(err: &SshError) -> ErrorValue {
        let mut v = ErrorValue::ssh(err);
        if v.kind == ErrorKind::Protocol {
            v.kind = ErrorKind::Unreachable;
        }
        v
    }

    /// A command that failed its check (non-zero exit, signal, no status); `message` says so
    /// without the host (which the text shown adds).
    pub fn exit(status: &ExitStatus<'_>, message: String) -> ErrorValue {
        let mut v = ErrorValue::new(ErrorKind::Exit, Some(status.host.to_string()), message)
            .text("command", status.command);
        if let Some(code) = status.code {
            v = v.integer("code", code.into());
        }
        if let Some(signal) = status.signal {
            v = v.text("signal", signal);
        }
        v.fields
            .push(("stdout", Field::Bytes(status.stdout.to_vec())));
        v.fields
            .push(("stderr", Field::Bytes(status.stderr.to_vec())));
        v
    }

    /// A destination string that did not parse; `message` is the text shown.
    pub fn bad_destination(spec: &str, message: String) -> ErrorValue {
        ErrorValue::new(ErrorKind::BadDestination, None, message).text("destination", spec)
    }

    fn number(mut self, name: &'static str, value: f64) -> ErrorValue {
        self.fields.push((name, Field::Number(value)));
        self
    }

    fn integer(mut self, name: &'static str, value: i64) -> ErrorValue {
        self.fields.push((name, Field::Integer(value)));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The same error, shown as `text`.
    pub fn shown_as(&self, text: String) -> ErrorValue {
        ErrorValue {
            shown: text,
            ..self.clone()
        }
    }

    /// The host it is about, if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// What `tostring` gives.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The same failure (kind and fields kept), its message after `context` (`file.present
    /// /etc/x: ...`): an operation says which step failed without hiding why.
    pub fn with_context(&self, context: &str) -> ErrorValue {
        let mut v = self.clone();
        v.message = format!("{context}: {}", self.message);
        v.shown = self.shown.replacen(&self.message, &v.message, 1);
        v
    }

    /// The same failure with `f` applied to its texts (message, shown text, text fields):
    /// secrets masked out of an operation's error.
    pub fn map_text(&self, f: impl Fn(&str) -> String) -> ErrorValue {
        let mut v = self.clone();
        v.message = f(&v.message);
        v.shown = f(&v.shown);
        for (_, field) in &mut v.fields {
            if let Field::Text(t) = field {
                *t = f(t);
            }
        }
        v
    }

    /// The error value inside an mlua error raised by a Rust callback, if it is one.
    pub fn in_error(err: &mlua::Error) -> Option<&ErrorValue> {
        err.downcast_ref::<ErrorValue>()
    }

    /// The error value a Lua value is or carries (an error object of a Rust callback).
    pub fn of_value(value: &Value) -> Option<ErrorValue> {
        match value {
            Value::Error(err) => ErrorValue::in_error(err).cloned(),
            Value::UserData(ud) => ud.borrow::<ErrorValue>().ok().map(|v| v.clone()),
            _ => None,
        }
    }

    fn field(&self, lua: &Lua, name: &str) -> mlua::Result<Value> {
        Ok(match name {
            "kind" => Value::String(lua.create_string(self.kind.as_str())?),
            "host" => match &self.host {
                Some(h) => Value::String(lua.create_string(h)?),
                None => Value::Nil,
            },
            // (what a script sees says which host, as `tostring` does)
            "message" => Value::String(lua.create_string(match &self.host {
                Some(h) => format!("{h}: {}", self.message),
                None => self.message.clone(),
            })?),
            _ => match self.fields.iter().find(|(n, _)| *n == name) {
                Some((_, Field::Text(t))) => Value::String(lua.create_string(t)?),
                Some((_, Field::Bytes(b))) => Value::String(lua.create_string(b)?),
                Some((_, Field::Integer(i))) => Value::Integer(*i),
                Some((_, Field::Number(n))) => Value::Number(*n),
                None => Value::Nil,
            },
        })
    }
}

/// The kind of the error a Lua value is or carries: an error value, or the error object of a
/// Rust callback that raised one (for a failed task, pass its `TaskFailure::reraise`).
/// An SSH failure as the error value Lua scripts branch on (`err.kind`, `err.host` ...).
pub(crate) fn lua_err(e: SshError) -> mlua::Error {
    ErrorValue::ssh(&e).into()
}

pub(crate) fn error_kind(value: &Value) -> Option<ErrorKind> {
    match value {
        Value::Error(err) => ErrorValue::in_error(err).map(ErrorValue::kind),
        Value::UserData(ud) => ud.borrow::<ErrorValue>().ok().map(|v| v.kind),
        _ => None,
    }
}

/// The text a script sees without a position: `host: message`.
impl std::fmt::Display for ErrorValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Some(h) => write!(f, "{h}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ErrorValue {}

impl From<ErrorValue> for mlua::Error {
    fn from(v: ErrorValue) -> mlua::Error {
        mlua::Error::external(v)
    }
}

/// Text of one side of `..` with an error value: Lua's own coercion for strings and numbers.
fn concat_part(lua: &Lua, value: &Value) -> mlua::Result<String> {
    if let Value::UserData(ud) = value
        && let Ok(v) = ud.borrow::<ErrorValue>()
    {
        return Ok(v.shown.clone());
    }
    match lua.coerce_string(value.clone())? {
        Some(s) => Ok(s.to_string_lossy()),
        None => Err(mlua::Error::RuntimeError(format!(
            "attempt to concatenate a {} value",
            value.type_name()
        ))),
    }
}

impl UserData for ErrorValue {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.shown.clone()));
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.shown.len()));
        methods.add_meta_function(MetaMethod::Concat, |lua, (a, b): (Value, Value)| {
            Ok(concat_part(lua, &a)? + &concat_part(lua, &b)?)
        });
        // Fields first; other names are string methods on the text, so code written when
        // errors were strings (`err:find("refused")`, `err:match(...)`) keeps working.
        methods.add_meta_method(MetaMethod::Index, |lua, this, key: Value| {
            let Value::String(key) = key else {
                return Ok(Value::Nil);
            };
            let name = key.to_str()?;
            let value = this.field(lua, &name)?;
            if !value.is_nil() {
                return Ok(value);
            }
            let string_lib: mlua::Table = lua.globals().get("string")?;
            match string_lib.raw_get::<Value>(&*name)? {
                Value::Function(f) => {
                    let text = this.shown.clone();
                    let method = lua.create_function(move |lua, args: mlua::MultiValue| {
                        let mut args: Vec<Value> = args.into_iter().collect();
                        if !args.is_empty() {
                            args[0] = Value::String(lua.create_string(&text)?);
                        }
                        f.call::<mlua::MultiValue>(mlua::MultiValue::from_iter(args))
                    })?;
                    Ok(Value::Function(method))
                }
                _ => Ok(Value::Nil),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(lua: &Lua, v: ErrorValue) -> Value {
        Value::UserData(lua.create_userdata(v).expect("userdata"))
    }

    #[test]
    fn fields_text_and_string_methods() {
        let lua = Lua::new();
        let status = ExitStatus {
            host: "web1",
            command: "false",
            code: Some(1),
            signal: None,
            stdout: b"out",
            stderr: b"err\xff",
        };
        let v = ErrorValue::exit(&status, "command `false` exited with code 1".into());
        assert_eq!(v.shown(), "web1: command `false` exited with code 1");
        let v = v.shown_as("a.lua:3: web1: command `false` exited with code 1".into());
        assert_eq!(
            v.report_for("web1", v.shown()),
            "a.lua:3: command `false` exited with code 1"
        );
        assert_eq!(v.report_for("db1", v.shown()), v.shown());
        lua.globals().set("err", value(&lua, v)).expect("set");
        let got: (String, String, i64, mlua::LuaString, String, String, bool) = lua
            .load(
                "return err.kind, err.host, err.code, err.stderr, tostring(err), \
                 '<' .. err .. '>', err:find('code 1', 1, true) ~= nil",
            )
            .eval()
            .expect("eval");
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2), ("exit", "web1", 1));
        assert_eq!(got.3.as_bytes().as_ref(), b"err\xff");
        assert_eq!(got.4, "a.lua:3: web1: command `false` exited with code 1");
        assert_eq!(got.5, format!("<{}>", got.4));
        assert!(got.6);
        let missing: Value = lua.load("return err.signal").eval().expect("eval");
        assert!(missing.is_nil());
    }

    #[test]
    fn kinds_are_found_through_mlua_errors() {
        let err = SshError::Auth {
            host: "db".into(),
            user: "u".into(),
            tried: "publickey".into(),
        };
        let raised: mlua::Error = ErrorValue::ssh(&err).into();
        let wrapped = mlua::Error::CallbackError {
            traceback: String::new(),
            cause: std::sync::Arc::new(raised),
        };
        assert!(wrapped.to_string().contains(&err.to_string()));
        assert_eq!(
            ErrorValue::ssh(&err).shown(),
            "db: authentication failed for user u (tried: publickey)"
        );
        assert_eq!(
            error_kind(&Value::Error(Box::new(wrapped))),
            Some(ErrorKind::Auth)
        );
        let handshake = SshError::protocol("db", "handshake", "eof");
        assert_eq!(
            ErrorValue::connecting(&handshake).kind(),
            ErrorKind::Unreachable
        );
        assert_eq!(ErrorValue::ssh(&handshake).kind(), ErrorKind::Protocol);
        assert_eq!(error_kind(&Value::Nil), None);
    }
}
