//! `cargo xtask demo`: the whole pipeline as a sysadmin runs it, on the embedded SQLite
//! database, with nothing installed by hand.
//!
//! It builds the binaries, generates a master tree with two Fedora releases, starts three
//! local mirrors on 127.0.0.1 (current, stale, partial; served by a built-in static HTTP
//! server), registers them with the admin CLI, then runs update-master-directory-list →
//! mm2_crawler → update-mirrorlist-server → mm_sync_out (to a local "app server"
//! directory) → mirrorlist-server on that copy, and prints its answers to a metalink and a
//! mirrorlist request: the stale and the partial mirror are not offered for the new release.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::static_http;

struct Demo {
    dir: PathBuf,
    bin: PathBuf,
}

/// Kills the mirrorlist server when the demo ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Demo {
    fn config(&self) -> PathBuf {
        self.dir.join("mirrormanager.toml")
    }

    /// Run one of our binaries with the demo config, echoing the command line.
    fn run(&self, bin: &str, args: &[&str]) -> Result<String> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("{a:?}")
                } else {
                    a.to_string()
                }
            })
            .collect();
        println!("$ {bin} {}", shown.join(" "));
        let out = Command::new(self.bin.join(bin))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .with_context(|| format!("run {bin}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        print!("{stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for l in stderr.lines().filter(|l| !l.contains(" DEBUG ")) {
            println!("  {l}");
        }
        if !out.status.success() {
            bail!("{bin} {} failed ({})", args.join(" "), out.status);
        }
        Ok(stdout)
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

fn http_get(url: &str) -> Result<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .get(url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    Ok((status, resp.body_mut().read_to_string()?))
}

pub fn run(_args: &[String]) -> Result<()> {
    let started = Instant::now();
    crate::run(crate::cargo().args(["build", "--workspace", "--bins"]))?;
    let build_done = Instant::now();
    let dir = crate::root().join("target/demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let demo = Demo {
        dir: dir.clone(),
        bin: crate::root().join("target/debug"),
    };

    // 1. The master tree: Fedora 41 and 42, x86_64 and source, with repodata.
    let srv = dir.join("srv");
    let spec = mm_umdl::generate::Spec {
        fedora_releases: vec![41, 42],
        epel_releases: vec![],
        arches: vec!["x86_64".into()],
        package_dirs: 2,
        packages_per_dir: 3,
        // umdl walks the tree (the fullfiletimelist fast path has its own tests)
        fullfiletimelist: false,
        ..Default::default()
    };
    let g = mm_umdl::generate::generate(&srv, &spec).context("generate the master tree")?;
    let top = "pub/fedora/linux";
    for n in [41, 42] {
        // as in Fedora's trees, the repository directory itself has files (a compose's .treeinfo)
        std::fs::write(
            srv.join(top)
                .join(format!("releases/{n}/Everything/x86_64/os/.treeinfo")),
            format!("[general]\nname = Fedora {n}\ncompose = Fedora-{n}-20261125.0\n"),
        )?;
    }
    println!(
        "master tree {}: {} directories, {} files",
        srv.display(),
        g.dirs,
        g.files + 2
    );

    // 2. Three mirrors: current, stale (an older compose of 42), partial (no release 42).
    let mirrors = dir.join("mirrors");
    for name in ["current", "stale", "partial"] {
        copy_tree(&srv.join(top), &mirrors.join(name).join(top))?;
    }
    let r42 = "releases/42/Everything/x86_64/os";
    std::fs::write(
        mirrors
            .join("stale")
            .join(top)
            .join(r42)
            .join("repodata/repomd.xml"),
        "<?xml version=\"1.0\"?><repomd><revision>1</revision></repomd>\n",
    )?;
    std::fs::write(
        mirrors.join("stale").join(top).join(r42).join(".treeinfo"),
        "[general]\nname = Fedora 42\ncompose = Fedora-42-20261101.0.n\n",
    )?;
    std::fs::remove_dir_all(mirrors.join("partial").join(top).join("releases/42"))?;
    let servers: Vec<(String, static_http::StaticServer)> = ["current", "stale", "partial"]
        .iter()
        .map(|n| Ok((n.to_string(), static_http::serve(&mirrors.join(n))?)))
        .collect::<std::io::Result<_>>()?;
    for (n, s) in &servers {
        println!("mirror {n}: http://127.0.0.1:{}/{top}", s.port);
    }

    // 3. Configuration: embedded SQLite, everything under target/demo.
    let appserver = dir.join("appserver");
    std::fs::create_dir_all(&appserver)?;
    std::fs::write(
        demo.config(),
        format!(
            "database_url = \"sqlite://{d}/mirrormanager.db\"\nlock_dir = \"{d}/lock\"\nlog_dir = \"{d}/log\"\n\
             cache_dir = \"{d}/cache\"\nembargoed_countries = []\n\n[umdl]\nprefix = \"{srv}/\"\n\n\
             [[umdl.master_directories]]\ntype = \"directory\"\npath = \"{srv}/{top}\"\ncategory = \"Fedora Linux\"\n\n\
             [crawler]\nthreads = 3\nhost_timeout_minutes = 2\n\n[sync_out]\ntargets = [\"{app}\"]\ntimeout_s = 60\n",
            d = dir.display(),
            srv = srv.display(),
            app = appserver.display(),
        ),
    )?;

    // 4. The database and the network, as a sysadmin types it.
    let mm = |args: &[&str]| demo.run("mirrormanager", args);
    mm(&["db", "migrate"])?;
    mm(&["product", "add", "Fedora"])?;
    mm(&[
        "category",
        "add",
        "Fedora Linux",
        "--topdir",
        top,
        "--product",
        "Fedora",
    ])?;
    demo.run("update-master-directory-list", &[])?;
    mm(&[
        "site",
        "add",
        "Demo Mirrors",
        "--org-url",
        "https://mirrors.example",
    ])?;
    for ((name, server), country) in servers.iter().zip(["US", "DE", "FR"]) {
        let host = format!("{name}.mirror.example");
        mm(&[
            "host",
            "add",
            "Demo Mirrors",
            &host,
            "--country",
            country,
            "--bandwidth",
            "1000",
        ])?;
        mm(&["host-category", "add", &host, "Fedora Linux"])?;
        mm(&[
            "url",
            "add",
            &host,
            "Fedora Linux",
            &format!("http://127.0.0.1:{}/{top}", server.port),
        ])?;
    }

    // 5. The backend jobs, in cron's order.
    demo.run("mm2_crawler", &[])?;
    demo.run("update-mirrorlist-server", &[])?;
    demo.run("mm_sync_out", &[])?;

    // 6. The app server: mirrorlist-server on the shipped copy.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    println!(
        "$ mirrorlist-server -c {}/mirrorlist_cache.proto --listen 127.0.0.1 -p {port}",
        appserver.display()
    );
    let server = KillOnDrop(
        Command::new(demo.bin.join("mirrorlist-server"))
            .arg("--config")
            .arg(demo.config())
            .arg("-c")
            .arg(appserver.join("mirrorlist_cache.proto"))
            .args(["--listen", "127.0.0.1", "-p", &port.to_string(), "-l"])
            .arg(dir.join("mirrorlist-access.log"))
            .spawn()
            .context("start mirrorlist-server")?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(&format!("{base}/healthz"))
        .map(|(s, _)| s != 200)
        .unwrap_or(true)
    {
        if Instant::now() > deadline {
            bail!("mirrorlist-server did not become healthy");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut shown = String::new();
    for q in [
        "/metalink?repo=fedora-42&arch=x86_64",
        "/mirrorlist?repo=fedora-42&arch=x86_64",
        "/mirrorlist?repo=fedora-41&arch=x86_64",
    ] {
        let (status, body) = http_get(&format!("{base}{q}"))?;
        println!("\n$ curl '{base}{q}'   # HTTP {status}\n{body}");
        if status != 200 {
            bail!("{q} answered {status}");
        }
        shown += &body;
        shown.push('\n');
    }
    drop(server);

    // 7. What the demo shows.
    let port_of = |n: &str| {
        servers
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, s)| s.port)
            .unwrap_or(0)
    };
    let (metalink42, rest) = shown.split_once("</metalink>").unwrap_or((&shown, ""));
    let (list42, list41) = rest.split_once("# repo = fedora-41").unwrap_or((rest, ""));
    for (what, text) in [
        ("fedora-42 metalink", metalink42),
        ("fedora-42 mirrorlist", list42),
    ] {
        let has = |n: &str| text.contains(&format!("127.0.0.1:{}/", port_of(n)));
        println!(
            "{what}: current mirror {}, stale mirror {}, partial mirror {}",
            if has("current") { "offered" } else { "MISSING" },
            if has("stale") {
                "OFFERED (wrong)"
            } else {
                "excluded"
            },
            if has("partial") {
                "OFFERED (wrong)"
            } else {
                "excluded"
            },
        );
        if !has("current") || has("stale") || has("partial") {
            bail!("the {what} does not show the expected mirrors");
        }
    }
    let all41 = ["current", "stale", "partial"]
        .iter()
        .all(|n| list41.contains(&format!("127.0.0.1:{}/", port_of(n))));
    println!(
        "fedora-41 mirrorlist: all three mirrors {}",
        if all41 { "offered" } else { "NOT all offered" }
    );
    drop(servers);
    println!(
        "\ndemo done in {:.1}s after a {:.1}s build; everything is under {}",
        build_done.elapsed().as_secs_f64(),
        (build_done - started).as_secs_f64(),
        dir.display()
    );
    Ok(())
}
