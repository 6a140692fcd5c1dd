//! A scope: the tasks of one eval (one chunk, its root task and every task spawned under it).
//! Cancellation, failures nobody joined, `os.exit` and the event sink are per scope, so one
//! chunk's error or cancellation never touches the tasks of another, and a runtime serves
//! eval after eval.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::{Lua, Table};
use tokio::sync::Notify;

use crate::report::{Event, SharedSink, Stream};
use crate::ssh::LineSplitter;

/// What a scope needs of its tasks (the task core's `TaskInner` is one); a trait, so that
/// tasks and scopes, which know each other, live in files that do not import each other.
pub(crate) trait ScopeTask {
    /// The task's id.
    fn id(&self) -> u64;
    /// Asks the task to stop at its next suspension.
    fn cancel(&self);
    /// Someone joined the task or looked at its failure.
    fn is_observed(&self) -> bool;
    /// The failure report, if the task failed.
    fn failure_report(&self) -> Option<String>;
}

/// How an eval's operations act: check mode (predict, change nothing) and diffs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OpMode {
    /// Check mode: no host is changed; operations report what they would do, `ssh.run`
    /// runs only `readonly = true` commands, sftp writes are skipped.
    pub check: bool,
    /// Operations put a unified diff of file contents in their `Op` events.
    pub diff: bool,
}

/// The tasks of one eval and what they share.
pub(crate) struct Scope {
    /// Check mode and diffs for the eval's operations (fixed when the eval starts).
    pub op_mode: Cell<OpMode>,
    /// Where the tasks' events go.
    pub sink: SharedSink,
    /// Set (from any thread) when the scope is cancelled: its tasks stop at their next
    /// suspension, or where Lua cannot yield, at the preemption hook.
    pub cancelled: Arc<AtomicBool>,
    live: RefCell<HashMap<u64, Rc<dyn ScopeTask>>>,
    idle: Notify,
    failed: RefCell<Vec<Rc<dyn ScopeTask>>>,
    /// `os.exit` in a per-host run ends that host's script (else the scope).
    pub per_host_exit: Cell<bool>,
    exit: Cell<Option<i32>>,
    exit_requested: Notify,
    /// Per host of a per-host run: the root task of its script (what `os.exit` ends).
    host_roots: RefCell<HashMap<Rc<str>, Rc<dyn ScopeTask>>>,
    /// Hosts whose script called `os.exit`, with the code.
    host_exits: RefCell<HashMap<Rc<str>, i32>>,
    /// Per host of a per-host run, the partial line its script has written so far.
    partial: RefCell<HashMap<Rc<str>, LineSplitter>>,
    /// Lua state of the scope (barriers and once-blocks of a per-host run), made on first use.
    table: RefCell<Option<Table>>,
}

impl Scope {
    /// A new scope whose events go to `sink`.
    pub(crate) fn new(sink: SharedSink) -> Rc<Scope> {
        Rc::new(Scope {
            op_mode: Cell::default(),
            sink,
            cancelled: Arc::default(),
            live: RefCell::default(),
            idle: Notify::new(),
            failed: RefCell::default(),
            per_host_exit: Cell::new(false),
            exit: Cell::new(None),
            exit_requested: Notify::new(),
            host_roots: RefCell::default(),
            host_exits: RefCell::default(),
            partial: RefCell::default(),
            table: RefCell::default(),
        })
    }

    pub(crate) fn enter(&self, task: Rc<dyn ScopeTask>) {
        self.live.borrow_mut().insert(task.id(), task);
    }

    pub(crate) fn leave(&self, task: Rc<dyn ScopeTask>, failed: bool) {
        self.live.borrow_mut().remove(&task.id());
        if failed {
            self.failed.borrow_mut().push(task);
        }
        if self.live.borrow().is_empty() {
            self.idle.notify_waiters();
        }
    }

    /// Whether the scope was cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Cancels every task of the scope (they stop at their next suspension).
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.cancel_tasks();
    }

    /// Cancels the scope's live tasks without marking the scope cancelled (the root failed:
    /// tasks waiting for it would wait forever).
    pub(crate) fn cancel_tasks(&self) {
        let tasks: Vec<Rc<dyn ScopeTask>> = self.live.borrow().values().cloned().collect();
        for t in tasks {
            t.cancel();
        }
    }

    /// Waits until every task of the scope has finished.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.live.borrow().is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Failed tasks whose error nobody joined or inspected, in task order: (id, report).
    pub(crate) fn unobserved_failures(&self) -> Vec<(u64, String)> {
        let mut out: Vec<(u64, String)> = self
            .failed
            .borrow()
            .iter()
            .filter(|t| !t.is_observed())
            .filter_map(|t| t.failure_report().map(|r| (t.id(), r)))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// Asks the scope to end with `code` (`os.exit` outside a per-host run).
    pub(crate) fn request_exit(&self, code: i32) {
        if self.exit.get().is_none() {
            self.exit.set(Some(code));
        }
        self.exit_requested.notify_waiters();
    }

    /// The code `os.exit` asked the scope to end with.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exit.get()
    }

    /// Waits until a task asks the scope to end.
    pub(crate) async fn exit_requested(&self) {
        loop {
            let notified = self.exit_requested.notified();
            if self.exit.get().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Records the root task of `host`'s script in a per-host run.
    pub(crate) fn set_host_root(&self, host: Rc<str>, task: Rc<dyn ScopeTask>) {
        self.host_roots.borrow_mut().insert(host, task);
    }

    /// `os.exit(code)` in `host`'s script: ends that script (its root task).
    pub(crate) fn request_host_exit(&self, host: Rc<str>, code: i32) {
        if let Some(root) = self.host_roots.borrow().get(&host) {
            root.cancel();
        }
        self.host_exits.borrow_mut().entry(host).or_insert(code);
    }

    /// The code `host`'s script exited with, if it called `os.exit`; forgets it and the
    /// script's root (the host has ended).
    pub(crate) fn take_host_exit(&self, host: &str) -> Option<i32> {
        self.host_roots.borrow_mut().remove(host);
        self.host_exits.borrow_mut().remove(host)
    }

    /// Text `host`'s script wrote (print, io.write): its whole lines go out as the host's
    /// stdout lines; a partial line waits for its newline, the host's end, or 64 KiB.
    pub(crate) fn host_output(&self, host: &Rc<str>, text: &[u8]) {
        let mut partial = self.partial.borrow_mut();
        let lines = partial.entry(Rc::clone(host)).or_default();
        lines.feed(text, |line| self.emit_line(host, line));
    }

    /// Sends `host`'s last partial line (its script has ended).
    pub(crate) fn flush_host_output(&self, host: &str) {
        let taken = self.partial.borrow_mut().remove_entry(host);
        if let Some((host, mut lines)) = taken {
            lines.finish(|line| self.emit_line(&host, line));
        }
    }

    fn emit_line(&self, host: &str, line: &[u8]) {
        self.sink.event(&Event::Line {
            host: host.to_string(),
            stream: Stream::Stdout,
            line: String::from_utf8_lossy(line).into_owned(),
        });
    }

    /// The scope's Lua table (made on first use).
    pub(crate) fn table(&self, lua: &Lua) -> mlua::Result<Table> {
        if let Some(t) = self.table.borrow().as_ref() {
            return Ok(t.clone());
        }
        let t = lua.create_table()?;
        *self.table.borrow_mut() = Some(t.clone());
        Ok(t)
    }
}
