//! Shared database fixture for the mm-cache tests: three sites, seven hosts covering the
//! inclusion rules, one category with three directories, repositories and file details.
#![allow(dead_code)]

use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

pub const TOP: &str = "pub/fedora/linux";
pub const OS: &str = "pub/fedora/linux/releases/41/Everything/x86_64/os";
pub const SHARED: &str = "pub/shared";
pub const REPODATA: &str = "pub/fedora/linux/releases/41/Everything/x86_64/os/repodata";

/// The generator's options in these tests: no DNS, a fixed cache time, one connection.
pub fn gen_options() -> mm_cache::GenOptions {
    mm_cache::GenOptions {
        resolve_netblocks: false,
        time: Some(1_700_000_000),
        parallel_url: None,
    }
}

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
    diesel::insert_into(site::table)
        .values((site::id.eq(id), &s))
        .execute(c)
        .unwrap();
}

fn host(c: &mut DbConn, id: i32, site_id: i32, country: &str, f: impl FnOnce(&mut NewHost)) {
    let mut h = NewHost::new(site_id, &format!("host{id}.example"), country);
    f(&mut h);
    diesel::insert_into(host::table)
        .values((host::id.eq(id), &h))
        .execute(c)
        .unwrap();
}

/// A directory in no category.
fn directory(c: &mut DbConn, id: i32, name: &str) {
    let d = NewDirectory {
        name: name.into(),
        files: None,
        readable: true,
        ctime: Some(0),
    };
    diesel::insert_into(directory::table)
        .values((directory::id.eq(id), &d))
        .execute(c)
        .unwrap();
}

/// A directory of category 1.
fn dir(c: &mut DbConn, id: i32, name: &str) {
    directory(c, id, name);
    diesel::insert_into(category_directory::table)
        .values(&CategoryDirectory {
            category_id: 1,
            directory_id: id,
        })
        .execute(c)
        .unwrap();
}

fn category(c: &mut DbConn, id: i32, name: &str, topdir: i32, dirs: &[i32]) {
    let cat = NewCategory {
        name: name.into(),
        product_id: Some(1),
        topdir_id: Some(topdir),
        canonicalhost: None,
        publiclist: true,
        geo_dns_domain: None,
        admin_only: None,
    };
    diesel::insert_into(category::table)
        .values((category::id.eq(id), &cat))
        .execute(c)
        .unwrap();
    for d in dirs {
        diesel::insert_into(category_directory::table)
            .values(&CategoryDirectory {
                category_id: id,
                directory_id: *d,
            })
            .execute(c)
            .unwrap();
    }
}

/// host category `hc` for host `h` with URL ids `hc*10 + i`; `dirs` are up-to-date.
fn hostcat(
    c: &mut DbConn,
    hc: i32,
    h: i32,
    always: bool,
    dirs: &[(i32, bool)],
    urls: &[(&str, bool)],
) {
    hostcat_in(c, 1, hc, h, always, dirs, urls);
}

/// [`hostcat`] in category `cat`.
#[allow(clippy::too_many_arguments)]
fn hostcat_in(
    c: &mut DbConn,
    cat: i32,
    hc: i32,
    h: i32,
    always: bool,
    dirs: &[(i32, bool)],
    urls: &[(&str, bool)],
) {
    let v = NewHostCategory {
        host_id: Some(h),
        category_id: Some(cat),
        always_up2date: always,
    };
    diesel::insert_into(host_category::table)
        .values((host_category::id.eq(hc), &v))
        .execute(c)
        .unwrap();
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

pub fn populate(c: &mut DbConn) {
    site(c, 1, false, true);
    site(c, 2, false, false); // inactive site
    site(c, 3, true, true); // private site
    host(c, 10, 1, "de", |h| {
        h.bandwidth_int = Some(50_000);
        h.asn = Some(64500);
        h.internet2 = true; // public: in ByCountryInternet2 without internet2_clients
    });
    host(c, 11, 1, "FR", |h| h.user_active = false);
    host(c, 12, 2, "US", |_| {});
    host(c, 13, 3, "DE", |h| {
        h.internet2 = true;
        h.internet2_clients = true;
    });
    host(c, 14, 1, "US", |h| {
        h.private = true;
        h.internet2 = true; // private without internet2_clients: not in ByCountryInternet2
    });
    host(c, 15, 1, "jp", |h| h.bandwidth_int = None);
    host(c, 16, 1, "GB", |h| h.asn_clients = false);
    let p = NewProduct {
        name: "Fedora".into(),
        publiclist: true,
    };
    diesel::insert_into(product::table)
        .values((product::id.eq(1), &p))
        .execute(c)
        .unwrap();
    directory(c, 1, TOP);
    category(c, 1, "Fedora Linux", 1, &[1]);
    dir(c, 2, OS);
    dir(c, 3, REPODATA);
    hostcat(
        c,
        100,
        10,
        false,
        &[(2, true), (3, true)],
        &[
            ("https://h10.example/fedora/linux", false),
            ("rsync://h10.example/private", true),
        ],
    );
    hostcat(
        c,
        110,
        11,
        false,
        &[(2, true)],
        &[("https://h11.example/f", false)],
    );
    hostcat(
        c,
        120,
        12,
        false,
        &[(2, true)],
        &[("https://h12.example/f", false)],
    );
    hostcat(
        c,
        130,
        13,
        false,
        &[(2, true)],
        &[("https://h13.example/f", false)],
    );
    hostcat(
        c,
        140,
        14,
        false,
        &[(2, true)],
        &[("http://h14.example/f", false)],
    );
    hostcat(
        c,
        150,
        15,
        true,
        &[],
        &[
            ("https://h15.example/f", false),
            ("ftp://h15.example/f", false),
        ],
    );
    hostcat(
        c,
        160,
        16,
        false,
        &[(2, false)],
        &[("https://h16.example/f", false)],
    );

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
        diesel::insert_into(file_detail::table)
            .values((file_detail::id.eq(id), &f))
            .execute(c)
            .unwrap();
    }
    let a = NewArch {
        name: "x86_64".into(),
        publiclist: true,
        primary_arch: true,
    };
    diesel::insert_into(arch::table)
        .values((arch::id.eq(1), &a))
        .execute(c)
        .unwrap();
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
    diesel::insert_into(version::table)
        .values((version::id.eq(1), &v))
        .execute(c)
        .unwrap();
    for (id, name, prefix, disabled) in [
        (1, "Fedora 41", "fedora-41", false),
        (2, "Old", "old-1", true),
    ] {
        let r = NewRepository {
            name: name.into(),
            prefix: Some(prefix.into()),
            category_id: Some(1),
            version_id: Some(1),
            arch_id: Some(1),
            directory_id: Some(2),
            disabled,
        };
        diesel::insert_into(repository::table)
            .values((repository::id.eq(id), &r))
            .execute(c)
            .unwrap();
    }
    let r = NewRepositoryRedirect {
        from_repo: "fedora-rawhide".into(),
        to_repo: Some("fedora-42".into()),
    };
    diesel::insert_into(repository_redirect::table)
        .values((repository_redirect::id.eq(1), &r))
        .execute(c)
        .unwrap();
    let r = NewCountryContinentRedirect {
        country: "il".into(),
        continent: "eu".into(),
    };
    diesel::insert_into(country_continent_redirect::table)
        .values((country_continent_redirect::id.eq(1), &r))
        .execute(c)
        .unwrap();
    // The same network twice: the first row counts.
    for (id, net, cc) in [
        (1, "192.0.2.0/255.255.255.0", "fr"),
        (2, "192.0.2.7/24", "se"),
    ] {
        let n = NewNetblockCountry {
            netblock: net.into(),
            country: cc.into(),
        };
        diesel::insert_into(netblock_country::table)
            .values((netblock_country::id.eq(id), &n))
            .execute(c)
            .unwrap();
    }
    for (id, h, net) in [(1, 14, "10.1.2.3/16"), (2, 12, "10.9.0.0/16")] {
        let n = NewHostNetblock {
            host_id: Some(h),
            netblock: Some(net.into()),
            name: None,
        };
        diesel::insert_into(host_netblock::table)
            .values((host_netblock::id.eq(id), &n))
            .execute(c)
            .unwrap();
    }
    let a = NewHostCountryAllowed {
        host_id: Some(15),
        country: "jp".into(),
    };
    diesel::insert_into(host_country_allowed::table)
        .values((host_country_allowed::id.eq(1), &a))
        .execute(c)
        .unwrap();
    // Peer ASNs: host 13 serves ASN clients, host 16 does not (its peer ASN is left out).
    for (id, h, asn) in [(1, 13, 64501), (2, 16, 64502)] {
        let a = NewHostPeerAsn {
            host_id: Some(h),
            asn,
            name: None,
        };
        diesel::insert_into(host_peer_asn::table)
            .values((host_peer_asn::id.eq(id), &a))
            .execute(c)
            .unwrap();
    }
}

/// On top of [`populate`]: a second category sharing the top directory and [`OS`], in which
/// host 10 has another host category (URL id 2000) up to date for OS; a third category
/// (top directory [`SHARED`], id 5) that also lists OS, in which host 16 is always up to date
/// (URL id 3000); and a repository `stray-1` whose directory (id 4, `pub/stray`) is in no
/// category.
pub fn populate_overlap(c: &mut DbConn) {
    category(c, 2, "Fedora Overlap", 1, &[1, 2]);
    hostcat_in(
        c,
        2,
        200,
        10,
        false,
        &[(2, true)],
        &[("https://h10.example/overlap", false)],
    );
    directory(c, 5, SHARED);
    category(c, 3, "Shared", 5, &[5, 2]);
    hostcat_in(
        c,
        3,
        300,
        16,
        true,
        &[],
        &[("https://h16.example/shared", false)],
    );
    directory(c, 4, "pub/stray");
    let r = NewRepository {
        name: "Stray".into(),
        prefix: Some("stray-1".into()),
        category_id: Some(1),
        version_id: Some(1),
        arch_id: Some(1),
        directory_id: Some(4),
        disabled: false,
    };
    diesel::insert_into(repository::table)
        .values((repository::id.eq(3), &r))
        .execute(c)
        .unwrap();
}
