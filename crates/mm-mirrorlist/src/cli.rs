//! Command-line flags of `mirrorlist-server` (kept in the library so `cargo xtask dist` can
//! render man pages and shell completions from them).

use clap::Parser;
use mm_core::cli::CommonArgs;
use std::path::PathBuf;

/// Answer /mirrorlist and /metalink requests from the mirrorlist cache.
#[derive(Debug, Parser)]
#[command(name = "mirrorlist-server", version)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Cache file [default: <cache_dir>/mirrorlist_cache.proto]
    #[arg(short = 'c', long = "cache", value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Global netblocks file (`CIDR ASN` lines) for ASN matching
    #[arg(short = 'g', long = "global_netblocks", value_name = "FILE")]
    pub global_netblocks: Option<PathBuf>,
    /// Country to continent CSV (`CC,CONTINENT` lines)
    #[arg(long = "cccsv", value_name = "FILE")]
    pub cccsv: Option<PathBuf>,
    /// Internet2 netblocks file (one network per line)
    #[arg(
        short = 'i',
        long = "i2_netblocks",
        visible_alias = "internet2_netblocks",
        value_name = "FILE"
    )]
    pub i2_netblocks: Option<PathBuf>,
    /// GeoIP2/GeoLite2 country database (MMDB)
    #[arg(long = "geoip", value_name = "FILE")]
    pub geoip: Option<PathBuf>,
    /// Fill with global mirrors until at least this many were found [default: 5]
    #[arg(short = 'm', long = "minimum", value_name = "N")]
    pub minimum: Option<usize>,
    /// Access log file (one line per repo/arch request)
    #[arg(short = 'l', long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Address to listen on (`ADDR:PORT` or `ADDR`) [default: 127.0.0.1:3000]
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Port to listen on (overrides the port of --listen; 0 picks a free one)
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// Worker threads answering requests [default: one per CPU]
    #[arg(long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Seconds between checks for a replaced cache file
    #[arg(long = "poll-interval", value_name = "SECONDS", default_value = "2")]
    pub poll_interval: f64,
}
