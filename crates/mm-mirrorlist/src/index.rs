//! The cache turned into a compact index once, at load time, so that answering a request
//! never scans a list and the loaded cache stays small in memory.
//!
//! Layout: hosts, URLs, countries and directories are numbered densely; a directory's hosts
//! are a range of two flat arrays (host number, URL set), sorted by host number so that
//! membership is a binary search; its public hosts and per-country lists are ranges of one
//! flat `u32` array. A URL set is a host's URL list (as the cache gives it for a directory),
//! interned, ordered best protocol first, with its text pre-rendered: the request only picks
//! hosts, shuffles them and copies these fragments into one buffer. [`IndexBuilder`] takes
//! the directories one at a time so that the streaming loader never holds the decoded cache.

use std::collections::{HashMap, HashSet};

/// The maps a request looks things up in: keys come from our own cache file, so a fast
/// hash (foldhash, randomly seeded) instead of SipHash; every request does a few lookups.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::ops::Range;

use mm_cachefile::{FileDetailsType, MirrorList, MirrorListCacheType};

use crate::trie::{PrefixTrie, parse_netblock};

/// Protocols in order of preference.
pub const PROTO_ORDER: [&str; 4] = ["https", "http", "ftp", "rsync"];

/// The scheme of a URL (`""` when it has none).
pub fn scheme(url: &str) -> &str {
    url.split_once("://").map(|(s, _)| s).unwrap_or("")
}

fn proto_rank(p: &str) -> usize {
    PROTO_ORDER
        .iter()
        .position(|x| *x == p)
        .unwrap_or(PROTO_ORDER.len())
}

/// Escape the XML special characters.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One URL of the cache, pre-rendered.
#[derive(Debug, Clone)]
pub struct Url {
    /// The scheme (`https`, …).
    pub scheme: Box<str>,
    /// Rank in [`PROTO_ORDER`] (4 for any other scheme).
    pub rank: u8,
    /// The URL without trailing slashes (mirrorlist lines start with it).
    pub base: Box<str>,
    /// `">` and the XML-escaped base (the end of a public metalink `<url …>` start tag).
    pub ml_public: Box<str>,
    /// `" mm0:private="True">` and the XML-escaped base.
    pub ml_private: Box<str>,
}

/// A host's URLs for a directory, interned: best protocol first, duplicates removed.
#[derive(Debug, Clone)]
pub struct UrlSet {
    /// Host number.
    pub host: u32,
    /// URL numbers.
    pub urls: Box<[u32]>,
    /// For each URL: `    <url protocol="…" type="…" location="…" preference="`.
    pub ml_head: Box<[Box<str>]>,
    /// Position of the first https/http/ftp URL (what a mirrorlist offers); `urls.len()`
    /// when there is none.
    pub first_ml: u32,
}

/// What is known about a host.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// The cache's host id.
    pub id: i64,
    /// Bandwidth weight (clamped to 1..=10000; 100 when unknown).
    pub weight: f64,
    /// Countries allowed to use the host (numbers); empty: any.
    pub allowed: Box<[u16]>,
}

/// The hosts of one country in a directory.
#[derive(Debug, Clone, Copy)]
pub struct CountryHosts {
    pub country: u16,
    /// Range of [`Index::lists`] (host numbers, sorted).
    pub start: u32,
    pub end: u32,
}

/// One directory.
#[derive(Debug, Clone, Default)]
pub struct Dir {
    pub subpath: Option<Box<str>>,
    /// Range of [`Index::ent_host`] / [`Index::ent_set`].
    pub ents: Range<u32>,
    /// Range of [`Index::lists`]: the public hosts, sorted.
    pub global: Range<u32>,
    /// Range of [`Index::dir_countries`], sorted by country code.
    pub countries: Range<u32>,
    /// Range of [`Index::dir_countries`]: Internet2 hosts by country.
    pub countries_i2: Range<u32>,
}

/// Everything a request needs, indexed.
#[derive(Debug, Default)]
pub struct Index {
    pub time: u64,
    /// Directory name → number.
    pub dir_ids: Map<Box<str>, u32>,
    pub dirs: Vec<Dir>,
    /// Host number of each directory entry.
    pub ent_host: Vec<u32>,
    /// URL set of each directory entry.
    pub ent_set: Vec<u32>,
    /// Host lists (public hosts, per-country hosts).
    pub lists: Vec<u32>,
    pub dir_countries: Vec<CountryHosts>,
    pub hosts: Vec<Host>,
    pub host_ids: HashMap<i64, u32>,
    /// Host number → XML-escaped country (metalink `location`).
    pub host_location: Vec<Box<str>>,
    pub sets: Vec<UrlSet>,
    pub urls: Vec<Url>,
    /// Country number → upper-case code.
    pub countries: Vec<Box<str>>,
    pub country_ids: Map<Box<str>, u16>,
    /// `repo+arch` → directory.
    pub repo_arch: Map<String, String>,
    /// directory → file name → versions, newest first.
    pub files: Map<String, Map<String, Vec<FileDetailsType>>>,
    pub disabled: HashSet<String>,
    pub repo_redirect: Map<String, String>,
    pub country_continent_redirect: Map<String, String>,
    /// ASN → host numbers.
    pub host_asn: Map<i64, Vec<u32>>,
    /// Netblock → host numbers.
    pub host_netblocks: PrefixTrie<Vec<u32>>,
    pub netblock_country: PrefixTrie<String>,
}

/// Builds an [`Index`] one directory at a time.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    ix: Index,
    /// (host number, raw URL ids) → URL set number.
    set_ids: HashMap<(u32, Box<[i64]>), u32>,
    raw_sets: Vec<(u32, Box<[i64]>)>,
    defects: Vec<String>,
    entries: u64,
}

impl IndexBuilder {
    fn host(&mut self, id: i64) -> u32 {
        let n = self.ix.host_ids.len() as u32;
        *self.ix.host_ids.entry(id).or_insert_with(|| {
            self.ix.hosts.push(Host {
                id,
                weight: 100.0,
                allowed: Box::default(),
            });
            n
        })
    }

    fn country(&mut self, code: &str) -> u16 {
        let code = code.to_ascii_uppercase();
        if let Some(&c) = self.ix.country_ids.get(code.as_str()) {
            return c;
        }
        let n = self.ix.countries.len() as u16;
        self.ix.countries.push(code.clone().into());
        self.ix.country_ids.insert(code.into(), n);
        n
    }

    /// Host-directory entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Add one directory (a later duplicate replaces the earlier one).
    pub fn add_dir(&mut self, d: &MirrorListCacheType) {
        if d.directory.is_empty() {
            self.defects
                .push("MirrorListCache: empty directory name".to_string());
            return;
        }
        let mut ents: Vec<(u32, u32)> = Vec::with_capacity(d.by_host_id.len());
        for h in &d.by_host_id {
            let host = self.host(h.key);
            let key = (host, h.value.clone().into_boxed_slice());
            let next = self.raw_sets.len() as u32;
            let set = match self.set_ids.get(&key) {
                Some(&s) => s,
                None => {
                    self.raw_sets.push(key.clone());
                    self.set_ids.insert(key, next);
                    next
                }
            };
            ents.push((host, set));
        }
        ents.sort_by_key(|e| e.0);
        // A host listed twice keeps its last URL list, as a map would.
        let mut dedup: Vec<(u32, u32)> = Vec::with_capacity(ents.len());
        for e in ents {
            match dedup.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => dedup.push(e),
            }
        }
        self.entries += dedup.len() as u64;
        let start = self.ix.ent_host.len() as u32;
        self.ix.ent_host.extend(dedup.iter().map(|e| e.0));
        self.ix.ent_set.extend(dedup.iter().map(|e| e.1));
        let end = self.ix.ent_host.len() as u32;
        let mut missing: Vec<i64> = Vec::new();
        let mut list = |b: &mut IndexBuilder, raw: &[i64]| -> Range<u32> {
            let mut v: Vec<u32> = Vec::with_capacity(raw.len());
            for &id in raw {
                match b.ix.host_ids.get(&id) {
                    Some(&h)
                        if b.ix.ent_host[start as usize..end as usize]
                            .binary_search(&h)
                            .is_ok() =>
                    {
                        v.push(h)
                    }
                    _ => {
                        if !missing.contains(&id) {
                            missing.push(id);
                        }
                    }
                }
            }
            v.sort_unstable();
            v.dedup();
            let s = b.ix.lists.len() as u32;
            b.ix.lists.extend(v);
            s..b.ix.lists.len() as u32
        };
        let global = list(self, &d.global);
        let mut by_country =
            |b: &mut IndexBuilder, src: &[mm_cachefile::StringRepeatedIntMap]| -> Range<u32> {
                let mut cs: Vec<CountryHosts> = Vec::with_capacity(src.len());
                for c in src {
                    let country = b.country(&c.key);
                    let r = list(b, &c.value);
                    // A country listed twice keeps its last list, as a map would.
                    cs.retain(|x| x.country != country);
                    cs.push(CountryHosts {
                        country,
                        start: r.start,
                        end: r.end,
                    });
                }
                cs.sort_by(|a, b2| {
                    b.ix.countries[a.country as usize].cmp(&b.ix.countries[b2.country as usize])
                });
                let s = b.ix.dir_countries.len() as u32;
                b.ix.dir_countries.extend(cs);
                s..b.ix.dir_countries.len() as u32
            };
        let countries = by_country(self, &d.by_country);
        let countries_i2 = by_country(self, &d.by_country_internet2);
        for h in missing {
            self.defects.push(format!(
                "directory {}: host {h} is referenced without a URL entry (ByHostId)",
                d.directory
            ));
        }
        let dir = Dir {
            subpath: d.subpath.as_deref().map(Into::into),
            ents: start..end,
            global,
            countries,
            countries_i2,
        };
        let n = self.ix.dirs.len() as u32;
        self.ix.dirs.push(dir);
        if let Some(old) = self.ix.dir_ids.insert(d.directory.as_str().into(), n) {
            self.defects.push(format!(
                "MirrorListCache: directory {} listed twice",
                d.directory
            ));
            let _ = old;
        }
    }

    /// Add everything but the directories and finish the index; also returns the defects
    /// found (one sentence each).
    pub fn finish(mut self, ml: &MirrorList) -> (Index, Vec<String>) {
        self.ix.time = ml.time;
        // URLs: equal strings share a number.
        let mut url_of_id: HashMap<i64, u32> = HashMap::with_capacity(ml.hc_url_cache.len());
        let mut url_of_text: HashMap<&str, u32> = HashMap::with_capacity(ml.hc_url_cache.len());
        for u in &ml.hc_url_cache {
            if u.value.is_empty() {
                self.defects
                    .push(format!("HCUrlCache: URL id {} is empty", u.key));
            }
            let n = *url_of_text.entry(u.value.as_str()).or_insert_with(|| {
                let s = scheme(&u.value);
                let base = u.value.trim_end_matches('/');
                let esc = xml_escape(base);
                self.ix.urls.push(Url {
                    scheme: s.into(),
                    rank: proto_rank(s) as u8,
                    base: base.into(),
                    ml_public: format!("\">{esc}").into(),
                    ml_private: format!("\" mm0:private=\"True\">{esc}").into(),
                });
                (self.ix.urls.len() - 1) as u32
            });
            url_of_id.insert(u.key, n);
        }
        // Host attributes.
        for m in &ml.host_bandwidth_cache {
            if let Some(&h) = self.ix.host_ids.get(&m.key) {
                self.ix.hosts[h as usize].weight = m.value.clamp(1, 10_000) as f64;
            }
        }
        for m in &ml.host_country_allowed_cache {
            if let Some(&h) = self.ix.host_ids.get(&m.key) {
                let mut v: Vec<u16> = m.value.iter().map(|c| self.country(c)).collect();
                v.sort_unstable();
                v.dedup();
                self.ix.hosts[h as usize].allowed = v.into();
            }
        }
        let mut location: Vec<Box<str>> = vec!["".into(); self.ix.hosts.len()];
        for m in &ml.host_country_cache {
            if let Some(&h) = self.ix.host_ids.get(&m.key) {
                location[h as usize] = xml_escape(&m.value.to_ascii_uppercase()).into();
            }
        }
        // URL sets.
        let mut reported: HashSet<i64> = HashSet::new();
        for (host, raw) in std::mem::take(&mut self.raw_sets) {
            let mut v: Vec<u32> = Vec::with_capacity(raw.len());
            for id in raw.iter() {
                match url_of_id.get(id) {
                    Some(&u) => v.push(u),
                    None => {
                        if reported.insert(*id) {
                            self.defects.push(format!(
                                "host {} has URL id {id} missing from HCUrlCache",
                                self.ix.hosts[host as usize].id
                            ));
                        }
                    }
                }
            }
            v.sort_by_key(|&u| self.ix.urls[u as usize].rank);
            let loc = &location[host as usize];
            let ml_head = v
                .iter()
                .map(|&u| {
                    let s = xml_escape(&self.ix.urls[u as usize].scheme);
                    format!(
                        "    <url protocol=\"{s}\" type=\"{s}\" location=\"{loc}\" preference=\""
                    )
                    .into()
                })
                .collect();
            let first_ml = v
                .iter()
                .position(|&u| self.ix.urls[u as usize].rank < 3)
                .unwrap_or(v.len()) as u32;
            self.ix.sets.push(UrlSet {
                host,
                urls: v.into(),
                ml_head,
                first_ml,
            });
        }
        self.set_ids = HashMap::new();
        self.ix.host_location = location;
        self.ix.repo_arch = ml
            .repo_arch_to_directory_name
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        for r in &ml.repo_arch_to_directory_name {
            if !r.key.contains('+') {
                self.defects.push(format!(
                    "RepoArchToDirectoryName: key {:?} is not repo+arch",
                    r.key
                ));
            }
            if !self.ix.dir_ids.contains_key(r.value.as_str()) {
                self.defects.push(format!(
                    "RepoArchToDirectoryName: {} points to directory {} which has no MirrorListCache entry",
                    r.key, r.value
                ));
            }
        }
        for d in &ml.file_details_cache {
            let files = self.ix.files.entry(d.directory.clone()).or_default();
            for f in &d.file_details_cache_files {
                let mut v = f.file_details.clone();
                v.sort_by_key(|d| std::cmp::Reverse(d.timestamp));
                files.insert(f.filename.clone(), v);
            }
        }
        self.ix.disabled = ml
            .disabled_repository_cache
            .iter()
            .filter(|m| m.value)
            .map(|m| m.key.clone())
            .collect();
        self.ix.repo_redirect = ml
            .repository_redirect_cache
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        self.ix.country_continent_redirect = ml
            .country_continent_redirect_cache
            .iter()
            .map(|m| (m.key.to_ascii_uppercase(), m.value.to_ascii_uppercase()))
            .collect();
        let host_ids = &self.ix.host_ids;
        let known = |ids: &[i64]| -> Vec<u32> {
            ids.iter()
                .filter_map(|id| host_ids.get(id).copied())
                .collect()
        };
        self.ix.host_asn = ml
            .host_asn_cache
            .iter()
            .map(|m| (m.key, known(&m.value)))
            .collect();
        let mut nets = PrefixTrie::<Vec<u32>>::default();
        for m in &ml.host_netblock_cache {
            match parse_netblock(&m.key) {
                Some(net) => nets.entry(net).extend(known(&m.value)),
                None => log::warn!(
                    "ignoring host netblock {:?}: not an address or network",
                    m.key
                ),
            }
        }
        self.ix.host_netblocks = nets;
        for m in &ml.netblock_country_cache {
            match parse_netblock(&m.key) {
                Some(net) => self
                    .ix
                    .netblock_country
                    .insert(net, m.value.to_ascii_uppercase()),
                None => log::warn!("ignoring netblock country {:?}: not a network", m.key),
            }
        }
        if ml.time == 0 {
            self.defects.insert(0, "creation time is zero".to_string());
        }
        let ix = &mut self.ix;
        ix.ent_host.shrink_to_fit();
        ix.ent_set.shrink_to_fit();
        ix.lists.shrink_to_fit();
        ix.dir_countries.shrink_to_fit();
        ix.dirs.shrink_to_fit();
        (self.ix, self.defects)
    }
}

impl Index {
    /// Build the index of a decoded cache.
    pub fn build(ml: &MirrorList) -> Index {
        let mut b = IndexBuilder::default();
        for d in &ml.mirror_list_cache {
            b.add_dir(d);
        }
        b.finish(ml).0
    }

    /// The directory called `name`, with the name as stored.
    pub fn dir(&self, name: &str) -> Option<(&str, &Dir)> {
        self.dir_ids
            .get_key_value(name)
            .map(|(k, &n)| (&**k, &self.dirs[n as usize]))
    }

    /// Number of directories.
    pub fn dir_count(&self) -> usize {
        self.dir_ids.len()
    }

    /// The entry of `host` in `dir` (its position in the entry arrays).
    pub fn entry(&self, dir: &Dir, host: u32) -> Option<u32> {
        let hs = &self.ent_host[dir.ents.start as usize..dir.ents.end as usize];
        hs.binary_search(&host)
            .ok()
            .map(|i| dir.ents.start + i as u32)
    }

    /// Whether `host` is one of `dir`'s public hosts.
    pub fn is_global(&self, dir: &Dir, host: u32) -> bool {
        self.lists[dir.global.start as usize..dir.global.end as usize]
            .binary_search(&host)
            .is_ok()
    }

    /// The hosts of a country list.
    pub fn list(&self, c: &CountryHosts) -> &[u32] {
        &self.lists[c.start as usize..c.end as usize]
    }

    /// The per-country lists of a range of [`Index::dir_countries`].
    pub fn countries_of(&self, r: &Range<u32>) -> &[CountryHosts] {
        &self.dir_countries[r.start as usize..r.end as usize]
    }

    /// The public hosts of a directory.
    pub fn global(&self, dir: &Dir) -> &[u32] {
        &self.lists[dir.global.start as usize..dir.global.end as usize]
    }

    /// Bytes held by the index's large arrays and strings (an estimate of its heap size).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let dirs = self.dirs.capacity() * size_of::<Dir>()
            + self
                .dir_ids
                .keys()
                .map(|k| k.len() + size_of::<(Box<str>, u32)>() + 8)
                .sum::<usize>()
            + self
                .dirs
                .iter()
                .map(|d| d.subpath.as_ref().map_or(0, |s| s.len()))
                .sum::<usize>();
        let flat = (self.ent_host.capacity() + self.ent_set.capacity() + self.lists.capacity()) * 4
            + self.dir_countries.capacity() * size_of::<CountryHosts>();
        let urls: usize = self
            .urls
            .iter()
            .map(|u| {
                size_of::<Url>()
                    + u.scheme.len()
                    + u.base.len()
                    + u.ml_public.len()
                    + u.ml_private.len()
            })
            .sum();
        let sets: usize = self
            .sets
            .iter()
            .map(|s| {
                size_of::<UrlSet>()
                    + s.urls.len() * 4
                    + s.ml_head.iter().map(|h| h.len() + 16).sum::<usize>()
            })
            .sum();
        let files: usize = self
            .files
            .iter()
            .map(|(d, f)| {
                d.len()
                    + 64
                    + f.iter()
                        .map(|(n, v)| {
                            n.len()
                                + 64
                                + v.iter()
                                    .map(|x| {
                                        size_of::<FileDetailsType>()
                                            + [&x.md5, &x.sha1, &x.sha256, &x.sha512]
                                                .iter()
                                                .map(|h| h.as_ref().map_or(0, |s| s.len()))
                                                .sum::<usize>()
                                    })
                                    .sum::<usize>()
                        })
                        .sum::<usize>()
            })
            .sum();
        let repos: usize = self
            .repo_arch
            .iter()
            .map(|(k, v)| k.len() + v.len() + 64)
            .sum();
        dirs + flat + urls + sets + files + repos + self.hosts.len() * size_of::<Host>()
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
