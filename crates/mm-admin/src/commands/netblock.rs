//! `mirrormanager netblock add|list|remove`: netblocks whose clients a host serves first.
//! Accepts CIDR, a bare address or `address/dotted-mask`; stores CIDR.

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
    /// Remove a netblock from a host
    Remove { host: String, netblock: String },
}

pub fn run(conn: &mut DbConn, cmd: NetblockCmd) -> Result<()> {
    conn.transaction(|conn| match cmd {
        NetblockCmd::Add {
            host,
            netblock,
            name,
        } => {
            let nb = mm_core::net::normalize_netblock(&netblock).map_err(AdminError::Invalid)?;
            let h = find::host_by(conn, &host)?;
            let exists: i64 = host_netblock::table
                .filter(host_netblock::host_id.eq(h.id))
                .filter(host_netblock::netblock.eq(&nb))
                .count()
                .get_result(conn)?;
            if exists > 0 {
                return Err(AdminError::Conflict(format!(
                    "host {} already has netblock {nb}",
                    h.name
                )));
            }
            diesel::insert_into(host_netblock::table)
                .values(&NewHostNetblock {
                    host_id: Some(h.id),
                    netblock: Some(nb.clone()),
                    name,
                })
                .execute(conn)?;
            println!("added netblock {nb} to {}", h.name);
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
            output::print(&rows, json, |n| {
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
            println!("removed netblock {nb} from {}", h.name);
            Ok(())
        }
    })
}
