//! Command-line flags of `update-mirrorlist-server` (kept in the library so `cargo xtask dist` can
//! render man pages and shell completions from them).

use clap::Parser;
use mm_core::cli::CommonArgs;
use std::path::PathBuf;

/// Generate the mirrorlist cache (mirrorlist_cache.proto) from the database.
#[derive(Debug, Parser)]
#[command(name = "update-mirrorlist-server", version)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Where to write the cache [default: <cache_dir>/mirrorlist_cache.proto]
    #[arg(short = 'o', long = "outfile", value_name = "FILE")]
    pub outfile: Option<PathBuf>,
    /// Do not generate: validate FILE and print its summary (exit 1 if it is bad)
    #[arg(long = "check", value_name = "FILE", conflicts_with = "outfile")]
    pub check: Option<PathBuf>,
    /// Also write a readable JSON view of the cache (generated or checked) to FILE
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Resolve host netblocks given as DNS names
    #[arg(long = "resolve-netblocks")]
    pub resolve_netblocks: bool,
    /// Wait for the lock instead of exiting with code 3
    #[arg(long = "wait")]
    pub wait: bool,
}
