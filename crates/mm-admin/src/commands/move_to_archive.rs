//! `mirrormanager move-to-archive --version V [--category C] [--archive-category A]
//! [--dry-run]`: re-point the repositories of an end-of-life version at the archive tree.

use diesel::prelude::*;
use mm_core::DbConn;

use crate::error::Result;
use crate::housekeeping::releases::{self, MoveReport};

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
    conn.transaction(|conn| {
        let report = releases::move_to_archive(
            conn,
            &opts.version,
            &opts.category,
            &opts.archive_category,
            opts.dry_run,
        )?;
        print_report(&report, opts.dry_run, opts.json);
        Ok(())
    })
}

/// `OLD => NEW` per moved repository (as MM2 prints), then the skipped ones on stderr.
pub fn print_report(report: &MoveReport, dry_run: bool, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("report serialises")
        );
        return;
    }
    for m in &report.moved {
        println!("{} => {}", m.from, m.to);
    }
    for s in &report.skipped {
        eprintln!("skipped {s}");
    }
    let verb = if dry_run { "would move" } else { "moved" };
    println!("{verb} {} repositories", report.moved.len());
}
