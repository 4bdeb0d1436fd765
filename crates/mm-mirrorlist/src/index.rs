//! The cache turned into hash maps and prefix tries once, at load time, so that answering
//! a request never scans a list.

use std::collections::{HashMap, HashSet};

use mm_cachefile::{FileDetailsType, MirrorList};

use crate::trie::{PrefixTrie, parse_netblock};

/// The hosts of one directory.
#[derive(Debug, Clone, Default)]
pub struct DirEntry {
    pub subpath: Option<String>,
    pub global: Vec<i64>,
    pub by_country: HashMap<String, Vec<i64>>,
    pub by_country_internet2: HashMap<String, Vec<i64>>,
    /// Host → host_category_url ids.
    pub by_host: HashMap<i64, Vec<i64>>,
    pub global_set: HashSet<i64>,
}

/// Everything a request needs, indexed.
#[derive(Debug, Default)]
pub struct Index {
    pub time: u64,
    pub dirs: HashMap<String, DirEntry>,
    /// `repo+arch` → directory.
    pub repo_arch: HashMap<String, String>,
    pub urls: HashMap<i64, String>,
    /// directory → file name → versions, newest first.
    pub files: HashMap<String, HashMap<String, Vec<FileDetailsType>>>,
    pub disabled: HashSet<String>,
    pub repo_redirect: HashMap<String, String>,
    pub country_continent_redirect: HashMap<String, String>,
    pub host_asn: HashMap<i64, Vec<i64>>,
    pub host_country: HashMap<i64, String>,
    pub host_bandwidth: HashMap<i64, i64>,
    pub host_max_connections: HashMap<i64, i64>,
    pub host_country_allowed: HashMap<i64, HashSet<String>>,
    pub host_netblocks: PrefixTrie<Vec<i64>>,
    pub netblock_country: PrefixTrie<String>,
}

impl Index {
    /// Build the index of a cache.
    pub fn build(ml: &MirrorList) -> Index {
        let mut ix = Index {
            time: ml.time,
            ..Default::default()
        };
        for d in &ml.mirror_list_cache {
            let e = DirEntry {
                subpath: d.subpath.clone(),
                global: d.global.clone(),
                global_set: d.global.iter().copied().collect(),
                by_country: d
                    .by_country
                    .iter()
                    .map(|c| (c.key.to_ascii_uppercase(), c.value.clone()))
                    .collect(),
                by_country_internet2: d
                    .by_country_internet2
                    .iter()
                    .map(|c| (c.key.to_ascii_uppercase(), c.value.clone()))
                    .collect(),
                by_host: d.by_host_id.iter().map(|h| (h.key, h.value.clone())).collect(),
            };
            ix.dirs.insert(d.directory.clone(), e);
        }
        ix.repo_arch = ml
            .repo_arch_to_directory_name
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        ix.urls = ml.hc_url_cache.iter().map(|m| (m.key, m.value.clone())).collect();
        for d in &ml.file_details_cache {
            let files = ix.files.entry(d.directory.clone()).or_default();
            for f in &d.file_details_cache_files {
                let mut v = f.file_details.clone();
                v.sort_by_key(|d| std::cmp::Reverse(d.timestamp));
                files.insert(f.filename.clone(), v);
            }
        }
        ix.disabled = ml
            .disabled_repository_cache
            .iter()
            .filter(|m| m.value)
            .map(|m| m.key.clone())
            .collect();
        ix.repo_redirect = ml
            .repository_redirect_cache
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        ix.country_continent_redirect = ml
            .country_continent_redirect_cache
            .iter()
            .map(|m| (m.key.to_ascii_uppercase(), m.value.to_ascii_uppercase()))
            .collect();
        ix.host_asn = ml.host_asn_cache.iter().map(|m| (m.key, m.value.clone())).collect();
        ix.host_country = ml
            .host_country_cache
            .iter()
            .map(|m| (m.key, m.value.to_ascii_uppercase()))
            .collect();
        ix.host_bandwidth = ml.host_bandwidth_cache.iter().map(|m| (m.key, m.value)).collect();
        ix.host_max_connections =
            ml.host_max_connection_cache.iter().map(|m| (m.key, m.value)).collect();
        ix.host_country_allowed = ml
            .host_country_allowed_cache
            .iter()
            .map(|m| (m.key, m.value.iter().map(|c| c.to_ascii_uppercase()).collect()))
            .collect();
        for m in &ml.host_netblock_cache {
            match parse_netblock(&m.key) {
                Some(net) => ix.host_netblocks.entry(net).extend(m.value.iter().copied()),
                None => log::warn!("ignoring host netblock {:?}: not an address or network", m.key),
            }
        }
        for m in &ml.netblock_country_cache {
            match parse_netblock(&m.key) {
                Some(net) => ix.netblock_country.insert(net, m.value.to_ascii_uppercase()),
                None => log::warn!("ignoring netblock country {:?}: not a network", m.key),
            }
        }
        ix
    }

    /// The `repo=…&arch=…` pairs the cache knows, sorted.
    pub fn available(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .repo_arch
            .keys()
            .filter_map(|k| k.rsplit_once('+'))
            .map(|(r, a)| (r.to_string(), a.to_string()))
            .collect();
        v.sort();
        v
    }
}
