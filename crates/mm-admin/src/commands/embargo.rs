//! `mirrormanager embargo add|list|show|edit|remove`: embargoed countries. The table adds to
//! the config's `embargoed_countries`: the crawler disables mirrors in either list. The
//! mirrorlist server has no database, so it refuses clients only from the countries in
//! its own config.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

#[derive(Debug, Subcommand)]
pub enum EmbargoCmd {
    /// Embargo a country (ISO 3166 code)
    Add { country: String },
    /// List embargoed countries
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one embargo and the mirrors in that country that are still enabled
    Show {
        country: String,
        #[arg(long)]
        json: bool,
    },
    /// Correct the country of an embargo
    Edit {
        country: String,
        #[arg(long)]
        new_country: Option<String>,
    },
    /// Lift an embargo
    Remove { country: String },
}

#[derive(serde::Serialize)]
struct View {
    #[serde(flatten)]
    embargo: EmbargoedCountry,
    /// Names of the hosts in that country that are user and admin active.
    active_hosts: Vec<String>,
}

fn by(conn: &mut DbConn, country: &str) -> Result<EmbargoedCountry> {
    let cc = find::country_code(country)?;
    embargoed_country::table
        .select(EmbargoedCountry::as_select())
        .filter(embargoed_country::country_code.eq(&cc))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("embargoed country", cc))
}

fn crawl_note(cc: &str) -> String {
    format!(
        "the next crawl disables mirrors in {cc}; mirrorlist-server refuses clients there once {cc} is in embargoed_countries of its config"
    )
}

pub fn run(conn: &mut DbConn, cmd: EmbargoCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        EmbargoCmd::Add { country } => {
            let cc = find::iso_country_code(&country)?;
            diesel::insert_into(embargoed_country::table)
                .values(&NewEmbargoedCountry {
                    country_code: cc.clone(),
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| format!("{cc} is already embargoed")))?;
            out.line(format!("embargoed {cc}: {}", crawl_note(&cc)));
            Ok(())
        }
        EmbargoCmd::List { json } => {
            let rows = embargoed_country::table
                .select(EmbargoedCountry::as_select())
                .order(embargoed_country::country_code)
                .load(conn)?;
            out.rows(&rows, json, |e| e.country_code.clone());
            Ok(())
        }
        EmbargoCmd::Show { country, json } => {
            let embargo = by(conn, &country)?;
            let active_hosts = host::table
                .filter(host::country.eq(&embargo.country_code))
                .filter(host::user_active.eq(true))
                .filter(host::admin_active.eq(true))
                .select(host::name)
                .order(host::name)
                .load::<String>(conn)?;
            let v = View {
                embargo,
                active_hosts,
            };
            out.one(&v, json, |v| {
                let mut text = format!(
                    "embargoed country {} (id {})",
                    v.embargo.country_code, v.embargo.id
                );
                if v.active_hosts.is_empty() {
                    text.push_str("; no enabled mirror there");
                } else {
                    text.push_str(&format!(
                        "; enabled mirrors there until the next crawl: {}",
                        v.active_hosts.join(", ")
                    ));
                }
                text
            });
            Ok(())
        }
        EmbargoCmd::Edit {
            country,
            new_country,
        } => {
            let new_country = new_country
                .as_deref()
                .map(find::iso_country_code)
                .transpose()?;
            let e = by(conn, &country)?;
            match new_country {
                Some(cc) => {
                    diesel::update(embargoed_country::table.find(e.id))
                        .set(embargoed_country::country_code.eq(&cc))
                        .execute(conn)
                        .map_err(conflict_on_unique(|| format!("{cc} is already embargoed")))?;
                    out.line(format!(
                        "embargo {} is now on {cc}: {}",
                        e.country_code,
                        crawl_note(&cc)
                    ));
                }
                None => out.line(format!("embargo on {} unchanged", e.country_code)),
            }
            Ok(())
        }
        EmbargoCmd::Remove { country } => {
            let cc = find::country_code(&country)?;
            let n = diesel::delete(
                embargoed_country::table.filter(embargoed_country::country_code.eq(&cc)),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AdminError::not_found("embargoed country", cc));
            }
            out.line(format!(
                "lifted embargo on {cc}: mirrors there are not re-enabled by themselves (mirrormanager host edit … --user-active true)"
            ));
            Ok(())
        }
    })
}
