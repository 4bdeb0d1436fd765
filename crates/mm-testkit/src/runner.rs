//! Run one of the workspace's binaries with a config file and check how it exits and what
//! it prints.

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
    /// The workspace binary `bin_name` (see [`crate::bin`]) with `config`.
    pub fn new(bin_name: &str, config: &Path) -> Runner {
        Runner::at(crate::bin(bin_name), config)
    }

    /// The binary at `bin` (e.g. a test's `env!("CARGO_BIN_EXE_…")`) with `config`.
    pub fn at(bin: impl Into<PathBuf>, config: &Path) -> Runner {
        Runner {
            bin: bin.into(),
            config: config.to_owned(),
        }
    }

    /// The command line with `--config` and `args`; the environment's database URL, config
    /// path and log filter are removed so that only the config file counts.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("MIRRORMANAGER_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// Run to the end; what it printed is shown in the test's captured output.
    pub fn run(&self, args: &[&str]) -> Run {
        let run = Run::from(self.command(args).output().expect("run binary"));
        eprintln!(
            "{} {args:?}: exit {}\nstdout:\n{}\nstderr:\n{}",
            self.bin.display(),
            run.code,
            run.stdout,
            run.stderr
        );
        run
    }

    /// `mirrormanager product add PRODUCT` (unless `product show` finds it) and
    /// `category add NAME --topdir TOPDIR --product PRODUCT`; both must succeed.
    pub fn add_category(&self, name: &str, topdir: &str, product: &str) {
        if self.run(&["product", "show", product]).code != 0 {
            self.run(&["product", "add", product]).ok();
        }
        self.run(&[
            "category",
            "add",
            name,
            "--topdir",
            topdir,
            "--product",
            product,
        ])
        .ok();
    }
}
