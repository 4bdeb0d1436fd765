//! Reading a master tree into a [`Tree`]: a local walk, a `fullfiletimelist-*` file, an
//! `rsync --list-only` run or a saved rsync listing. Excludes apply to every source.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
    /// Set by the walk for a directory whose ctime equals the one the database has (MM2's
    /// rule: unchanged, so its files were not stat'ed): `files` then carries every file's
    /// name with size and timestamp 0, unthinned, and must never be written.
    pub names_only: bool,
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
        let all: Vec<&str> = DEFAULT_EXCLUDES
            .iter()
            .copied()
            .chain(configured.iter().map(String::as_str))
            .collect();
        for re in &all {
            Regex::new(re).map_err(|e| UmdlError::Config(format!("exclude {re:?}: {e}")))?;
        }
        let joined = all
            .iter()
            .map(|r| format!("(?:{r})"))
            .collect::<Vec<_>>()
            .join("|");
        let re = Regex::new(&joined).map_err(|e| UmdlError::Config(format!("excludes: {e}")))?;
        Ok(Excludes {
            re,
            topname: topname.to_string(),
        })
    }

    /// Whether the entry at `rel` (relative to the category top) is excluded.
    pub fn is_excluded(&self, rel: &str) -> bool {
        self.is_excluded_buf(rel, &mut String::new())
    }

    /// [`Excludes::is_excluded`] with a caller's scratch buffer (no allocation per call).
    pub fn is_excluded_buf(&self, rel: &str, buf: &mut String) -> bool {
        self.is_excluded_child("", rel, buf)
    }

    /// Whether `name` in the directory `parent` (relative to the top) is excluded; `buf` is
    /// scratch space.
    pub fn is_excluded_child(&self, parent: &str, name: &str, buf: &mut String) -> bool {
        if parent.is_empty() && name.is_empty() {
            return false;
        }
        buf.clear();
        for part in [self.topname.as_str(), parent, name] {
            if part.is_empty() {
                continue;
            }
            if !buf.is_empty() {
                buf.push('/');
            }
            buf.push_str(part);
        }
        self.re.is_match(buf)
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

/// Walk a local tree. `known` maps directories (relative to the top) to the ctime the
/// database has for them; a directory whose ctime is unchanged is read with `readdir` only
/// (its files are not stat'ed, see [`DirInfo::names_only`]). Pass an empty map to stat
/// everything (`--force`, or nothing known yet).
///
/// Directories are read in parallel on rayon's pool (one task per directory): most of a
/// walk is the kernel reading directories and stat'ing files, which scales with cores.
/// The first error stops the walk and is returned.
pub fn walk_local(
    top: &Path,
    excludes: &Excludes,
    known: &HashMap<String, i64>,
) -> Result<Tree, UmdlError> {
    let meta = std::fs::metadata(top).map_err(|e| io_error(top, e))?;
    if !meta.is_dir() {
        return Err(UmdlError::Scan(format!(
            "{} is not a directory",
            top.display()
        )));
    }
    let walk = Walk {
        top,
        excludes,
        known,
        done: std::sync::Mutex::new(Vec::new()),
        error: std::sync::Mutex::new(None),
        failed: std::sync::atomic::AtomicBool::new(false),
    };
    rayon::scope(|s| {
        walk.spawn(
            s,
            Pending {
                rel: String::new(),
                parent_readable: true,
                meta,
            },
        )
    });
    if let Some(e) = walk.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let done = walk.done.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(Tree {
        dirs: done.into_iter().collect(),
    })
}

fn io_error(p: &Path, e: std::io::Error) -> UmdlError {
    UmdlError::Scan(format!("{}: {e}", p.display()))
}

/// A directory found by the walk and not read yet: its path relative to the top, whether
/// its parents are all readable, and its metadata (stat'ed from the parent's entry).
struct Pending {
    rel: String,
    parent_readable: bool,
    meta: std::fs::Metadata,
}

/// State shared by the walk's tasks.
struct Walk<'w> {
    top: &'w Path,
    excludes: &'w Excludes,
    known: &'w HashMap<String, i64>,
    done: std::sync::Mutex<Vec<(String, DirInfo)>>,
    error: std::sync::Mutex<Option<UmdlError>>,
    failed: std::sync::atomic::AtomicBool,
}

impl<'w> Walk<'w> {
    fn spawn<'s>(&'s self, s: &rayon::Scope<'s>, dir: Pending) {
        s.spawn(move |s| {
            if self.failed.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            match self.read(dir) {
                Ok((rel, info, subdirs)) => {
                    for sub in subdirs {
                        self.spawn(s, sub);
                    }
                    self.done
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((rel, info));
                }
                Err(e) => {
                    self.failed
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    self.error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                }
            }
        });
    }

    /// Read one directory: its [`DirInfo`] and the subdirectories still to read.
    fn read(&self, dir: Pending) -> Result<(String, DirInfo, Vec<Pending>), UmdlError> {
        let Pending {
            rel,
            parent_readable,
            meta,
        } = dir;
        let io = io_error;
        let mut buf = String::new();
        let mut subdirs = Vec::new();
        let path = if rel.is_empty() {
            self.top.to_path_buf()
        } else {
            self.top.join(&rel)
        };
        let readable = parent_readable && meta.mode() & 0o005 == 0o005;
        let names_only = self.known.get(&rel) == Some(&meta.ctime());
        let mut info = DirInfo {
            ctime: meta.ctime(),
            readable,
            names_only,
            ..DirInfo::default()
        };
        let rd = match std::fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                log::warn!("{}: {e}; recorded without contents", path.display());
                info.readable = false;
                info.names_only = false;
                return Ok((rel, info, subdirs));
            }
            Err(e) => return Err(io(&path, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| io(&path, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                log::warn!("{}: skipping a file name that is not UTF-8", path.display());
                continue;
            };
            if self.excludes.is_excluded_child(&rel, &name, &mut buf) {
                continue;
            }
            // the entry's type comes from readdir (d_type) where the file system gives it
            let ft = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            if ft.is_dir() {
                // a directory entry, not a link: lstat is stat
                let m = entry.metadata().map_err(|e| io(&entry.path(), e))?;
                subdirs.push(Pending {
                    rel: join_rel(&rel, &name),
                    parent_readable: readable,
                    meta: m,
                });
                info.subdirs.insert(name);
            } else if ft.is_file() {
                let (size, timestamp) = if names_only {
                    (0, 0)
                } else {
                    let m = entry.metadata().map_err(|e| io(&entry.path(), e))?;
                    (m.len() as i64, m.mtime())
                };
                info.files.push(FileEntry {
                    name,
                    size,
                    timestamp,
                });
            } else if ft.is_symlink() {
                // a link to a file counts as that file; links to directories are not followed
                if let Ok(m) = std::fs::metadata(entry.path())
                    && m.is_file()
                {
                    let (size, timestamp) = if names_only {
                        (0, 0)
                    } else {
                        (m.len() as i64, m.mtime())
                    };
                    info.files.push(FileEntry {
                        name,
                        size,
                        timestamp,
                    });
                }
            }
        }
        if names_only {
            info.files.sort_by(|a, b| a.name.cmp(&b.name));
        } else {
            thin_files(&mut info.files);
        }
        Ok((rel, info, subdirs))
    }
}

/// One listing entry as [`TreeBuilder`] takes it, borrowed from the listing's text.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    /// Path relative to the category top (`.`, `""` or `./` forms of the top are accepted).
    pub path: &'a str,
    pub kind: EntryKind,
    pub size: u64,
    pub mtime: i64,
    /// Others may read (files) or read and enter (directories) it.
    pub readable: bool,
    /// Symlink target, when the listing has one.
    pub target: Option<&'a str>,
}

/// Files of one directory while a tree is built: (name, size, mtime) in listing order.
type Group<'a> = Vec<(&'a str, u64, i64)>;

/// Builds a [`Tree`] from listing entries fed one at a time, in any order, without
/// copying their paths until the tree is made. Files are grouped by directory as they
/// come (listings give a directory's files together, so this is one comparison a line).
pub struct TreeBuilder<'a, 'x> {
    excludes: &'x Excludes,
    /// Scratch buffer for exclude matching.
    buf: String,
    excluded_dirs: HashSet<&'a str>,
    dirs: HashMap<&'a str, (i64, bool)>,
    /// Files by parent directory.
    groups: Vec<(&'a str, Group<'a>)>,
    group_of: HashMap<&'a str, usize>,
    /// The group the last file went to.
    last: Option<(&'a str, usize)>,
    links: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a, 'x> TreeBuilder<'a, 'x> {
    pub fn new(excludes: &'x Excludes) -> Self {
        TreeBuilder {
            excludes,
            buf: String::new(),
            excluded_dirs: HashSet::new(),
            dirs: HashMap::new(),
            groups: Vec::new(),
            group_of: HashMap::new(),
            last: None,
            links: Vec::new(),
        }
    }

    /// Add one entry; of several entries with the same path the last one counts.
    pub fn push(&mut self, e: Listed<'a>) {
        let p = e.path.trim_start_matches("./").trim_end_matches('/');
        let rel = if p == "." { "" } else { p };
        if self.excludes.is_excluded_buf(rel, &mut self.buf) {
            if e.kind == EntryKind::Dir {
                self.excluded_dirs.insert(rel);
            }
            return;
        }
        match e.kind {
            EntryKind::Dir => {
                self.dirs.insert(rel, (e.mtime, e.readable));
            }
            EntryKind::File => {
                let (parent, name) = parent_of(rel);
                let g = self.group(parent);
                self.groups[g].1.push((name, e.size, e.mtime));
            }
            EntryKind::Link => self.links.push((rel, e.target)),
            EntryKind::Other => {}
        }
    }

    /// Index of the file group of directory `parent`, created when new.
    fn group(&mut self, parent: &'a str) -> usize {
        if let Some((p, g)) = self.last
            && p == parent
        {
            return g;
        }
        let next = self.groups.len();
        let g = *self.group_of.entry(parent).or_insert(next);
        if g == next {
            self.groups.push((parent, Vec::new()));
        }
        self.last = Some((parent, g));
        g
    }

    /// The tree. `local_top`, when the tree is also on this machine, resolves symlinks
    /// that carry no target (fullfiletimelist) and gives the top's own time when it is
    /// not listed.
    pub fn build(mut self, local_top: Option<&Path>) -> Tree {
        // entries below an excluded directory are dropped, whatever order they came in
        if !self.excluded_dirs.is_empty() {
            let ex = &self.excluded_dirs;
            let under = |rel: &str| {
                let mut p = rel;
                while let Some((parent, _)) = p.rsplit_once('/') {
                    if ex.contains(parent) {
                        return true;
                    }
                    p = parent;
                }
                false
            };
            self.dirs.retain(|k, _| !under(k));
            self.groups
                .retain(|(parent, _)| !ex.contains(parent) && !under(parent));
            self.links.retain(|(k, _)| !under(k));
        }
        let TreeBuilder {
            dirs,
            mut groups,
            mut links,
            ..
        } = self;
        // by name, the last of equal names winning
        for (_, files) in groups.iter_mut() {
            files.sort_by(|a, b| a.0.cmp(b.0));
            let mut i = files.len();
            while i > 1 {
                i -= 1;
                if files[i - 1].0 == files[i].0 {
                    files.remove(i - 1);
                }
            }
        }
        let mut group_of: HashMap<&'a str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (*p, i))
            .collect();
        // links to files count as the file; in path order, so that a link to a link
        // resolves when the link it names sorts first
        links.sort_by(|a, b| a.0.cmp(b.0));
        for (rel, target) in links {
            let resolved = match (target, local_top) {
                (Some(t), _) => {
                    let (parent, _) = parent_of(rel);
                    normalize_join(parent, t).and_then(|p| {
                        let (tp, tn) = parent_of(&p);
                        let files = &groups[*group_of.get(tp)?].1;
                        let i = files.binary_search_by(|f| f.0.cmp(tn)).ok()?;
                        Some((files[i].1, files[i].2))
                    })
                }
                (None, Some(top)) => std::fs::metadata(top.join(rel))
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| (m.len(), m.mtime())),
                (None, None) => None,
            };
            if let Some((size, mtime)) = resolved {
                let (parent, name) = parent_of(rel);
                let g = *group_of.entry(parent).or_insert_with(|| {
                    groups.push((parent, Vec::new()));
                    groups.len() - 1
                });
                let files = &mut groups[g].1;
                match files.binary_search_by(|f| f.0.cmp(name)) {
                    Ok(i) => files[i] = (name, size, mtime),
                    Err(i) => files.insert(i, (name, size, mtime)),
                }
            }
        }
        let top_time = local_top
            .and_then(|t| std::fs::metadata(t).ok())
            .map(|m| m.mtime())
            .unwrap_or(0);
        // every listed directory, every parent of one and every parent of a file
        let mut out: HashMap<&'a str, DirInfo> = HashMap::with_capacity(dirs.len() + 1);
        ensure_dir(&mut out, "", &dirs, top_time);
        for &d in dirs.keys() {
            ensure_dir(&mut out, d, &dirs, top_time);
        }
        for (parent, files) in groups {
            ensure_dir(&mut out, parent, &dirs, top_time);
            let info = out.get_mut(parent).expect("ensured");
            info.files = files
                .into_iter()
                .map(|(name, size, mtime)| FileEntry {
                    name: name.to_string(),
                    size: size as i64,
                    timestamp: mtime,
                })
                .collect();
        }
        // readable = own bits and every parent's (sorted: parents come first)
        let mut sorted: Vec<(&'a str, DirInfo)> = out.into_iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut readable: HashMap<&'a str, bool> = HashMap::with_capacity(sorted.len());
        for (k, info) in sorted.iter_mut() {
            if !k.is_empty() {
                info.readable &= readable.get(parent_of(k).0).copied().unwrap_or(true);
            }
            readable.insert(k, info.readable);
            thin_files(&mut info.files);
        }
        Tree {
            dirs: sorted
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

/// Create the directory `rel` in `out`, with any missing parents, each listed in its
/// parent's `subdirs`; times and permissions from the listing, else the defaults.
fn ensure_dir<'a>(
    out: &mut HashMap<&'a str, DirInfo>,
    rel: &'a str,
    dirs: &HashMap<&'a str, (i64, bool)>,
    top_time: i64,
) {
    if out.contains_key(rel) {
        return;
    }
    // the missing directories, deepest first
    let mut chain: Vec<&'a str> = vec![rel];
    let mut p = rel;
    while !p.is_empty() {
        p = parent_of(p).0;
        if out.contains_key(p) {
            break;
        }
        chain.push(p);
    }
    for d in chain.into_iter().rev() {
        let (t, r) = dirs
            .get(d)
            .copied()
            .unwrap_or((if d.is_empty() { top_time } else { 0 }, true));
        out.insert(
            d,
            DirInfo {
                ctime: t,
                readable: r,
                ..DirInfo::default()
            },
        );
        if !d.is_empty() {
            let (parent, name) = parent_of(d);
            if let Some(pi) = out.get_mut(parent) {
                pi.subdirs.insert(name.to_string());
            }
        }
    }
}

/// Build a tree from listing entries whose paths are relative to the category top (`.` or
/// `""` is the top). `local_top`, when the tree is also on this machine, resolves symlinks
/// that carry no target (fullfiletimelist) and the top's own time when it is not listed.
pub fn tree_from_entries(
    entries: Vec<Entry>,
    excludes: &Excludes,
    local_top: Option<&Path>,
) -> Tree {
    let mut b = TreeBuilder::new(excludes);
    for e in &entries {
        b.push(Listed {
            path: &e.path,
            kind: e.kind,
            size: e.size,
            mtime: e.mtime,
            readable: e.others_readable(),
            target: e.target.as_deref(),
        });
    }
    b.build(local_top)
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
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with("fullfiletimelist-"))
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
    let top_name = prefix.trim_end_matches('/');
    let mut builder = TreeBuilder::new(excludes);
    let mut n = 0usize;
    mm_listing::fullfiletimelist::for_each(&text, |l| {
        let path = if prefix.is_empty() {
            l.path
        } else if l.path == top_name {
            "."
        } else {
            match l.path.strip_prefix(prefix) {
                Some(p) => p,
                None => return,
            }
        };
        n += 1;
        builder.push(Listed {
            path,
            kind: l.kind,
            size: l.size,
            mtime: l.mtime,
            readable: true,
            target: None,
        });
    })
    .map_err(|e| UmdlError::Listing(format!("{}: {e}", file.display())))?;
    log::debug!(
        "{}: {n} entries parsed in {:.2}s",
        file.display(),
        t0.elapsed().as_secs_f64()
    );
    if n == 0 {
        return Err(UmdlError::Listing(format!(
            "{}: no entries under {}",
            file.display(),
            if prefix.is_empty() { "the top" } else { prefix }
        )));
    }
    let t0 = std::time::Instant::now();
    let mut tree = builder.build(Some(top));
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
pub fn rsync_listing(
    url: &str,
    options: Option<&str>,
    excludes: &Excludes,
) -> Result<RsyncScan, UmdlError> {
    let url = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    let mut cmd = Command::new("rsync");
    cmd.args([
        "--list-only",
        "-r",
        "--exclude=.snapshot",
        "--exclude=*.~tmp~",
    ]);
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
        log::warn!(
            "rsync {url}: partial listing (exit code {code}); directories will not be deleted"
        );
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
    let url = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    // rsync (3.2+) refuses --files-from below a daemon module's root ("file has vanished"):
    // fetch from the module root with the sub-path prefixed to every entry
    let (url, sub) = split_module(&url);
    let tmp_err = |e: std::io::Error| UmdlError::Scan(format!("temporary file: {e}"));
    let dir = tempfile::Builder::new()
        .prefix("umdl-fetch-")
        .tempdir()
        .map_err(tmp_err)?;
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
    log::debug!(
        "rsync fetch exit code {code}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    if !out.status.success() && !matches!(code, 23 | 24) {
        return Err(UmdlError::Rsync(format!(
            "rsync {url} (fetching {} files) failed with exit code {code}: {}",
            paths.len(),
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
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
pub fn saved_listing(
    file: &Path,
    top_basename: &str,
    excludes: &Excludes,
) -> Result<Tree, UmdlError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UmdlError::Scan(format!("{}: {e}", file.display())))?;
    let mut entries = mm_listing::rsync::parse_listing(&text)
        .map_err(|e| UmdlError::Listing(format!("{}: {e}", file.display())))?;
    if entries.is_empty() {
        return Err(UmdlError::Listing(format!(
            "{}: empty listing",
            file.display()
        )));
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
        assert_eq!(
            t.dirs[""].subdirs.iter().collect::<Vec<_>>(),
            ["a", "private"]
        );
    }

    #[test]
    fn walk_skips_stats_of_unchanged_directories_only() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path();
        std::fs::create_dir_all(top.join("a/b")).unwrap();
        std::fs::create_dir_all(top.join("c")).unwrap();
        for i in 0..12 {
            std::fs::write(top.join(format!("a/p{i:02}.rpm")), b"xy").unwrap();
        }
        std::fs::write(top.join("c/f.iso"), b"abc").unwrap();
        std::os::unix::fs::symlink("f.iso", top.join("c/g.iso")).unwrap();
        let ex = Excludes::new("top", &[]).unwrap();
        let cold = walk_local(top, &ex, &HashMap::new()).unwrap();
        assert!(cold.dirs.values().all(|d| !d.names_only));
        assert_eq!(cold.dirs["a"].files.len(), 3, "thinned");
        assert_eq!(cold.dirs["c"].files[1].size, 3);
        // everything known with its ctime: names only, nothing thinned, same subdirectories
        let known: HashMap<String, i64> = cold
            .dirs
            .iter()
            .map(|(k, d)| (k.clone(), d.ctime))
            .collect();
        let warm = walk_local(top, &ex, &known).unwrap();
        assert_eq!(
            warm.dirs.keys().collect::<Vec<_>>(),
            cold.dirs.keys().collect::<Vec<_>>()
        );
        for (k, d) in &warm.dirs {
            assert!(d.names_only, "{k}");
            assert_eq!(d.subdirs, cold.dirs[k].subdirs);
            assert_eq!(
                (d.ctime, d.readable),
                (cold.dirs[k].ctime, cold.dirs[k].readable)
            );
            assert!(d.files.iter().all(|f| f.size == 0 && f.timestamp == 0));
        }
        assert_eq!(warm.dirs["a"].files.len(), 12);
        assert!(warm.has_file("c", "f.iso") && warm.has_file("c", "g.iso"));
        // a stored ctime that differs (the directory changed): stat'ed as before
        let mut stale = known.clone();
        *stale.get_mut("c").unwrap() -= 1;
        stale.remove("a/b");
        let t = walk_local(top, &ex, &stale).unwrap();
        assert!(!t.dirs["c"].names_only && !t.dirs["a/b"].names_only && t.dirs["a"].names_only);
        assert_eq!(t.dirs["c"].files, cold.dirs["c"].files);
    }

    #[test]
    fn builder_takes_entries_in_any_order() {
        let lines = [
            ("x/y/f.iso", EntryKind::File, 5, 7),
            ("x/.snapshot/deep/f", EntryKind::File, 1, 1),
            ("x", EntryKind::Dir, 0, 3),
            ("x/.snapshot", EntryKind::Dir, 0, 1),
            ("x/.snapshot/deep", EntryKind::Dir, 0, 1),
            ("x/y/f.iso", EntryKind::File, 6, 8),
            (".", EntryKind::Dir, 0, 2),
        ];
        let ex = Excludes::new("top", &[]).unwrap();
        let mut b = TreeBuilder::new(&ex);
        for (path, kind, size, mtime) in lines {
            b.push(Listed {
                path,
                kind,
                size,
                mtime,
                readable: true,
                target: None,
            });
        }
        let t = b.build(None);
        assert_eq!(t.dirs.keys().collect::<Vec<_>>(), ["", "x", "x/y"]);
        assert_eq!(
            (t.dirs[""].ctime, t.dirs["x"].ctime, t.dirs["x/y"].ctime),
            (2, 3, 0)
        );
        assert_eq!(t.dirs["x"].subdirs.iter().collect::<Vec<_>>(), ["y"]);
        assert_eq!(
            t.dirs["x/y"].files,
            [FileEntry {
                name: "f.iso".into(),
                size: 6,
                timestamp: 8
            }]
        );
    }

    #[test]
    fn module_split() {
        assert_eq!(
            split_module("rsync://h:873/pub/fedora/linux/"),
            (
                "rsync://h:873/pub/".to_string(),
                "fedora/linux/".to_string()
            )
        );
        assert_eq!(
            split_module("rsync://h/pub/"),
            ("rsync://h/pub/".to_string(), String::new())
        );
        assert_eq!(
            split_module("/local/dir/"),
            ("/local/dir/".to_string(), String::new())
        );
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(normalize_join("", "../c"), None);
        assert_eq!(normalize_join("a", "/etc/passwd"), None);
    }
}
