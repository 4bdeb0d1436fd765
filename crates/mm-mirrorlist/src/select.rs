//! Choosing mirrors for a client: netblock → Internet2 → ASN → country → continent → global, each tier
//! shuffled by bandwidth, honouring country-allowed lists and embargoes.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use crate::geo::Geo;
use crate::index::{DirEntry, Index};
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
    ix.country_continent_redirect
        .get(country)
        .or_else(|| geo.continents.get(country))
        .cloned()
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

/// Shuffle so that a host's chance of coming early is proportional to its weight
/// (Efraimidis–Spirakis: sort by `-ln(u) / w`).
pub fn weighted_shuffle(hosts: &mut [i64], weight: impl Fn(i64) -> f64) {
    let mut keyed: Vec<(f64, i64)> = hosts
        .iter()
        .map(|&h| {
            let u = 1.0 - fastrand::f64(); // (0, 1]
            (-u.ln() / weight(h).max(1e-9), h)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, h)) in hosts.iter_mut().zip(keyed) {
        *slot = h;
    }
}

/// The chosen hosts in order, whether each is private (not in the directory's global
/// list), and the header words describing the tiers used.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub hosts: Vec<(i64, bool)>,
    pub header: String,
    pub embargoed: bool,
}

struct Picker<'a> {
    ix: &'a Index,
    dir: &'a DirEntry,
    client_country: Option<&'a str>,
    usable: &'a dyn Fn(i64) -> bool,
    seen: HashSet<i64>,
    out: Vec<(i64, bool)>,
}

impl Picker<'_> {
    fn allowed(&self, h: i64) -> bool {
        match self.ix.host_country_allowed.get(&h) {
            None => true,
            Some(set) if set.is_empty() => true,
            Some(set) => self.client_country.is_some_and(|c| set.contains(c)),
        }
    }

    /// Add one tier; returns how many hosts it added. Country-allowed lists apply to the
    /// country, continent and global tiers, not to a mirror's own netblocks and ASNs.
    fn tier<'h>(&mut self, hosts: impl IntoIterator<Item = &'h i64>) -> usize {
        self.add(hosts, true)
    }

    fn preferred<'h>(&mut self, hosts: impl IntoIterator<Item = &'h i64>) -> usize {
        self.add(hosts, false)
    }

    fn add<'h>(&mut self, hosts: impl IntoIterator<Item = &'h i64>, check_allowed: bool) -> usize {
        let mut v: Vec<i64> = hosts
            .into_iter()
            .copied()
            .filter(|h| !self.seen.contains(h))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|&h| self.dir.by_host.contains_key(&h) && (!check_allowed || self.allowed(h)) && (self.usable)(h))
            .collect();
        let bw = |h: i64| self.ix.host_bandwidth.get(&h).copied().unwrap_or(100).clamp(1, 10_000) as f64;
        weighted_shuffle(&mut v, bw);
        for &h in &v {
            self.seen.insert(h);
            self.out.push((h, !self.dir.global_set.contains(&h)));
        }
        v.len()
    }
}

/// Choose the hosts for `dir`. `usable(host)` says whether the host has a URL the request
/// can use (protocol filter).
#[allow(clippy::too_many_arguments)]
pub fn select(
    ix: &Index,
    geo: &Geo,
    dir: &DirEntry,
    params: &Params,
    client: &Client,
    minimum: usize,
    embargoed: &HashSet<String>,
    usable: &dyn Fn(i64) -> bool,
) -> Selection {
    let mut header = String::new();
    if let Some(c) = &client.country
        && embargoed.contains(c)
    {
        return Selection {
            hosts: Vec::new(),
            header,
            embargoed: true,
        };
    }
    let mut p = Picker {
        ix,
        dir,
        client_country: client.country.as_deref(),
        usable,
        seen: HashSet::new(),
        out: Vec::new(),
    };
    let continent_hosts = |continents: &BTreeSet<String>, exclude: &HashSet<&str>| {
        let mut countries: Vec<&String> = dir
            .by_country
            .keys()
            .filter(|c| !exclude.contains(c.as_str()))
            .filter(|c| continent_of(ix, geo, c).is_some_and(|k| continents.contains(&k)))
            .collect();
        countries.sort();
        countries
    };

    if !params.countries.is_empty() {
        // Only what was asked for: no GeoIP, no continent/global fill.
        for c in &params.countries {
            if c == "GLOBAL" {
                p.tier(&dir.global);
                header.push_str("country = global ");
            } else if let Some(hosts) = dir.by_country.get(c) {
                p.tier(hosts);
                header.push_str(&format!("country = {c} "));
            }
        }
        if p.out.is_empty() {
            let continents: BTreeSet<String> = params
                .countries
                .iter()
                .filter_map(|c| continent_of(ix, geo, c))
                .collect();
            let exclude: HashSet<&str> = params.countries.iter().map(String::as_str).collect();
            let countries = continent_hosts(&continents, &exclude);
            p.tier(countries.iter().flat_map(|c| dir.by_country[*c].iter()));
            for c in countries {
                header.push_str(&format!("country = {c} "));
            }
        }
        return Selection {
            hosts: p.out,
            header,
            embargoed: false,
        };
    }

    if params.netblock
        && let Some(ip) = client.ip
    {
        let mut n = 0;
        for (_, hosts) in ix.host_netblocks.matches(ip) {
            n += p.preferred(hosts);
        }
        if n > 0 {
            header.push_str("Using preferred netblock ");
        }
    }
    if client.internet2
        && let Some(c) = &client.country
        && let Some(hosts) = dir.by_country_internet2.get(c)
        && p.preferred(hosts) > 0
    {
        header.push_str("Using Internet2 ");
    }
    if let Some(asn) = client.asn
        && let Some(hosts) = ix.host_asn.get(&asn)
        && p.preferred(hosts) > 0
    {
        header.push_str(&format!("Using ASN {asn} "));
    }
    if let Some(c) = &client.country
        && let Some(hosts) = dir.by_country.get(c)
        && p.tier(hosts) > 0
    {
        header.push_str(&format!("country = {c} "));
    }
    // The rest of the client's continent always follows (as Fedora's server does).
    if let Some(cont) = &client.continent {
        let continents = BTreeSet::from([cont.clone()]);
        let exclude: HashSet<&str> = client.country.iter().map(String::as_str).collect();
        let countries = continent_hosts(&continents, &exclude);
        if p.tier(countries.iter().flat_map(|c| dir.by_country[*c].iter())) > 0 {
            for c in countries {
                header.push_str(&format!("country = {c} "));
            }
        }
    }
    if p.out.len() < minimum {
        p.tier(&dir.global);
        header.push_str("country = global ");
    }
    Selection {
        hosts: p.out,
        header,
        embargoed: false,
    }
}
