//! Lock files across processes: a second instance exits 3 naming the holder; `kill -9` of
//! the holder frees the lock at once; `--wait` blocks until it is free.

use std::time::{Duration, Instant};

use mm_e2e::Runner;

fn wait_for_holder(mm: &Runner, name: &str, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let j = mm.run(&["locks", "--json"]).ok().json();
        let held = j
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == name && l["held"] == true && l["pid"] == pid);
        if held {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "lock {name} never showed holder {pid}: {j}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn second_instance_exits_3_and_kill_9_frees_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mm.toml");
    std::fs::write(
        &cfg,
        format!(
            "lock_dir = {:?}\n",
            dir.path().join("lock").display().to_string()
        ),
    )
    .unwrap();
    let mm = Runner::new("mirrormanager", &cfg);
    let mut first = mm
        .command(&["locks", "hold", "umdl-fedora-linux"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_holder(&mm, "umdl-fedora-linux", first.id());

    let r = mm
        .run(&["locks", "hold", "umdl-fedora-linux", "--seconds", "0"])
        .code(3);
    assert!(
        r.stderr.contains(&format!("pid {}", first.id())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("started"), "{}", r.stderr);
    let listing = mm.run(&["locks"]).ok().stdout;
    assert!(listing.contains("HELD"), "{listing}");

    // --wait blocks while it is held ...
    let mut waiter = mm
        .command(&[
            "locks",
            "hold",
            "umdl-fedora-linux",
            "--wait",
            "--seconds",
            "0",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "--wait returned while the lock was held"
    );

    // ... and kill -9 of the holder frees the lock at once: no stale lock.
    first.kill().unwrap();
    first.wait().unwrap();
    let t = Instant::now();
    let st = waiter.wait().unwrap();
    assert!(st.success());
    assert!(t.elapsed() < Duration::from_secs(5));
    mm.run(&["locks", "hold", "umdl-fedora-linux", "--seconds", "0"])
        .ok();
    let j = mm.run(&["locks", "--json"]).ok().json();
    assert_eq!(j[0]["held"], false);
}
