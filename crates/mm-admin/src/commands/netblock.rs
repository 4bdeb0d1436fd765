//! `mirrormanager netblock add|list|show|edit|remove`: netblocks whose clients a host serves
//! first. Accepts CIDR, a bare address or `address/dotted-mask`; stores CIDR.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum NetblockCmd {
    /// Add a netblock to a host
    Add {
        host: String,
        netblock: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List netblocks
    List {
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one netblock of a host
    Show {
        host: String,
        netblock: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a host's netblock or its name
    Edit {
        host: String,
        netblock: String,
        /// The netblock it becomes
        #[arg(long)]
        new_netblock: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a netblock from a host
    Remove { host: String, netblock: String },
}

/// A netblock as `add` and `edit` take it: normalised to CIDR, never every address (`/0`
/// would make the host the preferred mirror of every client).
fn check_netblock(input: &str) -> Result<String> {
    let nb = mm_core::net::normalize_netblock(input).map_err(AdminError::Invalid)?;
    if nb
        .parse::<ipnet::IpNet>()
        .is_ok_and(|n| n.prefix_len() == 0)
    {
        return Err(AdminError::Invalid(format!(
            "netblock {input:?} covers every address and would make the host every client's preferred mirror; give the host's own networks"
        )));
    }
    Ok(nb)
}

/// The refusal when the host already has the netblock.
fn check_new(conn: &mut DbConn, h: &Host, nb: &str) -> Result<()> {
    let exists: i64 = host_netblock::table
        .filter(host_netblock::host_id.eq(h.id))
        .filter(host_netblock::netblock.eq(nb))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Err(AdminError::Conflict(format!(
            "host {} already has netblock {nb}",
            h.name
        )));
    }
    Ok(())
}

/// The host's row for `netblock` (as typed, or normalised).
fn by(conn: &mut DbConn, h: &Host, netblock: &str) -> Result<HostNetblock> {
    let nb = mm_core::net::normalize_netblock(netblock).unwrap_or_else(|_| netblock.to_owned());
    host_netblock::table
        .select(HostNetblock::as_select())
        .filter(host_netblock::host_id.eq(h.id))
        .filter(
            host_netblock::netblock
                .eq(&nb)
                .or(host_netblock::netblock.eq(netblock)),
        )
        .order(host_netblock::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("netblock", format!("{nb} on {}", h.name)))
}

#[derive(serde::Serialize)]
struct View {
    #[serde(flatten)]
    netblock: HostNetblock,
    host: String,
}

pub fn run(conn: &mut DbConn, cmd: NetblockCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        NetblockCmd::Add {
            host,
            netblock,
            name,
        } => {
            let nb = check_netblock(&netblock)?;
            let h = find::host_by(conn, &host)?;
            check_new(conn, &h, &nb)?;
            diesel::insert_into(host_netblock::table)
                .values(&NewHostNetblock {
                    host_id: Some(h.id),
                    netblock: Some(nb.clone()),
                    name,
                })
                .execute(conn)?;
            out.line(format!("added netblock {nb} to {}", h.name));
            Ok(())
        }
        NetblockCmd::List { host, json } => {
            let mut q = host_netblock::table
                .select(HostNetblock::as_select())
                .order(host_netblock::id)
                .into_boxed();
            if let Some(k) = host {
                let h = find::host_by(conn, &k)?;
                q = q.filter(host_netblock::host_id.eq(h.id));
            }
            let rows = q.load(conn)?;
            out.rows(&rows, json, |n| {
                format!(
                    "{:>5}  host={:<5} {} {}",
                    n.id,
                    n.host_id.unwrap_or(0),
                    n.netblock.as_deref().unwrap_or(""),
                    n.name.as_deref().unwrap_or("")
                )
            });
            Ok(())
        }
        NetblockCmd::Show {
            host,
            netblock,
            json,
        } => {
            let h = find::host_by(conn, &host)?;
            let n = by(conn, &h, &netblock)?;
            let v = View {
                netblock: n,
                host: h.name,
            };
            out.one(&v, json, |v| {
                format!(
                    "netblock {} (id {}) of host {}\nname: {}",
                    v.netblock.netblock.as_deref().unwrap_or(""),
                    v.netblock.id,
                    v.host,
                    v.netblock.name.as_deref().unwrap_or("-")
                )
            });
            Ok(())
        }
        NetblockCmd::Edit {
            host,
            netblock,
            new_netblock,
            name,
        } => {
            let h = find::host_by(conn, &host)?;
            let n = by(conn, &h, &netblock)?;
            let t = host_netblock::table.find(n.id);
            if let Some(v) = new_netblock {
                let nb = check_netblock(&v)?;
                if n.netblock.as_deref() != Some(nb.as_str()) {
                    check_new(conn, &h, &nb)?;
                    diesel::update(t)
                        .set(host_netblock::netblock.eq(&nb))
                        .execute(conn)?;
                }
            }
            if let Some(v) = name {
                diesel::update(t)
                    .set(host_netblock::name.eq(v))
                    .execute(conn)?;
            }
            out.line(format!("updated netblock {}", n.id));
            Ok(())
        }
        NetblockCmd::Remove { host, netblock } => {
            let nb = mm_core::net::normalize_netblock(&netblock).map_err(AdminError::Invalid)?;
            let h = find::host_by(conn, &host)?;
            let n = diesel::delete(
                host_netblock::table
                    .filter(host_netblock::host_id.eq(h.id))
                    .filter(
                        host_netblock::netblock
                            .eq(&nb)
                            .or(host_netblock::netblock.eq(&netblock)),
                    ),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AdminError::not_found(
                    "netblock",
                    format!("{nb} on {}", h.name),
                ));
            }
            out.line(format!("removed netblock {nb} from {}", h.name));
            Ok(())
        }
    })
}
