//! `mirrormanager product add|list|show|edit|remove`.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum ProductCmd {
    /// Add a product
    Add {
        name: String,
        #[arg(long)]
        no_publiclist: bool,
    },
    /// List products
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one product
    Show {
        product: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a product
    Edit {
        product: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        publiclist: Option<bool>,
    },
    /// Remove a product that has no versions or categories
    Remove { product: String },
}

/// The name check `add` and `edit --name` share (uniqueness is the database's, see
/// [`duplicate`]).
fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("product name must not be empty".into()));
    }
    Ok(())
}

/// The refusal when another product has the name (add and rename).
fn duplicate(name: &str) -> String {
    format!("product {name:?} already exists")
}

pub fn run(conn: &mut DbConn, cmd: ProductCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        ProductCmd::Add {
            name,
            no_publiclist,
        } => {
            check_name(&name)?;
            diesel::insert_into(product::table)
                .values(&NewProduct {
                    name: name.clone(),
                    publiclist: !no_publiclist,
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| duplicate(&name)))?;
            out.line(format!("added product {name}"));
            Ok(())
        }
        ProductCmd::List { json } => {
            let rows = product::table
                .select(Product::as_select())
                .order(product::id)
                .load(conn)?;
            out.rows(&rows, json, |p| {
                format!(
                    "{:>4}  {} publiclist={}",
                    p.id,
                    p.name,
                    output::yn(p.publiclist)
                )
            });
            Ok(())
        }
        ProductCmd::Show { product, json } => {
            let p = find::product_by(conn, &product)?;
            out.one(&p, json, |p| {
                format!(
                    "product {} (id {}) publiclist={}",
                    p.name,
                    p.id,
                    output::yn(p.publiclist)
                )
            });
            Ok(())
        }
        ProductCmd::Edit {
            product,
            name,
            publiclist,
        } => {
            let p = find::product_by(conn, &product)?;
            if let Some(n) = name {
                check_name(&n)?;
                diesel::update(product::table.find(p.id))
                    .set(product::name.eq(&n))
                    .execute(conn)
                    .map_err(conflict_on_unique(|| duplicate(&n)))?;
            }
            if let Some(v) = publiclist {
                diesel::update(product::table.find(p.id))
                    .set(product::publiclist.eq(v))
                    .execute(conn)?;
            }
            out.line(format!("updated product {}", p.id));
            Ok(())
        }
        ProductCmd::Remove { product } => {
            let p = find::product_by(conn, &product)?;
            let used: i64 = version::table
                .filter(version::product_id.eq(p.id))
                .count()
                .get_result(conn)?;
            let cats: i64 = category::table
                .filter(category::product_id.eq(p.id))
                .count()
                .get_result(conn)?;
            if used + cats > 0 {
                return Err(AdminError::Conflict(format!(
                    "product {:?} still has {used} version(s) and {cats} category(ies)",
                    p.name
                )));
            }
            diesel::delete(product::table.find(p.id)).execute(conn)?;
            out.line(format!("removed product {}", p.name));
            Ok(())
        }
    })
}
