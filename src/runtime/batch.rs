//! Batch commands without a Lua VM: one command, upload or download on every target host at
//! once (bounded by `forks`), each host's end an [`Outcome`], output through the [`Renderer`].
//!
//! One host's failure never touches another. Ctrl-C (or SIGTERM, SIGHUP) stops starting hosts,
//! cancels the running ones (their remote commands get TERM before the connections close) and
//! reports them `cancelled`; a second signal exits at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stop::Stop;
use crate::inventory::ResolvedHost;
use crate::report::{HostEnd, HostsReport, Outcome, Renderer, StopSignal};
use crate::ssh::sftp::{GetOptions, PutOptions, Sftp, Source, Transfer};
use crate::ssh::{ExecOptions, OutputSink, Session, SshContext, SshError, Stream};

/// What to do on every host.
#[derive(Debug, Clone)]
pub enum BatchOp {
    /// Run a shell command.
    Exec(String),
    /// Upload a file or (recursive) a tree.
    Put { local: PathBuf, remote: String },
    /// Download to `local_dir/<host>/<name>`, so hosts never overwrite each other.
    Get { remote: String, local_dir: PathBuf },
}

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Hosts in flight at once.
    pub forks: usize,
    /// Past this, a host is `timed_out` (its remote command gets TERM).
    pub timeout: Option<Duration>,
    /// Options of the command (sudo, ...).
    pub exec: ExecOptions,
    /// Options of put (recursive, sudo, mode, ...) and of get (recursive).
    pub put: PutOptions,
    pub get: GetOptions,
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
    renderer: &Arc<Renderer>,
) -> Result<Option<u32>, Failure> {
    // Dropped when this host is done: open connections follow --forks, not the host count.
    let session = Arc::new(
        Session::connect(ssh, host.target.clone())
            .await
            .map_err(|e| Failure::Unreachable(e.to_string()))?,
    );
    let sink: Arc<dyn OutputSink> = Arc::clone(renderer) as Arc<dyn OutputSink>;
    let fail = |e: SshError| match e {
        SshError::CommandTimeout { .. } => Failure::TimedOut(e.to_string()),
        SshError::ConnectionLost { .. } => Failure::Unreachable(e.to_string()),
        other => Failure::Failed(None, other.to_string()),
    };
    match op {
        BatchOp::Exec(cmd) => {
            let exec = ExecOptions {
                sink: Some(sink),
                ..opts.exec.clone()
            };
            let out = session.exec(cmd, &exec).await.map_err(fail)?;
            match (out.code, out.signal) {
                (Some(0), _) => Ok(Some(0)),
                (Some(code), _) => Err(Failure::Failed(Some(code), format!("exit code {code}"))),
                (None, Some(sig)) => Err(Failure::Failed(None, format!("killed by signal {sig}"))),
                (None, None) => Err(Failure::Failed(None, "no exit status".into())),
            }
        }
        BatchOp::Put { local, remote } => {
            let sftp = Sftp::open(&session).await.map_err(fail)?;
            let put = PutOptions {
                sink: Some(Arc::clone(&sink)),
                ..opts.put.clone()
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
                sink: Some(Arc::clone(&sink)),
                ..opts.get.clone()
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

/// Runs `op` on every host, connecting through `ssh`; blocks until all are done, or until
/// `stop` is requested (then running hosts are cancelled and the rest never start).
pub fn run_batch(
    hosts: Vec<ResolvedHost>,
    op: BatchOp,
    opts: BatchOptions,
    renderer: Arc<Renderer>,
    stop: Arc<Stop>,
    ssh: Arc<SshContext>,
) -> std::io::Result<HostsReport> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("drover-io")
        .build()?;
    let stopped = rt.block_on(async {
        let forks = Arc::new(tokio::sync::Semaphore::new(opts.forks.max(1)));
        let op = Arc::new(op);
        let opts = Arc::new(opts);
        let mut jobs = tokio::task::JoinSet::new();
        let mut names = std::collections::HashMap::new();
        for host in hosts {
            let (forks, op, opts, renderer, ssh) = (
                Arc::clone(&forks),
                Arc::clone(&op),
                Arc::clone(&opts),
                Arc::clone(&renderer),
                Arc::clone(&ssh),
            );
            let name = host.name.clone();
            let id = jobs
                .spawn(async move {
                    let _slot = forks.acquire_owned().await;
                    renderer.started(&host.name);
                    let started = Instant::now();
                    let work = on_host(&ssh, &host, &op, &opts, &renderer);
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
                    renderer.finished(HostEnd {
                        host: host.name.clone(),
                        outcome,
                        code,
                        elapsed: started.elapsed(),
                        error,
                    });
                })
                .id();
            names.insert(id, name);
        }
        let mut stopped: Option<StopSignal> = None;
        loop {
            tokio::select! {
                next = jobs.join_next_with_id() => match next {
                    None => break,
                    Some(Ok((id, ()))) => { names.remove(&id); }
                    Some(Err(e)) => {
                        if let Some(host) = names.remove(&e.id()) {
                            let (outcome, error) = match (e.is_cancelled(), stopped) {
                                (true, Some(s)) => (Outcome::Cancelled, format!("cancelled: {}", s.describe())),
                                (true, None) => (Outcome::Cancelled, "cancelled".to_string()),
                                (false, _) => (Outcome::Failed, format!("internal error: {e}")),
                            };
                            renderer.finished(HostEnd { host, outcome, code: None, elapsed: Duration::ZERO, error: Some(error) });
                        }
                    }
                },
                _ = stop.requested(), if stopped.is_none() => {
                    stopped = stop.reason();
                    jobs.abort_all();
                }
            }
        }
        // Cancelled commands send TERM from their drop guards over connections that stay
        // open until those requests went out: wait for them (bounded).
        ssh.drain_cleanups(Duration::from_secs(5)).await;
        stopped
    });
    let ends = renderer.finish();
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(HostsReport {
        ends,
        stopped,
        failures: Vec::new(),
    })
}
