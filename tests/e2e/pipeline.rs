//! The whole pipeline as cron runs it, on both databases: update-master-directory-list →
//! mm2_crawler → update-mirrorlist-server → mm_sync_out → mirrorlist-server, with three
//! real mirrors (nginx on 127.0.0.1): current, stale and partial.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mm_e2e::Runner;
use mm_testkit::for_each_backend;
use mm_testkit::servers::{Server, nginx};

const TOP: &str = "pub/fedora/linux";

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

#[test]
fn pipeline_excludes_stale_and_partial_mirrors_on_both_databases() {
    for_each_backend(|db| {
        let work = db.dir.path();
        let srv = work.join("srv");
        let spec = mm_umdl::generate::Spec {
            fedora_releases: vec![41, 42],
            epel_releases: vec![],
            arches: vec!["x86_64".into()],
            package_dirs: 2,
            packages_per_dir: 2,
            fullfiletimelist: true,
            ..Default::default()
        };
        mm_umdl::generate::generate(&srv, &spec).unwrap();
        let r42 = "releases/42/Everything/x86_64/os";
        let mirrors = work.join("mirrors");
        for m in ["current", "stale", "partial"] {
            copy_tree(&srv.join(TOP), &mirrors.join(m).join(TOP));
        }
        std::fs::write(
            mirrors
                .join("stale")
                .join(TOP)
                .join(r42)
                .join("repodata/repomd.xml"),
            "<repomd>old</repomd>\n",
        )
        .unwrap();
        std::fs::remove_dir_all(mirrors.join("partial").join(TOP).join("releases/42")).unwrap();
        let servers: Vec<Server> = ["current", "stale", "partial"]
            .iter()
            .map(|m| nginx(&mirrors.join(m)))
            .collect();
        let app = work.join("app");
        std::fs::create_dir_all(&app).unwrap();
        let cfg = db.config_file(&format!(
            "embargoed_countries = []\n[umdl]\nprefix = \"{srv}/\"\n[[umdl.master_directories]]\ntype = \"directory\"\n\
             path = \"{srv}/{TOP}\"\ncategory = \"Fedora Linux\"\n[crawler]\nthreads = 3\n[sync_out]\ntargets = [\"{app}\"]\n",
            srv = srv.display(),
            app = app.display(),
        ));
        let mm = Runner::new("mirrormanager", &cfg);
        mm.add_category("Fedora Linux", TOP, "Fedora");
        Runner::new("update-master-directory-list", &cfg)
            .run(&[])
            .ok();
        mm.run(&["site", "add", "Mirrors"]).ok();
        for (name, s) in ["current", "stale", "partial"].iter().zip(&servers) {
            let host = format!("{name}.example");
            mm.run(&["host", "add", "Mirrors", &host, "--country", "US"])
                .ok();
            mm.run(&["host-category", "add", &host, "Fedora Linux"])
                .ok();
            mm.run(&[
                "url",
                "add",
                &host,
                "Fedora Linux",
                &format!("http://127.0.0.1:{}/{TOP}", s.port),
            ])
            .ok();
        }
        Runner::new("mm2_crawler", &cfg).run(&[]).ok();
        let r = Runner::new("update-mirrorlist-server", &cfg).run(&[]).ok();
        assert!(r.stdout.contains("hosts=3"), "{}", r.stdout);
        Runner::new("mm_sync_out", &cfg).run(&[]).ok();
        assert!(app.join("mirrorlist_cache.proto").is_file());

        let port = mm_testkit::free_port();
        let _server = Kill(
            Runner::new("mirrorlist-server", &cfg)
                .command(&[
                    "-c",
                    &app.join("mirrorlist_cache.proto").display().to_string(),
                    "--listen",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "--threads",
                    "1",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mirrorlist-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        // --threads 1: one tokio worker answers
        let tasks = std::fs::read_dir(format!("/proc/{}/task", _server.0.id())).unwrap();
        let workers = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|c| c.trim() == "tokio-rt-worker")
            .count();
        assert_eq!(workers, 1, "worker threads with --threads 1");
        let (status, metalink) = get(&format!("{base}/metalink?repo=fedora-42&arch=x86_64"));
        assert_eq!(status, 200, "{metalink}");
        let has = |text: &str, i: usize| text.contains(&format!("127.0.0.1:{}/", servers[i].port));
        assert!(has(&metalink, 0), "current mirror missing:\n{metalink}");
        assert!(!has(&metalink, 1), "stale mirror offered:\n{metalink}");
        assert!(!has(&metalink, 2), "partial mirror offered:\n{metalink}");
        assert!(metalink.contains("<hash type=\"sha256\">"), "{metalink}");
        let (status, list41) = get(&format!("{base}/mirrorlist?repo=fedora-41&arch=x86_64"));
        assert_eq!(status, 200);
        assert!(
            (0..3).all(|i| has(&list41, i)),
            "all mirrors carry 41:\n{list41}"
        );
        let (status, body) = get(&format!("{base}/mirrorlist?repo=fedora-99&arch=x86_64"));
        assert_eq!(status, 404, "{body}");
    });
}
