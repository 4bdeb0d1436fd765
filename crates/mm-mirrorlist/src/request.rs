//! Query-string parsing: percent-decoding and the request parameters of `/mirrorlist` and
//! `/metalink`.

use std::net::IpAddr;

/// Decode `%XX` escapes and `+` (a space) in one query component.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Split a query string into decoded `(key, value)` pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// What a request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub repo: Option<String>,
    pub arch: Option<String>,
    pub path: Option<String>,
    /// Upper-case country codes or `GLOBAL`.
    pub countries: Vec<String>,
    pub ip: Option<String>,
    pub netblock: bool,
    /// Lower-case protocols; empty = any.
    pub protocols: Vec<String>,
    pub redirect: bool,
    pub time: bool,
}

impl Params {
    /// Parameters from a raw query string (last occurrence of a key wins).
    pub fn from_query(q: &str) -> Params {
        let mut p = Params {
            netblock: true,
            ..Default::default()
        };
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        for (k, v) in parse_query(q) {
            let v = v.trim().to_string();
            match k.as_str() {
                "repo" if !v.is_empty() => p.repo = Some(v),
                "arch" if !v.is_empty() => p.arch = Some(v),
                "path" if !v.is_empty() => p.path = Some(v),
                "country" => {
                    p.countries = list(&v)
                        .into_iter()
                        .map(|c| c.to_ascii_uppercase())
                        .collect()
                }
                "ip" if !v.is_empty() => p.ip = Some(v),
                "netblock" => p.netblock = !matches!(v.as_str(), "0" | "no" | "false"),
                "protocol" => {
                    p.protocols = list(&v)
                        .into_iter()
                        .map(|c| c.to_ascii_lowercase())
                        .collect()
                }
                "redirect" => p.redirect = matches!(v.as_str(), "1" | "yes" | "true"),
                "time" => p.time = true,
                _ => {}
            }
        }
        p
    }
}

/// The client address: `ip=`, else the last `X-Forwarded-For` element, else the peer.
/// IPv4-mapped IPv6 addresses become IPv4. An unparsable address is an error naming it.
pub fn client_ip(
    param: Option<&str>,
    forwarded_for: Option<&str>,
    peer: IpAddr,
) -> Result<IpAddr, String> {
    let raw = match (param, forwarded_for) {
        (Some(ip), _) => Some(ip.trim()),
        (None, Some(xff)) => xff
            .rsplit(',')
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        _ => None,
    };
    let ip = match raw {
        Some(s) => s.parse::<IpAddr>().map_err(|_| s.to_string())?,
        None => peer,
    };
    Ok(match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("fedora%2D41"), "fedora-41");
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("pub%2Ffedora"), "pub/fedora");
    }

    #[test]
    fn params() {
        let p = Params::from_query(
            "repo=fedora%2D41&arch=x86_64&country=de,Fr&protocol=HTTPS&netblock=0&redirect=1&time",
        );
        assert_eq!(p.repo.as_deref(), Some("fedora-41"));
        assert_eq!(p.countries, ["DE", "FR"]);
        assert_eq!(p.protocols, ["https"]);
        assert!(!p.netblock && p.redirect && p.time);
        let p = Params::from_query("path=pub/x&repo=");
        assert_eq!(p.repo, None);
        assert!(p.netblock);
    }

    #[test]
    fn client_addresses() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(Some("10.0.0.1"), Some("1.1.1.1"), peer)
                .unwrap()
                .to_string(),
            "10.0.0.1"
        );
        assert_eq!(
            client_ip(None, Some("1.1.1.1, 2.2.2.2"), peer)
                .unwrap()
                .to_string(),
            "2.2.2.2"
        );
        assert_eq!(
            client_ip(None, None, "::ffff:192.0.2.1".parse().unwrap())
                .unwrap()
                .to_string(),
            "192.0.2.1"
        );
        assert_eq!(client_ip(Some("nope"), None, peer).unwrap_err(), "nope");
    }
}
