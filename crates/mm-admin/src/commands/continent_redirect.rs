//! `mirrormanager continent-redirect add|list|remove`: treat a country as part of another
//! continent when picking mirrors (country_continent_redirect).

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::{find, output};

const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

#[derive(Debug, Subcommand)]
pub enum ContinentRedirectCmd {
    /// Send clients of COUNTRY to mirrors of CONTINENT (AF AN AS EU NA OC SA)
    Add { country: String, continent: String },
    /// List redirects
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove the redirect of a country
    Remove { country: String },
}

pub fn run(conn: &mut DbConn, cmd: ContinentRedirectCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        ContinentRedirectCmd::Add { country, continent } => {
            let cc = find::iso_country_code(&country)?;
            let ct = continent.to_ascii_uppercase();
            if !CONTINENTS.contains(&ct.as_str()) {
                return Err(AdminError::Invalid(format!(
                    "unknown continent {continent:?}: expected one of {}",
                    CONTINENTS.join(" ")
                )));
            }
            diesel::insert_into(country_continent_redirect::table)
                .values(&NewCountryContinentRedirect {
                    country: cc.clone(),
                    continent: ct.clone(),
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| format!("{cc} is already redirected")))?;
            out.line(format!("clients in {cc} now use {ct} mirrors"));
            Ok(())
        }
        ContinentRedirectCmd::List { json } => {
            let rows = country_continent_redirect::table
                .select(CountryContinentRedirect::as_select())
                .order(country_continent_redirect::country)
                .load(conn)?;
            out.rows(&rows, json, |r| format!("{} → {}", r.country, r.continent));
            Ok(())
        }
        ContinentRedirectCmd::Remove { country } => {
            let cc = find::country_code(&country)?;
            let n = diesel::delete(
                country_continent_redirect::table
                    .filter(country_continent_redirect::country.eq(&cc)),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AdminError::not_found("continent redirect", cc));
            }
            out.line(format!("removed continent redirect of {cc}"));
            Ok(())
        }
    })
}
