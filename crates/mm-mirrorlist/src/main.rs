//! `mirrorlist-server`: parse the flags, run the server, map errors to exit codes.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mm_core::cli::{EXIT_USAGE, ExitError, main_with};
use mm_mirrorlist::cli::Args;

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
                    return Err(ExitError::new(
                        EXIT_USAGE,
                        format!("--listen {listen_text:?} is not an address"),
                    )
                    .into());
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
            global_netblocks: args
                .global_netblocks
                .clone()
                .or_else(|| ml.global_netblocks.clone()),
            cccsv: args.cccsv.clone().or_else(|| ml.cccsv.clone()),
            i2_netblocks: args.i2_netblocks.clone(),
            minimum: args.minimum.unwrap_or(ml.minimum),
            log: args.log.clone().or_else(|| ml.log.clone()),
            listen,
            embargoed: cfg.embargoed_countries.clone(),
            poll_interval: Duration::from_secs_f64(args.poll_interval),
            threads: args.threads.map(usize::from).or(ml.threads),
        };
        mm_mirrorlist::run(opts).context("mirrorlist-server")
    })
}
