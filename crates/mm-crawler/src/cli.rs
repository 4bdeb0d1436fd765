//! Command-line flags of `mm2_crawler` (kept in the library so `cargo xtask dist` can
//! render man pages and shell completions from them).

use clap::{Parser, Subcommand};
use mm_core::cli::CommonArgs;

/// Crawl mirrors and record which directories are up to date
#[derive(Debug, Parser)]
#[command(name = "mm2_crawler", version)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Option<Cmd>,
    #[command(flatten)]
    pub crawl: CrawlArgs,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Crawl hosts (the default)
    Crawl(CrawlArgs),
    /// Measure how far each repository's newest repomd.xml has propagated
    Propagation(PropagationArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct PropagationArgs {
    /// Only versions of this product (e.g. Fedora)
    #[arg(long)]
    pub product: Option<String>,
    /// Only this version (e.g. 41)
    #[arg(long)]
    pub version: Option<String>,
    /// Parallel requests [default: crawler.threads, else min(100, 20 × CPUs)]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the counts without storing them
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for a running propagation report's lock instead of exiting with code 3
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CrawlArgs {
    /// Crawl threads [default: crawler.threads, else min(100, 20 × CPUs)]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Only this category (repeatable)
    #[arg(long = "category", value_name = "NAME")]
    pub categories: Vec<String>,
    /// Only this host id (repeatable)
    #[arg(long = "host", value_name = "ID")]
    pub hosts: Vec<i32>,
    /// Only hosts with id >= ID
    #[arg(long)]
    pub startid: Option<i32>,
    /// Only hosts with id < ID
    #[arg(long)]
    pub stopid: Option<i32>,
    /// Only the k-th of n slices of the sorted host ids, e.g. 1:4
    #[arg(long, value_parser = crate::parse_fraction)]
    pub fraction: Option<(usize, usize)>,
    /// Only hosts on this continent (repeatable; `^XX` excludes); needs mirrorlist.cccsv
    #[arg(long = "continent", value_name = "XX")]
    pub continents: Vec<String>,
    /// Also crawl private hosts and hosts of private sites
    #[arg(long)]
    pub include_private: bool,
    /// Also crawl disabled hosts and hosts of disabled sites
    #[arg(long)]
    pub include_disabled: bool,
    /// Stop the whole run after MIN minutes (> 0; hosts still being crawled are left
    /// unchanged) [default: crawler.global_timeout_minutes]
    #[arg(long, value_name = "MIN", value_parser = crate::parse_minutes)]
    pub global_timeout: Option<f64>,
    /// Give each host at most MIN minutes (> 0) [default: crawler.host_timeout_minutes]
    #[arg(long, value_name = "MIN", value_parser = crate::parse_minutes)]
    pub host_timeout: Option<f64>,
    /// Exit 0 even when the crawl stops at the global timeout (failed hosts are still counted)
    #[arg(long)]
    pub no_fail: bool,
    /// Crawl but write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Only check that each category's base URL answers
    #[arg(long)]
    pub canary: bool,
    /// Only check repodata directories
    #[arg(long)]
    pub repodata: bool,
    /// Wait for a running crawler's lock instead of exiting with code 3
    #[arg(long)]
    pub wait: bool,
}
