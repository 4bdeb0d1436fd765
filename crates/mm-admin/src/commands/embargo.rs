//! `mirrormanager embargo add|list|remove`: embargoed countries. The table adds to the
//! config's `embargoed_countries`: the crawler disables mirrors in either list. The
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
    /// Embargo a country
    Add { country: String },
    /// List embargoed countries
    List {
        #[arg(long)]
        json: bool,
    },
    /// Lift an embargo
    Remove { country: String },
}

pub fn run(conn: &mut DbConn, cmd: EmbargoCmd) -> Result<()> {
    conn.transaction(|conn| match cmd {
        EmbargoCmd::Add { country } => {
            let cc = find::country_code(&country)?;
            diesel::insert_into(embargoed_country::table)
                .values(&NewEmbargoedCountry {
                    country_code: cc.clone(),
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| format!("{cc} is already embargoed")))?;
            println!(
                "embargoed {cc}: the next crawl disables mirrors there; mirrorlist-server refuses clients there once {cc} is in embargoed_countries of its config"
            );
            Ok(())
        }
        EmbargoCmd::List { json } => {
            let rows = embargoed_country::table
                .select(EmbargoedCountry::as_select())
                .order(embargoed_country::country_code)
                .load(conn)?;
            output::print(&rows, json, |e| e.country_code.clone());
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
            println!("lifted embargo on {cc}");
            Ok(())
        }
    })
}
