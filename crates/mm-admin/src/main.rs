//! `mirrormanager`: the admin CLI. Parses flags and hands over to [`mm_admin::run`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = mm_admin::Cli::parse();
    mm_core::cli::main_with(|| mm_admin::run(cli))
}
