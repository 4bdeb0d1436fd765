//! `mm_sync_out` with real rsync to local-path targets (and a silent rsync daemon on
//! 127.0.0.1 for the timeout).

use std::path::{Path, PathBuf};

use mm_cachefile::*;
use mm_testkit::runner::{Run, Runner};

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    cache_dir: PathBuf,
}

fn cache(time: u64) -> MirrorList {
    MirrorList {
        time,
        hc_url_cache: vec![IntStringMap {
            key: 1,
            value: "https://m.example/pub".into(),
        }],
        mirror_list_cache: vec![MirrorListCacheType {
            directory: "pub/x".into(),
            global: vec![7],
            by_host_id: vec![IntRepeatedIntMap {
                key: 7,
                value: vec![1],
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn setup(targets: &[String], timeout_s: u64) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    std::fs::create_dir_all(&cache_dir).unwrap();
    write_atomic(&cache_dir.join("mirrorlist_cache.proto"), &cache(1000)).unwrap();
    std::fs::write(cache_dir.join("global_netblocks.txt"), "1.0.0.0/24 13335\n").unwrap();
    std::fs::write(cache_dir.join("country_continent.csv"), "DE,EU\n").unwrap();
    let config = dir.path().join("mm.toml");
    std::fs::write(
        &config,
        format!(
            "lock_dir = {:?}\ncache_dir = {:?}\n[sync_out]\ntargets = {:?}\ntimeout_s = {timeout_s}\n",
            dir.path().join("lock").display().to_string(),
            cache_dir.display().to_string(),
            targets
        ),
    )
    .unwrap();
    Setup {
        dir,
        config,
        cache_dir,
    }
}

fn run(s: &Setup, extra: &[&str]) -> Run {
    Runner::at(env!("CARGO_BIN_EXE_mm_sync_out"), &s.config).run(extra)
}

fn text(o: &Run) -> String {
    format!("{}{}", o.stdout, o.stderr)
}

fn target(base: &Path, name: &str) -> String {
    base.join(name).display().to_string()
}

#[test]
fn ships_to_every_target_and_reports() {
    let t = tempfile::tempdir().unwrap();
    let targets = vec![target(t.path(), "app1"), target(t.path(), "app2")];
    let s = setup(&targets, 30);
    let o = run(&s, &[]);
    assert!(o.code == 0, "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("time=1000 directories=1 hosts=1 urls=1 repos=0"),
        "{out}"
    );
    for tgt in &targets {
        assert!(out.contains(&format!("{tgt}: ok, ")), "{out}");
        for f in [
            "mirrorlist_cache.proto",
            "global_netblocks.txt",
            "country_continent.csv",
        ] {
            assert_eq!(
                std::fs::read(Path::new(tgt).join(f)).unwrap(),
                std::fs::read(s.cache_dir.join(f)).unwrap(),
                "{f} at {tgt}"
            );
        }
        assert!(!Path::new(tgt).join("i2_netblocks.txt").exists());
    }
    assert_eq!(
        std::fs::read_to_string(s.cache_dir.join("mm_sync_out.last")).unwrap(),
        "1000\n"
    );
    // The same cache again is fine; an older one is refused; --force ships it.
    assert!(run(&s, &[]).code == 0);
    write_atomic(&s.cache_dir.join("mirrorlist_cache.proto"), &cache(900)).unwrap();
    let o = run(&s, &[]);
    assert_eq!(o.code, 1);
    assert!(
        text(&o).contains("older than the last shipped cache"),
        "{}",
        text(&o)
    );
    assert_eq!(
        read(&Path::new(&targets[0]).join("mirrorlist_cache.proto"))
            .unwrap()
            .time,
        1000
    );
    let o = run(&s, &["--force"]);
    assert!(o.code == 0, "{}", text(&o));
    assert_eq!(
        read(&Path::new(&targets[0]).join("mirrorlist_cache.proto"))
            .unwrap()
            .time,
        900
    );
}

#[test]
fn bad_cache_is_never_shipped() {
    let t = tempfile::tempdir().unwrap();
    let s = setup(&[target(t.path(), "app1")], 30);
    std::fs::write(s.cache_dir.join("mirrorlist_cache.proto"), b"garbage").unwrap();
    let o = run(&s, &[]);
    assert_eq!(o.code, 1);
    assert!(text(&o).contains("refusing to ship"), "{}", text(&o));
    assert!(!t.path().join("app1").exists());
    // A cache with defects (host without URL entry) is refused too.
    let mut bad = cache(2000);
    bad.mirror_list_cache[0].global.push(8);
    write_atomic(&s.cache_dir.join("mirrorlist_cache.proto"), &bad).unwrap();
    let o = run(&s, &[]);
    assert_eq!(o.code, 1);
    assert!(
        text(&o).contains("host 8 is referenced without a URL entry"),
        "{}",
        text(&o)
    );
}

#[test]
fn failed_and_hanging_targets_are_named() {
    // A silent "rsync daemon": accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let t = tempfile::tempdir().unwrap();
    let good = target(t.path(), "good");
    let missing = "/nonexistent-mm-parent/deeper/app".to_string();
    let hanging = format!("rsync://127.0.0.1:{port}/module");
    let s = setup(&[good.clone(), missing.clone(), hanging.clone()], 2);
    let start = std::time::Instant::now();
    let o = run(&s, &[]);
    let out = text(&o);
    assert_eq!(o.code, 1, "{out}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "targets were not run with a timeout"
    );
    assert!(out.contains(&format!("{good}: ok")), "{out}");
    assert!(out.contains(&format!("{missing}: FAILED")), "{out}");
    assert!(
        out.contains(&format!("{hanging}: FAILED after")) && out.contains("timed out after 2s"),
        "{out}"
    );
    assert!(
        out.contains(&format!("failed targets: {missing}, {hanging}")),
        "{out}"
    );
    assert!(Path::new(&good).join("mirrorlist_cache.proto").exists());
    // Nothing is recorded as shipped when a target failed.
    assert!(!s.cache_dir.join("mm_sync_out.last").exists());
}

#[test]
fn public_list_is_shipped_only_when_complete() {
    let t = tempfile::tempdir().unwrap();
    let app = target(t.path(), "app");
    let s = setup(std::slice::from_ref(&app), 30);
    let pl = s.cache_dir.join("publiclist");
    std::fs::create_dir_all(&pl).unwrap();
    std::fs::write(pl.join("index.html"), "<!doctype html>").unwrap();
    let o = run(&s, &[]);
    assert_eq!(o.code, 1, "{}", text(&o));
    assert!(text(&o).contains("public list not shipped"), "{}", text(&o));
    assert!(Path::new(&app).join("mirrorlist_cache.proto").exists());
    assert!(!Path::new(&app).join("publiclist").exists());
    std::fs::write(pl.join("mirrors.json"), "{\"version\": 1}").unwrap();
    let o = run(&s, &[]);
    assert!(o.code == 0, "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(Path::new(&app).join("publiclist/mirrors.json")).unwrap(),
        "{\"version\": 1}"
    );
}

#[test]
fn lock_and_usage() {
    let t = tempfile::tempdir().unwrap();
    let s = setup(&[target(t.path(), "app")], 30);
    let _held = mm_core::lock::acquire(&s.dir.path().join("lock"), "mm_sync_out", false).unwrap();
    let o = run(&s, &[]);
    assert_eq!(o.code, 3, "{}", text(&o));
    drop(_held);
    let empty = setup(&[], 30);
    let o = run(&empty, &[]);
    assert_eq!(o.code, 1);
    assert!(text(&o).contains("no targets"), "{}", text(&o));
    let o = run(&empty, &["--target", &target(t.path(), "cli")]);
    assert!(o.code == 0, "{}", text(&o));
    assert!(t.path().join("cli/mirrorlist_cache.proto").exists());
}

#[test]
fn two_local_targets_succeed_and_an_unreachable_ssh_target_is_named() {
    mm_testkit::require_tool("ssh");
    let t = tempfile::tempdir().unwrap();
    let a = target(t.path(), "app1");
    let b = target(t.path(), "app2");
    // Nothing accepts ssh on this loopback address (and BatchMode never prompts).
    let unreachable = "mirrormanager@127.0.0.254:/var/lib/mirrormanager".to_string();
    let s = setup(&[a.clone(), unreachable.clone(), b.clone()], 30);
    let o = run(&s, &[]);
    let out = text(&o);
    assert_eq!(o.code, 1, "{out}");
    assert!(
        out.contains(&format!("{a}: ok")) && out.contains(&format!("{b}: ok")),
        "{out}"
    );
    assert!(out.contains(&format!("{unreachable}: FAILED")), "{out}");
    assert!(
        out.contains(&format!("failed targets: {unreachable}")),
        "{out}"
    );
    for dir in [&a, &b] {
        assert!(Path::new(dir).join("mirrorlist_cache.proto").is_file());
    }
}

#[test]
fn an_ssh_key_path_with_a_space_reaches_ssh_as_one_argument() {
    mm_testkit::require_tool("ssh");
    let t = tempfile::tempdir().unwrap();
    // The key need not exist: ssh names the file it could not read, and a path split at
    // the space would instead make ssh take "dir/id_ed25519" for the host name.
    let key = t.path().join("key dir").join("id_ed25519");
    let unreachable = "mirrormanager@127.0.0.254:/var/lib/mirrormanager".to_string();
    let s = setup(std::slice::from_ref(&unreachable), 30);
    let mut cfg = std::fs::read_to_string(&s.config).unwrap();
    cfg = cfg.replace(
        "[sync_out]\n",
        &format!("[sync_out]\nssh_key = {:?}\n", key.display().to_string()),
    );
    std::fs::write(&s.config, cfg).unwrap();
    let o = run(&s, &[]);
    let out = text(&o);
    assert_eq!(o.code, 1, "{out}");
    assert!(out.contains(&format!("{}", key.display())), "{out}");
    assert!(!out.contains("Could not resolve hostname"), "{out}");
}

#[test]
fn an_ssh_key_path_with_both_quote_kinds_is_a_config_error() {
    let s = setup(&[], 30);
    let mut cfg = std::fs::read_to_string(&s.config).unwrap();
    cfg = cfg.replace(
        "[sync_out]\n",
        "[sync_out]\nssh_key = \"/etc/it's \\\"odd\\\"/key\"\n",
    );
    std::fs::write(&s.config, cfg).unwrap();
    let o = run(&s, &[]);
    let out = text(&o);
    assert_eq!(o.code, 2, "{out}");
    assert!(out.contains("sync_out.ssh_key"), "{out}");
}
