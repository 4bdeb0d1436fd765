//! `mirrormanager locks hold NAME` holds only locks some job takes: a typo during
//! maintenance must fail loudly, not hold a lock nothing looks at.

use mm_testkit::for_each_backend;

use super::mirrormanager;

#[test]
fn only_job_locks_can_be_held() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        mm.add_category("Fedora Linux", "pub/fedora/linux", "Fedora");
        for name in [
            "umdl-fedora-linux",
            "crawler-fedora-linux",
            "update-mirrorlist-server",
            "mm_sync_out",
            "publiclist",
            "crawler-propagation",
        ] {
            let r = mm.run(&["locks", "hold", name, "--seconds", "0"]).ok();
            assert!(r.stdout.starts_with("holding "), "{name}: {}", r.stdout);
        }
        for (name, says) in [
            (
                "bogus-name",
                "no job takes a lock named \"bogus-name\": job locks are umdl-<category>",
            ),
            (
                "umdl-Fedora Linux",
                "lock names use the category's slug (umdl-fedora-linux)",
            ),
            (
                "crawler-fedora-epel",
                "no category's slug is \"fedora-epel\": this database's crawler locks are crawler-fedora-linux",
            ),
        ] {
            let r = mm.run(&["locks", "hold", name, "--seconds", "0"]);
            assert_ne!(r.code, 0, "{name}");
            assert!(r.stderr.contains(says), "{name}: {}", r.stderr);
        }
        let held = mm.run(&["locks", "--json"]).ok().json();
        let names: Vec<&str> = held
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"bogus-name"), "{names:?}");
    });
}
