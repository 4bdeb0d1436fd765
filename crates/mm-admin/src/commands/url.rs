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

/// Check a mirror URL: a known scheme, a host name or address (with an optional port), no
/// spaces; a trailing slash is dropped.
pub fn check_url(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let rest = ["http://", "https://", "ftp://", "rsync://"]
        .iter()
        .find_map(|s| u.strip_prefix(s));
    let bad = |why: &str| {
        AdminError::Invalid(format!(
            "malformed URL {url:?}: {why}; expected http://, https://, ftp:// or rsync:// and a host name"
        ))
    };
    let Some(rest) = rest else {
        return Err(bad("unknown scheme"));
    };
    if u.chars().any(char::is_whitespace) {
        return Err(bad("it contains a space"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if url_host(authority).is_none() {
        return Err(bad("no host name"));
    }
    Ok(u.to_string())
}

/// The host of a URL's authority part (`user@host:port`, `[v6]:port`), or `None` when there
/// is no usable one (`:80`, `[]`, `host:port:x`).
fn url_host(authority: &str) -> Option<&str> {
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        addr.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (addr, port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = !host.is_empty()
        && (hostport.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_')));
    (port_ok && host_ok).then_some(host)
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
    output::in_transaction(conn, |conn, out| match cmd {
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
            out.line(format!("added {url} for {} {}", h.name, c.name));
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
            out.rows(&rows, json, |u| {
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
            out.one(&u, json, |u| {
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
            out.line(format!("updated URL {}", u.id));
            Ok(())
        }
        UrlCmd::Remove { url } => {
            let u = by_url(conn, &url)?;
            diesel::delete(host_category_url::table.find(u.id)).execute(conn)?;
            out.line(format!("removed {}", u.url));
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls_need_a_host() {
        for ok in [
            "http://mirror.example.edu/fedora/",
            "https://mirror.example.edu:8443/fedora",
            "rsync://user@mirror.example.edu/fedora",
            "ftp://192.0.2.7/pub",
            "http://[2001:db8::1]:80/x",
            "https://mirror.example.edu",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://:80/x",
            "https:///fedora",
            "rsync://@/x",
            "ftp://user@:21/pub",
            "http://[]/x",
            "http://[not-v6]/x",
            "http://host:port/x",
            "http://host:/x",
            "http://a b/x",
            "gopher://x/y",
        ] {
            let e = check_url(bad).unwrap_err().to_string();
            assert!(e.starts_with("malformed URL"), "{bad}: {e}");
        }
    }
}
