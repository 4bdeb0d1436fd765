//! `mm2_crawler propagation`: how far each repository's newest repomd.xml has spread.
//! For each repository of the selected versions (x86_64 first), GET its repomd.xml from
//! every active public mirror's first HTTP(S) URL, look the SHA256 up among the
//! repository's `file_detail` rows, and count mirrors by how old their copy is:
//! same day (< 24 h behind the newest), one day, two days, older (≥ 3 days or a hash we
//! never recorded) and no info (no answer). One `propagation_stat` row per repository.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use mm_core::schema::*;
use mm_core::{Config, DbConn};
use sha2::Digest;

use crate::CrawlError;
use crate::check::{CheckCtx, encode_path};

/// Which versions to report on.
#[derive(Debug, Clone, Default)]
pub struct PropagationOptions {
    pub product: Option<String>,
    pub version: Option<String>,
    pub threads: Option<usize>,
    pub dry_run: bool,
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

/// Run the propagation report and (unless dry run) store one row per repository.
pub fn run(config: &Config, opts: &PropagationOptions) -> Result<Vec<RepoStat>, CrawlError> {
    let mut conn = mm_core::connect(&config.database_url())?;
    let repos = load_repos(&mut conn, opts)?;
    let mirrors = mirror_urls(&mut conn)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = opts
        .threads
        .or(config.crawler.threads)
        .unwrap_or((20 * cpus).min(100))
        .max(1);
    let ctx = CheckCtx {
        host_deadline: Instant::now() + Duration::from_secs(3600),
        global_deadline: Instant::now()
            + Duration::from_secs(60 * config.crawler.global_timeout_minutes),
        connect_timeout: Duration::from_secs(config.crawler.connect_timeout_s),
        request_timeout: Duration::from_secs(config.crawler.http_timeout_s),
        rsync_parameters: Vec::new(),
        repodata_only: true,
        stop: std::sync::Arc::clone(crate::stop_flag()),
    };
    let now = chrono::Utc::now().naive_utc();
    let mut stats = Vec::new();
    for repo in &repos {
        let urls: &[String] = mirrors
            .get(&repo.category_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let counts = Mutex::new(Counts::default());
        let next = Mutex::new(0usize);
        std::thread::scope(|s| {
            for _ in 0..threads.min(urls.len()) {
                s.spawn(|| {
                    let agent = crate::check::agent(&ctx);
                    loop {
                        let i = {
                            let mut n = next.lock().expect("index lock");
                            *n += 1;
                            *n - 1
                        };
                        let Some(base) = urls.get(i) else { break };
                        let path = if repo.rel.is_empty() {
                            "repodata/repomd.xml".to_string()
                        } else {
                            format!("{}/repodata/repomd.xml", repo.rel)
                        };
                        let url = format!("{}/{}", base.trim_end_matches('/'), encode_path(&path));
                        let body = agent
                            .get(&url)
                            .call()
                            .ok()
                            .filter(|r| r.status().as_u16() == 200)
                            .and_then(|mut r| {
                                r.body_mut()
                                    .with_config()
                                    .limit(64 << 20)
                                    .read_to_vec()
                                    .ok()
                            });
                        let mut c = counts.lock().expect("counts lock");
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
