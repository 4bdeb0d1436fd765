//! `mirrormanager expire-stats [--days N] [--dry-run]`: delete statistics rows older than N
//! days (`propagation_stat`, `access_stat`, `host_stats`). Run daily from cron.

use diesel::prelude::*;
use mm_core::DbConn;

use crate::error::{AdminError, Result};
use crate::housekeeping::expire;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Keep rows of the last N days
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Count what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(conn: &mut DbConn, opts: Opts) -> Result<()> {
    if opts.days == 0 {
        return Err(AdminError::Invalid("--days must be at least 1".into()));
    }
    conn.transaction(|conn| {
        let cutoff = expire::cutoff(chrono::Utc::now().naive_utc(), opts.days);
        let r = expire::expire_stats(conn, cutoff, opts.dry_run)?;
        if opts.json {
            println!("{}", serde_json::to_string_pretty(&r).expect("report serialises"));
        } else {
            let verb = if opts.dry_run { "would delete" } else { "deleted" };
            println!(
                "{verb} rows older than {}: propagation_stat {}, access_stat {}, host_stats {}",
                r.cutoff, r.propagation_stat, r.access_stat, r.host_stats
            );
        }
        Ok(())
    })
}
