//! What an entered line is: Lua, a shell line (`!CMD`, `!!`), a `:` command, or nothing; and
//! whether a Lua chunk is still incomplete (multi-line input goes on until it is whole).

use super::commands::{self, Command};

/// One entered chunk, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Blank (or only a comment).
    Empty,
    /// Lua source (possibly several lines).
    Lua(String),
    /// `!CMD`: CMD on every current target.
    Shell(String),
    /// `!!`: the last shell line again.
    RepeatShell,
    /// A `:` command.
    Command(Command),
}

/// Classifies `text` (a whole chunk: continuation lines included). A `:` command that does
/// not parse is an error naming the command.
pub fn classify(text: &str) -> Result<Input, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Input::Empty);
    }
    if trimmed == "!!" {
        return Ok(Input::RepeatShell);
    }
    if let Some(cmd) = trimmed.strip_prefix('!') {
        let cmd = cmd.trim();
        if cmd.is_empty() {
            return Err("!: give a shell command, e.g. !uptime (!! repeats the last one)".into());
        }
        return Ok(Input::Shell(cmd.to_string()));
    }
    // `::label::` is Lua (a goto label), not a command
    if trimmed.starts_with(':') && !trimmed.starts_with("::") {
        return commands::parse(trimmed).map(Input::Command);
    }
    Ok(Input::Lua(text.to_string()))
}

/// Whether `text` is the start of a Lua chunk that more lines could complete: it does not
/// compile, neither as a statement nor as an expression, and the statement form fails at the
/// end of the input. `checker` is a small Lua state used only to compile.
pub fn is_incomplete(checker: &mlua::Lua, text: &str) -> bool {
    let trimmed = text.trim_start();
    if trimmed.starts_with('!') || (trimmed.starts_with(':') && !trimmed.starts_with("::")) {
        return false;
    }
    let compiles = |src: &str| checker.load(src).into_function().is_ok();
    if compiles(&format!("return {text}")) {
        return false;
    }
    matches!(
        checker.load(text).into_function(),
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_are_lua_shell_or_commands() {
        assert_eq!(classify("  ").unwrap(), Input::Empty);
        assert_eq!(
            classify("!uname -n").unwrap(),
            Input::Shell("uname -n".into())
        );
        assert_eq!(classify("!!").unwrap(), Input::RepeatShell);
        assert!(classify("!").is_err());
        assert_eq!(classify("x = 1").unwrap(), Input::Lua("x = 1".into()));
        assert_eq!(classify("::top::").unwrap(), Input::Lua("::top::".into()));
        assert!(matches!(
            classify(":hosts"),
            Ok(Input::Command(Command::Hosts))
        ));
        assert!(classify(":nonsense").is_err());
    }

    #[test]
    fn incomplete_chunks_wait_for_more() {
        let lua = mlua::Lua::new();
        assert!(is_incomplete(&lua, "function f()"));
        assert!(is_incomplete(&lua, "t = {"));
        assert!(is_incomplete(&lua, "for i = 1, 3 do\n  print(i)"));
        assert!(!is_incomplete(&lua, "function f() end"));
        assert!(
            !is_incomplete(&lua, "1 +"),
            "an expression missing its end is an error now"
        );
        assert!(!is_incomplete(&lua, "x = = 1"));
        assert!(!is_incomplete(&lua, "!echo {"));
        assert!(!is_incomplete(&lua, "2 + 2"));
    }

    proptest! {
        #[test]
        fn classifying_never_panics(text in ".{0,200}") {
            let _ = classify(&text);
            let _ = is_incomplete(&mlua::Lua::new(), &text);
        }
    }
}
