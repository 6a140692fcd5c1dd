//! Target flags shared by `hosts`, `exec` (and later `run`, `put`, `get`): which inventory,
//! which hosts. They become a list of [`ResolvedHost`]s before any connection is made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use drover::inventory::ConnectionError;
use drover::inventory::TargetSpec;
use drover::report::Mode;
use drover::runtime::{Runtime, RuntimeBuilder};
use drover::{ResolvedHost, Secret};

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
    #[error("{flag} {value}: {source}")]
    Connection {
        flag: &'static str,
        value: String,
        source: ConnectionError,
    },
    #[error("--identity {path}: {cause}")]
    Identity { path: String, cause: String },
    #[error("{flag}: cannot read a password from the terminal: {cause}")]
    Prompt { flag: &'static str, cause: String },
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
    /// Hosts: inventory names, node sets (web[01-03]) or user@address:port; @FILE reads them
    /// from FILE, one a line (@- from stdin); @failed names the hosts the last run did not
    /// end ok.
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
    /// Login user for every host, over the inventory's (as -e user=USER).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// SSH port for every host, over the inventory's (as -e port=PORT).
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<String>,
    /// Private key file for every host, over the inventory's (as -e identity=FILE).
    #[arg(long = "identity", value_name = "FILE")]
    pub identity: Option<String>,
    /// Ask for the login password once (no echo) and use it for every host, over the
    /// inventory's password and password_env.
    #[arg(long = "ask-pass")]
    pub ask_pass: bool,
    /// Ask for sudo's password once (no echo); it is fed to sudo on stdin, never on a command
    /// line (--sudo; in scripts, every host:run with sudo = true or user = ... that gives no
    /// sudo_password of its own).
    #[arg(short = 'K', long = "ask-sudo-pass")]
    pub ask_sudo_pass: bool,
}

/// What a person typed at the prompts of `--ask-pass` and `-K`.
#[derive(Debug, Default)]
pub struct Prompted {
    /// The login password.
    pub login: Option<Secret>,
    /// sudo's password.
    pub sudo: Option<Secret>,
}

/// Asks for a password on the terminal, without echo.
fn ask_password(flag: &'static str, prompt: &str) -> Result<Secret, FlagError> {
    rpassword::prompt_password(prompt)
        .map(Secret)
        .map_err(|e| FlagError::Prompt {
            flag,
            cause: e.to_string(),
        })
}

impl TargetArgs {
    /// The selection (`-H` with its `@FILE` and `@failed` lists read, `-g`, `-l`) and the
    /// hosts that came from lists, with where each came from.
    pub fn listed_spec(&self) -> Result<(TargetSpec, Vec<super::retry::Listed>), String> {
        let mut hosts = Vec::new();
        let mut listed = Vec::new();
        let mut stdin_read = false;
        // commas inside a node set's brackets belong to its range
        for item in self
            .hosts
            .iter()
            .flat_map(|h| drover::inventory::split_list_ranges(h))
        {
            match item.strip_prefix('@') {
                Some(list) => {
                    let read = super::retry::read_list(list, &mut stdin_read)
                        .map_err(|e| e.to_string())?;
                    hosts.extend(read.iter().map(|l| l.host.clone()));
                    listed.extend(read);
                }
                None => hosts.push(item),
            }
        }
        let spec = TargetSpec {
            hosts,
            groups: self.groups.clone(),
            pattern: self.pattern.clone(),
        };
        Ok((spec, listed))
    }

    /// A runtime with these flags' inventory and variables, its events going to `sink`, its
    /// network I/O on this thread when `current_thread_io` (see the builder's option); and
    /// the sudo password `-K` asked for.
    pub fn runtime(
        &self,
        sink: drover::report::SharedSink,
        current_thread_io: bool,
    ) -> Result<(Runtime, Option<Secret>), String> {
        let (builder, sudo) = self.builder(sink)?;
        let runtime = builder.current_thread_io(current_thread_io).build();
        Ok((runtime.map_err(|e| e.to_string())?, sudo))
    }

    /// A runtime builder with these flags' inventory and variables, its events going to
    /// `sink`, sudo's default password the one `-K` asked for (returned too, for the batch
    /// commands). The flags are checked before anything is asked.
    pub fn builder(
        &self,
        sink: drover::report::SharedSink,
    ) -> Result<(RuntimeBuilder, Option<Secret>), String> {
        let mut vars = self.extra_vars()?;
        let prompted = self.prompt().map_err(|e| e.to_string())?;
        if let Some(password) = prompted.login {
            drover::inventory::check_variable("password", &password.0).map_err(|source| {
                FlagError::Connection {
                    flag: "--ask-pass",
                    value: drover::report::MASK.into(),
                    source,
                }
                .to_string()
            })?;
            // over the inventory's password, and its password_env (empty: unset)
            vars.insert("password".into(), password.0);
            vars.insert("password_env".into(), String::new());
        }
        let mut builder = Runtime::builder().shared_event_sink(sink).extra_vars(vars);
        if let Some(path) = &self.inventory {
            builder = builder.inventory_file(path);
        }
        if let Some(sudo) = &prompted.sudo {
            builder = builder.sudo_password(sudo.clone());
        }
        Ok((builder, prompted.sudo))
    }

    /// Asks for the passwords `--ask-pass` and `-K` want, each once.
    fn prompt(&self) -> Result<Prompted, FlagError> {
        let mut prompted = Prompted::default();
        if self.ask_pass {
            prompted.login = Some(ask_password("--ask-pass", "SSH password: ")?);
        }
        if self.ask_sudo_pass {
            prompted.sudo = Some(ask_password("-K", "sudo password: ")?);
        }
        Ok(prompted)
    }

    /// The `-e KEY=VALUE` variables, then `-u`, `-p` and `--identity` over them, each checked
    /// as the inventory checks its lines (keys one word, connection values valid), the flag
    /// and argument named in errors.
    pub fn extra_vars(&self) -> Result<BTreeMap<String, String>, String> {
        let mut vars = parse_extra(&self.extra).map_err(|e| e.to_string())?;
        vars.extend(self.connection_flags().map_err(|e| e.to_string())?);
        Ok(vars)
    }

    /// `-u`, `-p` and `--identity` as the variables they stand for.
    fn connection_flags(&self) -> Result<Vec<(String, String)>, FlagError> {
        let mut out = Vec::new();
        for (flag, key, value) in [
            ("-u", "user", &self.user),
            ("-p", "port", &self.port),
            ("--identity", "identity", &self.identity),
        ] {
            let Some(value) = value else { continue };
            drover::inventory::check_variable(key, value).map_err(|source| {
                FlagError::Connection {
                    flag,
                    value: value.clone(),
                    source,
                }
            })?;
            out.push((key.to_string(), value.clone()));
        }
        if let Some(path) = &self.identity {
            // a typo is found here, not as an auth failure on every host
            let bad = |cause: String| FlagError::Identity {
                path: path.clone(),
                cause,
            };
            if path.is_empty() {
                return Err(bad("is empty".into()));
            }
            let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
            if !meta.is_file() {
                return Err(bad("is not a file".into()));
            }
        }
        Ok(out)
    }

    /// Every targeted host of `runtime`'s inventory, resolved; `all_if_empty` lists the
    /// whole inventory when no target flag was given.
    pub fn resolve(
        &self,
        runtime: &Runtime,
        all_if_empty: bool,
    ) -> Result<Vec<ResolvedHost>, String> {
        let (mut spec, listed) = self.listed_spec()?;
        if spec.is_empty() && !all_if_empty {
            // No targets: nothing to read (a script run on the controller only).
            return Ok(Vec::new());
        }
        if spec.is_empty() {
            spec.hosts = runtime.inventory()?.hosts.clone();
        }
        runtime.targets(&spec).map_err(|e| {
            // a host from a list: name its file and line
            let blamed = listed.iter().find_map(|l| {
                let alone = TargetSpec {
                    hosts: vec![l.host.clone()],
                    ..TargetSpec::default()
                };
                let e = runtime.targets(&alone).err()?;
                Some(format!("{}:{}: {e}", l.file, l.line))
            });
            blamed.unwrap_or_else(|| self.explain_missing_inventory(e))
        })
    }

    /// `e`, unless groups, patterns or inventory names were asked for and there is no
    /// inventory file: then that the file is missing and how to name one.
    fn explain_missing_inventory(&self, e: String) -> String {
        let no_file =
            self.inventory.is_none() && drover::inventory::Inventory::default_path(None).is_none();
        let names_inventory =
            !self.groups.is_empty() || self.pattern.is_some() || e.contains("inventory.ini");
        if no_file && names_inventory {
            return "no inventory: ./inventory.ini does not exist (name one with -i FILE or $DROVER_INVENTORY)".into();
        }
        e
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
