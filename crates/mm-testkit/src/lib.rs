//! Test harness shared by every crate's tests.
//!
//! * [`for_each_backend`] runs a test body on a fresh, migrated SQLite file **and** a fresh
//!   database on a real PostgreSQL server. The server is started once per test process by
//!   [`pg`] (initdb into a temp dir, unix socket + loopback port, run as the `postgres` user
//!   when we are root) and stops when the test process exits, however it exits.
//! * [`bin`] finds a workspace binary (built by `cargo xtask test` before the tests run).
//! * [`mmdb`] writes small GeoIP2 country databases (no downloaded data in tests).
//! * [`fixture`] inserts rows (one helper per table, returning the new id) and fills a
//!   Fedora-sized network; [`runner`] runs a binary with a config file and checks its exit.

pub mod fixture;
pub mod mmdb;
pub mod runner;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub mod servers;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
pub use mm_core::db::{BackendKind, DbConn};

/// Both backends, in the order tests run them.
pub const BACKENDS: [BackendKind; 2] = [BackendKind::Sqlite, BackendKind::Postgres];

/// A running PostgreSQL server owned by this test process.
#[derive(Debug)]
pub struct PgServer {
    /// Superuser URL of the maintenance database (`postgres`).
    pub admin_url: String,
    pub port: u16,
    host: String,
    _dir: Option<tempfile::TempDir>,
    _keeper: Option<Child>,
}

impl PgServer {
    /// URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@{}:{}/{name}", self.host, self.port)
    }

    /// Create an empty database and return its URL.
    pub fn create_database(&self, prefix: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin =
            diesel::PgConnection::establish(&self.admin_url).expect("connect to postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(&name)
    }
}

/// The PostgreSQL server for this test process: `$MM_TEST_PG_URL` (a superuser URL of a
/// server someone else runs, e.g. `postgres://postgres@127.0.0.1:5432/postgres`) or one we
/// start ourselves.
pub fn pg() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("MM_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => external_pg(url),
        _ => start_pg(),
    })
}

fn external_pg(admin_url: String) -> PgServer {
    let after = admin_url.split("://").nth(1).unwrap_or("");
    let hostport = after
        .split('@')
        .next_back()
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    PgServer {
        host: host.to_string(),
        port: port.parse().expect("port in MM_TEST_PG_URL"),
        admin_url,
        _dir: None,
        _keeper: None,
    }
}

/// Directory holding PostgreSQL's server programs (`initdb`, `postgres`).
pub fn pg_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("postgres").exists() {
            return p;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("postgres").exists());
    versions.sort();
    versions.pop().expect(
        "PostgreSQL server programs not found (install the postgresql package; `cargo xtask test` does)",
    )
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY-free: geteuid has no preconditions, but we avoid unsafe by asking `id`.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Wrap a command so it runs as the `postgres` user when we are root.
fn as_pg_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free loopback port")
}

fn start_pg() -> PgServer {
    let bindir = pg_bindir();
    let dir = tempfile::Builder::new()
        .prefix("mm-testkit-pg-")
        .tempdir()
        .expect("temp dir");
    let data = dir.path().join("data");
    let sock = dir.path().join("sock");
    std::fs::create_dir_all(&sock).unwrap();
    if is_root() {
        let st = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(st.success(), "chown of the PostgreSQL test dir failed");
    }
    let out = as_pg_user(&bindir.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
            "-D",
        ])
        .arg(&data)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    // The keeper shell runs the server and stops it when our end of its stdin closes,
    // i.e. when this test process exits for any reason.
    let script = format!(
        "'{}' -D '{}' -k '{}' -p {port} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         -c log_min_messages=warning >'{}/server.log' 2>&1 & pid=$!; read _; kill -INT $pid; wait $pid; rm -rf '{}'",
        bindir.join("postgres").display(),
        data.display(),
        sock.display(),
        dir.path().display(),
        dir.path().display(),
    );
    let keeper = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .spawn()
    } else {
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()
    }
    .expect("start postgres");
    let server = PgServer {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        port,
        host: "127.0.0.1".into(),
        _dir: Some(dir),
        _keeper: Some(keeper),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match diesel::PgConnection::establish(&server.admin_url) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(
                    server._dir.as_ref().unwrap().path().join("server.log"),
                )
                .unwrap_or_default();
                panic!("PostgreSQL did not start: {e}\n{log}");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    eprintln!("mm-testkit: PostgreSQL started on 127.0.0.1:{port}");
    server
}

/// A fresh database for one test.
pub struct TestDb {
    pub kind: BackendKind,
    pub url: String,
    pub conn: DbConn,
    /// Holds the SQLite file's directory.
    pub dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestDb({}, {})", self.kind, self.url)
    }
}

impl TestDb {
    /// A fresh, migrated database.
    pub fn new(kind: BackendKind) -> TestDb {
        let mut db = Self::empty(kind);
        mm_core::db::migrate(&mut db.conn).expect("migrate test database");
        db
    }

    /// A fresh database with no tables at all.
    pub fn empty(kind: BackendKind) -> TestDb {
        let dir = tempfile::Builder::new()
            .prefix("mm-testkit-")
            .tempdir()
            .expect("temp dir");
        let url = match kind {
            BackendKind::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            BackendKind::Postgres => pg().create_database("mm_test"),
        };
        let conn = mm_core::db::connect(&url).expect("connect to test database");
        TestDb {
            kind,
            url,
            conn,
            dir,
        }
    }

    /// Write a config file pointing at this database (plus a lock dir inside the temp dir)
    /// and return its path. `extra` is appended verbatim (TOML).
    pub fn config_file(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("mirrormanager.toml");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(
            f,
            "database_url = {:?}\nlock_dir = {:?}\nlog_dir = {:?}\ncache_dir = {:?}\n{extra}",
            self.url,
            self.dir.path().join("lock").display().to_string(),
            self.dir.path().join("log").display().to_string(),
            self.dir.path().join("cache").display().to_string(),
        )
        .unwrap();
        path
    }
}

/// Run `body` on a fresh migrated SQLite database, then on a fresh PostgreSQL database.
/// Prints which backend it is on, so test output shows both ran.
pub fn for_each_backend(mut body: impl FnMut(&mut TestDb)) {
    for kind in BACKENDS {
        let mut db = TestDb::new(kind);
        eprintln!("backend: {kind}");
        body(&mut db);
        tally(kind);
    }
}

/// Record a finished test body per backend in `$MM_TEST_TALLY` (set by `cargo xtask test`,
/// which prints the counts, so the output shows both backends really ran).
fn tally(kind: BackendKind) {
    if let Some(path) = std::env::var_os("MM_TEST_TALLY")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{kind}");
    }
}

/// Path of a binary built from this workspace (`target/<profile>/<name>`).
pub fn bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("current exe");
    dir.pop(); // the test executable's name
    if dir.ends_with("deps") {
        dir.pop();
    }
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is not built; run the tests with `cargo xtask test` (it builds every binary first)",
        p.display()
    );
    p
}

/// Assert a system tool exists (the test command installs them; a missing one is a failure).
pub fn require_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in
        std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
    {
        let p = d.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed; `cargo xtask test` installs the test dependencies")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_are_real_and_migrated() {
        let mut seen = Vec::new();
        for_each_backend(|db| {
            seen.push(db.kind);
            assert!(mm_core::db::check(&mut db.conn).unwrap().is_empty());
            assert!(mm_core::db::pending(&mut db.conn).unwrap().is_empty());
        });
        assert_eq!(seen, BACKENDS);
    }

    #[test]
    fn shared_snapshots_on_postgresql_and_none_on_sqlite() {
        use diesel::prelude::*;
        use mm_core::schema::arch;
        let add = |conn: &mut DbConn, name: &str| {
            diesel::insert_into(arch::table)
                .values((
                    arch::name.eq(name),
                    arch::primary_arch.eq(true),
                    arch::publiclist.eq(true),
                ))
                .execute(conn)
                .unwrap();
        };
        let count = |conn: &mut DbConn| arch::table.count().get_result::<i64>(conn).unwrap();
        for_each_backend(|db| {
            add(&mut db.conn, "x86_64");
            let Some(id) = mm_core::db::begin_shared_snapshot(&mut db.conn).unwrap() else {
                assert_eq!(db.kind, BackendKind::Sqlite);
                mm_core::db::end_snapshot(&mut db.conn).unwrap();
                let e = mm_core::db::join_snapshot(&mut db.conn, "00000003-1").unwrap_err();
                assert!(e.to_string().contains("PostgreSQL"), "{e}");
                return;
            };
            // A row added after the export is invisible to every joined connection.
            let mut writer = mm_core::connect(&db.url).unwrap();
            add(&mut writer, "aarch64");
            let mut reader = mm_core::connect(&db.url).unwrap();
            mm_core::db::join_snapshot(&mut reader, &id).unwrap();
            assert_eq!(count(&mut reader), 1);
            assert_eq!(count(&mut db.conn), 1);
            mm_core::db::end_snapshot(&mut reader).unwrap();
            mm_core::db::end_snapshot(&mut db.conn).unwrap();
            assert_eq!(count(&mut db.conn), 2);
            // A malformed id never reaches SQL; an unknown one is PostgreSQL's error.
            let e = mm_core::db::join_snapshot(&mut reader, "x'; DROP TABLE arch; --").unwrap_err();
            assert!(e.to_string().contains("unexpected snapshot id"), "{e}");
            assert!(mm_core::db::join_snapshot(&mut reader, "00000003-0000001B-1").is_err());
            assert_eq!(
                count(&mut reader),
                2,
                "the connection is usable after a refused id"
            );
        });
    }
}
