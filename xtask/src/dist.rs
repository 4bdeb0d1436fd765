//! `cargo xtask dist`: release binaries, man pages (clap_mangen) and shell completions
//! (clap_complete) for every binary, under `target/dist`.

use std::process::Command;

use anyhow::{Context, Result};
use clap::CommandFactory;

/// Every binary's clap command (named as the binary), for man pages and completions.
fn commands() -> Vec<clap::Command> {
    vec![
        mm_admin::Cli::command(),
        mm_umdl::cli::Args::command().name("update-master-directory-list"),
        mm_crawler::cli::Args::command().name("mm2_crawler"),
        mm_cache::cli::Args::command().name("update-mirrorlist-server"),
        mm_syncout::cli::Args::command().name("mm_sync_out"),
        mm_mirrorlist::cli::Args::command().name("mirrorlist-server"),
    ]
}

/// Write the man page and shell completions of every binary into `man` and `comp`.
fn render_docs(man: &std::path::Path, comp: &std::path::Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(man)?;
    std::fs::create_dir_all(comp)?;
    let mut names = Vec::new();
    for cmd in commands() {
        let name = cmd.get_name().to_string();
        let mut cmd = cmd.bin_name(name.clone());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        std::fs::write(man.join(format!("{name}.1")), page)?;
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            clap_complete::generate_to(shell, &mut cmd, &name, comp)?;
        }
        names.push(name);
    }
    Ok(names)
}

pub fn run() -> Result<()> {
    let dist = crate::root().join("target/dist");
    crate::run(crate::cargo().args(["build", "--release", "--workspace", "--bins"]))?;
    let bin = dist.join("bin");
    std::fs::create_dir_all(&bin)?;
    for name in render_docs(&dist.join("man/man1"), &dist.join("completions"))? {
        let src = crate::root().join("target/release").join(&name);
        std::fs::copy(&src, bin.join(&name)).with_context(|| format!("copy {}", src.display()))?;
        eprintln!("xtask: packaged {name}");
    }
    let _ = Command::new("ls").arg("-R").arg(&dist).status();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binary_has_a_valid_cli_a_man_page_and_completions() {
        for cmd in commands() {
            cmd.debug_assert();
        }
        let dir = tempfile::tempdir().unwrap();
        let names = render_docs(&dir.path().join("man"), &dir.path().join("comp")).unwrap();
        assert_eq!(names.len(), 6);
        for n in &names {
            let page =
                std::fs::read_to_string(dir.path().join("man").join(format!("{n}.1"))).unwrap();
            assert!(page.contains(".TH") && page.contains("config"), "{n}");
            assert!(
                dir.path().join("comp").join(format!("{n}.bash")).is_file(),
                "{n}"
            );
        }
    }
}
