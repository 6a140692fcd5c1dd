//! Target flags shared by `hosts`, `exec` (and later `run`, `put`, `get`): which inventory,
//! which hosts. They become a list of [`ResolvedHost`]s before any connection is made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use drover::ResolvedHost;
use drover::inventory::ConnectionError;
use drover::inventory::TargetSpec;
use drover::report::Mode;
use drover::runtime::{Runtime, RuntimeBuilder};

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
                .flat_map(|h| drover::inventory::split_list_ranges(h))
                .collect(),
            groups: self.groups.clone(),
            pattern: self.pattern.clone(),
        }
    }

    /// A runtime with these flags' inventory and `-e` variables, its events going to `sink`.
    pub fn runtime(&self, sink: drover::report::SharedSink) -> Result<Runtime, String> {
        self.builder(sink)?.build().map_err(|e| e.to_string())
    }

    /// A runtime builder with these flags' inventory and `-e` variables, its events going
    /// to `sink`.
    pub fn builder(&self, sink: drover::report::SharedSink) -> Result<RuntimeBuilder, String> {
        let mut builder = Runtime::builder()
            .shared_event_sink(sink)
            .extra_vars(self.extra_vars()?);
        if let Some(path) = &self.inventory {
            builder = builder.inventory_file(path);
        }
        Ok(builder)
    }

    /// The `-e KEY=VALUE` variables, each checked as the inventory checks its lines (keys one
    /// word, connection values valid), the flag and argument named in errors.
    pub fn extra_vars(&self) -> Result<BTreeMap<String, String>, String> {
        parse_extra(&self.extra).map_err(|e| e.to_string())
    }

    /// Every targeted host of `runtime`'s inventory, resolved; `all_if_empty` lists the
    /// whole inventory when no target flag was given.
    pub fn resolve(
        &self,
        runtime: &Runtime,
        all_if_empty: bool,
    ) -> Result<Vec<ResolvedHost>, String> {
        let mut spec = self.spec();
        if spec.is_empty() && !all_if_empty {
            // No targets: nothing to read (a script run on the controller only).
            return Ok(Vec::new());
        }
        if spec.is_empty() {
            spec.hosts = runtime.inventory()?.hosts.clone();
        }
        runtime.targets(&spec)
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
        let key = k.trim();
        drover::inventory::check_variable(key, v).map_err(bad)?;
        out.insert(key.to_string(), v.to_string());
    }
    Ok(out)
}

/// How a run over many hosts goes: shared by `run` (with targets) and the batch commands.
#[derive(Args, Debug, Clone)]
pub struct FanFlags {
    /// Hosts in flight at once (never more than the open-files limit allows).
    #[arg(
        short = 'f',
        long,
        value_name = "N",
        default_value_t = 256,
        value_parser = forks_value
    )]
    pub forks: usize,
    /// Seconds per host; past it the host is timed_out (its remote command gets TERM).
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Gather: at the end, hosts with identical output grouped under folded headers.
    #[arg(short = 'b', long = "gather", conflicts_with = "json")]
    pub gather: bool,
    /// One JSON object per event per line.
    #[arg(long)]
    pub json: bool,
}

/// `--forks N`: a whole number of hosts, at least 1 (0 would start nothing and wait forever).
fn forks_value(arg: &str) -> Result<usize, String> {
    match arg.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (the number of hosts in flight at once)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of hosts, at least 1".into()),
    }
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
                (value > 0.0 && value <= MAX_TIMEOUT_SECS)
                    .then(|| Duration::try_from_secs_f64(value).ok())
                    .flatten()
                    .ok_or_else(|| FlagError::Timeout { value }.to_string())
            })
            .transpose()
    }

    /// `--forks` (the runtime caps it by the connections the open-files limit allows).
    pub fn forks(&self) -> usize {
        self.forks.max(1)
    }
}
