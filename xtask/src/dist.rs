//! `cargo xtask dist`: release binaries, man pages (clap_mangen) and shell completions
//! (clap_complete) for every binary, under `target/dist`.

use std::process::Command;

use anyhow::{Context, Result};
use clap::CommandFactory;

/// Every binary's clap command, for man pages and completions.
fn commands() -> Vec<clap::Command> {
    vec![mm_admin::Cli::command()]
}

pub fn run() -> Result<()> {
    let dist = crate::root().join("target/dist");
    let man = dist.join("man/man1");
    let comp = dist.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&comp)?;
    crate::run(crate::cargo().args(["build", "--release", "--workspace", "--bins"]))?;
    let bin = dist.join("bin");
    std::fs::create_dir_all(&bin)?;
    for mut cmd in commands() {
        let name = cmd.get_name().to_string();
        let src = crate::root().join("target/release").join(&name);
        std::fs::copy(&src, bin.join(&name)).with_context(|| format!("copy {}", src.display()))?;
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        std::fs::write(man.join(format!("{name}.1")), page)?;
        for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Zsh, clap_complete::Shell::Fish] {
            clap_complete::generate_to(shell, &mut cmd, &name, &comp)?;
        }
        eprintln!("xtask: packaged {name}");
    }
    let _ = Command::new("ls").arg("-R").arg(&dist).status();
    Ok(())
}
