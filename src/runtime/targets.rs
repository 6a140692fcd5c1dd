//! Target selection: `-H` / `-g` / `-l` (a [`TargetSpec`]) over the runtime's inventory,
//! resolved into hosts with their variables and connection targets before any connection.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::Runtime;
use crate::inventory::select::{Chosen, TargetSpec, select};
use crate::inventory::{HostVars, Inventory};
use crate::ssh::{SshContext, Target};

/// A host with everything resolved: groups, variables by precedence, and how to connect.
#[derive(Debug, Clone)]
pub struct ResolvedHost {
    /// The name.
    pub name: String,
    /// Every group the host belongs to, directly or through `children`, sorted.
    pub groups: Vec<String>,
    /// Variables (not connection keys): defaults < groups (parent < child) < host < CLI.
    pub vars: BTreeMap<String, String>,
    /// Where and how to connect.
    pub target: Target,
}

impl Runtime {
    /// The runtime's inventory: the one it was built with, else the file it was given (or
    /// `$DROVER_INVENTORY`, else `./inventory.ini`), read once; an empty one when there is
    /// no file and none was named.
    pub fn inventory(&self) -> Result<Rc<Inventory>, String> {
        crate::lua::inventory::inventory(&self.lua).map_err(|e| match e {
            mlua::Error::RuntimeError(m) => m.trim_start_matches("inventory: ").to_string(),
            other => other.to_string(),
        })
    }

    /// The hosts `spec` selects, resolved (variables by precedence, connection targets),
    /// before any connection is made.
    ///
    /// ```
    /// use drover::inventory::{HostEntry, Inventory, TargetSpec};
    ///
    /// let inventory = Inventory::builder()
    ///     .default_var("user", "deploy")
    ///     .host("web1", HostEntry::new().address("10.0.0.11").var("tier", "front"))
    ///     .host("web2", HostEntry::new().address("10.0.0.12").port(2222))
    ///     .group("web", ["web1", "web2"], [])
    ///     .build()?;
    /// let runtime = drover::Runtime::builder().inventory(inventory).build()?;
    /// let spec = TargetSpec { groups: vec!["web".into()], pattern: Some("!web1".into()), ..Default::default() };
    /// let hosts = runtime.targets(&spec)?;
    /// assert_eq!(hosts.len(), 1);
    /// assert_eq!((hosts[0].target.address.as_str(), hosts[0].target.port), ("10.0.0.12", 2222));
    /// assert_eq!(hosts[0].target.user, "deploy");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn targets(&self, spec: &TargetSpec) -> Result<Vec<ResolvedHost>, String> {
        let inv = self.inventory()?;
        let extra = crate::lua::inventory::extra_vars(&self.lua);
        let hosts = resolve(&inv, spec, &extra, &self.ssh)?;
        // (a batch command's hosts never become host objects: their secrets join here)
        for h in &hosts {
            crate::lua::secret::add_target(&self.lua, &h.target);
            crate::lua::secret::add_vars(&self.lua, &h.vars);
        }
        Ok(hosts)
    }
}

/// A host's values with its connection target; errors name the inventory file and the host.
fn resolved(ssh: &SshContext, file: &str, host: HostVars) -> Result<ResolvedHost, String> {
    let target = Target::for_host(ssh, &host.name, &host.connection)
        .map_err(|e| format!("{file}: host {}: {e}", host.name))?;
    Ok(ResolvedHost {
        name: host.name,
        groups: host.groups,
        vars: host.vars,
        target,
    })
}

/// The hosts of `inv` that `spec` selects; ad-hoc `user@address:port` hosts get the defaults
/// and `extra` variables.
fn resolve(
    inv: &Inventory,
    spec: &TargetSpec,
    extra: &BTreeMap<String, String>,
    ssh: &SshContext,
) -> Result<Vec<ResolvedHost>, String> {
    let file = inv.file.display().to_string();
    let mut out = Vec::new();
    let chosen = select(inv, spec).map_err(|e| e.to_string())?;
    for chosen in chosen {
        match chosen {
            Chosen::Inventory(name) => out.push(resolved(ssh, &file, inv.resolve(&name, extra))?),
            Chosen::AdHoc(spec) => {
                // user@address:port, over the defaults and -e variables; `select`
                // checked it
                let host = inv
                    .resolve_ad_hoc(&spec, extra)
                    .map_err(|e| format!("-H {spec}: {e}"))?;
                let target = Target::for_host(ssh, &spec, &host.connection)
                    .map_err(|e| format!("host {spec}: {e}"))?;
                out.push(ResolvedHost {
                    name: spec,
                    groups: Vec::new(),
                    vars: host.vars,
                    target,
                });
            }
        }
    }
    if out.is_empty() {
        return Err("no host matches the targets".into());
    }
    Ok(out)
}
