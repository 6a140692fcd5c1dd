//! The group graph of an inventory: children checked (defined, no cycle) in one walk, and
//! indexed once (each host's groups, each group's parents and depth), so resolving a host
//! costs its own groups, not the whole inventory.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Group, Inventory, InventoryError, did_you_mean};

impl Inventory {
    /// The line of `group`'s `children =` (or of its header).
    pub(super) fn children_line(&self, group: &Group) -> usize {
        group
            .section
            .values
            .get("children")
            .map_or(group.section.line, |v| v.1)
    }

    /// Children must exist, and the group graph must have no cycle. One depth-first walk over
    /// all groups, with an explicit stack (a 3,000-deep chain is not 3,000 Rust frames).
    pub(super) fn check_children(&self) -> Result<(), InventoryError> {
        let at = |line: usize, cause: String| InventoryError::At {
            file: self.file.display().to_string(),
            line,
            cause,
        };
        for group in self.groups.values() {
            for child in &group.children {
                if !self.groups.contains_key(child) {
                    return Err(at(
                        self.children_line(group),
                        format!(
                            "group {} has undefined child group \"{child}\"{}",
                            group.name,
                            did_you_mean(child, self.groups.keys())
                        ),
                    ));
                }
            }
        }
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: HashMap<&str, Mark> = HashMap::new();
        for root in self.groups.keys() {
            if marks.contains_key(root.as_str()) {
                continue;
            }
            // (group, index of its next child to visit)
            let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
            marks.insert(root, Mark::Open);
            while let Some((g, next)) = stack.last_mut() {
                let children = &self.groups[*g].children;
                let Some(child) = children.get(*next) else {
                    marks.insert(g, Mark::Done);
                    stack.pop();
                    continue;
                };
                *next += 1;
                match marks.get(child.as_str()) {
                    Some(Mark::Done) => {}
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(s, _)| *s == child).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[from..].iter().map(|(s, _)| *s).collect();
                        cycle.push(child);
                        let line = self.children_line(&self.groups[cycle[0]]);
                        return Err(at(line, format!("group cycle: {}", cycle.join(" -> "))));
                    }
                    None => {
                        marks.insert(child, Mark::Open);
                        stack.push((child, 0));
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the lookups `resolve` uses: each host's direct groups, each group's parents and
    /// depth (in topological order: linear in groups and edges).
    pub(super) fn index_graph(&mut self) {
        let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
        let mut parents: HashMap<String, Vec<String>> = HashMap::new();
        let mut pending: HashMap<&str, usize> = HashMap::new();
        for g in self.groups.values() {
            for h in &g.hosts {
                memberships
                    .entry(h.clone())
                    .or_default()
                    .push(g.name.clone());
            }
            for c in &g.children {
                parents.entry(c.clone()).or_default().push(g.name.clone());
                *pending.entry(c.as_str()).or_default() += 1;
            }
        }
        let mut depth: HashMap<String, usize> = HashMap::new();
        let mut ready: VecDeque<&str> = self
            .groups
            .keys()
            .map(String::as_str)
            .filter(|g| !pending.contains_key(g))
            .collect();
        while let Some(g) = ready.pop_front() {
            let d = *depth.entry(g.to_string()).or_insert(0);
            for c in &self.groups[g].children {
                let cd = depth.entry(c.clone()).or_insert(0);
                *cd = (*cd).max(d + 1);
                if let Some(n) = pending.get_mut(c.as_str()) {
                    *n -= 1;
                    if *n == 0 {
                        ready.push_back(c);
                    }
                }
            }
        }
        self.memberships = memberships;
        self.parents = parents;
        self.depth = depth;
    }

    /// Every host of `group`, through its children too, in inventory order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut members: HashSet<&str> = HashSet::new();
        let mut stack = vec![group];
        let mut visited: HashSet<&str> = HashSet::new();
        while let Some(g) = stack.pop() {
            if !visited.insert(g) {
                continue;
            }
            if let Some(grp) = self.groups.get(g) {
                members.extend(grp.hosts.iter().map(String::as_str));
                stack.extend(grp.children.iter().map(String::as_str));
            }
        }
        // inventory order from the positions: a small group costs its size, not the fleet's
        let mut placed: Vec<(usize, &str)> = members
            .into_iter()
            .filter_map(|h| self.host_index.get(h).map(|&i| (i, h)))
            .collect();
        placed.sort_unstable();
        placed.into_iter().map(|(_, h)| h.to_string()).collect()
    }

    /// The groups `host` belongs to, directly or through `children`, each with its depth
    /// below the top (a child is deeper than its parent), parent first.
    pub(super) fn groups_of(&self, host: &str) -> Vec<(usize, String)> {
        let mut all: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = self
            .memberships
            .get(host)
            .map(|gs| gs.iter().map(String::as_str).collect())
            .unwrap_or_default();
        while let Some(g) = stack.pop() {
            if all.insert(g)
                && let Some(ps) = self.parents.get(g)
            {
                stack.extend(ps.iter().map(String::as_str));
            }
        }
        let mut out: Vec<(usize, String)> = all
            .into_iter()
            .map(|g| (self.depth.get(g).copied().unwrap_or(0), g.to_string()))
            .collect();
        out.sort();
        out
    }
}
