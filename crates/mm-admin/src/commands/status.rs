//! `mirrormanager status [--json]`: per category, mirror counts, up-to-date directories and
//! the hosts whose last crawls failed.

use diesel::prelude::*;
use mm_core::DbConn;

use crate::error::Result;
use crate::housekeeping::status;

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
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cats).expect("status serialises")
        );
        return Ok(());
    }
    if cats.is_empty() {
        println!("no categories");
    }
    for c in &cats {
        println!(
            "{}: hosts {} (active {}, disabled {}), directories {}, up to date {}/{} host directories, last crawl {}",
            c.category,
            c.hosts_total,
            c.hosts_active,
            c.hosts_disabled,
            c.directories,
            c.host_category_dirs_up2date,
            c.host_category_dirs,
            when(c.last_crawled)
        );
        for p in &c.crawl_problems {
            println!(
                "  {} (id {}): crawl failures {}{}{}",
                p.name,
                p.host_id,
                p.crawl_failures,
                if p.user_active { "" } else { ", disabled" },
                p.disable_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}
