//! `add`, `show` and `edit` of the admin CLI on both databases: an edit checks what the add
//! checks and refuses a clash with the add's one-line message (never a raw SQL error),
//! leaves the fields it was not given alone, and every record kind can be shown and edited.

use diesel::prelude::*;
use mm_core::models::*;
use mm_core::schema::*;
use mm_testkit::fixture;
use mm_testkit::for_each_backend;
use mm_testkit::runner::{Run, Runner};

use super::mirrormanager;

/// Two products and categories, two sites, two hosts of one site; mirror.example.edu
/// carries Fedora Linux (always up to date).
fn network(mm: &Runner) {
    mm.add_category("Fedora Linux", "pub/fedora/linux", "Fedora");
    mm.add_category("Fedora EPEL", "pub/epel", "EPEL");
    let steps: &[&[&str]] = &[
        &["site", "add", "Example University"],
        &["site", "add", "Other Org"],
        &[
            "host",
            "add",
            "Example University",
            "mirror.example.edu",
            "--country",
            "US",
        ],
        &[
            "host",
            "add",
            "Example University",
            "m2.example.edu",
            "--country",
            "DE",
        ],
        &[
            "host-category",
            "add",
            "mirror.example.edu",
            "Fedora Linux",
            "--always-up2date",
        ],
    ];
    for s in steps {
        mm.run(s).ok();
    }
}

/// The one-line refusal of a run that must fail with exit 1.
fn refusal(mm: &Runner, args: &[&str]) -> String {
    let r: Run = mm.run(args).code(1);
    let line = r.stderr.trim().to_owned();
    assert!(
        line.starts_with("error: ") && !line.contains('\n') && !line.ends_with('.'),
        "{args:?}: {line}"
    );
    for raw in ["UNIQUE", "constraint", "duplicate key", "FOREIGN KEY"] {
        assert!(
            !line.contains(raw),
            "{args:?} shows a raw SQL error: {line}"
        );
    }
    line
}

/// Everything the admin CLI shows of the network, to prove a refusal changed nothing.
fn snapshot(mm: &Runner) -> Vec<String> {
    [
        &["host", "list", "--json"][..],
        &["site", "list", "--json"],
        &["category", "list", "--json"],
        &["product", "list", "--json"],
    ]
    .iter()
    .map(|a| mm.run(a).ok().stdout)
    .collect()
}

#[test]
fn renames_onto_an_existing_name_get_the_add_refusal() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        let before = snapshot(&mm);
        let cases: [(&[&str], &[&str]); 4] = [
            (
                &[
                    "host",
                    "edit",
                    "m2.example.edu",
                    "--name",
                    "mirror.example.edu",
                ],
                &[
                    "host",
                    "add",
                    "Example University",
                    "mirror.example.edu",
                    "--country",
                    "US",
                ],
            ),
            (
                &["category", "edit", "Fedora EPEL", "--name", "Fedora Linux"],
                &["category", "add", "Fedora Linux", "--topdir", "pub/x"],
            ),
            (
                &["product", "edit", "EPEL", "--name", "Fedora"],
                &["product", "add", "Fedora"],
            ),
            (
                &["site", "edit", "Other Org", "--name", "Example University"],
                &["site", "add", "Example University"],
            ),
        ];
        for (edit, add) in cases {
            let e = refusal(&mm, edit);
            assert!(e.contains("already"), "{edit:?}: {e}");
            assert_eq!(e, refusal(&mm, add), "{edit:?}");
        }
        assert_eq!(
            refusal(
                &mm,
                &[
                    "host",
                    "edit",
                    "m2.example.edu",
                    "--name",
                    "mirror.example.edu"
                ]
            ),
            "error: site \"Example University\" already has a host \"mirror.example.edu\""
        );
        // By id, as the reviewer did it.
        let other = mm.run(&["site", "show", "Other Org", "--json"]).ok().json()["id"].to_string();
        assert_eq!(
            refusal(
                &mm,
                &["site", "edit", &other, "--name", "Example University"]
            ),
            "error: site \"Example University\" already exists"
        );
        assert_eq!(snapshot(&mm), before);
        // Renaming to the name it already has, or to a free one, works.
        mm.run(&["site", "edit", "Other Org", "--name", "Other Org"])
            .ok();
        mm.run(&["host", "edit", "m2.example.edu", "--name", "m3.example.edu"])
            .ok();
        mm.run(&["category", "edit", "Fedora EPEL", "--name", "EPEL"])
            .ok();
        mm.run(&["product", "edit", "EPEL", "--name", "Extra Packages"])
            .ok();
        assert_eq!(
            mm.run(&["host", "show", "m3.example.edu", "--json"])
                .ok()
                .json()["name"],
            "m3.example.edu"
        );
        mm.run(&["category", "show", "EPEL"]).ok();
        mm.run(&["product", "show", "Extra Packages"]).ok();
    });
}

#[test]
fn edits_refuse_what_adds_refuse() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        let before = snapshot(&mm);
        let cases: [(&[&str], &[&str], &str); 6] = [
            (
                &["site", "edit", "Other Org", "--name", ""],
                &["site", "add", ""],
                "site name must not be empty",
            ),
            (
                &["site", "edit", "Other Org", "--name", "  "],
                &["site", "add", "  "],
                "site name must not be empty",
            ),
            (
                &["host", "edit", "m2.example.edu", "--name", ""],
                &["host", "add", "Other Org", "", "--country", "US"],
                "malformed host name \"\"",
            ),
            (
                &["host", "edit", "m2.example.edu", "--name", "a/b"],
                &["host", "add", "Other Org", "a/b", "--country", "US"],
                "malformed host name \"a/b\"",
            ),
            (
                &["product", "edit", "EPEL", "--name", ""],
                &["product", "add", ""],
                "product name must not be empty",
            ),
            (
                &["category", "edit", "Fedora EPEL", "--name", ""],
                &["category", "add", "", "--topdir", "pub/x"],
                "category name must not be empty",
            ),
        ];
        for (edit, add, expect) in cases {
            let e = refusal(&mm, edit);
            assert!(e.contains(expect), "{edit:?}: {e}");
            assert_eq!(e, refusal(&mm, add), "{edit:?}");
        }
        assert_eq!(snapshot(&mm), before);
    });
}

#[test]
fn removing_a_category_takes_its_repositories_propagation_statistics_along() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        // the ids `show --json` gives
        let id = |what: &str, name: &str| -> i32 {
            let shown = mm.run(&[what, "show", name, "--json"]).ok().json();
            shown["id"].as_i64().expect("an id") as i32
        };
        let (epel, fedora) = (
            id("category", "Fedora EPEL"),
            id("category", "Fedora Linux"),
        );
        let (p_epel, p_fedora) = (id("product", "EPEL"), id("product", "Fedora"));
        let conn = &mut db.conn;
        let v10 = fixture::version(conn, p_epel, "10", 10, false).unwrap();
        let v43 = fixture::version(conn, p_fedora, "43", 43, false).unwrap();
        let x86 = fixture::arch(conn, "x86_64", true).unwrap();
        let (epel_repo, _) =
            fixture::repository(conn, "epel-10", epel, v10, x86, "pub/epel/10/x86_64").unwrap();
        let (fedora_repo, _) = fixture::repository(
            conn,
            "fedora-43",
            fedora,
            v43,
            x86,
            "pub/fedora/linux/releases/43/x86_64",
        )
        .unwrap();
        for (repo, day) in [(epel_repo, 0), (epel_repo, 1), (fedora_repo, 0)] {
            diesel::insert_into(propagation_stat::table)
                .values(&PropagationStat {
                    repository_id: repo,
                    datetime: fixture::epoch() + chrono::Duration::days(day),
                    same_day: 3,
                    one_day: 1,
                    two_day: 0,
                    older: 0,
                    no_info: 0,
                })
                .execute(conn)
                .unwrap();
        }
        mm.run(&["category", "remove", "Fedora EPEL"]).ok();
        let stats = |conn: &mut mm_core::DbConn, repo: i32| -> i64 {
            propagation_stat::table
                .filter(propagation_stat::repository_id.eq(repo))
                .count()
                .get_result(conn)
                .unwrap()
        };
        assert_eq!(stats(conn, epel_repo), 0);
        assert_eq!(
            stats(conn, fedora_repo),
            1,
            "another category's statistics stay"
        );
        let repos: Vec<String> = repository::table
            .select(repository::name)
            .load(conn)
            .unwrap();
        assert_eq!(repos, ["fedora-43"]);
        refusal(&mm, &["category", "show", "Fedora EPEL"]);
    });
}

#[test]
fn host_category_edit_leaves_always_up2date_alone_unless_given() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        let up2date = || {
            mm.run(&[
                "host-category",
                "show",
                "mirror.example.edu",
                "Fedora Linux",
                "--json",
            ])
            .ok()
            .json()["always_up2date"]
                .clone()
        };
        assert_eq!(up2date(), true);
        let r = mm
            .run(&[
                "host-category",
                "edit",
                "mirror.example.edu",
                "Fedora Linux",
            ])
            .ok();
        assert!(r.stdout.contains("unchanged"), "{}", r.stdout);
        assert_eq!(up2date(), true);
        for v in ["false", "true", "false"] {
            mm.run(&[
                "host-category",
                "edit",
                "mirror.example.edu",
                "Fedora Linux",
                "--always-up2date",
                v,
            ])
            .ok();
            assert_eq!(up2date(), v == "true");
        }
        // `add --always-up2date` stays a switch.
        mm.run(&[
            "host-category",
            "add",
            "m2.example.edu",
            "Fedora Linux",
            "--always-up2date",
        ])
        .ok();
        // A value that is not a boolean is a usage error (exit 2).
        mm.run(&[
            "host-category",
            "edit",
            "mirror.example.edu",
            "Fedora Linux",
            "--always-up2date",
            "maybe",
        ])
        .code(2);
    });
}

#[test]
fn netblocks_of_every_address_and_urls_without_a_host_are_refused() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        for nb in ["0.0.0.0/0", "::/0", "10.1.2.3/0", "192.0.2.1/0.0.0.0"] {
            let e = refusal(&mm, &["netblock", "add", "mirror.example.edu", nb]);
            assert!(e.contains("covers every address"), "{nb}: {e}");
        }
        for url in [
            "http://:80/x",
            "https:///fedora/linux",
            "rsync://@/fedora",
            "ftp://user@:21/pub",
            "http://[]/x",
        ] {
            let e = refusal(
                &mm,
                &["url", "add", "mirror.example.edu", "Fedora Linux", url],
            );
            assert!(
                e.contains("malformed URL") && e.contains("host"),
                "{url}: {e}"
            );
        }
        let h = mm
            .run(&["host", "show", "mirror.example.edu", "--json"])
            .ok()
            .json();
        assert_eq!(h["netblocks"], serde_json::json!([]));
        assert_eq!(h["categories"][0]["urls"], serde_json::json!([]));
        // The smallest real prefixes and URLs with a host pass.
        mm.run(&["netblock", "add", "mirror.example.edu", "0.0.0.0/1"])
            .ok();
        mm.run(&["netblock", "add", "mirror.example.edu", "2001:db8::/32"])
            .ok();
        mm.run(&[
            "url",
            "add",
            "mirror.example.edu",
            "Fedora Linux",
            "http://mirror.example.edu:8080/fedora",
        ])
        .ok();
        mm.run(&[
            "url",
            "add",
            "mirror.example.edu",
            "Fedora Linux",
            "rsync://[2001:db8::7]/fedora",
        ])
        .ok();
        refusal(
            &mm,
            &[
                "url",
                "edit",
                "http://mirror.example.edu:8080/fedora",
                "--new-url",
                "http://:8080/fedora",
            ],
        );
    });
}

#[test]
fn country_codes_must_be_iso_3166() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        let uk = "error: \"UK\" is not an ISO 3166 country code (the United Kingdom is GB)";
        for args in [
            &[
                "host",
                "add",
                "Other Org",
                "uk.example.ac.uk",
                "--country",
                "uk",
            ][..],
            &["host", "edit", "m2.example.edu", "--country", "UK"],
            &["country-allowed", "add", "mirror.example.edu", "uk"],
            &["continent-redirect", "add", "UK", "EU"],
        ] {
            assert_eq!(refusal(&mm, args), uk, "{args:?}");
        }
        let e = refusal(
            &mm,
            &["host", "add", "Other Org", "q.example", "--country", "QQ"],
        );
        assert!(
            e.starts_with("error: \"QQ\" is not an ISO 3166 country code"),
            "{e}"
        );
        // Two letters or not at all: still the malformed message.
        let e = refusal(
            &mm,
            &["country-allowed", "add", "mirror.example.edu", "USA"],
        );
        assert!(e.contains("malformed country code"), "{e}");
        assert_eq!(
            mm.run(&["host", "show", "m2.example.edu", "--json"])
                .ok()
                .json()["country"],
            "DE"
        );

        mm.run(&[
            "host",
            "add",
            "Other Org",
            "uk.example.ac.uk",
            "--country",
            "gb",
        ])
        .ok();
        mm.run(&["country-allowed", "add", "uk.example.ac.uk", "eu"])
            .ok();
        mm.run(&["country-allowed", "add", "uk.example.ac.uk", "AP"])
            .ok();
        let h = mm
            .run(&["host", "show", "uk.example.ac.uk", "--json"])
            .ok()
            .json();
        assert_eq!(h["country"], "GB");
        assert_eq!(h["countries_allowed"], serde_json::json!(["AP", "EU"]));

        // A code stored before codes were checked can still be shown and removed.
        let host_id = h["id"].as_i64().unwrap() as i32;
        diesel::insert_into(host_country_allowed::table)
            .values(&NewHostCountryAllowed {
                host_id: Some(host_id),
                country: "UK".into(),
            })
            .execute(&mut db.conn)
            .unwrap();
        mm.run(&["country-allowed", "show", "uk.example.ac.uk", "uk"])
            .ok();
        mm.run(&["country-allowed", "remove", "uk.example.ac.uk", "uk"])
            .ok();
    });
}

#[test]
fn netblocks_asns_allowed_countries_redirects_and_arches_can_be_shown_and_edited() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        let h = "mirror.example.edu";

        // netblock
        mm.run(&["netblock", "add", h, "192.0.2.0/24", "--name", "campus"])
            .ok();
        mm.run(&["netblock", "add", h, "203.0.113.0/24"]).ok();
        let n = mm
            .run(&["netblock", "show", h, "192.0.2.0/24", "--json"])
            .ok()
            .json();
        assert_eq!(
            (&n["netblock"], &n["name"], &n["host"]),
            (&"192.0.2.0/24".into(), &"campus".into(), &h.into())
        );
        let text = mm.run(&["netblock", "show", h, "192.0.2.0/24"]).ok().stdout;
        assert!(
            text.starts_with("netblock 192.0.2.0/24 (id ") && text.contains("name: campus"),
            "{text}"
        );
        mm.run(&[
            "netblock",
            "edit",
            h,
            "192.0.2.0/24",
            "--new-netblock",
            "198.51.100.0/255.255.255.0",
        ])
        .ok();
        let n = mm
            .run(&["netblock", "show", h, "198.51.100.0/24", "--json"])
            .ok()
            .json();
        assert_eq!(n["name"], "campus", "a field not given is left alone");
        mm.run(&["netblock", "edit", h, "198.51.100.0/24", "--name", "lab"])
            .ok();
        let n = mm
            .run(&["netblock", "show", h, "198.51.100.0/24", "--json"])
            .ok()
            .json();
        assert_eq!(
            (&n["netblock"], &n["name"]),
            (&"198.51.100.0/24".into(), &"lab".into())
        );
        let e = refusal(
            &mm,
            &[
                "netblock",
                "edit",
                h,
                "198.51.100.0/24",
                "--new-netblock",
                "::/0",
            ],
        );
        assert!(e.contains("covers every address"), "{e}");
        let e = refusal(
            &mm,
            &[
                "netblock",
                "edit",
                h,
                "198.51.100.0/24",
                "--new-netblock",
                "203.0.113.0/24",
            ],
        );
        assert_eq!(e, refusal(&mm, &["netblock", "add", h, "203.0.113.0/24"]));
        let e = refusal(
            &mm,
            &[
                "netblock",
                "edit",
                h,
                "198.51.100.0/24",
                "--new-netblock",
                "300.1.1.1",
            ],
        );
        assert!(e.contains("malformed netblock"), "{e}");
        assert_eq!(
            refusal(&mm, &["netblock", "show", h, "192.0.2.0/24"]),
            "error: no netblock \"192.0.2.0/24 on mirror.example.edu\""
        );

        // peer ASN
        mm.run(&["asn", "add", h, "64500", "--name", "transit"])
            .ok();
        mm.run(&["asn", "add", h, "64510"]).ok();
        let a = mm.run(&["asn", "show", h, "AS64500", "--json"]).ok().json();
        assert_eq!(
            (&a["asn"], &a["name"], &a["host"]),
            (&64500.into(), &"transit".into(), &h.into())
        );
        mm.run(&["asn", "edit", h, "64500", "--new-asn", "AS64501"])
            .ok();
        let a = mm.run(&["asn", "show", h, "64501", "--json"]).ok().json();
        assert_eq!(a["name"], "transit");
        mm.run(&["asn", "edit", h, "64501", "--name", "peering"])
            .ok();
        let text = mm.run(&["asn", "show", h, "64501"]).ok().stdout;
        assert!(
            text.starts_with("peer ASN 64501 (id ") && text.contains("name: peering"),
            "{text}"
        );
        let e = refusal(&mm, &["asn", "edit", h, "64501", "--new-asn", "64510"]);
        assert_eq!(e, refusal(&mm, &["asn", "add", h, "64510"]));
        let e = refusal(&mm, &["asn", "edit", h, "64501", "--new-asn", "0"]);
        assert!(e.contains("malformed ASN"), "{e}");

        // allowed country
        mm.run(&["country-allowed", "add", h, "US"]).ok();
        mm.run(&["country-allowed", "add", h, "MX"]).ok();
        let c = mm
            .run(&["country-allowed", "show", h, "us", "--json"])
            .ok()
            .json();
        assert_eq!((&c["country"], &c["host"]), (&"US".into(), &h.into()));
        mm.run(&["country-allowed", "edit", h, "US", "--new-country", "ca"])
            .ok();
        let text = mm.run(&["country-allowed", "show", h, "CA"]).ok().stdout;
        assert!(text.starts_with("allowed country CA (id "), "{text}");
        let e = refusal(
            &mm,
            &["country-allowed", "edit", h, "CA", "--new-country", "UK"],
        );
        assert!(e.contains("(the United Kingdom is GB)"), "{e}");
        let e = refusal(
            &mm,
            &["country-allowed", "edit", h, "CA", "--new-country", "MX"],
        );
        assert_eq!(e, refusal(&mm, &["country-allowed", "add", h, "MX"]));
        refusal(&mm, &["country-allowed", "show", h, "US"]);

        // repo redirect
        mm.run(&["repo-redirect", "add", "fedora-rawhide", "rawhide"])
            .ok();
        mm.run(&["repo-redirect", "add", "epel-next", "epel"]).ok();
        let r = mm
            .run(&["repo-redirect", "show", "fedora-rawhide", "--json"])
            .ok()
            .json();
        assert_eq!(
            (&r["from_repo"], &r["to_repo"]),
            (&"fedora-rawhide".into(), &"rawhide".into())
        );
        mm.run(&[
            "repo-redirect",
            "edit",
            "fedora-rawhide",
            "--to",
            "fedora-44",
        ])
        .ok();
        mm.run(&[
            "repo-redirect",
            "edit",
            "fedora-rawhide",
            "--new-from",
            "rawhide-old",
        ])
        .ok();
        let text = mm
            .run(&["repo-redirect", "show", "rawhide-old"])
            .ok()
            .stdout;
        assert!(
            text.starts_with("repo redirect rawhide-old → fedora-44 (id "),
            "{text}"
        );
        let e = refusal(
            &mm,
            &[
                "repo-redirect",
                "edit",
                "rawhide-old",
                "--to",
                "rawhide-old",
            ],
        );
        assert_eq!(
            e,
            refusal(&mm, &["repo-redirect", "add", "rawhide-old", "rawhide-old"])
        );
        let e = refusal(
            &mm,
            &[
                "repo-redirect",
                "edit",
                "rawhide-old",
                "--new-from",
                "epel-next",
            ],
        );
        assert_eq!(e, refusal(&mm, &["repo-redirect", "add", "epel-next", "x"]));
        refusal(&mm, &["repo-redirect", "show", "fedora-rawhide"]);

        // arch
        mm.run(&["arch", "add", "x86_64", "--primary"]).ok();
        let a = mm.run(&["arch", "show", "x86_64", "--json"]).ok().json();
        assert_eq!(
            (
                &a["name"],
                &a["primary_arch"],
                &a["publiclist"],
                &a["repositories"]
            ),
            (&"x86_64".into(), &true.into(), &true.into(), &0.into())
        );
        let text = mm.run(&["arch", "show", "x86_64"]).ok().stdout;
        assert!(
            text.starts_with("arch x86_64 (id ") && text.contains("primary: yes"),
            "{text}"
        );
        assert_eq!(
            refusal(&mm, &["arch", "show", "sparc"]),
            "error: no arch \"sparc\""
        );
    });
}

#[test]
fn embargoes_can_be_shown_and_edited_and_say_what_they_do() {
    for_each_backend(|db| {
        let mm = mirrormanager(db);
        network(&mm);
        let added = mm.run(&["embargo", "add", "de"]).ok().stdout;
        assert!(
            added.starts_with("embargoed DE: the next crawl disables mirrors in DE;")
                && added.contains("embargoed_countries of its config"),
            "{added}"
        );
        assert_eq!(
            refusal(&mm, &["embargo", "add", "UK"]),
            "error: \"UK\" is not an ISO 3166 country code (the United Kingdom is GB)"
        );
        assert_eq!(
            refusal(&mm, &["embargo", "add", "DE"]),
            "error: DE is already embargoed"
        );
        let shown = mm.run(&["embargo", "show", "DE", "--json"]).ok().json();
        assert_eq!(shown["country_code"], "DE");
        assert_eq!(shown["active_hosts"], serde_json::json!(["m2.example.edu"]));
        let text = mm.run(&["embargo", "show", "de"]).ok().stdout;
        assert!(
            text.contains("enabled mirrors there until the next crawl: m2.example.edu"),
            "{text}"
        );

        mm.run(&["embargo", "edit", "DE", "--new-country", "BY"])
            .ok();
        assert_eq!(
            mm.run(&["embargo", "list"]).ok().stdout.trim(),
            "BY",
            "the embargo moved"
        );
        refusal(&mm, &["embargo", "show", "DE"]);
        let lifted = mm.run(&["embargo", "remove", "by"]).ok().stdout;
        assert!(lifted.contains("--user-active true"), "{lifted}");
        assert_eq!(
            mm.run(&["embargo", "list", "--json"]).ok().json(),
            serde_json::json!([])
        );
    });
}
