//! `mirrormanager move-devel-to-release --version V [--category C] [--dry-run]`: on release
//! day, re-point the repositories of version V from `development/V` to `releases/V`.

use mm_core::DbConn;

use crate::error::Result;
use crate::housekeeping::releases;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The version just released (e.g. 41)
    #[arg(long)]
    pub version: String,
    /// Only this category (default: every category whose product has that version)
    #[arg(long)]
    pub category: Option<String>,
    /// Print what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(conn: &mut DbConn, opts: Opts) -> Result<()> {
    output::in_transaction(conn, |conn, out| {
        let report = releases::move_devel_to_release(
            conn,
            &opts.version,
            opts.category.as_deref(),
            opts.dry_run,
        )?;
        super::move_to_archive::report_lines(out, &report, opts.dry_run, opts.json);
        Ok(())
    })
}
