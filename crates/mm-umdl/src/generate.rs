//! Generate a Fedora-shaped master tree (for tests and `cargo xtask bench umdl`):
//! `pub/fedora/linux/{releases,updates,updates/testing}/N/Everything/<arch>/…` and
//! `pub/epel/N/Everything/<arch>/…`, with real `repodata/repomd.xml` files, package files,
//! an ISO directory with a CHECKSUM file, and `fullfiletimelist-*` files where Fedora
//! publishes them (`pub/fedora/fullfiletimelist-fedora` with `linux/…` paths,
//! `pub/epel/fullfiletimelist-epel`).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::Digest;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub fedora_releases: Vec<u32>,
    pub epel_releases: Vec<u32>,
    pub arches: Vec<String>,
    /// `Packages/<k>/` subdirectories per repository.
    pub package_dirs: usize,
    /// `.rpm` files per package directory.
    pub packages_per_dir: usize,
    /// Write the `fullfiletimelist-*` files.
    pub fullfiletimelist: bool,
    /// `<revision>` written into every repomd.xml.
    pub revision: i64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            fedora_releases: vec![41],
            epel_releases: vec![9],
            arches: vec!["x86_64".into(), "aarch64".into()],
            package_dirs: 2,
            packages_per_dir: 3,
            fullfiletimelist: true,
            revision: chrono::Utc::now().timestamp(),
        }
    }
}

impl Spec {
    /// A spec of roughly `dirs` directories and `files` files.
    pub fn sized(dirs: usize, files: usize) -> Spec {
        let arches: Vec<String> = ["x86_64", "aarch64", "ppc64le", "s390x"]
            .map(String::from)
            .to_vec();
        // per release: (arches + source) × 4 trees (release, updates, testing, epel)
        let repos_per_release = (arches.len() + 1) * 4;
        let package_dirs = 26usize;
        let dirs_per_release = repos_per_release * (package_dirs + 4);
        let releases = (dirs / dirs_per_release).max(1);
        let packages_per_dir = (files / (releases * repos_per_release * package_dirs)).max(1);
        Spec {
            // distinct release numbers at any size (counting down from 40 ran out at 40)
            fedora_releases: (0..releases as u32).map(|i| 100 + i).collect(),
            epel_releases: (0..releases as u32).map(|i| 10 + i).collect(),
            arches,
            package_dirs,
            packages_per_dir,
            fullfiletimelist: true,
            revision: chrono::Utc::now().timestamp(),
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    pub dirs: usize,
    pub files: usize,
    /// Repository directories (relative to the generation root).
    pub repos: Vec<String>,
}

/// A repomd.xml with the given revision; `salt` makes its content unique.
pub fn repomd_xml(revision: i64, salt: &str) -> String {
    let sum = hex::encode(sha2::Sha256::digest(salt.as_bytes()));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n  \
         <revision>{revision}</revision>\n  <data type=\"primary\">\n    <checksum type=\"sha256\">{sum}</checksum>\n    \
         <location href=\"repodata/{sum}-primary.xml.gz\"/>\n    <timestamp>{ts}</timestamp>\n    <size>1</size>\n  </data>\n</repomd>\n",
        ts = revision - 10
    )
}

fn write(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::File::create(path)?.write_all(content)
}

/// Write one repository directory (repodata + packages).
fn repo(root: &Path, rel: &str, spec: &Spec, out: &mut Generated) -> std::io::Result<()> {
    let dir = root.join(rel);
    write(
        &dir.join("repodata/repomd.xml"),
        repomd_xml(spec.revision, rel).as_bytes(),
    )?;
    out.files += 1;
    for k in 0..spec.package_dirs {
        let letter = (b'a' + (k % 26) as u8) as char;
        let sub = if k < 26 {
            letter.to_string()
        } else {
            format!("{letter}{k}")
        };
        for i in 0..spec.packages_per_dir {
            write(
                &dir.join(format!("Packages/{sub}/{sub}pkg-{i}-1.fc.noarch.rpm")),
                format!("rpm {rel} {i}").as_bytes(),
            )?;
            out.files += 1;
        }
    }
    out.repos.push(rel.to_string());
    Ok(())
}

/// Generate the tree under `root` (which plays `umdl.prefix`).
pub fn generate(root: &Path, spec: &Spec) -> std::io::Result<Generated> {
    let mut out = Generated::default();
    let fedora = "pub/fedora/linux";
    let mut arches_src: Vec<String> = spec.arches.clone();
    arches_src.push("source".into());
    for &n in &spec.fedora_releases {
        for a in &arches_src {
            let tail = if a == "source" {
                "source/tree"
            } else {
                &format!("{a}/os")
            };
            repo(
                root,
                &format!("{fedora}/releases/{n}/Everything/{tail}"),
                spec,
                &mut out,
            )?;
            let tail = if a == "source" {
                "source/tree".to_string()
            } else {
                a.clone()
            };
            repo(
                root,
                &format!("{fedora}/updates/{n}/Everything/{tail}"),
                spec,
                &mut out,
            )?;
            repo(
                root,
                &format!("{fedora}/updates/testing/{n}/Everything/{tail}"),
                spec,
                &mut out,
            )?;
        }
        // an ISO directory with a checksum file
        let iso_dir = root.join(format!("{fedora}/releases/{n}/Everything/x86_64/iso"));
        let iso_name = format!("Fedora-Everything-netinst-x86_64-{n}-1.4.iso");
        let iso = format!("iso image {n}").into_bytes();
        write(&iso_dir.join(&iso_name), &iso)?;
        let sum = hex::encode(sha2::Sha256::digest(&iso));
        write(
            &iso_dir.join(format!("Fedora-Everything-{n}-1.4-x86_64-CHECKSUM")),
            format!(
                "# {iso_name}: {} bytes\nSHA256 ({iso_name}) = {sum}\n",
                iso.len()
            )
            .as_bytes(),
        )?;
        out.files += 2;
    }
    for &n in &spec.epel_releases {
        for a in &arches_src {
            let tail = if a == "source" {
                "source/tree".to_string()
            } else {
                a.clone()
            };
            repo(
                root,
                &format!("pub/epel/{n}/Everything/{tail}"),
                spec,
                &mut out,
            )?;
        }
    }
    if spec.fullfiletimelist {
        for (top, list, prefix) in [
            (
                "pub/fedora/linux",
                "pub/fedora/fullfiletimelist-fedora",
                "linux",
            ),
            ("pub/epel", "pub/epel/fullfiletimelist-epel", ""),
        ] {
            let top = root.join(top);
            if top.exists() {
                let text = fullfiletimelist_for(&top, prefix)?;
                write(&root.join(list), text.as_bytes())?;
            }
        }
    }
    count(&root.join("pub"), &mut out)?;
    Ok(out)
}

fn count(dir: &Path, out: &mut Generated) -> std::io::Result<()> {
    out.dirs = 0;
    out.files = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        out.dirs += 1;
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.files += 1;
            }
        }
    }
    Ok(())
}

/// A fullfiletimelist (format version 3) for the tree at `top`; entry paths start with
/// `prefix/` when `prefix` is not empty (and the top itself is listed as `prefix`).
pub fn fullfiletimelist_for(top: &Path, prefix: &str) -> std::io::Result<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(top.to_path_buf(), prefix.to_string())];
    while let Some((dir, rel)) = stack.pop() {
        if !rel.is_empty() {
            let m = std::fs::metadata(&dir)?;
            lines.push(format!("{}\td\t{}\t{rel}", m.mtime(), m.len()));
        }
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("fullfiletimelist-") {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = std::fs::symlink_metadata(e.path())?;
            if m.is_dir() {
                stack.push((e.path(), child));
            } else if m.file_type().is_symlink() {
                lines.push(format!("{}\tl\t{}\t{child}", m.mtime(), m.len()));
            } else {
                lines.push(format!("{}\tf\t{}\t{child}", m.mtime(), m.len()));
            }
        }
    }
    lines.sort_by(|a, b| a.rsplit('\t').next().cmp(&b.rsplit('\t').next()));
    Ok(format!(
        "[Version]\n3\n\n[Files]\n{}\n\n[Checksums SHA1]\n\n[End]\n",
        lines.join("\n")
    ))
}

#[cfg(test)]
mod sized_tests {
    use super::Spec;

    #[test]
    fn sized_specs_have_distinct_releases_at_any_size() {
        let s = Spec::sized(100_000, 1_000_000);
        let mut f = s.fedora_releases.clone();
        f.dedup();
        assert_eq!(f.len(), s.fedora_releases.len());
        assert!(s.fedora_releases.len() > 40);
        let mut e = s.epel_releases.clone();
        e.sort();
        e.dedup();
        assert_eq!(e.len(), s.epel_releases.len());
    }
}
