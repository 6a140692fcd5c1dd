//! The `secret` module: `secret(value)` makes a value that shows as `<secret>` everywhere
//! (`tostring`, `print`, string.format's `%s`, the REPL, error messages) while the calls
//! that take text (`ssh.run`'s command, `env` and `stdin`, `sftp.write`, the `drover.*`
//! operations) use the real value. Every secret's text is also added to the runtime's
//! [`Secrets`], so it is masked out of every event (command output, diffs, logs, JSON) even
//! where a script revealed it. Inventory passwords (and other password-like variables) reach
//! scripts as secrets in `host.vars`.

use std::sync::Arc;

use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value};

use crate::report::{MASK, Secrets};

/// A secret value as Lua sees it.
#[derive(Clone)]
pub(crate) struct SecretText(pub(crate) String);

impl UserData for SecretText {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, _, ()| Ok(MASK));
        // (a secret joined to text is still a secret: `"-p" .. pw` stays hidden)
        methods.add_meta_function(MetaMethod::Concat, |lua, (a, b): (Value, Value)| {
            let joined = text(&a, "..")? + &text(&b, "..")?;
            lua.create_userdata(SecretText(joined))
        });
        methods.add_meta_function(MetaMethod::Eq, |_, (a, b): (Value, Value)| {
            Ok(text(&a, "==").ok() == text(&b, "==").ok())
        });
        methods.add_method("reveal", |_, this, ()| Ok(this.0.clone()));
    }
}

/// The runtime's secrets (a Lua state made outside a runtime gets a set of its own).
pub(crate) fn secrets(lua: &Lua) -> Arc<Secrets> {
    if let Some(s) = lua.app_data_ref::<Arc<Secrets>>() {
        return Arc::clone(&s);
    }
    let s = Arc::new(Secrets::default());
    lua.set_app_data(Arc::clone(&s));
    s
}

/// A new secret value holding `value`, added to the runtime's secrets.
pub(crate) fn create(lua: &Lua, value: &str) -> mlua::Result<AnyUserData> {
    secrets(lua).add(value);
    lua.create_userdata(SecretText(value.to_string()))
}

/// The text of a string, number or secret argument (`what` names it in the error).
pub(crate) fn text(value: &Value, what: &str) -> mlua::Result<String> {
    match value {
        Value::String(s) => Ok(s.to_str()?.to_string()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::UserData(ud) => match ud.borrow::<SecretText>() {
            Ok(s) => Ok(s.0.clone()),
            Err(_) => Err(not_text(value, what)),
        },
        _ => Err(not_text(value, what)),
    }
}

/// Like [`text`], for bytes (`stdin`, `sftp.write`'s content).
pub(crate) fn bytes(value: &Value, what: &str) -> mlua::Result<Vec<u8>> {
    match value {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        other => text(other, what).map(String::into_bytes),
    }
}

/// Like [`text`] for an optional field of an options table.
pub(crate) fn field(opts: &Table, key: &str, what: &str) -> mlua::Result<Option<String>> {
    match opts.get::<Value>(key)? {
        Value::Nil => Ok(None),
        v => text(&v, &format!("{what}: {key}")).map(Some),
    }
}

fn not_text(value: &Value, what: &str) -> mlua::Error {
    mlua::Error::RuntimeError(format!(
        "{what}: expected a string or a secret, got {}",
        value.type_name()
    ))
}

/// Whether `value` is a secret.
pub(crate) fn is_secret(value: &Value) -> bool {
    matches!(value, Value::UserData(ud) if ud.is::<SecretText>())
}

/// Builds the `secret` module: callable (`secret(value)`), with `secret.reveal(v)` (the
/// text of a secret; other values unchanged) and `secret.is(v)`.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "reveal",
        lua.create_function(|lua, v: Value| match &v {
            Value::UserData(ud) if ud.is::<SecretText>() => Ok(Value::String(
                lua.create_string(text(&v, "secret.reveal")?)?,
            )),
            _ => Ok(v),
        })?,
    )?;
    m.set("is", lua.create_function(|_, v: Value| Ok(is_secret(&v)))?)?;
    let meta = lua.create_table()?;
    meta.set(
        "__call",
        lua.create_function(|lua, (_, v): (Value, Value)| {
            if is_secret(&v) {
                return Ok(v);
            }
            let value = text(&v, "secret")?;
            create(lua, &value).map(Value::UserData)
        })?,
    )?;
    m.set_metatable(Some(meta))?;
    Ok(m)
}

/// Adds the secrets of a connection target to the runtime's: its password, key text and
/// passphrase, and the values of the environment variables its `*_env` keys name.
pub(crate) fn add_target(lua: &Lua, target: &crate::ssh::Target) {
    let secrets = secrets(lua);
    for s in [&target.password, &target.key_text, &target.passphrase]
        .into_iter()
        .flatten()
    {
        secrets.add(&s.0);
    }
    for var in [&target.password_env, &target.passphrase_env]
        .into_iter()
        .flatten()
    {
        if let Ok(v) = std::env::var(var) {
            secrets.add(&v);
        }
    }
    if let Some(jump) = &target.proxy_jump {
        add_target(lua, jump);
    }
}

/// Adds a host's password-like variables (`db_password`, `api_token`; the values of the
/// environment variables `*_env` ones name) to the runtime's secrets.
pub(crate) fn add_vars<'a>(lua: &Lua, vars: impl IntoIterator<Item = (&'a String, &'a String)>) {
    let secrets = secrets(lua);
    for (k, v) in vars {
        if crate::inventory::holds_secret(k) {
            secrets.add(v);
        } else if crate::inventory::is_secret_name(k)
            && let Ok(value) = std::env::var(v)
        {
            // (`db_password_env = VAR`: the secret is VAR's value)
            secrets.add(&value);
        }
    }
}

/// A host variable as Lua sees it: a secret when its name says it holds one.
pub(crate) fn var_value(lua: &Lua, name: &str, value: &str) -> mlua::Result<Value> {
    if crate::inventory::holds_secret(name) {
        return lua
            .create_userdata(SecretText(value.to_string()))
            .map(Value::UserData);
    }
    lua.create_string(value).map(Value::String)
}
