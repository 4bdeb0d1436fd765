//! Cache generation against real SQLite and PostgreSQL databases, and the
//! `update-mirrorlist-server` binary (write, --check, --json, lock).

use std::collections::BTreeSet;

mod common;

use mm_cachefile::MirrorList;

use common::*;
use mm_testkit::runner::Runner;

fn entry<'a>(ml: &'a MirrorList, d: &str) -> &'a mm_cachefile::MirrorListCacheType {
    ml.mirror_list_cache
        .iter()
        .find(|e| e.directory == d)
        .unwrap_or_else(|| panic!("no entry for {d}"))
}

fn keys(v: &[mm_cachefile::IntRepeatedIntMap]) -> BTreeSet<i64> {
    v.iter().map(|m| m.key).collect()
}

fn country<'a>(v: &'a [mm_cachefile::StringRepeatedIntMap], c: &str) -> Option<&'a [i64]> {
    v.iter().find(|m| m.key == c).map(|m| m.value.as_slice())
}

fn check(ml: &MirrorList) {
    assert_eq!(ml.time, 1_700_000_000);
    assert!(
        mm_cachefile::validate(ml).is_empty(),
        "{:?}",
        mm_cachefile::validate(ml)
    );
    let os = entry(ml, OS);
    assert_eq!(
        os.subpath.as_deref(),
        Some("releases/41/Everything/x86_64/os")
    );
    // Inactive host 11, host 12 of an inactive site, host 16 without an up-to-date dir: absent.
    assert_eq!(keys(&os.by_host_id), BTreeSet::from([10, 13, 14, 15]));
    assert_eq!(os.global, [10, 15]);
    assert_eq!(country(&os.by_country, "DE"), Some(&[10][..]));
    assert_eq!(country(&os.by_country, "JP"), Some(&[15][..]));
    assert_eq!(country(&os.by_country, "US"), None);
    // Private-site host 13 with Internet2 clients: ByHostId and ByCountryInternet2 only;
    // public Internet2 host 10 is there too; private host 14 without i2 clients is not.
    assert_eq!(country(&os.by_country_internet2, "DE"), Some(&[10, 13][..]));
    assert_eq!(os.by_country_internet2.len(), 1);
    // Only non-private URLs.
    let h10 = os.by_host_id.iter().find(|m| m.key == 10).unwrap();
    assert_eq!(h10.value, [1000]);
    let h15 = os.by_host_id.iter().find(|m| m.key == 15).unwrap();
    assert_eq!(h15.value, [1500, 1501]);
    assert_eq!(os.ordered_mirror_list, Some(false));
    // always_up2date host 15 carries every directory of its category, including the top.
    let top = entry(ml, TOP);
    assert_eq!(top.subpath.as_deref(), Some(""));
    assert_eq!(top.global, [15]);
    let repodata = entry(ml, REPODATA);
    assert_eq!(repodata.global, [10, 15]);
    assert_eq!(ml.mirror_list_cache.len(), 3);
    let urls: BTreeSet<i64> = ml.hc_url_cache.iter().map(|u| u.key).collect();
    assert_eq!(urls, BTreeSet::from([1000, 1300, 1400, 1500, 1501]));
    // File details newest first.
    let fd = &ml.file_details_cache[0];
    assert_eq!(fd.directory, REPODATA);
    let ts: Vec<u64> = fd.file_details_cache_files[0]
        .file_details
        .iter()
        .map(|d| d.timestamp)
        .collect();
    assert_eq!(ts, [300, 200, 100]);
    assert_eq!(
        fd.file_details_cache_files[0].file_details[0]
            .sha256
            .as_deref(),
        Some("sha300")
    );
    // Repositories.
    let ra: Vec<(&str, &str)> = ml
        .repo_arch_to_directory_name
        .iter()
        .map(|m| (m.key.as_str(), m.value.as_str()))
        .collect();
    assert_eq!(ra, [("fedora-41+x86_64", OS), ("old-1+x86_64", OS)]);
    assert_eq!(ml.disabled_repository_cache.len(), 1);
    assert_eq!(
        (
            ml.disabled_repository_cache[0].key.as_str(),
            ml.disabled_repository_cache[0].value
        ),
        ("old-1", true)
    );
    assert_eq!(ml.repository_redirect_cache[0].key, "fedora-rawhide");
    assert_eq!(ml.repository_redirect_cache[0].value, "fedora-42");
    assert_eq!(
        (
            ml.country_continent_redirect_cache[0].key.as_str(),
            ml.country_continent_redirect_cache[0].value.as_str()
        ),
        ("IL", "EU")
    );
    assert_eq!(
        (
            ml.netblock_country_cache[0].key.as_str(),
            ml.netblock_country_cache[0].value.as_str()
        ),
        ("192.0.2.0/24", "FR")
    );
    assert_eq!(
        ml.netblock_country_cache.len(),
        1,
        "the first row of a network counts"
    );
    // Host maps: active hosts only, bandwidth clamped, countries upper-cased.
    let hn: Vec<(&str, &[i64])> = ml
        .host_netblock_cache
        .iter()
        .map(|m| (m.key.as_str(), m.value.as_slice()))
        .collect();
    assert_eq!(hn, [("10.1.0.0/16", &[14][..])]);
    let bw: Vec<(i64, i64)> = ml
        .host_bandwidth_cache
        .iter()
        .map(|m| (m.key, m.value))
        .collect();
    assert!(
        bw.contains(&(10, 10_000)) && bw.contains(&(15, 100)),
        "{bw:?}"
    );
    assert!(!bw.iter().any(|(h, _)| [11, 12].contains(h)), "{bw:?}");
    let hc: Vec<(i64, &str)> = ml
        .host_country_cache
        .iter()
        .map(|m| (m.key, m.value.as_str()))
        .collect();
    assert!(
        hc.contains(&(10, "DE")) && hc.contains(&(15, "JP")),
        "{hc:?}"
    );
    let asn: Vec<(i64, &[i64])> = ml
        .host_asn_cache
        .iter()
        .map(|m| (m.key, m.value.as_slice()))
        .collect();
    // Host 13's peer ASN; not host 16's, which does not serve ASN clients.
    assert_eq!(asn, [(64500, &[10][..]), (64501, &[13][..])]);
    assert_eq!(ml.host_country_allowed_cache[0].key, 15);
    assert_eq!(ml.host_country_allowed_cache[0].value, ["JP"]);
}

#[test]
fn generation_follows_the_rules_on_both_backends() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let ml = mm_cache::generate(&mut db.conn, &gen_options()).unwrap();
        check(&ml);
    });
}

/// The streamed generator reports what `summary` and `validate` find in what it wrote.
fn streamed(conn: &mut mm_core::DbConn) -> (MirrorList, mm_cache::Generated) {
    let mut bytes = Vec::new();
    let g = mm_cache::generate_into(conn, &gen_options(), &mut bytes).unwrap();
    let ml = mm_cachefile::decode(&bytes, std::path::Path::new("streamed")).unwrap();
    assert_eq!(g.summary, mm_cachefile::summary(&ml));
    assert_eq!(g.defects, mm_cachefile::validate(&ml));
    (ml, g)
}

#[test]
fn streamed_generation_reports_counts_defects_and_merges_host_categories() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let (ml, g) = streamed(&mut db.conn);
        check(&ml);
        assert!(g.defects.is_empty(), "{:?}", g.defects);
        let before = entry(&ml, OS)
            .by_host_id
            .iter()
            .find(|h| h.key == 10)
            .unwrap()
            .value
            .clone();
        assert_eq!(before, [1000]);

        populate_overlap(&mut db.conn);
        let (ml, g) = streamed(&mut db.conn);
        // Host 10 carries OS through two host categories: one entry with both URLs, listed once.
        let os = entry(&ml, OS);
        let h10: Vec<_> = os.by_host_id.iter().filter(|h| h.key == 10).collect();
        assert_eq!(h10.len(), 1);
        assert_eq!(h10[0].value, [1000, 2000]);
        assert_eq!(os.global.iter().filter(|h| **h == 10).count(), 1);
        assert!(ml.hc_url_cache.iter().any(|u| u.key == 2000));
        // Category 3 lists OS too, but from another top directory: its host 16 would be
        // offered `https://h16.example/shared/releases/…`, which does not exist. It gives
        // hosts only for its own directories.
        assert!(!keys(&os.by_host_id).contains(&16), "{os:?}");
        assert_eq!(entry(&ml, SHARED).global, [16]);
        assert_eq!(entry(&ml, SHARED).subpath.as_deref(), Some(""));
        assert_eq!(g.summary.urls, ml.hc_url_cache.len());
        // The stray repository points outside every category: a defect, reported as such.
        assert_eq!(g.defects.len(), 1, "{:?}", g.defects);
        assert!(
            g.defects[0].contains("stray-1+x86_64") && g.defects[0].contains("pub/stray"),
            "{:?}",
            g.defects
        );
    });
}

#[test]
fn the_binary_writes_checks_and_locks() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let config = db.config_file("");
        let umls = Runner::at(env!("CARGO_BIN_EXE_update-mirrorlist-server"), &config);
        let json = db.dir.path().join("cache.json");
        let stdout = umls.run(&["--json", json.to_str().unwrap()]).ok().stdout;
        let cache = db.dir.path().join("cache/mirrorlist_cache.proto");
        assert!(
            stdout.starts_with(&format!("wrote {}: time=", cache.display())),
            "{stdout}"
        );
        assert!(
            stdout.contains("directories=3 hosts=4 urls=5 repos=2 in "),
            "{stdout}"
        );
        let ml = mm_cachefile::read(&cache).unwrap();
        assert_eq!(entry(&ml, OS).global, [10, 15]);
        let view: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(view["mirror_list_cache"].as_array().unwrap().len(), 3);

        let out = umls.run(&["--check", cache.to_str().unwrap()]).ok();
        assert!(
            out.stdout.contains("directories=3 hosts=4 urls=5 repos=2"),
            "{}",
            out.stdout
        );
        // --check with --json dumps the readable view of an existing cache.
        let view2 = db.dir.path().join("view2.json");
        umls.run(&[
            "--check",
            cache.to_str().unwrap(),
            "--json",
            view2.to_str().unwrap(),
        ])
        .ok();
        assert_eq!(
            std::fs::read_to_string(&view2).unwrap(),
            std::fs::read_to_string(&json).unwrap()
        );
        let bad = db.dir.path().join("bad.proto");
        std::fs::write(&bad, b"garbage").unwrap();
        let out = umls.run(&["--check", bad.to_str().unwrap()]).code(1);
        assert!(out.stderr.contains("bad.proto"), "{}", out.stderr);

        // Another instance holds the lock: exit 3, cache untouched.
        let cfg = mm_core::Config::from_file(&config).unwrap();
        let _held =
            mm_core::lock::acquire(&cfg.lock_dir, "update-mirrorlist-server", false).unwrap();
        let other = db.dir.path().join("other.proto");
        umls.run(&["-o", other.to_str().unwrap()]).code(3);
        assert!(!other.exists());
    });
}

#[test]
fn parallel_readers_give_the_same_cache_as_one_connection() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let run = |conn: &mut mm_core::DbConn, parallel_url: Option<String>| {
            let mut bytes = Vec::new();
            mm_cache::generate_into(
                conn,
                &mm_cache::GenOptions {
                    parallel_url,
                    ..gen_options()
                },
                &mut bytes,
            )
            .unwrap();
            bytes
        };
        let one = run(&mut db.conn, None);
        // On PostgreSQL this reads host_category_dir on two more connections sharing the
        // first one's snapshot; on SQLite the URL is ignored.
        let parallel = run(&mut db.conn, Some(db.url.clone()));
        assert!(!one.is_empty());
        assert_eq!(one, parallel, "{}", db.kind);
        // The connection is usable afterwards (the snapshot transaction was ended).
        let ml = mm_cachefile::decode(&parallel, std::path::Path::new("parallel")).unwrap();
        check(&ml);
        assert_eq!(run(&mut db.conn, None), one);
    });
}
