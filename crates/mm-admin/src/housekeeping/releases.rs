//! Release-day and end-of-life moves of repositories between directory trees.
//!
//! - [`move_devel_to_release`]: a released version's repositories still point at
//!   `…/development/V/…`; they are re-pointed at the matching `…/releases/V/…` directory
//!   (directory, name and version updated, as MM2 does; the prefix is kept, so clients asking
//!   for `repo=fedora-V` keep getting answers).
//! - [`move_to_archive`]: an EOL version's repositories are re-pointed at the archive
//!   category's copy of their directory (`pub/fedora/linux/X` → `pub/archive/fedora/linux/X`)
//!   and moved into the archive category.

use std::collections::HashSet;

use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;
use serde::Serialize;

use crate::error::{AdminError, Result};
use crate::find;

/// One repository re-pointed (or, with a dry run, that would be).
#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub repository_id: i32,
    pub prefix: Option<String>,
    pub from: String,
    pub to: String,
}

/// What a move job did.
#[derive(Debug, Default, Serialize)]
pub struct MoveReport {
    pub moved: Vec<Move>,
    /// Repositories left alone, with the reason.
    pub skipped: Vec<String>,
}

/// The version named `name` of the category's product.
fn version_of(conn: &mut DbConn, cat: &Category, name: &str) -> Result<Option<Version>> {
    let Some(pid) = cat.product_id else {
        return Ok(None);
    };
    Ok(version::table
        .select(Version::as_select())
        .filter(version::product_id.eq(pid))
        .filter(version::name.eq(name))
        .first(conn)
        .optional()?)
}

fn directory_named(conn: &mut DbConn, name: &str) -> Result<Option<Directory>> {
    Ok(directory::table
        .select(Directory::as_select())
        .filter(directory::name.eq(name))
        .first(conn)
        .optional()?)
}

/// Replace the path segments `from` (e.g. `development/41`) by `to` in `path`, matching whole
/// segments only (`development/41` does not match `development/410`).
fn replace_segments(path: &str, from: &str, to: &str) -> Option<String> {
    let padded = format!("/{path}/");
    let pat = format!("/{from}/");
    let at = padded.find(&pat)?;
    let out = format!("{}/{to}/{}", &padded[..at], &padded[at + pat.len()..]);
    Some(out.trim_matches('/').to_owned())
}

/// Re-point repositories of version `version` from `development/V` to `releases/V`, in the
/// given category or in every category whose product has that version.
pub fn move_devel_to_release(
    conn: &mut DbConn,
    version_name: &str,
    category_key: Option<&str>,
    dry_run: bool,
) -> Result<MoveReport> {
    let cats = match category_key {
        Some(k) => vec![find::category_by(conn, k)?],
        None => category::table
            .select(Category::as_select())
            .order(category::id)
            .load(conn)?,
    };
    let from = format!("development/{version_name}");
    let to = format!("releases/{version_name}");
    let mut report = MoveReport::default();
    let mut taken: HashSet<i32> = HashSet::new();
    let mut found_version = false;
    for cat in cats {
        let Some(ver) = version_of(conn, &cat, version_name)? else {
            continue;
        };
        found_version = true;
        let repos: Vec<(Repository, String)> = repository::table
            .inner_join(directory::table)
            .filter(repository::category_id.eq(cat.id))
            .filter(repository::prefix.is_not_null())
            .select((Repository::as_select(), directory::name))
            .order(repository::id)
            .load(conn)?;
        for (repo, dir_name) in repos {
            let Some(target) = replace_segments(&dir_name, &from, &to) else {
                continue;
            };
            let Some(new_dir) = directory_named(conn, &target)? else {
                log::warn!(
                    "repository {}: target directory {target} not found",
                    repo.id
                );
                report
                    .skipped
                    .push(format!("{dir_name}: target directory {target} not found"));
                continue;
            };
            let users: i64 = repository::table
                .filter(repository::directory_id.eq(new_dir.id))
                .count()
                .get_result(conn)?;
            if users > 0 || !taken.insert(new_dir.id) {
                report
                    .skipped
                    .push(format!("{dir_name}: {target} already has a repository"));
                continue;
            }
            if !dry_run {
                let clash: i64 = repository::table
                    .filter(repository::name.eq(&new_dir.name))
                    .filter(repository::id.ne(repo.id))
                    .count()
                    .get_result(conn)?;
                if clash > 0 {
                    return Err(AdminError::Conflict(format!(
                        "another repository is already named {:?}",
                        new_dir.name
                    )));
                }
                diesel::update(repository::table.find(repo.id))
                    .set((
                        repository::name.eq(&new_dir.name),
                        repository::version_id.eq(ver.id),
                        repository::directory_id.eq(new_dir.id),
                    ))
                    .execute(conn)?;
            }
            report.moved.push(Move {
                repository_id: repo.id,
                prefix: repo.prefix.clone(),
                from: dir_name,
                to: target,
            });
        }
    }
    if !found_version {
        return Err(AdminError::not_found(
            "version",
            match category_key {
                Some(c) => format!("{version_name} (of the product of category {c})"),
                None => version_name.to_owned(),
            },
        ));
    }
    Ok(report)
}

fn topdir(conn: &mut DbConn, cat: &Category) -> Result<String> {
    let id = cat.topdir_id.ok_or_else(|| {
        AdminError::Invalid(format!("category {:?} has no top directory", cat.name))
    })?;
    Ok(directory::table
        .find(id)
        .select(directory::name)
        .first(conn)?)
}

/// The archive copy of `dir` (under `orig_top`): `<archive_top>/<orig_top without pub/>/<rest>`,
/// e.g. `pub/fedora/linux/releases/38/x` → `pub/archive/fedora/linux/releases/38/x`.
pub fn archive_path(dir: &str, orig_top: &str, archive_top: &str) -> Option<String> {
    let rest = dir.strip_prefix(orig_top)?.strip_prefix('/')?;
    let tree = orig_top.strip_prefix("pub/").unwrap_or(orig_top);
    Some(format!("{archive_top}/{tree}/{rest}"))
}

/// Move the repositories of EOL version `version_name` of `orig_key` into `archive_key`,
/// pointing each at the archive copy of its directory. A missing archive directory is an
/// error and nothing is changed.
pub fn move_to_archive(
    conn: &mut DbConn,
    version_name: &str,
    orig_key: &str,
    archive_key: &str,
    dry_run: bool,
) -> Result<MoveReport> {
    let orig = find::category_by(conn, orig_key)?;
    let archive = find::category_by(conn, archive_key)?;
    if orig.id == archive.id {
        return Err(AdminError::Invalid(
            "the archive category is the original category".into(),
        ));
    }
    let ver = version_of(conn, &orig, version_name)?.ok_or_else(|| {
        AdminError::not_found(
            "version",
            format!("{version_name} (of the product of {})", orig.name),
        )
    })?;
    let orig_top = topdir(conn, &orig)?;
    let archive_top = topdir(conn, &archive)?;
    let repos: Vec<(Repository, String)> = repository::table
        .inner_join(directory::table)
        .filter(repository::category_id.eq(orig.id))
        .filter(repository::version_id.eq(ver.id))
        .select((Repository::as_select(), directory::name))
        .order(repository::id)
        .load(conn)?;
    let mut report = MoveReport::default();
    for (repo, dir_name) in repos {
        let Some(target) = archive_path(&dir_name, &orig_top, &archive_top) else {
            report
                .skipped
                .push(format!("{dir_name}: not under {orig_top}"));
            continue;
        };
        let new_dir = directory_named(conn, &target)?.ok_or_else(|| {
            AdminError::Invalid(format!(
                "no directory {target} in {} for {dir_name}",
                archive.name
            ))
        })?;
        if !dry_run {
            diesel::update(repository::table.find(repo.id))
                .set((
                    repository::directory_id.eq(new_dir.id),
                    repository::category_id.eq(archive.id),
                ))
                .execute(conn)?;
        }
        report.moved.push(Move {
            repository_id: repo.id,
            prefix: repo.prefix.clone(),
            from: dir_name,
            to: target,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_replaced_whole() {
        assert_eq!(
            replace_segments(
                "pub/fedora/linux/development/41/Everything/x86_64/os",
                "development/41",
                "releases/41"
            ),
            Some("pub/fedora/linux/releases/41/Everything/x86_64/os".into())
        );
        assert_eq!(
            replace_segments(
                "pub/fedora/linux/development/410/Everything",
                "development/41",
                "releases/41"
            ),
            None
        );
        assert_eq!(
            replace_segments(
                "pub/fedora/linux/development/rawhide/x",
                "development/41",
                "releases/41"
            ),
            None
        );
    }

    #[test]
    fn archive_paths() {
        assert_eq!(
            archive_path(
                "pub/fedora/linux/releases/38/Everything/x86_64/os",
                "pub/fedora/linux",
                "pub/archive"
            ),
            Some("pub/archive/fedora/linux/releases/38/Everything/x86_64/os".into())
        );
        assert_eq!(
            archive_path("pub/epel/8/x", "pub/epel", "pub/archive"),
            Some("pub/archive/epel/8/x".into())
        );
        assert_eq!(
            archive_path("pub/fedora/linuxx/a", "pub/fedora/linux", "pub/archive"),
            None
        );
    }
}
