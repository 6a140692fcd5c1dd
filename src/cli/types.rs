//! `drover types --out DIR`: the LuaLS files of drover's Lua API (the stdlib and the `---@meta`
//! files of the modules written in Rust) and a `.luarc.json` that points the editor at them.

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Args, Debug)]
pub struct TypesArgs {
    /// Where to write the files (created if missing); DIR/drover/ holds the types.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// The `.luarc.json` for a workspace whose library is `types` (absolute).
fn luarc(types: &Path) -> String {
    let config = serde_json::json!({
        "$schema": "https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json",
        "runtime.version": "Lua 5.4",
        "workspace.library": [types.display().to_string()],
        // per-host runs define these
        "diagnostics.globals": ["host", "shared"],
    });
    serde_json::to_string_pretty(&config).unwrap_or_default() + "\n"
}

fn write(args: &TypesArgs) -> Result<Vec<String>, String> {
    let at = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(&args.out).map_err(|e| at(&args.out, e))?;
    let root = std::fs::canonicalize(&args.out).map_err(|e| at(&args.out, e))?;
    let mut written = Vec::new();
    for (rel, text) in drover::runtime::type_files() {
        let path = root.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| at(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| at(&path, e))?;
        written.push(rel);
    }
    let rc = root.join(".luarc.json");
    if rc.exists() {
        eprintln!(
            "drover: {} exists, left as it is; add {} to its \"workspace.library\"",
            rc.display(),
            root.display()
        );
    } else {
        std::fs::write(&rc, luarc(&root)).map_err(|e| at(&rc, e))?;
        written.push(".luarc.json".into());
    }
    Ok(written)
}

pub fn run(args: TypesArgs) -> i32 {
    match write(&args) {
        Ok(files) => {
            println!("wrote {} files to {}", files.len(), args.out.display());
            0
        }
        Err(e) => {
            eprintln!("drover: types: {e}");
            1
        }
    }
}
