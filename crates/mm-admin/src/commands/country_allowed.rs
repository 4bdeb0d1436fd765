//! `mirrormanager country-allowed add|list|show|edit|remove`: countries a host restricts itself to.

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
    /// Show one allowed country of a host
    Show {
        host: String,
        country: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an allowed country of a host into another
    Edit {
        host: String,
        country: String,
        /// The country it becomes (ISO 3166-1 code)
        #[arg(long)]
        new_country: Option<String>,
    },
    /// Remove an allowed country
    Remove { host: String, country: String },
}

/// The refusal when the country is already allowed (add and edit). MM2 declares `country`
/// unique on its own; a clash there names the other host.
fn duplicate(h: &Host, cc: &str) -> String {
    format!(
        "country {cc} is already allowed for host {} (or, on an MM2 database, for another host)",
        h.name
    )
}

fn by(conn: &mut DbConn, h: &Host, country: &str) -> Result<HostCountryAllowed> {
    let cc = find::country_code(country)?;
    host_country_allowed::table
        .select(HostCountryAllowed::as_select())
        .filter(host_country_allowed::host_id.eq(h.id))
        .filter(host_country_allowed::country.eq(&cc))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("allowed country", format!("{cc} on {}", h.name)))
}

#[derive(serde::Serialize)]
struct View {
    #[serde(flatten)]
    allowed: HostCountryAllowed,
    host: String,
}

pub fn run(conn: &mut DbConn, cmd: CountryAllowedCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        CountryAllowedCmd::Add { host, country } => {
            let cc = find::iso_country_code(&country)?;
            let h = find::host_by(conn, &host)?;
            diesel::insert_into(host_country_allowed::table)
                .values(&NewHostCountryAllowed {
                    host_id: Some(h.id),
                    country: cc.clone(),
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| duplicate(&h, &cc)))?;
            out.line(format!("host {} now allows {cc}", h.name));
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
            out.rows(&rows, json, |c| {
                format!(
                    "{:>5}  host={:<5} {}",
                    c.id,
                    c.host_id.unwrap_or(0),
                    c.country
                )
            });
            Ok(())
        }
        CountryAllowedCmd::Show {
            host,
            country,
            json,
        } => {
            let h = find::host_by(conn, &host)?;
            let c = by(conn, &h, &country)?;
            let v = View {
                allowed: c,
                host: h.name,
            };
            out.one(&v, json, |v| {
                format!(
                    "allowed country {} (id {}) of host {}",
                    v.allowed.country, v.allowed.id, v.host
                )
            });
            Ok(())
        }
        CountryAllowedCmd::Edit {
            host,
            country,
            new_country,
        } => {
            let new_country = new_country
                .as_deref()
                .map(find::iso_country_code)
                .transpose()?;
            let h = find::host_by(conn, &host)?;
            let c = by(conn, &h, &country)?;
            if let Some(cc) = new_country {
                diesel::update(host_country_allowed::table.find(c.id))
                    .set(host_country_allowed::country.eq(&cc))
                    .execute(conn)
                    .map_err(conflict_on_unique(|| duplicate(&h, &cc)))?;
            }
            out.line(format!("updated allowed country {}", c.id));
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
                return Err(AdminError::not_found(
                    "allowed country",
                    format!("{cc} on {}", h.name),
                ));
            }
            out.line(format!("host {} no longer allows {cc}", h.name));
            Ok(())
        }
    })
}
