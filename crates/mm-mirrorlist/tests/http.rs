//! The real `mirrorlist-server` binary over HTTP on 127.0.0.1: endpoints, errors, access
//! log, metrics, and hot reload (file replacement under load, SIGHUP, bad caches).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Server, fixture, http};

const T0: u64 = 1_700_000_000;

#[test]
fn endpoints_statuses_and_headers() {
    let s = Server::start(&fixture::cache(T0), &[]);
    let r = s.get("/mirrorlist?repo=fedora-41&arch=x86_64&country=FR");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.body,
        format!(
            "# repo = fedora-41 arch = x86_64 country = FR\nhttps://fr3.example/fedora/linux/{}/\n",
            fixture::SUBPATH
        )
    );
    let r = s.get("/metalink?repo=fedora-41&arch=x86_64&country=FR");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/metalink+xml"));
    assert!(
        r.body
            .contains("<url protocol=\"https\" type=\"https\" location=\"FR\" preference=\"100\">"),
        "{}",
        r.body
    );
    // Behind a proxy prefix, too.
    assert_eq!(
        s.get("/mirrorlist-server/metalink?repo=fedora-41&arch=x86_64")
            .status,
        200
    );
    let r = s.get("/mirrorlist?repo=fedora-41&arch=x86_64&country=FR&redirect=1");
    assert_eq!(r.status, 302);
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("https://fr3.example/")
    );
    assert_eq!(s.get("/mirrorlist?repo=nope&arch=x86_64").status, 404);
    assert_eq!(s.get("/metalink?repo=nope&arch=x86_64").status, 404);
    // a file the cache has no details of: no mirror offered, so no tier in /metrics
    assert_eq!(
        s.get("/metalink?path=pub/fedora/linux/releases/41/Everything/x86_64/os/missing.iso")
            .status,
        404
    );
    let r = s.get("/mirrorlist");
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            200,
            "# either path=, or repo= and arch= must be specified\n"
        )
    );
    assert_eq!(
        s.get("/mirrorlist?repo=fedora-41&arch=x86_64&ip=999.1.1.1")
            .status,
        400
    );
    assert_eq!(s.get("/mirrorlist?repo=%zz%&arch=%").status, 404);
    assert_eq!(s.get("/nothing").status, 404);
    assert_eq!(http(s.addr, "POST", "/mirrorlist", &[]).status, 405);
    let head = http(
        s.addr,
        "HEAD",
        "/mirrorlist?repo=fedora-41&arch=x86_64",
        &[],
    );
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    // X-Forwarded-For: the last element is the client (a DE address).
    let r = http(
        s.addr,
        "GET",
        "/mirrorlist?repo=fedora-41&arch=x86_64",
        &[("X-Forwarded-For", "203.0.113.9, 198.51.100.20")],
    );
    assert!(
        r.body
            .starts_with("# repo = fedora-41 arch = x86_64 country = DE "),
        "{}",
        r.body
    );
    let r = s.get("/mirrorlist?repo=fedora-41&arch=x86_64&ip=198.51.100.130");
    assert!(
        r.body
            .starts_with("# repo = fedora-41 arch = x86_64 Using Internet2 country = DE "),
        "{}",
        r.body
    );
    let r = http(
        s.addr,
        "GET",
        "/mirrorlist?repo=fedora-41&arch=x86_64",
        &[("X-Forwarded-For", "garbage")],
    );
    assert_eq!(r.status, 400);

    let h = s.get("/healthz");
    assert_eq!(h.status, 200);
    assert!(
        h.body
            .starts_with(&format!("ok cache_time={T0} directories=1")),
        "{}",
        h.body
    );
    let m = s.get("/metrics").body;
    // By endpoint, status and the tier of the first mirror offered.
    let count = |labels: &str| {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("mirrorlist_requests_total{{{labels}}} ")))
            .map(|n| n.parse::<u64>().unwrap())
    };
    assert_eq!(
        count("endpoint=\"mirrorlist\",status=\"200\",tier=\"country\""),
        Some(2),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"mirrorlist\",status=\"200\",tier=\"internet2\""),
        Some(1),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"mirrorlist\",status=\"302\",tier=\"country\""),
        Some(1),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"metalink\",status=\"200\",tier=\"country\""),
        Some(1),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"mirrorlist\",status=\"404\",tier=\"none\""),
        Some(2),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"mirrorlist\",status=\"400\",tier=\"none\""),
        Some(2),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"metalink\",status=\"404\",tier=\"none\""),
        Some(2),
        "{m}"
    );
    assert_eq!(
        count("endpoint=\"healthz\",status=\"200\",tier=\"none\""),
        Some(1),
        "{m}"
    );
    assert!(
        m.contains(&format!("mirrorlist_cache_timestamp_seconds {T0}\n")),
        "{m}"
    );
    assert!(
        m.contains("mirrorlist_reloads_total{result=\"ok\"} 0"),
        "{m}"
    );
    assert!(m.contains("mirrorlist_cache_age_seconds "), "{m}");

    // Access log: one Fedora-format line per answered repo/arch request, written off the
    // request path (wait for the writer thread).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(&s.log).unwrap_or_default();
        if log.contains("COUNTRY: DE; REPO: fedora-41; ARCH: x86_64") {
            let first = log.lines().next().unwrap();
            assert!(first.starts_with("IP: 127.0.0.1; DATE: "), "{first}");
            assert!(
                first.ends_with("; REPO: fedora-41; ARCH: x86_64"),
                "{first}"
            );
            assert!(!log.contains("REPO: nope"), "{log}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "access log: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn missing_or_bad_cache_at_start_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "").unwrap();
    let bad = dir.path().join("bad.proto");
    std::fs::write(&bad, b"garbage garbage").unwrap();
    for cache in [dir.path().join("missing.proto"), bad] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mirrorlist-server"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "-c",
                cache.to_str().unwrap(),
                "--port",
                "0",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(cache.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mirrorlist-server"))
        .args(["--config", config.to_str().unwrap(), "--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hot_reload_under_load_drops_nothing() {
    let s = Server::start(&fixture::cache(T0), &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let addr = s.addr;
    let mut workers = Vec::new();
    for i in 0..4 {
        let stop = stop.clone();
        let ok = ok.clone();
        workers.push(std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                let path = if i % 2 == 0 {
                    "/mirrorlist?repo=fedora-41&arch=x86_64&country=DE&time=1"
                } else {
                    "/metalink?repo=fedora-41&arch=x86_64&country=DE"
                };
                let r = http(addr, "GET", path, &[]);
                if r.status != 200 || !r.body.contains("de1.example") {
                    failures.push(format!("{} {}", r.status, r.body));
                } else {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(t) = r.body.split("<mm0:timestamp>").nth(1) {
                    seen.insert(t.split('<').next().unwrap().to_string());
                }
            }
            (failures, seen)
        }));
    }
    for i in 1..=10u64 {
        mm_cachefile::write_atomic(&s.cache, &fixture::cache(T0 + i * 1000)).unwrap();
        s.wait_for_time(T0 + i * 1000);
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen = std::collections::BTreeSet::new();
    for w in workers {
        let (failures, s2) = w.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} failed requests, first: {}",
            failures.len(),
            failures[0]
        );
        seen.extend(s2);
    }
    assert!(
        ok.load(Ordering::Relaxed) > 50,
        "only {} requests",
        ok.load(Ordering::Relaxed)
    );
    // The answers switched: metalink timestamps of several cache versions were served.
    assert!(seen.len() >= 5, "{seen:?}");
    assert!(seen.contains(&(T0 + 10_000).to_string()), "{seen:?}");
    let m = s.get("/metrics").body;
    assert!(
        m.contains("mirrorlist_reloads_total{result=\"ok\"} 10"),
        "{m}"
    );
    let r = s.get("/mirrorlist?repo=fedora-41&arch=x86_64&country=DE&time=1");
    assert!(
        r.body.contains("# database creation time: 1700010000 "),
        "{}",
        r.body
    );
}

#[test]
fn bad_cache_keeps_the_old_one_and_sighup_reloads() {
    let s = Server::start(&fixture::cache(T0), &[]);
    // A garbage file replaces the cache: refused, old one keeps serving.
    mm_cachefile::write_bytes_atomic(&s.cache, b"this is not a cache").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !s
        .get("/metrics")
        .body
        .contains("mirrorlist_reloads_total{result=\"failed\"} 1")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            s.get("/metrics").body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(s.get("/mirrorlist?repo=fedora-41&arch=x86_64").status, 200);
    s.wait_for_time(T0);
    assert!(
        s.stderr
            .lock()
            .unwrap()
            .contains("still serving the previous cache")
    );
    // An empty cache (no directories) is refused too.
    let mut empty = fixture::cache(T0 + 5);
    empty.mirror_list_cache.clear();
    mm_cachefile::write_atomic(&s.cache, &empty).unwrap();
    while !s
        .get("/metrics")
        .body
        .contains("mirrorlist_reloads_total{result=\"failed\"} 2")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            s.get("/metrics").body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s.wait_for_time(T0);

    // SIGHUP reloads even when the file looks unchanged: write a good cache, then rewrite
    // the GeoIP database so 198.51.100.0/24 is in FR, and signal.
    mm_cachefile::write_atomic(&s.cache, &fixture::cache(T0 + 7)).unwrap();
    s.wait_for_time(T0 + 7);
    let ip_query = "/mirrorlist?repo=fedora-41&arch=x86_64&ip=198.51.100.1";
    assert!(s.get(ip_query).body.contains("country = DE"));
    std::fs::write(
        s.dir.path().join("geo.mmdb"),
        common::mmdb::build(&[("198.51.100.0/24", "FR", "EU")]),
    )
    .unwrap();
    // logrotate moves the access log away; SIGHUP makes the server reopen it.
    assert_eq!(
        s.get("/mirrorlist?repo=fedora-41&arch=x86_64&country=DE")
            .status,
        200
    );
    let rotated = s.dir.path().join("access.log.1");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&s.log)
        .unwrap_or_default()
        .contains("REPO: fedora-41")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "access log never written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::rename(&s.log, &rotated).unwrap();
    let pid = s.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let body = s.get(ip_query).body;
        if body.starts_with("# repo = fedora-41 arch = x86_64 country = FR ") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload: {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&s.log)
        .unwrap_or_default()
        .contains("COUNTRY: FR; REPO: fedora-41")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "access log was not reopened after SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !std::fs::read_to_string(&rotated)
            .unwrap()
            .contains("COUNTRY: FR")
    );
}

/// mm_sync_out ships the location files beside the cache: a new one is used without a
/// SIGHUP, an empty one is called out, and a cache file that disappears is logged while
/// the loaded cache keeps serving.
#[test]
fn location_files_reload_when_replaced_and_a_lost_cache_is_logged() {
    let s = Server::start(&fixture::cache(T0), &[]);
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {}",
                s.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let logged = |text: &str| s.stderr.lock().unwrap().contains(text);
    assert!(
        logged("location data: GeoIP "),
        "{}",
        s.stderr.lock().unwrap()
    );
    let ip_query = "/mirrorlist?repo=fedora-41&arch=x86_64&ip=198.51.100.1";
    // the header names the client's country first, then the rest of its continent
    let client_in = |cc: &str| {
        s.get(ip_query)
            .body
            .starts_with(&format!("# repo = fedora-41 arch = x86_64 country = {cc} "))
    };
    assert!(client_in("DE"));
    let fresh = s.dir.path().join("geo.mmdb.new");
    std::fs::write(
        &fresh,
        common::mmdb::build(&[("198.51.100.0/24", "FR", "EU")]),
    )
    .unwrap();
    std::fs::rename(&fresh, s.dir.path().join("geo.mmdb")).unwrap();
    wait_for("a replaced GeoIP database was not used", &|| {
        client_in("FR")
    });
    wait_for("the reload was not logged", &|| {
        logged("reloaded the cache (location files changed)")
    });

    std::fs::write(s.dir.path().join("global_netblocks.txt"), "").unwrap();
    wait_for("an empty netblocks file went unnoticed", &|| {
        logged("has no entries: the ASN tier is off")
    });

    std::fs::remove_file(&s.cache).unwrap();
    wait_for("a deleted cache file went unnoticed", &|| {
        logged("is gone; still serving the loaded cache")
    });
    assert_eq!(s.get("/mirrorlist?repo=fedora-41&arch=x86_64").status, 200);
}

#[test]
fn sigterm_finishes_and_exits_cleanly() {
    let mut s = Server::start(&fixture::cache(T0), &[]);
    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = std::net::TcpStream::connect(s.addr).unwrap();
    std::io::Write::write_all(&mut idle, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = s.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(std::time::Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(100));
    let err = s.stderr.lock().unwrap().clone();
    assert!(
        err.contains("shutting down") && err.contains("stopped"),
        "{err}"
    );
    assert!(
        std::net::TcpStream::connect(s.addr).is_err(),
        "still accepting after shutdown"
    );
}
