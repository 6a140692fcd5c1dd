//! The reading side of the REPL, on a thread of its own so that the Lua thread keeps running
//! tasks, keepalives and connections while nobody types. On a terminal: rustyline, asked for
//! one line (or one yes/no answer) at a time, with history (secret lines left out) and
//! completion. Piped: stdin, line after line, a chunk going on while it is incomplete Lua.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};
use tokio::sync::mpsc;

use std::sync::{Arc, Mutex};

use super::complete::{ReplHelper, SharedSnapshot};
use super::output::Printer;

/// What the Lua thread asks the reader for.
pub enum Request {
    /// The next chunk, after `prompt`.
    Line(String),
    /// A yes/no answer to `question`.
    Confirm(String),
}

/// What the reader hands back.
#[derive(Debug)]
pub enum Reply {
    /// A whole chunk (continuation lines joined with newlines).
    Line(String),
    /// The answer to a confirmation.
    Answer(bool),
    /// No more input (Ctrl-D, end of stdin).
    Eof,
    /// Reading failed.
    Failed(String),
}

/// The terminal's line editor.
type LineEditor = Editor<ReplHelper, FileHistory>;

fn editor() -> rustyline::Result<LineEditor> {
    let config = Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)?
        .history_ignore_dups(true)?
        .completion_type(rustyline::CompletionType::List)
        .build();
    Editor::with_config(config)
}

/// Starts the terminal reader (the editor and its Lua checker live on its thread): it waits
/// for requests and answers each one. Returns the editor's printer, for output while the
/// prompt waits.
pub fn spawn_terminal(
    snapshot: SharedSnapshot,
    history: Option<PathBuf>,
    requests: std_mpsc::Receiver<Request>,
    replies: mpsc::UnboundedSender<Reply>,
) -> Result<Printer, String> {
    let (printer_tx, printer_rx) = std_mpsc::channel();
    std::thread::Builder::new()
        .name("drover-readline".into())
        .spawn(move || {
            let made = editor().and_then(|mut e| {
                let p = e.create_external_printer()?;
                Ok((e, p))
            });
            let mut editor = match made {
                Ok((e, p)) => {
                    let printer: Printer = Arc::new(Mutex::new(Box::new(p)));
                    let _ = printer_tx.send(Ok(printer));
                    e
                }
                Err(e) => {
                    let _ = printer_tx.send(Err(format!("cannot start the line editor: {e}")));
                    return;
                }
            };
            editor.set_helper(Some(ReplHelper {
                snapshot,
                checker: mlua::Lua::new(),
            }));
            if let Some(path) = &history {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let _ = editor.load_history(path);
            }
            while let Ok(request) = requests.recv() {
                let reply = match request {
                    Request::Line(prompt) => read_line(&mut editor, &prompt, history.as_deref()),
                    Request::Confirm(question) => match editor.readline(&question) {
                        Ok(a) => Reply::Answer(matches!(a.trim(), "y" | "Y" | "yes" | "YES")),
                        Err(ReadlineError::Eof | ReadlineError::Interrupted) => {
                            Reply::Answer(false)
                        }
                        Err(e) => Reply::Failed(e.to_string()),
                    },
                };
                if replies.send(reply).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| format!("cannot start the reader: {e}"))?;
    printer_rx
        .recv()
        .map_err(|_| "the line editor did not start".to_string())?
}

/// One chunk from the editor: Ctrl-C at the prompt drops what was typed and asks again.
fn read_line(editor: &mut LineEditor, prompt: &str, history: Option<&std::path::Path>) -> Reply {
    loop {
        match editor.readline(prompt) {
            Ok(line) => {
                if super::history::may_keep(&line) {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(path) = history {
                        // appended at once: a session that dies keeps its history; readable
                        // by its owner only, as shells keep theirs
                        let _ = editor.append_history(path);
                        use std::os::unix::fs::PermissionsExt;
                        let _ =
                            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
                    }
                }
                return Reply::Line(line);
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return Reply::Eof,
            Err(e) => return Reply::Failed(e.to_string()),
        }
    }
}

/// Starts the stdin reader: chunks as they come, without waiting to be asked.
pub fn spawn_piped(replies: mpsc::UnboundedSender<Reply>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("drover-stdin".into())
        .spawn(move || {
            let checker = mlua::Lua::new();
            let mut chunk = String::new();
            for line in std::io::stdin().lock().lines() {
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = replies.send(Reply::Failed(format!("stdin: {e}")));
                        return;
                    }
                };
                if !chunk.is_empty() {
                    chunk.push('\n');
                }
                chunk.push_str(&line);
                if super::line::is_incomplete(&checker, &chunk) {
                    continue;
                }
                if replies
                    .send(Reply::Line(std::mem::take(&mut chunk)))
                    .is_err()
                {
                    return;
                }
            }
            // an unfinished chunk at the end is still evaluated: its error says what is missing
            if !chunk.is_empty() {
                let _ = replies.send(Reply::Line(chunk));
            }
            let _ = replies.send(Reply::Eof);
        })
        .map(|_| ())
}
