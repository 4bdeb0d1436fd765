//! mm-syncout: ship `mirrorlist_cache.proto` and the data files the mirrorlist server needs
//! (`global_netblocks.txt`, `i2_netblocks.txt`, `country_continent.csv`, and the public
//! list directory) to every app server with rsync, all targets in parallel, each with a
//! timeout. The cache is validated first: a cache that does not parse, or that is older
//! than the last one shipped, is refused unless forced.

pub mod cli;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Files shipped beside the cache when they exist in the cache directory.
pub const DATA_FILES: [&str; 3] = [
    "global_netblocks.txt",
    "i2_netblocks.txt",
    "country_continent.csv",
];
/// Where the time of the last shipped cache is remembered (in the cache directory).
pub const STATE_FILE: &str = "mm_sync_out.last";

/// Errors that stop shipping before any target is contacted.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("refusing to ship: {0}")]
    BadCache(#[from] mm_cachefile::CacheError),
    #[error(
        "refusing to ship {path}: its time {time} is older than the last shipped cache ({last}); use --force to ship it anyway"
    )]
    Older { path: PathBuf, time: u64, last: u64 },
    #[error(
        "refusing to ship {path}: {defects} defects, first: {first}; use --force to ship it anyway"
    )]
    Defects {
        path: PathBuf,
        defects: usize,
        first: String,
    },
    #[error("no targets: set sync_out.targets in the configuration or pass --target")]
    NoTargets,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What to ship where.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub cache: PathBuf,
    /// Directory holding the data files (normally the cache directory).
    pub data_dir: PathBuf,
    /// The public list directory, shipped as `<target>/publiclist/` when it exists.
    pub publiclist_dir: Option<PathBuf>,
    pub targets: Vec<String>,
    pub ssh_key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub timeout: Duration,
    pub force: bool,
    /// Where the last shipped cache time is kept.
    pub state_file: PathBuf,
}

/// The result for one target.
#[derive(Debug, Clone)]
pub struct TargetResult {
    pub target: String,
    pub ok: bool,
    /// Bytes rsync sent (from its `--stats`).
    pub bytes: u64,
    pub elapsed: Duration,
    /// Why it failed.
    pub error: Option<String>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Report {
    pub summary: mm_cachefile::Summary,
    pub results: Vec<TargetResult>,
    /// A problem with the public list directory (then it was not shipped).
    pub publiclist_error: Option<String>,
}

impl Report {
    /// Targets that failed.
    pub fn failed(&self) -> Vec<&str> {
        self.results
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.target.as_str())
            .collect()
    }
}

/// Check the cache: it must parse, have no defects and not be older than the last shipped
/// one (unless `force`).
pub fn check_cache(opts: &SyncOptions) -> Result<mm_cachefile::Summary, SyncError> {
    let ml = mm_cachefile::read(&opts.cache)?;
    let summary = mm_cachefile::summary(&ml);
    if opts.force {
        return Ok(summary);
    }
    let defects = mm_cachefile::validate(&ml);
    if let Some(first) = defects.first() {
        return Err(SyncError::Defects {
            path: opts.cache.clone(),
            defects: defects.len(),
            first: first.clone(),
        });
    }
    if let Some(last) = last_shipped(&opts.state_file)
        && summary.time < last
    {
        return Err(SyncError::Older {
            path: opts.cache.clone(),
            time: summary.time,
            last,
        });
    }
    Ok(summary)
}

fn last_shipped(state: &Path) -> Option<u64> {
    std::fs::read_to_string(state).ok()?.trim().parse().ok()
}

/// Is the public list tree complete enough to ship? It must hold `index.html` and
/// `mirrors.json`, both non-empty.
pub fn check_publiclist(dir: &Path) -> Result<(), String> {
    for f in ["index.html", "mirrors.json"] {
        match std::fs::metadata(dir.join(f)) {
            Ok(m) if m.len() > 0 => {}
            Ok(_) => return Err(format!("{}: {f} is empty", dir.display())),
            Err(_) => {
                return Err(format!(
                    "{}: {f} is missing (empty or partial tree)",
                    dir.display()
                ));
            }
        }
    }
    Ok(())
}

fn is_remote(target: &str) -> bool {
    if target.starts_with("rsync://") {
        return true;
    }
    match (target.find(':'), target.find('/')) {
        (Some(c), Some(s)) => c < s,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The `rsync -e` command line. rsync splits it on spaces and honours single and double
/// quotes (not backslashes), so paths are quoted: a key file under a directory with a space
/// in its name must reach ssh as one argument.
fn ssh_command(opts: &SyncOptions) -> String {
    let mut ssh = String::from("ssh -o BatchMode=yes");
    if let Some(k) = &opts.ssh_key {
        ssh.push_str(&format!(" -i {}", rsync_quote(&k.display().to_string())));
    }
    if let Some(k) = &opts.known_hosts {
        ssh.push_str(&format!(
            " -o {}",
            rsync_quote(&format!("UserKnownHostsFile={}", k.display()))
        ));
    }
    ssh
}

/// Quote one argument for rsync's `-e` splitter: single quotes unless the text holds one,
/// then double quotes. (A path holding both kinds is rejected when the config is read.)
fn rsync_quote(arg: &str) -> String {
    if arg.contains('\'') {
        format!("\"{arg}\"")
    } else {
        format!("'{arg}'")
    }
}

fn rsync_command(opts: &SyncOptions, sources: &[String], dest: &str) -> Command {
    let mut c = Command::new("rsync");
    // --checksum: a new cache written in the same second with the same size as the old
    // one must not be skipped by rsync's size+mtime quick check.
    c.args([
        "-az",
        "--checksum",
        "--delete-delay",
        "--delay-updates",
        "--stats",
    ]);
    if is_remote(dest) && !dest.starts_with("rsync://") {
        c.arg("-e").arg(ssh_command(opts));
    }
    c.args(sources).arg(dest);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Run a command with a timeout; returns (success, stdout, stderr or reason).
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (bool, String, String) {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (false, String::new(), format!("cannot run rsync: {e}")),
    };
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    match status {
        Some(st) if st.success() => (true, stdout, stderr),
        Some(st) => (
            false,
            stdout,
            format!(
                "rsync exited with {st}: {}",
                stderr.trim().replace('\n', "; ")
            ),
        ),
        None => (
            false,
            stdout,
            format!("timed out after {}s", timeout.as_secs_f64()),
        ),
    }
}

fn sent_bytes(stats: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix("Total bytes sent: "))
        .map(|n| n.trim().replace([',', '.'], ""))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn ship_one(
    opts: &SyncOptions,
    files: &[String],
    publiclist: Option<&Path>,
    target: &str,
) -> TargetResult {
    let start = Instant::now();
    let dest = if target.ends_with('/') {
        target.to_string()
    } else {
        format!("{target}/")
    };
    let (mut ok, stdout, mut error) =
        run_with_timeout(rsync_command(opts, files, &dest), opts.timeout);
    let mut bytes = sent_bytes(&stdout);
    if ok && let Some(dir) = publiclist {
        let left = opts.timeout.saturating_sub(start.elapsed());
        let src = format!("{}/", dir.display());
        let (ok2, stdout2, err2) = run_with_timeout(
            rsync_command(opts, &[src], &format!("{dest}publiclist/")),
            left,
        );
        bytes += sent_bytes(&stdout2);
        ok = ok2;
        error = format!("publiclist: {err2}");
    }
    TargetResult {
        target: target.to_string(),
        ok,
        bytes,
        elapsed: start.elapsed(),
        error: (!ok).then_some(error),
    }
}

/// Validate the cache, then ship it and the data files to every target in parallel.
pub fn sync_out(opts: &SyncOptions) -> Result<Report, SyncError> {
    if opts.targets.is_empty() {
        return Err(SyncError::NoTargets);
    }
    let summary = check_cache(opts)?;
    let mut files = vec![opts.cache.display().to_string()];
    for f in DATA_FILES {
        let p = opts.data_dir.join(f);
        if p.is_file() {
            files.push(p.display().to_string());
        } else if f != "i2_netblocks.txt" {
            log::warn!("{} does not exist; not shipped", p.display());
        }
    }
    let mut publiclist_error = None;
    let publiclist = match &opts.publiclist_dir {
        Some(d) if d.is_dir() => match check_publiclist(d) {
            Ok(()) => Some(d.as_path()),
            Err(e) => {
                log::error!("not shipping the public list: {e}");
                publiclist_error = Some(e);
                None
            }
        },
        _ => None,
    };
    let results: Vec<TargetResult> = std::thread::scope(|s| {
        let handles: Vec<_> = opts
            .targets
            .iter()
            .map(|t| s.spawn(|| ship_one(opts, &files, publiclist, t)))
            .collect();
        handles
            .into_iter()
            .zip(&opts.targets)
            .map(|(h, t)| {
                h.join().unwrap_or_else(|_| TargetResult {
                    target: t.clone(),
                    ok: false,
                    bytes: 0,
                    elapsed: Duration::ZERO,
                    error: Some("worker panicked".into()),
                })
            })
            .collect()
    });
    if results.iter().all(|r| r.ok) {
        std::fs::write(&opts.state_file, format!("{}\n", summary.time)).map_err(|source| {
            SyncError::Io {
                path: opts.state_file.clone(),
                source,
            }
        })?;
    }
    Ok(Report {
        summary,
        results,
        publiclist_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_targets() {
        assert!(is_remote("app1:/srv/mirrorlist"));
        assert!(is_remote("user@app1.example:/srv"));
        assert!(is_remote("rsync://127.0.0.1:873/m/"));
        assert!(!is_remote("/srv/mirrorlist"));
        assert!(!is_remote("./a:b/c"));
    }

    #[test]
    fn stats_parsing() {
        assert_eq!(
            sent_bytes("Number of files: 3\nTotal bytes sent: 1,234\n"),
            1234
        );
        assert_eq!(sent_bytes("nothing"), 0);
    }
}
