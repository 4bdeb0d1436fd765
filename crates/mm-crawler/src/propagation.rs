//! `mm2_crawler propagation`: how far each repository's newest repomd.xml has spread.
//! For each repository of the selected versions (x86_64 first), GET its repomd.xml from
//! every active public mirror's first HTTP(S) URL, look the SHA256 up among the
//! repository's `file_detail` rows, and count mirrors by how old their copy is:
//! same day (< 24 h behind the newest), one day, two days, older (≥ 3 days or a hash we
//! never recorded) and no info (no answer). One `propagation_stat` row per repository.
//!
//! Requests are bounded as a crawl's are: `crawler.connect_timeout_s`, and
//! `crawler.http_timeout_s` for each repomd.xml in total (retries and redirects included);
//! every (repository, mirror) pair is one item of a single work list shared by the threads,
//! and a mirror that did not answer at all is not asked again in the same run (it counts
//! as no info for the rest). The run holds the lock [`LOCK`] and is bounded by
//! `crawler.global_timeout_minutes`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use mm_core::schema::*;
use mm_core::{Config, DbConn};
use sha2::Digest;

use crate::CrawlError;
use crate::check::{CheckCtx, CheckError, Http, encode_path};

/// The lock a propagation report holds.
pub const LOCK: &str = "crawler-propagation";

/// Which versions to report on.
#[derive(Debug, Clone, Default)]
pub struct PropagationOptions {
    pub product: Option<String>,
    pub version: Option<String>,
    pub threads: Option<usize>,
    pub dry_run: bool,
    /// Wait for the lock instead of failing with [`crate::CrawlError::Lock`].
    pub wait: bool,
}

/// One repository's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub same_day: i32,
    pub one_day: i32,
    pub two_day: i32,
    pub older: i32,
    pub no_info: i32,
}

/// A repository and what the mirrors said.
#[derive(Debug, Clone)]
pub struct RepoStat {
    pub repository_id: i32,
    pub prefix: String,
    pub arch: String,
    pub counts: Counts,
}

impl std::fmt::Display for RepoStat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "{} {}: same day {}, one day {}, two days {}, older {}, no info {}",
            self.prefix, self.arch, c.same_day, c.one_day, c.two_day, c.older, c.no_info
        )
    }
}

struct Repo {
    id: i32,
    prefix: String,
    arch: String,
    category_id: i32,
    /// Path of the repository directory relative to its category top.
    rel: String,
    /// sha256 → timestamp of the repodata directory's repomd.xml rows.
    known: HashMap<String, i64>,
    newest: i64,
}

fn load_repos(conn: &mut DbConn, opts: &PropagationOptions) -> Result<Vec<Repo>, CrawlError> {
    let mut q = version::table.inner_join(product::table).into_boxed();
    if let Some(p) = &opts.product {
        q = q.filter(product::name.eq(p.clone()));
    }
    if let Some(v) = &opts.version {
        q = q.filter(version::name.eq(v.clone()));
    }
    let version_ids: Vec<i32> = q.select(version::id).load(conn)?;
    if version_ids.is_empty() {
        return Err(CrawlError::Usage("no such product/version".into()));
    }
    /// id, prefix, arch, category, directory name
    type RepoRow = (i32, Option<String>, String, Option<i32>, String);
    let rows: Vec<RepoRow> = repository::table
        .inner_join(arch::table)
        .inner_join(directory::table)
        .filter(repository::version_id.eq_any(&version_ids))
        .filter(repository::prefix.is_not_null())
        .filter(repository::disabled.eq(false))
        .select((
            repository::id,
            repository::prefix,
            arch::name,
            repository::category_id,
            directory::name,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for (id, prefix, arch_name, cat, dname) in rows {
        let (Some(prefix), Some(cat)) = (prefix, cat) else {
            continue;
        };
        let topdir: Option<i32> = category::table
            .find(cat)
            .select(category::topdir_id)
            .first(conn)?;
        let Some(topdir) = topdir else { continue };
        let topname: String = directory::table
            .find(topdir)
            .select(directory::name)
            .first(conn)?;
        let rel = match dname.strip_prefix(&topname) {
            Some(r) => r.trim_start_matches('/').to_string(),
            None => continue,
        };
        let details: Vec<(Option<String>, Option<i64>)> = file_detail::table
            .inner_join(directory::table)
            .filter(directory::name.eq(format!("{dname}/repodata")))
            .filter(file_detail::filename.eq("repomd.xml"))
            .select((file_detail::sha256, file_detail::timestamp))
            .load(conn)?;
        let known: HashMap<String, i64> = details
            .into_iter()
            .filter_map(|(s, t)| Some((s?, t.unwrap_or(0))))
            .collect();
        let Some(newest) = known.values().copied().max() else {
            log::debug!("{prefix} {arch_name}: no repomd.xml file detail, skipped");
            continue;
        };
        out.push(Repo {
            id,
            prefix,
            arch: arch_name,
            category_id: cat,
            rel,
            known,
            newest,
        });
    }
    out.sort_by(|a, b| {
        (a.arch != "x86_64", &a.prefix, &a.arch).cmp(&(b.arch != "x86_64", &b.prefix, &b.arch))
    });
    Ok(out)
}

/// Each active public host's first HTTP(S) URL per category.
fn mirror_urls(conn: &mut DbConn) -> Result<HashMap<i32, Vec<String>>, CrawlError> {
    let rows: Vec<(i32, Option<i32>, String)> = host_category_url::table
        .inner_join(host_category::table.inner_join(host::table.inner_join(site::table)))
        .filter(host::user_active.eq(true))
        .filter(host::admin_active.eq(true))
        .filter(host::private.eq(false))
        .filter(site::user_active.eq(true))
        .filter(site::admin_active.eq(true))
        .filter(site::private.eq(false))
        .filter(host_category_url::private.eq(false))
        .order(host_category_url::id)
        .select((host::id, host_category::category_id, host_category_url::url))
        .load(conn)?;
    let mut first: HashMap<(i32, i32), String> = HashMap::new();
    for (h, cat, url) in rows {
        let Some(cat) = cat else { continue };
        if url.starts_with("http://") || url.starts_with("https://") {
            first.entry((h, cat)).or_insert(url);
        }
    }
    let mut out: HashMap<i32, Vec<String>> = HashMap::new();
    for ((_, cat), url) in first {
        out.entry(cat).or_default().push(url);
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

/// What one mirror said about one repository.
enum Answer {
    /// The repomd.xml it serves.
    Body(Vec<u8>),
    /// It answered, without a repomd.xml (404, 403, …).
    Nothing,
    /// No answer (connection refused, reset, timed out): not asked again this run.
    Silent,
    /// The run's deadline passed.
    Stopped,
}

/// GET `url` within the crawl's timeouts: connect, and `request_timeout` in total.
fn fetch(agent: &ureq::Agent, url: &str, run: &CheckCtx) -> Answer {
    let ctx = CheckCtx {
        host_deadline: Instant::now() + run.request_timeout,
        ..run.clone()
    };
    match crate::check::request(agent, "GET", url, &ctx) {
        Ok(Http::Status(200, _, Some(body))) => Answer::Body(body),
        Ok(Http::Status(status, ..)) => {
            log::debug!("{url}: HTTP {status}");
            Answer::Nothing
        }
        Ok(Http::Transport(e)) => {
            log::info!("{url}: no answer ({e}); the mirror counts as no info for the rest");
            Answer::Silent
        }
        Err(CheckError::Timeout) => {
            log::info!(
                "{url}: no answer within {}s; the mirror counts as no info for the rest",
                run.request_timeout.as_secs()
            );
            Answer::Silent
        }
        Err(_) => Answer::Stopped,
    }
}

/// Run the propagation report and (unless dry run) store one row per repository.
pub fn run(config: &Config, opts: &PropagationOptions) -> Result<Vec<RepoStat>, CrawlError> {
    let _lock = mm_core::lock::acquire(&config.lock_dir, LOCK, opts.wait)?;
    let started = Instant::now();
    let mut conn = mm_core::db::open(&config.database_url())?;
    let repos = load_repos(&mut conn, opts)?;
    let mirrors = mirror_urls(&mut conn)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = opts
        .threads
        .or(config.crawler.threads)
        .unwrap_or((20 * cpus).min(100))
        .max(1);
    let minutes = config.crawler.global_timeout_minutes;
    let ctx = CheckCtx {
        host_deadline: started + Duration::from_secs(60 * minutes),
        global_deadline: started + Duration::from_secs(60 * minutes),
        connect_timeout: Duration::from_secs(config.crawler.connect_timeout_s),
        request_timeout: Duration::from_secs(config.crawler.http_timeout_s),
        rsync_parameters: Vec::new(),
        repodata_only: true,
        stop: std::sync::Arc::clone(crate::stop_flag()),
    };
    // every (repository, mirror URL) pair, x86_64 repositories first
    let work: Vec<(usize, &str)> = repos
        .iter()
        .enumerate()
        .flat_map(|(i, repo)| {
            mirrors
                .get(&repo.category_id)
                .into_iter()
                .flatten()
                .map(move |u| (i, u.as_str()))
        })
        .collect();
    let counts: Vec<Mutex<Counts>> = repos.iter().map(|_| Mutex::default()).collect();
    let silent: Mutex<HashSet<&str>> = Mutex::default();
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..threads.min(work.len()) {
            s.spawn(|| {
                let agent = crate::check::agent(&ctx);
                while let Some(&(i, base)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let repo = &repos[i];
                    let path = if repo.rel.is_empty() {
                        "repodata/repomd.xml".to_string()
                    } else {
                        format!("{}/repodata/repomd.xml", repo.rel)
                    };
                    let url = format!("{}/{}", base.trim_end_matches('/'), encode_path(&path));
                    let answer = if stopped.load(Ordering::Relaxed)
                        || silent.lock().expect("silent lock").contains(base)
                    {
                        Answer::Nothing
                    } else {
                        fetch(&agent, &url, &ctx)
                    };
                    let body = match answer {
                        Answer::Body(b) => Some(b),
                        Answer::Nothing => None,
                        Answer::Silent => {
                            silent.lock().expect("silent lock").insert(base);
                            None
                        }
                        Answer::Stopped => {
                            stopped.store(true, Ordering::Relaxed);
                            None
                        }
                    };
                    let mut c = counts[i].lock().expect("counts lock");
                    match body {
                        None => c.no_info += 1,
                        Some(b) => {
                            let sha = hex::encode(sha2::Sha256::digest(&b));
                            match repo.known.get(&sha).map(|t| repo.newest - t) {
                                Some(d) if d < 86_400 => c.same_day += 1,
                                Some(d) if d < 2 * 86_400 => c.one_day += 1,
                                Some(d) if d < 3 * 86_400 => c.two_day += 1,
                                _ => c.older += 1,
                            }
                        }
                    }
                }
            });
        }
    });
    if stopped.into_inner() {
        return Err(CrawlError::PropagationStopped(
            if crate::stop_flag().load(Ordering::Relaxed) {
                "interrupted by a signal".to_string()
            } else {
                format!("stopped at the global timeout of {minutes} minutes")
            },
        ));
    }
    let now = chrono::Utc::now().naive_utc();
    let mut stats = Vec::new();
    for (repo, counts) in repos.iter().zip(counts) {
        let stat = RepoStat {
            repository_id: repo.id,
            prefix: repo.prefix.clone(),
            arch: repo.arch.clone(),
            counts: counts.into_inner().expect("counts lock"),
        };
        if !opts.dry_run {
            let c = &stat.counts;
            diesel::insert_into(propagation_stat::table)
                .values((
                    propagation_stat::repository_id.eq(repo.id),
                    propagation_stat::datetime.eq(now),
                    propagation_stat::same_day.eq(c.same_day),
                    propagation_stat::one_day.eq(c.one_day),
                    propagation_stat::two_day.eq(c.two_day),
                    propagation_stat::older.eq(c.older),
                    propagation_stat::no_info.eq(c.no_info),
                ))
                .execute(&mut conn)?;
        }
        stats.push(stat);
    }
    Ok(stats)
}
