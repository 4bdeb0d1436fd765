//! Unit tests of the mirror selection tiers and the rendered documents, on a small cache
//! built in code and a GeoIP2 database written by the test helper.

#[path = "../tests/common/fixture.rs"]
mod fixture;

use mm_testkit::mmdb;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

use crate::answer::{Kind, Reply, Settings, answer};
use crate::geo::{Geo, parse_cccsv, parse_global_netblocks, parse_i2_netblocks};
use crate::index::Index;
use crate::select::weighted_shuffle;

struct World {
    ix: Index,
    geo: Geo,
    settings: Settings,
}

fn world() -> World {
    let db = mmdb::build(fixture::GEOIP);
    let geo = Geo {
        geoip: Some(maxminddb::Reader::from_source(db).unwrap()),
        asn: parse_global_netblocks(fixture::GLOBAL_NETBLOCKS, Path::new("g")).unwrap(),
        continents: parse_cccsv(fixture::CCCSV, Path::new("c")).unwrap(),
        internet2: parse_i2_netblocks(fixture::I2_NETBLOCKS, Path::new("i")).unwrap(),
    };
    World {
        ix: Index::build(&fixture::cache(1_700_000_000)),
        geo,
        settings: Settings {
            minimum: 5,
            embargoed: ["CU", "IR", "KP", "SD", "SY"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        },
    }
}

const PEER: &str = "127.0.0.1";

impl World {
    fn get(&self, kind: Kind, q: &str) -> Reply {
        answer(
            &self.ix,
            &self.geo,
            &self.settings,
            kind,
            q,
            None,
            PEER.parse().unwrap(),
        )
    }
    fn list(&self, q: &str) -> (String, Vec<String>) {
        let r = self.get(Kind::Mirrorlist, q);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        let mut lines = r.body.lines();
        let header = lines.next().unwrap().to_string();
        (
            header,
            lines
                .filter(|l| !l.starts_with('#'))
                .map(String::from)
                .collect(),
        )
    }
}

fn host_of(url: &str) -> &str {
    url.split("://").nth(1).unwrap().split('.').next().unwrap()
}

fn hosts(urls: &[String]) -> Vec<&str> {
    urls.iter().map(|u| host_of(u)).collect()
}

#[test]
fn geoip_database_written_by_the_helper_is_read() {
    let w = world();
    let c = |s: &str| w.geo.geoip_country(s.parse::<IpAddr>().unwrap());
    assert_eq!(c("198.51.100.7").as_deref(), Some("DE"));
    assert_eq!(c("203.0.113.1").as_deref(), Some("US"));
    assert_eq!(c("2001:db8::5").as_deref(), Some("JP"));
    // 6to4 address embedding 198.51.100.7.
    assert_eq!(c("2002:c633:6407::1").as_deref(), Some("DE"));
    assert_eq!(c("8.8.8.8"), None);
}

#[test]
fn netblock_tier_comes_first_most_specific_first() {
    let w = world();
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=10.1.2.3");
    assert!(
        header.starts_with("# repo = fedora-41 arch = x86_64 Using preferred netblock"),
        "{header}"
    );
    assert_eq!(&hosts(&urls)[..2], ["priv8", "priv5"]);
    // Then the global fill (fewer than 5): every public host once.
    assert_eq!(urls.len(), 7, "{urls:?}");
    assert!(header.ends_with("country = global"), "{header}");
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=10.1.2.3&netblock=0");
    assert!(!header.contains("netblock"), "{header}");
    assert!(!hosts(&urls).contains(&"priv8"));
}

#[test]
fn internet2_tier() {
    let w = world();
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=198.51.100.200");
    assert_eq!(
        header,
        "# repo = fedora-41 arch = x86_64 Using Internet2 country = DE country = FR country = global"
    );
    assert_eq!(hosts(&urls)[0], "priv5");
    // Not on an Internet2 network: the private host is not offered.
    let (_, urls) = w.list("repo=fedora-41&arch=x86_64&ip=198.51.100.9");
    assert!(!hosts(&urls).contains(&"priv5"), "{urls:?}");
}

#[test]
fn asn_tier() {
    let w = world();
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=100.64.1.1");
    assert!(header.contains("Using ASN 64500"), "{header}");
    assert_eq!(hosts(&urls)[0], "us6");
}

#[test]
fn country_from_netblock_cache_then_continent_then_global() {
    let w = world();
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=192.0.2.5");
    assert_eq!(
        header,
        "# repo = fedora-41 arch = x86_64 country = FR country = DE country = global"
    );
    let h = hosts(&urls);
    assert_eq!(h[0], "fr3");
    let mut eu: Vec<_> = h[1..3].to_vec();
    eu.sort();
    assert_eq!(eu, ["de1", "de2"]);
    // Global fill adds US hosts but never JP-only host 7 for a FR client.
    assert_eq!(h.len(), 5, "{h:?}");
    assert!(!h.contains(&"jp7"));
}

#[test]
fn country_from_geoip_and_minimum() {
    let mut w = world();
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=198.51.100.9");
    assert!(header.contains("country = DE"), "{header}");
    let mut first: Vec<_> = hosts(&urls)[..2].to_vec();
    first.sort();
    assert_eq!(first, ["de1", "de2"]);
    // Enough mirrors (minimum 1): country then the rest of the continent, no global fill.
    w.settings.minimum = 1;
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=198.51.100.9");
    assert_eq!(
        header,
        "# repo = fedora-41 arch = x86_64 country = DE country = FR"
    );
    assert_eq!(hosts(&urls)[2], "fr3");
    assert_eq!(urls.len(), 3);
    // X-Forwarded-For (last element) is the client when ip= is absent.
    let r = answer(
        &w.ix,
        &w.geo,
        &w.settings,
        Kind::Mirrorlist,
        "repo=fedora-41&arch=x86_64",
        Some("203.0.113.5, 198.51.100.9"),
        PEER.parse().unwrap(),
    );
    assert!(
        r.body
            .starts_with("# repo = fedora-41 arch = x86_64 country = DE country = FR\n"),
        "{}",
        r.body
    );
}

#[test]
fn country_allowed_and_embargo() {
    let w = world();
    let (_, urls) = w.list("repo=fedora-41&arch=x86_64&ip=2001:db8::1");
    assert_eq!(hosts(&urls)[0], "jp7");
    let (_, urls) = w.list("repo=fedora-41&arch=x86_64&ip=203.0.113.1");
    assert!(!hosts(&urls).contains(&"jp7"));
    let r = w.get(
        Kind::Mirrorlist,
        "repo=fedora-41&arch=x86_64&ip=233.252.0.1",
    );
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("://"), "{}", r.body);
    assert!(r.body.contains("embargoed"), "{}", r.body);
}

#[test]
fn requested_countries_only() {
    let w = world();
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&country=fr&ip=198.51.100.9");
    assert_eq!(header, "# repo = fedora-41 arch = x86_64 country = FR");
    assert_eq!(hosts(&urls), ["fr3"]);
    // No mirrors in IT: its continent instead, still no global fill.
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&country=IT");
    assert_eq!(
        header,
        "# repo = fedora-41 arch = x86_64 country = DE country = FR"
    );
    assert_eq!(urls.len(), 3);
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&country=global");
    assert_eq!(header, "# repo = fedora-41 arch = x86_64 country = global");
    assert_eq!(
        urls.len(),
        5,
        "JP-only host excluded for an unknown client: {urls:?}"
    );
    // No mirror in the countries asked for nor in their continents: the client's own
    // location decides, as without country= (an empty list would leave dnf with nothing).
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&country=XX&ip=198.51.100.9");
    assert_eq!(
        header,
        "# repo = fedora-41 arch = x86_64 country = DE country = FR country = global"
    );
    let mut first: Vec<_> = hosts(&urls)[..2].to_vec();
    first.sort();
    assert_eq!(first, ["de1", "de2"]);
    let r = w.get(
        Kind::Metalink,
        "repo=fedora-41&arch=x86_64&country=XX&ip=203.0.113.1",
    );
    assert_eq!(r.status, 200);
    // Global fill: the five hosts not limited to other countries, each with its URLs.
    assert_eq!(r.body.matches("preference=").count(), 7, "{}", r.body);
    assert!(r.body.contains("preference=\"96\""), "{}", r.body);
}

#[test]
fn urls_protocols_and_redirect() {
    let w = world();
    let (_, urls) = w.list("repo=fedora-41&arch=x86_64&country=DE");
    let mut urls = urls;
    urls.sort();
    assert_eq!(
        urls,
        [
            format!("http://de2.example/fedora/linux/{}/", fixture::SUBPATH),
            format!("https://de1.example/pub/fedora/linux/{}/", fixture::SUBPATH),
        ]
    );
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&country=DE&protocol=rsync");
    assert_eq!(
        header,
        "# repo = fedora-41 arch = x86_64 country = DE protocol = rsync"
    );
    assert_eq!(
        urls,
        [format!(
            "rsync://de1.example/fedora/linux/{}/",
            fixture::SUBPATH
        )]
    );
    let (_, urls) = w.list("repo=fedora-41&arch=x86_64&country=US&protocol=ftp");
    assert_eq!(
        urls,
        [format!(
            "ftp://us4.example/fedora/linux/{}/",
            fixture::SUBPATH
        )]
    );
    let r = w.get(
        Kind::Mirrorlist,
        "repo=fedora-41&arch=x86_64&country=FR&redirect=1",
    );
    assert_eq!(r.status, 302);
    assert_eq!(
        r.location.unwrap(),
        format!("https://fr3.example/fedora/linux/{}/", fixture::SUBPATH)
    );
    let r = w.get(
        Kind::Metalink,
        "repo=fedora-41&arch=x86_64&country=FR&redirect=1",
    );
    assert_eq!(
        r.location.unwrap(),
        format!(
            "https://fr3.example/fedora/linux/{}/repodata/repomd.xml",
            fixture::SUBPATH
        )
    );
}

#[test]
fn repo_resolution_and_errors() {
    let w = world();
    let (header, _) = w.list("repo=fedora-rawhide&arch=x86_64&country=DE");
    assert!(
        header.starts_with("# repo = fedora-41 arch = x86_64"),
        "{header}"
    );
    let (header, _) = w.list("repo=fedora-source-41&arch=x86_64&country=DE");
    assert!(
        header.starts_with("# repo = fedora-source-41 arch = source"),
        "{header}"
    );
    let (header, _) = w.list("repo=fedora%2D41&arch=x86%5F64&country=DE");
    assert!(
        header.starts_with("# repo = fedora-41 arch = x86_64"),
        "{header}"
    );
    let r = w.get(Kind::Mirrorlist, "repo=nope&arch=x86_64");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("error: invalid repo or arch"), "{}", r.body);
    assert!(
        r.body.contains("# repo=fedora-41&arch=x86_64\n"),
        "{}",
        r.body
    );
    let r = w.get(Kind::Mirrorlist, "repo=old-1&arch=x86_64");
    assert!(r.body.contains("repo disabled"), "{}", r.body);
    let r = w.get(Kind::Mirrorlist, "arch=x86_64");
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("either path=, or repo= and arch= must be specified")
    );
    let r = w.get(Kind::Mirrorlist, "repo=fedora-41&arch=x86_64&ip=1.2.3.999");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("invalid IP"), "{}", r.body);
    let r = w.get(Kind::Metalink, "repo=nope&arch=x86_64");
    assert_eq!(r.status, 404);
    assert!(
        r.body
            .contains("<!-- repo = nope arch = x86_64 error: invalid repo or arch -->"),
        "{}",
        r.body
    );
    let r = w.get(Kind::Mirrorlist, "path=pub/nowhere");
    assert_eq!(r.status, 404);
}

#[test]
fn path_requests() {
    let w = world();
    let (header, urls) = w.list(&format!("path={}/&country=FR", fixture::DIR));
    assert_eq!(header, format!("# path = {} country = FR", fixture::DIR));
    assert_eq!(
        urls,
        [format!(
            "https://fr3.example/fedora/linux/{}/",
            fixture::SUBPATH
        )]
    );
    // Doubled slashes inside the path are read as one.
    let doubled = format!("//{}//", fixture::DIR.replace('/', "//"));
    let (header, urls2) = w.list(&format!("path={doubled}&country=FR"));
    assert_eq!(header, format!("# path = {} country = FR", fixture::DIR));
    assert_eq!(urls2, urls);
    let r = w.get(
        Kind::Metalink,
        &format!("path={}/repodata/repomd.xml&country=FR", fixture::DIR),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<file name=\"repomd.xml\">"));
    let r = w.get(
        Kind::Metalink,
        &format!("path={}/missing.iso", fixture::DIR),
    );
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains(&format!("{}/missing.iso", fixture::DIR)),
        "{}",
        r.body
    );
}

#[test]
fn metalink_document() {
    let w = world();
    let r = w.get(Kind::Metalink, "repo=fedora-41&arch=x86_64&ip=10.1.2.3");
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/metalink+xml");
    let b = &r.body;
    assert!(b.contains("xmlns:mm0=\"http://fedorahosted.org/mirrormanager\""));
    assert!(b.contains("<mm0:timestamp>1700000000</mm0:timestamp>"));
    assert!(b.contains("<size>1234</size>"));
    for h in [
        "<hash type=\"md5\">newmd5</hash>",
        "<hash type=\"sha1\">newsha1</hash>",
        "<hash type=\"sha256\">new256</hash>",
        "<hash type=\"sha512\">new512</hash>",
    ] {
        assert!(b.contains(h), "{h} in {b}");
    }
    let alt = b.split("<mm0:alternates>").nth(1).unwrap();
    assert!(alt.contains("<mm0:timestamp>1699999900</mm0:timestamp>") && alt.contains("old256"));
    // Host 8 (most specific netblock) first, private, preference 100; rsync listed too.
    let first = b.lines().find(|l| l.contains("<url ")).unwrap();
    assert_eq!(
        first.trim(),
        format!(
            "<url protocol=\"https\" type=\"https\" location=\"DE\" preference=\"100\" mm0:private=\"True\">https://priv8.example/fedora/linux/{}/repodata/repomd.xml</url>",
            fixture::SUBPATH
        )
    );
    assert!(b.contains("preference=\"99\" mm0:private=\"True\">http://priv5.example"));
    assert!(b.contains("protocol=\"rsync\""));
    let r = w.get(
        Kind::Metalink,
        "repo=fedora-41&arch=x86_64&country=DE&protocol=https",
    );
    assert!(
        !r.body.contains(">rsync://") && !r.body.contains(">http://"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("mm0:private"));
}

#[test]
fn a_repo_pointing_to_a_missing_directory_is_unknown() {
    let mut ml = fixture::cache(1_700_000_000);
    let mut ghost = ml.repo_arch_to_directory_name[0].clone();
    ghost.key = "ghost-1+x86_64".into();
    ghost.value = "pub/nowhere".into();
    ml.repo_arch_to_directory_name.push(ghost);
    let bytes = mm_cachefile::encode(&ml);
    let read = crate::load::read_from(bytes.as_slice(), Path::new("c.proto")).unwrap();
    let all = read.defects.join("\n");
    assert!(
        all.contains("ghost-1+x86_64 points to directory pub/nowhere"),
        "{all}"
    );
    let w = World {
        ix: read.index,
        ..world()
    };
    for kind in [Kind::Mirrorlist, Kind::Metalink] {
        let r = w.get(kind, "repo=ghost-1&arch=x86_64");
        assert_eq!(r.status, 404, "{}", r.body);
        assert!(r.body.contains("invalid repo or arch"), "{}", r.body);
    }
    // The other repositories are unaffected.
    let r = w.get(Kind::Metalink, "repo=fedora-41&arch=x86_64&country=DE");
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn metalink_uses_the_repodata_directory_when_the_cache_has_it() {
    let mut w = world();
    let mut ml = fixture::cache(1_700_000_000);
    let mut repodata = ml.mirror_list_cache[0].clone();
    repodata.directory = format!("{}/repodata", fixture::DIR);
    repodata.subpath = Some(format!("{}/repodata", fixture::SUBPATH));
    // Only host 3 is current for repodata/.
    repodata.global = vec![3];
    repodata.by_country.retain(|c| c.key == "FR");
    repodata.by_country_internet2.clear();
    repodata.by_host_id.retain(|h| h.key == 3);
    // A URL listed twice in a host's list is offered once, even when another URL of the
    // same protocol sits between the two.
    repodata.by_host_id[0].value = vec![31, 11, 31];
    ml.mirror_list_cache.push(repodata);
    w.ix = Index::build(&ml);
    let r = w.get(Kind::Metalink, "repo=fedora-41&arch=x86_64&ip=198.51.100.9");
    assert_eq!(r.status, 200, "{}", r.body);
    let urls: Vec<&str> = r.body.lines().filter(|l| l.contains("<url ")).collect();
    assert_eq!(urls.len(), 2, "{}", r.body);
    assert!(
        urls[0].ends_with(&format!(
            ">https://fr3.example/fedora/linux/{}/repodata/repomd.xml</url>",
            fixture::SUBPATH
        )),
        "{}",
        urls[0]
    );
    // The mirrorlist still uses the repository directory.
    let (_, urls) = w.list("repo=fedora-41&arch=x86_64&ip=198.51.100.9");
    assert!(urls.len() > 1);
}

#[test]
fn country_allowed_does_not_hide_a_mirrors_own_netblock() {
    let mut w = world();
    let mut ml = fixture::cache(1_700_000_000);
    ml.host_netblock_cache
        .push(mm_cachefile::StringRepeatedIntMap {
            key: "172.16.0.0/12".into(),
            value: vec![7],
        });
    w.ix = Index::build(&ml);
    let (header, urls) = w.list("repo=fedora-41&arch=x86_64&ip=172.16.5.5");
    assert!(header.contains("Using preferred netblock"), "{header}");
    assert_eq!(hosts(&urls)[0], "jp7");
}

#[test]
fn time_parameter_adds_the_cache_time() {
    let w = world();
    let r = w.get(
        Kind::Mirrorlist,
        "repo=fedora-41&arch=x86_64&country=DE&time=1",
    );
    assert!(
        r.body
            .contains("\n# database creation time: 1700000000 (2023-11-14 22:13:20 UTC)\n"),
        "{}",
        r.body
    );
}

#[test]
fn access_line_is_fedora_format() {
    let w = world();
    let r = w.get(Kind::Metalink, "repo=fedora-41&arch=x86_64&ip=198.51.100.9");
    let line = r.access.unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        line,
        format!("IP: 198.51.100.9; DATE: {today}; COUNTRY: DE; REPO: fedora-41; ARCH: x86_64")
    );
    assert!(w.get(Kind::Mirrorlist, "path=pub/x").access.is_none());
}

#[test]
fn weighted_shuffle_follows_bandwidth() {
    let trials = 20_000;
    let mut heavy_first = 0;
    let mut counts = [0usize; 3];
    for _ in 0..trials {
        let mut v = vec![1, 2, 3];
        weighted_shuffle(&mut v, |h| if h == 3 { 200.0 } else { 100.0 });
        let set: HashSet<i64> = v.iter().copied().collect();
        assert_eq!(set.len(), 3);
        if v[0] == 3 {
            heavy_first += 1;
        }
        counts[(v[0] - 1) as usize] += 1;
    }
    // P(heavy first) = 200 / 400 = 0.5; each light host 0.25. 20000 trials: sd ≈ 0.0035.
    let p = heavy_first as f64 / trials as f64;
    assert!((0.48..0.52).contains(&p), "heavy host first with p = {p}");
    for c in &counts[..2] {
        let q = *c as f64 / trials as f64;
        assert!((0.23..0.27).contains(&q), "light host first with p = {q}");
    }
}

#[test]
fn reply_names_the_tier_of_the_first_mirror() {
    use crate::select::Tier;
    let w = world();
    let tier = |kind: Kind, q: &str| w.get(kind, q).tier;
    let q = |ip: &str| format!("repo=fedora-41&arch=x86_64&ip={ip}");
    assert_eq!(tier(Kind::Mirrorlist, &q("10.1.2.3")), Some(Tier::Netblock));
    assert_eq!(
        tier(Kind::Mirrorlist, &q("198.51.100.200")),
        Some(Tier::Internet2)
    );
    assert_eq!(tier(Kind::Mirrorlist, &q("100.64.1.1")), Some(Tier::Asn));
    assert_eq!(tier(Kind::Metalink, &q("192.0.2.5")), Some(Tier::Country));
    assert_eq!(tier(Kind::Mirrorlist, &q("8.8.8.8")), Some(Tier::Global));
    // Asked for a country without mirrors: the rest of its continent.
    assert_eq!(
        tier(Kind::Mirrorlist, "repo=fedora-41&arch=x86_64&country=IT"),
        Some(Tier::Continent)
    );
    // Embargoed: nothing chosen; unknown repository: no selection at all.
    assert_eq!(tier(Kind::Mirrorlist, &q("233.252.0.1")), Some(Tier::None));
    assert_eq!(tier(Kind::Mirrorlist, "repo=nope&arch=x86_64"), None);
    let names: Vec<&str> = Tier::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(
        names,
        [
            "netblock",
            "internet2",
            "asn",
            "country",
            "continent",
            "global",
            "none"
        ]
    );
}

#[test]
fn streaming_load_gives_the_same_index_as_decoding() {
    let ml = fixture::cache(1_700_000_000);
    let bytes = mm_cachefile::encode(&ml);
    let read = crate::load::read_from(bytes.as_slice(), Path::new("c.proto")).unwrap();
    let (a, b) = (Index::build(&ml), read.index);
    assert_eq!(read.entries as usize, a.ent_host.len());
    assert_eq!(a.time, b.time);
    assert_eq!(a.dir_count(), b.dir_count());
    assert_eq!(
        (&a.ent_host, &a.ent_set, &a.lists),
        (&b.ent_host, &b.ent_set, &b.lists)
    );
    assert_eq!(a.countries, b.countries);
    assert_eq!(a.repo_arch, b.repo_arch);
    assert_eq!(a.files, b.files);
    assert_eq!(a.urls.len(), b.urls.len());
    assert!(b.heap_bytes() > 0);
    // Deterministic answers are the same.
    let w = world();
    let w2 = World { ix: b, ..world() };
    for q in [
        "repo=fedora-41&arch=x86_64&country=FR",
        "path=pub/fedora/linux/releases/41/Everything/x86_64/os&country=FR",
    ] {
        assert_eq!(
            w.get(Kind::Mirrorlist, q),
            w2.get(Kind::Mirrorlist, q),
            "{q}"
        );
    }
}

#[test]
fn streaming_load_refuses_bad_files() {
    let ml = fixture::cache(1_700_000_000);
    let bytes = mm_cachefile::encode(&ml);
    let p = Path::new("c.proto");
    let err = |b: &[u8]| crate::load::read_from(b, p).unwrap_err().to_string();
    assert!(err(b"").contains("the file is empty"), "{}", err(b""));
    assert!(
        err(b"garbage garbage").contains("c.proto"),
        "{}",
        err(b"garbage garbage")
    );
    let cut = &bytes[..bytes.len() - 3];
    assert!(err(cut).contains("truncated or corrupt"), "{}", err(cut));
    let mut no_time = ml.clone();
    no_time.time = 0;
    let b = mm_cachefile::encode(&no_time);
    assert!(err(&b).contains("creation time"), "{}", err(&b));
}

#[test]
fn loading_reports_defects() {
    let mut ml = fixture::cache(1_700_000_000);
    let mut d = ml.mirror_list_cache[0].clone();
    d.global.push(424_242);
    ml.mirror_list_cache.push(d);
    ml.hc_url_cache
        .retain(|u| u.key != ml.mirror_list_cache[0].by_host_id[0].value[0]);
    let bytes = mm_cachefile::encode(&ml);
    let read = crate::load::read_from(bytes.as_slice(), Path::new("c.proto")).unwrap();
    let all = read.defects.join("\n");
    assert!(all.contains("listed twice"), "{all}");
    assert!(
        all.contains("host 424242 is referenced without a URL entry"),
        "{all}"
    );
    assert!(all.contains("missing from HCUrlCache"), "{all}");
}
