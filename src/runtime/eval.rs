//! Evals: one chunk as the root task of its own [`Scope`], on the caller's `LocalSet` (async
//! entry points) or the runtime's own (blocking ones). An eval returns when its root ends;
//! a script run also waits for every task the script spawned.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mlua::{Function, MultiValue, Table, Value};
use tokio_util::sync::CancellationToken;

use super::{CLEANUP_WAIT, LoadError, Runtime, RuntimeError, Script};
use crate::lua::task::{Scheduler, Scope, TaskInner, TaskStatus};
use crate::report::{ErrorReport, Failure, RunReport};

/// How to run one eval or script.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Cancels the eval's tasks (and only them) when triggered: they stop at their next
    /// suspension, remote commands get TERM. The CLI triggers it on SIGINT/SIGTERM/SIGHUP.
    pub cancel: Option<CancellationToken>,
    /// Past this, the eval's tasks are cancelled and it ends timed out.
    pub timeout: Option<Duration>,
}

/// Why an eval gave no values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EvalError {
    /// The chunk did not compile.
    #[error("{0}")]
    Syntax(String),
    /// The chunk raised an error.
    #[error("{0}")]
    Failed(ErrorReport),
    /// The caller cancelled it.
    #[error("cancelled")]
    Cancelled,
    /// It ran past its time limit.
    #[error("timed out after {}s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// It called `os.exit(code)`.
    #[error("os.exit({0})")]
    Exit(i32),
    /// The runtime could not run it.
    #[error("{0}")]
    Runtime(String),
}

impl From<RuntimeError> for EvalError {
    fn from(e: RuntimeError) -> Self {
        EvalError::Runtime(e.to_string())
    }
}

/// How a root task's scope ended.
pub(crate) struct RootEnd {
    pub scope: Rc<Scope>,
    pub root: Rc<TaskInner>,
    pub cancelled: bool,
    pub timed_out: Option<Duration>,
}

/// An error report from text alone (no error value to take a kind from).
pub(crate) fn error_report(report: &str) -> ErrorReport {
    ErrorReport::from_text(None, report)
}

/// The error report of a failed task, its kind from the value it failed with; marks the
/// failure observed.
pub(crate) fn task_error(task: &TaskInner) -> Option<ErrorReport> {
    let text = task.failure_report()?;
    task.mark_observed();
    let kind = task
        .failure_value()
        .as_ref()
        .and_then(crate::lua::error_value::error_kind)
        .map(|k| k.as_str().to_string());
    Some(ErrorReport::from_text(kind, &text))
}

impl Runtime {
    /// Runs `func(args...)` as the root task of a new scope, until the root ends (`wait_all`:
    /// until every task of the scope has), the caller cancels, `os.exit` or the time limit.
    pub(crate) async fn run_root(
        &self,
        scope: Rc<Scope>,
        func: Function,
        args: MultiValue,
        opts: &EvalOptions,
        wait_all: bool,
    ) -> Result<RootEnd, LoadError> {
        let setup = |e: mlua::Error| LoadError::Setup(crate::lua::errors::render_error(&e));
        let scheduler = Scheduler::of(&self.lua).map_err(setup)?;
        let root = scheduler.spawn_root(&scope, func, args).map_err(setup)?;
        // Raised on the I/O threads, so even a task busy in Lua sees it through the scope's
        // flag (the preemption hook checks it).
        let watcher = opts.cancel.clone().map(|token| {
            let flag = Arc::clone(&scope.cancelled);
            tokio::spawn(async move {
                token.cancelled().await;
                flag.store(true, Ordering::SeqCst);
            })
        });
        let cancelled = async {
            match &opts.cancel {
                Some(t) => t.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let root_done = async {
            root.finished().await;
            if wait_all {
                if root.status() == TaskStatus::Failed {
                    // The script is dead: tasks still waiting for it (on a queue it would
                    // have filled, say) would wait forever. Stop them rather than hang.
                    scope.cancel_tasks();
                }
                scope.wait_idle().await;
            }
        };
        let time_limit = async {
            match opts.timeout {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let mut end = RootEnd {
            scope: Rc::clone(&scope),
            root: Rc::clone(&root),
            cancelled: false,
            timed_out: None,
        };
        let stopping = tokio::select! {
            _ = root_done => false,
            _ = cancelled => {
                end.cancelled = true;
                scope.cancel();
                true
            }
            _ = scope.exit_requested() => true,
            _ = time_limit => {
                end.timed_out = opts.timeout;
                true
            }
        };
        if stopping {
            scope.cancel_tasks();
            if wait_all {
                scope.wait_idle().await;
            } else {
                root.finished().await;
            }
        }
        if let Some(w) = watcher {
            w.abort();
        }
        Ok(end)
    }

    /// A run's global environment: `arg` of its own; reads and writes of other globals go
    /// to the shared globals.
    fn run_env(&self, script: &Script, args: &[String]) -> mlua::Result<Table> {
        let env = self.lua.create_table()?;
        env.raw_set("arg", script.arg_table(&self.lua, args)?)?;
        let meta = self.lua.create_table()?;
        meta.raw_set("__index", self.lua.globals())?;
        meta.raw_set("__newindex", self.lua.globals())?;
        env.set_metatable(Some(meta))?;
        Ok(env)
    }

    /// Points `require` at the runtime's module path with the script's directory (and its `lib/`) in it.
    pub(crate) fn set_search_path(&self, script: &Script) -> Result<(), LoadError> {
        let setup = |e: mlua::Error| LoadError::Setup(format!("package.path: {e}"));
        let path = self.search.for_script(script.dir());
        let package: Table = self.lua.globals().get("package").map_err(setup)?;
        package.set("path", path).map_err(setup)
    }

    /// Runs `script` with `args` (its `...` and `arg`) once, without hosts, until it and
    /// every task it spawned have finished. Must be awaited inside a `LocalSet`.
    pub async fn run_script_async(
        &self,
        script: &Script,
        args: &[String],
        opts: &EvalOptions,
    ) -> Result<RunReport, LoadError> {
        let setup = |e: mlua::Error| LoadError::Setup(crate::lua::errors::render_error(&e));
        self.set_search_path(script)?;
        let env = self.run_env(script, args).map_err(setup)?;
        let chunk = script.instantiate(&self.lua, env)?;
        let argv: MultiValue = args
            .iter()
            .map(|a| self.lua.create_string(a).map(Value::String))
            .collect::<mlua::Result<_>>()
            .map_err(setup)?;
        let scope = self.new_scope();
        let end = self.run_root(scope, chunk, argv, opts, true).await?;
        // Cancelled remote commands send TERM, abandoned uploads remove their temp files:
        // let those reach the hosts before the caller ends the process.
        self.ssh.drain_cleanups(CLEANUP_WAIT).await;
        let mut report = self.report_of(&end);
        self.secrets.redact_report(&mut report);
        Ok(report)
    }

    /// [`run_script_async`](Self::run_script_async) on the runtime's own threads.
    ///
    /// ```
    /// use drover::{EvalOptions, Runtime, Script};
    /// let rt = Runtime::builder().build()?;
    /// let script = Script::from_source("sum", "local a, b = ... return a + b")?;
    /// let report = rt.run_script(&script, &["2".into(), "3".into()], &EvalOptions::default())?;
    /// assert!(report.ok());
    /// assert_eq!(report.values, [serde_json::json!(5)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_script(
        &self,
        script: &Script,
        args: &[String],
        opts: &EvalOptions,
    ) -> Result<RunReport, LoadError> {
        self.block_on("run_script", self.run_script_async(script, args, opts))
            .map_err(|e| LoadError::Setup(e.to_string()))?
    }

    /// The report of a script run without hosts.
    fn report_of(&self, end: &RootEnd) -> RunReport {
        let mut report = RunReport {
            cancelled: end.cancelled,
            timed_out: end.timed_out,
            exit: end.scope.exit_code(),
            ..RunReport::default()
        };
        if let Some(error) = task_error(&end.root) {
            report.failures.push(Failure {
                task: end.root.id,
                root: true,
                error,
            });
        }
        if end.root.status() == TaskStatus::Done
            && let Ok(values) = end.root.result(&self.lua)
        {
            report.values = values
                .into_iter()
                .skip(1)
                .map(|v| json_value(&self.lua, v))
                .collect();
        }
        for (task, text) in end.scope.unobserved_failures() {
            report.failures.push(Failure {
                task,
                root: false,
                error: error_report(&text),
            });
        }
        report
    }

    /// Runs `chunk` as its own root task and returns its values when it ends; tasks it
    /// spawned keep running after it returns, globals it set stay set. `opts` may cancel it
    /// (only its own tasks) or bound its time. Must be awaited inside a `LocalSet` (the one
    /// where earlier evals' tasks run).
    ///
    /// Inside the caller's tokio runtime (the builder then starts none of its own):
    ///
    /// ```
    /// use drover::{EvalError, EvalOptions, Runtime};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let local = tokio::task::LocalSet::new();
    /// local.block_on(&tokio, async {
    ///     let rt = Runtime::builder().build()?;
    ///     // a background task of this eval keeps running after it returns
    ///     rt.eval_async("ticks = 0; task.spawn(function() while true do ticks = ticks + 1; task.sleep(0.01) end end)",
    ///         &EvalOptions::default()).await?;
    ///     // cancelling one eval touches only its own tasks
    ///     let cancel = CancellationToken::new();
    ///     let opts = EvalOptions { cancel: Some(cancel.clone()), ..Default::default() };
    ///     let stopper = async { tokio::time::sleep(std::time::Duration::from_millis(50)).await; cancel.cancel() };
    ///     let (slept, ()) = tokio::join!(rt.eval_async("task.sleep(60)", &opts), stopper);
    ///     assert!(matches!(slept, Err(EvalError::Cancelled)));
    ///     let ticks = rt.eval_async("return ticks", &EvalOptions::default()).await?;
    ///     assert!(ticks[0].as_integer().unwrap_or(0) > 1, "the background task still runs");
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })
    /// # }
    /// ```
    pub async fn eval_async(
        &self,
        chunk: &str,
        opts: &EvalOptions,
    ) -> Result<MultiValue, EvalError> {
        let func = self
            .lua
            .load(chunk)
            .set_name("=eval")
            .into_function()
            .map_err(|e| EvalError::Syntax(crate::lua::errors::render_error(&e)))?;
        let scope = self.new_scope();
        let end = self
            .run_root(scope, func, MultiValue::new(), opts, false)
            .await
            .map_err(|e| EvalError::Runtime(e.to_string()))?;
        if let Some(t) = end.timed_out {
            return Err(EvalError::TimedOut(t));
        }
        if let Some(code) = end.scope.exit_code() {
            return Err(EvalError::Exit(code));
        }
        match end.root.status() {
            TaskStatus::Done => {
                let mut values = end
                    .root
                    .result(&self.lua)
                    .map_err(|e| EvalError::Runtime(e.to_string()))?;
                values.pop_front();
                Ok(values)
            }
            TaskStatus::Failed => {
                let mut error = task_error(&end.root).unwrap_or_else(|| error_report("failed"));
                self.secrets.redact_error(&mut error);
                Err(EvalError::Failed(error))
            }
            TaskStatus::Cancelled | TaskStatus::Running => Err(EvalError::Cancelled),
        }
    }

    /// [`eval_async`](Self::eval_async) on the runtime's own threads, without a cancellation
    /// or time limit. Tasks an eval left
    /// running go on during the next blocking call.
    ///
    /// ```
    /// let rt = drover::Runtime::builder().build()?;
    /// rt.eval("counter = 41")?;
    /// let v = rt.eval("counter = counter + 1; return counter")?;
    /// assert_eq!(v.into_iter().next().and_then(|v| v.as_integer()), Some(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn eval(&self, chunk: &str) -> Result<MultiValue, EvalError> {
        self.eval_with(chunk, &EvalOptions::default())
    }

    /// [`eval`](Self::eval) with a cancellation and a time limit.
    pub fn eval_with(&self, chunk: &str, opts: &EvalOptions) -> Result<MultiValue, EvalError> {
        self.block_on("eval", self.eval_async(chunk, opts))?
    }
}

/// A Lua value as JSON (what a report can carry): tables become arrays or objects,
/// functions and userdata their `tostring`.
pub(crate) fn json_value(lua: &mlua::Lua, value: Value) -> serde_json::Value {
    use mlua::LuaSerdeExt;
    match lua.from_value::<serde_json::Value>(value.clone()) {
        Ok(v) => v,
        Err(_) => serde_json::Value::String(
            value
                .to_string()
                .unwrap_or_else(|_| value.type_name().to_string()),
        ),
    }
}
