//! Target selection: `-H` / `-g` / `-l` (a [`TargetSpec`]) over the runtime's inventory,
//! resolved into hosts with their variables and connection targets before any connection.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::Runtime;
use crate::inventory::connection;
use crate::inventory::select::{Chosen, TargetSpec, select};
use crate::inventory::{Inventory, ResolvedHost, target_from_vars};

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

    /// The hosts `spec` selects, resolved (variables by precedence, connection targets).
    pub fn targets(&self, spec: &TargetSpec) -> Result<Vec<ResolvedHost>, String> {
        let inv = self.inventory()?;
        let extra = crate::lua::inventory::extra_vars(&self.lua);
        let path = crate::ssh::ssh_config::user_config();
        let ssh_config = path
            .as_deref()
            .map(|path| crate::ssh::ssh_config::SshConfig {
                cache: self.ssh.ssh_configs(),
                path,
            });
        resolve(&inv, spec, &extra, ssh_config)
    }
}

/// The hosts of `inv` that `spec` selects; ad-hoc `user@address:port` hosts get the defaults
/// and `extra` variables.
fn resolve(
    inv: &Inventory,
    spec: &TargetSpec,
    extra: &BTreeMap<String, String>,
    ssh_config: Option<crate::ssh::ssh_config::SshConfig<'_>>,
) -> Result<Vec<ResolvedHost>, String> {
    let mut out = Vec::new();
    let chosen = select(inv, spec).map_err(|e| e.to_string())?;
    for chosen in chosen {
        match chosen {
            Chosen::Inventory(name) => out.push(
                inv.resolve(&name, extra, ssh_config)
                    .map_err(|e| e.to_string())?,
            ),
            Chosen::AdHoc(spec) => {
                // user@address:port, over the defaults and -e variables; `select`
                // checked it
                let dest = connection::destination(&spec).map_err(|e| format!("-H {spec}: {e}"))?;
                let mut vars: BTreeMap<String, String> = inv
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
                let target = target_from_vars(&spec, &vars, ssh_config)
                    .map_err(|e| format!("host {spec}: {e}"))?;
                let vars = vars
                    .into_iter()
                    .filter(|(k, _)| !crate::inventory::CONNECTION_KEYS.contains(&k.as_str()))
                    .collect();
                out.push(ResolvedHost {
                    name: spec,
                    groups: Vec::new(),
                    vars,
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
