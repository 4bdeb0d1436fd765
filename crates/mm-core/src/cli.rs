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

/// An error chain on one line (`outer: inner: …`). Most of our errors show their source in
/// their own message as well as chaining it; a cause whose text already ends the line is
/// not repeated.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if msg.ends_with(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

/// Print an error chain on one line (`error: outer: inner: …`) and return its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", one_line(err));
    ExitCode::from(exit_code_for(err))
}

/// Run a binary's main body and turn its result into an exit code.
pub fn main_with(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn one_line_does_not_repeat_a_source_the_message_already_shows() {
        let path = std::path::Path::new("/nonexistent/mirrormanager.toml");
        let err = Config::from_file(path)
            .context("loading configuration")
            .unwrap_err();
        let line = one_line(&err);
        assert_eq!(
            line.matches("No such file or directory").count(),
            1,
            "{line}"
        );
        assert!(
            line.starts_with("loading configuration: /nonexistent/mirrormanager.toml: cannot read configuration: "),
            "{line}"
        );
        assert_eq!(exit_code_for(&err), EXIT_USAGE);
    }

    #[test]
    fn one_line_keeps_every_distinct_cause() {
        let err = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(one_line(&err), "outer: middle: inner");
    }
}
