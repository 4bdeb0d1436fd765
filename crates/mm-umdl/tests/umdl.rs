//! End-to-end tests of update-master-directory-list: the real binary on generated
//! Fedora-shaped trees, against SQLite and PostgreSQL, with a real rsync daemon.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::prelude::*;
use mm_core::schema::*;
use mm_testkit::fixture;
use mm_testkit::runner::{Run, Runner};
use mm_testkit::{DbConn, TestDb, for_each_backend};
use mm_umdl::generate::{Spec, fullfiletimelist_for, generate, repomd_xml};
use sha2::Digest;

const UMDL: &str = env!("CARGO_BIN_EXE_update-master-directory-list");

fn config(db: &TestDb, root: &Path, extra: &str) -> PathBuf {
    db.config_file(&format!(
        "[umdl]\nprefix = \"{}/\"\n{extra}\n\
         [[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora Linux\"\npath = \"{}/pub/fedora/linux\"\n\
         [[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora EPEL\"\npath = \"{}/pub/epel\"\n",
        root.display(),
        root.display(),
        root.display()
    ))
}

/// A Fedora Linux tree without EPEL and without fullfiletimelist (umdl walks it) in a temp
/// dir, its category, and a config for it with `extra` in `[umdl]`.
fn fedora_walked(db: &mut TestDb, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    generate(
        root,
        &Spec {
            epel_releases: vec![],
            fullfiletimelist: false,
            ..Spec::default()
        },
    )
    .unwrap();
    fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
    let cfg = db.config_file(&format!(
        "[umdl]\nprefix = \"{}/\"\n{extra}[[umdl.master_directories]]\ntype = \"directory\"\n\
         category = \"Fedora Linux\"\npath = \"{}/pub/fedora/linux\"\n",
        root.display(),
        root.display()
    ));
    (tmp, cfg)
}

fn umdl(cfg: &Path, args: &[&str]) -> Run {
    Runner::at(UMDL, cfg).run(args)
}

/// Run umdl; it must succeed. Returns what it printed.
fn ok(cfg: &Path, args: &[&str]) -> String {
    umdl(cfg, args).ok().stdout
}

fn dir_names(conn: &mut DbConn) -> BTreeSet<String> {
    directory::table
        .select(directory::name)
        .load::<String>(conn)
        .unwrap()
        .into_iter()
        .collect()
}

/// Directories under `root/top` (inclusive), as `directory.name`s.
fn tree_dirs(root: &Path, top: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![top.to_string()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(format!("{rel}/{}", e.file_name().to_string_lossy()));
            }
        }
        out.insert(rel);
    }
    out
}

fn repos(conn: &mut DbConn) -> BTreeSet<(Option<String>, String, String, String)> {
    repository::table
        .inner_join(arch::table)
        .inner_join(version::table)
        .inner_join(directory::table)
        .select((
            repository::prefix,
            arch::name,
            version::name,
            directory::name,
        ))
        .load::<(Option<String>, String, Option<String>, String)>(conn)
        .unwrap()
        .into_iter()
        .map(|(p, a, v, d)| (p, a, v.unwrap_or_default(), d))
        .collect()
}

fn versions(conn: &mut DbConn) -> Vec<(String, String, bool)> {
    let mut v: Vec<(String, String, bool)> = version::table
        .inner_join(product::table)
        .select((product::name, version::name, version::is_test))
        .load::<(String, Option<String>, bool)>(conn)
        .unwrap()
        .into_iter()
        .map(|(p, v, t)| (p, v.unwrap_or_default(), t))
        .collect();
    v.sort();
    v
}

fn file_details(
    conn: &mut DbConn,
    dir: &str,
    file: &str,
) -> Vec<(Option<String>, Option<i64>, Option<i64>)> {
    file_detail::table
        .inner_join(directory::table)
        .filter(directory::name.eq(dir))
        .filter(file_detail::filename.eq(file))
        .order(file_detail::id)
        .select((
            file_detail::sha256,
            file_detail::timestamp,
            file_detail::size,
        ))
        .load(conn)
        .unwrap()
}

fn regenerate_ffl(root: &Path) {
    let text = fullfiletimelist_for(&root.join("pub/fedora/linux"), "linux").unwrap();
    std::fs::write(root.join("pub/fedora/fullfiletimelist-fedora"), text).unwrap();
    let text = fullfiletimelist_for(&root.join("pub/epel"), "").unwrap();
    std::fs::write(root.join("pub/epel/fullfiletimelist-epel"), text).unwrap();
}

#[test]
fn fedora_tree_releases_deletions_and_file_details() {
    for_each_backend(|db| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let spec = Spec::default();
        generate(root, &spec).unwrap();
        fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
        fixture::bare_category(&mut db.conn, "Fedora EPEL").unwrap();
        let cfg = config(db, root, "");

        // first run: fast path, everything recorded
        let out = ok(&cfg, &[]);
        assert!(
            out.contains("Fedora Linux:") && out.contains("fullfiletimelist"),
            "{out}"
        );
        let mut expected = tree_dirs(root, "pub/fedora/linux");
        expected.extend(tree_dirs(root, "pub/epel"));
        assert_eq!(dir_names(&mut db.conn), expected);
        let r = repos(&mut db.conn);
        let base = "pub/fedora/linux";
        for (p, a, v, d) in [
            (
                "fedora-41",
                "x86_64",
                "41",
                format!("{base}/releases/41/Everything/x86_64/os"),
            ),
            (
                "fedora-41",
                "aarch64",
                "41",
                format!("{base}/releases/41/Everything/aarch64/os"),
            ),
            (
                "fedora-source-41",
                "source",
                "41",
                format!("{base}/releases/41/Everything/source/tree"),
            ),
            (
                "updates-released-f41",
                "x86_64",
                "41",
                format!("{base}/updates/41/Everything/x86_64"),
            ),
            (
                "updates-released-source-f41",
                "source",
                "41",
                format!("{base}/updates/41/Everything/source/tree"),
            ),
            (
                "updates-testing-f41",
                "aarch64",
                "41",
                format!("{base}/updates/testing/41/Everything/aarch64"),
            ),
            (
                "epel-9",
                "x86_64",
                "9",
                "pub/epel/9/Everything/x86_64".to_string(),
            ),
            (
                "epel-source-9",
                "source",
                "9",
                "pub/epel/9/Everything/source/tree".to_string(),
            ),
        ] {
            assert!(
                r.contains(&(Some(p.to_string()), a.to_string(), v.to_string(), d.clone())),
                "{p} {a} {d} missing in {r:#?}"
            );
        }
        assert_eq!(r.len(), 12, "{r:#?}");
        assert_eq!(
            versions(&mut db.conn),
            [
                ("EPEL".into(), "9".into(), false),
                ("Fedora".into(), "41".into(), false)
            ]
        );
        // topdir set, files recorded
        let top: Option<i32> = category::table
            .filter(category::name.eq("Fedora Linux"))
            .select(category::topdir_id)
            .first(&mut db.conn)
            .unwrap();
        let top_name: String = directory::table
            .find(top.unwrap())
            .select(directory::name)
            .first(&mut db.conn)
            .unwrap();
        assert_eq!(top_name, base);
        let files: Option<Vec<u8>> = directory::table
            .filter(directory::name.eq(format!(
                "{base}/releases/41/Everything/x86_64/os/Packages/a"
            )))
            .select(directory::files)
            .first(&mut db.conn)
            .unwrap();
        let files = mm_core::files::decode(&files.unwrap()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "apkg-0-1.fc.noarch.rpm",
                "apkg-1-1.fc.noarch.rpm",
                "apkg-2-1.fc.noarch.rpm"
            ]
        );
        // repomd.xml file detail: hashes of the bytes, timestamp = revision
        let repodata = format!("{base}/updates/41/Everything/x86_64/repodata");
        let bytes = std::fs::read(root.join(&repodata).join("repomd.xml")).unwrap();
        let fd = file_details(&mut db.conn, &repodata, "repomd.xml");
        assert_eq!(
            fd,
            [(
                Some(hex::encode(sha2::Sha256::digest(&bytes))),
                Some(spec.revision),
                Some(bytes.len() as i64)
            )]
        );
        let n_repomd: i64 = file_detail::table
            .filter(file_detail::filename.eq("repomd.xml"))
            .count()
            .get_result(&mut db.conn)
            .unwrap();
        assert_eq!(n_repomd, 12);
        // checksum file → ISO file detail
        let iso_dir = format!("{base}/releases/41/Everything/x86_64/iso");
        let iso = "Fedora-Everything-netinst-x86_64-41-1.4.iso";
        let iso_bytes = std::fs::read(root.join(&iso_dir).join(iso)).unwrap();
        let fd = file_details(&mut db.conn, &iso_dir, iso);
        assert_eq!(fd.len(), 1);
        assert_eq!(fd[0].0, Some(hex::encode(sha2::Sha256::digest(&iso_bytes))));

        // unchanged second run
        let out = ok(&cfg, &["--category", "Fedora Linux"]);
        assert!(out.contains(" 0 dirs added, 0 updated, 0 deleted"), "{out}");
        assert!(!out.contains("Fedora EPEL"), "{out}");

        // a new release: exactly one new version
        generate(
            root,
            &Spec {
                fedora_releases: vec![42],
                epel_releases: vec![],
                ..spec.clone()
            },
        )
        .unwrap();
        let out = ok(&cfg, &[]);
        assert!(
            out.contains("9 repositories and 1 versions created"),
            "{out}"
        );
        assert_eq!(
            versions(&mut db.conn),
            [
                ("EPEL".into(), "9".into(), false),
                ("Fedora".into(), "41".into(), false),
                ("Fedora".into(), "42".into(), false)
            ]
        );

        // a removed directory is deleted with its repository and file details
        let gone = format!("{base}/updates/testing/42/Everything/aarch64");
        std::fs::remove_dir_all(root.join(&gone)).unwrap();
        regenerate_ffl(root);
        let out = ok(&cfg, &["--category", "Fedora Linux"]);
        assert!(out.contains(" 5 deleted"), "{out}");
        let names = dir_names(&mut db.conn);
        assert!(!names.iter().any(|n| n.starts_with(&gone)));
        assert!(repos(&mut db.conn).iter().all(|r| r.3 != gone));
        assert!(file_details(&mut db.conn, &format!("{gone}/repodata"), "repomd.xml").is_empty());

        // changed repomd.xml: a new row; unchanged content: no new row
        // times have one-second resolution: change the directory in a later second than the scan
        std::thread::sleep(Duration::from_millis(1100));
        let now = chrono::Utc::now().timestamp();
        std::fs::remove_file(root.join(&repodata).join("repomd.xml")).unwrap();
        std::fs::write(
            root.join(&repodata).join("repomd.xml"),
            repomd_xml(now + 5, "new"),
        )
        .unwrap();
        regenerate_ffl(root);
        ok(&cfg, &["--category", "Fedora Linux"]);
        let fd = file_details(&mut db.conn, &repodata, "repomd.xml");
        assert_eq!(fd.len(), 2, "{fd:?}");
        assert_eq!(fd[1].1, Some(now + 5));
        ok(&cfg, &["--category", "Fedora Linux", "--force"]);
        assert_eq!(file_details(&mut db.conn, &repodata, "repomd.xml").len(), 2);

        // a mass deletion is refused, then forced
        std::fs::remove_dir_all(root.join(base).join("releases")).unwrap();
        regenerate_ffl(root);
        let before = dir_names(&mut db.conn);
        let out = umdl(&cfg, &["--category", "Fedora Linux"]);
        assert_eq!(out.code, 1);
        assert!(out.stderr.as_str().contains("--delete-force"));
        assert_eq!(dir_names(&mut db.conn), before);
        ok(&cfg, &["--category", "Fedora Linux", "--delete-force"]);
        let names = dir_names(&mut db.conn);
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with(&format!("{base}/releases")))
        );
        assert!(names.contains(base));
    });
}

#[test]
fn walk_matches_fullfiletimelist_and_dry_run_writes_nothing() {
    for_each_backend(|db| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        generate(root, &Spec::default()).unwrap();
        fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
        fixture::bare_category(&mut db.conn, "Fedora EPEL").unwrap();
        let cfg = config(db, root, "");
        let out = ok(&cfg, &["--dry-run"]);
        assert!(out.contains("dry run: Fedora Linux"), "{out}");
        assert!(dir_names(&mut db.conn).is_empty());
        assert!(repos(&mut db.conn).is_empty());
        let out = ok(&cfg, &["--skip-fullfiletimelist"]);
        assert!(out.contains("(walk)"), "{out}");
        let mut expected = tree_dirs(root, "pub/fedora/linux");
        expected.extend(tree_dirs(root, "pub/epel"));
        assert_eq!(dir_names(&mut db.conn), expected);
        assert_eq!(repos(&mut db.conn).len(), 12);
        // the fast path sees the same tree: nothing to add or delete
        let out = ok(&cfg, &[]);
        assert!(
            out.contains("0 dirs added") && out.contains(" 0 deleted"),
            "{out}"
        );
        assert_eq!(dir_names(&mut db.conn), expected);
    });
}

/// Every directory row: name → (ctime, files as stored).
fn dir_rows(
    conn: &mut DbConn,
) -> std::collections::BTreeMap<String, (Option<i64>, Option<Vec<u8>>)> {
    directory::table
        .select((directory::name, directory::ctime, directory::files))
        .load::<(String, Option<i64>, Option<Vec<u8>>)>(conn)
        .unwrap()
        .into_iter()
        .map(|(n, c, f)| (n, (c, f)))
        .collect()
}

#[test]
fn unchanged_walk_skips_file_stats_but_sees_changed_directories() {
    for_each_backend(|db| {
        let (tmp, cfg) = fedora_walked(db, "");
        let root = tmp.path();
        let base = "pub/fedora/linux";
        ok(&cfg, &[]);
        let cold = dir_rows(&mut db.conn);
        // unchanged: every directory is skipped and the stored rows stay as the cold scan wrote them
        let out = ok(&cfg, &[]);
        assert!(
            out.contains(&format!(
                "0 dirs added, 0 updated, 0 deleted, {} unchanged",
                cold.len()
            )),
            "{out}"
        );
        assert_eq!(dir_rows(&mut db.conn), cold);
        let repodata = format!("{base}/updates/41/Everything/x86_64/repodata");
        let before = file_details(&mut db.conn, &repodata, "repomd.xml");
        // a repodata directory without a file_detail row gets one on an unchanged walk,
        // timestamped from repomd.xml itself
        diesel::delete(file_detail::table)
            .execute(&mut db.conn)
            .unwrap();
        ok(&cfg, &[]);
        assert_eq!(file_details(&mut db.conn, &repodata, "repomd.xml"), before);
        assert_eq!(dir_rows(&mut db.conn), cold);

        // a changed directory (new file, one second later) is stat'ed and written in full
        std::thread::sleep(Duration::from_millis(1100));
        let pkgs = format!("{base}/releases/41/Everything/x86_64/os/Packages/a");
        std::fs::write(root.join(&pkgs).join("zz-new.iso"), b"12345").unwrap();
        let out = ok(&cfg, &[]);
        assert!(out.contains("0 dirs added, 1 updated, 0 deleted"), "{out}");
        let rows = dir_rows(&mut db.conn);
        let files = mm_core::files::decode(rows[&pkgs].1.as_deref().unwrap()).unwrap();
        let new = files
            .iter()
            .find(|f| f.name == "zz-new.iso")
            .expect("new file recorded");
        assert_eq!(new.size, 5);
        assert!(files.iter().all(|f| f.timestamp > 0), "{files:?}");
        for (name, row) in &cold {
            if name != &pkgs {
                assert_eq!(&rows[name], row, "{name} rewritten");
            }
        }
        // --force stats everything again and writes the same rows
        let out = ok(&cfg, &["--force"]);
        assert!(
            out.contains(&format!("0 dirs added, {} updated", cold.len())),
            "{out}"
        );
        assert_eq!(dir_rows(&mut db.conn), rows);
    });
}

/// The directory of the repository `prefix` for x86_64.
fn repo_dir(conn: &mut DbConn, prefix: &str) -> String {
    repository::table
        .inner_join(arch::table)
        .inner_join(directory::table)
        .filter(repository::prefix.eq(prefix))
        .filter(arch::name.eq("x86_64"))
        .select(directory::name)
        .first(conn)
        .unwrap()
}

/// Two directories that give one repository (development/41 and releases/41 on release
/// day): the repository stays where it is on every run, and where move-devel-to-release
/// put it; it never flips between them.
#[test]
fn a_repository_in_two_directories_stays_put() {
    for_each_backend(|db| {
        let (tmp, cfg) = fedora_walked(db, "");
        let base = tmp.path().join("pub/fedora/linux");
        let rel = "41/Everything/x86_64/os";
        let dev = base.join("development/41/Everything/x86_64");
        std::fs::create_dir_all(&dev).unwrap();
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(base.join("releases").join(rel))
            .arg(&dev)
            .status()
            .unwrap();
        assert!(st.success());
        ok(&cfg, &[]);
        let first = repo_dir(&mut db.conn, "fedora-41");
        for _ in 0..2 {
            ok(&cfg, &["--force"]);
            assert_eq!(repo_dir(&mut db.conn, "fedora-41"), first);
        }
        // Release day: the admin command points it at the other directory; umdl keeps that.
        let other = if first.contains("/development/") {
            format!("pub/fedora/linux/releases/{rel}")
        } else {
            format!("pub/fedora/linux/development/{rel}")
        };
        let other_id: i32 = directory::table
            .filter(directory::name.eq(&other))
            .select(directory::id)
            .first(&mut db.conn)
            .unwrap();
        let first_id: i32 = directory::table
            .filter(directory::name.eq(&first))
            .select(directory::id)
            .first(&mut db.conn)
            .unwrap();
        diesel::update(repository::table.filter(repository::directory_id.eq(first_id)))
            .set(repository::directory_id.eq(other_id))
            .execute(&mut db.conn)
            .unwrap();
        ok(&cfg, &["--force"]);
        assert_eq!(repo_dir(&mut db.conn, "fedora-41"), other);
    });
}

fn readable(conn: &mut DbConn, name: &str) -> bool {
    directory::table
        .filter(directory::name.eq(name))
        .select(directory::readable)
        .first(conn)
        .unwrap()
}

#[test]
fn readable_flags_and_file_detail_aging() {
    use std::os::unix::fs::PermissionsExt;
    for_each_backend(|db| {
        // max_stale_days = 0: every replaced repomd.xml row expires at once
        let (tmp, cfg) = fedora_walked(db, "max_stale_days = 0\n");
        let root = tmp.path();
        let base = "pub/fedora/linux";
        let private = root.join(base).join("updates/testing");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o750)).unwrap();
        ok(&cfg, &[]);
        assert!(readable(&mut db.conn, &format!("{base}/updates")));
        assert!(!readable(&mut db.conn, &format!("{base}/updates/testing")));
        assert!(!readable(
            &mut db.conn,
            &format!("{base}/updates/testing/41/Everything/x86_64/repodata")
        ));
        let repodata = format!("{base}/releases/41/Everything/x86_64/os/repodata");
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::remove_file(root.join(&repodata).join("repomd.xml")).unwrap();
        let now = chrono::Utc::now().timestamp();
        std::fs::write(
            root.join(&repodata).join("repomd.xml"),
            repomd_xml(now, "newer"),
        )
        .unwrap();
        let out = ok(&cfg, &[]);
        assert!(out.contains("1 file details added, 1 expired"), "{out}");
        let fd = file_details(&mut db.conn, &repodata, "repomd.xml");
        assert_eq!(fd.len(), 1);
        assert_eq!(fd[0].1, Some(now));
        // the newest row is kept however old it is
        let out = ok(&cfg, &["--force"]);
        assert!(out.contains("0 file details added, 0 expired"), "{out}");

        // Release day's chmod changes the ctime of updates/testing only; the directories
        // below it, unchanged, become readable with it.
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o755)).unwrap();
        ok(&cfg, &[]);
        assert!(readable(&mut db.conn, &format!("{base}/updates/testing")));
        assert!(readable(
            &mut db.conn,
            &format!("{base}/updates/testing/41/Everything/x86_64/repodata")
        ));
    });
}

#[test]
fn corrupt_fullfiletimelist_fails_with_line_number_and_changes_nothing() {
    for_each_backend(|db| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        generate(root, &Spec::default()).unwrap();
        fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
        fixture::bare_category(&mut db.conn, "Fedora EPEL").unwrap();
        let ffl = root.join("pub/fedora/fullfiletimelist-fedora");
        let mut text = std::fs::read_to_string(&ffl).unwrap();
        text = text.replacen("[Files]\n", "[Files]\n1700000000\tf\tlarge\tlinux/bad\n", 1);
        let line = text.lines().position(|l| l.contains("linux/bad")).unwrap() + 1;
        std::fs::write(&ffl, text).unwrap();
        let cfg = config(db, root, "");
        let out = umdl(&cfg, &["--category", "Fedora Linux"]);
        assert_eq!(out.code, 1);
        let err = out.stderr.as_str();
        assert!(
            err.contains(&format!("line {line}:")) && err.contains("fullfiletimelist-fedora"),
            "{err}"
        );
        assert!(dir_names(&mut db.conn).is_empty());
        let topdir: Option<i32> = category::table
            .filter(category::name.eq("Fedora Linux"))
            .select(category::topdir_id)
            .first(&mut db.conn)
            .unwrap();
        assert_eq!(topdir, None);
    });
}

#[test]
fn cli_usage_errors_list_and_missing_category() {
    for_each_backend(|db| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        generate(root, &Spec::default()).unwrap();
        let cfg = config(db, root, "");
        let out = ok(&cfg, &["--list"]);
        assert!(
            out.contains("Fedora Linux\tdirectory\t") && out.contains("Fedora EPEL\tdirectory\t"),
            "{out}"
        );
        let out = umdl(&cfg, &["--category", "Nope"]);
        assert_eq!(out.code, 2);
        // not in the database yet
        let out = umdl(&cfg, &["--category", "Fedora Linux"]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr
                .as_str()
                .contains("does not exist in the database")
        );
        // ^NAME excludes
        fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
        let out = ok(&cfg, &["--category", "^Fedora EPEL"]);
        assert!(
            out.contains("Fedora Linux:") && !out.contains("Fedora EPEL:"),
            "{out}"
        );
        // a held lock: exit code 3
        let lock_dir = db.dir.path().join("lock");
        let _g = mm_core::lock::acquire(&lock_dir, "umdl-fedora-linux", false).unwrap();
        let out = umdl(&cfg, &["--category", "Fedora Linux"]);
        assert_eq!(out.code, 3);
    });
}

/// An rsync daemon serving `root` as module `pub` on 127.0.0.1 (testkit's); killed on drop.
fn rsync_daemon(path: &Path) -> mm_testkit::servers::Server {
    mm_testkit::servers::rsync_daemon_modules(&[("pub", path)])
}

#[test]
fn rsync_url_source_and_failed_rsync_deletes_nothing() {
    for_each_backend(|db| {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        generate(root, &Spec::default()).unwrap();
        let daemon = rsync_daemon(&root.join("pub"));
        fixture::bare_category(&mut db.conn, "Fedora Linux").unwrap();
        // rsync sources need the category's top directory
        diesel::insert_into(directory::table)
            .values((
                directory::name.eq("pub/fedora/linux"),
                directory::readable.eq(true),
                directory::files.eq(None::<Vec<u8>>),
                directory::ctime.eq(None::<i64>),
            ))
            .execute(&mut db.conn)
            .unwrap();
        let top: i32 = directory::table
            .select(directory::id)
            .first(&mut db.conn)
            .unwrap();
        diesel::update(category::table)
            .set(category::topdir_id.eq(Some(top)))
            .execute(&mut db.conn)
            .unwrap();
        let cfg = db.config_file(&format!(
            "[umdl]\nprefix = \"/srv/\"\n[[umdl.master_directories]]\ntype = \"rsync\"\ncategory = \"Fedora Linux\"\n\
             url = \"rsync://127.0.0.1:{}/pub/fedora/linux\"\noptions = \"--no-motd\"\nexcludes = [\"/Packages/b$\"]\n",
            daemon.port
        ));
        let out = ok(&cfg, &[]);
        assert!(out.contains("(rsync)"), "{out}");
        let expected: BTreeSet<String> = tree_dirs(root, "pub/fedora/linux")
            .into_iter()
            .filter(|d| !d.ends_with("/Packages/b"))
            .collect();
        assert_eq!(dir_names(&mut db.conn), expected);
        let r = repos(&mut db.conn);
        assert_eq!(r.len(), 9, "{r:#?}");
        assert!(
            r.iter()
                .any(|x| x.0.as_deref() == Some("updates-testing-f41") && x.1 == "x86_64")
        );
        let files: Option<Vec<u8>> = directory::table
            .filter(directory::name.eq("pub/fedora/linux/updates/41/Everything/x86_64/repodata"))
            .select(directory::files)
            .first(&mut db.conn)
            .unwrap();
        let files = mm_core::files::decode(&files.unwrap()).unwrap();
        let size = std::fs::metadata(
            root.join("pub/fedora/linux/updates/41/Everything/x86_64/repodata/repomd.xml"),
        )
        .unwrap()
        .len();
        assert_eq!(
            (files[0].name.as_str(), files[0].size),
            ("repomd.xml", size as i64)
        );
        // repomd.xml and checksum files were fetched over rsync for their file details
        let repodata = "pub/fedora/linux/updates/41/Everything/x86_64/repodata";
        let bytes = std::fs::read(root.join(repodata).join("repomd.xml")).unwrap();
        let fd = file_details(&mut db.conn, repodata, "repomd.xml");
        assert_eq!(fd.len(), 1);
        assert_eq!(fd[0].0, Some(hex::encode(sha2::Sha256::digest(&bytes))));
        let n: i64 = file_detail::table.count().get_result(&mut db.conn).unwrap();
        assert_eq!(n, 10, "9 repomd.xml + 1 ISO");

        // the daemon is gone: the run fails and deletes nothing
        drop(daemon);
        let before = dir_names(&mut db.conn);
        let out = umdl(&cfg, &[]);
        assert_eq!(out.code, 1);
        assert!(out.stderr.as_str().contains("rsync"));
        assert_eq!(dir_names(&mut db.conn), before);
    });
}
