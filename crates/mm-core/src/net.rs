//! Netblock normalisation shared by the admin CLI and the cache generator: MM2 accepted
//! CIDR, a bare address and `address/dotted-mask`; everything becomes CIDR.

use std::net::IpAddr;

/// Normalise a netblock to CIDR (`10.0.0.0/8`, `2001:db8::/32`); host bits are cleared.
/// Returns a message naming the problem for anything else.
pub fn normalize_netblock(input: &str) -> Result<String, String> {
    let s = input.trim();
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("malformed netblock {input:?}: {addr:?} is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = match len {
        None => max,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if n <= max => n,
            Ok(_) => {
                return Err(format!(
                    "malformed netblock {input:?}: prefix length over {max}"
                ));
            }
            Err(_) => match (ip, l.parse::<IpAddr>()) {
                (IpAddr::V4(_), Ok(IpAddr::V4(mask))) => {
                    let m = u32::from(mask);
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return Err(format!(
                            "malformed netblock {input:?}: {l} is not a contiguous mask"
                        ));
                    }
                    m.leading_ones()
                }
                _ => return Err(format!("malformed netblock {input:?}: bad prefix {l:?}")),
            },
        },
    };
    let net = match ip {
        IpAddr::V4(a) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Ok(format!("{net}/{prefix}"))
}

#[cfg(test)]
mod tests {
    use super::normalize_netblock as n;

    #[test]
    fn forms() {
        assert_eq!(n("10.1.2.3/8").unwrap(), "10.0.0.0/8");
        assert_eq!(n("192.0.2.7").unwrap(), "192.0.2.7/32");
        assert_eq!(n("192.0.2.0/255.255.255.0").unwrap(), "192.0.2.0/24");
        assert_eq!(n("2001:db8::1/32").unwrap(), "2001:db8::/32");
        assert_eq!(n("::1").unwrap(), "::1/128");
        assert!(n("10.0.0.0/33").unwrap_err().contains("prefix length"));
        assert!(
            n("mirror.example.org")
                .unwrap_err()
                .contains("not an IP address")
        );
        assert!(
            n("10.0.0.0/255.0.255.0")
                .unwrap_err()
                .contains("contiguous")
        );
    }
}
