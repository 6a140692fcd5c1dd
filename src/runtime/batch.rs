//! Batch commands without Lua: one command, upload or download on every target host at once
//! (bounded by `forks`), each host's end an [`Outcome`], output as events on the runtime's
//! sink.
//!
//! One host's failure never touches another. Cancellation (the CLI: Ctrl-C, SIGTERM, SIGHUP)
//! stops starting hosts, cancels the running ones (their remote commands get TERM before the
//! connections close) and reports them `cancelled`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::ResolvedHost;
use super::eval::error_report;
use super::fanout::host_finished;
use super::{CLEANUP_WAIT, Runtime};
use crate::report::{Event, HostReport, Outcome, RunReport, SharedSink};
use crate::ssh::sftp::{GetOptions, PutOptions, Sftp, Source, Transfer};
use crate::ssh::{ExecOptions, OutputSink, Session, SshContext, SshError, Stream};

/// What to do on every host.
#[derive(Debug, Clone)]
pub enum BatchOp {
    /// Run a shell command.
    Exec(String),
    /// Upload a file or (recursive) a tree.
    Put {
        /// The local file or directory.
        local: PathBuf,
        /// Where it goes (an existing directory receives it inside).
        remote: String,
    },
    /// Download to `local_dir/<host>/<name>`, so hosts never overwrite each other.
    Get {
        /// The remote file or directory.
        remote: String,
        /// The local directory that receives `<host>/<name>`.
        local_dir: PathBuf,
    },
}

/// How to run a batch.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Hosts in flight at once; `None`: the runtime's `forks`.
    pub forks: Option<usize>,
    /// Past this, a host is `timed_out` (its remote command gets TERM); `None`: the
    /// runtime's `host_timeout`.
    pub timeout: Option<Duration>,
    /// Stops the batch: no new hosts, running ones cancelled.
    pub cancel: Option<CancellationToken>,
    /// Run the command (or move the uploaded file into place) through `sudo -n`.
    pub sudo: bool,
    /// With `sudo`: sudo's password, fed on stdin (`sudo -S`) instead of `sudo -n`.
    pub sudo_password: Option<crate::ssh::Secret>,
    /// Copy directory trees (put and get).
    pub recursive: bool,
}

/// "1 file, 12 bytes".
fn files_and_bytes(t: &Transfer) -> String {
    let s = if t.files == 1 { "" } else { "s" };
    format!("{} file{s}, {} bytes", t.files, t.bytes)
}

enum Failure {
    Unreachable(String),
    TimedOut(String),
    Failed(Option<u32>, String),
}

async fn on_host(
    ssh: &SshContext,
    host: &ResolvedHost,
    op: &BatchOp,
    opts: &BatchOptions,
    sink: &Arc<dyn OutputSink>,
) -> Result<Option<u32>, Failure> {
    // Dropped when this host is done: open connections follow --forks, not the host count.
    let session = Arc::new(
        Session::connect(ssh, host.target.clone())
            .await
            .map_err(|e| Failure::Unreachable(e.cli_message()))?,
    );
    // Messages leave the host out (reports show it beside them, so identical failures fold)
    // and word hints as the command line's flags (`--sudo`): batches are the CLI's commands.
    let fail = |e: SshError| match e {
        SshError::CommandTimeout { .. } => Failure::TimedOut(e.cli_message()),
        SshError::ConnectionLost { .. } => Failure::Unreachable(e.cli_message()),
        other => Failure::Failed(None, other.cli_message()),
    };
    match op {
        BatchOp::Exec(cmd) => {
            let exec = ExecOptions {
                sink: Some(Arc::clone(sink)),
                sudo: opts.sudo,
                sudo_password: opts.sudo_password.clone().filter(|_| opts.sudo),
                ..ExecOptions::default()
            };
            let out = session.exec(cmd, &exec).await.map_err(fail)?;
            match (out.code, out.signal) {
                (Some(0), _) => Ok(Some(0)),
                (Some(code), _) => Err(Failure::Failed(
                    Some(code),
                    format!("command `{cmd}` exited with code {code}"),
                )),
                (None, Some(sig)) => Err(Failure::Failed(
                    None,
                    format!("command `{cmd}` was killed by signal {sig}"),
                )),
                (None, None) => Err(Failure::Failed(
                    None,
                    format!("command `{cmd}` ended without an exit status"),
                )),
            }
        }
        BatchOp::Put { local, remote } => {
            let sftp = Sftp::open(&session).await.map_err(fail)?;
            let put = PutOptions {
                sink: Some(Arc::clone(sink)),
                sudo: opts.sudo,
                sudo_password: opts.sudo_password.clone().filter(|_| opts.sudo),
                recursive: opts.recursive,
                ..PutOptions::default()
            };
            let t = sftp
                .put(&session, Source::Path(local.clone()), remote, &put)
                .await
                .map_err(fail)?;
            let what = if t.changed {
                format!("changed: {}", files_and_bytes(&t))
            } else {
                "unchanged".into()
            };
            sink.line(
                &host.name,
                Stream::Stdout,
                format!("put {remote}: {what}").as_bytes(),
            );
            Ok(Some(0))
        }
        BatchOp::Get { remote, local_dir } => {
            let sftp = Sftp::open(&session).await.map_err(fail)?;
            // LOCAL_DIR/<host>/<name>: the host name and the name taken from the (lexically
            // normalised) remote path are single checked names, and nothing below LOCAL_DIR
            // is reached through a symlink, so no host can write beside another or outside.
            let (source, name) =
                crate::ssh::sftp::download_name(&host.name, remote).map_err(fail)?;
            let get = GetOptions {
                sink: Some(Arc::clone(sink)),
                recursive: opts.recursive,
            };
            let t = sftp
                .get_confined(&source, local_dir, &[&host.name, &name], &get)
                .await
                .map_err(fail)?;
            let dest = local_dir.join(&host.name).join(&name);
            sink.line(
                &host.name,
                Stream::Stdout,
                format!(
                    "get {remote} -> {}: {}",
                    dest.display(),
                    files_and_bytes(&t)
                )
                .as_bytes(),
            );
            Ok(Some(0))
        }
    }
}

impl Runtime {
    /// Runs `op` on every host of `hosts`, at most `forks` at once; returns when all are
    /// done, or when the batch is cancelled (running hosts are then `cancelled`, the rest
    /// never start). Needs a tokio runtime (no `LocalSet`).
    pub async fn run_batch_async(
        &self,
        hosts: Vec<ResolvedHost>,
        op: BatchOp,
        opts: BatchOptions,
    ) -> RunReport {
        let sink = Arc::clone(&self.sink);
        let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        sink.event(&Event::RunStarted {
            hosts: names.clone(),
        });
        let forks = self.forks_for(opts.forks);
        let opts = BatchOptions {
            timeout: opts.timeout.or(self.host_timeout),
            ..opts
        };
        let cancel = opts.cancel.clone().unwrap_or_default();
        let slots = Arc::new(tokio::sync::Semaphore::new(forks));
        let (op, opts) = (Arc::new(op), Arc::new(opts));
        let output = crate::lua::output::output_to(Arc::clone(&sink));
        let mut jobs = tokio::task::JoinSet::new();
        let mut ids = std::collections::HashMap::new();
        for host in hosts {
            let (ssh, slots, op, opts, sink, output) = (
                Arc::clone(&self.ssh),
                Arc::clone(&slots),
                Arc::clone(&op),
                Arc::clone(&opts),
                Arc::clone(&sink),
                Arc::clone(&output),
            );
            let name = host.name.clone();
            let id = jobs
                .spawn(async move {
                    on_host_bounded(&ssh, &host, &op, &opts, &sink, &output, slots).await
                })
                .id();
            ids.insert(id, name);
        }
        let mut ends = std::collections::HashMap::new();
        let mut cancelled = false;
        loop {
            tokio::select! {
                next = jobs.join_next_with_id() => match next {
                    None => break,
                    Some(Ok((id, report))) => {
                        ids.remove(&id);
                        ends.insert(report.host.clone(), report);
                    }
                    Some(Err(e)) => {
                        if let Some(host) = ids.remove(&e.id()) {
                            let (outcome, error) = if e.is_cancelled() {
                                (Outcome::Cancelled, "cancelled: the run was cancelled".to_string())
                            } else {
                                (Outcome::Failed, format!("internal error: {e}"))
                            };
                            let h = HostReport {
                                host,
                                outcome,
                                code: None,
                                values: Vec::new(),
                                error: Some(error_report(&error)),
                                elapsed: Duration::ZERO,
                            };
                            sink.event(&host_finished(&h));
                            ends.insert(h.host.clone(), h);
                        }
                    }
                },
                _ = cancel.cancelled(), if !cancelled => {
                    cancelled = true;
                    jobs.abort_all();
                }
            }
        }
        // Cancelled commands send TERM from their drop guards over connections that stay
        // open until those requests went out: wait for them (bounded).
        self.ssh.drain_cleanups(CLEANUP_WAIT).await;
        let mut report = RunReport {
            hosts: names.iter().filter_map(|n| ends.remove(n)).collect(),
            cancelled,
            ..RunReport::default()
        };
        self.secrets.redact_report(&mut report);
        sink.event(&Event::Summary {
            hosts: report.hosts.len(),
            outcomes: report.outcomes(),
        });
        report
    }

    /// [`run_batch_async`](Self::run_batch_async) on the runtime's own threads.
    ///
    /// ```no_run
    /// use drover::{BatchOp, BatchOptions, Runtime};
    /// use drover::inventory::TargetSpec;
    /// let rt = Runtime::builder().build()?;
    /// let hosts = rt.targets(&TargetSpec { hosts: vec!["deploy@10.0.0.5".into()], ..Default::default() })?;
    /// let report = rt.run_batch(hosts, BatchOp::Exec("uptime".into()), BatchOptions::default())?;
    /// assert!(report.ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_batch(
        &self,
        hosts: Vec<ResolvedHost>,
        op: BatchOp,
        opts: BatchOptions,
    ) -> Result<RunReport, super::RuntimeError> {
        self.block_on("run_batch", self.run_batch_async(hosts, op, opts))
    }
}

/// One host of a batch: waits for a slot, runs, reports its start and end.
async fn on_host_bounded(
    ssh: &SshContext,
    host: &ResolvedHost,
    op: &BatchOp,
    opts: &BatchOptions,
    sink: &SharedSink,
    output: &Arc<dyn OutputSink>,
    slots: Arc<tokio::sync::Semaphore>,
) -> HostReport {
    let _slot = slots.acquire_owned().await;
    sink.event(&Event::HostStarted {
        host: host.name.clone(),
    });
    let started = Instant::now();
    let work = on_host(ssh, host, op, opts, output);
    let result = match opts.timeout {
        None => work.await,
        Some(d) => match tokio::time::timeout(d, work).await {
            Ok(r) => r,
            Err(_) => Err(Failure::TimedOut(format!(
                "timed out after {}s",
                d.as_secs_f64()
            ))),
        },
    };
    let (outcome, code, error) = match result {
        Ok(code) => (Outcome::Ok, code, None),
        Err(Failure::Unreachable(e)) => (Outcome::Unreachable, None, Some(e)),
        Err(Failure::TimedOut(e)) => (Outcome::TimedOut, None, Some(e)),
        Err(Failure::Failed(code, e)) => (Outcome::Failed, code, Some(e)),
    };
    let report = HostReport {
        host: host.name.clone(),
        outcome,
        code,
        values: Vec::new(),
        error: error.as_deref().map(error_report),
        elapsed: started.elapsed(),
    };
    sink.event(&host_finished(&report));
    report
}
