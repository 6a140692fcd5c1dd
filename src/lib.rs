//! drover: ops automation in Lua 5.4 over SSH, as a library whose first user is the `drover`
//! command. A plain sequential script runs as a task; every call that waits (`ssh.run`,
//! `sftp.put`, `task.sleep`, a queue's `get`) suspends only its own coroutine while every
//! other task keeps running, so one script run once per host fans out over hundreds of hosts.
//!
//! # The runtime model
//!
//! A [`Runtime`] owns one Lua VM. It lives on the thread that built it (Lua values are not
//! `Send`), and its tasks — Lua coroutines turned into futures — run on a tokio `LocalSet`:
//! the runtime's own for the blocking entry points ([`Runtime::eval`],
//! [`Runtime::run_script`], [`Runtime::run_fanout`], [`Runtime::run_batch`]), or the caller's
//! for their `_async` forms. Network I/O (russh sessions, SFTP) runs on a multi-thread tokio
//! runtime beside the VM (or, with [`RuntimeBuilder::current_thread_io`], on the VM's thread):
//! the runtime's own, or the caller's when it was built inside one (it then starts none).
//!
//! A runtime outlives a run. Each eval runs its chunk as the root task of its own scope and
//! returns when that root ends; tasks it spawned keep running into later evals, its error or
//! cancellation touches only its own tasks, globals persist, and a host's SSH connection is
//! reused by the next command on it. A per-host run ([`Runtime::run_fanout`]) instantiates
//! the compiled [`Script`] once per host, each copy with its own global environment (reads
//! fall back to the shared globals; `shared` is shared on purpose) and its own task, in which
//! that host is current: `ssh.run` and `sftp.*` act on it.
//!
//! Every task carries its context — current host, the host whose output it prints, its eval's
//! scope with the [`EventSink`] — and its children inherit it. Everything a run says is an
//! [`Event`] on that sink: output lines, prints, log lines, transfer progress, host starts and ends,
//! warnings, the summary. The CLI's [`Renderer`] is one sink; an embedder plugs in its own.
//! Runs return a [`RunReport`]; the library never prints, exits the process, installs signal
//! handlers or prompts: cancellation comes from the caller ([`EvalOptions::cancel`], a
//! tokio-util `CancellationToken`), as the CLI does on SIGINT, SIGTERM and SIGHUP.
//!
//! ```
//! let rt = drover::Runtime::builder().build()?;
//! rt.eval("queue = task.queue(); task.spawn(function() queue:put(6 * 7) end)")?;
//! let answer = rt.eval("return queue:get()")?;
//! assert_eq!(answer.into_iter().next().and_then(|v| v.as_integer()), Some(42));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! Dependencies point one way: `cli → runtime → lua → {ssh, inventory, report}`; the three
//! leaves import none of each other (`nodeset` and `connection` are leaves they share).
//!
//! - `cli` (a module of the binary, `src/main.rs`, so it can use only this public API): clap
//!   glue, one file per subcommand (`run`, `hosts`, `exec`/`put`/`get`; `repl/`, the REPL:
//!   rustyline on a reader thread, one eval per entered chunk), the
//!   shared target flags, and the process: signals (the first cancels the run, a second
//!   exits), the open-files limit, prompts, the renderer on stdout/stderr, exit codes; the only
//!   user of clap, rustyline and rpassword, and the only code that prints.
//! - [`runtime`]: [`Runtime`] and its [`RuntimeBuilder`]; evals and scopes (`eval.rs`), compiled
//!   scripts (`script.rs`), target resolution over the inventory (`targets.rs`), per-host
//!   runs (`fanout.rs`, driving `stdlib/internal/fanout.lua`), batch exec / put / get without
//!   Lua (`batch.rs`), the default Lua memory limit (`memory.rs`).
//! - `lua`: the Lua modules and their registry (`lua::install`): `task` (the task core, its
//!   scopes, and the module: sleep, pools, queues, events, semaphores, timeouts), `host`
//!   (host objects and the one method table their methods come from: `ssh` adds `run`,
//!   `sftp` the file methods, the stdlib and host programs their own), `ssh`, `sftp` and
//!   `inventory` (the Lua faces of the leaves), `error_value` (ssh and sftp failures as Lua
//!   values: `err.kind`, `err.host`, ...), `output` (print and stdout writes as events),
//!   `log` (leveled log lines as events), `opcore` (the Rust half of the operations helper
//!   `stdlib/drover/op.lua`: the eval's check and diff mode, `Op` events, secrets masked, and
//!   the check-mode gate `ssh.run` and sftp writes ask), `diff` (unified diffs of file contents
//!   with lines holding secrets hidden), `secret` (`secret(value)`, shown as `<secret>`, and
//!   the run's secrets gathered from hosts and inventory variables), `require` (the embedded stdlib answering every
//!   `drover.*` name, and the module search path of a run), `fleet` (the current targets,
//!   `fleet.run` over them, result sets), `coroutine` (forwarders so suspensions inside user
//!   coroutines reach the scheduler), `preempt` (the watchdog that preempts CPU-bound Lua), `errors` (messages and
//!   tracebacks without internal frames), `exit` (`os.exit` that ends a host's script or the
//!   eval, never the process).
//! - [`inventory`]: the INI inventory (a strict line scan with file:line errors, cross-checked
//!   by rust-ini; the group graph; variable precedence), inventories built in code
//!   ([`inventory::InventoryBuilder`]), and target selection (`-H`, `-g`, `-l` narrowing
//!   patterns); a host resolves to its groups, variables and connection values
//!   ([`inventory::HostVars`]), which the runtime turns into a [`Target`] ([`ResolvedHost`]).
//! - [`report`]: [`Event`] and [`EventSink`], the [`Renderer`] (live, gathered, JSON; its
//!   operation lines and per-host op counts in `render/ops.rs`), [`RunReport`], and the
//!   run's [`report::Secrets`] with the sink wrapper that masks them out of every event
//!   (`secrets.rs`).
//! - `ssh`: russh client sessions, no Lua and no process-wide state: an `SshContext`
//!   (`context.rs`) owns what connections share (handshake caps, decrypted keys, the
//!   passphrase prompt and its answers, warnings, `~/.ssh/config` files read, clean-ups), one
//!   per runtime. `connect.rs` makes a session (caps, retries by `io::ErrorKind`, ProxyJump),
//!   `jump.rs` is the one ProxyJump chain guard, `auth.rs` authenticates (agent, keys and
//!   their cache, password, keyboard-interactive), `host_key.rs` checks known_hosts,
//!   `target.rs` is the one way to make a [`Target`] (defaults, `user@host:port` over a base,
//!   a host's connection values under `~/.ssh/config`), `session.rs` is the connection and
//!   its channel slots, `exec.rs` runs commands (TERM on
//!   cancel), `ssh_config.rs` reads `~/.ssh/config`, `limits.rs` reads the open-files limit;
//!   `sftp/` (one SFTP session per connection: atomic uploads, pipelined and bounded
//!   transfers, trees, downloads confined below their directory by directory descriptors) and
//!   `cleanup.rs` (remote clean-ups of drop guards, drained by their context before a run
//!   ends).
//! - `nodeset`: ClusterShell node sets (`web[01-20]`): bounded expansion and folding.
//! - `connection`: the syntax of connection values (ports, timeouts, `user@host:port`, host
//!   key policies, key names), checked the same way wherever they come from: the inventory
//!   checks them as it scans (errors name the line), `ssh` converts them into targets.
//! - `stdlib/drover/`: the Lua halves of modules (embedded) and `_meta/` LuaLS type files;
//!   `facts.lua` (read-only host facts, cached per host in the run's `task.run_state()`, with
//!   check mode's predictions) with its pure parsers in `facts/parse.lua` and its remote
//!   commands in `facts/commands.lua`; `op.lua` is the one helper operations are declared
//!   through (check mode, diff, the `Op` event, error context, fact invalidation), `file.lua`,
//!   `command.lua`, `pkg.lua`, `service.lua`, `user.lua` and `group.lua` the operations
//!   (`shadow.lua`: the names, ids and tools users and groups share), `template.lua` the
//!   `{{ name }}` templates.

#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

// The README's Rust examples compile as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod connection;
pub mod inventory;
mod lua;
mod nodeset;
pub mod report;
pub mod runtime;
mod ssh;

pub use report::{
    Changed, ErrorReport, Event, EventSink, Failure, HostReport, JsonEvent, LogLevel, Mode,
    Outcome, RenderOptions, Renderer, RunReport, Stream,
};
pub use runtime::batch::{BatchOp, BatchOptions};
pub use runtime::fanout::FanoutOptions;
pub use runtime::{
    EvalError, EvalOptions, LoadError, ResolvedHost, Runtime, RuntimeBuilder, RuntimeError, Script,
};
pub use ssh::{BadHostKeyPolicy, HostKeyPolicy, Secret, Target};
