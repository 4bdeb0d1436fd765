//! The HTTP server: hyper on tokio, the loaded cache behind an atomic pointer swapped by
//! hot reloads (SIGHUP or the cache file changing), `/metrics`, `/healthz`, and the access
//! log written by its own thread so a slow disk never delays an answer.

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::answer::{Kind, Reply, Settings, answer};
use crate::geo::{Geo, GeoError};
use crate::index::Index;
use crate::select::Tier;

/// Errors starting or reloading the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Cache(#[from] mm_cachefile::CacheError),
    #[error("{path}: refusing a cache without directories")]
    EmptyCache { path: PathBuf },
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open access log {path}: {source}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// How the server is run.
#[derive(Debug, Clone)]
pub struct Options {
    pub cache: PathBuf,
    pub geoip: Option<PathBuf>,
    pub global_netblocks: Option<PathBuf>,
    pub cccsv: Option<PathBuf>,
    pub i2_netblocks: Option<PathBuf>,
    pub minimum: usize,
    pub log: Option<PathBuf>,
    pub listen: SocketAddr,
    pub embargoed: Vec<String>,
    /// How often the cache file is checked for replacement.
    pub poll_interval: Duration,
    /// Worker threads (`None`: one per CPU).
    pub threads: Option<usize>,
}

impl Options {
    /// Serve `cache` with no location files (GeoIP, global netblocks, continents,
    /// Internet2), `minimum` 5, no access log, no embargo, a check for a replaced cache
    /// every 2 s and one worker per CPU, on a free loopback port: the defaults of a server
    /// embedded in a test or a tool, changed with struct update syntax.
    pub fn new(cache: PathBuf) -> Options {
        Options {
            cache,
            geoip: None,
            global_netblocks: None,
            cccsv: None,
            i2_netblocks: None,
            minimum: 5,
            log: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            embargoed: Vec::new(),
            poll_interval: Duration::from_secs(2),
            threads: None,
        }
    }
}

/// A loaded cache with its location data.
#[derive(Debug)]
pub struct Loaded {
    pub index: Index,
    pub geo: Arc<Geo>,
    pub file: Option<FileId>,
}

/// Identity of the cache file on disk; a change means it was replaced or rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    len: u64,
}

/// The identity of `path` now, if it exists.
pub fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileId {
        dev: m.dev(),
        ino: m.ino(),
        mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        len: m.len(),
    })
}

/// Read, validate and index the cache (blocking). The file is streamed into the index;
/// the decoded cache is never held in memory.
pub fn load_cache(path: &Path, geo: Arc<Geo>) -> Result<Loaded, ServerError> {
    let file = file_id(path);
    let read = crate::load::read(path)?;
    if read.index.dir_count() == 0 {
        return Err(ServerError::EmptyCache {
            path: path.to_owned(),
        });
    }
    let defects = &read.defects;
    for d in defects.iter().take(10) {
        log::warn!("{}: {d}", path.display());
    }
    if defects.len() > 10 {
        log::warn!("{}: {} more defects", path.display(), defects.len() - 10);
    }
    let ix = &read.index;
    log::info!(
        "loaded {} (time {}, {} directories, {} hosts, {} URLs, {} repositories, {} host-directory entries, index ~{} MB)",
        path.display(),
        ix.time,
        ix.dir_count(),
        ix.hosts.len(),
        ix.urls.len(),
        ix.repo_arch.len(),
        read.entries,
        ix.heap_bytes() / (1 << 20)
    );
    Ok(Loaded {
        index: read.index,
        geo,
        file,
    })
}

/// Load the location data files named in the options (blocking).
pub fn load_geo(opts: &Options) -> Result<Geo, ServerError> {
    Ok(Geo::load(
        opts.geoip.as_deref(),
        opts.global_netblocks.as_deref(),
        opts.cccsv.as_deref(),
        opts.i2_netblocks.as_deref(),
    )?)
}

/// The endpoints and statuses counted without a lock, for every [`Tier`]; any other
/// status is counted in a locked map.
const ENDPOINTS: [&str; 5] = ["metalink", "mirrorlist", "healthz", "metrics", "other"];
const STATUSES: [u16; 5] = [200, 302, 400, 404, 405];

/// Counters exported on `/metrics`. Requests are counted with one atomic add: a lock here
/// would be taken by every request on every worker.
#[derive(Debug)]
pub struct Metrics {
    requests: Box<[AtomicU64]>,
    other_requests: Mutex<BTreeMap<(&'static str, u16, &'static str), u64>>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    log_dropped: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: (0..ENDPOINTS.len() * STATUSES.len() * Tier::ALL.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            other_requests: Mutex::default(),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            log_dropped: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    fn count(&self, endpoint: &'static str, status: u16, tier: &'static str) {
        let e = ENDPOINTS.iter().position(|x| *x == endpoint);
        let s = STATUSES.iter().position(|x| *x == status);
        let t = Tier::ALL.iter().position(|x| x.name() == tier);
        match (e, s, t) {
            (Some(e), Some(s), Some(t)) => {
                self.requests[(e * STATUSES.len() + s) * Tier::ALL.len() + t]
                    .fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                let mut m = self
                    .other_requests
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                *m.entry((endpoint, status, tier)).or_default() += 1;
            }
        }
    }

    /// Every non-zero request counter, sorted.
    fn requests(&self) -> BTreeMap<(&'static str, u16, &'static str), u64> {
        let mut all = self
            .other_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (e, ep) in ENDPOINTS.iter().enumerate() {
            for (s, st) in STATUSES.iter().enumerate() {
                for (t, tier) in Tier::ALL.iter().map(|t| t.name()).enumerate() {
                    let n = self.requests[(e * STATUSES.len() + s) * Tier::ALL.len() + t]
                        .load(Ordering::Relaxed);
                    if n > 0 {
                        *all.entry((ep, *st, tier)).or_default() += n;
                    }
                }
            }
        }
        all
    }
}

enum LogMsg {
    Line(String),
    Reopen,
}

/// A job for the [`Loader`].
type Job = Box<dyn FnOnce() + Send>;

/// The one long-lived thread that builds every index (the first and each reload) and drops
/// the replaced ones, giving the freed memory back to the system after each job. With loads
/// on short-lived pool threads, each reload left the old index's memory behind in another
/// malloc arena and the server grew with every reload (by ~30 MB a reload on the bench's
/// large cache).
#[derive(Debug)]
struct Loader(std::sync::mpsc::Sender<Job>);

impl Loader {
    fn start() -> Result<Loader, ServerError> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("cache-loader".into())
            .spawn(move || {
                for job in rx {
                    // A panicking load is reported by its caller (its result never
                    // arrives); the thread stays for the next one.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    // A load frees its scratch memory, a failed one its partial index, a
                    // retired cache all of it.
                    trim_heap();
                }
            })
            .map_err(ServerError::Runtime)?;
        Ok(Loader(tx))
    }

    /// Run `f` on the loader thread; `None` when it did not finish (it panicked).
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.0
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .ok()?;
        rx.await.ok()
    }

    /// [`Loader::run`] for callers outside the runtime.
    fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.0
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .ok()?;
        rx.recv().ok()
    }

    /// Drop a replaced cache on the loader thread once the requests still using it are done
    /// (at most a few seconds), then give the freed memory back to the system.
    fn retire<T: Send + Sync + 'static>(&self, old: Arc<T>) {
        let _ = self.0.send(Box::new(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while Arc::strong_count(&old) > 1 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(old);
        }));
    }
}

/// Give the free memory of malloc's heaps back to the system. glibc keeps what a dropped
/// index leaves between live blocks, and the server would grow with each reload.
#[allow(unsafe_code)]
fn trim_heap() {
    // SAFETY: malloc_trim only walks glibc's own heaps under their locks; it takes no
    // pointer from us and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn loader_stopped() -> ServerError {
    ServerError::Runtime(std::io::Error::other(
        "the cache loader stopped while loading",
    ))
}

/// Everything the request handlers share.
pub struct Shared {
    pub state: ArcSwap<Loaded>,
    pub metrics: Metrics,
    pub settings: Settings,
    pub opts: Options,
    log_tx: Option<SyncSender<LogMsg>>,
    reload_lock: tokio::sync::Mutex<()>,
    loader: Loader,
    /// The location files as they were just before the first load (see [`watch`]).
    location_at_start: Vec<Option<FileId>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("opts", &self.opts).finish()
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Start the access-log writer thread.
fn start_log(path: &Path) -> Result<SyncSender<LogMsg>, ServerError> {
    let mut file = open_log(path).map_err(|source| ServerError::Log {
        path: path.to_owned(),
        source,
    })?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<LogMsg>(65_536);
    let path = path.to_owned();
    std::thread::Builder::new()
        .name("access-log".into())
        .spawn(move || {
            let mut buf = Vec::new();
            let flush = |file: &mut std::fs::File, buf: &mut Vec<u8>| {
                if !buf.is_empty()
                    && let Err(e) = file.write_all(buf)
                {
                    log::error!("access log {}: {e}", path.display());
                }
                buf.clear();
            };
            while let Ok(first) = rx.recv() {
                // Drain whatever is queued, in order, and write it in one go.
                for msg in std::iter::once(first).chain(rx.try_iter()) {
                    match msg {
                        LogMsg::Line(l) => {
                            buf.extend_from_slice(l.as_bytes());
                            buf.push(b'\n');
                        }
                        LogMsg::Reopen => {
                            flush(&mut file, &mut buf);
                            match open_log(&path) {
                                Ok(f) => file = f,
                                Err(e) => {
                                    log::error!("cannot reopen access log {}: {e}", path.display())
                                }
                            }
                        }
                    }
                }
                flush(&mut file, &mut buf);
            }
        })
        .map_err(ServerError::Runtime)?;
    Ok(tx)
}

impl Shared {
    /// Load everything and prepare the shared state (blocking).
    pub fn new(opts: Options) -> Result<Arc<Shared>, ServerError> {
        let loader = Loader::start()?;
        // Taken before the files are read: one replaced while the server starts is seen
        // as changed, and loaded again.
        let location_at_start = location_ids(&opts);
        let o = opts.clone();
        let loaded = loader
            .run_blocking(move || load_cache(&o.cache, Arc::new(load_geo(&o)?)))
            .ok_or_else(loader_stopped)??;
        let log_tx = opts.log.as_deref().map(start_log).transpose()?;
        Ok(Arc::new(Shared {
            state: ArcSwap::from_pointee(loaded),
            metrics: Metrics::default(),
            settings: Settings {
                minimum: opts.minimum,
                embargoed: opts
                    .embargoed
                    .iter()
                    .map(|c| c.to_ascii_uppercase())
                    .collect::<HashSet<_>>(),
            },
            opts,
            log_tx,
            reload_lock: tokio::sync::Mutex::new(()),
            loader,
            location_at_start,
        }))
    }

    /// Reload the cache (and with `geo_too` the location files) in the background and swap
    /// it in; on failure the old cache keeps serving. Returns whether it swapped.
    pub async fn reload(self: &Arc<Self>, why: &str, geo_too: bool) -> bool {
        let _guard = self.reload_lock.lock().await;
        let me = self.clone();
        let result = self
            .loader
            .run(move || {
                let geo = if geo_too {
                    Arc::new(load_geo(&me.opts)?)
                } else {
                    me.state.load().geo.clone()
                };
                load_cache(&me.opts.cache, geo)
            })
            .await;
        match result {
            Some(Ok(new)) => {
                let old = self.state.swap(Arc::new(new));
                self.loader.retire(old);
                self.metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
                log::info!("reloaded the cache ({why})");
                true
            }
            Some(Err(e)) => {
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                log::error!("reload ({why}) failed, still serving the previous cache: {e}");
                false
            }
            None => {
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                log::error!(
                    "reload ({why}) failed, still serving the previous cache: {}",
                    loader_stopped()
                );
                false
            }
        }
    }

    fn access(&self, line: String) {
        if let Some(tx) = &self.log_tx
            && let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                tx.try_send(LogMsg::Line(line))
        {
            self.metrics.log_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn metrics_text(&self) -> String {
        let state = self.state.load();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut s = String::new();
        s.push_str("# HELP mirrorlist_requests_total Requests answered, by endpoint, status and tier of the first mirror offered (none: no mirror chosen).\n");
        s.push_str("# TYPE mirrorlist_requests_total counter\n");
        for ((ep, st, tier), n) in self.metrics.requests() {
            s.push_str(&format!(
                "mirrorlist_requests_total{{endpoint=\"{ep}\",status=\"{st}\",tier=\"{tier}\"}} {n}\n"
            ));
        }
        s.push_str(
            "# HELP mirrorlist_cache_timestamp_seconds Creation time of the cache being served.\n",
        );
        s.push_str("# TYPE mirrorlist_cache_timestamp_seconds gauge\n");
        s.push_str(&format!(
            "mirrorlist_cache_timestamp_seconds {}\n",
            state.index.time
        ));
        s.push_str("# HELP mirrorlist_cache_age_seconds Age of the cache being served.\n");
        s.push_str("# TYPE mirrorlist_cache_age_seconds gauge\n");
        s.push_str(&format!(
            "mirrorlist_cache_age_seconds {}\n",
            now.saturating_sub(state.index.time)
        ));
        s.push_str("# HELP mirrorlist_cache_directories Directories in the cache being served.\n");
        s.push_str("# TYPE mirrorlist_cache_directories gauge\n");
        s.push_str(&format!(
            "mirrorlist_cache_directories {}\n",
            state.index.dir_count()
        ));
        s.push_str("# HELP mirrorlist_reloads_total Cache reloads, by result.\n");
        s.push_str("# TYPE mirrorlist_reloads_total counter\n");
        s.push_str(&format!(
            "mirrorlist_reloads_total{{result=\"ok\"}} {}\nmirrorlist_reloads_total{{result=\"failed\"}} {}\n",
            self.metrics.reloads_ok.load(Ordering::Relaxed),
            self.metrics.reloads_failed.load(Ordering::Relaxed)
        ));
        s.push_str("# HELP mirrorlist_access_log_dropped_total Access log lines dropped because the writer fell behind.\n");
        s.push_str("# TYPE mirrorlist_access_log_dropped_total counter\n");
        s.push_str(&format!(
            "mirrorlist_access_log_dropped_total {}\n",
            self.metrics.log_dropped.load(Ordering::Relaxed)
        ));
        s
    }

    /// Answer one request (the part of the handler that does not touch hyper).
    pub fn handle(
        &self,
        method: &str,
        path: &str,
        query: &str,
        forwarded_for: Option<&str>,
        peer: IpAddr,
    ) -> (&'static str, Reply) {
        let plain = |status: u16, body: &str| Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
            location: None,
            access: None,
            tier: None,
        };
        let (endpoint, mut reply) = if method != "GET" && method != "HEAD" {
            ("other", plain(405, "method not allowed\n"))
        } else if path == "/healthz" {
            let st = self.state.load();
            (
                "healthz",
                plain(
                    200,
                    &format!(
                        "ok cache_time={} directories={}\n",
                        st.index.time,
                        st.index.dir_count()
                    ),
                ),
            )
        } else if path == "/metrics" {
            let mut r = plain(200, &self.metrics_text());
            r.content_type = "text/plain; version=0.0.4";
            ("metrics", r)
        } else if path.ends_with("/mirrorlist") || path.ends_with("/metalink") {
            let kind = if path.ends_with("/metalink") {
                Kind::Metalink
            } else {
                Kind::Mirrorlist
            };
            let st = self.state.load();
            let r = answer(
                &st.index,
                &st.geo,
                &self.settings,
                kind,
                query,
                forwarded_for,
                peer,
            );
            (
                if kind == Kind::Metalink {
                    "metalink"
                } else {
                    "mirrorlist"
                },
                r,
            )
        } else {
            ("other", plain(404, "not found\n"))
        };
        // an error offers no mirror, whatever tier the selection had reached
        let tier = match reply.tier {
            Some(t) if reply.status < 400 => t.name(),
            _ => "none",
        };
        self.metrics.count(endpoint, reply.status, tier);
        if reply.status < 400
            && let Some(line) = reply.access.take()
        {
            self.access(line);
        }
        (endpoint, reply)
    }
}

fn to_response(method: &str, reply: Reply) -> Response<Full<Bytes>> {
    let body = if method == "HEAD" {
        Bytes::new()
    } else {
        Bytes::from(reply.body)
    };
    let mut b = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", reply.content_type);
    if let Some(loc) = reply.location {
        b = b.header("location", loc);
    }
    b.body(Full::new(body)).expect("valid response")
}

async fn serve_one(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str();
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let uri = req.uri();
    let query = uri.query().unwrap_or("");
    let (_, reply) = shared.handle(method, uri.path(), query, xff, peer.ip());
    Ok(to_response(method, reply))
}

/// Lets `serve` stop accepting and ask open connections to finish.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: tokio::sync::watch::Receiver<bool>,
    active: Arc<AtomicU64>,
}

/// The other end of [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: tokio::sync::watch::Sender<bool>,
    active: Arc<AtomicU64>,
}

/// A shutdown pair.
pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let active = Arc::new(AtomicU64::new(0));
    (
        ShutdownTrigger {
            tx,
            active: active.clone(),
        },
        Shutdown { rx, active },
    )
}

impl ShutdownTrigger {
    /// Ask every connection to finish its current request and close, then wait for them
    /// (at most `grace`). Returns how many connections were still open at the deadline.
    pub async fn shutdown(self, grace: Duration) -> u64 {
        let _ = self.tx.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        while self.active.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.active.load(Ordering::SeqCst)
    }
}

/// Accept connections until `shutdown` is triggered.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, shutdown: Shutdown) {
    let mut stop = shutdown.rx.clone();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    log::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let mut conn_stop = shutdown.rx.clone();
        let active = shutdown.active.clone();
        active.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| serve_one(shared.clone(), req, peer));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = conn_stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(e) = result {
                log::debug!("connection from {peer}: {e}");
            }
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn terminate_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            log::error!("cannot listen for SIGTERM/SIGINT");
            std::future::pending::<()>().await;
        }
    }
}

/// The identities of the location files (GeoIP, netblocks, continents, Internet2).
fn location_ids(o: &Options) -> Vec<Option<FileId>> {
    [&o.geoip, &o.global_netblocks, &o.cccsv, &o.i2_netblocks]
        .into_iter()
        .map(|p| p.as_deref().and_then(file_id))
        .collect()
}

/// Poll the cache file and reload when it was replaced or rewritten; reload the location
/// files too when one of them was (mm_sync_out ships them beside the cache, and the daily
/// netblock refresh must not wait for a SIGHUP). A cache file that disappears is logged
/// once; the loaded cache keeps serving.
pub async fn watch(shared: Arc<Shared>) {
    let mut last = shared.state.load().file;
    let mut last_location = shared.location_at_start.clone();
    let mut gone_logged = false;
    loop {
        tokio::time::sleep(shared.opts.poll_interval).await;
        let now = file_id(&shared.opts.cache);
        if now.is_none() {
            if !gone_logged {
                log::warn!(
                    "cache file {} is gone; still serving the loaded cache",
                    shared.opts.cache.display()
                );
                gone_logged = true;
            }
            continue;
        }
        gone_logged = false;
        let location = location_ids(&shared.opts);
        let location_changed = location != last_location;
        if now != last || location_changed {
            last = now;
            last_location = location;
            let why = if location_changed {
                "location files changed"
            } else {
                "cache file changed"
            };
            shared.reload(why, location_changed).await;
        }
    }
}

/// Reload everything and reopen the access log on SIGHUP.
pub async fn on_sighup(shared: Arc<Shared>) {
    let mut sig = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot listen for SIGHUP: {e}");
            return;
        }
    };
    while sig.recv().await.is_some() {
        if let Some(tx) = &shared.log_tx {
            let _ = tx.try_send(LogMsg::Reopen);
        }
        shared.reload("SIGHUP", true).await;
    }
}

/// Load the cache, listen and serve until SIGTERM or SIGINT, then finish open
/// connections (at most 10 s) and return.
pub fn run(opts: Options) -> Result<(), ServerError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = opts.threads {
        // 0 is refused by the flag's parser and the configuration check
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().map_err(ServerError::Runtime)?;
    let shared = Shared::new(opts)?;
    rt.block_on(async move {
        let addr = shared.opts.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Listen { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| ServerError::Listen { addr, source })?;
        log::info!("listening on {local}");
        tokio::spawn(watch(shared.clone()));
        tokio::spawn(on_sighup(shared.clone()));
        let (trigger, shutdown) = shutdown_pair();
        let server = tokio::spawn(serve(listener, shared, shutdown));
        terminate_signal().await;
        log::info!("shutting down: finishing open connections");
        let left = trigger.shutdown(Duration::from_secs(10)).await;
        let _ = server.await;
        if left > 0 {
            log::warn!("{left} connections still open after 10s; exiting anyway");
        }
        log::info!("stopped");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::{Loader, Metrics};

    #[test]
    fn loads_run_on_one_thread_that_survives_a_panic() {
        let l = Loader::start().unwrap();
        let a = l.run_blocking(|| std::thread::current().id()).unwrap();
        assert_eq!(l.run_blocking(|| -> u8 { panic!("a bad cache") }), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let b = rt.block_on(l.run(|| std::thread::current().id())).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, std::thread::current().id());
        l.retire(std::sync::Arc::new(vec![0u8; 16]));
        assert_eq!(l.run_blocking(|| 7), Some(7));
    }

    #[test]
    fn request_counters_count_any_status() {
        let m = Metrics::default();
        m.count("metalink", 200, "country");
        m.count("metalink", 200, "country");
        m.count("mirrorlist", 404, "none");
        // A status without its own counter still counts.
        m.count("other", 503, "none");
        let got: Vec<_> = m.requests().into_iter().collect();
        assert_eq!(
            got,
            [
                (("metalink", 200, "country"), 2),
                (("mirrorlist", 404, "none"), 1),
                (("other", 503, "none"), 1),
            ]
        );
    }
}
