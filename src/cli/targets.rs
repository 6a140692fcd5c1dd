//! Target flags shared by `hosts`, `exec` (and later `run`, `put`, `get`): which inventory,
//! which hosts. They become a list of [`ResolvedHost`]s before any connection is made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::inventory::connection::{self, ConnectionError};
use crate::inventory::select::{Chosen, TargetSpec, select};
use crate::inventory::{Inventory, ResolvedHost, target_from_vars};
use crate::report::Mode;

/// Longest `--timeout`: a year. Past that a typo (`1e20`) is likelier than intent, and huge
/// durations overflow deadlines.
pub const MAX_TIMEOUT_SECS: f64 = 365.0 * 86_400.0;

/// A bad value of a target flag, naming the flag and the argument as given.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("-e {arg}: expected KEY=VALUE")]
    NotKeyValue { arg: String },
    #[error("-e {arg}: {source}")]
    Extra {
        arg: String,
        source: ConnectionError,
    },
    #[error(
        "--timeout {value}: must be a number of seconds more than 0 and at most {MAX_TIMEOUT_SECS}"
    )]
    Timeout { value: f64 },
}

#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// Inventory file (default: $DROVER_INVENTORY, else ./inventory.ini).
    #[arg(short = 'i', long = "inventory", value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Hosts: inventory names, node sets (web[01-03]) or user@address:port.
    #[arg(short = 'H', long = "hosts", value_name = "H1,H2")]
    pub hosts: Vec<String>,
    /// Groups of the inventory.
    #[arg(
        short = 'g',
        long = "groups",
        value_name = "G1,G2",
        value_delimiter = ','
    )]
    pub groups: Vec<String>,
    /// Narrows the hosts -H/-g selected to those PATTERN matches (alone: selects from the
    /// whole inventory). Terms joined by ':' or ','; &term intersects, !term removes (a leading
    /// !term starts from every host); groups, hosts, node sets and globs (web*). Ad-hoc -H hosts
    /// stay only when a term names them.
    #[arg(short = 'l', long = "limit", value_name = "PATTERN")]
    pub pattern: Option<String>,
    /// A variable for every host, over the inventory's (repeatable).
    #[arg(short = 'e', long = "extra", value_name = "KEY=VALUE")]
    pub extra: Vec<String>,
}

impl TargetArgs {
    pub fn spec(&self) -> TargetSpec {
        TargetSpec {
            // commas inside a node set's brackets belong to its range
            hosts: self
                .hosts
                .iter()
                .flat_map(|h| crate::inventory::split_list_ranges(h))
                .collect(),
            groups: self.groups.clone(),
            pattern: self.pattern.clone(),
        }
    }

    /// Loads the inventory (an empty one when there is no file and none was named).
    pub fn inventory(&self) -> Result<Inventory, String> {
        match Inventory::default_path(self.inventory.as_deref()) {
            Some(path) => {
                let inv = Inventory::load(&path).map_err(|e| e.to_string())?;
                if let Some(w) = inv.password_warning() {
                    eprintln!("drover: {w}");
                }
                Ok(inv)
            }
            None => Ok(Inventory::empty(std::path::Path::new("inventory.ini"))),
        }
    }

    /// The `-e KEY=VALUE` variables, each checked as the inventory checks its lines (keys one
    /// word, connection values valid), the flag and argument named in errors.
    pub fn extra_vars(&self) -> Result<BTreeMap<String, String>, String> {
        parse_extra(&self.extra).map_err(|e| e.to_string())
    }

    /// Every targeted host, resolved; `all_if_empty` lists the whole inventory when no target
    /// flag was given.
    pub fn resolve(&self, all_if_empty: bool) -> Result<Vec<ResolvedHost>, String> {
        let mut spec = self.spec();
        if spec.is_empty() && !all_if_empty {
            // No targets: nothing to read (a script run on the controller only).
            return Ok(Vec::new());
        }
        let inv = self.inventory()?;
        let extra = self.extra_vars()?;
        if spec.is_empty() {
            spec.hosts = inv.hosts.clone();
        }
        // Read once for every host resolved here (the run's own context reads it again for
        // hosts a script makes).
        let configs = crate::ssh::ssh_config::ConfigCache::default();
        let user_config = crate::ssh::ssh_config::user_config();
        let ssh_config = user_config
            .as_deref()
            .map(|path| crate::ssh::ssh_config::SshConfig {
                cache: &configs,
                path,
            });
        let mut out = Vec::new();
        let chosen = select(&inv, &spec).map_err(|e| e.to_string())?;
        for chosen in chosen {
            match chosen {
                Chosen::Inventory(name) => out.push(
                    inv.resolve(&name, &extra, ssh_config)
                        .map_err(|e| e.to_string())?,
                ),
                Chosen::AdHoc(spec) => {
                    // user@address:port, over the defaults and -e variables; `select`
                    // checked it
                    let dest =
                        connection::destination(&spec).map_err(|e| format!("-H {spec}: {e}"))?;
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
}

/// Parses `-e KEY=VALUE` arguments (the value may hold `=`).
pub fn parse_extra(args: &[String]) -> Result<BTreeMap<String, String>, FlagError> {
    let mut out = BTreeMap::new();
    for arg in args {
        let Some((k, v)) = arg.split_once('=') else {
            return Err(FlagError::NotKeyValue { arg: arg.clone() });
        };
        let bad = |source| FlagError::Extra {
            arg: arg.clone(),
            source,
        };
        let key = connection::key(k.trim()).map_err(bad)?;
        connection::check_value(key, v).map_err(bad)?;
        out.insert(key.to_string(), v.to_string());
    }
    Ok(out)
}

/// How a run over many hosts goes: shared by `run` (with targets) and the batch commands.
#[derive(Args, Debug, Clone)]
pub struct FanFlags {
    /// Hosts in flight at once (never more than the open-files limit allows).
    #[arg(short = 'f', long, default_value_t = 256)]
    pub forks: usize,
    /// Seconds per host; past it the host is timed_out (its remote command gets TERM).
    /// Without targets, `run` applies it to the whole run.
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Gather: at the end, hosts with identical output grouped under folded headers.
    #[arg(short = 'b', long = "gather", conflicts_with = "json")]
    pub gather: bool,
    /// One JSON object per event per line.
    #[arg(long)]
    pub json: bool,
}

impl FanFlags {
    pub fn mode(&self) -> Mode {
        if self.json {
            Mode::Json
        } else if self.gather {
            Mode::Gather
        } else {
            Mode::Live
        }
    }

    pub fn timeout(&self) -> Result<Option<Duration>, String> {
        self.timeout
            .map(|value| {
                connection::bounded_seconds(value, MAX_TIMEOUT_SECS)
                    .ok_or_else(|| FlagError::Timeout { value }.to_string())
            })
            .transpose()
    }

    /// `--forks`, capped by the connections the open-files limit allows (raised at start).
    pub fn forks(&self) -> usize {
        let cap = crate::ssh::limits::nofile_limit()
            .map(crate::ssh::limits::connection_cap)
            .unwrap_or(1000) as usize;
        self.forks.clamp(1, cap.max(1))
    }
}
