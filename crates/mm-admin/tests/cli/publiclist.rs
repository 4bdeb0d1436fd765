//! `mirrormanager publiclist` as a process, on both databases: summary line and lock, a
//! SIGKILL mid-write leaving the previous tree intact, and a real browser (Debian's
//! chromium, headless) reading the pages served by nginx.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mm_core::db::DbConn;
use mm_core::models::NewHost;
use mm_testkit::fixture::{self, epoch};
use mm_testkit::runner::Run;
use mm_testkit::{TestDb, for_each_backend};

use super::mirrormanager;

fn mm(db: &TestDb, args: &[&str]) -> Run {
    mirrormanager(db).run(args)
}

/// Fedora 41 x86_64/aarch64 with three listed hosts (two in DE, one in US) and one private.
fn small_network(conn: &mut DbConn) {
    let fedora = fixture::product(conn, "Fedora", true).unwrap();
    let cat = fixture::category(conn, "Fedora Linux", fedora, "pub/fedora/linux").unwrap();
    let x86 = fixture::arch(conn, "x86_64", true).unwrap();
    let arm = fixture::arch(conn, "aarch64", true).unwrap();
    let v41 = fixture::version(conn, fedora, "41", 0, false).unwrap();
    let raw = fixture::version(conn, fedora, "development", 10, false).unwrap();
    let (_, d41x) = fixture::repository(
        conn,
        "fedora-41-x86_64",
        cat,
        v41,
        x86,
        "pub/fedora/linux/releases/41/x86_64",
    )
    .unwrap();
    fixture::repository(
        conn,
        "fedora-41-aarch64",
        cat,
        v41,
        arm,
        "pub/fedora/linux/releases/41/aarch64",
    )
    .unwrap();
    fixture::repository(
        conn,
        "rawhide-x86_64",
        cat,
        raw,
        x86,
        "pub/fedora/linux/development/rawhide/x86_64",
    )
    .unwrap();
    for (i, (name, country, private)) in [
        ("one.example.org", "DE", false),
        ("two.example.org", "DE", false),
        ("three.example.org", "US", false),
        ("hidden.example.org", "US", true),
    ]
    .into_iter()
    .enumerate()
    {
        let site = fixture::site(
            conn,
            &fixture::new_site(&format!("Site {i}"), Some("https://org.example/")),
        )
        .unwrap();
        let mut h = NewHost::new(site, name, country);
        h.private = private;
        h.comment = Some("<script>alert(1)</script>".into());
        let id = fixture::host(conn, &h, Some(epoch())).unwrap();
        let hc = fixture::host_category(conn, id, cat, i == 2).unwrap();
        fixture::url(conn, hc, &format!("https://{name}/fedora/linux"), false).unwrap();
        fixture::url(conn, hc, &format!("rsync://{name}/fedora/linux"), false).unwrap();
        fixture::url(conn, hc, &format!("https://{name}/private/fedora"), true).unwrap();
        fixture::host_category_dir(conn, hc, d41x, "releases/41/x86_64", true).unwrap();
    }
}

fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn command_writes_the_tree_and_takes_the_lock() {
    for_each_backend(|db| {
        small_network(&mut db.conn);
        let out = db.dir.path().join("cache").join("publiclist");
        let stdout = mm(db, &["publiclist"]).ok().stdout;
        // index, product, 41, 41/x86_64, 41/aarch64, development, development/x86_64
        assert!(
            stdout.contains("publiclist: 7 pages written, 3 hosts listed, "),
            "{stdout}"
        );
        assert!(out.join("index.html").is_file() && out.join("mirrors.json").is_file());
        let page = std::fs::read_to_string(out.join("Fedora/41/x86_64/index.html")).unwrap();
        assert!(page.contains("3 public active mirrors"));
        assert!(mm_syncout_accepts(&out));

        // -o DIR, and the lock: held elsewhere → exit 3, nothing written.
        let other = db.dir.path().join("other");
        let mut holder = mirrormanager(db)
            .command(&["locks", "hold", "publiclist", "--seconds", "30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lock = db.dir.path().join("lock").join("publiclist.lock");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(&lock)
            .map(|s| s.is_empty())
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "lock never taken");
            std::thread::sleep(Duration::from_millis(20));
        }
        let o = mm(db, &["publiclist", "-o", other.to_str().unwrap()]).code(3);
        assert!(o.stderr.contains("publiclist.lock"), "{}", o.stderr);
        assert!(!other.exists());
        holder.kill().unwrap();
        holder.wait().unwrap();
        mm(db, &["publiclist", "-o", other.to_str().unwrap(), "--wait"]).ok();
        assert_eq!(tree(&other), tree(&out));
    });
}

/// What mm_sync_out checks before shipping the tree: non-empty index.html and mirrors.json.
fn mm_syncout_accepts(dir: &Path) -> bool {
    ["index.html", "mirrors.json"].iter().all(|f| {
        std::fs::metadata(dir.join(f))
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    })
}

#[test]
fn sigkill_mid_write_leaves_the_previous_tree() {
    for_each_backend(|db| {
        let out = db.dir.path().join("pl");
        let parent = out.parent().unwrap().to_path_buf();
        // Tree A: the empty database.
        mm(db, &["publiclist", "-o", out.to_str().unwrap()]).ok();
        let before = tree(&out);
        let index_a = std::fs::read(out.join("index.html")).unwrap();
        assert!(String::from_utf8_lossy(&index_a).contains("No product is published"));

        // A Fedora-sized database takes seconds to write; kill the run as soon as its temp
        // tree holds a page.
        fixture::fill_fedora_scale(
            &mut db.conn,
            fixture::Scale {
                hosts: 300,
                versions: 40,
                arches: 10,
            },
        )
        .unwrap();
        let mut child = mirrormanager(db)
            .command(&["publiclist", "-o", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let tmp = loop {
            let found = std::fs::read_dir(&parent)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(".pl.tmp-")
                });
            if let Some(t) = found
                && t.join("Fedora").exists()
            {
                break t;
            }
            assert!(Instant::now() < deadline, "no temp tree appeared");
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended before it could be killed"
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        // The previous tree is intact and readable; the half-written one is beside it.
        assert_eq!(tree(&out), before);
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), index_a);
        assert!(mm_syncout_accepts(&out));
        assert!(tmp.exists());
        assert!(
            !tree(&tmp).contains(Path::new("index.html")),
            "the index is written last"
        );

        // The next run completes, swaps the new tree in and removes the stale temp dir.
        mm(db, &["publiclist", "-o", out.to_str().unwrap()]).ok();
        assert!(!tmp.exists());
        let index_b = std::fs::read_to_string(out.join("index.html")).unwrap();
        assert!(index_b.contains("href=\"Fedora/development/index.html\""));
        let leftovers: Vec<_> = std::fs::read_dir(&parent)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".pl."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    });
}

fn chromium(args: &[&str]) -> std::process::Output {
    let chromium = mm_testkit::require_tool("chromium");
    let profile = tempfile::Builder::new()
        .prefix("mm-chromium-")
        .tempdir()
        .unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("120").arg(chromium).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.path().display()));
    let o = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every `href="…"` of a DOM dump.
fn hrefs(dom: &str) -> Vec<String> {
    dom.split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .collect()
}

#[test]
fn a_browser_reads_the_pages_served_by_nginx() {
    for_each_backend(|db| {
        small_network(&mut db.conn);
        let root = db.dir.path().join("www");
        let out = root.join("publiclist");
        mm(db, &["publiclist", "-o", out.to_str().unwrap()]).ok();
        let nginx = mm_testkit::servers::nginx(&root);
        let base = format!("http://127.0.0.1:{}/publiclist/", nginx.port);

        for (page, mirrors) in [
            ("index.html", 0),
            ("Fedora/41/x86_64/index.html", 3),
            ("Fedora/development/x86_64/index.html", 1),
        ] {
            let o = chromium(&["--dump-dom", &format!("{base}{page}")]);
            let dom = String::from_utf8_lossy(&o.stdout).into_owned();
            assert!(dom.contains("<title>"), "{page}: no DOM: {dom}");
            // No script ran from a mirror's comment: the text is in the DOM as text.
            assert!(!dom.contains("<script>"), "{page}");
            let rows = dom.matches("<tr class=\"mirror\">").count();
            assert_eq!(rows, mirrors, "{page}: {dom}");
            if mirrors > 0 {
                assert!(dom.contains(&format!("{mirrors} public active mirrors")));
                assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
                assert!(!dom.contains("hidden.example.org") && !dom.contains("/private/"));
            } else {
                assert!(dom.contains(">rawhide<") && dom.contains(">41<"));
            }
            // Every relative link resolves to a generated file.
            let dir = out.join(page).parent().unwrap().to_path_buf();
            let links = hrefs(&dom);
            assert!(links.len() >= 3, "{page}: {links:?}");
            for h in links.iter().filter(|h| !h.contains("://")) {
                let target = dir.join(h);
                assert!(
                    target.is_file(),
                    "{page}: link {h} → {} does not exist",
                    target.display()
                );
            }
            for h in links.iter().filter(|h| h.contains("://")) {
                assert!(
                    h.starts_with("https://") || h.starts_with("rsync://"),
                    "{page}: {h}"
                );
            }
        }
        let arch = String::from_utf8_lossy(
            &chromium(&["--dump-dom", &format!("{base}Fedora/41/x86_64/index.html")]).stdout,
        )
        .into_owned();
        assert!(
            arch.contains("DE Germany") && arch.contains("US United States"),
            "{arch}"
        );

        let shot = db.dir.path().join("arch.png");
        chromium(&[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,900",
            &format!("{base}Fedora/41/x86_64/index.html"),
        ]);
        let png = std::fs::read(&shot).expect("screenshot written");
        assert!(png.len() > 1000, "screenshot of {} bytes", png.len());
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    });
}
