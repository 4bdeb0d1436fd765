//! Writing crawl results: a category's verdicts, then the host's bookkeeping (statuses as
//! MM2: OK, FAILURE, TIMEOUT, UNKNOWN, DISABLE). The writer applies the messages that are
//! waiting when it gets to them in one transaction ([`apply_batch`]), so each category's
//! verdicts are still written whole, and a writer that falls behind the crawl catches up
//! with fewer, larger transactions (SQLite rewrites each touched index page once per
//! transaction, not once per host).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use diesel::prelude::*;
use mm_core::schema::*;
use mm_core::{Config, DbConn};

use crate::check::{CategoryData, Verdict};
use crate::{CrawlError, HostStatus, Msg};

/// Apply messages from the crawl threads, in order, in one transaction. Returns the hosts
/// this batch disabled for failing `crawler.auto_disable_after` times in a row.
pub fn apply_batch(
    conn: &mut DbConn,
    config: &Config,
    cats: &HashMap<i32, Arc<CategoryData>>,
    msgs: &[Msg],
) -> Result<Vec<i32>, CrawlError> {
    conn.transaction(|c| {
        let mut disabled = Vec::new();
        for m in msgs {
            if apply(c, config, cats, m)?
                && let Msg::HostDone { host_id, .. } = m
            {
                disabled.push(*host_id);
            }
        }
        Ok(disabled)
    })
}

/// Apply one message from a crawl thread (the caller holds the transaction); `true` when
/// it disabled the host for its failures.
fn apply(
    c: &mut DbConn,
    config: &Config,
    cats: &HashMap<i32, Arc<CategoryData>>,
    msg: &Msg,
) -> Result<bool, CrawlError> {
    match msg {
        Msg::Category {
            host_category_id,
            category_id,
            verdicts,
            sweep,
            ..
        } => write_category(c, *host_category_id, &cats[category_id], verdicts, *sweep)
            .map(|()| false),
        Msg::HostDone {
            host_id,
            status,
            seconds,
            timed_out,
        } => write_host(c, config, *host_id, status, *seconds, timed_out),
    }
}

/// Rows per multi-row INSERT (4 bound values each: within SQLite's and PostgreSQL's limits).
const INSERT_CHUNK: usize = 2000;

fn write_category(
    c: &mut DbConn,
    hc_id: i32,
    cat: &CategoryData,
    verdicts: &[Option<Verdict>],
    sweep: bool,
) -> Result<(), CrawlError> {
    let existing: Vec<(i32, Option<i32>, Option<String>, bool)> = host_category_dir::table
        .filter(host_category_dir::host_category_id.eq(hc_id))
        .select((
            host_category_dir::id,
            host_category_dir::directory_id,
            host_category_dir::path,
            host_category_dir::up2date,
        ))
        .load(c)?;
    // A row is found by its directory, else by its path. MirrorManager2 writes paths with a
    // leading slash (`/releases/41`), so on an adopted database both forms are the same row.
    let mut by_dir: HashMap<i32, (i32, bool)> = HashMap::with_capacity(existing.len());
    let mut by_path: HashMap<&str, (i32, bool)> = HashMap::with_capacity(existing.len());
    // Rows without a directory (old MirrorManager2 rows): found by path, they get it, as
    // MirrorManager2's crawler does; the cache reads rows by directory.
    let mut no_dir: HashSet<i32> = HashSet::new();
    for (id, dir, path, up) in &existing {
        match dir {
            Some(d) => {
                by_dir.entry(*d).or_insert((*id, *up));
            }
            None => {
                no_dir.insert(*id);
            }
        }
        let path = path.as_deref().unwrap_or_default().trim_start_matches('/');
        by_path.entry(path).or_insert((*id, *up));
    }
    let mut set_dir: Vec<(i32, i32)> = Vec::new();
    let mut set_true: Vec<i32> = Vec::new();
    let mut set_false: Vec<i32> = Vec::new();
    let mut new_rows = Vec::new();
    let mut seen: HashSet<i32> = HashSet::new();
    for (d, v) in cat.dirs.iter().zip(verdicts) {
        let Some(v) = v else { continue };
        let row = by_dir
            .get(&d.id)
            .or_else(|| by_path.get(d.rel.as_str()))
            .copied();
        if let Some((id, _)) = row {
            seen.insert(id);
            if no_dir.contains(&id) {
                set_dir.push((id, d.id));
            }
        }
        match (v, row) {
            (Verdict::UpToDate, Some((id, false))) => set_true.push(id),
            (Verdict::UpToDate, Some((_, true))) => {}
            (Verdict::UpToDate, None) => new_rows.push((
                host_category_dir::host_category_id.eq(hc_id),
                host_category_dir::path.eq(Some(d.rel.as_str())),
                host_category_dir::up2date.eq(true),
                host_category_dir::directory_id.eq(Some(d.id)),
            )),
            (Verdict::Stale, Some((id, true))) => set_false.push(id),
            (Verdict::Stale, _) | (Verdict::Unknown, _) => {}
        }
    }
    if sweep {
        for (id, _, _, up) in &existing {
            if *up && !seen.contains(id) {
                set_false.push(*id);
            }
        }
    }
    for (id, dir) in &set_dir {
        diesel::update(host_category_dir::table.find(*id))
            .set(host_category_dir::directory_id.eq(Some(*dir)))
            .execute(c)?;
    }
    for chunk in set_true.chunks(500) {
        diesel::update(host_category_dir::table.filter(host_category_dir::id.eq_any(chunk)))
            .set(host_category_dir::up2date.eq(true))
            .execute(c)?;
    }
    for chunk in set_false.chunks(500) {
        diesel::update(host_category_dir::table.filter(host_category_dir::id.eq_any(chunk)))
            .set(host_category_dir::up2date.eq(false))
            .execute(c)?;
    }
    for chunk in new_rows.chunks(INSERT_CHUNK) {
        mm_core::insert_rows!(c, host_category_dir::table, chunk)?;
    }
    log::debug!(
        "host_category {hc_id}: {} new up-to-date rows, {} set up to date, {} set stale",
        new_rows.len(),
        set_true.len(),
        set_false.len()
    );
    Ok(())
}

/// The host's bookkeeping for one outcome; `true` when it disabled the host for its
/// failures (a host already disabled, crawled with `--include-disabled`, is not counted
/// again).
fn write_host(
    c: &mut DbConn,
    config: &Config,
    host_id: i32,
    status: &HostStatus,
    seconds: i64,
    timed_out: &[i32],
) -> Result<bool, CrawlError> {
    let now = chrono::Utc::now().naive_utc();
    let (failures, was_active): (i32, bool) = host::table
        .find(host_id)
        .select((host::crawl_failures, host::user_active))
        .first(c)?;
    let fail = |c: &mut DbConn, why: &str| -> Result<bool, CrawlError> {
        let n = failures + 1;
        diesel::update(host::table.find(host_id))
            .set(host::crawl_failures.eq(n))
            .execute(c)?;
        if n >= config.crawler.auto_disable_after as i32 {
            let reason = format!(
                "disabled by the crawler on {} after {n} failed crawls: {why}",
                now.format("%Y-%m-%d %H:%M UTC")
            );
            diesel::update(host::table.find(host_id))
                .set((
                    host::user_active.eq(false),
                    host::disable_reason.eq(Some(reason)),
                ))
                .execute(c)?;
            if was_active {
                log::warn!("host {host_id}: disabled after {n} failed crawls");
            }
            return Ok(was_active);
        }
        Ok(false)
    };
    let mut disabled = false;
    match status {
        HostStatus::Ok => {
            diesel::update(host::table.find(host_id))
                .set((
                    host::crawl_failures.eq(0),
                    host::user_active.eq(true),
                    host::disable_reason.eq(None::<String>),
                ))
                .execute(c)?;
        }
        HostStatus::Failure(why) => disabled = fail(c, why)?,
        HostStatus::Timeout => {
            diesel::update(
                host_category_dir::table
                    .filter(host_category_dir::host_category_id.eq_any(timed_out)),
            )
            .set(host_category_dir::up2date.eq(false))
            .execute(c)?;
            disabled = fail(c, "host timeout")?;
        }
        HostStatus::Unknown(_) => return Ok(false),
        HostStatus::Disable(reason) => {
            diesel::update(host::table.find(host_id))
                .set((
                    host::user_active.eq(false),
                    host::disable_reason.eq(Some(reason.clone())),
                ))
                .execute(c)?;
        }
    }
    if matches!(
        status,
        HostStatus::Ok | HostStatus::Failure(_) | HostStatus::Timeout
    ) {
        diesel::update(host::table.find(host_id))
            .set((
                host::last_crawled.eq(Some(now)),
                host::last_crawl_duration.eq(Some(seconds)),
            ))
            .execute(c)?;
    } else {
        diesel::update(host::table.find(host_id))
            .set(host::last_crawled.eq(Some(now)))
            .execute(c)?;
    }
    Ok(disabled)
}
