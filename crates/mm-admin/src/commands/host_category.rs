//! `mirrormanager host-category add|list|show|edit|remove`: which categories a host carries.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum HostCategoryCmd {
    /// Let a host carry a category
    Add {
        host: String,
        category: String,
        /// Never crawl: the host is always up to date for this category
        #[arg(long)]
        always_up2date: bool,
    },
    /// List host-categories
    List {
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one host-category with its URLs and directory counts
    Show {
        host: String,
        category: String,
        #[arg(long)]
        json: bool,
    },
    /// Change always_up2date (`--always-up2date true|false`; left alone when not given)
    Edit {
        host: String,
        category: String,
        #[arg(long)]
        always_up2date: Option<bool>,
    },
    /// Stop carrying a category (removes its URLs and crawl results)
    Remove { host: String, category: String },
}

#[derive(serde::Serialize)]
struct Row {
    id: i32,
    host: String,
    category: String,
    always_up2date: bool,
    urls: Vec<String>,
    directories: i64,
    up2date_directories: i64,
}

fn row(conn: &mut DbConn, hc: HostCategory) -> Result<Row> {
    let host = match hc.host_id {
        Some(id) => host::table.find(id).select(host::name).first(conn)?,
        None => String::new(),
    };
    let category = match hc.category_id {
        Some(id) => category::table
            .find(id)
            .select(category::name)
            .first(conn)?,
        None => String::new(),
    };
    let urls = host_category_url::table
        .filter(host_category_url::host_category_id.eq(hc.id))
        .select(host_category_url::url)
        .order(host_category_url::id)
        .load(conn)?;
    let dirs = host_category_dir::table.filter(host_category_dir::host_category_id.eq(hc.id));
    let directories = dirs.count().get_result(conn)?;
    let up2date_directories = dirs
        .filter(host_category_dir::up2date.eq(true))
        .count()
        .get_result(conn)?;
    Ok(Row {
        id: hc.id,
        host,
        category,
        always_up2date: hc.always_up2date,
        urls,
        directories,
        up2date_directories,
    })
}

fn line(r: &Row) -> String {
    format!(
        "{:>5}  {:<32} {:<20} always_up2date={} urls={} up2date={}/{}",
        r.id,
        r.host,
        r.category,
        output::yn(r.always_up2date),
        r.urls.len(),
        r.up2date_directories,
        r.directories
    )
}

pub fn run(conn: &mut DbConn, cmd: HostCategoryCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        HostCategoryCmd::Add {
            host,
            category,
            always_up2date,
        } => {
            let h = find::host_by(conn, &host)?;
            let c = find::category_by(conn, &category)?;
            if find::host_category_by(conn, &h, &c).is_ok() {
                return Err(AdminError::Conflict(format!(
                    "host {} already carries {}",
                    h.name, c.name
                )));
            }
            diesel::insert_into(host_category::table)
                .values(&NewHostCategory {
                    host_id: Some(h.id),
                    category_id: Some(c.id),
                    always_up2date,
                })
                .execute(conn)?;
            let hc = find::host_category_by(conn, &h, &c)?;
            out.line(format!(
                "host {} now carries {} (host-category id {})",
                h.name, c.name, hc.id
            ));
            Ok(())
        }
        HostCategoryCmd::List { host, json } => {
            let mut q = host_category::table
                .select(HostCategory::as_select())
                .order(host_category::id)
                .into_boxed();
            if let Some(k) = host {
                let h = find::host_by(conn, &k)?;
                q = q.filter(host_category::host_id.eq(h.id));
            }
            let rows = q
                .load(conn)?
                .into_iter()
                .map(|hc| row(conn, hc))
                .collect::<Result<Vec<_>>>()?;
            out.rows(&rows, json, line);
            Ok(())
        }
        HostCategoryCmd::Show {
            host,
            category,
            json,
        } => {
            let h = find::host_by(conn, &host)?;
            let c = find::category_by(conn, &category)?;
            let hc = find::host_category_by(conn, &h, &c)?;
            let r = row(conn, hc)?;
            out.one(&r, json, |r| format!("{}\n{}", line(r), r.urls.join("\n")));
            Ok(())
        }
        HostCategoryCmd::Edit {
            host,
            category,
            always_up2date,
        } => {
            let h = find::host_by(conn, &host)?;
            let c = find::category_by(conn, &category)?;
            let hc = find::host_category_by(conn, &h, &c)?;
            let Some(v) = always_up2date else {
                out.line(format!(
                    "host-category {} unchanged: nothing to change (--always-up2date true|false)",
                    hc.id
                ));
                return Ok(());
            };
            diesel::update(host_category::table.find(hc.id))
                .set(host_category::always_up2date.eq(v))
                .execute(conn)?;
            out.line(format!("updated host-category {}", hc.id));
            Ok(())
        }
        HostCategoryCmd::Remove { host, category } => {
            let h = find::host_by(conn, &host)?;
            let c = find::category_by(conn, &category)?;
            let hc = find::host_category_by(conn, &h, &c)?;
            diesel::delete(
                host_category_dir::table.filter(host_category_dir::host_category_id.eq(hc.id)),
            )
            .execute(conn)?;
            diesel::delete(
                host_category_url::table.filter(host_category_url::host_category_id.eq(hc.id)),
            )
            .execute(conn)?;
            diesel::delete(host_category::table.find(hc.id)).execute(conn)?;
            out.line(format!("host {} no longer carries {}", h.name, c.name));
            Ok(())
        }
    })
}
