//! Comparing an rsync listing with a category while it streams.
//!
//! [`Expected`] maps the path of every recorded file of a category (relative to the category
//! top) to a slot; it is built once per category and shared by every crawl thread. A host's
//! listing is read line by line from a reused buffer, each line parsed in place
//! (`mm_listing::rsync::parse_line_in_place`, no allocation) and looked up in that map;
//! all a host keeps is one byte per recorded file ([`Seen`]), plus the listed size of the rare file whose size differs.
//! So a crawl thread's memory is a few bytes per recorded file of the category, never the
//! listing itself.
//!
//! A directory with recorded files is judged by its files. One without (a directory of
//! subdirectories such as `releases/42`) is judged by whether the listing shows it: those
//! directories are indexed too, and a directory or symlink line is looked up among them.

use std::collections::HashMap;

use mm_listing::EntryKind;
use mm_listing::rsync::parse_line_in_place;

use crate::check::{DirData, Verdict};

/// The recorded files of a category, by path relative to the category top.
#[derive(Debug, Default)]
pub struct Expected {
    /// `dir/name` (or `name` in the top directory) → slot. Most lines of a listing are
    /// files the category does not record, so lookups are mostly misses: a fast hash
    /// (foldhash, randomly seeded) instead of SipHash, on the bytes as listed.
    slots: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    /// The recorded size of each slot's file (the first one recorded under that path).
    slot_size: Vec<i64>,
    /// The slot of every recorded file, directory after directory, in `DirData::files` order.
    file_slot: Vec<u32>,
    /// Where each directory's files start in `file_slot` (one more entry than directories).
    dir_start: Vec<u32>,
    /// The directories without recorded files (the top excepted), by path → slot.
    bare_dirs: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    /// Each directory's slot in `bare_dirs`, or [`NO_SLOT`].
    bare_slot: Vec<u32>,
}

/// A directory with recorded files (or the top) has no slot among the bare directories.
const NO_SLOT: u32 = u32::MAX;

impl Expected {
    /// Index the recorded files of `dirs`.
    pub fn new(dirs: &[DirData]) -> Expected {
        let mut e = Expected {
            dir_start: Vec::with_capacity(dirs.len() + 1),
            ..Expected::default()
        };
        for d in dirs {
            e.dir_start.push(e.file_slot.len() as u32);
            let bare = if d.files.is_empty() && !d.rel.is_empty() {
                let next = e.bare_dirs.len() as u32;
                *e.bare_dirs.entry(d.rel.as_bytes().into()).or_insert(next)
            } else {
                NO_SLOT
            };
            e.bare_slot.push(bare);
            for f in &d.files {
                let path: Box<[u8]> = if d.rel.is_empty() {
                    f.name.as_bytes().into()
                } else {
                    format!("{}/{}", d.rel, f.name).into_bytes().into()
                };
                let next = e.slot_size.len() as u32;
                let slot = *e.slots.entry(path).or_insert(next);
                if slot == next {
                    e.slot_size.push(f.size);
                }
                e.file_slot.push(slot);
            }
        }
        e.dir_start.push(e.file_slot.len() as u32);
        e
    }

    /// How many distinct recorded paths there are.
    pub fn len(&self) -> usize {
        self.slot_size.len()
    }

    /// Whether the category has no recorded file.
    pub fn is_empty(&self) -> bool {
        self.slot_size.is_empty()
    }

    /// Bytes this index holds, roughly (for the log).
    pub fn approx_bytes(&self) -> usize {
        let keys: usize = self
            .slots
            .keys()
            .chain(self.bare_dirs.keys())
            .map(|k| k.len())
            .sum();
        keys + (self.slots.capacity() + self.bare_dirs.capacity())
            * (std::mem::size_of::<(Box<[u8]>, u32)>() + 1)
            + self.slot_size.capacity() * 8
            + (self.file_slot.capacity() + self.dir_start.capacity() + self.bare_slot.capacity())
                * 4
    }
}

/// What one host's listing showed of a category's recorded files, one byte per slot.
#[derive(Debug)]
pub struct Seen {
    /// Per slot: [`ABSENT`], [`LINK`], [`SIZE_SAME`] (the listed size is the slot's recorded
    /// size) or [`SIZE_OTHER`] (the listed size is in `other_size`).
    state: Vec<u8>,
    other_size: HashMap<u32, u64>,
    /// Per directory without recorded files: whether the listing showed it.
    bare_seen: Vec<bool>,
    /// Entries the listing had (lines that parsed into an entry).
    pub entries: usize,
    /// Lines that did not parse.
    pub bad: usize,
}

const ABSENT: u8 = 0;
const LINK: u8 = 1;
const SIZE_SAME: u8 = 2;
const SIZE_OTHER: u8 = 3;

impl Seen {
    /// Nothing seen yet.
    pub fn new(expected: &Expected) -> Seen {
        Seen {
            state: vec![ABSENT; expected.len()],
            other_size: HashMap::new(),
            bare_seen: vec![false; expected.bare_dirs.len()],
            entries: 0,
            bad: 0,
        }
    }

    /// Take one listing line (with or without its line end). The last line naming a path wins.
    pub fn line(&mut self, expected: &Expected, line: &[u8]) {
        let entry = match parse_line_in_place(line) {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(_) => {
                self.bad += 1;
                return;
            }
        };
        self.entries += 1;
        // A directory (or a symlink to one) may be one without recorded files; that table
        // is small next to the files'.
        if matches!(entry.kind, EntryKind::Dir | EntryKind::Link)
            && !self.bare_seen.is_empty()
            && let Some(&slot) = expected.bare_dirs.get(entry.path)
        {
            self.bare_seen[slot as usize] = true;
        }
        // Recorded files are files and symlinks; a directory line (one in ten) is not looked
        // up among them (each lookup is a cache miss or two in a table shared by every
        // thread).
        if matches!(entry.kind, EntryKind::Dir | EntryKind::Other) {
            return;
        }
        // (a path that is not UTF-8 matches no recorded one)
        let Some(&slot) = expected.slots.get(entry.path) else {
            return;
        };
        let i = slot as usize;
        self.state[i] = if entry.kind == EntryKind::Link {
            LINK
        } else if entry.size as i64 == expected.slot_size[i] {
            SIZE_SAME
        } else {
            self.other_size.insert(slot, entry.size);
            SIZE_OTHER
        };
        if self.state[i] != SIZE_OTHER {
            self.other_size.remove(&slot);
        }
    }

    /// The verdict on directory `index` (of the dirs `expected` was built from): up to date
    /// when every recorded file was listed with its recorded size (symlinks count as
    /// present); else stale, with a note naming the first file that is not. A directory
    /// without recorded files is up to date when the listing showed it (as a directory or a
    /// symlink), else stale.
    pub fn judge(
        &self,
        expected: &Expected,
        index: usize,
        d: &DirData,
        notes: &mut Vec<String>,
    ) -> Verdict {
        let bare = expected.bare_slot[index];
        if bare != NO_SLOT && !self.bare_seen[bare as usize] {
            notes.push(format!("{}: stale, the directory is missing", d.rel));
            return Verdict::Stale;
        }
        let start = expected.dir_start[index] as usize;
        for (f, &slot) in d.files.iter().zip(&expected.file_slot[start..]) {
            let i = slot as usize;
            let listed = match self.state[i] {
                ABSENT => {
                    notes.push(format!("{}: stale, {} is missing", d.rel, f.name));
                    return Verdict::Stale;
                }
                LINK => continue,
                SIZE_SAME => expected.slot_size[i] as u64,
                _ => self.other_size[&slot],
            };
            if listed as i64 != f.size {
                notes.push(format!(
                    "{}: stale, {} has size {listed}, expected {}",
                    d.rel, f.name, f.size
                ));
                return Verdict::Stale;
            }
        }
        Verdict::UpToDate
    }

    /// Bytes this state holds, roughly.
    pub fn approx_bytes(&self) -> usize {
        self.state.capacity() + self.bare_seen.capacity() + self.other_size.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_core::files::FileEntry;

    fn dir(rel: &str, files: &[(&str, i64)]) -> DirData {
        DirData {
            id: 0,
            rel: rel.into(),
            files: files
                .iter()
                .map(|(n, s)| FileEntry {
                    name: (*n).into(),
                    size: *s,
                    timestamp: 0,
                })
                .collect(),
            readable: true,
            repomd_sha256: None,
        }
    }

    fn judge_all(dirs: &[DirData], listing: &str) -> (Vec<Verdict>, Vec<String>, Seen) {
        let e = Expected::new(dirs);
        let mut seen = Seen::new(&e);
        for l in listing.lines() {
            seen.line(&e, l.as_bytes());
        }
        let mut notes = Vec::new();
        let v = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| seen.judge(&e, i, d, &mut notes))
            .collect();
        (v, notes, seen)
    }

    #[test]
    fn a_recorded_file_listed_as_a_directory_is_missing() {
        let dirs = [dir("d", &[("x", 4096), ("y", 1)])];
        let listing = "drwxr-xr-x 4096 2024/04/10 12:00:00 d\n\
            drwxr-xr-x 4096 2024/04/10 12:00:00 d/x\n\
            -rw-r--r-- 1 2024/04/10 12:00:00 d/y\n";
        let (v, notes, seen) = judge_all(&dirs, listing);
        assert_eq!(v, [Verdict::Stale]);
        assert_eq!(notes, ["d: stale, x is missing"]);
        assert_eq!(seen.entries, 3, "directory lines still count as entries");
    }

    #[test]
    fn verdicts_from_a_streamed_listing() {
        let dirs = [
            dir("", &[("top.txt", 5)]),
            dir("ok", &[("a", 1), ("b", 2)]),
            dir("link", &[("l", 99)]),
            dir("short", &[("a", 1), ("b", 2)]),
            dir("gone", &[("a", 1)]),
            dir("empty", &[]),
            dir("fixed", &[("a", 1)]),
            dir("gone-empty", &[]),
            dir("linked-empty", &[]),
        ];
        let listing = "receiving incremental file list\n\
            drwxr-xr-x 0 2024/04/10 12:00:00 .\n\
            drwxr-xr-x 0 2024/04/10 12:00:00 empty\n\
            lrwxrwxrwx 3 2024/04/10 12:00:00 linked-empty -> empty\n\
            -rw-r--r-- 5 2024/04/10 12:00:00 top.txt\n\
            -rw-r--r-- 1 2024/04/10 12:00:00 ok/a\n\
            -rw-r--r-- 2 2024/04/10 12:00:00 ok/b\n\
            -rw-r--r-- 777 2024/04/10 12:00:00 ok/unrecorded\n\
            lrwxrwxrwx 3 2024/04/10 12:00:00 link/l -> elsewhere\n\
            -rw-r--r-- 1 2024/04/10 12:00:00 short/a\n\
            -rw-r--r-- 3 2024/04/10 12:00:00 short/b\n\
            -rw-r--r-- 9 2024/04/10 12:00:00 fixed/a\n\
            -rw-r--r-- 1 2024/04/10 12:00:00 fixed/a\n\
            not a listing line\n";
        let (v, notes, seen) = judge_all(&dirs, listing);
        use Verdict::{Stale, UpToDate};
        assert_eq!(
            v,
            [
                UpToDate, UpToDate, UpToDate, Stale, Stale, UpToDate, UpToDate, Stale, UpToDate
            ]
        );
        assert_eq!(
            notes,
            [
                "short: stale, b has size 3, expected 2",
                "gone: stale, a is missing",
                "gone-empty: stale, the directory is missing"
            ]
        );
        assert_eq!((seen.entries, seen.bad), (12, 1));
        // fixed/a's wrong size was overwritten by the later line; short/b's is kept
        assert_eq!(seen.other_size.len(), 1);
    }

    #[test]
    fn a_path_recorded_twice_is_judged_per_record() {
        // the same name twice in one directory's record, with different sizes
        let dirs = [dir("d", &[("a", 1), ("a", 2)])];
        let (v, notes, _) = judge_all(&dirs, "-rw-r--r-- 1 2024/04/10 12:00:00 d/a");
        assert_eq!(v, [Verdict::Stale]);
        assert_eq!(notes, ["d: stale, a has size 1, expected 2"]);
        let (v, _, _) = judge_all(&dirs, "-rw-r--r-- 2 2024/04/10 12:00:00 d/a");
        assert_eq!(v, [Verdict::Stale]);
    }

    #[test]
    fn a_non_utf8_path_is_an_entry_that_matches_nothing() {
        let dirs = [dir("d", &[("a", 1)])];
        let e = Expected::new(&dirs);
        let mut seen = Seen::new(&e);
        seen.line(&e, b"-rw-r--r-- 1 2024/04/10 12:00:00 d/\xff\n");
        seen.line(&e, b"-rw-r--r-- 1 2024/04/10 12:00:00 d/a\n");
        assert_eq!((seen.entries, seen.bad), (2, 0));
        assert_eq!(
            seen.judge(&e, 0, &dirs[0], &mut Vec::new()),
            Verdict::UpToDate
        );
    }
}
