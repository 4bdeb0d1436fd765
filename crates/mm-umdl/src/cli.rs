//! Command-line flags of `update-master-directory-list` (kept in the library so `cargo xtask dist` can
//! render man pages and shell completions from them).

use clap::Parser;
use mm_core::cli::CommonArgs;

/// Scan master directories into the MirrorManager database
#[derive(Debug, Parser)]
#[command(name = "update-master-directory-list", version)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Only this category (repeatable); `^NAME` excludes it [default: all configured]
    #[arg(long = "category", short = 'c', value_name = "NAME")]
    pub categories: Vec<String>,
    /// Print the configured master directories and exit
    #[arg(long)]
    pub list: bool,
    /// Rescan directories whose ctime did not change
    #[arg(long)]
    pub force: bool,
    /// Report what would change without writing
    #[arg(long)]
    pub dry_run: bool,
    /// Delete directories even when more than umdl.max_delete_fraction would go
    #[arg(long)]
    pub delete_force: bool,
    /// Accepted for MM2 command lines; directories gone from the master are always deleted
    /// (within umdl.max_delete_fraction)
    #[arg(long)]
    pub delete_directories: bool,
    /// Walk the tree even when a fullfiletimelist file exists
    #[arg(long)]
    pub skip_fullfiletimelist: bool,
    /// Wait for a running instance's lock instead of exiting with code 3
    #[arg(long)]
    pub wait: bool,
}
