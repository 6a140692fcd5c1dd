//! Choosing target hosts: `-H h1,h2` (inventory hosts, node sets such as `web[01-03]`, or
//! ad-hoc `user@addr:port`), `-g web,db` (groups), `-l PATTERN` (terms joined by `:` or `,`;
//! `&term` intersects, `!term` removes; a term is a group, a host or a glob such as `web*`).
//! Unknown names are errors with a "did you mean" hint.

use std::collections::BTreeSet;

use super::{Inventory, did_you_mean, nodeset};

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct TargetSpec {
    pub hosts: Vec<String>,
    pub groups: Vec<String>,
    pub pattern: Option<String>,
}

impl TargetSpec {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.groups.is_empty() && self.pattern.is_none()
    }
}

/// One chosen host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// An inventory host, by name.
    Inventory(String),
    /// A host outside the inventory: `user@addr:port` (user and port optional).
    AdHoc(String),
}

impl Chosen {
    pub fn name(&self) -> &str {
        match self {
            Chosen::Inventory(n) | Chosen::AdHoc(n) => n,
        }
    }
}

/// `*` and `?` glob match.
pub fn glob_match(pattern: &str, name: &str) -> bool {
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

/// The hosts a pattern term names.
fn term_hosts(inv: &Inventory, term: &str) -> Result<BTreeSet<String>, String> {
    if inv.groups.contains_key(term) {
        return Ok(inv.group_hosts(term).into_iter().collect());
    }
    if inv.hosts.iter().any(|h| h == term) {
        return Ok(BTreeSet::from([term.to_string()]));
    }
    if term.contains('*') || term.contains('?') {
        let mut out: BTreeSet<String> = inv
            .hosts
            .iter()
            .filter(|h| glob_match(term, h))
            .cloned()
            .collect();
        for g in inv.groups.keys().filter(|g| glob_match(term, g)) {
            out.extend(inv.group_hosts(g));
        }
        if out.is_empty() {
            return Err(format!("pattern \"{term}\" matches no host or group"));
        }
        return Ok(out);
    }
    if term.contains('[') {
        let mut out = BTreeSet::new();
        for name in nodeset::expand(term)? {
            out.extend(term_hosts(inv, &name)?);
        }
        return Ok(out);
    }
    let known: Vec<String> = inv.hosts.iter().chain(inv.groups.keys()).cloned().collect();
    Err(format!(
        "\"{term}\" is neither a group nor a host of {}{}",
        inv.file.display(),
        did_you_mean(term, known.iter())
    ))
}

/// Applies a `-l` pattern: terms left to right, `&` intersects, `!` removes, others add.
fn pattern_hosts(inv: &Inventory, pattern: &str) -> Result<BTreeSet<String>, String> {
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut first = true;
    for term in pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if let Some(t) = term.strip_prefix('&') {
            let other = term_hosts(inv, t)?;
            set.retain(|h| other.contains(h));
        } else if let Some(t) = term.strip_prefix('!') {
            if first {
                set = inv.hosts.iter().cloned().collect();
            }
            let other = term_hosts(inv, t)?;
            set.retain(|h| !other.contains(h));
        } else {
            set.extend(term_hosts(inv, term)?);
        }
        first = false;
    }
    Ok(set)
}

/// The hosts `spec` names, in inventory order (ad-hoc hosts after, as given). Errors say what
/// is unknown and suggest a close name.
pub fn select(inv: &Inventory, spec: &TargetSpec) -> Result<Vec<Chosen>, String> {
    let mut chosen: BTreeSet<String> = BTreeSet::new();
    let mut adhoc: Vec<String> = Vec::new();
    for item in &spec.hosts {
        if inv.hosts.contains(item) {
            chosen.insert(item.clone());
        } else if item.contains('[') {
            for name in nodeset::expand(item)? {
                if !inv.hosts.contains(&name) {
                    return Err(format!(
                        "host \"{name}\" (from {item}) is not in {}{}",
                        inv.file.display(),
                        did_you_mean(&name, inv.hosts.iter())
                    ));
                }
                chosen.insert(name);
            }
        } else if is_adhoc(item) {
            if !adhoc.contains(item) {
                adhoc.push(item.clone());
            }
        } else {
            return Err(format!(
                "host \"{item}\" is not in {}{} (write user@address or address:port for a host outside the inventory)",
                inv.file.display(),
                did_you_mean(item, inv.hosts.iter())
            ));
        }
    }
    for g in &spec.groups {
        if !inv.groups.contains_key(g) {
            return Err(format!(
                "group \"{g}\" is not in {}{}",
                inv.file.display(),
                did_you_mean(g, inv.groups.keys())
            ));
        }
        chosen.extend(inv.group_hosts(g));
    }
    if let Some(p) = &spec.pattern {
        chosen.extend(pattern_hosts(inv, p)?);
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
        c.into_iter().map(|c| c.name().to_string()).collect()
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
                .contains("did you mean \"db\"")
        );
        let bad_host = TargetSpec {
            hosts: vec!["web5".into()],
            ..Default::default()
        };
        assert!(
            select(&inv(), &bad_host)
                .unwrap_err()
                .contains("did you mean")
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("web*", "web01"));
        assert!(glob_match("w?b*1", "web01"));
        assert!(!glob_match("db*", "web01"));
    }
}
