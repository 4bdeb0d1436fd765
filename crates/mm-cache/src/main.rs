//! `update-mirrorlist-server`: generate the mirrorlist cache from the database, or check
//! an existing cache (`--check`).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use mm_cache::cli::Args;
use mm_core::cli::{EXIT_FAILURE, ExitError, main_with};

fn main() -> ExitCode {
    let args = Args::parse();
    main_with(|| {
        let cfg = args.common.init()?;
        if let Some(file) = &args.check {
            let ml = mm_cachefile::read(file)?;
            let defects = mm_cachefile::validate(&ml);
            println!("{}: {}", file.display(), mm_cachefile::summary(&ml));
            for d in &defects {
                println!("defect: {d}");
            }
            if let Some(j) = &args.json {
                mm_cachefile::write_bytes_atomic(j, mm_cachefile::to_json(&ml)?.as_bytes())?;
            }
            if !defects.is_empty() {
                return Err(ExitError::new(
                    EXIT_FAILURE,
                    format!("{}: {} defects", file.display(), defects.len()),
                )
                .into());
            }
            return Ok(());
        }
        let _lock = mm_core::lock::acquire(&cfg.lock_dir, "update-mirrorlist-server", args.wait)?;
        let start = Instant::now();
        let url = cfg.database_url();
        let mut conn = mm_core::db::open(&url)?;
        let out = args.outfile.clone().unwrap_or_else(|| cfg.cache_file());
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let opts = mm_cache::GenOptions {
            resolve_netblocks: args.resolve_netblocks,
            time: None,
            parallel_url: Some(url.clone()),
        };
        let generated = mm_cachefile::write_atomic_with(&out, |w| {
            mm_cache::generate_into(&mut conn, &opts, w).context("generating the cache")
        })?;
        for d in &generated.defects {
            log::warn!("generated cache: {d}");
        }
        if let Some(j) = &args.json {
            let text = mm_cachefile::to_json(&mm_cachefile::read(&out)?)?;
            mm_cachefile::write_bytes_atomic(j, text.as_bytes())?;
        }
        println!(
            "wrote {}: {} in {:.2}s",
            out.display(),
            generated.summary,
            start.elapsed().as_secs_f64()
        );
        Ok(())
    })
}
