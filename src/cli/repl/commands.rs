//! The REPL's `:` commands: parsing (errors name the command and what it expects) and the
//! one-line help of each.

/// A `:` command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `:targets SEL`: a `-l` pattern, `-H/-g/-l` flags, or a Lua expression (`_:failed()`).
    Targets(String),
    /// `:hosts`: the current targets.
    Hosts,
    /// `:forks N`.
    Forks(usize),
    /// `:timeout S` (`off`: none).
    Timeout(Option<f64>),
    /// `:gather on|off`.
    Gather(bool),
    /// `:check on|off`: check mode for the evals after it.
    Check(bool),
    /// `:diff on|off`: operations show unified diffs.
    Diff(bool),
    /// `:confirm N`: ask before a shell line reaches more than N hosts.
    Confirm(usize),
    /// `:load FILE.lua`: the script once per current target.
    Load(String),
    /// `:save FILE.lua`: the session's lines as a script.
    Save(String),
    /// `:help`.
    Help,
    /// `:quit` (as Ctrl-D).
    Quit,
}

/// Every command with its one-line help, in the order `:help` lists them.
pub const HELP: &[(&str, &str)] = &[
    (
        ":targets SEL",
        "set the targets: a pattern (web:&prod), -H/-g/-l flags, or a Lua value (_:failed())",
    ),
    (":hosts", "list the current targets"),
    (":forks N", "run shell lines on at most N hosts at once"),
    (
        ":timeout S",
        "give each host S seconds per shell line (off: no limit)",
    ),
    (
        ":gather on|off",
        "show shell output grouped by identical output at the end, or live",
    ),
    (
        ":check on|off",
        "check mode: operations report what they would change and change nothing",
    ),
    (
        ":diff on|off",
        "operations show unified diffs of the files they change",
    ),
    (
        ":confirm N",
        "ask before a shell line first reaches more than N hosts (default 50)",
    ),
    (
        ":load FILE.lua",
        "run a script once per current target, like drover run",
    ),
    (
        ":save FILE.lua",
        "write this session's lines (that worked) as a script",
    ),
    (":help", "this list"),
    (":quit", "leave (as Ctrl-D)"),
];

/// The names, for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    HELP.iter()
        .map(|(usage, _)| usage.split(' ').next().unwrap_or(usage))
}

/// The `:help` text.
pub fn help_text() -> String {
    let mut out = String::new();
    let width = HELP.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    for (usage, what) in HELP {
        out.push_str(&format!("{usage:width$}  {what}\n"));
    }
    out.push_str(&format!(
        "{:width$}  {}\n{:width$}  {}\n{:width$}  {}\n",
        "!CMD",
        "run CMD on every target; the results are `_` (and _1, _2, ...)",
        "!!",
        "repeat the last shell line",
        "LUA",
        "anything else is Lua: expressions print their value",
    ));
    out
}

fn number<T: std::str::FromStr>(name: &str, arg: &str, what: &str) -> Result<T, String> {
    arg.parse()
        .map_err(|_| format!(":{name} {arg}: expected {what}"))
}

/// Parses a line starting with `:`.
pub fn parse(line: &str) -> Result<Command, String> {
    let body = line.trim().trim_start_matches(':');
    let (name, arg) = match body.split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (body, ""),
    };
    let need = |what: &str| -> Result<(), String> {
        if arg.is_empty() {
            Err(format!(":{name}: expected {what}"))
        } else {
            Ok(())
        }
    };
    let none = || -> Result<(), String> {
        if arg.is_empty() {
            Ok(())
        } else {
            Err(format!(":{name} takes no argument (got `{arg}`)"))
        }
    };
    match name {
        "targets" | "t" => {
            need("a pattern, -H/-g/-l flags or a Lua value")?;
            Ok(Command::Targets(arg.to_string()))
        }
        "hosts" => none().map(|()| Command::Hosts),
        "forks" => {
            need("a number of hosts")?;
            let n: usize = number(name, arg, "a whole number of hosts, at least 1")?;
            if n == 0 {
                return Err(format!(":forks {arg}: expected at least 1"));
            }
            Ok(Command::Forks(n))
        }
        "timeout" => {
            need("seconds, or off")?;
            if arg == "off" {
                return Ok(Command::Timeout(None));
            }
            let s: f64 = number(name, arg, "seconds (more than 0), or off")?;
            if !(s > 0.0 && s <= 365.0 * 86_400.0) {
                return Err(format!(
                    ":timeout {arg}: expected seconds more than 0 and at most a year, or off"
                ));
            }
            Ok(Command::Timeout(Some(s)))
        }
        "gather" => match arg {
            "on" => Ok(Command::Gather(true)),
            "off" => Ok(Command::Gather(false)),
            _ => Err(format!(":gather {arg}: expected on or off")),
        },
        "check" | "diff" => {
            let on = match arg {
                "on" => true,
                "off" => false,
                _ => return Err(format!(":{name} {arg}: expected on or off")),
            };
            Ok(if name == "check" {
                Command::Check(on)
            } else {
                Command::Diff(on)
            })
        }
        "confirm" => {
            need("a number of hosts")?;
            Ok(Command::Confirm(number(
                name,
                arg,
                "a whole number of hosts",
            )?))
        }
        "load" => {
            need("a script file")?;
            Ok(Command::Load(arg.to_string()))
        }
        "save" => {
            need("a file to write")?;
            Ok(Command::Save(arg.to_string()))
        }
        "help" | "h" | "?" => none().map(|()| Command::Help),
        "quit" | "q" | "exit" => none().map(|()| Command::Quit),
        other => Err(format!(
            ":{other}: no such command (:help lists them: {})",
            names().collect::<Vec<_>>().join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn commands_parse_and_name_their_errors() {
        assert_eq!(parse(":forks 5"), Ok(Command::Forks(5)));
        assert!(parse(":forks 0").unwrap_err().contains(":forks 0"));
        assert!(parse(":forks x").unwrap_err().contains(":forks x"));
        assert_eq!(parse(":timeout off"), Ok(Command::Timeout(None)));
        assert_eq!(parse(":timeout 2.5"), Ok(Command::Timeout(Some(2.5))));
        assert!(parse(":timeout -1").is_err());
        assert!(parse(":timeout NaN").is_err());
        assert_eq!(parse(":gather on"), Ok(Command::Gather(true)));
        assert_eq!(parse(":check on"), Ok(Command::Check(true)));
        assert_eq!(parse(":diff off"), Ok(Command::Diff(false)));
        assert!(parse(":check maybe").unwrap_err().contains(":check maybe"));
        assert_eq!(
            parse(":targets _:failed()"),
            Ok(Command::Targets("_:failed()".into()))
        );
        assert!(parse(":targets").unwrap_err().contains("expected"));
        assert!(parse(":hosts now").unwrap_err().contains("no argument"));
        assert!(parse(":frob").unwrap_err().contains("no such command"));
        assert!(help_text().contains(":confirm N"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in ":.{0,100}") {
            let _ = parse(&text);
        }
    }
}
