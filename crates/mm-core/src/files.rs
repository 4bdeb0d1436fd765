//! The `directory.files` column: MM2's JSON list of `{"name", "size", "timestamp"}` sorted
//! by name. Older MM2 rows hold a Python pickle of `{name: {"size": int, "stat": int}}`;
//! those are read and rewritten as JSON.

use serde::{Deserialize, Serialize};

/// One recorded file of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub size: i64,
    pub timestamp: i64,
}

/// A `files` value that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("directory.files is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("directory.files is not a readable pickle: {0}")]
    Pickle(#[from] serde_pickle::Error),
    #[error("directory.files has an unknown format (first byte 0x{0:02x})")]
    Unknown(u8),
}

#[derive(Deserialize)]
struct PickleEntry {
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    stat: Option<f64>,
}

/// Decode a `files` value (JSON or legacy pickle); empty or NULL means no files.
pub fn decode(bytes: &[u8]) -> Result<Vec<FileEntry>, FilesError> {
    let trimmed = bytes.trim_ascii_start();
    let Some(&first) = trimmed.first() else {
        return Ok(Vec::new());
    };
    let mut files: Vec<FileEntry> = match first {
        b'[' => serde_json::from_slice(trimmed)?,
        b'{' => {
            // Some intermediate MM2 versions stored a JSON object keyed by name.
            let map: std::collections::BTreeMap<String, PickleEntry> =
                serde_json::from_slice(trimmed)?;
            from_map(map)
        }
        0x80 | b'(' | b'}' => {
            let map: std::collections::BTreeMap<String, PickleEntry> =
                serde_pickle::from_slice(bytes, serde_pickle::DeOptions::new().decode_strings())?;
            from_map(map)
        }
        other => return Err(FilesError::Unknown(other)),
    };
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn from_map(map: std::collections::BTreeMap<String, PickleEntry>) -> Vec<FileEntry> {
    map.into_iter()
        .map(|(name, e)| FileEntry {
            name,
            size: e.size.unwrap_or(0),
            timestamp: e.stat.unwrap_or(0.0) as i64,
        })
        .collect()
}

/// Encode files as MM2's JSON list, sorted by name.
pub fn encode(files: &[FileEntry]) -> Vec<u8> {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    serde_json::to_vec(&sorted).expect("file entries always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_sorted() {
        let files = vec![
            FileEntry {
                name: "b.rpm".into(),
                size: 2,
                timestamp: 20,
            },
            FileEntry {
                name: "a.rpm".into(),
                size: 1,
                timestamp: 10,
            },
        ];
        let bytes = encode(&files);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"[{"name":"a.rpm","size":1,"timestamp":10},{"name":"b.rpm","size":2,"timestamp":20}]"#
        );
        let back = decode(&bytes).unwrap();
        assert_eq!(back[0].name, "a.rpm");
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn reads_legacy_pickles() {
        // pickle.dumps({'repomd.xml': {'size': 3128, 'stat': 1700000000}}, protocol=2)
        let p2: &[u8] = b"\x80\x02}q\x00X\n\x00\x00\x00repomd.xmlq\x01}q\x02(X\x04\x00\x00\x00sizeq\x03M8\x0cX\x04\x00\x00\x00statq\x04J\x00\xf1Seus.";
        let files = decode(p2).unwrap();
        assert_eq!(
            files,
            vec![FileEntry {
                name: "repomd.xml".into(),
                size: 3128,
                timestamp: 1700000000
            }]
        );
        // protocol 0, as MM1-era rows were written
        let p0: &[u8] = b"(dp0\nVa.iso\np1\n(dp2\nVsize\np3\nI42\nsVstat\np4\nI7\nss.";
        let files = decode(p0).unwrap();
        assert_eq!(
            files,
            vec![FileEntry {
                name: "a.iso".into(),
                size: 42,
                timestamp: 7
            }]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"not files").is_err());
        assert!(decode(b"[{\"name\": 1}]").is_err());
        assert!(decode(b"").unwrap().is_empty());
    }
}
