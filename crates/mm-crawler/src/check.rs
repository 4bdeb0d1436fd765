//! Checking one category of one mirror: rsync (one recursive listing), HTTP(S) (HEAD per
//! recorded file, GET + SHA256 of repomd.xml) or FTP (LIST per directory). Produces a
//! verdict per directory.
//!
//! Every request (and rsync) ends at the earlier of the host and the global deadline; one
//! cut there ends the check with [`CheckError::Timeout`] (host) or [`CheckError::Stopped`]
//! (global, or SIGTERM/SIGINT), never as an error of the mirror.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mm_core::files::FileEntry;
use sha2::Digest;

use crate::listing::{Expected, Seen};

/// One directory of a category as umdl recorded it.
#[derive(Debug, Clone)]
pub struct DirData {
    pub id: i32,
    /// Path relative to the category top (`""` for the top).
    pub rel: String,
    pub files: Vec<FileEntry>,
    pub readable: bool,
    /// SHA256 of the newest `repomd.xml` file_detail of this directory, if any.
    pub repomd_sha256: Option<String>,
}

/// A category's directories, shared by every crawl thread.
#[derive(Debug)]
pub struct CategoryData {
    pub id: i32,
    pub name: String,
    pub dirs: Vec<DirData>,
    /// The recorded files by path, for comparing rsync listings as they stream.
    pub expected: Expected,
}

impl CategoryData {
    /// A category with its directories, indexed for the rsync comparison.
    pub fn new(id: i32, name: String, dirs: Vec<DirData>) -> CategoryData {
        let expected = Expected::new(&dirs);
        CategoryData {
            id,
            name,
            dirs,
            expected,
        }
    }
}

/// What a crawl concluded about one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    UpToDate,
    Stale,
    /// Could not tell (an error on that directory): its row is left alone.
    Unknown,
}

/// Why a category check ended without verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// This protocol does not work for this host: try the next URL.
    Unavailable(String),
    /// The host deadline passed.
    Timeout,
    /// The global deadline passed, or the run is stopping.
    Stopped,
    /// The check failed.
    Failed(String),
}

/// Deadlines and options every check gets.
#[derive(Debug, Clone)]
pub struct CheckCtx {
    pub host_deadline: Instant,
    pub global_deadline: Instant,
    pub connect_timeout: Duration,
    /// Longest one request may take; each request is also cut at the host and the global
    /// deadline.
    pub request_timeout: Duration,
    pub rsync_parameters: Vec<String>,
    /// Only check `repodata` directories.
    pub repodata_only: bool,
    /// Set by SIGTERM/SIGINT: stop as soon as possible.
    pub stop: Arc<AtomicBool>,
}

impl CheckCtx {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The earlier of the host and the global deadline: no request or rsync outlives it.
    pub fn deadline(&self) -> Instant {
        self.host_deadline.min(self.global_deadline)
    }

    /// What reaching [`CheckCtx::deadline`] means: [`CheckError::Stopped`] when it is the
    /// global one (or the run is stopping), else [`CheckError::Timeout`].
    fn deadline_error(&self) -> CheckError {
        if self.global_deadline <= self.host_deadline || self.stopping() {
            CheckError::Stopped
        } else {
            CheckError::Timeout
        }
    }

    /// `Err` once the global deadline passed or the run is stopping ([`CheckError::Stopped`])
    /// or the host deadline passed ([`CheckError::Timeout`]).
    pub fn check_time(&self) -> Result<(), CheckError> {
        let now = Instant::now();
        if now >= self.global_deadline || self.stopping() {
            return Err(CheckError::Stopped);
        }
        if now >= self.host_deadline {
            return Err(CheckError::Timeout);
        }
        Ok(())
    }

    /// How long the next request may take: `request_timeout`, cut at the deadline.
    fn limit(&self) -> Result<Duration, CheckError> {
        self.check_time()?;
        let left = self.deadline().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.deadline_error());
        }
        Ok(left.min(self.request_timeout))
    }

    fn wants(&self, d: &DirData) -> bool {
        !self.repodata_only || d.rel == "repodata" || d.rel.ends_with("/repodata")
    }
}

/// Verdicts in the order of `CategoryData::dirs`; `None` for directories not checked.
pub type Verdicts = Vec<Option<Verdict>>;

/// A line for the per-host log.
pub type Note = String;

/// The pipe an rsync listing comes through is enlarged to this (best effort; Linux allows
/// up to `/proc/sys/fs/pipe-max-size`, 1 MiB by default, without privileges).
const LISTING_PIPE_BYTES: usize = 1 << 20;

/// The listing reader's buffer (per crawl thread, so it counts 40 times in the peak RSS).
const LISTING_READ_BYTES: usize = 128 * 1024;

/// How long the listing reader waits after a short read.
const LISTING_PAUSE: Duration = Duration::from_millis(5);

/// The read side of an rsync listing pipe. rsync writes its listing one line per `write`;
/// a reader blocked in `read` is woken for every line (some 200k wake-ups per Fedora-sized
/// listing, which cost rsync and the reader more CPU than the parsing). So after a short read
/// this reader pauses a moment and lets lines gather in the (enlarged) pipe, where rsync's
/// writes then wake nobody. A fast listing is never held back by more than the pipe size
/// per pause: a read that fills the buffer or a quarter of the pipe is not followed by a
/// pause.
struct Patient {
    inner: std::process::ChildStdout,
    short: usize,
}

impl Patient {
    fn new(inner: std::process::ChildStdout) -> Patient {
        let size = rustix::pipe::fcntl_setpipe_size(&inner, LISTING_PIPE_BYTES)
            .or_else(|_| rustix::pipe::fcntl_getpipe_size(&inner))
            .unwrap_or(64 * 1024);
        Patient {
            inner,
            short: size / 4,
        }
    }
}

impl Read for Patient {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 && n < self.short.min(buf.len()) {
            std::thread::sleep(LISTING_PAUSE);
        }
        Ok(n)
    }
}

/// Check a category over rsync with one recursive listing.
pub fn rsync(
    url: &str,
    cat: &Arc<CategoryData>,
    ctx: &CheckCtx,
    notes: &mut Vec<Note>,
) -> Result<Verdicts, CheckError> {
    ctx.check_time()?;
    let url = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    let mut cmd = Command::new("rsync");
    cmd.arg("--list-only")
        .arg("-r")
        .args(&ctx.rsync_parameters)
        .arg(&url)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| CheckError::Failed(format!("cannot run rsync: {e}")))?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    // the listing is compared as it streams: each line is parsed in place from one reused
    // buffer and looked up among the category's recorded files; the host keeps one byte per
    // recorded file, never the listing
    let shared = Arc::clone(cat);
    let reader = std::thread::spawn(move || {
        let expected = &shared.expected;
        let mut seen = Seen::new(expected);
        let mut input = BufReader::with_capacity(LISTING_READ_BYTES, Patient::new(stdout));
        let mut line = Vec::with_capacity(512);
        loop {
            line.clear();
            match input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => seen.line(expected, &line),
            }
        }
        seen
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });
    let status = match wait_or_kill(&mut child, ctx) {
        Ok(st) => st,
        Err(e) => {
            let _ = reader.join();
            let _ = err_reader.join();
            if matches!(e, CheckError::Timeout | CheckError::Stopped) {
                notes.push(format!("rsync {url}: killed at the deadline"));
            }
            return Err(e);
        }
    };
    let seen = reader
        .join()
        .map_err(|_| CheckError::Failed(format!("rsync {url}: the listing reader panicked")))?;
    let stderr = err_reader.join().unwrap_or_default();
    let code = status.code().unwrap_or(-1);
    let last_err = stderr.trim().lines().last().unwrap_or("").to_string();
    if seen.bad > 0 {
        notes.push(format!(
            "rsync {url}: {} unparsable listing lines ignored",
            seen.bad
        ));
    }
    if code == 10 || (seen.entries == 0 && matches!(code, 0 | 5 | 23 | 24)) {
        return Err(CheckError::Unavailable(format!(
            "rsync {url}: exit code {code}, {} entries: {last_err}",
            seen.entries
        )));
    }
    if !matches!(code, 0 | 23 | 24) {
        return Err(CheckError::Failed(format!(
            "rsync {url}: exit code {code}: {last_err}"
        )));
    }
    notes.push(format!("rsync {url}: {} entries listed", seen.entries));
    let out = cat
        .dirs
        .iter()
        .enumerate()
        .map(|(i, d)| ctx.wants(d).then(|| seen.judge(&cat.expected, i, d, notes)))
        .collect();
    Ok(out)
}

/// Wait for an rsync child; kill it at the deadline ([`CheckCtx::deadline`]) or when the run
/// stops, and say which of the two ended it.
fn wait_or_kill(child: &mut Child, ctx: &CheckCtx) -> Result<ExitStatus, CheckError> {
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Ok(st),
            Ok(None) if Instant::now() >= ctx.deadline() || ctx.stopping() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ctx.deadline_error());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CheckError::Failed(format!("rsync: {e}")));
            }
        }
    }
}

/// An HTTP client for one host (keeps its connection alive between requests).
pub fn agent(ctx: &CheckCtx) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(ctx.connect_timeout))
        .timeout_global(Some(ctx.request_timeout))
        .user_agent(format!(
            "mirrormanager-rs-crawler/{}",
            env!("CARGO_PKG_VERSION")
        ))
        // redirects are followed by hand, within the same mirror only (see `request`)
        .max_redirects(0)
        .build()
        .into()
}

/// Percent-encode a path for a URL (keeps `/`).
pub fn encode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~+,:@!$&'()*=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn join_url(base: &str, rel: &str, name: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = match (rel.is_empty(), name.is_empty()) {
        (true, true) => String::new(),
        (true, false) => name.to_string(),
        (false, true) => format!("{rel}/"),
        (false, false) => format!("{rel}/{name}"),
    };
    format!("{base}/{}", encode_path(&path))
}

/// The result of one HTTP request, after bounded retries of transient errors.
pub(crate) enum Http {
    Status(u16, Option<u64>, Option<Vec<u8>>),
    Transport(String),
}

/// Redirects followed per request, all within the mirror (same scheme, host and port).
const MAX_REDIRECTS: usize = 5;

/// `scheme://host:port` of an absolute URL.
fn origin(url: &str) -> Option<&str> {
    let start = url.find("://")? + 3;
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    Some(&url[..end])
}

/// Resolve a `Location` against the URL that answered with it.
fn resolve_location(from: &str, loc: &str) -> Option<String> {
    if loc.contains("://") {
        return Some(loc.to_string());
    }
    let origin = origin(from)?;
    if loc.starts_with('/') {
        return Some(format!("{origin}{loc}"));
    }
    let dir = &from[..from
        .rfind('/')
        .filter(|i| *i >= origin.len())
        .unwrap_or(from.len())];
    Some(format!("{dir}/{loc}"))
}

/// A request that follows redirects within the same mirror (at most [`MAX_REDIRECTS`]); a
/// redirect off the mirror is not followed and its 3xx status is the answer. `Err` when the
/// host deadline ([`CheckError::Timeout`]) or the global one ([`CheckError::Stopped`]) cut
/// it: that is the host's outcome, not an answer of the mirror.
pub(crate) fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    ctx: &CheckCtx,
) -> Result<Http, CheckError> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        match request_once(agent, method, &url, ctx)? {
            (Http::Status(s @ 300..=399, len, body), Some(loc)) => {
                match resolve_location(&url, &loc) {
                    Some(next) if origin(&next).is_some() && origin(&next) == origin(&url) => {
                        url = next
                    }
                    _ => return Ok(Http::Status(s, len, body)),
                }
            }
            (other, _) => return Ok(other),
        }
    }
    Ok(Http::Transport(format!(
        "more than {MAX_REDIRECTS} redirects from {url}"
    )))
}

fn request_once(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    ctx: &CheckCtx,
) -> Result<(Http, Option<String>), CheckError> {
    let mut delay = Duration::from_millis(200);
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            if Instant::now() + delay >= ctx.deadline() {
                break;
            }
            std::thread::sleep(delay);
            delay *= 4;
        }
        // never let one request outlive the host's or the run's deadline
        let limit = ctx.limit()?;
        // cut by the deadline only when the limit was the deadline's and was used up: a
        // connect timeout (or a normal request timeout) close to the deadline is the
        // mirror's failure, not the deadline's
        let cut_at_deadline = limit < ctx.request_timeout;
        let res = if method == "HEAD" {
            agent
                .head(url)
                .config()
                .timeout_global(Some(limit))
                .build()
                .call()
        } else {
            agent
                .get(url)
                .config()
                .timeout_global(Some(limit))
                .build()
                .call()
        };
        // a request that ran into the deadline tells nothing about the mirror: the deadline
        // is the outcome
        let at_deadline = |e: &ureq::Error| -> Result<(), CheckError> {
            ctx.check_time()?;
            if cut_at_deadline
                && matches!(e, ureq::Error::Timeout(_))
                && Instant::now() + Duration::from_millis(50) >= ctx.deadline()
            {
                return Err(ctx.deadline_error());
            }
            Ok(())
        };
        match res {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                if status >= 500 && attempt < 2 {
                    last = format!("HTTP {status}");
                    continue;
                }
                let len = resp
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = if method == "GET" && status == 200 {
                    match resp
                        .body_mut()
                        .with_config()
                        .limit(64 * 1024 * 1024)
                        .read_to_vec()
                    {
                        Ok(b) => Some(b),
                        Err(e) => {
                            at_deadline(&e)?;
                            last = e.to_string();
                            continue;
                        }
                    }
                } else {
                    None
                };
                return Ok((Http::Status(status, len, body), location));
            }
            Err(e) => {
                at_deadline(&e)?;
                last = e.to_string();
            }
        }
    }
    Ok((Http::Transport(last), None))
}

/// Check a category over HTTP(S).
pub fn http(
    base: &str,
    cat: &Arc<CategoryData>,
    ctx: &CheckCtx,
    notes: &mut Vec<Note>,
) -> Result<Verdicts, CheckError> {
    ctx.check_time()?;
    let agent = agent(ctx);
    // the category top must answer at all, else the protocol is unavailable
    match request(&agent, "HEAD", &join_url(base, "", ""), ctx)? {
        Http::Transport(e) => return Err(CheckError::Unavailable(format!("{base}: {e}"))),
        Http::Status(s, _, _) if s >= 500 => {
            return Err(CheckError::Unavailable(format!("{base}: HTTP {s}")));
        }
        Http::Status(..) => {}
    }
    let mut out = Vec::with_capacity(cat.dirs.len());
    for d in &cat.dirs {
        if !ctx.wants(d) {
            out.push(None);
            continue;
        }
        ctx.check_time()?;
        out.push(Some(http_dir(&agent, base, d, ctx, notes)?));
    }
    Ok(out)
}

fn http_dir(
    agent: &ureq::Agent,
    base: &str,
    d: &DirData,
    ctx: &CheckCtx,
    notes: &mut Vec<Note>,
) -> Result<Verdict, CheckError> {
    // cheap check first: a repodata directory is judged by its repomd.xml's hash
    if let Some(want) = &d.repomd_sha256 {
        let url = join_url(base, &d.rel, "repomd.xml");
        return Ok(match request(agent, "GET", &url, ctx)? {
            Http::Status(200, _, Some(body)) => {
                let got = hex::encode(sha2::Sha256::digest(&body));
                if &got == want {
                    Verdict::UpToDate
                } else {
                    notes.push(format!(
                        "{}: stale, repomd.xml sha256 {got} is not the newest {want}",
                        d.rel
                    ));
                    Verdict::Stale
                }
            }
            Http::Status(404 | 410, ..) => {
                notes.push(format!("{}: stale, repomd.xml is missing", d.rel));
                Verdict::Stale
            }
            Http::Status(403, ..) if d.readable => {
                notes.push(format!("{}: stale, repomd.xml is forbidden", d.rel));
                Verdict::Stale
            }
            Http::Status(s, ..) => {
                notes.push(format!("{}: unknown, repomd.xml gave HTTP {s}", d.rel));
                Verdict::Unknown
            }
            Http::Transport(e) => {
                notes.push(format!("{}: unknown, {e}", d.rel));
                Verdict::Unknown
            }
        });
    }
    for f in &d.files {
        let url = join_url(base, &d.rel, &f.name);
        match request(agent, "HEAD", &url, ctx)? {
            Http::Status(200..=299, None, _) => {}
            Http::Status(200..=299, Some(len), _) if len as i64 == f.size => {}
            Http::Status(200..=299, Some(len), _) => {
                notes.push(format!(
                    "{}: stale, {} has size {len}, expected {}",
                    d.rel, f.name, f.size
                ));
                return Ok(Verdict::Stale);
            }
            Http::Status(404 | 410, ..) => {
                notes.push(format!("{}: stale, {} is missing", d.rel, f.name));
                return Ok(Verdict::Stale);
            }
            Http::Status(403, ..) if d.readable => {
                notes.push(format!("{}: stale, {} is forbidden", d.rel, f.name));
                return Ok(Verdict::Stale);
            }
            Http::Status(403, ..) => {}
            Http::Status(s, ..) => {
                notes.push(format!("{}: unknown, {} gave HTTP {s}", d.rel, f.name));
                return Ok(Verdict::Unknown);
            }
            Http::Transport(e) => {
                notes.push(format!("{}: unknown, {}: {e}", d.rel, f.name));
                return Ok(Verdict::Unknown);
            }
        }
        ctx.check_time()?;
    }
    Ok(Verdict::UpToDate)
}

/// `ftp://host[:port]/path` → (`host:port`, `path`). The path is relative to the login
/// directory, as RFC 1738 defines FTP URLs (on chrooted anonymous servers that is the same
/// as absolute; on others only the relative form is right).
fn split_ftp_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("ftp://")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let hostport = hostport.rsplit('@').next().unwrap_or(hostport);
    if hostport.is_empty() {
        return None;
    }
    let hostport = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_string()
    } else {
        format!("{hostport}:21")
    };
    Some((hostport, path.trim_matches('/').to_string()))
}

/// Bound the control connection's next command by the request timeout and the deadline.
fn ftp_limit(ftp: &suppaftp::FtpStream, ctx: &CheckCtx) -> Result<(), CheckError> {
    let limit = ctx.limit()?;
    let sock = ftp.get_ref();
    let _ = sock.set_read_timeout(Some(limit));
    let _ = sock.set_write_timeout(Some(limit));
    Ok(())
}

/// After a failed command the control connection may be gone: open a new one for the next
/// directory. False when the server cannot be reached again (the rest stays unknown).
fn ftp_reconnect(
    url: &str,
    ctx: &CheckCtx,
    conn: &mut suppaftp::FtpStream,
    home: &mut Option<String>,
) -> Result<bool, CheckError> {
    match ftp_connect(url, ctx) {
        Ok((c, _)) => *conn = c,
        Err(e @ (CheckError::Timeout | CheckError::Stopped)) => return Err(e),
        Err(_) => return Ok(false),
    }
    ftp_limit(conn, ctx)?;
    *home = conn.pwd().ok();
    Ok(true)
}

fn ftp_connect(url: &str, ctx: &CheckCtx) -> Result<(suppaftp::FtpStream, String), CheckError> {
    use std::net::ToSocketAddrs;
    let (hostport, base) =
        split_ftp_url(url).ok_or_else(|| CheckError::Failed(format!("bad FTP URL {url}")))?;
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| CheckError::Unavailable(format!("{url}: {e}")))?
        .next()
        .ok_or_else(|| CheckError::Unavailable(format!("{url}: no address")))?;
    let connect = ctx.limit()?.min(ctx.connect_timeout);
    let ftp = suppaftp::FtpStream::connect_timeout(addr, connect).map_err(|e| {
        ctx.check_time()
            .err()
            .unwrap_or_else(|| CheckError::Unavailable(format!("{url}: {e}")))
    })?;
    // data connections (LIST) get the same bounds as the control connection
    let (connect_timeout, request_timeout, deadline) =
        (ctx.connect_timeout, ctx.request_timeout, ctx.deadline());
    let mut ftp = ftp.passive_stream_builder(move |addr| {
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = left.min(request_timeout).max(Duration::from_millis(1));
        let s = std::net::TcpStream::connect_timeout(&addr, limit.min(connect_timeout))
            .map_err(suppaftp::FtpError::ConnectionError)?;
        let _ = s.set_read_timeout(Some(limit));
        let _ = s.set_write_timeout(Some(limit));
        Ok(s)
    });
    ftp_limit(&ftp, ctx)?;
    ftp.login("anonymous", "mirrormanager@").map_err(|e| {
        ctx.check_time()
            .err()
            .unwrap_or_else(|| CheckError::Unavailable(format!("{url}: login: {e}")))
    })?;
    Ok((ftp, base))
}

/// Check a category over FTP: one LIST per directory with recorded files on one control
/// connection, names and sizes compared; 550/450 (no such directory) counts as an empty
/// directory. A directory without recorded files is asked for with CWD (no data
/// connection): up to date when the mirror has it, stale when CWD answers 550/450 (some
/// servers, vsftpd among them, answer LIST of a missing directory with an empty listing,
/// so only CWD tells).
pub fn ftp(
    url: &str,
    cat: &Arc<CategoryData>,
    ctx: &CheckCtx,
    notes: &mut Vec<Note>,
) -> Result<Verdicts, CheckError> {
    ctx.check_time()?;
    let (mut conn, base) = ftp_connect(url, ctx)?;
    // CWD back here after a directory was found with CWD (paths are relative to it)
    let mut home = {
        ftp_limit(&conn, ctx)?;
        conn.pwd().ok()
    };
    let mut out = Vec::with_capacity(cat.dirs.len());
    for d in &cat.dirs {
        if !ctx.wants(d) {
            out.push(None);
            continue;
        }
        ftp_limit(&conn, ctx)?;
        let path = match (base.is_empty(), d.rel.is_empty()) {
            (true, true) => ".".to_string(),
            (true, false) => format!("{}/", d.rel),
            (false, true) => format!("{base}/"),
            (false, false) => format!("{base}/{}/", d.rel),
        };
        if d.files.is_empty() {
            // the top answered the login already; without PWD there is no way back from a
            // CWD; a directory the master cannot read may well be closed on the mirror too
            let Some(h) = home.as_deref().filter(|_| !d.rel.is_empty() && d.readable) else {
                out.push(Some(Verdict::UpToDate));
                continue;
            };
            let verdict = match conn.cwd(path.trim_end_matches('/')) {
                Ok(()) => conn
                    .cwd(h)
                    .map(|()| Verdict::UpToDate)
                    .map_err(|e| e.to_string()),
                Err(suppaftp::FtpError::UnexpectedResponse(r))
                    if matches!(r.status.code(), 450 | 550) =>
                {
                    notes.push(format!(
                        "{}: stale, the directory is missing (CWD: {})",
                        d.rel,
                        r.status.code()
                    ));
                    Ok(Verdict::Stale)
                }
                Err(e) => Err(e.to_string()),
            };
            match verdict {
                Ok(v) => out.push(Some(v)),
                Err(e) => {
                    ctx.check_time()?;
                    notes.push(format!("{}: unknown, CWD failed: {e}", d.rel));
                    out.push(Some(Verdict::Unknown));
                    if !ftp_reconnect(url, ctx, &mut conn, &mut home)? {
                        break;
                    }
                }
            }
            continue;
        }
        let listing: Result<HashMap<String, (usize, bool)>, String> = match conn.list(Some(&path)) {
            Ok(lines) => Ok(lines
                .iter()
                .filter_map(|l| l.parse::<suppaftp::list::File>().ok())
                .map(|f| (f.name().to_string(), (f.size(), f.is_symlink())))
                .collect()),
            Err(suppaftp::FtpError::UnexpectedResponse(r))
                if matches!(r.status.code(), 450 | 550) =>
            {
                Ok(HashMap::new())
            }
            Err(e) => Err(e.to_string()),
        };
        let listing = match listing {
            Ok(l) => l,
            Err(e) => {
                ctx.check_time()?;
                notes.push(format!("{}: unknown, LIST failed: {e}", d.rel));
                out.push(Some(Verdict::Unknown));
                if !ftp_reconnect(url, ctx, &mut conn, &mut home)? {
                    break;
                }
                continue;
            }
        };
        let mut verdict = Verdict::UpToDate;
        for f in &d.files {
            match listing.get(&f.name) {
                Some((_, true)) => {}
                Some((size, false)) if *size as i64 == f.size => {}
                Some((size, false)) => {
                    notes.push(format!(
                        "{}: stale, {} has size {size}, expected {}",
                        d.rel, f.name, f.size
                    ));
                    verdict = Verdict::Stale;
                    break;
                }
                None => {
                    notes.push(format!("{}: stale, {} is missing", d.rel, f.name));
                    verdict = Verdict::Stale;
                    break;
                }
            }
        }
        out.push(Some(verdict));
    }
    // directories never reached (connection lost for good) stay unknown: their rows are
    // seen, so the sweep does not make them stale
    for d in &cat.dirs[out.len()..] {
        out.push(ctx.wants(d).then_some(Verdict::Unknown));
    }
    let _ = conn.quit();
    Ok(out)
}

/// `--canary`: does the category's base URL answer at all?
pub fn canary(url: &str, ctx: &CheckCtx) -> Result<(), CheckError> {
    ctx.check_time()?;
    if url.starts_with("ftp://") {
        let (mut conn, _) = ftp_connect(url, ctx)?;
        let _ = conn.quit();
        return Ok(());
    }
    if url.starts_with("rsync://") {
        let url = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        let mut child = Command::new("rsync")
            .arg("--list-only")
            .args(&ctx.rsync_parameters)
            .arg(&url)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| CheckError::Failed(format!("cannot run rsync: {e}")))?;
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            std::io::copy(&mut stdout, &mut std::io::sink()).unwrap_or(0)
        });
        let status = wait_or_kill(&mut child, ctx);
        let listed = reader.join().unwrap_or(0);
        return match status?.code() {
            Some(0) if listed > 0 => Ok(()),
            Some(c) => Err(CheckError::Unavailable(format!(
                "rsync {url}: exit code {c}"
            ))),
            None => Err(CheckError::Failed(format!("rsync {url}: killed"))),
        };
    }
    match request(&agent(ctx), "HEAD", &join_url(url, "", ""), ctx)? {
        Http::Status(s, ..) if s < 400 => Ok(()),
        Http::Status(s, ..) => Err(CheckError::Unavailable(format!("{url}: HTTP {s}"))),
        Http::Transport(e) => Err(CheckError::Unavailable(format!("{url}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An FTP server that logs in, then drops the connection at the first data command and
    /// takes no second one: a fault no real server produces on demand.
    fn ftp_that_drops_after_login() -> u16 {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let (sock, _) = listener.accept().expect("accept");
            // closing the listener: the crawler's reconnect is refused
            drop(listener);
            let mut w = sock.try_clone().expect("clone");
            let _ = w.write_all(b"220 ready\r\n");
            for line in BufReader::new(sock).lines() {
                let Ok(line) = line else { return };
                let cmd = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match cmd.as_str() {
                    "USER" | "PASS" => b"230 logged in\r\n",
                    "PWD" => b"257 \"/\"\r\n",
                    "CWD" | "TYPE" => b"250 ok\r\n",
                    _ => return, // PASV, EPSV, LIST: hang up
                };
                if w.write_all(reply).is_err() {
                    return;
                }
            }
        });
        port
    }

    #[test]
    fn ftp_directories_never_reached_stay_unknown() {
        let port = ftp_that_drops_after_login();
        let file = |name: &str| FileEntry {
            name: name.into(),
            size: 1,
            timestamp: 0,
        };
        let dir = |id: i32, rel: &str| DirData {
            id,
            rel: rel.into(),
            files: vec![file("a.rpm")],
            readable: true,
            repomd_sha256: None,
        };
        let cat = Arc::new(CategoryData::new(
            1,
            "Fedora Linux".into(),
            vec![dir(1, "releases"), dir(2, "releases/41"), dir(3, "updates")],
        ));
        let ctx = CheckCtx {
            host_deadline: Instant::now() + Duration::from_secs(30),
            global_deadline: Instant::now() + Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            rsync_parameters: Vec::new(),
            repodata_only: false,
            stop: Arc::new(AtomicBool::new(false)),
        };
        let mut notes = Vec::new();
        let verdicts = ftp(
            &format!("ftp://127.0.0.1:{port}/pub"),
            &cat,
            &ctx,
            &mut notes,
        )
        .expect("the login worked");
        // Unknown leaves a row as it is; None would let the sweep make it stale.
        assert_eq!(verdicts, vec![Some(Verdict::Unknown); 3], "{notes:?}");
    }

    #[test]
    fn a_listing_pipe_is_enlarged_and_read_whole_across_pauses() {
        // lines written one by one with gaps, as rsync does
        let mut child = Command::new("sh")
            .args(["-c", "for i in 1 2 3; do echo line$i; sleep 0.05; done"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh");
        let stdout = child.stdout.take().expect("piped");
        let reader = Patient::new(stdout);
        let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let size = rustix::pipe::fcntl_getpipe_size(&reader.inner).expect("pipe size");
        if max >= LISTING_PIPE_BYTES {
            assert_eq!(size, LISTING_PIPE_BYTES);
        }
        assert_eq!(reader.short, size / 4);
        let mut text = String::new();
        BufReader::with_capacity(LISTING_READ_BYTES, reader)
            .read_to_string(&mut text)
            .expect("read");
        assert_eq!(text, "line1\nline2\nline3\n");
        assert!(child.wait().expect("wait").success());
    }

    #[test]
    fn urls() {
        assert_eq!(join_url("http://h/pub/", "", ""), "http://h/pub/");
        assert_eq!(
            join_url("http://h/pub", "a b/c", "x#1.rpm"),
            "http://h/pub/a%20b/c/x%231.rpm"
        );
        assert_eq!(join_url("http://h/pub", "", "f"), "http://h/pub/f");
        assert_eq!(encode_path("100%"), "100%25");
    }

    #[test]
    fn redirect_targets() {
        assert_eq!(origin("http://h:8/a/b"), Some("http://h:8"));
        assert_eq!(
            resolve_location("http://h/a/b.rpm", "/x/y").as_deref(),
            Some("http://h/x/y")
        );
        assert_eq!(
            resolve_location("http://h/a/b.rpm", "c.rpm").as_deref(),
            Some("http://h/a/c.rpm")
        );
        assert_eq!(
            resolve_location("http://h/a/", "https://cdn/x").as_deref(),
            Some("https://cdn/x")
        );
    }

    #[test]
    fn ftp_urls() {
        assert_eq!(
            split_ftp_url("ftp://h/pub/fedora/"),
            Some(("h:21".into(), "pub/fedora".into()))
        );
        assert_eq!(
            split_ftp_url("ftp://u@127.0.0.1:2121/x"),
            Some(("127.0.0.1:2121".into(), "x".into()))
        );
        assert_eq!(
            split_ftp_url("ftp://h"),
            Some(("h:21".into(), String::new()))
        );
        assert_eq!(split_ftp_url("http://h/"), None);
    }
}
