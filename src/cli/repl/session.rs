//! One REPL session: each entered chunk is one eval of the long-lived runtime (globals and
//! connections persist), cancelled by Ctrl-C; shell lines run through `fleet.run` and keep
//! their results as `_`; `:` commands change the session. Errors are printed and the
//! session goes on; whether any line failed is remembered for the exit code when piped.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mlua::{Function, MultiValue, Table};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use drover::inventory::TargetSpec;
use drover::runtime::fanout::FanoutOptions;
use drover::{EvalError, EvalOptions, Runtime, Script};

use super::super::signals::StopSignal;
use super::commands::{self, Command};
use super::complete::{self, SharedSnapshot};
use super::interrupt::Interrupts;
use super::line::{Input, classify};
use super::output::{Screen, Switch};
use super::pretty::{self, quoted};
use super::reader::{Reply, Request};
use super::script::SessionScript;

/// Whether the session goes on after a line.
enum Flow {
    Continue,
    Quit(i32),
}

/// The REPL's state between lines.
pub struct Session {
    pub rt: Runtime,
    /// `package.loaded.fleet` (a script that replaces the global changes nothing here).
    pub fleet: Table,
    /// The Lua side of `_` (`results.lua`).
    pub keeper: Table,
    pub screen: Screen,
    pub switch: Arc<Switch>,
    pub interrupts: Interrupts,
    /// On a terminal: prompts, confirmations, completion.
    pub interactive: bool,
    /// `--yes`: no confirmations.
    pub yes: bool,
    /// `:confirm N`.
    pub confirm: usize,
    /// Target sets (their sorted names) already confirmed.
    pub confirmed: HashSet<String>,
    pub last_shell: Option<String>,
    /// Some line failed.
    pub failed: bool,
    pub script: SessionScript,
    /// To the terminal reader (none when piped: it reads ahead on its own).
    pub requests: Option<std::sync::mpsc::Sender<Request>>,
    pub replies: mpsc::UnboundedReceiver<Reply>,
    pub snapshot: SharedSnapshot,
    /// Inventory host and group names, for completion.
    pub names: (Vec<String>, Vec<String>),
    /// A signal that ends the session (SIGTERM, SIGHUP; SIGINT when piped).
    pub stop: Option<StopSignal>,
}

/// The first line of an error's text (the rest is its traceback).
fn first_line(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or("").to_string()
}

/// Whether a `:targets` argument is a Lua value rather than a pattern: `_`, `_3`, or
/// anything with a call, a table or a string in it.
fn is_lua_value(arg: &str) -> bool {
    let a = arg.trim();
    a == "_"
        || a.strip_prefix('_')
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        || a.contains(['(', '{', '"', '\''])
}

impl Session {
    fn fleet_fn(&self, name: &str) -> mlua::Result<Function> {
        self.fleet.get::<Function>(name)
    }

    fn target_names(&self) -> Vec<String> {
        self.fleet_fn("hosts")
            .and_then(|f| f.call::<Vec<String>>(()))
            .unwrap_or_default()
    }

    fn fold(&self, names: &[String]) -> String {
        self.fleet_fn("fold")
            .and_then(|f| f.call::<String>(names.to_vec()))
            .unwrap_or_else(|_| names.join(","))
    }

    /// `drover[web:12]> `, or `drover> ` without targets; ` check` inside the brackets
    /// under `:check on` (`drover[web:12 check]> `, `drover[check]> `).
    fn prompt(&self) -> String {
        let check = if self.rt.check_mode() { " check" } else { "" };
        let n = self.target_names().len();
        let label: Option<String> = self
            .fleet_fn("label")
            .and_then(|f| f.call(()))
            .unwrap_or(None);
        match label {
            Some(l) if n > 0 => {
                let l = if l.chars().count() > 24 {
                    format!("{}…", l.chars().take(23).collect::<String>())
                } else {
                    l
                };
                format!("drover[{l}:{n}{check}]> ")
            }
            _ if self.rt.check_mode() => "drover[check]> ".to_string(),
            _ => "drover> ".to_string(),
        }
    }

    fn refresh_snapshot(&self) {
        if !self.interactive {
            return;
        }
        let snap = complete::take(
            self.rt.lua(),
            &self.fleet,
            self.names.0.clone(),
            self.names.1.clone(),
        );
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = snap;
    }

    /// Reads and runs lines until the input ends or the session is told to stop; the exit
    /// code.
    pub async fn run(&mut self) -> i32 {
        let mut asked = false;
        loop {
            if let Some(s) = self.stop {
                return s.exit_code();
            }
            if let (Some(req), false) = (&self.requests, asked) {
                self.refresh_snapshot();
                if req.send(Request::Line(self.prompt())).is_err() {
                    break;
                }
                asked = true;
            }
            let reply = tokio::select! {
                r = self.replies.recv() => r,
                s = self.interrupts.next() => {
                    // at the prompt Ctrl-C is the editor's; a SIGINT from elsewhere is ignored
                    if !(self.interactive && s == StopSignal::Interrupt) {
                        return s.exit_code();
                    }
                    continue;
                }
            };
            asked = false;
            match reply {
                None | Some(Reply::Eof) => break,
                Some(Reply::Failed(e)) => {
                    self.screen.err(&format!("drover: cannot read input: {e}"));
                    self.failed = true;
                    break;
                }
                Some(Reply::Answer(_)) => {}
                Some(Reply::Line(text)) => {
                    if let Flow::Quit(code) = self.line(&text).await {
                        return code;
                    }
                }
            }
        }
        self.exit_code()
    }

    fn exit_code(&self) -> i32 {
        i32::from(!self.interactive && self.failed)
    }

    async fn line(&mut self, text: &str) -> Flow {
        let ok = match classify(text) {
            Err(e) => {
                self.screen.err(&format!("error: {e}"));
                false
            }
            Ok(Input::Empty) => true,
            Ok(Input::Lua(chunk)) => match self.lua(&chunk).await {
                Ok(ok) => ok,
                Err(code) => return Flow::Quit(code),
            },
            Ok(Input::Shell(cmd)) => self.shell(cmd).await,
            Ok(Input::RepeatShell) => match self.last_shell.clone() {
                Some(cmd) => {
                    self.screen.err(&format!("!{cmd}"));
                    self.shell(cmd).await
                }
                None => {
                    self.screen.err("error: !!: no shell line yet");
                    false
                }
            },
            Ok(Input::Command(Command::Quit)) => return Flow::Quit(self.exit_code()),
            Ok(Input::Command(c)) => self.command(c).await,
        };
        if !ok {
            self.failed = true;
        }
        Flow::Continue
    }

    /// Evaluates `chunk` as its own task; Ctrl-C cancels it (its tasks, their remote
    /// commands get TERM) and it returns once they have ended.
    async fn eval(&mut self, chunk: &str) -> Result<MultiValue, EvalError> {
        let token = CancellationToken::new();
        let opts = EvalOptions {
            cancel: Some(token.clone()),
            timeout: None,
        };
        let (result, stop) = self
            .interrupts
            .cancelling(&token, self.rt.eval_async(chunk, &opts))
            .await;
        self.note_stop(stop);
        result
    }

    /// A signal during a line: SIGTERM and SIGHUP end the session after it, and so does
    /// SIGINT when nobody is at a terminal to go on.
    fn note_stop(&mut self, stop: Option<StopSignal>) {
        if let Some(s) = stop
            && (s != StopSignal::Interrupt || !self.interactive)
        {
            self.stop = Some(s);
        }
    }

    fn report(&self, e: &EvalError) {
        let text = match e {
            EvalError::Cancelled => "cancelled (Ctrl-C): the line's tasks were stopped".into(),
            other => format!("error: {other}"),
        };
        self.screen.err(&text);
    }

    /// A Lua chunk: as an expression first (its values printed), else as statements.
    /// `Err(code)`: it called `os.exit(code)`.
    async fn lua(&mut self, chunk: &str) -> Result<bool, i32> {
        let result = match self.eval(&format!("return {chunk}")).await {
            Err(EvalError::Syntax(_)) => self.eval(chunk).await,
            other => other,
        };
        match result {
            Ok(values) => {
                if !values.is_empty() {
                    let shown: Vec<String> = values.iter().map(pretty::show).collect();
                    // (a secret shows as <secret>; its text revealed into a string too)
                    self.screen
                        .out(&self.rt.secrets().redact(&shown.join("\t")));
                }
                self.script.lua(chunk);
                Ok(true)
            }
            Err(EvalError::Exit(code)) => Err(code),
            Err(e) => {
                self.report(&e);
                Ok(false)
            }
        }
    }

    /// Asks before a shell line first reaches more hosts than `:confirm` allows.
    async fn confirmed_for(&mut self, names: &[String]) -> bool {
        if self.yes || names.len() <= self.confirm {
            return true;
        }
        let mut key: Vec<&String> = names.iter().collect();
        key.sort();
        let key = key.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        if self.confirmed.contains(&key) {
            return true;
        }
        let folded = self.fold(names);
        let Some(requests) = &self.requests else {
            self.screen.err(&format!(
                "error: this would run on {} hosts ({folded}), more than :confirm {}; pass --yes or raise :confirm",
                names.len(),
                self.confirm
            ));
            return false;
        };
        self.screen
            .err(&format!("this runs on {} hosts: {folded}", names.len()));
        if requests
            .send(Request::Confirm(format!(
                "run on all {}? [y/N] ",
                names.len()
            )))
            .is_err()
        {
            return false;
        }
        match self.replies.recv().await {
            Some(Reply::Answer(true)) => {
                self.confirmed.insert(key);
                true
            }
            _ => {
                self.screen.err("not run");
                false
            }
        }
    }

    /// `!CMD` on every current target, live (or gathered); the results become `_`.
    async fn shell(&mut self, cmd: String) -> bool {
        let names = self.target_names();
        if names.is_empty() {
            self.screen.err(
                "error: no targets: set them with :targets PATTERN (or start with -g, -H, -l)",
            );
            return false;
        }
        if !self.confirmed_for(&names).await {
            return false;
        }
        self.last_shell = Some(cmd.clone());
        let result = self
            .eval(&format!(
                "return __drover_repl.shell({}, true)",
                quoted(&cmd)
            ))
            .await;
        let why = match &result {
            Err(EvalError::Cancelled) => "cancelled (Ctrl-C)",
            _ => "cancelled: the line ended first",
        };
        let settled = self
            .keeper
            .get::<Function>("settle")
            .and_then(|f| f.call::<(Option<i64>, usize, usize)>(why));
        if let Err(e) = &result {
            self.report(e);
        }
        match settled {
            Ok((Some(n), count, failed)) => {
                self.screen.err(&format!(
                    "(_ = _{n}: {count} results{})",
                    if failed > 0 {
                        format!(", {failed} in _:failed()")
                    } else {
                        String::new()
                    }
                ));
                if result.is_ok() {
                    self.script.shell(&cmd);
                }
                result.is_ok() && failed == 0
            }
            Ok((None, _, _)) => false,
            Err(e) => {
                self.screen.err(&format!("error: {}", first_line(&e)));
                false
            }
        }
    }

    async fn command(&mut self, command: Command) -> bool {
        match command {
            Command::Targets(arg) => self.set_targets(&arg).await,
            Command::Hosts => {
                let names = self.target_names();
                if names.is_empty() {
                    self.screen.out("no targets (:targets PATTERN sets them)");
                } else {
                    self.screen
                        .out(&format!("{} ({})", self.fold(&names), names.len()));
                    self.screen.out(&names.join("\n"));
                }
                true
            }
            Command::Forks(n) => self.setting(
                "forks",
                mlua::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)),
                format!("fleet.forks({n})"),
            ),
            Command::Timeout(s) => {
                let (value, call) = match s {
                    Some(s) => (mlua::Value::Number(s), format!("fleet.timeout({s})")),
                    None => (mlua::Value::Boolean(false), "fleet.timeout(false)".into()),
                };
                self.setting("timeout", value, call)
            }
            Command::Gather(on) => {
                self.switch.set_gather(on);
                self.screen.err(&format!(
                    "shell output: {}",
                    if on { "gathered at the end" } else { "live" }
                ));
                true
            }
            Command::Check(on) => {
                self.rt.set_check_mode(on);
                self.screen.err(&format!(
                    "check mode: {}",
                    if on {
                        "on (nothing changes; operations say what they would do)"
                    } else {
                        "off"
                    }
                ));
                true
            }
            Command::Diff(on) => {
                self.rt.set_diff(on);
                self.screen
                    .err(&format!("diffs: {}", if on { "on" } else { "off" }));
                true
            }
            Command::Confirm(n) => {
                self.confirm = n;
                self.screen.err(&format!(
                    "shell lines reaching more than {n} hosts are confirmed first"
                ));
                true
            }
            Command::Load(file) => self.load(&file).await,
            Command::Save(file) => match std::fs::write(&file, self.script.text()) {
                Ok(()) => {
                    self.screen.err(&format!("saved the session to {file}"));
                    true
                }
                Err(e) => {
                    self.screen.err(&format!("error: :save {file}: {e}"));
                    false
                }
            },
            Command::Help => {
                self.screen.out(&commands::help_text());
                true
            }
            Command::Quit => true,
        }
    }

    fn setting(&mut self, name: &str, value: mlua::Value, call: String) -> bool {
        match self
            .fleet_fn(name)
            .and_then(|f| f.call::<mlua::Value>(value))
        {
            Ok(v) => {
                let shown = match v {
                    mlua::Value::Nil => "off".to_string(),
                    v => pretty::show(&v),
                };
                self.screen
                    .err(&self.rt.secrets().redact(&format!("{name}: {shown}")));
                self.script.call(call);
                true
            }
            Err(e) => {
                self.screen.err(&format!("error: {}", first_line(&e)));
                false
            }
        }
    }

    async fn set_targets(&mut self, arg: &str) -> bool {
        let call = if is_lua_value(arg) {
            format!("fleet.targets({arg})")
        } else {
            format!("fleet.targets({})", quoted(arg))
        };
        match self.eval(&format!("return #{call}")).await {
            Ok(_) => {
                let names = self.target_names();
                self.screen
                    .err(&format!("targets: {} ({})", self.fold(&names), names.len()));
                self.script.call(call);
                true
            }
            Err(e) => {
                self.report(&e);
                false
            }
        }
    }

    /// `:load FILE.lua`: the script once per current target, as `drover run` runs it.
    async fn load(&mut self, file: &str) -> bool {
        let names = self.target_names();
        if names.is_empty() {
            self.screen
                .err("error: :load: no targets (:targets PATTERN sets them)");
            return false;
        }
        let script = match Script::from_file(Path::new(file)) {
            Ok(s) => s,
            Err(e) => {
                self.screen.err(&format!("error: :load: {e}"));
                return false;
            }
        };
        let hosts = match self.rt.targets(&TargetSpec {
            hosts: names,
            ..TargetSpec::default()
        }) {
            Ok(h) => h,
            Err(e) => {
                self.screen.err(&format!("error: :load: {e}"));
                return false;
            }
        };
        let forks: usize = self
            .fleet_fn("forks")
            .and_then(|f| f.call(()))
            .unwrap_or(64);
        let timeout: Option<f64> = self
            .fleet_fn("timeout")
            .and_then(|f| f.call(()))
            .unwrap_or(None);
        let token = CancellationToken::new();
        let opts = FanoutOptions {
            forks: Some(forks),
            timeout: timeout.and_then(|t| Duration::try_from_secs_f64(t).ok()),
            eval: EvalOptions {
                cancel: Some(token.clone()),
                timeout: None,
            },
            ..FanoutOptions::default()
        };
        let (result, stop) = self
            .interrupts
            .cancelling(&token, self.rt.run_fanout_async(&script, &[], hosts, &opts))
            .await;
        self.note_stop(stop);
        match result {
            Ok(report) => {
                for f in &report.failures {
                    self.screen.err(&format!("error: {}", f.error));
                }
                report.ok()
            }
            Err(e) => {
                self.screen.err(&format!("error: :load: {e}"));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_arguments_are_patterns_or_lua_values() {
        assert!(is_lua_value("_"));
        assert!(is_lua_value("_12"));
        assert!(is_lua_value("_:failed()"));
        assert!(is_lua_value("{'h01'}"));
        assert!(!is_lua_value("web:&prod"));
        assert!(!is_lua_value("-g web -l !db1"));
        assert!(!is_lua_value("_web"));
    }
}
