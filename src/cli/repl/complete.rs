//! Tab completion on the line editor's thread, from a [`Snapshot`] the Lua thread refreshes
//! after every line (the editor never touches the Lua state): Lua globals, the fields and
//! methods of global tables after `.` and `:`, host and group names inside strings and after
//! `:targets`, and `:` commands. The helper also tells the editor when a Lua chunk is
//! incomplete (Enter then continues it on the next line), with a Lua state of its own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mlua::{Lua, ObjectLike, Table, Value};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// What completion knows of the Lua side.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Global names.
    pub globals: Vec<String>,
    /// `a` and `a.b` → their field and method names.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Inventory host names.
    pub hosts: Vec<String>,
    /// Inventory group names.
    pub groups: Vec<String>,
}

/// The snapshot shared between the two threads.
pub type SharedSnapshot = Arc<Mutex<Snapshot>>;

/// Names in one table level kept for completion, at most.
const MAX_NAMES: usize = 500;

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// String keys of `t` and of the `__index` table of its metatable.
fn names_of(t: &Table) -> Vec<String> {
    let mut out: Vec<String> = t
        .pairs::<Value, Value>()
        .filter_map(Result::ok)
        .filter_map(|(k, _)| match k {
            Value::String(s) => Some(s.to_string_lossy()),
            _ => None,
        })
        .take(MAX_NAMES)
        .collect();
    if let Some(Ok(Value::Table(index))) = t.metatable().map(|m| m.raw_get::<Value>("__index")) {
        out.extend(names_of_flat(&index));
    }
    out
}

fn names_of_flat(t: &Table) -> Vec<String> {
    t.pairs::<Value, Value>()
        .filter_map(Result::ok)
        .filter_map(|(k, _)| match k {
            Value::String(s) => Some(s.to_string_lossy()),
            _ => None,
        })
        .take(MAX_NAMES)
        .collect()
}

/// Field names of a value: a table's keys; a result set's methods and hosts; a host's
/// fields and methods.
fn fields_of(lua: &Lua, fleet: &Table, value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Table(t) => {
            let is_results = fleet
                .get::<mlua::Function>("is_results")
                .and_then(|f| f.call::<bool>(t.clone()))
                .unwrap_or(false);
            if is_results {
                let mut out = fleet
                    .get::<Table>("result_methods")
                    .map(|m| names_of_flat(&m))
                    .unwrap_or_default();
                if let Ok(hosts) = t.call_method::<Vec<String>>("hosts", ()) {
                    out.extend(hosts);
                }
                return Some(out);
            }
            Some(names_of(t))
        }
        // host objects print as `host NAME (user@address:port)`
        Value::UserData(_) if value.to_string().is_ok_and(|s| s.starts_with("host ")) => {
            let mut out: Vec<String> = ["name", "address", "port", "user", "vars", "groups"]
                .map(String::from)
                .to_vec();
            let methods = lua
                .globals()
                .get::<Table>("package")
                .and_then(|p| p.get::<Table>("loaded"))
                .and_then(|l| l.get::<Table>("drover.host"))
                .and_then(|h| h.get::<Table>("methods"));
            if let Ok(m) = methods {
                out.extend(names_of_flat(&m));
            }
            Some(out)
        }
        _ => None,
    }
}

/// A fresh snapshot: globals (names starting with `__` left out) and two levels of fields.
pub fn take(lua: &Lua, fleet: &Table, hosts: Vec<String>, groups: Vec<String>) -> Snapshot {
    let mut snap = Snapshot {
        hosts,
        groups,
        ..Snapshot::default()
    };
    let globals = lua.globals();
    for (k, v) in globals.pairs::<Value, Value>().filter_map(Result::ok) {
        let Value::String(name) = k else { continue };
        let name = name.to_string_lossy();
        if name.starts_with("__") {
            continue;
        }
        if let Some(fields) = fields_of(lua, fleet, &v) {
            if let Value::Table(t) = &v {
                for field in &fields {
                    // raw: completion must not run a table's metamethods
                    if let Ok(inner) = t.raw_get::<Value>(field.as_str())
                        && let Some(f2) = fields_of(lua, fleet, &inner)
                        && !matches!(inner, Value::Table(ref it) if it.to_pointer() == t.to_pointer())
                    {
                        snap.fields.insert(format!("{name}.{field}"), f2);
                    }
                }
            }
            snap.fields.insert(name.clone(), fields);
        }
        snap.globals.push(name);
        if snap.globals.len() >= MAX_NAMES {
            break;
        }
    }
    snap.globals.sort();
    for v in snap.fields.values_mut() {
        v.sort();
        v.dedup();
    }
    snap
}

/// Where the text after the last character `stop` accepts begins (0 when none does).
fn after_last(text: &str, stop: impl Fn(char) -> bool) -> usize {
    text.char_indices()
        .rev()
        .find(|(_, c)| stop(*c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// Candidates for `line` with the cursor at `pos`: where the word starts, and the words.
pub fn candidates(snap: &Snapshot, line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let names = |start: usize| -> (usize, Vec<String>) {
        let word = &before[start..];
        let mut out: Vec<String> = snap
            .hosts
            .iter()
            .chain(snap.groups.iter())
            .filter(|n| n.starts_with(word))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        (start, out)
    };
    // a `:` command's name
    if before.starts_with(':') && !before.contains(char::is_whitespace) {
        let out = super::commands::names()
            .filter(|n| n.starts_with(before))
            .map(String::from)
            .collect();
        return (0, out);
    }
    let name_start = |text: &str| after_last(text, |c| c.is_whitespace() || ",:&!'\"".contains(c));
    // after `:targets`: host and group names (pattern terms)
    if let Some(rest) = before.strip_prefix(":targets ") {
        let offset = before.len() - rest.len();
        return names(offset + name_start(rest));
    }
    // inside a string: host and group names
    let quotes = before.chars().filter(|c| *c == '"' || *c == '\'').count();
    if quotes % 2 == 1 {
        return names(name_start(before));
    }
    // Lua: globals, or fields after `.` / `:`
    let start = after_last(before, |c| {
        !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':')
    });
    let word = &before[start..];
    match word.rfind(['.', ':']) {
        Some(sep) => {
            let (path, partial) = (&word[..sep], &word[sep + 1..]);
            let fields = snap.fields.get(path).cloned().unwrap_or_default();
            let out = fields
                .into_iter()
                .filter(|f| f.starts_with(partial))
                .collect();
            (start + sep + 1, out)
        }
        None => {
            let out = snap
                .globals
                .iter()
                .map(String::as_str)
                .chain(KEYWORDS.iter().copied())
                .filter(|g| g.starts_with(word))
                .map(String::from)
                .collect();
            (start, out)
        }
    }
}

/// The line editor's helper: completion from the snapshot, multi-line validation.
pub struct ReplHelper {
    pub snapshot: SharedSnapshot,
    /// Compiles chunks to tell whether they are complete; never runs them.
    pub checker: Lua,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let snap = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let (start, words) = candidates(&snap, line, pos);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if super::line::is_incomplete(&self.checker, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        let mut fields = BTreeMap::new();
        fields.insert("ssh".into(), vec!["connect".into(), "run".into()]);
        fields.insert("_".into(), vec!["failed".into(), "ok".into()]);
        Snapshot {
            globals: vec!["fleet".into(), "ssh".into(), "string".into()],
            fields,
            hosts: vec!["web01".into(), "web02".into(), "db1".into()],
            groups: vec!["web".into(), "db".into()],
        }
    }

    #[test]
    fn completes_globals_fields_names_and_commands() {
        let s = snap();
        assert_eq!(candidates(&s, "ss", 2), (0, vec!["ssh".to_string()]));
        assert_eq!(
            candidates(&s, "x = ssh.co", 10),
            (8, vec!["connect".to_string()])
        );
        assert_eq!(candidates(&s, "_:fa", 4), (2, vec!["failed".to_string()]));
        assert_eq!(
            candidates(&s, ":targets we", 11),
            (9, vec!["web".to_string(), "web01".into(), "web02".into()])
        );
        assert_eq!(candidates(&s, ":targets web:&d", 15).1, vec!["db", "db1"]);
        assert_eq!(
            candidates(&s, "targets('d", 10),
            (9, vec!["db".to_string(), "db1".into()])
        );
        assert_eq!(candidates(&s, ":ta", 3), (0, vec![":targets".to_string()]));
    }

    proptest::proptest! {
        #[test]
        fn completing_never_panics(line in ".{0,80}", cut in 0usize..80) {
            let pos = line.char_indices().map(|(i, _)| i).chain([line.len()]).nth(cut).unwrap_or(line.len());
            let _ = candidates(&snap(), &line, pos);
        }
    }

    #[test]
    fn snapshots_see_globals_and_fields() {
        let lua = Lua::new();
        lua.load("config = { web = { port = 80 }, name = 'x' }")
            .exec()
            .expect("runs");
        let fleet = lua.create_table().expect("table");
        let s = take(&lua, &fleet, vec![], vec![]);
        assert!(s.globals.contains(&"config".to_string()));
        assert_eq!(s.fields["config"], ["name", "web"]);
        assert_eq!(s.fields["config.web"], ["port"]);
    }
}
