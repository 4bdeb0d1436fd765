//! `mirrormanager asn add|list|show|edit|remove`: peer ASNs whose clients a host serves.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum AsnCmd {
    /// Add a peer ASN to a host
    Add {
        host: String,
        asn: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List peer ASNs
    List {
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one peer ASN of a host
    Show {
        host: String,
        asn: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a host's peer ASN or its name
    Edit {
        host: String,
        asn: String,
        /// The ASN it becomes
        #[arg(long)]
        new_asn: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a peer ASN from a host
    Remove { host: String, asn: String },
}

/// The refusal when the host already has the ASN (add and edit).
fn duplicate(h: &Host, asn: i32) -> String {
    format!("host {} already has peer ASN {asn}", h.name)
}

fn by(conn: &mut DbConn, h: &Host, asn: i32) -> Result<HostPeerAsn> {
    host_peer_asn::table
        .select(HostPeerAsn::as_select())
        .filter(host_peer_asn::host_id.eq(h.id))
        .filter(host_peer_asn::asn.eq(asn))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("peer ASN", format!("{asn} on {}", h.name)))
}

#[derive(serde::Serialize)]
struct View {
    #[serde(flatten)]
    asn: HostPeerAsn,
    host: String,
}

fn parse_asn(s: &str) -> Result<i32> {
    let digits = s.trim().trim_start_matches("AS").trim_start_matches("as");
    match digits.parse::<i32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(AdminError::Invalid(format!(
            "malformed ASN {s:?}: expected a positive number such as 64500"
        ))),
    }
}

pub fn run(conn: &mut DbConn, cmd: AsnCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        AsnCmd::Add { host, asn, name } => {
            let asn = parse_asn(&asn)?;
            let h = find::host_by(conn, &host)?;
            diesel::insert_into(host_peer_asn::table)
                .values(&NewHostPeerAsn {
                    host_id: Some(h.id),
                    asn,
                    name,
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| duplicate(&h, asn)))?;
            out.line(format!("added peer ASN {asn} to {}", h.name));
            Ok(())
        }
        AsnCmd::List { host, json } => {
            let mut q = host_peer_asn::table
                .select(HostPeerAsn::as_select())
                .order(host_peer_asn::id)
                .into_boxed();
            if let Some(k) = host {
                let h = find::host_by(conn, &k)?;
                q = q.filter(host_peer_asn::host_id.eq(h.id));
            }
            let rows = q.load(conn)?;
            out.rows(&rows, json, |a| {
                format!(
                    "{:>5}  host={:<5} AS{} {}",
                    a.id,
                    a.host_id.unwrap_or(0),
                    a.asn,
                    a.name.as_deref().unwrap_or("")
                )
            });
            Ok(())
        }
        AsnCmd::Show { host, asn, json } => {
            let asn = parse_asn(&asn)?;
            let h = find::host_by(conn, &host)?;
            let a = by(conn, &h, asn)?;
            let v = View {
                asn: a,
                host: h.name,
            };
            out.one(&v, json, |v| {
                format!(
                    "peer ASN {} (id {}) of host {}\nname: {}",
                    v.asn.asn,
                    v.asn.id,
                    v.host,
                    v.asn.name.as_deref().unwrap_or("-")
                )
            });
            Ok(())
        }
        AsnCmd::Edit {
            host,
            asn,
            new_asn,
            name,
        } => {
            let asn = parse_asn(&asn)?;
            let new_asn = new_asn.as_deref().map(parse_asn).transpose()?;
            let h = find::host_by(conn, &host)?;
            let a = by(conn, &h, asn)?;
            let t = host_peer_asn::table.find(a.id);
            if let Some(v) = new_asn {
                diesel::update(t)
                    .set(host_peer_asn::asn.eq(v))
                    .execute(conn)
                    .map_err(conflict_on_unique(|| duplicate(&h, v)))?;
            }
            if let Some(v) = name {
                diesel::update(t)
                    .set(host_peer_asn::name.eq(v))
                    .execute(conn)?;
            }
            out.line(format!("updated peer ASN {}", a.id));
            Ok(())
        }
        AsnCmd::Remove { host, asn } => {
            let asn = parse_asn(&asn)?;
            let h = find::host_by(conn, &host)?;
            let n = diesel::delete(
                host_peer_asn::table
                    .filter(host_peer_asn::host_id.eq(h.id))
                    .filter(host_peer_asn::asn.eq(asn)),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AdminError::not_found(
                    "peer ASN",
                    format!("{asn} on {}", h.name),
                ));
            }
            out.line(format!("removed peer ASN {asn} from {}", h.name));
            Ok(())
        }
    })
}
