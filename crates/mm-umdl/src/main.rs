//! `update-master-directory-list`: scan the master tree of one or all categories into the
//! MirrorManager database. See the crate documentation of `mm_umdl` for the behaviour.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use mm_core::cli::{CommonArgs, ExitError, main_with};

/// Scan master directories into the MirrorManager database
#[derive(Debug, Parser)]
#[command(name = "update-master-directory-list", version)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Only this category (repeatable); `^NAME` excludes it [default: all configured]
    #[arg(long = "category", short = 'c', value_name = "NAME")]
    categories: Vec<String>,
    /// Print the configured master directories and exit
    #[arg(long)]
    list: bool,
    /// Rescan directories whose ctime did not change
    #[arg(long)]
    force: bool,
    /// Report what would change without writing
    #[arg(long)]
    dry_run: bool,
    /// Delete directories even when more than umdl.max_delete_fraction would go
    #[arg(long)]
    delete_force: bool,
    /// Accepted for MM2 command lines; directories gone from the master are always deleted
    /// (within umdl.max_delete_fraction)
    #[arg(long)]
    delete_directories: bool,
    /// Walk the tree even when a fullfiletimelist file exists
    #[arg(long)]
    skip_fullfiletimelist: bool,
    /// Wait for a running instance's lock instead of exiting with code 3
    #[arg(long)]
    wait: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    main_with(|| {
        let config = args.common.init().context("loading configuration")?;
        if args.list {
            for line in mm_umdl::list_lines(&config) {
                println!("{line}");
            }
            return Ok(());
        }
        if args.delete_directories {
            log::debug!("--delete-directories is the default behaviour");
        }
        let opts = mm_umdl::Options {
            categories: args.categories.clone(),
            force: args.force,
            dry_run: args.dry_run,
            delete_force: args.delete_force,
            skip_fullfiletimelist: args.skip_fullfiletimelist,
            wait: args.wait,
        };
        mm_umdl::run(&config, &opts)
            .map(|_| ())
            .map_err(|e| anyhow::Error::new(ExitError::new(e.exit_code(), e.to_string())))
    })
}
