//! drover: ops automation in Lua 5.4 whose coroutines are tokio futures. A plain sequential
//! script runs as a task; every call that waits (`task.sleep`, queue `get`, `ssh.run`)
//! suspends only its own coroutine while every other task keeps running.
//!
//! # Layout
//!
//! - [`cli`]: clap glue, one file per subcommand (`run`, `hosts`, `exec`/`put`/`get`), the
//!   shared target flags, and the process: signals (SIGINT / SIGTERM / SIGHUP trigger the
//!   run's `Stop`; a second one exits), the open-files limit, prompts, warnings on stderr,
//!   exit codes; the only user of clap and rpassword, and the only code that prints.
//! - [`runtime`]: the Lua VM on one thread in a tokio `LocalSet`, a multi-thread tokio runtime
//!   beside it; loads scripts, runs the root task, waits for all tasks, maps the end to a
//!   [`runtime::RunReport`] (exit codes 0 / 1 / 2 / 130 / 143 / 129). [`runtime::fanout`] runs
//!   a script once per target host; [`runtime::batch`] runs exec / put / get on every host
//!   without Lua; [`runtime::Stop`] is how a caller stops a run cleanly (the library installs
//!   no signal handler, prints nothing and never exits the process).
//! - [`inventory`]: the INI inventory (a strict line scan with file:line errors, cross-checked
//!   by rust-ini; bounded node sets; the group graph; variable precedence), the one validation
//!   path for connection values ([`inventory::connection`]: file, `-e`, `-H`, `ssh.connect`)
//!   and target selection (`-H`, `-g`, `-l` narrowing patterns).
//! - [`report`]: the one renderer of a run (live, gathered, JSON) and host outcomes.
//! - [`lua`]: the Lua modules and their registry ([`lua::install`]):
//!   - [`lua::task`]: the task core (tasks as `spawn_local`ed futures, handles, failures nobody
//!     joined) and the `task` module (sleep, pools, queues, events, semaphores, timeouts);
//!   - [`lua::coroutine`]: `coroutine.resume`/`wrap` forwarders so suspensions inside user
//!     coroutines reach the scheduler;
//!   - [`lua::preempt`]: the watchdog that preempts CPU-bound Lua through an asynchronously
//!     installed hook, so timeouts and Ctrl-C stop even a busy loop;
//!   - [`lua::errors`]: error messages and tracebacks without internal frames;
//!   - [`lua::exit`]: `os.exit` that ends a host's script or the run, never the process.
//! - [`ssh`]: russh client sessions, no Lua and no process-wide state: an [`ssh::SshContext`]
//!   (`context.rs`) owns what connections share (handshake caps, decrypted keys, the
//!   passphrase prompt and its answers, warnings, `~/.ssh/config` files read, clean-ups), one
//!   per runtime. `connect.rs` makes a [`ssh::Session`] (caps, retries by `io::ErrorKind`,
//!   ProxyJump), `jump.rs` is the one ProxyJump chain guard, `auth.rs` authenticates (agent,
//!   keys and their cache, password, keyboard-interactive), `host_key.rs` checks known_hosts,
//!   `session.rs` is the connection and its channel slots, `exec.rs` runs commands (TERM on
//!   cancel), [`ssh::ssh_config`] reads `~/.ssh/config`, [`ssh::limits`] reads the open-files
//!   limit; [`ssh::sftp`] (one SFTP session per connection in an [`ssh::sftp::SftpSlot`]:
//!   atomic uploads, pipelined and bounded transfers, trees, downloads confined below their
//!   directory by directory descriptors) and [`ssh::cleanup`] (remote clean-ups of drop
//!   guards, drained by their context before a run ends).
//!   [`lua::ssh`] is its Lua face (`ssh.connect`, `host:run`, `ssh.with`, `ssh.run`), and
//!   [`lua::sftp`] the file half (`sftp.put/get/read/write/...`, the same methods on hosts);
//!   [`lua::inventory`] gives controller scripts the inventory's hosts.
//! - `stdlib/drover/`: the Lua halves of modules (embedded) and `_meta/` LuaLS type files.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod inventory;
pub mod lua;
pub mod report;
pub mod runtime;
pub mod ssh;
