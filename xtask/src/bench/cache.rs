//! `cargo xtask bench cache`: `update-mirrorlist-server` on a Fedora-scale database.
//!
//! The database (sites, hosts, 5 categories with most directories in an archive category,
//! repositories, file details, URLs, netblocks and millions of host_category_dir rows, ~99%
//! up to date) is filled with a handful of bulk `INSERT … SELECT` statements over
//! `generate_series` (PostgreSQL, via `psql`) or a recursive CTE (SQLite, via the `sqlite3`
//! shell), then the generator is timed on PostgreSQL and SQLite, and on PostgreSQL again at
//! twice the rows to see how it grows. The caches stay in `target/bench/cache/` for
//! `cargo xtask bench server`.
//!
//! Options: `--rows N` host_category_dir rows [6000000; quick 600000], `--dirs N`
//! [100000; quick 10000], `--hosts N` [700], `--heavy-rows N` [2 × rows].

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::{Opts, Report, verdict};

/// The shape of a generated database.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub hosts: u64,
    pub sites: u64,
    pub dirs: u64,
    /// Wanted host_category_dir rows (the real count is reported).
    pub rows: u64,
    pub repos: u64,
    pub netblocks: u64,
}

impl Params {
    /// Fedora's scale (issue figures): 700 hosts, ~540 sites, 100k directories, 3k repositories.
    pub fn fedora(rows: u64, dirs: u64, hosts: u64) -> Params {
        Params {
            hosts,
            sites: (hosts * 540 / 700).max(1),
            dirs,
            rows,
            repos: 3000,
            netblocks: 660,
        }
    }

    /// The small network of the server benchmark: 50 hosts, 2k directories.
    pub fn small() -> Params {
        Params {
            hosts: 50,
            sites: 40,
            dirs: 2000,
            rows: 50_000,
            repos: 3000,
            netblocks: 60,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} hosts, {} sites, 5 categories, {} directories, ≤{} repositories, {} netblocks, ~{} host_category_dir rows wanted",
            self.hosts, self.sites, self.dirs, self.repos, self.netblocks, self.rows
        )
    }
}

/// Categories: (name, topdir, product id, share of the directories in ‰, share of hosts in ‰).
///
/// The host shares give the shape both benchmark issues describe at the default size: ~6M
/// host_category_dir rows with most directories in the archive category, and ~150 hosts in
/// each directory of the main category (the repositories the server benchmark requests;
/// EPEL ~120, the archive ~43 hosts per directory).
const CATEGORIES: [(&str, &str, u32, u64, u64); 5] = [
    ("Fedora Linux", "pub/fedora/linux", 1, 120, 214),
    ("Fedora EPEL", "pub/epel", 2, 60, 171),
    ("Fedora Archive", "pub/archive/fedora/linux", 1, 770, 61),
    ("Fedora Secondary Arches", "pub/fedora-secondary", 1, 30, 57),
    ("Fedora Alt", "pub/alt", 1, 20, 43),
];

/// The directory id range of each category's subdirectories (topdir ids are 1..=5).
pub fn dir_ranges(p: &Params) -> Vec<(u64, u64)> {
    let mut start = 6;
    CATEGORIES
        .iter()
        .map(|c| {
            let n = (p.dirs * c.3 / 1000).max(2);
            let r = (start, start + n - 1);
            start += n;
            r
        })
        .collect()
}

/// Repositories that fit in the first category (two directories each: `dN`, `dN/repodata`).
pub fn repo_count(p: &Params) -> u64 {
    let (a, b) = dir_ranges(p)[0];
    p.repos.min((b - a).div_ceil(2))
}

/// Hosts carrying each category, scaled so that Σ hosts × directories ≈ rows.
fn hosts_per_category(p: &Params) -> Vec<u64> {
    let ranges = dir_ranges(p);
    let base: f64 = CATEGORIES
        .iter()
        .zip(&ranges)
        .map(|(c, (a, b))| (p.hosts * c.4) as f64 / 1000.0 * (b - a + 2) as f64)
        .sum();
    let k = p.rows as f64 / base;
    CATEGORIES
        .iter()
        .map(|c| (((p.hosts * c.4) as f64 / 1000.0 * k).round() as u64).clamp(1, p.hosts))
        .collect()
}

struct Dialect {
    pg: bool,
}

impl Dialect {
    /// A row source of `i` from `a` to `b`.
    fn range(&self, a: u64, b: u64) -> String {
        if self.pg {
            format!("generate_series({a}, {b}) AS g(i)")
        } else {
            format!(
                "(WITH RECURSIVE s(i) AS (SELECT {a} UNION ALL SELECT i + 1 FROM s WHERE i < {b}) SELECT i FROM s) AS g"
            )
        }
    }
    /// A hex string of `n` × 32 characters derived from `seed`.
    fn hex(&self, n: usize, seed: &str) -> String {
        if self.pg {
            vec![format!("md5('{seed}' || i)"); n].join(" || ")
        } else {
            format!("lower(hex(randomblob({})))", 16 * n)
        }
    }
}

/// The SQL that fills a freshly migrated database.
pub fn fill_sql(p: &Params, pg: bool) -> String {
    let d = Dialect { pg };
    let (h, s) = (p.hosts, p.sites);
    let mut q = String::new();
    if !pg {
        q += "PRAGMA journal_mode = OFF;\nPRAGMA synchronous = OFF;\nPRAGMA cache_size = -200000;\nBEGIN;\n";
    }
    q += "INSERT INTO product (id, name, publiclist) VALUES (1, 'Fedora', TRUE), (2, 'EPEL', TRUE);\n";
    q += "INSERT INTO arch (id, name, primary_arch, publiclist) VALUES (1, 'x86_64', TRUE, TRUE), (2, 'aarch64', TRUE, TRUE), (3, 'ppc64le', FALSE, TRUE), (4, 's390x', FALSE, TRUE), (5, 'source', FALSE, TRUE);\n";
    q += "INSERT INTO version (id, product_id, codename, display, display_name, is_test, name, ordered_mirrorlist, sortorder) VALUES (1, 1, NULL, TRUE, NULL, FALSE, '40', FALSE, 0);\n";
    q += &format!(
        "INSERT INTO site (id, admin_active, all_sites_can_pull_from_me, created_at, created_by, downstream_comments, email_on_add, email_on_drop, name, org_url, password, private, user_active) \
         SELECT i, TRUE, FALSE, CURRENT_TIMESTAMP, 'bench', NULL, FALSE, FALSE, 'Site ' || i, NULL, NULL, FALSE, TRUE FROM {};\n",
        d.range(1, s)
    );
    q += &format!(
        "INSERT INTO host (id, site_id, admin_active, asn, asn_clients, bandwidth_int, comment, config, country, crawl_failures, disable_reason, internet2, internet2_clients, last_checked_in, last_crawl_duration, last_crawled, last_crawls, latitude, longitude, max_connections, name, private, push_ssh_command, push_ssh_host, push_ssh_private_key, robot_email, user_active) \
         SELECT i, (i - 1) % {s} + 1, TRUE, CASE WHEN i % 3 = 0 THEN 64500 + i % 100 ELSE NULL END, TRUE, 100 + (i * 37) % 10000, NULL, NULL, \
         substr('USDEFRGBNLSECZJPCNBRAUCAITESPLRUINZAKRCH', (i % 20) * 2 + 1, 2), 0, NULL, (i % 7 = 0), (i % 7 = 0), NULL, 0, NULL, NULL, NULL, NULL, 10, \
         'mirror' || i || '.example.org', (i % 50 = 0), NULL, NULL, NULL, NULL, TRUE FROM {};\n",
        d.range(1, h)
    );
    let ranges = dir_ranges(p);
    let per_cat = hosts_per_category(p);
    let mut hc_off = 0;
    for (c, ((name, top, product, _, _), &(a, b))) in CATEGORIES.iter().zip(&ranges).enumerate() {
        let cid = c as u64 + 1;
        q += &format!(
            "INSERT INTO directory (id, ctime, files, name, readable) VALUES ({cid}, 1700000000, NULL, '{top}', TRUE);\n"
        );
        q += &format!(
            "INSERT INTO directory (id, ctime, files, name, readable) SELECT i, 1700000000, NULL, '{top}/d' || (i / 2) || CASE WHEN i % 2 = 1 THEN '/repodata' ELSE '' END, TRUE FROM {};\n",
            d.range(a, b)
        );
        q += &format!(
            "INSERT INTO category (id, product_id, topdir_id, admin_only, canonicalhost, geo_dns_domain, name, publiclist) VALUES ({cid}, {product}, {cid}, FALSE, NULL, NULL, '{name}', TRUE);\n"
        );
        q += &format!(
            "INSERT INTO category_directory (category_id, directory_id) SELECT {cid}, id FROM directory WHERE id = {cid} OR id BETWEEN {a} AND {b};\n"
        );
        let n = per_cat[c];
        q += &format!(
            "INSERT INTO host_category (id, category_id, host_id, always_up2date) SELECT {hc_off} + i, {cid}, ((i - 1 + {}) % {h}) + 1, (i % 97 = 5) FROM {};\n",
            c * 97,
            d.range(1, n)
        );
        q += &format!(
            "INSERT INTO host_category_dir (directory_id, host_category_id, path, up2date) \
             SELECT dd.id, hc.id, CASE WHEN dd.id = {cid} THEN '' ELSE substr(dd.name, {}) END, ((hc.id * 7 + dd.id) % 100 <> 0) \
             FROM host_category hc JOIN directory dd ON (dd.id = {cid} OR dd.id BETWEEN {a} AND {b}) WHERE hc.category_id = {cid};\n",
            top.len() + 2
        );
        hc_off += n;
    }
    q += "INSERT INTO host_category_url (id, host_category_id, private, url) \
          SELECT (hc.id - 1) * 4 + p.n, hc.id, FALSE, p.proto || '://mirror' || hc.host_id || '.example.org/c' || hc.category_id || '/' \
          FROM host_category hc, (SELECT 1 AS n, 'https' AS proto UNION ALL SELECT 2, 'http' UNION ALL SELECT 3, 'rsync' UNION ALL SELECT 4, 'ftp') AS p;\n";
    let r = repo_count(p);
    let first = ranges[0].0;
    q += &format!(
        "INSERT INTO repository (id, arch_id, category_id, directory_id, version_id, disabled, name, prefix) \
         SELECT i, (i - 1) % 5 + 1, 1, {first} + 2 * (i - 1), 1, FALSE, 'repo' || i, 'fedora-' || ((i - 1) / 5) FROM {};\n",
        d.range(1, r)
    );
    for (from, to, ts) in [(1, r, 1_700_000_000u64), (1, r.min(1000), 1_690_000_000)] {
        q += &format!(
            "INSERT INTO file_detail (directory_id, filename, md5, sha1, sha256, sha512, size, timestamp) \
             SELECT {first} + 2 * (i - 1) + 1, 'repomd.xml', {}, substr({}, 1, 40), {}, {}, 4000 + i, {ts} + i FROM {};\n",
            d.hex(1, &format!("m{ts}")),
            d.hex(2, &format!("s{ts}")),
            d.hex(2, &format!("t{ts}")),
            d.hex(4, &format!("u{ts}")),
            d.range(from, to)
        );
    }
    q += &format!(
        "INSERT INTO host_netblock (host_id, name, netblock) SELECT ((i * 13) % {h}) + 1, 'nb' || i, '10.' || (i / 256) || '.' || (i % 256) || '.0/24' FROM {};\n",
        d.range(1, p.netblocks)
    );
    q += &format!(
        "INSERT INTO netblock_country (country, netblock) SELECT substr('USDEFRGBNLSECZJPCNBR', (i % 10) * 2 + 1, 2), '100.64.' || i || '.0/24' FROM {};\n",
        d.range(1, 100)
    );
    q += &format!(
        "INSERT INTO host_peer_asn (host_id, asn, name) SELECT i, 65000 + i, 'peer' FROM {} WHERE i % 10 = 0;\n",
        d.range(1, h)
    );
    q += &format!(
        "INSERT INTO host_country_allowed (host_id, country) SELECT i, 'US' FROM {} WHERE i % 40 = 0;\n",
        d.range(1, h)
    );
    q += "INSERT INTO country_continent_redirect (continent, country) VALUES ('EU', 'IL'), ('EU', 'TR');\n";
    q += "INSERT INTO repository_redirect (from_repo, to_repo) VALUES ('fedora-rawhide', 'fedora-0');\n";
    if pg {
        q += "ANALYZE;\n";
    } else {
        q += "COMMIT;\nANALYZE;\n";
    }
    q
}

/// One scalar from a SQL query.
fn scalar(url: &str, sql: &str) -> Result<String> {
    let out = if url.starts_with("postgres") {
        Command::new("psql")
            .args(["-tAq", "-c", sql, url])
            .output()?
    } else {
        Command::new("sqlite3")
            .arg(url.trim_start_matches("sqlite://"))
            .arg(sql)
            .output()?
    };
    anyhow::ensure!(
        out.status.success(),
        "query {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A generated database and the cache written from it.
#[derive(Debug)]
pub struct Built {
    pub rows: u64,
    pub fill_s: f64,
    pub cost: super::Cost,
    pub cache: PathBuf,
}

/// Create, migrate and fill a database (`pg` or a SQLite file under `dir`), then time
/// `update-mirrorlist-server` writing `dir/<label>.proto`.
pub fn build(dir: &Path, label: &str, p: &Params, pg: bool) -> Result<Built> {
    let url = if pg {
        mm_testkit::pg().create_database(&format!("bench_{}", label.replace('-', "_")))
    } else {
        let f = dir.join(format!("{label}.sqlite"));
        let _ = std::fs::remove_file(&f);
        format!("sqlite://{}", f.display())
    };
    let sub = dir.join(label);
    std::fs::create_dir_all(&sub)?;
    let config = super::write_config(&sub, &url, "")?;
    super::migrate(&config)?;
    eprintln!("bench: filling {label} ({})", p.describe());
    let t = std::time::Instant::now();
    super::apply_sql(&url, &fill_sql(p, pg), &sub)?;
    let fill_s = t.elapsed().as_secs_f64();
    let rows: u64 = scalar(&url, "SELECT count(*) FROM host_category_dir")?.parse()?;
    eprintln!("bench: {label}: {rows} host_category_dir rows in {fill_s:.1}s");
    let cache = dir.join(format!("{label}.proto"));
    let cost = super::measure(
        Command::new(super::bin("update-mirrorlist-server"))
            .arg("--config")
            .arg(&config)
            .arg("-o")
            .arg(&cache),
        &sub.join("update-mirrorlist-server.log"),
    )?;
    Ok(Built {
        rows,
        fill_s,
        cost,
        cache,
    })
}

pub fn run(opts: &Opts) -> Result<()> {
    super::ensure_tools()?;
    super::build_release()?;
    let dir = super::work_dir("cache")?;
    let rows = opts.num("rows", 6_000_000, 600_000)?;
    let dirs = opts.num("dirs", 100_000, 10_000)?;
    let hosts = opts.num("hosts", 700, 700)?;
    let heavy = opts.num("heavy-rows", 2 * rows, 2 * rows)?;
    let p = Params::fedora(rows, dirs, hosts);
    let ph = Params::fedora(heavy, dirs, hosts);
    let pgb = build(&dir, "pg", &p, true).context("PostgreSQL")?;
    let lite = build(&dir, "sqlite", &p, false).context("SQLite")?;
    let pgh = build(&dir, "pg-heavy", &ph, true).context("PostgreSQL, heavy")?;

    let mut r = Report {
        title: "update-mirrorlist-server (cache generation)".into(),
        ..Default::default()
    };
    r.intro.push(super::machine().to_string() + ".");
    r.intro.push(String::new());
    r.intro.push(format!(
        "Command: `cargo xtask bench cache{}`.",
        opts.shown()
    ));
    r.intro.push(format!("Data: {} (heavy: ~{} rows); filled with bulk `INSERT … SELECT` (generate_series on PostgreSQL, recursive CTE on SQLite), 99% of host_category_dir rows up to date, 1% of host categories always_up2date.", p.describe(), heavy));
    r.header = [
        "database",
        "host_category_dir rows",
        "fill (s)",
        "generator wall (s)",
        "CPU (s)",
        "peak RSS (MB)",
        "cache (MB)",
    ]
    .map(String::from)
    .to_vec();
    for (name, b) in [
        ("PostgreSQL", &pgb),
        ("SQLite", &lite),
        ("PostgreSQL heavy", &pgh),
    ] {
        r.row(&[
            &name,
            &b.rows,
            &format!("{:.1}", b.fill_s),
            &format!("{:.2}", b.cost.wall_s()),
            &format!("{:.2}", b.cost.cpu),
            &format!("{:.0}", b.cost.rss_mb()),
            &format!("{:.1}", super::file_mb(&b.cache)),
        ]);
    }
    let scale = 6_000_000.0 / pgb.rows as f64;
    let growth_t = pgh.cost.wall_s() / pgb.cost.wall_s();
    let growth_r = pgh.rows as f64 / pgb.rows as f64;
    let growth_m = pgh.cost.rss_mb() / pgb.cost.rss_mb();
    let full = pgb.rows >= 5_000_000;
    r.notes.push("Targets (PostgreSQL, 6M rows): wall ≤ 2.5 s, peak RSS ≤ 480 MB; time and memory grow no faster than the row count.".into());
    r.notes.push(String::new());
    r.notes.push(format!(
        "- wall ≤ 2.5 s: {} ({:.2} s at {} rows{})",
        if full {
            verdict(pgb.cost.wall_s() <= 2.5)
        } else {
            "not measured at 6M rows"
        },
        pgb.cost.wall_s(),
        pgb.rows,
        if full {
            String::new()
        } else {
            format!(
                "; linear extrapolation to 6M: {:.2} s",
                pgb.cost.wall_s() * scale
            )
        }
    ));
    r.notes.push(format!(
        "- RSS ≤ 480 MB: {} ({:.0} MB)",
        if full {
            verdict(pgb.cost.rss_mb() <= 480.0)
        } else {
            "not measured at 6M rows"
        },
        pgb.cost.rss_mb()
    ));
    r.notes.push(format!(
        "- growth: {} (rows ×{growth_r:.2} → wall ×{growth_t:.2}, RSS ×{growth_m:.2}; 10% allowed for noise on the shared machine)",
        verdict(growth_t <= growth_r * 1.1 && growth_m <= growth_r * 1.1)
    ));
    r.notes.push(
        "\nThe caches stay in `target/bench/cache/` (`pg.proto`, `sqlite.proto`, `pg-heavy.proto`) with the SQLite database `sqlite.sqlite`; the PostgreSQL databases live on a throw-away server that stops with the run. `cargo xtask bench server` uses `pg.proto`."
            .into(),
    );
    r.publish("cache")
}
