//! Running one command on a connection: the command line (cwd, env, sudo, the TERM-forwarding
//! wrapper), output capture with caps, live lines for a sink, and TERM to the remote job when
//! the call is cancelled or times out.

use std::sync::Arc;
use std::time::Duration;

use russh::client;
use russh::{ChannelMsg, Sig};

use super::SshError;
use super::cleanup::Cleanups;
use super::session::{ConnectionKeeper, Session};

/// How to run one command (one struct for every caller).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExecOptions {
    /// Environment variables, exported by the remote shell before the command.
    pub env: Vec<(String, String)>,
    /// Directory to run in.
    pub cwd: Option<String>,
    /// Bytes fed to the command's stdin (then EOF).
    pub stdin: Option<Vec<u8>>,
    /// Past this, the remote command is sent TERM and the call fails.
    pub timeout: Option<Duration>,
    /// Run through non-interactive `sudo -n` (as `sudo_user` when given).
    pub sudo: bool,
    pub sudo_user: Option<String>,
    /// sudo's password, fed on stdin ahead of the command's input (never on the command line).
    pub sudo_password: Option<super::Secret>,
    /// Bytes kept per stream (stdout, stderr); the rest is counted and dropped. 0: default.
    pub max_output: usize,
    /// Allocate a pseudo-terminal (stderr then arrives merged into stdout).
    pub pty: bool,
    /// Where to send output lines as they arrive (besides capturing them).
    pub sink: Option<Arc<dyn OutputSink>>,
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Receives output lines as they arrive (the renderer of the batch commands plugs in here).
pub(crate) trait OutputSink: Send + Sync {
    fn line(&self, host: &str, stream: Stream, line: &[u8]);
    /// A file transfer of `total` bytes on `host` has moved `done` bytes.
    fn progress(&self, _host: &str, _path: &str, _done: u64, _total: u64) {}
}

impl std::fmt::Debug for dyn OutputSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputSink")
    }
}

/// Splits arriving bytes into lines for a sink. Each byte is looked at once (output without
/// newlines used to be rescanned on every chunk: 32 MB took 21 s), and a line longer than
/// [`MAX_LINE`] is passed on in pieces, so a stream without newlines still shows up live and
/// memory stays bounded.
#[derive(Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
    /// The line in progress was cut (a piece went out): its newline ends it, not an empty line.
    cut: bool,
}

/// Bytes of one output line passed to a sink at most; longer lines arrive in pieces.
pub(super) const MAX_LINE: usize = 64 << 10;

impl LineSplitter {
    /// Passes every whole line of `data` (and pieces of over-long lines) to `emit`.
    pub(crate) fn feed(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_LINE - self.partial.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    let line = &window[..pos];
                    if self.partial.is_empty() {
                        if !(self.cut && line.is_empty()) {
                            emit(line.strip_suffix(b"\r").unwrap_or(line));
                        }
                    } else {
                        self.partial.extend_from_slice(line);
                        let whole = std::mem::take(&mut self.partial);
                        emit(whole.strip_suffix(b"\r").unwrap_or(&whole));
                    }
                    data = &data[pos + 1..];
                    self.cut = false;
                }
                None => {
                    self.partial.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.partial.len() >= MAX_LINE {
                        emit(&std::mem::take(&mut self.partial));
                        self.cut = true;
                    }
                }
            }
        }
    }

    /// Passes on the last partial line, if any.
    pub(crate) fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit(&std::mem::take(&mut self.partial));
        }
    }
}

/// Bytes of stdout (and of stderr) kept by default.
pub(super) const DEFAULT_MAX_OUTPUT: usize = 128 << 20;

/// Quotes `s` for a POSIX shell.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl ExecOptions {
    /// The command line sent to the server. `wrap`: the server signals only the session's
    /// shell, so a shell that forwards TERM to the whole job wraps the command.
    pub(crate) fn command_line(&self, command: &str, wrap: bool) -> String {
        let mut prefix = String::new();
        if let Some(cwd) = &self.cwd {
            prefix.push_str(&format!("cd {} && ", shell_quote(cwd)));
        }
        for (k, v) in &self.env {
            prefix.push_str(&format!("export {k}={}; ", shell_quote(v)));
        }
        let inner = format!("{prefix}{command}");
        let line = if self.sudo || self.sudo_user.is_some() {
            let user = self
                .sudo_user
                .as_deref()
                .map(|u| format!("-u {} ", shell_quote(u)))
                .unwrap_or_default();
            let command = shell_quote(&inner);
            if self.sudo_password.is_some() {
                // The password is stdin's first line. The shell reads it (`read` and
                // `printf` are builtins: it reaches no command line) and hands it to
                // `sudo -S` (-p '' keeps the prompt out of stderr) only when sudo asks for
                // one: where it needs none (NOPASSWD, cached credentials) sudo would not read
                // it and the command would get it as its input.
                format!(
                    "IFS= read -r __drover_pw; if sudo -n {user}true 2>/dev/null; then \
                     unset __drover_pw; sudo -n {user}-- sh -c {command}; else \
                     {{ printf '%s\\n' \"$__drover_pw\"; unset __drover_pw; cat; }} | \
                     sudo -S -p '' {user}-- sh -c {command}; fi"
                )
            } else {
                // without a password, -n fails at once instead of waiting for one
                format!("sudo -n {user}-- sh -c {command}")
            }
        } else {
            inner
        };
        if !wrap {
            // The server's TERM reaches the process group of the session (sshd made it one)
            // already; the wrapper would cost the server a fork (for builtins and compound
            // commands) and four wait4 calls per command. The server runs `sh -c LINE`: a
            // line starting with - or + would be read as the shell's options.
            return if line.starts_with(['-', '+']) {
                format!(" {line}")
            } else {
                line
            };
        }
        // A server that signals only the session's shell: a TERM must reach every process the
        // command started. The shell runs the command as a job (its stdin kept through fd 3:
        // a job's stdin is /dev/null otherwise) and, on TERM, passes it to its whole process
        // group (the server made the session a process group).
        format!(
            "trap 'trap - TERM; kill -TERM 0' TERM; exec 3<&0; {{ {line}\n}} <&3 3<&- & wait $!"
        )
    }
}

/// The outcome of one remote command.
#[derive(Debug, Default, Clone)]
pub(crate) struct ExecOutput {
    pub code: Option<u32>,
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Output went past `max_output` and was cut there.
    pub truncated: bool,
}

/// Appends `data` to `buf` up to `cap` bytes; says whether anything was dropped.
fn append_capped(buf: &mut Vec<u8>, data: &[u8], cap: usize) -> bool {
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
    data.len() > room
}

impl Session {
    /// Runs `command`; collects stdout, stderr and the exit status. On timeout, or if the
    /// future is dropped (cancellation), the remote process is sent TERM and the channel closed.
    pub(crate) async fn exec(
        &self,
        command: &str,
        opts: &ExecOptions,
    ) -> Result<ExecOutput, SshError> {
        match opts.timeout {
            None => self.exec_inner(command, opts).await,
            Some(d) => match tokio::time::timeout(d, self.exec_inner(command, opts)).await {
                Ok(r) => r,
                Err(_) => Err(SshError::CommandTimeout {
                    host: self.target.name.clone(),
                    command: command.to_string(),
                    secs: d.as_secs_f64(),
                }),
            },
        }
    }

    async fn exec_inner(&self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        let host = self.target.name.clone();
        let proto = |what: &str, e: russh::Error| SshError::protocol(&host, what, e);
        let permit = self.channel_slot().await?;
        let channel = self
            .open_channel()
            .await
            .map_err(|e| proto("open channel", e))?;
        let mut guard = TermOnDrop {
            channel: Some(channel),
            permit: Some(permit),
            connection: self.keep_open(),
            cleanups: self.cleanups().clone(),
        };
        let channel = guard.channel.as_mut().expect("held");
        if opts.pty {
            channel
                .request_pty(true, "xterm", 80, 24, 0, 0, &[])
                .await
                .map_err(|e| proto("request pty", e))?;
        }
        channel
            .exec(true, opts.command_line(command, !self.signals_reach_group))
            .await
            .map_err(|e| proto("exec", e))?;
        let writer = &*channel;
        let input = async {
            if let Some(password) = &opts.sudo_password {
                let mut line = password.0.clone().into_bytes();
                line.push(b'\n');
                writer
                    .data_bytes(line)
                    .await
                    .map_err(|e| ("sudo password", e))?;
            }
            if let Some(input) = &opts.stdin {
                writer
                    .data_bytes(input.clone())
                    .await
                    .map_err(|e| ("stdin", e))?;
            }
            writer.eof().await.map_err(|e| ("stdin eof", e))
        };
        // Input waits for window space, which russh never grants (nor gives up on) once the
        // connection has died: the connection is watched meanwhile.
        let sent = tokio::select! {
            r = input => r,
            () = self.closed() => Err(("stdin", russh::Error::Disconnect)),
        };
        if let Err((what, e)) = sent {
            if self.connection_ended().await {
                return Err(SshError::ConnectionLost {
                    host,
                    during: format!("running `{command}`"),
                });
            }
            return Err(proto(what, e));
        }
        let mut out = ExecOutput::default();
        let cap = if opts.max_output == 0 {
            DEFAULT_MAX_OUTPUT
        } else {
            opts.max_output
        };
        let (mut out_lines, mut err_lines) = (LineSplitter::default(), LineSplitter::default());
        let sink = opts.sink.as_deref();
        let name = self.target.name.as_str();
        while let Some(msg) = guard.channel.as_mut().expect("held").wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    if let Some(sink) = sink {
                        out_lines.feed(&data, |l| sink.line(name, Stream::Stdout, l));
                    }
                    out.truncated |= append_capped(&mut out.stdout, &data, cap)
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    if let Some(sink) = sink {
                        err_lines.feed(&data, |l| sink.line(name, Stream::Stderr, l));
                    }
                    out.truncated |= append_capped(&mut out.stderr, &data, cap)
                }
                ChannelMsg::ExitStatus { exit_status } => out.code = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    out.signal = Some(format!("{signal_name:?}"))
                }
                _ => {}
            }
        }
        if let Some(sink) = sink {
            out_lines.finish(|l| sink.line(name, Stream::Stdout, l));
            err_lines.finish(|l| sink.line(name, Stream::Stderr, l));
        }
        // The server closed the channel: its slot is free again.
        guard.channel = None;
        if out.code.is_none() && out.signal.is_none() && self.connection_ended().await {
            return Err(SshError::ConnectionLost {
                host,
                during: format!("running `{command}`"),
            });
        }
        Ok(out)
    }

    /// Whether the connection is gone, waiting briefly: a channel that ended without an exit
    /// status is the first sign of a connection that is going down.
    async fn connection_ended(&self) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
        while !self.handle.is_closed() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

/// Signals TERM to the remote command if the exec future is dropped before it finished
/// (dropping a channel alone leaves the remote process running).
struct TermOnDrop {
    channel: Option<russh::Channel<client::Msg>>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    connection: ConnectionKeeper,
    /// The session's context's clean-ups, which the end of its run waits for.
    cleanups: Cleanups,
}

impl Drop for TermOnDrop {
    fn drop(&mut self) {
        let permit = self.permit.take();
        let connection = self.connection.clone();
        if let Some(mut channel) = self.channel.take() {
            self.cleanups.spawn(async move {
                let _open = connection;
                let _ = channel.signal(Sig::TERM).await;
                let _ = channel.close().await;
                // Keep the slot until the server confirms the close.
                let deadline = tokio::time::sleep(Duration::from_secs(5));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        msg = channel.wait() => if msg.is_none() { break },
                        _ = &mut deadline => break,
                    }
                }
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::default();
        for c in chunks {
            splitter.feed(c, |l| lines.push(l.to_vec()));
        }
        splitter.finish(|l| lines.push(l.to_vec()));
        lines
    }

    /// The wrapper for servers that signal only the session's shell (OpenSSH's killpg makes
    /// it unneeded there, so the sshd tests do not reach it): TERM to the shell alone ends
    /// the whole job, and the command still reads the session's stdin.
    #[test]
    fn the_wrapper_passes_term_to_the_whole_job() {
        use std::os::unix::process::CommandExt;
        // the sleep's own command line carries the marker too (it outlives a lone shell)
        let marker = format!("31.{:03}", std::process::id() % 1000);
        let opts = ExecOptions::default();
        let line = opts.command_line(&format!("read x; sleep {marker} && echo $x"), true);
        assert_eq!(opts.command_line("true", false), "true");
        assert_eq!(opts.command_line("-x; echo", false), " -x; echo");
        assert_eq!(opts.command_line("+x", false), " +x");
        let mut shell = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&line)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            // its own process group, as sshd gives a session
            .process_group(0)
            .spawn()
            .expect("sh runs");
        let count = || {
            let out = std::process::Command::new("pgrep")
                .args(["-c", "-f", &format!("[s]leep {marker}")])
                .output()
                .expect("pgrep runs");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u32>()
                .unwrap_or(0)
        };
        use std::io::Write;
        shell
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"in\n")
            .expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        // running once the sleep started (stdin was read)
        while count() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the job never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &shell.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        shell.wait().expect("the shell ends");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while count() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the job survived TERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn lines_across_chunks_crlf_and_a_last_partial_line() {
        let got = split(&[b"ab", b"c\r\nd", b"\n\nlast"]);
        assert_eq!(
            got,
            vec![
                b"abc".to_vec(),
                b"d".to_vec(),
                b"".to_vec(),
                b"last".to_vec()
            ]
        );
    }

    #[test]
    fn a_cut_line_ends_at_its_newline_without_an_empty_line() {
        let long = vec![b'x'; MAX_LINE];
        let got = split(&[&long, b"\n", b"\nnext\n"]);
        assert_eq!(got, vec![long.clone(), b"".to_vec(), b"next".to_vec()]);
    }

    #[test]
    fn output_without_newlines_is_linear_and_cut_into_bounded_pieces() {
        // 32 MiB in 32 KiB chunks took 21 s when each chunk rescanned the whole buffer.
        let chunk = vec![b'y'; 32 << 10];
        let started = std::time::Instant::now();
        let mut splitter = LineSplitter::default();
        let (mut pieces, mut bytes, mut longest) = (0usize, 0usize, 0usize);
        for _ in 0..1024 {
            splitter.feed(&chunk, |l| {
                pieces += 1;
                bytes += l.len();
                longest = longest.max(l.len());
            });
        }
        splitter.finish(|l| {
            pieces += 1;
            bytes += l.len();
        });
        assert_eq!(bytes, 32 << 20);
        assert_eq!(longest, MAX_LINE);
        assert_eq!(pieces, (32 << 20) / MAX_LINE);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
