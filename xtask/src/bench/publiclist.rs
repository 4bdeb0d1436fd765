//! `cargo xtask bench publiclist`: `mirrormanager publiclist` on a Fedora-scale database
//! (~700 hosts, 40 versions × 10 arches; `mm_testkit::fixture::fill_fedora_scale`) on
//! SQLite and on PostgreSQL, timed with peak RSS by `/usr/bin/time`. Targets: ≤ 2 s and
//! ≤ 200 MB on each. The work is done by the crate's `render` example, built in release.

use std::process::Command;

use anyhow::{Result, bail};

use super::{Opts, Report, bin, build_release, ensure_tools, machine, verdict};

/// `0:02.78` or `1:02:03` (as `/usr/bin/time -v` prints wall time) in seconds.
fn wall_seconds(s: &str) -> Option<f64> {
    s.split(':').try_fold(0.0, |acc, part| {
        part.trim().parse::<f64>().ok().map(|v| acc * 60.0 + v)
    })
}

pub fn run(opts: &Opts) -> Result<()> {
    ensure_tools()?;
    build_release()?;
    let example = super::build_example("mm-publiclist", "render")?;
    let mut cmd = Command::new(&example);
    cmd.arg(bin("mirrormanager")).current_dir(crate::root());
    if opts.quick {
        cmd.env("MM_BENCH_HOSTS", "100")
            .env("MM_BENCH_VERSIONS", "10");
    }
    let stdout = super::run_helper(&mut cmd)?;
    let mut report = Report {
        title: "publiclist".into(),
        intro: vec![
            format!("Command: `cargo xtask bench publiclist{}` ({}).", if opts.quick { " --quick" } else { "" }, machine()),
            "Data: `mm_testkit::fixture::fill_fedora_scale` (700 hosts, 40 versions × 10 arches unless --quick).".into(),
        ],
        header: ["backend", "wall (s)", "peak RSS (MB)", "target", "result"].map(String::from).to_vec(),
        ..Default::default()
    };
    for line in stdout.lines().filter(|l| l.contains("| wall ")) {
        let backend = line.split(':').next().unwrap_or("?").to_string();
        let wall = line
            .split("| wall ")
            .nth(1)
            .and_then(|r| r.split(" |").next())
            .and_then(wall_seconds);
        let rss_mb = line
            .split("max RSS ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|k| k.parse::<f64>().ok())
            .map(|kb| kb / 1024.0);
        let (Some(wall), Some(rss)) = (wall, rss_mb) else {
            bail!("cannot read the figures of: {line}");
        };
        report.row(&[
            &backend,
            &format!("{wall:.2}"),
            &format!("{rss:.0}"),
            &"≤ 2 s, ≤ 200 MB",
            &verdict(wall <= 2.0 && rss <= 200.0),
        ]);
    }
    if report.rows.len() != 2 {
        bail!("expected figures for sqlite and postgres, got:\n{stdout}");
    }
    report.notes.push("Output of the run:".into());
    report.notes.push(format!("\n```\n{}\n```", stdout.trim()));
    report.publish("publiclist")
}

#[cfg(test)]
mod tests {
    use super::wall_seconds;

    #[test]
    fn wall_clock_formats() {
        assert_eq!(wall_seconds("0:02.78"), Some(2.78));
        assert_eq!(wall_seconds("1:00:01"), Some(3601.0));
        assert_eq!(wall_seconds("x"), None);
    }
}
