//! mm-cache: build the mirrorlist cache (`mirrormanager.MirrorList`) from the database.
//!
//! A fixed handful of bulk SELECTs (one per table, never one per row) are joined in hash
//! maps, so generation is linear in the size of the database. The rules follow Fedora's
//! generator: only active hosts (site and host, user and admin flags); public hosts go to
//! `Global` and `ByCountry`, Internet2 hosts (private ones only with `internet2_clients`)
//! to `ByCountryInternet2`, other private hosts only to `ByHostId` (reachable through their
//! netblocks); `always_up2date` hosts carry every
//! directory of their category.

pub mod cli;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, ToSocketAddrs};
use std::str::FromStr;

use diesel::prelude::*;
use ipnet::IpNet;
use mm_cachefile::*;
use mm_core::DbConn;
use mm_core::schema::*;

/// Errors generating the cache.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("cannot read {table}: {source}")]
    Query {
        table: &'static str,
        #[source]
        source: diesel::result::Error,
    },
}

/// Generation options.
#[derive(Debug, Clone, Default)]
pub struct GenOptions {
    /// Resolve host netblocks given as DNS names (Fedora's generator always does).
    pub resolve_netblocks: bool,
    /// Creation time to record (seconds since the epoch); `None` = now.
    pub time: Option<u64>,
}

fn q<T>(table: &'static str, r: QueryResult<T>) -> Result<T, GenError> {
    r.map_err(|source| GenError::Query { table, source })
}

/// Normalise a netblock to CIDR: bare addresses and `addr/dotted-mask` are accepted; DNS
/// names are resolved only when `resolve` is set. Returns every network it stands for.
pub fn normalize_netblock(s: &str, resolve: bool) -> Vec<String> {
    let s = s.trim();
    if let Ok(n) = IpNet::from_str(s) {
        return vec![n.trunc().to_string()];
    }
    if let Ok(a) = IpAddr::from_str(s) {
        return vec![IpNet::from(a).to_string()];
    }
    if let Some((addr, mask)) = s.split_once('/')
        && let (Ok(addr), Ok(mask)) = (IpAddr::from_str(addr), IpAddr::from_str(mask))
        && let Ok(len) = ipnet::ip_mask_to_prefix(mask)
        && let Ok(n) = IpNet::new(addr, len)
    {
        return vec![n.trunc().to_string()];
    }
    if resolve && !s.is_empty() && !s.contains('/') {
        match (s, 0).to_socket_addrs() {
            Ok(addrs) => {
                let set: BTreeSet<String> = addrs.map(|a| IpNet::from(a.ip()).to_string()).collect();
                return set.into_iter().collect();
            }
            Err(e) => log::warn!("netblock {s:?}: cannot resolve: {e}"),
        }
    } else {
        log::warn!("netblock {s:?} is not a network; skipped (use --resolve-netblocks to resolve names)");
    }
    Vec::new()
}

struct HostRow {
    country: String,
    bandwidth: i64,
    private: bool,
    internet2: bool,
    internet2_clients: bool,
    asn: Option<i32>,
    asn_clients: bool,
    max_connections: i32,
}

/// Per-directory accumulation.
#[derive(Default)]
struct DirAcc {
    subpath: Option<String>,
    global: BTreeSet<i64>,
    by_country: BTreeMap<String, BTreeSet<i64>>,
    by_country_i2: BTreeMap<String, BTreeSet<i64>>,
    by_host: BTreeMap<i64, BTreeSet<i64>>,
    ordered: Option<bool>,
}

fn srim(m: BTreeMap<String, BTreeSet<i64>>) -> Vec<StringRepeatedIntMap> {
    m.into_iter()
        .map(|(key, v)| StringRepeatedIntMap {
            key,
            value: v.into_iter().collect(),
        })
        .collect()
}

/// Build the cache from the database.
pub fn generate(conn: &mut DbConn, opts: &GenOptions) -> Result<MirrorList, GenError> {
    let time = opts.time.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });

    // Sites and hosts: which hosts are active.
    let sites: HashMap<i32, (bool, bool)> = q(
        "site",
        site::table
            .select((site::id, site::private, site::admin_active, site::user_active))
            .load::<(i32, bool, bool, bool)>(conn),
    )?
    .into_iter()
    .map(|(id, private, a, u)| (id, (private, a && u)))
    .collect();
    #[allow(clippy::type_complexity)]
    let host_rows: Vec<(i32, Option<i32>, bool, bool, String, Option<i32>, bool, bool, bool, Option<i32>, bool, i32)> = q(
        "host",
        host::table
            .select((
                host::id,
                host::site_id,
                host::admin_active,
                host::user_active,
                host::country,
                host::bandwidth_int,
                host::private,
                host::internet2,
                host::internet2_clients,
                host::asn,
                host::asn_clients,
                host::max_connections,
            ))
            .load(conn),
    )?;
    let mut hosts: BTreeMap<i64, HostRow> = BTreeMap::new();
    for (id, site_id, ha, hu, country, bw, private, i2, i2c, asn, asn_clients, maxc) in host_rows {
        let Some((site_private, site_active)) = site_id.and_then(|s| sites.get(&s)).copied() else {
            continue;
        };
        if !(site_active && ha && hu) {
            continue;
        }
        hosts.insert(
            id as i64,
            HostRow {
                country: country.trim().to_ascii_uppercase(),
                bandwidth: bw.unwrap_or(100).clamp(1, 10_000) as i64,
                private: private || site_private,
                internet2: i2,
                internet2_clients: i2c,
                asn,
                asn_clients,
                max_connections: maxc,
            },
        );
    }

    // Categories, their top directories and directories.
    let categories: Vec<(i32, Option<i32>)> = q(
        "category",
        category::table.select((category::id, category::topdir_id)).load(conn),
    )?;
    let dir_names: HashMap<i32, String> = q(
        "directory",
        directory::table.select((directory::id, directory::name)).load::<(i32, String)>(conn),
    )?
    .into_iter()
    .collect();
    let mut cat_dirs: HashMap<i32, Vec<i32>> = HashMap::new();
    for (c, d) in q(
        "category_directory",
        category_directory::table
            .select((category_directory::category_id, category_directory::directory_id))
            .load::<(i32, i32)>(conn),
    )? {
        cat_dirs.entry(c).or_default().push(d);
    }

    // Host categories, their up-to-date directories and URLs.
    let hcs: Vec<(i32, Option<i32>, Option<i32>, bool)> = q(
        "host_category",
        host_category::table
            .select((
                host_category::id,
                host_category::host_id,
                host_category::category_id,
                host_category::always_up2date,
            ))
            .load(conn),
    )?;
    let mut hc_urls: HashMap<i32, Vec<(i64, String)>> = HashMap::new();
    for (id, hc, url, private) in q(
        "host_category_url",
        host_category_url::table
            .select((
                host_category_url::id,
                host_category_url::host_category_id,
                host_category_url::url,
                host_category_url::private,
            ))
            .load::<(i32, i32, String, bool)>(conn),
    )? {
        if !private {
            hc_urls.entry(hc).or_default().push((id as i64, url));
        }
    }
    let mut up2date: HashMap<i32, Vec<i32>> = HashMap::new();
    for (hc, d) in q(
        "host_category_dir",
        host_category_dir::table
            .filter(host_category_dir::up2date.eq(true))
            .select((host_category_dir::host_category_id, host_category_dir::directory_id))
            .load::<(i32, Option<i32>)>(conn),
    )? {
        if let Some(d) = d {
            up2date.entry(hc).or_default().push(d);
        }
    }

    // Repositories.
    let arches: HashMap<i32, String> = q(
        "arch",
        arch::table.select((arch::id, arch::name)).load::<(i32, String)>(conn),
    )?
    .into_iter()
    .collect();
    let ordered_versions: HashMap<i32, bool> = q(
        "version",
        version::table
            .select((version::id, version::ordered_mirrorlist))
            .load::<(i32, bool)>(conn),
    )?
    .into_iter()
    .collect();
    #[allow(clippy::type_complexity)]
    let repos: Vec<(Option<String>, Option<i32>, Option<i32>, Option<i32>, bool)> = q(
        "repository",
        repository::table
            .select((
                repository::prefix,
                repository::arch_id,
                repository::version_id,
                repository::directory_id,
                repository::disabled,
            ))
            .load(conn),
    )?;

    // Directories of every category with a top directory.
    let mut dirs: BTreeMap<i32, DirAcc> = BTreeMap::new();
    for (cat, topdir) in &categories {
        let Some(top) = topdir.and_then(|t| dir_names.get(&t)) else {
            continue;
        };
        for d in cat_dirs.get(cat).into_iter().flatten() {
            let Some(name) = dir_names.get(d) else { continue };
            let sub = if name == top {
                String::new()
            } else if let Some(rest) = name.strip_prefix(top.as_str()).and_then(|r| r.strip_prefix('/')) {
                rest.to_string()
            } else {
                name.clone()
            };
            let acc = dirs.entry(*d).or_default();
            acc.subpath.get_or_insert(sub);
        }
    }
    let cat_has_top: HashSet<i32> = categories
        .iter()
        .filter(|(_, t)| t.is_some_and(|t| dir_names.contains_key(&t)))
        .map(|(c, _)| *c)
        .collect();

    let mut used_urls: BTreeMap<i64, String> = BTreeMap::new();
    for (hc_id, host_id, cat_id, always) in &hcs {
        let (Some(host_id), Some(cat_id)) = (host_id, cat_id) else { continue };
        let host_id = *host_id as i64;
        let Some(h) = hosts.get(&host_id) else { continue };
        if !cat_has_top.contains(cat_id) {
            continue;
        }
        let Some(urls) = hc_urls.get(hc_id).filter(|u| !u.is_empty()) else {
            continue;
        };
        let carried: Vec<i32> = if *always {
            cat_dirs.get(cat_id).cloned().unwrap_or_default()
        } else {
            let in_cat: HashSet<i32> = cat_dirs.get(cat_id).into_iter().flatten().copied().collect();
            up2date
                .get(hc_id)
                .into_iter()
                .flatten()
                .copied()
                .filter(|d| in_cat.contains(d))
                .collect()
        };
        let mut any = false;
        for d in carried {
            let Some(acc) = dirs.get_mut(&d) else { continue };
            any = true;
            acc.by_host.entry(host_id).or_default().extend(urls.iter().map(|(id, _)| *id));
            if !h.private {
                acc.global.insert(host_id);
                acc.by_country.entry(h.country.clone()).or_default().insert(host_id);
            }
            // Internet2: public Internet2 hosts, and private ones that serve Internet2 clients.
            if h.internet2 && (!h.private || h.internet2_clients) {
                acc.by_country_i2.entry(h.country.clone()).or_default().insert(host_id);
            }
        }
        if any {
            for (id, url) in urls {
                used_urls.insert(*id, url.clone());
            }
        }
    }

    let mut ml = MirrorList {
        time,
        ..Default::default()
    };

    // Repositories → directories, disabled repositories, ordered mirror lists.
    let mut repo_map: BTreeMap<String, String> = BTreeMap::new();
    let mut disabled: BTreeSet<String> = BTreeSet::new();
    for (prefix, arch_id, version_id, dir_id, is_disabled) in repos {
        let Some(prefix) = prefix.filter(|p| !p.is_empty()) else { continue };
        if is_disabled {
            disabled.insert(prefix.clone());
        }
        let (Some(arch), Some(version), Some(dir)) = (
            arch_id.and_then(|a| arches.get(&a)),
            version_id,
            dir_id.and_then(|d| dir_names.get(&d).map(|n| (d, n))),
        ) else {
            continue;
        };
        repo_map.insert(format!("{prefix}+{arch}"), dir.1.clone());
        if let Some(acc) = dirs.get_mut(&dir.0)
            && let Some(o) = ordered_versions.get(&version)
        {
            acc.ordered = Some(acc.ordered.unwrap_or(false) || *o);
        }
    }
    ml.repo_arch_to_directory_name = repo_map
        .into_iter()
        .map(|(key, value)| StringStringMap { key, value })
        .collect();
    ml.disabled_repository_cache = disabled
        .into_iter()
        .map(|key| StringBoolMap { key, value: true })
        .collect();

    // File details: directory → file → versions, newest first.
    #[allow(clippy::type_complexity)]
    let fds: Vec<(i32, i32, String, Option<i64>, Option<i64>, Option<String>, Option<String>, Option<String>, Option<String>)> = q(
        "file_detail",
        file_detail::table
            .select((
                file_detail::id,
                file_detail::directory_id,
                file_detail::filename,
                file_detail::timestamp,
                file_detail::size,
                file_detail::sha1,
                file_detail::md5,
                file_detail::sha256,
                file_detail::sha512,
            ))
            .load(conn),
    )?;
    /// Versions of one file: (timestamp, row id, details).
    type Versions = Vec<(i64, i32, FileDetailsType)>;
    let mut by_dir: BTreeMap<&str, BTreeMap<String, Versions>> = BTreeMap::new();
    for (id, dir_id, filename, ts, size, sha1, md5, sha256, sha512) in fds {
        let Some(dname) = dir_names.get(&dir_id) else { continue };
        let ts = ts.unwrap_or(0);
        by_dir.entry(dname.as_str()).or_default().entry(filename).or_default().push((
            ts,
            id,
            FileDetailsType {
                timestamp: ts.max(0) as u64,
                size: size.unwrap_or(0).max(0) as u64,
                sha1,
                md5,
                sha256,
                sha512,
            },
        ));
    }
    ml.file_details_cache = by_dir
        .into_iter()
        .map(|(directory, files)| FileDetailsCacheDirectoryType {
            directory: directory.to_string(),
            file_details_cache_files: files
                .into_iter()
                .map(|(filename, mut v)| {
                    v.sort_by_key(|x| std::cmp::Reverse((x.0, x.1)));
                    FileDetailsCacheFilesType {
                        filename,
                        file_details: v.into_iter().map(|(_, _, d)| d).collect(),
                    }
                })
                .collect(),
        })
        .collect();

    // Simple maps.
    ml.repository_redirect_cache = q(
        "repository_redirect",
        repository_redirect::table
            .select((repository_redirect::from_repo, repository_redirect::to_repo))
            .order(repository_redirect::from_repo)
            .load::<(String, Option<String>)>(conn),
    )?
    .into_iter()
    .filter_map(|(key, to)| to.map(|value| StringStringMap { key, value }))
    .collect();
    ml.country_continent_redirect_cache = q(
        "country_continent_redirect",
        country_continent_redirect::table
            .select((country_continent_redirect::country, country_continent_redirect::continent))
            .order(country_continent_redirect::country)
            .load::<(String, String)>(conn),
    )?
    .into_iter()
    .map(|(k, v)| StringStringMap {
        key: k.to_ascii_uppercase(),
        value: v.to_ascii_uppercase(),
    })
    .collect();
    let mut nc: BTreeMap<String, String> = BTreeMap::new();
    for (net, country) in q(
        "netblock_country",
        netblock_country::table
            .select((netblock_country::netblock, netblock_country::country))
            .load::<(String, String)>(conn),
    )? {
        for n in normalize_netblock(&net, false) {
            nc.insert(n, country.to_ascii_uppercase());
        }
    }
    ml.netblock_country_cache = nc.into_iter().map(|(key, value)| StringStringMap { key, value }).collect();

    // Per-host maps (active hosts only).
    let mut asn: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (id, h) in &hosts {
        if h.asn_clients
            && let Some(a) = h.asn
        {
            asn.entry(a as i64).or_default().insert(*id);
        }
    }
    for (host_id, a) in q(
        "host_peer_asn",
        host_peer_asn::table
            .select((host_peer_asn::host_id, host_peer_asn::asn))
            .load::<(Option<i32>, i32)>(conn),
    )? {
        if let Some(h) = host_id.map(i64::from).filter(|h| hosts.contains_key(h)) {
            asn.entry(a as i64).or_default().insert(h);
        }
    }
    ml.host_asn_cache = asn
        .into_iter()
        .map(|(key, v)| IntRepeatedIntMap {
            key,
            value: v.into_iter().collect(),
        })
        .collect();
    ml.host_max_connection_cache = hosts
        .iter()
        .map(|(k, h)| IntIntMap {
            key: *k,
            value: h.max_connections as i64,
        })
        .collect();
    ml.host_country_cache = hosts
        .iter()
        .map(|(k, h)| IntStringMap {
            key: *k,
            value: h.country.clone(),
        })
        .collect();
    ml.host_bandwidth_cache = hosts
        .iter()
        .map(|(k, h)| IntIntMap {
            key: *k,
            value: h.bandwidth,
        })
        .collect();
    let mut allowed: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (host_id, c) in q(
        "host_country_allowed",
        host_country_allowed::table
            .select((host_country_allowed::host_id, host_country_allowed::country))
            .load::<(Option<i32>, String)>(conn),
    )? {
        if let Some(h) = host_id.map(i64::from).filter(|h| hosts.contains_key(h)) {
            allowed.entry(h).or_default().insert(c.trim().to_ascii_uppercase());
        }
    }
    ml.host_country_allowed_cache = allowed
        .into_iter()
        .map(|(key, v)| IntRepeatedStringMap {
            key,
            value: v.into_iter().collect(),
        })
        .collect();
    let mut nets: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for (host_id, net) in q(
        "host_netblock",
        host_netblock::table
            .select((host_netblock::host_id, host_netblock::netblock))
            .load::<(Option<i32>, Option<String>)>(conn),
    )? {
        let (Some(h), Some(net)) = (host_id.map(i64::from).filter(|h| hosts.contains_key(h)), net) else {
            continue;
        };
        for n in normalize_netblock(&net, opts.resolve_netblocks) {
            nets.entry(n).or_default().insert(h);
        }
    }
    ml.host_netblock_cache = srim(nets);
    let locations: HashMap<i32, String> = q(
        "location",
        location::table.select((location::id, location::name)).load::<(i32, String)>(conn),
    )?
    .into_iter()
    .collect();
    let mut loc: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for (h, l) in q(
        "host_location",
        host_location::table
            .select((host_location::host_id, host_location::location_id))
            .load::<(i32, i32)>(conn),
    )? {
        if let Some(name) = locations.get(&l)
            && hosts.contains_key(&(h as i64))
        {
            loc.entry(name.clone()).or_default().insert(h as i64);
        }
    }
    ml.location_cache = srim(loc);

    ml.hc_url_cache = used_urls
        .into_iter()
        .map(|(key, value)| IntStringMap { key, value })
        .collect();
    ml.mirror_list_cache = dirs
        .into_iter()
        .filter_map(|(id, acc)| {
            let directory = dir_names.get(&id)?.clone();
            Some(MirrorListCacheType {
                directory,
                global: acc.global.into_iter().collect(),
                subpath: acc.subpath,
                by_country: srim(acc.by_country),
                by_country_internet2: srim(acc.by_country_i2),
                by_host_id: acc
                    .by_host
                    .into_iter()
                    .map(|(key, v)| IntRepeatedIntMap {
                        key,
                        value: v.into_iter().collect(),
                    })
                    .collect(),
                ordered_mirror_list: acc.ordered,
            })
        })
        .collect();
    Ok(ml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netblocks_are_normalised() {
        assert_eq!(normalize_netblock("10.1.2.3/8", false), ["10.0.0.0/8"]);
        assert_eq!(normalize_netblock("192.0.2.1", false), ["192.0.2.1/32"]);
        assert_eq!(normalize_netblock("192.0.2.0/255.255.255.0", false), ["192.0.2.0/24"]);
        assert_eq!(normalize_netblock("2001:db8::1/32", false), ["2001:db8::/32"]);
        assert!(normalize_netblock("localhost", false).is_empty());
        assert!(normalize_netblock("localhost", true).contains(&"127.0.0.1/32".to_string()));
    }
}
