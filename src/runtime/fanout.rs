//! Per-host runs (`drover run SCRIPT [targets]`): the script is compiled once and run once per
//! target host, each copy with its own global environment, in its own task with that host
//! current (`host`, `ssh.run`, `sftp.put` refer to it, its variables in `host.vars`). The
//! driver is Lua (`stdlib/internal/fanout.lua`); this side builds the host objects, turns each
//! host's end into a [`HostReport`] and an [`Event::HostFinished`], and marks hosts that
//! never finished (cancelled) as such.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use mlua::{AnyUserData, MultiValue, Table, Value};

use super::ResolvedHost;
use super::eval::{EvalOptions, error_report, json_value};
use super::{CLEANUP_WAIT, LoadError, Runtime, Script};
use crate::lua::error_value::{ErrorValue, error_kind};
use crate::lua::host::Host;
use crate::lua::task::TaskHandle;
use crate::report::{ErrorReport, Event, HostReport, Outcome, RunReport};
use crate::ssh::ErrorKind;

const FANOUT_LUA: &str = include_str!("../../stdlib/internal/fanout.lua");

/// How to fan a script out.
#[derive(Debug, Clone, Default)]
pub struct FanoutOptions {
    /// Hosts in flight at once; `None`: the runtime's `forks`.
    pub forks: Option<usize>,
    /// Time per host; `None`: the runtime's `host_timeout`.
    pub timeout: Option<Duration>,
    /// Hosts per batch (rolling runs); none: all in one batch.
    pub serial: Option<usize>,
    /// Stop starting batches once more than this percentage of hosts failed.
    pub max_fail: Option<f64>,
    /// Cancellation and a time limit for the whole run.
    pub eval: EvalOptions,
}

impl Runtime {
    /// Runs `script` once per host of `hosts`. Must be awaited inside a `LocalSet`.
    pub async fn run_fanout_async(
        &self,
        script: &Script,
        args: &[String],
        hosts: Vec<ResolvedHost>,
        opts: &FanoutOptions,
    ) -> Result<RunReport, LoadError> {
        let lua = &self.lua;
        let setup = |e: mlua::Error| LoadError::Setup(crate::lua::errors::render_error(&e));
        self.set_search_path(script)?;
        let driver = lua
            .load(FANOUT_LUA)
            .set_name("=[drover] fanout.lua")
            .into_function()
            .map_err(setup)?;
        let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        self.emit(&Event::RunStarted {
            hosts: names.clone(),
        });
        let host_objects = lua.create_table().map_err(setup)?;
        let ssh = crate::lua::ssh::ssh_context(lua).map_err(setup)?;
        for (i, h) in hosts.into_iter().enumerate() {
            let obj =
                Host::create(lua, Arc::clone(&ssh), h.target, h.vars, h.groups).map_err(setup)?;
            host_objects.raw_set(i + 1, obj).map_err(setup)?;
        }
        let timeout = opts.timeout.or(self.host_timeout);
        let o = lua.create_table().map_err(setup)?;
        o.set("forks", self.forks_for(opts.forks)).map_err(setup)?;
        o.set("timeout", timeout.map(|d| d.as_secs_f64()))
            .map_err(setup)?;
        o.set("serial", opts.serial).map_err(setup)?;
        o.set("max_fail", opts.max_fail).map_err(setup)?;
        let scope = self.new_scope();
        // os.exit in a host's script ends that host only.
        scope.per_host_exit.set(true);
        let ends: Rc<RefCell<HashMap<String, HostReport>>> = Rc::default();
        let finished = {
            let (ends, scope, sink) = (Rc::clone(&ends), Rc::clone(&scope), Arc::clone(&self.sink));
            lua.create_function(
                move |lua,
                      (h, outcome, err, elapsed, values, child): (
                    AnyUserData,
                    String,
                    Option<String>,
                    f64,
                    Option<Table>,
                    Option<AnyUserData>,
                )| {
                    let host = h.borrow::<Host>()?;
                    let name = host.name().to_string();
                    // The kind of the script's error decides "unreachable" (it could not connect,
                    // authenticate, trust the host key, or lost the connection).
                    let failure = match &child {
                        Some(c) => c.borrow::<TaskHandle>()?.0.failure_value(),
                        None => None,
                    };
                    let kind = failure.as_ref().and_then(error_kind);
                    // The report leaves this host's name out of the message (the renderer
                    // shows it beside), so identical failures on many hosts fold.
                    let err = match failure.as_ref().and_then(ErrorValue::of_value) {
                        Some(v) => err.map(|e| v.report_for(&name, &e)),
                        None => err,
                    };
                    let (outcome, err) = match (scope.take_host_exit(&name), outcome.as_str()) {
                        (Some(0), _) => (Outcome::Ok, None),
                        (Some(code), _) => (Outcome::Failed, Some(format!("os.exit({code})"))),
                        (None, "ok") => (Outcome::Ok, err),
                        (None, "timed_out") => (Outcome::TimedOut, err),
                        (None, "cancelled") => (Outcome::Cancelled, err),
                        (None, _) if kind.is_some_and(ErrorKind::makes_host_unreachable) => {
                            (Outcome::Unreachable, err)
                        }
                        (None, _) => (Outcome::Failed, err),
                    };
                    let kind = kind.map(|k| k.as_str().to_string());
                    // Descriptors follow --forks, not the number of hosts: a finished host's
                    // connection closes now (tasks it left running reconnect if they need to).
                    host.disconnect();
                    // However the host ended, its last partial line comes before its end (which
                    // carries the error: renderers show it, no output line repeats it).
                    scope.flush_host_output(&name);
                    let elapsed = Duration::try_from_secs_f64(elapsed.max(0.0)).unwrap_or_default();
                    let values = match values {
                        Some(t) => {
                            let n = t.raw_get::<Option<usize>>("n")?.unwrap_or(0);
                            (1..=n)
                                .map(|i| t.raw_get::<Value>(i).map(|v| json_value(lua, v)))
                                .collect::<mlua::Result<Vec<_>>>()?
                        }
                        None => Vec::new(),
                    };
                    let report = HostReport {
                        host: name.clone(),
                        outcome,
                        code: None,
                        values,
                        error: err
                            .as_deref()
                            .map(|text| ErrorReport::from_text(kind.clone(), text)),
                        elapsed,
                    };
                    sink.event(&host_finished(&report));
                    ends.borrow_mut().insert(name, report);
                    Ok(())
                },
            )
            .map_err(setup)?
        };
        let started = {
            let (scope, sink) = (Rc::clone(&scope), Arc::clone(&self.sink));
            lua.create_function(move |_, (h, child): (AnyUserData, AnyUserData)| {
                let host = h.borrow::<Host>()?;
                let name: Rc<str> = Rc::from(host.name());
                sink.event(&Event::HostStarted {
                    host: name.to_string(),
                });
                // The host's prints are its output lines; os.exit anywhere in its script
                // ends this task, the script's root.
                let root = Rc::clone(&child.borrow::<TaskHandle>()?.0);
                root.set_label(Some(Rc::clone(&name)));
                scope.set_host_root(name, root);
                Ok(())
            })
            .map_err(setup)?
        };
        let instantiate = {
            let script = script.clone();
            lua.create_function(move |lua, env: Table| {
                script
                    .instantiate(lua, env)
                    .map_err(|e| mlua::Error::RuntimeError(e.to_string()))
            })
            .map_err(setup)?
        };
        let argv = lua
            .create_sequence_from(args.iter().map(String::as_str))
            .map_err(setup)?;
        let call_args = MultiValue::from_iter([
            Value::Function(instantiate),
            Value::Table(host_objects),
            Value::Table(o),
            Value::Function(finished),
            Value::Table(argv),
            Value::Function(started),
            Value::Table(scope.table(lua).map_err(setup)?),
        ]);
        let end = self
            .run_root(Rc::clone(&scope), driver, call_args, &opts.eval, true)
            .await?;
        self.ssh.drain_cleanups(CLEANUP_WAIT).await;
        let why = if end.cancelled {
            "cancelled: the run was cancelled".to_string()
        } else if let Some(t) = end.timed_out {
            format!("cancelled: the run timed out after {}s", t.as_secs_f64())
        } else {
            "cancelled".to_string()
        };
        let mut ends = std::mem::take(&mut *ends.borrow_mut());
        let mut report = RunReport {
            cancelled: end.cancelled,
            timed_out: end.timed_out,
            ..RunReport::default()
        };
        for name in names {
            let host = match ends.remove(&name) {
                Some(h) => h,
                None => {
                    scope.flush_host_output(&name);
                    let h = HostReport {
                        host: name,
                        outcome: Outcome::Cancelled,
                        code: None,
                        values: Vec::new(),
                        error: Some(error_report(&why)),
                        elapsed: Duration::ZERO,
                    };
                    self.emit(&host_finished(&h));
                    h
                }
            };
            report.hosts.push(host);
        }
        if let Some(error) = super::eval::task_error(&end.root) {
            report.failures.push(crate::report::Failure {
                task: end.root.id,
                root: true,
                error,
            });
        }
        for (task, text) in end.scope.unobserved_failures() {
            report.failures.push(crate::report::Failure {
                task,
                root: false,
                error: error_report(&text),
            });
        }
        self.secrets.redact_report(&mut report);
        self.emit(&Event::Summary {
            hosts: report.hosts.len(),
            outcomes: report.outcomes(),
        });
        Ok(report)
    }

    /// [`run_fanout_async`](Self::run_fanout_async) on the runtime's own threads.
    ///
    /// ```no_run
    /// use drover::{FanoutOptions, Runtime, Script};
    /// use drover::inventory::TargetSpec;
    /// let rt = Runtime::builder().inventory_file("inventory.ini").forks(50).build()?;
    /// let hosts = rt.targets(&TargetSpec { groups: vec!["web".into()], ..Default::default() })?;
    /// let script = Script::from_file("deploy.lua".as_ref())?;
    /// let report = rt.run_fanout(&script, &[], hosts, &FanoutOptions::default())?;
    /// for h in &report.hosts {
    ///     println!("{} {}", h.host, h.outcome.as_str());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_fanout(
        &self,
        script: &Script,
        args: &[String],
        hosts: Vec<ResolvedHost>,
        opts: &FanoutOptions,
    ) -> Result<RunReport, LoadError> {
        self.block_on(
            "run_fanout",
            self.run_fanout_async(script, args, hosts, opts),
        )
        .map_err(|e| LoadError::Setup(e.to_string()))?
    }
}

/// The event of a host's end.
pub(crate) fn host_finished(h: &HostReport) -> Event {
    Event::HostFinished {
        host: h.host.clone(),
        outcome: h.outcome,
        code: h.code,
        elapsed_ms: u64::try_from(h.elapsed.as_millis()).unwrap_or(u64::MAX),
        error_kind: h.error.as_ref().and_then(|e| e.kind.clone()),
        error: h.error.as_ref().map(ToString::to_string),
    }
}
