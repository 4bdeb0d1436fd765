//! mm-cachefile: the mirrorlist cache file (`mirrorlist_cache.proto`), a protobuf
//! `mirrormanager.MirrorList` wire-compatible with Fedora MirrorManager's.
//!
//! [`read`] loads and checks a cache, [`write_atomic`] replaces one without ever leaving a
//! half-written file, [`summary`] counts what is inside, [`validate`] lists defects and
//! [`to_json`] gives a readable view. The schema document is `mirrormanager.proto`.

mod proto;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use proto::*;

use prost::Message;

/// The schema document (`mirrormanager.proto`), for tools that want to show or use it.
pub const PROTO_SCHEMA: &str = include_str!("../mirrormanager.proto");

/// Errors reading or writing a cache file.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a mirrorlist cache (truncated or corrupt): {source}")]
    Decode {
        path: PathBuf,
        #[source]
        source: prost::DecodeError,
    },
    #[error("{path}: not a mirrorlist cache: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("cannot encode the readable view: {0}")]
    Json(#[from] serde_json::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Decode a cache from bytes; `path` is only used in messages.
pub fn decode(bytes: &[u8], path: &Path) -> Result<MirrorList, CacheError> {
    if bytes.is_empty() {
        return Err(CacheError::Invalid {
            path: path.to_owned(),
            problem: "the file is empty".into(),
        });
    }
    let ml = MirrorList::decode(bytes).map_err(|source| CacheError::Decode {
        path: path.to_owned(),
        source,
    })?;
    // prost does not enforce `required`; a cache always starts with its creation time.
    if ml.time == 0 {
        return Err(CacheError::Invalid {
            path: path.to_owned(),
            problem: "the creation time (field 1, Time) is missing".into(),
        });
    }
    Ok(ml)
}

/// Read and decode a cache file.
pub fn read(path: &Path) -> Result<MirrorList, CacheError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    decode(&bytes, path)
}

/// Encode a cache to bytes.
pub fn encode(ml: &MirrorList) -> Vec<u8> {
    ml.encode_to_vec()
}

/// Write a cache so that `path` always holds either the old or the new complete file: a
/// temporary file in the same directory is written and fsynced, renamed over `path`, then
/// the directory is fsynced.
pub fn write_atomic(path: &Path, ml: &MirrorList) -> Result<(), CacheError> {
    write_bytes_atomic(path, &encode(ml))
}

/// [`write_atomic`] for bytes that are already encoded (or any other file).
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(io_err(path)))
}

/// [`write_atomic`] for a file written piece by piece: `write` fills a buffered temporary
/// file in the same directory; when it succeeds the file is flushed, fsynced and renamed
/// over `path`, then the directory is fsynced. When it fails the temporary file is removed
/// and `path` is left as it was.
pub fn write_atomic_with<T, E>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<CacheError>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| CacheError::Invalid {
            path: path.to_owned(),
            problem: "not a file name".into(),
        })?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let value = write(&mut w)?;
        let f = w.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&dir))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What a cache holds, in numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Creation time, seconds since the epoch.
    pub time: u64,
    pub directories: usize,
    /// Distinct hosts with at least one URL in some directory.
    pub hosts: usize,
    pub urls: usize,
    /// `repo+arch` pairs.
    pub repos: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "time={} directories={} hosts={} urls={} repos={}",
            self.time, self.directories, self.hosts, self.urls, self.repos
        )
    }
}

/// Count what a cache holds.
pub fn summary(ml: &MirrorList) -> Summary {
    let hosts: HashSet<i64> = ml
        .mirror_list_cache
        .iter()
        .flat_map(|d| d.by_host_id.iter().map(|h| h.key))
        .collect();
    Summary {
        time: ml.time,
        directories: ml.mirror_list_cache.len(),
        hosts: hosts.len(),
        urls: ml.hc_url_cache.len(),
        repos: ml.repo_arch_to_directory_name.len(),
    }
}

/// List a cache's defects (empty when it is consistent). Each defect is one sentence.
pub fn validate(ml: &MirrorList) -> Vec<String> {
    let mut defects = Vec::new();
    if ml.time == 0 {
        defects.push("creation time is zero".to_string());
    }
    let urls: HashSet<i64> = ml.hc_url_cache.iter().map(|u| u.key).collect();
    for u in &ml.hc_url_cache {
        if u.value.is_empty() {
            defects.push(format!("HCUrlCache: URL id {} is empty", u.key));
        }
    }
    let mut dirs: HashMap<&str, usize> = HashMap::new();
    for (i, d) in ml.mirror_list_cache.iter().enumerate() {
        if d.directory.is_empty() {
            defects.push(format!("MirrorListCache[{i}]: empty directory name"));
            continue;
        }
        if dirs.insert(&d.directory, i).is_some() {
            defects.push(format!(
                "MirrorListCache: directory {} listed twice",
                d.directory
            ));
        }
        let with_urls: HashSet<i64> = d.by_host_id.iter().map(|h| h.key).collect();
        let referenced = d
            .global
            .iter()
            .chain(d.by_country.iter().flat_map(|c| c.value.iter()))
            .chain(d.by_country_internet2.iter().flat_map(|c| c.value.iter()));
        let mut reported = HashSet::new();
        for h in referenced {
            if !with_urls.contains(h) && reported.insert(*h) {
                defects.push(format!(
                    "directory {}: host {h} is referenced without a URL entry (ByHostId)",
                    d.directory
                ));
            }
        }
        for h in &d.by_host_id {
            for u in &h.value {
                if !urls.contains(u) {
                    defects.push(format!(
                        "directory {}: host {} has URL id {u} missing from HCUrlCache",
                        d.directory, h.key
                    ));
                }
            }
        }
    }
    for (i, d) in ml.file_details_cache.iter().enumerate() {
        if d.directory.is_empty() {
            defects.push(format!("FileDetailsCache[{i}]: empty directory name"));
        }
    }
    for r in &ml.repo_arch_to_directory_name {
        if !r.key.contains('+') {
            defects.push(format!(
                "RepoArchToDirectoryName: key {:?} is not repo+arch",
                r.key
            ));
        }
        if !dirs.contains_key(r.value.as_str()) {
            defects.push(format!(
                "RepoArchToDirectoryName: {} points to directory {} which has no MirrorListCache entry",
                r.key, r.value
            ));
        }
    }
    defects
}

/// The readable view: the whole cache as pretty-printed JSON.
pub fn to_json(ml: &MirrorList) -> Result<String, CacheError> {
    Ok(serde_json::to_string_pretty(ml)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> MirrorList {
        MirrorList {
            time: 1_700_000_000,
            hc_url_cache: vec![IntStringMap {
                key: 10,
                value: "http://m1.example/pub/fedora".into(),
            }],
            repo_arch_to_directory_name: vec![StringStringMap {
                key: "fedora-41+x86_64".into(),
                value: "pub/fedora/41/x86_64/os".into(),
            }],
            mirror_list_cache: vec![MirrorListCacheType {
                directory: "pub/fedora/41/x86_64/os".into(),
                global: vec![1],
                subpath: Some("41/x86_64/os".into()),
                by_country: vec![StringRepeatedIntMap {
                    key: "DE".into(),
                    value: vec![1],
                }],
                by_host_id: vec![IntRepeatedIntMap {
                    key: 1,
                    value: vec![10],
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn consistent_cache_has_no_defects_and_is_counted() {
        let ml = sample();
        assert_eq!(validate(&ml), Vec::<String>::new());
        let s = summary(&ml);
        assert_eq!((s.directories, s.hosts, s.urls, s.repos), (1, 1, 1, 1));
        assert_eq!(
            s.to_string(),
            "time=1700000000 directories=1 hosts=1 urls=1 repos=1"
        );
    }

    #[test]
    fn defects_are_found() {
        let mut ml = sample();
        ml.mirror_list_cache[0].global.push(2);
        ml.mirror_list_cache[0].by_host_id[0].value.push(11);
        ml.mirror_list_cache.push(MirrorListCacheType::default());
        ml.repo_arch_to_directory_name[0].value = "nowhere".into();
        let d = validate(&ml);
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(
            d[0].contains("host 2 is referenced without a URL entry"),
            "{d:?}"
        );
        assert!(d[1].contains("URL id 11 missing"), "{d:?}");
        assert!(d[2].contains("empty directory name"), "{d:?}");
        assert!(d[3].contains("nowhere"), "{d:?}");
    }

    #[test]
    fn readable_view_names_fields() {
        let j = to_json(&sample()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["time"], 1_700_000_000u64);
        assert_eq!(v["mirror_list_cache"][0]["by_host_id"][0]["value"][0], 10);
    }
}
