//! `drover exec [targets] -- CMD...`, `drover put [targets] LOCAL REMOTE`,
//! `drover get [targets] REMOTE LOCAL_DIR`: one operation on every target host, no Lua.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::targets::{FanFlags, TargetArgs};
use crate::report::Renderer;
use crate::runtime::batch::{BatchOp, BatchOptions, run_batch};
use crate::ssh::ExecOptions;
use crate::ssh::sftp::{GetOptions, PutOptions};

/// Options every batch command takes.
#[derive(Args, Debug, Clone)]
pub struct BatchFlags {
    #[command(flatten)]
    targets: TargetArgs,
    #[command(flatten)]
    fan: FanFlags,
    /// Run the command (or move the uploaded file into place) through `sudo -n`.
    #[arg(long)]
    sudo: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    #[command(flatten)]
    flags: BatchFlags,
    /// The command (after `--`), run by the remote user's shell.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    #[command(flatten)]
    flags: BatchFlags,
    /// Copy a directory tree.
    #[arg(short = 'r', long)]
    recursive: bool,
    /// Local file or directory.
    local: PathBuf,
    /// Remote path (an existing directory receives the file inside it).
    remote: String,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    flags: BatchFlags,
    /// Copy a directory tree.
    #[arg(short = 'r', long)]
    recursive: bool,
    /// Remote file or directory.
    remote: String,
    /// Local directory: each host's copy goes to LOCAL_DIR/<host>/<name>.
    local_dir: PathBuf,
}

/// Validates the flags into a plan, then runs it.
fn batch(flags: &BatchFlags, op: BatchOp, recursive: bool) -> i32 {
    let hosts = match flags.targets.resolve(false) {
        Ok(h) if h.is_empty() => {
            eprintln!("drover: no targets: give -H, -g or -l (see drover hosts)");
            return super::EXIT_USAGE;
        }
        Ok(h) => h,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    let timeout = match flags.fan.timeout() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    let (forks, mode) = (flags.fan.forks(), flags.fan.mode());
    let renderer = Arc::new(Renderer::new(mode, hosts.len()));
    let opts = BatchOptions {
        forks,
        timeout,
        exec: ExecOptions {
            sudo: flags.sudo,
            ..ExecOptions::default()
        },
        put: PutOptions {
            recursive,
            sudo: flags.sudo,
            ..PutOptions::default()
        },
        get: GetOptions {
            recursive,
            sink: None,
        },
    };
    let stop = match super::signals::install() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("drover: cannot handle signals: {e}");
            return super::EXIT_USAGE;
        }
    };
    // Warnings go to stderr; no passphrase prompt here (as before: batch commands
    // render many hosts' output live, a prompt would land in it).
    let ssh = crate::ssh::SshContext::new(crate::ssh::SshHooks {
        warn: Some(super::stderr_warnings()),
        passphrase: None,
    });
    match run_batch(hosts, op, opts, renderer, stop, ssh) {
        Ok(report) => report.exit_code(),
        Err(e) => {
            eprintln!("drover: cannot start: {e}");
            1
        }
    }
}

pub fn exec(args: ExecArgs) -> i32 {
    batch(&args.flags, BatchOp::Exec(args.command.join(" ")), false)
}

pub fn put(args: PutArgs) -> i32 {
    if let Err(e) = std::fs::metadata(&args.local) {
        eprintln!("drover: {}: {e}", args.local.display());
        return super::EXIT_USAGE;
    }
    let op = BatchOp::Put {
        local: args.local,
        remote: args.remote,
    };
    batch(&args.flags, op, args.recursive)
}

pub fn get(args: GetArgs) -> i32 {
    let op = BatchOp::Get {
        remote: args.remote,
        local_dir: args.local_dir,
    };
    batch(&args.flags, op, args.recursive)
}
