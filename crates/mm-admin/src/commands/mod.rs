//! One module per command group; each has a clap subcommand enum and a `run`.

pub mod arch;
pub mod asn;
pub mod category;
pub mod continent_redirect;
pub mod country_allowed;
pub mod db;
pub mod embargo;
pub mod emergency_expire_repo;
pub mod expire_stats;
pub mod get_netblocks;
pub mod host;
pub mod host_category;
pub mod locks;
pub mod move_devel_to_release;
pub mod move_to_archive;
pub mod netblock;
pub mod product;
pub mod publiclist;
pub mod repo_redirect;
pub mod site;
pub mod status;
pub mod url;
pub mod version;
