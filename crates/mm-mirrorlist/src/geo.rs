//! Where a client is: GeoIP2 country database, the global netblocks file (`CIDR ASN`
//! lines) and the country→continent CSV (`CC,CONTINENT` lines).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use crate::trie::{PrefixTrie, parse_netblock};

/// Errors loading the location data files.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a MaxMind database: {source}")]
    Mmdb {
        path: String,
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    #[error("{path}: line {line}: {problem}")]
    Line {
        path: String,
        line: usize,
        problem: String,
    },
    /// One of the above, saying which file it is (`inner`: not a `#[source]`, its text is
    /// already in the message).
    #[error("{what} {inner}")]
    Named {
        what: &'static str,
        inner: Box<GeoError>,
    },
}

fn named<T>(what: &'static str, r: Result<T, GeoError>) -> Result<T, GeoError> {
    r.map_err(|e| GeoError::Named {
        what,
        inner: Box::new(e),
    })
}

/// An empty file switches a tier off for every client: say so (a failed download or
/// transfer leaves such a file).
fn warn_if_empty(what: &str, path: &Path, entries: usize, tier: &str) {
    if entries == 0 {
        log::warn!(
            "{what} {} has no entries: the {tier} tier is off",
            path.display()
        );
    }
}

/// Location data that does not come from the cache.
#[derive(Default)]
pub struct Geo {
    pub geoip: Option<maxminddb::Reader<Vec<u8>>>,
    /// Network → ASN.
    pub asn: PrefixTrie<i64>,
    /// Country → continent.
    pub continents: HashMap<String, String>,
    /// Internet2 networks (clients here get ByCountryInternet2 hosts).
    pub internet2: PrefixTrie<()>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo")
            .field("geoip", &self.geoip.is_some())
            .field("asn_networks", &self.asn.len())
            .field("continents", &self.continents.len())
            .field("internet2_networks", &self.internet2.len())
            .finish()
    }
}

fn read(path: &Path) -> Result<String, GeoError> {
    std::fs::read_to_string(path).map_err(|source| GeoError::Io {
        path: path.display().to_string(),
        source,
    })
}

impl Geo {
    /// Load whichever files are given.
    pub fn load(
        geoip: Option<&Path>,
        global_netblocks: Option<&Path>,
        cccsv: Option<&Path>,
        i2_netblocks: Option<&Path>,
    ) -> Result<Geo, GeoError> {
        let mut g = Geo::default();
        if let Some(p) = geoip {
            let reader = maxminddb::Reader::open_readfile(p).map_err(|source| GeoError::Mmdb {
                path: p.display().to_string(),
                source,
            });
            g.geoip = Some(named("GeoIP database", reader)?);
        }
        const NETBLOCKS: &str = "global netblocks file";
        const CONTINENTS: &str = "country-continent file";
        const I2: &str = "Internet2 netblocks file";
        if let Some(p) = global_netblocks {
            g.asn = named(
                NETBLOCKS,
                read(p).and_then(|t| parse_global_netblocks(&t, p)),
            )?;
            warn_if_empty(NETBLOCKS, p, g.asn.len(), "ASN");
        }
        if let Some(p) = cccsv {
            g.continents = named(CONTINENTS, read(p).and_then(|t| parse_cccsv(&t, p)))?;
            warn_if_empty(CONTINENTS, p, g.continents.len(), "continent");
        }
        if let Some(p) = i2_netblocks {
            g.internet2 = named(I2, read(p).and_then(|t| parse_i2_netblocks(&t, p)))?;
            warn_if_empty(I2, p, g.internet2.len(), "Internet2");
        }
        let shown = |p: Option<&Path>, n: usize, unit: &str| match p {
            Some(p) => format!("{n} {unit} from {}", p.display()),
            None => "none given".to_string(),
        };
        log::info!(
            "location data: GeoIP {}; global netblocks: {}; continents: {}; Internet2: {}",
            geoip.map_or("none given".to_string(), |p| p.display().to_string()),
            shown(global_netblocks, g.asn.len(), "networks"),
            shown(cccsv, g.continents.len(), "countries"),
            shown(i2_netblocks, g.internet2.len(), "networks"),
        );
        Ok(g)
    }

    /// The GeoIP2 country of an address (6to4 and Teredo addresses by their IPv4 address).
    pub fn geoip_country(&self, ip: IpAddr) -> Option<String> {
        let reader = self.geoip.as_ref()?;
        let ip = embedded_ipv4(ip).map(IpAddr::V4).unwrap_or(ip);
        let ip = if reader.metadata().ip_version == 4 {
            match ip {
                IpAddr::V6(a) => IpAddr::V4(a.to_ipv4_mapped()?),
                v4 => v4,
            }
        } else {
            ip
        };
        let res = reader.lookup(ip).ok()?;
        let cc: Option<String> = res
            .decode_path(&[
                maxminddb::PathElement::Key("country"),
                maxminddb::PathElement::Key("iso_code"),
            ])
            .ok()
            .flatten();
        cc.map(|c| c.to_ascii_uppercase())
    }

    /// The ASN announcing an address, from the global netblocks file.
    pub fn asn_of(&self, ip: IpAddr) -> Option<i64> {
        self.asn.longest(ip).copied()
    }
}

/// The IPv4 address inside a 6to4 (`2002::/16`) or Teredo (`2001::/32`) address.
pub fn embedded_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(a) = ip else { return None };
    let s = a.segments();
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        let x = !(((s[6] as u32) << 16) | s[7] as u32);
        return Some(Ipv4Addr::from(x));
    }
    None
}

/// `CIDR ASN` per line; blank lines and `#` comments are skipped.
pub fn parse_global_netblocks(text: &str, path: &Path) -> Result<PrefixTrie<i64>, GeoError> {
    let mut t = PrefixTrie::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |problem: &str| GeoError::Line {
            path: path.display().to_string(),
            line: i + 1,
            problem: format!("{problem}: {line:?}"),
        };
        let mut parts = line.split_whitespace();
        let net = parts
            .next()
            .and_then(parse_netblock)
            .ok_or_else(|| bad("expected a network"))?;
        let asn: i64 = parts
            .next()
            .and_then(|a| a.trim_start_matches("AS").parse().ok())
            .ok_or_else(|| bad("expected `CIDR ASN`"))?;
        t.insert(net, asn);
    }
    Ok(t)
}

/// One network per line (anything after it, such as an ASN, is ignored).
pub fn parse_i2_netblocks(text: &str, path: &Path) -> Result<PrefixTrie<()>, GeoError> {
    let mut t = PrefixTrie::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let net = line
            .split_whitespace()
            .next()
            .and_then(parse_netblock)
            .ok_or_else(|| GeoError::Line {
                path: path.display().to_string(),
                line: i + 1,
                problem: format!("expected a network: {line:?}"),
            })?;
        t.insert(net, ());
    }
    Ok(t)
}

/// `CC,CONTINENT` per line (quotes allowed); a header line and comments are skipped.
pub fn parse_cccsv(text: &str, path: &Path) -> Result<HashMap<String, String>, GeoError> {
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((cc, cont)) = line.split_once(',') else {
            return Err(GeoError::Line {
                path: path.display().to_string(),
                line: i + 1,
                problem: format!("expected `country,continent`: {line:?}"),
            });
        };
        let cc = cc.trim().trim_matches('"').to_ascii_uppercase();
        let cont = cont.trim().trim_matches('"').to_ascii_uppercase();
        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_alphabetic()) {
            // A header such as `code,continent`.
            continue;
        }
        m.insert(cc, cont);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_to_four_and_teredo() {
        assert_eq!(
            embedded_ipv4("2002:c000:0207::1".parse().unwrap()),
            Some(Ipv4Addr::new(192, 0, 2, 7))
        );
        // Teredo: client address is the last 32 bits inverted.
        assert_eq!(
            embedded_ipv4("2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap()),
            Some(Ipv4Addr::new(192, 0, 2, 45))
        );
        assert_eq!(embedded_ipv4("2001:db8::1".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("10.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn data_files_parse() {
        let p = Path::new("x");
        let t =
            parse_global_netblocks("# c\n1.0.0.0/24 13335\n2001:db8::/32 AS64500\n", p).unwrap();
        assert_eq!(t.longest("1.0.0.9".parse().unwrap()), Some(&13335));
        assert_eq!(t.longest("2001:db8::9".parse().unwrap()), Some(&64500));
        let e = parse_global_netblocks("1.0.0.0/24\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
        let m = parse_cccsv("code,continent\nDE,EU\n\"us\",\"NA\"\n", p).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["US"], "NA");
        let i2 = parse_i2_netblocks("198.18.0.0/15 11537\n", p).unwrap();
        assert!(i2.longest("198.19.1.1".parse().unwrap()).is_some());
        assert!(parse_i2_netblocks("nonsense\n", p).is_err());
    }
}
