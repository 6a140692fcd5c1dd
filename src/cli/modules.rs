//! Where scripts' `require` looks, from the command line and the environment: `--lib DIR`
//! (repeatable), `$DROVER_PATH` (`;`-separated `?` templates), the script's directory and
//! its `lib/` (the runtime adds those), then `~/.config/drover/lib` (`$XDG_CONFIG_HOME`
//! honoured). `$DROVER_STDLIB_DIR` reads the stdlib from a checkout instead of the binary.

use std::path::PathBuf;

use clap::Args;
use drover::RuntimeBuilder;

/// The module flags of subcommands that run Lua.
#[derive(Args, Debug, Default, Clone)]
pub struct ModuleArgs {
    /// A directory of Lua modules for `require` (DIR/?.lua, DIR/?/init.lua), searched before
    /// the script's own directory; repeatable. `drover.*` names are always the stdlib's.
    #[arg(long = "lib", value_name = "DIR")]
    lib: Vec<PathBuf>,
}

impl ModuleArgs {
    /// `builder` with this search path.
    pub fn apply(&self, mut builder: RuntimeBuilder) -> RuntimeBuilder {
        for dir in &self.lib {
            builder = builder.module_dir(dir);
        }
        if let Some(path) = std::env::var_os("DROVER_PATH") {
            for template in path.to_string_lossy().split(';').filter(|t| !t.is_empty()) {
                builder = builder.module_template(template);
            }
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        if let Some(config) = config {
            builder = builder.fallback_module_dir(config.join("drover/lib"));
        }
        if let Some(dir) = std::env::var_os("DROVER_STDLIB_DIR").filter(|v| !v.is_empty()) {
            builder = builder.stdlib_dir(dir);
        }
        builder
    }
}
