//! mm2_crawler: check each mirror's copy of its categories against the directory lists
//! update-master-directory-list recorded, and write the verdicts into `host_category_dir`.
//!
//! Threads do the network work only; one writer (the calling thread) owns the database
//! connection and writes each category's verdicts and each host's bookkeeping
//! (`crawl_failures`, auto-disable, `last_crawled`, `last_crawl_duration`) while the crawl
//! goes on; results that arrive while it writes go into its next transaction together.
//! Category directory lists are loaded once and shared, with an index of their recorded
//! files; an rsync listing is compared with that index line by line as it streams
//! ([`listing`]), so a thread holds a few bytes per recorded file, never a listing, and
//! memory does not grow with the number of hosts.

pub mod check;
pub mod cli;
pub mod listing;
pub mod propagation;
pub mod write;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use mm_core::schema::*;
use mm_core::{Config, DbConn};

use check::{CategoryData, CheckCtx, CheckError, DirData, Verdicts};

/// Errors of a crawl run.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lock(#[from] mm_core::lock::LockError),
    #[error("{0}")]
    Db(#[from] mm_core::DbError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Internal(String),
    #[error("crawl interrupted by a signal; results so far were written ({0})")]
    Interrupted(String),
    #[error(
        "crawl stopped at the global timeout; results so far were written, the hosts not reached are unchanged ({0})"
    )]
    GlobalTimeout(String),
}

/// How long the writer waits for threads after SIGTERM/SIGINT before exiting.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The writer's SQLite page cache: every host's first crawl inserts a row per directory into
/// `host_category_dir`, whose `directory_id` index takes each host's rows all over it; with
/// the pages of that index cached, a transaction no longer re-reads and re-writes them
/// (250 hosts × 20k directories: an index of ~60 MB).
const WRITER_CACHE_MIB: u32 = 128;

/// How much nicer than the writer the crawl threads run (and so the rsync children and
/// listing readers they start). Listing mirrors is nearly all of a crawl's CPU; at equal
/// priority the one writer thread gets a sliver of it, falls behind, and its backlog (held in
/// memory) is written after the last listing ends, on one core. Nicer crawl threads leave the
/// writer the CPU to keep up, and take what the writer leaves.
pub const WORKER_NICE: i32 = 10;

/// Make the calling thread [`WORKER_NICE`] nicer than it is (threads and processes it starts
/// inherit this). Linux keeps the nice value per thread, so the writer is not affected.
fn lower_thread_priority() {
    use rustix::{process, thread};
    let tid = thread::gettid();
    let set = process::getpriority_process(Some(tid))
        .and_then(|now| process::setpriority_process(Some(tid), (now + WORKER_NICE).min(19)));
    if let Err(e) = set {
        log::debug!("cannot lower a crawl thread's priority: {e}");
    }
}

/// Most messages the writer puts into one transaction (it takes only those already waiting).
const MAX_BATCH: usize = 64;

impl CrawlError {
    /// The exit code this error asks for.
    pub fn exit_code(&self) -> u8 {
        use mm_core::cli::{EXIT_FAILURE, EXIT_LOCKED, EXIT_USAGE};
        match self {
            CrawlError::Usage(_) => EXIT_USAGE,
            CrawlError::Lock(mm_core::lock::LockError::Held { .. }) => EXIT_LOCKED,
            _ => EXIT_FAILURE,
        }
    }
}

/// Crawl options (the command line).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub threads: Option<usize>,
    pub categories: Vec<String>,
    pub hosts: Vec<i32>,
    pub startid: Option<i32>,
    pub stopid: Option<i32>,
    /// `k:n`: the k-th (1-based) of n slices of the sorted host ids.
    pub fraction: Option<(usize, usize)>,
    /// `--continent`: continent codes (`EU`); `^EU` excludes. Needs `mirrorlist.cccsv`.
    pub continents: Vec<String>,
    pub include_private: bool,
    pub include_disabled: bool,
    pub global_timeout_minutes: Option<u64>,
    pub host_timeout_minutes: Option<f64>,
    pub no_fail: bool,
    pub dry_run: bool,
    pub canary: bool,
    pub repodata: bool,
    pub wait: bool,
}

/// Parse `k:n` for `--fraction`.
pub fn parse_fraction(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once(':').ok_or("expected k:n, e.g. 1:4")?;
    let k: usize = k.parse().map_err(|_| format!("bad k in {s:?}"))?;
    let n: usize = n.parse().map_err(|_| format!("bad n in {s:?}"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("{s:?}: need 1 <= k <= n"));
    }
    Ok((k, n))
}

/// How a host's crawl ended (MM2's statuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostStatus {
    Ok,
    Failure(String),
    Timeout,
    Unknown(String),
    Disable(String),
}

/// One host to crawl.
#[derive(Debug, Clone)]
pub struct HostJob {
    pub id: i32,
    pub name: String,
    pub country: String,
    pub categories: Vec<HostCat>,
}

/// One of a host's categories.
#[derive(Debug, Clone)]
pub struct HostCat {
    pub host_category_id: i32,
    pub category_id: i32,
    pub always_up2date: bool,
    pub urls: Vec<String>,
}

/// Messages from crawl threads to the writer.
#[derive(Debug)]
pub enum Msg {
    Category {
        host_id: i32,
        host_category_id: i32,
        category_id: i32,
        verdicts: Verdicts,
        sweep: bool,
    },
    HostDone {
        host_id: i32,
        status: HostStatus,
        seconds: i64,
        /// Host categories whose rows all go stale (TIMEOUT).
        timed_out: Vec<i32>,
    },
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub hosts: usize,
    pub ok: usize,
    pub failure: usize,
    pub timeout: usize,
    pub unknown: usize,
    pub disabled: usize,
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} hosts: {} ok, {} failed, {} timed out, {} unknown, {} disabled",
            self.hosts, self.ok, self.failure, self.timeout, self.unknown, self.disabled
        )
    }
}

/// Read a country → continent CSV (`DE,EU` per line; `#` comments and a header allowed).
pub fn read_country_continents(
    path: &std::path::Path,
) -> Result<HashMap<String, String>, CrawlError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CrawlError::Usage(format!("{}: {e}", path.display())))?;
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split(',').map(|x| x.trim().trim_matches('"'));
        if let (Some(cc), Some(cont)) = (f.next(), f.next())
            && mm_core::config::is_country_code(cc)
        {
            out.insert(cc.to_ascii_uppercase(), cont.to_ascii_uppercase());
        }
    }
    Ok(out)
}

/// Whether a host's continent passes `--continent` values (`EU`, `^AS`).
fn continent_ok(continent: Option<&str>, wanted: &[String]) -> bool {
    let (excl, incl): (Vec<&String>, Vec<&String>) =
        wanted.iter().partition(|w| w.starts_with('^'));
    let c = continent.unwrap_or("");
    (incl.is_empty() || incl.iter().any(|w| w.eq_ignore_ascii_case(c)))
        && !excl.iter().any(|w| w[1..].eq_ignore_ascii_case(c))
}

/// Select the hosts to crawl (slowest first), with their categories and URLs.
pub fn select_hosts(
    conn: &mut DbConn,
    config: &Config,
    opts: &Options,
) -> Result<Vec<HostJob>, CrawlError> {
    let continents = if opts.continents.is_empty() {
        None
    } else {
        let path = config.mirrorlist.cccsv.as_deref().ok_or_else(|| {
            CrawlError::Usage("--continent needs mirrorlist.cccsv (the country-to-continent CSV) in the configuration".into())
        })?;
        Some(read_country_continents(path)?)
    };
    /// id, name, country, user/admin active, private, last duration, site user/admin active, private
    type HostRow = (
        i32,
        String,
        String,
        bool,
        bool,
        bool,
        Option<i64>,
        bool,
        bool,
        bool,
    );
    let rows: Vec<HostRow> = host::table
        .inner_join(site::table)
        .select((
            host::id,
            host::name,
            host::country,
            host::user_active,
            host::admin_active,
            host::private,
            host::last_crawl_duration,
            site::user_active,
            site::admin_active,
            site::private,
        ))
        .load(conn)?;
    let mut hosts: Vec<(i32, String, String, i64)> = rows
        .into_iter()
        .filter(|r| opts.include_disabled || (r.3 && r.4 && r.7 && r.8))
        .filter(|r| opts.include_private || !(r.5 || r.9))
        .filter(|r| opts.hosts.is_empty() || opts.hosts.contains(&r.0))
        .filter(|r| opts.startid.is_none_or(|s| r.0 >= s))
        .filter(|r| opts.stopid.is_none_or(|s| r.0 < s))
        .filter(|r| {
            continents.as_ref().is_none_or(|m| {
                continent_ok(
                    m.get(&r.2.to_ascii_uppercase()).map(String::as_str),
                    &opts.continents,
                )
            })
        })
        .map(|r| (r.0, r.1, r.2, r.6.unwrap_or(0)))
        .collect();
    if let Some((k, n)) = opts.fraction {
        let mut ids: Vec<i32> = hosts.iter().map(|h| h.0).collect();
        ids.sort_unstable();
        let len = ids.len();
        let (start, end) = ((k - 1) * len / n, k * len / n);
        let slice: HashSet<i32> = ids[start..end].iter().copied().collect();
        hosts.retain(|h| slice.contains(&h.0));
    }
    hosts.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
    let wanted_cats: Option<HashSet<i32>> = if opts.categories.is_empty() {
        None
    } else {
        let mut ids = HashSet::new();
        for name in &opts.categories {
            let id: Option<i32> = category::table
                .filter(category::name.eq(name))
                .select(category::id)
                .first(conn)
                .optional()?;
            ids.insert(id.ok_or_else(|| CrawlError::Usage(format!("no category named {name:?}")))?);
        }
        Some(ids)
    };
    let host_ids: Vec<i32> = hosts.iter().map(|h| h.0).collect();
    let mut hcs: HashMap<i32, Vec<HostCat>> = HashMap::new();
    for chunk in host_ids.chunks(500) {
        let rows: Vec<(i32, Option<i32>, Option<i32>, bool)> = host_category::table
            .filter(host_category::host_id.eq_any(chunk))
            .select((
                host_category::id,
                host_category::host_id,
                host_category::category_id,
                host_category::always_up2date,
            ))
            .order(host_category::id)
            .load(conn)?;
        let hc_ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let urls: Vec<(i32, String)> = host_category_url::table
            .filter(host_category_url::host_category_id.eq_any(&hc_ids))
            .select((host_category_url::host_category_id, host_category_url::url))
            .order(host_category_url::id)
            .load(conn)?;
        let mut by_hc: HashMap<i32, Vec<String>> = HashMap::new();
        for (hc, u) in urls {
            by_hc.entry(hc).or_default().push(u);
        }
        for (hc_id, host_id, cat_id, always) in rows {
            let (Some(host_id), Some(cat_id)) = (host_id, cat_id) else {
                continue;
            };
            if wanted_cats.as_ref().is_some_and(|w| !w.contains(&cat_id)) {
                continue;
            }
            let mut urls = by_hc.remove(&hc_id).unwrap_or_default();
            urls.sort_by_key(|u| protocol_rank(u));
            hcs.entry(host_id).or_default().push(HostCat {
                host_category_id: hc_id,
                category_id: cat_id,
                always_up2date: always,
                urls,
            });
        }
    }
    Ok(hosts
        .into_iter()
        .map(|(id, name, country, _)| HostJob {
            id,
            name,
            country,
            categories: hcs.remove(&id).unwrap_or_default(),
        })
        .filter(|h| !h.categories.is_empty())
        .collect())
}

/// rsync first, then HTTP(S), then FTP, then anything else.
fn protocol_rank(url: &str) -> u8 {
    if url.starts_with("rsync://") {
        0
    } else if url.starts_with("http://") || url.starts_with("https://") {
        1
    } else if url.starts_with("ftp://") {
        2
    } else {
        3
    }
}

/// Load the directory lists of the given categories.
pub fn load_categories(
    conn: &mut DbConn,
    ids: &HashSet<i32>,
) -> Result<HashMap<i32, Arc<CategoryData>>, CrawlError> {
    let mut out = HashMap::new();
    for &id in ids {
        let (name, topdir): (String, Option<i32>) = category::table
            .find(id)
            .select((category::name, category::topdir_id))
            .first(conn)?;
        let Some(topdir) = topdir else {
            log::warn!(
                "category {name} has no top directory; run update-master-directory-list first"
            );
            out.insert(id, Arc::new(CategoryData::new(id, name, Vec::new())));
            continue;
        };
        let topname: String = directory::table
            .find(topdir)
            .select(directory::name)
            .first(conn)?;
        let rows: Vec<(i32, String, Option<Vec<u8>>, bool)> = category_directory::table
            .inner_join(directory::table)
            .filter(category_directory::category_id.eq(id))
            .select((
                directory::id,
                directory::name,
                directory::files,
                directory::readable,
            ))
            .load(conn)?;
        let repomd: Vec<(i32, i32, Option<i64>, Option<String>)> = file_detail::table
            .inner_join(
                category_directory::table
                    .on(category_directory::directory_id.eq(file_detail::directory_id)),
            )
            .filter(category_directory::category_id.eq(id))
            .filter(file_detail::filename.eq("repomd.xml"))
            .select((
                file_detail::id,
                file_detail::directory_id,
                file_detail::timestamp,
                file_detail::sha256,
            ))
            .load(conn)?;
        let mut newest: HashMap<i32, (Option<i64>, i32, Option<String>)> = HashMap::new();
        for (fid, dir, ts, sha) in repomd {
            let e = newest.entry(dir).or_insert((ts, fid, sha.clone()));
            if (ts, fid) > (e.0, e.1) {
                *e = (ts, fid, sha);
            }
        }
        let mut dirs = Vec::with_capacity(rows.len());
        for (did, dname, files, readable) in rows {
            let rel = if dname == topname {
                String::new()
            } else if let Some(r) = dname
                .strip_prefix(&topname)
                .and_then(|r| r.strip_prefix('/'))
            {
                r.to_string()
            } else {
                continue;
            };
            let files = match files.as_deref().map(mm_core::files::decode).transpose() {
                Ok(f) => f.unwrap_or_default(),
                Err(e) => {
                    log::warn!("directory {dname}: {e}; treated as having no files");
                    Vec::new()
                }
            };
            dirs.push(DirData {
                id: did,
                rel,
                files,
                readable,
                repomd_sha256: newest.remove(&did).and_then(|n| n.2),
            });
        }
        dirs.sort_by(|a, b| a.rel.cmp(&b.rel));
        let cat = CategoryData::new(id, name, dirs);
        log::info!(
            "category {}: {} directories, {} recorded files ({} kB indexed)",
            cat.name,
            cat.dirs.len(),
            cat.expected.len(),
            cat.expected.approx_bytes() / 1024
        );
        out.insert(id, Arc::new(cat));
    }
    Ok(out)
}

/// Crawl one host: its categories one after another.
pub fn crawl_host(
    job: &HostJob,
    cats: &HashMap<i32, Arc<CategoryData>>,
    config: &Config,
    opts: &Options,
    global_deadline: Instant,
    tx: &mpsc::Sender<Msg>,
) -> HostStatus {
    let started = Instant::now();
    let minutes = opts
        .host_timeout_minutes
        .unwrap_or(config.crawler.host_timeout_minutes as f64);
    let host_timeout = Duration::from_secs_f64(60.0 * minutes.max(0.0));
    let mut log = HostLog::open(config, job.id);
    log.line(&format!("crawl of host {} ({}) started", job.id, job.name));
    let finish = |status: HostStatus, log: &mut HostLog, timed_out: Vec<i32>| {
        log.line(&format!(
            "outcome: {status:?} after {:.1}s",
            started.elapsed().as_secs_f64()
        ));
        let _ = tx.send(Msg::HostDone {
            host_id: job.id,
            status: status.clone(),
            seconds: started.elapsed().as_secs() as i64,
            timed_out,
        });
        status
    };
    if config
        .embargoed_countries
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&job.country))
    {
        let reason = format!(
            "host is in embargoed country {}",
            job.country.to_ascii_uppercase()
        );
        return finish(HostStatus::Disable(reason), &mut log, Vec::new());
    }
    let ctx = CheckCtx {
        host_deadline: started + host_timeout,
        global_deadline,
        connect_timeout: Duration::from_secs(config.crawler.connect_timeout_s),
        request_timeout: Duration::from_secs(config.crawler.http_timeout_s),
        rsync_parameters: config
            .crawler
            .rsync_parameters
            .split_whitespace()
            .map(String::from)
            .collect(),
        repodata_only: opts.repodata,
        stop: Arc::clone(stop_flag()),
    };
    let mut ok = 0usize;
    let mut failed: Vec<String> = Vec::new();
    for hc in &job.categories {
        let now = Instant::now();
        if now >= global_deadline || stopping() {
            return finish(HostStatus::Unknown(stop_reason()), &mut log, Vec::new());
        }
        if now >= ctx.host_deadline {
            let all = job.categories.iter().map(|c| c.host_category_id).collect();
            return finish(HostStatus::Timeout, &mut log, all);
        }
        let Some(cat) = cats.get(&hc.category_id) else {
            continue;
        };
        if hc.always_up2date {
            log.line(&format!("{}: always up to date, skipped", cat.name));
            ok += 1;
            continue;
        }
        if hc.urls.is_empty() {
            log.line(&format!("{}: no URL", cat.name));
            failed.push(format!("{}: no URL", cat.name));
            continue;
        }
        let mut result: Option<Result<Verdicts, CheckError>> = None;
        for url in &hc.urls {
            let mut notes = Vec::new();
            log.line(&format!("{}: checking {url}", cat.name));
            let r = if opts.canary {
                check::canary(url, &ctx).map(|()| Vec::new())
            } else if url.starts_with("rsync://") {
                check::rsync(url, cat, &ctx, &mut notes)
            } else if url.starts_with("http://") || url.starts_with("https://") {
                check::http(url, cat, &ctx, &mut notes)
            } else if url.starts_with("ftp://") {
                check::ftp(url, cat, &ctx, &mut notes)
            } else {
                Err(CheckError::Unavailable(format!(
                    "{url}: protocol not supported by this crawler"
                )))
            };
            for n in &notes {
                log.line(&format!("{}: {n}", cat.name));
            }
            match r {
                Err(CheckError::Unavailable(why)) => {
                    log.line(&format!("{}: unavailable: {why}", cat.name));
                    result = Some(Err(CheckError::Unavailable(why)));
                }
                other => {
                    result = Some(other);
                    break;
                }
            }
        }
        match result.expect("at least one URL") {
            Ok(verdicts) => {
                ok += 1;
                let up = verdicts
                    .iter()
                    .filter(|v| **v == Some(check::Verdict::UpToDate))
                    .count();
                let stale = verdicts
                    .iter()
                    .filter(|v| **v == Some(check::Verdict::Stale))
                    .count();
                log.line(&format!(
                    "{}: {up} directories up to date, {stale} stale",
                    cat.name
                ));
                if !opts.canary {
                    let _ = tx.send(Msg::Category {
                        host_id: job.id,
                        host_category_id: hc.host_category_id,
                        category_id: hc.category_id,
                        verdicts,
                        sweep: !opts.repodata,
                    });
                }
            }
            Err(CheckError::Timeout) => {
                let all = job.categories.iter().map(|c| c.host_category_id).collect();
                return finish(HostStatus::Timeout, &mut log, all);
            }
            Err(CheckError::Stopped) => {
                return finish(HostStatus::Unknown(stop_reason()), &mut log, Vec::new());
            }
            Err(CheckError::Unavailable(why) | CheckError::Failed(why)) => {
                log.line(&format!("{}: failed: {why}", cat.name));
                failed.push(format!("{}: {why}", cat.name));
            }
        }
    }
    let status = if ok > 0 || failed.is_empty() {
        HostStatus::Ok
    } else {
        HostStatus::Failure(failed.join("; "))
    };
    finish(status, &mut log, Vec::new())
}

/// The per-host log `<log_dir>/crawler/<host_id>.log` (rewritten each crawl).
struct HostLog {
    file: Option<std::fs::File>,
    host_id: i32,
}

impl HostLog {
    fn open(config: &Config, host_id: i32) -> HostLog {
        let dir: PathBuf = config.log_dir.join("crawler");
        let file = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::File::create(dir.join(format!("{host_id}.log"))))
            .map_err(|e| log::warn!("host {host_id}: no per-host log in {}: {e}", dir.display()))
            .ok();
        HostLog { file, host_id }
    }

    fn line(&mut self, text: &str) {
        log::debug!("host {}: {text}", self.host_id);
        if let Some(f) = &mut self.file {
            let _ = writeln!(
                f,
                "{} {text}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
    }
}

/// The flag SIGTERM and SIGINT set: threads stop at their next check, the writer finishes
/// what it has, locks are released on the way out.
pub fn stop_flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

fn stopping() -> bool {
    stop_flag().load(Ordering::Relaxed)
}

/// Why a host not crawled is unknown when the run ran out of time.
const GLOBAL_TIMEOUT: &str = "global timeout";

fn stop_reason() -> String {
    if stopping() {
        "shutdown requested".into()
    } else {
        GLOBAL_TIMEOUT.into()
    }
}

/// Route SIGTERM and SIGINT to [`stop_flag`].
pub fn install_signal_handlers() -> Result<(), CrawlError> {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(stop_flag()))
            .map_err(|e| CrawlError::Internal(format!("cannot install signal handler: {e}")))?;
    }
    Ok(())
}

/// The config's `embargoed_countries` plus the `embargoed_country` table (`mirrormanager
/// embargo add`): a mirror in either list is disabled.
fn with_table_embargoes(config: &Config, conn: &mut DbConn) -> Result<Config, CrawlError> {
    use mm_core::schema::embargoed_country;
    let mut config = config.clone();
    let rows: Vec<String> = embargoed_country::table
        .select(embargoed_country::country_code)
        .load(conn)?;
    for cc in rows {
        let cc = cc.trim().to_ascii_uppercase();
        if !cc.is_empty() && !config.embargoed_countries.contains(&cc) {
            config.embargoed_countries.push(cc);
        }
    }
    Ok(config)
}

/// Run a crawl: select hosts, crawl them on `threads` threads, write as results arrive.
pub fn run(config: &Config, opts: &Options) -> Result<Totals, CrawlError> {
    let started = Instant::now();
    install_signal_handlers()?;
    let global_deadline = started
        + Duration::from_secs(
            60 * opts
                .global_timeout_minutes
                .unwrap_or(config.crawler.global_timeout_minutes),
        );
    let lock_name = if opts.categories.len() == 1 {
        format!("crawler-{}", mm_core::lock::slug(&opts.categories[0]))
    } else {
        "crawler".to_string()
    };
    let _lock = mm_core::lock::acquire(&config.lock_dir, &lock_name, opts.wait)?;
    let mut conn = mm_core::connect(&config.database_url())?;
    mm_core::db::tune_for_bulk_writes(&mut conn, WRITER_CACHE_MIB)?;
    let config = &with_table_embargoes(config, &mut conn)?;
    let hosts = select_hosts(&mut conn, config, opts)?;
    let cat_ids: HashSet<i32> = hosts
        .iter()
        .flat_map(|h| h.categories.iter().map(|c| c.category_id))
        .collect();
    let cats = Arc::new(load_categories(&mut conn, &cat_ids)?);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = opts
        .threads
        .or(config.crawler.threads)
        .unwrap_or((20 * cpus).min(100))
        .clamp(1, hosts.len().max(1));
    log::info!("crawling {} hosts on {threads} threads", hosts.len());
    let mut totals = Totals {
        hosts: hosts.len(),
        ..Totals::default()
    };
    let queue = Arc::new(Mutex::new(hosts.into_iter().collect::<VecDeque<_>>()));
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut handles = Vec::new();
    for _ in 0..threads {
        let queue = Arc::clone(&queue);
        let cats = Arc::clone(&cats);
        let tx = tx.clone();
        let config = config.clone();
        let opts = opts.clone();
        handles.push(std::thread::spawn(move || {
            lower_thread_priority();
            loop {
                let job = queue.lock().expect("queue lock").pop_front();
                let Some(job) = job else { break };
                if Instant::now() >= global_deadline || stopping() {
                    let _ = tx.send(Msg::HostDone {
                        host_id: job.id,
                        status: HostStatus::Unknown(stop_reason()),
                        seconds: 0,
                        timed_out: Vec::new(),
                    });
                    continue;
                }
                crawl_host(&job, &cats, &config, &opts, global_deadline, &tx);
            }
        }));
    }
    drop(tx);
    let mut write_error: Option<CrawlError> = None;
    let mut global_timeout = false;
    let mut stop_seen: Option<Instant> = None;
    let mut batch: Vec<Msg> = Vec::new();
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // after a signal, give threads a moment to report, then leave without them
                // (a thread may sit in a network call; the process exit ends it)
                if stopping() {
                    let since = *stop_seen.get_or_insert_with(Instant::now);
                    if since.elapsed() > STOP_GRACE {
                        break;
                    }
                }
                continue;
            }
        };
        // whatever else is already waiting goes into the same transaction
        batch.clear();
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        for msg in &batch {
            if let Msg::HostDone { status, .. } = msg {
                match status {
                    HostStatus::Ok => totals.ok += 1,
                    HostStatus::Failure(_) => totals.failure += 1,
                    HostStatus::Timeout => totals.timeout += 1,
                    HostStatus::Unknown(why) => {
                        totals.unknown += 1;
                        global_timeout |= why == GLOBAL_TIMEOUT;
                    }
                    HostStatus::Disable(_) => totals.disabled += 1,
                }
            }
        }
        if opts.dry_run || write_error.is_some() {
            continue;
        }
        if let Err(e) = write::apply_batch(&mut conn, config, &cats, &batch) {
            log::error!("writing crawl results failed: {e}; no further results are written");
            write_error = Some(e);
        }
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    if stopping() {
        return Err(CrawlError::Interrupted(totals.to_string()));
    }
    for h in handles {
        h.join()
            .map_err(|_| CrawlError::Internal("a crawl thread panicked".into()))?;
    }
    log::info!("crawl finished in {:.1}s", started.elapsed().as_secs_f64());
    if global_timeout {
        // As MirrorManager2's crawler: a failed run unless --no-fail ("always exit 0").
        if !opts.no_fail {
            return Err(CrawlError::GlobalTimeout(totals.to_string()));
        }
        log::warn!("crawl stopped at the global timeout; --no-fail: exit 0");
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::process::getpriority_process;
    use rustix::thread::gettid;

    fn my_nice() -> i32 {
        getpriority_process(Some(gettid())).expect("getpriority")
    }

    #[test]
    fn crawl_threads_and_their_children_run_nicer_than_the_writer() {
        let writer = my_nice();
        let (worker, thread_child, process_child) = std::thread::spawn(|| {
            lower_thread_priority();
            let thread_child = std::thread::spawn(my_nice).join().expect("thread");
            // field 19 of /proc/self/stat is the nice value of the process reading it
            let out = std::process::Command::new("sh")
                .args(["-c", "cut -d' ' -f19 /proc/self/stat"])
                .output()
                .expect("sh");
            let process_child: i32 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("a nice value");
            (my_nice(), thread_child, process_child)
        })
        .join()
        .expect("worker");
        assert_eq!(worker, (writer + WORKER_NICE).min(19));
        assert_eq!(
            thread_child, worker,
            "threads a crawl thread starts inherit"
        );
        assert_eq!(process_child, worker, "rsync children inherit");
        assert_eq!(my_nice(), writer, "the writer keeps its priority");
    }
}
