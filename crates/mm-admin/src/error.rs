//! Errors of admin commands: each prints as one line naming what was wrong.

/// An admin command failed; nothing was written (every command is one transaction).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no {what} {key:?}")]
    NotFound { what: &'static str, key: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// Not a `#[source]`: the message already holds the error's text.
    #[error("{0}{hint}", hint = mm_core::db::schema_hint(.0))]
    Db(diesel::result::Error),
    #[error(transparent)]
    Setup(#[from] mm_core::db::DbError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] mm_core::lock::LockError),
    #[error(transparent)]
    Publiclist(#[from] mm_publiclist::PubliclistError),
}

impl AdminError {
    /// An I/O error on `path`.
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        AdminError::Io {
            path: path.to_string(),
            source,
        }
    }

    pub fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        AdminError::NotFound {
            what,
            key: key.into(),
        }
    }
}

/// Result of an admin command.
pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// Turn a unique-constraint violation into a readable conflict message.
pub fn conflict_on_unique(
    what: impl FnOnce() -> String,
) -> impl FnOnce(diesel::result::Error) -> AdminError {
    move |e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AdminError::Conflict(what()),
        other => AdminError::Db(other),
    }
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::Db(e)
    }
}
