//! Loading scripts: syntax errors become [`LoadError`]s before any task runs.

use std::path::{Path, PathBuf};

use mlua::{Function, Lua, Table};

/// The script could not be loaded (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{message}")]
    Syntax { message: String },
    #[error("{0}")]
    Setup(String),
}

/// Compiles `path` (a leading `#!` line is ignored), sets `arg`, and adds the script's
/// directory to `package.path`.
pub fn load_script(lua: &Lua, path: &Path, args: &[String]) -> Result<Function, LoadError> {
    let source = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let source = strip_shebang(source);
    let setup = |e: mlua::Error| LoadError::Setup(e.to_string());

    let arg = lua.create_table().map_err(setup)?;
    arg.raw_set(0, path.display().to_string()).map_err(setup)?;
    for (i, a) in args.iter().enumerate() {
        arg.raw_set(i + 1, a.as_str()).map_err(setup)?;
    }
    lua.globals().set("arg", arg).map_err(setup)?;

    let dir = super::script_dir(path);
    let package: Table = lua.globals().get("package").map_err(setup)?;
    let old: String = package.get("path").map_err(setup)?;
    let dir = dir.display();
    package
        .set("path", format!("{dir}/?.lua;{dir}/?/init.lua;{old}"))
        .map_err(setup)?;

    compile(lua, &format!("@{}", path.display()), &source)
}

/// Compiles Lua text named `name` (`@file` for files, `=name` otherwise).
pub fn load_source(lua: &Lua, name: &str, source: &str) -> Result<Function, LoadError> {
    compile(lua, &format!("={name}"), source.as_bytes())
}

fn compile(lua: &Lua, name: &str, source: &[u8]) -> Result<Function, LoadError> {
    lua.load(source)
        .set_name(name)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => LoadError::Syntax { message },
            other => LoadError::Syntax {
                message: other.to_string(),
            },
        })
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
        let lua = Lua::new();
        match load_source(&lua, "snippet", "local x = = 1") {
            Err(LoadError::Syntax { message }) => {
                assert!(message.starts_with("snippet:1:"), "{message}")
            }
            other => panic!("expected a syntax error, got {:?}", other.map(|_| ())),
        }
    }
}
