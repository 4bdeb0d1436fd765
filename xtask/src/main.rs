//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! * `test`  — install missing system packages (as root), build every binary, run every test.
//! * `demo`  — the main job end to end on the embedded SQLite database.
//! * `bench` — benchmarks on generated data (see docs/PERFORMANCE.md).
//! * `dist`  — release binaries, man pages and shell completions under `target/dist`.

mod bench;
mod demo;
mod deps;
mod dist;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("dist") => dist::run(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <test [cargo test args] | demo | bench <name> | dist>");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

/// Run a command in the workspace root, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let st = cmd.current_dir(root()).status().with_context(|| format!("cannot run {shown}"))?;
    if !st.success() {
        bail!("{shown} failed ({st})");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn test(extra: &[String]) -> Result<()> {
    deps::ensure_test_packages()?;
    eprintln!("xtask: building every binary");
    run(cargo().args(["build", "--workspace", "--bins"]))?;
    eprintln!("xtask: running the test suite");
    run(cargo().args(["test", "--workspace"]).args(extra))?;
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    bench::run(args)
}
