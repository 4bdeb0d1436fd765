//! mm-publiclist: the static public mirror list (`mirrormanager publiclist`).
//!
//! One run reads the database in a fixed handful of bulk queries ([`data::load`]), renders
//! `index.html` (the Version page), one page per product, version and version/arch, a
//! stylesheet and `mirrors.json` ([`render::render`]) into a sibling temp dir, and swaps
//! it in atomically ([`write::TreeWriter`]). The caller holds the `publiclist` lock.

pub mod countries;
pub mod data;
pub mod render;
pub mod write;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDateTime;
use mm_core::db::DbConn;

/// Errors generating the public list.
#[derive(Debug, thiserror::Error)]
pub enum PubliclistError {
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template error: {0}")]
    Template(#[from] minijinja::Error),
    #[error("cannot encode mirrors.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

/// What one run did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// HTML pages written.
    pub pages: usize,
    /// Hosts listed (public, active, crawled at least once).
    pub hosts: usize,
    /// Bytes written (pages, stylesheet and mirrors.json).
    pub bytes: u64,
    pub seconds: f64,
    pub output_dir: PathBuf,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "publiclist: {} pages written, {} hosts listed, {:.2}s ({} bytes in {})",
            self.pages,
            self.hosts,
            self.seconds,
            self.bytes,
            self.output_dir.display()
        )
    }
}

/// Generate the tree into `output_dir` (replaced atomically). `now` is the time crawl ages
/// are measured from (the current time when `None`).
pub fn generate(
    conn: &mut DbConn,
    output_dir: &Path,
    now: Option<NaiveDateTime>,
) -> Result<Summary, PubliclistError> {
    let start = Instant::now();
    let now = now.unwrap_or_else(|| chrono::Utc::now().naive_utc());
    let snap = data::load(conn)?;
    log::debug!(
        "read {} hosts, {} versions, {} host categories, {} up-to-date version/arch rows in {:.3}s",
        snap.hosts.len(),
        snap.versions.len(),
        snap.host_categories.len(),
        snap.up2date.len(),
        start.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut writer = write::TreeWriter::create(output_dir)?;
    log::debug!(
        "removed stale temp dirs, created {} in {:.3}s",
        writer.temp_dir().display(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let counts = render::render(&snap, now, |rel, data| writer.write(rel, data))?;
    let bytes = writer.bytes;
    log::debug!(
        "rendered and wrote {} files in {:.3}s",
        writer.files,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let out = writer.commit()?;
    log::debug!(
        "swapped the tree in and removed the previous one in {:.3}s",
        t.elapsed().as_secs_f64()
    );
    let summary = Summary {
        pages: counts.pages,
        hosts: counts.hosts,
        bytes,
        seconds: start.elapsed().as_secs_f64(),
        output_dir: out,
    };
    log::debug!("{summary}");
    Ok(summary)
}
