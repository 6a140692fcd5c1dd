//! Choosing target hosts: `-H h1,h2` (inventory hosts, node sets such as `web[01-03]`, or
//! ad-hoc `user@addr:port`) and `-g web,db` (groups) select; `-l PATTERN` narrows that
//! selection, as Ansible's `--limit` does, or selects from the whole inventory when used alone.
//! A pattern is terms joined by `:` or `,` (commas inside brackets belong to a node set);
//! `&term` intersects, `!term` removes (a leading `!term` starts from everything); a term is a
//! group, a host, a node set or a glob such as `web*`. Ad-hoc `-H` hosts stay under `-l` only
//! when a term names them (their name as given, or a glob); groups never contain them.
//! Unknown names are errors with a "did you mean" hint.

use std::collections::HashSet;

use super::{Inventory, did_you_mean};
use crate::connection::{self, ConnectionError};
use crate::nodeset::{self, NodeSetError, shown};

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct TargetSpec {
    /// `-H`: host names, node sets or `user@address:port`.
    pub hosts: Vec<String>,
    /// `-g`: groups.
    pub groups: Vec<String>,
    /// `-l`: a pattern that narrows (or alone selects) the hosts.
    pub pattern: Option<String>,
}

impl TargetSpec {
    /// Whether no flag selects anything (a run without targets).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.groups.is_empty() && self.pattern.is_none()
    }
}

/// One chosen host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chosen {
    /// An inventory host, by name.
    Inventory(String),
    /// A host outside the inventory: `user@addr:port` (user and port optional), checked.
    AdHoc(String),
}

/// Why the targets name no usable host. Each carries the name as given and a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("host \"{name}\" (from {from}) is not in {file}{hint}")]
    /// A name that is not in the node set it was looked for in.
    NotInNodeSet {
        /// The name.
        name: String,
        /// The node set the name was looked for in.
        from: String,
        /// The inventory file.
        file: String,
        /// A hint ("did you mean ..."), or empty.
        hint: String,
    },
    #[error(
        "host \"{name}\" is not in {file}{hint} (write user@address or address:port for a host outside the inventory)"
    )]
    /// A `-H` name that is not an inventory host.
    NotInInventory {
        /// The name.
        name: String,
        /// The inventory file.
        file: String,
        /// A hint ("did you mean ..."), or empty.
        hint: String,
    },
    #[error("group \"{group}\" is not in {file}{hint}")]
    /// A group the inventory does not have.
    UnknownGroup {
        /// The group.
        group: String,
        /// The inventory file.
        file: String,
        /// A hint ("did you mean ..."), or empty.
        hint: String,
    },
    #[error("\"{term}\" is neither a group nor a host of {file}{hint}")]
    /// A `-l` term that names no group, host or node set.
    UnknownTerm {
        /// The pattern term.
        term: String,
        /// The inventory file.
        file: String,
        /// A hint ("did you mean ..."), or empty.
        hint: String,
    },
    #[error("pattern \"{term}\" matches no host or group")]
    /// A pattern that matches no host.
    NoMatch {
        /// The pattern term.
        term: String,
    },
    #[error(transparent)]
    /// A bad node set.
    NodeSet(#[from] NodeSetError),
    #[error("-H {spec}: {source}")]
    /// A bad ad-hoc `user@address:port` host.
    AdHoc {
        /// The destination as given.
        spec: String,
        /// The underlying error.
        source: ConnectionError,
    },
}

/// `*` and `?` glob match (linear backtracking on the last star: no blow-up).
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn is_adhoc(item: &str) -> bool {
    item.contains('@') || item.contains(':') || item.contains('.')
}

/// What a pattern's terms are looked up in: the inventory and the ad-hoc `-H` hosts.
struct Universe<'a> {
    inv: &'a Inventory,
    adhoc: &'a [String],
}

impl Universe<'_> {
    fn file(&self) -> String {
        self.inv.file.display().to_string()
    }

    /// A group or a host, by exact name.
    fn exact(&self, term: &str) -> Option<HashSet<String>> {
        if self.inv.groups.contains_key(term) {
            return Some(self.inv.group_hosts(term).into_iter().collect());
        }
        if self.inv.has_host(term) || self.adhoc.iter().any(|a| a == term) {
            return Some(HashSet::from([term.to_string()]));
        }
        None
    }

    fn unknown(&self, term: &str) -> SelectError {
        let known: Vec<&String> = self
            .inv
            .hosts
            .iter()
            .chain(self.inv.groups.keys())
            .collect();
        SelectError::UnknownTerm {
            term: shown(term),
            file: self.file(),
            hint: did_you_mean(term, known),
        }
    }

    /// The hosts a pattern term names.
    fn term(&self, term: &str) -> Result<HashSet<String>, SelectError> {
        if let Some(found) = self.exact(term) {
            return Ok(found);
        }
        if term.contains('[') {
            // a node set of exact names: no globbing per expanded name (that would be
            // names x hosts work)
            let mut out = HashSet::new();
            for name in nodeset::expand(term)? {
                out.extend(self.exact(&name).ok_or_else(|| self.unknown(&name))?);
            }
            return Ok(out);
        }
        if term.contains('*') || term.contains('?') {
            let mut out: HashSet<String> = self
                .inv
                .hosts
                .iter()
                .chain(self.adhoc)
                .filter(|h| glob_match(term, h))
                .cloned()
                .collect();
            for g in self.inv.groups.keys().filter(|g| glob_match(term, g)) {
                out.extend(self.inv.group_hosts(g));
            }
            if out.is_empty() {
                return Err(SelectError::NoMatch { term: shown(term) });
            }
            return Ok(out);
        }
        Err(self.unknown(term))
    }

    /// A `-l` pattern: terms left to right, `&` intersects, `!` removes, others add; a
    /// leading `!term` starts from every host.
    fn pattern(&self, pattern: &str) -> Result<HashSet<String>, SelectError> {
        let mut set: HashSet<String> = HashSet::new();
        for (i, term) in pattern_terms(pattern).iter().enumerate() {
            if let Some(t) = term.strip_prefix('&') {
                let other = self.term(t)?;
                set.retain(|h| other.contains(h));
            } else if let Some(t) = term.strip_prefix('!') {
                if i == 0 {
                    set = self.inv.hosts.iter().chain(self.adhoc).cloned().collect();
                }
                let other = self.term(t)?;
                set.retain(|h| !other.contains(h));
            } else {
                set.extend(self.term(term)?);
            }
        }
        Ok(set)
    }
}

/// A pattern's terms: split on `:` and `,` outside brackets, trimmed, empty ones dropped.
pub(crate) fn pattern_terms(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth: usize = 0;
    let mut cur = String::new();
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' | ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The hosts `spec` names, in inventory order (ad-hoc hosts after, as given). Errors say what
/// is unknown and suggest a close name.
pub(crate) fn select(inv: &Inventory, spec: &TargetSpec) -> Result<Vec<Chosen>, SelectError> {
    let file = || inv.file.display().to_string();
    let mut chosen: HashSet<String> = HashSet::new();
    let mut adhoc: Vec<String> = Vec::new();
    for item in &spec.hosts {
        if inv.has_host(item) {
            chosen.insert(item.clone());
        } else if item.contains('[') {
            for name in nodeset::expand(item)? {
                if !inv.has_host(&name) {
                    return Err(SelectError::NotInNodeSet {
                        hint: did_you_mean(&name, inv.hosts.iter()),
                        name,
                        from: shown(item),
                        file: file(),
                    });
                }
                chosen.insert(name);
            }
        } else if is_adhoc(item) {
            let bad = |source| SelectError::AdHoc {
                spec: shown(item),
                source,
            };
            connection::destination(item).map_err(bad)?;
            connection::host_name(item).map_err(bad)?;
            if !adhoc.contains(item) {
                adhoc.push(item.clone());
            }
        } else {
            return Err(SelectError::NotInInventory {
                name: shown(item),
                file: file(),
                hint: did_you_mean(item, inv.hosts.iter()),
            });
        }
    }
    for g in &spec.groups {
        if !inv.groups.contains_key(g) {
            return Err(SelectError::UnknownGroup {
                group: shown(g),
                file: file(),
                hint: did_you_mean(g, inv.groups.keys()),
            });
        }
        chosen.extend(inv.group_hosts(g));
    }
    if let Some(p) = &spec.pattern {
        let matched = Universe { inv, adhoc: &adhoc }.pattern(p)?;
        if spec.hosts.is_empty() && spec.groups.is_empty() {
            chosen = matched;
        } else {
            // -l narrows what -H and -g selected
            chosen.retain(|h| matched.contains(h));
            adhoc.retain(|h| matched.contains(h));
        }
    }
    let mut out: Vec<Chosen> = inv
        .hosts
        .iter()
        .filter(|h| chosen.contains(*h))
        .map(|h| Chosen::Inventory(h.clone()))
        .collect();
    out.extend(adhoc.into_iter().map(Chosen::AdHoc));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn inv() -> Inventory {
        Inventory::parse(
            "[group web]\nhosts = web[01-04]\n[group db]\nhosts = db1, db2\n\
             [group prod]\nchildren = web, db\n[group canary]\nhosts = web01, db1\n",
            Path::new("inv.ini"),
        )
        .unwrap()
    }

    fn names(c: Vec<Chosen>) -> Vec<String> {
        c.into_iter()
            .map(|c| match c {
                Chosen::Inventory(n) | Chosen::AdHoc(n) => n,
            })
            .collect()
    }

    fn pat(p: &str) -> Result<Vec<String>, String> {
        select(
            &inv(),
            &TargetSpec {
                pattern: Some(p.into()),
                ..Default::default()
            },
        )
        .map(names)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn pattern_algebra() {
        assert_eq!(pat("web:&canary").unwrap(), vec!["web01"]);
        assert_eq!(pat("web:!web03").unwrap(), vec!["web01", "web02", "web04"]);
        assert_eq!(pat("prod:!web*").unwrap(), vec!["db1", "db2"]);
        assert_eq!(pat("db*,web04").unwrap(), vec!["web04", "db1", "db2"]);
        assert_eq!(pat("!web").unwrap(), vec!["db1", "db2"]);
        assert_eq!(pat("web[02-03]").unwrap(), vec!["web02", "web03"]);
        assert!(pat("wbe").unwrap_err().contains("did you mean \"web\""));
        assert!(pat("zz*").unwrap_err().contains("matches no host"));
    }

    #[test]
    fn hosts_groups_and_adhoc() {
        let spec = TargetSpec {
            hosts: vec!["db2".into(), "me@10.0.0.9:2222".into(), "web0[1-2]".into()],
            groups: vec!["canary".into()],
            pattern: None,
        };
        let got = select(&inv(), &spec).unwrap();
        assert_eq!(
            names(got.clone()),
            vec!["web01", "web02", "db1", "db2", "me@10.0.0.9:2222"]
        );
        assert_eq!(got[4], Chosen::AdHoc("me@10.0.0.9:2222".into()));
        let bad = TargetSpec {
            groups: vec!["dbs".into()],
            ..Default::default()
        };
        assert!(
            select(&inv(), &bad)
                .unwrap_err()
                .to_string()
                .contains("did you mean \"db\"")
        );
        let bad_host = TargetSpec {
            hosts: vec!["web5".into()],
            ..Default::default()
        };
        assert!(
            select(&inv(), &bad_host)
                .unwrap_err()
                .to_string()
                .contains("did you mean")
        );
    }

    fn sel(hosts: &[&str], groups: &[&str], pattern: Option<&str>) -> Result<Vec<String>, String> {
        let spec = TargetSpec {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            pattern: pattern.map(String::from),
        };
        select(&inv(), &spec).map(names).map_err(|e| e.to_string())
    }

    #[test]
    fn limit_narrows_hosts_and_groups() {
        // once: -g web -l 'web:!web02' added hosts instead of narrowing, and kept web02
        assert_eq!(
            sel(&[], &["web"], Some("web:!web02")).unwrap(),
            vec!["web01", "web03", "web04"]
        );
        assert_eq!(
            sel(&[], &["web"], Some("!web02")).unwrap(),
            vec!["web01", "web03", "web04"]
        );
        assert_eq!(
            sel(&[], &["web", "db"], Some("canary")).unwrap(),
            vec!["web01", "db1"]
        );
        assert_eq!(
            sel(&[], &["web"], Some("db")).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            sel(&["web0[1-3]"], &[], Some("web[02,03,04]")).unwrap(),
            vec!["web02", "web03"]
        );
        // ad-hoc hosts stay only when a term names them
        let adhoc = ["web01", "me@10.0.0.9"];
        assert_eq!(sel(&adhoc, &[], Some("web")).unwrap(), vec!["web01"]);
        assert_eq!(sel(&adhoc, &[], Some("me@*")).unwrap(), vec!["me@10.0.0.9"]);
        assert_eq!(
            sel(&adhoc, &[], Some("!web01")).unwrap(),
            vec!["me@10.0.0.9"]
        );
        assert_eq!(
            sel(&adhoc, &[], Some("!me@10.0.0.9")).unwrap(),
            vec!["web01"]
        );
        // alone, -l selects from the whole inventory
        assert_eq!(sel(&[], &[], Some("!prod")).unwrap(), Vec::<String>::new());
        assert_eq!(sel(&[], &[], Some("!web:!canary")).unwrap(), vec!["db2"]);
    }

    #[test]
    fn adhoc_hosts_are_checked() {
        for (bad, want) in [
            (
                "u@addr:0",
                "-H u@addr:0: bad destination \"u@addr:0\": bad port \"0\"",
            ),
            ("u@:22", "no host (the address is empty)"),
            ("..", "host name \"..\" is not a usable directory name"),
            ("a.b/c", "contains a slash"),
            ("h:+22", "port \"+22\""),
        ] {
            let got = sel(&[bad], &[], None).unwrap_err();
            assert!(got.contains(want), "{bad}: {got}");
        }
        let huge = sel(&["a[1-1000]b[1-1000]c[1-1000]"], &[], None).unwrap_err();
        assert!(huge.contains("expands to more than 100000 hosts"), "{huge}");
    }

    #[test]
    fn globs() {
        assert!(glob_match("web*", "web01"));
        assert!(glob_match("w?b*1", "web01"));
        assert!(!glob_match("db*", "web01"));
    }
}
