//! Reading a cache file straight into an [`Index`]: the top-level protobuf message is read
//! field by field from a buffered file, each directory entry (field 16, the bulk of the
//! file) is decoded alone and added to the index at once, and only the small remainder is
//! decoded as a whole. Neither the file nor the decoded cache is ever held in memory.

use std::io::{BufReader, Read};
use std::path::Path;

use mm_cachefile::{CacheError, MirrorList, MirrorListCacheType};
use prost::Message;

use crate::index::{Index, IndexBuilder};

/// Field number of `MirrorList.mirror_list_cache`.
const MIRROR_LIST_CACHE: u64 = 16;

/// A cache read into an index.
#[derive(Debug)]
pub struct CacheIndex {
    pub index: Index,
    /// Defects found (one sentence each); the cache is served anyway.
    pub defects: Vec<String>,
    /// Host-directory entries.
    pub entries: u64,
}

fn invalid(path: &Path, problem: impl Into<String>) -> CacheError {
    CacheError::Invalid {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

/// A varint; `None` at the end of the input before its first byte.
fn varint(r: &mut impl Read, path: &Path) -> Result<Option<u64>, CacheError> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8];
        let n = r.read(&mut b).map_err(|source| CacheError::Io {
            path: path.to_owned(),
            source,
        })?;
        if n == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(invalid(
                    path,
                    "truncated or corrupt: the file ends inside a number",
                ))
            };
        }
        v |= ((b[0] & 0x7f) as u64) << (7 * i);
        if b[0] & 0x80 == 0 {
            return Ok(Some(v));
        }
    }
    Err(invalid(path, "truncated or corrupt: a number is too long"))
}

fn exact(r: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<(), CacheError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            invalid(path, "truncated or corrupt: the file ends inside a field")
        } else {
            CacheError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })
}

/// Read a cache from `input` (`path` is only used in messages).
pub fn read_from(input: impl Read, path: &Path) -> Result<CacheIndex, CacheError> {
    let mut r = BufReader::with_capacity(1 << 16, input);
    let mut builder = IndexBuilder::default();
    let mut rest: Vec<u8> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut empty = true;
    while let Some(key) = varint(&mut r, path)? {
        empty = false;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(invalid(path, "truncated or corrupt: field number 0"));
        }
        match wire {
            0 => {
                let Some(v) = varint(&mut r, path)? else {
                    return Err(invalid(
                        path,
                        "truncated or corrupt: the file ends inside a field",
                    ));
                };
                prost::encoding::encode_varint(key, &mut rest);
                prost::encoding::encode_varint(v, &mut rest);
            }
            1 | 5 => {
                let mut b = [0u8; 8];
                let n = if wire == 1 { 8 } else { 4 };
                exact(&mut r, &mut b[..n], path)?;
                prost::encoding::encode_varint(key, &mut rest);
                rest.extend_from_slice(&b[..n]);
            }
            2 => {
                let Some(len) = varint(&mut r, path)? else {
                    return Err(invalid(
                        path,
                        "truncated or corrupt: the file ends inside a field",
                    ));
                };
                let len = usize::try_from(len)
                    .map_err(|_| invalid(path, "truncated or corrupt: field too long"))?;
                if len > 1 << 30 {
                    return Err(invalid(path, "truncated or corrupt: field too long"));
                }
                buf.resize(len, 0);
                exact(&mut r, &mut buf, path)?;
                if field == MIRROR_LIST_CACHE {
                    let d = MirrorListCacheType::decode(buf.as_slice()).map_err(|source| {
                        CacheError::Decode {
                            path: path.to_owned(),
                            source,
                        }
                    })?;
                    builder.add_dir(&d);
                } else {
                    prost::encoding::encode_varint(key, &mut rest);
                    prost::encoding::encode_varint(len as u64, &mut rest);
                    rest.extend_from_slice(&buf);
                }
            }
            w => {
                return Err(invalid(
                    path,
                    format!("truncated or corrupt: wire type {w}"),
                ));
            }
        }
    }
    if empty {
        return Err(invalid(path, "the file is empty"));
    }
    drop(buf);
    let ml = MirrorList::decode(rest.as_slice()).map_err(|source| CacheError::Decode {
        path: path.to_owned(),
        source,
    })?;
    drop(rest);
    if ml.time == 0 {
        return Err(invalid(
            path,
            "the creation time (field 1, Time) is missing",
        ));
    }
    let entries = builder.entries();
    let (index, defects) = builder.finish(&ml);
    Ok(CacheIndex {
        index,
        defects,
        entries,
    })
}

/// Read a cache file into an index.
pub fn read(path: &Path) -> Result<CacheIndex, CacheError> {
    let f = std::fs::File::open(path).map_err(|source| CacheError::Io {
        path: path.to_owned(),
        source,
    })?;
    read_from(f, path)
}
