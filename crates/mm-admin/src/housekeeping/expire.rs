//! Expiry jobs: the emergency expiry of a repository's older metadata (after a bad
//! `repomd.xml` was published) and the routine deletion of old statistics rows.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;
use serde::Serialize;

use crate::error::Result;

/// What the emergency expiry did to one repository.
#[derive(Debug, Default, Serialize)]
pub struct EmergencyReport {
    pub repository: String,
    pub prefix: Option<String>,
    pub directory: Option<String>,
    /// The repository's directory and the directories below it.
    pub directories: usize,
    /// `file_detail` rows deleted (older versions of a file that has a newer row).
    pub file_details_deleted: usize,
    /// Files (`directory/filename`) that lost older versions.
    pub files: Vec<String>,
    /// `host_category_dir` rows set not up to date.
    pub marked_not_up2date: usize,
}

const CHUNK: usize = 500;

/// Expire a repository: keep only the newest `file_detail` of each file in its directory
/// tree (so the metalink offers no alternates: only mirrors with the newest metadata are
/// trusted) and set every `host_category_dir` of that tree not up to date, except for host
/// categories marked always up to date (the master mirrors). The crawler re-marks mirrors
/// up to date as it finds the new metadata on them.
pub fn emergency_expire(
    conn: &mut DbConn,
    repo: &Repository,
    dry_run: bool,
) -> Result<EmergencyReport> {
    let mut report = EmergencyReport {
        repository: repo.name.clone(),
        prefix: repo.prefix.clone(),
        ..Default::default()
    };
    let Some(dir_id) = repo.directory_id else {
        return Ok(report);
    };
    let top: String = directory::table
        .find(dir_id)
        .select(directory::name)
        .first(conn)?;
    let like = format!("{top}/%");
    let dirs: Vec<(i32, String)> = directory::table
        .filter(directory::name.eq(&top).or(directory::name.like(&like)))
        .select((directory::id, directory::name))
        .order(directory::name)
        .load(conn)?;
    // LIKE treats `_` as a wildcard: keep only the real subtree.
    let prefix = format!("{top}/");
    let dirs: Vec<(i32, String)> = dirs
        .into_iter()
        .filter(|(_, n)| *n == top || n.starts_with(&prefix))
        .collect();
    report.directory = Some(top);
    report.directories = dirs.len();
    let ids: Vec<i32> = dirs.iter().map(|d| d.0).collect();
    let names: std::collections::HashMap<i32, &str> =
        dirs.iter().map(|(i, n)| (*i, n.as_str())).collect();

    let mut doomed = Vec::new();
    let mut files = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<FileDetail> = file_detail::table
            .select(FileDetail::as_select())
            .filter(file_detail::directory_id.eq_any(chunk))
            .order((
                file_detail::directory_id,
                file_detail::filename,
                file_detail::timestamp.desc(),
                file_detail::id.desc(),
            ))
            .load(conn)?;
        let mut seen: HashSet<(i32, String)> = HashSet::new();
        let mut last_file: Option<(i32, String)> = None;
        for fd in rows {
            let key = (fd.directory_id, fd.filename.clone());
            if seen.insert(key.clone()) {
                continue; // the newest
            }
            doomed.push(fd.id);
            if last_file.as_ref() != Some(&key) {
                files.push(format!(
                    "{}/{}",
                    names.get(&fd.directory_id).copied().unwrap_or("?"),
                    fd.filename
                ));
                last_file = Some(key);
            }
        }
    }
    report.file_details_deleted = doomed.len();
    report.files = files;

    let not_always = host_category::table
        .filter(host_category::always_up2date.eq(false))
        .select(host_category::id);
    for chunk in ids.chunks(CHUNK) {
        let q = host_category_dir::table
            .filter(host_category_dir::directory_id.eq_any(chunk))
            .filter(host_category_dir::up2date.eq(true))
            .filter(host_category_dir::host_category_id.eq_any(not_always));
        if dry_run {
            let n: i64 = q.count().get_result(conn)?;
            report.marked_not_up2date += n as usize;
        } else {
            report.marked_not_up2date += diesel::update(q)
                .set(host_category_dir::up2date.eq(false))
                .execute(conn)?;
        }
    }
    if !dry_run {
        for chunk in doomed.chunks(CHUNK) {
            diesel::delete(file_detail::table.filter(file_detail::id.eq_any(chunk)))
                .execute(conn)?;
        }
    }
    Ok(report)
}

/// Rows deleted (or, with a dry run, that would be) per statistics table.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatsReport {
    pub propagation_cutoff: String,
    pub access_cutoff: String,
    pub host_stats_cutoff: String,
    pub propagation_stat: usize,
    pub access_stat: usize,
    pub host_stats: usize,
}

/// Rows older than these are deleted, per table (MM2 keeps propagation and access
/// statistics for separately configured numbers of days).
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub propagation: NaiveDateTime,
    /// `access_stat` rows are per day: those of days before this one's date go.
    pub access: NaiveDateTime,
    pub host_stats: NaiveDateTime,
}

/// Delete `propagation_stat`, `access_stat` and `host_stats` rows older than their cutoff.
pub fn expire_stats(conn: &mut DbConn, cutoffs: Cutoffs, dry_run: bool) -> Result<StatsReport> {
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut r = StatsReport {
        propagation_cutoff: fmt(cutoffs.propagation),
        access_cutoff: fmt(cutoffs.access),
        host_stats_cutoff: fmt(cutoffs.host_stats),
        ..Default::default()
    };
    let prop = propagation_stat::table.filter(propagation_stat::datetime.lt(cutoffs.propagation));
    let acc = access_stat::table.filter(access_stat::date.lt(cutoffs.access.date()));
    let hs = host_stats::table.filter(host_stats::timestamp.lt(cutoffs.host_stats));
    if dry_run {
        r.propagation_stat = prop.count().get_result::<i64>(conn)? as usize;
        r.access_stat = acc.count().get_result::<i64>(conn)? as usize;
        r.host_stats = hs.count().get_result::<i64>(conn)? as usize;
    } else {
        r.propagation_stat = diesel::delete(prop).execute(conn)?;
        r.access_stat = diesel::delete(acc).execute(conn)?;
        r.host_stats = diesel::delete(hs).execute(conn)?;
    }
    Ok(r)
}

/// The cutoff `days` days before `now`.
pub fn cutoff(now: NaiveDateTime, days: u32) -> NaiveDateTime {
    now - Duration::days(i64::from(days))
}
