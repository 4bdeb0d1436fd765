//! The bulk queries: everything the pages and mirrors.json need, read in a fixed handful of
//! queries (no query per host, version or page), in one transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use mm_core::db::DbConn;
use mm_core::schema::{
    arch, category, host, host_category, host_category_dir, host_category_url, product, repository,
    site, version,
};

/// A repository's (version, arch).
type VersionArch = (Option<i32>, Option<i32>);

/// A product with `publiclist` set.
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub id: i32,
    pub name: String,
}

/// A displayed version.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub id: i32,
    pub product_id: i32,
    pub name: String,
    pub display_name: Option<String>,
    pub is_test: bool,
    pub sortorder: i32,
}

/// A category with `publiclist` set that carries a product.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: i32,
    pub name: String,
    pub product_id: i32,
}

/// A public active host (host and site active and not private), crawled or not.
#[derive(Debug, Clone)]
pub struct HostRow {
    pub id: i32,
    pub name: String,
    pub country: String,
    pub bandwidth: Option<i32>,
    pub comment: Option<String>,
    pub internet2: bool,
    pub last_crawled: Option<NaiveDateTime>,
    pub last_crawl_duration: Option<i64>,
    pub crawl_failures: i32,
    pub site_name: String,
    pub site_url: Option<String>,
}

/// One host_category of a public active host in a publiclist category.
#[derive(Debug, Clone, Copy)]
pub struct HostCatRow {
    pub host_id: i32,
    pub category_id: i32,
    pub always_up2date: bool,
}

/// Everything read from the database for one run.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub products: Vec<ProductRow>,
    pub versions: Vec<VersionRow>,
    /// Publiclist arches by id.
    pub arches: HashMap<i32, String>,
    pub categories: Vec<CategoryRow>,
    pub hosts: Vec<HostRow>,
    /// host_category id → row.
    pub host_categories: HashMap<i32, HostCatRow>,
    /// Non-private URLs: (host_category id, url), sorted by url.
    pub urls: Vec<(i32, String)>,
    /// host_category id → (directories, up-to-date directories).
    pub dir_counts: HashMap<i32, (i64, i64)>,
    /// Distinct (version, arch, category) of the repositories.
    pub repos: Vec<(Option<i32>, Option<i32>, Option<i32>)>,
    /// Distinct (host_category, version, arch) where a directory of a repository of that
    /// version and arch is up to date.
    pub up2date: Vec<(i32, Option<i32>, Option<i32>)>,
}

/// Read the snapshot: ten queries (one more per 5000 repository directories), whatever
/// the number of hosts or pages.
pub fn load(conn: &mut DbConn) -> QueryResult<Snapshot> {
    conn.transaction(load_inner)
}

fn load_inner(conn: &mut DbConn) -> QueryResult<Snapshot> {
    let products = product::table
        .filter(product::publiclist.eq(true))
        .select((product::id, product::name))
        .order(product::name)
        .load::<(i32, String)>(conn)?
        .into_iter()
        .map(|(id, name)| ProductRow { id, name })
        .collect::<Vec<_>>();

    let versions = version::table
        .filter(version::display.eq(true))
        .select((
            version::id,
            version::product_id,
            version::name,
            version::display_name,
            version::is_test,
            version::sortorder,
        ))
        .load::<(i32, Option<i32>, Option<String>, Option<String>, bool, i32)>(conn)?
        .into_iter()
        .filter_map(|(id, product_id, name, display_name, is_test, sortorder)| {
            Some(VersionRow {
                id,
                product_id: product_id?,
                name: name?,
                display_name,
                is_test,
                sortorder,
            })
        })
        .filter(|v| products.iter().any(|p| p.id == v.product_id))
        .collect();

    let arches = arch::table
        .filter(arch::publiclist.eq(true))
        .select((arch::id, arch::name))
        .load::<(i32, String)>(conn)?
        .into_iter()
        .collect();

    let categories = category::table
        .filter(category::publiclist.eq(true))
        .select((category::id, category::name, category::product_id))
        .order(category::name)
        .load::<(i32, String, Option<i32>)>(conn)?
        .into_iter()
        .filter_map(|(id, name, product_id)| {
            Some(CategoryRow {
                id,
                name,
                product_id: product_id?,
            })
        })
        .collect::<Vec<_>>();

    let mut hosts = host::table
        .inner_join(site::table)
        .filter(host::user_active.eq(true))
        .filter(host::admin_active.eq(true))
        .filter(host::private.eq(false))
        .filter(site::user_active.eq(true))
        .filter(site::admin_active.eq(true))
        .filter(site::private.eq(false))
        .select((
            host::id,
            host::name,
            host::country,
            host::bandwidth_int,
            host::comment,
            host::internet2,
            host::last_crawled,
            host::last_crawl_duration,
            host::crawl_failures,
            site::name,
            site::org_url,
        ))
        .order((host::country, site::name, host::name, host::id))
        .load::<(
            i32,
            String,
            String,
            Option<i32>,
            Option<String>,
            bool,
            Option<NaiveDateTime>,
            Option<i64>,
            i32,
            String,
            Option<String>,
        )>(conn)?
        .into_iter()
        .map(|r| HostRow {
            id: r.0,
            name: r.1,
            country: r.2.to_ascii_uppercase(),
            bandwidth: r.3,
            comment: r.4,
            internet2: r.5,
            last_crawled: r.6,
            last_crawl_duration: r.7,
            crawl_failures: r.8,
            site_name: r.9,
            site_url: r.10,
        })
        .collect::<Vec<_>>();
    // MM2 data may hold lower-case codes, which the database orders apart from upper-case
    // ones: sort again on the upper-cased code.
    hosts.sort_by(|a, b| {
        (&a.country, &a.site_name, &a.name, a.id).cmp(&(&b.country, &b.site_name, &b.name, b.id))
    });

    let host_ids: std::collections::HashSet<i32> = hosts.iter().map(|h| h.id).collect();
    let cat_ids: std::collections::HashSet<i32> = categories.iter().map(|c| c.id).collect();

    let host_categories = host_category::table
        .select((
            host_category::id,
            host_category::host_id,
            host_category::category_id,
            host_category::always_up2date,
        ))
        .load::<(i32, Option<i32>, Option<i32>, bool)>(conn)?
        .into_iter()
        .filter_map(|(id, h, c, always_up2date)| {
            let (host_id, category_id) = (h?, c?);
            (host_ids.contains(&host_id) && cat_ids.contains(&category_id)).then_some((
                id,
                HostCatRow {
                    host_id,
                    category_id,
                    always_up2date,
                },
            ))
        })
        .collect::<HashMap<_, _>>();

    let urls = host_category_url::table
        .filter(host_category_url::private.eq(false))
        .select((host_category_url::host_category_id, host_category_url::url))
        .order(host_category_url::url)
        .load::<(i32, String)>(conn)?
        .into_iter()
        .filter(|(hc, _)| host_categories.contains_key(hc))
        .collect();

    // One GROUP BY without a WHERE: SQLite would otherwise pick the unselective
    // up2date index and crawl the table in index order.
    let mut dir_counts: HashMap<i32, (i64, i64)> = HashMap::new();
    let counts = host_category_dir::table
        .group_by((
            host_category_dir::host_category_id,
            host_category_dir::up2date,
        ))
        .select((
            host_category_dir::host_category_id,
            host_category_dir::up2date,
            count_star(),
        ))
        .load::<(i32, bool, i64)>(conn)?;
    for (hc, up2date, n) in counts {
        if host_categories.contains_key(&hc) {
            let e = dir_counts.entry(hc).or_default();
            e.0 += n;
            if up2date {
                e.1 += n;
            }
        }
    }

    let repo_rows = repository::table
        .select((
            repository::version_id,
            repository::arch_id,
            repository::category_id,
            repository::directory_id,
        ))
        .load::<(Option<i32>, Option<i32>, Option<i32>, Option<i32>)>(conn)?;
    let mut repos: Vec<(Option<i32>, Option<i32>, Option<i32>)> =
        repo_rows.iter().map(|r| (r.0, r.1, r.2)).collect();
    repos.sort_unstable();
    repos.dedup();
    let mut va_of_dir: HashMap<i32, Vec<VersionArch>> = HashMap::new();
    for (v, a, _, d) in &repo_rows {
        if let Some(d) = d {
            va_of_dir.entry(*d).or_default().push((*v, *a));
        }
    }

    // The host directories of repository directories, filtered in SQL by directory only and
    // joined here: a JOIN (or an up2date filter) lets a planner with stale statistics pick a
    // nested loop over the whole table (PostgreSQL right after a bulk load took minutes).
    let mut dir_ids: Vec<i32> = va_of_dir.keys().copied().collect();
    dir_ids.sort_unstable();
    let mut seen = std::collections::HashSet::new();
    for chunk in dir_ids.chunks(5000) {
        let rows = host_category_dir::table
            .filter(host_category_dir::directory_id.eq_any(chunk))
            .select((
                host_category_dir::host_category_id,
                host_category_dir::directory_id,
                host_category_dir::up2date,
            ))
            .load::<(i32, Option<i32>, bool)>(conn)?;
        for (hc, d, up2date) in rows {
            if !up2date || !host_categories.contains_key(&hc) {
                continue;
            }
            for &(v, a) in d.and_then(|d| va_of_dir.get(&d)).into_iter().flatten() {
                seen.insert((hc, v, a));
            }
        }
    }
    let up2date = seen.into_iter().collect();

    Ok(Snapshot {
        products,
        versions,
        arches,
        categories,
        hosts,
        host_categories,
        urls,
        dir_counts,
        repos,
        up2date,
    })
}
