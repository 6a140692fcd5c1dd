//! The Lua VM and tokio together: one Lua VM on the calling thread inside a tokio `LocalSet`,
//! a multi-thread tokio runtime beside it for network I/O. Loads a script, runs it as the root
//! task, waits for every task it spawned, and says how the run ended.

pub mod batch;
pub mod fanout;
mod load;
pub mod stop;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mlua::{Lua, MultiValue, Value};

pub use self::load::LoadError;
pub use self::stop::{Stop, StopSignal};
use crate::lua::exit::Exits;
use crate::lua::task::{Scheduler, TaskStatus};

/// A failed task nobody joined: its id (1 is the script itself) and its report.
#[derive(Debug, Clone)]
pub struct Failure {
    pub task_id: u64,
    pub report: String,
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Failures nobody handled, the script's own first.
    pub failures: Vec<Failure>,
    /// A signal stopped the run (see `stopped`).
    pub interrupted: bool,
    /// The signal that stopped the run.
    pub stopped: Option<StopSignal>,
    /// The code a script gave `os.exit` to end the run.
    pub exit: Option<i32>,
    /// The run's time limit ran out (its tasks were cancelled).
    pub timed_out: Option<Duration>,
}

impl RunReport {
    /// 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP, the `os.exit` code, 1 timed out or a
    /// failure, else 0.
    pub fn exit_code(&self) -> i32 {
        if let Some(s) = self.stopped {
            s.exit_code()
        } else if let Some(code) = self.exit {
            code
        } else if self.timed_out.is_some() || !self.failures.is_empty() {
            1
        } else {
            0
        }
    }
}

/// Options for a [`Runtime`].
#[derive(Clone, Default)]
pub struct RuntimeOptions {
    /// The caller's way to stop a run cleanly (tasks cancelled, remote commands sent TERM);
    /// the CLI triggers it on SIGINT, SIGTERM and SIGHUP.
    pub stop: Option<Arc<Stop>>,
    /// Past this, a run is stopped: its tasks are cancelled and it ends timed out.
    pub timeout: Option<Duration>,
    /// Bytes the Lua VM may allocate (a script past it gets a catchable "not enough memory"
    /// error instead of aborting the process); `None`: [`default_memory_limit`].
    pub memory_limit: Option<usize>,
    /// Where warnings for a person go (host key checking off, ...); `None` drops them.
    pub warnings: Option<crate::ssh::WarningSink>,
    /// Asks for the passphrase of an encrypted identity given without one; `None`: such a
    /// key fails to load.
    pub passphrase: Option<crate::ssh::PassphrasePrompt>,
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("stop", &self.stop)
            .field("timeout", &self.timeout)
            .field("memory_limit", &self.memory_limit)
            .field("warnings", &self.warnings.is_some())
            .field("passphrase", &self.passphrase.is_some())
            .finish()
    }
}

/// Clean-ups (TERM to cancelled commands, temp files) a run waits for before it returns.
const CLEANUP_WAIT: Duration = Duration::from_secs(5);

/// Half the memory this process may use (the machine's, or less under a cgroup limit or
/// `RLIMIT_AS`), or `DROVER_LUA_MEMORY` (bytes, or with a K/M/G suffix; `0`
/// turns the limit off).
pub fn default_memory_limit() -> Result<usize, LoadError> {
    if let Some(v) = std::env::var_os("DROVER_LUA_MEMORY") {
        let text = v.to_string_lossy();
        if text.trim() == "0" {
            // No limit (mlua's 0), for benchmarks.
            return Ok(0);
        }
        return parse_size(&text).ok_or_else(|| {
            LoadError::Setup(format!(
                "DROVER_LUA_MEMORY={text}: expected a size such as 512M or 2G (at least 1M)"
            ))
        });
    }
    // SAFETY: sysconf reads system constants.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let physical = u64::try_from(pages)
        .ok()
        .zip(u64::try_from(page).ok())
        .map_or(8 << 30, |(n, p)| n.saturating_mul(p));
    // In a container the cgroup's limit (or an address-space rlimit) is what the process
    // really has: past it the kernel kills the process with no clean-up at all.
    let total = [Some(physical), cgroup_memory_max(), address_space_limit()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(physical);
    Ok(usize::try_from(total / 2).unwrap_or(usize::MAX))
}

/// The cgroup v2 `memory.max` of this process's cgroup, when it sets one.
fn cgroup_memory_max() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let max = std::fs::read_to_string(format!("/sys/fs/cgroup{}/memory.max", path.trim())).ok()?;
    max.trim().parse().ok()
}

/// `RLIMIT_AS`, when one is set.
fn address_space_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0 {
        return None;
    }
    (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// `512M`, `2G`, `1048576`, `64MiB`: a size in bytes, at least 1 MiB.
fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 10),
        (i, 'm' | 'M') => (&t[..i], 20),
        (i, 'g' | 'G') => (&t[..i], 30),
        (i, 't' | 'T') => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    let bytes = n.checked_mul(1u64 << shift)?;
    usize::try_from(bytes).ok().filter(|b| *b >= 1 << 20)
}

/// The Lua VM with drover's modules, and the tokio runtimes that drive it.
pub struct Runtime {
    lua: Lua,
    tokio: tokio::runtime::Runtime,
    options: RuntimeOptions,
    /// This runtime's SSH state (shared with no other runtime); also in the Lua app data.
    ssh: Arc<crate::ssh::SshContext>,
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Result<Runtime, LoadError> {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("drover-io")
            .build()
            .map_err(|source| {
                LoadError::Setup(format!("cannot start the tokio runtime: {source}"))
            })?;
        // The full standard library, debug included (tracebacks need it; scripts are trusted code).
        let lua = unsafe {
            Lua::unsafe_new_with(
                mlua::StdLib::ALL_SAFE | mlua::StdLib::DEBUG,
                mlua::LuaOptions::default(),
            )
        };
        // Without a limit, an allocation the system refuses aborts the whole process (every
        // host's remote job left running); with one, Lua raises "not enough memory", which
        // fails only the task that asked (pcall can catch it).
        let limit = match options.memory_limit {
            Some(l) => l,
            None => default_memory_limit()?,
        };
        lua.set_memory_limit(limit)
            .map_err(|e| LoadError::Setup(format!("cannot limit Lua memory: {e}")))?;
        // Generational GC: every async call leaves a small Lua userdata owning a much larger
        // Rust future; the incremental collector let 400k of them pile up (383 MiB RSS for
        // 200k queue round trips) where minor collections keep it at 13 MiB, and 2.5x faster.
        lua.gc_set_mode(mlua::prelude::LuaGcMode::Generational(Default::default()));
        crate::lua::install(&lua)
            .map_err(|e| LoadError::Setup(crate::lua::errors::render_error(&e)))?;
        let ssh = crate::ssh::SshContext::new(crate::ssh::SshHooks {
            warn: options.warnings.clone(),
            passphrase: options.passphrase.clone(),
        });
        lua.set_app_data(Arc::clone(&ssh));
        Ok(Runtime {
            lua,
            tokio,
            options,
            ssh,
        })
    }

    /// This runtime's SSH context (its connections' caps, key cache, clean-ups).
    pub fn ssh(&self) -> &Arc<crate::ssh::SshContext> {
        &self.ssh
    }

    /// The Lua VM (to add your own globals or modules before running).
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Runs the script at `path` with `args` (its `...` and `arg`), until it and every task it
    /// spawned have finished.
    pub fn run_script(&self, path: &Path, args: &[String]) -> Result<RunReport, LoadError> {
        let chunk = load::load_script(&self.lua, path, args)?;
        let argv: MultiValue = args
            .iter()
            .map(|a| self.lua.create_string(a).map(Value::String))
            .collect::<mlua::Result<_>>()
            .map_err(|e| LoadError::Setup(e.to_string()))?;
        self.run_function(chunk, argv)
    }

    /// Runs a Lua chunk given as text (named `name` in tracebacks) as the root task.
    pub fn run_source(&self, name: &str, source: &str) -> Result<RunReport, LoadError> {
        let chunk = load::load_source(&self.lua, name, source)?;
        self.run_function(chunk, MultiValue::new())
    }

    fn run_function(
        &self,
        chunk: mlua::Function,
        args: MultiValue,
    ) -> Result<RunReport, LoadError> {
        let setup = |e: mlua::Error| LoadError::Setup(e.to_string());
        let scheduler = Scheduler::of(&self.lua).map_err(setup)?;
        let exits = Exits::of(&self.lua).map_err(setup)?;
        let stop = self.options.stop.clone().unwrap_or_default();
        // Raised on the I/O threads, so even a task busy in Lua sees it through the interrupt
        // flag (the preemption hook checks it).
        let watcher = {
            let (stop, flag) = (Arc::clone(&stop), Arc::clone(&scheduler.interrupted));
            self.tokio.spawn(async move {
                stop.requested().await;
                flag.store(true, Ordering::SeqCst);
            })
        };
        let local = tokio::task::LocalSet::new();
        let report = local.block_on(&self.tokio, async {
            let root = scheduler.spawn(chunk, args).map_err(setup)?;
            let root_failed = async {
                root.finished().await;
                if root.status() == TaskStatus::Failed {
                    // The script is dead: tasks still waiting for it (on a queue it would have
                    // filled, say) would wait forever. Stop them rather than hang.
                    scheduler.cancel_all();
                }
                std::future::pending::<()>().await
            };
            let time_limit = async {
                match self.options.timeout {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            let mut report = RunReport::default();
            let stopping = tokio::select! {
                _ = scheduler.wait_idle() => false,
                _ = root_failed => false,
                _ = stop.requested() => true,
                _ = exits.run_exit_requested() => true,
                _ = time_limit => {
                    report.timed_out = self.options.timeout;
                    true
                }
            };
            if stopping {
                scheduler.cancel_all();
                scheduler.wait_idle().await;
            }
            // Cancelled remote commands send TERM, abandoned uploads remove their temp files:
            // let those reach the hosts before the connections close with the process.
            self.ssh.drain_cleanups(CLEANUP_WAIT).await;
            report.exit = exits.take_run_exit();
            report.stopped = stop.reason();
            report.interrupted =
                report.stopped.is_some() || scheduler.interrupted.load(Ordering::SeqCst);
            let mut failures: Vec<Failure> = scheduler
                .unobserved_failures()
                .into_iter()
                .map(|(task_id, report)| Failure { task_id, report })
                .collect();
            failures.sort_by_key(|f| f.task_id);
            report.failures = failures;
            Ok::<_, LoadError>(report)
        })?;
        watcher.abort();
        Ok(report)
    }
}

/// The directory a script's `require` looks in first.
pub fn script_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_runs_source_and_reports_unjoined_failures() {
        let rt = Runtime::new(RuntimeOptions::default()).expect("runtime");
        rt.lua().globals().set("answer", 42).expect("set global");
        let ok = rt.run_source(
            "ok",
            "local h = task.spawn(function() return answer end); assert(h:join() == 42)",
        );
        assert_eq!(ok.expect("runs").exit_code(), 0);
        let failed = rt
            .run_source("bad", "task.spawn(function() error('lost') end)")
            .expect("runs");
        assert_eq!(failed.exit_code(), 1);
        assert!(
            failed.failures[0].report.contains("bad:1: lost"),
            "{:?}",
            failed.failures
        );
    }
}
