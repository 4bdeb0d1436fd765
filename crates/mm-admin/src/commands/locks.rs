//! `mirrormanager locks`: list the job lock files and who holds them; `locks hold NAME`
//! takes a job's lock and keeps it (e.g. to keep cron from starting that job during
//! maintenance) until interrupted or `--seconds` pass.

use mm_core::Config;

use crate::error::Result;
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

pub fn run(cfg: &Config, opts: &Opts) -> Result<()> {
    if let Some(LocksCmd::Hold {
        name,
        seconds,
        wait,
    }) = &opts.action
    {
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
