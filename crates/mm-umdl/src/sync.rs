//! Writing a scanned tree into the database: directories, category links, repositories,
//! versions, file details, deletions. Every batch is one transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::config::UmdlConfig;
use mm_core::models::*;
use mm_core::schema::*;
use regex::Regex;
use sha2::Digest;

use crate::UmdlError;
use crate::rules;
use crate::scan::{Tree, join_rel};

/// Rows per insert statement / directories per transaction.
const BATCH: usize = 500;

/// What a run did to one category.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub category: String,
    pub method: String,
    pub dirs_added: usize,
    pub dirs_updated: usize,
    pub dirs_deleted: usize,
    pub dirs_unchanged: usize,
    pub repos_created: usize,
    pub versions_created: usize,
    pub file_details_added: usize,
    pub file_details_expired: usize,
    pub seconds: f64,
    pub dry_run: bool,
    /// Set when deletions were refused (too many, or a partial rsync listing).
    pub delete_refused: Option<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}: {} dirs added, {} updated, {} deleted, {} unchanged; {} repositories and {} versions created; \
             {} file details added, {} expired; {:.1}s ({})",
            if self.dry_run { "dry run: " } else { "" },
            self.category,
            self.dirs_added,
            self.dirs_updated,
            self.dirs_deleted,
            self.dirs_unchanged,
            self.repos_created,
            self.versions_created,
            self.file_details_added,
            self.file_details_expired,
            self.seconds,
            self.method
        )?;
        if let Some(r) = &self.delete_refused {
            write!(f, "; deletion refused: {r}")?;
        }
        Ok(())
    }
}

/// The topmost of the directories about to go (a subtree is named by its root), at most
/// ten, for the sysadmin deciding between a failed mount and an intended removal.
fn gone_roots(gone: &[(String, i32)]) -> String {
    let mut names: Vec<&str> = gone.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    let mut roots: Vec<&str> = Vec::new();
    for n in names {
        let under_last = roots
            .last()
            .is_some_and(|r| n.strip_prefix(r).is_some_and(|rest| rest.starts_with('/')));
        if !under_last {
            roots.push(n);
        }
    }
    let shown = roots.len().min(10);
    let mut text = roots[..shown].join(", ");
    if roots.len() > shown {
        text.push_str(&format!(" … and {} more", roots.len() - shown));
    }
    text
}

/// The category as the database has it.
#[derive(Debug, Clone)]
pub struct CategoryCtx {
    pub category: Category,
    /// `directory.name` of the top directory, when `topdir_id` is set.
    pub topname: Option<String>,
}

/// Load a category by name; it must exist.
pub fn load_category(conn: &mut DbConn, name: &str) -> Result<CategoryCtx, UmdlError> {
    let category: Option<Category> = category::table
        .filter(category::name.eq(name))
        .select(Category::as_select())
        .first(conn)
        .optional()?;
    let category = category.ok_or_else(|| {
        UmdlError::Category(format!(
            "category {name:?} does not exist in the database; create it with the admin CLI (mirrormanager)"
        ))
    })?;
    let topname = match category.topdir_id {
        Some(id) => Some(
            directory::table
                .find(id)
                .select(directory::name)
                .first::<String>(conn)?,
        ),
        None => None,
    };
    Ok(CategoryCtx { category, topname })
}

/// The ctime the database has for each directory of a category, by path relative to the
/// category top (`""` is the top); directories without a ctime are left out.
pub fn stored_ctimes(
    conn: &mut DbConn,
    category_id: i32,
    topname: &str,
) -> Result<HashMap<String, i64>, UmdlError> {
    let rows: Vec<(String, Option<i64>)> = category_directory::table
        .inner_join(directory::table)
        .filter(category_directory::category_id.eq(category_id))
        .select((directory::name, directory::ctime))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, ctime)| Some((rel_of_opt(topname, &name)?.to_string(), ctime?)))
        .collect())
}

/// Everything [`sync`] needs.
#[derive(Debug)]
pub struct Job<'a> {
    pub ctx: &'a CategoryCtx,
    pub topname: &'a str,
    pub tree: &'a Tree,
    /// Where the tree is on this machine (repomd.xml and checksum files are read there).
    pub local_top: Option<&'a Path>,
    /// An rsync source: the files `file_detail` needs are fetched from there.
    pub remote: Option<&'a Remote>,
    /// False after a partial rsync listing.
    pub allow_delete: bool,
    pub umdl: &'a UmdlConfig,
    pub force: bool,
    pub delete_force: bool,
}

impl Job<'_> {
    fn full(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.topname.to_string()
        } else {
            join_rel(self.topname, rel)
        }
    }
}

/// Run [`sync`] in a transaction that is rolled back: reports what would change.
pub fn dry_run(conn: &mut DbConn, job: &Job) -> Result<Summary, UmdlError> {
    let mut out = None;
    let r = conn.transaction::<(), UmdlError, _>(|c| {
        out = Some(sync(c, job)?);
        Err(UmdlError::DryRun)
    });
    match r {
        Err(UmdlError::DryRun) => {
            let mut s = out.expect("set before rollback");
            s.dry_run = true;
            Ok(s)
        }
        Err(e) => Err(e),
        Ok(()) => unreachable!("dry run always rolls back"),
    }
}

/// Write a scanned tree into the database.
pub fn sync(conn: &mut DbConn, job: &Job) -> Result<Summary, UmdlError> {
    let cat_id = job.ctx.category.id;
    let mut summary = Summary {
        category: job.ctx.category.name.clone(),
        ..Summary::default()
    };

    // 0. product
    let product_id = ensure_product(conn, &job.ctx.category)?;

    // 1. what the database has for this category
    let existing: Vec<(i32, String, Option<i64>, bool)> = category_directory::table
        .inner_join(directory::table)
        .filter(category_directory::category_id.eq(cat_id))
        .select((
            directory::id,
            directory::name,
            directory::ctime,
            directory::readable,
        ))
        .load(conn)?;
    let mut ids: HashMap<String, i32> = HashMap::with_capacity(existing.len());
    let mut old_ctime: HashMap<String, Option<i64>> = HashMap::with_capacity(existing.len());
    let mut old_readable: HashMap<i32, bool> = HashMap::with_capacity(existing.len());
    for (id, name, ctime, readable) in existing {
        ids.insert(name.clone(), id);
        old_ctime.insert(name, ctime);
        old_readable.insert(id, readable);
    }

    // 2. classify
    let mut new_rels: Vec<&str> = Vec::new();
    let mut changed: BTreeSet<String> = BTreeSet::new(); // rel paths written this run
    let mut updates: Vec<&str> = Vec::new();
    // Unchanged directories whose readability changed with a parent's (release day's chmod
    // of `releases/N` changes the ctime of that directory only): (id, readable).
    let mut readability: Vec<(i32, bool)> = Vec::new();
    for (rel, info) in &job.tree.dirs {
        let full = job.full(rel);
        let old = old_ctime.get(&full);
        let unchanged = old.is_some_and(|ct| !job.force && *ct == Some(info.ctime));
        if !unchanged && info.names_only {
            // the walk took it for unchanged: the database changed under this run
            return Err(UmdlError::Scan(format!(
                "{full} changed in the database during the scan; run again"
            )));
        }
        match old {
            None => {
                new_rels.push(rel);
                changed.insert(rel.clone());
            }
            Some(_) if !unchanged => {
                updates.push(rel);
                changed.insert(rel.clone());
            }
            Some(_) => {
                summary.dirs_unchanged += 1;
                let id = ids[&full];
                if old_readable.get(&id).is_some_and(|r| *r != info.readable) {
                    readability.push((id, info.readable));
                }
            }
        }
    }

    // 3. new directories (and links for rows that exist but are not linked yet)
    for chunk in new_rels.chunks(BATCH) {
        conn.transaction::<(), UmdlError, _>(|c| {
            let names: Vec<String> = chunk.iter().map(|r| job.full(r)).collect();
            let found: Vec<(i32, String)> = directory::table
                .filter(directory::name.eq_any(&names))
                .select((directory::id, directory::name))
                .load(c)?;
            let found_names: HashSet<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
            let rows: Vec<_> = chunk
                .iter()
                .filter(|r| !found_names.contains(job.full(r).as_str()))
                .map(|r| {
                    let info = &job.tree.dirs[*r];
                    (
                        directory::name.eq(job.full(r)),
                        directory::files.eq(Some(mm_core::files::encode(&info.files))),
                        directory::readable.eq(info.readable),
                        directory::ctime.eq(Some(info.ctime)),
                    )
                })
                .collect();
            summary.dirs_added += rows.len();
            if !rows.is_empty() {
                mm_core::insert_rows!(c, directory::table, &rows)?;
            }
            // rows that existed unlinked get this scan's contents too
            for (id, name) in &found {
                let rel = rel_of(job.topname, name);
                let info = &job.tree.dirs[rel];
                diesel::update(directory::table.find(*id))
                    .set((
                        directory::files.eq(Some(mm_core::files::encode(&info.files))),
                        directory::readable.eq(info.readable),
                        directory::ctime.eq(Some(info.ctime)),
                    ))
                    .execute(c)?;
                summary.dirs_updated += 1;
            }
            let all: Vec<(i32, String)> = directory::table
                .filter(directory::name.eq_any(&names))
                .select((directory::id, directory::name))
                .load(c)?;
            let links: Vec<_> = all
                .iter()
                .map(|(id, _)| {
                    (
                        category_directory::category_id.eq(cat_id),
                        category_directory::directory_id.eq(*id),
                    )
                })
                .collect();
            mm_core::insert_rows!(c, category_directory::table, &links)?;
            for (id, name) in all {
                ids.insert(name, id);
            }
            Ok(())
        })?;
    }

    let top_id = *ids.get(job.topname).ok_or_else(|| {
        UmdlError::Scan(format!(
            "top directory {} missing from the scan",
            job.topname
        ))
    })?;
    if job.ctx.category.topdir_id.is_none() {
        diesel::update(category::table.find(cat_id))
            .set(category::topdir_id.eq(Some(top_id)))
            .execute(conn)?;
        log::info!(
            "{}: top directory set to {}",
            job.ctx.category.name,
            job.topname
        );
    }

    // 4. changed directories
    for chunk in updates.chunks(BATCH) {
        conn.transaction::<(), UmdlError, _>(|c| {
            for rel in chunk {
                let info = &job.tree.dirs[*rel];
                diesel::update(directory::table.find(ids[&job.full(rel)]))
                    .set((
                        directory::files.eq(Some(mm_core::files::encode(&info.files))),
                        directory::readable.eq(info.readable),
                        directory::ctime.eq(Some(info.ctime)),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })?;
        summary.dirs_updated += chunk.len();
    }
    for chunk in readability.chunks(BATCH) {
        conn.transaction::<(), UmdlError, _>(|c| {
            for (readable, group) in [true, false].map(|r| {
                let ids: Vec<i32> = chunk.iter().filter(|x| x.1 == r).map(|x| x.0).collect();
                (r, ids)
            }) {
                if !group.is_empty() {
                    diesel::update(directory::table.filter(directory::id.eq_any(&group)))
                        .set(directory::readable.eq(readable))
                        .execute(c)?;
                }
            }
            Ok(())
        })?;
    }
    if !readability.is_empty() {
        log::info!(
            "{}: readable flag of {} unchanged directories set from their parents'",
            job.ctx.category.name,
            readability.len()
        );
    }

    // 5. repositories and versions
    conn.transaction::<(), UmdlError, _>(|c| repositories(c, job, product_id, &ids, &mut summary))?;

    // 6. file details (repomd.xml and checksum files), then aging
    file_details(conn, job, &ids, &changed, &mut summary)?;

    // 7. deletions
    let gone: Vec<(String, i32)> = ids
        .iter()
        .filter(|(name, id)| {
            **id != top_id
                && !job
                    .tree
                    .dirs
                    .contains_key(rel_of_opt(job.topname, name).unwrap_or("\u{0}"))
        })
        .map(|(n, id)| (n.clone(), *id))
        .collect();
    if !gone.is_empty() {
        let total = old_ctime.len().max(1);
        let fraction = gone.len() as f64 / total as f64;
        if !job.allow_delete {
            summary.delete_refused = Some(format!(
                "{} directories are missing from a partial listing; nothing deleted",
                gone.len()
            ));
        } else if fraction > job.umdl.max_delete_fraction && !job.delete_force {
            summary.delete_refused = Some(format!(
                "{} of {} directories ({:.0}%) would be deleted, more than umdl.max_delete_fraction ({:.0}%); \
                 rerun with --delete-force if this is intended",
                gone.len(),
                total,
                fraction * 100.0,
                job.umdl.max_delete_fraction * 100.0
            ));
        }
        if summary.delete_refused.is_some() {
            log::warn!(
                "{}: deletion refused; missing from the master: {}",
                job.ctx.category.name,
                gone_roots(&gone)
            );
        } else {
            let mut gone_ids: Vec<i32> = gone.iter().map(|(_, id)| *id).collect();
            gone_ids.sort_unstable();
            for chunk in gone_ids.chunks(BATCH) {
                conn.transaction::<(), UmdlError, _>(|c| delete_directories(c, chunk))?;
            }
            for (n, _) in &gone {
                log::debug!("deleted directory {n}");
            }
            summary.dirs_deleted = gone.len();
        }
    }
    Ok(summary)
}

fn rel_of<'a>(topname: &str, full: &'a str) -> &'a str {
    rel_of_opt(topname, full).unwrap_or(full)
}

fn rel_of_opt<'a>(topname: &str, full: &'a str) -> Option<&'a str> {
    if full == topname {
        return Some("");
    }
    full.strip_prefix(topname)?.strip_prefix('/')
}

/// The product of a category, created (and linked) when the category has none:
/// `EPEL` for categories naming EPEL, `Fedora` for other `Fedora …` categories, else the
/// category's own name.
fn ensure_product(conn: &mut DbConn, cat: &Category) -> Result<i32, UmdlError> {
    if let Some(id) = cat.product_id {
        return Ok(id);
    }
    let name = if cat.name.to_ascii_uppercase().contains("EPEL") {
        "EPEL".to_string()
    } else if cat.name.starts_with("Fedora") {
        "Fedora".to_string()
    } else {
        cat.name.clone()
    };
    conn.transaction::<i32, UmdlError, _>(|c| {
        let find = |c: &mut DbConn| {
            product::table
                .filter(product::name.eq(&name))
                .select(product::id)
                .first::<i32>(c)
                .optional()
        };
        let id = match find(c)? {
            Some(id) => id,
            None => {
                diesel::insert_into(product::table)
                    .values(&NewProduct {
                        name: name.clone(),
                        publiclist: true,
                    })
                    .execute(c)?;
                log::info!("created product {name}");
                find(c)?.expect("just inserted")
            }
        };
        diesel::update(category::table.find(cat.id))
            .set(category::product_id.eq(Some(id)))
            .execute(c)?;
        Ok(id)
    })
}

/// Directories that are repositories: `repodata/repomd.xml`, or an ostree repo
/// (`summary` file and `objects/`).
fn repository_dirs(tree: &Tree) -> Vec<&str> {
    tree.dirs
        .iter()
        .filter(|(rel, info)| {
            (info.subdirs.contains("repodata")
                && tree.has_file(&join_rel(rel, "repodata"), "repomd.xml"))
                || (info.subdirs.contains("objects")
                    && info.files.iter().any(|f| f.name == "summary"))
        })
        .map(|(rel, _)| rel.as_str())
        .collect()
}

fn repositories(
    c: &mut DbConn,
    job: &Job,
    product_id: i32,
    ids: &HashMap<String, i32>,
    summary: &mut Summary,
) -> Result<(), UmdlError> {
    let skip: Vec<Regex> = job
        .umdl
        .skip_paths_for_version
        .iter()
        .map(|r| Regex::new(&format!("^(?:{r})")))
        .collect::<Result<_, _>>()
        .map_err(|e| UmdlError::Config(format!("umdl.skip_paths_for_version: {e}")))?;
    let prefix_rules =
        rules::PrefixRules::new(&job.umdl.repository_rules).map_err(UmdlError::Config)?;
    let mut arches: HashMap<String, i32> = arch::table
        .select((arch::name, arch::id))
        .load::<(String, i32)>(c)?
        .into_iter()
        .collect();
    let mut versions: HashMap<String, i32> = version::table
        .filter(version::product_id.eq(product_id))
        .select((version::name, version::id))
        .load::<(Option<String>, i32)>(c)?
        .into_iter()
        .filter_map(|(n, id)| n.map(|n| (n, id)))
        .collect();
    let repos: Vec<Repository> = repository::table.select(Repository::as_select()).load(c)?;
    let by_dir: HashSet<i32> = repos.iter().filter_map(|r| r.directory_id).collect();
    let mut by_key: HashMap<(String, i32), i32> = repos
        .iter()
        .filter_map(|r| Some(((r.prefix.clone()?, r.arch_id?), r.id)))
        .collect();
    let mut by_name: HashMap<String, i32> = repos.iter().map(|r| (r.name.clone(), r.id)).collect();
    let has_dir: HashSet<i32> = repos
        .iter()
        .filter(|r| r.directory_id.is_some())
        .map(|r| r.id)
        .collect();
    let mut claimed: HashSet<(String, i32)> = HashSet::new();

    for rel in repository_dirs(job.tree) {
        let name = job.full(rel);
        let Some(&dir_id) = ids.get(&name) else {
            continue;
        };
        if by_dir.contains(&dir_id)
            || rules::never_a_repository(&name)
            || skip.iter().any(|r| r.is_match(&name))
        {
            continue;
        }
        let known_arches: Vec<String> = arches.keys().cloned().collect();
        let known_versions: Vec<String> = versions.keys().cloned().collect();
        let (Some(ver), Some(arch_name)) = (
            rules::version_from_path(&name, &known_versions),
            rules::arch_from_path(&name, &known_arches),
        ) else {
            log::debug!("{name}: repository without a recognisable version or arch, skipped");
            continue;
        };
        let arch_id = match arches.get(&arch_name) {
            Some(id) => *id,
            None => {
                diesel::insert_into(arch::table)
                    .values(&NewArch {
                        name: arch_name.clone(),
                        publiclist: true,
                        primary_arch: arch_name != "source",
                    })
                    .execute(c)?;
                let id = arch::table
                    .filter(arch::name.eq(&arch_name))
                    .select(arch::id)
                    .first(c)?;
                log::info!("created arch {arch_name}");
                arches.insert(arch_name.clone(), id);
                id
            }
        };
        let version_id = match versions.get(&ver) {
            Some(id) => *id,
            None => {
                diesel::insert_into(version::table)
                    .values(&NewVersion {
                        name: Some(ver.clone()),
                        product_id: Some(product_id),
                        is_test: rules::is_test_path(&name),
                        display: true,
                        display_name: None,
                        ordered_mirrorlist: true,
                        sortorder: 0,
                        codename: None,
                    })
                    .execute(c)?;
                let id = version::table
                    .filter(version::name.eq(&ver))
                    .filter(version::product_id.eq(product_id))
                    .select(version::id)
                    .first(c)?;
                log::info!("created version {ver} (from {name})");
                summary.versions_created += 1;
                versions.insert(ver.clone(), id);
                id
            }
        };
        let prefix = prefix_rules.prefix(&name, &job.ctx.category.name, &ver, &arch_name);
        if let Some(p) = &prefix {
            if !claimed.insert((p.clone(), arch_id)) {
                log::warn!(
                    "{name}: repository {p} ({arch_name}) already found in this scan, skipped"
                );
                continue;
            }
            if let Some(&rid) = by_key.get(&(p.clone(), arch_id)) {
                if has_dir.contains(&rid) {
                    // Another directory already serves this repository (e.g. development/41
                    // and releases/41 on release day): it stays where it is, as in
                    // MirrorManager2. Moving it is `mirrormanager move-devel-to-release`'s
                    // job; a directory that disappears takes its repository with it.
                    log::debug!(
                        "{name}: repository {p} ({arch_name}) is served from another directory; left there"
                    );
                    continue;
                }
                // a repository without a directory: point it at this one
                diesel::update(repository::table.find(rid))
                    .set((
                        repository::directory_id.eq(Some(dir_id)),
                        repository::version_id.eq(Some(version_id)),
                        repository::category_id.eq(Some(job.ctx.category.id)),
                    ))
                    .execute(c)?;
                log::info!("repository {p} ({arch_name}) now at {name}");
                continue;
            }
        }
        if let Some(&rid) = by_name.get(&name) {
            diesel::update(repository::table.find(rid))
                .set((
                    repository::directory_id.eq(Some(dir_id)),
                    repository::version_id.eq(Some(version_id)),
                    repository::arch_id.eq(Some(arch_id)),
                    repository::prefix.eq(prefix.clone()),
                    repository::category_id.eq(Some(job.ctx.category.id)),
                ))
                .execute(c)?;
            continue;
        }
        diesel::insert_into(repository::table)
            .values(&NewRepository {
                name: name.clone(),
                prefix: prefix.clone(),
                category_id: Some(job.ctx.category.id),
                version_id: Some(version_id),
                arch_id: Some(arch_id),
                directory_id: Some(dir_id),
                disabled: false,
            })
            .execute(c)?;
        let rid: i32 = repository::table
            .filter(repository::name.eq(&name))
            .select(repository::id)
            .first(c)?;
        log::info!(
            "created repository {} ({arch_name}) at {name}",
            prefix.as_deref().unwrap_or("(no prefix)")
        );
        summary.repos_created += 1;
        by_name.insert(name.clone(), rid);
        if let Some(p) = prefix {
            by_key.insert((p, arch_id), rid);
        }
    }
    Ok(())
}

/// Why a file is read for `file_detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Repomd,
    Summary,
    Checksum,
}

/// Where an rsync source's repomd.xml and checksum files are fetched from.
#[derive(Debug, Clone)]
pub struct Remote {
    pub url: String,
    pub options: Option<String>,
}

/// Hashes of a file's bytes.
struct Hashes {
    md5: String,
    sha1: String,
    sha256: String,
    sha512: String,
}

fn hash_bytes(b: &[u8]) -> Hashes {
    Hashes {
        md5: hex::encode(md5::Md5::digest(b)),
        sha1: hex::encode(sha1::Sha1::digest(b)),
        sha256: hex::encode(sha2::Sha256::digest(b)),
        sha512: hex::encode(sha2::Sha512::digest(b)),
    }
}

/// The rows to drop of one file's versions `(timestamp, id)`, as MirrorManager2 ages them:
/// the newest stays; the one before it stays too until the newest is `max_stale_days - 1`
/// days old, so mirrors that have not synced the new file yet still match a metalink
/// alternate; any other goes once it is older than `max_stale_days`.
fn expired_versions(mut rows: Vec<(Option<i64>, i32)>, now: i64, max_stale_days: u32) -> Vec<i32> {
    let stale = now - i64::from(max_stale_days) * 86_400;
    let propagated = now - (i64::from(max_stale_days) - 1) * 86_400;
    rows.sort_by(|a, b| b.cmp(a)); // newest first
    let Some(newest) = rows.first().map(|r| r.0.unwrap_or(0)) else {
        return Vec::new();
    };
    let keep = if newest < propagated { 1 } else { 2 };
    rows.into_iter()
        .skip(keep)
        .filter(|(ts, _)| ts.unwrap_or(0) < stale)
        .map(|(_, id)| id)
        .collect()
}

fn file_details(
    conn: &mut DbConn,
    job: &Job,
    ids: &HashMap<String, i32>,
    changed: &BTreeSet<String>,
    summary: &mut Summary,
) -> Result<(), UmdlError> {
    let cat_id = job.ctx.category.id;
    let existing: Vec<FileDetail> = file_detail::table
        .inner_join(
            category_directory::table
                .on(category_directory::directory_id.eq(file_detail::directory_id)),
        )
        .filter(category_directory::category_id.eq(cat_id))
        .select(FileDetail::as_select())
        .load(conn)?;
    // newest (timestamp, id) row per (directory, file)
    let mut newest: HashMap<(i32, String), &FileDetail> = HashMap::new();
    for fd in &existing {
        let k = (fd.directory_id, fd.filename.clone());
        let better = newest
            .get(&k)
            .is_none_or(|cur| (fd.timestamp, fd.id) > (cur.timestamp, cur.id));
        if better {
            newest.insert(k, fd);
        }
    }
    let mut new_rows: Vec<NewFileDetail> = Vec::new();
    // which files to read: repomd.xml of new/changed repodata directories (or ones without
    // a row yet), ostree summaries and checksum files of new/changed directories
    let mut wanted: Vec<(&str, i32, String, Want)> = Vec::new();
    for (rel, info) in &job.tree.dirs {
        let Some(&dir_id) = ids.get(&job.full(rel)) else {
            continue;
        };
        let dir_changed = changed.contains(rel) || job.force;
        let is_repodata =
            rel.ends_with("repodata") && info.files.iter().any(|f| f.name == "repomd.xml");
        if is_repodata && (dir_changed || !newest.contains_key(&(dir_id, "repomd.xml".to_string())))
        {
            wanted.push((rel, dir_id, "repomd.xml".into(), Want::Repomd));
        }
        if !dir_changed {
            continue;
        }
        if info.subdirs.contains("objects") && info.files.iter().any(|f| f.name == "summary") {
            wanted.push((rel, dir_id, "summary".into(), Want::Summary));
        }
        for cf in info
            .files
            .iter()
            .filter(|f| mm_listing::checksum::is_checksum_file(&f.name))
        {
            wanted.push((rel, dir_id, cf.name.clone(), Want::Checksum));
        }
    }
    let fetched;
    let root: Option<&Path> = match (job.local_top, job.remote) {
        (Some(top), _) => Some(top),
        (None, _) if wanted.is_empty() => None,
        (None, Some(remote)) => {
            let paths: Vec<String> = wanted
                .iter()
                .map(|(rel, _, name, _)| join_rel(rel, name))
                .collect();
            match crate::scan::rsync_fetch(&remote.url, remote.options.as_deref(), &paths) {
                Ok(got) => {
                    fetched = got;
                    Some(fetched.1.as_path())
                }
                Err(e) => {
                    log::warn!(
                        "{}: cannot fetch repomd.xml and checksum files: {e}",
                        job.ctx.category.name
                    );
                    None
                }
            }
        }
        (None, None) => {
            log::debug!(
                "{}: saved listing; repomd.xml and checksum files are not read",
                job.ctx.category.name
            );
            None
        }
    };
    for (rel, dir_id, name, want) in wanted.iter().filter(|_| root.is_some()) {
        let root = root.expect("filtered");
        let info = &job.tree.dirs[*rel];
        let path = root.join(rel).join(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                log::warn!("{}: {e}", path.display());
                continue;
            }
        };
        let dir_id = *dir_id;
        let listed = info.files.iter().find(|f| &f.name == name);
        // a names-only directory (unchanged since the last walk) has no file times: stat
        let listed_time = if info.names_only {
            std::fs::metadata(&path).ok().map(|m| m.mtime())
        } else {
            listed.map(|f| f.timestamp)
        };
        match want {
            Want::Repomd | Want::Summary => {
                let h = hash_bytes(&bytes);
                let same = newest
                    .get(&(dir_id, name.clone()))
                    .is_some_and(|fd| fd.sha256.as_deref() == Some(h.sha256.as_str()));
                if same {
                    continue;
                }
                let ts = if *want == Want::Repomd {
                    match mm_listing::repomd::parse(&String::from_utf8_lossy(&bytes)) {
                        Ok(r) => r.timestamp(),
                        Err(e) => {
                            log::warn!("{}: {e}", path.display());
                            None
                        }
                    }
                } else {
                    None
                }
                .or(listed_time);
                new_rows.push(NewFileDetail {
                    directory_id: dir_id,
                    filename: name.clone(),
                    timestamp: ts,
                    size: Some(bytes.len() as i64),
                    sha1: Some(h.sha1),
                    md5: Some(h.md5),
                    sha256: Some(h.sha256),
                    sha512: Some(h.sha512),
                });
            }
            Want::Checksum => {
                let sums = mm_listing::checksum::parse(&String::from_utf8_lossy(&bytes));
                for (fname, s) in sums.files {
                    let Some(listed) = info.files.iter().find(|f| f.name == fname) else {
                        continue;
                    };
                    use mm_listing::checksum::Algo;
                    let get = |a: Algo| s.hashes.get(&a).cloned();
                    let row = NewFileDetail {
                        directory_id: dir_id,
                        filename: fname.clone(),
                        timestamp: Some(listed.timestamp),
                        size: Some(s.size.map_or(listed.size, |n| n as i64)),
                        sha1: get(Algo::Sha1),
                        md5: get(Algo::Md5),
                        sha256: get(Algo::Sha256),
                        sha512: get(Algo::Sha512),
                    };
                    if row.sha1.is_none()
                        && row.md5.is_none()
                        && row.sha256.is_none()
                        && row.sha512.is_none()
                    {
                        continue;
                    }
                    let same = newest.get(&(dir_id, fname.clone())).is_some_and(|fd| {
                        (row.sha256.is_none() || fd.sha256 == row.sha256)
                            && (row.sha1.is_none() || fd.sha1 == row.sha1)
                            && (row.md5.is_none() || fd.md5 == row.md5)
                            && (row.sha512.is_none() || fd.sha512 == row.sha512)
                    });
                    // several checksum files may name the same file: merge their hashes
                    if let Some(prev) = new_rows
                        .iter_mut()
                        .find(|r| r.directory_id == dir_id && r.filename == fname)
                    {
                        prev.sha1 = prev.sha1.take().or(row.sha1);
                        prev.md5 = prev.md5.take().or(row.md5);
                        prev.sha256 = prev.sha256.take().or(row.sha256);
                        prev.sha512 = prev.sha512.take().or(row.sha512);
                    } else if !same {
                        new_rows.push(row);
                    }
                }
            }
        }
    }
    summary.file_details_added = new_rows.len();
    for chunk in new_rows.chunks(BATCH) {
        conn.transaction::<(), UmdlError, _>(|c| {
            let rows: Vec<_> = chunk
                .iter()
                .map(|r| {
                    (
                        file_detail::directory_id.eq(r.directory_id),
                        file_detail::filename.eq(&r.filename),
                        file_detail::timestamp.eq(r.timestamp),
                        file_detail::size.eq(r.size),
                        file_detail::sha1.eq(&r.sha1),
                        file_detail::md5.eq(&r.md5),
                        file_detail::sha256.eq(&r.sha256),
                        file_detail::sha512.eq(&r.sha512),
                    )
                })
                .collect();
            mm_core::insert_rows!(c, file_detail::table, &rows)?;
            Ok(())
        })?;
    }

    let now = chrono::Utc::now().timestamp();
    let all: Vec<(i32, i32, String, Option<i64>)> = file_detail::table
        .inner_join(
            category_directory::table
                .on(category_directory::directory_id.eq(file_detail::directory_id)),
        )
        .filter(category_directory::category_id.eq(cat_id))
        .select((
            file_detail::id,
            file_detail::directory_id,
            file_detail::filename,
            file_detail::timestamp,
        ))
        .load(conn)?;
    type Rows = Vec<(Option<i64>, i32)>;
    let mut groups: BTreeMap<(i32, String), Rows> = BTreeMap::new();
    for (id, dir, name, ts) in all {
        groups.entry((dir, name)).or_default().push((ts, id));
    }
    let mut expire: Vec<i32> = Vec::new();
    for (_, rows) in groups {
        expire.extend(expired_versions(rows, now, job.umdl.max_stale_days));
    }
    summary.file_details_expired = expire.len();
    for chunk in expire.chunks(BATCH) {
        conn.transaction::<(), UmdlError, _>(|c| {
            diesel::delete(
                file_detail_file_group::table
                    .filter(file_detail_file_group::file_detail_id.eq_any(chunk)),
            )
            .execute(c)?;
            diesel::delete(file_detail::table.filter(file_detail::id.eq_any(chunk))).execute(c)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Delete directories with everything that points at them.
fn delete_directories(c: &mut DbConn, ids: &[i32]) -> Result<(), UmdlError> {
    let fds: Vec<i32> = file_detail::table
        .filter(file_detail::directory_id.eq_any(ids))
        .select(file_detail::id)
        .load(c)?;
    for chunk in fds.chunks(BATCH) {
        diesel::delete(
            file_detail_file_group::table
                .filter(file_detail_file_group::file_detail_id.eq_any(chunk)),
        )
        .execute(c)?;
    }
    diesel::delete(file_detail::table.filter(file_detail::directory_id.eq_any(ids))).execute(c)?;
    let repos: Vec<i32> = repository::table
        .filter(repository::directory_id.eq_any(ids))
        .select(repository::id)
        .load(c)?;
    if !repos.is_empty() {
        diesel::delete(
            propagation_stat::table.filter(propagation_stat::repository_id.eq_any(&repos)),
        )
        .execute(c)?;
        diesel::delete(repository::table.filter(repository::id.eq_any(&repos))).execute(c)?;
    }
    diesel::delete(host_category_dir::table.filter(host_category_dir::directory_id.eq_any(ids)))
        .execute(c)?;
    diesel::delete(
        directory_exclusive_host::table.filter(directory_exclusive_host::directory_id.eq_any(ids)),
    )
    .execute(c)?;
    diesel::delete(category_directory::table.filter(category_directory::directory_id.eq_any(ids)))
        .execute(c)?;
    // never delete a directory that is some category's top
    diesel::delete(
        directory::table
            .filter(directory::id.eq_any(ids))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                category::table.filter(category::topdir_id.eq(directory::id.nullable())),
            ))),
    )
    .execute(c)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{expired_versions, gone_roots};

    #[test]
    fn refused_deletions_are_named_by_their_roots() {
        let gone: Vec<(String, i32)> = [
            "pub/fedora/linux/releases/42/Everything",
            "pub/fedora/linux/releases/42",
            "pub/fedora/linux/releases/42/Everything/x86_64",
            "pub/fedora/linux/releases/420",
        ]
        .iter()
        .map(|n| (n.to_string(), 0))
        .collect();
        assert_eq!(
            gone_roots(&gone),
            "pub/fedora/linux/releases/42, pub/fedora/linux/releases/420"
        );
        let many: Vec<(String, i32)> = (0..12).map(|i| (format!("d{i:02}"), i)).collect();
        assert!(gone_roots(&many).ends_with("d09 … and 2 more"));
    }

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn file_versions_age_as_mirrormanager2() {
        // A new repomd.xml after ten quiet days: the previous one stays for the mirrors
        // that have not synced yet, the one before it goes.
        let rows = vec![
            (Some(NOW), 3),
            (Some(NOW - 10 * DAY), 2),
            (Some(NOW - 20 * DAY), 1),
        ];
        assert_eq!(expired_versions(rows, NOW, 3), [1]);
        // Once the newest is max_stale_days - 1 days old, the previous one goes too.
        let rows = vec![(Some(NOW - 2 * DAY - 1), 3), (Some(NOW - 10 * DAY), 2)];
        assert_eq!(expired_versions(rows, NOW, 3), [2]);
        // Recent versions stay; a missing timestamp counts as very old; one row always stays.
        let rows = vec![(Some(NOW), 3), (Some(NOW - DAY), 2), (None, 1)];
        assert_eq!(expired_versions(rows, NOW, 3), [1]);
        let rows = vec![
            (Some(NOW), 3),
            (Some(NOW - DAY), 2),
            (Some(NOW - 2 * DAY), 1),
        ];
        assert!(expired_versions(rows, NOW, 3).is_empty());
        assert!(expired_versions(vec![(None, 1)], NOW, 0).is_empty());
        assert!(expired_versions(Vec::new(), NOW, 3).is_empty());
        // max_stale_days = 0: every replaced version goes at once.
        let rows = vec![(Some(NOW), 2), (Some(NOW - 1), 1)];
        assert_eq!(expired_versions(rows, NOW, 0), [1]);
    }
}
