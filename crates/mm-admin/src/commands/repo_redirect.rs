//! `mirrormanager repo-redirect add|list|show|edit|remove`: `repo=FROM` is answered as
//! `repo=TO`.

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
    /// Show the redirect of FROM
    Show {
        from: String,
        #[arg(long)]
        json: bool,
    },
    /// Change the redirect of FROM: where it points (--to) or which repo it redirects
    /// (--new-from)
    Edit {
        from: String,
        /// The repo FROM is answered as
        #[arg(long)]
        to: Option<String>,
        /// Redirect this repo instead of FROM
        #[arg(long)]
        new_from: Option<String>,
    },
    /// Remove the redirect of FROM
    Remove { from: String },
}

/// The check `add` and `edit` share: two different, non-empty repo names.
fn check(from: &str, to: &str) -> Result<()> {
    if from == to || from.trim().is_empty() || to.trim().is_empty() {
        return Err(AdminError::Invalid(format!(
            "a redirect needs two different repo names, got {from:?} → {to:?}"
        )));
    }
    Ok(())
}

/// The refusal when FROM already has a redirect (add and edit --new-from).
fn duplicate(from: &str) -> String {
    format!("{from} is already redirected")
}

fn by(conn: &mut DbConn, from: &str) -> Result<RepositoryRedirect> {
    repository_redirect::table
        .select(RepositoryRedirect::as_select())
        .filter(repository_redirect::from_repo.eq(from))
        .first(conn)
        .optional()?
        .ok_or_else(|| AdminError::not_found("repo redirect", from))
}

pub fn run(conn: &mut DbConn, cmd: RepoRedirectCmd) -> Result<()> {
    output::in_transaction(conn, |conn, out| match cmd {
        RepoRedirectCmd::Add { from, to } => {
            check(&from, &to)?;
            diesel::insert_into(repository_redirect::table)
                .values(&NewRepositoryRedirect {
                    from_repo: from.clone(),
                    to_repo: Some(to.clone()),
                })
                .execute(conn)
                .map_err(conflict_on_unique(|| duplicate(&from)))?;
            out.line(format!("redirected {from} → {to}"));
            Ok(())
        }
        RepoRedirectCmd::List { json } => {
            let rows = repository_redirect::table
                .select(RepositoryRedirect::as_select())
                .order(repository_redirect::from_repo)
                .load(conn)?;
            out.rows(&rows, json, |r| {
                format!("{} → {}", r.from_repo, r.to_repo.as_deref().unwrap_or(""))
            });
            Ok(())
        }
        RepoRedirectCmd::Show { from, json } => {
            let r = by(conn, &from)?;
            out.one(&r, json, |r| {
                format!(
                    "repo redirect {} → {} (id {})",
                    r.from_repo,
                    r.to_repo.as_deref().unwrap_or("-"),
                    r.id
                )
            });
            Ok(())
        }
        RepoRedirectCmd::Edit { from, to, new_from } => {
            let r = by(conn, &from)?;
            let new_from = new_from.unwrap_or_else(|| r.from_repo.clone());
            let to = to.or_else(|| r.to_repo.clone()).unwrap_or_default();
            check(&new_from, &to)?;
            diesel::update(repository_redirect::table.find(r.id))
                .set((
                    repository_redirect::from_repo.eq(&new_from),
                    repository_redirect::to_repo.eq(&to),
                ))
                .execute(conn)
                .map_err(conflict_on_unique(|| duplicate(&new_from)))?;
            out.line(format!("redirected {new_from} → {to}"));
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
            out.line(format!("removed redirect of {from}"));
            Ok(())
        }
    })
}
