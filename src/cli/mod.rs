//! Command-line glue: clap parses, each subcommand turns flags into a plan, then calls the
//! library. The only module that touches clap and rpassword (terminal prompts).

// The one part of the crate that writes to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod batch;
mod colour;
mod completions;
mod help;
mod hosts;
mod limits;
mod modules;
mod out_dir;
mod repl;
mod retry;
mod run;
mod signals;
mod targets;
mod types;

use clap::{Parser, Subcommand};

/// Exit code for usage, inventory and script-load errors (before any task ran).
pub const EXIT_USAGE: i32 = 2;

/// Asks for a key's passphrase on the terminal, without echo.
fn ask_passphrase(path: &str) -> Option<String> {
    rpassword::prompt_password(format!("Enter passphrase for {path}: ")).ok()
}

#[derive(Parser, Debug)]
#[command(
    name = "drover",
    version,
    about = "Lua 5.4 ops automation: sequential scripts, concurrent tasks",
    after_help = help::after_help(help::examples(None)),
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a Lua script as the root task; ends when it and every task it spawned are done.
    #[command(
        after_help = help::after_help(help::RUN),
        mut_arg("timeout", |a| a.help(
            "Seconds per host; past it the host is timed_out (its remote command gets TERM). \
             Without targets: the limit of the whole run"
        )),
    )]
    Run(run::RunArgs),
    /// List the hosts the target flags select, resolved (secrets redacted).
    #[command(after_help = help::after_help(help::HOSTS))]
    Hosts(hosts::HostsArgs),
    /// Run a shell command on every target host, output live (or gathered, or JSON).
    #[command(
        after_help = help::after_help(help::EXEC),
        mut_arg("sudo", |a| a.help(
            "Run the command through `sudo -n` (with -K, the password goes to sudo on stdin)"
        )),
    )]
    Exec(batch::ExecArgs),
    /// Upload a file (or a tree with -r) to every target host, atomically.
    #[command(
        after_help = help::after_help(help::PUT),
        mut_arg("sudo", |a| a.help(
            "Write through sudo: staged under /tmp, then installed and renamed into place \
             (for destinations the login user cannot write; single files only; with -K, the \
             password goes to sudo on stdin)"
        )),
    )]
    Put(batch::PutArgs),
    /// Download a file (or a tree with -r) from every target host into LOCAL_DIR/<host>/.
    #[command(
        after_help = help::after_help(help::GET),
        // downloads read as the login user: sudo is refused, not silently ignored
        mut_arg("sudo", |a| a.hide(true).help("Refused by get: downloads read as the login user")),
    )]
    Get(batch::GetArgs),
    /// An interactive Lua shell over the targets: Lua lines, !CMD on every host, results as values.
    #[command(after_help = help::after_help(help::REPL))]
    Repl(repl::ReplArgs),
    /// Write the LuaLS type files of drover's Lua API and a .luarc.json, for editors.
    #[command(after_help = help::after_help(help::TYPES))]
    Types(types::TypesArgs),
    /// Print a completion script for bash, zsh or fish on stdout.
    #[command(after_help = help::after_help(help::COMPLETIONS))]
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) of drover or of one subcommand, or write them all with --dir.
    #[command(after_help = help::after_help(help::MAN))]
    Man(completions::ManArgs),
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    // One socket per host: the soft open-files limit (often 1024) is lifted to the hard one
    // before anything connects; `--forks` is capped by what it allows.
    if let Err(e) = limits::raise_nofile_limit() {
        eprintln!("drover: warning: cannot raise the open-files limit: {e}");
    }
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Hosts(args) => hosts::run(args),
        Command::Exec(args) => batch::exec(args),
        Command::Put(args) => batch::put(args),
        Command::Get(args) => batch::get(args),
        Command::Types(args) => types::run(args),
        Command::Repl(args) => repl::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    }
}

/// The renderer for `mode` on this process's stdout and stderr: colour as `--color` and
/// `NO_COLOR` say, a progress line when stderr is a terminal, `log.debug` lines when
/// `verbose` (`drover run -v`).
fn renderer(
    mode: drover::report::Mode,
    verbose: bool,
    colour: colour::ColourArgs,
) -> std::sync::Arc<drover::report::Renderer> {
    use std::io::IsTerminal;
    let options = drover::report::RenderOptions {
        colour: colour.enabled(),
        progress: std::io::stderr().is_terminal(),
        verbose,
    };
    std::sync::Arc::new(drover::report::Renderer::new(
        mode,
        options,
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
    ))
}

/// The one exit-code mapping: 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP, the code given
/// to `os.exit`, 1 when anything failed or timed out, else 0.
fn exit_code(report: &drover::report::RunReport, stop: &signals::Stop) -> i32 {
    if let Some(s) = stop.reason() {
        s.exit_code()
    } else if let Some(code) = report.exit {
        code
    } else if report.ok() {
        0
    } else {
        1
    }
}
