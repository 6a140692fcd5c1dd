//! The runtime: one Lua VM with drover's modules, on the thread that owns it, its tasks on a
//! tokio `LocalSet`, network I/O on a multi-thread tokio runtime. A runtime outlives a run:
//! [`Runtime::eval`] runs one chunk as its own root task and returns when that root ends,
//! while tasks of earlier chunks keep running and host connections stay open; a script run
//! ([`Runtime::run_script`]), a per-host run ([`Runtime::run_fanout`]) and a batch command
//! ([`Runtime::run_batch`]) each return a [`RunReport`].

pub mod batch;
mod builder;
mod eval;
pub mod fanout;
mod memory;
mod script;
mod targets;

use std::time::Duration;

use mlua::Lua;

pub use self::builder::{ModuleFn, RuntimeBuilder};
pub use self::eval::{EvalError, EvalOptions};
pub use self::memory::default_memory_limit;
pub use self::script::{LoadError, Script, script_dir};
pub use self::targets::ResolvedHost;
use crate::report::{Event, SharedSink};
pub use crate::report::{Failure, RunReport};

/// Clean-ups (TERM to cancelled commands, temp files) a run waits for before it returns.
const CLEANUP_WAIT: Duration = Duration::from_secs(5);

/// Why a runtime could not be built or a blocking call could not run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The tokio runtime or the Lua VM could not be set up.
    #[error("{0}")]
    Setup(String),
    /// A blocking entry point was called from inside a tokio runtime: the runtime was built
    /// without one of its own, so use the async form inside the caller's `LocalSet`.
    #[error("{0}: called inside a tokio runtime; use {0}_async inside a LocalSet")]
    InsideTokio(&'static str),
}

/// The Lua VM with drover's modules, and what drives it.
pub struct Runtime {
    lua: Lua,
    /// The runtime's own tokio runtime, for the blocking entry points; `None` when it was
    /// built inside the caller's (then only the async entry points work).
    tokio: Option<tokio::runtime::Runtime>,
    /// Where the tasks of the blocking entry points live between calls: a task an eval left
    /// running goes on during the next one.
    local: tokio::task::LocalSet,
    /// The caller's sink, wrapped to mask `secrets`.
    sink: SharedSink,
    /// Values no event may show (inventory passwords, `secret(...)` values).
    secrets: std::sync::Arc<crate::report::Secrets>,
    /// SSH state of this runtime: handshake caps, key cache, prompts, clean-ups.
    ssh: std::sync::Arc<crate::ssh::SshContext>,
    /// Where `require` looks, apart from a script's own directory.
    search: crate::lua::require::SearchPath,
    forks: usize,
    host_timeout: Option<Duration>,
    /// Check mode and diffs of the evals started from now on.
    op_mode: std::cell::Cell<crate::lua::task::OpMode>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("forks", &self.forks)
            .field("host_timeout", &self.host_timeout)
            .finish_non_exhaustive()
    }
}

/// The files an editor needs to know drover's Lua API (LuaLS): the stdlib's Lua modules,
/// annotated inline (`drover/shell.lua`), and the `---@meta` files of the modules written in
/// Rust (`drover/_meta/ssh.lua`, `task`, `sftp`, `inventory`, `log`, host objects), as
/// (relative path, text). `drover types --out DIR` writes them.
///
/// ```
/// let files = drover::runtime::type_files();
/// assert!(files.iter().any(|(path, text)| path == "drover/_meta/ssh.lua" && text.contains("function ssh.run(")));
/// ```
pub fn type_files() -> Vec<(String, &'static str)> {
    crate::lua::require::type_files()
}

impl Runtime {
    /// Check mode for the evals and runs started from now on (the REPL's `:check on`):
    /// no host is changed, operations report what they would do (see the README's check
    /// mode contract). Evals already running keep the mode they started with.
    pub fn set_check_mode(&self, on: bool) {
        let mode = self.op_mode.get();
        self.op_mode
            .set(crate::lua::task::OpMode { check: on, ..mode });
    }

    /// The secrets of this runtime: inventory passwords and key texts, `secret(...)`
    /// values, the sudo password. Every event is masked of them; a caller printing text of
    /// its own (a REPL showing a value) masks it with [`Secrets::redact`](crate::report::Secrets::redact),
    /// and may add secrets of its own.
    pub fn secrets(&self) -> &crate::report::Secrets {
        &self.secrets
    }

    /// Whether evals started now run in check mode.
    pub fn check_mode(&self) -> bool {
        self.op_mode.get().check
    }

    /// Unified diffs of file contents in operations' events, for evals started from now on.
    pub fn set_diff(&self, on: bool) {
        let mode = self.op_mode.get();
        self.op_mode
            .set(crate::lua::task::OpMode { diff: on, ..mode });
    }

    /// Whether operations of evals started now report diffs.
    pub fn diff(&self) -> bool {
        self.op_mode.get().diff
    }

    /// A scope for a new eval, in the runtime's current check and diff mode.
    pub(crate) fn new_scope(&self) -> std::rc::Rc<crate::lua::task::Scope> {
        let scope = crate::lua::task::Scope::new(std::sync::Arc::clone(&self.sink));
        scope.op_mode.set(self.op_mode.get());
        scope
    }

    /// A builder with the defaults: no inventory of its own (`$DROVER_INVENTORY` or
    /// `./inventory.ini` when a script asks), events dropped, 10 forks, no per-host timeout.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The Lua VM (to add your own globals before running).
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Sends `event` to the runtime's sink.
    pub(crate) fn emit(&self, event: &Event) {
        self.sink.event(event);
    }

    /// `requested` hosts in flight, capped by the connections the open-files limit allows
    /// (one socket per host; the CLI raises the soft limit to the hard one at start).
    pub(crate) fn forks_for(&self, requested: Option<usize>) -> usize {
        let cap = crate::ssh::limits::nofile_limit()
            .map(crate::ssh::limits::connection_cap)
            .map_or(1000, |c| usize::try_from(c).unwrap_or(usize::MAX));
        requested.unwrap_or(self.forks).clamp(1, cap.max(1))
    }

    /// Runs `fut` on the runtime's own `LocalSet` and tokio runtime.
    fn block_on<F: std::future::Future>(
        &self,
        what: &'static str,
        fut: F,
    ) -> Result<F::Output, RuntimeError> {
        let rt = self.tokio.as_ref().ok_or(RuntimeError::InsideTokio(what))?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(RuntimeError::InsideTokio(what));
        }
        Ok(self.local.block_on(rt, fut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_runs_source_and_reports_unjoined_failures() {
        let rt = Runtime::builder().build().expect("runtime");
        rt.lua().globals().set("answer", 42).expect("set global");
        let script = Script::from_source(
            "ok",
            "local h = task.spawn(function() return answer end); assert(h:join() == 42)",
        )
        .expect("compiles");
        let ok = rt.run_script(&script, &[], &EvalOptions::default());
        assert!(ok.expect("runs").ok());
        let bad = Script::from_source("bad", "task.spawn(function() error('lost') end)")
            .expect("compiles");
        let failed = rt
            .run_script(&bad, &[], &EvalOptions::default())
            .expect("runs");
        assert!(!failed.ok());
        assert!(
            failed.failures[0].error.message.contains("bad:1: lost"),
            "{:?}",
            failed.failures
        );
    }
}
