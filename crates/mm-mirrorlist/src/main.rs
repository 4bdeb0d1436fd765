//! `mirrorlist-server`: parse the flags, run the server, map errors to exit codes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mm_core::cli::{CommonArgs, EXIT_USAGE, ExitError, main_with};

/// Answer /mirrorlist and /metalink requests from the mirrorlist cache.
#[derive(Debug, Parser)]
#[command(name = "mirrorlist-server", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Cache file [default: <cache_dir>/mirrorlist_cache.proto]
    #[arg(short = 'c', long = "cache", value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Global netblocks file (`CIDR ASN` lines) for ASN matching
    #[arg(short = 'g', long = "global_netblocks", value_name = "FILE")]
    global_netblocks: Option<PathBuf>,
    /// Country to continent CSV (`CC,CONTINENT` lines)
    #[arg(long = "cccsv", value_name = "FILE")]
    cccsv: Option<PathBuf>,
    /// Internet2 netblocks file (one network per line)
    #[arg(short = 'i', long = "i2_netblocks", visible_alias = "internet2_netblocks", value_name = "FILE")]
    i2_netblocks: Option<PathBuf>,
    /// GeoIP2/GeoLite2 country database (MMDB)
    #[arg(long = "geoip", value_name = "FILE")]
    geoip: Option<PathBuf>,
    /// Fill with global mirrors until at least this many were found [default: 5]
    #[arg(short = 'm', long = "minimum", value_name = "N")]
    minimum: Option<usize>,
    /// Access log file (one line per repo/arch request)
    #[arg(short = 'l', long = "log", value_name = "FILE")]
    log: Option<PathBuf>,
    /// Address to listen on (`ADDR:PORT` or `ADDR`) [default: 127.0.0.1:3000]
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Option<String>,
    /// Port to listen on (overrides the port of --listen; 0 picks a free one)
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    port: Option<u16>,
    /// Seconds between checks for a replaced cache file
    #[arg(long = "poll-interval", value_name = "SECONDS", default_value = "2")]
    poll_interval: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    main_with(|| {
        let cfg = args.common.init()?;
        let ml = &cfg.mirrorlist;
        let listen_text = args.listen.clone().unwrap_or_else(|| ml.listen.clone());
        let mut listen: SocketAddr = match listen_text.parse() {
            Ok(a) => a,
            Err(_) => match listen_text.parse::<std::net::IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, 3000),
                Err(_) => {
                    return Err(ExitError::new(EXIT_USAGE, format!("--listen {listen_text:?} is not an address")).into());
                }
            },
        };
        if let Some(p) = args.port {
            listen.set_port(p);
        }
        if args.poll_interval.is_nan() || args.poll_interval <= 0.0 {
            return Err(ExitError::new(EXIT_USAGE, "--poll-interval must be positive").into());
        }
        let opts = mm_mirrorlist::Options {
            cache: args.cache.clone().unwrap_or_else(|| cfg.cache_file()),
            geoip: args.geoip.clone().or_else(|| ml.geoip.clone()),
            global_netblocks: args.global_netblocks.clone().or_else(|| ml.global_netblocks.clone()),
            cccsv: args.cccsv.clone().or_else(|| ml.cccsv.clone()),
            i2_netblocks: args.i2_netblocks.clone(),
            minimum: args.minimum.unwrap_or(ml.minimum),
            log: args.log.clone().or_else(|| ml.log.clone()),
            listen,
            embargoed: cfg.embargoed_countries.clone(),
            poll_interval: Duration::from_secs_f64(args.poll_interval),
        };
        mm_mirrorlist::run(opts).context("mirrorlist-server")
    })
}
