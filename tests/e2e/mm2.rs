//! Our tools on a database laid out by MirrorManager2 itself (plain SQL fixture, not our
//! migrations): `db check` passes, the admin commands work unchanged, `db adopt` takes it
//! over; and `db check` names every missing table and column.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use mm_e2e::Runner;
use mm_testkit::{BackendKind, TestDb};

const MM2_SCHEMA: &str = include_str!("../fixtures/mm2_schema.sql");

pub(crate) fn mm2_db() -> TestDb {
    let mut db = TestDb::empty(BackendKind::Postgres);
    match &mut db.conn {
        mm_core::DbConn::Pg(c) => c.batch_execute(MM2_SCHEMA).expect("load MM2 schema"),
        _ => unreachable!(),
    }
    db
}

#[test]
fn admin_commands_work_on_an_mm2_database() {
    let db = mm2_db();
    let mm = Runner::new("mirrormanager", &db.config_file(""));
    let r = mm.run(&["db", "check"]).ok();
    assert!(
        r.stdout.contains("ok: every table and column is present"),
        "{}",
        r.stdout
    );
    crate::admin::build_network(&mm);
    let hosts = mm.run(&["host", "list", "--json"]).ok().json();
    assert_eq!(hosts.as_array().unwrap().len(), 3);
    assert_eq!(hosts[1]["internet2_clients"], true);
    // MM2 declares host_country_allowed.country unique on its own: a second host allowing
    // the same country is refused with a clear message, not a crash.
    let r = mm
        .run(&["country-allowed", "add", "b.one.example", "US"])
        .code(1);
    assert!(r.stderr.contains("already allowed"), "{}", r.stderr);
    // Take it over: our migrations are recorded, nothing is re-created.
    let r = mm.run(&["db", "adopt"]).ok();
    assert!(r.stdout.contains("adopted"), "{}", r.stdout);
    let r = mm.run(&["db", "migrate"]).ok();
    assert!(r.stdout.contains("up to date"), "{}", r.stdout);
    assert_eq!(
        mm.run(&["host", "list", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn db_check_names_each_missing_table_and_column() {
    let mut db = mm2_db();
    match &mut db.conn {
        mm_core::DbConn::Pg(c) => c
            .batch_execute(
                "DROP TABLE repository_redirect; ALTER TABLE host DROP COLUMN crawl_failures; \
                 ALTER TABLE directory DROP COLUMN ctime;",
            )
            .unwrap(),
        _ => unreachable!(),
    }
    let mm = Runner::new("mirrormanager", &db.config_file(""));
    let r = mm.run(&["db", "check"]).code(1);
    for want in [
        "missing table repository_redirect",
        "missing column host.crawl_failures",
        "missing column directory.ctime",
    ] {
        assert!(r.stdout.contains(want), "{want} not in\n{}", r.stdout);
    }
    assert!(
        r.stderr.contains("lacks 3 table(s)/column(s)"),
        "{}",
        r.stderr
    );
    let j = mm.run(&["db", "check", "--json"]).code(1).json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["missing"].as_array().unwrap().len(), 3);
    // adopt refuses and changes nothing
    let r = mm.run(&["db", "adopt"]).code(1);
    assert!(r.stderr.contains("host.crawl_failures"), "{}", r.stderr);
    match &mut db.conn {
        mm_core::DbConn::Pg(c) => {
            let n: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '__diesel_schema_migrations')",
            ))
            .get_result(c)
            .unwrap();
            assert_eq!(n, 0, "a refused adopt must not touch the database");
        }
        _ => unreachable!(),
    }
}

#[test]
fn db_check_on_sqlite_too() {
    let mut db = TestDb::new(BackendKind::Sqlite);
    let mm = Runner::new("mirrormanager", &db.config_file(""));
    mm.run(&["db", "check"]).ok();
    match &mut db.conn {
        mm_core::DbConn::Sqlite(c) => c.batch_execute("DROP TABLE embargoed_country").unwrap(),
        _ => unreachable!(),
    }
    let r = mm.run(&["db", "check"]).code(1);
    assert!(
        r.stdout.contains("missing table embargoed_country"),
        "{}",
        r.stdout
    );
}
