//! Checksum files: `*-CHECKSUM`, `sha256sum.txt`, `SHA1SUM`, `*.sha1sum`, `MD5SUM`, …
//!
//! Line forms: GNU `HASH *file` / `HASH  file`, and BSD `SHA256 (file) = HASH`. Fedora's
//! CHECKSUM files are PGP clear-signed and carry `# file: N bytes` comments; the signature
//! armour is skipped and the comments give sizes. Lines in no known form are counted and
//! skipped (checksum files are advisory; a bad line must not stop a scan).

use std::collections::BTreeMap;

/// Hash algorithms found in checksum files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Algo {
    /// Guess the algorithm from a hex digest's length.
    pub fn from_hex_len(len: usize) -> Option<Algo> {
        match len {
            32 => Some(Algo::Md5),
            40 => Some(Algo::Sha1),
            64 => Some(Algo::Sha256),
            128 => Some(Algo::Sha512),
            _ => None,
        }
    }

    fn from_name(name: &str) -> Option<Algo> {
        match name.to_ascii_uppercase().replace('-', "").as_str() {
            "MD5" => Some(Algo::Md5),
            "SHA1" => Some(Algo::Sha1),
            "SHA256" => Some(Algo::Sha256),
            "SHA512" => Some(Algo::Sha512),
            _ => None,
        }
    }
}

/// Whether a file name looks like a checksum file.
pub fn is_checksum_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("-checksum")
        || lower == "checksum"
        || lower.ends_with("sum.txt")
        || ["md5sum", "sha1sum", "sha256sum", "sha512sum"]
            .iter()
            .any(|s| lower == *s || lower.ends_with(&format!(".{s}")))
        || lower.ends_with("-checksums")
}

/// What a checksum file says about the files it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSums {
    pub hashes: BTreeMap<Algo, String>,
    /// From `# file: N bytes` comments.
    pub size: Option<u64>,
}

/// The result of parsing a checksum file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksums {
    /// Per file name (as written, without a leading `*` or `./`).
    pub files: BTreeMap<String, FileSums>,
    /// Lines that were neither a checksum, a comment nor PGP armour.
    pub skipped_lines: usize,
}

/// Parse a checksum file's text.
pub fn parse(text: &str) -> Checksums {
    let mut out = Checksums::default();
    let mut in_signature = false;
    let mut in_header = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            in_header = false;
            continue;
        }
        if line.starts_with("-----BEGIN PGP SIGNED MESSAGE") {
            in_header = true;
            continue;
        }
        if line.starts_with("-----BEGIN PGP SIGNATURE") {
            in_signature = true;
            continue;
        }
        if line.starts_with("-----END PGP SIGNATURE") {
            in_signature = false;
            continue;
        }
        if in_signature || in_header {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            // `# Fedora-x.iso: 2193162240 bytes`
            if let Some((name, rest)) = comment.trim().rsplit_once(": ")
                && let Some(n) = rest
                    .strip_suffix(" bytes")
                    .and_then(|n| n.trim().parse().ok())
            {
                out.files.entry(clean(name)).or_default().size = Some(n);
            }
            continue;
        }
        match parse_line(line) {
            Some((name, algo, hex)) => {
                out.files.entry(name).or_default().hashes.insert(algo, hex);
            }
            None => out.skipped_lines += 1,
        }
    }
    out
}

fn clean(name: &str) -> String {
    name.trim().trim_start_matches("./").to_string()
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One checksum line → (file name, algorithm, lower-case hex digest).
fn parse_line(line: &str) -> Option<(String, Algo, String)> {
    // BSD: `SHA256 (file) = HASH`
    if let Some((head, hash)) = line.rsplit_once(") = ")
        && let Some((algo, name)) = head.split_once(" (")
    {
        let algo = Algo::from_name(algo.trim())?;
        let hash = hash.trim();
        if !is_hex(hash) || Algo::from_hex_len(hash.len()) != Some(algo) {
            return None;
        }
        return Some((clean(name), algo, hash.to_ascii_lowercase()));
    }
    // GNU: `HASH *file` or `HASH  file`
    let (hash, rest) = line.split_once(' ')?;
    let name = rest
        .strip_prefix('*')
        .or_else(|| rest.strip_prefix(' '))
        .unwrap_or(rest);
    let algo = Algo::from_hex_len(hash.len())?;
    if !is_hex(hash) || name.trim().is_empty() {
        return None;
    }
    Some((clean(name), algo, hash.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256_A: &str = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1";

    #[test]
    fn fedora_signed_checksum_file() {
        let text = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n\
             # Fedora-Server-41-x86_64.iso: 2193162240 bytes\n\
             SHA256 (Fedora-Server-41-x86_64.iso) = {}\n\
             -----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCAAd\n=abcd\n-----END PGP SIGNATURE-----\n",
            SHA256_A.to_uppercase()
        );
        let c = parse(&text);
        assert_eq!(c.skipped_lines, 0);
        let f = &c.files["Fedora-Server-41-x86_64.iso"];
        assert_eq!(f.size, Some(2193162240));
        assert_eq!(f.hashes[&Algo::Sha256], SHA256_A);
    }

    #[test]
    fn gnu_forms() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let text = format!("{md5} *a.iso\n{sha1}  ./b file.iso\nnonsense here\n{md5}x  c.iso\n");
        let c = parse(&text);
        assert_eq!(c.files["a.iso"].hashes[&Algo::Md5], md5);
        assert_eq!(c.files["b file.iso"].hashes[&Algo::Sha1], sha1);
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.skipped_lines, 2);
    }

    #[test]
    fn mismatched_bsd_lengths_are_skipped() {
        let c = parse("SHA256 (x.iso) = d41d8cd98f00b204e9800998ecf8427e\nSHA3 (y) = ab\n");
        assert!(c.files.is_empty());
        assert_eq!(c.skipped_lines, 2);
    }

    #[test]
    fn names() {
        for n in [
            "Fedora-Server-41-1.4-x86_64-CHECKSUM",
            "sha256sum.txt",
            "SHA1SUM",
            "x.sha1sum",
            "MD5SUM",
            "SHA512SUM",
            "a.md5sum",
        ] {
            assert!(is_checksum_file(n), "{n}");
        }
        for n in ["repomd.xml", "a.iso", "checksums.py"] {
            assert!(!is_checksum_file(n), "{n}");
        }
    }
}
