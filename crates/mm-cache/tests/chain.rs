//! The backend chain on both databases: generate the cache from the database, ship it with
//! mm_sync_out's library to a local "app server" directory, load it there with the
//! mirrorlist server and answer requests from it.

use std::net::IpAddr;
use std::time::Duration;

mod common;

use common::*;

#[test]
fn generated_cache_is_shipped_and_served() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let ml = mm_cache::generate(&mut db.conn, &gen_options()).unwrap();
        let backend = db.dir.path().join("backend");
        std::fs::create_dir_all(&backend).unwrap();
        let cache = backend.join("mirrorlist_cache.proto");
        mm_cachefile::write_atomic(&cache, &ml).unwrap();
        let app = db.dir.path().join("app");
        let report = mm_syncout::sync_out(&mm_syncout::SyncOptions {
            cache: cache.clone(),
            data_dir: backend.clone(),
            publiclist_dir: None,
            targets: vec![app.display().to_string()],
            ssh_key: None,
            known_hosts: None,
            timeout: Duration::from_secs(60),
            force: false,
            state_file: backend.join(mm_syncout::STATE_FILE),
        })
        .unwrap();
        assert!(report.failed().is_empty(), "{report:?}");

        let shared = mm_mirrorlist::Shared::new(mm_mirrorlist::Options {
            embargoed: vec!["CU".into()],
            ..mm_mirrorlist::Options::new(app.join("mirrorlist_cache.proto"))
        })
        .unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let get = |path: &str, q: &str| shared.handle("GET", path, q, None, peer).1;

        let r = get("/metalink", "repo=fedora-41&arch=x86_64&country=DE");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.contains(&format!(
                ">https://h10.example/fedora/linux/{}/repodata/repomd.xml</url>",
                &OS[TOP.len() + 1..]
            )),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("<hash type=\"sha256\">sha300</hash>"),
            "{}",
            r.body
        );
        let alternates = r.body.split("<mm0:alternates>").nth(1).unwrap();
        assert!(alternates.contains("sha200") && alternates.contains("sha100"));
        assert!(
            !r.body.contains("h13.example"),
            "private host offered by country: {}",
            r.body
        );

        // The private host 14 is reached through its netblock, first.
        let r = get("/mirrorlist", "repo=fedora-41&arch=x86_64&ip=10.1.200.1");
        let mut lines = r.body.lines();
        assert!(
            lines.next().unwrap().contains("Using preferred netblock"),
            "{}",
            r.body
        );
        assert_eq!(
            lines.next().unwrap(),
            format!("http://h14.example/f/{}/", &OS[TOP.len() + 1..])
        );
        // A FR client (NetblockCountryCache) never gets the JP-only host 15.
        let r = get("/mirrorlist", "repo=fedora-41&arch=x86_64&ip=192.0.2.10");
        assert!(
            r.body.contains("h10.example") && !r.body.contains("h15.example"),
            "{}",
            r.body
        );
        let r = get("/mirrorlist", "repo=old-1&arch=x86_64");
        assert!(r.body.contains("repo disabled"), "{}", r.body);
        let r = get("/mirrorlist", "repo=fedora-rawhide&arch=x86_64");
        assert_eq!(r.status, 404);
        assert!(
            r.body
                .starts_with("# repo = fedora-42 arch = x86_64 error: invalid repo or arch"),
            "{}",
            r.body
        );
    });
}
