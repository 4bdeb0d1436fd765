//! mm-cache: build the mirrorlist cache (`mirrormanager.MirrorList`) from the database.
//!
//! A fixed handful of bulk SELECTs (one per table, never one per row; host_category_dir in
//! slices of host category ids so the driver never holds millions of rows at once) are
//! joined in hash maps and flat vectors, so generation is linear in the size of the
//! database. The rules follow Fedora's generator: only active hosts (site and host, user and
//! admin flags); public hosts go to `Global` and `ByCountry`, Internet2 hosts (private ones
//! only with `internet2_clients`) to `ByCountryInternet2`, other private hosts only to
//! `ByHostId` (reachable through their netblocks); `always_up2date` hosts carry every
//! directory of their category.
//!
//! Every (directory, host category) pair is one `u64` in a single vector, sorted once; the
//! per-directory entries are encoded from it one at a time straight into the output
//! ([`wire`]), so memory stays near the size of that vector rather than the whole message.

pub mod cli;
pub mod wire;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::net::{IpAddr, ToSocketAddrs};
use std::str::FromStr;

use diesel::prelude::*;
use ipnet::IpNet;
use mm_cachefile::*;
use mm_core::DbConn;
use mm_core::schema::*;
use prost::Message;

/// Errors generating the cache.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("cannot read {table}: {source}")]
    Query {
        table: &'static str,
        #[source]
        source: diesel::result::Error,
    },
    #[error("parallel reader: {0}")]
    Reader(String),
    #[error("cannot write the cache: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Cache(#[from] mm_cachefile::CacheError),
}

/// Generation options.
#[derive(Debug, Clone, Default)]
pub struct GenOptions {
    /// Resolve host netblocks given as DNS names (Fedora's generator always does).
    pub resolve_netblocks: bool,
    /// Creation time to record (seconds since the epoch); `None` = now.
    pub time: Option<u64>,
    /// PostgreSQL only: the database URL again, so that `host_category_dir` (the one big
    /// table) is read on [`PARALLEL_READERS`] more connections while this one loads the
    /// rest. All connections read one snapshot (`pg_export_snapshot`), so the cache is as
    /// consistent as a single-connection read. `None`: everything on `conn`.
    pub parallel_url: Option<String>,
}

/// Extra connections reading `host_category_dir` when [`GenOptions::parallel_url`] is set.
pub const PARALLEL_READERS: usize = 2;

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
                let set: BTreeSet<String> =
                    addrs.map(|a| IpNet::from(a.ip()).to_string()).collect();
                return set.into_iter().collect();
            }
            Err(e) => log::warn!("netblock {s:?}: cannot resolve: {e}"),
        }
    } else {
        log::warn!(
            "netblock {s:?} is not a network; skipped (use --resolve-netblocks to resolve names)"
        );
    }
    Vec::new()
}

fn srim(m: BTreeMap<String, BTreeSet<i64>>) -> Vec<StringRepeatedIntMap> {
    m.into_iter()
        .map(|(key, v)| StringRepeatedIntMap {
            key,
            value: v.into_iter().collect(),
        })
        .collect()
}

/// An active host, as the cache needs it.
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

/// A map from database ids to dense indexes: a plain vector when the ids are dense enough,
/// a hash map otherwise.
enum IdIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<i32, u32>),
}

impl IdIndex {
    /// `ids[i]` gets index `i`.
    fn new(ids: impl Iterator<Item = i32> + Clone) -> IdIndex {
        let (n, max, min) = ids
            .clone()
            .fold((0usize, i32::MIN, i32::MAX), |(n, hi, lo), id| {
                (n + 1, hi.max(id), lo.min(id))
            });
        if n > 0 && min >= 0 && (max as usize) <= 4 * n + 4096 {
            let mut v = vec![u32::MAX; max as usize + 1];
            for (i, id) in ids.enumerate() {
                v[id as usize] = i as u32;
            }
            IdIndex::Dense(v)
        } else {
            IdIndex::Sparse(ids.enumerate().map(|(i, id)| (id, i as u32)).collect())
        }
    }

    fn get(&self, id: i32) -> Option<u32> {
        match self {
            IdIndex::Dense(v) => usize::try_from(id)
                .ok()
                .and_then(|i| v.get(i))
                .copied()
                .filter(|i| *i != u32::MAX),
            IdIndex::Sparse(m) => m.get(&id).copied(),
        }
    }
}

/// A host category that can put URLs in the cache (active host, category with a top
/// directory, at least one public URL), in (host id, host category id) order.
struct HostCat {
    id: i32,
    host_id: i64,
    /// Index into the categories that have a top directory.
    cat: usize,
    always: bool,
    /// Its public host_category_url ids, sorted.
    urls: Vec<i64>,
    /// Index into the sorted country names.
    country: u32,
    public: bool,
    internet2: bool,
}

/// Row ids of host_category_dir fetched per query: bounds the memory the database driver
/// holds for one result.
const DIR_ROWS_PER_QUERY: usize = 1 << 20;

/// What [`generate_into`] wrote: the counts `--check` prints and the defects
/// [`mm_cachefile::validate`] would find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub summary: Summary,
    pub defects: Vec<String>,
}

/// Build the cache from the database (decoded; see [`generate_into`] for the streaming form).
pub fn generate(conn: &mut DbConn, opts: &GenOptions) -> Result<MirrorList, GenError> {
    let mut bytes = Vec::new();
    generate_into(conn, opts, &mut bytes)?;
    Ok(mm_cachefile::decode(
        &bytes,
        std::path::Path::new("generated cache"),
    )?)
}

/// Build the cache from the database and write it, encoded, to `out`.
///
/// The small fields are built as a `MirrorList` and encoded first; the per-directory entries
/// (`MirrorListCache`, the last field) follow one at a time, encoded straight from flat
/// (directory, host category) pairs, so the whole message is never held in memory.
pub fn generate_into(
    conn: &mut DbConn,
    opts: &GenOptions,
    out: &mut dyn Write,
) -> Result<Generated, GenError> {
    let Some(url) = opts.parallel_url.clone() else {
        return generate_with(conn, opts, out, None);
    };
    // One read-only snapshot for every connection.
    let snapshot = match mm_core::db::begin_shared_snapshot(conn) {
        Ok(Some(id)) => id,
        Ok(None) => return generate_with(conn, opts, out, None),
        Err(e) => return Err(GenError::Reader(e.to_string())),
    };
    let result = (|| {
        let (first, last) = hcd_id_range(conn)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<PairsChunk>(64);
        std::thread::scope(|scope| {
            if let (Some(first), Some(last)) = (first, last) {
                for k in 0..PARALLEL_READERS {
                    let (tx, url, snapshot) = (tx.clone(), url.clone(), snapshot.clone());
                    scope.spawn(move || {
                        if let Err(e) = read_hcd_slices(&url, &snapshot, first, last, k, &tx) {
                            let _ = tx.send(Err(e));
                        }
                    });
                }
            }
            drop(tx);
            let r = generate_with(conn, opts, out, Some(&rx));
            // On an early error the readers stop at their next send.
            drop(rx);
            r
        })
    })();
    let ended = mm_core::db::end_snapshot(conn).map_err(|e| GenError::Reader(e.to_string()));
    let generated = result?;
    ended?;
    Ok(generated)
}

/// A chunk of up-to-date (host category id, directory id) rows from a parallel reader.
type PairsChunk = Result<Vec<(i32, i32)>, GenError>;
type PairsTx = std::sync::mpsc::SyncSender<PairsChunk>;
type PairsRx = std::sync::mpsc::Receiver<PairsChunk>;

/// The smallest and largest `host_category_dir` row id.
fn hcd_id_range(conn: &mut DbConn) -> Result<(Option<i32>, Option<i32>), GenError> {
    q(
        "host_category_dir",
        host_category_dir::table
            .select((
                diesel::dsl::min(host_category_dir::id),
                diesel::dsl::max(host_category_dir::id),
            ))
            .first::<(Option<i32>, Option<i32>)>(conn),
    )
}

/// One reader of [`generate_into`]'s parallel read: its own connection on the shared
/// snapshot, every `PARALLEL_READERS`-th slice of row ids from the `k`-th, up-to-date
/// (host category, directory) pairs sent in chunks.
fn read_hcd_slices(
    url: &str,
    snapshot: &str,
    first: i32,
    last: i32,
    k: usize,
    tx: &PairsTx,
) -> Result<(), GenError> {
    let reader = |e: mm_core::db::DbError| GenError::Reader(e.to_string());
    let mut conn = mm_core::connect(url).map_err(reader)?;
    mm_core::db::join_snapshot(&mut conn, snapshot).map_err(reader)?;
    let step = DIR_ROWS_PER_QUERY as i64 / 4;
    let mut lo = i64::from(first) + k as i64 * step;
    while lo <= i64::from(last) {
        let hi = (lo + step - 1).min(i64::from(last));
        let rows = q(
            "host_category_dir",
            host_category_dir::table
                .filter(host_category_dir::id.between(lo as i32, hi as i32))
                .filter(host_category_dir::up2date.eq(true))
                .filter(host_category_dir::directory_id.is_not_null())
                .select((
                    host_category_dir::host_category_id,
                    host_category_dir::directory_id.assume_not_null(),
                ))
                .load::<(i32, i32)>(&mut conn),
        )?;
        if tx.send(Ok(rows)).is_err() {
            return Ok(());
        }
        lo += step * PARALLEL_READERS as i64;
    }
    mm_core::db::end_snapshot(&mut conn).map_err(reader)
}

/// [`generate_into`] on one connection, `host_category_dir` pairs taken from `parallel`
/// when the parallel readers run.
fn generate_with(
    conn: &mut DbConn,
    opts: &GenOptions,
    out: &mut dyn Write,
    parallel: Option<&PairsRx>,
) -> Result<Generated, GenError> {
    let time = opts.time.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    let mut defects = Vec::new();

    // Sites and hosts: which hosts are active.
    let sites: HashMap<i32, (bool, bool)> = q(
        "site",
        site::table
            .select((
                site::id,
                site::private,
                site::admin_active,
                site::user_active,
            ))
            .load::<(i32, bool, bool, bool)>(conn),
    )?
    .into_iter()
    .map(|(id, private, a, u)| (id, (private, a && u)))
    .collect();
    #[allow(clippy::type_complexity)]
    let host_rows: Vec<(
        i32,
        Option<i32>,
        bool,
        bool,
        String,
        Option<i32>,
        bool,
        bool,
        bool,
        Option<i32>,
        bool,
        i32,
    )> = q(
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
    // Countries interned: index order is name order, the order of ByCountry.
    let countries: Vec<&str> = hosts
        .values()
        .map(|h| h.country.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let country_index: HashMap<&str, u32> = countries
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as u32))
        .collect();

    // Categories, their top directories and directories.
    let categories: Vec<(i32, Option<i32>)> = q(
        "category",
        category::table
            .select((category::id, category::topdir_id))
            .order(category::id)
            .load(conn),
    )?;
    let dir_names: HashMap<i32, String> = q(
        "directory",
        directory::table
            .select((directory::id, directory::name))
            .load::<(i32, String)>(conn),
    )?
    .into_iter()
    .collect();
    let mut cat_dirs: HashMap<i32, Vec<i32>> = HashMap::new();
    for (c, d) in q(
        "category_directory",
        category_directory::table
            .select((
                category_directory::category_id,
                category_directory::directory_id,
            ))
            .load::<(i32, i32)>(conn),
    )? {
        cat_dirs.entry(c).or_default().push(d);
    }

    // The cache's directories: those of every category with a top directory (categories in
    // id order), with the subpath of the first category that lists them. A directory listed
    // by another category too takes that category's hosts only when the subpath is the same
    // there (the same top directory): a host's URLs lead to its category's top directory,
    // so with another subpath they would lead nowhere.
    let subpath_of = |name: &str, top: &str| -> String {
        if name == top {
            String::new()
        } else if let Some(rest) = name.strip_prefix(top).and_then(|r| r.strip_prefix('/')) {
            rest.to_string()
        } else {
            name.to_string()
        }
    };
    let mut subpaths: BTreeMap<i32, String> = BTreeMap::new();
    let mut topped: Vec<i32> = Vec::new();
    // Per category in `topped`: the directories whose hosts it gives.
    let mut members: Vec<Vec<i32>> = Vec::new();
    for (cat, topdir) in &categories {
        let Some(top) = topdir.and_then(|t| dir_names.get(&t)) else {
            continue;
        };
        topped.push(*cat);
        let mut mine = Vec::new();
        let mut elsewhere = 0usize;
        for d in cat_dirs.get(cat).into_iter().flatten() {
            let Some(name) = dir_names.get(d) else {
                continue;
            };
            let sub = subpath_of(name, top);
            match subpaths.entry(*d) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(sub);
                    mine.push(*d);
                }
                std::collections::btree_map::Entry::Occupied(e) => {
                    if *e.get() == sub {
                        mine.push(*d);
                    } else {
                        elsewhere += 1;
                    }
                }
            }
        }
        if elsewhere > 0 {
            log::warn!(
                "category {cat} lists {elsewhere} directories that belong to another category's top directory; its hosts are not offered for them"
            );
        }
        members.push(mine);
    }
    let dir_ids: Vec<i32> = subpaths.keys().copied().collect();
    let dir_index = IdIndex::new(dir_ids.iter().copied());
    // Per category with a top directory: its directories (as indexes) and their bit set.
    let cat_of: HashMap<i32, usize> = topped.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let words = dir_ids.len().div_ceil(64);
    let mut cat_dir_idx: Vec<Vec<u32>> = Vec::with_capacity(topped.len());
    let mut cat_bits: Vec<Vec<u64>> = Vec::with_capacity(topped.len());
    for mine in &members {
        let mut idx: Vec<u32> = mine.iter().filter_map(|d| dir_index.get(*d)).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut bits = vec![0u64; words];
        for i in &idx {
            bits[*i as usize / 64] |= 1 << (i % 64);
        }
        cat_dir_idx.push(idx);
        cat_bits.push(bits);
    }
    drop(cat_dirs);

    // Host categories that can contribute, and their public URLs.
    let hc_rows: Vec<(i32, Option<i32>, Option<i32>, bool)> = q(
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
    let mut hcs: Vec<HostCat> = Vec::new();
    for (id, host_id, cat_id, always) in hc_rows {
        let (Some(host_id), Some(cat_id)) = (host_id, cat_id) else {
            continue;
        };
        let host_id = host_id as i64;
        let (Some(h), Some(&cat)) = (hosts.get(&host_id), cat_of.get(&cat_id)) else {
            continue;
        };
        let Some(urls) = hc_urls.get(&id).filter(|u| !u.is_empty()) else {
            continue;
        };
        let mut urls: Vec<i64> = urls.iter().map(|(u, _)| *u).collect();
        urls.sort_unstable();
        urls.dedup();
        hcs.push(HostCat {
            id,
            host_id,
            cat,
            always,
            urls,
            country: country_index[h.country.as_str()],
            public: !h.private,
            // Internet2: public Internet2 hosts, and private ones that serve Internet2 clients.
            internet2: h.internet2 && (!h.private || h.internet2_clients),
        });
    }
    hcs.sort_unstable_by_key(|hc| (hc.host_id, hc.id));

    // (directory index, host category rank) pairs, as `dir << 32 | rank`: sorted, they give
    // each directory's host categories in host order.
    let wanted: usize = hcs.iter().map(|hc| cat_dir_idx[hc.cat].len()).sum();
    let mut pairs: Vec<u64> = Vec::with_capacity(wanted);
    for (rank, hc) in hcs.iter().enumerate() {
        if hc.always {
            pairs.extend(
                cat_dir_idx[hc.cat]
                    .iter()
                    .map(|d| (u64::from(*d) << 32) | rank as u64),
            );
        }
    }
    // The up-to-date directories of the others, read in slices of row ids (the physical
    // order of the table, so each slice is a cheap range scan).
    let by_id: Vec<(i32, u32)> = hcs
        .iter()
        .enumerate()
        .filter(|(_, hc)| !hc.always)
        .map(|(rank, hc)| (hc.id, rank as u32))
        .collect();
    let hc_index = IdIndex::new(by_id.iter().map(|(id, _)| *id));
    let mut take = |hc: i32, d: i32| {
        let Some(i) = hc_index.get(hc) else { return };
        let rank = by_id[i as usize].1;
        let Some(di) = dir_index.get(d) else { return };
        if cat_bits[hcs[rank as usize].cat][di as usize / 64] & (1 << (di % 64)) != 0 {
            pairs.push((u64::from(di) << 32) | u64::from(rank));
        }
    };
    if let Some(rx) = parallel {
        // Chunks in any order: the pairs are sorted below.
        for chunk in rx.iter() {
            for (hc, d) in chunk? {
                take(hc, d);
            }
        }
    } else if let (Some(first), Some(last)) = hcd_id_range(conn)?
        && !by_id.is_empty()
    {
        let mut lo = i64::from(first);
        while lo <= i64::from(last) {
            let hi = (lo + DIR_ROWS_PER_QUERY as i64 - 1).min(i64::from(last));
            let iter = q(
                "host_category_dir",
                host_category_dir::table
                    .filter(host_category_dir::id.between(lo as i32, hi as i32))
                    .filter(host_category_dir::up2date.eq(true))
                    .select((
                        host_category_dir::host_category_id,
                        host_category_dir::directory_id,
                    ))
                    .load_iter::<(i32, Option<i32>), diesel::connection::DefaultLoadingMode>(conn),
            )?;
            for row in iter {
                if let (hc, Some(d)) = q("host_category_dir", row)? {
                    take(hc, d);
                }
            }
            lo = hi + 1;
        }
    }
    drop(hc_index);
    drop(by_id);
    pairs.sort_unstable();
    pairs.dedup();

    // URLs of the host categories that carry at least one directory.
    let mut used = vec![false; hcs.len()];
    for p in &pairs {
        used[(*p & 0xffff_ffff) as usize] = true;
    }
    let mut used_urls: BTreeMap<i64, String> = BTreeMap::new();
    let mut used_hosts: BTreeSet<i64> = BTreeSet::new();
    for (hc, _) in hcs.iter().zip(&used).filter(|(_, u)| **u) {
        used_hosts.insert(hc.host_id);
        for (id, url) in &hc_urls[&hc.id] {
            used_urls.insert(*id, url.clone());
        }
    }
    drop(hc_urls);

    let mut ml = MirrorList {
        time,
        ..Default::default()
    };

    // Repositories.
    let arches: HashMap<i32, String> = q(
        "arch",
        arch::table
            .select((arch::id, arch::name))
            .load::<(i32, String)>(conn),
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
    // Repositories → directories, disabled repositories, ordered mirror lists.
    let mut ordered: Vec<Option<bool>> = vec![None; dir_ids.len()];
    let mut repo_map: BTreeMap<String, String> = BTreeMap::new();
    let mut disabled: BTreeSet<String> = BTreeSet::new();
    for (prefix, arch_id, version_id, dir_id, is_disabled) in repos {
        let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
            continue;
        };
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
        if let Some(i) = dir_index.get(dir.0)
            && let Some(o) = ordered_versions.get(&version)
        {
            let acc = &mut ordered[i as usize];
            *acc = Some(acc.unwrap_or(false) || *o);
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
    let fds: Vec<(
        i32,
        i32,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = q(
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
        let Some(dname) = dir_names.get(&dir_id) else {
            continue;
        };
        let ts = ts.unwrap_or(0);
        by_dir
            .entry(dname.as_str())
            .or_default()
            .entry(filename)
            .or_default()
            .push((
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
            .select((
                country_continent_redirect::country,
                country_continent_redirect::continent,
            ))
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
            .order(netblock_country::id)
            .load::<(String, String)>(conn),
    )? {
        // A network listed twice: the first row wins (Fedora's server uses the first match).
        for n in normalize_netblock(&net, false) {
            nc.entry(n).or_insert_with(|| country.to_ascii_uppercase());
        }
    }
    ml.netblock_country_cache = nc
        .into_iter()
        .map(|(key, value)| StringStringMap { key, value })
        .collect();

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
        // A peer ASN counts, like the host's own, only when the host serves ASN clients.
        if let Some(h) = host_id
            .map(i64::from)
            .filter(|h| hosts.get(h).is_some_and(|h| h.asn_clients))
        {
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
            allowed
                .entry(h)
                .or_default()
                .insert(c.trim().to_ascii_uppercase());
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
        let (Some(h), Some(net)) = (
            host_id.map(i64::from).filter(|h| hosts.contains_key(h)),
            net,
        ) else {
            continue;
        };
        for n in normalize_netblock(&net, opts.resolve_netblocks) {
            nets.entry(n).or_default().insert(h);
        }
    }
    ml.host_netblock_cache = srim(nets);
    let locations: HashMap<i32, String> = q(
        "location",
        location::table
            .select((location::id, location::name))
            .load::<(i32, String)>(conn),
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

    // The defects `validate` looks for that can arise from the data (the rest hold by
    // construction: every host listed has URLs, every URL id is in HCUrlCache).
    for u in &ml.hc_url_cache {
        if u.value.is_empty() {
            defects.push(format!("HCUrlCache: URL id {} is empty", u.key));
        }
    }
    let mut seen: HashSet<&str> = HashSet::with_capacity(dir_ids.len());
    for (i, id) in dir_ids.iter().enumerate() {
        let name = dir_names[id].as_str();
        if name.is_empty() {
            defects.push(format!("MirrorListCache[{i}]: empty directory name"));
        } else if !seen.insert(name) {
            defects.push(format!("MirrorListCache: directory {name} listed twice"));
        }
    }
    for (i, d) in ml.file_details_cache.iter().enumerate() {
        if d.directory.is_empty() {
            defects.push(format!("FileDetailsCache[{i}]: empty directory name"));
        }
    }
    for r in &ml.repo_arch_to_directory_name {
        if !seen.contains(r.value.as_str()) {
            defects.push(format!(
                "RepoArchToDirectoryName: {} points to directory {} which has no MirrorListCache entry",
                r.key, r.value
            ));
        }
    }
    drop(seen);
    let summary = Summary {
        time,
        directories: dir_ids.len(),
        hosts: used_hosts.len(),
        urls: ml.hc_url_cache.len(),
        repos: ml.repo_arch_to_directory_name.len(),
    };

    // Everything but MirrorListCache, then one MirrorListCache record per directory.
    let mut buf = ml.encode_to_vec();
    drop(ml);
    let mut rec = wire::DirRecord::default();
    let mut group: Vec<u32> = Vec::new();
    let mut urls: Vec<i64> = Vec::new();
    let mut by_country: Vec<(u32, i64)> = Vec::new();
    let mut by_i2: Vec<(u32, i64)> = Vec::new();
    let mut p = 0;
    for (di, (id, subpath)) in subpaths.iter().enumerate() {
        let start = p;
        while p < pairs.len() && (pairs[p] >> 32) as usize == di {
            p += 1;
        }
        let here = &pairs[start..p];
        rec.start(&dir_names[id]);
        by_country.clear();
        by_i2.clear();
        let mut last = None;
        for k in here {
            let hc = &hcs[(k & 0xffff_ffff) as usize];
            if last == Some(hc.host_id) {
                continue;
            }
            last = Some(hc.host_id);
            if hc.public {
                rec.global(hc.host_id);
                by_country.push((hc.country, hc.host_id));
            }
            if hc.internet2 {
                by_i2.push((hc.country, hc.host_id));
            }
        }
        rec.subpath(subpath);
        for (i2, list) in [(false, &mut by_country), (true, &mut by_i2)] {
            list.sort_unstable();
            for chunk in list.chunk_by(|a, b| a.0 == b.0) {
                rec.country(
                    i2,
                    countries[chunk[0].0 as usize],
                    chunk.iter().map(|(_, h)| *h),
                );
            }
        }
        // One entry per host: the URLs of all its host categories carrying the directory.
        let mut i = 0;
        while i < here.len() {
            group.clear();
            let host = hcs[(here[i] & 0xffff_ffff) as usize].host_id;
            while i < here.len() && hcs[(here[i] & 0xffff_ffff) as usize].host_id == host {
                group.push((here[i] & 0xffff_ffff) as u32);
                i += 1;
            }
            if let [one] = group[..] {
                rec.host(host, &hcs[one as usize].urls);
            } else {
                urls.clear();
                for r in &group {
                    urls.extend_from_slice(&hcs[*r as usize].urls);
                }
                urls.sort_unstable();
                urls.dedup();
                rec.host(host, &urls);
            }
        }
        if let Some(o) = ordered[di] {
            rec.ordered(o);
        }
        rec.finish(&mut buf);
        if buf.len() >= 1 << 20 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    Ok(Generated { summary, defects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netblocks_are_normalised() {
        assert_eq!(normalize_netblock("10.1.2.3/8", false), ["10.0.0.0/8"]);
        assert_eq!(normalize_netblock("192.0.2.1", false), ["192.0.2.1/32"]);
        assert_eq!(
            normalize_netblock("192.0.2.0/255.255.255.0", false),
            ["192.0.2.0/24"]
        );
        assert_eq!(
            normalize_netblock("2001:db8::1/32", false),
            ["2001:db8::/32"]
        );
        assert!(normalize_netblock("localhost", false).is_empty());
        assert!(normalize_netblock("localhost", true).contains(&"127.0.0.1/32".to_string()));
    }
}
