//! `:save FILE.lua`: the session's lines that worked, as a script `drover run FILE.lua` runs
//! later (on the controller: it sets its own targets as the session did). Shell lines become
//! `fleet.run` calls, `:targets`, `:forks` and `:timeout` their `fleet` calls; lines that
//! mention a password or passphrase are left out, as from the history.

use super::pretty::quoted;

/// The script's lines so far.
#[derive(Debug, Default)]
pub struct SessionScript {
    lines: Vec<String>,
}

impl SessionScript {
    /// Keeps a Lua chunk as typed.
    pub fn lua(&mut self, chunk: &str) {
        if super::history::may_keep(chunk) {
            self.lines.push(chunk.to_string());
        } else {
            self.lines
                .push("-- (a line with a password or passphrase was left out)".into());
        }
    }

    /// Keeps a shell line as the `fleet.run` call it was.
    pub fn shell(&mut self, cmd: &str) {
        if super::history::may_keep(cmd) {
            self.lines.push(format!(
                "_ = fleet.run({}, {{ stream = true }})",
                quoted(cmd)
            ));
        } else {
            self.lines
                .push("-- (a shell line with a password or passphrase was left out)".into());
        }
    }

    /// Keeps a Lua call that stands for a command (`fleet.targets(...)`, `fleet.forks(5)`).
    pub fn call(&mut self, call: String) {
        self.lines.push(call);
    }

    /// The script's text.
    pub fn text(&self) -> String {
        let mut out = String::from(
            "-- Saved from `drover repl`; run it with `drover run FILE.lua -i INVENTORY`.\n",
        );
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_become_scripts_without_secrets() {
        let mut s = SessionScript::default();
        s.call("fleet.targets(\"web\")".into());
        s.shell("echo \"hi\"\n");
        s.lua("x = 1");
        s.lua("h = ssh.connect{password = 'p'}");
        let text = s.text();
        assert!(
            text.contains("_ = fleet.run(\"echo \\\"hi\\\"\\n\", { stream = true })"),
            "{text}"
        );
        assert!(text.contains("x = 1\n"));
        assert!(!text.contains("'p'"));
        let lua = mlua::Lua::new();
        assert!(lua.load(&text).into_function().is_ok(), "compiles: {text}");
    }
}
