//! `mirrormanager country-allowed add|list|remove`: countries a host restricts itself to.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum CountryAllowedCmd {
    /// Allow a country for a host (a host with any allowed country serves only those)
    Add { host: String, country: String },
    /// List allowed countries
    List {
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove an allowed country
    Remove { host: String, country: String },
}

pub fn run(conn: &mut DbConn, cmd: CountryAllowedCmd) -> Result<()> {
    conn.transaction(|conn| match cmd {
        CountryAllowedCmd::Add { host, country } => {
            let cc = find::country_code(&country)?;
            let h = find::host_by(conn, &host)?;
            // MM2 declares `country` unique on its own; a clash there names the other host.
            diesel::insert_into(host_country_allowed::table)
                .values(&NewHostCountryAllowed { host_id: Some(h.id), country: cc.clone() })
                .execute(conn)
                .map_err(conflict_on_unique(|| {
                    format!("country {cc} is already allowed for host {} (or, on an MM2 database, for another host)", h.name)
                }))?;
            println!("host {} now allows {cc}", h.name);
            Ok(())
        }
        CountryAllowedCmd::List { host, json } => {
            let mut q = host_country_allowed::table
                .select(HostCountryAllowed::as_select())
                .order(host_country_allowed::id)
                .into_boxed();
            if let Some(k) = host {
                let h = find::host_by(conn, &k)?;
                q = q.filter(host_country_allowed::host_id.eq(h.id));
            }
            let rows = q.load(conn)?;
            output::print(&rows, json, |c| format!("{:>5}  host={:<5} {}", c.id, c.host_id.unwrap_or(0), c.country));
            Ok(())
        }
        CountryAllowedCmd::Remove { host, country } => {
            let cc = find::country_code(&country)?;
            let h = find::host_by(conn, &host)?;
            let n = diesel::delete(
                host_country_allowed::table
                    .filter(host_country_allowed::host_id.eq(h.id))
                    .filter(host_country_allowed::country.eq(&cc)),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AdminError::not_found("allowed country", format!("{cc} on {}", h.name)));
            }
            println!("host {} no longer allows {cc}", h.name);
            Ok(())
        }
    })
}
