//! Helper of `cargo xtask bench server`: load a cache the way the server does and time
//! answering requests in a loop on one thread, without HTTP or sockets, so that the cost of
//! building the answers can be told apart from hyper's, tokio's and the kernel's.
//!
//! `answers CACHE REQUESTS [--geoip F] [-g F] [--cccsv F] [-n N]`: REQUESTS has one
//! `/metalink?…` or `/mirrorlist?…` request per line; N requests are timed [200000] after
//! one pass over all of them. Prints `answer: X µs/request, Y KB/request`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: answers CACHE REQUESTS [--geoip F] [-g F] [--cccsv F] [-n N]";
    let cache = args.next().ok_or(usage)?;
    let requests = args.next().ok_or(usage)?;
    let (mut geoip, mut global, mut cccsv, mut n) = (None, None, None, 200_000usize);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--geoip" => geoip = Some(PathBuf::from(value)),
            "-g" => global = Some(PathBuf::from(value)),
            "--cccsv" => cccsv = Some(PathBuf::from(value)),
            "-n" => {
                n = value
                    .parse()
                    .map_err(|_| format!("-n {value:?}: not a number"))?
            }
            _ => return Err(format!("unknown option {flag}; {usage}")),
        }
    }
    let text = std::fs::read_to_string(&requests).map_err(|e| format!("{requests}: {e}"))?;
    let reqs: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().split_once('?').unwrap_or((l.trim(), "")))
        .collect();
    if reqs.is_empty() {
        return Err(format!("{requests}: no requests"));
    }
    let shared = mm_mirrorlist::Shared::new(mm_mirrorlist::Options {
        geoip,
        global_netblocks: global,
        cccsv,
        poll_interval: Duration::from_secs(3600),
        threads: Some(1),
        ..mm_mirrorlist::Options::new(cache.into())
    })
    .map_err(|e| e.to_string())?;
    let peer = "127.0.0.1".parse().expect("an address");
    for (path, query) in &reqs {
        shared.handle("GET", path, query, None, peer);
    }
    let mut bytes = 0usize;
    let started = Instant::now();
    for i in 0..n {
        let (path, query) = reqs[i % reqs.len()];
        bytes += shared.handle("GET", path, query, None, peer).1.body.len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "answer: {:.2} µs/request, {:.1} KB/request",
        secs * 1e6 / n as f64,
        bytes as f64 / 1024.0 / n as f64
    );
    Ok(())
}
