//! Generate a Fedora-shaped master tree for benchmarks:
//! `cargo run -p mm-umdl --example gen-tree -- DIR DIRS FILES` writes about DIRS directories
//! and FILES files (plus `fullfiletimelist-*` files) under DIR, which plays `umdl.prefix`.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, dirs, files] = args.as_slice() else {
        anyhow::bail!("usage: gen-tree DIR DIRS FILES");
    };
    let spec = mm_umdl::generate::Spec::sized(dirs.parse()?, files.parse()?);
    let started = std::time::Instant::now();
    let g = mm_umdl::generate::generate(std::path::Path::new(dir), &spec)?;
    println!(
        "generated {} directories, {} files, {} repositories in {:.1}s",
        g.dirs,
        g.files,
        g.repos.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
