//! Inventories built in code (by an embedding program): the same sections an INI file gives,
//! checked by the same code, so a built inventory and a file behave alike. Credentials are
//! values here (a password, key text), never read from the environment.

use std::collections::BTreeMap;
use std::path::Path;

use super::lines::Kind;
use super::{Inventory, InventoryError, Section};

/// What the errors of a built inventory name as its file; the "line" is the entry's number
/// (defaults, then hosts and groups in the order they were added).
const BUILT: &str = "inventory (built in code)";

/// One host of a built inventory: how to reach it and its variables.
#[derive(Debug, Clone, Default)]
pub struct HostEntry {
    values: BTreeMap<String, String>,
}

impl HostEntry {
    /// A host with nothing set (address: its name).
    pub fn new() -> HostEntry {
        HostEntry::default()
    }

    fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values.insert(key.to_string(), value.into());
        self
    }

    /// The address to connect to (default: the host's name).
    pub fn address(self, address: impl Into<String>) -> Self {
        self.set("address", address)
    }

    /// The SSH port.
    pub fn port(self, port: u16) -> Self {
        self.set("port", port.to_string())
    }

    /// The login user.
    pub fn user(self, user: impl Into<String>) -> Self {
        self.set("user", user)
    }

    /// A password (for password or keyboard-interactive authentication).
    pub fn password(self, password: impl Into<String>) -> Self {
        self.set("password", password)
    }

    /// A private key file.
    pub fn identity(self, path: impl AsRef<Path>) -> Self {
        let p = path.as_ref().display().to_string();
        self.set("identity", p)
    }

    /// A private key as text (OpenSSH format).
    pub fn key_text(self, key: impl Into<String>) -> Self {
        self.set("key_text", key)
    }

    /// The passphrase of an encrypted identity or key text.
    pub fn passphrase(self, passphrase: impl Into<String>) -> Self {
        self.set("identity_passphrase", passphrase)
    }

    /// The known_hosts file this host's key is checked against.
    pub fn known_hosts(self, path: impl AsRef<Path>) -> Self {
        let p = path.as_ref().display().to_string();
        self.set("known_hosts", p)
    }

    /// `accept-new` (default), `strict` or `off`.
    pub fn host_key_policy(self, policy: impl Into<String>) -> Self {
        self.set("host_key_policy", policy)
    }

    /// Groups the host belongs to (as `groups =` in a `[host]` section).
    pub fn groups<'a>(self, groups: impl IntoIterator<Item = &'a str>) -> Self {
        let list: Vec<&str> = groups.into_iter().collect();
        self.set("groups", list.join(", "))
    }

    /// Any other variable (`host.vars.KEY` in scripts), or a connection key by name.
    pub fn var(self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value)
    }
}

/// Builds an [`Inventory`] in code.
///
/// ```
/// use drover::inventory::{HostEntry, Inventory};
/// let inv = Inventory::builder()
///     .default_var("user", "deploy")
///     .host("web1", HostEntry::new().address("10.0.0.11").port(2222))
///     .host("web2", HostEntry::new().address("10.0.0.12").var("http_port", "8080"))
///     .group("web", ["web1", "web2"], [("colour", "teal")])
///     .build()?;
/// assert_eq!(inv.hosts, ["web1", "web2"]);
/// # Ok::<(), drover::inventory::InventoryError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct InventoryBuilder {
    defaults: BTreeMap<String, String>,
    entries: Vec<(Kind, BTreeMap<String, String>)>,
}

impl Inventory {
    /// An empty [`InventoryBuilder`].
    pub fn builder() -> InventoryBuilder {
        InventoryBuilder::default()
    }
}

impl InventoryBuilder {
    /// A variable (or connection key) for every host, as in `[defaults]`.
    pub fn default_var(mut self, key: &str, value: impl Into<String>) -> Self {
        self.defaults.insert(key.to_string(), value.into());
        self
    }

    /// A host.
    pub fn host(mut self, name: &str, entry: HostEntry) -> Self {
        self.entries
            .push((Kind::Host(name.to_string()), entry.values));
        self
    }

    /// A group: its hosts (node sets such as `web[01-20]` expand) and its variables.
    pub fn group<'a, 'v>(
        mut self,
        name: &str,
        hosts: impl IntoIterator<Item = &'a str>,
        vars: impl IntoIterator<Item = (&'v str, &'v str)>,
    ) -> Self {
        let mut values: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let hosts: Vec<&str> = hosts.into_iter().collect();
        if !hosts.is_empty() {
            values.insert("hosts".into(), hosts.join(", "));
        }
        self.entries.push((Kind::Group(name.to_string()), values));
        self
    }

    /// A group whose members are other groups (`children =`).
    pub fn group_of_groups<'a>(
        mut self,
        name: &str,
        children: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let list: Vec<&str> = children.into_iter().collect();
        let values = BTreeMap::from([("children".to_string(), list.join(", "))]);
        self.entries.push((Kind::Group(name.to_string()), values));
        self
    }

    /// Checks everything as a file's sections are checked.
    pub fn build(self) -> Result<Inventory, InventoryError> {
        let section = |line: usize, values: BTreeMap<String, String>| Section {
            line,
            values: values.into_iter().map(|(k, v)| (k, (v, line))).collect(),
        };
        let mut sections = vec![(Kind::Defaults, section(1, self.defaults))];
        for (i, (kind, values)) in self.entries.into_iter().enumerate() {
            for key in values.keys() {
                crate::connection::key(key).map_err(|source| InventoryError::Connection {
                    file: BUILT.into(),
                    line: i + 2,
                    source,
                })?;
            }
            sections.push((kind, section(i + 2, values)));
        }
        let mut inv = Inventory::from_sections(sections, Path::new(BUILT))?;
        // Values given in code are not a file others can read.
        inv.has_passwords = false;
        Ok(inv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_inventories_resolve_like_files() {
        let inv = Inventory::builder()
            .default_var("user", "deploy")
            .host(
                "web1",
                HostEntry::new()
                    .address("127.0.0.1")
                    .port(2222)
                    .password("pw")
                    .key_text("KEY"),
            )
            .group("web", ["web1", "web[2-3]"], [("colour", "teal")])
            .group_of_groups("prod", ["web"])
            .build()
            .expect("builds");
        assert_eq!(inv.hosts, ["web1", "web2", "web3"]);
        let h = inv.resolve("web1", &BTreeMap::new());
        let c = &h.connection;
        assert_eq!((c["port"].as_str(), c["user"].as_str()), ("2222", "deploy"));
        assert_eq!(
            (c["password"].as_str(), c["key_text"].as_str()),
            ("pw", "KEY")
        );
        assert_eq!(h.vars.get("colour").map(String::as_str), Some("teal"));
        assert!(!h.vars.contains_key("password") && !h.vars.contains_key("key_text"));
        assert_eq!(h.groups, ["prod", "web"]);
    }

    #[test]
    fn bad_values_name_the_entry() {
        let err = Inventory::builder()
            .host("a", HostEntry::new())
            .host("b", HostEntry::new().var("port", "http"))
            .build()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "inventory (built in code):3: bad port \"http\": not a port number (1-65535, digits only)"
            )
        );
        let err = Inventory::builder()
            .group_of_groups("all", ["nope"])
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("nope"), "{err}");
    }
}
