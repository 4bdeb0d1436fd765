//! `mirrormanager status [--json]`: per category, mirror counts, up-to-date directories and
//! the hosts whose last crawls failed.

use diesel::prelude::*;
use mm_core::DbConn;

use crate::error::Result;
use crate::housekeeping::status;
use crate::output::Printout;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

fn when(t: Option<chrono::NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "never".into())
}

pub fn run(conn: &mut DbConn, opts: Opts) -> Result<()> {
    let cats = conn.transaction(status::status)?;
    let mut out = Printout::default();
    if opts.json {
        out.json(&cats);
        return out.emit();
    }
    if cats.is_empty() {
        out.line("no categories");
    }
    for c in &cats {
        out.line(format_args!(
            "{}: hosts {} (active {}, disabled {}), directories {}, up to date {}/{} host directories, last crawl {}",
            c.category,
            c.hosts_total,
            c.hosts_active,
            c.hosts_disabled,
            c.directories,
            c.host_category_dirs_up2date,
            c.host_category_dirs,
            when(c.last_crawled)
        ));
        for p in &c.crawl_problems {
            out.line(format_args!(
                "  {} (id {}): crawl failures {}{}{}",
                p.name,
                p.host_id,
                p.crawl_failures,
                if p.user_active { "" } else { ", disabled" },
                p.disable_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
    }
    out.emit()
}
