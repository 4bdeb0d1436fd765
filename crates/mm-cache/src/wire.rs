//! Hand-written protobuf encoding of the big repeated field of `MirrorList`
//! (`MirrorListCache`, field 16), one directory at a time, so the generator never holds the
//! whole message.
//!
//! A repeated message field is just its records concatenated, and prost writes a message's
//! fields in tag order, so `head.encode()` (every field but 16) followed by one record per
//! directory is byte for byte what encoding the whole `MirrorList` gives. The records match
//! prost's: `required` fields always written, `optional` ones when set, repeated `int64`
//! unpacked.

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

/// The field number of `MirrorList.MirrorListCache`.
pub const MIRROR_LIST_CACHE_TAG: u32 = 16;

fn int64_len(tag: u32, v: i64) -> usize {
    prost::encoding::key_len(tag) + encoded_len_varint(v as u64)
}

fn put_int64(tag: u32, v: i64, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(v as u64, buf);
}

fn str_len(tag: u32, s: &str) -> usize {
    prost::encoding::key_len(tag) + encoded_len_varint(s.len() as u64) + s.len()
}

fn put_str(tag: u32, s: &str, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(s.len() as u64, buf);
    buf.extend_from_slice(s.as_bytes());
}

/// Write a `StringRepeatedIntMap` record (`key` → `values`) as field `tag`.
pub fn put_string_ints(
    tag: u32,
    key: &str,
    values: impl Iterator<Item = i64> + Clone,
    buf: &mut Vec<u8>,
) {
    let len = str_len(1, key) + values.clone().map(|v| int64_len(2, v)).sum::<usize>();
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
    put_str(1, key, buf);
    for v in values {
        put_int64(2, v, buf);
    }
}

/// Write an `IntRepeatedIntMap` record (`key` → `values`) as field `tag`.
pub fn put_int_ints(tag: u32, key: i64, values: &[i64], buf: &mut Vec<u8>) {
    let len = int64_len(1, key) + values.iter().map(|v| int64_len(2, *v)).sum::<usize>();
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
    put_int64(1, key, buf);
    for v in values {
        put_int64(2, *v, buf);
    }
}

/// Builds one `MirrorListCacheType` record in field order; [`DirRecord::finish`] appends it
/// to the output as a `MirrorList.MirrorListCache` record. Call the `add_*` methods in the
/// order of their field numbers (global, subpath, by country, Internet2, by host, ordered).
#[derive(Default)]
pub struct DirRecord {
    body: Vec<u8>,
}

impl DirRecord {
    /// Start a record for `directory` (field 1).
    pub fn start(&mut self, directory: &str) {
        self.body.clear();
        put_str(1, directory, &mut self.body);
    }

    /// Field 2: one public host.
    pub fn global(&mut self, host: i64) {
        put_int64(2, host, &mut self.body);
    }

    /// Field 3.
    pub fn subpath(&mut self, subpath: &str) {
        put_str(3, subpath, &mut self.body);
    }

    /// Field 4 (`internet2` false) or 5 (true): one country and its hosts.
    pub fn country(
        &mut self,
        internet2: bool,
        country: &str,
        hosts: impl Iterator<Item = i64> + Clone,
    ) {
        put_string_ints(
            if internet2 { 5 } else { 4 },
            country,
            hosts,
            &mut self.body,
        );
    }

    /// Field 6: one host and its URL ids.
    pub fn host(&mut self, host: i64, urls: &[i64]) {
        put_int_ints(6, host, urls, &mut self.body);
    }

    /// Field 7.
    pub fn ordered(&mut self, ordered: bool) {
        encode_key(7, WireType::Varint, &mut self.body);
        encode_varint(u64::from(ordered), &mut self.body);
    }

    /// Append the finished record to `out` as field 16 of `MirrorList`.
    pub fn finish(&self, out: &mut Vec<u8>) {
        encode_key(MIRROR_LIST_CACHE_TAG, WireType::LengthDelimited, out);
        encode_varint(self.body.len() as u64, out);
        out.extend_from_slice(&self.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_cachefile::*;
    use prost::Message;

    fn write(e: &MirrorListCacheType, out: &mut Vec<u8>) {
        let mut r = DirRecord::default();
        r.start(&e.directory);
        for h in &e.global {
            r.global(*h);
        }
        if let Some(s) = &e.subpath {
            r.subpath(s);
        }
        for c in &e.by_country {
            r.country(false, &c.key, c.value.iter().copied());
        }
        for c in &e.by_country_internet2 {
            r.country(true, &c.key, c.value.iter().copied());
        }
        for h in &e.by_host_id {
            r.host(h.key, &h.value);
        }
        if let Some(o) = e.ordered_mirror_list {
            r.ordered(o);
        }
        r.finish(out);
    }

    #[test]
    fn records_match_prost() {
        let entries = vec![
            MirrorListCacheType {
                directory: "pub/fedora/linux/releases/41".into(),
                global: vec![1, 300, 70_000, -1],
                subpath: Some("releases/41".into()),
                by_country: vec![
                    StringRepeatedIntMap {
                        key: "DE".into(),
                        value: vec![1, 300],
                    },
                    StringRepeatedIntMap {
                        key: "US".into(),
                        value: vec![70_000],
                    },
                ],
                by_country_internet2: vec![StringRepeatedIntMap {
                    key: "US".into(),
                    value: vec![5],
                }],
                by_host_id: vec![
                    IntRepeatedIntMap {
                        key: 1,
                        value: vec![10, 11, 1 << 40],
                    },
                    IntRepeatedIntMap {
                        key: 5,
                        value: vec![],
                    },
                ],
                ordered_mirror_list: Some(false),
            },
            MirrorListCacheType {
                directory: "x".repeat(200),
                subpath: Some(String::new()),
                ordered_mirror_list: Some(true),
                ..Default::default()
            },
            MirrorListCacheType::default(),
        ];
        let head = MirrorList {
            time: 1_700_000_000,
            hc_url_cache: vec![IntStringMap {
                key: 10,
                value: "http://m.example/".into(),
            }],
            ..Default::default()
        };
        let mut ours = head.encode_to_vec();
        for e in &entries {
            write(e, &mut ours);
        }
        let whole = MirrorList {
            mirror_list_cache: entries,
            ..head
        };
        assert_eq!(ours, whole.encode_to_vec());
    }
}
