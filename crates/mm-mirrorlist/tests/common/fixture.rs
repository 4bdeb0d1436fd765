//! A small cache and location data shared by the unit and integration tests.
//!
//! Hosts: 1 and 2 in DE, 3 in FR, 4 and 6 in US (6 announces ASN 64500), 7 in JP and only
//! allowed for JP clients, 5 private behind 10.0.0.0/8, 8 private behind 10.1.0.0/16.

use mm_cachefile::*;

pub const DIR: &str = "pub/fedora/linux/releases/41/Everything/x86_64/os";
pub const SUBPATH: &str = "releases/41/Everything/x86_64/os";

fn srim(k: &str, v: &[i64]) -> StringRepeatedIntMap {
    StringRepeatedIntMap {
        key: k.into(),
        value: v.to_vec(),
    }
}

fn ss(k: &str, v: &str) -> StringStringMap {
    StringStringMap {
        key: k.into(),
        value: v.into(),
    }
}

/// The test cache; `time` lets tests tell two versions apart.
pub fn cache(time: u64) -> MirrorList {
    let urls: &[(i64, &str)] = &[
        (11, "https://de1.example/pub/fedora/linux"),
        (12, "rsync://de1.example/fedora/linux"),
        (21, "http://de2.example/fedora/linux/"),
        (31, "https://fr3.example/fedora/linux"),
        (41, "https://us4.example/fedora/linux"),
        (42, "ftp://us4.example/fedora/linux"),
        (51, "http://priv5.example/fedora/linux"),
        (61, "https://us6.example/fedora/linux"),
        (71, "https://jp7.example/fedora/linux"),
        (81, "https://priv8.example/fedora/linux"),
    ];
    let by_host: &[(i64, &[i64])] = &[
        (1, &[11, 12]),
        (2, &[21]),
        (3, &[31]),
        (4, &[41, 42]),
        (5, &[51]),
        (6, &[61]),
        (7, &[71]),
        (8, &[81]),
    ];
    let fd = |t: u64, size: u64, tag: &str| FileDetailsType {
        timestamp: t,
        size,
        sha256: Some(format!("{tag}256")),
        sha512: Some(format!("{tag}512")),
        md5: Some(format!("{tag}md5")),
        sha1: Some(format!("{tag}sha1")),
    };
    MirrorList {
        time,
        netblock_country_cache: vec![ss("192.0.2.0/24", "FR")],
        hc_url_cache: urls
            .iter()
            .map(|(k, v)| IntStringMap {
                key: *k,
                value: v.to_string(),
            })
            .collect(),
        file_details_cache: vec![FileDetailsCacheDirectoryType {
            directory: format!("{DIR}/repodata"),
            file_details_cache_files: vec![FileDetailsCacheFilesType {
                filename: "repomd.xml".into(),
                file_details: vec![fd(time, 1234, "new"), fd(time - 100, 1200, "old")],
            }],
        }],
        disabled_repository_cache: vec![StringBoolMap {
            key: "old-1".into(),
            value: true,
        }],
        country_continent_redirect_cache: vec![ss("IL", "EU")],
        repository_redirect_cache: vec![ss("fedora-rawhide", "fedora-41")],
        repo_arch_to_directory_name: vec![
            ss("fedora-41+x86_64", DIR),
            ss("fedora-source-41+source", DIR),
            ss("old-1+x86_64", DIR),
        ],
        host_asn_cache: vec![IntRepeatedIntMap {
            key: 64500,
            value: vec![6],
        }],
        host_country_cache: [
            (1, "DE"),
            (2, "DE"),
            (3, "FR"),
            (4, "US"),
            (5, "DE"),
            (6, "US"),
            (7, "JP"),
            (8, "DE"),
        ]
        .iter()
        .map(|(k, v)| IntStringMap {
            key: *k,
            value: v.to_string(),
        })
        .collect(),
        host_bandwidth_cache: (1..=8).map(|h| IntIntMap { key: h, value: 100 }).collect(),
        host_country_allowed_cache: vec![IntRepeatedStringMap {
            key: 7,
            value: vec!["JP".into()],
        }],
        host_netblock_cache: vec![srim("10.0.0.0/8", &[5]), srim("10.1.0.0/16", &[8])],
        mirror_list_cache: vec![MirrorListCacheType {
            directory: DIR.into(),
            global: vec![1, 2, 3, 4, 6, 7],
            subpath: Some(SUBPATH.into()),
            by_country: vec![
                srim("DE", &[1, 2]),
                srim("FR", &[3]),
                srim("US", &[4, 6]),
                srim("JP", &[7]),
            ],
            by_country_internet2: vec![srim("DE", &[5])],
            by_host_id: by_host
                .iter()
                .map(|(k, v)| IntRepeatedIntMap {
                    key: *k,
                    value: v.to_vec(),
                })
                .collect(),
            ordered_mirror_list: Some(false),
        }],
        ..Default::default()
    }
}

/// GeoIP entries: (network, country, continent).
pub const GEOIP: &[(&str, &str, &str)] = &[
    ("198.51.100.0/24", "DE", "EU"),
    ("203.0.113.0/24", "US", "NA"),
    ("233.252.0.0/24", "CU", "NA"),
    ("2001:db8::/32", "JP", "AS"),
];

pub const I2_NETBLOCKS: &str = "198.51.100.128/25\n";
pub const GLOBAL_NETBLOCKS: &str = "100.64.0.0/10 64500\n";
pub const CCCSV: &str = "DE,EU\nFR,EU\nIT,EU\nUS,NA\nCU,NA\nJP,AS\n";
