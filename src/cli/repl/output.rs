//! Where the REPL writes. Piped, straight to stdout and stderr. On a terminal, through
//! rustyline's external printer: while the prompt waits, a line from a background task is
//! printed above it instead of over it (outside the prompt the printer writes directly).
//! The renderer of shell lines is live or gathered as `:gather` says: [`Switch`] forwards each
//! event to the one in force.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use drover::report::{Event, EventSink, Mode, RenderOptions, Renderer};

/// rustyline's printer, shared by the writers made from it.
pub type Printer = Arc<Mutex<Box<dyn rustyline::ExternalPrinter + Send>>>;

/// The REPL's screen: plain streams, or the terminal behind the line editor.
#[derive(Clone)]
pub enum Screen {
    /// stdout and stderr as they are (not a terminal).
    Plain,
    /// The terminal, through the line editor's printer.
    Terminal(Printer),
}

impl Screen {
    /// Writes `text` (a newline added when missing) as normal output.
    pub fn out(&self, text: &str) {
        self.write(false, text);
    }

    /// Writes `text` (a newline added when missing) as a diagnostic.
    pub fn err(&self, text: &str) {
        self.write(true, text);
    }

    fn write(&self, stderr: bool, text: &str) {
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        match self {
            Screen::Plain if stderr => {
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            Screen::Plain => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Screen::Terminal(p) => {
                let _ = p.lock().unwrap_or_else(|e| e.into_inner()).print(text);
            }
        }
    }

    /// A writer for a renderer: whole lines go to this screen.
    pub fn writer(&self, stderr: bool) -> Box<dyn Write + Send> {
        match self {
            Screen::Plain if stderr => Box::new(std::io::stderr()),
            Screen::Plain => Box::new(std::io::stdout()),
            Screen::Terminal(p) => Box::new(PrinterWriter {
                printer: Arc::clone(p),
                pending: Vec::new(),
            }),
        }
    }
}

/// Bytes to the printer, one call per complete line (a partial line waits for its end or a
/// flush).
struct PrinterWriter {
    printer: Printer,
    pending: Vec<u8>,
}

impl Write for PrinterWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&lines).into_owned();
            self.printer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .print(text)
                .map_err(std::io::Error::other)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // a progress line (`\r...`) has no newline: it waits, rather than breaking the prompt
        Ok(())
    }
}

/// The sink of the REPL's runtime: the live renderer, or the gathering one under
/// `:gather on`.
pub struct Switch {
    live: Renderer,
    gather: Renderer,
    gathering: AtomicBool,
}

impl Switch {
    /// Both renderers on `screen`, colour when `colour`.
    pub fn new(screen: &Screen, colour: bool) -> Switch {
        let options = RenderOptions {
            colour,
            progress: false,
            verbose: false,
        };
        let make = |mode| Renderer::new(mode, options, screen.writer(false), screen.writer(true));
        Switch {
            live: make(Mode::Live),
            gather: make(Mode::Gather),
            gathering: AtomicBool::new(false),
        }
    }

    /// `:gather on|off`.
    pub fn set_gather(&self, on: bool) {
        self.gathering.store(on, Ordering::SeqCst);
    }

    /// Whether shell output is gathered.
    pub fn gathering(&self) -> bool {
        self.gathering.load(Ordering::SeqCst)
    }
}

impl EventSink for Switch {
    fn event(&self, event: &Event) {
        if self.gathering() {
            self.gather.event(event)
        } else {
            self.live.event(event)
        }
    }
}
