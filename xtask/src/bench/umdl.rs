//! `cargo xtask bench umdl`: `update-master-directory-list` on a generated Fedora-shaped tree.
//!
//! The tree (`mm_umdl::generate`: releases/updates/testing/EPEL repositories with real
//! repomd.xml files, package directories, ISO checksum files and matching
//! `fullfiletimelist-*` files) is written once to `target/bench/umdl/tree-<dirs>-<files>` and
//! reused. On SQLite it times: a cold walk of the local tree (`--skip-fullfiletimelist`, empty
//! database), a cold scan through the fullfiletimelist files (empty database), a re-scan of
//! the unchanged tree, and the floor `find TREE -printf '%s %T@ %p\n' > /dev/null`. The page
//! cache is warm for every run (the floor included).
//!
//! Options: `--generate-only` (write the tree and stop), `--dirs N` [101000; quick 10000], `--files N` [1050000; quick 100000] (the generator rounds down; these give ≥100k directories and ≥1M files).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::{Cost, Opts, Report, verdict};

/// The shape `Spec::sized` gives (about `dirs` directories and `files` files), with
/// distinct release numbers however many releases the size needs (`Spec::sized` counts
/// Fedora releases down from 40 and EPEL ones from 10, which overflows or repeats beyond
/// 40 releases, i.e. beyond ~24k directories).
pub fn spec(dirs: usize, files: usize) -> mm_umdl::generate::Spec {
    let arches: Vec<String> = ["x86_64", "aarch64", "ppc64le", "s390x"]
        .map(String::from)
        .to_vec();
    let repos_per_release = (arches.len() + 1) * 4;
    let package_dirs = 26usize;
    let releases = (dirs / (repos_per_release * (package_dirs + 4))).max(1);
    let packages_per_dir = (files / (releases * repos_per_release * package_dirs)).max(1);
    mm_umdl::generate::Spec {
        fedora_releases: (0..releases as u32).map(|i| 100 + i).collect(),
        epel_releases: (0..releases as u32).map(|i| 100 + i).collect(),
        arches,
        package_dirs,
        packages_per_dir,
        fullfiletimelist: true,
        ..Default::default()
    }
}

/// Generate the tree into `dir` unless a complete one is there; returns (dirs, files).
pub fn tree(dir: &Path, dirs: usize, files: usize) -> Result<(u64, u64)> {
    let done = dir.join(".complete");
    if let Ok(t) = std::fs::read_to_string(&done)
        && let Some((d, f)) = t.trim().split_once(' ')
    {
        eprintln!("bench: reusing {}", dir.display());
        return Ok((d.parse()?, f.parse()?));
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    eprintln!(
        "bench: generating {} (~{dirs} directories, ~{files} files)",
        dir.display()
    );
    let t = std::time::Instant::now();
    let g = mm_umdl::generate::generate(dir, &spec(dirs, files))
        .with_context(|| format!("generating {}", dir.display()))?;
    eprintln!(
        "bench: generated {} directories, {} files in {:.0}s",
        g.dirs,
        g.files,
        t.elapsed().as_secs_f64()
    );
    // count what is on disk (the generator's counts leave out parents and the file lists)
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "find {} -type d | wc -l; find {} -type f | wc -l",
            dir.display(),
            dir.display()
        ))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut it = text.split_whitespace();
    let (d, f) = (
        it.next().unwrap_or("0").to_string(),
        it.next().unwrap_or("0").to_string(),
    );
    std::fs::write(&done, format!("{d} {f}\n"))?;
    Ok((d.parse()?, f.parse()?))
}

/// Admin CLI steps that create the products, arches and the two categories.
pub fn setup_categories(config: &Path, categories: &[(&str, &str, &str)]) -> Result<()> {
    let mm = super::bin("mirrormanager");
    let mut steps: Vec<Vec<String>> = vec![
        vec!["product".into(), "add".into(), "Fedora".into()],
        vec!["product".into(), "add".into(), "EPEL".into()],
    ];
    for a in ["x86_64", "aarch64", "ppc64le", "s390x", "source"] {
        steps.push(vec!["arch".into(), "add".into(), a.into()]);
    }
    for &(name, top, product) in categories {
        steps.push(
            [
                "category",
                "add",
                name,
                "--topdir",
                top,
                "--product",
                product,
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    for s in steps {
        crate::run(
            Command::new(&mm)
                .arg("--config")
                .arg(config)
                .args(&s)
                .stdout(std::process::Stdio::null()),
        )?;
    }
    Ok(())
}

const CATEGORIES: [(&str, &str, &str); 2] = [
    ("Fedora Linux", "pub/fedora/linux", "Fedora"),
    ("Fedora EPEL", "pub/epel", "EPEL"),
];

/// A fresh SQLite database with the categories and the umdl configuration; returns the config.
fn fresh_db(dir: &Path, label: &str, tree: &Path) -> Result<std::path::PathBuf> {
    let sub = dir.join(label);
    if sub.exists() {
        std::fs::remove_dir_all(&sub)?;
    }
    std::fs::create_dir_all(&sub)?;
    let url = format!("sqlite://{}/mm.sqlite", sub.display());
    let t = tree.display();
    let config = super::write_config(
        &sub,
        &url,
        &format!(
            "[umdl]\nprefix = \"{t}/\"\nmax_delete_fraction = 1.0\n\
             [[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora Linux\"\npath = \"{t}/pub/fedora/linux\"\n\
             [[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora EPEL\"\npath = \"{t}/pub/epel\"\n"
        ),
    )?;
    super::migrate(&config)?;
    setup_categories(&config, &CATEGORIES)?;
    Ok(config)
}

fn umdl(config: &Path, extra: &[&str], log: &Path) -> Result<Cost> {
    super::measure(
        Command::new(super::bin("update-master-directory-list"))
            .arg("--config")
            .arg(config)
            .args(extra),
        log,
    )
}

pub fn run(opts: &Opts) -> Result<()> {
    super::ensure_tools()?;
    super::build_release()?;
    let dir = super::work_dir("umdl")?;
    let dirs = opts.num("dirs", 101_000, 10_000)? as usize;
    let files = opts.num("files", 1_050_000, 100_000)? as usize;
    let tree_dir = dir.join(format!("tree-{dirs}-{files}"));
    let (ndirs, nfiles) = tree(&tree_dir, dirs, files)?;
    if opts.generate_only {
        return Ok(());
    }
    let sp = spec(dirs, files);

    let find = |log: &str| -> Result<Cost> {
        super::measure(
            Command::new("sh").arg("-c").arg(format!(
                "find {} -printf '%s %T@ %p\\n' > /dev/null",
                tree_dir.display()
            )),
            &dir.join(log),
        )
    };
    find("find-warm.log")?;
    let floor = find("find.log")?;
    let walk_cfg = fresh_db(&dir, "walk", &tree_dir)?;
    let walk = umdl(
        &walk_cfg,
        &["--skip-fullfiletimelist"],
        &dir.join("walk.log"),
    )?;
    let list_cfg = fresh_db(&dir, "list", &tree_dir)?;
    let list = umdl(&list_cfg, &[], &dir.join("list.log"))?;
    let rescan = umdl(&list_cfg, &[], &dir.join("rescan.log"))?;
    let walk_rescan = umdl(
        &walk_cfg,
        &["--skip-fullfiletimelist"],
        &dir.join("walk-rescan.log"),
    )?;

    let mut r = Report {
        title: "update-master-directory-list".into(),
        ..Default::default()
    };
    r.intro
        .push(super::machine() + "; SQLite database; page cache warm for every row.");
    r.intro.push(String::new());
    r.intro.push(format!(
        "Command: `cargo xtask bench umdl{}`.",
        opts.shown()
    ));
    r.intro.push(format!(
        "Tree: `mm_umdl::generate` with the shape of `Spec::sized({dirs}, {files})` ({} releases × 20 repositories, {} package directories × {} packages each, real repomd.xml files, fullfiletimelist files): {ndirs} directories and {nfiles} files on disk.",
        sp.fedora_releases.len(),
        sp.package_dirs,
        sp.packages_per_dir
    ));
    r.header = ["run", "wall (s)", "CPU (s)", "peak RSS (MB)", "× find"]
        .map(String::from)
        .to_vec();
    let rows: [(&str, &Cost); 5] = [
        (
            "floor: `find TREE -printf '%s %T@ %p\\n' > /dev/null`",
            &floor,
        ),
        ("cold scan, local walk (`--skip-fullfiletimelist`)", &walk),
        ("cold scan via fullfiletimelist", &list),
        ("re-scan, unchanged tree (fullfiletimelist)", &rescan),
        ("re-scan, unchanged tree (walk)", &walk_rescan),
    ];
    for (name, c) in rows {
        r.row(&[
            &name,
            &format!("{:.2}", c.wall_s()),
            &format!("{:.2}", c.cpu),
            &format!("{:.0}", c.rss_mb()),
            &format!("{:.2}", c.wall_s() / floor.wall_s()),
        ]);
    }
    let peak = [walk, list, rescan, walk_rescan]
        .iter()
        .map(|c| c.rss_mb())
        .fold(0.0, f64::max);
    r.notes.push("Targets: cold local scan ≤ 1.5× the find floor; unchanged re-scan < 2 s; peak RSS < 500 MB.".into());
    r.notes.push(String::new());
    r.notes.push(format!(
        "- cold local scan ≤ 1.5× find: {} ({:.2} s vs {:.2} s = {:.2}×)",
        verdict(walk.wall_s() <= 1.5 * floor.wall_s()),
        walk.wall_s(),
        floor.wall_s(),
        walk.wall_s() / floor.wall_s()
    ));
    r.notes.push(format!(
        "- unchanged re-scan < 2 s: {} (fullfiletimelist {:.2} s, walk {:.2} s)",
        verdict(rescan.wall_s() < 2.0),
        rescan.wall_s(),
        walk_rescan.wall_s()
    ));
    r.notes.push(format!(
        "- peak RSS < 500 MB: {} ({peak:.0} MB)",
        verdict(peak < 500.0)
    ));
    r.publish("umdl")
}
