//! `mm_sync_out`: ship the mirrorlist cache and its data files to the app servers.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mm_core::cli::{EXIT_FAILURE, ExitError, main_with};
use mm_syncout::cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    main_with(|| {
        let cfg = args.common.init()?;
        let _lock = mm_core::lock::acquire(&cfg.lock_dir, "mm_sync_out", args.wait)?;
        let publiclist = cfg.publiclist_dir();
        let opts = mm_syncout::SyncOptions {
            cache: args.cache.clone().unwrap_or_else(|| cfg.cache_file()),
            data_dir: cfg.cache_dir.clone(),
            publiclist_dir: Some(publiclist),
            targets: if args.targets.is_empty() {
                cfg.sync_out.targets.clone()
            } else {
                args.targets.clone()
            },
            ssh_key: cfg.sync_out.ssh_key.clone(),
            known_hosts: cfg.sync_out.known_hosts.clone(),
            timeout: Duration::from_secs(cfg.sync_out.timeout_s),
            force: args.force,
            state_file: cfg.cache_dir.join(mm_syncout::STATE_FILE),
        };
        let report = mm_syncout::sync_out(&opts)?;
        println!("cache {}: {}", opts.cache.display(), report.summary);
        for r in &report.results {
            match &r.error {
                None => println!(
                    "{}: ok, {} bytes in {:.1}s",
                    r.target,
                    r.bytes,
                    r.elapsed.as_secs_f64()
                ),
                Some(e) => println!(
                    "{}: FAILED after {:.1}s: {e}",
                    r.target,
                    r.elapsed.as_secs_f64()
                ),
            }
        }
        let failed = report.failed();
        if !failed.is_empty() {
            return Err(ExitError::new(
                EXIT_FAILURE,
                format!("failed targets: {}", failed.join(", ")),
            )
            .into());
        }
        if !report.empty_data_files.is_empty() {
            return Err(ExitError::new(
                EXIT_FAILURE,
                format!(
                    "empty data files not shipped (the app servers keep theirs): {}",
                    report.empty_data_files.join(", ")
                ),
            )
            .into());
        }
        if let Some(e) = report.publiclist_error {
            return Err(
                ExitError::new(EXIT_FAILURE, format!("public list not shipped: {e}")).into(),
            );
        }
        Ok(())
    })
}
