//! Command-line flags of `mm_sync_out` (kept in the library so `cargo xtask dist` can
//! render man pages and shell completions from them).

use clap::Parser;
use mm_core::cli::CommonArgs;
use std::path::PathBuf;

/// Ship mirrorlist_cache.proto, global_netblocks.txt, i2_netblocks.txt and
/// country_continent.csv (and the public list) to every app server with rsync.
#[derive(Debug, Parser)]
#[command(name = "mm_sync_out", version)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Cache file to ship; whatever its name, it arrives as mirrorlist_cache.proto
    /// [default: <cache_dir>/mirrorlist_cache.proto]
    #[arg(short = 'c', long = "cache", value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Ship to this target instead of sync_out.targets (repeatable)
    #[arg(long = "target", value_name = "DEST")]
    pub targets: Vec<String>,
    /// Ship even a cache with defects or older than the last shipped one
    #[arg(long = "force")]
    pub force: bool,
    /// Wait for the lock instead of exiting with code 3
    #[arg(long = "wait")]
    pub wait: bool,
}
