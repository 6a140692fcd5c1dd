//! A host program embedding drover: it builds an inventory in code, registers a module with
//! one sync and one async function and a method of host objects, runs a script once per host of the fleet, shows its own
//! one-line-per-host UI from the event stream, and prints the run's report.
//!
//! ```text
//! cargo run --example embed -- --user deploy --key ~/.ssh/id_ed25519 127.0.0.1:2201 127.0.0.1:2202
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover::inventory::{HostEntry, Inventory};
use drover::{Event, FanoutOptions, Outcome, Runtime, Script};
use mlua::ObjectLike;

const SCRIPT: &str = r#"
-- runs once per host; `host` is this host, `acme` is the host program's module
local kernel = host:kernel()                   -- a host method the host program added
local ticket = acme.ticket(host.name)          -- sync, from Rust
local waited = acme.approval(0.1)              -- async, from Rust: suspends only this host
print(("%s runs %s (ticket %s, approved after %.1fs)"):format(host.name, kernel, ticket, waited))
return { kernel = kernel, ticket = ticket }
"#;

/// `--user U --key PATH [--known-hosts PATH] ADDRESS:PORT...`
struct Args {
    user: String,
    key: String,
    known_hosts: Option<String>,
    hosts: Vec<(String, u16)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut user, mut key, mut known_hosts, mut hosts) = (None, None, None, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--user" => user = args.next(),
            "--key" => key = args.next(),
            "--known-hosts" => known_hosts = args.next(),
            spec => {
                let (addr, port) = spec
                    .rsplit_once(':')
                    .ok_or_else(|| format!("{spec}: expected ADDRESS:PORT"))?;
                let port = port.parse().map_err(|_| format!("{spec}: bad port"))?;
                hosts.push((addr.to_string(), port));
            }
        }
    }
    Ok(Args {
        user: user.ok_or("--user is required")?,
        key: key.ok_or("--key is required")?,
        known_hosts,
        hosts,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = match parse_args() {
        Ok(a) if !a.hosts.is_empty() => a,
        Ok(_) => {
            return Err(
                "usage: embed --user U --key PATH [--known-hosts PATH] ADDRESS:PORT...".into(),
            );
        }
        Err(e) => return Err(e.into()),
    };

    // The inventory, in code: one host per address, all in group `fleet`.
    let mut inventory = Inventory::builder().default_var("user", &args.user);
    let mut names = Vec::new();
    for (i, (address, port)) in args.hosts.iter().enumerate() {
        let name = format!("node{}", i + 1);
        let mut entry = HostEntry::new()
            .address(address)
            .port(*port)
            .identity(&args.key);
        if let Some(k) = &args.known_hosts {
            entry = entry.known_hosts(k);
        }
        inventory = inventory.host(&name, entry);
        names.push(name);
    }
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    let inventory = inventory.group("fleet", members, []).build()?;

    // Our own UI: one line per host when it ends, its printed lines kept for it.
    let printed: Arc<Mutex<BTreeMap<String, Vec<String>>>> = Arc::default();
    let lines = Arc::clone(&printed);
    let ui = move |event: &Event| match event {
        Event::Line { host, line, .. } => lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host.clone())
            .or_default()
            .push(line.clone()),
        Event::HostFinished {
            host,
            outcome,
            elapsed_ms,
            error,
            ..
        } => {
            let said = lines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(host)
                .unwrap_or_default()
                .join(" / ");
            let mark = if *outcome == Outcome::Ok {
                "✓"
            } else {
                "✗"
            };
            println!(
                "{mark} {host:<8} {:>5} ms  {}",
                elapsed_ms,
                error.as_deref().unwrap_or(&said)
            );
        }
        _ => {}
    };

    let runtime = Runtime::builder()
        .inventory(inventory)
        .event_sink(ui)
        .forks(50)
        .host_timeout(Some(Duration::from_secs(30)))
        .host_method("kernel", |lua| {
            // async, from Rust, on every host object: it runs a command through host:run
            lua.create_async_function(|_, host: mlua::AnyUserData| async move {
                let r: mlua::Table = host.call_async_method("run", "uname -sr").await?;
                Ok(r.get::<String>("stdout")?.trim_end().to_string())
            })
        })
        .module("acme", |lua| {
            let acme = lua.create_table()?;
            acme.set(
                "ticket",
                lua.create_function(|_, host: String| Ok(format!("T-{}", host.len() * 1000)))?,
            )?;
            acme.set(
                "approval",
                lua.create_async_function(|_, secs: f64| async move {
                    tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, 5.0))).await;
                    Ok(secs)
                })?,
            )?;
            Ok(acme)
        })
        .build()?;

    let script = Script::from_source("embedded", SCRIPT)?;
    let hosts = runtime.targets(&drover::inventory::TargetSpec {
        groups: vec!["fleet".into()],
        ..Default::default()
    })?;
    let report = runtime.run_fanout(&script, &[], hosts, &FanoutOptions::default())?;

    println!("report: {}", serde_json::to_string(&report)?);
    if report.ok() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} hosts not ok",
            report
                .hosts
                .iter()
                .filter(|h| h.outcome != Outcome::Ok)
                .count(),
            report.hosts.len()
        )
        .into())
    }
}
