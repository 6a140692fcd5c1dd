//! known_hosts files read once per context: a parsed copy per path, looked up by host, and
//! appended to in place when accept-new learns a key. russh's `check_known_hosts_path` reads
//! and scans the whole file on every handshake, so a run over N hosts whose keys are all in
//! the file (or that learns N keys) read N² lines: about 0.3 ms of client CPU per host at
//! N = 1000 for plain entries, several times that for hashed ones (an HMAC per entry).
//!
//! Matching follows OpenSSH and russh: `host` for port 22, else `[host]:port`, in a
//! comma-separated host field or a hashed `|1|salt|hash` one; a recorded key of the same
//! algorithm but other bytes is a changed key, reported with its line as an editor shows it.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use data_encoding::BASE64_MIME;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use sha1::Sha1;

/// What a lookup found for a host's key.
#[derive(Debug, PartialEq)]
pub(super) enum KnownKey {
    /// A recorded key of this host is this key.
    Known,
    /// No key of this algorithm is recorded for this host.
    Unknown,
    /// The host has a different key of this algorithm, recorded at this line (1-based).
    Changed { line: usize },
}

/// Why a known_hosts file could not be read, written or understood.
#[derive(Debug)]
pub(super) struct KnownHostsError(pub(super) String);

/// Parsed known_hosts files by path, shared by every handshake of one context.
#[derive(Default)]
pub(crate) struct KnownHostsCache {
    files: Mutex<HashMap<PathBuf, Arc<Mutex<KnownHostsFile>>>>,
}

/// What identifies one version of a file: a change by another program re-reads it.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: meta.ino(),
        }
    }
}

/// One recorded key: its line and its base64 blob (decoded when a host asks for it).
#[derive(Clone, Debug)]
struct Entry {
    line: usize,
    key: String,
}

#[derive(Default, Debug)]
struct KnownHostsFile {
    /// The version parsed; none before the first read or after a write this cache cannot
    /// account for.
    stamp: Option<Stamp>,
    /// Entries by plain host pattern (`web1`, `[10.0.0.5]:2222`).
    plain: HashMap<String, Vec<Entry>>,
    /// Hashed entries (`|1|salt|hash`): salt, hash, entry; each lookup HMACs them all.
    hashed: Vec<(Vec<u8>, Vec<u8>, Entry)>,
    /// Lines in the file, and whether the last one ends with a newline.
    lines: usize,
    ends_in_newline: bool,
    /// How often the file was read (the tests count them).
    reads: usize,
}

impl KnownHostsFile {
    fn parse(&mut self, text: &str) {
        self.plain.clear();
        self.hashed.clear();
        self.lines = 0;
        for (i, line) in text.lines().enumerate() {
            self.lines = i + 1;
            self.add_line(line, i + 1);
        }
        self.ends_in_newline = text.is_empty() || text.ends_with('\n');
    }

    fn add_line(&mut self, line: &str, number: usize) {
        if line.starts_with('#') {
            return;
        }
        let mut fields = line.split(' ');
        let (Some(hosts), Some(_), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            return;
        };
        let entry = Entry {
            line: number,
            key: key.trim().to_string(),
        };
        for pattern in hosts.split(',') {
            if let Some(hashed) = pattern.strip_prefix("|1|") {
                let mut parts = hashed.split('|');
                let salt = parts
                    .next()
                    .and_then(|p| BASE64_MIME.decode(p.as_bytes()).ok());
                let hash = parts
                    .next()
                    .and_then(|p| BASE64_MIME.decode(p.as_bytes()).ok());
                if let (Some(salt), Some(hash)) = (salt, hash) {
                    self.hashed.push((salt, hash, entry.clone()));
                }
            } else {
                self.plain
                    .entry(pattern.to_string())
                    .or_default()
                    .push(entry.clone());
            }
        }
    }

    /// Re-reads the file if it is not the version parsed. A missing file is an empty one.
    fn refresh(&mut self, path: &Path) -> Result<(), KnownHostsError> {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                *self = KnownHostsFile {
                    reads: self.reads,
                    ..KnownHostsFile::default()
                };
                return Ok(());
            }
            Err(e) => return Err(KnownHostsError(e.to_string())),
        };
        let stamp = Stamp::of(&meta);
        if self.stamp == Some(stamp) {
            return Ok(());
        }
        // Opening can fail where stat did not (out of descriptors, no read permission): an
        // error, never an empty file that would make every key look unknown.
        let bytes = std::fs::read(path).map_err(|e| KnownHostsError(e.to_string()))?;
        self.parse(&String::from_utf8_lossy(&bytes));
        self.reads += 1;
        self.stamp = Some(stamp);
        Ok(())
    }

    /// Entries recorded for `host_port`, in file order.
    fn entries(&self, host_port: &str) -> Vec<&Entry> {
        let mut found: Vec<&Entry> = self.plain.get(host_port).into_iter().flatten().collect();
        for (salt, hash, entry) in &self.hashed {
            if let Ok(mac) = Hmac::<Sha1>::new_from_slice(salt)
                && mac.chain_update(host_port).verify_slice(hash).is_ok()
            {
                found.push(entry);
            }
        }
        found.sort_by_key(|e| e.line);
        found.dedup_by_key(|e| e.line);
        found
    }

    fn check(&self, host_port: &str, key: &PublicKey) -> Result<KnownKey, KnownHostsError> {
        let mut known = false;
        for entry in self.entries(host_port) {
            let recorded = russh::keys::parse_public_key_base64(&entry.key).map_err(|e| {
                KnownHostsError(format!("line {}: unreadable key: {e}", entry.line))
            })?;
            if recorded.algorithm() == key.algorithm() {
                if recorded == *key {
                    known = true;
                } else {
                    // As OpenSSH: another key of the same type for this host is a change,
                    // even if a matching one is recorded too.
                    return Ok(KnownKey::Changed { line: entry.line });
                }
            }
        }
        Ok(if known {
            KnownKey::Known
        } else {
            KnownKey::Unknown
        })
    }

    /// Appends `host_port key` to the file and to the parsed copy.
    fn learn(
        &mut self,
        path: &Path,
        host_port: &str,
        key: &PublicKey,
    ) -> Result<(), KnownHostsError> {
        let io = |e: std::io::Error| KnownHostsError(e.to_string());
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let openssh = key
            .to_openssh()
            .map_err(|e| KnownHostsError(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        // What is really at the end of the file decides the leading newline, not the copy.
        let mut last = [0u8; 1];
        let ends_in_newline = match file.seek(SeekFrom::End(-1)) {
            Ok(_) => {
                file.read_exact(&mut last).map_err(io)?;
                last[0] == b'\n'
            }
            Err(_) => true,
        };
        let before = file.metadata().map_err(io)?.len();
        let line = format!(
            "{}{host_port} {openssh}\n",
            if ends_in_newline { "" } else { "\n" }
        );
        file.write_all(line.as_bytes()).map_err(io)?;
        let after = file.metadata().map_err(io)?;
        // The copy stays valid only if the file was the version parsed and nobody else
        // wrote meanwhile; otherwise the next lookup reads it again.
        let was_current = self.stamp.is_some_and(|s| s.len == before);
        if was_current && after.len() == before + line.len() as u64 {
            let number = self.lines + 1;
            self.add_line(line.trim_start_matches('\n').trim_end(), number);
            self.lines = number;
            self.ends_in_newline = true;
            self.stamp = Some(Stamp::of(&after));
        } else {
            self.stamp = None;
        }
        Ok(())
    }
}

fn host_port(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    }
}

impl KnownHostsCache {
    fn file(&self, path: &Path) -> Arc<Mutex<KnownHostsFile>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(files.entry(path.to_path_buf()).or_default())
    }

    /// Looks `key` up for `address:port` in `path`; with `learn`, an unknown key is recorded
    /// (under the file's lock, so two handshakes to one host record it once).
    pub(super) fn check(
        &self,
        path: &Path,
        address: &str,
        port: u16,
        key: &PublicKey,
        learn: bool,
    ) -> Result<KnownKey, KnownHostsError> {
        let file = self.file(path);
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        let host_port = host_port(address, port);
        file.refresh(path)?;
        let found = file.check(&host_port, key)?;
        if found == KnownKey::Unknown && learn {
            file.learn(path, &host_port, key)?;
            return Ok(KnownKey::Known);
        }
        Ok(found)
    }

    #[cfg(test)]
    fn reads(&self, path: &Path) -> usize {
        self.file(path).lock().map_or(0, |f| f.reads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).expect("test key")
    }

    fn hashed(host_port: &str, salt: &[u8]) -> String {
        let mac = Hmac::<Sha1>::new_from_slice(salt)
            .expect("any salt")
            .chain_update(host_port)
            .finalize()
            .into_bytes();
        format!(
            "|1|{}|{}",
            BASE64_MIME.encode(salt).trim_end(),
            BASE64_MIME.encode(&mac).trim_end()
        )
    }

    fn scratch(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("drover-known-hosts-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("known_hosts");
        std::fs::write(&path, text).expect("write known_hosts");
        path
    }

    #[test]
    fn plain_hashed_and_port_forms_match_and_a_changed_key_names_its_editor_line() {
        let text = format!(
            "# comment\nweb1,10.0.0.1 ssh-ed25519 {KEY_A}\n[db1]:2222 ssh-ed25519 {KEY_A} a comment\n{} ssh-ed25519 {KEY_A}\n# another\nold ssh-ed25519 {KEY_B}\n",
            hashed("[cache1]:2200", b"0123456789abcdefghij")
        );
        let path = scratch("match", &text);
        let cache = KnownHostsCache::default();
        let check = |addr, port, k: &str| {
            cache
                .check(&path, addr, port, &key(k), false)
                .map_err(|e| e.0)
        };
        assert_eq!(check("web1", 22, KEY_A), Ok(KnownKey::Known));
        assert_eq!(check("10.0.0.1", 22, KEY_A), Ok(KnownKey::Known));
        assert_eq!(check("web1", 2222, KEY_A), Ok(KnownKey::Unknown));
        assert_eq!(check("db1", 2222, KEY_A), Ok(KnownKey::Known));
        assert_eq!(check("cache1", 2200, KEY_A), Ok(KnownKey::Known));
        assert_eq!(check("cache1", 22, KEY_A), Ok(KnownKey::Unknown));
        assert_eq!(check("web1", 22, KEY_B), Ok(KnownKey::Changed { line: 2 }));
        assert_eq!(check("old", 22, KEY_A), Ok(KnownKey::Changed { line: 6 }));
        assert_eq!(cache.reads(&path), 1, "one read serves every lookup");
    }

    #[test]
    fn learning_appends_once_and_keeps_the_copy_without_rereading() {
        // no trailing newline: the learned entry must start on a line of its own
        let path = scratch("learn", &format!("web1 ssh-ed25519 {KEY_A}"));
        let cache = KnownHostsCache::default();
        for i in 0..50 {
            let host = format!("h{i}");
            assert_eq!(
                cache
                    .check(&path, &host, 2200, &key(KEY_B), true)
                    .map_err(|e| e.0),
                Ok(KnownKey::Known)
            );
        }
        for i in 0..50 {
            let host = format!("h{i}");
            assert_eq!(
                cache
                    .check(&path, &host, 2200, &key(KEY_B), false)
                    .map_err(|e| e.0),
                Ok(KnownKey::Known)
            );
        }
        assert_eq!(cache.reads(&path), 1);
        let text = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(text.lines().count(), 51);
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("[h0]:2200 ssh-ed25519 "))
        );
        // what russh itself reads agrees with the copy
        assert!(
            russh::keys::check_known_hosts_path("h49", 2200, &key(KEY_B), &path).unwrap_or(false)
        );
        // a changed key of a learned host names the line an editor shows
        assert_eq!(
            cache
                .check(&path, "h3", 2200, &key(KEY_A), true)
                .map_err(|e| e.0),
            Ok(KnownKey::Changed { line: 5 })
        );
    }

    #[test]
    fn a_file_changed_by_another_program_is_read_again() {
        let path = scratch("external", "");
        let cache = KnownHostsCache::default();
        assert_eq!(
            cache
                .check(&path, "web9", 22, &key(KEY_A), false)
                .map_err(|e| e.0),
            Ok(KnownKey::Unknown)
        );
        std::fs::write(&path, format!("web9 ssh-ed25519 {KEY_B}\n")).expect("rewrite");
        assert_eq!(
            cache
                .check(&path, "web9", 22, &key(KEY_A), false)
                .map_err(|e| e.0),
            Ok(KnownKey::Changed { line: 1 })
        );
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(
            cache
                .check(&path, "web9", 22, &key(KEY_A), false)
                .map_err(|e| e.0),
            Ok(KnownKey::Unknown)
        );
    }

    #[test]
    fn an_unreadable_recorded_key_is_an_error_naming_its_line() {
        let path = scratch(
            "bad",
            &format!("ok ssh-ed25519 {KEY_A}\nweb1 ssh-ed25519 not*base64\n"),
        );
        let cache = KnownHostsCache::default();
        let err = cache
            .check(&path, "web1", 22, &key(KEY_A), true)
            .expect_err("bad key");
        assert!(err.0.starts_with("line 2: unreadable key"), "{}", err.0);
    }
}
