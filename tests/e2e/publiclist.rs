//! The SOP chain `mirrormanager publiclist && mm_sync_out` on a network built with the admin
//! CLI: the generated tree is shipped to the app server's `publiclist/`.

use diesel::prelude::*;
use mm_core::schema::host;
use mm_e2e::Runner;
use mm_testkit::for_each_backend;

use crate::admin::build_network;

#[test]
fn publiclist_then_sync_out_ships_the_tree() {
    for_each_backend(|db| {
        let app = db.dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        let cfg = db.config_file(&format!(
            "[sync_out]\ntargets = [{:?}]\n",
            app.display().to_string()
        ));
        let mm = Runner::new("mirrormanager", &cfg);
        build_network(&mm);
        mm.run(&["arch", "add", "x86_64", "--primary"]).ok();
        mm.run(&["version", "add", "Fedora", "41"]).ok();
        mm.run(&[
            "version",
            "add",
            "Fedora",
            "development",
            "--sortorder",
            "1",
        ])
        .ok();
        // The crawler has visited a.one.example; b.one.example never was.
        diesel::update(host::table.filter(host::name.eq("a.one.example")))
            .set(host::last_crawled.eq(Some(chrono::Utc::now().naive_utc())))
            .execute(&mut db.conn)
            .unwrap();

        Runner::new("update-mirrorlist-server", &cfg).run(&[]).ok();
        let run = mm.run(&["publiclist"]).ok();
        assert!(
            run.stdout
                .contains("publiclist: 5 pages written, 1 hosts listed"),
            "{}",
            run.stdout
        );
        Runner::new("mm_sync_out", &cfg).run(&[]).ok();

        let out = db.dir.path().join("cache").join("publiclist");
        for f in [
            "index.html",
            "mirrors.json",
            "style.css",
            "Fedora/index.html",
            "Fedora/41/index.html",
            "EPEL/index.html",
        ] {
            let shipped = std::fs::read(app.join("publiclist").join(f))
                .unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(shipped, std::fs::read(out.join(f)).unwrap(), "{f}");
        }
        let index = std::fs::read_to_string(app.join("publiclist/index.html")).unwrap();
        assert!(index.find(">rawhide<").unwrap() < index.find(">41<").unwrap());
        let fedora = std::fs::read_to_string(app.join("publiclist/Fedora/index.html")).unwrap();
        assert!(fedora.contains("1 public active mirrors"));
        assert!(fedora.contains("<a href=\"https://a.one.example/fedora/linux\">https</a>"));
        // (`url add` may normalise the trailing slash)
        assert!(
            fedora.contains("<a href=\"rsync://a.one.example/fedora/linux"),
            "{fedora}"
        );
        assert!(fedora.contains("\">rsync</a>"));
        assert!(!fedora.contains("b.one.example") && !fedora.contains("c.two.example"));
        let epel = std::fs::read_to_string(app.join("publiclist/EPEL/index.html")).unwrap();
        assert!(epel.contains("<a href=\"http://a.one.example/epel\">http</a>"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(app.join("publiclist/mirrors.json")).unwrap())
                .unwrap();
        let names: Vec<&str> = json["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["b.one.example", "a.one.example"],
            "CA before US; the private host absent"
        );
        assert!(
            !std::fs::read_to_string(out.join("mirrors.json"))
                .unwrap()
                .contains("c.two.example")
        );
    });
}
