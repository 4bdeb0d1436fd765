//! `mirrormanager host add|list|show|edit|remove`.
//!
//! `list --json` and `show --json` give each host with its site, categories, URLs,
//! netblocks, peer ASNs and allowed countries (loaded with one query per table).

use std::collections::HashMap;

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum HostCmd {
    /// Add a host (mirror) to a site
    Add {
        site: String,
        name: String,
        /// ISO 3166-1 country code (GB, not UK)
        #[arg(long)]
        country: String,
        /// Bandwidth in Mbit/s (weights the mirrorlist shuffle)
        #[arg(long, default_value_t = 100)]
        bandwidth: i32,
        #[arg(long)]
        private: bool,
        #[arg(long)]
        internet2: bool,
        #[arg(long)]
        internet2_clients: bool,
        #[arg(long)]
        asn: Option<i32>,
        /// Do not send clients of the host's ASN to it
        #[arg(long)]
        no_asn_clients: bool,
        #[arg(long, default_value_t = 1)]
        max_connections: i32,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        robot_email: Option<String>,
    },
    /// List hosts
    List {
        /// Only the hosts of this site
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one host with its categories, URLs, netblocks, ASNs and allowed countries
    Show {
        host: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a host's fields (`--user-active true` re-enables an auto-disabled host)
    Edit {
        host: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        bandwidth: Option<i32>,
        #[arg(long)]
        private: Option<bool>,
        #[arg(long)]
        internet2: Option<bool>,
        #[arg(long)]
        internet2_clients: Option<bool>,
        #[arg(long)]
        asn: Option<i32>,
        #[arg(long)]
        asn_clients: Option<bool>,
        #[arg(long)]
        max_connections: Option<i32>,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        admin_active: Option<bool>,
        #[arg(long)]
        user_active: Option<bool>,
    },
    /// Remove a host and everything attached to it
    Remove { host: String },
}

/// A host with everything attached to it.
#[derive(Debug, serde::Serialize)]
pub struct HostView {
    #[serde(flatten)]
    pub host: Host,
    pub site: Option<String>,
    pub categories: Vec<HostCategoryView>,
    pub netblocks: Vec<String>,
    pub peer_asns: Vec<i32>,
    pub countries_allowed: Vec<String>,
}

/// One category a host carries.
#[derive(Debug, serde::Serialize)]
pub struct HostCategoryView {
    pub category: String,
    pub always_up2date: bool,
    pub urls: Vec<UrlView>,
}

#[derive(Debug, serde::Serialize)]
pub struct UrlView {
    pub url: String,
    pub private: bool,
}

/// Build views for the given hosts with one query per related table.
pub fn views(conn: &mut DbConn, hosts: Vec<Host>) -> Result<Vec<HostView>> {
    let ids: Vec<i32> = hosts.iter().map(|h| h.id).collect();
    let sites: HashMap<i32, String> = site::table
        .select((site::id, site::name))
        .load(conn)?
        .into_iter()
        .collect();
    let cats: HashMap<i32, String> = category::table
        .select((category::id, category::name))
        .load(conn)?
        .into_iter()
        .collect();
    let hcs = host_category::table
        .select(HostCategory::as_select())
        .filter(host_category::host_id.eq_any(&ids))
        .order(host_category::id)
        .load(conn)?;
    let hc_ids: Vec<i32> = hcs.iter().map(|h| h.id).collect();
    let mut urls: HashMap<i32, Vec<UrlView>> = HashMap::new();
    for u in host_category_url::table
        .select(HostCategoryUrl::as_select())
        .filter(host_category_url::host_category_id.eq_any(&hc_ids))
        .order(host_category_url::id)
        .load(conn)?
    {
        urls.entry(u.host_category_id).or_default().push(UrlView {
            url: u.url,
            private: u.private,
        });
    }
    let mut by_host: HashMap<i32, Vec<HostCategoryView>> = HashMap::new();
    for hc in hcs {
        let Some(hid) = hc.host_id else { continue };
        by_host.entry(hid).or_default().push(HostCategoryView {
            category: hc
                .category_id
                .and_then(|c| cats.get(&c).cloned())
                .unwrap_or_default(),
            always_up2date: hc.always_up2date,
            urls: urls.remove(&hc.id).unwrap_or_default(),
        });
    }
    let mut netblocks: HashMap<i32, Vec<String>> = HashMap::new();
    for n in host_netblock::table
        .select(HostNetblock::as_select())
        .filter(host_netblock::host_id.eq_any(&ids))
        .order(host_netblock::id)
        .load(conn)?
    {
        if let (Some(h), Some(nb)) = (n.host_id, n.netblock) {
            netblocks.entry(h).or_default().push(nb);
        }
    }
    let mut asns: HashMap<i32, Vec<i32>> = HashMap::new();
    for a in host_peer_asn::table
        .select(HostPeerAsn::as_select())
        .filter(host_peer_asn::host_id.eq_any(&ids))
        .order(host_peer_asn::asn)
        .load(conn)?
    {
        if let Some(h) = a.host_id {
            asns.entry(h).or_default().push(a.asn);
        }
    }
    let mut allowed: HashMap<i32, Vec<String>> = HashMap::new();
    for c in host_country_allowed::table
        .select(HostCountryAllowed::as_select())
        .filter(host_country_allowed::host_id.eq_any(&ids))
        .order(host_country_allowed::country)
        .load(conn)?
    {
        if let Some(h) = c.host_id {
            allowed.entry(h).or_default().push(c.country);
        }
    }
    Ok(hosts
        .into_iter()
        .map(|h| HostView {
            site: h.site_id.and_then(|s| sites.get(&s).cloned()),
            categories: by_host.remove(&h.id).unwrap_or_default(),
            netblocks: netblocks.remove(&h.id).unwrap_or_default(),
            peer_asns: asns.remove(&h.id).unwrap_or_default(),
            countries_allowed: allowed.remove(&h.id).unwrap_or_default(),
            host: h,
        })
        .collect())
}

fn text(v: &HostView) -> String {
    let mut s = format!(
        "host {} (id {}) site {}\ncountry: {}  bandwidth: {}  private: {}  internet2: {}  active: {}\n",
        v.host.name,
        v.host.id,
        v.site.as_deref().unwrap_or("-"),
        v.host.country,
        v.host.bandwidth_int.unwrap_or(0),
        output::yn(v.host.private),
        output::yn(v.host.internet2),
        output::yn(v.host.admin_active && v.host.user_active),
    );
    if let Some(r) = &v.host.disable_reason {
        s += &format!("disabled: {r}\n");
    }
    s += &format!(
        "last crawled: {}  crawl failures: {}\n",
        v.host
            .last_crawled
            .map(|t| t.to_string())
            .unwrap_or_else(|| "never".into()),
        v.host.crawl_failures
    );
    for c in &v.categories {
        s += &format!(
            "category {}{}\n",
            c.category,
            if c.always_up2date {
                " (always up to date)"
            } else {
                ""
            }
        );
        for u in &c.urls {
            s += &format!("  {}{}\n", u.url, if u.private { " (private)" } else { "" });
        }
    }
    if !v.netblocks.is_empty() {
        s += &format!("netblocks: {}\n", v.netblocks.join(" "));
    }
    if !v.peer_asns.is_empty() {
        s += &format!(
            "peer ASNs: {}\n",
            v.peer_asns
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if !v.countries_allowed.is_empty() {
        s += &format!("countries allowed: {}\n", v.countries_allowed.join(" "));
    }
    s.trim_end().to_string()
}

/// Delete a host and every row that references it.
pub fn delete_host(conn: &mut DbConn, host_id: i32) -> Result<()> {
    let hcs: Vec<i32> = host_category::table
        .filter(host_category::host_id.eq(host_id))
        .select(host_category::id)
        .load(conn)?;
    diesel::delete(
        host_category_dir::table.filter(host_category_dir::host_category_id.eq_any(&hcs)),
    )
    .execute(conn)?;
    diesel::delete(
        host_category_url::table.filter(host_category_url::host_category_id.eq_any(&hcs)),
    )
    .execute(conn)?;
    diesel::delete(host_category::table.filter(host_category::id.eq_any(&hcs))).execute(conn)?;
    diesel::delete(host_netblock::table.filter(host_netblock::host_id.eq(host_id)))
        .execute(conn)?;
    diesel::delete(host_peer_asn::table.filter(host_peer_asn::host_id.eq(host_id)))
        .execute(conn)?;
    diesel::delete(host_country_allowed::table.filter(host_country_allowed::host_id.eq(host_id)))
        .execute(conn)?;
    diesel::delete(host_acl_ip::table.filter(host_acl_ip::host_id.eq(host_id))).execute(conn)?;
    diesel::delete(host_stats::table.filter(host_stats::host_id.eq(host_id))).execute(conn)?;
    diesel::delete(host_country::table.filter(host_country::host_id.eq(host_id))).execute(conn)?;
    diesel::delete(host_location::table.filter(host_location::host_id.eq(host_id)))
        .execute(conn)?;
    diesel::delete(
        directory_exclusive_host::table.filter(directory_exclusive_host::host_id.eq(host_id)),
    )
    .execute(conn)?;
    diesel::delete(host::table.find(host_id)).execute(conn)?;
    Ok(())
}

/// The host name checks `add` and `edit --name` share.
fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.contains('/') || name.chars().any(char::is_whitespace) {
        return Err(AdminError::Invalid(format!(
            "malformed host name {name:?}: expected a DNS name such as mirror.example.edu"
        )));
    }
    Ok(())
}

/// The refusal when a site already has a host of that name (add and rename).
fn duplicate(site: &str, name: &str) -> String {
    format!("site {site:?} already has a host {name:?}")
}

fn check_bandwidth(b: i32) -> Result<i32> {
    if b < 1 {
        return Err(AdminError::Invalid(format!(
            "bandwidth {b} must be at least 1 Mbit/s"
        )));
    }
    Ok(b)
}

pub fn run(conn: &mut DbConn, cmd: HostCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        HostCmd::Add {
            site: site_key,
            name,
            country,
            bandwidth,
            private,
            internet2,
            internet2_clients,
            asn,
            no_asn_clients,
            max_connections,
            comment,
            robot_email,
        } => {
            let s = find::site_by(conn, &site_key)?;
            check_name(&name)?;
            let mut new = NewHost::new(s.id, &name, &find::iso_country_code(&country)?);
            new.bandwidth_int = Some(check_bandwidth(bandwidth)?);
            new.private = private;
            new.internet2 = internet2;
            new.internet2_clients = internet2_clients;
            new.asn = asn;
            new.asn_clients = !no_asn_clients;
            new.max_connections = max_connections.max(1);
            new.comment = comment;
            new.robot_email = robot_email;
            diesel::insert_into(host::table)
                .values(&new)
                .execute(conn)
                .map_err(conflict_on_unique(|| duplicate(&s.name, &name)))?;
            let h = find::host_by(conn, &format!("{}/{}", s.id, name))?;
            out.line(format!(
                "added host {} (id {}) to site {}",
                h.name, h.id, s.name
            ));
            Ok(())
        }
        HostCmd::List {
            site: site_key,
            json,
        } => {
            let mut q = host::table
                .select(Host::as_select())
                .order(host::id)
                .into_boxed();
            if let Some(k) = site_key {
                let s = find::site_by(conn, &k)?;
                q = q.filter(host::site_id.eq(s.id));
            }
            let hosts = q.load(conn)?;
            if json {
                let v = views(conn, hosts)?;
                out.rows(&v, true, |_| String::new());
            } else {
                out.rows(&hosts, false, |h| {
                    format!(
                        "{:>5}  {:<40} {}  bw={:<6} private={} active={}{}",
                        h.id,
                        h.name,
                        h.country,
                        h.bandwidth_int.unwrap_or(0),
                        output::yn(h.private),
                        output::yn(h.admin_active && h.user_active),
                        h.disable_reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )
                });
            }
            Ok(())
        }
        HostCmd::Show { host: key, json } => {
            let h = find::host_by(conn, &key)?;
            let v = views(conn, vec![h])?.pop().expect("one view");
            out.one(&v, json, text);
            Ok(())
        }
        HostCmd::Edit {
            host: key,
            name,
            country,
            bandwidth,
            private,
            internet2,
            internet2_clients,
            asn,
            asn_clients,
            max_connections,
            comment,
            admin_active,
            user_active,
        } => {
            let h = find::host_by(conn, &key)?;
            let t = host::table.find(h.id);
            if let Some(v) = name {
                check_name(&v)?;
                let site_name = match h.site_id {
                    Some(id) => find::site_by(conn, &id.to_string())?.name,
                    None => String::new(),
                };
                diesel::update(t)
                    .set(host::name.eq(&v))
                    .execute(conn)
                    .map_err(conflict_on_unique(|| duplicate(&site_name, &v)))?;
            }
            if let Some(v) = country {
                diesel::update(t)
                    .set(host::country.eq(find::iso_country_code(&v)?))
                    .execute(conn)?;
            }
            if let Some(v) = bandwidth {
                diesel::update(t)
                    .set(host::bandwidth_int.eq(check_bandwidth(v)?))
                    .execute(conn)?;
            }
            if let Some(v) = private {
                diesel::update(t).set(host::private.eq(v)).execute(conn)?;
            }
            if let Some(v) = internet2 {
                diesel::update(t).set(host::internet2.eq(v)).execute(conn)?;
            }
            if let Some(v) = internet2_clients {
                diesel::update(t)
                    .set(host::internet2_clients.eq(v))
                    .execute(conn)?;
            }
            if let Some(v) = asn {
                diesel::update(t).set(host::asn.eq(v)).execute(conn)?;
            }
            if let Some(v) = asn_clients {
                diesel::update(t)
                    .set(host::asn_clients.eq(v))
                    .execute(conn)?;
            }
            if let Some(v) = max_connections {
                diesel::update(t)
                    .set(host::max_connections.eq(v.max(1)))
                    .execute(conn)?;
            }
            if let Some(v) = comment {
                diesel::update(t).set(host::comment.eq(v)).execute(conn)?;
            }
            if let Some(v) = admin_active {
                diesel::update(t)
                    .set(host::admin_active.eq(v))
                    .execute(conn)?;
            }
            if let Some(v) = user_active {
                diesel::update(t)
                    .set(host::user_active.eq(v))
                    .execute(conn)?;
                if v {
                    // Re-enabling clears the crawler's auto-disable bookkeeping.
                    diesel::update(t)
                        .set((
                            host::disable_reason.eq(None::<String>),
                            host::crawl_failures.eq(0),
                        ))
                        .execute(conn)?;
                }
            }
            out.line(format!("updated host {}", h.id));
            Ok(())
        }
        HostCmd::Remove { host: key } => {
            let h = find::host_by(conn, &key)?;
            delete_host(conn, h.id)?;
            out.line(format!("removed host {}", h.name));
            Ok(())
        }
    })
}
