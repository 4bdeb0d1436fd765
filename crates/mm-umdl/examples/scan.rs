//! Time umdl on a generated tree (see `gen-tree`):
//! `cargo run -p mm-umdl --example scan -- PREFIX DATABASE_URL` migrates the database,
//! creates the "Fedora Linux" and "Fedora EPEL" categories when missing, then runs a
//! first scan (fullfiletimelist), a no-change rescan, a forced walk and a forced
//! fullfiletimelist rescan, printing each summary. DATABASE_URL `pg` starts a throw-away
//! PostgreSQL server (mm-testkit).

use std::path::Path;

use diesel::prelude::*;
use mm_core::schema::category;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [prefix, url] = args.as_slice() else {
        anyhow::bail!("usage: scan PREFIX DATABASE_URL");
    };
    mm_core::logging::init(false);
    // `pg`: a throw-away PostgreSQL server started by mm-testkit
    let url = &if url == "pg" {
        mm_testkit::pg().create_database("umdl_bench")
    } else {
        url.clone()
    };
    let mut conn = mm_core::connect(url)?;
    mm_core::db::migrate(&mut conn)?;
    for name in ["Fedora Linux", "Fedora EPEL"] {
        let n: i64 = category::table
            .filter(category::name.eq(name))
            .count()
            .get_result(&mut conn)?;
        if n == 0 {
            mm_testkit::fixture::bare_category(&mut conn, name)?;
        }
    }
    let lock = tempfile::tempdir()?;
    let text = format!(
        "database_url = {url:?}\nlock_dir = {:?}\n[umdl]\nprefix = \"{prefix}/\"\n\
         [[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora Linux\"\npath = \"{prefix}/pub/fedora/linux\"\n\
         [[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora EPEL\"\npath = \"{prefix}/pub/epel\"\n",
        lock.path().display().to_string()
    );
    let config = mm_core::Config::from_str(&text, Path::new("bench.toml"))?;
    for (label, opts) in [
        ("first scan (fullfiletimelist)", mm_umdl::Options::default()),
        ("rescan, nothing changed", mm_umdl::Options::default()),
        (
            "forced walk",
            mm_umdl::Options {
                force: true,
                skip_fullfiletimelist: true,
                ..Default::default()
            },
        ),
        (
            "forced fullfiletimelist",
            mm_umdl::Options {
                force: true,
                ..Default::default()
            },
        ),
    ] {
        println!("== {label}");
        let started = std::time::Instant::now();
        mm_umdl::run(&config, &opts)?;
        println!("   total {:.2}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}
