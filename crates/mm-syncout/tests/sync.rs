//! `mm_sync_out` with real rsync to local-path targets (and a silent rsync daemon on
//! 127.0.0.1 for the timeout).

use std::path::{Path, PathBuf};
use std::process::Stdio;

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
    // A data file kept as a symlink arrives as the file, not as a link that would dangle
    // on the app server.
    let real = t.path().join("continents.csv");
    std::fs::rename(s.cache_dir.join("country_continent.csv"), &real).unwrap();
    std::os::unix::fs::symlink(&real, s.cache_dir.join("country_continent.csv")).unwrap();
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
        let shipped = std::fs::symlink_metadata(Path::new(tgt).join("country_continent.csv"));
        assert!(shipped.unwrap().is_file(), "a regular file at {tgt}");
    }
    assert_eq!(
        std::fs::read_to_string(s.cache_dir.join("mm_sync_out.last")).unwrap(),
        "1000\n"
    );
    // An empty data file (a failed download) is not shipped: the targets keep theirs.
    std::fs::remove_file(s.cache_dir.join("country_continent.csv")).unwrap();
    std::fs::write(s.cache_dir.join("country_continent.csv"), "").unwrap();
    let o = run(&s, &[]);
    assert_eq!(o.code, 1, "{}", text(&o));
    assert!(
        text(&o).contains("empty data files not shipped (the app servers keep theirs)"),
        "{}",
        text(&o)
    );
    for tgt in &targets {
        assert_eq!(
            std::fs::read_to_string(Path::new(tgt).join("country_continent.csv")).unwrap(),
            "DE,EU\n"
        );
    }
    std::fs::write(s.cache_dir.join("country_continent.csv"), "DE,EU\n").unwrap();
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

/// A fake `ssh` first in a PATH: a real ssh cannot be made to hang on demand. It connects
/// to nothing and never exits, holding rsync's stderr open as a stuck ssh would.
struct HungSsh {
    _dir: tempfile::TempDir,
    path: String,
    pidfile: PathBuf,
}

impl HungSsh {
    fn new() -> HungSsh {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let pidfile = dir.path().join("ssh.pid");
        let ssh = bin.join("ssh");
        std::fs::write(
            &ssh,
            format!(
                "#!/bin/sh\necho $$ > '{}'\nexec sleep 30\n",
                pidfile.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        HungSsh {
            _dir: dir,
            path,
            pidfile,
        }
    }

    /// The fake ssh was killed with rsync, not left running.
    fn assert_dead(&self) {
        let pid = std::fs::read_to_string(&self.pidfile)
            .unwrap()
            .trim()
            .to_string();
        let stat = Path::new("/proc").join(&pid).join("stat");
        let alive = || {
            std::fs::read_to_string(&stat).is_ok_and(|st| {
                st.contains("(sleep)")
                    && st
                        .rsplit(')')
                        .next()
                        .unwrap()
                        .trim_start()
                        .starts_with(|c| c != 'Z')
            })
        };
        let wait = std::time::Instant::now();
        while alive() && wait.elapsed() < std::time::Duration::from_secs(2) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!alive(), "the fake ssh (pid {pid}) outlived the run");
    }
}

fn finished(o: std::process::Output) -> Run {
    let o = Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    eprintln!("stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    o
}

#[test]
fn a_hung_ssh_is_killed_at_the_timeout() {
    let ssh = HungSsh::new();
    let t = tempfile::tempdir().unwrap();
    let good = target(t.path(), "good");
    let hung = "fakehost:/srv/x".to_string();
    let s = setup(&[good.clone(), hung.clone()], 2);
    let start = std::time::Instant::now();
    let o = finished(
        Runner::at(env!("CARGO_BIN_EXE_mm_sync_out"), &s.config)
            .command(&[])
            .env("PATH", &ssh.path)
            .output()
            .unwrap(),
    );
    let took = start.elapsed();
    let out = text(&o);
    assert_eq!(o.code, 1, "{out}");
    assert!(
        took < std::time::Duration::from_secs(6),
        "the run took {took:?} with a 2 s timeout\n{out}"
    );
    assert!(out.contains(&format!("{good}: ok")), "{out}");
    assert!(
        out.contains(&format!("{hung}: FAILED after 2.")) && out.contains("timed out after 2s"),
        "{out}"
    );
    assert!(out.contains(&format!("failed targets: {hung}")), "{out}");
    ssh.assert_dead();
    // The lock is free again: the next run is not refused with exit 3.
    let o = run(&s, &["--target", &good]);
    assert!(o.code == 0, "{}", text(&o));
}

/// rsync runs in a process group of its own, out of reach of a terminal's Ctrl-C: the job
/// must stop it (and its ssh) itself when interrupted.
#[test]
fn an_interrupted_run_stops_its_rsync_and_ssh() {
    let ssh = HungSsh::new();
    let s = setup(&["fakehost:/srv/x".to_string()], 60);
    let start = std::time::Instant::now();
    let child = Runner::at(env!("CARGO_BIN_EXE_mm_sync_out"), &s.config)
        .command(&[])
        .env("PATH", &ssh.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while !ssh.pidfile.exists() && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(ssh.pidfile.exists(), "rsync never started ssh");
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let o = finished(child.wait_with_output().unwrap());
    let out = text(&o);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(8),
        "the interrupted run took {:?}\n{out}",
        start.elapsed()
    );
    assert_eq!(o.code, 1, "{out}");
    assert!(out.contains("interrupted by a signal"), "{out}");
    ssh.assert_dead();
}

#[test]
fn a_cache_under_another_name_arrives_as_mirrorlist_cache_proto() {
    let t = tempfile::tempdir().unwrap();
    let app = target(t.path(), "app");
    let s = setup(std::slice::from_ref(&app), 30);
    assert!(run(&s, &[]).code == 0);
    // Roll back to a saved older cache kept elsewhere under its own name.
    let saved = t.path().join("saved");
    std::fs::create_dir(&saved).unwrap();
    let old = saved.join("old.proto");
    write_atomic(&old, &cache(900)).unwrap();
    let o = run(&s, &["-c", &old.display().to_string(), "--force"]);
    assert!(o.code == 0, "{}", text(&o));
    let shipped = Path::new(&app).join("mirrorlist_cache.proto");
    assert_eq!(
        std::fs::read(&shipped).unwrap(),
        std::fs::read(&old).unwrap()
    );
    assert!(!Path::new(&app).join("old.proto").exists());
    // The staging directory is gone; only the saved cache is left beside it.
    let left: Vec<_> = std::fs::read_dir(&saved)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["old.proto"]);
    // A cache given through a symlink arrives as the file, not as a symlink.
    let link = saved.join("current.proto");
    write_atomic(&s.cache_dir.join("newer.proto"), &cache(1100)).unwrap();
    std::os::unix::fs::symlink(s.cache_dir.join("newer.proto"), &link).unwrap();
    let o = run(&s, &["-c", &link.display().to_string()]);
    assert!(o.code == 0, "{}", text(&o));
    assert!(std::fs::symlink_metadata(&shipped).unwrap().is_file());
    assert_eq!(read(&shipped).unwrap().time, 1100);
    assert!(!Path::new(&app).join("current.proto").exists());
    assert!(!Path::new(&app).join("newer.proto").exists());
}
