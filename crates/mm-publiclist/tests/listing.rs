//! The public list on both databases: listing rules, escaping, private URLs, new versions,
//! mirrors.json.

use std::path::Path;

use diesel::prelude::*;
use mm_core::db::DbConn;
use mm_core::models::NewHost;
use mm_core::schema::{host, site};
use mm_testkit::fixture::{self, epoch};
use mm_testkit::for_each_backend;

struct Net {
    cat: i32,
    fedora: i32,
    x86: i32,
}

/// Fedora 41 and 40 (x86_64, aarch64; ppc64le not publiclist), rawhide, a test version,
/// and one host per listing rule.
fn build(conn: &mut DbConn) -> Net {
    let fedora = fixture::product(conn, "Fedora", true).unwrap();
    let hidden = fixture::product(conn, "Hidden Product", false).unwrap();
    let cat = fixture::category(conn, "Fedora Linux", fedora, "pub/fedora/linux").unwrap();
    let x86 = fixture::arch(conn, "x86_64", true).unwrap();
    let arm = fixture::arch(conn, "aarch64", true).unwrap();
    let ppc = fixture::arch(conn, "ppc64le", false).unwrap();
    let v41 = fixture::version(conn, fedora, "41", 0, false).unwrap();
    let v40 = fixture::version(conn, fedora, "40", 0, false).unwrap();
    let raw = fixture::version(conn, fedora, "development", 10, false).unwrap();
    let beta = fixture::version(conn, fedora, "42_Beta", 0, true).unwrap();
    fixture::version(conn, hidden, "99", 0, false).unwrap();
    let (_, d41x) = fixture::repository(
        conn,
        "fedora-41-x86_64",
        cat,
        v41,
        x86,
        "pub/fedora/linux/releases/41/x86_64",
    )
    .unwrap();
    let (_, d41a) = fixture::repository(
        conn,
        "fedora-41-aarch64",
        cat,
        v41,
        arm,
        "pub/fedora/linux/releases/41/aarch64",
    )
    .unwrap();
    let (_, d41p) = fixture::repository(
        conn,
        "fedora-41-ppc64le",
        cat,
        v41,
        ppc,
        "pub/fedora/linux/releases/41/ppc64le",
    )
    .unwrap();
    let (_, d40x) = fixture::repository(
        conn,
        "fedora-40-x86_64",
        cat,
        v40,
        x86,
        "pub/fedora/linux/releases/40/x86_64",
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
    fixture::repository(
        conn,
        "beta-x86_64",
        cat,
        beta,
        x86,
        "pub/fedora/linux/releases/test/42_Beta/x86_64",
    )
    .unwrap();
    let crawled = Some(epoch());

    // Listed everywhere it is up to date.
    let good_site = fixture::site(
        conn,
        &fixture::new_site("Good Site", Some("https://good.example/")),
    )
    .unwrap();
    let mut h = NewHost::new(good_site, "good.example.org", "de");
    h.bandwidth_int = Some(10000);
    h.internet2 = true;
    h.comment = Some("<script>alert(1)</script>".into());
    let good = fixture::host(conn, &h, crawled).unwrap();
    // MM2 data can hold lower-case codes: "de" sorts after "US" byte-wise, and must still
    // share a group with stale.example.org's "DE".
    diesel::update(host::table.find(good))
        .set(host::country.eq("de"))
        .execute(conn)
        .unwrap();
    let hc = fixture::host_category(conn, good, cat, false).unwrap();
    for u in [
        "https://good.example.org/fedora/linux",
        "http://good.example.org/fedora/linux",
        "ftp://good.example.org/fedora/linux",
        "rsync://good.example.org/fedora/linux",
    ] {
        fixture::url(conn, hc, u, false).unwrap();
    }
    fixture::url(
        conn,
        hc,
        "https://secret-url.example.org/fedora/linux",
        true,
    )
    .unwrap();
    fixture::host_category_dir(conn, hc, d41x, "releases/41/x86_64", true).unwrap();
    fixture::host_category_dir(conn, hc, d41p, "releases/41/ppc64le", true).unwrap();

    // always_up2date, no directories crawled.
    let always_site = fixture::site(conn, &fixture::new_site("Always Site", None)).unwrap();
    let always = fixture::host(
        conn,
        &NewHost::new(always_site, "always.example.org", "US"),
        crawled,
    )
    .unwrap();
    let hc = fixture::host_category(conn, always, cat, true).unwrap();
    fixture::url(conn, hc, "https://always.example.org/fedora", false).unwrap();

    // Stale for 41/x86_64, up to date for 40/x86_64 (same site as good).
    let stale = fixture::host(
        conn,
        &NewHost::new(good_site, "stale.example.org", "DE"),
        crawled,
    )
    .unwrap();
    let hc = fixture::host_category(conn, stale, cat, false).unwrap();
    fixture::url(conn, hc, "http://stale.example.org/fedora", false).unwrap();
    fixture::host_category_dir(conn, hc, d41x, "releases/41/x86_64", false).unwrap();
    fixture::host_category_dir(conn, hc, d41a, "releases/41/aarch64", false).unwrap();
    fixture::host_category_dir(conn, hc, d40x, "releases/40/x86_64", true).unwrap();

    // Hosts that must never be listed (all up to date for 41/x86_64).
    let hidden_host = |conn: &mut DbConn,
                       site_name: &str,
                       host_name: &str,
                       tweak: &dyn Fn(&mut NewHost),
                       crawled| {
        let site_id = match site::table
            .filter(site::name.eq(site_name))
            .select(site::id)
            .first::<i32>(conn)
        {
            Ok(id) => id,
            Err(_) => fixture::site(conn, &fixture::new_site(site_name, None)).unwrap(),
        };
        let mut h = NewHost::new(site_id, host_name, "FR");
        tweak(&mut h);
        let id = fixture::host(conn, &h, crawled).unwrap();
        let hc = fixture::host_category(conn, id, cat, true).unwrap();
        fixture::url(conn, hc, &format!("https://{host_name}/fedora"), false).unwrap();
        fixture::host_category_dir(conn, hc, d41x, "releases/41/x86_64", true).unwrap();
    };
    hidden_host(
        conn,
        "Good Site",
        "host-admin-inactive.example.org",
        &|h| h.admin_active = false,
        crawled,
    );
    hidden_host(
        conn,
        "Good Site",
        "host-user-inactive.example.org",
        &|h| h.user_active = false,
        crawled,
    );
    hidden_host(
        conn,
        "Good Site",
        "host-private.example.org",
        &|h| h.private = true,
        crawled,
    );
    hidden_host(
        conn,
        "Good Site",
        "host-never-crawled.example.org",
        &|_| {},
        None,
    );
    hidden_host(
        conn,
        "Inactive Site",
        "site-user-inactive.example.org",
        &|_| {},
        crawled,
    );
    hidden_host(
        conn,
        "Admin Inactive Site",
        "site-admin-inactive.example.org",
        &|_| {},
        crawled,
    );
    hidden_host(
        conn,
        "Private Site",
        "site-private.example.org",
        &|_| {},
        crawled,
    );
    diesel::update(site::table.filter(site::name.eq("Inactive Site")))
        .set(site::user_active.eq(false))
        .execute(conn)
        .unwrap();
    diesel::update(site::table.filter(site::name.eq("Admin Inactive Site")))
        .set(site::admin_active.eq(false))
        .execute(conn)
        .unwrap();
    diesel::update(site::table.filter(site::name.eq("Private Site")))
        .set(site::private.eq(true))
        .execute(conn)
        .unwrap();
    assert_eq!(host::table.count().get_result::<i64>(conn).unwrap(), 10);
    Net { cat, fedora, x86 }
}

const NEVER_LISTED: [&str; 7] = [
    "host-admin-inactive.example.org",
    "host-user-inactive.example.org",
    "host-private.example.org",
    "host-never-crawled.example.org",
    "site-user-inactive.example.org",
    "site-admin-inactive.example.org",
    "site-private.example.org",
];

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Host names listed in a mirror table, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<td class=\"host\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect()
}

/// HTML Tidy (HTML5 mode) reports neither errors nor warnings.
fn assert_valid_html5(path: &Path) {
    let tidy = mm_testkit::require_tool("tidy");
    let o = std::process::Command::new(tidy)
        .args(["-q", "-errors"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn listing_rules_on_every_page() {
    for_each_backend(|db| {
        build(&mut db.conn);
        let out = db.dir.path().join("publiclist");
        let now = epoch() + chrono::Duration::hours(5);
        let s = mm_publiclist::generate(&mut db.conn, &out, Some(now)).unwrap();
        // index, product, 4 versions, 41: x86_64+aarch64, 40: x86_64, rawhide, beta
        assert_eq!(s.pages, 1 + 1 + 4 + 5, "{s}");
        assert_eq!(s.hosts, 3);

        let arch = read(&out, "Fedora/41/x86_64/index.html");
        assert_eq!(
            listed(&arch),
            ["good.example.org", "always.example.org"],
            "DE before US"
        );
        assert!(arch.contains("2 public active mirrors"), "{arch}");
        for (proto, url) in [
            ("https", "https://good.example.org/fedora/linux"),
            ("http", "http://good.example.org/fedora/linux"),
            ("ftp", "ftp://good.example.org/fedora/linux"),
            ("rsync", "rsync://good.example.org/fedora/linux"),
        ] {
            assert!(
                arch.contains(&format!("<a href=\"{url}\">{proto}</a>")),
                "{proto} link missing"
            );
        }
        assert!(arch.contains("<a href=\"https://good.example/\">Good Site</a>"));
        assert!(arch.contains("DE Germany") && arch.contains("US United States"));
        assert!(arch.contains(">10000<") && arch.contains(">5 h ago<"));

        assert_eq!(
            listed(&read(&out, "Fedora/41/aarch64/index.html")),
            ["always.example.org"]
        );
        assert_eq!(
            listed(&read(&out, "Fedora/40/x86_64/index.html")),
            ["stale.example.org", "always.example.org"]
        );
        assert_eq!(
            listed(&read(&out, "Fedora/41/index.html")),
            ["good.example.org", "always.example.org"]
        );
        assert!(read(&out, "Fedora/41/index.html").contains("2 public active mirrors"));
        assert_eq!(
            listed(&read(&out, "Fedora/index.html")),
            [
                "good.example.org",
                "stale.example.org",
                "always.example.org"
            ]
        );
        let product = read(&out, "Fedora/index.html");
        assert_eq!(
            product.matches("Germany").count(),
            1,
            "one DE group: {product}"
        );
        // ppc64le is not a publiclist arch, the hidden product not a publiclist product.
        assert!(!out.join("Fedora/41/ppc64le").exists());
        assert!(!out.join("Hidden_Product").exists());

        let index = read(&out, "index.html");
        let pos = |s: &str| {
            index
                .find(s)
                .unwrap_or_else(|| panic!("{s} not on the index"))
        };
        assert!(pos(">rawhide<") < pos(">41<") && pos(">41<") < pos(">40<"));
        assert!(!index.contains(">development<"));
        assert!(index.contains("href=\"Fedora/41/x86_64/index.html\""));
        assert!(index.contains("href=\"Fedora/41/aarch64/index.html\""));
        assert!(index.contains("href=\"Fedora/development/index.html\""));
        let beta = &index[pos(">42_Beta<")..];
        assert!(
            beta.starts_with(">42_Beta</a> <span class=\"test\">test</span>"),
            "test version marked"
        );
        assert_eq!(index.matches("class=\"test\"").count(), 1);

        // Hidden hosts and private URLs appear nowhere, not even in mirrors.json.
        let mut files = Vec::new();
        all_files(&out, &mut files);
        assert_eq!(files.len(), s.pages + 2);
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(
                !text.contains("secret-url"),
                "private URL in {}",
                f.display()
            );
            for h in NEVER_LISTED
                .iter()
                .filter(|h| **h != "host-never-crawled.example.org")
            {
                assert!(!text.contains(h), "{h} in {}", f.display());
            }
            if f.extension().is_some_and(|e| e == "html") {
                assert!(
                    !text.contains("host-never-crawled"),
                    "never crawled host in {}",
                    f.display()
                );
                assert!(text.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
                assert_valid_html5(f);
            }
        }

        let json: serde_json::Value = serde_json::from_str(&read(&out, "mirrors.json")).unwrap();
        assert_eq!(json["version"], 1);
        let hosts = json["hosts"].as_array().unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        for n in [
            "good.example.org",
            "always.example.org",
            "stale.example.org",
            "host-never-crawled.example.org",
        ] {
            assert!(names.contains(&n), "{n} missing from mirrors.json");
        }
        let good = hosts
            .iter()
            .find(|h| h["name"] == "good.example.org")
            .unwrap();
        assert_eq!(good["site"]["name"], "Good Site");
        assert_eq!(good["country"], "DE");
        assert_eq!(good["bandwidth_mbps"], 10000);
        assert_eq!(good["crawl_status"], "ok");
        assert_eq!(good["last_crawled"], "2026-01-01T00:00:00Z");
        assert_eq!(good["last_crawl_duration"], 0);
        let fl = &good["categories"]["Fedora Linux"];
        assert_eq!(
            fl["urls"]["rsync"][0],
            "rsync://good.example.org/fedora/linux"
        );
        assert_eq!(fl["urls"]["https"].as_array().unwrap().len(), 1);
        assert_eq!(fl["directories"], 2);
        assert_eq!(fl["up2date_fraction"], 1.0);
        let stale = hosts
            .iter()
            .find(|h| h["name"] == "stale.example.org")
            .unwrap();
        let f = stale["categories"]["Fedora Linux"]["up2date_fraction"]
            .as_f64()
            .unwrap();
        assert!((f - 1.0 / 3.0).abs() < 1e-9, "{f}");
        let never = hosts
            .iter()
            .find(|h| h["name"] == "host-never-crawled.example.org")
            .unwrap();
        assert_eq!(never["crawl_status"], "never_crawled");
        assert!(never["last_crawled"].is_null());
    });
}

#[test]
fn comments_and_names_are_escaped() {
    for_each_backend(|db| {
        let net = build(&mut db.conn);
        let evil_site = fixture::site(
            &mut db.conn,
            &fixture::new_site("Evil \"Site\" <b>", Some("javascript:alert(2)")),
        )
        .unwrap();
        let mut h = NewHost::new(evil_site, "evil<i>.example.org", "NL");
        h.comment = Some("<script>alert(1)</script> & \"quotes\"".into());
        let id = fixture::host(&mut db.conn, &h, Some(epoch())).unwrap();
        let hc = fixture::host_category(&mut db.conn, id, net.cat, true).unwrap();
        fixture::url(
            &mut db.conn,
            hc,
            "https://evil.example.org/\"><script>alert(3)</script>",
            false,
        )
        .unwrap();
        let out = db.dir.path().join("pl");
        mm_publiclist::generate(&mut db.conn, &out, None).unwrap();
        for page in [
            "Fedora/index.html",
            "Fedora/41/index.html",
            "Fedora/41/x86_64/index.html",
        ] {
            assert_valid_html5(&out.join(page));
            let html = read(&out, page);
            assert!(!html.contains("<script"), "{page}: unescaped script");
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"),
                "{page}"
            );
            assert!(html.contains("evil&lt;i&gt;.example.org"));
            assert!(html.contains("Evil &quot;Site&quot; &lt;b&gt;"));
            assert!(!html.contains("javascript:"), "{page}: javascript: link");
            assert!(html.contains(
                "href=\"https://evil.example.org/%22%3E%3Cscript%3Ealert(3)%3C/script%3E\""
            ));
        }
        let _ = (net.fedora, net.x86);
    });
}

#[test]
fn a_new_version_appears_after_the_next_run() {
    for_each_backend(|db| {
        let net = build(&mut db.conn);
        let out = db.dir.path().join("pl");
        mm_publiclist::generate(&mut db.conn, &out, None).unwrap();
        assert!(!read(&out, "index.html").contains(">43<"));
        let v43 = fixture::version(&mut db.conn, net.fedora, "43", 0, false).unwrap();
        fixture::repository(
            &mut db.conn,
            "fedora-43-x86_64",
            net.cat,
            v43,
            net.x86,
            "pub/fedora/linux/releases/43/x86_64",
        )
        .unwrap();
        let s = mm_publiclist::generate(&mut db.conn, &out, None).unwrap();
        let index = read(&out, "index.html");
        assert!(
            index.contains("<a href=\"Fedora/43/index.html\">43</a>"),
            "{index}"
        );
        assert!(index.find(">43<").unwrap() < index.find(">41<").unwrap());
        // The always_up2date host carries it at once.
        assert_eq!(
            listed(&read(&out, "Fedora/43/x86_64/index.html")),
            ["always.example.org"]
        );
        assert_eq!(s.pages, 13);
    });
}
