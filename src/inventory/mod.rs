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
//! `lines.rs` scans the text (every error with its file and line), checking connection values
//! with the `connection` leaf; this module builds the model: groups (a group named only by hosts'
//! `groups =` exists, as in Ansible), their graph (no cycles) and each host's resolution.
//! Indexes built once keep resolving 100,000 hosts or a 3,000-deep `children` chain linear.
//! Knows nothing of Lua or SSH: a host resolves to its groups and values ([`HostVars`]); the
//! runtime turns the connection values into an SSH target.

mod build;
mod groups;
mod lines;
mod parse;

pub(crate) mod select;

#[cfg(test)]
mod proptests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::connection;
use crate::nodeset;

pub use crate::connection::ConnectionError;
pub use crate::connection::{holds_secret, is_secret_name};
pub use crate::nodeset::NodeSetError;
pub use build::{HostEntry, InventoryBuilder};

/// Checks a variable given outside a file (`-e KEY=VALUE`) as an inventory line is checked:
/// the key one word, a connection value valid (a port a port, ...).
pub fn check_variable(key: &str, value: &str) -> Result<(), ConnectionError> {
    connection::key(key)?;
    connection::check_value(key, value)
}
pub use select::{SelectError, TargetSpec};

/// Most hosts one inventory may hold (each node set is bounded by
/// `nodeset::MAX_EXPANSION`; this bounds many of them).
pub const MAX_INVENTORY_HOSTS: usize = 1_000_000;

/// Why an inventory could not be used: always names the file, and the line when there is one.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}:{line}: {cause}")]
    /// A problem at a line of the file.
    At {
        /// The inventory file.
        file: String,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        cause: String,
    },
    #[error("{file}:{line}: {source}")]
    /// A bad connection value.
    Connection {
        /// The inventory file.
        file: String,
        /// The line (1-based).
        line: usize,
        /// The underlying error.
        source: ConnectionError,
    },
    #[error("{file}:{line}: {source}")]
    /// A bad node set.
    NodeSet {
        /// The inventory file.
        file: String,
        /// The line (1-based).
        line: usize,
        /// The underlying error.
        source: NodeSetError,
    },
    #[error("{file}: {cause}")]
    /// The file as a whole (unreadable, too big, ...).
    File {
        /// The inventory file.
        file: String,
        /// What is wrong.
        cause: String,
    },
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
    "key_text",
    "identity_passphrase",
];

/// A section's keys, in file order, with their lines.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// The line (1-based).
    pub line: usize,
    /// The values.
    pub values: BTreeMap<String, (String, usize)>,
}

/// A group: its direct hosts (expanded), child groups and variables.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The name.
    pub name: String,
    /// The hosts.
    pub hosts: Vec<String>,
    /// The children.
    pub children: Vec<String>,
    /// The section.
    pub section: Section,
}

/// An inventory file, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The inventory file.
    pub file: PathBuf,
    /// The defaults.
    pub defaults: Section,
    /// The groups.
    pub groups: BTreeMap<String, Group>,
    /// `[host NAME]` sections.
    pub host_sections: BTreeMap<String, Section>,
    /// Every host name, in first-seen order (host sections and group `hosts =` lists).
    pub hosts: Vec<String>,
    /// Whether any section sets `password`.
    pub has_passwords: bool,
    /// The position of each of `hosts`, for lookups and for listing a group in inventory
    /// order without scanning every host.
    host_index: HashMap<String, usize>,
    /// Host → the groups that list it directly.
    memberships: HashMap<String, Vec<String>>,
    /// Group → the groups that list it in `children`.
    parents: HashMap<String, Vec<String>>,
    /// Group → the longest chain of parents above it (variables apply parent first).
    depth: HashMap<String, usize>,
}

/// A host's groups and values, by precedence: defaults < groups (parent < child) < host <
/// extra (`-e`).
#[derive(Debug, Clone)]
pub struct HostVars {
    /// The name.
    pub name: String,
    /// Every group the host belongs to, directly or through `children`, sorted.
    pub groups: Vec<String>,
    /// Variables: the values of keys other than [`CONNECTION_KEYS`].
    pub vars: BTreeMap<String, String>,
    /// The values of [`CONNECTION_KEYS`] (checked when read), for the SSH target.
    pub connection: BTreeMap<String, String>,
}

impl HostVars {
    /// Splits merged values into variables and connection values.
    pub fn new(name: &str, groups: Vec<String>, merged: BTreeMap<String, String>) -> HostVars {
        let (connection, vars) = merged
            .into_iter()
            .partition(|(k, _)| CONNECTION_KEYS.contains(&k.as_str()));
        HostVars {
            name: name.to_string(),
            groups,
            vars,
            connection,
        }
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// "did you mean" candidates: names within a small edit distance, or sharing a prefix.
/// Names far longer or shorter than `wanted` are skipped unmeasured, so a huge inventory or
/// a huge typo stays fast.
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a String>) -> String {
    // Optimal string alignment distance: a swap of two neighbours counts as one edit.
    fn distance(a: &[char], b: &[char]) -> usize {
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
    const LONGEST: usize = 64;
    if wanted.is_empty() || wanted.len() > LONGEST {
        return String::new();
    }
    let w: Vec<char> = wanted.chars().collect();
    let limit = 2.max(w.len() / 3);
    let mut best: Option<(usize, &String)> = None;
    for k in known {
        let d = if k.starts_with(wanted) {
            0
        } else if k.len() > LONGEST || k.chars().count().abs_diff(w.len()) > limit {
            continue;
        } else {
            let kc: Vec<char> = k.chars().collect();
            let d = distance(&w, &kc);
            if d > limit {
                continue;
            }
            d
        };
        if best.is_none_or(|(bd, bk)| (d, k) < (bd, bk)) {
            best = Some((d, k));
        }
    }
    match best {
        Some((_, k)) => format!(" (did you mean \"{}\"?)", nodeset::shown(k)),
        None => String::new(),
    }
}

/// An inventory host name: the characters of a section name, and one safe path component.
fn check_host_name(name: &str) -> Result<(), ConnectionError> {
    connection::host_name(name)?;
    if !lines::valid_name(name) {
        return Err(ConnectionError::HostName {
            name: nodeset::shown(name),
            reason: "has characters other than letters, digits and _ . - @ :",
        });
    }
    Ok(())
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

    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError::File {
            file: path.display().to_string(),
            cause: format!("cannot read: {e}"),
        })?;
        Inventory::parse(&text, path)
    }

    /// A warning for a person when the file holds passwords and others may read it.
    pub fn password_warning(&self) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        if !self.has_passwords {
            return None;
        }
        let mode = std::fs::metadata(&self.file).ok()?.permissions().mode();
        (mode & 0o077 != 0).then(|| {
            format!(
                "warning: {} holds passwords and is readable by others (mode {:04o}); run: chmod 600 {}",
                self.file.display(),
                mode & 0o7777,
                self.file.display()
            )
        })
    }

    /// An inventory with no hosts (no file was named and none exists), named `file` in errors.
    pub fn empty(file: &Path) -> Inventory {
        Inventory {
            file: file.to_path_buf(),
            ..Default::default()
        }
    }

    /// Whether `name` is a host of this inventory.
    pub fn has_host(&self, name: &str) -> bool {
        self.host_index.contains_key(name)
    }

    /// The groups and values of `host` (an inventory host name), by precedence (`extra`
    /// from the CLI > host > group, child over parent > defaults).
    pub fn resolve(&self, host: &str, extra: &BTreeMap<String, String>) -> HostVars {
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
        HostVars::new(host, groups.into_iter().map(|(_, g)| g).collect(), merged)
    }

    /// The values of an ad-hoc host (`-H user@address:port`, not in the inventory): its
    /// destination over `extra` over the defaults.
    pub(crate) fn resolve_ad_hoc(
        &self,
        spec: &str,
        extra: &BTreeMap<String, String>,
    ) -> Result<HostVars, connection::ConnectionError> {
        let dest = connection::destination(spec)?;
        let mut vars: BTreeMap<String, String> = self
            .defaults
            .values
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        vars.extend(extra.clone());
        vars.insert("address".into(), dest.address);
        if let Some(u) = dest.user {
            vars.insert("user".into(), u);
        }
        if let Some(p) = dest.port {
            vars.insert("port".into(), p.to_string());
        }
        Ok(HostVars::new(spec, Vec::new(), vars))
    }
}

/// `hosts = web[01-03,05], db1`: commas inside brackets belong to the range.
pub fn split_list_ranges(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth: usize = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c)
            }
            ']' => {
                depth = depth.saturating_sub(1);
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
                "inv.ini:2: bad port \"70000\": not a port number",
            ),
            (
                "[group web]\nhosts = web[3-1]\n",
                "inv.ini:2: range \"3-1\" in \"web[3-1]\" runs backwards",
            ),
            (
                "[host a]\nport = +22\n",
                "inv.ini:2: bad port \"+22\": not a port number",
            ),
            (
                "[host a]\nport = 0\n",
                "inv.ini:2: bad port \"0\": not a port number",
            ),
            ("[host a]\naddress =\n", "inv.ini:2: address is empty"),
            (
                "[host a]\naddress = ; todo\n",
                "inv.ini:2: address is empty",
            ),
            (
                "[defaults]\nconnect_timeout = 1e20\n",
                "inv.ini:2: connect_timeout \"1e20\" is not a number of seconds",
            ),
            (
                "[group g]\nhost_key_policy = stirct\n",
                "inv.ini:2: host_key_policy \"stirct\" must be accept-new, strict or off",
            ),
            (
                "[host a]\nproxy_jump = j@jump:0\n",
                "inv.ini:2: bad destination \"j@jump:0\": bad port \"0\"",
            ),
            (
                "[host ..]\n",
                "inv.ini:1: host name \"..\" is not a usable directory name",
            ),
            (
                "[group g]\nhosts = a, .\n",
                "inv.ini:2: host name \".\" is not a usable",
            ),
            (
                "[host a]\npassword = Pw #x\n",
                "inv.ini:2: the value of password holds \" #\" or \" ;\"",
            ),
            (
                "[host a]\ndb_token = t0k ;x\n",
                "inv.ini:2: the value of db_token holds",
            ),
            (
                "[host a]\npassword = \"open\n",
                "inv.ini:2: password: unterminated quote",
            ),
            (
                "[group g]\nhosts = a[1-100]b[1-100]c[1-100]d[1-100]\n",
                "inv.ini:2: \"a[1-100]b[1-100]c[1-100]d[1-100]\" expands to more than 100000 hosts",
            ),
            (
                "[group g]\nchildren = nobody\n[host a]\ngroups = g, somebody\n",
                "inv.ini:2: group g has undefined child group \"nobody\"",
            ),
            (
                "[host a]\nbad\tkey = 1\n",
                "inv.ini:2: bad key \"bad\tkey\"",
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
    fn groups_named_only_by_hosts_exist() {
        // the README's example: no [group db] section
        let inv = parse("[group prod]\nchildren = db\n[host db1]\ngroups = db\n").unwrap();
        assert_eq!(inv.group_hosts("db"), vec!["db1"]);
        assert_eq!(inv.group_hosts("prod"), vec!["db1"]);
        let r = inv.resolve("db1", &BTreeMap::new());
        assert_eq!(r.groups, vec!["prod", "db"]);
    }

    #[test]
    fn bom_quotes_and_secrets() {
        let inv = parse(
            "\u{feff}[host a]\npassword = \"Pw #x ; y\"\nnote = \" kept \" ; comment\n\
             password_env = A_PASS ; comments still allowed after variable names\n",
        )
        .unwrap();
        let s = &inv.host_sections["a"];
        assert_eq!(s.values["password"].0, "Pw #x ; y");
        assert_eq!(s.values["note"].0, " kept ");
        assert_eq!(s.values["password_env"].0, "A_PASS");
        assert!(inv.has_passwords);
    }

    #[test]
    fn deep_children_chains_are_linear() {
        // g0 -> g1 -> ... -> g2999, a host at the bottom: once 60 s (exponential depth
        // recursion); the bound is generous for a debug build.
        let n = 3000;
        let mut text = String::new();
        for i in 0..n - 1 {
            text.push_str(&format!(
                "[group g{i}]\nchildren = g{}\nv{i} = {i}\n",
                i + 1
            ));
        }
        text.push_str(&format!(
            "[group g{}]\nhosts = leaf\ncolour = deep\n",
            n - 1
        ));
        let started = std::time::Instant::now();
        let inv = parse(&text).unwrap();
        let r = inv.resolve("leaf", &BTreeMap::new());
        assert_eq!(r.groups.len(), n);
        assert_eq!(r.vars["colour"], "deep");
        assert_eq!(inv.group_hosts("g0"), vec!["leaf"]);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
        // the same chain closed into a cycle is found, with the whole path
        let cyclic = text.replace("hosts = leaf", "children = g0");
        let err = parse(&cyclic).unwrap_err();
        assert!(
            err.starts_with("inv.ini:2: group cycle: g0 -> g1 -> "),
            "{}",
            &err[..80]
        );
        assert!(err.ends_with(&format!("g{} -> g0", n - 1)));
    }

    #[test]
    fn variables_precede_by_depth_not_name() {
        // z (top) > m > b (bottom): the bottom group's value wins, though "b" sorts first
        let inv = parse(
            "[group z]\nchildren = m\nv = top\n[group m]\nchildren = b\nv = mid\n\
             [group b]\nhosts = h\nv = bottom\n",
        )
        .unwrap();
        let r = inv.resolve("h", &BTreeMap::new());
        assert_eq!(r.vars["v"], "bottom");
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
        let w1 = inv.resolve("web01", &none);
        assert_eq!(w1.vars["colour"], "blue", "child group over parent");
        assert_eq!(w1.vars["tier"], "prod", "parent group over defaults");
        assert_eq!(w1.groups, vec!["prod", "web"]);
        assert_eq!(w1.connection["user"], "deploy");
        assert!(
            !w1.vars.contains_key("user"),
            "a connection value is not a variable"
        );
        let w2 = inv.resolve("web02", &none);
        assert_eq!(w2.vars["colour"], "green", "host over groups");
        assert_eq!(w2.connection["port"], "2222");
        let cli = BTreeMap::from([("colour".to_string(), "cli".to_string())]);
        assert_eq!(inv.resolve("web02", &cli).vars["colour"], "cli");
    }
}
