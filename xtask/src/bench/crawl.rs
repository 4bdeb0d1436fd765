//! `cargo xtask bench crawl`: `mm2_crawler` against many rsync mirrors on loopback.
//!
//! A Fedora-shaped tree is generated (as for the umdl benchmark) and scanned into a SQLite
//! database by `update-master-directory-list`; one rsync daemon exports the "Fedora Linux"
//! top as `--mirrors` modules (all the same tree, so every mirror is up to date) and the
//! database gets one host per module. Timed: the crawler with `--threads` threads over those
//! hosts, and the floor, the same `rsync --list-only -r` listings run with the same
//! parallelism and thrown away. A few extra hosts are served over HTTP by nginx with an
//! access log, crawled separately, to count the requests an up-to-date mirror costs.
//!
//! Options: `--generate-only` (write the tree and stop), `--mirrors N` [250; quick 25], `--threads N` [40], `--dirs N` [28000; quick
//! 4000], `--files N` [280000; quick 40000], `--http-mirrors N` [5].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::{Opts, Report, verdict};

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx serving `root` on a free loopback port with an access log at `log`.
fn nginx(work: &Path, root: &Path, log: &Path) -> Result<(Killer, u16)> {
    let port = mm_testkit::free_port();
    let d = work.display();
    let conf = work.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "user root;\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n access_log {log};\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             types {{ application/xml xml; text/plain txt; }}\n default_type application/octet-stream;\n\
             keepalive_requests 100000;\n\
             server {{ listen 127.0.0.1:{port}; root {root}; autoindex on; }}\n}}\n",
            log = log.display(),
            root = root.display(),
        ),
    )?;
    let child = Command::new("/usr/sbin/nginx")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(work)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting nginx")?;
    mm_testkit::servers::wait_port(port);
    Ok((Killer(child), port))
}

/// The floor: `urls` listed by `threads` parallel `rsync --list-only -r`, output discarded.
fn floor(urls: &[String], threads: usize) -> Result<std::time::Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let urls = Arc::new(urls.to_vec());
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (next, urls) = (next.clone(), urls.clone());
            std::thread::spawn(move || -> Result<()> {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(u) = urls.get(i) else { return Ok(()) };
                    let st = Command::new("rsync")
                        .args(["--list-only", "-r", u])
                        .env("LC_ALL", "C")
                        .stdout(Stdio::null())
                        .status()?;
                    if !st.success() {
                        bail!("rsync --list-only -r {u} failed ({st})");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("a floor thread panicked"))??;
    }
    Ok(started.elapsed())
}

fn sql_scalar(db: &Path, sql: &str) -> Result<String> {
    let out = Command::new("sqlite3").arg(db).arg(sql).output()?;
    anyhow::ensure!(
        out.status.success(),
        "sqlite3 {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn run(opts: &Opts) -> Result<()> {
    super::ensure_tools()?;
    super::build_release()?;
    let dir = super::work_dir("crawl")?;
    let mirrors = opts.num("mirrors", 250, 25)? as usize;
    let threads = opts.num("threads", 40, 40)? as usize;
    let dirs = opts.num("dirs", 28_000, 4_000)? as usize;
    let files = opts.num("files", 280_000, 40_000)? as usize;
    let http_mirrors = opts.num("http-mirrors", 5, 5)? as usize;
    let tree: PathBuf = dir.join(format!("tree-{dirs}-{files}"));
    super::umdl::tree(&tree, dirs, files)?;
    if opts.generate_only {
        return Ok(());
    }
    let top = tree.join("pub/fedora/linux");

    // database: categories, a umdl scan, then the hosts
    let db_dir = dir.join("db");
    if db_dir.exists() {
        std::fs::remove_dir_all(&db_dir)?;
    }
    std::fs::create_dir_all(&db_dir)?;
    let db = db_dir.join("mm.sqlite");
    let t = tree.display();
    let config = super::write_config(
        &db_dir,
        &format!("sqlite://{}", db.display()),
        &format!(
            "[umdl]\nprefix = \"{t}/\"\n[[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora Linux\"\npath = \"{t}/pub/fedora/linux\"\n"
        ),
    )?;
    super::migrate(&config)?;
    super::umdl::setup_categories(&config, &[("Fedora Linux", "pub/fedora/linux", "Fedora")])?;
    crate::run(
        Command::new(super::bin("update-master-directory-list"))
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null()),
    )?;
    let cat_dirs: u64 = sql_scalar(&db, "SELECT count(*) FROM category_directory")?.parse()?;

    let modules: Vec<String> = (1..=mirrors).map(|i| format!("m{i}")).collect();
    let pairs: Vec<(&str, &Path)> = modules
        .iter()
        .map(|m| (m.as_str(), top.as_path()))
        .collect();
    let rsyncd = mm_testkit::servers::rsync_daemon_modules(&pairs);
    let web_root = dir.join("www");
    let _ = std::fs::remove_dir_all(&web_root);
    std::fs::create_dir_all(&web_root)?;
    for j in 1..=http_mirrors {
        std::os::unix::fs::symlink(&top, web_root.join(format!("h{j}")))?;
    }
    let access = dir.join("access.log");
    let _ = std::fs::remove_file(&access);
    let (_nginx, http_port) = nginx(&dir, &web_root, &access)?;

    let total = mirrors + http_mirrors;
    let mut sql = String::from("BEGIN;\n");
    for i in 1..=total {
        let _ = writeln!(
            sql,
            "INSERT INTO site (id, admin_active, all_sites_can_pull_from_me, created_at, created_by, email_on_add, email_on_drop, name, private, user_active) VALUES ({i}, 1, 0, CURRENT_TIMESTAMP, 'bench', 0, 0, 'site{i}', 0, 1);\n\
             INSERT INTO host (id, site_id, admin_active, asn_clients, bandwidth_int, country, crawl_failures, internet2, internet2_clients, max_connections, name, private, user_active) VALUES ({i}, {i}, 1, 0, 100, 'US', 0, 0, 0, 10, 'mirror{i}.example.org', 0, 1);\n\
             INSERT INTO host_category (id, category_id, host_id, always_up2date) VALUES ({i}, (SELECT id FROM category WHERE name = 'Fedora Linux'), {i}, 0);"
        );
        let url = if i <= mirrors {
            format!("rsync://127.0.0.1:{}/m{i}", rsyncd.port)
        } else {
            format!("http://127.0.0.1:{http_port}/h{}", i - mirrors)
        };
        let _ = writeln!(
            sql,
            "INSERT INTO host_category_url (host_category_id, private, url) VALUES ({i}, 0, '{url}');"
        );
    }
    sql += "COMMIT;\n";
    super::apply_sql(&format!("sqlite://{}", db.display()), &sql, &db_dir)?;

    let urls: Vec<String> = (1..=mirrors)
        .map(|i| format!("rsync://127.0.0.1:{}/m{i}/", rsyncd.port))
        .collect();
    eprintln!("bench: floor, {mirrors} rsync listings with {threads} in parallel");
    let floor_wall = floor(&urls, threads)?;
    eprintln!("bench: mm2_crawler over {mirrors} rsync mirrors, {threads} threads");
    let crawl = super::measure(
        Command::new(super::bin("mm2_crawler"))
            .arg("--config")
            .arg(&config)
            .args([
                "--threads",
                &threads.to_string(),
                "--category",
                "Fedora Linux",
                "--stopid",
                &(mirrors + 1).to_string(),
            ]),
        &dir.join("crawler.log"),
    )?;
    let up2date: u64 = sql_scalar(
        &db,
        &format!(
            "SELECT count(*) FROM host_category_dir WHERE up2date AND host_category_id <= {mirrors}"
        ),
    )?
    .parse()?;
    let ok_hosts: u64 = sql_scalar(&db, &format!("SELECT count(*) FROM host WHERE id <= {mirrors} AND crawl_failures = 0 AND last_crawled IS NOT NULL"))?.parse()?;

    eprintln!("bench: mm2_crawler over {http_mirrors} HTTP mirrors");
    let before = std::fs::read_to_string(&access)
        .map(|s| s.lines().count())
        .unwrap_or(0);
    let http = super::measure(
        Command::new(super::bin("mm2_crawler"))
            .arg("--config")
            .arg(&config)
            .args([
                "--threads",
                &threads.to_string(),
                "--category",
                "Fedora Linux",
                "--startid",
                &(mirrors + 1).to_string(),
            ]),
        &dir.join("crawler-http.log"),
    )?;
    let log = std::fs::read_to_string(&access).unwrap_or_default();
    let lines: Vec<&str> = log.lines().skip(before).collect();
    let heads = lines.iter().filter(|l| l.contains("\"HEAD ")).count();
    let gets = lines.iter().filter(|l| l.contains("\"GET ")).count();
    let http_up: u64 = sql_scalar(
        &db,
        &format!(
            "SELECT count(*) FROM host_category_dir WHERE up2date AND host_category_id > {mirrors}"
        ),
    )?
    .parse()?;

    let mut r = Report {
        title: "mm2_crawler".into(),
        ..Default::default()
    };
    r.intro
        .push(super::machine() + "; crawler, rsync daemon and rsync clients share the cores.");
    r.intro.push(String::new());
    r.intro.push(format!(
        "Command: `cargo xtask bench crawl{}`.",
        opts.shown()
    ));
    r.intro.push(format!(
        "Data: `mm_umdl::generate` tree with the shape of `Spec::sized({dirs}, {files})` scanned by update-master-directory-list into SQLite; the \"Fedora Linux\" category has {cat_dirs} directories. One rsync daemon on 127.0.0.1 exports it as {mirrors} modules (one host each); {threads} crawler threads."
    ));
    r.header = ["run", "wall (s)", "CPU (s)", "peak RSS (MB)", "× floor"]
        .map(String::from)
        .to_vec();
    r.row(&[
        &format!("floor: {mirrors} × `rsync --list-only -r`, {threads} in parallel"),
        &format!("{:.2}", floor_wall.as_secs_f64()),
        &"-",
        &"-",
        &"1.00",
    ]);
    r.row(&[
        &format!("mm2_crawler, {mirrors} rsync mirrors"),
        &format!("{:.2}", crawl.wall_s()),
        &format!("{:.2}", crawl.cpu),
        &format!("{:.0}", crawl.rss_mb()),
        &format!("{:.2}", crawl.wall_s() / floor_wall.as_secs_f64()),
    ]);
    r.row(&[
        &format!("mm2_crawler, {http_mirrors} HTTP mirrors (nginx)"),
        &format!("{:.2}", http.wall_s()),
        &format!("{:.2}", http.cpu),
        &format!("{:.0}", http.rss_mb()),
        &"-",
    ]);
    r.notes.push(format!(
        "Result check: {ok_hosts} of {mirrors} rsync hosts crawled OK, {up2date} up-to-date host_category_dir rows (expected {}); HTTP: {http_up} up-to-date rows (expected {}).",
        mirrors as u64 * cat_dirs,
        http_mirrors as u64 * cat_dirs
    ));
    r.notes.push(String::new());
    r.notes.push(format!(
        "HTTP requests per up-to-date mirror (nginx access log): {:.0} ({} HEAD + {} GET over {http_mirrors} mirrors) for a category of {cat_dirs} directories.",
        lines.len() as f64 / http_mirrors as f64,
        heads,
        gets
    ));
    r.notes.push(String::new());
    r.notes
        .push("Targets: peak RSS ≤ 256 MB; wall ≤ 1.2× the floor.".into());
    r.notes.push(String::new());
    r.notes.push(format!("- RSS ≤ 256 MB: {} ({:.0} MB; /usr/bin/time reports the largest of the crawler and its rsync children)", verdict(crawl.rss_mb() <= 256.0), crawl.rss_mb()));
    r.notes.push(format!(
        "- wall ≤ 1.2× floor: {} ({:.2} s vs {:.2} s = {:.2}×)",
        verdict(crawl.wall_s() <= 1.2 * floor_wall.as_secs_f64()),
        crawl.wall_s(),
        floor_wall.as_secs_f64(),
        crawl.wall_s() / floor_wall.as_secs_f64()
    ));
    drop(rsyncd);
    r.publish("crawl")
}
