//! `mirrormanager arch add|list|show|edit|remove`: architectures.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ArchCmd {
    /// Add an architecture
    Add {
        name: String,
        /// A primary architecture (x86_64, aarch64, …)
        #[arg(long)]
        primary: bool,
        #[arg(long)]
        no_publiclist: bool,
    },
    /// List architectures
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one architecture with the number of repositories using it
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an architecture
    Edit {
        name: String,
        #[arg(long)]
        primary: Option<bool>,
        #[arg(long)]
        publiclist: Option<bool>,
    },
    /// Remove an architecture no repository uses
    Remove { name: String },
}

#[derive(serde::Serialize)]
struct View {
    #[serde(flatten)]
    arch: Arch,
    repositories: i64,
}

fn by(conn: &mut DbConn, name: &str) -> Result<Arch> {
    arch::table
        .select(Arch::as_select())
        .filter(arch::name.eq(name))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("arch", name))
}

pub fn run(conn: &mut DbConn, cmd: ArchCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        ArchCmd::Add {
            name,
            primary,
            no_publiclist,
        } => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(AdminError::Invalid(format!("malformed arch name {name:?}")));
            }
            diesel::insert_into(arch::table)
                .values(&NewArch {
                    name: name.clone(),
                    publiclist: !no_publiclist,
                    primary_arch: primary,
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| {
                    format!("arch {name:?} already exists")
                }))?;
            out.line(format!("added arch {name}"));
            Ok(())
        }
        ArchCmd::List { json } => {
            let rows = arch::table
                .select(Arch::as_select())
                .order(arch::id)
                .load(conn)?;
            out.rows(&rows, json, |a| {
                format!(
                    "{:>4}  {:<10} primary={} publiclist={}",
                    a.id,
                    a.name,
                    output::yn(a.primary_arch),
                    output::yn(a.publiclist)
                )
            });
            Ok(())
        }
        ArchCmd::Show { name, json } => {
            let a = by(conn, &name)?;
            let repositories = repository::table
                .filter(repository::arch_id.eq(a.id))
                .count()
                .get_result(conn)?;
            let v = View {
                arch: a,
                repositories,
            };
            out.one(&v, json, |v| {
                format!(
                    "arch {} (id {})\nprimary: {}\npubliclist: {}\nrepositories: {}",
                    v.arch.name,
                    v.arch.id,
                    output::yn(v.arch.primary_arch),
                    output::yn(v.arch.publiclist),
                    v.repositories
                )
            });
            Ok(())
        }
        ArchCmd::Edit {
            name,
            primary,
            publiclist,
        } => {
            let a = by(conn, &name)?;
            if let Some(v) = primary {
                diesel::update(arch::table.find(a.id))
                    .set(arch::primary_arch.eq(v))
                    .execute(conn)?;
            }
            if let Some(v) = publiclist {
                diesel::update(arch::table.find(a.id))
                    .set(arch::publiclist.eq(v))
                    .execute(conn)?;
            }
            out.line(format!("updated arch {name}"));
            Ok(())
        }
        ArchCmd::Remove { name } => {
            let a = by(conn, &name)?;
            let used: i64 = repository::table
                .filter(repository::arch_id.eq(a.id))
                .count()
                .get_result(conn)?;
            if used > 0 {
                return Err(AdminError::Conflict(format!(
                    "arch {name} is used by {used} repositories"
                )));
            }
            diesel::delete(arch::table.find(a.id)).execute(conn)?;
            out.line(format!("removed arch {name}"));
            Ok(())
        }
    })
}
