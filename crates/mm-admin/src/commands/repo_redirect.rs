//! `mirrormanager repo-redirect add|list|remove`: `repo=FROM` is answered as `repo=TO`.

use clap::Subcommand;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result, conflict_on_unique};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum RepoRedirectCmd {
    /// Redirect repo FROM to repo TO
    Add { from: String, to: String },
    /// List redirects
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove the redirect of FROM
    Remove { from: String },
}

pub fn run(conn: &mut DbConn, cmd: RepoRedirectCmd) -> Result<()> {
    conn.transaction(|conn| match cmd {
        RepoRedirectCmd::Add { from, to } => {
            if from == to || from.is_empty() || to.is_empty() {
                return Err(AdminError::Invalid(format!(
                    "a redirect needs two different repo names, got {from:?} → {to:?}"
                )));
            }
            diesel::insert_into(repository_redirect::table)
                .values(&NewRepositoryRedirect {
                    from_repo: from.clone(),
                    to_repo: Some(to.clone()),
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| {
                    format!("{from} is already redirected")
                }))?;
            println!("redirected {from} → {to}");
            Ok(())
        }
        RepoRedirectCmd::List { json } => {
            let rows = repository_redirect::table
                .select(RepositoryRedirect::as_select())
                .order(repository_redirect::from_repo)
                .load(conn)?;
            output::print(&rows, json, |r| {
                format!("{} → {}", r.from_repo, r.to_repo.as_deref().unwrap_or(""))
            });
            Ok(())
        }
        RepoRedirectCmd::Remove { from } => {
            let n = diesel::delete(
                repository_redirect::table.filter(repository_redirect::from_repo.eq(&from)),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AdminError::not_found("repo redirect", from));
            }
            println!("removed redirect of {from}");
            Ok(())
        }
    })
}
