//! A binary prefix trie over IPv4 and IPv6 networks: longest-prefix and all-prefix lookups
//! in at most 32 (IPv4) or 128 (IPv6) steps, whatever the number of networks.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
struct Node {
    child: [u32; 2],
    value: Option<u32>,
}

#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Node>,
    bits: u8,
}

impl Tree {
    fn new(bits: u8) -> Tree {
        Tree {
            nodes: vec![Node::default()],
            bits,
        }
    }

    fn bit(&self, key: u128, i: u8) -> usize {
        ((key >> (self.bits - 1 - i)) & 1) as usize
    }

    fn node_for(&mut self, key: u128, len: u8) -> usize {
        let mut n = 0usize;
        for i in 0..len {
            let b = self.bit(key, i);
            let next = self.nodes[n].child[b];
            n = if next == 0 {
                self.nodes.push(Node::default());
                let id = self.nodes.len() - 1;
                self.nodes[n].child[b] = id as u32;
                id
            } else {
                next as usize
            };
        }
        n
    }

    /// Value slots along the path of `key`, most specific first.
    fn path(&self, key: u128) -> Vec<(u8, u32)> {
        let mut out = Vec::new();
        let mut n = 0usize;
        for i in 0..=self.bits {
            if let Some(v) = self.nodes[n].value {
                out.push((i, v));
            }
            if i == self.bits {
                break;
            }
            let next = self.nodes[n].child[self.bit(key, i)];
            if next == 0 {
                break;
            }
            n = next as usize;
        }
        out.reverse();
        out
    }
}

/// Networks mapped to values.
#[derive(Debug, Clone)]
pub struct PrefixTrie<V> {
    v4: Tree,
    v6: Tree,
    values: Vec<V>,
}

impl<V> Default for PrefixTrie<V> {
    fn default() -> Self {
        Self {
            v4: Tree::new(32),
            v6: Tree::new(128),
            values: Vec::new(),
        }
    }
}

fn key_of(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (true, u32::from(a) as u128),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (true, u32::from(v4) as u128),
            None => (false, u128::from(a)),
        },
    }
}

impl<V> PrefixTrie<V> {
    /// The value slot for `net`, created with `V::default()` when new.
    pub fn entry(&mut self, net: IpNet) -> &mut V
    where
        V: Default,
    {
        let net = net.trunc();
        let (v4, key) = key_of(net.addr());
        let tree = if v4 { &mut self.v4 } else { &mut self.v6 };
        let n = tree.node_for(key, net.prefix_len());
        let slot = match tree.nodes[n].value {
            Some(v) => v as usize,
            None => {
                self.values.push(V::default());
                let id = self.values.len() - 1;
                tree.nodes[n].value = Some(id as u32);
                id
            }
        };
        &mut self.values[slot]
    }

    /// Set the value for `net`.
    pub fn insert(&mut self, net: IpNet, value: V)
    where
        V: Default,
    {
        *self.entry(net) = value;
    }

    /// Every network containing `ip`, most specific first, with its prefix length.
    pub fn matches(&self, ip: IpAddr) -> Vec<(u8, &V)> {
        let (v4, key) = key_of(ip);
        let tree = if v4 { &self.v4 } else { &self.v6 };
        tree.path(key)
            .into_iter()
            .map(|(len, v)| (len, &self.values[v as usize]))
            .collect()
    }

    /// The most specific network containing `ip`.
    pub fn longest(&self, ip: IpAddr) -> Option<&V> {
        self.matches(ip).into_iter().next().map(|(_, v)| v)
    }

    /// Number of networks.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Parse a netblock as MirrorManager stores it: CIDR, a bare address, or `addr/dotted-mask`.
/// Host names (which Fedora's generator would resolve) give `None`.
pub fn parse_netblock(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = IpNet::from_str(s) {
        return Some(n.trunc());
    }
    if let Ok(a) = IpAddr::from_str(s) {
        return Some(IpNet::from(a));
    }
    let (addr, mask) = s.split_once('/')?;
    let addr = IpAddr::from_str(addr).ok()?;
    let mask = IpAddr::from_str(mask).ok()?;
    let len = match mask {
        IpAddr::V4(m) => {
            let m = u32::from(m);
            if m.leading_ones() + m.trailing_zeros() != 32 {
                return None;
            }
            m.leading_ones() as u8
        }
        IpAddr::V6(m) => {
            let m = u128::from(m);
            if m.leading_ones() + m.trailing_zeros() != 128 {
                return None;
            }
            m.leading_ones() as u8
        }
    };
    IpNet::new(addr, len).ok().map(|n| n.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn most_specific_first_v4_and_v6() {
        let mut t: PrefixTrie<Vec<i64>> = PrefixTrie::default();
        t.entry("10.0.0.0/8".parse().unwrap()).push(1);
        t.entry("10.1.0.0/16".parse().unwrap()).push(2);
        t.entry("10.1.0.0/16".parse().unwrap()).push(3);
        t.entry("0.0.0.0/0".parse().unwrap()).push(9);
        t.entry("2001:db8::/32".parse().unwrap()).push(4);
        let m: Vec<_> = t
            .matches(ip("10.1.2.3"))
            .into_iter()
            .map(|(l, v)| (l, v.clone()))
            .collect();
        assert_eq!(m, vec![(16, vec![2, 3]), (8, vec![1]), (0, vec![9])]);
        assert_eq!(t.longest(ip("10.200.0.1")), Some(&vec![1]));
        assert_eq!(t.longest(ip("::ffff:10.1.0.1")), Some(&vec![2, 3]));
        assert_eq!(t.longest(ip("2001:db8:1::1")), Some(&vec![4]));
        assert_eq!(t.longest(ip("2001:db9::1")), None);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn host_routes_match_exactly() {
        let mut t: PrefixTrie<i64> = PrefixTrie::default();
        t.insert("192.0.2.7/32".parse().unwrap(), 7);
        assert_eq!(t.longest(ip("192.0.2.7")), Some(&7));
        assert_eq!(t.longest(ip("192.0.2.8")), None);
    }

    #[test]
    fn netblock_forms() {
        assert_eq!(
            parse_netblock("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_netblock("192.0.2.1").unwrap().to_string(),
            "192.0.2.1/32"
        );
        assert_eq!(
            parse_netblock("192.0.2.0/255.255.255.0")
                .unwrap()
                .to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            parse_netblock("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_netblock("mirror.example.org"), None);
        assert_eq!(parse_netblock("10.0.0.0/255.0.255.0"), None);
    }
}
