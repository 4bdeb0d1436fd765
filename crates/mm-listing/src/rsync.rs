//! `rsync --list-only` output: `perms size YYYY/MM/DD HH:MM:SS path`.
//!
//! Sizes come with or without thousands separators (`4,096`, `4.096`, `4096`), depending on
//! `--no-human-readable` and the locale; both are accepted. Symlinks read
//! `path -> target`. Times are taken as UTC: run rsync with `TZ=UTC` so they are.

use chrono::NaiveDateTime;

use crate::{Entry, EntryKind, ParseError};

/// Parse one listing line. `Ok(None)` for lines that carry no entry (blank lines and the
/// informational lines rsync prints around a listing, e.g. `receiving incremental file list`).
pub fn parse_line(line: &str) -> Result<Option<Entry>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let Some(first) = line.chars().next() else {
        return Ok(None);
    };
    let kind = match first {
        '-' => EntryKind::File,
        'd' => EntryKind::Dir,
        'l' => EntryKind::Link,
        'c' | 'b' | 'p' | 's' => EntryKind::Other,
        _ if is_informational(line.as_bytes()) => return Ok(None),
        _ => return Err(format!("not an rsync listing line: {line:?}")),
    };
    let mut rest = line;
    let mut field = || -> Result<&str, String> {
        let trimmed = rest.trim_start_matches(' ');
        let end = trimmed
            .find(' ')
            .ok_or_else(|| format!("too few fields: {line:?}"))?;
        let (f, r) = trimmed.split_at(end);
        rest = r;
        Ok(f)
    };
    let perms = field()?;
    let size = field()?;
    let date = field()?;
    let time = field()?;
    // exactly one space separates the time from the path (paths may start with spaces)
    let path_part = rest
        .strip_prefix(' ')
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("missing path: {line:?}"))?;
    let mode = parse_perms(perms.as_bytes()).ok_or_else(|| format!("bad permissions {perms:?}"))?;
    let size = parse_size(size.as_bytes()).ok_or_else(|| format!("bad size {size:?}"))?;
    let mtime = NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y/%m/%d %H:%M:%S")
        .map_err(|_| format!("bad date {date:?} {time:?}"))?
        .and_utc()
        .timestamp();
    let (path, target) = match (kind, path_part.split_once(" -> ")) {
        (EntryKind::Link, Some((p, t))) => (p, Some(t.to_string())),
        _ => (path_part, None),
    };
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "." } else { path };
    Ok(Some(Entry {
        path: path.to_string(),
        kind,
        size,
        mtime,
        mode: Some(mode),
        target,
    }))
}

/// Parse a whole listing; the first bad line fails it (with its line number).
pub fn parse_listing(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(e)) => out.push(e),
            Ok(None) => {}
            Err(m) => return Err(ParseError::new(i + 1, m)),
        }
    }
    Ok(out)
}

/// `drwxr-xr-x` → `0o755` (setuid/setgid/sticky letters count as the execute bit beneath).
fn parse_perms(b: &[u8]) -> Option<u32> {
    if b.len() < 10 {
        return None;
    }
    let mut mode = 0u32;
    for (i, &c) in b[1..10].iter().enumerate() {
        let bit = 1 << (8 - i);
        let expected = [b'r', b'w', b'x'][i % 3];
        match c {
            b'-' => {}
            c if c == expected => mode |= bit,
            b's' | b't' if i % 3 == 2 => mode |= bit,
            b'S' | b'T' if i % 3 == 2 => {}
            _ => return None,
        }
    }
    Some(mode)
}

/// A line [`parse_line_in_place`] refuses: not a listing line (the owned [`parse_line`]
/// says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAListingLine;

/// One rsync listing line, borrowed from the line buffer (for callers that stream a
/// listing and cannot afford an allocation per line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub kind: EntryKind,
    pub size: u64,
    /// Relative to the listing's top, trailing `/` removed; empty for the top itself (`.`).
    pub path: &'a [u8],
}

/// Parse one `rsync --list-only` line (`perms size YYYY/MM/DD HH:MM:SS path`) in place.
/// Takes the lines [`parse_line`] takes (dates are checked by shape and
/// range only): `Ok(None)` for blank and informational lines, `Err` for lines that are not
/// listing lines.
pub fn parse_line_in_place(line: &[u8]) -> Result<Option<Line<'_>>, NotAListingLine> {
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
        _ => return Err(NotAListingLine),
    };
    let mut rest = line;
    let mut field = || -> Result<&[u8], NotAListingLine> {
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        let trimmed = &rest[start..];
        let end = trimmed
            .iter()
            .position(|&b| b == b' ')
            .ok_or(NotAListingLine)?;
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
        _ => return Err(NotAListingLine),
    };
    if !perms_ok(perms) || !date_ok(date) || !time_ok(time) {
        return Err(NotAListingLine);
    }
    let size = parse_size(size).ok_or(NotAListingLine)?;
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
    parse_perms(p).is_some()
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

    fn line(s: &str) -> Option<Line<'_>> {
        parse_line_in_place(s.as_bytes()).unwrap()
    }

    #[test]
    fn parses_entries_in_place_without_copying() {
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
    fn in_place_rejects_what_parse_line_rejects() {
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
            assert_eq!(
                parse_line_in_place(bad.as_bytes()),
                Err(NotAListingLine),
                "{bad:?}"
            );
            assert!(parse_line(bad).is_err(), "parse_line accepts {bad:?}");
        }
    }

    #[test]
    fn in_place_agrees_with_parse_line() {
        let lines = [
            "drwxr-xr-x          4,096 2024/04/10 12:00:00 .",
            "drwxr-x---              0 2024/04/10 12:00:01 releases",
            "-rw-r--r--  1,234,567,890 2024/04/10 12:00:02 releases/a b.iso",
            "lrwxrwxrwx             11 2024/04/10 12:00:04 latest -> releases/41",
            "crw-rw-rw-              0 2024/04/10 12:00:04 dev/null",
            "-rw-r--r--         12'345 2024/04/10 12:00:04 dir/",
        ];
        for l in lines {
            let ours = parse_line_in_place(l.as_bytes()).unwrap().unwrap();
            let theirs = parse_line(l).unwrap().unwrap();
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

    #[test]
    fn parses_files_dirs_and_links() {
        let text = "receiving incremental file list\n\
            drwxr-xr-x          4,096 2024/04/10 12:00:00 .\n\
            drwxr-x---              0 2024/04/10 12:00:01 releases\n\
            -rw-r--r--  1,234,567,890 2024/04/10 12:00:02 releases/a b.iso\n\
            -rw-r--r--           3128 2024/04/10 12:00:03 releases/repomd.xml\n\
            lrwxrwxrwx             11 2024/04/10 12:00:04 latest -> releases/41\n\
            \n";
        let v = parse_listing(text).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[0].path, ".");
        assert_eq!(v[0].kind, EntryKind::Dir);
        assert_eq!(v[0].size, 4096);
        assert_eq!(v[0].mode, Some(0o755));
        assert!(v[0].others_readable());
        assert!(!v[1].others_readable());
        assert_eq!(v[2].path, "releases/a b.iso");
        assert_eq!(v[2].size, 1_234_567_890);
        assert_eq!(v[2].mtime, 1712750402);
        assert_eq!(v[3].size, 3128);
        assert_eq!(v[4].kind, EntryKind::Link);
        assert_eq!(v[4].path, "latest");
        assert_eq!(v[4].target.as_deref(), Some("releases/41"));
    }

    #[test]
    fn dotted_separators_and_special_bits() {
        let e = parse_line("drwxrwsr-t          4.096 2024/01/01 00:00:00 x/")
            .unwrap()
            .unwrap();
        assert_eq!(e.size, 4096);
        assert_eq!(e.mode, Some(0o775));
        assert_eq!(e.path, "x");
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let err =
            parse_listing("drwxr-xr-x 4096 2024/01/01 00:00:00 .\nhello world\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_line("-rw-r--r-- 12K 2024/01/01 00:00:00 f").is_err());
        assert!(parse_line("-rw-r--r-- 12 2024/13/01 00:00:00 f").is_err());
        assert!(parse_line("-rw-r--r-- 12 2024/01/01 00:00:00").is_err());
        assert!(parse_line("-rwxq-xr-x 12 2024/01/01 00:00:00 f").is_err());
        assert!(parse_line("-rw-r--r-- 99999999999999999999999 2024/01/01 00:00:00 f").is_err());
    }
}
