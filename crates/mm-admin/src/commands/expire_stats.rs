//! `mirrormanager expire-stats [--days N] [--dry-run]`: delete statistics rows older than N
//! days (`propagation_stat`, `access_stat`, `host_stats`). Run daily from cron.

use mm_core::DbConn;

use crate::error::{AdminError, Result};
use crate::housekeeping::expire;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Keep rows of the last N days
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Keep propagation_stat rows of the last N days (default: --days)
    #[arg(long)]
    pub propagation_days: Option<u32>,
    /// Keep access_stat rows of the last N days (default: --days)
    #[arg(long)]
    pub access_days: Option<u32>,
    /// Count what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(conn: &mut DbConn, opts: Opts) -> Result<()> {
    let prop_days = opts.propagation_days.unwrap_or(opts.days);
    let access_days = opts.access_days.unwrap_or(opts.days);
    if opts.days == 0 || prop_days == 0 || access_days == 0 {
        return Err(AdminError::Invalid(
            "keeping 0 days would delete today's statistics: give at least 1".into(),
        ));
    }
    output::in_transaction(conn, |conn, out| {
        let now = chrono::Utc::now().naive_utc();
        let cutoffs = expire::Cutoffs {
            propagation: expire::cutoff(now, prop_days),
            access: expire::cutoff(now, access_days),
            host_stats: expire::cutoff(now, opts.days),
        };
        let r = expire::expire_stats(conn, cutoffs, opts.dry_run)?;
        if opts.json {
            out.json(&r);
        } else {
            let verb = if opts.dry_run {
                "would delete"
            } else {
                "deleted"
            };
            out.line(format_args!(
                "{verb} propagation_stat {} (before {}), access_stat {} (before {}), host_stats {} (before {})",
                r.propagation_stat,
                r.propagation_cutoff,
                r.access_stat,
                r.access_cutoff,
                r.host_stats,
                r.host_stats_cutoff
            ));
        }
        Ok(())
    })
}
