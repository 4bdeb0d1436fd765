//! `cargo xtask bench <umdl|crawl|cache|server>`: benchmarks on generated data.
//!
//! Every benchmark builds the release binaries, generates its data under `target/bench`,
//! runs the binaries under `/usr/bin/time` (wall time, peak RSS), prints a table and
//! rewrites its own section of docs/PERFORMANCE.md (between `<!-- bench:NAME -->` markers;
//! the rest of the file is kept). `--quick` picks a small size that finishes in a couple of
//! minutes; every size is also a `--key value` option (see each module).

mod cache;
mod crawl;
mod publiclist;
mod server;
mod umdl;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Entry point of `cargo xtask bench`.
pub fn run(args: &[String]) -> Result<()> {
    let usage = "usage: cargo xtask bench <umdl|crawl|cache|server|publiclist|all> [--quick] [--KEY VALUE ...]";
    let Some(name) = args.first() else {
        bail!("{usage}")
    };
    let opts = Opts::parse(&args[1..])?;
    match name.as_str() {
        "umdl" => umdl::run(&opts),
        "crawl" => crawl::run(&opts),
        "cache" => cache::run(&opts),
        "server" => server::run(&opts),
        "publiclist" => publiclist::run(&opts),
        "all" => {
            umdl::run(&opts)?;
            crawl::run(&opts)?;
            cache::run(&opts)?;
            server::run(&opts)?;
            publiclist::run(&opts)
        }
        other => bail!("unknown benchmark {other:?}; {usage}"),
    }
}

/// `--quick` and `--key value` options.
#[derive(Debug, Default)]
pub struct Opts {
    pub quick: bool,
    /// `--generate-only`: write the generated data and stop (umdl, crawl).
    pub generate_only: bool,
    values: BTreeMap<String, String>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts> {
        let mut o = Opts::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--quick" {
                o.quick = true;
            } else if a == "--generate-only" {
                o.generate_only = true;
            } else if let Some(k) = a.strip_prefix("--") {
                let v = it.next().with_context(|| format!("--{k} needs a value"))?;
                o.values.insert(k.to_string(), v.clone());
            } else {
                bail!("unexpected argument {a:?}");
            }
        }
        Ok(o)
    }

    /// A numeric option: `--key N`, else the quick or the full default.
    pub fn num(&self, key: &str, full: u64, quick: u64) -> Result<u64> {
        match self.values.get(key) {
            Some(v) => v
                .replace('_', "")
                .parse()
                .with_context(|| format!("--{key} {v:?} is not a number")),
            None => Ok(if self.quick { quick } else { full }),
        }
    }

    /// The options as given, for the command line shown in the report.
    pub fn shown(&self) -> String {
        let mut s = String::new();
        if self.quick {
            s += " --quick";
        }
        for (k, v) in &self.values {
            let _ = write!(s, " --{k} {v}");
        }
        s
    }
}

/// `target/bench/<name>`, created.
pub fn work_dir(name: &str) -> Result<PathBuf> {
    let d = crate::root().join("target/bench").join(name);
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}

/// A release binary of the workspace.
pub fn bin(name: &str) -> PathBuf {
    crate::root().join("target/release").join(name)
}

/// Build `package`'s release example `name` and give its path.
pub fn build_example(package: &str, name: &str) -> Result<PathBuf> {
    crate::run(crate::cargo().args(["build", "--release", "-p", package, "--example", name]))?;
    Ok(crate::root().join("target/release/examples").join(name))
}

/// Run a benchmark helper and give its standard output; a failure names the program and
/// shows what it printed.
pub fn run_helper(cmd: &mut std::process::Command) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().with_context(|| format!("running {program}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        anyhow::bail!(
            "{program} failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// Figures as `a, b, c` with `digits` decimals.
pub fn join(v: &[f64], digits: usize) -> String {
    v.iter()
        .map(|x| format!("{x:.digits$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Build the release binaries every benchmark uses (one package set, so nothing is rebuilt
/// between benchmarks).
pub fn build_release() -> Result<()> {
    let packages = [
        "mm-admin",
        "mm-umdl",
        "mm-crawler",
        "mm-cache",
        "mm-mirrorlist",
    ];
    eprintln!("bench: cargo build --release ({})", packages.join(", "));
    let mut c = crate::cargo();
    c.args(["build", "--release", "--bins"]);
    for p in packages {
        c.args(["-p", p]);
    }
    crate::run(&mut c)
}

/// Debian packages the benchmarks need (package, program that shows it is installed).
const PACKAGES: &[(&str, &str)] = &[
    ("time", "/usr/bin/time"),
    ("rsync", "/usr/bin/rsync"),
    ("nginx", "/usr/sbin/nginx"),
    ("wrk", "/usr/bin/wrk"),
    ("sqlite3", "/usr/bin/sqlite3"),
    ("postgresql-client", "/usr/bin/psql"),
];

/// Install what is missing (as root), plus the test packages (PostgreSQL server).
pub fn ensure_tools() -> Result<()> {
    crate::deps::ensure_test_packages()?;
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, p)| !Path::new(p).exists())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::deps::apt_install(&missing)
}

/// What one measured run cost.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub wall: Duration,
    /// Peak resident set size of the process (and the largest of its children), KiB.
    pub max_rss_kb: u64,
    /// User + system CPU seconds.
    pub cpu: f64,
}

impl Cost {
    pub fn wall_s(&self) -> f64 {
        self.wall.as_secs_f64()
    }
    pub fn rss_mb(&self) -> f64 {
        self.max_rss_kb as f64 / 1024.0
    }
}

/// Run `cmd` under `/usr/bin/time`, failing when it fails; stdout/stderr go to `log`.
pub fn measure(cmd: &mut Command, log: &Path) -> Result<Cost> {
    let shown = format!("{cmd:?}");
    let tfile = log.with_extension("time");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M %U %S")
        .arg("-o")
        .arg(&tfile)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        timed.current_dir(d);
    }
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone()?;
    let started = Instant::now();
    let st = timed
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    let wall = started.elapsed();
    if !st.success() {
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(15).collect();
        bail!(
            "{shown} failed ({st}); last lines of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let t = std::fs::read_to_string(&tfile)?;
    let f: Vec<&str> = t.lines().last().unwrap_or("").split_whitespace().collect();
    let [rss, u, s] = f.as_slice() else {
        bail!("cannot read {}: {t:?}", tfile.display())
    };
    Ok(Cost {
        wall,
        max_rss_kb: rss.parse()?,
        cpu: u.parse::<f64>()? + s.parse::<f64>()?,
    })
}

/// A report: a markdown table plus notes, printed and written to docs/PERFORMANCE.md.
#[derive(Debug, Default)]
pub struct Report {
    pub title: String,
    pub intro: Vec<String>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn row(&mut self, cells: &[&dyn std::fmt::Display]) {
        self.rows
            .push(cells.iter().map(|c| c.to_string()).collect());
    }

    pub fn markdown(&self) -> String {
        let mut s = format!("## {}\n\n", self.title);
        for l in &self.intro {
            s += l;
            s += "\n";
        }
        s += "\n| ";
        s += &self.header.join(" | ");
        s += " |\n|";
        s += &self.header.iter().map(|_| "---|").collect::<String>();
        s += "\n";
        for r in &self.rows {
            s += "| ";
            s += &r.join(" | ");
            s += " |\n";
        }
        if !self.notes.is_empty() {
            s += "\n";
            for n in &self.notes {
                s += n;
                s += "\n";
            }
        }
        s
    }

    /// Print the report and rewrite section `name` of docs/PERFORMANCE.md.
    pub fn publish(&self, name: &str) -> Result<()> {
        let md = scrub_paths(&self.markdown(), &crate::root(), &std::env::temp_dir());
        println!("\n{md}");
        let path = crate::root().join("docs/PERFORMANCE.md");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Performance\n".into());
        let (open, close) = (
            format!("<!-- bench:{name} -->"),
            format!("<!-- /bench:{name} -->"),
        );
        let block = format!("{open}\n{md}{close}\n");
        let new = match (text.find(&open), text.find(&close)) {
            (Some(a), Some(b)) if b > a => {
                let end = b + close.len();
                let end = if text[end..].starts_with('\n') {
                    end + 1
                } else {
                    end
                };
                format!("{}{block}{}", &text[..a], &text[end..])
            }
            _ => format!(
                "{}\n{block}",
                text.trim_end_matches('\n').to_string() + "\n"
            ),
        };
        std::fs::write(&path, new).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("bench: wrote section {name} of {}", path.display());
        Ok(())
    }
}

/// `text` with the checkout's path shown relative to it and the temp dir as `$TMPDIR`: the
/// report is committed and must not name the machine it ran on.
fn scrub_paths(text: &str, root: &Path, tmp: &Path) -> String {
    let root = format!("{}/", root.display());
    let tmp = tmp.display().to_string();
    let text = text.replace(&root, "");
    if tmp.len() > 1 {
        text.replace(tmp.trim_end_matches('/'), "$TMPDIR")
    } else {
        text
    }
}

/// `PASS`/`FAIL` for a target.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// Today's date and the machine, for the report intro.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024 / 1024)
        .unwrap_or(0);
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("Measured {date} on {cpus} cores, {mem} GiB (machine shared with other jobs)")
}

/// Write the configuration file every binary reads.
pub fn write_config(dir: &Path, database_url: &str, extra: &str) -> Result<PathBuf> {
    let path = dir.join("mirrormanager.toml");
    let d = dir.display();
    std::fs::write(
        &path,
        format!(
            "database_url = {database_url:?}\nlock_dir = \"{d}/lock\"\nlog_dir = \"{d}/log\"\ncache_dir = \"{d}/cache\"\n{extra}"
        ),
    )?;
    Ok(path)
}

/// Apply a SQL script: `psql` for PostgreSQL URLs, the `sqlite3` shell otherwise.
pub fn apply_sql(database_url: &str, sql: &str, scratch: &Path) -> Result<()> {
    let file = scratch.join("fill.sql");
    std::fs::write(&file, sql)?;
    let st = if database_url.starts_with("postgres") {
        Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
            .arg(&file)
            .arg(database_url)
            .stdout(Stdio::null())
            .status()?
    } else {
        let path = database_url.trim_start_matches("sqlite://");
        Command::new("sqlite3")
            .args(["-bail", path])
            .arg(format!(".read {}", file.display()))
            .stdout(Stdio::null())
            .status()?
    };
    if !st.success() {
        bail!(
            "applying {} to {} failed ({st})",
            file.display(),
            mm_core_redact(database_url)
        );
    }
    Ok(())
}

fn mm_core_redact(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// `mirrormanager db migrate` with the given configuration.
pub fn migrate(config: &Path) -> Result<()> {
    crate::run(
        Command::new(bin("mirrormanager"))
            .arg("--config")
            .arg(config)
            .args(["db", "migrate"]),
    )
}

/// Size of a file or tree in MB, as `du` counts it.
pub fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::scrub_paths;
    use std::path::Path;

    #[test]
    fn reports_name_no_machine_path() {
        let text = "/srv/co/target/release/mirrormanager: 3 pages (12 bytes in /var/tmp/mm-testkit-Ab1/publiclist)";
        assert_eq!(
            scrub_paths(text, Path::new("/srv/co"), Path::new("/var/tmp/")),
            "target/release/mirrormanager: 3 pages (12 bytes in $TMPDIR/mm-testkit-Ab1/publiclist)"
        );
    }
}
