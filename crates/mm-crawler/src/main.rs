//! `mm2_crawler`: crawl mirrors and record which of their directories are up to date.
//! See the crate documentation of `mm_crawler` for the behaviour.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mm_core::cli::{CommonArgs, ExitError, main_with};

/// Crawl mirrors and record which directories are up to date
#[derive(Debug, Parser)]
#[command(name = "mm2_crawler", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    crawl: CrawlArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Crawl hosts (the default)
    Crawl(CrawlArgs),
    /// Measure how far each repository's newest repomd.xml has propagated
    Propagation(PropagationArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct PropagationArgs {
    /// Only versions of this product (e.g. Fedora)
    #[arg(long)]
    product: Option<String>,
    /// Only this version (e.g. 41)
    #[arg(long)]
    version: Option<String>,
    /// Parallel requests [default: crawler.threads, else min(100, 20 × CPUs)]
    #[arg(long)]
    threads: Option<usize>,
    /// Print the counts without storing them
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Clone, clap::Args)]
struct CrawlArgs {
    /// Crawl threads [default: crawler.threads, else min(100, 20 × CPUs)]
    #[arg(long)]
    threads: Option<usize>,
    /// Only this category (repeatable)
    #[arg(long = "category", value_name = "NAME")]
    categories: Vec<String>,
    /// Only this host id (repeatable)
    #[arg(long = "host", value_name = "ID")]
    hosts: Vec<i32>,
    /// Only hosts with id >= ID
    #[arg(long)]
    startid: Option<i32>,
    /// Only hosts with id < ID
    #[arg(long)]
    stopid: Option<i32>,
    /// Only the k-th of n slices of the sorted host ids, e.g. 1:4
    #[arg(long, value_parser = mm_crawler::parse_fraction)]
    fraction: Option<(usize, usize)>,
    /// Only hosts on this continent (repeatable; `^XX` excludes); needs mirrorlist.cccsv
    #[arg(long = "continent", value_name = "XX")]
    continents: Vec<String>,
    /// Also crawl private hosts and hosts of private sites
    #[arg(long)]
    include_private: bool,
    /// Also crawl disabled hosts and hosts of disabled sites
    #[arg(long)]
    include_disabled: bool,
    /// Stop starting work after MIN minutes [default: crawler.global_timeout_minutes]
    #[arg(long, value_name = "MIN")]
    global_timeout: Option<u64>,
    /// Give each host at most MIN minutes [default: crawler.host_timeout_minutes]
    #[arg(long, value_name = "MIN")]
    host_timeout: Option<u64>,
    /// Never count failures or auto-disable hosts
    #[arg(long)]
    no_fail: bool,
    /// Crawl but write nothing
    #[arg(long)]
    dry_run: bool,
    /// Only check that each category's base URL answers
    #[arg(long)]
    canary: bool,
    /// Only check repodata directories
    #[arg(long)]
    repodata: bool,
    /// Wait for a running crawler's lock instead of exiting with code 3
    #[arg(long)]
    wait: bool,
}

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
                };
                let stats = mm_crawler::propagation::run(&config, &opts)
                    .map_err(|e| anyhow::Error::new(ExitError::new(e.exit_code(), e.to_string())))?;
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
        println!("{}crawled {totals}", if opts.dry_run { "dry run: " } else { "" });
        Ok(())
    })
}
