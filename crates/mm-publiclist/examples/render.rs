//! Benchmark: fill a fresh SQLite and a fresh PostgreSQL database at Fedora scale (~700
//! hosts, ~40 versions × 10 arches, see `fixture::fill_fedora_scale`) and time
//! generation, in-process and as the real `mirrormanager publiclist` under `/usr/bin/time -v`
//! (peak RSS).
//!
//! `cargo run -p mm-publiclist --example render -- [PATH/TO/mirrormanager]` (build the
//! binary first: `cargo build -p mm-admin`). Scale via `MM_BENCH_HOSTS`, `MM_BENCH_VERSIONS`,
//! `MM_BENCH_ARCHES`.

use std::process::Command;
use std::time::Instant;

use mm_testkit::fixture::{Scale, fill_fedora_scale};
use mm_testkit::{BACKENDS, TestDb};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    mm_core::logging::init(std::env::var_os("MM_BENCH_DEBUG").is_some());
    let scale = Scale {
        hosts: env_or("MM_BENCH_HOSTS", Scale::FEDORA.hosts),
        versions: env_or("MM_BENCH_VERSIONS", Scale::FEDORA.versions),
        arches: env_or("MM_BENCH_ARCHES", Scale::FEDORA.arches),
    };
    let bin = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/debug/mirrormanager".into());
    println!("scale: {scale:?}");
    for kind in BACKENDS {
        let mut db = TestDb::new(kind);
        let t = Instant::now();
        let filled = fill_fedora_scale(&mut db.conn, scale).expect("fill");
        println!(
            "{kind}: filled {filled:?} in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let out = db.dir.path().join("publiclist");
        let t = Instant::now();
        let snap = mm_publiclist::data::load(&mut db.conn).expect("load");
        println!(
            "{kind}: queries alone: {:.2}s ({} up-to-date version/arch rows)",
            t.elapsed().as_secs_f64(),
            snap.up2date.len()
        );
        let t = Instant::now();
        let mut bytes = 0usize;
        let now = chrono::Utc::now().naive_utc();
        mm_publiclist::render::render(&snap, now, |_, data| {
            bytes += data.len();
            Ok(())
        })
        .expect("render");
        println!(
            "{kind}: rendering alone (no files): {:.2}s, {bytes} bytes",
            t.elapsed().as_secs_f64()
        );
        for run in 1..=2 {
            let s = mm_publiclist::generate(&mut db.conn, &out, None).expect("generate");
            println!("{kind}: in-process run {run}: {s}");
        }
        if std::path::Path::new(&bin).exists() {
            let cfg = db.config_file("");
            let o = Command::new("/usr/bin/time")
                .arg("-v")
                .arg(&bin)
                .arg("--config")
                .arg(&cfg)
                .args(["publiclist", "-o"])
                .arg(&out)
                .output()
                .expect("run /usr/bin/time");
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let pick = |key: &str| {
                stderr
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            println!(
                "{kind}: {bin}: {} | wall {} | max RSS {} kB",
                stdout.trim(),
                pick("Elapsed (wall clock) time (h:mm:ss or m:ss):"),
                pick("Maximum resident set size (kbytes):")
            );
        } else {
            println!("{bin} not built; skipped the /usr/bin/time run");
        }
    }
}
