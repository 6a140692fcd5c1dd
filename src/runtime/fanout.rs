//! `drover run SCRIPT [targets]`: the script is loaded once and run once per target host, each
//! in its own task with that host current (`host`, `ssh.run`, `sftp.put` refer to it, its
//! variables in `host.vars`). The driver is Lua (`stdlib/drover/fanout.lua`); this side builds
//! the host objects, turns each host's end into an [`Outcome`] for the renderer, and marks
//! hosts that never finished (Ctrl-C) as cancelled.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use mlua::{AnyUserData, MultiValue, Value};

use super::{LoadError, Runtime, load};
use crate::inventory::ResolvedHost;
use crate::lua::ssh::Host;
use crate::report::{HostEnd, HostsReport, Outcome, Renderer};
use crate::ssh::{OutputSink, Stream};

const FANOUT_LUA: &str = include_str!("../../stdlib/drover/fanout.lua");

/// How to fan a script out.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// Hosts in flight at once.
    pub forks: usize,
    /// Seconds per host.
    pub timeout: Option<Duration>,
    /// Hosts per batch (rolling runs); none: all in one batch.
    pub serial: Option<usize>,
    /// Stop starting batches once more than this percentage of hosts failed.
    pub max_fail: Option<f64>,
}

impl Runtime {
    /// Runs the script at `path` once per host of `hosts`.
    pub fn run_fanout(
        &self,
        path: &Path,
        args: &[String],
        hosts: Vec<ResolvedHost>,
        opts: &FanoutOptions,
        renderer: Arc<Renderer>,
    ) -> Result<HostsReport, LoadError> {
        let lua = &self.lua;
        let setup = |e: mlua::Error| LoadError::Setup(crate::lua::errors::render_error(&e));
        let chunk = load::load_script(lua, path, args)?;
        let driver = lua
            .load(FANOUT_LUA)
            .set_name("=[drover] fanout.lua")
            .into_function()
            .map_err(setup)?;
        let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        let host_objects = lua.create_table().map_err(setup)?;
        let ssh = crate::lua::ssh::ssh_context(lua).map_err(setup)?;
        for (i, h) in hosts.into_iter().enumerate() {
            let obj = lua
                .create_userdata(Host::new(Arc::clone(&ssh), h.target, h.vars, h.groups))
                .map_err(setup)?;
            host_objects.raw_set(i + 1, obj).map_err(setup)?;
        }
        let o = lua.create_table().map_err(setup)?;
        o.set("forks", opts.forks).map_err(setup)?;
        o.set("timeout", opts.timeout.map(|d| d.as_secs_f64()))
            .map_err(setup)?;
        o.set("serial", opts.serial).map_err(setup)?;
        o.set("max_fail", opts.max_fail).map_err(setup)?;
        let done: Rc<RefCell<BTreeSet<String>>> = Rc::default();
        // os.exit in a host's script ends that host only.
        let exits = crate::lua::exit::Exits::of(lua).map_err(setup)?;
        exits.set_per_host(true);
        let finished = {
            let (renderer, done) = (Arc::clone(&renderer), Rc::clone(&done));
            lua.create_function(
                move |_, (h, outcome, err, elapsed): (AnyUserData, String, Option<String>, f64)| {
                    let host = h.borrow::<Host>()?;
                    let name = host.name().to_string();
                    let (outcome, err) = match (exits.take_host_exit(&name), outcome.as_str()) {
                        (Some(0), _) => (Outcome::Ok, None),
                        (Some(code), _) => (Outcome::Failed, Some(format!("os.exit({code})"))),
                        (None, "ok") => (Outcome::Ok, err),
                        (None, "timed_out") => (Outcome::TimedOut, err),
                        (None, "cancelled") => (Outcome::Cancelled, err),
                        (None, _) if host.connect_failed() => (Outcome::Unreachable, err),
                        (None, _) => (Outcome::Failed, err),
                    };
                    // Descriptors follow --forks, not the number of hosts: a finished host's
                    // connection closes now (tasks it left running reconnect if they need to).
                    host.disconnect();
                    if outcome == Outcome::Failed
                        && let Some(e) = &err
                    {
                        for line in e.lines() {
                            renderer.line(&name, Stream::Stderr, line.as_bytes());
                        }
                    }
                    done.borrow_mut().insert(name.clone());
                    renderer.finished(HostEnd {
                        host: name,
                        outcome,
                        code: None,
                        elapsed: Duration::from_secs_f64(elapsed.max(0.0)),
                        error: err,
                    });
                    Ok(())
                },
            )
            .map_err(setup)?
        };
        let emit = {
            let renderer = Arc::clone(&renderer);
            lua.create_function(move |_, (name, text): (String, mlua::LuaString)| {
                // Lines past MAX_LINE go out in pieces, as the output of commands does.
                for line in text.as_bytes().split(|&b| b == b'\n') {
                    if line.is_empty() {
                        renderer.line(&name, Stream::Stdout, line);
                    }
                    for piece in line.chunks(crate::ssh::MAX_LINE) {
                        renderer.line(&name, Stream::Stdout, piece);
                    }
                }
                Ok(())
            })
            .map_err(setup)?
        };
        let started = {
            let renderer = Arc::clone(&renderer);
            let exits = crate::lua::exit::Exits::of(lua).map_err(setup)?;
            lua.create_function(move |_, (h, child): (AnyUserData, AnyUserData)| {
                let host = h.borrow::<Host>()?;
                renderer.started(host.name());
                // os.exit anywhere in this host's script ends this task, the script's root.
                let root = Rc::clone(&child.borrow::<crate::lua::task::TaskHandle>()?.0);
                exits.set_host_task(host.name(), root);
                Ok(())
            })
            .map_err(setup)?
        };
        let argv = lua
            .create_sequence_from(args.iter().map(String::as_str))
            .map_err(setup)?;
        let call_args = MultiValue::from_iter([
            Value::Function(chunk),
            Value::Table(host_objects),
            Value::Table(o),
            Value::Function(finished),
            Value::Function(emit),
            Value::Table(argv),
            Value::Function(started),
        ]);
        let report = self.run_function(driver, call_args)?;
        let why = match report.stopped {
            Some(s) => format!("cancelled: {}", s.describe()),
            None => "cancelled".to_string(),
        };
        for name in names {
            if !done.borrow().contains(&name) {
                renderer.finished(HostEnd {
                    host: name,
                    outcome: Outcome::Cancelled,
                    code: None,
                    elapsed: Duration::ZERO,
                    error: Some(why.clone()),
                });
            }
        }
        let ends = renderer.finish();
        Ok(HostsReport {
            ends,
            stopped: report.stopped,
            failures: report.failures.into_iter().map(|f| f.report).collect(),
        })
    }
}
