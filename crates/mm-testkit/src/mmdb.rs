//! A minimal MaxMind DB (MMDB, binary format 2.0) writer for tests and benchmarks: an IPv6 search tree
//! with 24-bit records, IPv4 networks placed under `::/96`, and data records of the form
//! `{"country": {"iso_code": CC}, "continent": {"code": CONT}}`. maxminddb has no writer.

use std::net::IpAddr;

enum Val<'a> {
    Str(&'a str),
    Map(Vec<(&'a str, Val<'a>)>),
    U16(u16),
    U32(u32),
    U64(u64),
    Arr(Vec<Val<'a>>),
}

fn ctrl(out: &mut Vec<u8>, ty: u8, size: usize) {
    assert!(size < 29, "test writer handles small sizes only");
    if ty <= 7 {
        out.push((ty << 5) | size as u8);
    } else {
        out.push(size as u8);
        out.push(ty - 7);
    }
}

fn enc(out: &mut Vec<u8>, v: &Val) {
    match v {
        Val::Str(s) => {
            ctrl(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Val::Map(m) => {
            ctrl(out, 7, m.len());
            for (k, v) in m {
                enc(out, &Val::Str(k));
                enc(out, v);
            }
        }
        Val::U16(n) => uint(out, 5, *n as u64),
        Val::U32(n) => uint(out, 6, *n as u64),
        Val::U64(n) => uint(out, 9, *n),
        Val::Arr(a) => {
            ctrl(out, 11, a.len());
            for v in a {
                enc(out, v);
            }
        }
    }
}

fn uint(out: &mut Vec<u8>, ty: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    ctrl(out, ty, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// Build an MMDB mapping networks (`"192.0.2.0/24"`, `"2001:db8::/32"`) to (country,
/// continent).
pub fn build(entries: &[(&str, &str, &str)]) -> Vec<u8> {
    // Data section.
    let mut data = Vec::new();
    let mut leaves = Vec::new();
    for (net, cc, cont) in entries {
        let off = data.len();
        enc(
            &mut data,
            &Val::Map(vec![
                ("continent", Val::Map(vec![("code", Val::Str(cont))])),
                ("country", Val::Map(vec![("iso_code", Val::Str(cc))])),
            ]),
        );
        let (addr, len) = net.split_once('/').unwrap();
        let addr: IpAddr = addr.parse().unwrap();
        let len: u32 = len.parse().unwrap();
        let (key, bits) = match addr {
            IpAddr::V4(a) => (u32::from(a) as u128, 96 + len),
            IpAddr::V6(a) => (u128::from(a), len),
        };
        leaves.push((key, bits, off));
    }
    // Search tree: nodes of two records; 0 = unset while building.
    #[derive(Clone, Copy)]
    enum R {
        Empty,
        Node(usize),
        Data(usize),
    }
    let mut nodes: Vec<[R; 2]> = vec![[R::Empty, R::Empty]];
    for (key, bits, off) in leaves {
        let mut n = 0;
        for i in 0..bits {
            let b = ((key >> (127 - i)) & 1) as usize;
            if i + 1 == bits {
                nodes[n][b] = R::Data(off);
            } else {
                n = match nodes[n][b] {
                    R::Node(x) => x,
                    _ => {
                        nodes.push([R::Empty, R::Empty]);
                        let x = nodes.len() - 1;
                        nodes[n][b] = R::Node(x);
                        x
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for r in node {
            let v = match *r {
                R::Empty => count,
                R::Node(x) => x,
                R::Data(off) => count + 16 + off,
            };
            out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    enc(
        &mut out,
        &Val::Map(vec![
            ("binary_format_major_version", Val::U16(2)),
            ("binary_format_minor_version", Val::U16(0)),
            ("build_epoch", Val::U64(1_700_000_000)),
            ("database_type", Val::Str("GeoLite2-Country")),
            (
                "description",
                Val::Map(vec![("en", Val::Str("test database"))]),
            ),
            ("ip_version", Val::U16(6)),
            ("languages", Val::Arr(vec![Val::Str("en")])),
            ("node_count", Val::U32(count as u32)),
            ("record_size", Val::U16(24)),
        ]),
    );
    out
}
