//! `mirrormanager db migrate|check|adopt`: create and verify the database.

use clap::Subcommand;
use mm_core::DbConn;
use mm_core::db;

use crate::error::{AdminError, Result};
use crate::output::Printout;

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Apply pending migrations (creates the schema on an empty database)
    Migrate,
    /// Verify the database has every table and column the jobs need; list what is missing
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Take over an existing MirrorManager2 database: verify it, then add only our extras
    Adopt,
}

pub fn run(conn: &mut DbConn, cmd: DbCmd) -> Result<()> {
    let mut out = Printout::default();
    match cmd {
        DbCmd::Migrate => {
            let applied = db::migrate(conn)?;
            if applied.is_empty() {
                out.line(format_args!("database is up to date ({})", conn.backend()));
            }
            for m in applied {
                out.line(format_args!("applied {m}"));
            }
        }
        DbCmd::Check { json } => {
            let missing = db::check(conn)?;
            let pending = db::pending(conn).unwrap_or_default();
            if json {
                let v = serde_json::json!({ "ok": missing.is_empty(), "missing": missing, "pending_migrations": pending });
                out.json(&v);
            } else {
                for m in &missing {
                    out.line(m);
                }
                for p in &pending {
                    out.line(format_args!("pending migration {p}"));
                }
            }
            if !missing.is_empty() {
                out.emit()?;
                return Err(AdminError::Invalid(format!(
                    "database lacks {} table(s)/column(s) the jobs need",
                    missing.len()
                )));
            }
            if !json {
                out.line(format_args!(
                    "ok: every table and column is present ({})",
                    conn.backend()
                ));
            }
        }
        DbCmd::Adopt => {
            let applied = db::adopt(conn)?;
            out.line(format_args!(
                "adopted the database; applied {} migration(s)",
                applied.len()
            ));
        }
    }
    out.emit()
}
