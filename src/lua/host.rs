//! Host objects: a host's connection target, inventory variables and groups, and its lazily
//! opened connection. A host's methods come from one Lua table, the *method table*
//! (`require("drover.host").methods`): `ssh` adds `run`, `sftp` the file methods, and the
//! stdlib and host programs add their own (`function methods:uptime() ... end`), so every host
//! object gains them at once. Fields (`name`, `address`, `port`, `user`, `vars`, `groups`) are
//! looked up first, then the method table.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{
    AnyUserData, FromLuaMulti, IntoLuaMulti, Lua, MetaMethod, MultiValue, Table, UserData,
    UserDataFields, UserDataMethods, Value,
};
use tokio::sync::OnceCell;

use crate::lua::error_value::{ErrorValue, lua_err};
use crate::ssh::sftp::{Sftp, SftpSlot};
use crate::ssh::{Session, SshContext, Target};

/// Where the method table is kept in the Lua registry.
const METHODS_KEY: &str = "drover.host.methods";

/// One connection of a host and its SFTP session, both opened on first use.
#[derive(Default)]
struct Connection {
    session: OnceCell<Arc<Session>>,
    sftp: SftpSlot,
}

/// sudo's password for `host:run` calls through sudo that give none (the CLI's `-K`).
pub(crate) struct DefaultSudoPassword(pub(crate) crate::ssh::Secret);

/// A host reachable over SSH, with its lazily opened connection.
pub(crate) struct Host {
    target: Target,
    /// The context the host connects through.
    ssh: Arc<SshContext>,
    /// The current connection; replaced by a fresh one once that connection has ended.
    connection: RefCell<Rc<Connection>>,
    /// Inventory variables and groups (empty for `ssh.connect` hosts).
    vars: BTreeMap<String, String>,
    groups: Vec<String>,
}

impl Host {
    /// A host object for `target`, connected through `ssh`, with inventory variables and
    /// groups; its password, key text and password-like variables join the runtime's
    /// secrets (masked out of every event from now on).
    pub(crate) fn create(
        lua: &Lua,
        ssh: Arc<SshContext>,
        target: Target,
        vars: BTreeMap<String, String>,
        groups: Vec<String>,
    ) -> mlua::Result<AnyUserData> {
        crate::lua::secret::add_target(lua, &target);
        crate::lua::secret::add_vars(lua, &vars);
        lua.create_userdata(Host {
            target,
            ssh,
            connection: RefCell::default(),
            vars,
            groups,
        })
    }

    /// The host's name.
    pub(crate) fn name(&self) -> &str {
        &self.target.name
    }

    /// Where and how the host is reached.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Lets go of the host's connection: it closes once no task uses it any more, and the
    /// next call opens a new one.
    pub(crate) fn disconnect(&self) {
        *self.connection.borrow_mut() = Rc::default();
    }

    /// The host's connection, opened on first use (single flight) and shared; a connection
    /// that has ended is replaced by a new one on the next call.
    pub(crate) fn connection(&self) -> impl Future<Output = mlua::Result<Arc<Session>>> + use<> {
        let conn = self.current_connection();
        let (target, ssh) = (self.target.clone(), Arc::clone(&self.ssh));
        async move {
            conn.session
                // (boxed: the command futures that wait on it then hold only the box while
                // connecting, and nothing of it afterwards)
                .get_or_try_init(|| async {
                    Box::pin(Session::connect(&ssh, target)).await.map(Arc::new)
                })
                .await
                .cloned()
                .map_err(|e| ErrorValue::connecting(&e).into())
        }
    }

    /// The host's connection and its SFTP session, both opened on first use.
    pub(crate) fn sftp(
        &self,
    ) -> impl Future<Output = mlua::Result<(Arc<Session>, Arc<Sftp>)>> + use<> {
        let (opened, conn) = (self.connection(), self.current_connection());
        async move {
            let session = opened.await?;
            let sftp = conn.sftp.get(&session).await.map_err(lua_err)?;
            Ok((session, sftp))
        }
    }

    /// The connection in use, or a fresh (not yet opened) one when it has ended.
    fn current_connection(&self) -> Rc<Connection> {
        let mut current = self.connection.borrow_mut();
        if current.session.get().is_some_and(|s| s.is_closed()) {
            *current = Rc::default();
        }
        Rc::clone(&current)
    }
}

/// The method table every host object looks its methods up in (created on first use).
pub(crate) fn methods(lua: &Lua) -> mlua::Result<Table> {
    if let Some(t) = lua.named_registry_value::<Option<Table>>(METHODS_KEY)? {
        return Ok(t);
    }
    let t = lua.create_table()?;
    lua.set_named_registry_value(METHODS_KEY, &t)?;
    Ok(t)
}

/// Adds the async method `name` to the method table: `f(lua, host, args)` does the checks
/// that need no waiting and returns the future that does the rest.
pub(crate) fn add_async_method<A, F, FR, R>(lua: &Lua, name: &str, f: F) -> mlua::Result<()>
where
    A: FromLuaMulti,
    F: Fn(Lua, &Host, A) -> FR + 'static,
    FR: Future<Output = mlua::Result<R>> + 'static,
    R: IntoLuaMulti,
{
    let method_name = name.to_string();
    let method = lua.create_async_function(move |lua, mut args: MultiValue| {
        let this = args.pop_front();
        let host = match &this {
            Some(Value::UserData(ud)) => ud.borrow::<Host>().ok(),
            _ => None,
        };
        let name = &method_name;
        let called = match host {
            None => Err(mlua::Error::RuntimeError(format!(
                "host:{name}: call it on a host object with a colon (host:{name}(...))"
            ))),
            Some(host) => A::from_lua_multi(args, &lua)
                .map_err(|e| mlua::Error::RuntimeError(format!("host:{name}: {e}")))
                // Boxed so that it is freed when it completes: mlua keeps the future it is
                // given until Lua collects the call, and a command's future (russh channel
                // and all) is about 100 KiB. Unboxed, a host running 20 commands held 2 MiB
                // of finished futures until the GC ran (100 hosts x 20 commands: 253 MB
                // peak RSS; boxed: see the test ssh::finished_commands_free).
                .map(|args| Box::pin(f(lua, &host, args))),
        };
        async move { called?.await }
    })?;
    methods(lua)?.raw_set(name, method)
}

impl UserData for Host {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("name", |_, this| Ok(this.target.name.clone()));
        fields.add_field_method_get("address", |_, this| Ok(this.target.address.clone()));
        fields.add_field_method_get("port", |_, this| Ok(this.target.port));
        fields.add_field_method_get("user", |_, this| Ok(this.target.user.clone()));
        // (password-like variables are secrets: `<secret>` when shown, real when used)
        fields.add_field_method_get("vars", |lua, this| {
            let t = lua.create_table_with_capacity(0, this.vars.len())?;
            for (k, v) in &this.vars {
                t.raw_set(k.as_str(), crate::lua::secret::var_value(lua, k, v)?)?;
            }
            Ok(t)
        });
        fields.add_field_method_get("groups", |lua, this| {
            lua.create_sequence_from(this.groups.iter().map(String::as_str))
        });
        // what no field names comes from the method table, read when the first host object
        // is made (the table itself, so methods added later are seen too)
        fields.add_meta_field_with(MetaMethod::Index, methods);
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let t = &this.target;
            Ok(format!(
                "host {} ({}@{}:{})",
                t.name, t.user, t.address, t.port
            ))
        });
    }
}

/// Builds the `drover.host` module: `{ methods = <the method table> }`.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("methods", methods(lua)?)?;
    Ok(m)
}
