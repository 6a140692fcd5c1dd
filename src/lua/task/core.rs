//! The task core: Lua coroutines as tokio futures on one thread.
//!
//! A task is `task_main(fn, ...)` run by `Function::call_async`, wrapped in `TaskFuture` and
//! `spawn_local`ed. `task_main` runs `fn` under `xpcall` with a message handler that captures the
//! error value and its traceback (see `stdlib/internal/task.lua`), so a task never ends in a Rust
//! error unless the machinery itself broke.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use mlua::{AnyUserData, Function, Lua, MultiValue, Value};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::scope::{Scope, ScopeTask};
use crate::lua::errors::TaskFailure;
use crate::lua::preempt::Preempt;

/// What became of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    Running,
    Done,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "running",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

enum Outcome {
    Values(MultiValue),
    Failed(TaskFailure),
    Cancelled,
}

/// One task's shared state; a Lua handle (`TaskHandle`) points at it.
pub(crate) struct TaskInner {
    pub id: u64,
    status: Cell<TaskStatus>,
    outcome: RefCell<Option<Outcome>>,
    finished: Notify,
    /// Someone joined it or looked at its failure: no "unobserved error" report.
    observed: Cell<bool>,
    abort: RefCell<Option<AbortHandle>>,
    cancel_requested: Cell<bool>,
    /// Set by `task.timeout`: past it, the preemption hook may stop the task where it cannot yield.
    deadline: Cell<Option<Instant>>,
    /// Released when the task ends, however it ends (e.g. a pool slot).
    guard: RefCell<Option<Box<dyn std::any::Any>>>,
    /// The Lua state of the task's coroutine (bound by `task_main` when it starts).
    state: Cell<*mut mlua::ffi::lua_State>,
    /// The task's current host (an `ssh` host object), inherited by tasks it spawns.
    host: RefCell<Option<Value>>,
    /// The eval this task belongs to, inherited by tasks it spawns.
    scope: Rc<Scope>,
    /// The host whose part of a per-host run this task is: its prints are that host's
    /// output. Inherited by tasks it spawns.
    label: RefCell<Option<Rc<str>>>,
}

impl TaskInner {
    pub(crate) fn status(&self) -> TaskStatus {
        self.status.get()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.status.get() != TaskStatus::Running
    }

    /// Waits until the task has finished (any outcome).
    pub(crate) async fn finished(&self) {
        loop {
            let notified = self.finished.notified();
            if self.is_finished() {
                return;
            }
            notified.await;
        }
    }

    /// Requests cancellation: the task stops at its next suspension point.
    pub(crate) fn cancel(&self) {
        if self.is_finished() {
            return;
        }
        self.cancel_requested.set(true);
        if let Some(abort) = self.abort.borrow().as_ref() {
            abort.abort();
        }
    }

    /// The task's current host, if any.
    pub(crate) fn host(&self) -> Option<Value> {
        self.host.borrow().clone()
    }

    /// Replaces the task's current host; returns the previous one.
    pub(crate) fn set_host(&self, host: Option<Value>) -> Option<Value> {
        self.host.replace(host)
    }

    /// The eval this task belongs to.
    pub(crate) fn scope(&self) -> &Rc<Scope> {
        &self.scope
    }

    /// The host whose output this task's prints are, in a per-host run.
    pub(crate) fn label(&self) -> Option<Rc<str>> {
        self.label.borrow().clone()
    }

    /// Makes this task's prints (and those of tasks it spawns from now on) `host`'s output.
    pub(crate) fn set_label(&self, host: Option<Rc<str>>) {
        *self.label.borrow_mut() = host;
    }

    /// Someone joined the task or looked at its failure.
    pub(crate) fn is_observed(&self) -> bool {
        self.observed.get()
    }

    /// Records the task's coroutine (for preemption and yieldability checks).
    pub(crate) fn bind_state(&self, state: *mut mlua::ffi::lua_State) {
        self.state.set(state);
    }

    pub(crate) fn set_deadline(&self, at: Instant) {
        self.deadline.set(Some(at));
    }

    pub(crate) fn set_guard(&self, guard: Box<dyn std::any::Any>) {
        *self.guard.borrow_mut() = Some(guard);
    }

    pub(crate) fn mark_observed(&self) {
        self.observed.set(true);
    }

    /// `(true, values...)`, `(false, error)` or `(false, "cancelled: ...")` for a finished task.
    pub(crate) fn result(&self, lua: &Lua) -> mlua::Result<MultiValue> {
        self.observed.set(true);
        let outcome = self.outcome.borrow();
        let mut out = MultiValue::new();
        match outcome.as_ref() {
            Some(Outcome::Values(values)) => {
                out.push_back(Value::Boolean(true));
                out.extend(values.iter().cloned());
            }
            Some(Outcome::Failed(failure)) => {
                out.push_back(Value::Boolean(false));
                out.push_back(failure.reraise.clone());
            }
            Some(Outcome::Cancelled) => {
                out.push_back(Value::Boolean(false));
                out.push_back(Value::String(lua.create_string(format!(
                    "cancelled: task {} was cancelled",
                    self.id
                ))?));
            }
            None => return Err(mlua::Error::RuntimeError("task has not finished".into())),
        }
        Ok(out)
    }

    /// The value the task failed with (what `join` re-raises), if it failed.
    pub(crate) fn failure_value(&self) -> Option<Value> {
        match self.outcome.borrow().as_ref() {
            Some(Outcome::Failed(f)) => Some(f.reraise.clone()),
            _ => None,
        }
    }

    /// The failure report, if the task failed.
    pub(crate) fn failure_report(&self) -> Option<String> {
        match self.outcome.borrow().as_ref() {
            Some(Outcome::Failed(f)) => Some(f.report.clone()),
            _ => None,
        }
    }

    fn finish(&self, outcome: Outcome) {
        let status = match &outcome {
            Outcome::Values(_) => TaskStatus::Done,
            Outcome::Failed(_) => TaskStatus::Failed,
            Outcome::Cancelled => TaskStatus::Cancelled,
        };
        *self.outcome.borrow_mut() = Some(outcome);
        self.status.set(status);
        self.abort.borrow_mut().take();
        drop(self.guard.borrow_mut().take());
        self.finished.notify_waiters();
    }
}

impl ScopeTask for TaskInner {
    fn id(&self) -> u64 {
        self.id
    }

    fn cancel(&self) {
        TaskInner::cancel(self);
    }

    fn is_observed(&self) -> bool {
        TaskInner::is_observed(self)
    }

    fn failure_report(&self) -> Option<String> {
        TaskInner::failure_report(self)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<TaskInner>>> = const { RefCell::new(None) };
}

/// The task being polled right now, if any.
pub(crate) fn current_task() -> Option<Rc<TaskInner>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The fleet's only current target (`fleet.targets` keeps it; none when there are several):
/// the host a task without a host of its own acts on, so `ssh.run` works in `drover repl
/// -H web1` as in a script run on web1.
pub(crate) struct SoleTarget(pub(crate) mlua::RegistryKey);

/// The host `ssh.run`, `sftp.*` and operations act on: the current task's, else the fleet's
/// sole target.
pub(crate) fn current_host(lua: &mlua::Lua) -> mlua::Result<Option<Value>> {
    if let Some(host) = current_task().and_then(|t| t.host()) {
        return Ok(Some(host));
    }
    match lua.app_data_ref::<SoleTarget>() {
        Some(sole) => lua.registry_value(&sole.0).map(Some),
        None => Ok(None),
    }
}

/// Every task of one Lua VM: ids, the live count, the preemption watchdog. What belongs to
/// one eval (cancellation, unjoined failures) is in its [`Scope`].
pub(crate) struct Scheduler {
    next_id: Cell<u64>,
    live: Cell<usize>,
    pub preempt: Arc<Preempt>,
    task_main: Function,
}

impl Scheduler {
    pub(crate) fn new(task_main: Function, preempt: Arc<Preempt>) -> Rc<Self> {
        Rc::new(Scheduler {
            next_id: Cell::new(1),
            live: Cell::new(0),
            preempt,
            task_main,
        })
    }

    /// The scheduler of `lua` (set up by the runtime).
    pub(crate) fn of(lua: &Lua) -> mlua::Result<Rc<Scheduler>> {
        lua.app_data_ref::<Rc<Scheduler>>()
            .map(|s| Rc::clone(&s))
            .ok_or_else(|| {
                mlua::Error::RuntimeError(
                    "drover task scheduler is not installed in this Lua state".into(),
                )
            })
    }

    /// Spawns `func(args...)` as a new task of the current task's scope (inheriting its host
    /// and label). Must run inside a `LocalSet`.
    pub(crate) fn spawn(
        self: &Rc<Self>,
        func: Function,
        args: MultiValue,
    ) -> mlua::Result<Rc<TaskInner>> {
        let parent = current_task().ok_or_else(|| {
            mlua::Error::RuntimeError("task.spawn: called outside any task".into())
        })?;
        self.spawn_task(func, args, Rc::clone(&parent.scope), Some(&parent))
    }

    /// Spawns `func(args...)` as the root task of `scope`. Must run inside a `LocalSet`.
    pub(crate) fn spawn_root(
        self: &Rc<Self>,
        scope: &Rc<Scope>,
        func: Function,
        args: MultiValue,
    ) -> mlua::Result<Rc<TaskInner>> {
        self.spawn_task(func, args, Rc::clone(scope), None)
    }

    fn spawn_task(
        self: &Rc<Self>,
        func: Function,
        args: MultiValue,
        scope: Rc<Scope>,
        parent: Option<&Rc<TaskInner>>,
    ) -> mlua::Result<Rc<TaskInner>> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let mut call_args = MultiValue::with_capacity(args.len() + 1);
        call_args.push_back(Value::Function(func));
        call_args.extend(args);
        let call = Box::pin(self.task_main.call_async::<MultiValue>(call_args));
        let task = Rc::new(TaskInner {
            id,
            status: Cell::new(TaskStatus::Running),
            outcome: RefCell::new(None),
            finished: Notify::new(),
            observed: Cell::new(false),
            abort: RefCell::new(None),
            cancel_requested: Cell::new(false),
            deadline: Cell::new(parent.and_then(|t| t.deadline.get())),
            guard: RefCell::new(None),
            state: Cell::new(std::ptr::null_mut()),
            host: RefCell::new(parent.and_then(|t| t.host.borrow().clone())),
            label: RefCell::new(parent.and_then(|t| t.label())),
            scope,
        });
        let future = TaskFuture {
            call,
            task: Rc::clone(&task),
            scheduler: Rc::clone(self),
            done: false,
            backoff: None,
        };
        let handle = tokio::task::spawn_local(future);
        *task.abort.borrow_mut() = Some(handle.abort_handle());
        task.scope.enter(Rc::clone(&task) as Rc<dyn ScopeTask>);
        self.live.set(self.live.get() + 1);
        Ok(task)
    }

    /// Number of tasks not yet finished, in every scope.
    pub(crate) fn live_count(&self) -> usize {
        self.live.get()
    }

    fn ended(&self, task: &Rc<TaskInner>, failed: bool) {
        self.live.set(self.live.get().saturating_sub(1));
        task.scope
            .leave(Rc::clone(task) as Rc<dyn ScopeTask>, failed);
    }

    /// Why the current task must stop now, if it must (for the preemption hook).
    pub(crate) fn stop_reason(&self) -> Option<String> {
        let task = current_task()?;
        if task.scope.is_cancelled() {
            return Some("interrupted".into());
        }
        if task.cancel_requested.get() {
            return Some(format!("cancelled: task {} was cancelled", task.id));
        }
        match task.deadline.get() {
            Some(at) if Instant::now() >= at => Some("timeout: task.timeout expired".into()),
            _ => None,
        }
    }
}

struct TaskFuture {
    call: Pin<Box<mlua::function::AsyncCallFuture<MultiValue>>>,
    task: Rc<TaskInner>,
    scheduler: Rc<Scheduler>,
    done: bool,
    backoff: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Future for TaskFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.task.cancel_requested.get() || self.task.scope.is_cancelled() {
            // Dropping the call future terminates the coroutine and runs its `<close>` variables.
            return Poll::Ready(());
        }
        if let Some(backoff) = self.backoff.as_mut() {
            // Preempted last time: let timers and other woken tasks run first.
            if backoff.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.backoff = None;
        }
        let previous = CURRENT.with(|c| c.replace(Some(Rc::clone(&self.task))));
        self.scheduler.preempt.begin_poll(self.task.state.get());
        let polled = self.call.as_mut().poll(cx);
        let preempted = self.scheduler.preempt.end_poll();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        let Poll::Ready(result) = polled else {
            if preempted && self.scheduler.live_count() > 1 {
                // The task's own wake is already queued locally, ahead of timers and wakes from
                // other threads; park it on a timer tick instead, so they run first.
                let mut backoff = Box::pin(tokio::time::sleep(std::time::Duration::from_millis(1)));
                if backoff.as_mut().poll(cx).is_pending() {
                    self.backoff = Some(backoff);
                }
            }
            return Poll::Pending;
        };
        let outcome = match result {
            Ok(values) => outcome_of(values),
            Err(err) => Outcome::Failed(TaskFailure {
                reraise: Value::Nil,
                report: crate::lua::errors::render_error(&err),
            }),
        };
        let failed = matches!(outcome, Outcome::Failed(_));
        self.done = true;
        self.task.finish(outcome);
        self.scheduler.ended(&self.task, failed);
        Poll::Ready(())
    }
}

impl Drop for TaskFuture {
    fn drop(&mut self) {
        if !self.done {
            self.task.finish(Outcome::Cancelled);
            self.scheduler.ended(&self.task, false);
        }
    }
}

/// `task_main` returns `(true, values...)` or `(false, TaskFailure)`.
fn outcome_of(mut values: MultiValue) -> Outcome {
    match values.pop_front() {
        Some(Value::Boolean(true)) => Outcome::Values(values),
        Some(Value::Boolean(false)) => match values.pop_front() {
            Some(Value::UserData(ud)) => match failure_of(&ud) {
                Some(f) => Outcome::Failed(f),
                None => Outcome::Failed(TaskFailure {
                    reraise: Value::UserData(ud),
                    report: "task failed".into(),
                }),
            },
            // task_main settles every failure into a TaskFailure; this is the safety net.
            other => Outcome::Failed(TaskFailure {
                report: readable_failure(other.as_ref()),
                reraise: other.unwrap_or(Value::Nil),
            }),
        },
        other => Outcome::Failed(TaskFailure {
            reraise: Value::Nil,
            report: format!(
                "task ended without a result (drover's task wrapper returned {})",
                other.as_ref().map_or("nothing", |v| v.type_name())
            ),
        }),
    }
}

/// A raw error value as report text (never Rust's debug form of it).
fn readable_failure(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.to_string_lossy(),
        Some(Value::Error(err)) => crate::lua::errors::render_error(err),
        Some(other) => format!("task failed with a {} error value", other.type_name()),
        None => "task failed without an error value".into(),
    }
}

fn failure_of(ud: &AnyUserData) -> Option<TaskFailure> {
    ud.borrow::<TaskFailure>().ok().map(|f| f.clone())
}
