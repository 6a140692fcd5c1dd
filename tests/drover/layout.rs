//! The shape of the crate, checked: no two files import each other (directly), and the
//! layers point one way (`cli → runtime → lua → {ssh, inventory, report}`, the three leaves
//! and `nodeset` importing none of the others). What is not there yet is listed in
//! `KNOWN`, each with the reason; the test fails when a listed exception disappears too, so
//! the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use libtest_mimic::{Failed, Trial};

/// Edges that break the rules today, to be removed (issue 11, item 7).
const KNOWN: &[(&str, &str, &str)] = &[];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` → ["a", "b"]; `mod.rs`, `lib.rs` and `main.rs` name their directory.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_start_matches("src/")
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The layer of a file: its top module.
fn layer(rel: &str) -> String {
    module_path(rel).first().cloned().unwrap_or_default()
}

fn allowed(from: &str, to: &str) -> bool {
    let below: &[&str] = match from {
        "" | "cli" => return true,
        "runtime" => &["lua", "ssh", "inventory", "report", "nodeset", "connection"],
        "lua" => &["ssh", "inventory", "report", "nodeset", "connection"],
        // `connection` (the syntax of connection values) is a leaf both use, as `nodeset`
        "ssh" | "inventory" => &["nodeset", "connection"],
        "report" | "connection" => &["nodeset"],
        _ => &[],
    };
    from == to || below.contains(&to)
}

fn edges(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(&root.join("src"), &mut all);
    let rels: Vec<String> = all
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    let by_path: BTreeMap<Vec<String>, String> =
        rels.iter().map(|r| (module_path(r), r.clone())).collect();
    let resolve = |parts: &[String]| -> Option<String> {
        (1..=parts.len())
            .rev()
            .find_map(|n| by_path.get(&parts[..n]).cloned())
    };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rel in &rels {
        let text = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        let me = module_path(rel);
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line
                .match_indices("crate::")
                .chain(line.match_indices("super::"))
            {
                let path: String = line[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let mut segs: Vec<String> = path
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let base = segs.remove(0);
                let parts = if base == "crate" {
                    segs
                } else {
                    let mut p = me[..me.len().saturating_sub(1)].to_vec();
                    p.extend(segs);
                    p
                };
                if let Some(target) = resolve(&parts).filter(|t| t != rel) {
                    out.entry(rel.clone()).or_default().insert(target);
                }
            }
        }
    }
    out
}

fn shape_is_one_way() -> Result<(), Failed> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let graph = edges(&root);
    let mut bad = BTreeSet::new();
    for (from, tos) in &graph {
        for to in tos {
            let back = graph.get(to).is_some_and(|t| t.contains(from));
            // a module file and its own child re-exporting each other is how Rust modules work
            let parent_child = module_path(to).len() + 1 == module_path(from).len()
                && module_path(from).starts_with(&module_path(to))
                || module_path(from).len() + 1 == module_path(to).len()
                    && module_path(to).starts_with(&module_path(from));
            if back && !parent_child {
                bad.insert((from.clone(), to.clone(), "imports each other"));
            }
            if !allowed(&layer(from), &layer(to)) {
                bad.insert((
                    from.clone(),
                    to.clone(),
                    "points up or sideways between layers",
                ));
            }
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let found: BTreeSet<(String, String)> =
        bad.iter().map(|(a, b, _)| (a.clone(), b.clone())).collect();
    let mut problems = Vec::new();
    for (a, b, why) in &bad {
        if !known.contains(&(a.clone(), b.clone())) {
            problems.push(format!("{a} -> {b}: {why}"));
        }
    }
    for (a, b, _) in KNOWN {
        if !found.contains(&(a.to_string(), b.to_string())) {
            problems.push(format!(
                "{a} -> {b} is fixed: remove it from KNOWN in tests/drover/layout.rs"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("layout::shape_is_one_way", shape_is_one_way)]
}
