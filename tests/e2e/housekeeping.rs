//! Housekeeping subcommands of `mirrormanager` on both databases: release-day and EOL
//! repository moves, the emergency expiry of a repository, statistics expiry, the status
//! report, and netblocks files made from BGP dumps (from a file and from nginx).

use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;
use mm_e2e::Runner;
use mm_testkit::for_each_backend;

fn setup(mm: &Runner) {
    mm.run(&["db", "migrate"]).ok();
    mm.add_category("Fedora Linux", "pub/fedora/linux", "Fedora");
    mm.add_category("Fedora Archive", "pub/archive", "Fedora");
    for s in [
        &["version", "add", "Fedora", "39"][..],
        &["version", "add", "Fedora", "41"],
        &["arch", "add", "x86_64"],
        &["arch", "add", "aarch64"],
    ] {
        mm.run(s).ok();
    }
}

fn category_id(conn: &mut DbConn, name: &str) -> i32 {
    category::table
        .filter(category::name.eq(name))
        .select(category::id)
        .first(conn)
        .unwrap()
}

fn version_id(conn: &mut DbConn, name: &str) -> i32 {
    version::table
        .filter(version::name.eq(name))
        .select(version::id)
        .first(conn)
        .unwrap()
}

fn arch_id(conn: &mut DbConn, name: &str) -> i32 {
    arch::table
        .filter(arch::name.eq(name))
        .select(arch::id)
        .first(conn)
        .unwrap()
}

/// A directory in `cat`'s tree.
fn dir(conn: &mut DbConn, cat: &str, name: &str) -> i32 {
    let id = mm_testkit::fixture::directory(conn, name).unwrap();
    let c = category_id(conn, cat);
    diesel::insert_into(category_directory::table)
        .values(&CategoryDirectory {
            category_id: c,
            directory_id: id,
        })
        .execute(conn)
        .unwrap();
    id
}

fn repo(conn: &mut DbConn, prefix: &str, arch: &str, cat: &str, ver: &str, dir_id: i32) -> i32 {
    let name = directory::table
        .find(dir_id)
        .select(directory::name)
        .first::<String>(conn)
        .unwrap();
    let new = NewRepository {
        name: name.clone(),
        prefix: Some(prefix.into()),
        category_id: Some(category_id(conn, cat)),
        version_id: Some(version_id(conn, ver)),
        arch_id: Some(arch_id(conn, arch)),
        directory_id: Some(dir_id),
        disabled: false,
    };
    diesel::insert_into(repository::table)
        .values(&new)
        .execute(conn)
        .unwrap();
    repository::table
        .filter(repository::name.eq(name))
        .select(repository::id)
        .first(conn)
        .unwrap()
}

fn repository(conn: &mut DbConn, id: i32) -> Repository {
    repository::table
        .find(id)
        .select(Repository::as_select())
        .first(conn)
        .unwrap()
}

const DEV: &str = "pub/fedora/linux/development/41/Everything/x86_64/os";
const REL: &str = "pub/fedora/linux/releases/41/Everything/x86_64/os";

#[test]
fn move_devel_to_release_repoints_released_repositories() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        setup(&mm);
        let c = &mut db.conn;
        let dev = dir(c, "Fedora Linux", DEV);
        let rel = dir(c, "Fedora Linux", REL);
        let dev_arm = dir(
            c,
            "Fedora Linux",
            "pub/fedora/linux/development/41/Everything/aarch64/os",
        );
        let raw = dir(
            c,
            "Fedora Linux",
            "pub/fedora/linux/development/rawhide/Everything/x86_64/os",
        );
        let r1 = repo(c, "fedora-41", "x86_64", "Fedora Linux", "41", dev);
        let r2 = repo(c, "fedora-41", "aarch64", "Fedora Linux", "41", dev_arm);
        let r3 = repo(c, "rawhide", "x86_64", "Fedora Linux", "39", raw);

        let dry = mm
            .run(&["move-devel-to-release", "--version", "41", "--dry-run"])
            .ok();
        assert!(
            dry.stdout.contains(&format!("{DEV} => {REL}")),
            "{}",
            dry.stdout
        );
        assert!(
            dry.stdout.contains("would move 1 repositories"),
            "{}",
            dry.stdout
        );
        assert_eq!(
            repository(c, r1).directory_id,
            Some(dev),
            "a dry run changes nothing"
        );

        let run = mm
            .run(&[
                "move-devel-to-release",
                "--version",
                "41",
                "--category",
                "Fedora Linux",
            ])
            .ok();
        assert!(
            run.stdout.contains(&format!("{DEV} => {REL}")),
            "{}",
            run.stdout
        );
        assert!(
            run.stderr.contains("aarch64/os: target directory"),
            "{}",
            run.stderr
        );
        let moved = repository(c, r1);
        assert_eq!(moved.directory_id, Some(rel));
        assert_eq!(moved.name, REL);
        assert_eq!(moved.prefix.as_deref(), Some("fedora-41"));
        assert_eq!(moved.version_id, Some(version_id(c, "41")));
        assert_eq!(
            repository(c, r2).directory_id,
            Some(dev_arm),
            "no release directory: left alone"
        );
        assert_eq!(
            repository(c, r3).directory_id,
            Some(raw),
            "rawhide is not version 41"
        );

        let again = mm
            .run(&["move-devel-to-release", "--version", "41", "--json"])
            .ok()
            .json();
        assert_eq!(
            again["moved"].as_array().unwrap().len(),
            0,
            "running twice changes nothing"
        );

        let bad = mm
            .run(&["move-devel-to-release", "--version", "99"])
            .code(1);
        assert!(bad.stderr.contains("no version"), "{}", bad.stderr);
        assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
        mm.run(&[
            "move-devel-to-release",
            "--version",
            "41",
            "--category",
            "Nope",
        ])
        .code(1);
    });
}

#[test]
fn move_to_archive_repoints_eol_repositories_or_changes_nothing() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        setup(&mm);
        let c = &mut db.conn;
        let rel = dir(
            c,
            "Fedora Linux",
            "pub/fedora/linux/releases/39/Everything/x86_64/os",
        );
        let upd = dir(
            c,
            "Fedora Linux",
            "pub/fedora/linux/updates/39/Everything/x86_64",
        );
        let cur = dir(c, "Fedora Linux", REL);
        let arel = dir(
            c,
            "Fedora Archive",
            "pub/archive/fedora/linux/releases/39/Everything/x86_64/os",
        );
        let r1 = repo(c, "fedora-39", "x86_64", "Fedora Linux", "39", rel);
        let r2 = repo(
            c,
            "updates-released-f39",
            "x86_64",
            "Fedora Linux",
            "39",
            upd,
        );
        let r3 = repo(c, "fedora-41", "x86_64", "Fedora Linux", "41", cur);

        // The archive copy of the updates directory is missing: an error, and nothing moves.
        let bad = mm.run(&["move-to-archive", "--version", "39"]).code(1);
        assert!(
            bad.stderr
                .contains("pub/archive/fedora/linux/updates/39/Everything/x86_64"),
            "{}",
            bad.stderr
        );
        assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
        assert_eq!(
            repository(c, r1).directory_id,
            Some(rel),
            "the transaction was rolled back"
        );

        let aupd = dir(
            c,
            "Fedora Archive",
            "pub/archive/fedora/linux/updates/39/Everything/x86_64",
        );
        let dry = mm
            .run(&["move-to-archive", "--version", "39", "--dry-run"])
            .ok();
        assert!(
            dry.stdout.contains("would move 2 repositories"),
            "{}",
            dry.stdout
        );
        assert_eq!(repository(c, r2).directory_id, Some(upd));

        let run = mm
            .run(&[
                "move-to-archive",
                "--version",
                "39",
                "--category",
                "Fedora Linux",
                "--archive-category",
                "Fedora Archive",
            ])
            .ok();
        assert!(
            run.stdout.contains("pub/fedora/linux/releases/39/Everything/x86_64/os => pub/archive/fedora/linux/releases/39/Everything/x86_64/os"),
            "{}",
            run.stdout
        );
        let archive = category_id(c, "Fedora Archive");
        let (m1, m2) = (repository(c, r1), repository(c, r2));
        assert_eq!(
            (m1.directory_id, m1.category_id),
            (Some(arel), Some(archive))
        );
        assert_eq!(
            (m2.directory_id, m2.category_id),
            (Some(aupd), Some(archive))
        );
        assert_eq!(m2.prefix.as_deref(), Some("updates-released-f39"));
        let other = repository(c, r3);
        assert_eq!(
            (other.directory_id, other.category_id),
            (Some(cur), Some(category_id(c, "Fedora Linux")))
        );

        mm.run(&[
            "move-to-archive",
            "--version",
            "39",
            "--archive-category",
            "Nope",
        ])
        .code(1);
        mm.run(&["move-to-archive", "--version", "12"]).code(1);
    });
}

fn file(conn: &mut DbConn, dir_id: i32, name: &str, ts: i64) {
    diesel::insert_into(file_detail::table)
        .values(&NewFileDetail {
            directory_id: dir_id,
            filename: name.into(),
            timestamp: Some(ts),
            size: Some(10),
            sha1: None,
            md5: None,
            sha256: Some(format!("{ts:064}")),
            sha512: None,
        })
        .execute(conn)
        .unwrap();
}

fn file_times(conn: &mut DbConn, dir_id: i32) -> Vec<(String, Option<i64>)> {
    file_detail::table
        .filter(file_detail::directory_id.eq(dir_id))
        .select((file_detail::filename, file_detail::timestamp))
        .order((file_detail::filename, file_detail::timestamp))
        .load(conn)
        .unwrap()
}

fn host_category_id(conn: &mut DbConn, host: &str) -> i32 {
    host_category::table
        .inner_join(host::table)
        .filter(host::name.eq(host))
        .select(host_category::id)
        .first(conn)
        .unwrap()
}

fn hcd(conn: &mut DbConn, hc: i32, dir_id: i32, path: &str, up2date: bool) -> i32 {
    diesel::insert_into(host_category_dir::table)
        .values(&NewHostCategoryDir {
            host_category_id: hc,
            path: Some(path.into()),
            up2date,
            directory_id: Some(dir_id),
        })
        .execute(conn)
        .unwrap();
    host_category_dir::table
        .filter(host_category_dir::host_category_id.eq(hc))
        .filter(host_category_dir::path.eq(path))
        .select(host_category_dir::id)
        .first(conn)
        .unwrap()
}

fn up2date(conn: &mut DbConn, id: i32) -> bool {
    host_category_dir::table
        .find(id)
        .select(host_category_dir::up2date)
        .first(conn)
        .unwrap()
}

#[test]
fn emergency_expire_repo_keeps_only_the_newest_metadata() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        setup(&mm);
        for s in [
            &["site", "add", "S"][..],
            &["host", "add", "S", "master.example", "--country", "US"],
            &["host", "add", "S", "mirror.example", "--country", "US"],
            &[
                "host-category",
                "add",
                "master.example",
                "Fedora Linux",
                "--always-up2date",
            ],
            &["host-category", "add", "mirror.example", "Fedora Linux"],
        ] {
            mm.run(s).ok();
        }
        let c = &mut db.conn;
        let top = "pub/fedora/linux/updates/41/Everything/x86_64";
        let d = dir(c, "Fedora Linux", top);
        let rd = dir(c, "Fedora Linux", &format!("{top}/repodata"));
        // `_` is a LIKE wildcard: this sibling must not count as a subdirectory.
        let sib = dir(
            c,
            "Fedora Linux",
            "pub/fedora/linux/updates/41/Everything/x86_64_extra",
        );
        repo(c, "updates-released-f41", "x86_64", "Fedora Linux", "41", d);
        let other = dir(
            c,
            "Fedora Linux",
            "pub/fedora/linux/updates/41/Everything/aarch64",
        );
        repo(
            c,
            "updates-released-f41",
            "aarch64",
            "Fedora Linux",
            "41",
            other,
        );
        for ts in [100, 300, 200] {
            file(c, rd, "repomd.xml", ts);
            file(c, sib, "repomd.xml", ts);
            file(c, other, "repomd.xml", ts);
        }
        file(c, rd, "primary.xml.gz", 150);
        let (master, mirror) = (
            host_category_id(c, "master.example"),
            host_category_id(c, "mirror.example"),
        );
        let m_top = hcd(c, master, d, "updates/41/Everything/x86_64", true);
        let m_rd = hcd(c, master, rd, "updates/41/Everything/x86_64/repodata", true);
        let x_top = hcd(c, mirror, d, "updates/41/Everything/x86_64", true);
        let x_rd = hcd(c, mirror, rd, "updates/41/Everything/x86_64/repodata", true);
        let x_sib = hcd(c, mirror, sib, "updates/41/Everything/x86_64_extra", true);

        let dry = mm
            .run(&[
                "emergency-expire-repo",
                "--repo",
                "updates-released-f41",
                "--arch",
                "x86_64",
                "--dry-run",
                "--json",
            ])
            .ok()
            .json();
        assert_eq!(dry[0]["file_details_deleted"], 2);
        assert_eq!(dry[0]["marked_not_up2date"], 2);
        assert_eq!(dry[0]["directories"], 2);
        assert_eq!(file_times(c, rd).len(), 4, "a dry run changes nothing");
        assert!(up2date(c, x_rd));

        let run = mm
            .run(&[
                "emergency-expire-repo",
                "--repo",
                "updates-released-f41",
                "--arch",
                "x86_64",
            ])
            .ok();
        assert!(
            run.stdout.contains(&format!("{top}/repodata/repomd.xml")),
            "{}",
            run.stdout
        );
        assert_eq!(
            file_times(c, rd),
            [
                ("primary.xml.gz".to_string(), Some(150)),
                ("repomd.xml".to_string(), Some(300))
            ]
        );
        assert_eq!(
            file_times(c, sib).len(),
            3,
            "the sibling directory is untouched"
        );
        assert_eq!(file_times(c, other).len(), 3, "the other arch is untouched");
        assert!(
            up2date(c, m_top) && up2date(c, m_rd),
            "always-up2date host categories stay up to date"
        );
        assert!(
            !up2date(c, x_top) && !up2date(c, x_rd),
            "mirrors must be re-crawled"
        );
        assert!(up2date(c, x_sib));

        // MM2's form: every repository of a version.
        let all = mm
            .run(&[
                "emergency-expire-repo",
                "--product",
                "Fedora",
                "--version",
                "41",
                "--json",
            ])
            .ok()
            .json();
        assert_eq!(all.as_array().unwrap().len(), 2);
        assert_eq!(
            file_times(c, other),
            [("repomd.xml".to_string(), Some(300))]
        );

        let bad = mm.run(&["emergency-expire-repo", "--repo", "nope"]).code(1);
        assert!(bad.stderr.contains("no repository"), "{}", bad.stderr);
        mm.run(&[
            "emergency-expire-repo",
            "--repo",
            "updates-released-f41",
            "--arch",
            "sparc",
        ])
        .code(1);
        mm.run(&[
            "emergency-expire-repo",
            "--product",
            "Fedora",
            "--version",
            "7",
        ])
        .code(1);
        mm.run(&["emergency-expire-repo"]).code(2);
    });
}

#[test]
fn expire_stats_deletes_only_old_rows() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        setup(&mm);
        let c = &mut db.conn;
        let d = dir(c, "Fedora Linux", REL);
        let r = repo(c, "fedora-41", "x86_64", "Fedora Linux", "41", d);
        let now = chrono::Utc::now().naive_utc();
        let (old, new) = (
            now - chrono::Duration::days(40),
            now - chrono::Duration::days(1),
        );
        for t in [old, new] {
            diesel::insert_into(propagation_stat::table)
                .values(&PropagationStat {
                    repository_id: r,
                    datetime: t,
                    same_day: 1,
                    one_day: 0,
                    two_day: 0,
                    older: 0,
                    no_info: 0,
                })
                .execute(c)
                .unwrap();
            diesel::insert_into(host_stats::table)
                .values((
                    host_stats::host_id.eq(None::<i32>),
                    host_stats::data.eq(None::<Vec<u8>>),
                    host_stats::timestamp.eq(t),
                    host_stats::type_.eq(Some("crawl")),
                ))
                .execute(c)
                .unwrap();
        }
        diesel::insert_into(access_stat_category::table)
            .values(access_stat_category::name.eq("countries"))
            .execute(c)
            .unwrap();
        let asc: i32 = access_stat_category::table
            .select(access_stat_category::id)
            .first(c)
            .unwrap();
        for t in [old, new] {
            diesel::insert_into(access_stat::table)
                .values((
                    access_stat::category_id.eq(asc),
                    access_stat::date.eq(t.date()),
                    access_stat::name.eq("US"),
                    access_stat::percent.eq(Some(50.0)),
                    access_stat::requests.eq(Some(10)),
                ))
                .execute(c)
                .unwrap();
        }
        let counts = |c: &mut DbConn| -> (i64, i64, i64) {
            (
                propagation_stat::table.count().get_result(c).unwrap(),
                access_stat::table.count().get_result(c).unwrap(),
                host_stats::table.count().get_result(c).unwrap(),
            )
        };
        let dry = mm
            .run(&["expire-stats", "--days", "30", "--dry-run", "--json"])
            .ok()
            .json();
        assert_eq!(
            (
                &dry["propagation_stat"],
                &dry["access_stat"],
                &dry["host_stats"]
            ),
            (&1.into(), &1.into(), &1.into())
        );
        assert_eq!(counts(c), (2, 2, 2));
        let run = mm.run(&["expire-stats", "--days", "30"]).ok();
        assert!(
            run.stdout.contains("deleted propagation_stat 1 (before "),
            "{}",
            run.stdout
        );
        assert_eq!(counts(c), (1, 1, 1));
        let kept: chrono::NaiveDateTime = propagation_stat::table
            .select(propagation_stat::datetime)
            .first(c)
            .unwrap();
        assert!(kept > now - chrono::Duration::days(2));
        mm.run(&["expire-stats"]).ok();
        assert_eq!(counts(c), (1, 1, 1), "the default keeps 30 days");
        for bad in [
            &["expire-stats", "--days", "0"][..],
            &["expire-stats", "--access-days", "0"],
        ] {
            let bad = mm.run(bad).code(1);
            assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
        }
        assert_eq!(counts(c), (1, 1, 1));
        // Separate retention per table, as MM2 configures it.
        mm.run(&["expire-stats", "--days", "30", "--propagation-days", "1"])
            .ok();
        assert_eq!(counts(c), (0, 1, 1));
    });
}

#[test]
fn status_reports_counts_and_crawl_problems() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        mm.run(&["db", "migrate"]).ok();
        crate::admin::build_network(&mm);
        let before = mm.run(&["status", "--json"]).ok().json();
        let c = &mut db.conn;
        let d1 = dir(c, "Fedora Linux", "pub/fedora/linux/releases");
        let d2 = dir(c, "Fedora Linux", "pub/fedora/linux/updates");
        let a = host_category_id_in(c, "a.one.example", "Fedora Linux");
        hcd(c, a, d1, "releases", true);
        hcd(c, a, d2, "updates", false);
        diesel::update(host::table.filter(host::name.eq("b.one.example")))
            .set((
                host::crawl_failures.eq(4),
                host::user_active.eq(false),
                host::disable_reason.eq(Some("crawl failed 4 times")),
            ))
            .execute(c)
            .unwrap();
        let st = mm.run(&["status", "--json"]).ok().json();
        let fl = &st[0];
        assert_eq!(fl["category"], "Fedora Linux");
        assert_eq!(fl["hosts_total"], 2);
        assert_eq!(fl["hosts_active"], 1);
        assert_eq!(fl["hosts_disabled"], 1);
        assert_eq!(
            fl["directories"].as_i64().unwrap(),
            before[0]["directories"].as_i64().unwrap() + 2
        );
        assert_eq!(fl["host_category_dirs"], 2);
        assert_eq!(fl["host_category_dirs_up2date"], 1);
        let probs = fl["crawl_problems"].as_array().unwrap();
        assert_eq!(probs.len(), 1);
        assert_eq!(probs[0]["name"], "b.one.example");
        assert_eq!(probs[0]["crawl_failures"], 4);
        let epel = &st[1];
        assert_eq!(epel["category"], "Fedora EPEL");
        assert_eq!(epel["hosts_total"], 2);
        assert_eq!(epel["hosts_active"], 2);
        assert_eq!(epel["crawl_problems"].as_array().unwrap().len(), 0);
        let text = mm.run(&["status"]).ok().stdout;
        assert!(
            text.contains("Fedora Linux: hosts 2 (active 1, disabled 1)"),
            "{text}"
        );
        assert!(text.contains("up to date 1/2 host directories"), "{text}");
        assert!(
            text.contains("b.one.example (id 2): crawl failures 4, disabled: crawl failed 4 times"),
            "{text}"
        );
    });
}

fn host_category_id_in(conn: &mut DbConn, host: &str, cat: &str) -> i32 {
    let cid = category_id(conn, cat);
    host_category::table
        .inner_join(host::table)
        .filter(host::name.eq(host))
        .filter(host_category::category_id.eq(cid))
        .select(host_category::id)
        .first(conn)
        .unwrap()
}

const DUMP: &str = "\
BGP table version is 12345, local router ID is 192.0.2.254
Status codes: s suppressed, d damped, h history, * valid, > best, i - internal
Origin codes: i - IGP, e - EGP, ? - incomplete

   Network          Next Hop            Metric LocPrf Weight Path
*> 198.51.100.0/24  192.0.2.1                0    100      0 701 64501 i
*                   192.0.2.2                              0 3356 64501 i
*> 192.0.2.0/24     192.0.2.1                0    100      0 701 64500 i
*> 10.0.0.0/8       0.0.0.0                  0         32768 i
*> 2001:db8:1234::/48
                    192.0.2.4                              0 64502 i

Total number of prefixes 4
";

#[test]
fn get_netblocks_from_a_file_and_from_http() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        let work = tempfile::tempdir().unwrap();
        let src = work.path().join("dump.txt");
        std::fs::write(&src, DUMP).unwrap();
        let out = work.path().join("global_netblocks.txt");
        let run = mm
            .run(&[
                "get-netblocks",
                "global",
                src.to_str().unwrap(),
                out.to_str().unwrap(),
            ])
            .ok();
        assert!(run.stdout.contains("wrote 3 netblocks"), "{}", run.stdout);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "198.51.100.0/24 64501\n192.0.2.0/24 64500\n2001:db8:1234::/48 64502\n"
        );

        // From nginx on 127.0.0.1; internet2 output is sorted.
        let web = tempfile::tempdir().unwrap();
        std::fs::write(web.path().join("rib.txt"), DUMP).unwrap();
        std::fs::write(web.path().join("empty.txt"), "BGP table version is 1\n\n").unwrap();
        let nginx = mm_testkit::servers::nginx(web.path());
        let base = format!("http://127.0.0.1:{}", nginx.port);
        let i2 = work.path().join("i2_netblocks.txt");
        mm.run(&[
            "get-netblocks",
            "internet2",
            &format!("{base}/rib.txt"),
            i2.to_str().unwrap(),
        ])
        .ok();
        assert_eq!(
            std::fs::read_to_string(&i2).unwrap(),
            "192.0.2.0/24 64500\n198.51.100.0/24 64501\n2001:db8:1234::/48 64502\n"
        );

        // Bad input: one-line error, non-zero exit, the old file kept, no temp files left.
        let keep = std::fs::read_to_string(&out).unwrap();
        let bad = work.path().join("bad.txt");
        std::fs::write(
            &bad,
            "192.0.2.0/24 64500\nnot a route\n198.51.100.0/24 AS-x\n",
        )
        .unwrap();
        let r = mm
            .run(&[
                "get-netblocks",
                "global",
                bad.to_str().unwrap(),
                out.to_str().unwrap(),
            ])
            .code(1);
        assert!(
            r.stderr.contains("2 malformed lines") && r.stderr.contains("line 2:"),
            "{}",
            r.stderr
        );
        assert_eq!(
            r.stderr.lines().filter(|l| l.starts_with("error")).count(),
            1,
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), keep);
        // Tolerated with --max-bad: the good line is written.
        let tol = work.path().join("tolerant.txt");
        mm.run(&[
            "get-netblocks",
            "global",
            "--max-bad",
            "2",
            bad.to_str().unwrap(),
            tol.to_str().unwrap(),
        ])
        .ok();
        assert_eq!(
            std::fs::read_to_string(&tol).unwrap(),
            "192.0.2.0/24 64500\n"
        );
        for (src, needle) in [
            (format!("{base}/empty.txt"), "no netblocks"),
            (format!("{base}/missing.txt"), "404"),
            (
                work.path().join("nope.txt").display().to_string(),
                "nope.txt",
            ),
        ] {
            let r = mm
                .run(&["get-netblocks", "global", &src, out.to_str().unwrap()])
                .code(1);
            assert!(r.stderr.contains(needle), "{src}: {}", r.stderr);
            assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
            assert_eq!(std::fs::read_to_string(&out).unwrap(), keep);
        }
        let left: Vec<_> = std::fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".mm-netblocks-"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        mm.run(&[
            "get-netblocks",
            "bogus",
            src.to_str().unwrap(),
            out.to_str().unwrap(),
        ])
        .code(2);
    });
}

#[test]
fn housekeeping_commands_work_on_an_mm2_database() {
    let mut db = crate::mm2::mm2_db();
    let mm = Runner::new("mirrormanager", &db.config_file(""));
    crate::admin::build_network(&mm);
    for s in [
        &["version", "add", "Fedora", "41"][..],
        &["arch", "add", "x86_64"],
    ] {
        mm.run(s).ok();
    }
    let c = &mut db.conn;
    let dev = dir(c, "Fedora Linux", DEV);
    let rel = dir(c, "Fedora Linux", REL);
    let r = repo(c, "fedora-41", "x86_64", "Fedora Linux", "41", dev);
    let rd = dir(c, "Fedora Linux", &format!("{REL}/repodata"));
    file(c, rd, "repomd.xml", 1);
    file(c, rd, "repomd.xml", 2);
    let st = mm.run(&["status", "--json"]).ok().json();
    assert_eq!(st[0]["hosts_total"], 2);
    mm.run(&["move-devel-to-release", "--version", "41"]).ok();
    assert_eq!(repository(c, r).directory_id, Some(rel));
    let j = mm
        .run(&["emergency-expire-repo", "--repo", "fedora-41", "--json"])
        .ok()
        .json();
    assert_eq!(j[0]["file_details_deleted"], 1);
    mm.run(&["expire-stats", "--days", "7"]).ok();
}
