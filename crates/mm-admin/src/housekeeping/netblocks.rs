//! Turn a BGP table dump in text form into `CIDR ASN` lines (the netblocks files the
//! mirrorlist server reads), as MM2's netblocks jobs do.
//!
//! Two text formats are understood, line by line, and may be mixed:
//! - `PREFIX AS-PATH` (the output of zebra-dump-parser / `bgpdump`-style tools MM2's older
//!   scripts used): `192.0.2.0/24 3356 64500`; the origin AS is the last plain AS number of
//!   the path (AS sets such as `{64510,64511}` are skipped, as MM2 takes the last AS of the
//!   last AS_SEQUENCE); a trailing origin code (`i`, `e`, `?`) is ignored.
//! - `bgpdump -m` one-line records (`TABLE_DUMP2|time|B|peer|peer AS|PREFIX|AS PATH|…`), the
//!   usual text form of RouteViews/RIPE RIS MRT dumps; withdrawals (`W`) are skipped.
//! - `show ip bgp` router output: status codes (`*>`, `*>i`, `* `), network, next hop,
//!   metric, local preference, weight, AS path, origin code. When the `Network  Next Hop …
//!   Path` header is present its `Path` column is used, so weights are never taken for an
//!   AS; without it the last plain number of the line is the AS. A line without a network
//!   (another path of the previous network) uses the previous network; a network alone on
//!   its line (a long IPv6 prefix) carries over to the next line. Classful IPv4 networks
//!   printed without a length get their class length (A /8, B /16, C /24).
//!
//! Skipped without complaint: blank lines, `#` comments, the router's header and footer
//! lines, default routes, locally originated routes (empty AS path), `Unknown` origins and
//! `2001::/32` (Teredo, announced by many ASes), as MM2 skips them. Any other line that does
//! not parse is reported with its line number. Duplicate `CIDR ASN` pairs are written once.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// Which netblocks file is being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The global netblocks file (kept in the dump's order)
    Global,
    /// The Internet2 netblocks file (sorted by network, as MM2 sorts it)
    Internet2,
}

/// One line that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number in the source.
    pub line: usize,
    pub problem: String,
}

/// What a dump yielded.
#[derive(Debug, Default)]
pub struct Parsed {
    /// `(network, origin AS)`, deduplicated, in the dump's order.
    pub entries: Vec<(IpNet, u32)>,
    pub bad: Vec<BadLine>,
    /// Lines skipped on purpose (headers, default routes, local routes, exclusions).
    pub skipped: usize,
}

impl Parsed {
    /// The output text: one `CIDR ASN` per line, sorted by network for Internet2.
    pub fn render(&self, kind: Kind) -> String {
        let mut rows = self.entries.clone();
        if kind == Kind::Internet2 {
            rows.sort_by_key(|(net, asn)| (net.addr(), net.prefix_len(), *asn));
        }
        let mut out = String::with_capacity(rows.len() * 24);
        for (net, asn) in rows {
            out.push_str(&format!("{net} {asn}\n"));
        }
        out
    }
}

/// Header and footer lines of `show ip bgp` output.
const HEADER_STARTS: &[&str] = &[
    "BGP table version",
    "BGP routing table",
    "Status codes",
    "Origin codes",
    "RPKI validation codes",
    "Network",
    "Total number of",
    "Displayed",
    "Default local pref",
    "Route Distinguisher",
    "Nexthop codes",
    "local router ID",
    "Path selection",
];

/// Prefixes that MM2 leaves out of its netblocks files.
fn excluded(net: &IpNet) -> bool {
    net.prefix_len() == 0 || *net == "2001::/32".parse::<IpNet>().expect("valid net")
}

/// A network as written in a dump: `a.b.c.d/len`, `v6::/len`, or a classful IPv4 address.
fn parse_net(tok: &str) -> Option<IpNet> {
    if tok.contains('/') {
        return tok.parse::<IpNet>().ok().map(|n| n.trunc());
    }
    let a: Ipv4Addr = tok.parse().ok()?;
    let len = match a.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    };
    IpNet::new(IpAddr::V4(a), len).ok().map(|n| n.trunc())
}

/// An AS number in asplain (`64500`, `AS64500`) or asdot (`1.10`) notation.
fn parse_asn(tok: &str) -> Option<u32> {
    let t = tok.strip_prefix("AS").unwrap_or(tok);
    if let Some((hi, lo)) = t.split_once('.') {
        let hi: u32 = hi.parse().ok()?;
        let lo: u32 = lo.parse().ok()?;
        return (hi <= 0xffff && lo <= 0xffff).then_some((hi << 16) | lo);
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// The origin AS of an AS path given as tokens: its last plain AS number.
/// `Ok(None)` = empty path (a locally originated route).
fn origin_as(path: &[&str]) -> Result<Option<u32>, String> {
    let mut toks: Vec<&str> = path.to_vec();
    if matches!(toks.last(), Some(&"i" | &"e" | &"?")) {
        toks.pop();
    }
    let mut last = None;
    for t in &toks {
        if t.starts_with('{')
            || t.starts_with('[')
            || t.starts_with('(')
            || t.ends_with('}')
            || t.ends_with(')')
        {
            continue; // AS sets and confederation segments
        }
        match parse_asn(t) {
            Some(a) => last = Some(a),
            None => return Err(format!("{t:?} is not an AS number")),
        }
    }
    Ok(last)
}

/// Parse a dump.
pub fn parse(text: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut seen = std::collections::HashSet::new();
    let mut path_col: Option<usize> = None;
    let mut net_col: Option<usize> = None;
    let mut prev_net: Option<IpNet> = None;
    let mut pending_net: Option<IpNet> = None;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if HEADER_STARTS.iter().any(|h| trimmed.starts_with(h)) {
            if trimmed.starts_with("Network") {
                path_col = line.find("Path");
                net_col = line.find("Network");
            }
            p.skipped += 1;
            continue;
        }
        let mut bad = |problem: String| {
            p.bad.push(BadLine {
                line: lineno,
                problem: format!("{problem}: {trimmed:?}"),
            });
        };
        // `show ip bgp` route lines start with status codes; a continuation line starts
        // with blanks (the network column left empty).
        let route_line = line.starts_with('*') || (line.starts_with(' ') && pending_net.is_some());
        let (net, rest): (IpNet, Vec<&str>) = if route_line {
            let col = net_col.unwrap_or(3);
            let has_net = line.starts_with('*')
                && line.is_char_boundary(col)
                && line.get(col..col + 1).is_some_and(|c| !c.trim().is_empty());
            if has_net {
                let toks: Vec<&str> = line[col..].split_whitespace().collect();
                let Some(net) = parse_net(toks[0]) else {
                    bad(format!("{:?} is not a network", toks[0]));
                    continue;
                };
                if toks.len() == 1 {
                    pending_net = Some(net);
                    continue;
                }
                (net, toks[1..].to_vec())
            } else {
                let toks: Vec<&str> = line
                    .trim_start_matches(|c: char| "*>sdhirSR=x ".contains(c))
                    .split_whitespace()
                    .collect();
                match pending_net.take().or(prev_net) {
                    Some(n) if !toks.is_empty() => (n, toks),
                    _ => {
                        bad("a route without a network before it".into());
                        continue;
                    }
                }
            }
        } else if trimmed.contains('|') {
            // `bgpdump -m`: TYPE|TIME|B/A/W|PEER IP|PEER AS|PREFIX|AS PATH|ORIGIN|…
            let f: Vec<&str> = trimmed.split('|').collect();
            if f.len() > 2 && f[2] == "W" {
                p.skipped += 1; // a withdrawal
                continue;
            }
            match (f.get(5).and_then(|n| parse_net(n)), f.get(6)) {
                (Some(n), Some(path)) if f.len() >= 7 => (n, path.split_whitespace().collect()),
                _ => {
                    bad(
                        "expected `bgpdump -m` fields TYPE|TIME|B|PEER|PEER_AS|PREFIX|AS_PATH|…"
                            .into(),
                    );
                    continue;
                }
            }
        } else {
            let toks: Vec<&str> = trimmed.split_whitespace().collect();
            match parse_net(toks[0]) {
                Some(n) => (n, toks[1..].to_vec()),
                None => {
                    bad("expected a network (CIDR) first".into());
                    continue;
                }
            }
        };
        pending_net = None;
        prev_net = Some(net);
        let asn = if route_line {
            // Columns: next hop, [metric], [locprf], weight, path…, origin.
            let path: Vec<&str> = match path_col {
                Some(c) if line.len() > c && line.is_char_boundary(c) => {
                    line[c..].split_whitespace().collect()
                }
                Some(_) => Vec::new(),
                None => {
                    // Without the header: the last plain number is the origin AS.
                    let tail = &rest[1.min(rest.len())..];
                    let nums: Vec<&str> = tail
                        .iter()
                        .copied()
                        .filter(|t| parse_asn(t).is_some())
                        .collect();
                    nums.last().map(|t| vec![*t]).unwrap_or_default()
                }
            };
            if path.contains(&"Unknown") {
                p.skipped += 1;
                continue;
            }
            match origin_as(&path) {
                Ok(a) => a,
                Err(e) => {
                    bad(e);
                    continue;
                }
            }
        } else {
            if rest.is_empty() {
                bad("expected `CIDR AS-PATH`".into());
                continue;
            }
            if rest.contains(&"Unknown") {
                p.skipped += 1;
                continue;
            }
            match origin_as(&rest) {
                Ok(Some(a)) => Some(a),
                Ok(None) => {
                    bad("expected an AS number after the network".into());
                    continue;
                }
                Err(e) => {
                    bad(e);
                    continue;
                }
            }
        };
        let Some(asn) = asn else {
            p.skipped += 1; // locally originated
            continue;
        };
        if asn == 0 {
            bad("AS 0 is not a valid origin".into());
            continue;
        }
        if excluded(&net) {
            p.skipped += 1;
            continue;
        }
        if seen.insert((net, asn)) {
            p.entries.push((net, asn));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(p: &Parsed, kind: Kind) -> Vec<String> {
        p.render(kind).lines().map(str::to_owned).collect()
    }

    #[test]
    fn prefix_and_as_path_lines() {
        let p = parse(
            "# dump\n192.0.2.0/24 3356 64500\n198.51.100.0/24 64501 i\n\n2001:db8::/32 6939 {64510,64511}\n",
        );
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(
            lines(&p, Kind::Global),
            [
                "192.0.2.0/24 64500",
                "198.51.100.0/24 64501",
                "2001:db8::/32 6939"
            ]
        );
    }

    #[test]
    fn show_ip_bgp_with_header_uses_the_path_column() {
        let text = "\
BGP table version is 12345, local router ID is 192.0.2.254
Status codes: s suppressed, d damped, h history, * valid, > best, i - internal
Origin codes: i - IGP, e - EGP, ? - incomplete

   Network          Next Hop            Metric LocPrf Weight Path
*> 3.0.0.0          192.0.2.1                0    100      0 701 16509 i
*                   192.0.2.2                              0 3356 16509 i
*>i203.0.113.0/24   192.0.2.3                0    100      0 64502 ?
*> 10.0.0.0/8       0.0.0.0                  0         32768 i
*> 2001:db8:1234:5678::/64
                    192.0.2.4                              0 64503 i
*> 0.0.0.0/0        192.0.2.1                              0 64504 i

Total number of prefixes 5
";
        let p = parse(text);
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(
            lines(&p, Kind::Global),
            [
                "3.0.0.0/8 16509",
                "203.0.113.0/24 64502",
                "2001:db8:1234:5678::/64 64503"
            ]
        );
    }

    #[test]
    fn show_ip_bgp_without_header_takes_the_last_number() {
        let p = parse("*> 192.0.2.0/24 198.51.100.1 0 0 1.10 i\n");
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(lines(&p, Kind::Global), ["192.0.2.0/24 65546"]);
    }

    #[test]
    fn bgpdump_one_line_records() {
        let p = parse(
            "TABLE_DUMP2|1700000000|B|192.0.2.1|64496|1.0.0.0/24|64496 13335|IGP|192.0.2.1|0|0||NAG||\n\
             BGP4MP|1700000000|W|192.0.2.1|64496|1.0.4.0/22\n\
             TABLE_DUMP2|1700000000|B|192.0.2.1|64496|not-a-net|64496|IGP\n",
        );
        assert_eq!(lines(&p, Kind::Global), ["1.0.0.0/24 13335"]);
        assert_eq!(p.bad.iter().map(|b| b.line).collect::<Vec<_>>(), [3]);
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn exclusions_duplicates_and_sorting() {
        let p = parse(
            "2001::/32 64500\n198.51.100.0/24 64501\n192.0.2.0/24 64500\n192.0.2.0/24 64500\n10.1.0.0/16 Unknown\n",
        );
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(p.skipped, 2);
        assert_eq!(
            lines(&p, Kind::Internet2),
            ["192.0.2.0/24 64500", "198.51.100.0/24 64501"]
        );
        assert_eq!(
            lines(&p, Kind::Global),
            ["198.51.100.0/24 64501", "192.0.2.0/24 64500"]
        );
    }

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let p = parse(
            "192.0.2.0/24 64500\nhello world\n192.0.2.0/33 64500\n198.51.100.0/24\n198.51.100.0/24 AS-x\n",
        );
        let nums: Vec<usize> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(nums, [2, 3, 4, 5], "{:?}", p.bad);
        assert_eq!(p.entries.len(), 1);
        assert!(p.bad[3].problem.contains("AS-x"), "{:?}", p.bad[3]);
    }
}
