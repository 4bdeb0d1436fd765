//! End-to-end tests of mm2_crawler: a master tree scanned by umdl, a mirror copy served by
//! a real rsync daemon, nginx and vsftpd on 127.0.0.1, both
//! database backends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use mm_core::models::NewHost;
use mm_core::schema::*;
use mm_testkit::fixture;
use mm_testkit::runner::{Run, Runner};
use mm_testkit::{DbConn, TestDb, for_each_backend};
use mm_umdl::generate::{Spec, generate};
use sha2::Digest;

const CRAWLER: &str = env!("CARGO_BIN_EXE_mm2_crawler");
const BASE: &str = "pub/fedora/linux";

use mm_testkit::free_port;
use mm_testkit::servers::{nginx as http_server, rsync_daemon};

/// A host with one category and the given URLs; returns (host id, host_category id).
fn add_host(
    conn: &mut DbConn,
    site: i32,
    name: &str,
    country: &str,
    cat: i32,
    urls: &[String],
    always: bool,
) -> (i32, i32) {
    let hid = fixture::host(conn, &NewHost::new(site, name, country), None).unwrap();
    let hc = fixture::host_category(conn, hid, cat, always).unwrap();
    for u in urls {
        fixture::url(conn, hc, u, false).unwrap();
    }
    (hid, hc)
}

/// Run the crawler; it must succeed.
fn crawl(cfg: &Path, args: &[&str]) -> Run {
    Runner::at(CRAWLER, cfg).run(args).ok()
}

/// path → up2date for a host_category.
fn hcd(conn: &mut DbConn, hc: i32) -> BTreeMap<String, bool> {
    host_category_dir::table
        .filter(host_category_dir::host_category_id.eq(hc))
        .select((host_category_dir::path, host_category_dir::up2date))
        .load::<(Option<String>, bool)>(conn)
        .unwrap()
        .into_iter()
        .map(|(p, u)| (p.unwrap_or_default(), u))
        .collect()
}

fn host_state(conn: &mut DbConn, id: i32) -> (i32, bool, Option<String>, bool) {
    let (f, active, reason, crawled): (i32, bool, Option<String>, Option<chrono::NaiveDateTime>) =
        host::table
            .find(id)
            .select((
                host::crawl_failures,
                host::user_active,
                host::disable_reason,
                host::last_crawled,
            ))
            .first(conn)
            .unwrap();
    (f, active, reason, crawled.is_some())
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}

struct Setup {
    _tmp: tempfile::TempDir,
    mirror: PathBuf,
    /// Served over HTTP: `h0` … `h9`, each a symlink to the mirror's root (URLs are unique).
    www: PathBuf,
    cfg: PathBuf,
    n_dirs: usize,
    /// The category "Fedora Linux" and a site for the tests' hosts.
    cat: i32,
    site: i32,
}

/// Generate and scan a master tree; copy it as a mirror.
fn setup(db: &mut TestDb) -> Setup {
    let cat = fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
    let site = fixture::site(&mut db.conn, &fixture::new_site("site", None)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("master");
    generate(
        &root,
        &Spec {
            epel_releases: vec![],
            ..Spec::default()
        },
    )
    .unwrap();
    let cfg = db.config_file(&format!(
        "[umdl]\nprefix = \"{}/\"\n[[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora Linux\"\n\
         path = \"{}/{BASE}\"\n[crawler]\nauto_disable_after = 2\nconnect_timeout_s = 2\n",
        root.display(),
        root.display()
    ));
    let config = mm_core::Config::from_file(&cfg).unwrap();
    mm_umdl::run(&config, &mm_umdl::Options::default()).unwrap();
    let mirror = tmp.path().join("mirror/fedora/linux");
    copy_tree(&root.join(BASE), &mirror);
    let n_dirs = walkdirs(&mirror);
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    for i in 0..10 {
        std::os::unix::fs::symlink(tmp.path().join("mirror"), www.join(format!("h{i}"))).unwrap();
    }
    Setup {
        _tmp: tmp,
        mirror,
        www,
        cfg,
        n_dirs,
        cat,
        site,
    }
}

fn walkdirs(p: &Path) -> usize {
    1 + std::fs::read_dir(p)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| walkdirs(&e.path()))
        .sum::<usize>()
}

const STALE_PKG_DIR: &str = "releases/41/Everything/x86_64/os/Packages/a";
const STALE_REPODATA: &str = "updates/41/Everything/x86_64/repodata";

fn break_mirror(mirror: &Path) {
    std::fs::remove_file(mirror.join(STALE_PKG_DIR).join("apkg-1-1.fc.noarch.rpm")).unwrap();
    std::fs::write(
        mirror.join(STALE_REPODATA).join("repomd.xml"),
        "<repomd>old and of another size</repomd>\n",
    )
    .unwrap();
}

#[test]
fn rsync_and_http_verdicts_and_host_bookkeeping() {
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let master_copy = s
            .mirror
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("pristine");
        copy_tree(&s.mirror, &master_copy);
        break_mirror(&s.mirror);
        let rsyncd = rsync_daemon(s.mirror.parent().unwrap().parent().unwrap());
        let httpd = http_server(&s.www);
        let dead = free_port();
        let rsync_url = format!("rsync://127.0.0.1:{}/mirror/fedora/linux", rsyncd.port);
        let http = |i: u32| format!("http://127.0.0.1:{}/h{i}/fedora/linux", httpd.port);
        let (a, hc_a) = add_host(
            &mut db.conn,
            site,
            "rsync.example",
            "DE",
            cat,
            std::slice::from_ref(&rsync_url),
            false,
        );
        let (b, hc_b) = add_host(
            &mut db.conn,
            site,
            "http.example",
            "FR",
            cat,
            &[http(1)],
            false,
        );
        let (c, _) = add_host(
            &mut db.conn,
            site,
            "dead.example",
            "US",
            cat,
            &[format!("http://127.0.0.1:{dead}/x")],
            false,
        );
        let (d, hc_d) = add_host(
            &mut db.conn,
            site,
            "embargo.example",
            "IR",
            cat,
            &[http(2)],
            false,
        );
        let (e, hc_e) = add_host(
            &mut db.conn,
            site,
            "always.example",
            "US",
            cat,
            &[http(3)],
            true,
        );
        // embargoed through the table (`mirrormanager embargo add BY`), not the config
        let (g, hc_g) = add_host(
            &mut db.conn,
            site,
            "table-embargo.example",
            "by",
            cat,
            &[http(9)],
            false,
        );
        diesel::insert_into(embargoed_country::table)
            .values(embargoed_country::country_code.eq("BY"))
            .execute(&mut db.conn)
            .unwrap();
        // rsync listed first but dead: falls back to HTTP
        let (f, hc_f) = add_host(
            &mut db.conn,
            site,
            "fallback.example",
            "US",
            cat,
            &[
                http(4),
                format!("rsync://127.0.0.1:{dead}/mirror/fedora/linux"),
            ],
            false,
        );
        // a row for a directory no longer in the category: swept to stale
        diesel::insert_into(host_category_dir::table)
            .values((
                host_category_dir::host_category_id.eq(hc_a),
                host_category_dir::path.eq(Some("gone/away")),
                host_category_dir::up2date.eq(true),
                host_category_dir::directory_id.eq(None::<i32>),
            ))
            .execute(&mut db.conn)
            .unwrap();

        let out = crawl(&s.cfg, &["--threads", "4"]);
        assert!(
            out.stdout.contains(
                "7 hosts: 4 ok, 1 failed, 0 timed out, 0 unknown, 2 disabled, 0 auto-disabled\n\
                 failed: dead.example ("
            ),
            "{}",
            out.stdout
        );
        for (hc, who) in [(hc_a, "rsync"), (hc_b, "http"), (hc_f, "fallback")] {
            let rows = hcd(&mut db.conn, hc);
            let up: Vec<&String> = rows.iter().filter(|(_, u)| **u).map(|(p, _)| p).collect();
            assert_eq!(up.len(), s.n_dirs - 2, "{who}: {rows:#?}");
            assert!(!rows.contains_key(STALE_PKG_DIR), "{who}");
            assert!(!rows.contains_key(STALE_REPODATA), "{who}");
            assert_eq!(
                rows.get("releases/41/Everything/x86_64/os/repodata"),
                Some(&true),
                "{who}"
            );
        }
        assert_eq!(hcd(&mut db.conn, hc_a).get("gone/away"), Some(&false));
        assert!(hcd(&mut db.conn, hc_d).is_empty());
        assert!(hcd(&mut db.conn, hc_e).is_empty());
        assert_eq!(host_state(&mut db.conn, a), (0, true, None, true));
        assert_eq!(host_state(&mut db.conn, b), (0, true, None, true));
        assert_eq!(host_state(&mut db.conn, e), (0, true, None, true));
        assert_eq!(host_state(&mut db.conn, f), (0, true, None, true));
        assert_eq!(host_state(&mut db.conn, c), (1, true, None, true));
        let (_, active, reason, _) = host_state(&mut db.conn, d);
        assert!(!active && reason.unwrap().contains("embargoed country IR"));
        assert!(hcd(&mut db.conn, hc_g).is_empty());
        let (_, active, reason, _) = host_state(&mut db.conn, g);
        assert!(!active && reason.unwrap().contains("embargoed country BY"));
        let log =
            std::fs::read_to_string(db.dir.path().join(format!("log/crawler/{a}.log"))).unwrap();
        assert!(log.contains("apkg-1-1.fc.noarch.rpm is missing"), "{log}");

        // the mirror catches up: rows become up to date
        std::fs::remove_dir_all(&s.mirror).unwrap();
        copy_tree(&master_copy, &s.mirror);
        let out = crawl(
            &s.cfg,
            &[
                "--host",
                &a.to_string(),
                "--host",
                &b.to_string(),
                "--host",
                &c.to_string(),
            ],
        );
        // the second failure disables the dead host: counted and named
        assert!(
            out.stdout.contains(&format!(
                "3 hosts: 2 ok, 1 failed, 0 timed out, 0 unknown, 0 disabled, 1 auto-disabled\n\
                 failed: dead.example ({c})\n"
            )),
            "{}",
            out.stdout
        );
        for hc in [hc_a, hc_b] {
            let rows = hcd(&mut db.conn, hc);
            assert_eq!(rows.get(STALE_PKG_DIR), Some(&true));
            assert_eq!(rows.get(STALE_REPODATA), Some(&true));
        }
        // the second failure disables the dead host
        let (fails, active, reason, _) = host_state(&mut db.conn, c);
        assert_eq!((fails, active), (2, false));
        assert!(reason.unwrap().contains("after 2 failed crawls"));

        // it falls behind again: existing rows go stale; a dry run writes nothing
        break_mirror(&s.mirror);
        crawl(&s.cfg, &["--host", &a.to_string(), "--dry-run"]);
        assert_eq!(hcd(&mut db.conn, hc_a).get(STALE_PKG_DIR), Some(&true));
        crawl(
            &s.cfg,
            &["--host", &a.to_string(), "--host", &b.to_string()],
        );
        for hc in [hc_a, hc_b] {
            let rows = hcd(&mut db.conn, hc);
            assert_eq!(rows.get(STALE_PKG_DIR), Some(&false));
            assert_eq!(rows.get(STALE_REPODATA), Some(&false));
            assert_eq!(
                rows.get("releases/41/Everything/x86_64/os/repodata"),
                Some(&true)
            );
        }
    });
}

#[test]
fn selection_flags() {
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let httpd = http_server(&s.www);
        let mut ids = Vec::new();
        for i in 0..4 {
            let url = format!("http://127.0.0.1:{}/h{i}/fedora/linux", httpd.port);
            ids.push(add_host(
                &mut db.conn,
                site,
                &format!("h{i}.example"),
                "DE",
                cat,
                &[url],
                false,
            ));
        }
        diesel::update(host::table.find(ids[3].0))
            .set(host::private.eq(true))
            .execute(&mut db.conn)
            .unwrap();
        let out = crawl(
            &s.cfg,
            &[
                "--startid",
                &ids[1].0.to_string(),
                "--stopid",
                &ids[3].0.to_string(),
                "--repodata",
            ],
        );
        assert!(out.stdout.contains("crawled 2 hosts"));
        assert!(hcd(&mut db.conn, ids[0].1).is_empty());
        let rows = hcd(&mut db.conn, ids[1].1);
        assert!(
            !rows.is_empty() && rows.keys().all(|p| p.ends_with("repodata")),
            "{rows:#?}"
        );
        // private hosts only with --include-private; --fraction picks a slice
        let out = crawl(&s.cfg, &["--fraction", "1:2", "--canary"]);
        assert!(out.stdout.contains("crawled 1 hosts"));
        let out = crawl(
            &s.cfg,
            &["--fraction", "1:2", "--canary", "--include-private"],
        );
        assert!(out.stdout.contains("crawled 2 hosts"));
        let crawler = Runner::at(CRAWLER, &s.cfg);
        crawler.run(&["--fraction", "3:2"]).code(2);
        // a --host that is not selected is named with the reason
        diesel::update(host::table.find(ids[2].0))
            .set((
                host::user_active.eq(false),
                host::disable_reason.eq(Some("disabled by the crawler after 4 failed crawls")),
            ))
            .execute(&mut db.conn)
            .unwrap();
        fixture::bare_category(&mut db.conn, "Fedora Archive").unwrap();
        for (args, why) in [
            (
                vec!["--host".to_string(), ids[3].0.to_string()],
                format!(
                    "--host {} (h3.example): not crawled: the host is private; --include-private crawls it",
                    ids[3].0
                ),
            ),
            (
                vec!["--host".to_string(), ids[2].0.to_string()],
                format!(
                    "--host {} (h2.example): not crawled: the host is disabled (disabled by the crawler after 4 failed crawls); --include-disabled crawls it and an OK crawl re-enables it",
                    ids[2].0
                ),
            ),
            (
                vec!["--host".to_string(), "99999".to_string()],
                "--host 99999: no such host".to_string(),
            ),
            (
                vec![
                    "--host".to_string(),
                    ids[0].0.to_string(),
                    "--category".to_string(),
                    "Fedora Archive".to_string(),
                ],
                format!(
                    "--host {} (h0.example): not crawled: it carries none of the chosen categories (Fedora Archive)",
                    ids[0].0
                ),
            ),
            (
                vec![
                    "--host".to_string(),
                    ids[1].0.to_string(),
                    "--stopid".to_string(),
                    ids[1].0.to_string(),
                ],
                format!(
                    "--host {} (h1.example): not crawled: outside --startid/--stopid",
                    ids[1].0
                ),
            ),
        ] {
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            args.push("--canary");
            let out = crawl(&s.cfg, &args);
            assert!(out.stdout.contains("crawled 0 hosts"), "{}", out.stdout);
            assert!(out.stderr.contains(&why), "{why}\n{}", out.stderr);
        }
        // with the flags they are crawled, and the OK crawl re-enables the disabled one
        let out = crawl(
            &s.cfg,
            &[
                "--host",
                &ids[2].0.to_string(),
                "--host",
                &ids[3].0.to_string(),
                "--include-disabled",
                "--include-private",
            ],
        );
        assert!(
            out.stdout.contains("crawled 2 hosts: 2 ok"),
            "{}",
            out.stdout
        );
        assert!(!out.stderr.contains("not crawled"), "{}", out.stderr);
        assert_eq!(host_state(&mut db.conn, ids[2].0), (0, true, None, true));
        // --continent needs the country→continent CSV; with it, hosts are picked by continent
        crawler.run(&["--continent", "EU"]).code(2);
        diesel::update(host::table.find(ids[0].0))
            .set(host::country.eq("US"))
            .execute(&mut db.conn)
            .unwrap();
        let csv = db.dir.path().join("continents.csv");
        std::fs::write(&csv, "# country,continent\nDE,EU\nUS,NA\n").unwrap();
        let text = std::fs::read_to_string(&s.cfg).unwrap();
        let text = text.replacen(
            "[umdl]",
            &format!(
                "[mirrorlist]\ncccsv = {:?}\n[umdl]",
                csv.display().to_string()
            ),
            1,
        );
        std::fs::write(&s.cfg, text).unwrap();
        let out = crawl(&s.cfg, &["--continent", "NA", "--canary"]);
        assert!(out.stdout.contains("crawled 1 hosts"));
        let out = crawl(&s.cfg, &["--continent", "^NA", "--canary"]);
        assert!(out.stdout.contains("crawled 2 hosts"));
    });
}

/// Point a host category's URLs somewhere else.
fn set_url(conn: &mut DbConn, hc: i32, url: &str) {
    diesel::update(host_category_url::table.filter(host_category_url::host_category_id.eq(hc)))
        .set(host_category_url::url.eq(url))
        .execute(conn)
        .unwrap();
}

fn host_log(db: &TestDb, host: i32) -> String {
    std::fs::read_to_string(db.dir.path().join(format!("log/crawler/{host}.log")))
        .unwrap_or_default()
}

/// A mirror that accepts connections and never answers, crawled with a host timeout shorter
/// than the request timeout: the host deadline cuts the request, and that is a TIMEOUT
/// (every row stale, one failure), not a failed request.
#[test]
fn a_hung_mirror_times_out_at_the_host_deadline() {
    use mm_testkit::servers::{Fault, fault_http};
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let httpd = http_server(&s.www);
        let url = format!("http://127.0.0.1:{}/h0/fedora/linux", httpd.port);
        let (h, hc) = add_host(&mut db.conn, site, "h.example", "DE", cat, &[url], false);
        crawl(&s.cfg, &[]);
        assert!(hcd(&mut db.conn, hc).values().all(|u| *u));
        let hang = fault_http(Fault::Hang);
        set_url(
            &mut db.conn,
            hc,
            &format!("http://127.0.0.1:{}/fedora/linux", hang.port),
        );
        let started = Instant::now();
        let out = crawl(
            &s.cfg,
            &["crawl", "--host", &h.to_string(), "--host-timeout", "0.03"],
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
        assert!(
            out.stdout
                .contains("1 hosts: 0 ok, 0 failed, 1 timed out, 0 unknown"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains(&format!("failed: h.example ({h}, timed out)")),
            "{}",
            out.stdout
        );
        let rows = hcd(&mut db.conn, hc);
        assert!(!rows.is_empty() && rows.values().all(|u| !*u), "{rows:?}");
        assert_eq!(host_state(&mut db.conn, h).0, 1);
        let log = host_log(db, h);
        assert!(
            log.contains("host timeout of 0.03 minutes reached")
                && log.contains("outcome: Timeout"),
            "{log}"
        );
        assert!(!log.contains("failed:"), "{log}");
    });
}

/// SIGTERM while a host hangs in a request: the run stops soon, the host is untouched
/// (UNKNOWN) and its log still ends with the outcome.
#[test]
fn sigterm_stops_a_crawl_and_ends_each_started_host_log() {
    use mm_testkit::servers::{Fault, fault_http};
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let hang = fault_http(Fault::Hang);
        let (slow, _) = add_host(
            &mut db.conn,
            site,
            "slow.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{}/x", hang.port)],
            false,
        );
        let child = Command::new(CRAWLER)
            .arg("--config")
            .arg(&s.cfg)
            .args(["--host", &slow.to_string()])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        let st = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "crawler took {:?} to stop",
            started.elapsed()
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(host_state(&mut db.conn, slow), (0, true, None, false));
        let log = host_log(db, slow);
        assert!(
            log.contains("outcome: Unknown(\"shutdown requested\")"),
            "{log}"
        );
        assert_eq!(log.matches("outcome:").count(), 1, "{log}");
    });
}

/// The global timeout bounds hosts already being crawled, not only those not started: their
/// requests stop at it, they end UNKNOWN (nothing written for them), and the run fails
/// (exit 1) unless --no-fail ("always exit 0", as in MirrorManager2).
#[test]
fn the_global_timeout_stops_hosts_in_progress() {
    use mm_testkit::servers::{Fault, fault_http};
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let hang = fault_http(Fault::Hang);
        let httpd = http_server(&s.www);
        let mut hosts = Vec::new();
        for i in 0..2 {
            let url = format!("http://127.0.0.1:{}/h{i}/fedora/linux", httpd.port);
            hosts.push(add_host(
                &mut db.conn,
                site,
                &format!("hung{i}.example"),
                "DE",
                cat,
                &[url],
                false,
            ));
        }
        crawl(&s.cfg, &[]);
        for (i, &(h, hc)) in hosts.iter().enumerate() {
            assert_eq!(host_state(&mut db.conn, h), (0, true, None, true));
            assert!(hcd(&mut db.conn, hc).values().all(|u| *u));
            set_url(
                &mut db.conn,
                hc,
                &format!("http://127.0.0.1:{}/h{i}/fedora/linux", hang.port),
            );
            diesel::update(host::table.find(h))
                .set(host::last_crawled.eq(None::<chrono::NaiveDateTime>))
                .execute(&mut db.conn)
                .unwrap();
        }
        // every host is being crawled (threads >= hosts) when the run's 2.4 s run out
        let started = Instant::now();
        let out = Runner::at(CRAWLER, &s.cfg)
            .run(&[
                "--threads",
                "4",
                "--global-timeout",
                "0.04",
                "--host-timeout",
                "5",
            ])
            .code(1);
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "the run took {:?}",
            started.elapsed()
        );
        assert!(
            out.stderr.contains("crawl stopped at the global timeout")
                && out
                    .stderr
                    .contains("2 hosts: 0 ok, 0 failed, 0 timed out, 2 unknown"),
            "{}",
            out.stderr
        );
        for &(h, hc) in &hosts {
            assert_eq!(host_state(&mut db.conn, h), (0, true, None, false));
            assert!(hcd(&mut db.conn, hc).values().all(|u| *u));
            let log = host_log(db, h);
            assert!(
                log.contains("stopped: global timeout")
                    && log.contains("outcome: Unknown(\"global timeout\")"),
                "{log}"
            );
        }
        // --no-fail: exit 0; one thread, so one host is stopped in progress and the other
        // is never reached
        let out = crawl(
            &s.cfg,
            &[
                "--threads",
                "1",
                "--global-timeout",
                "0.02",
                "--host-timeout",
                "5",
                "--no-fail",
            ],
        );
        assert!(out.stdout.contains("2 unknown"), "{}", out.stdout);
        for &(h, _) in &hosts {
            assert_eq!(host_state(&mut db.conn, h), (0, true, None, false));
        }
        // --no-fail does not stop counting failed hosts
        crawl(
            &s.cfg,
            &[
                "crawl",
                "--host",
                &hosts[0].0.to_string(),
                "--host-timeout",
                "0.02",
                "--no-fail",
            ],
        );
        assert_eq!(host_state(&mut db.conn, hosts[0].0).0, 1);
    });
}

#[test]
fn zero_or_bad_timeouts_are_usage_errors() {
    // refused while parsing the command line, before the configuration is read (which is
    // missing here: a flag that got through would fail on it instead)
    let crawler = Runner::at(CRAWLER, Path::new("/nonexistent/mirrormanager.toml"));
    for arg in [
        "--host-timeout=0",
        "--global-timeout=0",
        "--host-timeout=-1",
        "--global-timeout=0.0",
        "--host-timeout=NaN",
        "--global-timeout=soon",
    ] {
        let out = crawler.run(&[arg]).code(2);
        let flag = arg.split('=').next().unwrap();
        assert!(
            out.stderr.contains("invalid value") && out.stderr.contains(flag),
            "{}",
            out.stderr
        );
    }
    let out = crawler.run(&["crawl", "--global-timeout", "0"]).code(2);
    assert!(out.stderr.contains("need more than 0"), "{}", out.stderr);
}

#[test]
fn propagation_counts_mirrors_by_age() {
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let tmp = s
            .mirror
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let repodata = "updates/41/Everything/x86_64/repodata";
        // mirror2 has a day-and-a-half old repomd.xml the master recorded; mirror3 one it never saw
        for (m, content) in [
            ("mirror2", "<repomd>older</repomd>"),
            ("mirror3", "<repomd>unknown</repomd>"),
        ] {
            copy_tree(&s.mirror, &tmp.join(m).join("fedora/linux"));
            std::fs::write(
                tmp.join(m)
                    .join("fedora/linux")
                    .join(repodata)
                    .join("repomd.xml"),
                content,
            )
            .unwrap();
            std::os::unix::fs::symlink(tmp.join(m), s.www.join(m)).unwrap();
        }
        let (dir_id, newest): (i32, Option<i64>) = file_detail::table
            .inner_join(directory::table)
            .filter(directory::name.eq(format!("{BASE}/{repodata}")))
            .select((directory::id, file_detail::timestamp))
            .first(&mut db.conn)
            .unwrap();
        diesel::insert_into(file_detail::table)
            .values((
                file_detail::directory_id.eq(dir_id),
                file_detail::filename.eq("repomd.xml"),
                file_detail::timestamp.eq(Some(newest.unwrap() - 36 * 3600)),
                file_detail::size.eq(Some(22i64)),
                file_detail::sha256.eq(Some(hex::encode(sha2::Sha256::digest(
                    b"<repomd>older</repomd>",
                )))),
                file_detail::sha1.eq(None::<String>),
                file_detail::md5.eq(None::<String>),
                file_detail::sha512.eq(None::<String>),
            ))
            .execute(&mut db.conn)
            .unwrap();
        let httpd = http_server(&s.www);
        let dead = free_port();
        let p = httpd.port;
        add_host(
            &mut db.conn,
            site,
            "same.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{p}/h0/fedora/linux")],
            false,
        );
        add_host(
            &mut db.conn,
            site,
            "day.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{p}/mirror2/fedora/linux")],
            false,
        );
        add_host(
            &mut db.conn,
            site,
            "old.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{p}/mirror3/fedora/linux")],
            false,
        );
        add_host(
            &mut db.conn,
            site,
            "dead.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{dead}/fedora/linux")],
            false,
        );
        let stdout = crawl(
            &s.cfg,
            &["propagation", "--product", "Fedora", "--version", "41"],
        )
        .stdout;
        assert!(
            stdout.lines().next().unwrap().contains("x86_64"),
            "x86_64 first: {stdout}"
        );
        assert!(
            stdout.contains(
                "updates-released-f41 x86_64: same day 1, one day 1, two days 0, older 1, no info 1"
            ),
            "{stdout}"
        );
        let rows: i64 = propagation_stat::table
            .count()
            .get_result(&mut db.conn)
            .unwrap();
        assert_eq!(rows, 9);
        let (same, one, older, none): (i32, i32, i32, i32) = propagation_stat::table
            .inner_join(repository::table)
            .inner_join(directory::table.on(directory::id.nullable().eq(repository::directory_id)))
            .filter(directory::name.eq(format!("{BASE}/updates/41/Everything/x86_64")))
            .select((
                propagation_stat::same_day,
                propagation_stat::one_day,
                propagation_stat::older,
                propagation_stat::no_info,
            ))
            .first(&mut db.conn)
            .unwrap();
        assert_eq!((same, one, older, none), (1, 1, 1, 1));
    });
}

#[test]
fn ftp_verdicts_and_fallback_from_dead_rsync() {
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        break_mirror(&s.mirror);
        let ftpd = mm_testkit::servers::vsftpd(s.mirror.parent().unwrap().parent().unwrap());
        let dead = free_port();
        let (h, hc) = add_host(
            &mut db.conn,
            site,
            "ftp.example",
            "DE",
            cat,
            &[
                format!("ftp://127.0.0.1:{}/fedora/linux", ftpd.port),
                format!("rsync://127.0.0.1:{dead}/mirror/fedora/linux"),
            ],
            false,
        );
        crawl(&s.cfg, &[]);
        let rows = hcd(&mut db.conn, hc);
        let log = std::fs::read_to_string(db.dir.path().join(format!("log/crawler/{h}.log")))
            .unwrap_or_default();
        assert_eq!(rows.values().filter(|u| **u).count(), s.n_dirs - 2, "{log}");
        assert!(!rows.contains_key(STALE_PKG_DIR));
        assert!(!rows.contains_key(STALE_REPODATA));
        assert_eq!(host_state(&mut db.conn, h), (0, true, None, true));
        let log =
            std::fs::read_to_string(db.dir.path().join(format!("log/crawler/{h}.log"))).unwrap();
        assert!(
            log.contains("unavailable") && log.contains("ftp://"),
            "{log}"
        );
    });
}

#[test]
fn fault_mirrors_fail_within_their_timeouts_and_do_not_touch_a_healthy_host() {
    use mm_testkit::servers::{Fault, fault_http};
    for_each_backend(|db| {
        let s = setup(db);
        let text = std::fs::read_to_string(&s.cfg).unwrap().replace(
            "auto_disable_after = 2",
            "auto_disable_after = 4\nhttp_timeout_s = 2",
        );
        std::fs::write(&s.cfg, text).unwrap();
        let (cat, site) = (s.cat, s.site);
        let web = http_server(&s.www);
        let (good, good_hc) = add_host(
            &mut db.conn,
            site,
            "good.example",
            "US",
            cat,
            &[format!("http://127.0.0.1:{}/h0/fedora/linux", web.port)],
            false,
        );
        let faults = [
            Fault::Hang,
            Fault::Drip,
            Fault::Reset,
            Fault::Error500,
            Fault::Garbage,
            Fault::RedirectLoop,
        ];
        let servers: Vec<_> = faults.iter().map(|f| fault_http(*f)).collect();
        let hosts: Vec<(i32, i32)> = servers
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let url = format!("http://127.0.0.1:{}/fedora/linux", f.port);
                add_host(
                    &mut db.conn,
                    site,
                    &format!("fault{i}.example"),
                    "US",
                    cat,
                    &[url],
                    false,
                )
            })
            .collect();
        let started = Instant::now();
        crawl(&s.cfg, &["--host-timeout", "0.5"]);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(45),
            "a fault mirror held the crawl for {took:?}"
        );

        // the healthy host in the same run: crawled OK, every directory up to date
        assert_eq!(host_state(&mut db.conn, good), (0, true, None, true));
        let rows = hcd(&mut db.conn, good_hc);
        assert!(!rows.is_empty() && rows.values().all(|u| *u), "{rows:#?}");
        // every fault mirror: one failure counted, nothing marked up to date
        for ((h, hc), fault) in hosts.iter().zip(faults) {
            assert_eq!(
                host_state(&mut db.conn, *h),
                (1, true, None, true),
                "{fault:?}"
            );
            assert!(hcd(&mut db.conn, *hc).values().all(|u| !*u), "{fault:?}");
        }
        // three more failed crawls: the fourth consecutive failure disables the host
        let (broken, _) = hosts[3];
        for _ in 0..3 {
            crawl(&s.cfg, &["--host", &broken.to_string()]);
        }
        let (fails, active, reason, _) = host_state(&mut db.conn, broken);
        assert_eq!((fails, active), (4, false));
        let reason = reason.expect("a disable reason");
        assert!(reason.contains("4"), "{reason}");
        // the healthy host was never touched by those runs
        assert_eq!(host_state(&mut db.conn, good), (0, true, None, true));
        drop(servers);
    });
}

/// Several hosts' results applied in one transaction (what the writer does when results
/// wait for it) give the same rows and bookkeeping as one by one, and a later batch still
/// updates and sweeps rows.
#[test]
fn results_written_in_one_batch() {
    use mm_crawler::check::Verdict;
    use mm_crawler::{HostStatus, Msg};
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let (a, hc_a) = add_host(&mut db.conn, site, "a.example", "DE", cat, &[], false);
        let (b, hc_b) = add_host(&mut db.conn, site, "b.example", "DE", cat, &[], false);
        let config = mm_core::Config::from_file(&s.cfg).unwrap();
        let cats = mm_crawler::load_categories(&mut db.conn, &[cat].into_iter().collect()).unwrap();
        let dirs = &cats[&cat].dirs;
        assert_eq!(dirs.len(), s.n_dirs);
        let stale = dirs.iter().position(|d| d.rel == STALE_PKG_DIR).unwrap();
        let all_up = vec![Some(Verdict::UpToDate); dirs.len()];
        let mut one_stale = all_up.clone();
        one_stale[stale] = Some(Verdict::Stale);
        let category = |host_id, host_category_id, verdicts: &Vec<Option<Verdict>>| Msg::Category {
            host_id,
            host_category_id,
            category_id: cat,
            verdicts: verdicts.clone(),
            sweep: true,
        };
        let done = |host_id, status| Msg::HostDone {
            host_id,
            status,
            seconds: 7,
            timed_out: Vec::new(),
        };
        let batch = [
            category(a, hc_a, &all_up),
            category(b, hc_b, &one_stale),
            done(a, HostStatus::Ok),
            done(b, HostStatus::Failure("rsync: exit code 12".into())),
        ];
        mm_crawler::write::apply_batch(&mut db.conn, &config, &cats, &batch).unwrap();
        let rows_a = hcd(&mut db.conn, hc_a);
        assert_eq!(rows_a.len(), s.n_dirs);
        assert!(rows_a.values().all(|u| *u));
        let rows_b = hcd(&mut db.conn, hc_b);
        assert_eq!(
            rows_b.len(),
            s.n_dirs - 1,
            "a stale directory gets no new row"
        );
        assert!(!rows_b.contains_key(STALE_PKG_DIR));
        assert_eq!(host_state(&mut db.conn, a), (0, true, None, true));
        assert_eq!(host_state(&mut db.conn, b), (1, true, None, true));

        // next batch: a's directory went stale, b caught up
        let batch = [category(a, hc_a, &one_stale), category(b, hc_b, &all_up)];
        mm_crawler::write::apply_batch(&mut db.conn, &config, &cats, &batch).unwrap();
        let rows_a = hcd(&mut db.conn, hc_a);
        assert_eq!(rows_a.get(STALE_PKG_DIR), Some(&false));
        assert_eq!(rows_a.values().filter(|u| **u).count(), s.n_dirs - 1);
        let rows_b = hcd(&mut db.conn, hc_b);
        assert_eq!(rows_b.len(), s.n_dirs);
        assert!(rows_b.values().all(|u| *u));

        // A database adopted from MirrorManager2: its rows' paths start with a slash. They
        // are the same rows, not new ones.
        let (c, hc_c) = add_host(&mut db.conn, site, "c.example", "DE", cat, &[], false);
        // An older row without a directory gets it.
        let d = &dirs[stale];
        let old = dirs.iter().find(|x| x.rel.ends_with("repodata")).unwrap();
        for (x, dir) in [(d, Some(d.id)), (old, None)] {
            diesel::insert_into(host_category_dir::table)
                .values((
                    host_category_dir::host_category_id.eq(hc_c),
                    host_category_dir::path.eq(Some(format!("/{}", x.rel))),
                    host_category_dir::up2date.eq(false),
                    host_category_dir::directory_id.eq(dir),
                ))
                .execute(&mut db.conn)
                .unwrap();
        }
        let batch = [category(c, hc_c, &all_up)];
        mm_crawler::write::apply_batch(&mut db.conn, &config, &cats, &batch).unwrap();
        let rows_c = hcd(&mut db.conn, hc_c);
        assert_eq!(rows_c.len(), s.n_dirs, "{rows_c:?}");
        assert_eq!(rows_c.get(&format!("/{}", d.rel)), Some(&true));
        assert!(rows_c.values().all(|u| *u));
        let old_dir: Option<i32> = host_category_dir::table
            .filter(host_category_dir::host_category_id.eq(hc_c))
            .filter(host_category_dir::path.eq(format!("/{}", old.rel)))
            .select(host_category_dir::directory_id)
            .first(&mut db.conn)
            .unwrap();
        assert_eq!(old_dir, Some(old.id));
    });
}

/// A subtree missing on the mirror: over rsync (the listing shows directories) and FTP (CWD
/// answers 550) every directory in it goes stale, including those with no recorded files
/// (only subdirectories); HTTP cannot tell for those and keeps them up to date.
#[test]
fn a_subtree_missing_on_the_mirror_is_stale_over_rsync_and_ftp() {
    const GONE: &str = "releases/41/Everything/aarch64";
    // directories of the subtree without recorded files
    const BARE: [&str; 3] = [
        "releases/41/Everything/aarch64",
        "releases/41/Everything/aarch64/os",
        "releases/41/Everything/aarch64/os/Packages",
    ];
    for_each_backend(|db| {
        let s = setup(db);
        let (cat, site) = (s.cat, s.site);
        let root = s.mirror.parent().unwrap().parent().unwrap();
        let rsyncd = rsync_daemon(root);
        let ftpd = mm_testkit::servers::vsftpd(root);
        let httpd = http_server(&s.www);
        let (r, hc_r) = add_host(
            &mut db.conn,
            site,
            "rsync.example",
            "DE",
            cat,
            &[format!(
                "rsync://127.0.0.1:{}/mirror/fedora/linux",
                rsyncd.port
            )],
            false,
        );
        let (f, hc_f) = add_host(
            &mut db.conn,
            site,
            "ftp.example",
            "DE",
            cat,
            &[format!("ftp://127.0.0.1:{}/fedora/linux", ftpd.port)],
            false,
        );
        let (_, hc_h) = add_host(
            &mut db.conn,
            site,
            "http.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{}/h0/fedora/linux", httpd.port)],
            false,
        );
        crawl(&s.cfg, &[]);
        for hc in [hc_r, hc_f, hc_h] {
            let rows = hcd(&mut db.conn, hc);
            assert_eq!(rows.len(), s.n_dirs, "{rows:#?}");
            assert!(rows.values().all(|u| *u), "{rows:#?}");
        }
        std::fs::remove_dir_all(s.mirror.join(GONE)).unwrap();
        crawl(&s.cfg, &[]);
        for (hc, who) in [(hc_r, "rsync"), (hc_f, "ftp")] {
            let rows = hcd(&mut db.conn, hc);
            let stale: Vec<&String> = rows.iter().filter(|(_, u)| !**u).map(|(p, _)| p).collect();
            assert!(
                stale.iter().all(|p| p.starts_with(GONE)) && stale.len() == 6,
                "{who}: {stale:#?}"
            );
            for d in BARE {
                assert_eq!(rows.get(d), Some(&false), "{who}: {d}");
            }
        }
        // HTTP: the directories with files are stale, those without stay up to date
        let rows = hcd(&mut db.conn, hc_h);
        let stale: Vec<&String> = rows.iter().filter(|(_, u)| !**u).map(|(p, _)| p).collect();
        assert_eq!(stale.len(), 3, "{stale:#?}");
        for d in BARE {
            assert_eq!(rows.get(d), Some(&true), "http: {d}");
        }
        for (h, note) in [
            (r, format!("{GONE}: stale, the directory is missing")),
            (
                f,
                format!("{GONE}: stale, the directory is missing (CWD: 550)"),
            ),
        ] {
            let log = host_log(db, h);
            assert!(log.contains(&note), "{log}");
        }
    });
}

/// `propagation` against a mirror that accepts connections and never answers: each of its
/// requests is cut at `crawler.http_timeout_s`, the run ends within the timeouts, and the
/// mirror counts as no info. The run holds the lock `crawler-propagation`.
#[test]
fn propagation_is_bounded_by_the_timeouts_and_locked() {
    use mm_testkit::servers::{Fault, fault_http};
    for_each_backend(|db| {
        let s = setup(db);
        let text = std::fs::read_to_string(&s.cfg).unwrap().replace(
            "[crawler]\n",
            "[crawler]\nhttp_timeout_s = 2\nthreads = 2\n",
        );
        std::fs::write(&s.cfg, text).unwrap();
        let (cat, site) = (s.cat, s.site);
        let httpd = http_server(&s.www);
        let hang = fault_http(Fault::Hang);
        add_host(
            &mut db.conn,
            site,
            "good.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{}/h0/fedora/linux", httpd.port)],
            false,
        );
        add_host(
            &mut db.conn,
            site,
            "hung.example",
            "DE",
            cat,
            &[format!("http://127.0.0.1:{}/fedora/linux", hang.port)],
            false,
        );
        let args = ["propagation", "--product", "Fedora", "--version", "41"];
        let started = Instant::now();
        let out = crawl(&s.cfg, &args);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(8), "propagation took {took:?}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 9, "{}", out.stdout);
        assert!(
            lines
                .iter()
                .all(|l| l.ends_with("same day 1, one day 0, two days 0, older 0, no info 1")),
            "{}",
            out.stdout
        );

        // a second report while one runs: exit 3, naming the holder; --wait waits for it
        let config = mm_core::Config::from_file(&s.cfg).unwrap();
        let held = mm_core::lock::acquire(&config.lock_dir, "crawler-propagation", false).unwrap();
        let out = Runner::at(CRAWLER, &s.cfg).run(&args).code(3);
        assert!(
            out.stderr.contains("crawler-propagation")
                && out.stderr.contains(&format!("pid {}", std::process::id())),
            "{}",
            out.stderr
        );
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            drop(held);
        });
        let mut wait_args = args.to_vec();
        wait_args.push("--wait");
        crawl(&s.cfg, &wait_args);
        release.join().unwrap();
        let rows: i64 = propagation_stat::table
            .count()
            .get_result(&mut db.conn)
            .unwrap();
        assert_eq!(rows, 18);
    });
}

/// A crawl takes `crawler-<slug>` of every category it covers: holding one category's lock
/// stops a crawl of several categories including it (and one of all categories), not a
/// crawl of another category.
#[test]
fn a_crawl_takes_the_lock_of_each_of_its_categories() {
    for_each_backend(|db| {
        let s = setup(db);
        fixture::bare_category(&mut db.conn, "Fedora EPEL").unwrap();
        let config = mm_core::Config::from_file(&s.cfg).unwrap();
        let held = mm_core::lock::acquire(&config.lock_dir, "crawler-fedora-linux", false).unwrap();
        let crawler = Runner::at(CRAWLER, &s.cfg);
        for args in [
            &["--category", "Fedora EPEL", "--category", "Fedora Linux"][..],
            &[][..],
        ] {
            let out = crawler.run(args).code(3);
            assert!(
                out.stderr.contains("crawler-fedora-linux.lock")
                    && out.stderr.contains(&format!("pid {}", std::process::id()))
                    && out.stderr.contains("started "),
                "{}",
                out.stderr
            );
        }
        // a crawl waiting for the lock (`--wait`) still stops on SIGTERM
        let mut waiting = crawler
            .command(&["--wait", "--category", "Fedora Linux"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert!(waiting.try_wait().unwrap().is_none(), "--wait did not wait");
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&waiting),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        let asked = Instant::now();
        let status = loop {
            if let Some(st) = waiting.try_wait().unwrap() {
                break st;
            }
            if asked.elapsed() > Duration::from_secs(5) {
                let _ = waiting.kill();
                panic!("a crawl waiting for its lock ignored SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success());
        let out = crawl(&s.cfg, &["--category", "Fedora EPEL"]);
        assert!(out.stdout.contains("crawled 0 hosts"), "{}", out.stdout);
        // the locks are released on exit: the EPEL lock is free again
        drop(mm_core::lock::acquire(&config.lock_dir, "crawler-fedora-epel", false).unwrap());
        drop(held);
        crawl(
            &s.cfg,
            &["--category", "Fedora EPEL", "--category", "Fedora Linux"],
        );
        assert_eq!(
            mm_crawler::lock_names(&[
                (1, "Fedora Linux".into()),
                (2, "Fedora EPEL".into()),
                (3, "fedora linux".into())
            ]),
            ["crawler-fedora-epel", "crawler-fedora-linux"]
        );
    });
}
