//! `drover hosts [targets] [--json]`: what would be targeted, resolved (address, port, user,
//! groups, variables); secrets shown as `<secret>`: the password, and every variable whose
//! name says it is one (`*password*`, `*passphrase*`, `*secret*`, `*token*`, any case). A
//! password from an unset `password_env` variable shows as `<unset: VAR>` (only connecting
//! to the host fails).

use clap::Args;

use super::targets::TargetArgs;
use std::collections::BTreeMap;

use drover::ResolvedHost;
use drover::inventory::is_secret_name;

const REDACTED: &str = drover::report::MASK;

/// The variables as shown: values of secret-named ones replaced.
fn shown_vars(h: &ResolvedHost) -> BTreeMap<&str, &str> {
    h.vars
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_name(k) {
                REDACTED
            } else {
                v.as_str()
            };
            (k.as_str(), v)
        })
        .collect()
}

#[derive(Args, Debug)]
pub struct HostsArgs {
    #[command(flatten)]
    targets: TargetArgs,
    /// One JSON array of hosts instead of text.
    #[arg(long)]
    json: bool,
}

/// The password as shown: `<secret>` when there is one, `<unset: VAR>` when it is to come
/// from a variable that is not set.
fn shown_password(t: &drover::Target) -> Option<String> {
    match (&t.password_env, &t.password) {
        (Some(var), _) if std::env::var_os(var).is_none() => Some(format!("<unset: {var}>")),
        (Some(_), _) | (None, Some(_)) => Some(REDACTED.to_string()),
        (None, None) => None,
    }
}

fn to_json(h: &ResolvedHost) -> serde_json::Value {
    let t = &h.target;
    serde_json::json!({
        "name": h.name,
        "address": t.address,
        "port": t.port,
        "user": t.user,
        "groups": h.groups,
        "vars": shown_vars(h),
        "password": shown_password(t),
        "identity": t.identity.as_ref().map(|p| p.display().to_string()),
        "proxy_jump": t.proxy_jump.as_ref().map(|j| format!("{}@{}:{}", j.user, j.address, j.port)),
    })
}

pub fn run(args: HostsArgs) -> i32 {
    let warnings = std::sync::Arc::new(|e: &drover::report::Event| {
        if let drover::report::Event::Warning { message } = e {
            eprintln!("drover: {message}");
        }
    });
    let runtime = match args.targets.runtime(warnings, false) {
        Ok((rt, _)) => rt,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    let hosts = match args.targets.resolve(&runtime, true) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("drover: {e}");
            return super::EXIT_USAGE;
        }
    };
    if args.json {
        let all: Vec<_> = hosts.iter().map(to_json).collect();
        println!("{}", serde_json::Value::Array(all));
        return 0;
    }
    // Padded by hand: a format width past 65,535 panics, and names are counted in characters.
    let width = hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(0);
    for h in &hosts {
        let t = &h.target;
        let mut line = h.name.clone();
        line.push_str(&" ".repeat(width - h.name.chars().count()));
        line.push_str(&format!("  {}@{}:{}", t.user, t.address, t.port));
        if !h.groups.is_empty() {
            line.push_str(&format!("  groups={}", h.groups.join(",")));
        }
        for (k, v) in shown_vars(h) {
            line.push_str(&format!("  {k}={v}"));
        }
        if let Some(password) = shown_password(t) {
            line.push_str(&format!("  password={password}"));
        }
        if let Some(j) = &t.proxy_jump {
            line.push_str(&format!("  proxy_jump={}@{}:{}", j.user, j.address, j.port));
        }
        println!("{line}");
    }
    0
}
