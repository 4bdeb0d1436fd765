//! `cargo xtask demo`: the main job end to end on the embedded SQLite database.
//!
//! Builds the binaries, creates a fresh database under `target/demo`, applies the
//! migrations and loads a small sample mirror network through the admin CLI (exactly the
//! commands a sysadmin would type), then lists it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

fn mm(dir: &Path, args: &[&str]) -> Result<()> {
    let bin = crate::root().join("target/debug/mirrormanager");
    println!("$ mirrormanager {}", args.iter().map(|a| if a.contains(' ') { format!("{a:?}") } else { a.to_string() }).collect::<Vec<_>>().join(" "));
    let st = Command::new(&bin)
        .arg("--config")
        .arg(dir.join("mirrormanager.toml"))
        .args(args)
        .status()
        .with_context(|| format!("run {}", bin.display()))?;
    if !st.success() {
        bail!("mirrormanager {} failed ({st})", args.join(" "));
    }
    Ok(())
}

pub fn run(_args: &[String]) -> Result<()> {
    crate::run(crate::cargo().args(["build", "--workspace", "--bins"]))?;
    let dir = crate::root().join("target/demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("mirrormanager.toml"),
        format!(
            "database_url = \"sqlite://{d}/mirrormanager.db\"\nlock_dir = \"{d}/lock\"\nlog_dir = \"{d}/log\"\ncache_dir = \"{d}/cache\"\n",
            d = dir.display()
        ),
    )?;
    let steps: &[&[&str]] = &[
        &["db", "migrate"],
        &["product", "add", "Fedora"],
        &["product", "add", "EPEL"],
        &["arch", "add", "x86_64", "--primary"],
        &["arch", "add", "aarch64", "--primary"],
        &["arch", "add", "source"],
        &["category", "add", "Fedora Linux", "--topdir", "pub/fedora/linux", "--product", "Fedora"],
        &["category", "add", "Fedora EPEL", "--topdir", "pub/epel", "--product", "EPEL"],
        &["site", "add", "Example University", "--org-url", "https://www.example.edu"],
        &["site", "add", "Example Networks", "--org-url", "https://www.example.net"],
        &["host", "add", "Example University", "mirror.example.edu", "--country", "US", "--bandwidth", "10000", "--internet2"],
        &["host", "add", "Example Networks", "ftp.example.net", "--country", "DE", "--bandwidth", "1000"],
        &["host", "add", "Example Networks", "fast.example.net", "--country", "DE", "--bandwidth", "40000", "--asn", "64500"],
        &["host-category", "add", "mirror.example.edu", "Fedora Linux"],
        &["host-category", "add", "ftp.example.net", "Fedora Linux"],
        &["host-category", "add", "ftp.example.net", "Fedora EPEL"],
        &["host-category", "add", "fast.example.net", "Fedora EPEL", "--always-up2date"],
        &["url", "add", "mirror.example.edu", "Fedora Linux", "https://mirror.example.edu/fedora/linux"],
        &["url", "add", "mirror.example.edu", "Fedora Linux", "rsync://mirror.example.edu/fedora/linux"],
        &["url", "add", "ftp.example.net", "Fedora Linux", "ftp://ftp.example.net/pub/fedora/linux"],
        &["url", "add", "ftp.example.net", "Fedora EPEL", "http://ftp.example.net/pub/epel"],
        &["url", "add", "fast.example.net", "Fedora EPEL", "https://fast.example.net/epel"],
        &["netblock", "add", "mirror.example.edu", "198.51.100.0/24"],
        &["netblock", "add", "fast.example.net", "2001:db8::/32"],
        &["asn", "add", "fast.example.net", "64501"],
        &["country-allowed", "add", "ftp.example.net", "DE"],
        &["repo-redirect", "add", "fedora-rawhide", "rawhide"],
        &["continent-redirect", "add", "IL", "EU"],
        &["site", "list"],
        &["host", "list"],
        &["category", "list"],
        &["host", "show", "fast.example.net"],
    ];
    for s in steps {
        mm(&dir, s)?;
    }
    println!("\ndemo database: {}/mirrormanager.db (config {}/mirrormanager.toml)", dir.display(), dir.display());
    Ok(())
}
