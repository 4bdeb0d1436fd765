//! mm-admin: the `mirrormanager` admin CLI — database set-up and the records a sysadmin or
//! mirror admin sets up by hand. One module per command group under `commands/`, each with
//! its clap `Opts`/subcommand enum and a `run`. Every command runs in one transaction and
//! prints only after it has committed ([`output::in_transaction`]); a closed stdout
//! (`| head`) cuts the output short without changing the exit code (0 when the command
//! succeeded).

pub mod commands;
pub mod error;
pub mod find;
pub mod housekeeping;
pub mod output;

use clap::{Parser, Subcommand};
use mm_core::cli::CommonArgs;

pub use error::{AdminError, Result};

/// `mirrormanager`: set up and administer the MirrorManager database.
#[derive(Debug, Parser)]
#[command(name = "mirrormanager", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, migrate, verify or adopt the database
    #[command(subcommand)]
    Db(commands::db::DbCmd),
    /// Sites (organisations running mirrors)
    #[command(subcommand)]
    Site(commands::site::SiteCmd),
    /// Hosts (mirrors) of a site
    #[command(subcommand)]
    Host(commands::host::HostCmd),
    /// Content categories and their top directories
    #[command(subcommand)]
    Category(commands::category::CategoryCmd),
    /// Which categories a host carries
    #[command(subcommand, name = "host-category")]
    HostCategory(commands::host_category::HostCategoryCmd),
    /// URLs a host serves a category under
    #[command(subcommand)]
    Url(commands::url::UrlCmd),
    /// Netblocks a host serves preferentially
    #[command(subcommand)]
    Netblock(commands::netblock::NetblockCmd),
    /// Peer ASNs of a host
    #[command(subcommand)]
    Asn(commands::asn::AsnCmd),
    /// Countries a host restricts itself to
    #[command(subcommand, name = "country-allowed")]
    CountryAllowed(commands::country_allowed::CountryAllowedCmd),
    /// Products (Fedora, EPEL, …)
    #[command(subcommand)]
    Product(commands::product::ProductCmd),
    /// Versions (releases) of a product
    #[command(subcommand)]
    Version(commands::version::VersionCmd),
    /// Architectures
    #[command(subcommand)]
    Arch(commands::arch::ArchCmd),
    /// Repository redirects (repo=FROM answers as repo=TO)
    #[command(subcommand, name = "repo-redirect")]
    RepoRedirect(commands::repo_redirect::RepoRedirectCmd),
    /// Country→continent overrides for the mirrorlist
    #[command(subcommand, name = "continent-redirect")]
    ContinentRedirect(commands::continent_redirect::ContinentRedirectCmd),
    /// Embargoed countries (the crawler disables mirrors there)
    #[command(subcommand)]
    Embargo(commands::embargo::EmbargoCmd),
    /// List the job lock files and who holds them
    Locks(commands::locks::Opts),
    /// Release day: re-point a version's repositories from development/V to releases/V
    #[command(name = "move-devel-to-release", disable_version_flag = true)]
    MoveDevelToRelease(commands::move_devel_to_release::Opts),
    /// End of life: re-point a version's repositories at the archive tree
    #[command(name = "move-to-archive", disable_version_flag = true)]
    MoveToArchive(commands::move_to_archive::Opts),
    /// After a bad repomd.xml: trust only a repository's newest metadata
    #[command(name = "emergency-expire-repo", disable_version_flag = true)]
    EmergencyExpireRepo(commands::emergency_expire_repo::Opts),
    /// Delete old propagation, access and host statistics
    #[command(name = "expire-stats")]
    ExpireStats(commands::expire_stats::Opts),
    /// Make a netblocks file (CIDR ASN) from a BGP table dump
    #[command(name = "get-netblocks")]
    GetNetblocks(commands::get_netblocks::Opts),
    /// Per category: mirror counts, up-to-date directories, last crawl problems
    Status(commands::status::Opts),
    /// Regenerate the static public mirror list (Version page, mirror tables, mirrors.json)
    Publiclist(commands::publiclist::Opts),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    use anyhow::Context;
    let cfg = cli.common.init()?;
    if let Command::Locks(opts) = &cli.command {
        return commands::locks::run(&cfg, opts)
            .map_err(into_anyhow)
            .context("locks");
    }
    if let Command::GetNetblocks(opts) = &cli.command {
        return commands::get_netblocks::run(opts).map_err(into_anyhow);
    }
    let url = cfg.database_url();
    // `db migrate`/`db adopt`/`db check` work on a database without our schema; every other
    // command needs it and says so up front.
    let mut conn = if matches!(cli.command, Command::Db(_)) {
        mm_core::db::connect(&url)?
    } else {
        mm_core::db::open(&url)?
    };
    log::debug!("database {}", mm_core::db::redact(&url));
    let result = match cli.command {
        Command::Db(c) => commands::db::run(&mut conn, c),
        Command::Site(c) => commands::site::run(&mut conn, c),
        Command::Host(c) => commands::host::run(&mut conn, c),
        Command::Category(c) => commands::category::run(&mut conn, c),
        Command::HostCategory(c) => commands::host_category::run(&mut conn, c),
        Command::Url(c) => commands::url::run(&mut conn, c),
        Command::Netblock(c) => commands::netblock::run(&mut conn, c),
        Command::Asn(c) => commands::asn::run(&mut conn, c),
        Command::CountryAllowed(c) => commands::country_allowed::run(&mut conn, c),
        Command::Product(c) => commands::product::run(&mut conn, c),
        Command::Version(c) => commands::version::run(&mut conn, c),
        Command::Arch(c) => commands::arch::run(&mut conn, c),
        Command::RepoRedirect(c) => commands::repo_redirect::run(&mut conn, c),
        Command::ContinentRedirect(c) => commands::continent_redirect::run(&mut conn, c),
        Command::Embargo(c) => commands::embargo::run(&mut conn, c),
        Command::MoveDevelToRelease(o) => commands::move_devel_to_release::run(&mut conn, o),
        Command::MoveToArchive(o) => commands::move_to_archive::run(&mut conn, o),
        Command::EmergencyExpireRepo(o) => commands::emergency_expire_repo::run(&mut conn, o),
        Command::ExpireStats(o) => commands::expire_stats::run(&mut conn, o),
        Command::Status(o) => commands::status::run(&mut conn, o),
        Command::Publiclist(o) => commands::publiclist::run(&cfg, &mut conn, &o),
        Command::Locks(_) | Command::GetNetblocks(_) => unreachable!("handled above"),
    };
    result.map_err(into_anyhow)
}

/// Keep a held lock visible to the exit-code mapping (exit 3).
fn into_anyhow(e: AdminError) -> anyhow::Error {
    match e {
        AdminError::Lock(l) => anyhow::Error::from(l),
        other => anyhow::Error::from(other),
    }
}
