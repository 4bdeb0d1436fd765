//! Cache generation against real SQLite and PostgreSQL databases, and the
//! `update-mirrorlist-server` binary (write, --check, --json, lock).

use std::collections::BTreeSet;
use std::process::Command;

use diesel::prelude::*;
use mm_cachefile::MirrorList;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

const TOP: &str = "pub/fedora/linux";
const OS: &str = "pub/fedora/linux/releases/41/Everything/x86_64/os";
const REPODATA: &str = "pub/fedora/linux/releases/41/Everything/x86_64/os/repodata";

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn site(c: &mut DbConn, id: i32, private: bool, active: bool) {
    let s = NewSite {
        name: format!("site{id}"),
        password: None,
        org_url: None,
        private,
        admin_active: active,
        user_active: true,
        created_at: now(),
        created_by: "test".into(),
        all_sites_can_pull_from_me: false,
        downstream_comments: None,
        email_on_drop: false,
        email_on_add: false,
    };
    diesel::insert_into(site::table).values((site::id.eq(id), &s)).execute(c).unwrap();
}

fn host(c: &mut DbConn, id: i32, site_id: i32, country: &str, f: impl FnOnce(&mut NewHost)) {
    let mut h = NewHost::new(site_id, &format!("host{id}.example"), country);
    f(&mut h);
    diesel::insert_into(host::table).values((host::id.eq(id), &h)).execute(c).unwrap();
}

fn dir(c: &mut DbConn, id: i32, name: &str) {
    let d = NewDirectory {
        name: name.into(),
        files: None,
        readable: true,
        ctime: Some(0),
    };
    diesel::insert_into(directory::table).values((directory::id.eq(id), &d)).execute(c).unwrap();
    diesel::insert_into(category_directory::table)
        .values(&CategoryDirectory {
            category_id: 1,
            directory_id: id,
        })
        .execute(c)
        .unwrap();
}

/// host category `hc` for host `h` with URL ids `hc*10 + i`; `dirs` are up-to-date.
fn hostcat(c: &mut DbConn, hc: i32, h: i32, always: bool, dirs: &[(i32, bool)], urls: &[(&str, bool)]) {
    let v = NewHostCategory {
        host_id: Some(h),
        category_id: Some(1),
        always_up2date: always,
    };
    diesel::insert_into(host_category::table).values((host_category::id.eq(hc), &v)).execute(c).unwrap();
    for (i, (d, up)) in dirs.iter().enumerate() {
        let v = NewHostCategoryDir {
            host_category_id: hc,
            path: Some(format!("p{d}")),
            up2date: *up,
            directory_id: Some(*d),
        };
        diesel::insert_into(host_category_dir::table)
            .values((host_category_dir::id.eq(hc * 10 + i as i32), &v))
            .execute(c)
            .unwrap();
    }
    for (i, (u, private)) in urls.iter().enumerate() {
        let v = NewHostCategoryUrl {
            host_category_id: hc,
            url: u.to_string(),
            private: *private,
        };
        diesel::insert_into(host_category_url::table)
            .values((host_category_url::id.eq(hc * 10 + i as i32), &v))
            .execute(c)
            .unwrap();
    }
}

fn populate(c: &mut DbConn) {
    site(c, 1, false, true);
    site(c, 2, false, false); // inactive site
    site(c, 3, true, true); // private site
    host(c, 10, 1, "de", |h| {
        h.bandwidth_int = Some(50_000);
        h.asn = Some(64500);
    });
    host(c, 11, 1, "FR", |h| h.user_active = false);
    host(c, 12, 2, "US", |_| {});
    host(c, 13, 3, "DE", |h| {
        h.internet2 = true;
        h.internet2_clients = true;
    });
    host(c, 14, 1, "US", |h| h.private = true);
    host(c, 15, 1, "jp", |h| h.bandwidth_int = None);
    host(c, 16, 1, "GB", |_| {});
    let p = NewProduct {
        name: "Fedora".into(),
        publiclist: true,
    };
    diesel::insert_into(product::table).values((product::id.eq(1), &p)).execute(c).unwrap();
    let d = NewDirectory {
        name: TOP.into(),
        files: None,
        readable: true,
        ctime: Some(0),
    };
    diesel::insert_into(directory::table).values((directory::id.eq(1), &d)).execute(c).unwrap();
    let cat = NewCategory {
        name: "Fedora Linux".into(),
        product_id: Some(1),
        topdir_id: Some(1),
        canonicalhost: None,
        publiclist: true,
        geo_dns_domain: None,
        admin_only: None,
    };
    diesel::insert_into(category::table).values((category::id.eq(1), &cat)).execute(c).unwrap();
    diesel::insert_into(category_directory::table)
        .values(&CategoryDirectory {
            category_id: 1,
            directory_id: 1,
        })
        .execute(c)
        .unwrap();
    dir(c, 2, OS);
    dir(c, 3, REPODATA);
    hostcat(c, 100, 10, false, &[(2, true), (3, true)], &[("https://h10.example/fedora/linux", false), ("rsync://h10.example/private", true)]);
    hostcat(c, 110, 11, false, &[(2, true)], &[("https://h11.example/f", false)]);
    hostcat(c, 120, 12, false, &[(2, true)], &[("https://h12.example/f", false)]);
    hostcat(c, 130, 13, false, &[(2, true)], &[("https://h13.example/f", false)]);
    hostcat(c, 140, 14, false, &[(2, true)], &[("http://h14.example/f", false)]);
    hostcat(c, 150, 15, true, &[], &[("https://h15.example/f", false), ("ftp://h15.example/f", false)]);
    hostcat(c, 160, 16, false, &[(2, false)], &[("https://h16.example/f", false)]);

    for (id, ts) in [(1, 100i64), (2, 300), (3, 200)] {
        let f = NewFileDetail {
            directory_id: 3,
            filename: "repomd.xml".into(),
            timestamp: Some(ts),
            size: Some(1000 + ts),
            sha1: None,
            md5: None,
            sha256: Some(format!("sha{ts}")),
            sha512: None,
        };
        diesel::insert_into(file_detail::table).values((file_detail::id.eq(id), &f)).execute(c).unwrap();
    }
    let a = NewArch {
        name: "x86_64".into(),
        publiclist: true,
        primary_arch: true,
    };
    diesel::insert_into(arch::table).values((arch::id.eq(1), &a)).execute(c).unwrap();
    let v = NewVersion {
        name: Some("41".into()),
        product_id: Some(1),
        is_test: false,
        display: true,
        display_name: None,
        ordered_mirrorlist: false,
        sortorder: 0,
        codename: None,
    };
    diesel::insert_into(version::table).values((version::id.eq(1), &v)).execute(c).unwrap();
    for (id, name, prefix, disabled) in [(1, "Fedora 41", "fedora-41", false), (2, "Old", "old-1", true)] {
        let r = NewRepository {
            name: name.into(),
            prefix: Some(prefix.into()),
            category_id: Some(1),
            version_id: Some(1),
            arch_id: Some(1),
            directory_id: Some(2),
            disabled,
        };
        diesel::insert_into(repository::table).values((repository::id.eq(id), &r)).execute(c).unwrap();
    }
    let r = NewRepositoryRedirect {
        from_repo: "fedora-rawhide".into(),
        to_repo: Some("fedora-42".into()),
    };
    diesel::insert_into(repository_redirect::table).values((repository_redirect::id.eq(1), &r)).execute(c).unwrap();
    let r = NewCountryContinentRedirect {
        country: "il".into(),
        continent: "eu".into(),
    };
    diesel::insert_into(country_continent_redirect::table)
        .values((country_continent_redirect::id.eq(1), &r))
        .execute(c)
        .unwrap();
    let n = NewNetblockCountry {
        netblock: "192.0.2.0/255.255.255.0".into(),
        country: "fr".into(),
    };
    diesel::insert_into(netblock_country::table).values((netblock_country::id.eq(1), &n)).execute(c).unwrap();
    for (id, h, net) in [(1, 14, "10.1.2.3/16"), (2, 12, "10.9.0.0/16")] {
        let n = NewHostNetblock {
            host_id: Some(h),
            netblock: Some(net.into()),
            name: None,
        };
        diesel::insert_into(host_netblock::table).values((host_netblock::id.eq(id), &n)).execute(c).unwrap();
    }
    let a = NewHostCountryAllowed {
        host_id: Some(15),
        country: "jp".into(),
    };
    diesel::insert_into(host_country_allowed::table).values((host_country_allowed::id.eq(1), &a)).execute(c).unwrap();
    let a = NewHostPeerAsn {
        host_id: Some(13),
        asn: 64501,
        name: None,
    };
    diesel::insert_into(host_peer_asn::table).values((host_peer_asn::id.eq(1), &a)).execute(c).unwrap();
}

fn entry<'a>(ml: &'a MirrorList, d: &str) -> &'a mm_cachefile::MirrorListCacheType {
    ml.mirror_list_cache.iter().find(|e| e.directory == d).unwrap_or_else(|| panic!("no entry for {d}"))
}

fn keys(v: &[mm_cachefile::IntRepeatedIntMap]) -> BTreeSet<i64> {
    v.iter().map(|m| m.key).collect()
}

fn country<'a>(v: &'a [mm_cachefile::StringRepeatedIntMap], c: &str) -> Option<&'a [i64]> {
    v.iter().find(|m| m.key == c).map(|m| m.value.as_slice())
}

fn check(ml: &MirrorList) {
    assert_eq!(ml.time, 1_700_000_000);
    assert!(mm_cachefile::validate(ml).is_empty(), "{:?}", mm_cachefile::validate(ml));
    let os = entry(ml, OS);
    assert_eq!(os.subpath.as_deref(), Some("releases/41/Everything/x86_64/os"));
    // Inactive host 11, host 12 of an inactive site, host 16 without an up-to-date dir: absent.
    assert_eq!(keys(&os.by_host_id), BTreeSet::from([10, 13, 14, 15]));
    assert_eq!(os.global, [10, 15]);
    assert_eq!(country(&os.by_country, "DE"), Some(&[10][..]));
    assert_eq!(country(&os.by_country, "JP"), Some(&[15][..]));
    assert_eq!(country(&os.by_country, "US"), None);
    // Private-site host 13 with Internet2 clients: ByHostId and ByCountryInternet2 only.
    assert_eq!(country(&os.by_country_internet2, "DE"), Some(&[13][..]));
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
    let ts: Vec<u64> = fd.file_details_cache_files[0].file_details.iter().map(|d| d.timestamp).collect();
    assert_eq!(ts, [300, 200, 100]);
    assert_eq!(fd.file_details_cache_files[0].file_details[0].sha256.as_deref(), Some("sha300"));
    // Repositories.
    let ra: Vec<(&str, &str)> = ml.repo_arch_to_directory_name.iter().map(|m| (m.key.as_str(), m.value.as_str())).collect();
    assert_eq!(ra, [("fedora-41+x86_64", OS), ("old-1+x86_64", OS)]);
    assert_eq!(ml.disabled_repository_cache.len(), 1);
    assert_eq!((ml.disabled_repository_cache[0].key.as_str(), ml.disabled_repository_cache[0].value), ("old-1", true));
    assert_eq!(ml.repository_redirect_cache[0].key, "fedora-rawhide");
    assert_eq!(ml.repository_redirect_cache[0].value, "fedora-42");
    assert_eq!((ml.country_continent_redirect_cache[0].key.as_str(), ml.country_continent_redirect_cache[0].value.as_str()), ("IL", "EU"));
    assert_eq!((ml.netblock_country_cache[0].key.as_str(), ml.netblock_country_cache[0].value.as_str()), ("192.0.2.0/24", "FR"));
    // Host maps: active hosts only, bandwidth clamped, countries upper-cased.
    let hn: Vec<(&str, &[i64])> = ml.host_netblock_cache.iter().map(|m| (m.key.as_str(), m.value.as_slice())).collect();
    assert_eq!(hn, [("10.1.0.0/16", &[14][..])]);
    let bw: Vec<(i64, i64)> = ml.host_bandwidth_cache.iter().map(|m| (m.key, m.value)).collect();
    assert!(bw.contains(&(10, 10_000)) && bw.contains(&(15, 100)), "{bw:?}");
    assert!(!bw.iter().any(|(h, _)| [11, 12].contains(h)), "{bw:?}");
    let hc: Vec<(i64, &str)> = ml.host_country_cache.iter().map(|m| (m.key, m.value.as_str())).collect();
    assert!(hc.contains(&(10, "DE")) && hc.contains(&(15, "JP")), "{hc:?}");
    let asn: Vec<(i64, &[i64])> = ml.host_asn_cache.iter().map(|m| (m.key, m.value.as_slice())).collect();
    assert_eq!(asn, [(64500, &[10][..]), (64501, &[13][..])]);
    assert_eq!(ml.host_country_allowed_cache[0].key, 15);
    assert_eq!(ml.host_country_allowed_cache[0].value, ["JP"]);
}

#[test]
fn generation_follows_the_rules_on_both_backends() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let ml = mm_cache::generate(
            &mut db.conn,
            &mm_cache::GenOptions {
                resolve_netblocks: false,
                time: Some(1_700_000_000),
            },
        )
        .unwrap();
        check(&ml);
    });
}

#[test]
fn the_binary_writes_checks_and_locks() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let config = db.config_file("");
        let bin = env!("CARGO_BIN_EXE_update-mirrorlist-server");
        let json = db.dir.path().join("cache.json");
        let out = Command::new(bin)
            .args(["--config", config.to_str().unwrap(), "--json", json.to_str().unwrap()])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let cache = db.dir.path().join("cache/mirrorlist_cache.proto");
        assert!(stdout.starts_with(&format!("wrote {}: time=", cache.display())), "{stdout}");
        assert!(stdout.contains("directories=3 hosts=4 urls=5 repos=2 in "), "{stdout}");
        let ml = mm_cachefile::read(&cache).unwrap();
        assert_eq!(entry(&ml, OS).global, [10, 15]);
        let view: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(view["mirror_list_cache"].as_array().unwrap().len(), 3);

        let out = Command::new(bin)
            .args(["--config", config.to_str().unwrap(), "--check", cache.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("directories=3 hosts=4 urls=5 repos=2"));
        let bad = db.dir.path().join("bad.proto");
        std::fs::write(&bad, b"garbage").unwrap();
        let out = Command::new(bin)
            .args(["--config", config.to_str().unwrap(), "--check", bad.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("bad.proto"));

        // Another instance holds the lock: exit 3, cache untouched.
        let cfg = mm_core::Config::from_file(&config).unwrap();
        let _held = mm_core::lock::acquire(&cfg.lock_dir, "update-mirrorlist-server", false).unwrap();
        let other = db.dir.path().join("other.proto");
        let out = Command::new(bin)
            .args(["--config", config.to_str().unwrap(), "-o", other.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!other.exists());
    });
}
