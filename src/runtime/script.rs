//! Scripts: read and compiled once (syntax errors become [`LoadError`]s before any task runs),
//! then instantiated once per run or per host, each copy with the global environment it is
//! given.

use std::path::{Path, PathBuf};

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, Table};

/// A script could not be read, compiled or set up.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The script's path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not valid Lua.
    #[error("{message}")]
    Syntax {
        /// `chunk:line: message`.
        message: String,
    },
    /// The runtime could not prepare the run (a Lua or tokio error).
    #[error("{0}")]
    Setup(String),
}

/// A compiled script.
#[derive(Debug, Clone)]
pub struct Script {
    /// The name tracebacks show (`@path` for files).
    name: String,
    /// The compiled chunk (debug info kept, so tracebacks keep file:line).
    bytecode: Vec<u8>,
    /// Where the script's own modules are (its directory), if it is a file.
    dir: Option<PathBuf>,
    /// The file, if it is one (`arg[0]`).
    path: Option<PathBuf>,
}

impl Script {
    /// Reads and compiles the script at `path` (a BOM and a leading `#!` line are ignored).
    pub fn from_file(path: &Path) -> Result<Script, LoadError> {
        let source = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut script = Script::compile(&format!("@{}", path.display()), &strip_shebang(source))?;
        script.dir = Some(script_dir(path));
        script.path = Some(path.to_path_buf());
        Ok(script)
    }

    /// Compiles Lua text, named `name` in tracebacks. A script compiles once and runs many
    /// times: in a fan-out once per host, each copy with globals of its own; run without
    /// hosts, the globals it sets are the runtime's, as an eval's are.
    ///
    /// ```
    /// use drover::{EvalOptions, LoadError, Runtime, Script};
    ///
    /// let rt = Runtime::builder().build()?;
    /// let script = Script::from_source("count", "seen = (seen or 0) + 1; return seen")?;
    /// for n in 1..=2 {
    ///     let report = rt.run_script(&script, &[], &EvalOptions::default())?;
    ///     assert!(report.ok());
    ///     assert_eq!(report.values, vec![serde_json::json!(n)]);
    /// }
    /// assert_eq!(rt.eval("return seen")?[0].as_integer(), Some(2));
    /// assert!(matches!(Script::from_source("bad", "return +"), Err(LoadError::Syntax { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_source(name: &str, source: &str) -> Result<Script, LoadError> {
        Script::compile(&format!("={name}"), source.as_bytes())
    }

    fn compile(name: &str, source: &[u8]) -> Result<Script, LoadError> {
        // A VM of its own: compiling touches no runtime state, and a syntax error is found
        // before anything runs.
        let lua = Lua::new();
        let f = lua
            .load(source)
            .set_name(name)
            .into_function()
            .map_err(syntax_error)?;
        Ok(Script {
            name: name.to_string(),
            bytecode: f.dump(false),
            dir: None,
            path: None,
        })
    }

    /// The script's path, if it is a file.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The directory of the script (searched by its `require`), if it is a file.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The script as a function of `lua` whose globals are `env`.
    pub(crate) fn instantiate(&self, lua: &Lua, env: Table) -> Result<Function, LoadError> {
        lua.load(&self.bytecode[..])
            .set_name(&self.name)
            .set_mode(ChunkMode::Binary)
            .set_environment(env)
            .into_function()
            .map_err(syntax_error)
    }

    /// The `arg` table of a run: `arg[0]` the script, then `args`.
    pub(crate) fn arg_table(&self, lua: &Lua, args: &[String]) -> mlua::Result<Table> {
        let arg = lua.create_table()?;
        if let Some(p) = &self.path {
            arg.raw_set(0, p.display().to_string())?;
        }
        for (i, a) in args.iter().enumerate() {
            arg.raw_set(i + 1, a.as_str())?;
        }
        Ok(arg)
    }
}

fn syntax_error(e: mlua::Error) -> LoadError {
    match e {
        mlua::Error::SyntaxError { message, .. } => LoadError::Syntax { message },
        other => LoadError::Syntax {
            message: other.to_string(),
        },
    }
}

/// The directory a script's `require` looks in first.
pub fn script_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A UTF-8 byte order mark (editors on Windows write one) is dropped, as the stock `lua` does;
/// then a `#` first line (`#!/usr/bin/env drover run`) becomes a comment.
fn strip_shebang(mut source: Vec<u8>) -> Vec<u8> {
    if source.starts_with(b"\xEF\xBB\xBF") {
        source.drain(..3);
    }
    if source.starts_with(b"#") {
        let end = source
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(source.len());
        // Keep line numbers: replace the line with a comment of the same length.
        source.splice(
            0..end,
            b"--"
                .iter()
                .copied()
                .chain(std::iter::repeat_n(b' ', end.saturating_sub(2))),
        );
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_becomes_a_comment_and_keeps_line_numbers() {
        let out = strip_shebang(b"#!/usr/bin/env drover run\nprint(1)\n".to_vec());
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.starts_with("--"));
        assert_eq!(text.lines().nth(1), Some("print(1)"));
        assert_eq!(strip_shebang(b"print(1)".to_vec()), b"print(1)".to_vec());
        assert_eq!(
            strip_shebang(b"\xEF\xBB\xBFprint(1)".to_vec()),
            b"print(1)".to_vec()
        );
        let bom_shebang = strip_shebang(b"\xEF\xBB\xBF#!/bin/drover\nprint(1)".to_vec());
        assert!(bom_shebang.starts_with(b"--"));
    }

    #[test]
    fn syntax_errors_name_the_chunk_and_line() {
        match Script::from_source("snippet", "local x = = 1") {
            Err(LoadError::Syntax { message }) => {
                assert!(message.starts_with("snippet:1:"), "{message}")
            }
            other => panic!("expected a syntax error, got {:?}", other.map(|_| ())),
        }
    }
}
