//! Database connection (PostgreSQL or SQLite behind one diesel `MultiConnection`),
//! embedded migrations, and schema verification (`db check` / `db adopt`).
//!
//! Invariant: this module is the only place that knows SQL dialect differences.

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// PostgreSQL migrations, embedded at build time.
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// SQLite migrations (same folder names as PostgreSQL's).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The table diesel records applied migrations in.
pub const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// A multi-row INSERT of `rows` (a slice of `column.eq(value)` tuples) into `table`, on
/// whichever backend `conn` (a `&mut DbConn`) is: diesel's `MultiConnection` cannot
/// batch-insert, each backend connection inside can (same connection, same transaction).
/// Tuples, not `Insertable` structs with `Option` fields, so that `None` binds NULL rather
/// than asking for a DEFAULT (SQLite batch inserts cannot use DEFAULT). Evaluates to
/// `QueryResult<usize>`.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConn::Pg(c) => {
                ::diesel::RunQueryDsl::execute(::diesel::insert_into($table).values($rows), c)
            }
            $crate::db::DbConn::Sqlite(c) => {
                ::diesel::RunQueryDsl::execute(::diesel::insert_into($table).values($rows), c)
            }
        }
    };
}

/// One connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl std::fmt::Debug for DbConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbConn({:?})", self.backend())
    }
}

/// Which database engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Postgres => "postgres",
            BackendKind::Sqlite => "sqlite",
        })
    }
}

/// Errors talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: diesel::ConnectionError,
    },
    #[error("database error: {0}{hint}", hint = schema_hint(.0))]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database does not have the expected schema: {0}")]
    Schema(String),
    #[error(
        "{url} has no MirrorManager schema: `mirrormanager db migrate` creates it (`mirrormanager db adopt` for a MirrorManager2 database)"
    )]
    NoSchema { url: String },
    #[error(
        "SQLite database {path} does not exist: check database_url (or $DATABASE_URL); `mirrormanager db migrate` creates a new database there"
    )]
    NoDatabase { path: String },
    #[error("shared snapshot: {0}")]
    Snapshot(String),
}

/// A missing table usually means a database without our schema (a new SQLite file made by
/// a mistyped URL, or an MM2 database not yet adopted): say how to find out.
pub fn schema_hint(e: &diesel::result::Error) -> &'static str {
    let diesel::result::Error::DatabaseError(_, info) = e else {
        return "";
    };
    let msg = info.message();
    if msg.starts_with("no such table")
        || (msg.starts_with("relation ") && msg.ends_with("does not exist"))
    {
        " (is this the right database? `mirrormanager db check` shows what is missing; `mirrormanager db migrate` creates the schema)"
    } else {
        ""
    }
}

impl DbConn {
    /// The engine behind this connection.
    pub fn backend(&self) -> BackendKind {
        match self {
            DbConn::Pg(_) => BackendKind::Postgres,
            DbConn::Sqlite(_) => BackendKind::Sqlite,
        }
    }
}

/// The SQLite file a URL names, or `None` for a PostgreSQL URL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url),
    )
}

/// Connect by URL: `postgres://…`/`postgresql://…`, else SQLite (`sqlite://path` or a path).
/// SQLite connections get foreign keys, WAL and a busy timeout.
pub fn connect(url: &str) -> Result<DbConn, DbError> {
    let err = |source| DbError::Connect {
        url: redact(url),
        source,
    };
    match sqlite_path(url) {
        None => {
            let conn = diesel::PgConnection::establish(url).map_err(err)?;
            log::debug!("connected to {}", redact(url));
            Ok(DbConn::Pg(conn))
        }
        Some(path) => {
            if path != ":memory:"
                && let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
                && !parent.exists()
            {
                return Err(err(diesel::ConnectionError::BadConnection(format!(
                    "directory {} does not exist",
                    parent.display()
                ))));
            }
            if path != ":memory:" && !std::path::Path::new(path).exists() {
                log::info!("SQLite database {path} does not exist: creating an empty one");
            }
            let mut conn = diesel::SqliteConnection::establish(path).map_err(err)?;
            conn.batch_execute(
                "PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
                 PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            )
            .map_err(|e| err(diesel::ConnectionError::BadConnection(e.to_string())))?;
            log::debug!("opened SQLite database {path}");
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Prepare a connection for bulk writes into large indexes: on SQLite a page cache of
/// `cache_mib` MiB (the default 2 MiB makes every transaction re-read and re-write the
/// index pages it touches) and temporary storage (statement journals) in memory; nothing on
/// PostgreSQL, whose server manages its own buffers.
pub fn tune_for_bulk_writes(conn: &mut DbConn, cache_mib: u32) -> Result<(), DbError> {
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute(&format!(
            "PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY;",
            u64::from(cache_mib) * 1024
        ))?;
    }
    Ok(())
}

/// PostgreSQL: start a read-only `REPEATABLE READ` transaction on `conn` and export its
/// snapshot, so that other connections can read exactly the same data
/// ([`join_snapshot`]); end it with [`end_snapshot`]. SQLite: nothing is started and `None`
/// is returned (one connection reads alone).
pub fn begin_shared_snapshot(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    let DbConn::Pg(c) = conn else {
        return Ok(None);
    };
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    let exported = diesel::sql_query("SELECT pg_export_snapshot() AS id").get_result::<Snapshot>(c);
    match exported {
        Ok(s) => Ok(Some(s.id)),
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK");
            Err(e.into())
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// Start a read-only transaction on `conn` that sees the snapshot `id` exported by
/// [`begin_shared_snapshot`] (PostgreSQL only); end it with [`end_snapshot`].
pub fn join_snapshot(conn: &mut DbConn, id: &str) -> Result<(), DbError> {
    let DbConn::Pg(c) = conn else {
        return Err(DbError::Snapshot("shared snapshots need PostgreSQL".into()));
    };
    // PostgreSQL's snapshot ids are hex digits and dashes; anything else never reaches SQL.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(DbError::Snapshot(format!("unexpected snapshot id {id:?}")));
    }
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    if let Err(e) = c.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{id}'")) {
        let _ = c.batch_execute("ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

/// End a transaction started by [`begin_shared_snapshot`] or [`join_snapshot`]
/// (read-only, so commit and rollback differ only in name). Nothing on SQLite.
pub fn end_snapshot(conn: &mut DbConn) -> Result<(), DbError> {
    if let DbConn::Pg(c) = conn {
        c.batch_execute("COMMIT")?;
    }
    Ok(())
}

/// A URL fit for logs and messages: any password is replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!(
                "{}{masked}@{}{}",
                &url[..scheme_end + 3],
                &authority[at + 1..],
                &rest[authority_end..]
            )
        }
        None => url.to_string(),
    };
    // key=value style passwords in the query string
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

/// Connect for a job: the database must have our schema, recorded by our migrations or
/// MirrorManager2's own (a mistyped URL or a new SQLite file fails here, naming the
/// database, instead of at the first query). Pending migrations are logged as a warning.
/// `db migrate`/`db adopt`/`db check` use [`connect`].
pub fn open(url: &str) -> Result<DbConn, DbError> {
    if let Some(path) = sqlite_path(url)
        && path != ":memory:"
        && !std::path::Path::new(path).exists()
    {
        // Do not leave an empty database file behind a mistyped URL.
        return Err(DbError::NoDatabase {
            path: path.to_string(),
        });
    }
    let mut conn = connect(url)?;
    if !has_migrations_table(&mut conn)? {
        // An MM2 database not adopted yet works as it is (`db adopt` records it).
        if has_table(&mut conn, "category")? && has_table(&mut conn, "host")? {
            return Ok(conn);
        }
        return Err(DbError::NoSchema { url: redact(url) });
    }
    let pending = pending(&mut conn)?;
    if !pending.is_empty() {
        log::warn!(
            "{} has {} pending migrations ({}): run `mirrormanager db migrate`",
            redact(url),
            pending.len(),
            pending.join(", ")
        );
    }
    Ok(conn)
}

/// Apply pending migrations; returns the names of those applied.
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let names = match conn {
        DbConn::Pg(c) => c
            .run_pending_migrations(PG_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
    };
    names.map_err(|e| DbError::Migration(e.to_string()))
}

/// Whether the database has diesel's migration bookkeeping table.
pub fn has_migrations_table(conn: &mut DbConn) -> Result<bool, DbError> {
    has_table(conn, MIGRATIONS_TABLE)
}

/// Does index `name` (a plain identifier) exist?
pub fn has_index(conn: &mut DbConn, name: &str) -> Result<bool, DbError> {
    let sql = match conn {
        DbConn::Pg(_) => format!("SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = '{name}'"),
        DbConn::Sqlite(_) => {
            format!(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = '{name}'"
            )
        }
    };
    let n = match conn {
        DbConn::Pg(c) => diesel::sql_query(sql).get_result::<CountRow>(c)?.n,
        DbConn::Sqlite(c) => diesel::sql_query(sql).get_result::<CountRow>(c)?.n,
    };
    Ok(n > 0)
}

/// Does table `name` (a plain identifier) exist?
fn has_table(conn: &mut DbConn, name: &str) -> Result<bool, DbError> {
    let sql = match conn {
        DbConn::Pg(_) => format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '{name}'"
        ),
        DbConn::Sqlite(_) => format!(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
        ),
    };
    let n = match conn {
        DbConn::Pg(c) => diesel::sql_query(sql).get_result::<CountRow>(c)?.n,
        DbConn::Sqlite(c) => diesel::sql_query(sql).get_result::<CountRow>(c)?.n,
    };
    Ok(n > 0)
}

/// Names of migrations not yet applied (read-only: a database without our bookkeeping
/// table has every migration pending, and the table is not created).
pub fn pending(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    if !has_migrations_table(conn)? {
        use diesel::migration::MigrationSource;
        let err2 = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
        let all: Vec<String> = match conn {
            DbConn::Pg(_) => MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
                .map_err(err2)?
                .iter()
                .map(|m| m.name().to_string())
                .collect(),
            DbConn::Sqlite(_) => {
                MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                    .map_err(err2)?
                    .iter()
                    .map(|m| m.name().to_string())
                    .collect()
            }
        };
        return Ok(all);
    }
    let names = match conn {
        DbConn::Pg(c) => c
            .pending_migrations(PG_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.name().to_string()).collect()),
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.name().to_string()).collect()),
    };
    names.map_err(|e| DbError::Migration(e.to_string()))
}

/// Tables and their columns.
pub type SchemaMap = BTreeMap<String, BTreeSet<String>>;

/// The schema our code expects, read from `schema.rs` (the single source of truth).
pub fn expected_schema() -> SchemaMap {
    parse_schema_rs(include_str!("schema.rs"))
}

/// Parse diesel `table!` blocks: table name and column names (honouring `#[sql_name]`).
pub fn parse_schema_rs(text: &str) -> SchemaMap {
    let mut out = SchemaMap::new();
    let mut table: Option<String> = None;
    let mut sql_name: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == "diesel::table! {" {
            table = Some(String::new());
            continue;
        }
        let Some(t) = table.as_mut() else { continue };
        if t.is_empty() {
            if let Some((name, _)) = line.split_once(' ') {
                *t = name.to_string();
                out.entry(name.to_string()).or_default();
            }
            continue;
        }
        if line == "}" {
            // end of the column block; the closing brace of the macro follows
            continue;
        }
        if let Some(rest) = line.strip_prefix("#[sql_name = \"") {
            sql_name = rest.strip_suffix("\"]").map(str::to_string);
            continue;
        }
        if let Some((col, _)) = line.split_once(" -> ") {
            let name = sql_name.take().unwrap_or_else(|| col.to_string());
            out.get_mut(t.as_str()).expect("table entry").insert(name);
        } else if line.is_empty() || line.starts_with("diesel::") {
            table = None;
        }
    }
    out
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// The tables and columns the connected database has (our migration bookkeeping excluded).
pub fn actual_schema(conn: &mut DbConn) -> Result<SchemaMap, DbError> {
    let rows: Vec<ColumnRow> = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema()",
        )
        .load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .load(c)?,
    };
    let mut out = SchemaMap::new();
    for r in rows {
        if r.table_name == MIGRATIONS_TABLE {
            continue;
        }
        out.entry(r.table_name).or_default().insert(r.column_name);
    }
    Ok(out)
}

/// One thing `db check` found missing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Missing {
    Table { table: String },
    Column { table: String, column: String },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Table { table } => write!(f, "missing table {table}"),
            Missing::Column { table, column } => write!(f, "missing column {table}.{column}"),
        }
    }
}

/// Compare the database with what our code needs; empty means everything is there.
pub fn check(conn: &mut DbConn) -> Result<Vec<Missing>, DbError> {
    let actual = actual_schema(conn)?;
    Ok(diff_schema(&expected_schema(), &actual))
}

/// What `expected` has that `actual` lacks.
pub fn diff_schema(expected: &SchemaMap, actual: &SchemaMap) -> Vec<Missing> {
    let mut missing = Vec::new();
    for (table, cols) in expected {
        match actual.get(table) {
            None => missing.push(Missing::Table {
                table: table.clone(),
            }),
            Some(have) => {
                for c in cols.difference(have) {
                    missing.push(Missing::Column {
                        table: table.clone(),
                        column: c.clone(),
                    });
                }
            }
        }
    }
    missing
}

/// Take over an existing MirrorManager2 database: verify it has every table and column we
/// need, record our base migration as applied (MM2 created those tables), then apply the
/// rest of our migrations (our extras). Refuses, changing nothing, when anything is missing.
pub fn adopt(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let missing = check(conn)?;
    if !missing.is_empty() {
        let list = missing.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        return Err(DbError::Schema(list.join(", ")));
    }
    let base = base_migration_version();
    conn.transaction(|c| {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        );
        diesel::sql_query(create).execute(c)?;
        let exists: i64 = diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM {MIGRATIONS_TABLE} WHERE version = '{base}'"
        ))
        .get_result::<CountRow>(c)?
        .n;
        if exists == 0 {
            diesel::sql_query(format!(
                "INSERT INTO {MIGRATIONS_TABLE} (version) VALUES ('{base}')"
            ))
            .execute(c)?;
        }
        Ok::<_, DbError>(())
    })?;
    migrate(conn)
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The version of the first migration (the MM2 schema itself): its folder name's digits.
fn base_migration_version() -> String {
    BASE_MIGRATION
        .split('_')
        .next()
        .unwrap_or("")
        .replace('-', "")
}

/// Folder name of the base migration (MM2's own schema).
pub const BASE_MIGRATION: &str = "2026-01-01-000000_mm2_schema";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_refuses_a_database_without_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/mm.db", dir.path().display());
        let e = open(&url).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "SQLite database {}/mm.db does not exist: check database_url",
                dir.path().display()
            )),
            "{e}"
        );
        assert!(
            !dir.path().join("mm.db").exists(),
            "no empty file left behind"
        );
        let mut conn = connect(&url).unwrap();
        let e = open(&url).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{url} has no MirrorManager schema: `mirrormanager db migrate`"
            )),
            "{e}"
        );
        migrate(&mut conn).unwrap();
        open(&url).unwrap();
        // An MM2 database that was not adopted (no migrations table) works as it is.
        let mm2 = format!("sqlite://{}/mm2.db", dir.path().display());
        connect(&mm2)
            .unwrap()
            .batch_execute("CREATE TABLE category (id INTEGER); CREATE TABLE host (id INTEGER);")
            .unwrap();
        open(&mm2).unwrap();
    }

    #[test]
    fn a_missing_table_gets_a_hint() {
        let mut conn = connect(":memory:").unwrap();
        let e = DbError::from(
            diesel::sql_query("SELECT * FROM host")
                .execute(&mut conn)
                .unwrap_err(),
        )
        .to_string();
        assert!(
            e.starts_with("database error: no such table: host (is this the right database?"),
            "{e}"
        );
        let e = DbError::from(
            diesel::sql_query("SELECT nonsense FROM")
                .execute(&mut conn)
                .unwrap_err(),
        )
        .to_string();
        assert!(!e.contains("right database"), "{e}");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://mm:s3cret@db.example:5432/mm"),
            "postgres://mm:***@db.example:5432/mm"
        );
        assert_eq!(redact("postgres://mm@db/mm"), "postgres://mm@db/mm");
        assert_eq!(
            redact("postgres://db/mm?user=a&password=x"),
            "postgres://db/mm?user=a&password=***"
        );
        assert_eq!(redact("sqlite:///var/lib/mm.db"), "sqlite:///var/lib/mm.db");
    }

    #[test]
    fn bulk_write_tuning_sets_the_sqlite_cache() {
        #[derive(QueryableByName)]
        struct Pragma {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            cache_size: i64,
        }
        let mut conn = connect(":memory:").unwrap();
        let DbConn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        let before = diesel::sql_query("PRAGMA cache_size")
            .get_result::<Pragma>(c)
            .unwrap();
        assert_ne!(before.cache_size, -96 * 1024);
        tune_for_bulk_writes(&mut conn, 96).unwrap();
        let DbConn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        let after = diesel::sql_query("PRAGMA cache_size")
            .get_result::<Pragma>(c)
            .unwrap();
        assert_eq!(after.cache_size, -96 * 1024);
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(sqlite_path("sqlite:///a/b.db"), Some("/a/b.db"));
        assert_eq!(sqlite_path("sqlite://rel.db"), Some("rel.db"));
        assert_eq!(sqlite_path("/x.db"), Some("/x.db"));
        assert_eq!(sqlite_path("postgresql://h/db"), None);
    }

    #[test]
    fn schema_rs_parses_every_table() {
        let s = expected_schema();
        assert_eq!(s.len(), 38, "{:?}", s.keys().collect::<Vec<_>>());
        assert!(s["host"].contains("crawl_failures"));
        assert!(s["host_stats"].contains("type"));
        assert_eq!(s["host"].len(), 27);
    }
}
