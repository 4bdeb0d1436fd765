//! `update-master-directory-list`: scan the master tree of one or all categories into the
//! MirrorManager database. See the crate documentation of `mm_umdl` for the behaviour.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use mm_core::cli::{ExitError, main_with};
use mm_umdl::cli::Args;

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
