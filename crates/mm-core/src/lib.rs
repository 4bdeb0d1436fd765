//! mm-core: what every MirrorManager job shares — configuration, lock files, logging, exit
//! codes, the `directory.files` codec and (feature `db`) the database model, connection and
//! migrations. No job logic lives here.

pub mod cli;
pub mod config;
pub mod files;
pub mod lock;
pub mod logging;
pub mod net;
pub mod stop;

#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "db")]
pub mod models;
#[cfg(feature = "db")]
pub mod schema;

pub use config::Config;
#[cfg(feature = "db")]
pub use db::{DbConn, DbError, connect};
