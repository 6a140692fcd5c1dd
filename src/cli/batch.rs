//! `drover exec [targets] -- CMD...`, `drover put [targets] LOCAL REMOTE`,
//! `drover get [targets] REMOTE LOCAL_DIR`: one operation on every target host, no Lua.

use std::path::PathBuf;

use clap::Args;

use super::targets::{FanFlags, TargetArgs};
use drover::runtime::batch::{BatchOp, BatchOptions};

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
    let runtime = match flags
        .targets
        .runtime(super::renderer(flags.fan.mode(), false))
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    let hosts = match flags.targets.resolve(&runtime, false) {
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
    let forks = flags.fan.forks();
    let opts = BatchOptions {
        forks: Some(forks),
        timeout,
        cancel: None,
        sudo: flags.sudo,
        recursive,
    };
    let stop = match super::signals::install() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("drover: cannot handle signals: {e}");
            return super::EXIT_USAGE;
        }
    };
    let opts = BatchOptions {
        cancel: Some(stop.token.clone()),
        ..opts
    };
    match runtime.run_batch(hosts, op, opts) {
        Ok(report) => super::exit_code(&report, &stop),
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
    if args.flags.sudo {
        eprintln!("drover: get --sudo: downloads read as the login user; sudo is not supported");
        return super::EXIT_USAGE;
    }
    let op = BatchOp::Get {
        remote: args.remote,
        local_dir: args.local_dir,
    };
    batch(&args.flags, op, args.recursive)
}
