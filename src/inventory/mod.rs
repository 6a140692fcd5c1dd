//! The inventory: hosts, groups and variables from an INI file (DESIGN §4), parsed strictly.
//!
//! ```ini
//! [defaults]
//! user = deploy
//! [group web]
//! hosts = web[01-20].example.com, web-canary
//! http_port = 8080
//! [group prod]
//! children = web, db
//! [host db1]
//! address = 10.0.0.21
//! groups = db
//! ```
//!
//! rust-ini reads the values (escapes and quotes off, so `C:\temp\new` stays as written); a
//! line scan beforehand gives every error its file and line and rejects what rust-ini would
//! silently accept: a line without `=` (rust-ini glues it to the next key), duplicate sections
//! or keys, unknown section kinds. Knows nothing of Lua.

pub mod nodeset;
pub mod select;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ssh::{HostKeyPolicy, Secret, Target};

/// Why an inventory could not be used: always names the file, and the line when there is one.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}:{line}: {cause}")]
    At {
        file: String,
        line: usize,
        cause: String,
    },
    #[error("{file}: {cause}")]
    File { file: String, cause: String },
}

/// Keys with a connection meaning; any other key is a variable.
pub const CONNECTION_KEYS: &[&str] = &[
    "address",
    "port",
    "user",
    "password",
    "password_env",
    "identity",
    "identity_passphrase_env",
    "proxy_jump",
    "known_hosts",
    "connect_timeout",
    "host_key_policy",
];

/// A section's keys, in file order, with their lines.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub line: usize,
    pub values: BTreeMap<String, (String, usize)>,
}

/// A group: its direct hosts (expanded), child groups and variables.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub section: Section,
}

/// An inventory file, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub file: PathBuf,
    pub defaults: Section,
    pub groups: BTreeMap<String, Group>,
    /// `[host NAME]` sections.
    pub host_sections: BTreeMap<String, Section>,
    /// Every host name, in first-seen order (host sections and group `hosts =` lists).
    pub hosts: Vec<String>,
    /// Whether any section sets `password`.
    pub has_passwords: bool,
}

/// A host with everything resolved: groups, variables by precedence, and how to connect.
#[derive(Debug, Clone)]
pub struct ResolvedHost {
    pub name: String,
    /// Every group the host belongs to, directly or through `children`, sorted.
    pub groups: Vec<String>,
    /// Variables (not connection keys): defaults < groups (parent < child) < host < CLI.
    pub vars: BTreeMap<String, String>,
    pub target: Target,
}

/// Which section a line belongs to, as written in its header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Defaults,
    Group(String),
    Host(String),
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-[],@:".contains(c))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// "did you mean" candidates: names within a small edit distance, or sharing a prefix.
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a String>) -> String {
    // Optimal string alignment distance: a swap of two neighbours counts as one edit.
    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }
    let mut best: Vec<(usize, &String)> = known
        .into_iter()
        .map(|k| (distance(wanted, k), k))
        .filter(|(d, k)| *d <= 2.max(wanted.len() / 3) || k.starts_with(wanted))
        .collect();
    best.sort();
    match best.first() {
        Some((_, k)) => format!(" (did you mean \"{k}\"?)"),
        None => String::new(),
    }
}

impl Inventory {
    /// Which file to read: `explicit` (`-i`), else `$DROVER_INVENTORY`, else `./inventory.ini`
    /// when it exists.
    pub fn default_path(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os("DROVER_INVENTORY").filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let default = PathBuf::from("inventory.ini");
        default.exists().then_some(default)
    }

    /// Reads and checks `path`; warns on stderr when it holds passwords and others may read it.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError::File {
            file: path.display().to_string(),
            cause: format!("cannot read: {e}"),
        })?;
        let inv = Inventory::parse(&text, path)?;
        if inv.has_passwords {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                eprintln!(
                    "drover: warning: {} holds passwords and is readable by others (mode {:04o}); run: chmod 600 {}",
                    path.display(),
                    meta.permissions().mode() & 0o7777,
                    path.display()
                );
            }
        }
        Ok(inv)
    }

    /// Parses inventory text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Inventory, InventoryError> {
        let fname = file.display().to_string();
        let at = |line: usize, cause: String| InventoryError::At {
            file: fname.clone(),
            line,
            cause,
        };
        // 1. The line scan: headers, keys, duplicates, each with its line.
        let mut sections: Vec<(Kind, Section)> = Vec::new();
        let mut seen: HashMap<Kind, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
                continue;
            }
            if let Some(rest) = t.strip_prefix('[') {
                let inner = rest
                    .split_once(']')
                    .map(|(h, tail)| (h, tail.trim()))
                    .ok_or_else(|| at(line, format!("section header \"{t}\" lacks ']'")))?;
                if !inner.1.is_empty() && !inner.1.starts_with(';') && !inner.1.starts_with('#') {
                    return Err(at(
                        line,
                        format!("unexpected text after the section header: \"{}\"", inner.1),
                    ));
                }
                let words: Vec<&str> = inner.0.split_whitespace().collect();
                let kind = match words.as_slice() {
                    ["defaults"] => Kind::Defaults,
                    ["group", name] if valid_name(name) => Kind::Group(name.to_string()),
                    ["host", name] if valid_name(name) => Kind::Host(name.to_string()),
                    ["group" | "host", ..] => {
                        return Err(at(
                            line,
                            format!(
                                "bad section header [{}]: expected one name after \"{}\"",
                                inner.0, words[0]
                            ),
                        ));
                    }
                    _ => {
                        return Err(at(
                            line,
                            format!(
                                "unknown section [{}]: sections are [defaults], [group NAME] and [host NAME]",
                                inner.0
                            ),
                        ));
                    }
                };
                if let Some(first) = seen.get(&kind) {
                    return Err(at(
                        line,
                        format!("duplicate section [{}] (first at line {first})", inner.0),
                    ));
                }
                seen.insert(kind.clone(), line);
                sections.push((
                    kind,
                    Section {
                        line,
                        values: BTreeMap::new(),
                    },
                ));
                continue;
            }
            let Some((key, _)) = t.split_once('=') else {
                return Err(at(
                    line,
                    format!("\"{t}\" is not `key = value` (a host list goes in `hosts = a, b, c`)"),
                ));
            };
            let key = key.trim();
            if key.is_empty() || key.chars().any(char::is_whitespace) {
                return Err(at(
                    line,
                    format!("bad key \"{key}\": keys are single words"),
                ));
            }
            let Some((_, section)) = sections.last_mut() else {
                return Err(at(
                    line,
                    format!(
                        "key \"{key}\" is outside any section (start with [defaults], [group NAME] or [host NAME])"
                    ),
                ));
            };
            if let Some((_, first)) = section.values.get(key) {
                return Err(at(
                    line,
                    format!("duplicate key \"{key}\" (first at line {first})"),
                ));
            }
            section
                .values
                .insert(key.to_string(), (String::new(), line));
        }
        // 2. rust-ini reads the values.
        let opts = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..Default::default()
        };
        let parsed =
            ini::Ini::load_from_str_opt(text, opts).map_err(|e| at(e.line, e.msg.to_string()))?;
        let mut by_header: HashMap<String, &mut Section> = HashMap::new();
        for (kind, section) in sections.iter_mut() {
            let header = match kind {
                Kind::Defaults => "defaults".to_string(),
                Kind::Group(n) => format!("group {n}"),
                Kind::Host(n) => format!("host {n}"),
            };
            by_header.insert(header, section);
        }
        for (name, props) in parsed.iter() {
            let Some(name) = name else { continue };
            let header = name.split_whitespace().collect::<Vec<_>>().join(" ");
            let Some(section) = by_header.get_mut(&header) else {
                continue;
            };
            for (k, v) in props.iter() {
                if let Some(slot) = section.values.get_mut(k.trim()) {
                    slot.0 = v.trim().to_string();
                }
            }
        }
        // 3. The model.
        let mut inv = Inventory {
            file: file.to_path_buf(),
            ..Default::default()
        };
        let mut known: BTreeSet<String> = BTreeSet::new();
        let mut add_host = |inv: &mut Inventory, name: &str| {
            if known.insert(name.to_string()) {
                inv.hosts.push(name.to_string());
            }
        };
        for (kind, section) in sections {
            inv.has_passwords |= section.values.contains_key("password");
            if let Some((v, line)) = section.values.get("port")
                && v.parse::<u16>().map_or(true, |p| p == 0)
            {
                return Err(at(
                    *line,
                    format!("port \"{v}\" is not a port number (1-65535)"),
                ));
            }
            if let Some((v, line)) = section.values.get("connect_timeout")
                && v.parse::<f64>()
                    .map_or(true, |s| !(s > 0.0 && s.is_finite()))
            {
                return Err(at(
                    *line,
                    format!("connect_timeout \"{v}\" is not a number of seconds"),
                ));
            }
            if let Some((v, line)) = section.values.get("host_key_policy")
                && !matches!(v.as_str(), "accept-new" | "strict" | "off")
            {
                return Err(at(
                    *line,
                    format!("host_key_policy \"{v}\" must be accept-new, strict or off"),
                ));
            }
            match kind {
                Kind::Defaults => {
                    for key in ["hosts", "children", "groups"] {
                        if let Some((_, line)) = section.values.get(key) {
                            return Err(at(
                                *line,
                                format!("\"{key}\" does not belong in [defaults]"),
                            ));
                        }
                    }
                    inv.defaults = section;
                }
                Kind::Group(name) => {
                    if let Some((_, line)) = section.values.get("groups") {
                        return Err(at(
                            *line,
                            "\"groups\" belongs in [host] sections; a group lists `children`"
                                .into(),
                        ));
                    }
                    let mut hosts = Vec::new();
                    if let Some((list, line)) = section.values.get("hosts") {
                        for item in split_list_ranges(list) {
                            let expanded = nodeset::expand(&item).map_err(|e| at(*line, e))?;
                            for h in expanded {
                                add_host(&mut inv, &h);
                                hosts.push(h);
                            }
                        }
                    }
                    let children = section
                        .values
                        .get("children")
                        .map(|(v, _)| split_list(v))
                        .unwrap_or_default();
                    inv.groups.insert(
                        name.clone(),
                        Group {
                            name,
                            hosts,
                            children,
                            section,
                        },
                    );
                }
                Kind::Host(name) => {
                    for key in ["hosts", "children"] {
                        if let Some((_, line)) = section.values.get(key) {
                            return Err(at(
                                *line,
                                format!("\"{key}\" belongs in [group] sections"),
                            ));
                        }
                    }
                    add_host(&mut inv, &name);
                    inv.host_sections.insert(name, section);
                }
            }
        }
        // Host sections' `groups =` add the host to those groups.
        for (host, section) in &inv.host_sections {
            if let Some((list, line)) = section.values.get("groups") {
                for g in split_list(list) {
                    let Some(group) = inv.groups.get_mut(&g) else {
                        return Err(at(
                            *line,
                            format!(
                                "host {host} names undefined group \"{g}\"{}",
                                did_you_mean(&g, inv.groups.keys())
                            ),
                        ));
                    };
                    if !group.hosts.contains(host) {
                        group.hosts.push(host.clone());
                    }
                }
            }
        }
        // Children must exist, and the group graph must have no cycle.
        for group in inv.groups.values() {
            for child in &group.children {
                if !inv.groups.contains_key(child) {
                    let line = group
                        .section
                        .values
                        .get("children")
                        .map_or(group.section.line, |v| v.1);
                    return Err(at(
                        line,
                        format!(
                            "group {} has undefined child group \"{child}\"{}",
                            group.name,
                            did_you_mean(child, inv.groups.keys())
                        ),
                    ));
                }
            }
        }
        for name in inv.groups.keys() {
            let mut path = vec![name.clone()];
            if let Some(cycle) = inv.find_cycle(&mut path) {
                let group = &inv.groups[name];
                let line = group
                    .section
                    .values
                    .get("children")
                    .map_or(group.section.line, |v| v.1);
                return Err(at(line, format!("group cycle: {}", cycle.join(" -> "))));
            }
        }
        Ok(inv)
    }

    fn find_cycle(&self, path: &mut Vec<String>) -> Option<Vec<String>> {
        let last = path.last().cloned()?;
        for child in &self.groups.get(&last)?.children {
            if path.first() == Some(child) {
                let mut cycle = path.clone();
                cycle.push(child.clone());
                return Some(cycle);
            }
            if path.contains(child) {
                continue;
            }
            path.push(child.clone());
            if let Some(c) = self.find_cycle(path) {
                return Some(c);
            }
            path.pop();
        }
        None
    }

    /// Every host of `group`, through its children too, in inventory order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut members = BTreeSet::new();
        let mut stack = vec![group.to_string()];
        let mut visited = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if !visited.insert(g.clone()) {
                continue;
            }
            if let Some(grp) = self.groups.get(&g) {
                members.extend(grp.hosts.iter().cloned());
                stack.extend(grp.children.iter().cloned());
            }
        }
        self.hosts
            .iter()
            .filter(|h| members.contains(*h))
            .cloned()
            .collect()
    }

    /// The groups `host` belongs to, each with its depth below the top (a child is deeper
    /// than its parent), so variables can be applied parent first.
    fn groups_of(&self, host: &str) -> Vec<(usize, String)> {
        let direct: Vec<&String> = self
            .groups
            .values()
            .filter(|g| g.hosts.iter().any(|h| h == host))
            .map(|g| &g.name)
            .collect();
        // depth of a group = longest chain of parents above it
        fn depth(inv: &Inventory, g: &str, seen: &mut Vec<String>) -> usize {
            if seen.iter().any(|s| s == g) {
                return 0;
            }
            seen.push(g.to_string());
            let d = inv
                .groups
                .values()
                .filter(|p| p.children.iter().any(|c| c == g))
                .map(|p| depth(inv, &p.name, seen) + 1)
                .max()
                .unwrap_or(0);
            seen.pop();
            d
        }
        let mut all: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = direct.into_iter().cloned().collect();
        while let Some(g) = stack.pop() {
            if all.insert(g.clone()) {
                for p in self.groups.values().filter(|p| p.children.contains(&g)) {
                    stack.push(p.name.clone());
                }
            }
        }
        let mut out: Vec<(usize, String)> = all
            .into_iter()
            .map(|g| (depth(self, &g, &mut Vec::new()), g))
            .collect();
        out.sort();
        out
    }

    /// Resolves `host` (an inventory host name): variables by precedence
    /// (`extra` from the CLI > host > group, child over parent > defaults), then the
    /// connection target; `~/.ssh/config` fills what none of them set.
    pub fn resolve(
        &self,
        host: &str,
        extra: &BTreeMap<String, String>,
        ssh_config: Option<&Path>,
    ) -> Result<ResolvedHost, InventoryError> {
        let groups = self.groups_of(host);
        let mut merged: BTreeMap<String, String> = BTreeMap::new();
        let mut apply = |s: &Section| {
            for (k, (v, _)) in &s.values {
                if !matches!(k.as_str(), "hosts" | "children" | "groups") {
                    merged.insert(k.clone(), v.clone());
                }
            }
        };
        apply(&self.defaults);
        for (_, g) in &groups {
            apply(&self.groups[g].section);
        }
        if let Some(s) = self.host_sections.get(host) {
            apply(s);
        }
        for (k, v) in extra {
            merged.insert(k.clone(), v.clone());
        }
        let fname = self.file.display().to_string();
        let target =
            target_from_vars(host, &merged, ssh_config).map_err(|cause| InventoryError::File {
                file: fname.clone(),
                cause: format!("host {host}: {cause}"),
            })?;
        let vars = merged
            .into_iter()
            .filter(|(k, _)| !CONNECTION_KEYS.contains(&k.as_str()))
            .collect();
        Ok(ResolvedHost {
            name: host.to_string(),
            groups: groups.into_iter().map(|(_, g)| g).collect(),
            vars,
            target,
        })
    }
}

/// `hosts = web[01-03,05], db1`: commas inside brackets belong to the range.
pub fn split_list_ranges(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c)
            }
            ']' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => {
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn expand_tilde(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None => PathBuf::from(p),
    }
}

/// The connection target for `name` from merged variables, `~/.ssh/config` under them.
pub fn target_from_vars(
    name: &str,
    vars: &BTreeMap<String, String>,
    ssh_config: Option<&Path>,
) -> Result<Target, String> {
    let get = |k: &str| vars.get(k).filter(|v| !v.is_empty());
    let mut t = Target {
        name: name.to_string(),
        address: get("address").cloned().unwrap_or_else(|| name.to_string()),
        port: 22,
        user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        password: None,
        identity: None,
        key_text: None,
        passphrase: None,
        known_hosts: home().join(".ssh/known_hosts"),
        agent: None,
        host_key_policy: HostKeyPolicy::AcceptNew,
        proxy_jump: None,
        connect_timeout: Duration::from_secs(10),
    };
    let explicit = crate::ssh::ssh_config::Explicit {
        user: get("user").is_some(),
        port: get("port").is_some(),
        identity: get("identity").is_some(),
        known_hosts: get("known_hosts").is_some(),
        proxy_jump: get("proxy_jump").is_some(),
    };
    if let Some(path) = ssh_config {
        crate::ssh::ssh_config::apply(&mut t, path, explicit).map_err(|e| e.to_string())?;
    }
    if let Some(p) = get("port") {
        t.port = p
            .parse()
            .map_err(|_| format!("port \"{p}\" is not a port number"))?;
    }
    if let Some(u) = get("user") {
        t.user = u.clone();
    }
    if let Some(p) = get("password") {
        t.password = Some(Secret(p.clone()));
    }
    if let Some(var) = get("password_env") {
        let value = std::env::var(var)
            .map_err(|_| format!("password_env names {var}, which is not set"))?;
        t.password = Some(Secret(value));
    }
    if let Some(i) = get("identity") {
        t.identity = Some(expand_tilde(i));
    }
    if let Some(var) = get("identity_passphrase_env") {
        let value = std::env::var(var)
            .map_err(|_| format!("identity_passphrase_env names {var}, which is not set"))?;
        t.passphrase = Some(Secret(value));
    }
    if let Some(k) = get("known_hosts") {
        t.known_hosts = expand_tilde(k);
    }
    if let Some(s) = get("connect_timeout") {
        let secs: f64 = s
            .parse()
            .map_err(|_| format!("connect_timeout \"{s}\" is not a number"))?;
        t.connect_timeout = Duration::from_secs_f64(secs);
    }
    if let Some(p) = get("host_key_policy") {
        t.host_key_policy = match p.as_str() {
            "strict" => HostKeyPolicy::Strict,
            "off" => HostKeyPolicy::Off,
            _ => HostKeyPolicy::AcceptNew,
        };
    }
    if let Some(j) = get("proxy_jump") {
        let jump = Target::parse(j, &t).map_err(|e| e.to_string())?;
        t.proxy_jump = Some(Box::new(Target {
            proxy_jump: None,
            ..jump
        }));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Inventory, String> {
        Inventory::parse(text, Path::new("inv.ini")).map_err(|e| e.to_string())
    }

    #[test]
    fn strict_errors_name_file_and_line() {
        let cases = [
            (
                "[group web]\nhosts = a\nweb2.example.com\nport = 2\n",
                "inv.ini:3: \"web2.example.com\" is not `key = value`",
            ),
            (
                "[group web]\n[group web]\n",
                "inv.ini:2: duplicate section [group web] (first at line 1)",
            ),
            (
                "[host a]\nport = 1\nport = 2\n",
                "inv.ini:3: duplicate key \"port\" (first at line 2)",
            ),
            ("[hosts a]\n", "inv.ini:1: unknown section [hosts a]"),
            (
                "user = x\n",
                "inv.ini:1: key \"user\" is outside any section",
            ),
            (
                "[group a]\nchildren = b\n[group b]\nchildren = a\n",
                "inv.ini:2: group cycle: a -> b -> a",
            ),
            (
                "[group prod]\nchildren = webb\n[group web]\n",
                "inv.ini:2: group prod has undefined child group \"webb\" (did you mean \"web\"?)",
            ),
            (
                "[host a]\nport = 70000\n",
                "inv.ini:2: port \"70000\" is not a port number",
            ),
            (
                "[group web]\nhosts = web[3-1]\n",
                "inv.ini:2: range \"3-1\" in \"web[3-1]\" runs backwards",
            ),
            (
                "[host a]\ngroups = nope\n",
                "inv.ini:2: host a names undefined group \"nope\"",
            ),
            ("[host a b]\n", "inv.ini:1: bad section header [host a b]"),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_err();
            assert!(
                got.starts_with(want),
                "for {text:?}\n got: {got}\nwant: {want}"
            );
        }
    }

    #[test]
    fn values_keep_backslashes_and_drop_inline_comments() {
        let inv =
            parse("[host w]\nidentity = C:\\temp\\new ; a comment\naddress=10.0.0.1\n").unwrap();
        let s = &inv.host_sections["w"];
        assert_eq!(s.values["identity"].0, "C:\\temp\\new");
        assert_eq!(s.values["address"].0, "10.0.0.1");
    }

    #[test]
    fn precedence_and_groups() {
        let text = "[defaults]\nuser = deploy\ncolour = grey\ntier = none\n\
                    [group prod]\nchildren = web\ncolour = red\ntier = prod\n\
                    [group web]\nhosts = web[01-03]\ncolour = blue\n\
                    [host web02]\ncolour = green\nport = 2222\n";
        let inv = parse(text).unwrap();
        assert_eq!(inv.hosts, vec!["web01", "web02", "web03"]);
        assert_eq!(inv.group_hosts("prod"), vec!["web01", "web02", "web03"]);
        let none = BTreeMap::new();
        let w1 = inv.resolve("web01", &none, None).unwrap();
        assert_eq!(w1.vars["colour"], "blue", "child group over parent");
        assert_eq!(w1.vars["tier"], "prod", "parent group over defaults");
        assert_eq!(w1.groups, vec!["prod", "web"]);
        assert_eq!(w1.target.user, "deploy");
        assert_eq!(w1.target.port, 22);
        let w2 = inv.resolve("web02", &none, None).unwrap();
        assert_eq!(w2.vars["colour"], "green", "host over groups");
        assert_eq!(w2.target.port, 2222);
        let cli = BTreeMap::from([("colour".to_string(), "cli".to_string())]);
        assert_eq!(
            inv.resolve("web02", &cli, None).unwrap().vars["colour"],
            "cli"
        );
    }
}
