//! `mirrormanager emergency-expire-repo`: after a bad `repomd.xml` was published, make
//! clients trust only the newest metadata of a repository: older `file_detail` rows of its
//! directory tree are deleted (no metalink alternates) and its `host_category_dir` rows are
//! set not up to date except on always-up-to-date host categories, until the crawler sees
//! the new metadata on each mirror.

use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result};
use crate::housekeeping::expire;
use crate::output;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["repo", "version"])))]
pub struct Opts {
    /// The repository prefix (the `repo=` of mirrorlist requests, e.g. updates-released-f41)
    #[arg(long)]
    pub repo: Option<String>,
    /// Only the repository of this architecture (default: every architecture of the prefix)
    #[arg(long, requires = "repo")]
    pub arch: Option<String>,
    /// Every repository of this version (MM2's form), with --product
    #[arg(long, requires = "product")]
    pub version: Option<String>,
    /// The product of --version (e.g. Fedora)
    #[arg(long, requires = "version")]
    pub product: Option<String>,
    /// Print what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

fn repositories(conn: &mut DbConn, opts: &Opts) -> Result<Vec<Repository>> {
    let mut q = repository::table
        .select(Repository::as_select())
        .order(repository::id)
        .into_boxed();
    let what;
    if let Some(prefix) = &opts.repo {
        q = q.filter(repository::prefix.eq(prefix.clone()));
        what = match &opts.arch {
            Some(a) => {
                let arch_id: i32 = arch::table
                    .filter(arch::name.eq(a))
                    .select(arch::id)
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| AdminError::not_found("arch", a.clone()))?;
                q = q.filter(repository::arch_id.eq(arch_id));
                format!("{prefix} {a}")
            }
            None => prefix.clone(),
        };
    } else {
        let (p, v) = (
            opts.product.as_deref().unwrap_or(""),
            opts.version.as_deref().unwrap_or(""),
        );
        let product = crate::find::product_by(conn, p)?;
        let version_id: i32 = version::table
            .filter(version::product_id.eq(product.id))
            .filter(version::name.eq(v))
            .select(version::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| AdminError::not_found("version", format!("{} {v}", product.name)))?;
        q = q.filter(repository::version_id.eq(version_id));
        what = format!("{} {v}", product.name);
    }
    let repos = q.load(conn)?;
    if repos.is_empty() {
        return Err(AdminError::not_found("repository", what));
    }
    Ok(repos)
}

pub fn run(conn: &mut DbConn, opts: Opts) -> Result<()> {
    output::in_transaction(conn, |conn, out| {
        let repos = repositories(conn, &opts)?;
        let mut reports = Vec::new();
        for r in &repos {
            reports.push(expire::emergency_expire(conn, r, opts.dry_run)?);
        }
        if opts.json {
            out.json(&reports);
            return Ok(());
        }
        let (del, marked) = if opts.dry_run {
            ("would delete", "would mark")
        } else {
            ("deleted", "marked")
        };
        for r in &reports {
            match &r.directory {
                None => out.line(format_args!(
                    "{}: no directory, nothing to expire",
                    r.repository
                )),
                Some(d) => {
                    out.line(format_args!(
                        "{} ({}): {del} {} older file details in {} directories; {marked} {} mirror directories not up to date",
                        r.repository, d, r.file_details_deleted, r.directories, r.marked_not_up2date
                    ));
                    for f in &r.files {
                        out.line(format_args!("  {f}"));
                    }
                }
            }
        }
        Ok(())
    })
}
