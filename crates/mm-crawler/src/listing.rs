//! Comparing an rsync listing with a category while it streams.
//!
//! [`Expected`] maps the path of every recorded file of a category (relative to the category
//! top) to a slot; it is built once per category and shared by every crawl thread. A host's
//! listing is read line by line from a reused buffer, each line parsed in place
//! ([`parse_line`], no allocation) and looked up in that map; all a host keeps is one byte
//! per recorded file ([`Seen`]), plus the listed size of the rare file whose size differs.
//! So a crawl thread's memory is a few bytes per recorded file of the category, never the
//! listing itself.

use std::collections::HashMap;

use mm_listing::EntryKind;

use crate::check::{DirData, Verdict};

/// The recorded files of a category, by path relative to the category top.
#[derive(Debug, Default)]
pub struct Expected {
    /// `dir/name` (or `name` in the top directory) → slot.
    slots: HashMap<Box<str>, u32>,
    /// The recorded size of each slot's file (the first one recorded under that path).
    slot_size: Vec<i64>,
    /// The slot of every recorded file, directory after directory, in `DirData::files` order.
    file_slot: Vec<u32>,
    /// Where each directory's files start in `file_slot` (one more entry than directories).
    dir_start: Vec<u32>,
}

impl Expected {
    /// Index the recorded files of `dirs`.
    pub fn new(dirs: &[DirData]) -> Expected {
        let mut e = Expected {
            dir_start: Vec::with_capacity(dirs.len() + 1),
            ..Expected::default()
        };
        for d in dirs {
            e.dir_start.push(e.file_slot.len() as u32);
            for f in &d.files {
                let path: Box<str> = if d.rel.is_empty() {
                    f.name.as_str().into()
                } else {
                    format!("{}/{}", d.rel, f.name).into()
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
        let keys: usize = self.slots.keys().map(|k| k.len()).sum();
        keys + self.slots.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
            + self.slot_size.capacity() * 8
            + (self.file_slot.capacity() + self.dir_start.capacity()) * 4
    }
}

/// What one host's listing showed of a category's recorded files, one byte per slot.
#[derive(Debug)]
pub struct Seen {
    /// Per slot: [`ABSENT`], [`LINK`], [`SIZE_SAME`] (the listed size is the slot's recorded
    /// size) or [`SIZE_OTHER`] (the listed size is in `other_size`).
    state: Vec<u8>,
    other_size: HashMap<u32, u64>,
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
            entries: 0,
            bad: 0,
        }
    }

    /// Take one listing line (with or without its line end). The last line naming a path wins.
    pub fn line(&mut self, expected: &Expected, line: &[u8]) {
        let entry = match parse_line(line) {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(()) => {
                self.bad += 1;
                return;
            }
        };
        self.entries += 1;
        // a path that is not UTF-8 cannot be a recorded one
        let Ok(path) = std::str::from_utf8(entry.path) else {
            return;
        };
        let Some(&slot) = expected.slots.get(path) else {
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
    /// present); else stale, with a note naming the first file that is not.
    pub fn judge(
        &self,
        expected: &Expected,
        index: usize,
        d: &DirData,
        notes: &mut Vec<String>,
    ) -> Verdict {
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
        self.state.capacity() + self.other_size.capacity() * 16
    }
}

/// One rsync listing line, borrowed from the line buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    pub kind: EntryKind,
    pub size: u64,
    /// Relative to the listing's top, trailing `/` removed; empty for the top itself (`.`).
    pub path: &'a [u8],
}

/// Parse one `rsync --list-only` line (`perms size YYYY/MM/DD HH:MM:SS path`) in place.
/// Takes the lines `mm_listing::rsync::parse_line` takes (dates are checked by shape and
/// range only): `Ok(None)` for blank and informational lines, `Err` for lines that are not
/// listing lines.
pub(crate) fn parse_line(line: &[u8]) -> Result<Option<Line<'_>>, ()> {
    let mut line = line;
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let kind = match line[0] {
        b'-' => EntryKind::File,
        b'd' => EntryKind::Dir,
        b'l' => EntryKind::Link,
        b'c' | b'b' | b'p' | b's' => EntryKind::Other,
        _ if is_informational(line) => return Ok(None),
        _ => return Err(()),
    };
    let mut rest = line;
    let mut field = || -> Result<&[u8], ()> {
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        let trimmed = &rest[start..];
        let end = trimmed.iter().position(|&b| b == b' ').ok_or(())?;
        rest = &trimmed[end..];
        Ok(&trimmed[..end])
    };
    let perms = field()?;
    let size = field()?;
    let date = field()?;
    let time = field()?;
    // exactly one space separates the time from the path (paths may start with spaces)
    let path = match rest {
        [b' ', p @ ..] if !p.is_empty() => p,
        _ => return Err(()),
    };
    if !perms_ok(perms) || !date_ok(date) || !time_ok(time) {
        return Err(());
    }
    let size = parse_size(size).ok_or(())?;
    let path = if kind == EntryKind::Link {
        path.windows(4)
            .position(|w| w == b" -> ")
            .map_or(path, |i| &path[..i])
    } else {
        path
    };
    let mut path = path;
    while let [p @ .., b'/'] = path {
        path = p;
    }
    let path = if path == b"." { &path[..0] } else { path };
    Ok(Some(Line { kind, size, path }))
}

/// Lines rsync prints that are not entries.
fn is_informational(line: &[u8]) -> bool {
    const INFO: [&[u8]; 6] = [
        b"receiving ",
        b"sent ",
        b"total size",
        b"skipping non-regular file",
        b"building file list",
        b"done",
    ];
    INFO.iter().any(|p| line.starts_with(p))
}

/// `drwxr-xr-x`: r/w/x or `-` in place (s/t/S/T in the execute places).
fn perms_ok(p: &[u8]) -> bool {
    p.len() >= 10
        && p[1..10].iter().enumerate().all(|(i, &c)| {
            c == b'-'
                || c == [b'r', b'w', b'x'][i % 3]
                || (i % 3 == 2 && matches!(c, b's' | b't' | b'S' | b'T'))
        })
}

/// `4,096`, `4.096`, `4'096` or `4096`.
fn parse_size(s: &[u8]) -> Option<u64> {
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        match c {
            b'0'..=b'9' => n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?,
            b',' | b'.' | b'\'' => {}
            _ => return None,
        }
    }
    Some(n)
}

/// Three numbers separated by `sep`, each within its bounds.
fn triple(s: &[u8], sep: u8, bounds: [(u32, u32); 3]) -> bool {
    let mut parts = s.split(|&b| b == sep);
    bounds.iter().all(|&(lo, hi)| {
        parts.next().is_some_and(|p| {
            !p.is_empty()
                && p.len() <= 4
                && p.iter().all(u8::is_ascii_digit)
                && (lo..=hi).contains(&p.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0')))
        })
    }) && parts.next().is_none()
}

/// `YYYY/MM/DD`.
fn date_ok(s: &[u8]) -> bool {
    triple(s, b'/', [(0, 9999), (1, 12), (1, 31)])
}

/// `HH:MM:SS`.
fn time_ok(s: &[u8]) -> bool {
    triple(s, b':', [(0, 23), (0, 59), (0, 60)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_core::files::FileEntry;

    fn line(s: &str) -> Option<Line<'_>> {
        parse_line(s.as_bytes()).unwrap()
    }

    #[test]
    fn parses_entries_in_place() {
        let l = line("drwxr-xr-x          4,096 2024/04/10 12:00:00 .\n").unwrap();
        assert_eq!((l.kind, l.size, l.path), (EntryKind::Dir, 4096, &b""[..]));
        let l = line("-rw-r--r--  1,234,567,890 2024/04/10 12:00:02 releases/a b.iso\r\n").unwrap();
        assert_eq!(
            (l.kind, l.size, l.path),
            (EntryKind::File, 1_234_567_890, &b"releases/a b.iso"[..])
        );
        let l =
            line("lrwxrwxrwx             11 2024/04/10 12:00:04 latest -> releases/41").unwrap();
        assert_eq!((l.kind, l.path), (EntryKind::Link, &b"latest"[..]));
        let l = line("drwxr-xr-x              0 2024/04/10 12:00:01 sub/").unwrap();
        assert_eq!(l.path, b"sub");
        let l = line("-rw-r--r--              1 2024/04/10 12:00:01  leading space").unwrap();
        assert_eq!(l.path, b" leading space");
        let l = line("-rwsr-sr-t           4.096 2024/04/10 12:00:01 x -> y").unwrap();
        assert_eq!(
            (l.kind, l.size, l.path),
            (EntryKind::File, 4096, &b"x -> y"[..])
        );
        assert_eq!(line(""), None);
        assert_eq!(line("   \n"), None);
        assert_eq!(line("receiving incremental file list"), None);
    }

    #[test]
    fn rejects_what_mm_listing_rejects() {
        for bad in [
            "garbage here",
            "done",
            "sent 20 bytes  received 95 bytes",
            "-rw-r--r-- 12 2024/04/10 12:00:00",
            "-rw-r--r-- 12 2024/04/10 12:00:00 ",
            "-rw-r--r-- x12 2024/04/10 12:00:00 f",
            "-rw-r--r-- 12 2024/13/10 12:00:00 f",
            "-rw-r--r-- 12 2024/04/10 25:00:00 f",
            "-rw-r--r-- 12 2024-04-10 12:00:00 f",
            "-rw-r--r-- 12 2024/04/10 12:00 f",
            "-rw-r--zz- 12 2024/04/10 12:00:00 f",
            "-rw-r 12 2024/04/10 12:00:00 f",
        ] {
            assert_eq!(parse_line(bad.as_bytes()), Err(()), "{bad:?}");
            assert!(
                mm_listing::rsync::parse_line(bad).is_err(),
                "mm_listing accepts {bad:?}"
            );
        }
    }

    #[test]
    fn agrees_with_mm_listing() {
        let lines = [
            "drwxr-xr-x          4,096 2024/04/10 12:00:00 .",
            "drwxr-x---              0 2024/04/10 12:00:01 releases",
            "-rw-r--r--  1,234,567,890 2024/04/10 12:00:02 releases/a b.iso",
            "lrwxrwxrwx             11 2024/04/10 12:00:04 latest -> releases/41",
            "crw-rw-rw-              0 2024/04/10 12:00:04 dev/null",
            "-rw-r--r--         12'345 2024/04/10 12:00:04 dir/",
        ];
        for l in lines {
            let ours = parse_line(l.as_bytes()).unwrap().unwrap();
            let theirs = mm_listing::rsync::parse_line(l).unwrap().unwrap();
            let path = if theirs.path == "." {
                ""
            } else {
                theirs.path.as_str()
            };
            assert_eq!(
                (ours.kind, ours.size, ours.path),
                (theirs.kind, theirs.size, path.as_bytes()),
                "{l:?}"
            );
        }
    }

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
    fn verdicts_from_a_streamed_listing() {
        let dirs = [
            dir("", &[("top.txt", 5)]),
            dir("ok", &[("a", 1), ("b", 2)]),
            dir("link", &[("l", 99)]),
            dir("short", &[("a", 1), ("b", 2)]),
            dir("gone", &[("a", 1)]),
            dir("empty", &[]),
            dir("fixed", &[("a", 1)]),
        ];
        let listing = "receiving incremental file list\n\
            drwxr-xr-x 0 2024/04/10 12:00:00 .\n\
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
                UpToDate, UpToDate, UpToDate, Stale, Stale, UpToDate, UpToDate
            ]
        );
        assert_eq!(
            notes,
            [
                "short: stale, b has size 3, expected 2",
                "gone: stale, a is missing"
            ]
        );
        assert_eq!((seen.entries, seen.bad), (10, 1));
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
