//! `drover repl [targets]`: an interactive Lua shell over the fleet, a thin layer over the
//! library: one long-lived [`drover::Runtime`] whose tasks run on this thread's `LocalSet`
//! while a reader thread waits for input, one eval per entered chunk, `fleet.run` for shell
//! lines, the renderer for their output.
//!
//! - `line.rs`: what a line is (Lua, `!CMD`, `!!`, `:command`) and when a chunk is complete;
//! - `commands.rs`: the `:` commands and their help;
//! - `session.rs`: evaluation, results, targets, confirmation, Ctrl-C;
//! - `reader.rs`: the reading thread (rustyline on a terminal, stdin when piped);
//! - `complete.rs`: completion from a snapshot of the Lua side, multi-line validation;
//! - `output.rs`: the screen (the editor's printer on a terminal) and the renderer switch;
//! - `pretty.rs`: how values print; `history.rs`: the history file and its secret filter;
//! - `script.rs`: `:save`; `interrupt.rs`: signals; `results.lua`: `_`, `_1`, `_2`, ...

mod commands;
mod complete;
mod history;
mod interrupt;
mod line;
mod output;
mod pretty;
mod reader;
mod script;
mod session;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use mlua::Table;

use super::targets::{MAX_TIMEOUT_SECS, TargetArgs};
use output::{Screen, Switch};
use session::Session;

const RESULTS_LUA: &str = include_str!("results.lua");

#[derive(Args, Debug)]
pub struct ReplArgs {
    /// The initial targets (`:targets` changes them).
    #[command(flatten)]
    targets: TargetArgs,
    #[command(flatten)]
    modules: super::modules::ModuleArgs,
    /// Hosts a shell line runs on at once (`:forks`).
    #[arg(short = 'f', long, default_value_t = 64)]
    forks: usize,
    /// Seconds per host for a shell line (`:timeout`).
    #[arg(short = 't', long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Gather shell output by identical output at the end (`:gather on`).
    #[arg(short = 'b', long = "gather")]
    gather: bool,
    /// Ask before a shell line first reaches more than N hosts (`:confirm`).
    #[arg(long, value_name = "N", default_value_t = 50)]
    confirm: usize,
    /// Never ask before a shell line.
    #[arg(short = 'y', long)]
    yes: bool,
}

/// Runs the REPL; the exit code.
pub fn run(args: ReplArgs) -> i32 {
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("drover: cannot start the tokio runtime: {e}");
            return super::EXIT_USAGE;
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let local = tokio::task::LocalSet::new();
    let code = local.block_on(&tokio, start(args, interactive));
    drop(local);
    tokio.shutdown_timeout(Duration::from_secs(1));
    code
}

/// `{hosts = {...}, groups = {...}, pattern = "..."}` for the initial targets (`-H @FILE`
/// lists read); `None` without target flags.
fn spec_literal(args: &TargetArgs) -> Result<Option<String>, String> {
    let (spec, _) = args.listed_spec()?;
    if spec.hosts.is_empty() && spec.groups.is_empty() && spec.pattern.is_none() {
        return Ok(None);
    }
    let list = |v: &[String]| {
        v.iter()
            .map(|s| pretty::quoted(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !spec.hosts.is_empty() {
        parts.push(format!("hosts = {{ {} }}", list(&spec.hosts)));
    }
    if !spec.groups.is_empty() {
        parts.push(format!("groups = {{ {} }}", list(&spec.groups)));
    }
    if let Some(p) = &spec.pattern {
        parts.push(format!("pattern = {}", pretty::quoted(p)));
    }
    Ok(Some(format!("{{ {} }}", parts.join(", "))))
}

async fn start(args: ReplArgs, interactive: bool) -> i32 {
    let fail = |e: String| {
        eprintln!("drover: {e}");
        super::EXIT_USAGE
    };
    if let Some(t) = args.timeout
        && !(t > 0.0 && t <= MAX_TIMEOUT_SECS)
    {
        return fail(format!(
            "--timeout {t}: must be a number of seconds more than 0 and at most {MAX_TIMEOUT_SECS}"
        ));
    }
    let interrupts = match interrupt::Interrupts::install() {
        Ok(i) => i,
        Err(e) => return fail(format!("cannot handle signals: {e}")),
    };
    let snapshot: complete::SharedSnapshot = Arc::default();
    let (reply_tx, replies) = tokio::sync::mpsc::unbounded_channel();
    let (screen, requests) = if interactive {
        let (req_tx, req_rx) = std::sync::mpsc::channel();
        match reader::spawn_terminal(Arc::clone(&snapshot), history::path(), req_rx, reply_tx) {
            Ok(printer) => (Screen::Terminal(printer), Some(req_tx)),
            Err(e) => return fail(e),
        }
    } else {
        if let Err(e) = reader::spawn_piped(reply_tx) {
            return fail(format!("cannot start the reader: {e}"));
        }
        (Screen::Plain, None)
    };
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let switch = Arc::new(Switch::new(&screen, interactive && !no_colour));
    switch.set_gather(args.gather);
    let built = args.targets.builder(switch.clone()).and_then(|(b, _sudo)| {
        let b = args.modules.apply(b);
        let b = if interactive {
            b.passphrase_prompt(super::ask_passphrase)
        } else {
            b
        };
        b.build().map_err(|e| e.to_string())
    });
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let lua_setup = || -> mlua::Result<(Table, Table)> {
        let fleet: Table = rt
            .lua()
            .globals()
            .get::<Table>("package")?
            .get::<Table>("loaded")?
            .get("fleet")?;
        let keeper: Table = rt
            .lua()
            .load(RESULTS_LUA)
            .set_name("=[drover] repl results.lua")
            .call(fleet.clone())?;
        rt.lua().globals().set("__drover_repl", &keeper)?;
        fleet
            .get::<mlua::Function>("forks")?
            .call::<()>(args.forks.max(1))?;
        if let Some(t) = args.timeout {
            fleet.get::<mlua::Function>("timeout")?.call::<()>(t)?;
        }
        Ok((fleet, keeper))
    };
    let (fleet, keeper) = match lua_setup() {
        Ok(v) => v,
        Err(e) => return fail(format!("cannot set up the REPL: {e}")),
    };
    let mut script = script::SessionScript::default();
    let initial = match spec_literal(&args.targets) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if let Some(spec) = initial {
        let call = format!("fleet.targets({spec})");
        if let Err(e) = rt
            .eval_async(&format!("return #{call}"), &drover::EvalOptions::default())
            .await
        {
            return fail(e.to_string());
        }
        script.call(call);
    }
    // a bad inventory is a usage error now, not at the first `:targets`
    let names = match rt.inventory() {
        Ok(inv) => (inv.hosts.clone(), inv.groups.keys().cloned().collect()),
        Err(e) => return fail(e),
    };
    let mut session = Session {
        rt,
        fleet,
        keeper,
        screen,
        switch,
        interrupts,
        interactive,
        yes: args.yes,
        confirm: args.confirm,
        confirmed: HashSet::new(),
        last_shell: None,
        failed: false,
        script,
        requests,
        replies,
        snapshot,
        names,
        stop: None,
    };
    let code = session.run().await;
    // Remote clean-ups of cancelled lines (TERM to their commands) reach the hosts before
    // the connections close: an empty script run waits for them.
    if let Ok(empty) = drover::Script::from_source("exit", "") {
        let _ = session
            .rt
            .run_script_async(&empty, &[], &drover::EvalOptions::default())
            .await;
    }
    code
}
