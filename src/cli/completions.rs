//! `drover completions SHELL` and `drover man [SUBCOMMAND]`: shell completion scripts and
//! roff man pages generated from the clap definition, so they never drift from the flags.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use clap_mangen::roff::{Roff, bold, roman};

use super::help;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// One subcommand's page (drover-SUBCOMMAND(1)) instead of drover(1).
    #[arg(value_name = "SUBCOMMAND")]
    subcommand: Option<String>,
    /// Write drover.1 and one page per subcommand into DIR instead of printing one page.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    dir: Option<PathBuf>,
}

/// The whole command tree, built (bin names `drover exec`, display names `drover-exec`).
fn command() -> clap::Command {
    let mut cmd = super::Cli::command();
    cmd.build();
    cmd
}

/// The tree the man pages describe: `drover help` is `--help`, not a page of its own.
fn man_command() -> clap::Command {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

pub fn completions(args: CompletionsArgs) -> i32 {
    let mut cmd = command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "drover", &mut out);
    match out.flush() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("drover completions: cannot write: {e}");
            1
        }
    }
}

pub fn man(args: ManArgs) -> i32 {
    let root = man_command();
    if let Some(dir) = &args.dir {
        return match write_pages(&root, dir) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("drover man --dir {}: {e}", dir.display());
                1
            }
        };
    }
    let page = match args.subcommand.as_deref() {
        None => &root,
        Some(name) => match root.find_subcommand(name) {
            Some(sub) => sub,
            None => {
                let names: Vec<&str> = root.get_subcommands().map(|s| s.get_name()).collect();
                eprintln!(
                    "drover man {name}: no such subcommand (one of: {})",
                    names.join(", ")
                );
                return super::EXIT_USAGE;
            }
        },
    };
    let mut out = std::io::stdout().lock();
    match render(page, &root, &mut out).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("drover man: cannot write: {e}");
            1
        }
    }
}

/// drover.1 and drover-SUB.1 for every subcommand, in `dir`.
fn write_pages(root: &clap::Command, dir: &std::path::Path) -> std::io::Result<()> {
    let pages = std::iter::once(root).chain(root.get_subcommands());
    for page in pages {
        let name = page.get_display_name().unwrap_or(page.get_name());
        let path = dir.join(format!("{name}.1"));
        let mut file = std::fs::File::create(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        render(page, root, &mut file)?;
    }
    Ok(())
}

/// One man page: clap_mangen's sections, then EXAMPLES (each command on a line of its own,
/// not filled into a paragraph), the Lua API pointer and SEE ALSO.
fn render(page: &clap::Command, root: &clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    let is_root = page.get_name() == root.get_name();
    // subcommands carry no version of their own: the page's footer and VERSION show drover's
    let version = env!("CARGO_PKG_VERSION");
    let man =
        clap_mangen::Man::new(page.clone().version(version)).source(format!("drover {version}"));
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if page.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if is_root {
        man.render_subcommands_section(w)?;
    }
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]);
    let name = (!is_root).then(|| page.get_name());
    for e in help::examples(name) {
        roff.control("TP", []);
        roff.text([bold(e.command)]);
        roff.text([roman(e.shows)]);
    }
    roff.control("SH", ["LUA API"]);
    roff.text([roman(help::LUA_API.trim_start_matches("Lua API: "))]);
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = root
        .get_subcommands()
        .filter(|s| s.get_name() != page.get_name())
        .map(|s| format!("{}(1)", s.get_display_name().unwrap_or(s.get_name())))
        .collect();
    if !is_root {
        see.insert(0, "drover(1)".into());
    }
    see.push("ssh(1)".into());
    roff.text([roman(see.join(", "))]);
    roff.to_writer(w)?;
    man.render_version_section(w)
}
