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

pub fn run(conn: &mut DbConn, cmd: SiteCmd) -> Result<()> {
    conn.transaction(|conn| match cmd {
        SiteCmd::Add { name, org_url, private, password, created_by } => {
            if name.trim().is_empty() {
                return Err(AdminError::Invalid("site name must not be empty".into()));
            }
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
            if site::table.filter(site::name.eq(&name)).count().get_result::<i64>(conn)? > 0 {
                return Err(AdminError::Conflict(format!("site {name:?} already exists")));
            }
            diesel::insert_into(site::table).values(&new).execute(conn)?;
            let s = find::site_by(conn, &name)?;
            println!("added site {} (id {})", s.name, s.id);
            Ok(())
        }
        SiteCmd::List { json } => {
            let rows = site::table.select(Site::as_select()).order(site::id).load(conn)?;
            output::print(&rows, json, |s| {
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
            output::print_one(&v, json, |v| {
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
        SiteCmd::Edit { site: key, name, org_url, private, admin_active, user_active } => {
            let s = find::site_by(conn, &key)?;
            let t = site::table.find(s.id);
            if let Some(v) = name {
                diesel::update(t).set(site::name.eq(v)).execute(conn)?;
            }
            if let Some(v) = org_url {
                diesel::update(t).set(site::org_url.eq(v)).execute(conn)?;
            }
            if let Some(v) = private {
                diesel::update(t).set(site::private.eq(v)).execute(conn)?;
            }
            if let Some(v) = admin_active {
                diesel::update(t).set(site::admin_active.eq(v)).execute(conn)?;
            }
            if let Some(v) = user_active {
                diesel::update(t).set(site::user_active.eq(v)).execute(conn)?;
            }
            println!("updated site {}", s.id);
            Ok(())
        }
        SiteCmd::Remove { site: key, cascade } => {
            let s = find::site_by(conn, &key)?;
            let hosts: Vec<i32> = host::table.filter(host::site_id.eq(s.id)).select(host::id).load(conn)?;
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
                    site_to_site::downstream_site_id.eq(s.id).or(site_to_site::upstream_site_id.eq(s.id)),
                ),
            )
            .execute(conn)?;
            diesel::delete(site::table.find(s.id)).execute(conn)?;
            println!("removed site {}", s.name);
            Ok(())
        }
    })
}
