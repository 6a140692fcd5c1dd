//! [`RuntimeBuilder`]: what a runtime is made with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mlua::{Lua, Table};

use super::{Runtime, RuntimeError, default_memory_limit};
use crate::report::{EventSink, SharedSink, discard};

/// Builds a host module's table (`.module("acme", |lua| ...)`).
pub type ModuleFn = Box<dyn FnOnce(&Lua) -> mlua::Result<Table>>;

/// Builds a host method's function.
type HostMethodFn = Box<dyn FnOnce(&Lua) -> mlua::Result<mlua::Function>>;

/// Sets up a [`Runtime`]; made by [`Runtime::builder`].
pub struct RuntimeBuilder {
    sink: SharedSink,
    memory_limit: Option<usize>,
    modules: Vec<(String, ModuleFn)>,
    host_methods: Vec<(String, HostMethodFn)>,
    module_path: Vec<PathBuf>,
    module_templates: Vec<String>,
    fallback_module_dirs: Vec<PathBuf>,
    stdlib: crate::lua::require::StdlibSource,
    forks: usize,
    host_timeout: Option<Duration>,
    inventory: crate::lua::inventory::InventorySource,
    passphrase: Option<crate::ssh::PassphrasePrompt>,
    sudo_password: Option<crate::ssh::Secret>,
    op_mode: crate::lua::task::OpMode,
    current_thread_io: bool,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            sink: discard(),
            memory_limit: None,
            modules: Vec::new(),
            host_methods: Vec::new(),
            module_path: Vec::new(),
            module_templates: Vec::new(),
            fallback_module_dirs: Vec::new(),
            stdlib: Default::default(),
            forks: 10,
            host_timeout: None,
            inventory: Default::default(),
            passphrase: None,
            sudo_password: None,
            op_mode: Default::default(),
            current_thread_io: false,
        }
    }
}

impl RuntimeBuilder {
    /// Where every event of every run goes (the CLI's renderer, an embedder's UI).
    pub fn event_sink(mut self, sink: impl EventSink + 'static) -> Self {
        self.sink = Arc::new(sink);
        self
    }

    /// The same, for a sink the caller keeps a handle on.
    pub fn shared_event_sink(mut self, sink: SharedSink) -> Self {
        self.sink = sink;
        self
    }

    /// Bytes the Lua VM may allocate (past it a script gets a catchable "not enough memory"
    /// error instead of the process aborting); `0` turns the limit off. Default:
    /// [`default_memory_limit`].
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// A module of the host program: `build(lua)` makes its table, which scripts see as the
    /// global `name` and through `require(name)`. Its functions may be async
    /// (`lua.create_async_function`): a call suspends only the calling task.
    pub fn module(
        mut self,
        name: &str,
        build: impl FnOnce(&Lua) -> mlua::Result<Table> + 'static,
    ) -> Self {
        self.modules.push((name.to_string(), Box::new(build)));
        self
    }

    /// A method of every host object (`host:name(...)` in scripts, next to `run`, `put` ...):
    /// `build(lua)` makes the function, which gets the host object first. It may be async
    /// (`lua.create_async_function`) and call the host's own methods with
    /// [`mlua::ObjectLike::call_async_method`]. Scripts and modules add methods the same way
    /// through `require("drover.host").methods`.
    ///
    /// ```no_run
    /// use mlua::ObjectLike;
    /// let runtime = drover::Runtime::builder()
    ///     .host_method("kernel", |lua| {
    ///         lua.create_async_function(|_, host: mlua::AnyUserData| async move {
    ///             let r: mlua::Table = host.call_async_method("run", "uname -r").await?;
    ///             Ok(r.get::<String>("stdout")?.trim_end().to_string())
    ///         })
    ///     })
    ///     .build()?;
    /// runtime.eval(r#"print(ssh.connect("web1"):kernel())"#)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host_method(
        mut self,
        name: &str,
        build: impl FnOnce(&Lua) -> mlua::Result<mlua::Function> + 'static,
    ) -> Self {
        self.host_methods.push((name.to_string(), Box::new(build)));
        self
    }

    /// A directory `require` searches (`DIR/?.lua`, `DIR/?/init.lua`) before the script's
    /// own directory; repeatable, searched in order (`drover run --lib DIR`). No directory
    /// answers for `drover.*` names: those are the stdlib's, embedded in the binary.
    pub fn module_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.module_path.push(dir.into());
        self
    }

    /// A `package.path` template (`/opt/acme/lua/?.lua`) searched after the module
    /// directories and before the script's own directory; repeatable (`$DROVER_PATH`).
    pub fn module_template(mut self, template: impl Into<String>) -> Self {
        self.module_templates.push(template.into());
        self
    }

    /// A directory `require` searches after the script's own directory and its `lib/`
    /// (`~/.config/drover/lib` for the CLI); repeatable.
    pub fn fallback_module_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.fallback_module_dirs.push(dir.into());
        self
    }

    /// Reads the stdlib (`drover.*` modules) from `dir`, a checkout's `stdlib/drover`,
    /// instead of the copy embedded in the binary (`$DROVER_STDLIB_DIR`; for working on the
    /// stdlib without rebuilding).
    pub fn stdlib_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.stdlib.dir = Some(dir.into());
        self
    }

    /// Hosts in flight at once in a per-host run or batch command (at least 1).
    pub fn forks(mut self, forks: usize) -> Self {
        self.forks = forks.max(1);
        self
    }

    /// Time each host's part of a per-host run or batch command may take.
    pub fn host_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.host_timeout = timeout;
        self
    }

    /// The inventory file controller scripts read (`inventory.hosts(...)`); without one,
    /// `$DROVER_INVENTORY`, else `./inventory.ini`.
    pub fn inventory_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.inventory.path = Some(path.into());
        self
    }

    /// The inventory, built in code ([`Inventory::builder`](crate::inventory::Inventory::builder))
    /// or loaded by the caller; no file is read then.
    pub fn inventory(mut self, inventory: crate::inventory::Inventory) -> Self {
        self.inventory.given = Some(std::rc::Rc::new(inventory));
        self
    }

    /// Variables that override the inventory's for every host (`-e key=value`).
    pub fn extra_vars(mut self, vars: std::collections::BTreeMap<String, String>) -> Self {
        self.inventory.extra.extend(vars);
        self
    }

    /// sudo's password for every `host:run` that goes through sudo (`sudo = true` or
    /// `user = ...`) without a `sudo_password` of its own (the CLI's `-K`). It is fed to sudo
    /// on stdin, never put on a command line, in an environment or in an event.
    pub fn sudo_password(mut self, password: crate::ssh::Secret) -> Self {
        self.sudo_password = Some(password);
        self
    }

    /// Check mode (`drover run --check`): no host is changed; every operation reports what
    /// it would do, predicting its effect for the operations and facts after it; `ssh.run`
    /// runs only commands marked `readonly = true`, sftp writes are skipped. See
    /// [`Runtime::set_check_mode`] to switch it between evals.
    ///
    /// ```
    /// let rt = drover::Runtime::builder().check_mode(true).build()?;
    /// let mode = rt.eval(r#"return require("drover.opcore").mode().check"#)?;
    /// assert_eq!(mode.into_iter().next().and_then(|v| v.as_boolean()), Some(true));
    /// rt.set_check_mode(false);
    /// let mode = rt.eval(r#"return require("drover.opcore").mode().check"#)?;
    /// assert_eq!(mode.into_iter().next().and_then(|v| v.as_boolean()), Some(false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_mode(mut self, on: bool) -> Self {
        self.op_mode.check = on;
        self
    }

    /// Operations put unified diffs of file contents in their events (`drover run --diff`),
    /// secrets and `sensitive = true` files left out.
    pub fn diff(mut self, on: bool) -> Self {
        self.op_mode.diff = on;
        self
    }

    /// Asks for the passphrase of an encrypted key that has none configured (the CLI: a
    /// prompt without echo on a terminal); called once per key file, answers remembered by
    /// this runtime only. Without one, such keys are skipped.
    pub fn passphrase_prompt(
        mut self,
        ask: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.passphrase = Some(Arc::new(ask));
        self
    }

    /// The host key policy of every host of the inventory and of `-H` hosts, over what the
    /// inventory says (default `accept-new`: unknown keys recorded, changed keys refused).
    pub fn host_key_policy(mut self, policy: crate::ssh::HostKeyPolicy) -> Self {
        self.inventory
            .extra
            .insert("host_key_policy".into(), policy.as_str().into());
        self
    }

    /// The known_hosts file of every host of the inventory and of `-H` hosts, over what the
    /// inventory says (default `~/.ssh/known_hosts`).
    pub fn known_hosts(mut self, path: impl Into<PathBuf>) -> Self {
        let path: PathBuf = path.into();
        self.inventory
            .extra
            .insert("known_hosts".into(), path.display().to_string());
        self
    }

    /// Whether the runtime [`build`](Self::build) starts runs network I/O on the thread that
    /// calls the blocking entry points, beside Lua, instead of on a pool of worker threads
    /// (the default). It saves the wakes between threads: `drover exec -- true` at 500 hosts
    /// (`scripts/bench-fanout.sh`, median of 5) took 0.45 s of client CPU against 0.49, same
    /// wall. But Lua that computes then holds up every connection's I/O, and encryption gets
    /// one core, so it suits batch commands, which run no Lua, not scripts. No effect when
    /// the runtime is built inside a tokio runtime.
    pub fn current_thread_io(mut self, on: bool) -> Self {
        self.current_thread_io = on;
        self
    }

    /// Builds the runtime. Inside a tokio runtime it starts none of its own (use the async
    /// entry points inside a `LocalSet` then); elsewhere it starts one for the blocking entry
    /// points: multi-thread unless [`current_thread_io`](Self::current_thread_io) is set.
    pub fn build(self) -> Result<Runtime, RuntimeError> {
        let setup = |e: mlua::Error| RuntimeError::Setup(crate::lua::errors::render_error(&e));
        let tokio = match tokio::runtime::Handle::try_current() {
            Ok(_) => None,
            Err(_) => {
                let mut tokio = if self.current_thread_io {
                    tokio::runtime::Builder::new_current_thread()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                };
                Some(
                    tokio
                        .enable_all()
                        .thread_name("drover-io")
                        .build()
                        .map_err(|e| {
                            RuntimeError::Setup(format!("cannot start the tokio runtime: {e}"))
                        })?,
                )
            }
        };
        // The full standard library, debug included (tracebacks need it; scripts are
        // trusted code), and binary chunks (a script is compiled once, instantiated per host).
        let lua = unsafe {
            Lua::unsafe_new_with(
                mlua::StdLib::ALL_SAFE | mlua::StdLib::DEBUG,
                mlua::LuaOptions::default(),
            )
        };
        // Without a limit, an allocation the system refuses aborts the whole process (every
        // host's remote job left running); with one, Lua raises "not enough memory", which
        // fails only the task that asked (pcall can catch it).
        let limit = match self.memory_limit {
            Some(l) => l,
            None => default_memory_limit().map_err(|e| RuntimeError::Setup(e.to_string()))?,
        };
        lua.set_memory_limit(limit)
            .map_err(|e| RuntimeError::Setup(format!("cannot limit Lua memory: {e}")))?;
        // Generational GC: every async call leaves a small Lua userdata owning a much larger
        // Rust future; the incremental collector let 400k of them pile up (383 MiB RSS for
        // 200k queue round trips) where minor collections keep it at 13 MiB, and 2.5x faster.
        lua.gc_set_mode(mlua::prelude::LuaGcMode::Generational(Default::default()));
        crate::lua::install(&lua).map_err(|e| match e {
            mlua::Error::MemoryError(_) => RuntimeError::Setup(format!(
                "a Lua memory limit of {limit} bytes is too small for drover's own modules"
            )),
            other => setup(other),
        })?;
        lua.set_app_data(self.inventory);
        // Every event goes out masked of the run's secrets: no producer can forget to.
        let secrets = Arc::new(crate::report::Secrets::default());
        let sink: SharedSink = Arc::new(crate::report::RedactingSink {
            inner: self.sink,
            secrets: Arc::clone(&secrets),
        });
        if let Some(password) = self.sudo_password {
            secrets.add(&password.0);
            lua.set_app_data(crate::lua::host::DefaultSudoPassword(password));
        }
        lua.set_app_data(Arc::clone(&secrets));
        lua.set_app_data(crate::lua::output::RuntimeSink(Arc::clone(&sink)));
        // Connections, key cache, handshake caps and prompts belong to this runtime alone.
        let warnings = Arc::clone(&sink);
        let ssh = crate::ssh::SshContext::new(crate::ssh::SshHooks {
            warn: Some(Arc::new(move |text: &str| {
                warnings.event(&crate::report::Event::Warning {
                    message: text.to_string(),
                })
            })),
            passphrase: self.passphrase,
        });
        lua.set_app_data(Arc::clone(&ssh));
        let loaded: Table = lua
            .globals()
            .get::<Table>("package")
            .and_then(|p| p.get("loaded"))
            .map_err(setup)?;
        for (name, build) in self.modules {
            let table = build(&lua).map_err(|e| {
                RuntimeError::Setup(format!(
                    "module {name}: {}",
                    crate::lua::errors::render_error(&e)
                ))
            })?;
            lua.globals().set(name.as_str(), &table).map_err(setup)?;
            loaded.set(name.as_str(), table).map_err(setup)?;
        }
        let methods = crate::lua::host::methods(&lua).map_err(setup)?;
        for (name, build) in self.host_methods {
            let method = build(&lua).map_err(|e| {
                RuntimeError::Setup(format!(
                    "host method {name}: {}",
                    crate::lua::errors::render_error(&e)
                ))
            })?;
            methods.raw_set(name.as_str(), method).map_err(setup)?;
        }
        crate::lua::require::install(&lua, self.stdlib).map_err(setup)?;
        let package: Table = lua.globals().get("package").map_err(setup)?;
        let default_path: String = package.get("path").map_err(setup)?;
        let search = crate::lua::require::SearchPath::new(
            &self.module_path,
            &self.module_templates,
            &self.fallback_module_dirs,
            &default_path,
        );
        package
            .set("path", search.for_script(None))
            .map_err(setup)?;
        Ok(Runtime {
            lua,
            tokio,
            local: tokio::task::LocalSet::new(),
            sink,
            secrets,
            ssh,
            search,
            forks: self.forks,
            host_timeout: self.host_timeout,
            op_mode: std::cell::Cell::new(self.op_mode),
        })
    }
}
