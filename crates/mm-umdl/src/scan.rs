//! Reading a master tree into a [`Tree`]: a local walk, a `fullfiletimelist-*` file, an
//! `rsync --list-only` run or a saved rsync listing. Excludes apply to every source.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mm_core::files::FileEntry;
use mm_listing::{Entry, EntryKind};
use regex::Regex;

use crate::UmdlError;

/// Excludes every source gets on top of the configured ones.
pub const DEFAULT_EXCLUDES: [&str; 2] = [r".*\.snapshot", r".*/\.~tmp~"];

/// Extensions of the files MM2 thins out (only the 3 newest kept when more than 10).
const THINNED_EXTENSIONS: [&str; 4] = [".html", ".rpm", ".hdr", ".drpm"];

/// One directory of a scanned tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirInfo {
    /// The directory's change time (local walk: `st_ctime`; listings: its mtime).
    pub ctime: i64,
    /// Others may read and enter it and all its parents up to the category top.
    pub readable: bool,
    /// Files (symlinks to files count as the file they point to), sorted by name.
    pub files: Vec<FileEntry>,
    /// Names of the subdirectories.
    pub subdirs: BTreeSet<String>,
}

/// A scanned tree: directories by path relative to the category top (`""` is the top).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub dirs: BTreeMap<String, DirInfo>,
}

impl Tree {
    /// Whether `rel` has a file called `name`.
    pub fn has_file(&self, rel: &str, name: &str) -> bool {
        self.dirs
            .get(rel)
            .is_some_and(|d| d.files.iter().any(|f| f.name == name))
    }

    /// Number of files recorded over all directories.
    pub fn file_count(&self) -> usize {
        self.dirs.values().map(|d| d.files.len()).sum()
    }
}

/// Join a relative directory and a name.
pub fn join_rel(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

/// The parent of a relative path (`""` for top-level entries).
fn parent_of(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", rel),
    }
}

/// Compiled exclude regexes, matched (unanchored) against `<topdir name>/<relative path>`.
#[derive(Debug, Clone)]
pub struct Excludes {
    /// All excludes as one alternation: one search per path.
    re: Regex,
    topname: String,
}

impl Excludes {
    pub fn new(topname: &str, configured: &[String]) -> Result<Excludes, UmdlError> {
        let all: Vec<&str> = DEFAULT_EXCLUDES.iter().copied().chain(configured.iter().map(String::as_str)).collect();
        for re in &all {
            Regex::new(re).map_err(|e| UmdlError::Config(format!("exclude {re:?}: {e}")))?;
        }
        let joined = all.iter().map(|r| format!("(?:{r})")).collect::<Vec<_>>().join("|");
        let re = Regex::new(&joined).map_err(|e| UmdlError::Config(format!("excludes: {e}")))?;
        Ok(Excludes {
            re,
            topname: topname.to_string(),
        })
    }

    /// Whether the entry at `rel` (relative to the category top) is excluded.
    pub fn is_excluded(&self, rel: &str) -> bool {
        if rel.is_empty() {
            return false;
        }
        let full = join_rel(&self.topname, rel);
        self.re.is_match(&full)
    }
}

/// Apply MM2's thinning: a directory with more than 10 `.html/.rpm/.hdr/.drpm` files
/// records only the 3 newest of them (every other file is kept).
pub fn thin_files(files: &mut Vec<FileEntry>) {
    let is_thinned = |f: &FileEntry| THINNED_EXTENSIONS.iter().any(|e| f.name.ends_with(e));
    let n = files.iter().filter(|f| is_thinned(f)).count();
    if n > 10 {
        let mut thinned: Vec<FileEntry> = files.iter().filter(|f| is_thinned(f)).cloned().collect();
        thinned.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.name.cmp(&b.name)));
        thinned.truncate(3);
        files.retain(|f| !is_thinned(f));
        files.extend(thinned);
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
}

/// Walk a local tree.
pub fn walk_local(top: &Path, excludes: &Excludes) -> Result<Tree, UmdlError> {
    let io = |p: &Path, e: std::io::Error| UmdlError::Scan(format!("{}: {e}", p.display()));
    let meta = std::fs::metadata(top).map_err(|e| io(top, e))?;
    if !meta.is_dir() {
        return Err(UmdlError::Scan(format!("{} is not a directory", top.display())));
    }
    let mut tree = Tree::default();
    // (relative path, readable so far)
    let mut stack: Vec<(String, bool)> = vec![(String::new(), true)];
    while let Some((rel, parent_readable)) = stack.pop() {
        let path = if rel.is_empty() { top.to_path_buf() } else { top.join(&rel) };
        let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
        let readable = parent_readable && meta.mode() & 0o005 == 0o005;
        let mut info = DirInfo {
            ctime: meta.ctime(),
            readable,
            ..DirInfo::default()
        };
        let rd = match std::fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                log::warn!("{}: {e}; recorded without contents", path.display());
                info.readable = false;
                tree.dirs.insert(rel, info);
                continue;
            }
            Err(e) => return Err(io(&path, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| io(&path, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                log::warn!("{}: skipping a file name that is not UTF-8", path.display());
                continue;
            };
            let child_rel = join_rel(&rel, &name);
            if excludes.is_excluded(&child_rel) {
                continue;
            }
            let lmeta = entry.metadata().map_err(|e| io(&entry.path(), e))?;
            let ft = lmeta.file_type();
            if ft.is_dir() {
                info.subdirs.insert(name);
                stack.push((child_rel, readable));
            } else if ft.is_file() {
                info.files.push(FileEntry {
                    name,
                    size: lmeta.len() as i64,
                    timestamp: lmeta.mtime(),
                });
            } else if ft.is_symlink() {
                // a link to a file counts as that file; links to directories are not followed
                if let Ok(m) = std::fs::metadata(entry.path())
                    && m.is_file()
                {
                    info.files.push(FileEntry {
                        name,
                        size: m.len() as i64,
                        timestamp: m.mtime(),
                    });
                }
            }
        }
        thin_files(&mut info.files);
        tree.dirs.insert(rel, info);
    }
    Ok(tree)
}

/// Build a tree from listing entries whose paths are relative to the category top (`.` or
/// `""` is the top). `local_top`, when the tree is also on this machine, resolves symlinks
/// that carry no target (fullfiletimelist) and the top's own time when it is not listed.
pub fn tree_from_entries(
    entries: Vec<Entry>,
    excludes: &Excludes,
    local_top: Option<&Path>,
) -> Tree {
    let norm = |p: &str| -> String {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        if p == "." { String::new() } else { p.to_string() }
    };
    let mut excluded_dirs: BTreeSet<String> = BTreeSet::new();
    let under_excluded = |rel: &str, ex: &BTreeSet<String>| {
        if ex.is_empty() {
            return false;
        }
        let mut p = rel;
        while let Some((parent, _)) = p.rsplit_once('/') {
            if ex.contains(parent) {
                return true;
            }
            p = parent;
        }
        false
    };
    let mut dirs: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    let mut files: HashMap<String, (u64, i64)> = HashMap::new();
    let mut links: Vec<(String, Option<String>, i64)> = Vec::new();
    let mut sorted = entries;
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for e in sorted {
        let rel = norm(&e.path);
        if excludes.is_excluded(&rel) || under_excluded(&rel, &excluded_dirs) {
            if e.kind == EntryKind::Dir {
                excluded_dirs.insert(rel);
            }
            continue;
        }
        match e.kind {
            EntryKind::Dir => {
                dirs.insert(rel, (e.mtime, e.others_readable()));
            }
            EntryKind::File => {
                files.insert(rel, (e.size, e.mtime));
            }
            EntryKind::Link => links.push((rel, e.target.clone(), e.mtime)),
            EntryKind::Other => {}
        }
    }
    // links to files count as the file
    for (rel, target, _) in links {
        let resolved = match (&target, local_top) {
            (Some(t), _) => {
                let (parent, _) = parent_of(&rel);
                normalize_join(parent, t).and_then(|p| files.get(&p).copied())
            }
            (None, Some(top)) => std::fs::metadata(top.join(&rel))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| (m.len(), m.mtime())),
            (None, None) => None,
        };
        if let Some(v) = resolved {
            files.insert(rel, v);
        }
    }
    let mut tree = Tree::default();
    let top_time = local_top
        .and_then(|t| std::fs::metadata(t).ok())
        .map(|m| m.mtime())
        .unwrap_or(0);
    let ensure = |tree: &mut Tree, rel: &str| {
        if tree.dirs.contains_key(rel) {
            return;
        }
        // create the directory and any unlisted parents
        let mut chain = vec![rel.to_string()];
        let mut p = rel;
        while !p.is_empty() {
            p = parent_of(p).0;
            chain.push(p.to_string());
        }
        for d in chain.into_iter().rev() {
            if !tree.dirs.contains_key(&d) {
                let (t, r) = dirs
                    .get(&d)
                    .copied()
                    .unwrap_or((if d.is_empty() { top_time } else { 0 }, true));
                tree.dirs.insert(
                    d.clone(),
                    DirInfo {
                        ctime: t,
                        readable: r,
                        ..DirInfo::default()
                    },
                );
                if !d.is_empty() {
                    let (parent, name) = parent_of(&d);
                    if let Some(pi) = tree.dirs.get_mut(parent) {
                        pi.subdirs.insert(name.to_string());
                    }
                }
            }
        }
    };
    ensure(&mut tree, "");
    let dir_names: Vec<String> = dirs.keys().cloned().collect();
    for d in &dir_names {
        ensure(&mut tree, d);
    }
    for (rel, (size, mtime)) in files {
        let (parent, name) = parent_of(&rel);
        ensure(&mut tree, parent);
        if let Some(info) = tree.dirs.get_mut(parent) {
            info.files.push(FileEntry {
                name: name.to_string(),
                size: size as i64,
                timestamp: mtime,
            });
        }
    }
    // readable = own bits and every parent's (keys sort parents first)
    let keys: Vec<String> = tree.dirs.keys().cloned().collect();
    for k in keys {
        let parent_readable = if k.is_empty() {
            true
        } else {
            tree.dirs.get(parent_of(&k).0).is_none_or(|p| p.readable)
        };
        let info = tree.dirs.get_mut(&k).expect("key exists");
        info.readable &= parent_readable;
        thin_files(&mut info.files);
    }
    tree
}

/// `base` joined with a relative symlink target, `..` resolved; `None` if it leaves the top.
fn normalize_join(base: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// The `fullfiletimelist-*` file for a local category top: at the top itself, else one
/// level up (Fedora Linux: `/pub/fedora/fullfiletimelist-fedora` with paths `linux/…`).
/// Returns the file and the path prefix its entries carry (`""` or `"linux/"`).
pub fn find_fullfiletimelist(top: &Path) -> Option<(PathBuf, String)> {
    let first = |dir: &Path| -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name().to_str().is_some_and(|n| n.starts_with("fullfiletimelist-"))
                    && e.file_type().is_ok_and(|t| t.is_file())
            })
            .map(|e| e.path())
            .collect();
        found.sort();
        found.into_iter().next()
    };
    if let Some(f) = first(top) {
        return Some((f, String::new()));
    }
    let name = top.file_name()?.to_str()?.to_string();
    let parent = top.parent()?;
    first(parent).map(|f| (f, format!("{name}/")))
}

/// Read a fullfiletimelist for a local top (`prefix` = the path prefix its entries carry).
pub fn read_fullfiletimelist(
    file: &Path,
    prefix: &str,
    top: &Path,
    excludes: &Excludes,
) -> Result<Tree, UmdlError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UmdlError::Scan(format!("{}: {e}", file.display())))?;
    let t0 = std::time::Instant::now();
    let entries = mm_listing::fullfiletimelist::parse(&text)
        .map_err(|e| UmdlError::Listing(format!("{}: {e}", file.display())))?;
    log::debug!("{}: {} entries parsed in {:.2}s", file.display(), entries.len(), t0.elapsed().as_secs_f64());
    let top_name = prefix.trim_end_matches('/');
    let entries: Vec<Entry> = entries
        .into_iter()
        .filter_map(|mut e| {
            if prefix.is_empty() {
                return Some(e);
            }
            if e.path == top_name {
                e.path = ".".into();
                return Some(e);
            }
            e.path = e.path.strip_prefix(prefix)?.to_string();
            Some(e)
        })
        .collect();
    if entries.is_empty() {
        return Err(UmdlError::Listing(format!(
            "{}: no entries under {}",
            file.display(),
            if prefix.is_empty() { "the top" } else { prefix }
        )));
    }
    let t0 = std::time::Instant::now();
    let mut tree = tree_from_entries(entries, excludes, Some(top));
    log::debug!("tree built in {:.2}s", t0.elapsed().as_secs_f64());
    // the list has no permissions: take them from the directories themselves (one stat
    // per directory, no per-file work)
    let keys: Vec<String> = tree.dirs.keys().cloned().collect();
    for k in keys {
        let own = std::fs::metadata(top.join(&k))
            .map(|m| m.mode() & 0o005 == 0o005)
            .unwrap_or(true);
        let parent_ok = k.is_empty() || tree.dirs.get(parent_of(&k).0).is_none_or(|p| p.readable);
        if let Some(d) = tree.dirs.get_mut(&k) {
            d.readable = own && parent_ok;
        }
    }
    Ok(tree)
}

/// Result of running rsync: the tree and whether the listing is complete.
#[derive(Debug)]
pub struct RsyncScan {
    pub tree: Tree,
    /// rsync reported a partial transfer (codes 23/24): never delete on such a listing.
    pub partial: bool,
}

/// Run `rsync --list-only -r` on a URL and parse its listing.
pub fn rsync_listing(url: &str, options: Option<&str>, excludes: &Excludes) -> Result<RsyncScan, UmdlError> {
    let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
    let mut cmd = Command::new("rsync");
    cmd.args(["--list-only", "-r", "--exclude=.snapshot", "--exclude=*.~tmp~"]);
    if let Some(o) = options {
        cmd.args(o.split_whitespace());
    }
    cmd.arg(&url).env("TZ", "UTC").env("LC_ALL", "C");
    log::debug!("running {cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| UmdlError::Rsync(format!("cannot run rsync: {e}")))?;
    let code = out.status.code().unwrap_or(-1);
    let partial = matches!(code, 23 | 24);
    if !out.status.success() && !partial {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(UmdlError::Rsync(format!(
            "rsync {url} failed with exit code {code}: {}",
            err.trim().lines().last().unwrap_or("")
        )));
    }
    if partial {
        log::warn!("rsync {url}: partial listing (exit code {code}); directories will not be deleted");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let entries = mm_listing::rsync::parse_listing(&text)
        .map_err(|e| UmdlError::Listing(format!("rsync {url}: {e}")))?;
    if entries.is_empty() {
        return Err(UmdlError::Rsync(format!("rsync {url} listed nothing")));
    }
    Ok(RsyncScan {
        tree: tree_from_entries(entries, excludes, None),
        partial,
    })
}

/// Copy the given files (paths relative to the URL) into a new temporary directory with
/// one `rsync --files-from` run; used to hash repomd.xml and read checksum files of an
/// rsync source. Files that vanished meanwhile are simply absent.
pub fn rsync_fetch(
    url: &str,
    options: Option<&str>,
    paths: &[String],
) -> Result<(tempfile::TempDir, PathBuf), UmdlError> {
    let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
    // rsync (3.2+) refuses --files-from below a daemon module's root ("file has vanished"):
    // fetch from the module root with the sub-path prefixed to every entry
    let (url, sub) = split_module(&url);
    let tmp_err = |e: std::io::Error| UmdlError::Scan(format!("temporary file: {e}"));
    let dir = tempfile::Builder::new().prefix("umdl-fetch-").tempdir().map_err(tmp_err)?;
    let mut list = tempfile::NamedTempFile::new().map_err(tmp_err)?;
    let listed: Vec<String> = paths.iter().map(|p| format!("{sub}{p}")).collect();
    std::io::Write::write_all(&mut list, (listed.join("\n") + "\n").as_bytes()).map_err(tmp_err)?;
    let mut cmd = Command::new("rsync");
    cmd.args(["-t", "--files-from"]).arg(list.path());
    if let Some(o) = options {
        cmd.args(o.split_whitespace());
    }
    cmd.arg(&url).arg(dir.path()).env("LC_ALL", "C");
    log::debug!("fetching {} files from {url}", paths.len());
    let out = cmd
        .output()
        .map_err(|e| UmdlError::Rsync(format!("cannot run rsync: {e}")))?;
    let code = out.status.code().unwrap_or(-1);
    log::debug!("rsync fetch exit code {code}: {}", String::from_utf8_lossy(&out.stderr).trim());
    if !out.status.success() && !matches!(code, 23 | 24) {
        return Err(UmdlError::Rsync(format!(
            "rsync {url} (fetching {} files) failed with exit code {code}: {}",
            paths.len(),
            String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("")
        )));
    }
    let root = dir.path().join(&sub);
    Ok((dir, root))
}

/// `rsync://host/module/sub/path/` → (`rsync://host/module/`, `sub/path/`); other URLs
/// are returned whole with an empty sub-path.
fn split_module(url: &str) -> (String, String) {
    let Some(rest) = url.strip_prefix("rsync://") else {
        return (url.to_string(), String::new());
    };
    let mut parts = rest.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(host), Some(module), Some(sub)) if !module.is_empty() => {
            (format!("rsync://{host}/{module}/"), sub.to_string())
        }
        _ => (url.to_string(), String::new()),
    }
}

/// Parse a saved rsync listing. Paths may be relative to the top (`.` first) or start
/// with the top's own name (`linux/…`, as `rsync --list-only URL` without a trailing
/// slash prints them); the latter prefix is stripped.
pub fn saved_listing(file: &Path, top_basename: &str, excludes: &Excludes) -> Result<Tree, UmdlError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UmdlError::Scan(format!("{}: {e}", file.display())))?;
    let mut entries = mm_listing::rsync::parse_listing(&text)
        .map_err(|e| UmdlError::Listing(format!("{}: {e}", file.display())))?;
    if entries.is_empty() {
        return Err(UmdlError::Listing(format!("{}: empty listing", file.display())));
    }
    let prefix = format!("{top_basename}/");
    let prefixed = !top_basename.is_empty()
        && entries
            .iter()
            .all(|e| e.path == top_basename || e.path.starts_with(&prefix));
    if prefixed {
        for e in &mut entries {
            e.path = if e.path == top_basename {
                ".".into()
            } else {
                e.path[prefix.len()..].to_string()
            };
        }
    }
    Ok(tree_from_entries(entries, excludes, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fe(name: &str, ts: i64) -> FileEntry {
        FileEntry {
            name: name.into(),
            size: 1,
            timestamp: ts,
        }
    }

    #[test]
    fn thinning_keeps_three_newest_packages_and_all_else() {
        let mut files: Vec<FileEntry> = (0..11).map(|i| fe(&format!("p{i:02}.rpm"), i)).collect();
        files.push(fe("repomd.xml", 0));
        thin_files(&mut files);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["p08.rpm", "p09.rpm", "p10.rpm", "repomd.xml"]);
        let mut ten: Vec<FileEntry> = (0..10).map(|i| fe(&format!("p{i}.rpm"), i)).collect();
        thin_files(&mut ten);
        assert_eq!(ten.len(), 10);
    }

    #[test]
    fn entries_build_a_tree_with_excludes_links_and_permissions() {
        let text = "drwxr-xr-x 4096 2024/01/01 00:00:00 .\n\
            drwxr-x--- 4096 2024/01/01 00:00:01 private\n\
            drwxr-xr-x 4096 2024/01/01 00:00:01 private/sub\n\
            drwxr-xr-x 4096 2024/01/01 00:00:02 a\n\
            -rw-r--r-- 10 2024/01/01 00:00:03 a/f.iso\n\
            lrwxrwxrwx 5 2024/01/01 00:00:03 a/g.iso -> f.iso\n\
            lrwxrwxrwx 5 2024/01/01 00:00:03 a/dir -> ../private\n\
            drwxr-xr-x 4096 2024/01/01 00:00:02 a/.snapshot\n\
            -rw-r--r-- 10 2024/01/01 00:00:03 a/.snapshot/x\n\
            drwxr-xr-x 4096 2024/01/01 00:00:02 skipme\n\
            -rw-r--r-- 10 2024/01/01 00:00:03 skipme/x\n";
        let entries = mm_listing::rsync::parse_listing(text).unwrap();
        let ex = Excludes::new("pub/x", &["^pub/x/skipme$".into()]).unwrap();
        let t = tree_from_entries(entries, &ex, None);
        let keys: Vec<&str> = t.dirs.keys().map(String::as_str).collect();
        assert_eq!(keys, ["", "a", "private", "private/sub"]);
        assert!(!t.dirs["private/sub"].readable);
        assert!(t.dirs["a"].readable);
        let names: Vec<&str> = t.dirs["a"].files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["f.iso", "g.iso"]);
        assert_eq!(t.dirs["a"].files[1].size, 10);
        assert_eq!(t.dirs[""].subdirs.iter().collect::<Vec<_>>(), ["a", "private"]);
    }

    #[test]
    fn module_split() {
        assert_eq!(
            split_module("rsync://h:873/pub/fedora/linux/"),
            ("rsync://h:873/pub/".to_string(), "fedora/linux/".to_string())
        );
        assert_eq!(split_module("rsync://h/pub/"), ("rsync://h/pub/".to_string(), String::new()));
        assert_eq!(split_module("/local/dir/"), ("/local/dir/".to_string(), String::new()));
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(normalize_join("", "../c"), None);
        assert_eq!(normalize_join("a", "/etc/passwd"), None);
    }
}
