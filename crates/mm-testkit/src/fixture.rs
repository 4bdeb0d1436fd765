//! Database fillers for tests and benchmarks: small helpers that insert one row and return
//! its id (looked up by its unique name, so they work on both backends without RETURNING),
//! and [`fill_fedora_scale`], a Fedora-sized network (~700 hosts, ~40 versions × 10 arches).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use mm_core::db::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

/// A fixed point in time for fixtures: 2026-01-01 00:00:00.
pub fn epoch() -> NaiveDateTime {
    chrono::DateTime::from_timestamp(1_767_225_600, 0)
        .expect("valid time")
        .naive_utc()
}

/// Insert a product.
pub fn product(conn: &mut DbConn, name: &str, publiclist: bool) -> QueryResult<i32> {
    diesel::insert_into(product::table)
        .values(&NewProduct {
            name: name.into(),
            publiclist,
        })
        .execute(conn)?;
    product::table
        .filter(product::name.eq(name))
        .select(product::id)
        .first(conn)
}

/// Insert a displayed version.
pub fn version(
    conn: &mut DbConn,
    product_id: i32,
    name: &str,
    sortorder: i32,
    is_test: bool,
) -> QueryResult<i32> {
    diesel::insert_into(version::table)
        .values(&NewVersion {
            name: Some(name.into()),
            product_id: Some(product_id),
            is_test,
            display: true,
            display_name: None,
            ordered_mirrorlist: true,
            sortorder,
            codename: None,
        })
        .execute(conn)?;
    version::table
        .filter(version::name.eq(name))
        .filter(version::product_id.eq(product_id))
        .select(version::id)
        .first(conn)
}

/// Insert an arch.
pub fn arch(conn: &mut DbConn, name: &str, publiclist: bool) -> QueryResult<i32> {
    diesel::insert_into(arch::table)
        .values(&NewArch {
            name: name.into(),
            publiclist,
            primary_arch: true,
        })
        .execute(conn)?;
    arch::table
        .filter(arch::name.eq(name))
        .select(arch::id)
        .first(conn)
}

/// Insert a directory.
pub fn directory(conn: &mut DbConn, name: &str) -> QueryResult<i32> {
    diesel::insert_into(directory::table)
        .values(&NewDirectory {
            name: name.into(),
            files: None,
            readable: true,
            ctime: Some(0),
        })
        .execute(conn)?;
    directory::table
        .filter(directory::name.eq(name))
        .select(directory::id)
        .first(conn)
}

/// Insert a publiclist category of a product with its top directory.
pub fn category(conn: &mut DbConn, name: &str, product_id: i32, topdir: &str) -> QueryResult<i32> {
    let topdir_id = directory(conn, topdir)?;
    diesel::insert_into(category::table)
        .values(&NewCategory {
            name: name.into(),
            product_id: Some(product_id),
            topdir_id: Some(topdir_id),
            canonicalhost: None,
            publiclist: true,
            geo_dns_domain: None,
            admin_only: Some(false),
        })
        .execute(conn)?;
    category::table
        .filter(category::name.eq(name))
        .select(category::id)
        .first(conn)
}

/// Insert a publiclist category with no product and no top directory (enough for the jobs
/// that only match categories by name).
pub fn bare_category(conn: &mut DbConn, name: &str) -> QueryResult<i32> {
    diesel::insert_into(category::table)
        .values(&NewCategory {
            name: name.into(),
            product_id: None,
            topdir_id: None,
            canonicalhost: None,
            publiclist: true,
            geo_dns_domain: None,
            admin_only: None,
        })
        .execute(conn)?;
    category::table
        .filter(category::name.eq(name))
        .select(category::id)
        .first(conn)
}

/// Insert a repository of a version and arch with its directory (named `dir`).
pub fn repository(
    conn: &mut DbConn,
    name: &str,
    category_id: i32,
    version_id: i32,
    arch_id: i32,
    dir: &str,
) -> QueryResult<(i32, i32)> {
    let directory_id = directory(conn, dir)?;
    diesel::insert_into(repository::table)
        .values(&NewRepository {
            name: name.into(),
            prefix: Some(name.into()),
            category_id: Some(category_id),
            version_id: Some(version_id),
            arch_id: Some(arch_id),
            directory_id: Some(directory_id),
            disabled: false,
        })
        .execute(conn)?;
    let id = repository::table
        .filter(repository::name.eq(name))
        .select(repository::id)
        .first(conn)?;
    Ok((id, directory_id))
}

/// A site row with the usual flags (active, public).
pub fn new_site(name: &str, org_url: Option<&str>) -> NewSite {
    NewSite {
        name: name.into(),
        password: None,
        org_url: org_url.map(Into::into),
        private: false,
        admin_active: true,
        user_active: true,
        created_at: epoch(),
        created_by: "fixture".into(),
        all_sites_can_pull_from_me: false,
        downstream_comments: None,
        email_on_drop: false,
        email_on_add: false,
    }
}

/// Insert a site.
pub fn site(conn: &mut DbConn, new: &NewSite) -> QueryResult<i32> {
    diesel::insert_into(site::table).values(new).execute(conn)?;
    site::table
        .filter(site::name.eq(&new.name))
        .select(site::id)
        .first(conn)
}

/// Insert a host; `last_crawled` is set when given.
pub fn host(
    conn: &mut DbConn,
    new: &NewHost,
    last_crawled: Option<NaiveDateTime>,
) -> QueryResult<i32> {
    diesel::insert_into(host::table).values(new).execute(conn)?;
    let id = host::table
        .filter(host::name.eq(&new.name))
        .filter(host::site_id.eq(new.site_id))
        .select(host::id)
        .first(conn)?;
    if last_crawled.is_some() {
        diesel::update(host::table.find(id))
            .set(host::last_crawled.eq(last_crawled))
            .execute(conn)?;
    }
    Ok(id)
}

/// Insert a host_category.
pub fn host_category(
    conn: &mut DbConn,
    host_id: i32,
    category_id: i32,
    always_up2date: bool,
) -> QueryResult<i32> {
    diesel::insert_into(host_category::table)
        .values(&NewHostCategory {
            host_id: Some(host_id),
            category_id: Some(category_id),
            always_up2date,
        })
        .execute(conn)?;
    host_category::table
        .filter(host_category::host_id.eq(host_id))
        .filter(host_category::category_id.eq(category_id))
        .select(host_category::id)
        .first(conn)
}

/// Insert a URL of a host_category.
pub fn url(conn: &mut DbConn, host_category_id: i32, url: &str, private: bool) -> QueryResult<()> {
    diesel::insert_into(host_category_url::table)
        .values(&NewHostCategoryUrl {
            host_category_id,
            url: url.into(),
            private,
        })
        .execute(conn)
        .map(drop)
}

/// Insert a host_category_dir.
pub fn host_category_dir(
    conn: &mut DbConn,
    host_category_id: i32,
    directory_id: i32,
    path: &str,
    up2date: bool,
) -> QueryResult<()> {
    diesel::insert_into(host_category_dir::table)
        .values(&NewHostCategoryDir {
            host_category_id,
            path: Some(path.into()),
            up2date,
            directory_id: Some(directory_id),
        })
        .execute(conn)
        .map(drop)
}

/// Size of a generated network.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub hosts: usize,
    pub versions: usize,
    pub arches: usize,
}

impl Scale {
    /// Fedora's size: ~700 hosts, ~40 versions × 10 arches.
    pub const FEDORA: Scale = Scale {
        hosts: 700,
        versions: 40,
        arches: 10,
    };
}

/// Row counts of a filled network.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filled {
    pub hosts: usize,
    pub repositories: usize,
    pub host_category_dirs: usize,
}

const COUNTRIES: [&str; 40] = [
    "US", "DE", "FR", "GB", "NL", "SE", "CZ", "PL", "IT", "ES", "CH", "AT", "BE", "DK", "FI", "NO",
    "RU", "UA", "CN", "JP", "KR", "TW", "IN", "ID", "SG", "AU", "NZ", "BR", "AR", "CL", "CA", "MX",
    "ZA", "KE", "IL", "TR", "GR", "PT", "RO", "HU",
];

/// Fill an empty migrated database with a Fedora-like network of `scale`: product
/// `Fedora` (category `Fedora Linux`) with `versions` versions (the newest is
/// `development`) × `arches` arches, two repositories per version/arch, and `hosts` hosts
/// (one site each) over 40 countries: ~90% crawled, ~10% always_up2date, each carrying ~60%
/// of the versions with ~85% of their directories up to date, three public URLs and one
/// private URL each. Bulk inserts in one transaction.
pub fn fill_fedora_scale(conn: &mut DbConn, scale: Scale) -> QueryResult<Filled> {
    conn.transaction(|conn| fill_inner(conn, scale))
}

fn fill_inner(conn: &mut DbConn, scale: Scale) -> QueryResult<Filled> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let fedora = product(conn, "Fedora", true)?;
    let cat = category(conn, "Fedora Linux", fedora, "pub/fedora/linux")?;
    const ARCHES: [&str; 12] = [
        "x86_64", "aarch64", "ppc64le", "s390x", "armhfp", "i386", "riscv64", "ppc64", "source",
        "i686", "armv7hl", "mips64el",
    ];
    let mut arch_ids = Vec::new();
    for a in ARCHES.iter().take(scale.arches) {
        arch_ids.push((arch(conn, a, true)?, *a));
    }
    let mut version_ids = Vec::new();
    for i in 0..scale.versions {
        let name = if i + 1 == scale.versions {
            "development".to_string()
        } else {
            (i + 2).to_string()
        };
        version_ids.push((version(conn, fedora, &name, 0, i % 13 == 5)?, name));
    }
    // Directories and repositories, in bulk.
    let mut dirs = Vec::new();
    let mut repos = Vec::new();
    for (vid, vname) in &version_ids {
        for (aid, aname) in &arch_ids {
            for (kind, path) in [("fedora", "releases"), ("updates-released-f", "updates")] {
                let dir = format!("pub/fedora/linux/{path}/{vname}/Everything/{aname}/os");
                dirs.push(NewDirectory {
                    name: dir.clone(),
                    files: None,
                    readable: true,
                    ctime: Some(0),
                });
                repos.push((
                    format!("{kind}-{vname}-{aname}"),
                    format!("{kind}-{vname}"),
                    *vid,
                    *aid,
                    dir,
                ));
            }
        }
    }
    for chunk in dirs.chunks(2000) {
        mm_core::insert_rows!(conn, directory::table, chunk)?;
    }
    let dir_ids: std::collections::HashMap<String, i32> = directory::table
        .select((directory::name, directory::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect();
    let new_repos: Vec<NewRepository> = repos
        .iter()
        .map(|(name, prefix, v, a, dir)| NewRepository {
            name: name.clone(),
            prefix: Some(prefix.clone()),
            category_id: Some(cat),
            version_id: Some(*v),
            arch_id: Some(*a),
            directory_id: dir_ids.get(dir).copied(),
            disabled: false,
        })
        .collect();
    for chunk in new_repos.chunks(2000) {
        mm_core::insert_rows!(conn, repository::table, chunk)?;
    }
    // Sites and hosts.
    let sites: Vec<NewSite> = (0..scale.hosts)
        .map(|i| {
            new_site(
                &format!("Site {i:04}"),
                Some(&format!("https://site{i}.example.org/")),
            )
        })
        .collect();
    for chunk in sites.chunks(1000) {
        mm_core::insert_rows!(conn, site::table, chunk)?;
    }
    let site_ids: std::collections::HashMap<String, i32> = site::table
        .select((site::name, site::id))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect();
    let hosts: Vec<NewHost> = (0..scale.hosts)
        .map(|i| {
            let mut h = NewHost::new(
                site_ids[&format!("Site {i:04}")],
                &format!("mirror{i:04}.example.org"),
                COUNTRIES[i % COUNTRIES.len()],
            );
            h.bandwidth_int = Some(100 * (1 + (i as i32 % 100)));
            h.internet2 = i % 7 == 0;
            h.comment = (i % 5 == 0).then(|| format!("Mirror number {i} & friends"));
            h.last_crawl_duration = Some(30 + (i as i64 % 600));
            h.crawl_failures = (i % 17 == 0) as i32;
            h
        })
        .collect();
    for chunk in hosts.chunks(1000) {
        mm_core::insert_rows!(conn, host::table, chunk)?;
    }
    // ~90% crawled: one UPDATE for all but every tenth host.
    let host_ids: Vec<(i32, String)> = host::table
        .select((host::id, host::name))
        .order(host::id)
        .load(conn)?;
    let crawled: Vec<i32> = host_ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 != 9)
        .map(|(_, (id, _))| *id)
        .collect();
    for chunk in crawled.chunks(5000) {
        diesel::update(host::table.filter(host::id.eq_any(chunk)))
            .set(host::last_crawled.eq(Some(epoch())))
            .execute(conn)?;
    }
    let hcs: Vec<NewHostCategory> = host_ids
        .iter()
        .enumerate()
        .map(|(i, (id, _))| NewHostCategory {
            host_id: Some(*id),
            category_id: Some(cat),
            always_up2date: i % 10 == 3,
        })
        .collect();
    for chunk in hcs.chunks(2000) {
        mm_core::insert_rows!(conn, host_category::table, chunk)?;
    }
    let hc_ids: std::collections::HashMap<i32, i32> = host_category::table
        .select((host_category::host_id, host_category::id))
        .load::<(Option<i32>, i32)>(conn)?
        .into_iter()
        .filter_map(|(h, id)| Some((h?, id)))
        .collect();
    let mut urls = Vec::new();
    let mut hcds = Vec::new();
    for (id, name) in &host_ids {
        let hc = hc_ids[id];
        for (scheme, priv_) in [
            ("https", false),
            ("http", false),
            ("rsync", false),
            ("https", true),
        ] {
            let p = if priv_ { "private" } else { "pub" };
            urls.push(NewHostCategoryUrl {
                host_category_id: hc,
                url: format!("{scheme}://{name}/{p}/fedora/linux"),
                private: priv_,
            });
        }
        for (vid, _) in &version_ids {
            if next() % 100 >= 60 {
                continue;
            }
            for (_, _, v, _, dir) in repos.iter().filter(|r| r.2 == *vid) {
                let _ = v;
                hcds.push(NewHostCategoryDir {
                    host_category_id: hc,
                    path: Some(dir.trim_start_matches("pub/fedora/linux/").to_string()),
                    up2date: next() % 100 < 85,
                    directory_id: dir_ids.get(dir).copied(),
                });
            }
        }
    }
    for chunk in urls.chunks(5000) {
        mm_core::insert_rows!(conn, host_category_url::table, chunk)?;
    }
    for chunk in hcds.chunks(5000) {
        mm_core::insert_rows!(conn, host_category_dir::table, chunk)?;
    }
    Ok(Filled {
        hosts: host_ids.len(),
        repositories: new_repos.len(),
        host_category_dirs: hcds.len(),
    })
}
