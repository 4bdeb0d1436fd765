//! mm-syncout: ship `mirrorlist_cache.proto` and the data files the mirrorlist server needs
//! (`global_netblocks.txt`, `i2_netblocks.txt`, `country_continent.csv`, and the public
//! list directory) to every app server with rsync, all targets in parallel, each with a
//! timeout. The cache is validated first: a cache that does not parse, or that is older
//! than the last one shipped, is refused unless forced.

pub mod cli;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process_group, waitid};

/// Files shipped beside the cache when they exist in the cache directory.
pub const DATA_FILES: [&str; 3] = [
    "global_netblocks.txt",
    "i2_netblocks.txt",
    "country_continent.csv",
];
/// The name the cache has on every target, whatever it is called here.
pub const CACHE_NAME: &str = "mirrorlist_cache.proto";
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
    #[error("{0}")]
    Signal(String),
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
    /// Data files not shipped because they are empty (the app servers keep theirs).
    pub empty_data_files: Vec<String>,
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
    check_cache_file(opts, &opts.cache)
}

/// [`check_cache`] of `file`, the copy that will be shipped (errors name `opts.cache`).
fn check_cache_file(opts: &SyncOptions, file: &Path) -> Result<mm_cachefile::Summary, SyncError> {
    let ml = mm_cachefile::read(file)?;
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
    // --copy-links: a data file kept as a symlink arrives as the file, not as a link
    // that dangles on the app server.
    c.args([
        "-az",
        "--copy-links",
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

/// How long the process group of a timed-out rsync gets between SIGTERM and SIGKILL, and
/// again after SIGKILL, before it is abandoned.
const KILL_GRACE: Duration = Duration::from_secs(1);

/// Set by SIGINT, SIGTERM and SIGHUP. Each rsync runs in a process group of its own (so
/// that a timeout can kill its ssh too), which also keeps a terminal's Ctrl-C from reaching
/// it: on this flag the job kills the groups itself.
fn stopping() -> bool {
    mm_core::stop::requested()
}

fn install_signal_handlers() -> Result<(), SyncError> {
    mm_core::stop::install(true)
        .map_err(|e| SyncError::Signal(format!("cannot install signal handler: {e}")))
}

/// Collects what a child writes to one pipe on a thread of its own, so that a pipe held
/// open by a process that never exits cannot block the caller: it waits only until a
/// deadline and then takes what has arrived.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    closed: mpsc::Receiver<()>,
}

impl Capture {
    fn start(mut pipe: impl Read + Send + 'static) -> Capture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, closed) = mpsc::channel();
        let sink = Arc::clone(&buf);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => sink
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        Capture { buf, closed }
    }

    /// Wait until every writer has closed the pipe or `deadline` passes; true if closed.
    fn wait_until(&self, deadline: Instant) -> bool {
        match self
            .closed
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => false,
        }
    }

    /// What has arrived so far.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }
}

/// Has the child exited? It is not reaped, so its pid (and process group id) stays ours
/// and cannot be reused while we still signal the group.
fn exited(pid: Pid) -> bool {
    match waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
    ) {
        Ok(None) => false,
        Err(e) if e == rustix::io::Errno::INTR => false,
        // Any other error (no such child) means there is nothing left to wait for.
        Ok(Some(_)) | Err(_) => true,
    }
}

/// Wait until the (unreaped) child has exited or `deadline` passes (or, with
/// `interruptible`, SIGINT/SIGTERM arrives); true if it exited.
fn wait_exit_until(pid: Pid, deadline: Instant, interruptible: bool) -> bool {
    loop {
        if exited(pid) {
            return true;
        }
        if Instant::now() >= deadline || (interruptible && stopping()) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kill the child's whole process group (rsync and the ssh it started): SIGTERM, then
/// SIGKILL after a grace period. Call only while the child is unreaped. Returns once the
/// leader has exited, or after a second grace period if even SIGKILL did not end it
/// (uninterruptible sleep); the caller must then not wait for it.
fn kill_group(pid: Pid) -> bool {
    let _ = kill_process_group(pid, Signal::TERM);
    if wait_exit_until(pid, Instant::now() + KILL_GRACE, false) {
        // Members that ignored SIGTERM may remain; the zombie leader keeps the group id ours.
        let _ = kill_process_group(pid, Signal::KILL);
        return true;
    }
    let _ = kill_process_group(pid, Signal::KILL);
    wait_exit_until(pid, Instant::now() + KILL_GRACE, false)
}

/// Run a command with a timeout; returns (success, stdout, stderr or reason). The command
/// runs in a process group of its own, and on timeout the whole group is killed: a hung
/// ssh started by rsync holds rsync's stderr open and must not outlive the deadline.
/// Nothing here blocks for more than `timeout` plus three times [`KILL_GRACE`]: a process
/// that even SIGKILL cannot end is left behind (and reaped by a thread when it dies), and
/// a pipe that stays open is read no further.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (bool, String, String) {
    let deadline = Instant::now() + timeout;
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (false, String::new(), format!("cannot run rsync: {e}")),
    };
    let pid = Pid::from_child(&child);
    let out = Capture::start(child.stdout.take().expect("stdout is piped"));
    let err = Capture::start(child.stderr.take().expect("stderr is piped"));
    // rsync must exit, and everything it started must let go of its pipes, in time.
    let exited_in_time = wait_exit_until(pid, deadline, true);
    // Once rsync has exited its pipes close at once, unless something outside its group
    // holds them (an ssh ControlPersist master): then only a short wait, not the deadline.
    let drain_by = deadline.min(Instant::now() + KILL_GRACE);
    let drained = exited_in_time && out.wait_until(drain_by) && err.wait_until(drain_by);
    let mut reaped = true;
    if !drained {
        let pgid = pid.as_raw_nonzero();
        reaped = kill_group(pid);
        if reaped {
            let grace = Instant::now() + KILL_GRACE;
            let _ = out.wait_until(grace) && err.wait_until(grace);
        } else {
            log::error!("rsync process group {pgid} did not exit after SIGKILL; abandoning it");
        }
    }
    let status = if reaped {
        child.wait().ok()
    } else {
        // Reap it whenever it finally dies, without holding up this run.
        std::thread::spawn(move || child.wait());
        None
    };
    let (stdout, stderr) = (out.text(), err.text());
    match status {
        Some(st) if exited_in_time && st.success() => (true, stdout, stderr),
        Some(st) if exited_in_time => (
            false,
            stdout,
            format!(
                "rsync exited with {st}: {}",
                stderr.trim().replace('\n', "; ")
            ),
        ),
        _ if stopping() => (false, stdout, "interrupted by a signal".to_string()),
        _ => (
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

/// A directory holding the cache staged under [`CACHE_NAME`]; removed when dropped.
struct Staged {
    dir: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            log::warn!(
                "cannot remove staging directory {}: {e}",
                self.dir.display()
            );
        }
    }
}

/// The file to ship as the cache. rsync names what it sends after the source, so a cache
/// given under another name (`-c old.proto`), or through a symlink (which `rsync -a` would
/// ship as a symlink), is hard-linked (or, across file systems, copied) as [`CACHE_NAME`]
/// into a fresh directory beside the real file, or in the temp directory when that one is
/// not writable. The directory goes when the returned guard is dropped.
fn stage_cache(cache: &Path) -> Result<(PathBuf, Option<Staged>), SyncError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SyncError::Io { path, source }
    };
    let meta = std::fs::symlink_metadata(cache).map_err(io(cache))?;
    if !meta.file_type().is_symlink() && cache.file_name() == Some(CACHE_NAME.as_ref()) {
        return Ok((cache.to_path_buf(), None));
    }
    let real = std::fs::canonicalize(cache).map_err(io(cache))?;
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let name = format!(".mm_sync_out-stage.{}.{unique}", std::process::id());
    let beside = real.parent().map(|p| p.join(&name));
    let fallback = std::env::temp_dir().join(&name);
    let mut failure = None;
    for dir in beside.into_iter().chain([fallback]) {
        if let Err(e) = std::fs::create_dir(&dir) {
            failure = Some(io(&dir)(e));
            continue;
        }
        let staged = Staged { dir };
        let dest = staged.dir.join(CACHE_NAME);
        if std::fs::hard_link(&real, &dest).is_err() {
            std::fs::copy(&real, &dest).map_err(io(&dest))?;
        }
        log::info!("shipping {} as {}", cache.display(), dest.display());
        return Ok((dest, Some(staged)));
    }
    Err(failure.expect("at least one staging directory was tried"))
}

/// Validate the cache, then ship it and the data files to every target in parallel.
pub fn sync_out(opts: &SyncOptions) -> Result<Report, SyncError> {
    if opts.targets.is_empty() {
        return Err(SyncError::NoTargets);
    }
    install_signal_handlers()?;
    // Stage first, then check what was staged: a symlink repointed in between must not
    // get an unchecked cache shipped.
    let (cache, _staged) = stage_cache(&opts.cache)?;
    let summary = check_cache_file(opts, &cache)?;
    let mut files = vec![cache.display().to_string()];
    let mut empty_data_files = Vec::new();
    for f in DATA_FILES {
        let p = opts.data_dir.join(f);
        if p.is_file() && p.metadata().is_ok_and(|m| m.len() == 0) {
            // An empty netblocks or continent file would switch a tier off on every app
            // server: keep theirs (a failed download leaves such a file).
            log::error!("{} is empty; not shipped", p.display());
            empty_data_files.push(p.display().to_string());
        } else if p.is_file() {
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
        empty_data_files,
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
