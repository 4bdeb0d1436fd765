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
//!
//! A run holds the lock `crawler-<slug>` of every category it covers (all of them without
//! `--category`), taken in sorted order. Every request and rsync ends at the host's
//! deadline or the run's global one, whichever comes first; the writer does not wait for a
//! host past the global deadline (nor after SIGTERM/SIGINT) and ends that host's log itself.

pub mod check;
pub mod cli;
pub mod listing;
pub mod propagation;
pub mod write;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
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
        "crawl stopped at the global timeout; results so far were written, the hosts not finished by then are unchanged ({0})"
    )]
    GlobalTimeout(String),
    #[error("propagation report {0}; nothing was stored")]
    PropagationStopped(String),
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
    /// `--global-timeout` (fractions of a minute allowed; more than 0).
    pub global_timeout_minutes: Option<f64>,
    /// `--host-timeout` (fractions of a minute allowed; more than 0).
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

/// Longest `--host-timeout`/`--global-timeout` taken (about 19 years): beyond it the deadline
/// would not fit an `Instant`.
const MAX_TIMEOUT_MINUTES: f64 = 10_000_000.0;

/// Parse a timeout in minutes for `--host-timeout` and `--global-timeout`: more than 0,
/// fractions allowed (`0.5`).
pub fn parse_minutes(s: &str) -> Result<f64, String> {
    let m: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of minutes"))?;
    if !(m > 0.0 && m <= MAX_TIMEOUT_MINUTES) {
        return Err(format!(
            "{s:?}: need more than 0 and at most {MAX_TIMEOUT_MINUTES} minutes"
        ));
    }
    Ok(m)
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
    /// Hosts disabled for their country (DISABLE).
    pub disabled: usize,
    /// Failed or timed-out hosts this run disabled (`crawler.auto_disable_after` reached);
    /// also counted as failed or timed out.
    pub auto_disabled: usize,
    /// The failed and timed-out hosts: id, name, timed out.
    pub failed_hosts: Vec<(i32, String, bool)>,
}

/// Hosts named in [`Totals::failed_line`] before `… and N more`.
const MAX_NAMED_FAILURES: usize = 20;

impl Totals {
    /// `failed: a.example (3), b.example (5, timed out), … and N more` (the first
    /// [`MAX_NAMED_FAILURES`] by id); `None` when no host failed or timed out.
    pub fn failed_line(&self) -> Option<String> {
        if self.failed_hosts.is_empty() {
            return None;
        }
        let mut hosts: Vec<&(i32, String, bool)> = self.failed_hosts.iter().collect();
        hosts.sort_by_key(|h| h.0);
        let named: Vec<String> = hosts
            .iter()
            .take(MAX_NAMED_FAILURES)
            .map(|(id, name, timed_out)| {
                if *timed_out {
                    format!("{name} ({id}, timed out)")
                } else {
                    format!("{name} ({id})")
                }
            })
            .collect();
        let mut line = format!("failed: {}", named.join(", "));
        if hosts.len() > MAX_NAMED_FAILURES {
            line += &format!(", … and {} more", hosts.len() - MAX_NAMED_FAILURES);
        }
        Some(line)
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} hosts: {} ok, {} failed, {} timed out, {} unknown, {} disabled, {} auto-disabled",
            self.hosts,
            self.ok,
            self.failure,
            self.timeout,
            self.unknown,
            self.disabled,
            self.auto_disabled
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

/// The categories a crawl covers, as (id, name): those named (each must exist), else every
/// category.
pub fn resolve_categories(
    conn: &mut DbConn,
    names: &[String],
) -> Result<Vec<(i32, String)>, CrawlError> {
    if names.is_empty() {
        return Ok(category::table
            .select((category::id, category::name))
            .order(category::name)
            .load(conn)?);
    }
    let mut out: Vec<(i32, String)> = Vec::with_capacity(names.len());
    for name in names {
        let id: Option<i32> = category::table
            .filter(category::name.eq(name))
            .select(category::id)
            .first(conn)
            .optional()?;
        let id = id.ok_or_else(|| CrawlError::Usage(format!("no category named {name:?}")))?;
        if !out.iter().any(|c| c.0 == id) {
            out.push((id, name.clone()));
        }
    }
    Ok(out)
}

/// A host as selection sees it.
struct HostRow {
    id: i32,
    name: String,
    country: String,
    user_active: bool,
    admin_active: bool,
    private: bool,
    disable_reason: Option<String>,
    last_duration: Option<i64>,
    site_user_active: bool,
    site_admin_active: bool,
    site_private: bool,
}

impl HostRow {
    fn enabled(&self) -> bool {
        self.user_active && self.admin_active && self.site_user_active && self.site_admin_active
    }

    fn public(&self) -> bool {
        !self.private && !self.site_private
    }
}

/// Why a host asked for with `--host` is not selected, in one line.
fn why_not_selected(r: &HostRow, opts: &Options, stage: &str) -> String {
    let mut why = Vec::new();
    if !opts.include_disabled && !r.enabled() {
        let mut what = Vec::new();
        if !r.user_active {
            what.push(format!(
                "the host is disabled ({})",
                r.disable_reason.as_deref().unwrap_or("no reason recorded")
            ));
        }
        if !r.admin_active {
            what.push("an admin disabled the host".to_string());
        }
        if !(r.site_user_active && r.site_admin_active) {
            what.push("its site is disabled".to_string());
        }
        let lift = if r.admin_active && r.site_user_active && r.site_admin_active {
            " and an OK crawl re-enables it"
        } else {
            " (an OK crawl re-enables only a host the crawler or its user disabled)"
        };
        why.push(format!(
            "{}; --include-disabled crawls it{lift}",
            what.join(", ")
        ));
    }
    if !opts.include_private && !r.public() {
        let what = if r.private {
            "the host is private"
        } else {
            "its site is private"
        };
        why.push(format!("{what}; --include-private crawls it"));
    }
    if why.is_empty() {
        why.push(stage.to_string());
    }
    why.join("; ")
}

/// Select the hosts to crawl (slowest first), with their categories and URLs. Each
/// `--host` id that is not selected gets a warning saying why.
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
    /// id, name, country, user/admin active, private, disable reason, last duration,
    /// site user/admin active, private
    type Row = (
        i32,
        String,
        String,
        bool,
        bool,
        bool,
        Option<String>,
        Option<i64>,
        bool,
        bool,
        bool,
    );
    let rows: Vec<Row> = host::table
        .inner_join(site::table)
        .select((
            host::id,
            host::name,
            host::country,
            host::user_active,
            host::admin_active,
            host::private,
            host::disable_reason,
            host::last_crawl_duration,
            site::user_active,
            site::admin_active,
            site::private,
        ))
        .load(conn)?;
    let rows: Vec<HostRow> = rows
        .into_iter()
        .map(|r| HostRow {
            id: r.0,
            name: r.1,
            country: r.2,
            user_active: r.3,
            admin_active: r.4,
            private: r.5,
            disable_reason: r.6,
            last_duration: r.7,
            site_user_active: r.8,
            site_admin_active: r.9,
            site_private: r.10,
        })
        .collect();
    // why each --host id was left out, by the stage that dropped it
    let mut dropped: HashMap<i32, String> = HashMap::new();
    let mut hosts: Vec<(i32, String, String, i64)> = Vec::new();
    for r in &rows {
        if !opts.hosts.is_empty() && !opts.hosts.contains(&r.id) {
            continue;
        }
        let stage = if !(opts.include_disabled || r.enabled())
            || !(opts.include_private || r.public())
        {
            Some(String::new())
        } else if opts.startid.is_some_and(|s| r.id < s) || opts.stopid.is_some_and(|s| r.id >= s) {
            Some("outside --startid/--stopid".to_string())
        } else if continents.as_ref().is_some_and(|m| {
            !continent_ok(
                m.get(&r.country.to_ascii_uppercase()).map(String::as_str),
                &opts.continents,
            )
        }) {
            Some(format!(
                "country {} is not on the chosen continents",
                r.country
            ))
        } else {
            None
        };
        match stage {
            Some(stage) => {
                dropped.insert(r.id, why_not_selected(r, opts, &stage));
            }
            None => hosts.push((
                r.id,
                r.name.clone(),
                r.country.clone(),
                r.last_duration.unwrap_or(0),
            )),
        }
    }
    if let Some((k, n)) = opts.fraction {
        let mut ids: Vec<i32> = hosts.iter().map(|h| h.0).collect();
        ids.sort_unstable();
        let len = ids.len();
        let (start, end) = ((k - 1) * len / n, k * len / n);
        let slice: HashSet<i32> = ids[start..end].iter().copied().collect();
        hosts.retain(|h| {
            let keep = slice.contains(&h.0);
            if !keep {
                dropped.insert(h.0, format!("not in the --fraction {k}:{n} slice"));
            }
            keep
        });
    }
    hosts.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
    let wanted_cats: Option<HashSet<i32>> = if opts.categories.is_empty() {
        None
    } else {
        Some(
            resolve_categories(conn, &opts.categories)?
                .into_iter()
                .map(|c| c.0)
                .collect(),
        )
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
    let jobs: Vec<HostJob> = hosts
        .into_iter()
        .map(|(id, name, country, _)| HostJob {
            id,
            name,
            country,
            categories: hcs.remove(&id).unwrap_or_default(),
        })
        .filter(|h| {
            if h.categories.is_empty() {
                let why = if opts.categories.is_empty() {
                    "it carries no category".to_string()
                } else {
                    format!(
                        "it carries none of the chosen categories ({})",
                        opts.categories.join(", ")
                    )
                };
                dropped.insert(h.id, why);
            }
            !h.categories.is_empty()
        })
        .collect();
    let mut warned = HashSet::new();
    for &id in &opts.hosts {
        if !warned.insert(id) || jobs.iter().any(|j| j.id == id) {
            continue;
        }
        match rows.iter().find(|r| r.id == id) {
            None => log::warn!("--host {id}: no such host"),
            Some(r) => log::warn!(
                "--host {id} ({}): not crawled: {}",
                r.name,
                dropped.get(&id).map_or("not selected", String::as_str)
            ),
        }
    }
    Ok(jobs)
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

/// Crawl one host: its categories one after another. The host is in `running` while it is
/// crawled; see [`InProgress`].
pub fn crawl_host(
    job: &HostJob,
    cats: &HashMap<i32, Arc<CategoryData>>,
    config: &Config,
    opts: &Options,
    global_deadline: Instant,
    running: &InProgress,
    tx: &mpsc::Sender<Msg>,
) -> HostStatus {
    let started = Instant::now();
    let minutes = opts
        .host_timeout_minutes
        .unwrap_or(config.crawler.host_timeout_minutes as f64);
    let host_timeout = Duration::from_secs_f64(60.0 * minutes.clamp(0.0, MAX_TIMEOUT_MINUTES));
    let log = HostLog::open(config, job.id);
    running.start(job.id, &log, started);
    log.line(&format!("crawl of host {} ({}) started", job.id, job.name));
    let finish = |status: HostStatus, log: &HostLog, timed_out: Vec<i32>| {
        if running.end(job.id) {
            log.line(&outcome_line(&status, started));
        }
        let _ = tx.send(Msg::HostDone {
            host_id: job.id,
            status: status.clone(),
            seconds: started.elapsed().as_secs() as i64,
            timed_out,
        });
        status
    };
    let all_categories = || job.categories.iter().map(|c| c.host_category_id).collect();
    let host_timeout_note = format!("host timeout of {minutes} minutes reached");
    if config
        .embargoed_countries
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&job.country))
    {
        let reason = format!(
            "host is in embargoed country {}",
            job.country.to_ascii_uppercase()
        );
        return finish(HostStatus::Disable(reason), &log, Vec::new());
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
        match ctx.check_time() {
            Err(CheckError::Timeout) => {
                log.line(&host_timeout_note);
                return finish(HostStatus::Timeout, &log, all_categories());
            }
            Err(_) => {
                let why = stop_reason();
                log.line(&format!("stopped: {why}"));
                return finish(HostStatus::Unknown(why), &log, Vec::new());
            }
            Ok(()) => {}
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
        let mut result: Option<(&str, Result<Verdicts, CheckError>)> = None;
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
                    result = Some((url, Err(CheckError::Unavailable(why))));
                }
                other => {
                    result = Some((url, other));
                    break;
                }
            }
        }
        let (url, result) = result.expect("at least one URL");
        match result {
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
                log.line(&format!("{}: {url}: {host_timeout_note}", cat.name));
                return finish(HostStatus::Timeout, &log, all_categories());
            }
            Err(CheckError::Stopped) => {
                let why = stop_reason();
                log.line(&format!("{}: {url}: stopped: {why}", cat.name));
                return finish(HostStatus::Unknown(why), &log, Vec::new());
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
    finish(status, &log, Vec::new())
}

/// The last line of a host's log.
fn outcome_line(status: &HostStatus, started: Instant) -> String {
    format!(
        "outcome: {status:?} after {:.1}s",
        started.elapsed().as_secs_f64()
    )
}

/// The per-host log `<log_dir>/crawler/<host_id>.log` (rewritten each crawl). Clones write
/// to the same file.
#[derive(Debug, Clone)]
pub struct HostLog {
    file: Option<Arc<Mutex<std::fs::File>>>,
    host_id: i32,
}

impl HostLog {
    fn open(config: &Config, host_id: i32) -> HostLog {
        let dir: PathBuf = config.log_dir.join("crawler");
        let file = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::File::create(dir.join(format!("{host_id}.log"))))
            .map_err(|e| log::warn!("host {host_id}: no per-host log in {}: {e}", dir.display()))
            .ok()
            .map(|f| Arc::new(Mutex::new(f)));
        HostLog { file, host_id }
    }

    fn line(&self, text: &str) {
        log::debug!("host {}: {text}", self.host_id);
        if let Some(f) = &self.file {
            let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(
                f,
                "{} {text}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
    }
}

/// The hosts being crawled, with their logs. Whoever ends a host's crawl takes it out and
/// writes the outcome line: its thread, or the writer when it leaves without waiting for
/// the thread (after SIGTERM/SIGINT or at the global timeout). So each started host's log
/// ends with exactly one outcome line, even when the process exits in the middle of a
/// request.
#[derive(Debug, Clone, Default)]
pub struct InProgress(Arc<Mutex<HashMap<i32, (HostLog, Instant)>>>);

impl InProgress {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (HostLog, Instant)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(&self, host_id: i32, log: &HostLog, started: Instant) {
        self.map().insert(host_id, (log.clone(), started));
    }

    /// Take a host out; `true` when it was still in (the caller writes its outcome).
    fn end(&self, host_id: i32) -> bool {
        self.map().remove(&host_id).is_some()
    }

    /// Take every host out and end its log with `status`; how many there were.
    fn abandon(&self, status: &HostStatus) -> usize {
        let left: Vec<(HostLog, Instant)> = self.map().drain().map(|(_, v)| v).collect();
        for (log, started) in &left {
            log.line(&outcome_line(status, *started));
        }
        left.len()
    }
}

/// The flag SIGTERM and SIGINT set: threads stop at their next check, the writer finishes
/// what it has, locks are released on the way out.
pub fn stop_flag() -> &'static Arc<AtomicBool> {
    mm_core::stop::flag()
}

fn stopping() -> bool {
    mm_core::stop::requested()
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
    mm_core::stop::install(false)
        .map_err(|e| CrawlError::Internal(format!("cannot install signal handler: {e}")))
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

/// The locks a crawl of `categories` takes: `crawler-<slug>` per category, sorted (two
/// runs taking several of them in the same order cannot deadlock), without duplicates.
pub fn lock_names(categories: &[(i32, String)]) -> Vec<String> {
    let mut names: Vec<String> = categories
        .iter()
        .map(|(_, name)| format!("crawler-{}", mm_core::lock::slug(name)))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Run a crawl: take a lock per category, select hosts, crawl them on `threads` threads,
/// write as results arrive.
pub fn run(config: &Config, opts: &Options) -> Result<Totals, CrawlError> {
    let mut conn = mm_core::db::open(&config.database_url())?;
    let categories = resolve_categories(&mut conn, &opts.categories)?;
    // held until the run returns, whichever way
    let mut locks = Vec::new();
    for name in lock_names(&categories) {
        locks.push(mm_core::lock::acquire(&config.lock_dir, &name, opts.wait)?);
    }
    // only now: the handlers restart a blocking `flock` (SA_RESTART), so installed earlier
    // they would make a `--wait` for the lock deaf to Ctrl-C and SIGTERM
    install_signal_handlers()?;
    // the run's time starts once it holds its locks (`--wait` may wait for them)
    let started = Instant::now();
    let global_minutes = opts
        .global_timeout_minutes
        .unwrap_or(config.crawler.global_timeout_minutes as f64);
    let global_deadline =
        started + Duration::from_secs_f64(60.0 * global_minutes.clamp(0.0, MAX_TIMEOUT_MINUTES));
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
    let names: HashMap<i32, String> = hosts.iter().map(|h| (h.id, h.name.clone())).collect();
    let running = InProgress::default();
    let queue = Arc::new(Mutex::new(hosts.into_iter().collect::<VecDeque<_>>()));
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut handles = Vec::new();
    for _ in 0..threads {
        let queue = Arc::clone(&queue);
        let cats = Arc::clone(&cats);
        let tx = tx.clone();
        let config = config.clone();
        let opts = opts.clone();
        let running = running.clone();
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
                crawl_host(&job, &cats, &config, &opts, global_deadline, &running, &tx);
            }
        }));
    }
    drop(tx);
    let mut write_error: Option<CrawlError> = None;
    let mut global_timeout = false;
    // why the writer left without waiting for every thread
    let mut left_early: Option<String> = None;
    let mut stop_seen: Option<Instant> = None;
    let mut batch: Vec<Msg> = Vec::new();
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // after a signal or at the global timeout, give threads a moment to report,
                // then leave without them (a thread may sit in a call that cannot be cut,
                // such as a name lookup; the process exit ends it)
                let leave = if stopping() {
                    let since = *stop_seen.get_or_insert_with(Instant::now);
                    (since.elapsed() > STOP_GRACE).then(stop_reason)
                } else {
                    (Instant::now() >= global_deadline + STOP_GRACE)
                        .then(|| GLOBAL_TIMEOUT.to_string())
                };
                let Some(why) = leave else { continue };
                // a result that came in since the wait timed out is still written
                match rx.try_recv() {
                    Ok(m) => m,
                    Err(_) => {
                        left_early = Some(why);
                        break;
                    }
                }
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
            if let Msg::HostDone {
                host_id, status, ..
            } = msg
            {
                let name = || names.get(host_id).cloned().unwrap_or_default();
                match status {
                    HostStatus::Ok => totals.ok += 1,
                    HostStatus::Failure(_) => {
                        totals.failure += 1;
                        totals.failed_hosts.push((*host_id, name(), false));
                    }
                    HostStatus::Timeout => {
                        totals.timeout += 1;
                        totals.failed_hosts.push((*host_id, name(), true));
                    }
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
        match write::apply_batch(&mut conn, config, &cats, &batch) {
            Ok(disabled) => totals.auto_disabled += disabled.len(),
            Err(e) => {
                log::error!("writing crawl results failed: {e}; no further results are written");
                write_error = Some(e);
            }
        }
    }
    if let Some(why) = &left_early {
        // the hosts still being crawled end as UNKNOWN: nothing is written for them, and
        // their logs say so
        let status = HostStatus::Unknown(why.clone());
        let abandoned = running.abandon(&status);
        let reported =
            totals.ok + totals.failure + totals.timeout + totals.unknown + totals.disabled;
        totals.unknown += totals.hosts.saturating_sub(reported);
        global_timeout |= why == GLOBAL_TIMEOUT;
        log::warn!("{abandoned} hosts were still being crawled and are left unchanged ({why})");
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    let failed_line = totals.failed_line();
    if stopping() {
        if let Some(line) = &failed_line {
            log::warn!("{line}");
        }
        return Err(CrawlError::Interrupted(totals.to_string()));
    }
    if left_early.is_none() {
        for h in handles {
            h.join()
                .map_err(|_| CrawlError::Internal("a crawl thread panicked".into()))?;
        }
    }
    log::info!("crawl finished in {:.1}s", started.elapsed().as_secs_f64());
    if global_timeout {
        // As MirrorManager2's crawler: a failed run unless --no-fail ("always exit 0").
        if !opts.no_fail {
            if let Some(line) = &failed_line {
                log::warn!("{line}");
            }
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
    fn the_failed_line_names_at_most_twenty_hosts_by_id() {
        let mut totals = Totals::default();
        assert_eq!(totals.failed_line(), None);
        for id in (1..=25).rev() {
            totals
                .failed_hosts
                .push((id, format!("h{id}.example"), id == 2));
        }
        let line = totals.failed_line().expect("a line");
        assert!(
            line.starts_with("failed: h1.example (1), h2.example (2, timed out), h3.example (3),"),
            "{line}"
        );
        assert!(line.ends_with("h20.example (20), … and 5 more"), "{line}");
        assert!(!line.contains("h21.example"), "{line}");
    }

    #[test]
    fn timeouts_in_minutes() {
        assert_eq!(parse_minutes("0.5"), Ok(0.5));
        assert_eq!(parse_minutes("120"), Ok(120.0));
        for bad in ["0", "-1", "0.0", "NaN", "inf", "1e300", "soon", ""] {
            assert!(parse_minutes(bad).is_err(), "{bad}");
        }
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
