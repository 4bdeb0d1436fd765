//! Fedora's `fullfiletimelist-*` files (as written by quick-fedora-mirror's tooling).
//!
//! (fields are separated by tabs)
//! ```text
//! [Version]
//! 3
//!
//! [Files]
//! 1700000000 d 4096 linux/releases
//! 1700000000 f 3128 linux/releases/41/Everything/x86_64/os/repodata/repomd.xml
//! 1700000000 l 11 linux/latest
//!
//! [Checksums SHA1]
//! …
//! ```
//! Only `[Files]` is read: tab-separated `mtime type size path`, type `f` (file), `d`
//! (directory) or `l` (link; type letters may carry a suffix such as `f-` or `d-`, which is
//! ignored). Other sections are skipped. Anything else is an error naming the line.

use crate::{Entry, EntryKind, ParseError};

/// One line of the `[Files]` section, borrowed from the text (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLine<'a> {
    /// Path as listed, without a trailing `/`; never empty, never starting with `/`.
    pub path: &'a str,
    /// `File`, `Dir` or `Link`.
    pub kind: EntryKind,
    pub size: u64,
    pub mtime: i64,
}

/// Parse a fullfiletimelist; returns the entries of its `[Files]` section.
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut out = Vec::new();
    for_each(text, |l| {
        out.push(Entry {
            path: l.path.to_string(),
            kind: l.kind,
            size: l.size,
            mtime: l.mtime,
            mode: None,
            target: None,
        })
    })?;
    Ok(out)
}

/// Parse a fullfiletimelist, handing each `[Files]` line to `f` as it is read (in file
/// order) without copying it. Same rules and errors as [`parse`]; on an error some lines
/// may already have been handed over, so callers must discard what they built.
pub fn for_each<'a>(text: &'a str, mut f: impl FnMut(FileLine<'a>)) -> Result<(), ParseError> {
    let mut section: Option<&str> = None;
    let mut saw_files = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if name.is_empty() || name.contains(['[', ']']) {
                return Err(ParseError::new(n, format!("bad section header {line:?}")));
            }
            saw_files |= name == "Files";
            section = Some(name);
            continue;
        }
        match section {
            None => {
                return Err(ParseError::new(
                    n,
                    format!("expected a section header such as [Version], found {line:?}"),
                ));
            }
            Some("Files") => f(parse_files_line(line).map_err(|m| ParseError::new(n, m))?),
            Some(_) => {}
        }
    }
    if !saw_files {
        return Err(ParseError::new(
            text.lines().count().max(1),
            "no [Files] section",
        ));
    }
    Ok(())
}

/// A decimal number of ASCII digits (at most 18, so it cannot overflow), else `None`.
fn digits(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

fn parse_files_line(line: &str) -> Result<FileLine<'_>, String> {
    let mut f = line.splitn(4, '\t');
    let (Some(mtime), Some(kind), Some(size), Some(path)) =
        (f.next(), f.next(), f.next(), f.next())
    else {
        return Err(format!(
            "expected `mtime<TAB>type<TAB>size<TAB>path`, found {line:?}"
        ));
    };
    // plain digits take the fast path; anything else (signs, huge values) goes to `parse`
    let mtime: i64 = match digits(mtime) {
        Some(v) => v as i64,
        None => mtime
            .parse()
            .map_err(|_| format!("bad timestamp {mtime:?}"))?,
    };
    let kind = match kind.as_bytes().first() {
        Some(b'f') => EntryKind::File,
        Some(b'd') => EntryKind::Dir,
        Some(b'l') => EntryKind::Link,
        _ => return Err(format!("unknown entry type {kind:?}")),
    };
    let size: u64 = match digits(size) {
        Some(v) => v,
        None => size.parse().map_err(|_| format!("bad size {size:?}"))?,
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() || path.starts_with('/') {
        return Err(format!("bad path {path:?}"));
    }
    Ok(FileLine {
        path,
        kind,
        size,
        mtime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[Version]\n3\n\n[Files]\n1700000000\td\t4096\tlinux\n\
        1700000001\tf\t3128\tlinux/a b.xml\n1700000002\tl\t11\tlinux/latest\n\
        1700000003\tf-\t5\tlinux/x\n\n[Checksums SHA1]\nabc\tlinux/a b.xml\n[End]\n";

    #[test]
    fn reads_the_files_section_only() {
        let v = parse(GOOD).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].kind, EntryKind::Dir);
        assert_eq!(v[1].path, "linux/a b.xml");
        assert_eq!(v[1].size, 3128);
        assert_eq!(v[1].mtime, 1700000001);
        assert_eq!(v[2].kind, EntryKind::Link);
        assert_eq!(v[3].kind, EntryKind::File);
    }

    #[test]
    fn garbage_names_the_line() {
        let e = parse("[Version]\n3\n[Files]\n1\tf\t2\ta\nthis is not a line\n").unwrap_err();
        assert_eq!(e.line, 5);
        let e = parse("hello\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("[Files]\n1\tq\t2\ta\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("type")), (2, true));
        let e = parse("[Files]\nabc\tf\t2\ta\n").unwrap_err();
        assert!(e.message.contains("timestamp"), "{e}");
        let e = parse("[Files]\n1\tf\t-2\ta\n").unwrap_err();
        assert!(e.message.contains("size"), "{e}");
        let e = parse("[Version]\n3\n").unwrap_err();
        assert!(e.message.contains("[Files]"), "{e}");
        assert!(parse("\u{0}\u{1}binary").is_err());
        // a header-looking line inside [Files] that is not one is still an error
        let e = parse("[Files]\n1\tf\t2\ta\n[Bad\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn for_each_borrows_the_same_lines_parse_returns() {
        let mut seen = Vec::new();
        for_each(GOOD, |l| seen.push(l)).unwrap();
        let owned = parse(GOOD).unwrap();
        assert_eq!(seen.len(), owned.len());
        for (b, o) in seen.iter().zip(&owned) {
            assert_eq!(
                (b.path, b.kind, b.size, b.mtime),
                (o.path.as_str(), o.kind, o.size, o.mtime)
            );
        }
        // numbers beyond the fast path still parse (or fail) as before
        let v = parse("[Files]\n+17\tf\t18446744073709551615\ta\n-5\td\t0\tb\n").unwrap();
        assert_eq!((v[0].mtime, v[0].size), (17, u64::MAX));
        assert_eq!(v[1].mtime, -5);
        assert!(parse("[Files]\n1\tf\t18446744073709551616\ta\n").is_err());
        assert!(parse("[Files]\n1\tf\t\ta\n").is_err());
    }
}
