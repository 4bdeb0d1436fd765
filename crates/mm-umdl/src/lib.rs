//! update-master-directory-list (umdl): scan the master tree of each configured category
//! into the database — directories and their files, repositories, versions, and the
//! `file_detail` rows metalinks are made from.
//!
//! Flow per category: take the lock `umdl-<slug>`, read the tree ([`scan`]), then write it
//! ([`sync`]) in batches, one transaction each, so a killed run leaves a consistent
//! database (every written directory is linked to its category; repositories and file
//! details are written after the directories they point to).
//!
//! The category must exist in the database. When its `topdir_id` is NULL and the source
//! is a local `directory`, the top directory row is created from the configured path
//! relative to `umdl.prefix` (`/srv/pub/fedora/linux` with prefix `/srv/` →
//! `pub/fedora/linux`) and `category.topdir_id` set; rsync and file sources need the
//! top directory to exist already, since their URL or listing does not say where under
//! the prefix they live.

pub mod cli;
pub mod generate;
pub mod rules;
pub mod scan;
pub mod sync;

use std::path::{Path, PathBuf};
use std::time::Instant;

use mm_core::Config;
use mm_core::config::{MasterDirectory, SourceType};

pub use sync::Summary;

/// Errors of an umdl run.
#[derive(Debug, thiserror::Error)]
pub enum UmdlError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lock(#[from] mm_core::lock::LockError),
    #[error("{0}")]
    Db(#[from] mm_core::DbError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("scan failed: {0}")]
    Scan(String),
    #[error("bad listing: {0}")]
    Listing(String),
    #[error("{0}")]
    Rsync(String),
    #[error("{0}")]
    Category(String),
    #[error("{0}")]
    DeleteRefused(String),
    #[error("{failed} of {total} categories failed: {messages}")]
    Failed {
        failed: usize,
        total: usize,
        messages: String,
        code: u8,
    },
    /// Internal: rolls back a dry run's transaction.
    #[error("dry run")]
    DryRun,
}

impl UmdlError {
    /// The exit code this error asks for (see `mm_core::cli`).
    pub fn exit_code(&self) -> u8 {
        use mm_core::cli::{EXIT_FAILURE, EXIT_LOCKED, EXIT_USAGE};
        match self {
            UmdlError::Config(_) | UmdlError::Usage(_) => EXIT_USAGE,
            UmdlError::Lock(mm_core::lock::LockError::Held { .. }) => EXIT_LOCKED,
            UmdlError::Failed { code, .. } => *code,
            _ => EXIT_FAILURE,
        }
    }
}

/// What to do (the command-line flags, minus the common ones).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--category`: names to scan; `^NAME` excludes; empty = all configured.
    pub categories: Vec<String>,
    pub force: bool,
    pub dry_run: bool,
    pub delete_force: bool,
    pub skip_fullfiletimelist: bool,
    pub wait: bool,
}

/// The configured categories selected by `--category` values, in configuration order.
pub fn select_categories(config: &Config, wanted: &[String]) -> Result<Vec<String>, UmdlError> {
    let mut configured: Vec<String> = Vec::new();
    for md in &config.umdl.master_directories {
        if !configured.contains(&md.category) {
            configured.push(md.category.clone());
        }
    }
    let (excl, incl): (Vec<&String>, Vec<&String>) =
        wanted.iter().partition(|w| w.starts_with('^'));
    for w in wanted {
        let name = w.trim_start_matches('^');
        if !configured.iter().any(|c| c == name) {
            return Err(UmdlError::Usage(format!(
                "category {name:?} is not configured in umdl.master_directories (configured: {})",
                configured.join(", ")
            )));
        }
    }
    Ok(configured
        .into_iter()
        .filter(|c| incl.is_empty() || incl.contains(&c))
        .filter(|c| !excl.iter().any(|w| &w[1..] == c))
        .collect())
}

/// One line per configured master directory, for `--list`.
pub fn list_lines(config: &Config) -> Vec<String> {
    config
        .umdl
        .master_directories
        .iter()
        .map(|md| {
            let kind = match md.kind {
                SourceType::Directory => "directory",
                SourceType::Rsync => "rsync",
                SourceType::File => "file",
            };
            let loc = md
                .url
                .clone()
                .or_else(|| md.path.as_ref().map(|p| p.display().to_string()))
                .unwrap_or_default();
            format!("{}\t{kind}\t{loc}", md.category)
        })
        .collect()
}

/// Run umdl for the selected categories. Each category's summary line is printed to
/// stdout as it finishes; a failing category does not stop the others, but makes the run
/// fail at the end.
pub fn run(config: &Config, opts: &Options) -> Result<Vec<Summary>, UmdlError> {
    let categories = select_categories(config, &opts.categories)?;
    if config.umdl.master_directories.is_empty() {
        return Err(UmdlError::Usage(
            "no master directories configured: add [[umdl.master_directories]] (type, path or url, category) to the configuration file".into(),
        ));
    }
    if categories.is_empty() {
        return Err(UmdlError::Usage("no category selected (see --list)".into()));
    }
    let url = config.database_url();
    let mut conn = mm_core::db::open(&url)?;
    let mut summaries = Vec::new();
    let mut failures: Vec<(String, UmdlError)> = Vec::new();
    for name in &categories {
        let sources: Vec<&MasterDirectory> = config
            .umdl
            .master_directories
            .iter()
            .filter(|m| &m.category == name)
            .collect();
        match run_category(&mut conn, config, name, &sources, opts) {
            Ok(s) => {
                println!("{s}");
                if let Some(msg) = &s.delete_refused {
                    failures.push((name.clone(), UmdlError::DeleteRefused(msg.clone())));
                }
                summaries.push(s);
            }
            Err(e) => {
                log::error!("category {name}: {e}");
                failures.push((name.clone(), e));
            }
        }
    }
    if failures.is_empty() {
        return Ok(summaries);
    }
    let code = failures
        .iter()
        .map(|(_, e)| e.exit_code())
        .max()
        .unwrap_or(mm_core::cli::EXIT_FAILURE);
    let messages = failures
        .iter()
        .map(|(n, e)| format!("{n}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    Err(UmdlError::Failed {
        failed: failures.len(),
        total: categories.len(),
        messages,
        code,
    })
}

/// Scan and write one category.
pub fn run_category(
    conn: &mut mm_core::DbConn,
    config: &Config,
    name: &str,
    sources: &[&MasterDirectory],
    opts: &Options,
) -> Result<Summary, UmdlError> {
    let started = Instant::now();
    let _lock = mm_core::lock::acquire(
        &config.lock_dir,
        &format!("umdl-{}", mm_core::lock::slug(name)),
        opts.wait,
    )?;
    let ctx = sync::load_category(conn, name)?;
    let topname = match &ctx.topname {
        Some(t) => t.clone(),
        None => derive_topname(&config.umdl.prefix, name, sources)?,
    };
    let mut tree: Option<scan::Tree> = None;
    let mut allow_delete = true;
    let mut local_top: Option<PathBuf> = None;
    let mut remote: Option<sync::Remote> = None;
    let mut methods = Vec::new();
    for src in sources {
        let excludes = scan::Excludes::new(&topname, &src.excludes)?;
        let t = match src.kind {
            SourceType::Directory => {
                let top = src.path.clone().expect("validated: directory has a path");
                let ffl = if opts.skip_fullfiletimelist {
                    None
                } else {
                    scan::find_fullfiletimelist(&top)
                };
                let t = match ffl {
                    Some((file, prefix)) => {
                        log::info!("{name}: reading {}", file.display());
                        methods.push("fullfiletimelist");
                        scan::read_fullfiletimelist(&file, &prefix, &top, &excludes)?
                    }
                    None => {
                        log::info!("{name}: walking {}", top.display());
                        methods.push("walk");
                        // MM2's rule: a directory whose ctime the database already has is
                        // unchanged, its files need no stat (not with --force, and not
                        // when several sources are merged into one category)
                        let known = if opts.force || sources.len() > 1 {
                            Default::default()
                        } else {
                            sync::stored_ctimes(conn, ctx.category.id, &topname)?
                        };
                        scan::walk_local(&top, &excludes, &known)?
                    }
                };
                local_top = Some(top);
                t
            }
            SourceType::Rsync => {
                let url = src.url.as_deref().expect("validated: rsync has a url");
                log::info!("{name}: listing {url}");
                methods.push("rsync");
                let r = scan::rsync_listing(url, src.options.as_deref(), &excludes)?;
                remote = Some(sync::Remote {
                    url: url.to_string(),
                    options: src.options.clone(),
                });
                allow_delete &= !r.partial;
                r.tree
            }
            SourceType::File => {
                let file = src.path.clone().expect("validated: file has a path");
                methods.push("file");
                let base = topname.rsplit('/').next().unwrap_or("");
                scan::saved_listing(&file, base, &excludes)?
            }
        };
        tree = Some(match tree {
            None => t,
            Some(mut acc) => {
                merge(&mut acc, t);
                acc
            }
        });
    }
    let tree = tree.ok_or_else(|| UmdlError::Config(format!("no master directory for {name}")))?;
    log::info!(
        "{name}: scanned {} directories, {} files in {:.1}s",
        tree.dirs.len(),
        tree.file_count(),
        started.elapsed().as_secs_f64()
    );
    let job = sync::Job {
        ctx: &ctx,
        topname: &topname,
        tree: &tree,
        local_top: local_top.as_deref(),
        remote: remote.as_ref(),
        allow_delete,
        umdl: &config.umdl,
        force: opts.force,
        delete_force: opts.delete_force,
    };
    let mut summary = if opts.dry_run {
        sync::dry_run(conn, &job)?
    } else {
        sync::sync(conn, &job)?
    };
    summary.method = methods.join("+");
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// `directory.name` of the category top from a local source's path and `umdl.prefix`.
fn derive_topname(
    prefix: &str,
    name: &str,
    sources: &[&MasterDirectory],
) -> Result<String, UmdlError> {
    let Some(path) = sources
        .iter()
        .find(|s| s.kind == SourceType::Directory)
        .and_then(|s| s.path.as_deref())
    else {
        return Err(UmdlError::Category(format!(
            "category {name:?} has no top directory (category.topdir_id is NULL) and its source \
             is not a local directory; set the top directory with the admin CLI"
        )));
    };
    let rel = path.strip_prefix(Path::new(prefix)).map_err(|_| {
        UmdlError::Config(format!(
            "master directory {} of {name:?} is not under umdl.prefix {prefix}",
            path.display()
        ))
    })?;
    let rel = rel.to_str().unwrap_or("").trim_matches('/').to_string();
    if rel.is_empty() {
        return Err(UmdlError::Config(format!(
            "master directory {} of {name:?} is umdl.prefix itself",
            path.display()
        )));
    }
    Ok(rel)
}

fn merge(acc: &mut scan::Tree, other: scan::Tree) {
    for (k, v) in other.dirs {
        match acc.dirs.get_mut(&k) {
            None => {
                acc.dirs.insert(k, v);
            }
            Some(d) => {
                d.ctime = d.ctime.max(v.ctime);
                d.subdirs.extend(v.subdirs);
                for f in v.files {
                    if !d.files.iter().any(|x| x.name == f.name) {
                        d.files.push(f);
                    }
                }
                d.files.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_master_directories_says_what_to_configure() {
        let e = run(&Config::default(), &Options::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no master directories configured: add [[umdl.master_directories]]"),
            "{e}"
        );
    }
}
