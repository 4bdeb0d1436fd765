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
        _ if is_informational(line) => return Ok(None),
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
    let mode = parse_perms(perms).ok_or_else(|| format!("bad permissions {perms:?}"))?;
    let size = parse_size(size).ok_or_else(|| format!("bad size {size:?}"))?;
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

/// Lines rsync prints that are not entries.
fn is_informational(line: &str) -> bool {
    const INFO: [&str; 6] = [
        "receiving ",
        "sent ",
        "total size",
        "skipping non-regular file",
        "building file list",
        "done",
    ];
    INFO.iter().any(|p| line.starts_with(p))
}

/// `drwxr-xr-x` → `0o755` (setuid/setgid/sticky letters count as the execute bit beneath).
fn parse_perms(p: &str) -> Option<u32> {
    let b = p.as_bytes();
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

/// `4,096`, `4.096`, `4'096` or `4096`.
fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let mut n: u64 = 0;
    for c in s.chars() {
        match c {
            '0'..='9' => n = n.checked_mul(10)?.checked_add(u64::from(c as u8 - b'0'))?,
            ',' | '.' | '\'' => {}
            _ => return None,
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

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
