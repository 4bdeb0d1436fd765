//! Choosing mirrors for a client: netblock → Internet2 → ASN → country → continent → global, each tier
//! shuffled by bandwidth, honouring country-allowed lists and embargoes.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::geo::Geo;
use crate::index::{CountryHosts, Dir, Index};
use crate::request::Params;

/// What we know about the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub country: Option<String>,
    pub asn: Option<i64>,
    pub continent: Option<String>,
    /// The client is on an Internet2 network.
    pub internet2: bool,
}

/// The continent of a country: the cache's redirect first, then the CSV.
pub fn continent_of(ix: &Index, geo: &Geo, country: &str) -> Option<String> {
    continent_ref(ix, geo, country).map(str::to_string)
}

/// [`continent_of`] without a copy.
pub fn continent_ref<'a>(ix: &'a Index, geo: &'a Geo, country: &str) -> Option<&'a str> {
    ix.country_continent_redirect
        .get(country)
        .or_else(|| geo.continents.get(country))
        .map(String::as_str)
}

/// Locate a client: NetblockCountryCache first, then GeoIP2; ASN from the global netblocks.
pub fn locate(ix: &Index, geo: &Geo, ip: IpAddr) -> Client {
    let country = ix
        .netblock_country
        .longest(ip)
        .cloned()
        .or_else(|| geo.geoip_country(ip));
    let continent = country.as_deref().and_then(|c| continent_of(ix, geo, c));
    Client {
        ip: Some(ip),
        internet2: geo.internet2.longest(ip).is_some(),
        asn: geo.asn_of(ip),
        country,
        continent,
    }
}

/// Shuffle so that an item's chance of coming early is proportional to its weight
/// (Efraimidis–Spirakis: sort by `-ln(u) / w`). The keys are sorted as `f32` bit patterns
/// (order-preserving for positive floats) packed with the item's position into a `u64`.
pub fn weighted_shuffle<T: Copy>(items: &mut [T], weight: impl Fn(T) -> f64) {
    Shuffler::new().shuffle(items, weight);
}

/// [`weighted_shuffle`] with its own random generator and buffers, reused across the tiers
/// of a request.
#[derive(Debug)]
pub struct Shuffler<T> {
    rng: fastrand::Rng,
    keys: Vec<u64>,
    copy: Vec<T>,
}

impl<T: Copy> Shuffler<T> {
    /// A shuffler seeded from the thread's generator.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A shuffler with room for `n` items.
    pub fn with_capacity(n: usize) -> Self {
        Shuffler {
            rng: fastrand::Rng::with_seed(fastrand::u64(..)),
            keys: Vec::with_capacity(n),
            copy: Vec::with_capacity(n),
        }
    }

    /// Shuffle `items` by `weight`.
    pub fn shuffle(&mut self, items: &mut [T], weight: impl Fn(T) -> f64) {
        if items.len() < 2 {
            return;
        }
        self.keys.clear();
        for (i, &h) in items.iter().enumerate() {
            let u = 1.0 - self.rng.f32(); // (0, 1]
            let key = (-u.ln() / weight(h).max(1e-9) as f32).abs();
            self.keys.push((u64::from(key.to_bits()) << 32) | i as u64);
        }
        self.keys.sort_unstable();
        self.copy.clear();
        self.copy.extend_from_slice(items);
        for (slot, &k) in items.iter_mut().zip(&self.keys) {
            *slot = self.copy[(k & 0xffff_ffff) as usize];
        }
    }
}

impl<T: Copy> Default for Shuffler<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The tier a request's first mirror came from (the `tier` label on `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tier {
    Netblock,
    Internet2,
    Asn,
    Country,
    Continent,
    Global,
    /// No mirror was found.
    #[default]
    None,
}

impl Tier {
    /// Every tier, in the order they are tried (`None` last).
    pub const ALL: [Tier; 7] = [
        Tier::Netblock,
        Tier::Internet2,
        Tier::Asn,
        Tier::Country,
        Tier::Continent,
        Tier::Global,
        Tier::None,
    ];

    /// The label.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Netblock => "netblock",
            Tier::Internet2 => "internet2",
            Tier::Asn => "asn",
            Tier::Country => "country",
            Tier::Continent => "continent",
            Tier::Global => "global",
            Tier::None => "none",
        }
    }
}

/// One chosen host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    /// Host number.
    pub host: u32,
    /// Its entry in the directory (see [`Index::ent_set`]).
    pub ent: u32,
    /// Not in the directory's public list.
    pub private: bool,
}

/// The chosen hosts in order and the header words describing the tiers used.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub hosts: Vec<Pick>,
    pub header: String,
    pub embargoed: bool,
    /// The tier of the first host.
    pub tier: Tier,
}

struct Picker<'a> {
    ix: &'a Index,
    dir: &'a Dir,
    /// The client's country number, when the cache knows the country.
    client_country: Option<u16>,
    usable: &'a dyn Fn(u32) -> bool,
    /// Hosts already chosen (bit per host number).
    seen: Vec<u64>,
    out: Vec<Pick>,
    tier: Tier,
    shuffler: Shuffler<Pick>,
}

impl Picker<'_> {
    fn allowed(&self, h: u32) -> bool {
        let allowed = &self.ix.hosts[h as usize].allowed;
        allowed.is_empty()
            || self
                .client_country
                .is_some_and(|c| allowed.binary_search(&c).is_ok())
    }

    /// Add one tier from lists of the directory's entries (its public list or country
    /// lists); returns how many hosts it added. Country-allowed lists apply to the country,
    /// continent and global tiers, not to a mirror's own netblocks and ASNs.
    fn tier(&mut self, tier: Tier, lists: &[&[u32]]) -> usize {
        self.entries(tier, lists, true)
    }

    /// Add the entries of `lists` (positions in the directory) as one tier.
    fn entries(&mut self, tier: Tier, lists: &[&[u32]], check_allowed: bool) -> usize {
        let from = self.out.len();
        let base = self.dir.ents.start;
        for offs in lists {
            for &o in *offs {
                let ent = base + o;
                self.consider(self.ix.ent_host[ent as usize], ent, check_allowed);
            }
        }
        self.close(tier, from)
    }

    /// Add one tier of a mirror's own hosts (netblock, ASN).
    fn preferred<'h>(&mut self, tier: Tier, hosts: impl IntoIterator<Item = &'h u32>) -> usize {
        let from = self.out.len();
        for &h in hosts {
            if let Some(ent) = self.ix.entry(self.dir, h) {
                self.consider(h, ent, false);
            }
        }
        self.close(tier, from)
    }

    /// Take host `h` (entry `ent` of the directory) unless already taken, not allowed for
    /// the client or without a usable URL.
    fn consider(&mut self, h: u32, ent: u32, check_allowed: bool) {
        let (word, bit) = (h as usize / 64, 1u64 << (h % 64));
        if self.seen[word] & bit != 0 || (check_allowed && !self.allowed(h)) || !(self.usable)(ent)
        {
            return;
        }
        self.seen[word] |= bit;
        self.out.push(Pick {
            host: h,
            ent,
            private: !self.ix.is_public(ent),
        });
    }

    /// Shuffle the hosts added since `from` by bandwidth; returns how many there are.
    fn close(&mut self, tier: Tier, from: usize) -> usize {
        let hosts = &self.ix.hosts;
        self.shuffler.shuffle(&mut self.out[from..], |p: Pick| {
            hosts[p.host as usize].weight
        });
        let n = self.out.len() - from;
        if from == 0 && n > 0 {
            self.tier = tier;
        }
        n
    }
}

/// Choose the hosts for `dir`. `usable(entry)` says whether the host's entry has a URL the
/// request can use (protocol filter).
#[allow(clippy::too_many_arguments)]
pub fn select(
    ix: &Index,
    geo: &Geo,
    dir: &Dir,
    params: &Params,
    client: &Client,
    minimum: usize,
    embargoed: &HashSet<String>,
    usable: &dyn Fn(u32) -> bool,
) -> Selection {
    let mut header = String::new();
    if let Some(c) = &client.country
        && embargoed.contains(c)
    {
        return Selection {
            hosts: Vec::new(),
            header,
            embargoed: true,
            tier: Tier::None,
        };
    }
    let mut p = Picker {
        ix,
        dir,
        client_country: client
            .country
            .as_deref()
            .and_then(|c| ix.country_ids.get(c).copied()),
        usable,
        seen: vec![0; ix.hosts.len().div_ceil(64)],
        out: Vec::with_capacity((dir.ents.end - dir.ents.start) as usize),
        tier: Tier::None,
        shuffler: Shuffler::with_capacity((dir.ents.end - dir.ents.start) as usize),
    };
    let countries = ix.countries_of(&dir.countries);
    let name = |c: &CountryHosts| -> &str { &ix.countries[c.country as usize] };
    let find = |code: &str| countries.iter().find(|c| name(c) == code);
    // The countries of the directory (sorted by code) on `continents`, except `exclude`.
    let continent_hosts = |continents: &[&str], exclude: &[&str]| -> Vec<&CountryHosts> {
        countries
            .iter()
            .filter(|c| !exclude.contains(&name(c)))
            .filter(|c| continent_ref(ix, geo, name(c)).is_some_and(|k| continents.contains(&k)))
            .collect()
    };

    if !params.countries.is_empty() {
        // Only what was asked for (and, when none of it has mirrors, the continents of the
        // countries asked for): no GeoIP, no continent or global fill.
        for c in &params.countries {
            if c == "GLOBAL" {
                p.tier(Tier::Global, &[ix.global(dir)]);
                header.push_str("country = global ");
            } else if let Some(hosts) = find(c) {
                p.tier(Tier::Country, &[ix.list(hosts)]);
                header.push_str(&format!("country = {c} "));
            }
        }
        if p.out.is_empty() {
            let mut continents: Vec<&str> = params
                .countries
                .iter()
                .filter_map(|c| continent_ref(ix, geo, c))
                .collect();
            continents.sort_unstable();
            continents.dedup();
            let exclude: Vec<&str> = params.countries.iter().map(String::as_str).collect();
            let cs = continent_hosts(&continents, &exclude);
            p.tier(
                Tier::Continent,
                &cs.iter().map(|c| ix.list(c)).collect::<Vec<_>>(),
            );
            for c in cs {
                header.push_str(&format!("country = {} ", name(c)));
            }
        }
        if !p.out.is_empty() {
            return Selection {
                hosts: p.out,
                header,
                embargoed: false,
                tier: p.tier,
            };
        }
        // Neither the countries asked for nor their continents have a mirror of this
        // directory: answer as if no country had been asked for (as Fedora's server does),
        // rather than with an empty list that dnf cannot use.
        header.clear();
    }

    if params.netblock
        && let Some(ip) = client.ip
    {
        let mut n = 0;
        for (_, hosts) in ix.host_netblocks.matches(ip) {
            n += p.preferred(Tier::Netblock, hosts);
        }
        if n > 0 {
            header.push_str("Using preferred netblock ");
        }
    }
    if client.internet2
        && let Some(c) = &client.country
        && let Some(hosts) = ix
            .countries_of(&dir.countries_i2)
            .iter()
            .find(|x| name(x) == c.as_str())
        && p.entries(Tier::Internet2, &[ix.list(hosts)], false) > 0
    {
        header.push_str("Using Internet2 ");
    }
    if let Some(asn) = client.asn
        && let Some(hosts) = ix.host_asn.get(&asn)
        && p.preferred(Tier::Asn, hosts) > 0
    {
        header.push_str(&format!("Using ASN {asn} "));
    }
    if let Some(c) = &client.country
        && let Some(hosts) = find(c)
        && p.tier(Tier::Country, &[ix.list(hosts)]) > 0
    {
        header.push_str(&format!("country = {c} "));
    }
    // The rest of the client's continent always follows (as Fedora's server does).
    if let Some(cont) = &client.continent {
        let exclude: Vec<&str> = client.country.iter().map(String::as_str).collect();
        let cs = continent_hosts(&[cont.as_str()], &exclude);
        if p.tier(
            Tier::Continent,
            &cs.iter().map(|c| ix.list(c)).collect::<Vec<_>>(),
        ) > 0
        {
            for c in cs {
                header.push_str(&format!("country = {} ", name(c)));
            }
        }
    }
    if p.out.len() < minimum {
        p.tier(Tier::Global, &[ix.global(dir)]);
        header.push_str("country = global ");
    }
    Selection {
        hosts: p.out,
        header,
        embargoed: false,
        tier: p.tier,
    }
}
