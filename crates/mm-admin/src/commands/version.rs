//! `mirrormanager version add|list|show|edit|remove`: releases of a product.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum VersionCmd {
    /// Add a version to a product
    Add {
        product: String,
        name: String,
        /// A test (beta) release
        #[arg(long)]
        test: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value_t = 0)]
        sortorder: i32,
        #[arg(long)]
        codename: Option<String>,
        /// Hide it from the public list
        #[arg(long)]
        no_display: bool,
        #[arg(long)]
        ordered_mirrorlist: bool,
    },
    /// List versions
    List {
        #[arg(long)]
        product: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one version
    Show {
        product: String,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a version
    Edit {
        product: String,
        name: String,
        #[arg(long)]
        test: Option<bool>,
        #[arg(long)]
        display: Option<bool>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        sortorder: Option<i32>,
        #[arg(long)]
        codename: Option<String>,
        #[arg(long)]
        ordered_mirrorlist: Option<bool>,
    },
    /// Remove a version no repository uses
    Remove { product: String, name: String },
}

fn by(conn: &mut DbConn, product: &str, name: &str) -> Result<(Product, Version)> {
    let p = find::product_by(conn, product)?;
    let v = version::table
        .select(Version::as_select())
        .filter(version::product_id.eq(p.id))
        .filter(version::name.eq(name))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("version", format!("{} {name}", p.name)))?;
    Ok((p, v))
}

pub fn run(conn: &mut DbConn, cmd: VersionCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        VersionCmd::Add {
            product,
            name,
            test,
            display_name,
            sortorder,
            codename,
            no_display,
            ordered_mirrorlist,
        } => {
            let p = find::product_by(conn, &product)?;
            if by(conn, &product, &name).is_ok() {
                return Err(AdminError::Conflict(format!(
                    "{} already has version {name:?}",
                    p.name
                )));
            }
            diesel::insert_into(version::table)
                .values(&NewVersion {
                    name: Some(name.clone()),
                    product_id: Some(p.id),
                    is_test: test,
                    display: !no_display,
                    display_name,
                    ordered_mirrorlist,
                    sortorder,
                    codename,
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| {
                    format!("{} already has version {name:?}", p.name)
                }))?;
            out.line(format!("added version {name} of {}", p.name));
            Ok(())
        }
        VersionCmd::List { product, json } => {
            let mut q = version::table
                .select(Version::as_select())
                .order(version::id)
                .into_boxed();
            if let Some(k) = product {
                let p = find::product_by(conn, &k)?;
                q = q.filter(version::product_id.eq(p.id));
            }
            let rows = q.load(conn)?;
            out.rows(&rows, json, |v| {
                format!(
                    "{:>4}  product={:<3} {:<12} test={} display={} sortorder={}",
                    v.id,
                    v.product_id.unwrap_or(0),
                    v.name.as_deref().unwrap_or(""),
                    output::yn(v.is_test),
                    output::yn(v.display),
                    v.sortorder
                )
            });
            Ok(())
        }
        VersionCmd::Show {
            product,
            name,
            json,
        } => {
            let (p, v) = by(conn, &product, &name)?;
            out.one(&v, json, |v| {
                format!(
                    "version {} of {} (id {}) test={} display={}",
                    name,
                    p.name,
                    v.id,
                    output::yn(v.is_test),
                    output::yn(v.display)
                )
            });
            Ok(())
        }
        VersionCmd::Edit {
            product,
            name,
            test,
            display,
            display_name,
            sortorder,
            codename,
            ordered_mirrorlist,
        } => {
            let (_, v) = by(conn, &product, &name)?;
            let t = version::table.find(v.id);
            if let Some(x) = test {
                diesel::update(t)
                    .set(version::is_test.eq(x))
                    .execute(conn)?;
            }
            if let Some(x) = display {
                diesel::update(t)
                    .set(version::display.eq(x))
                    .execute(conn)?;
            }
            if let Some(x) = display_name {
                diesel::update(t)
                    .set(version::display_name.eq(x))
                    .execute(conn)?;
            }
            if let Some(x) = sortorder {
                diesel::update(t)
                    .set(version::sortorder.eq(x))
                    .execute(conn)?;
            }
            if let Some(x) = codename {
                diesel::update(t)
                    .set(version::codename.eq(x))
                    .execute(conn)?;
            }
            if let Some(x) = ordered_mirrorlist {
                diesel::update(t)
                    .set(version::ordered_mirrorlist.eq(x))
                    .execute(conn)?;
            }
            out.line(format!("updated version {}", v.id));
            Ok(())
        }
        VersionCmd::Remove { product, name } => {
            let (p, v) = by(conn, &product, &name)?;
            let repos: i64 = repository::table
                .filter(repository::version_id.eq(v.id))
                .count()
                .get_result(conn)?;
            if repos > 0 {
                return Err(AdminError::Conflict(format!(
                    "version {name} of {} is used by {repos} repositories",
                    p.name
                )));
            }
            diesel::delete(version::table.find(v.id)).execute(conn)?;
            out.line(format!("removed version {name} of {}", p.name));
            Ok(())
        }
    })
}
