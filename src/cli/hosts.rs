//! `drover hosts [targets] [--json]`: what would be targeted, resolved (address, port, user,
//! groups, variables); secrets shown as `<redacted>`.

use clap::Args;

use super::targets::TargetArgs;
use crate::inventory::ResolvedHost;

#[derive(Args, Debug)]
pub struct HostsArgs {
    #[command(flatten)]
    targets: TargetArgs,
    /// One JSON array of hosts instead of text.
    #[arg(long)]
    json: bool,
}

fn to_json(h: &ResolvedHost) -> serde_json::Value {
    let t = &h.target;
    serde_json::json!({
        "name": h.name,
        "address": t.address,
        "port": t.port,
        "user": t.user,
        "groups": h.groups,
        "vars": h.vars,
        "password": t.password.as_ref().map(|_| "<redacted>"),
        "identity": t.identity.as_ref().map(|p| p.display().to_string()),
        "proxy_jump": t.proxy_jump.as_ref().map(|j| format!("{}@{}:{}", j.user, j.address, j.port)),
    })
}

pub fn run(args: HostsArgs) -> i32 {
    let hosts = match args.targets.resolve(true) {
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
    let width = hosts.iter().map(|h| h.name.len()).max().unwrap_or(0);
    for h in &hosts {
        let t = &h.target;
        let mut line = format!("{:width$}  {}@{}:{}", h.name, t.user, t.address, t.port);
        if !h.groups.is_empty() {
            line.push_str(&format!("  groups={}", h.groups.join(",")));
        }
        for (k, v) in &h.vars {
            line.push_str(&format!("  {k}={v}"));
        }
        if t.password.is_some() {
            line.push_str("  password=<redacted>");
        }
        if let Some(j) = &t.proxy_jump {
            line.push_str(&format!("  proxy_jump={}@{}:{}", j.user, j.address, j.port));
        }
        println!("{line}");
    }
    0
}
