//! `mirrormanager site add|list|show|edit|remove`.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum SiteCmd {
    /// Add a site
    Add {
        name: String,
        #[arg(long)]
        org_url: Option<String>,
        /// Private site: its hosts are only offered to their own netblocks
        #[arg(long)]
        private: bool,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, default_value = "mirrormanager")]
        created_by: String,
    },
    /// List sites
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one site with its hosts
    Show {
        site: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a site's fields
    Edit {
        site: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        org_url: Option<String>,
        #[arg(long)]
        private: Option<bool>,
        #[arg(long)]
        admin_active: Option<bool>,
        #[arg(long)]
        user_active: Option<bool>,
    },
    /// Remove a site (with --cascade also its hosts and everything below them)
    Remove {
        site: String,
        #[arg(long)]
        cascade: bool,
    },
}

#[derive(serde::Serialize)]
struct SiteView {
    #[serde(flatten)]
    site: Site,
    hosts: Vec<String>,
}

/// The checks `add` and `edit --name` share: a name that is not blank and that no other
/// site has (site names are not unique in MM2's schema; people find sites by name).
fn check_name(conn: &mut DbConn, name: &str, other_than: Option<i32>) -> Result<()> {
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("site name must not be empty".into()));
    }
    let mut q = site::table.filter(site::name.eq(name)).into_boxed();
    if let Some(id) = other_than {
        q = q.filter(site::id.ne(id));
    }
    if q.count().get_result::<i64>(conn)? > 0 {
        return Err(AdminError::Conflict(format!(
            "site {name:?} already exists"
        )));
    }
    Ok(())
}

pub fn run(conn: &mut DbConn, cmd: SiteCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        SiteCmd::Add {
            name,
            org_url,
            private,
            password,
            created_by,
        } => {
            check_name(conn, &name, None)?;
            let new = NewSite {
                name: name.clone(),
                password,
                org_url,
                private,
                admin_active: true,
                user_active: true,
                created_at: chrono::Utc::now().naive_utc(),
                created_by,
                all_sites_can_pull_from_me: false,
                downstream_comments: None,
                email_on_drop: false,
                email_on_add: false,
            };
            diesel::insert_into(site::table)
                .values(&new)
                .execute(conn)?;
            let s = find::site_by(conn, &name)?;
            out.line(format!("added site {} (id {})", s.name, s.id));
            Ok(())
        }
        SiteCmd::List { json } => {
            let rows = site::table
                .select(Site::as_select())
                .order(site::id)
                .load(conn)?;
            out.rows(&rows, json, |s| {
                format!(
                    "{:>5}  {:<30} private={} active={}",
                    s.id,
                    s.name,
                    output::yn(s.private),
                    output::yn(s.admin_active && s.user_active)
                )
            });
            Ok(())
        }
        SiteCmd::Show { site: key, json } => {
            let s = find::site_by(conn, &key)?;
            let hosts = host::table
                .filter(host::site_id.eq(s.id))
                .select(host::name)
                .order(host::name)
                .load::<String>(conn)?;
            let v = SiteView { site: s, hosts };
            out.one(&v, json, |v| {
                format!(
                    "site {} (id {})\norg_url: {}\nprivate: {}\nadmin_active: {}\nuser_active: {}\nhosts: {}",
                    v.site.name,
                    v.site.id,
                    v.site.org_url.as_deref().unwrap_or("-"),
                    output::yn(v.site.private),
                    output::yn(v.site.admin_active),
                    output::yn(v.site.user_active),
                    v.hosts.join(", ")
                )
            });
            Ok(())
        }
        SiteCmd::Edit {
            site: key,
            name,
            org_url,
            private,
            admin_active,
            user_active,
        } => {
            let s = find::site_by(conn, &key)?;
            let t = site::table.find(s.id);
            if let Some(v) = name {
                check_name(conn, &v, Some(s.id))?;
                diesel::update(t).set(site::name.eq(v)).execute(conn)?;
            }
            if let Some(v) = org_url {
                diesel::update(t).set(site::org_url.eq(v)).execute(conn)?;
            }
            if let Some(v) = private {
                diesel::update(t).set(site::private.eq(v)).execute(conn)?;
            }
            if let Some(v) = admin_active {
                diesel::update(t)
                    .set(site::admin_active.eq(v))
                    .execute(conn)?;
            }
            if let Some(v) = user_active {
                diesel::update(t)
                    .set(site::user_active.eq(v))
                    .execute(conn)?;
            }
            out.line(format!("updated site {}", s.id));
            Ok(())
        }
        SiteCmd::Remove { site: key, cascade } => {
            let s = find::site_by(conn, &key)?;
            let hosts: Vec<i32> = host::table
                .filter(host::site_id.eq(s.id))
                .select(host::id)
                .load(conn)?;
            if !hosts.is_empty() && !cascade {
                return Err(AdminError::Conflict(format!(
                    "site {:?} still has {} host(s); remove them first or pass --cascade",
                    s.name,
                    hosts.len()
                )));
            }
            for h in hosts {
                super::host::delete_host(conn, h)?;
            }
            diesel::delete(site_admin::table.filter(site_admin::site_id.eq(s.id))).execute(conn)?;
            diesel::delete(
                site_to_site::table.filter(
                    site_to_site::downstream_site_id
                        .eq(s.id)
                        .or(site_to_site::upstream_site_id.eq(s.id)),
                ),
            )
            .execute(conn)?;
            diesel::delete(site::table.find(s.id)).execute(conn)?;
            out.line(format!("removed site {}", s.name));
            Ok(())
        }
    })
}
