//! `mirrormanager category add|list|show|edit|remove`: categories and their top directory.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum CategoryCmd {
    /// Add a category with its top directory (path relative to umdl.prefix, e.g. pub/fedora/linux)
    Add {
        name: String,
        #[arg(long)]
        topdir: String,
        #[arg(long)]
        product: Option<String>,
        #[arg(long)]
        canonicalhost: Option<String>,
        #[arg(long)]
        geo_dns_domain: Option<String>,
        /// Leave the category out of the public list
        #[arg(long)]
        no_publiclist: bool,
        #[arg(long)]
        admin_only: bool,
    },
    /// List categories
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one category
    Show {
        category: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a category
    Edit {
        category: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        topdir: Option<String>,
        #[arg(long)]
        product: Option<String>,
        #[arg(long)]
        canonicalhost: Option<String>,
        #[arg(long)]
        publiclist: Option<bool>,
    },
    /// Remove a category no host carries any more
    Remove { category: String },
}

#[derive(serde::Serialize)]
struct CategoryView {
    #[serde(flatten)]
    category: Category,
    topdir: Option<String>,
    product: Option<String>,
    hosts: i64,
    directories: i64,
}

/// The directory row for `name`, created (empty, readable) when missing.
pub fn directory_id(conn: &mut DbConn, name: &str) -> Result<i32> {
    let name = name.trim_matches('/');
    if name.is_empty() || name.contains("//") || name.split('/').any(|c| c == "..") {
        return Err(AdminError::Invalid(format!("malformed directory {name:?}")));
    }
    if let Some(id) = directory::table
        .filter(directory::name.eq(name))
        .select(directory::id)
        .first::<i32>(conn)
        .optional()?
    {
        return Ok(id);
    }
    diesel::insert_into(directory::table)
        .values(&NewDirectory {
            name: name.to_string(),
            files: None,
            readable: true,
            ctime: Some(0),
        })
        .execute(conn)?;
    Ok(directory::table
        .filter(directory::name.eq(name))
        .select(directory::id)
        .first(conn)?)
}

fn view(conn: &mut DbConn, c: Category) -> Result<CategoryView> {
    let topdir = match c.topdir_id {
        Some(id) => directory::table
            .find(id)
            .select(directory::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let product = match c.product_id {
        Some(id) => product::table
            .find(id)
            .select(product::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let hosts = host_category::table
        .filter(host_category::category_id.eq(c.id))
        .count()
        .get_result(conn)?;
    let directories = category_directory::table
        .filter(category_directory::category_id.eq(c.id))
        .count()
        .get_result(conn)?;
    Ok(CategoryView {
        category: c,
        topdir,
        product,
        hosts,
        directories,
    })
}

/// The checks `add` and `edit --name` share: not blank, and no other category has it.
fn check_name(conn: &mut DbConn, name: &str, other_than: Option<i32>) -> Result<()> {
    if name.trim().is_empty() {
        return Err(AdminError::Invalid(
            "category name must not be empty".into(),
        ));
    }
    let mut q = category::table.filter(category::name.eq(name)).into_boxed();
    if let Some(id) = other_than {
        q = q.filter(category::id.ne(id));
    }
    if q.count().get_result::<i64>(conn)? > 0 {
        return Err(AdminError::Conflict(duplicate(name)));
    }
    Ok(())
}

fn duplicate(name: &str) -> String {
    format!("category {name:?} already exists")
}

pub fn run(conn: &mut DbConn, cmd: CategoryCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        CategoryCmd::Add {
            name,
            topdir,
            product,
            canonicalhost,
            geo_dns_domain,
            no_publiclist,
            admin_only,
        } => {
            check_name(conn, &name, None)?;
            let product_id = product
                .map(|p| find::product_by(conn, &p).map(|p| p.id))
                .transpose()?;
            let topdir_id = directory_id(conn, &topdir)?;
            diesel::insert_into(category::table)
                .values(&NewCategory {
                    name: name.clone(),
                    product_id,
                    topdir_id: Some(topdir_id),
                    canonicalhost,
                    publiclist: !no_publiclist,
                    geo_dns_domain,
                    admin_only: Some(admin_only),
                })
                .execute(conn)?;
            let c = find::category_by(conn, &name)?;
            diesel::insert_into(category_directory::table)
                .values(&CategoryDirectory {
                    category_id: c.id,
                    directory_id: topdir_id,
                })
                .execute(conn)?;
            out.line(format!(
                "added category {} (id {}) at {}",
                c.name,
                c.id,
                topdir.trim_matches('/')
            ));
            Ok(())
        }
        CategoryCmd::List { json } => {
            let rows = category::table
                .select(Category::as_select())
                .order(category::id)
                .load(conn)?;
            let views = rows
                .into_iter()
                .map(|c| view(conn, c))
                .collect::<Result<Vec<_>>>()?;
            out.rows(&views, json, |v| {
                format!(
                    "{:>4}  {:<24} {:<32} hosts={} dirs={}",
                    v.category.id,
                    v.category.name,
                    v.topdir.as_deref().unwrap_or("-"),
                    v.hosts,
                    v.directories
                )
            });
            Ok(())
        }
        CategoryCmd::Show {
            category: key,
            json,
        } => {
            let c = find::category_by(conn, &key)?;
            let v = view(conn, c)?;
            out.one(&v, json, |v| {
                format!(
                    "category {} (id {})\ntopdir: {}\nproduct: {}\npubliclist: {}\nhosts: {}\ndirectories: {}",
                    v.category.name,
                    v.category.id,
                    v.topdir.as_deref().unwrap_or("-"),
                    v.product.as_deref().unwrap_or("-"),
                    output::yn(v.category.publiclist),
                    v.hosts,
                    v.directories
                )
            });
            Ok(())
        }
        CategoryCmd::Edit {
            category: key,
            name,
            topdir,
            product,
            canonicalhost,
            publiclist,
        } => {
            let c = find::category_by(conn, &key)?;
            let t = category::table.find(c.id);
            if let Some(v) = name {
                check_name(conn, &v, Some(c.id))?;
                diesel::update(t)
                    .set(category::name.eq(&v))
                    .execute(conn)
                    .map_err(conflict_on_unique(|| duplicate(&v)))?;
            }
            if let Some(v) = topdir {
                let id = directory_id(conn, &v)?;
                diesel::update(t)
                    .set(category::topdir_id.eq(id))
                    .execute(conn)?;
            }
            if let Some(v) = product {
                let p = find::product_by(conn, &v)?;
                diesel::update(t)
                    .set(category::product_id.eq(p.id))
                    .execute(conn)?;
            }
            if let Some(v) = canonicalhost {
                diesel::update(t)
                    .set(category::canonicalhost.eq(v))
                    .execute(conn)?;
            }
            if let Some(v) = publiclist {
                diesel::update(t)
                    .set(category::publiclist.eq(v))
                    .execute(conn)?;
            }
            out.line(format!("updated category {}", c.id));
            Ok(())
        }
        CategoryCmd::Remove { category: key } => {
            let c = find::category_by(conn, &key)?;
            let v = view(conn, c.clone())?;
            if v.hosts > 0 {
                return Err(AdminError::Conflict(format!(
                    "category {:?} is carried by {} host(s); remove those host-categories first",
                    c.name, v.hosts
                )));
            }
            // Their propagation statistics go with the repositories (they reference them).
            let repos = repository::table
                .filter(repository::category_id.eq(c.id))
                .select(repository::id);
            diesel::delete(
                propagation_stat::table.filter(propagation_stat::repository_id.eq_any(repos)),
            )
            .execute(conn)?;
            diesel::delete(repository::table.filter(repository::category_id.eq(c.id)))
                .execute(conn)?;
            diesel::delete(
                category_directory::table.filter(category_directory::category_id.eq(c.id)),
            )
            .execute(conn)?;
            diesel::delete(category::table.find(c.id)).execute(conn)?;
            out.line(format!("removed category {}", c.name));
            Ok(())
        }
    })
}
