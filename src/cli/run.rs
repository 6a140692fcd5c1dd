//! `drover run SCRIPT.lua [ARGS...] [targets]`: once as the root task, or once per target host.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use super::targets::{FanFlags, TargetArgs};
use drover::report::Mode;
use drover::runtime::fanout::FanoutOptions;
use drover::runtime::{EvalOptions, LoadError, Script};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The Lua script to run; `-` reads it from stdin (its requires load from the current
    /// directory first).
    script: PathBuf,
    /// Arguments for the script (its `...` and `arg[1..]`; after `--` when they start with -).
    args: Vec<String>,
    /// Targets: with any, the script runs once per host, that host current.
    #[command(flatten)]
    targets: TargetArgs,
    #[command(flatten)]
    fan: FanFlags,
    #[command(flatten)]
    modules: super::modules::ModuleArgs,
    #[command(flatten)]
    colour: super::colour::ColourArgs,
    /// Run in batches of N hosts (or N% of them), for rolling changes.
    #[arg(long, value_name = "N|N%")]
    serial: Option<String>,
    /// With --serial: start no further batch once more than P% of the hosts failed.
    #[arg(long = "max-fail", value_name = "P%")]
    max_fail: Option<String>,
    /// With targets: each host's output (its commands' streamed lines and what its script
    /// printed) also goes to DIR/<host>.out and DIR/<host>.err.
    #[arg(long = "out-dir", value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Check mode: change nothing on any host; every operation reports what it would do
    /// (later operations see the predicted effects); ssh.run runs only readonly = true
    /// commands and sftp writes are skipped ("would run: CMD").
    #[arg(long)]
    check: bool,
    /// Show unified diffs of the file contents operations change (secrets and
    /// sensitive = true files hidden).
    #[arg(long)]
    diff: bool,
    /// Show the script's log.debug lines too.
    #[arg(short = 'v', long)]
    verbose: bool,
}

/// `N` or `N%` of `total`, at least 1.
fn batch_size(spec: &str, total: usize) -> Result<usize, String> {
    let bad = || format!("--serial {spec}: expected a count or a percentage, e.g. 5 or 20%");
    match spec.strip_suffix('%') {
        Some(p) => {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(bad());
            }
            Ok(((total as f64 * p / 100.0).ceil() as usize).max(1))
        }
        None => spec
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(bad),
    }
}

/// The plan of a per-host run, validated before any I/O.
fn fanout_plan(args: &RunArgs, total: usize) -> Result<(FanoutOptions, Mode), String> {
    let timeout = args.fan.timeout()?;
    let serial = args
        .serial
        .as_deref()
        .map(|s| batch_size(s, total))
        .transpose()?;
    let max_fail = match &args.max_fail {
        None => None,
        Some(p) => {
            let v: f64 = p
                .trim_end_matches('%')
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| (0.0..=100.0).contains(v))
                .ok_or_else(|| format!("--max-fail {p}: expected a percentage, e.g. 10%"))?;
            Some(v)
        }
    };
    if max_fail.is_some() && serial.is_none() {
        return Err("--max-fail needs --serial (it is checked between batches)".into());
    }
    Ok((
        FanoutOptions {
            forks: Some(args.fan.forks()),
            timeout,
            serial,
            max_fail,
            eval: EvalOptions::default(),
        },
        args.fan.mode(),
    ))
}

pub fn run(args: RunArgs) -> i32 {
    let stop = match super::signals::install() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("drover: cannot handle signals: {e}");
            return super::EXIT_USAGE;
        }
    };
    // stdin can be read once: for the script or for a host list (`-H @-`), not both
    if from_stdin(&args.script) && args.targets.hosts.iter().any(|h| h == "@-") {
        eprintln!("drover: run - reads the script from stdin, so -H @- cannot read hosts from it");
        return super::EXIT_USAGE;
    }
    // The renderer's form depends on whether there are targets; the targets need the
    // runtime's inventory: a sink that forwards to the renderer chosen once they are known.
    let forward = std::sync::Arc::new(Forward::default());
    let runtime = match args
        .targets
        .builder(forward.clone())
        .map(|(b, sudo)| {
            let b = b.check_mode(args.check).diff(args.diff);
            (args.modules.apply(b), sudo)
        })
        // a script from stdin has no directory of its own: its requires start from here
        .map(|(b, sudo)| match from_stdin(&args.script) {
            true => (
                b.module_dir(std::env::current_dir().unwrap_or_else(|_| ".".into())),
                sudo,
            ),
            false => (b, sudo),
        })
        // on a terminal someone can answer a key's passphrase; elsewhere nobody can
        .map(
            |(b, _)| match std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                true => b.passphrase_prompt(super::ask_passphrase),
                false => b,
            },
        )
        .and_then(|b| b.build().map_err(|e| e.to_string()))
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    let hosts = match args.targets.resolve(&runtime, false) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    let plan = if hosts.is_empty() {
        None
    } else {
        match fanout_plan(&args, hosts.len()) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("drover: {e}");
                return super::EXIT_USAGE;
            }
        }
    };
    // Without targets, --timeout bounds the whole run (with targets, each host).
    let run_timeout = if plan.is_none() {
        match args.fan.timeout() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("drover: {e}");
                return super::EXIT_USAGE;
            }
        }
    } else {
        None
    };
    let script = match load_script(&args.script) {
        Ok(s) => s,
        Err(e) => return load_failed(&e),
    };
    let mode = plan.as_ref().map_or(Mode::Live, |(_, mode)| *mode);
    let renderer: drover::report::SharedSink = super::renderer(mode, args.verbose, args.colour);
    match &args.out_dir {
        None => forward.set(renderer),
        Some(dir) => match super::out_dir::OutDir::open(dir, renderer) {
            Ok(out) => forward.set(std::sync::Arc::new(out)),
            Err(e) => {
                eprintln!("drover: {e}");
                return super::EXIT_USAGE;
            }
        },
    }
    let eval = EvalOptions {
        cancel: Some(stop.token.clone()),
        timeout: run_timeout,
    };
    if let Some((opts, _)) = plan {
        let opts = FanoutOptions { eval, ..opts };
        return match runtime.run_fanout(&script, &args.args, hosts, &opts) {
            Ok(report) => {
                super::retry::record_failed(&report);
                for f in &report.failures {
                    eprintln!("error: {}", f.error);
                }
                if let Some(s) = stop.reason() {
                    eprintln!("drover: {}", s.describe());
                }
                super::exit_code(&report, &stop)
            }
            Err(e) => load_failed(&e),
        };
    }
    let report = match runtime.run_script(&script, &args.args, &eval) {
        Ok(report) => report,
        Err(e) => return load_failed(&e),
    };
    for failure in &report.failures {
        if failure.root {
            eprintln!("error: {}", failure.error);
        } else {
            eprintln!(
                "error in task {} (never joined): {}",
                failure.task, failure.error
            );
        }
    }
    if let Some(s) = stop.reason() {
        eprintln!("drover: {}", s.describe());
    }
    if let Some(d) = report.timed_out {
        eprintln!(
            "drover: timed out after {}s (--timeout): every task was cancelled",
            d.as_secs_f64()
        );
    }
    super::exit_code(&report, &stop)
}

/// `drover run -`: the script comes from stdin.
fn from_stdin(script: &Path) -> bool {
    script.as_os_str() == "-"
}

/// The script file, or stdin's text for `-` (named `stdin` in errors and tracebacks; a byte
/// order mark dropped and a `#!` line made a comment, as for files).
fn load_script(path: &Path) -> Result<Script, LoadError> {
    if !from_stdin(path) {
        return Script::from_file(path);
    }
    let read_error = |source| LoadError::Read {
        path: PathBuf::from("stdin"),
        source,
    };
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the script is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // `--` in front keeps the line (and so every line number) while making it a comment
    let source = match text.starts_with('#') {
        true => format!("--{text}"),
        false => text.to_string(),
    };
    Script::from_source("stdin", &source)
}

fn load_failed(e: &LoadError) -> i32 {
    eprintln!("drover: {e}");
    super::EXIT_USAGE
}

/// Forwards events to a sink set later (warnings before it is set go to stderr).
#[derive(Default)]
struct Forward(std::sync::OnceLock<drover::report::SharedSink>);

impl Forward {
    fn set(&self, sink: drover::report::SharedSink) {
        let _ = self.0.set(sink);
    }
}

impl drover::report::EventSink for Forward {
    fn event(&self, event: &drover::report::Event) {
        match (self.0.get(), event) {
            (Some(sink), e) => sink.event(e),
            (None, drover::report::Event::Warning { message }) => eprintln!("drover: {message}"),
            (None, _) => {}
        }
    }
}
