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
mod static_http;

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
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Run a command in the workspace root, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let st = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
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
    let tally = root().join("target/test-backends.txt");
    let _ = std::fs::remove_file(&tally);
    run(cargo()
        .args(["test", "--workspace"])
        .args(extra)
        .env("MM_TEST_TALLY", &tally))?;
    let text = std::fs::read_to_string(&tally).unwrap_or_default();
    let count = |k: &str| text.lines().filter(|l| *l == k).count();
    let (sqlite, postgres) = (count("sqlite"), count("postgres"));
    println!("database test bodies run per backend: sqlite {sqlite}, postgres {postgres}");
    if extra.is_empty() && (sqlite == 0 || postgres == 0) {
        bail!("the database tests did not run on both backends");
    }
    if extra.is_empty() {
        fuzz(20)?;
    }
    Ok(())
}

/// The cargo-fuzz targets under `fuzz/fuzz_targets`.
const FUZZ_TARGETS: &[&str] = &["mirrorlist_query"];

/// Run every fuzz target for a bounded time (cargo-fuzz is installed when missing; the
/// sanitizer flags it needs are unlocked on a stable toolchain with RUSTC_BOOTSTRAP).
fn fuzz(seconds: u32) -> Result<()> {
    let have = cargo()
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        eprintln!("xtask: installing cargo-fuzz");
        run(cargo().args(["install", "--locked", "cargo-fuzz"]))?;
    }
    let corpus = root().join("target/fuzz-corpus");
    for target in FUZZ_TARGETS {
        let out = corpus.join(target);
        std::fs::create_dir_all(&out)?;
        eprintln!("xtask: fuzzing {target} for {seconds}s");
        run(cargo()
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "--fuzz-dir", "fuzz", target])
            .arg(&out)
            .arg(root().join("fuzz/seeds"))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=2048",
                "-print_final_stats=1",
            ]))?;
        println!("fuzz {target}: {seconds}s without a crash");
    }
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    bench::run(args)
}
