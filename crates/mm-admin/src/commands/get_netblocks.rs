//! `mirrormanager get-netblocks global|internet2 SOURCE OUTFILE`: turn a BGP table dump (a
//! file or an http(s) URL) into the `CIDR ASN` netblocks file the mirrorlist server reads.
//! The output is replaced atomically (temporary file + rename) and never with an empty
//! result; malformed lines are reported with their line numbers.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{AdminError, Result};
use crate::housekeeping::netblocks::{self, Kind};

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Which netblocks file this is (internet2 output is sorted by network)
    #[arg(value_enum)]
    pub kind: Kind,
    /// The BGP table dump: a file path or an http(s) URL
    pub source: String,
    /// The netblocks file to write
    pub outfile: std::path::PathBuf,
    /// Tolerate up to this many malformed lines (each is logged with its number)
    #[arg(long, default_value_t = 0)]
    pub max_bad: usize,
}

/// The dump's bytes, from a URL or a file.
fn fetch(source: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if source.starts_with("http://") || source.starts_with("https://") {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(900)))
            .user_agent(concat!("mirrormanager/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let resp = agent
            .get(source)
            .call()
            .map_err(|e| AdminError::Invalid(format!("cannot fetch {source}: {e}")))?;
        resp.into_body()
            .into_reader()
            .read_to_end(&mut bytes)
            .map_err(|e| AdminError::Invalid(format!("cannot fetch {source}: {e}")))?;
    } else {
        std::fs::File::open(source)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| AdminError::io(source, e))?;
    }
    Ok(bytes)
}

/// Write `text` to `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |e| AdminError::io(path.display(), e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".mm-netblocks-")
        .tempfile_in(dir)
        .map_err(|e| AdminError::io(dir.display(), e))?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

pub fn run(opts: &Opts) -> Result<()> {
    let bytes = fetch(&opts.source)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| AdminError::Invalid(format!("{} is not text: {e}", opts.source)))?;
    let parsed = netblocks::parse(&text);
    for b in &parsed.bad {
        log::warn!("{} line {}: {}", opts.source, b.line, b.problem);
    }
    if parsed.bad.len() > opts.max_bad {
        let first: Vec<String> = parsed
            .bad
            .iter()
            .take(3)
            .map(|b| format!("line {}: {}", b.line, b.problem))
            .collect();
        return Err(AdminError::Invalid(format!(
            "{} malformed lines in {} ({}); {} left unchanged",
            parsed.bad.len(),
            opts.source,
            first.join("; "),
            opts.outfile.display()
        )));
    }
    if parsed.entries.is_empty() {
        return Err(AdminError::Invalid(format!(
            "no netblocks in {}; {} left unchanged",
            opts.source,
            opts.outfile.display()
        )));
    }
    write_atomically(&opts.outfile, &parsed.render(opts.kind))?;
    crate::output::write_stdout(&format!(
        "wrote {} netblocks to {} ({} lines skipped, {} malformed)\n",
        parsed.entries.len(),
        opts.outfile.display(),
        parsed.skipped,
        parsed.bad.len()
    ))
}
