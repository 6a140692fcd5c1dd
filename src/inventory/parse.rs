//! From scanned sections (an INI file's, or an [`InventoryBuilder`](super::InventoryBuilder)'s)
//! to a checked [`Inventory`]: section rules, host lists and node sets, memberships, and the
//! group graph. Errors name the file and the line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::lines::{self, Kind};
use super::{
    Group, Inventory, InventoryError, MAX_INVENTORY_HOSTS, Section, check_host_name, split_list,
    split_list_ranges,
};
use crate::connection::{self, ConnectionError};
use crate::nodeset;

impl Inventory {
    /// Parses inventory text; `file` names it in errors. A UTF-8 byte order mark at the start
    /// is skipped (editors on Windows write one).
    pub fn parse(text: &str, file: &Path) -> Result<Inventory, InventoryError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let sections = lines::scan(text, &file.display().to_string())?;
        Inventory::from_sections(sections, file)
    }

    /// Checks scanned sections and links hosts and groups.
    pub(super) fn from_sections(
        sections: Vec<(Kind, Section)>,
        file: &Path,
    ) -> Result<Inventory, InventoryError> {
        let mut p = Parser {
            file: file.display().to_string(),
            inv: Inventory {
                file: file.to_path_buf(),
                ..Default::default()
            },
            members: HashMap::new(),
        };
        for (kind, section) in sections {
            p.inv.has_passwords |= section.values.contains_key("password");
            for (key, (value, line)) in &section.values {
                connection::check_value(key, value).map_err(|e| p.conn(*line, e))?;
            }
            match kind {
                Kind::Defaults => p.defaults(section)?,
                Kind::Group(name) => p.group(name, section)?,
                Kind::Host(name) => p.host(name, section)?,
            }
        }
        p.host_memberships()?;
        let mut inv = p.inv;
        inv.check_children()?;
        inv.index_graph();
        Ok(inv)
    }

    fn add_host(&mut self, name: &str) -> Result<(), String> {
        if !self.host_index.contains_key(name) {
            if self.hosts.len() >= MAX_INVENTORY_HOSTS {
                return Err(format!(
                    "the inventory has more than {MAX_INVENTORY_HOSTS} hosts"
                ));
            }
            self.host_index.insert(name.to_string(), self.hosts.len());
            self.hosts.push(name.to_string());
        }
        Ok(())
    }
}

struct Parser {
    file: String,
    inv: Inventory,
    /// Per group, its direct hosts as a set (a host listed twice is a member once).
    members: HashMap<String, HashSet<String>>,
}

impl Parser {
    fn at(&self, line: usize, cause: String) -> InventoryError {
        InventoryError::At {
            file: self.file.clone(),
            line,
            cause,
        }
    }

    fn conn(&self, line: usize, source: ConnectionError) -> InventoryError {
        InventoryError::Connection {
            file: self.file.clone(),
            line,
            source,
        }
    }

    /// `[defaults]`: variables for every host, no lists.
    fn defaults(&mut self, section: Section) -> Result<(), InventoryError> {
        for key in ["hosts", "children", "groups"] {
            if let Some((_, line)) = section.values.get(key) {
                return Err(self.at(*line, format!("\"{key}\" does not belong in [defaults]")));
            }
        }
        self.inv.defaults = section;
        Ok(())
    }

    /// `[group NAME]`: `hosts =` node sets, `children =`, variables.
    fn group(&mut self, name: String, section: Section) -> Result<(), InventoryError> {
        if let Some((_, line)) = section.values.get("groups") {
            return Err(self.at(
                *line,
                "\"groups\" belongs in [host] sections; a group lists `children`".into(),
            ));
        }
        let mut hosts = Vec::new();
        if let Some((list, line)) = section.values.get("hosts") {
            let line = *line;
            for item in split_list_ranges(list) {
                let expanded =
                    nodeset::expand(&item).map_err(|source| InventoryError::NodeSet {
                        file: self.file.clone(),
                        line,
                        source,
                    })?;
                for h in expanded {
                    check_host_name(&h).map_err(|e| self.conn(line, e))?;
                    self.inv
                        .add_host(&h)
                        .map_err(|cause| self.at(line, cause))?;
                    if self
                        .members
                        .entry(name.clone())
                        .or_default()
                        .insert(h.clone())
                    {
                        hosts.push(h);
                    }
                }
            }
        }
        self.members.entry(name.clone()).or_default();
        let children = section
            .values
            .get("children")
            .map(|(v, _)| split_list(v))
            .unwrap_or_default();
        self.inv.groups.insert(
            name.clone(),
            Group {
                name,
                hosts,
                children,
                section,
            },
        );
        Ok(())
    }

    /// `[host NAME]`: connection values, variables, `groups =`.
    fn host(&mut self, name: String, section: Section) -> Result<(), InventoryError> {
        for key in ["hosts", "children"] {
            if let Some((_, line)) = section.values.get(key) {
                return Err(self.at(*line, format!("\"{key}\" belongs in [group] sections")));
            }
        }
        check_host_name(&name).map_err(|e| self.conn(section.line, e))?;
        self.inv
            .add_host(&name)
            .map_err(|cause| self.at(section.line, cause))?;
        self.inv.host_sections.insert(name, section);
        Ok(())
    }

    /// Host sections' `groups =` add the host to those groups; a group named only there
    /// exists without a section of its own (as in Ansible).
    fn host_memberships(&mut self) -> Result<(), InventoryError> {
        let inv = &mut self.inv;
        for (host, section) in &inv.host_sections {
            let Some((list, line)) = section.values.get("groups") else {
                continue;
            };
            for g in split_list(list) {
                if !lines::valid_name(&g) {
                    return Err(InventoryError::At {
                        file: self.file.clone(),
                        line: *line,
                        cause: format!(
                            "host {host}: bad group name \"{}\" (letters, digits, _ . - @ :)",
                            nodeset::shown(&g)
                        ),
                    });
                }
                let group = inv.groups.entry(g.clone()).or_insert_with(|| Group {
                    name: g.clone(),
                    section: Section {
                        line: *line,
                        values: BTreeMap::new(),
                    },
                    ..Group::default()
                });
                if self.members.entry(g).or_default().insert(host.clone()) {
                    group.hosts.push(host.clone());
                }
            }
        }
        Ok(())
    }
}
