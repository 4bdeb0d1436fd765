//! System packages the test suite needs, installed when missing (as root, `apt-get update`
//! first). A missing tool is never a reason to skip a test.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// (Debian package, how to tell it is installed)
const PACKAGES: &[(&str, Probe)] = &[
    (
        "postgresql",
        Probe::Glob("/usr/lib/postgresql", "bin/postgres"),
    ),
    ("rsync", Probe::Bin("rsync")),
    ("nginx", Probe::Bin("nginx")),
    ("vsftpd", Probe::Bin("vsftpd")),
    ("aria2", Probe::Bin("aria2c")),
    ("protobuf-compiler", Probe::Bin("protoc")),
    ("python3-librepo", Probe::Python("librepo")),
    ("openssh-client", Probe::Bin("ssh")),
    ("chromium", Probe::Bin("chromium")),
    ("tidy", Probe::Bin("tidy")),
];

enum Probe {
    Bin(&'static str),
    Glob(&'static str, &'static str),
    Python(&'static str),
}

fn on_path(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(name).is_file())
}

fn present(p: &Probe) -> bool {
    match p {
        Probe::Bin(b) => on_path(b),
        Probe::Glob(dir, sub) => std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.path().join(sub).exists())
            })
            .unwrap_or(false),
        // Debian's python3-* modules import only in the system interpreter.
        Probe::Python(m) => Command::new("/usr/bin/python3")
            .args(["-c", &format!("import {m}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `apt-get update`, then install `packages` (as root, without recommends).
pub fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("xtask: installing {}", packages.join(" "));
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    crate::run(Command::new("apt-get").arg("update").envs(env))?;
    crate::run(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .envs(env),
    )
}

/// Install whatever the tests need and is missing.
pub fn ensure_test_packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, p)| !present(p))
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        eprintln!("xtask: test packages present");
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the tests need these Debian packages: {} (run as root to install them)",
            missing.join(" ")
        );
    }
    apt_install(&missing)?;
    // Debian starts freshly installed daemons; the tests start their own on loopback ports.
    for svc in ["nginx", "vsftpd", "postgresql", "rsync"] {
        if missing.iter().any(|m| m.starts_with(svc)) && Path::new("/usr/sbin/service").exists() {
            let _ = Command::new("service").args([svc, "stop"]).output();
        }
    }
    let still: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, p)| !present(p))
        .map(|(n, _)| *n)
        .collect();
    if !still.is_empty() {
        bail!("still missing after install: {}", still.join(" "));
    }
    Ok(())
}
