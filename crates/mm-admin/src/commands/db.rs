//! `mirrormanager db migrate|check|adopt`: create and verify the database.

use clap::Subcommand;
use mm_core::DbConn;
use mm_core::db;

use crate::error::{AdminError, Result};

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
    match cmd {
        DbCmd::Migrate => {
            let applied = db::migrate(conn)?;
            if applied.is_empty() {
                println!("database is up to date ({})", conn.backend());
            }
            for m in applied {
                println!("applied {m}");
            }
        }
        DbCmd::Check { json } => {
            let missing = db::check(conn)?;
            let pending = db::pending(conn).unwrap_or_default();
            if json {
                let v = serde_json::json!({ "ok": missing.is_empty(), "missing": missing, "pending_migrations": pending });
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            } else {
                for m in &missing {
                    println!("{m}");
                }
                for p in &pending {
                    println!("pending migration {p}");
                }
            }
            if !missing.is_empty() {
                return Err(AdminError::Invalid(format!(
                    "database lacks {} table(s)/column(s) the jobs need",
                    missing.len()
                )));
            }
            if !json {
                println!("ok: every table and column is present ({})", conn.backend());
            }
        }
        DbCmd::Adopt => {
            let applied = db::adopt(conn)?;
            println!(
                "adopted the database; applied {} migration(s)",
                applied.len()
            );
        }
    }
    Ok(())
}
