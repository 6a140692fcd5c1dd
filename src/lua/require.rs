//! Where `require` looks. drover's stdlib (`stdlib/drover/`) is embedded in the binary and
//! answers every `drover.*` name first; no other directory may answer for one, so a team's
//! module cannot shadow the stdlib by accident (their own live under their own namespace,
//! `acme.nginx`). Everything else is found on `package.path`, which a run sets to: the
//! runtime's module directories (`--lib`), its `?` templates (`DROVER_PATH`), the script's
//! directory and its `lib/`, the fallback directories (`~/.config/drover/lib`), then Lua's own
//! default path.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use mlua::{Function, Lua, Table, Value};

/// The stdlib as shipped: `drover.X` is `X.lua` (or `X/init.lua`) here.
static STDLIB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/stdlib/drover");

/// Where the stdlib comes from: embedded, or a checkout's `stdlib/drover` on disk (for
/// working on the stdlib itself without rebuilding).
#[derive(Debug, Clone, Default)]
pub(crate) struct StdlibSource {
    /// The directory standing in for `stdlib/drover`.
    pub dir: Option<PathBuf>,
}

/// A `drover.*` name as a relative file path (`drover.file` → `file`), if it can name one:
/// dot-separated words, none empty or starting with `_` (`_meta` holds type files).
fn stdlib_path(name: &str) -> Option<String> {
    let rest = name.strip_prefix("drover.")?;
    let words: Vec<&str> = rest.split('.').collect();
    let ok = words.iter().all(|w| {
        !w.is_empty()
            && !w.starts_with('_')
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    ok.then(|| words.join("/"))
}

/// The text and chunk name of stdlib module `rel` (without `.lua`), if it exists.
fn find(source: &StdlibSource, rel: &str) -> Option<(Vec<u8>, String)> {
    for file in [format!("{rel}.lua"), format!("{rel}/init.lua")] {
        match &source.dir {
            Some(dir) => {
                let path = dir.join(&file);
                if let Ok(text) = std::fs::read(&path) {
                    return Some((text, format!("@{}", path.display())));
                }
            }
            None => {
                if let Some(f) = STDLIB.get_file(&file) {
                    return Some((f.contents().to_vec(), format!("@stdlib/drover/{file}")));
                }
            }
        }
    }
    None
}

/// The stdlib's files for an editor: the Lua modules (`drover/shell.lua`, annotated inline)
/// and the LuaLS `---@meta` files of the modules written in Rust (`drover/_meta/ssh.lua`),
/// each as (path, text).
pub(crate) fn type_files() -> Vec<(String, &'static str)> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
        for f in dir.files() {
            if let Some(text) = f.contents_utf8()
                && f.path().extension().is_some_and(|e| e == "lua")
            {
                out.push((format!("drover/{}", f.path().display()), text));
            }
        }
        for d in dir.dirs() {
            walk(d, out);
        }
    }
    let mut out = Vec::new();
    walk(&STDLIB, &mut out);
    out.sort();
    out
}

/// Puts the stdlib searcher right after `package.preload`'s, ahead of the path searchers.
pub(crate) fn install(lua: &Lua, source: StdlibSource) -> mlua::Result<()> {
    let searcher = lua.create_function(move |lua, name: String| {
        if !name.starts_with("drover.") {
            return Ok(Value::Nil);
        }
        let found = stdlib_path(&name).and_then(|rel| find(&source, &rel));
        let Some((text, chunk_name)) = found else {
            let own = name.trim_start_matches("drover.");
            return Err(mlua::Error::RuntimeError(format!(
                "module '{name}' is not part of drover's stdlib (drover.* names are the \
                 stdlib's; put your own modules under a namespace of your own, such as \
                 acme.{own})"
            )));
        };
        let loader: Function = lua.load(text).set_name(chunk_name).into_function()?;
        Ok(Value::Function(loader))
    })?;
    let searchers: Table = lua.globals().get::<Table>("package")?.get("searchers")?;
    // 1: preload, then ours, then Lua's path and C searchers
    let rest: Vec<Value> = searchers
        .sequence_values()
        .skip(1)
        .collect::<mlua::Result<_>>()?;
    searchers.raw_set(2, searcher)?;
    for (i, v) in rest.into_iter().enumerate() {
        searchers.raw_set(i + 3, v)?;
    }
    Ok(())
}

/// `package.path` entries for a directory of modules: `DIR/?.lua;DIR/?/init.lua;`.
fn dir_entries(dir: &Path) -> String {
    let d = dir.display();
    format!("{d}/?.lua;{d}/?/init.lua;")
}

/// The module search path of a runtime, apart from the script's directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchPath {
    /// Before the script's directory: module directories, then `?` templates.
    pub early: String,
    /// After it: fallback directories, then Lua's default path.
    pub late: String,
}

impl SearchPath {
    /// The search path over Lua's `default` one.
    pub(crate) fn new(
        dirs: &[PathBuf],
        templates: &[String],
        fallbacks: &[PathBuf],
        default: &str,
    ) -> SearchPath {
        let mut early: String = dirs.iter().map(|d| dir_entries(d)).collect();
        for t in templates {
            early.push_str(t);
            early.push(';');
        }
        let mut late: String = fallbacks.iter().map(|d| dir_entries(d)).collect();
        late.push_str(default);
        SearchPath { early, late }
    }

    /// `package.path` for a run of a script in `script_dir` (its `lib/` too).
    pub(crate) fn for_script(&self, script_dir: Option<&Path>) -> String {
        let mine = script_dir
            .map(|d| format!("{}{}", dir_entries(d), dir_entries(&d.join("lib"))))
            .unwrap_or_default();
        format!("{}{mine}{}", self.early, self.late)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_names() {
        assert_eq!(stdlib_path("drover.shell").as_deref(), Some("shell"));
        assert_eq!(stdlib_path("drover.a.b").as_deref(), Some("a/b"));
        for bad in [
            "drover.",
            "drover._meta.ssh",
            "drover.a..b",
            "drover.../x",
            "acme.x",
        ] {
            assert_eq!(stdlib_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn search_order() {
        let p = SearchPath::new(
            &[PathBuf::from("/lib1")],
            &["/t/?.lua".to_string()],
            &[PathBuf::from("/home/u/.config/drover/lib")],
            "./?.lua",
        );
        assert_eq!(
            p.for_script(Some(Path::new("/s"))),
            "/lib1/?.lua;/lib1/?/init.lua;/t/?.lua;/s/?.lua;/s/?/init.lua;/s/lib/?.lua;\
             /s/lib/?/init.lua;/home/u/.config/drover/lib/?.lua;\
             /home/u/.config/drover/lib/?/init.lua;./?.lua"
        );
    }
}
