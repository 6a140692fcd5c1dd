//! Preemption of CPU-bound Lua code.
//!
//! All Lua runs on one thread, so a task spinning in a loop would freeze every other task,
//! timers, `task.timeout` and Ctrl-C. A permanent count hook would fix that but slows every
//! instruction. Instead, a watchdog thread watches how long the Lua thread has been inside one
//! task poll; past a quantum it installs a count hook *asynchronously* on the Lua state that is
//! running right now (Lua 5.4 allows `lua_sethook` from outside, as the stock `lua` interpreter
//! does from its SIGINT handler). The hook removes itself at once and yields the running task
//! (or, where Lua cannot yield, raises an error if that task must stop). Code that never runs
//! longer than a quantum pays nothing.
//!
//! From another thread that is a data race Lua tolerates only in part: `lua_sethook` marks
//! every Lua frame of the running state (`ci->trap = 1`) while the Lua thread may be turning
//! the top frame into a C one. Upstream, `trap` shares its bytes with a C frame's
//! `old_errfunc`, so that write could corrupt the error-handler index of a `pcall` in a
//! coroutine; the vendored Lua keeps `trap` apart (see Cargo.toml). What is left: the walk
//! may read a frame the collector frees at that moment (`luaE_shrinkCI` frees only frames
//! above the running one), and the hook fields are plain stores that the Lua thread may see
//! late (at most one missed or extra hook call, as Lua's own comment on `lua_sethook` says).

use std::cell::Cell;
use std::ptr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use mlua::{HookTriggers, Lua, VmState, ffi};

/// How long one task may run without yielding before it is preempted (default).
pub(crate) const QUANTUM: Duration = Duration::from_millis(20);

/// The quantum in force: `DROVER_PREEMPT_QUANTUM_MS` overrides it (0 turns preemption off;
/// meant for benchmarks and tuning).
fn quantum() -> Option<Duration> {
    match std::env::var("DROVER_PREEMPT_QUANTUM_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => Some(QUANTUM),
    }
}

thread_local! {
    /// Set when the preemption hook yielded the running coroutine; the coroutine forwarder
    /// reads (and clears) it to tell a preemption from a user `coroutine.yield()`.
    static HOOK_YIELDED: Cell<bool> = const { Cell::new(false) };
    /// Set when the hook preempted anything during the current task poll (never taken by
    /// forwarders): the task then waits one timer tick so that woken tasks and timers run.
    static PREEMPTED: Cell<bool> = const { Cell::new(false) };
    /// The state the hook fired on, for the Rust side of the hook.
    static HOOK_STATE: Cell<*mut ffi::lua_State> = const { Cell::new(ptr::null_mut()) };
    /// mlua's global hook procedure (it runs our callback with mlua's error/yield handling).
    static MLUA_HOOK: Cell<Option<ffi::lua_Hook>> = const { Cell::new(None) };
}

#[derive(Default)]
struct Slot {
    /// The innermost Lua state running now (0 when the Lua thread is outside any task).
    state: usize,
    /// Bumped at every task poll; unchanged across two watchdog ticks means "stuck".
    epoch: u64,
    /// The state the watchdog armed the hook on, until the hook fires or the Lua thread
    /// leaves that state (then the hook is disarmed: a stale hook must not fire later in
    /// another context, e.g. after the thread was recycled for a new task).
    armed: usize,
}

impl Slot {
    /// Leaves the current state: disarms a hook that did not fire while it ran.
    fn leave(&mut self) {
        if self.armed != 0 && self.armed == self.state {
            unsafe { ffi::lua_sethook(self.armed as *mut ffi::lua_State, None, 0, 0) };
            self.armed = 0;
        }
    }
}

/// The watchdog's shared view of the Lua thread.
pub(crate) struct Preempt {
    slot: Mutex<Slot>,
}

/// Decides, on the Lua thread, whether the task running when the hook fired must stop now.
pub(crate) type StopCheck = std::rc::Rc<dyn Fn() -> Option<String>>;

impl Preempt {
    /// Installs the hook machinery on `lua` and starts the watchdog thread. `must_stop` says
    /// whether the current task has to stop (cancelled, past a deadline, run interrupted): that
    /// matters only where Lua cannot yield, so the hook raises an error instead.
    pub(crate) fn install(lua: &Lua, must_stop: StopCheck) -> mlua::Result<Arc<Preempt>> {
        let callback = move |_lua: &Lua, debug: &mlua::debug::Debug| -> mlua::Result<VmState> {
            // Never preempt inside mlua's async-call wrapper: a yield there lost wakeups (a
            // task waiting in task.join_all was never polled again). It yields on its own
            // within a few instructions anyway.
            // Likewise for drover's own short Lua glue (coroutine forwarders, task helpers).
            if debug
                .source()
                .source
                .is_some_and(|s| s.contains("__mlua") || s.contains("[drover]"))
            {
                return Ok(VmState::Continue);
            }
            let state = HOOK_STATE.with(|s| s.get());
            let yieldable = !state.is_null() && unsafe { ffi::lua_isyieldable(state) } != 0;
            if yieldable {
                HOOK_YIELDED.with(|f| f.set(true));
                PREEMPTED.with(|f| f.set(true));
                return Ok(VmState::Yield);
            }
            match must_stop() {
                Some(reason) => Err(mlua::Error::RuntimeError(format!(
                    "{reason} (stopped inside a call where Lua cannot yield)"
                ))),
                None => Ok(VmState::Continue),
            }
        };
        // Register the callback as mlua's global hook, read back mlua's hook procedure, then
        // clear the triggers so that no thread pays for a hook until the watchdog arms one.
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(1_000_000),
            callback.clone(),
        )?;
        let main = lua.current_thread().state();
        let proc_ = unsafe { ffi::lua_gethook(main) };
        MLUA_HOOK.with(|h| h.set(proc_));
        lua.set_global_hook(HookTriggers::new(), callback)?;
        unsafe { ffi::lua_sethook(main, None, 0, 0) };

        let preempt = Arc::new(Preempt {
            slot: Mutex::new(Slot::default()),
        });
        if let Some(quantum) = quantum() {
            let weak = Arc::downgrade(&preempt);
            std::thread::Builder::new()
                .name("drover-preempt".into())
                .spawn(move || watchdog(weak, quantum))
                .map_err(mlua::Error::external)?;
        }
        Ok(preempt)
    }

    /// Marks the start of a task poll running `state` (null until the task has bound its
    /// coroutine, which it does first thing).
    pub(crate) fn begin_poll(&self, state: *mut ffi::lua_State) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.leave();
        slot.epoch = slot.epoch.wrapping_add(1);
        slot.state = state as usize;
    }

    /// Marks the end of a task poll; says whether the task was preempted during it.
    pub(crate) fn end_poll(&self) -> bool {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.leave();
        slot.state = 0;
        drop(slot);
        HOOK_YIELDED.with(|f| f.set(false));
        PREEMPTED.with(|f| f.replace(false))
    }

    /// Records `state` as the innermost running state; returns the previous one.
    pub(crate) fn set_current(&self, state: *mut ffi::lua_State) -> *mut ffi::lua_State {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.leave();
        std::mem::replace(&mut slot.state, state as usize) as *mut ffi::lua_State
    }

    /// The innermost running state (null outside task polls).
    pub(crate) fn current(&self) -> *mut ffi::lua_State {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).state as *mut ffi::lua_State
    }
}

/// Takes the "preempted" flag set by the hook (true once per preemption).
pub(crate) fn take_hook_yielded() -> bool {
    HOOK_YIELDED.with(|f| f.replace(false))
}

unsafe extern "C-unwind" fn drover_hook(state: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    unsafe {
        // One shot: remove ourselves first, so mlua treats a yield as a hook yield whose hook is gone.
        ffi::lua_sethook(state, None, 0, 0);
        HOOK_STATE.with(|s| s.set(state));
        if let Some(mlua_hook) = MLUA_HOOK.with(|h| h.get()) {
            mlua_hook(state, ar);
        }
    }
}

fn watchdog(preempt: Weak<Preempt>, quantum: Duration) {
    let mut last_epoch = u64::MAX;
    loop {
        std::thread::sleep(quantum);
        let Some(preempt) = preempt.upgrade() else {
            return;
        };
        let mut slot = preempt.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.state != 0 && slot.epoch == last_epoch {
            // The state is alive: it is running, and it cannot finish while we hold the lock
            // (the Lua thread takes it before leaving the poll).
            unsafe {
                ffi::lua_sethook(
                    slot.state as *mut ffi::lua_State,
                    Some(drover_hook),
                    ffi::LUA_MASKCOUNT,
                    1,
                )
            };
            slot.armed = slot.state;
        }
        last_epoch = slot.epoch;
    }
}
