//! `status`: per category, how many mirrors carry it, how many are active, how much of it is
//! up to date on them, and what the last crawls found wrong.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;
use serde::Serialize;

use crate::error::Result;

/// A host whose last crawls failed or that was disabled with a reason.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProblemHost {
    pub host_id: i32,
    pub name: String,
    pub crawl_failures: i32,
    pub user_active: bool,
    pub disable_reason: Option<String>,
    pub last_crawled: Option<NaiveDateTime>,
}

/// The status of one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryStatus {
    pub category: String,
    pub hosts_total: usize,
    /// Host and site enabled by both their admins and MirrorManager's admins.
    pub hosts_active: usize,
    pub hosts_disabled: usize,
    pub directories: i64,
    pub host_category_dirs: i64,
    pub host_category_dirs_up2date: i64,
    /// The most recent crawl of any host carrying the category.
    pub last_crawled: Option<NaiveDateTime>,
    /// Hosts with `crawl_failures > 0` or a disable reason.
    pub crawl_problems: Vec<ProblemHost>,
}

type HostRow = (Option<i32>, i32, Host, Option<bool>, Option<bool>);

/// Gather the status of every category, ordered by category id.
pub fn status(conn: &mut DbConn) -> Result<Vec<CategoryStatus>> {
    let cats: Vec<Category> = category::table
        .select(Category::as_select())
        .order(category::id)
        .load(conn)?;
    let dir_counts: HashMap<i32, i64> = category_directory::table
        .group_by(category_directory::category_id)
        .select((category_directory::category_id, count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    let hcd_counts: Vec<(i32, bool, i64)> = host_category_dir::table
        .group_by((
            host_category_dir::host_category_id,
            host_category_dir::up2date,
        ))
        .select((
            host_category_dir::host_category_id,
            host_category_dir::up2date,
            count_star(),
        ))
        .load(conn)?;
    let rows: Vec<HostRow> = host_category::table
        .inner_join(host::table.left_join(site::table))
        .select((
            host_category::category_id,
            host_category::id,
            Host::as_select(),
            site::user_active.nullable(),
            site::admin_active.nullable(),
        ))
        .order((host_category::category_id, host::id))
        .load(conn)?;
    let mut hc_category: HashMap<i32, i32> = HashMap::new();
    let mut out: Vec<CategoryStatus> = cats
        .iter()
        .map(|c| CategoryStatus {
            category: c.name.clone(),
            hosts_total: 0,
            hosts_active: 0,
            hosts_disabled: 0,
            directories: dir_counts.get(&c.id).copied().unwrap_or(0),
            host_category_dirs: 0,
            host_category_dirs_up2date: 0,
            last_crawled: None,
            crawl_problems: Vec::new(),
        })
        .collect();
    let index: HashMap<i32, usize> = cats.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    for (cat_id, hc_id, h, site_user, site_admin) in rows {
        let Some(&i) = cat_id.and_then(|c| index.get(&c)) else {
            continue;
        };
        hc_category.insert(hc_id, i as i32);
        let s = &mut out[i];
        s.hosts_total += 1;
        if h.user_active
            && h.admin_active
            && site_user.unwrap_or(true)
            && site_admin.unwrap_or(true)
        {
            s.hosts_active += 1;
        } else {
            s.hosts_disabled += 1;
        }
        if h.last_crawled > s.last_crawled {
            s.last_crawled = h.last_crawled;
        }
        if h.crawl_failures > 0 || h.disable_reason.as_deref().is_some_and(|r| !r.is_empty()) {
            s.crawl_problems.push(ProblemHost {
                host_id: h.id,
                name: h.name.clone(),
                crawl_failures: h.crawl_failures,
                user_active: h.user_active,
                disable_reason: h.disable_reason.clone(),
                last_crawled: h.last_crawled,
            });
        }
    }
    for (hc_id, up2date, n) in hcd_counts {
        if let Some(&i) = hc_category.get(&hc_id) {
            let s = &mut out[i as usize];
            s.host_category_dirs += n;
            if up2date {
                s.host_category_dirs_up2date += n;
            }
        }
    }
    Ok(out)
}
