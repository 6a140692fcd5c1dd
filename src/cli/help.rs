//! What `--help` shows after the options: real examples of each subcommand (the tests run
//! every one of them) and where the Lua API is described. The man page reuses the same lists.

/// One example: a command line as typed at a shell, and what it shows or does.
pub struct Example {
    pub command: &'static str,
    pub shows: &'static str,
}

const fn ex(command: &'static str, shows: &'static str) -> Example {
    Example { command, shows }
}

/// Where the Lua API is described (the README ships with the source; the LuaLS type files
/// under stdlib/drover/_meta/ give editors completion).
pub const LUA_API: &str = "Lua API: README.md, sections \"The task module\", \"The ssh module\", \
\"The sftp module\", \"Facts\", \"Operations and check mode\" and \"Running on hosts\"; LuaLS \
type files in stdlib/drover/_meta/.";

pub const RUN: &[Example] = &[
    ex(
        "drover run hello.lua",
        "run a script once, on this machine (no targets)",
    ),
    ex(
        "drover run deploy.lua -g web --serial 25% --max-fail 10%",
        "per host of group web, a quarter at a time; no further batch once over 10% failed",
    ),
    ex(
        "drover run check.lua -H 'web[01-04]' -b -- --strict",
        "per host, output grouped at the end; `--strict` is the script's own argument",
    ),
    ex(
        "echo 'print(ssh.run(\"uptime\").stdout)' | drover run - -H web01",
        "the script read from stdin (`-`); relative requires load from the current directory",
    ),
];

pub const HOSTS: &[Example] = &[
    ex("drover hosts", "every host of the inventory, resolved"),
    ex(
        "drover hosts -g web -l '!web03'",
        "group web but web03: what `-g web -l '!web03'` would target",
    ),
    ex(
        "drover hosts -H 'web[01-03]' --json",
        "the same as JSON (address, port, user, groups, variables; secrets redacted)",
    ),
];

pub const EXEC: &[Example] = &[
    ex(
        "drover exec -g web -- uptime",
        "uptime on every web host, lines live as `host | line`",
    ),
    ex(
        "drover exec -H 'web[01-03]' -b -- 'df -h /'",
        "hosts with identical output folded under one header (`web[01-03] (3)`)",
    ),
    ex(
        "drover exec -g web,db -t 30 --json -- 'systemctl is-active nginx'",
        "JSON events, one per line; each host gets at most 30 s",
    ),
    ex(
        "drover exec -g db --sudo -- 'journalctl -n 20'",
        "through `sudo -n` (needs passwordless sudo on the hosts)",
    ),
];

pub const PUT: &[Example] = &[
    ex(
        "drover put -g web ./app.conf /etc/app/",
        "into an existing remote directory, atomically; unchanged files are not sent",
    ),
    ex(
        "drover put -g web --sudo ./nginx.conf /etc/nginx/nginx.conf",
        "moved into place through `sudo -n` for root-owned destinations",
    ),
    ex(
        "drover put -H web01,web02 -r ./site/ /srv/site",
        "a directory tree (symlinks kept as symlinks)",
    ),
];

pub const GET: &[Example] = &[
    ex(
        "drover get -g web /var/log/syslog ./logs/",
        "each host's copy in ./logs/<host>/syslog",
    ),
    ex(
        "drover get -H db1 -r /etc/postgresql ./backup/",
        "a directory tree into ./backup/db1/postgresql",
    ),
    ex(
        "drover get -g web -l '!web03' /etc/hostname ./names/",
        "from every web host but web03, as the login user",
    ),
];

pub const COMPLETIONS: &[Example] = &[
    ex(
        "drover completions bash > ~/.local/share/bash-completion/completions/drover",
        "bash completion for your user (loaded by bash-completion)",
    ),
    ex(
        "drover completions zsh > ~/.zfunc/_drover",
        "zsh: a directory on $fpath, then `compinit`",
    ),
    ex(
        "drover completions fish > ~/.config/fish/completions/drover.fish",
        "fish loads it on the next start",
    ),
];

pub const MAN: &[Example] = &[
    ex("drover man | man -l -", "read drover(1) now"),
    ex(
        "drover man exec | man -l -",
        "the page of one subcommand, drover-exec(1)",
    ),
    ex(
        "drover man --dir /usr/local/share/man/man1",
        "install drover.1 and a page per subcommand",
    ),
];

pub const TYPES: &[Example] = &[
    ex(
        "drover types --out .drover-types",
        "LuaLS type files and a .luarc.json: open .drover-types/ in the editor's workspace",
    ),
    ex(
        "drover types --out .",
        "into the project itself (an existing .luarc.json is left as it is)",
    ),
];

pub const REPL: &[Example] = &[
    ex(
        "drover repl -g web",
        "an interactive Lua shell over the web hosts: `!uptime` runs on each, `_:failed()` lists failures",
    ),
    ex(
        "echo '!uptime' | drover repl -g web --yes",
        "lines from stdin, no prompts: uptime on every web host; exit 1 if a line failed",
    ),
];

/// The examples of subcommand `name` (`None` for the top level).
pub fn examples(name: Option<&str>) -> &'static [Example] {
    match name {
        Some("run") => RUN,
        Some("hosts") => HOSTS,
        Some("exec") => EXEC,
        Some("put") => PUT,
        Some("get") => GET,
        Some("completions") => COMPLETIONS,
        Some("man") => MAN,
        Some("types") => TYPES,
        Some("repl") => REPL,
        _ => TOP,
    }
}

const TOP: &[Example] = &[
    ex("drover run hello.lua", "run a Lua script on this machine"),
    ex(
        "drover hosts -g web",
        "what -g web targets, resolved from ./inventory.ini",
    ),
    ex(
        "drover exec -g web -- uptime",
        "a shell command on every web host",
    ),
];

/// The text after the options of `--help`: the examples, then where the Lua API is.
pub fn after_help(examples: &[Example]) -> String {
    let mut text = String::from("Examples:\n");
    for e in examples {
        text.push_str(&format!("  {}\n      {}\n", e.command, e.shows));
    }
    text.push('\n');
    text.push_str(LUA_API);
    text
}
