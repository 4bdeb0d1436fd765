//! `mirrormanager … | head` on both databases: a reader that goes away ends the output
//! quietly (exit 0, no panic), and a command that changes the database has committed its
//! change before it prints a line of it.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

use diesel::prelude::*;
use mm_core::db::DbConn;
use mm_core::models::NewHost;
use mm_core::schema::*;
use mm_testkit::fixture;
use mm_testkit::{TestDb, for_each_backend};

use super::mirrormanager;

/// Run `args` with a stdout pipe whose reader is already closed: every write to stdout
/// fails with EPIPE.
fn run_into_closed_pipe(db: &TestDb, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = mirrormanager(db)
        .command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    eprintln!(
        "{args:?} into a closed pipe: {:?}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Run `args | head -n LINES`: read that many lines, close the pipe while the command is
/// still writing, and return those lines with how the command ended.
fn run_into_head(db: &TestDb, args: &[&str], lines: usize) -> (Vec<String>, Output) {
    let mut child = mirrormanager(db)
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut read = Vec::new();
    for _ in 0..lines {
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
        read.push(l.trim_end().to_owned());
    }
    drop(reader);
    let o = child.wait_with_output().unwrap();
    eprintln!(
        "{args:?} | head -n {lines}: {:?}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    (read, o)
}

fn assert_quiet_success(args: &[&str], o: &Output) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{args:?}: {stderr}"
    );
}

/// Fedora 43 with `n` repositories still in development/43 and their releases/43 twins;
/// paths long enough that the moved lines overflow a pipe buffer (64 KiB).
fn release_day(conn: &mut DbConn, n: usize) {
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let fedora = fixture::product(conn, "Fedora", true)?;
        let cat = fixture::category(conn, "Fedora Linux", fedora, "pub/fedora/linux")?;
        let v43 = fixture::version(conn, fedora, "43", 43, false)?;
        let x86 = fixture::arch(conn, "x86_64", true)?;
        let tail = "Everything/x86_64/os/with/a/path/long/enough/to/fill/the/pipe/buffer";
        for i in 0..n {
            fixture::repository(
                conn,
                &format!("fedora-43-{i}"),
                cat,
                v43,
                x86,
                &format!("pub/fedora/linux/development/43/{tail}/{i}"),
            )?;
            fixture::directory(conn, &format!("pub/fedora/linux/releases/43/{tail}/{i}"))?;
        }
        Ok(())
    })
    .unwrap();
}

fn repositories_in(conn: &mut DbConn, tree: &str) -> i64 {
    repository::table
        .inner_join(directory::table)
        .filter(directory::name.like(format!("{tree}/%")))
        .count()
        .get_result(conn)
        .unwrap()
}

#[test]
fn move_devel_to_release_into_head_moves_every_repository_and_exits_0() {
    for_each_backend(|db| {
        let n = 400;
        release_day(&mut db.conn, n);
        let args = ["move-devel-to-release", "--version", "43"];
        let (lines, o) = run_into_head(db, &args, 2);
        assert_quiet_success(&args, &o);
        assert!(
            lines.iter().all(|l| l.contains("/development/43/")
                && l.contains(" => pub/fedora/linux/releases/43/")),
            "{lines:?}"
        );
        // The output was cut short, the move was not.
        assert_eq!(
            repositories_in(&mut db.conn, "pub/fedora/linux/releases/43"),
            n as i64
        );
        assert_eq!(
            repositories_in(&mut db.conn, "pub/fedora/linux/development/43"),
            0
        );
        // Nothing is left to move.
        let all = mirrormanager(db)
            .run(&["move-devel-to-release", "--version", "43", "--dry-run"])
            .ok();
        assert_eq!(all.stdout.trim(), "would move 0 repositories");
    });
}

#[test]
fn changes_printed_into_a_closed_pipe_are_committed() {
    for_each_backend(|db| {
        release_day(&mut db.conn, 3);
        let args = ["move-devel-to-release", "--version", "43", "--json"];
        assert_quiet_success(&args, &run_into_closed_pipe(db, &args));
        assert_eq!(
            repositories_in(&mut db.conn, "pub/fedora/linux/releases/43"),
            3
        );

        // emergency-expire-repo: the mirror's directory is marked not up to date.
        let site = fixture::site(&mut db.conn, &fixture::new_site("Site", None)).unwrap();
        let host = fixture::host(
            &mut db.conn,
            &NewHost::new(site, "mirror.example.org", "DE"),
            None,
        )
        .unwrap();
        let cat = fixture::bare_category(&mut db.conn, "Other").unwrap();
        let hc = fixture::host_category(&mut db.conn, host, cat, false).unwrap();
        let dir: Option<i32> = repository::table
            .filter(repository::prefix.eq("fedora-43-0"))
            .select(repository::directory_id)
            .first(&mut db.conn)
            .unwrap();
        fixture::host_category_dir(&mut db.conn, hc, dir.unwrap(), "x", true).unwrap();
        let args = ["emergency-expire-repo", "--repo", "fedora-43-0"];
        assert_quiet_success(&args, &run_into_closed_pipe(db, &args));
        let up2date: bool = host_category_dir::table
            .filter(host_category_dir::host_category_id.eq(hc))
            .select(host_category_dir::up2date)
            .first(&mut db.conn)
            .unwrap();
        assert!(!up2date, "the expiry was rolled back");

        // An add prints its one line after the commit, too.
        let args = ["site", "add", "Piped Site"];
        assert_quiet_success(&args, &run_into_closed_pipe(db, &args));
        let sites: i64 = site::table
            .filter(site::name.eq("Piped Site"))
            .count()
            .get_result(&mut db.conn)
            .unwrap();
        assert_eq!(sites, 1);
    });
}

/// Any other write error (a full disk behind `>`) fails the command, and says that the
/// change was committed all the same, so nobody retries into "already exists".
#[test]
fn a_full_disk_behind_stdout_says_the_change_was_committed() {
    for_each_backend(|db| {
        let o = mirrormanager(db)
            .command(&["product", "add", "Fedora"])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("writing to stdout (the change was committed)"),
            "{stderr}"
        );
        let n: i64 = product::table
            .filter(product::name.eq("Fedora"))
            .count()
            .get_result(&mut db.conn)
            .unwrap();
        assert_eq!(n, 1);
    });
}

#[test]
fn listings_into_a_closed_pipe_exit_0() {
    for_each_backend(|db| {
        let site = fixture::site(&mut db.conn, &fixture::new_site("Site", None)).unwrap();
        for i in 0..50 {
            fixture::host(
                &mut db.conn,
                &NewHost::new(site, &format!("m{i}.example.org"), "DE"),
                None,
            )
            .unwrap();
        }
        for args in [
            &["host", "list"][..],
            &["host", "list", "--json"],
            &["site", "show", "Site", "--json"],
            &["db", "check"],
            &["db", "check", "--json"],
            &["status", "--json"],
            &["locks"],
            &["expire-stats", "--dry-run"],
        ] {
            assert_quiet_success(args, &run_into_closed_pipe(db, args));
        }
        // A refusal still says why and exits 1 when nobody reads stdout.
        let args = ["host", "show", "nope.example.org"];
        let o = run_into_closed_pipe(db, &args);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            "error: no host \"nope.example.org\""
        );
    });
}
