//! `mirrormanager move-to-archive --version V [--category C] [--archive-category A]
//! [--dry-run]`: re-point the repositories of an end-of-life version at the archive tree.

use mm_core::DbConn;

use crate::error::Result;
use crate::housekeeping::releases::{self, MoveReport};
use crate::output::{self, Printout};

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The end-of-life version (e.g. 39)
    #[arg(long)]
    pub version: String,
    /// The category the repositories are in now
    #[arg(long, default_value = "Fedora Linux")]
    pub category: String,
    /// The category of the archive tree
    #[arg(long, default_value = "Fedora Archive")]
    pub archive_category: String,
    /// Print what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(conn: &mut DbConn, opts: Opts) -> Result<()> {
    output::in_transaction(conn, |conn, out| {
        let report = releases::move_to_archive(
            conn,
            &opts.version,
            &opts.category,
            &opts.archive_category,
            opts.dry_run,
        )?;
        report_lines(out, &report, opts.dry_run, opts.json);
        Ok(())
    })
}

/// `OLD => NEW` per moved repository (as MM2 prints), then the skipped ones on stderr;
/// printed once the moves are committed.
pub fn report_lines(out: &mut Printout, report: &MoveReport, dry_run: bool, json: bool) {
    if json {
        out.json(report);
        return;
    }
    for m in &report.moved {
        out.line(format_args!("{} => {}", m.from, m.to));
    }
    for s in &report.skipped {
        out.note(format_args!("skipped {s}"));
    }
    let verb = if dry_run { "would move" } else { "moved" };
    out.line(format_args!("{verb} {} repositories", report.moved.len()));
}
