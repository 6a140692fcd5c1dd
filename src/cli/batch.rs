//! `drover exec [targets] CMD...`, `drover put [targets] LOCAL REMOTE`,
//! `drover get [targets] REMOTE LOCAL_DIR`: one operation on every target host, no Lua.

use std::path::{Path, PathBuf};

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
    #[command(flatten)]
    colour: super::colour::ColourArgs,
    /// Run the command (or move the uploaded file into place) through sudo (`sudo -n`;
    /// with -K, the password on sudo's stdin).
    #[arg(long)]
    sudo: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    #[command(flatten)]
    flags: BatchFlags,
    /// Each host's stdout and stderr also go to DIR/<host>.out and DIR/<host>.err.
    #[arg(long = "out-dir", value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// The command, with or without `--` before it; everything after the first word that
    /// is not an option belongs to it. Its words are joined with spaces and the remote
    /// user's shell parses the result (as pssh does): `drover exec -g web ls -l /tmp` runs
    /// `ls -l /tmp`; quote what the remote shell must see as one word, e.g. 'echo "a  b"'.
    #[arg(
        required = true,
        value_name = "CMD",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 1..
    )]
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

/// Validates the flags into a plan, then runs it; `out_dir` also receives each host's output.
fn batch(flags: &BatchFlags, op: BatchOp, recursive: bool, out_dir: Option<&Path>) -> i32 {
    let sink: drover::report::SharedSink = super::renderer(flags.fan.mode(), false, flags.colour);
    let sink = match out_dir {
        None => sink,
        Some(dir) => match super::out_dir::OutDir::open(dir, sink) {
            Ok(out) => std::sync::Arc::new(out),
            Err(e) => {
                eprintln!("drover: {e}");
                return super::EXIT_USAGE;
            }
        },
    };
    // exec runs no Lua and moves little data: its I/O on this thread costs less CPU per
    // host; put and get keep the worker pool for their encryption and file work.
    let io_here = matches!(op, BatchOp::Exec(_));
    let (runtime, sudo_password) = match flags.targets.runtime(sink, io_here) {
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
        sudo_password,
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
        Ok(report) => {
            super::retry::record_failed(&report);
            super::exit_code(&report, &stop)
        }
        Err(e) => {
            eprintln!("drover: cannot start: {e}");
            1
        }
    }
}

pub fn exec(args: ExecArgs) -> i32 {
    let command = BatchOp::Exec(args.command.join(" "));
    batch(&args.flags, command, false, args.out_dir.as_deref())
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
    batch(&args.flags, op, args.recursive, None)
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
    batch(&args.flags, op, args.recursive, None)
}
