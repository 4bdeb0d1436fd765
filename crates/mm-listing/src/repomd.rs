//! `repodata/repomd.xml`: its `<revision>` and the newest `<timestamp>` of its data
//! entries. A small tag scanner, not an XML parser: repomd.xml is machine-written and flat.

/// What a repomd.xml says about its age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repomd {
    /// `<revision>` text (usually seconds since the epoch, but free-form).
    pub revision: Option<String>,
    /// The largest `<timestamp>` among the `<data>` entries.
    pub max_timestamp: Option<i64>,
}

impl Repomd {
    /// The timestamp MirrorManager stores: the revision when numeric, else the newest
    /// data timestamp.
    pub fn timestamp(&self) -> Option<i64> {
        self.revision
            .as_deref()
            .and_then(|r| r.trim().parse::<i64>().ok())
            .or(self.max_timestamp)
    }
}

/// An input that is not a repomd.xml.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a repomd.xml: {0}")]
pub struct RepomdError(pub String);

/// Read revision and timestamps from repomd.xml text.
pub fn parse(text: &str) -> Result<Repomd, RepomdError> {
    if !text.contains("<repomd") {
        return Err(RepomdError("no <repomd> element".into()));
    }
    let revision = elements(text, "revision")
        .next()
        .map(|s| s.trim().to_string());
    let mut max_timestamp: Option<i64> = None;
    for t in elements(text, "timestamp") {
        // timestamps may be written as floats ("1700000000.0")
        let t = t.trim();
        let v = t
            .parse::<i64>()
            .ok()
            .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
            .ok_or_else(|| RepomdError(format!("bad <timestamp> {t:?}")))?;
        max_timestamp = Some(max_timestamp.map_or(v, |m| m.max(v)));
    }
    Ok(Repomd {
        revision,
        max_timestamp,
    })
}

/// Text content of every `<tag>…</tag>` (namespace prefixes allowed, attributes ignored).
fn elements<'a>(text: &'a str, tag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let open = rest.find('<')?;
            let after = &rest[open + 1..];
            let end = after.find('>')?;
            let head = &after[..end];
            rest = &after[end + 1..];
            let name = head.split_whitespace().next().unwrap_or("");
            let local = name.rsplit(':').next().unwrap_or(name);
            if local == tag && !head.ends_with('/') {
                let close = rest.find("</")?;
                let content = &rest[..close];
                rest = &rest[close..];
                return Some(content);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPOMD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1712750400</revision>
  <data type="primary">
    <checksum type="sha256">abc</checksum>
    <timestamp>1712750300</timestamp>
    <size>10</size>
  </data>
  <data type="filelists">
    <timestamp>1712750399</timestamp>
  </data>
</repomd>
"#;

    #[test]
    fn revision_wins() {
        let r = parse(REPOMD).unwrap();
        assert_eq!(r.revision.as_deref(), Some("1712750400"));
        assert_eq!(r.max_timestamp, Some(1712750399));
        assert_eq!(r.timestamp(), Some(1712750400));
    }

    #[test]
    fn non_numeric_revision_falls_back() {
        let r = parse(&REPOMD.replace("1712750400", "f41-updates")).unwrap();
        assert_eq!(r.timestamp(), Some(1712750399));
        let r = parse(
            &REPOMD
                .replace("1712750399", "1712750999.0")
                .replace("<revision>1712750400</revision>", ""),
        )
        .unwrap();
        assert_eq!(r.timestamp(), Some(1712750999));
    }

    #[test]
    fn malformed() {
        assert!(parse("<html>nope</html>").is_err());
        assert!(parse("<repomd><data><timestamp>soon</timestamp></data></repomd>").is_err());
        assert_eq!(parse("<repomd/>").unwrap(), Repomd::default());
    }
}
