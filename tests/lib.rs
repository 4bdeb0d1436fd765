//! Support for the end-to-end tests in `e2e/`: run the real binaries and check what they
//! print and how they exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs one of our binaries with a given config file.
#[derive(Debug, Clone)]
pub struct Runner {
    pub bin: PathBuf,
    pub config: PathBuf,
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panic with the full output unless the run exited 0.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panic unless the run exited with `code`.
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

impl Runner {
    pub fn new(bin_name: &str, config: &Path) -> Runner {
        Runner {
            bin: mm_testkit::bin(bin_name),
            config: config.to_owned(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run binary"))
    }
}
