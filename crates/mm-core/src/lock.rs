//! Lock files: one exclusive OS file lock per job under the lock directory.
//!
//! The lock is a `flock` on `<lock_dir>/<name>.lock`, so it dies with the process: a job
//! killed with `kill -9` leaves no stale lock. The file holds the holder's pid, start time
//! and command line for humans and for the "another instance" message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Errors taking a lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another instance holds the lock {path}: {holder}")]
    Held { path: PathBuf, holder: String },
    #[error("cannot use lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

impl LockGuard {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Clear the holder line first so `locks` does not show a released lock's holder.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Turn a category or job name into a lock-file-safe slug: `Fedora Linux` → `fedora-linux`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Take the lock `<lock_dir>/<name>.lock`. With `wait`, block until it is free; otherwise
/// fail at once with [`LockError::Held`] naming the holder.
pub fn acquire(lock_dir: &Path, name: &str, wait: bool) -> Result<LockGuard, LockError> {
    let path = lock_dir.join(format!("{name}.lock"));
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(lock_dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) if wait => {
            log::info!(
                "waiting for lock {} ({})",
                path.display(),
                describe_holder(&mut file)
            );
            file.lock().map_err(io)?;
        }
        Err(TryLockError::WouldBlock) => {
            let holder = describe_holder(&mut file);
            return Err(LockError::Held { path, holder });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let info = format!(
        "pid={}\nstarted={}\ncommand={}\n",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(info.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    log::debug!("took lock {}", path.display());
    Ok(LockGuard { file, path })
}

/// What a lock file says about its holder, in one line.
fn describe_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    let info = HolderInfo::parse(&text);
    match (info.pid, info.started) {
        (Some(pid), Some(started)) => format!("pid {pid}, started {started}"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "holder unknown (lock file is empty)".into(),
    }
}

/// The holder details written into a lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HolderInfo {
    pub pid: Option<u32>,
    pub started: Option<String>,
    pub command: Option<String>,
}

impl HolderInfo {
    fn parse(text: &str) -> HolderInfo {
        let mut h = HolderInfo::default();
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", v)) => h.pid = v.trim().parse().ok(),
                Some(("started", v)) => h.started = Some(v.trim().to_string()),
                Some(("command", v)) => h.command = Some(v.trim().to_string()),
                _ => {}
            }
        }
        h
    }
}

/// One lock file and whether someone holds it right now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockStatus {
    pub name: String,
    pub path: PathBuf,
    pub held: bool,
    #[serde(flatten)]
    pub holder: HolderInfo,
}

/// List the lock files in `lock_dir` and probe each one (a probe takes and drops the lock
/// when it is free, so it never blocks a job for more than an instant).
pub fn list(lock_dir: &Path) -> Result<Vec<LockStatus>, LockError> {
    let io = |source| LockError::Io {
        path: lock_dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(lock_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(io)?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".lock"))
            .map(str::to_string)
        else {
            continue;
        };
        let mut file = File::open(&path).map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
        let held = match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(source)) => return Err(LockError::Io { path, source }),
        };
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let holder = if held {
            HolderInfo::parse(&text)
        } else {
            HolderInfo::default()
        };
        out.push(LockStatus {
            name,
            path,
            held,
            holder,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Fedora Linux"), "fedora-linux");
        assert_eq!(slug("Fedora EPEL"), "fedora-epel");
        assert_eq!(slug("  a//b  "), "a-b");
    }

    #[test]
    fn second_holder_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let g = acquire(dir.path(), "job", false).unwrap();
        let e = acquire(dir.path(), "job", false).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, LockError::Held { .. }));
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        let listed = list(dir.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].held);
        assert_eq!(listed[0].holder.pid, Some(std::process::id()));
        drop(g);
        assert!(!list(dir.path()).unwrap()[0].held);
        acquire(dir.path(), "job", false).unwrap();
    }

    #[test]
    fn wait_blocks_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let g = acquire(dir.path(), "w", false).unwrap();
        let p = dir.path().to_owned();
        let t = std::thread::spawn(move || acquire(&p, "w", true).map(|_| ()));
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!t.is_finished());
        drop(g);
        t.join().unwrap().unwrap();
    }
}
