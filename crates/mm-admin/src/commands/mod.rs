//! One module per command group; each has a clap subcommand enum and a `run`.

pub mod arch;
pub mod asn;
pub mod category;
pub mod continent_redirect;
pub mod country_allowed;
pub mod db;
pub mod embargo;
pub mod host;
pub mod host_category;
pub mod locks;
pub mod netblock;
pub mod product;
pub mod publiclist;
pub mod repo_redirect;
pub mod site;
pub mod url;
pub mod version;
