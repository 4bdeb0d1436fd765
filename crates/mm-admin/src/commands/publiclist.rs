//! `mirrormanager publiclist [-o DIR] [--wait]`: regenerate the static public mirror list
//! (HTML pages and mirrors.json) under the `publiclist` lock. The work is done by
//! `mm_publiclist::generate`; this module is only the command line.

use std::path::PathBuf;

use mm_core::Config;
use mm_core::db::DbConn;

use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Output directory (default: publiclist.output_dir, else <cache_dir>/publiclist);
    /// replaced atomically
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Wait for the publiclist lock if another run holds it
    #[arg(long)]
    pub wait: bool,
}

pub fn run(cfg: &Config, conn: &mut DbConn, opts: &Opts) -> Result<()> {
    let _lock = mm_core::lock::acquire(&cfg.lock_dir, "publiclist", opts.wait)?;
    let dir = opts.output.clone().unwrap_or_else(|| cfg.publiclist_dir());
    let summary = mm_publiclist::generate(conn, &dir, None)?;
    crate::output::write_stdout(&format!("{summary}\n"))
}
