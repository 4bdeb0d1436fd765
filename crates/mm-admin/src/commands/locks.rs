//! `mirrormanager locks`: list the job lock files and who holds them; `locks hold NAME`
//! takes a job's lock and keeps it (e.g. to keep cron from starting that job during
//! maintenance) until interrupted or `--seconds` pass.

use mm_core::Config;

use crate::error::{AdminError, Result};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<LocksCmd>,
}

#[derive(Debug, clap::Subcommand)]
pub enum LocksCmd {
    /// Take lock NAME (e.g. umdl-fedora-linux) and hold it until killed or --seconds pass
    Hold {
        name: String,
        /// Release after this many seconds (default: hold until interrupted)
        #[arg(long)]
        seconds: Option<u64>,
        /// Wait for the lock if another process holds it
        #[arg(long)]
        wait: bool,
    },
}

/// Locks no category names: the jobs that run once for everything.
const JOB_LOCKS: [&str; 4] = [
    "update-mirrorlist-server",
    "mm_sync_out",
    "publiclist",
    "crawler-propagation",
];

/// A lock name some job takes: holding any other name keeps nothing from running, which
/// during maintenance is worse than an error.
fn check_name(cfg: &Config, name: &str) -> Result<()> {
    if JOB_LOCKS.contains(&name) {
        return Ok(());
    }
    let forms = "job locks are umdl-<category>, crawler-<category> (the category's slug: Fedora Linux → fedora-linux), update-mirrorlist-server, mm_sync_out, publiclist, crawler-propagation";
    let Some((prefix, cat)) = ["umdl-", "crawler-"]
        .iter()
        .find_map(|p| name.strip_prefix(p).map(|rest| (*p, rest)))
    else {
        return Err(AdminError::Invalid(format!(
            "no job takes a lock named {name:?}: {forms}"
        )));
    };
    let slug = mm_core::lock::slug(cat);
    if slug != cat || slug.is_empty() {
        return Err(AdminError::Invalid(format!(
            "no job takes a lock named {name:?}: lock names use the category's slug ({prefix}{slug})"
        )));
    }
    // With a database at hand, the category must exist; without one (a lock-only config,
    // a database outage during maintenance) the form alone is checked.
    let Ok(mut conn) = mm_core::db::open(&cfg.database_url()) else {
        return Ok(());
    };
    use diesel::prelude::*;
    use mm_core::schema::category;
    let names: Vec<String> = category::table
        .select(category::name)
        .order(category::name)
        .load(&mut conn)?;
    if names.iter().any(|n| mm_core::lock::slug(n) == slug) {
        return Ok(());
    }
    let known: Vec<String> = names
        .iter()
        .map(|n| format!("{prefix}{}", mm_core::lock::slug(n)))
        .collect();
    Err(AdminError::Invalid(format!(
        "no category's slug is {slug:?}: this database's {} locks are {}",
        prefix.trim_end_matches('-'),
        if known.is_empty() {
            "none (no categories)".to_string()
        } else {
            known.join(", ")
        }
    )))
}

pub fn run(cfg: &Config, opts: &Opts) -> Result<()> {
    if let Some(LocksCmd::Hold {
        name,
        seconds,
        wait,
    }) = &opts.action
    {
        check_name(cfg, name)?;
        let guard = mm_core::lock::acquire(&cfg.lock_dir, name, *wait)?;
        output::write_stdout(&format!(
            "holding {} (pid {})\n",
            guard.path().display(),
            std::process::id()
        ))?;
        match seconds {
            Some(s) => std::thread::sleep(std::time::Duration::from_secs(*s)),
            None => loop {
                std::thread::park();
            },
        }
        return Ok(());
    }
    let locks = mm_core::lock::list(&cfg.lock_dir)?;
    let mut out = output::Printout::default();
    if locks.is_empty() && !opts.json {
        out.line(format_args!("no lock files in {}", cfg.lock_dir.display()));
        return out.emit();
    }
    out.rows(&locks, opts.json, |l| {
        if l.held {
            format!(
                "{:<32} HELD by pid {} since {} ({})",
                l.name,
                l.holder
                    .pid
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into()),
                l.holder.started.as_deref().unwrap_or("?"),
                l.holder.command.as_deref().unwrap_or("")
            )
        } else {
            format!("{:<32} free", l.name)
        }
    });
    out.emit()
}
