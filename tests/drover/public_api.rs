//! The public surface, as a snapshot: every `pub` declaration of the library (functions,
//! types, fields, constants, modules and re-exports; `pub(crate)` and the CLI excluded), by
//! file, compared with `tests/public-api.txt`. A change of the surface must be deliberate:
//! regenerate with `DROVER_BLESS_API=1 cargo test --test drover -- public_api` and commit
//! the snapshot with the change.

use std::path::{Path, PathBuf};

use libtest_mimic::{Failed, Trial};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `pub` declarations of one file, one per line, with the file's path; test modules skipped.
fn declarations(rel: &str, source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break; // test modules come last in this code base
        }
        let Some(rest) = t.strip_prefix("pub ") else {
            continue;
        };
        let decl = rest
            .split(['{', '='])
            .next()
            .unwrap_or(rest)
            .trim_end()
            .trim_end_matches(';');
        out.push(format!("{rel}: pub {decl}"));
    }
    out
}

fn surface(root: &Path) -> String {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut lines = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        if rel.starts_with("src/cli/") || rel == "src/main.rs" {
            continue;
        }
        let source = std::fs::read_to_string(&f).unwrap_or_default();
        lines.extend(declarations(&rel, &source));
    }
    lines.join("\n") + "\n"
}

fn public_api_is_deliberate() -> Result<(), Failed> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let snapshot = root.join("tests/public-api.txt");
    let now = surface(&root);
    if std::env::var_os("DROVER_BLESS_API").is_some() {
        std::fs::write(&snapshot, &now)?;
        return Ok(());
    }
    let before = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if before == now {
        return Ok(());
    }
    let old: std::collections::BTreeSet<&str> = before.lines().collect();
    let new: std::collections::BTreeSet<&str> = now.lines().collect();
    let mut diff = String::new();
    for l in old.difference(&new) {
        diff.push_str(&format!("- {l}\n"));
    }
    for l in new.difference(&old) {
        diff.push_str(&format!("+ {l}\n"));
    }
    Err(format!(
        "the public API changed (or moved):\n{diff}\nif deliberate: DROVER_BLESS_API=1 cargo test --test drover -- public_api, and commit tests/public-api.txt"
    )
    .into())
}

pub fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "api::public_api_is_deliberate",
        public_api_is_deliberate,
    )]
}
