//! `mm2_crawler`: crawl mirrors and record which of their directories are up to date.
//! See the crate documentation of `mm_crawler` for the behaviour.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use mm_core::cli::{ExitError, main_with};
use mm_crawler::cli::{Args, Cmd};

fn main() -> ExitCode {
    let args = Args::parse();
    main_with(|| {
        let config = args.common.init().context("loading configuration")?;
        let c = match &args.command {
            Some(Cmd::Crawl(c)) => c.clone(),
            Some(Cmd::Propagation(p)) => {
                let opts = mm_crawler::propagation::PropagationOptions {
                    product: p.product.clone(),
                    version: p.version.clone(),
                    threads: p.threads,
                    dry_run: p.dry_run,
                    wait: p.wait,
                };
                let stats = mm_crawler::propagation::run(&config, &opts).map_err(|e| {
                    anyhow::Error::new(ExitError::new(e.exit_code(), e.to_string()))
                })?;
                for s in stats {
                    println!("{s}");
                }
                return Ok(());
            }
            None => args.crawl.clone(),
        };
        let opts = mm_crawler::Options {
            threads: c.threads,
            categories: c.categories,
            hosts: c.hosts,
            startid: c.startid,
            stopid: c.stopid,
            fraction: c.fraction,
            continents: c.continents,
            include_private: c.include_private,
            include_disabled: c.include_disabled,
            global_timeout_minutes: c.global_timeout,
            host_timeout_minutes: c.host_timeout,
            no_fail: c.no_fail,
            dry_run: c.dry_run,
            canary: c.canary,
            repodata: c.repodata,
            wait: c.wait,
        };
        let totals = mm_crawler::run(&config, &opts)
            .map_err(|e| anyhow::Error::new(ExitError::new(e.exit_code(), e.to_string())))?;
        println!(
            "{}crawled {totals}",
            if opts.dry_run { "dry run: " } else { "" }
        );
        if let Some(line) = totals.failed_line() {
            println!("{line}");
        }
        Ok(())
    })
}
