//! Atomic replacement of the output tree: pages go to a sibling temp dir, which is then
//! exchanged with the live directory in one `renameat2(RENAME_EXCHANGE)`, so a reader sees
//! either the whole previous tree or the whole new one. A run killed mid-write leaves the
//! previous tree untouched and a stale temp dir, which the next run removes.

use std::path::{Path, PathBuf};

use crate::PubliclistError;

/// Writes a new tree beside `out` and swaps it in on [`TreeWriter::commit`].
#[derive(Debug)]
pub struct TreeWriter {
    out: PathBuf,
    tmp: PathBuf,
    committed: bool,
    /// Files written so far.
    pub files: usize,
    /// Bytes written so far.
    pub bytes: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PubliclistError + '_ {
    move |source| PubliclistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Prefixes of the sibling temp (new tree) and old (previous tree) directories of `out`.
fn sibling_prefixes(out: &Path) -> (String, String) {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (format!(".{name}.tmp-"), format!(".{name}.old-"))
}

impl TreeWriter {
    /// Remove stale temp dirs of earlier killed runs and create a fresh temp dir beside `out`.
    /// The caller holds the `publiclist` lock, so no other run owns those temp dirs.
    pub fn create(out: &Path) -> Result<TreeWriter, PubliclistError> {
        let mut out = std::path::absolute(out).map_err(io_err(out))?;
        if let Ok(meta) = std::fs::symlink_metadata(&out) {
            if meta.file_type().is_symlink() {
                // A symlinked output directory (say into the web server's tree) stays a
                // symlink: the tree is replaced where it points.
                out = std::fs::canonicalize(&out).map_err(io_err(&out))?;
            }
            if !std::fs::metadata(&out).map_err(io_err(&out))?.is_dir() {
                return Err(PubliclistError::Invalid(format!(
                    "{} exists and is not a directory; refusing to replace it",
                    out.display()
                )));
            }
            // The tree is replaced whole: never a directory that is not one of ours (a
            // mistyped `-o /srv/www`, or a symlink into a docroot).
            let empty = std::fs::read_dir(&out)
                .map_err(io_err(&out))?
                .next()
                .is_none();
            let ours = out.join("index.html").is_file() && out.join("mirrors.json").is_file();
            if !empty && !ours {
                return Err(PubliclistError::Invalid(format!(
                    "{} is not empty and holds no public list (no index.html and mirrors.json); refusing to replace it",
                    out.display()
                )));
            }
        }
        let parent = out.parent().ok_or_else(|| {
            PubliclistError::Invalid(format!("{} has no parent directory", out.display()))
        })?;
        if out.file_name().is_none() {
            return Err(PubliclistError::Invalid(format!(
                "{} is not a directory name",
                out.display()
            )));
        }
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        let (tmp_prefix, old_prefix) = sibling_prefixes(&out);
        for entry in std::fs::read_dir(parent).map_err(io_err(parent))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&tmp_prefix) || name.starts_with(&old_prefix) {
                log::info!("removing stale {}", entry.path().display());
                if let Err(e) = remove_tree(&entry.path()) {
                    log::warn!("cannot remove stale {}: {e}", entry.path().display());
                }
            }
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = parent.join(format!("{tmp_prefix}{}-{stamp}", std::process::id()));
        std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
        log::debug!("writing the new tree to {}", tmp.display());
        Ok(TreeWriter {
            out,
            tmp,
            committed: false,
            files: 0,
            bytes: 0,
        })
    }

    /// The temp dir being written.
    pub fn temp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Write one file at `rel` (a `/`-separated path) inside the new tree.
    pub fn write(&mut self, rel: &str, data: &[u8]) -> Result<(), PubliclistError> {
        let path = self.tmp.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::write(&path, data).map_err(io_err(&path))?;
        self.files += 1;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Swap the new tree in and delete the previous one.
    pub fn commit(mut self) -> Result<PathBuf, PubliclistError> {
        let out = self.out.clone();
        let tmp = self.tmp.clone();
        if std::fs::symlink_metadata(&out).is_err() {
            std::fs::rename(&tmp, &out).map_err(io_err(&out))?;
            self.committed = true;
            return Ok(out);
        }
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, &tmp, CWD, &out, RenameFlags::EXCHANGE) {
            Ok(()) => {
                self.committed = true;
                // `tmp` now holds the previous tree.
                if let Err(e) = remove_tree(&tmp) {
                    log::warn!("cannot remove the previous tree {}: {e}", tmp.display());
                }
            }
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
                // A filesystem without RENAME_EXCHANGE: two renames, a short window
                // in which the directory is missing (never half-written).
                log::warn!(
                    "{}: atomic exchange unsupported ({e}); using two renames",
                    out.display()
                );
                let (_, old_prefix) = sibling_prefixes(&out);
                let old = out.with_file_name(format!("{old_prefix}{}", std::process::id()));
                std::fs::rename(&out, &old).map_err(io_err(&out))?;
                if let Err(e) = std::fs::rename(&tmp, &out) {
                    // Put the previous tree back rather than leave no tree at all.
                    if let Err(back) = std::fs::rename(&old, &out) {
                        log::error!(
                            "cannot put the previous tree {} back: {back}",
                            old.display()
                        );
                    }
                    return Err(io_err(&out)(e));
                }
                self.committed = true;
                if let Err(e) = remove_tree(&old) {
                    log::warn!("cannot remove the previous tree {}: {e}", old.display());
                }
            }
            Err(e) => return Err(io_err(&out)(e.into())),
        }
        Ok(out)
    }
}

/// `remove_dir_all`, which also removes a tree whose directories were made read-only (a
/// `chmod -R a-w` of the live tree must not make every later run fail).
fn remove_tree(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            make_writable(path);
            std::fs::remove_dir_all(path)
        }
        other => other,
    }
}

fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mode = meta.permissions().mode() | 0o700;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            make_writable(&entry.path());
        }
    }
}

impl Drop for TreeWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_tree(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_replaces_the_tree_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("publiclist");
        let mut w = TreeWriter::create(&out).unwrap();
        w.write("index.html", b"one").unwrap();
        w.write("mirrors.json", b"{}").unwrap();
        w.write("a/b/index.html", b"deep").unwrap();
        w.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("a/b/index.html")).unwrap(),
            "deep"
        );
        // A stale temp dir of a killed run is removed by the next run.
        std::fs::create_dir(dir.path().join(".publiclist.tmp-1-2")).unwrap();
        let mut w = TreeWriter::create(&out).unwrap();
        assert!(!dir.path().join(".publiclist.tmp-1-2").exists());
        w.write("index.html", b"two").unwrap();
        w.write("mirrors.json", b"{}").unwrap();
        // Until the commit the previous tree is live.
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "one"
        );
        w.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "two"
        );
        assert!(!out.join("a").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("publiclist")]);
    }

    const AS_NOBODY_DIR: &str = "PUBLICLIST_TEST_AS_NOBODY_DIR";

    /// root ignores file modes, so as root the test runs itself again as `nobody`.
    #[test]
    fn a_read_only_previous_tree_is_still_replaced_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        if let Some(dir) = std::env::var_os(AS_NOBODY_DIR) {
            return read_only_rounds(Path::new(&dir));
        }
        let dir = tempfile::tempdir().unwrap();
        if !rustix::process::geteuid().is_root() {
            return read_only_rounds(dir.path());
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let name = "write::tests::a_read_only_previous_tree_is_still_replaced_and_removed";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads", "1", "--nocapture"])
            .env(AS_NOBODY_DIR, dir.path())
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }

    fn read_only_rounds(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let out = dir.join("pl");
        let mut w = TreeWriter::create(&out).unwrap();
        w.write("a/index.html", b"one").unwrap();
        w.write("index.html", b"").unwrap();
        w.write("mirrors.json", b"{}").unwrap();
        w.commit().unwrap();
        // A sysadmin's `chmod -R a-w` of the live tree.
        for d in [out.join("a"), out.clone()] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        for round in ["two", "three"] {
            let mut w = TreeWriter::create(&out).unwrap();
            w.write("a/index.html", round.as_bytes()).unwrap();
            w.write("index.html", b"").unwrap();
            w.write("mirrors.json", b"{}").unwrap();
            w.commit().unwrap();
            assert_eq!(
                std::fs::read_to_string(out.join("a/index.html")).unwrap(),
                round
            );
            assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
        }
    }

    #[test]
    fn a_file_in_the_way_is_refused_and_a_symlink_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mirrorlist_cache.proto");
        std::fs::write(&file, b"cache").unwrap();
        let e = TreeWriter::create(&file).unwrap_err().to_string();
        assert!(e.contains("exists and is not a directory"), "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), b"cache");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // A directory that is not a public list is never replaced.
        let docroot = dir.path().join("docroot");
        std::fs::create_dir(&docroot).unwrap();
        std::fs::write(docroot.join("index.html"), b"site").unwrap();
        let e = TreeWriter::create(&docroot).unwrap_err().to_string();
        assert!(e.contains("holds no public list"), "{e}");
        assert_eq!(std::fs::read(docroot.join("index.html")).unwrap(), b"site");

        let real = dir.path().join("www/real");
        std::fs::create_dir_all(&real).unwrap();
        let link = dir.path().join("pl");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for round in ["one", "two"] {
            let mut w = TreeWriter::create(&link).unwrap();
            w.write("index.html", round.as_bytes()).unwrap();
            w.write("mirrors.json", b"{}").unwrap();
            w.commit().unwrap();
            assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
            assert_eq!(
                std::fs::read_to_string(real.join("index.html")).unwrap(),
                round
            );
        }
    }

    #[test]
    fn dropped_writer_leaves_the_previous_tree() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pl");
        let mut w = TreeWriter::create(&out).unwrap();
        w.write("index.html", b"one").unwrap();
        w.write("mirrors.json", b"{}").unwrap();
        w.commit().unwrap();
        let mut w = TreeWriter::create(&out).unwrap();
        w.write("index.html", b"half").unwrap();
        w.write("mirrors.json", b"{}").unwrap();
        drop(w);
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "one"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
