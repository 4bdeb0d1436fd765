//! `mirrormanager url add|list|show|edit|remove`: the URLs a host serves a category under.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum UrlCmd {
    /// Add a URL (http, https, ftp or rsync) for a host's category
    Add {
        host: String,
        category: String,
        url: String,
        /// Only for the host's own netblocks (never listed publicly)
        #[arg(long)]
        private: bool,
    },
    /// List URLs
    List {
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one URL
    Show {
        url: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a URL
    Edit {
        url: String,
        #[arg(long)]
        new_url: Option<String>,
        #[arg(long)]
        private: Option<bool>,
    },
    /// Remove a URL
    Remove { url: String },
}

/// Check a mirror URL: a known scheme, a host part, no spaces.
pub fn check_url(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let ok_scheme = ["http://", "https://", "ftp://", "rsync://"]
        .iter()
        .any(|s| u.starts_with(s));
    let host = u
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    if !ok_scheme || host.is_empty() || u.chars().any(char::is_whitespace) {
        return Err(AdminError::Invalid(format!(
            "malformed URL {url:?}: expected http://, https://, ftp:// or rsync:// with a host"
        )));
    }
    Ok(u.to_string())
}

fn by_url(conn: &mut DbConn, url: &str) -> Result<HostCategoryUrl> {
    host_category_url::table
        .select(HostCategoryUrl::as_select())
        .filter(host_category_url::url.eq(url.trim_end_matches('/')))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("URL", url))
}

pub fn run(conn: &mut DbConn, cmd: UrlCmd) -> Result<()> {
    conn.transaction(|conn| match cmd {
        UrlCmd::Add {
            host,
            category,
            url,
            private,
        } => {
            let url = check_url(&url)?;
            let h = find::host_by(conn, &host)?;
            let c = find::category_by(conn, &category)?;
            let hc = find::host_category_by(conn, &h, &c).map_err(|_| {
                AdminError::Invalid(format!(
                    "host {} does not carry {}; run `mirrormanager host-category add` first",
                    h.name, c.name
                ))
            })?;
            if let Ok(existing) = by_url(conn, &url) {
                return Err(AdminError::Conflict(format!(
                    "URL {url} is already registered (host-category {})",
                    existing.host_category_id
                )));
            }
            diesel::insert_into(host_category_url::table)
                .values(&NewHostCategoryUrl {
                    host_category_id: hc.id,
                    url: url.clone(),
                    private,
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| {
                    format!("URL {url} is already registered")
                }))?;
            println!("added {url} for {} {}", h.name, c.name);
            Ok(())
        }
        UrlCmd::List { host, json } => {
            let mut q = host_category_url::table
                .inner_join(host_category::table)
                .select(HostCategoryUrl::as_select())
                .order(host_category_url::id)
                .into_boxed();
            if let Some(k) = host {
                let h = find::host_by(conn, &k)?;
                q = q.filter(host_category::host_id.eq(h.id));
            }
            let rows = q.load(conn)?;
            output::print(&rows, json, |u| {
                format!(
                    "{:>5}  hc={:<5} {}{}",
                    u.id,
                    u.host_category_id,
                    u.url,
                    if u.private { " (private)" } else { "" }
                )
            });
            Ok(())
        }
        UrlCmd::Show { url, json } => {
            let u = by_url(conn, &url)?;
            output::print_one(&u, json, |u| {
                format!(
                    "{} host-category {} private={}",
                    u.url,
                    u.host_category_id,
                    output::yn(u.private)
                )
            });
            Ok(())
        }
        UrlCmd::Edit {
            url,
            new_url,
            private,
        } => {
            let u = by_url(conn, &url)?;
            if let Some(n) = new_url {
                let n = check_url(&n)?;
                diesel::update(host_category_url::table.find(u.id))
                    .set(host_category_url::url.eq(&n))
                    .execute(conn)
                    .map_err(conflict_on_unique(|| {
                        format!("URL {n} is already registered")
                    }))?;
            }
            if let Some(p) = private {
                diesel::update(host_category_url::table.find(u.id))
                    .set(host_category_url::private.eq(p))
                    .execute(conn)?;
            }
            println!("updated URL {}", u.id);
            Ok(())
        }
        UrlCmd::Remove { url } => {
            let u = by_url(conn, &url)?;
            diesel::delete(host_category_url::table.find(u.id)).execute(conn)?;
            println!("removed {}", u.url);
            Ok(())
        }
    })
}
