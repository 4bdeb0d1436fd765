//! What every binary shares on its command line and at exit: `--config`, `--debug`, the
//! exit codes (0 ok, 1 failure, 2 usage/config error, 3 lock held) and error reporting.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, ConfigError};
use crate::lock::LockError;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the job failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage or configuration.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: another instance holds the lock.
pub const EXIT_LOCKED: u8 = 3;

/// Flags every binary takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Configuration file [default: /etc/mirrormanager/mirrormanager.toml]
    #[arg(long, global = true, env = crate::config::CONFIG_ENV, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log debug messages (RUST_LOG overrides)
    #[arg(long, short = 'v', global = true)]
    pub debug: bool,
}

impl CommonArgs {
    /// Initialise logging and load the configuration.
    pub fn init(&self) -> Result<Config, ConfigError> {
        crate::logging::init(self.debug);
        Config::load(self.config.as_deref())
    }
}

/// An error that says which exit code it wants (e.g. a refused deletion).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    pub code: u8,
    pub message: String,
}

impl ExitError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The exit code for an error chain: 3 when a lock was held, 2 for configuration errors,
/// an [`ExitError`]'s own code, else 1.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ExitError>() {
            return e.code;
        }
        if let Some(LockError::Held { .. }) = cause.downcast_ref::<LockError>() {
            return EXIT_LOCKED;
        }
        if cause.downcast_ref::<ConfigError>().is_some() {
            return EXIT_USAGE;
        }
    }
    EXIT_FAILURE
}

/// Print an error chain on one line (`error: outer: inner: …`) and return its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let msg = err
        .chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ");
    eprintln!("error: {msg}");
    ExitCode::from(exit_code_for(err))
}

/// Run a binary's main body and turn its result into an exit code.
pub fn main_with(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}
