//! The admin CLI builds a mirror network on both databases and shows it back.

use mm_e2e::Runner;
use mm_testkit::for_each_backend;

/// The acceptance network: 2 sites, 3 hosts, 2 categories with URLs, netblocks, ASNs and
/// allowed countries. Returns the runner for further checks.
pub fn build_network(mm: &Runner) {
    mm.add_category("Fedora Linux", "pub/fedora/linux", "Fedora");
    mm.add_category("Fedora EPEL", "pub/epel", "EPEL");
    let steps: &[&[&str]] = &[
        &[
            "site",
            "add",
            "Site One",
            "--org-url",
            "https://one.example",
        ],
        &["site", "add", "Site Two", "--private"],
        &[
            "host",
            "add",
            "Site One",
            "a.one.example",
            "--country",
            "us",
            "--bandwidth",
            "1000",
        ],
        &[
            "host",
            "add",
            "Site One",
            "b.one.example",
            "--country",
            "CA",
            "--internet2",
            "--internet2-clients",
        ],
        &[
            "host",
            "add",
            "Site Two",
            "c.two.example",
            "--country",
            "DE",
            "--private",
            "--asn",
            "64500",
        ],
        &["host-category", "add", "a.one.example", "Fedora Linux"],
        &[
            "host-category",
            "add",
            "a.one.example",
            "Fedora EPEL",
            "--always-up2date",
        ],
        &["host-category", "add", "b.one.example", "Fedora Linux"],
        &["host-category", "add", "c.two.example", "Fedora EPEL"],
        &[
            "url",
            "add",
            "a.one.example",
            "Fedora Linux",
            "https://a.one.example/fedora/linux",
        ],
        &[
            "url",
            "add",
            "a.one.example",
            "Fedora Linux",
            "rsync://a.one.example/fedora/linux/",
        ],
        &[
            "url",
            "add",
            "a.one.example",
            "Fedora EPEL",
            "http://a.one.example/epel",
        ],
        &[
            "url",
            "add",
            "b.one.example",
            "Fedora Linux",
            "ftp://b.one.example/pub/fedora/linux",
        ],
        &[
            "url",
            "add",
            "c.two.example",
            "Fedora EPEL",
            "https://c.two.example/epel",
            "--private",
        ],
        &["netblock", "add", "a.one.example", "192.0.2.0/24"],
        &["netblock", "add", "c.two.example", "2001:db8:100::/48"],
        &["netblock", "add", "c.two.example", "198.51.100.7"],
        &["asn", "add", "a.one.example", "64501"],
        &["asn", "add", "c.two.example", "AS64502"],
        &["country-allowed", "add", "a.one.example", "US"],
        &["country-allowed", "add", "b.one.example", "ca"],
    ];
    for s in steps {
        mm.run(s).ok();
    }
}

#[test]
fn admin_builds_and_lists_a_network_on_both_databases() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        mm.run(&["db", "migrate"]).ok();
        build_network(&mm);
        let hosts = mm.run(&["host", "list", "--json"]).ok().json();
        let hosts = hosts.as_array().unwrap();
        assert_eq!(hosts.len(), 3);
        let a = &hosts[0];
        assert_eq!(a["name"], "a.one.example");
        assert_eq!(a["site"], "Site One");
        assert_eq!(a["country"], "US");
        assert_eq!(a["bandwidth_int"], 1000);
        assert_eq!(a["netblocks"], serde_json::json!(["192.0.2.0/24"]));
        assert_eq!(a["peer_asns"], serde_json::json!([64501]));
        assert_eq!(a["countries_allowed"], serde_json::json!(["US"]));
        let cats = a["categories"].as_array().unwrap();
        assert_eq!(cats.len(), 2);
        assert_eq!(cats[0]["category"], "Fedora Linux");
        assert_eq!(cats[0]["urls"].as_array().unwrap().len(), 2);
        // trailing slash normalised away
        assert_eq!(
            cats[0]["urls"][1]["url"],
            "rsync://a.one.example/fedora/linux"
        );
        assert_eq!(cats[1]["always_up2date"], true);
        let c = &hosts[2];
        assert_eq!(c["private"], true);
        assert_eq!(
            c["netblocks"],
            serde_json::json!(["2001:db8:100::/48", "198.51.100.7/32"])
        );
        assert_eq!(c["categories"][0]["urls"][0]["private"], true);
        let sites = mm.run(&["site", "list", "--json"]).ok().json();
        assert_eq!(sites.as_array().unwrap().len(), 2);
        assert!(
            sites[0].get("password").is_none(),
            "site passwords are never printed"
        );
        let cats = mm.run(&["category", "list", "--json"]).ok().json();
        assert_eq!(cats[0]["topdir"], "pub/fedora/linux");
        assert_eq!(cats[0]["hosts"], 2);
        let show = mm.run(&["host", "show", "c.two.example"]).ok().stdout;
        assert!(show.contains("peer ASNs: 64502"), "{show}");
    });
}

#[test]
fn bad_input_is_refused_in_one_line_and_writes_nothing() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        mm.run(&["db", "migrate"]).ok();
        build_network(&mm);
        let before = mm.run(&["host", "list", "--json"]).ok().stdout;
        let cases: &[(&[&str], &str)] = &[
            (
                &["host", "show", "nope.example"],
                "no host \"nope.example\"",
            ),
            (
                &[
                    "url",
                    "add",
                    "a.one.example",
                    "Fedora Linux",
                    "https://a.one.example/fedora/linux",
                ],
                "already registered",
            ),
            (
                &[
                    "url",
                    "add",
                    "a.one.example",
                    "Fedora Linux",
                    "gopher://x/y",
                ],
                "malformed URL",
            ),
            (
                &[
                    "url",
                    "add",
                    "c.two.example",
                    "Fedora Linux",
                    "https://c.two.example/f",
                ],
                "does not carry",
            ),
            (
                &["netblock", "add", "a.one.example", "10.0.0.0/40"],
                "malformed netblock",
            ),
            (
                &["netblock", "add", "a.one.example", "not-an-ip"],
                "malformed netblock",
            ),
            (
                &["country-allowed", "add", "a.one.example", "USA"],
                "malformed country code",
            ),
            (
                &["host", "add", "Site One", "x.example", "--country", "U1"],
                "malformed country code",
            ),
            (
                &[
                    "host",
                    "add",
                    "Site One",
                    "a.one.example",
                    "--country",
                    "US",
                ],
                "already has a host",
            ),
            (
                &["asn", "add", "a.one.example", "64501"],
                "already has peer ASN",
            ),
            (&["site", "remove", "Site One"], "still has 2 host(s)"),
        ];
        for (args, expect) in cases {
            let r = mm.run(args).code(1);
            let line = r.stderr.trim();
            assert!(
                line.starts_with("error: ") && !line.contains('\n'),
                "{args:?}: {line}"
            );
            assert!(line.contains(expect), "{args:?}: {line}");
            assert!(!line.ends_with('.'), "no trailing period: {line}");
        }
        assert_eq!(mm.run(&["host", "list", "--json"]).ok().stdout, before);
        // a failing command in the middle of a multi-row change leaves nothing behind
        mm.run(&["site", "remove", "Site Two", "--cascade"]).ok();
        assert_eq!(
            mm.run(&["host", "list", "--json"])
                .ok()
                .json()
                .as_array()
                .unwrap()
                .len(),
            2
        );
    });
}

#[test]
fn edit_and_remove_round_trip() {
    for_each_backend(|db| {
        let mm = Runner::new("mirrormanager", &db.config_file(""));
        mm.run(&["db", "migrate"]).ok();
        build_network(&mm);
        mm.run(&[
            "host",
            "edit",
            "a.one.example",
            "--bandwidth",
            "5000",
            "--user-active",
            "false",
        ])
        .ok();
        let h = mm
            .run(&["host", "show", "a.one.example", "--json"])
            .ok()
            .json();
        assert_eq!(h["bandwidth_int"], 5000);
        assert_eq!(h["user_active"], false);
        mm.run(&["host", "edit", "a.one.example", "--user-active", "true"])
            .ok();
        mm.run(&["url", "remove", "http://a.one.example/epel"]).ok();
        mm.run(&["host-category", "remove", "a.one.example", "Fedora EPEL"])
            .ok();
        mm.run(&["netblock", "remove", "a.one.example", "192.0.2.0/24"])
            .ok();
        let h = mm
            .run(&["host", "show", "a.one.example", "--json"])
            .ok()
            .json();
        assert_eq!(h["categories"].as_array().unwrap().len(), 1);
        assert!(h["netblocks"].as_array().unwrap().is_empty());
        mm.run(&["version", "add", "Fedora", "41", "--sortorder", "41"])
            .ok();
        mm.run(&["version", "add", "Fedora", "42-Beta", "--test"])
            .ok();
        mm.run(&["version", "add", "Fedora", "41"]).code(1);
        let v = mm
            .run(&["version", "list", "--product", "Fedora", "--json"])
            .ok()
            .json();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[1]["is_test"], true);
        mm.run(&["arch", "add", "x86_64", "--primary"]).ok();
        mm.run(&["repo-redirect", "add", "fedora-rawhide", "rawhide"])
            .ok();
        mm.run(&["continent-redirect", "add", "IL", "EU"]).ok();
        mm.run(&["continent-redirect", "add", "FR", "XX"]).code(1);
        mm.run(&["embargo", "add", "kp"]).ok();
        assert_eq!(
            mm.run(&["embargo", "list", "--json"]).ok().json()[0]["country_code"],
            "KP"
        );
        mm.run(&["host", "remove", "b.one.example"]).ok();
        mm.run(&["category", "remove", "Fedora Linux"]).code(1); // still carried by a.one.example
    });
}
