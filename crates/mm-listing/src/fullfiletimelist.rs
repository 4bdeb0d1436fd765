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

/// Parse a fullfiletimelist; returns the entries of its `[Files]` section.
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut section: Option<String> = None;
    let mut saw_files = false;
    let mut out = Vec::new();
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
            section = Some(name.to_string());
            continue;
        }
        match section.as_deref() {
            None => {
                return Err(ParseError::new(
                    n,
                    format!("expected a section header such as [Version], found {line:?}"),
                ));
            }
            Some("Files") => out.push(parse_files_line(line).map_err(|m| ParseError::new(n, m))?),
            Some(_) => {}
        }
    }
    if !saw_files {
        return Err(ParseError::new(
            text.lines().count().max(1),
            "no [Files] section",
        ));
    }
    Ok(out)
}

fn parse_files_line(line: &str) -> Result<Entry, String> {
    let mut f = line.splitn(4, '\t');
    let (Some(mtime), Some(kind), Some(size), Some(path)) = (f.next(), f.next(), f.next(), f.next())
    else {
        return Err(format!("expected `mtime<TAB>type<TAB>size<TAB>path`, found {line:?}"));
    };
    let mtime: i64 = mtime
        .parse()
        .map_err(|_| format!("bad timestamp {mtime:?}"))?;
    let kind = match kind.chars().next() {
        Some('f') => EntryKind::File,
        Some('d') => EntryKind::Dir,
        Some('l') => EntryKind::Link,
        _ => return Err(format!("unknown entry type {kind:?}")),
    };
    let size: u64 = size.parse().map_err(|_| format!("bad size {size:?}"))?;
    let path = path.trim_end_matches('/');
    if path.is_empty() || path.starts_with('/') {
        return Err(format!("bad path {path:?}"));
    }
    Ok(Entry {
        path: path.to_string(),
        kind,
        size,
        mtime,
        mode: None,
        target: None,
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
    }
}
