//! A real OpenSSH sshd on a free loopback port, with its own host key, client key, config and
//! known_hosts, for tests that talk SSH. Killed (by its PID) when dropped.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user test commands run as (login shell /bin/sh; created by scripts/test.sh).
pub const TEST_USER: &str = "drover-test";
/// The test user's password, set by the fixture (the user exists only for these tests and
/// sshd listens only on loopback).
pub const TEST_PASSWORD: &str = "drover-test-password";

fn set_test_password() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        use std::io::Write;
        let mut child = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("chpasswd: {e}"))?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(format!("{TEST_USER}:{TEST_PASSWORD}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "chpasswd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    })
    .clone()
}
const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    dir: PathBuf,
    port: u16,
    child: Child,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

impl Sshd {
    pub fn start(extra_config: &str) -> Result<Sshd, String> {
        if !std::path::Path::new(SSHD).exists() {
            return Err(format!(
                "{SSHD} not found: install OpenSSH's server (apt-get install -y openssh-server) or run scripts/test.sh"
            ));
        }
        if !Command::new("id")
            .arg(TEST_USER)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Err(format!(
                "user {TEST_USER} missing: run scripts/test.sh (it creates it: useradd -m -s /bin/sh {TEST_USER}; usermod -p '*' {TEST_USER})"
            ));
        }
        set_test_password()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = std::env::temp_dir().join(format!("drover-sshd-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // sshd reads AuthorizedKeysFile as the login user.
        run(Command::new("chmod").arg("755").arg(&dir))?;
        for key in ["host_key", "client_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key)))?;
        }
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys"))
            .map_err(|e| e.to_string())?;
        run(Command::new("chmod")
            .arg("644")
            .arg(dir.join("authorized_keys")))?;
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication yes\nLogLevel DEBUG1\nSubsystem sftp internal-sftp\n",
            d = dir.display()
        );
        // Later lines cannot override earlier ones in sshd_config: extra settings go first.
        let config = format!("{extra_config}{config}");
        std::fs::write(dir.join("sshd_config"), config).map_err(|e| e.to_string())?;
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("mkdir /run/sshd: {e}"))?;
        let log = std::fs::File::create(dir.join("sshd.log")).map_err(|e| e.to_string())?;
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {SSHD}: {e}"))?;
        let sshd = Sshd { dir, port, child };
        sshd.wait_for_banner()?;
        Ok(sshd)
    }

    /// Readiness is the SSH-2.0- banner, never a sleep.
    fn wait_for_banner(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 8];
                if stream.read_exact(&mut buf).is_ok() && &buf == b"SSH-2.0-" {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!(
            "sshd on port {} sent no banner within 10 s:\n{}",
            self.port,
            self.log_tail()
        ))
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client key it accepts.
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client_key")
    }

    /// Lets the key whose public half is at `public_key` log in too.
    pub fn authorize(&self, public_key: &std::path::Path) -> Result<(), String> {
        use std::io::Write;
        let key = std::fs::read(public_key).map_err(|e| e.to_string())?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("authorized_keys"))
            .and_then(|mut f| f.write_all(&key))
            .map_err(|e| e.to_string())
    }

    /// A known_hosts file of its own (empty at first).
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// Environment for the Lua test script.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DROVER_TEST_SSH_PORT".into(), self.port.to_string()),
            ("DROVER_TEST_SSH_USER".into(), TEST_USER.into()),
            ("DROVER_TEST_SSH_PASSWORD".into(), TEST_PASSWORD.into()),
            (
                "DROVER_TEST_AUTHORIZED_KEYS".into(),
                self.dir.join("authorized_keys").display().to_string(),
            ),
            (
                "DROVER_TEST_SSH_KEY".into(),
                self.dir.join("client_key").display().to_string(),
            ),
            (
                "DROVER_TEST_SSH_HOST_PUB".into(),
                self.dir.join("host_key.pub").display().to_string(),
            ),
            (
                "DROVER_TEST_KNOWN_HOSTS".into(),
                self.dir.join("known_hosts").display().to_string(),
            ),
            (
                "DROVER_TEST_SSH_LOG".into(),
                self.dir.join("sshd.log").display().to_string(),
            ),
        ]
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes an inventory for `fleet` into the first sshd's directory: hosts h01..hNN (each its
/// sshd's port and client key), groups `odd`, `even` and `all` (children odd, even), and the
/// variable `colour = teal` for all; returns its path.
pub fn write_inventory(fleet: &[Sshd]) -> Result<PathBuf, String> {
    let dir = &fleet.first().ok_or("an empty fleet")?.dir;
    let mut text = format!(
        "[defaults]\nuser = {TEST_USER}\nknown_hosts = {}\ncolour = teal\n\n",
        dir.join("fleet_known_hosts").display()
    );
    let (mut odd, mut even) = (Vec::new(), Vec::new());
    for (i, sshd) in fleet.iter().enumerate() {
        let name = format!("h{:02}", i + 1);
        text.push_str(&format!(
            "[host {name}]\naddress = 127.0.0.1\nport = {}\nidentity = {}\n\n",
            sshd.port,
            sshd.dir.join("client_key").display()
        ));
        if i % 2 == 0 { &mut odd } else { &mut even }.push(name);
    }
    text.push_str(&format!(
        "[group odd]\nhosts = {}\n[group even]\nhosts = {}\n[group all]\nchildren = odd, even\n",
        odd.join(", "),
        even.join(", ")
    ));
    let path = dir.join("inventory.ini");
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
