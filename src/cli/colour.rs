//! `--color auto|always|never`, shared by every subcommand that renders a run (run, exec,
//! put, get), and `NO_COLOR` beside it: `auto` colours when stdout is a terminal and
//! `NO_COLOR` is unset or empty; an explicit `always` or `never` wins over `NO_COLOR`.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColourChoice {
    /// When stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always, even piped or with NO_COLOR set.
    Always,
    /// Never.
    Never,
}

/// The colour flag.
#[derive(Args, Debug, Clone, Copy)]
pub struct ColourArgs {
    /// Colour hosts, stderr, outcomes and -b headers: auto (stdout is a terminal and NO_COLOR
    /// is unset), always or never.
    #[arg(long = "color", value_enum, value_name = "WHEN", default_value_t = ColourChoice::Auto)]
    pub colour: ColourChoice,
}

impl ColourArgs {
    /// Whether output is coloured.
    pub fn enabled(&self) -> bool {
        match self.colour {
            ColourChoice::Always => true,
            ColourChoice::Never => false,
            ColourChoice::Auto => {
                let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                std::io::stdout().is_terminal() && !no_colour
            }
        }
    }
}
