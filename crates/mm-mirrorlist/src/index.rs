//! The cache turned into a compact index once, at load time, so that answering a request
//! never scans a list and the loaded cache stays small in memory.
//!
//! Layout: hosts, URLs, countries and directories are numbered densely; a directory's hosts
//! are a range of two flat arrays (host number, URL set), sorted by host number so that
//! membership is a binary search; its public hosts and per-country lists are ranges of one
//! flat `u32` array of entry positions (a tier reads its entries without a search), and an
//! entry's URL set number carries a bit saying whether the host is public there. A URL set is a host's URL list (as the cache gives it for a directory),
//! interned, ordered best protocol first, with its text pre-rendered: the request only picks
//! hosts, shuffles them and copies these fragments, packed in one string, into one buffer. [`IndexBuilder`] takes
//! the directories one at a time so that the streaming loader never holds the decoded cache.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

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

/// Append `s` to the packed text and say where it is.
fn push_text(text: &mut String, s: &str) -> Span {
    let start = text.len() as u32;
    text.push_str(s);
    Span {
        start,
        len: s.len() as u32,
    }
}

/// The metalink `<file>` opening of a file: its name, the newest version's details, the
/// older ones as alternates and the `<resources>` start tag. `versions`: newest first,
/// at least one.
pub fn file_xml(name: &str, versions: &[FileDetailsType]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  <file name=\"{}\">", xml_escape(name));
    write_details(&mut out, &versions[0], "   ");
    if versions.len() > 1 {
        out.push_str("   <mm0:alternates>\n");
        for d in &versions[1..] {
            out.push_str("    <mm0:alternate>\n");
            write_details(&mut out, d, "     ");
            out.push_str("    </mm0:alternate>\n");
        }
        out.push_str("   </mm0:alternates>\n");
    }
    out.push_str("   <resources maxconnections=\"1\">\n");
    out
}

/// One version's `mm0:timestamp`, `size` (both left out when zero) and hashes.
fn write_details(out: &mut String, d: &FileDetailsType, indent: &str) {
    if d.timestamp != 0 {
        let _ = writeln!(
            out,
            "{indent}<mm0:timestamp>{}</mm0:timestamp>",
            d.timestamp
        );
    }
    if d.size != 0 {
        let _ = writeln!(out, "{indent}<size>{}</size>", d.size);
    }
    let hashes = [
        ("md5", &d.md5),
        ("sha1", &d.sha1),
        ("sha256", &d.sha256),
        ("sha512", &d.sha512),
    ];
    if hashes.iter().any(|(_, h)| h.is_some()) {
        let _ = writeln!(out, "{indent}<verification>");
        for (t, h) in hashes {
            if let Some(h) = h {
                let _ = writeln!(out, "{indent} <hash type=\"{t}\">{}</hash>", xml_escape(h));
            }
        }
        let _ = writeln!(out, "{indent}</verification>");
    }
}

/// Escape the XML special characters.
pub fn xml_escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
    )
}

/// A piece of [`Index::text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

/// One URL of the cache, pre-rendered.
#[derive(Debug, Clone)]
pub struct Url {
    /// The scheme (`https`, …).
    pub scheme: Box<str>,
    /// Rank in [`PROTO_ORDER`] (4 for any other scheme).
    pub rank: u8,
    /// The URL without trailing slashes (mirrorlist lines start with it).
    pub base: Span,
}

/// One URL of a [`UrlSet`], with its metalink text.
#[derive(Debug, Clone, Copy)]
pub struct SetUrl {
    /// URL number.
    pub url: u32,
    /// `    <url protocol="…" type="…" location="…" preference="` (shared by the sets).
    pub head: Span,
    /// `" mm0:private="True">` and the XML-escaped base: the end of a private host's
    /// `<url …>` start tag. Its last `public` bytes (`">` and the base) end a public one.
    pub text: Span,
    pub public: u32,
}

/// A host's URLs for a directory, interned: best protocol first, duplicates removed.
#[derive(Debug, Clone)]
pub struct UrlSet {
    /// Host number.
    pub host: u32,
    /// Range of [`Index::set_urls`].
    pub urls: Range<u32>,
    /// Position (in `urls`) of the first https/http/ftp URL (what a mirrorlist offers);
    /// the length of `urls` when there is none.
    pub first_ml: u32,
    /// Bytes of the metalink pieces (`head` and text) of all URLs: public, private.
    pub ml_bytes: [u32; 2],
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
    /// Range of [`Index::lists`] (entry positions in the directory, sorted).
    pub start: u32,
    pub end: u32,
}

/// Where a `repo+arch` of the cache points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoTarget {
    /// The directory name.
    pub directory: Box<str>,
    /// Its number (`None`: the cache has no entry for it, a defect reported at load).
    pub dir: Option<u32>,
    /// The name and number of its `repodata` subdirectory, when the cache has it.
    pub repodata: Option<(Box<str>, u32)>,
    /// `repodata/repomd.xml`'s entry in [`Index::file_xml`].
    pub repomd: Option<u32>,
}

/// The bit of [`Index::ent_set`] saying that the entry's host is public in the directory.
pub const PUBLIC: u32 = 1 << 31;
/// The bit of [`Index::ent_set`] saying that the entry's URL set has a URL (a metalink can
/// list the host).
pub const HAS_URL: u32 = 1 << 30;
/// The bit of [`Index::ent_set`] saying that the entry's URL set has an https, http or ftp
/// URL (a mirrorlist can list the host).
pub const HAS_ML_URL: u32 = 1 << 29;
const SET_MASK: u32 = HAS_ML_URL - 1;

/// One directory.
#[derive(Debug, Clone, Default)]
pub struct Dir {
    pub subpath: Option<Box<str>>,
    /// Range of [`Index::ent_host`] / [`Index::ent_set`].
    pub ents: Range<u32>,
    /// Range of [`Index::lists`]: the public hosts' entry positions, sorted.
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
    /// URL set of each directory entry, with [`PUBLIC`] set when the host is one of the
    /// directory's public hosts, [`HAS_URL`] and [`HAS_ML_URL`] when its set has such URLs.
    pub ent_set: Vec<u32>,
    /// Host lists (public hosts, per-country hosts) as entry positions within their
    /// directory, so that a tier reads its entries without searching for them.
    pub lists: Vec<u32>,
    pub dir_countries: Vec<CountryHosts>,
    pub hosts: Vec<Host>,
    pub host_ids: HashMap<i64, u32>,
    /// Host number → XML-escaped country (metalink `location`).
    pub host_location: Vec<Box<str>>,
    pub sets: Vec<UrlSet>,
    pub set_urls: Vec<SetUrl>,
    pub urls: Vec<Url>,
    /// The pre-rendered strings of the URLs and URL sets, packed together: a metalink
    /// copies a few hundred of them, and scattered small strings cost a cache miss each.
    pub text: String,
    /// Country number → upper-case code.
    pub countries: Vec<Box<str>>,
    pub country_ids: Map<Box<str>, u16>,
    /// `repo+arch` → where it points, resolved at load time.
    pub repo_arch: Map<String, RepoTarget>,
    /// directory → file name → the file's metalink `<file>` opening (see [`Index::file_xml`]).
    pub files: Map<Box<str>, Map<Box<str>, u32>>,
    /// Rendered at load time for each file with details: the `<file name=…>` line, its
    /// newest version's timestamp, size and hashes, the older versions as alternates, and
    /// the `<resources>` start tag.
    pub file_xml: Vec<Box<str>>,
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
            // Set numbers share their `u32` with the flag bits; a cache with that many
            // distinct URL lists could not be held in memory anyway.
            debug_assert!(next <= SET_MASK);
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
            let hosts = &b.ix.ent_host[start as usize..end as usize];
            for &id in raw {
                match b
                    .ix
                    .host_ids
                    .get(&id)
                    .and_then(|h| hosts.binary_search(h).ok())
                {
                    Some(off) => v.push(off as u32),
                    None => {
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
        for i in global.clone() {
            let ent = (start + self.ix.lists[i as usize]) as usize;
            self.ix.ent_set[ent] |= PUBLIC;
        }
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
        // Per URL number: its metalink text and the length of the public form.
        let mut ml_text: Vec<(Span, u32)> = Vec::new();
        for u in &ml.hc_url_cache {
            if u.value.is_empty() {
                self.defects
                    .push(format!("HCUrlCache: URL id {} is empty", u.key));
            }
            let n = *url_of_text.entry(u.value.as_str()).or_insert_with(|| {
                let s = scheme(&u.value);
                let base = u.value.trim_end_matches('/');
                let esc = xml_escape(base);
                let ix = &mut self.ix;
                ix.urls.push(Url {
                    scheme: s.into(),
                    rank: proto_rank(s) as u8,
                    base: push_text(&mut ix.text, base),
                });
                let text = push_text(&mut ix.text, &format!("\" mm0:private=\"True\">{esc}"));
                ml_text.push((text, 2 + esc.len() as u32));
                (ix.urls.len() - 1) as u32
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
        let mut heads: HashMap<String, Span> = HashMap::new();
        for (host, raw) in std::mem::take(&mut self.raw_sets) {
            let mut v: Vec<u32> = Vec::with_capacity(raw.len());
            for id in raw.iter() {
                match url_of_id.get(id) {
                    Some(&u) if !v.contains(&u) => v.push(u),
                    Some(_) => {}
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
            let ix = &mut self.ix;
            v.sort_by_key(|&u| ix.urls[u as usize].rank);
            let loc = &location[host as usize];
            let start = ix.set_urls.len() as u32;
            let mut ml_bytes = [0u32; 2];
            for &u in &v {
                let s = xml_escape(&ix.urls[u as usize].scheme);
                let head = format!(
                    "    <url protocol=\"{s}\" type=\"{s}\" location=\"{loc}\" preference=\""
                );
                let text = &mut ix.text;
                let head = *heads.entry(head).or_insert_with_key(|h| push_text(text, h));
                let (text, public) = ml_text[u as usize];
                ml_bytes[0] += head.len + public;
                ml_bytes[1] += head.len + text.len;
                ix.set_urls.push(SetUrl {
                    url: u,
                    head,
                    text,
                    public,
                });
            }
            let first_ml = v
                .iter()
                .position(|&u| ix.urls[u as usize].rank < 3)
                .unwrap_or(v.len()) as u32;
            ix.sets.push(UrlSet {
                host,
                urls: start..ix.set_urls.len() as u32,
                first_ml,
                ml_bytes,
            });
        }
        self.set_ids = HashMap::new();
        let sets = &self.ix.sets;
        for s in self.ix.ent_set.iter_mut() {
            let set = &sets[(*s & SET_MASK) as usize];
            if !set.urls.is_empty() {
                *s |= HAS_URL;
            }
            if (set.first_ml as usize) < set.urls.len() {
                *s |= HAS_ML_URL;
            }
        }
        self.ix.host_location = location;
        for d in &ml.file_details_cache {
            let files = self
                .ix
                .files
                .entry(d.directory.as_str().into())
                .or_default();
            for f in &d.file_details_cache_files {
                if f.file_details.is_empty() {
                    continue;
                }
                let mut v = f.file_details.clone();
                v.sort_by_key(|d| std::cmp::Reverse(d.timestamp));
                let n = self.ix.file_xml.len() as u32;
                self.ix.file_xml.push(file_xml(&f.filename, &v).into());
                files.insert(f.filename.as_str().into(), n);
            }
        }
        for r in &ml.repo_arch_to_directory_name {
            if !r.key.contains('+') {
                self.defects.push(format!(
                    "RepoArchToDirectoryName: key {:?} is not repo+arch",
                    r.key
                ));
            }
            let dir = self.ix.dir_ids.get(r.value.as_str()).copied();
            if dir.is_none() {
                self.defects.push(format!(
                    "RepoArchToDirectoryName: {} points to directory {} which has no MirrorListCache entry",
                    r.key, r.value
                ));
            }
            let repodata = format!("{}/repodata", r.value);
            let target = RepoTarget {
                directory: r.value.as_str().into(),
                dir,
                repodata: self
                    .ix
                    .dir_ids
                    .get(repodata.as_str())
                    .map(|&n| (repodata.as_str().into(), n)),
                repomd: self
                    .ix
                    .files
                    .get(repodata.as_str())
                    .and_then(|f| f.get("repomd.xml"))
                    .copied(),
            };
            self.ix.repo_arch.insert(r.key.clone(), target);
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
        ix.text.shrink_to_fit();
        ix.set_urls.shrink_to_fit();
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

    /// Whether an entry has a URL a metalink (`mirrorlist == false`) or a mirrorlist can
    /// offer when no protocol is asked for.
    pub fn has_url(&self, ent: u32, mirrorlist: bool) -> bool {
        let bit = if mirrorlist { HAS_ML_URL } else { HAS_URL };
        self.ent_set[ent as usize] & bit != 0
    }

    /// Whether a directory entry's host is one of the directory's public hosts.
    pub fn is_public(&self, ent: u32) -> bool {
        self.ent_set[ent as usize] & PUBLIC != 0
    }

    /// The entries of a country list.
    pub fn list(&self, c: &CountryHosts) -> &[u32] {
        &self.lists[c.start as usize..c.end as usize]
    }

    /// The per-country lists of a range of [`Index::dir_countries`].
    pub fn countries_of(&self, r: &Range<u32>) -> &[CountryHosts] {
        &self.dir_countries[r.start as usize..r.end as usize]
    }

    /// The entries of a directory's public hosts.
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
        let urls = self
            .urls
            .iter()
            .map(|u| size_of::<Url>() + u.scheme.len())
            .sum::<usize>()
            + self.sets.capacity() * size_of::<UrlSet>()
            + self.set_urls.capacity() * size_of::<SetUrl>()
            + self.text.capacity();
        let files: usize = self
            .files
            .iter()
            .map(|(d, f)| d.len() + 64 + f.keys().map(|n| n.len() + 32).sum::<usize>())
            .sum::<usize>()
            + self.file_xml.iter().map(|x| x.len() + 16).sum::<usize>();
        let repos: usize = self
            .repo_arch
            .iter()
            .map(|(k, v)| {
                k.len() + v.directory.len() + v.repodata.as_ref().map_or(0, |r| r.0.len()) + 96
            })
            .sum();
        dirs + flat + urls + files + repos + self.hosts.len() * size_of::<Host>()
    }

    /// A piece of the packed text.
    pub fn str(&self, s: Span) -> &str {
        &self.text[s.start as usize..(s.start + s.len) as usize]
    }

    /// The URL set of a directory entry.
    pub fn set_of(&self, ent: u32) -> &UrlSet {
        &self.sets[(self.ent_set[ent as usize] & SET_MASK) as usize]
    }

    /// The URLs of a set, best protocol first.
    pub fn urls_of(&self, set: &UrlSet) -> &[SetUrl] {
        &self.set_urls[set.urls.start as usize..set.urls.end as usize]
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
