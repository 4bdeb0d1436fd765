//! The housekeeping jobs behind `mirrormanager move-devel-to-release`, `move-to-archive`,
//! `emergency-expire-repo`, `expire-stats`, `get-netblocks` and `status`: the query logic
//! lives here, the command modules only parse flags and print.

pub mod expire;
pub mod netblocks;
pub mod releases;
pub mod status;

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        crate::Cli::command().debug_assert();
    }
}
