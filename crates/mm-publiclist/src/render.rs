//! Turning a [`Snapshot`] into pages and mirrors.json. Templates are compiled into the
//! binary and auto-escaped (every template name ends in `.html`); a host's table row is
//! rendered once per product and reused on every page that lists the host.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::PubliclistError;
use crate::data::{HostRow, Snapshot, VersionRow};

/// A repository's (version, arch).
type VersionArch = (Option<i32>, Option<i32>);

/// Protocols linked on the pages, in display order.
pub const PROTOCOLS: [&str; 4] = ["https", "http", "ftp", "rsync"];

/// The stylesheet every page links.
pub const STYLE: &str = include_str!("templates/style.css");

/// The template environment with every template loaded.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_formatter(format_value);
    env.add_template("base.html", include_str!("templates/base.html"))?;
    env.add_template("index.html", include_str!("templates/index.html"))?;
    env.add_template("mirrors.html", include_str!("templates/mirrors.html"))?;
    env.add_template("group.html", include_str!("templates/group.html"))?;
    env.add_template("row.html", include_str!("templates/row.html"))?;
    Ok(env)
}

/// Print a value: nothing for none/undefined; in HTML templates anything not marked safe
/// is escaped (`& < > " '`; unlike minijinja's default, `/` stays readable in URLs).
fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    if matches!(state.auto_escape(), minijinja::AutoEscape::Html) && !value.is_safe() {
        let text = value.to_string();
        out.write_str(&escape_html(&text))?;
        return Ok(());
    }
    minijinja::escape_formatter(out, state, value)
}

/// HTML-escape text for element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// A URL fit for an `href`: characters a URL may not contain (space, quotes, angle
/// brackets, controls, non-ASCII, …) percent-encoded; the template still HTML-escapes it.
pub fn href(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The name a version is shown under: display_name else name, `development` as `rawhide`.
pub fn shown_version_name(v: &VersionRow) -> String {
    let n = v
        .display_name
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(&v.name);
    if n == "development" {
        "rawhide".into()
    } else {
        n.to_string()
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    Num(u64),
    Str(String),
}

/// Version order: numeric runs compare as numbers (`9` < `10`), words after numbers.
fn version_key(name: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    for c in name.chars() {
        let d = c.is_ascii_digit();
        if !cur.is_empty() && d != digits {
            out.push(chunk(&cur, digits));
            cur.clear();
        }
        digits = d;
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(chunk(&cur, digits));
    }
    out
}

fn chunk(s: &str, digits: bool) -> Chunk {
    match s.parse() {
        Ok(n) if digits => Chunk::Num(n),
        _ => Chunk::Str(s.to_ascii_lowercase()),
    }
}

/// Sort versions newest first: by sortorder, then by version order, both descending.
pub fn sort_versions(versions: &mut [&VersionRow]) {
    versions.sort_by(|a, b| {
        b.sortorder
            .cmp(&a.sortorder)
            .then_with(|| version_key(&b.name).cmp(&version_key(&a.name)))
            .then_with(|| b.id.cmp(&a.id))
    });
}

/// A path segment for a name: safe characters kept, others replaced by `_`; unique among
/// `taken` (a `-<id>` suffix resolves collisions).
fn segment(name: &str, id: i32, taken: &mut HashSet<String>) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // The names of the files the tree holds beside the product directories.
    let reserved = ["index.html", "style.css", "mirrors.json"];
    if s.is_empty()
        || s.chars().all(|c| c == '.')
        || reserved.iter().any(|r| s.eq_ignore_ascii_case(r))
    {
        s = format!("_{id}");
    }
    if !taken.insert(s.clone()) {
        s = format!("{s}-{id}");
        taken.insert(s.clone());
    }
    s
}

/// `2026-11-25T13:20:52Z`.
pub fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// How long ago `t` was, for humans.
pub fn age(now: NaiveDateTime, t: NaiveDateTime) -> String {
    let secs = (now - t).num_seconds();
    if secs < 60 {
        "just now".into()
    } else if secs < 3600 {
        format!("{} min ago", secs / 60)
    } else if secs < 48 * 3600 {
        format!("{} h ago", secs / 3600)
    } else {
        format!("{} d ago", secs / 86400)
    }
}

/// The URL scheme, lower-cased (`https`, `rsync`, …).
pub fn scheme(url: &str) -> Option<String> {
    url.split_once("://").map(|(s, _)| s.to_ascii_lowercase())
}

#[derive(Serialize)]
struct Link<'a> {
    href: String,
    name: &'a str,
}

#[derive(Serialize)]
struct ContentLink {
    proto: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Content<'a> {
    category: Option<&'a str>,
    links: Vec<ContentLink>,
}

/// What a run produced.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub pages: usize,
    pub hosts: usize,
}

/// mirrors.json, version 1 (documented in docs/publiclist.md).
#[derive(Debug, Serialize)]
pub struct JsonDoc<'a> {
    pub version: u32,
    pub generated: String,
    pub hosts: Vec<JsonHost<'a>>,
}

/// One public active host in mirrors.json.
#[derive(Debug, Serialize)]
pub struct JsonHost<'a> {
    pub id: i32,
    pub name: &'a str,
    pub site: JsonSite<'a>,
    pub country: &'a str,
    pub bandwidth_mbps: Option<i32>,
    pub internet2: bool,
    pub comment: Option<&'a str>,
    pub last_crawled: Option<String>,
    pub last_crawl_duration: Option<i64>,
    pub crawl_failures: i32,
    pub crawl_status: &'static str,
    pub categories: BTreeMap<&'a str, JsonCategory<'a>>,
}

/// The site of a host in mirrors.json.
#[derive(Debug, Serialize)]
pub struct JsonSite<'a> {
    pub name: &'a str,
    pub url: Option<&'a str>,
}

/// One category a host carries, in mirrors.json.
#[derive(Debug, Serialize)]
pub struct JsonCategory<'a> {
    pub always_up2date: bool,
    pub urls: BTreeMap<String, Vec<&'a str>>,
    pub directories: i64,
    pub up2date_directories: i64,
    pub up2date_fraction: Option<f64>,
}

/// Everything derived from a snapshot that the pages share.
struct Index<'a> {
    snap: &'a Snapshot,
    now: NaiveDateTime,
    /// Listed hosts (crawled at least once) in table order.
    listed: Vec<&'a HostRow>,
    /// host id → host_category ids.
    hcs_of_host: HashMap<i32, Vec<i32>>,
    /// host_category id → its non-private URLs.
    urls_of_hc: HashMap<i32, Vec<&'a str>>,
    /// category id → (name, product id).
    cats: HashMap<i32, (&'a str, i32)>,
    /// product id → number of publiclist categories.
    cats_per_product: HashMap<i32, usize>,
}

impl<'a> Index<'a> {
    fn new(snap: &'a Snapshot, now: NaiveDateTime) -> Self {
        let mut hcs_of_host: HashMap<i32, Vec<i32>> = HashMap::new();
        for (id, hc) in &snap.host_categories {
            hcs_of_host.entry(hc.host_id).or_default().push(*id);
        }
        let mut urls_of_hc: HashMap<i32, Vec<&str>> = HashMap::new();
        for (hc, url) in &snap.urls {
            urls_of_hc.entry(*hc).or_default().push(url);
        }
        let cats: HashMap<i32, (&str, i32)> = snap
            .categories
            .iter()
            .map(|c| (c.id, (c.name.as_str(), c.product_id)))
            .collect();
        let mut cats_per_product: HashMap<i32, usize> = HashMap::new();
        for c in &snap.categories {
            *cats_per_product.entry(c.product_id).or_default() += 1;
        }
        for v in hcs_of_host.values_mut() {
            v.sort_by_key(|hc| {
                snap.host_categories
                    .get(hc)
                    .and_then(|h| cats.get(&h.category_id))
                    .map(|c| c.0)
            });
        }
        Index {
            snap,
            now,
            listed: snap
                .hosts
                .iter()
                .filter(|h| h.last_crawled.is_some())
                .collect(),
            hcs_of_host,
            urls_of_hc,
            cats,
            cats_per_product,
        }
    }

    /// The table row of a host on the pages of a product.
    fn row(
        &self,
        env: &Environment,
        h: &HostRow,
        product_id: i32,
    ) -> Result<String, minijinja::Error> {
        let mut content = Vec::new();
        let label = self.cats_per_product.get(&product_id).copied().unwrap_or(0) > 1;
        for hc in self.hcs_of_host.get(&h.id).into_iter().flatten() {
            let Some(row) = self.snap.host_categories.get(hc) else {
                continue;
            };
            let Some(&(cat_name, pid)) = self.cats.get(&row.category_id) else {
                continue;
            };
            if pid != product_id {
                continue;
            }
            let urls = self.urls_of_hc.get(hc).map(Vec::as_slice).unwrap_or(&[]);
            let links: Vec<ContentLink> = PROTOCOLS
                .iter()
                .filter_map(|p| {
                    urls.iter()
                        .find(|u| scheme(u).as_deref() == Some(*p))
                        .map(|u| ContentLink {
                            proto: p,
                            url: href(u),
                        })
                })
                .collect();
            if !links.is_empty() {
                content.push(Content {
                    category: label.then_some(cat_name),
                    links,
                });
            }
        }
        let site_url = h
            .site_url
            .as_deref()
            .filter(|u| matches!(scheme(u).as_deref(), Some("http" | "https")))
            .map(href);
        env.get_template("row.html")?.render(context! {
            site => h.site_name,
            site_url,
            host => h.name,
            content,
            bandwidth => h.bandwidth,
            internet2 => h.internet2,
            comment => h.comment,
            crawled_iso => h.last_crawled.map(iso),
            crawled_age => h.last_crawled.map(|t| age(self.now, t)),
        })
    }
}

/// Render every page and mirrors.json, handing each file to `sink` as it is produced (so
/// at most one page is in memory at a time).
pub fn render(
    snap: &Snapshot,
    now: NaiveDateTime,
    mut sink: impl FnMut(&str, &[u8]) -> Result<(), PubliclistError>,
) -> Result<Counts, PubliclistError> {
    let env = environment()?;
    let ix = Index::new(snap, now);
    let generated = iso(now);
    let mut counts = Counts {
        pages: 0,
        hosts: ix.listed.len(),
    };
    let listed_ids: HashSet<i32> = ix.listed.iter().map(|h| h.id).collect();

    // Which listed hosts carry each product, each version and each (version, arch).
    let mut by_product: HashMap<i32, HashSet<i32>> = HashMap::new();
    let mut by_version: HashMap<i32, HashSet<i32>> = HashMap::new();
    let mut by_va: HashMap<(i32, i32), HashSet<i32>> = HashMap::new();
    let mut repos_of_cat: HashMap<i32, Vec<VersionArch>> = HashMap::new();
    for &(v, a, c) in &snap.repos {
        if let Some(c) = c {
            repos_of_cat.entry(c).or_default().push((v, a));
        }
    }
    let mut mark = |host: i32, v: Option<i32>, a: Option<i32>| {
        if let Some(v) = v {
            by_version.entry(v).or_default().insert(host);
            if let Some(a) = a {
                by_va.entry((v, a)).or_default().insert(host);
            }
        }
    };
    for hc in snap.host_categories.values() {
        if !listed_ids.contains(&hc.host_id) {
            continue;
        }
        if let Some(&(_, pid)) = ix.cats.get(&hc.category_id) {
            by_product.entry(pid).or_default().insert(hc.host_id);
        }
        if hc.always_up2date {
            for &(v, a) in repos_of_cat.get(&hc.category_id).into_iter().flatten() {
                mark(hc.host_id, v, a);
            }
        }
    }
    for &(hc, v, a) in &snap.up2date {
        if let Some(row) = snap.host_categories.get(&hc)
            && listed_ids.contains(&row.host_id)
        {
            mark(row.host_id, v, a);
        }
    }

    // (version → publiclist arches with a repository), arches sorted by name.
    let mut arches_of_version: HashMap<i32, Vec<(i32, &str)>> = HashMap::new();
    for &(v, a, _) in &snap.repos {
        if let (Some(v), Some(a)) = (v, a)
            && let Some(name) = snap.arches.get(&a)
        {
            let list = arches_of_version.entry(v).or_default();
            if !list.iter().any(|(id, _)| *id == a) {
                list.push((a, name));
            }
        }
    }
    for list in arches_of_version.values_mut() {
        list.sort_by(|x, y| x.1.cmp(y.1));
    }

    let mut rows: HashMap<(i32, i32), String> = HashMap::new();
    let mut index_products = Vec::new();
    let mut product_segs = HashSet::new();
    let empty = HashSet::new();
    for p in &snap.products {
        let pseg = segment(&p.name, p.id, &mut product_segs);
        let product_hosts = by_product.get(&p.id).unwrap_or(&empty);
        let mut versions: Vec<&VersionRow> = snap
            .versions
            .iter()
            .filter(|v| v.product_id == p.id)
            .collect();
        sort_versions(&mut versions);
        for h in &ix.listed {
            if product_hosts.contains(&h.id) {
                rows.insert((h.id, p.id), ix.row(&env, h, p.id)?);
            }
        }
        let table = |hosts: &HashSet<i32>| -> Result<String, minijinja::Error> {
            table_html(&env, &ix.listed, hosts, p.id, &rows)
        };

        let mut version_segs = HashSet::new();
        let mut index_versions = Vec::new();
        let mut version_links = Vec::new();
        for v in &versions {
            let vname = shown_version_name(v);
            let vseg = segment(&v.name, v.id, &mut version_segs);
            let vhosts = by_version.get(&v.id).unwrap_or(&empty);
            let mut arch_segs = HashSet::new();
            let mut index_arches = Vec::new();
            let mut arch_links = Vec::new();
            for &(a, aname) in arches_of_version.get(&v.id).into_iter().flatten() {
                let aseg = segment(aname, a, &mut arch_segs);
                let ahosts = by_va.get(&(v.id, a)).unwrap_or(&empty);
                let html = env.get_template("mirrors.html")?.render(context! {
                    title => format!("{} {} {} mirrors", p.name, vname, aname),
                    root => "../../../",
                    crumbs => vec![
                        Link { href: "../../index.html".into(), name: &p.name },
                        Link { href: "../index.html".into(), name: &vname },
                        Link { href: "index.html".into(), name: aname },
                    ],
                    generated,
                    heading => format!("{} {} for {}", p.name, vname, aname),
                    is_test => v.is_test,
                    count => ahosts.len(),
                    table => Value::from_safe_string(table(ahosts)?),
                })?;
                sink(&format!("{pseg}/{vseg}/{aseg}/index.html"), html.as_bytes())?;
                counts.pages += 1;
                index_arches.push(Link {
                    href: format!("{pseg}/{vseg}/{aseg}/index.html"),
                    name: aname,
                });
                arch_links.push(Link {
                    href: format!("{aseg}/index.html"),
                    name: aname,
                });
            }
            let html = env.get_template("mirrors.html")?.render(context! {
                title => format!("{} {} mirrors", p.name, vname),
                root => "../../",
                crumbs => vec![
                    Link { href: "../index.html".into(), name: &p.name },
                    Link { href: "index.html".into(), name: &vname },
                ],
                generated,
                heading => format!("{} {}", p.name, vname),
                is_test => v.is_test,
                links_label => "Architectures",
                links => arch_links,
                count => vhosts.len(),
                table => Value::from_safe_string(table(vhosts)?),
            })?;
            sink(&format!("{pseg}/{vseg}/index.html"), html.as_bytes())?;
            counts.pages += 1;
            version_links.push((format!("{vseg}/index.html"), vname.clone()));
            index_versions.push(context! {
                href => format!("{pseg}/{vseg}/index.html"),
                name => vname,
                is_test => v.is_test,
                count => vhosts.len(),
                arches => index_arches,
            });
        }
        let links: Vec<Link> = version_links
            .iter()
            .map(|(href, name)| Link {
                href: href.clone(),
                name,
            })
            .collect();
        let html = env.get_template("mirrors.html")?.render(context! {
            title => format!("{} mirrors", p.name),
            root => "../",
            crumbs => vec![Link { href: "index.html".into(), name: &p.name }],
            generated,
            heading => p.name,
            links_label => "Versions",
            links,
            count => product_hosts.len(),
            table => Value::from_safe_string(table(product_hosts)?),
        })?;
        sink(&format!("{pseg}/index.html"), html.as_bytes())?;
        counts.pages += 1;
        index_products.push(context! {
            name => p.name,
            href => format!("{pseg}/index.html"),
            count => product_hosts.len(),
            versions => index_versions,
        });
        rows.retain(|(_, pid), _| *pid != p.id);
    }
    let html = env.get_template("index.html")?.render(context! {
        title => "Public mirror list",
        root => "",
        crumbs => Vec::<Link>::new(),
        generated,
        products => index_products,
    })?;
    sink("index.html", html.as_bytes())?;
    counts.pages += 1;
    sink("style.css", STYLE.as_bytes())?;
    let json = serde_json::to_vec_pretty(&json_doc(&ix, generated))?;
    sink("mirrors.json", &json)?;
    Ok(counts)
}

/// The `<tbody>` groups (one per country) of a mirror table listing `hosts`.
fn table_html(
    env: &Environment,
    listed: &[&HostRow],
    hosts: &HashSet<i32>,
    product_id: i32,
    rows: &HashMap<(i32, i32), String>,
) -> Result<String, minijinja::Error> {
    let group = env.get_template("group.html")?;
    let mut out = String::new();
    let mut cur: Option<&str> = None;
    let mut body = String::new();
    let flush = |out: &mut String, code: &str, body: &mut String| -> Result<(), minijinja::Error> {
        out.push_str(&group.render(context! {
            code,
            name => crate::countries::name(code),
            rows => Value::from_safe_string(std::mem::take(body)),
        })?);
        Ok(())
    };
    for h in listed.iter().filter(|h| hosts.contains(&h.id)) {
        if cur.is_some_and(|c| c != h.country) {
            flush(&mut out, cur.unwrap_or_default(), &mut body)?;
        }
        cur = Some(&h.country);
        if let Some(r) = rows.get(&(h.id, product_id)) {
            body.push_str(r);
        }
    }
    if let Some(c) = cur {
        flush(&mut out, c, &mut body)?;
    }
    Ok(out)
}

fn json_doc<'a>(ix: &Index<'a>, generated: String) -> JsonDoc<'a> {
    let snap = ix.snap;
    let hosts = snap
        .hosts
        .iter()
        .map(|h| {
            let mut categories = BTreeMap::new();
            for hc in ix.hcs_of_host.get(&h.id).into_iter().flatten() {
                let Some(row) = snap.host_categories.get(hc) else {
                    continue;
                };
                let Some(&(cat_name, _)) = ix.cats.get(&row.category_id) else {
                    continue;
                };
                let mut urls: BTreeMap<String, Vec<&str>> = BTreeMap::new();
                for u in ix.urls_of_hc.get(hc).into_iter().flatten() {
                    urls.entry(scheme(u).unwrap_or_else(|| "other".into()))
                        .or_default()
                        .push(u);
                }
                let (dirs, fresh) = snap.dir_counts.get(hc).copied().unwrap_or((0, 0));
                let fraction = if row.always_up2date {
                    Some(1.0)
                } else if dirs > 0 {
                    Some(fresh as f64 / dirs as f64)
                } else {
                    None
                };
                categories.insert(
                    cat_name,
                    JsonCategory {
                        always_up2date: row.always_up2date,
                        urls,
                        directories: dirs,
                        up2date_directories: fresh,
                        up2date_fraction: fraction,
                    },
                );
            }
            JsonHost {
                id: h.id,
                name: &h.name,
                site: JsonSite {
                    name: &h.site_name,
                    url: h.site_url.as_deref(),
                },
                country: &h.country,
                bandwidth_mbps: h.bandwidth,
                internet2: h.internet2,
                comment: h.comment.as_deref(),
                last_crawled: h.last_crawled.map(iso),
                last_crawl_duration: h.last_crawl_duration,
                crawl_failures: h.crawl_failures,
                crawl_status: match (h.last_crawled, h.crawl_failures) {
                    (None, _) => "never_crawled",
                    (Some(_), 0) => "ok",
                    (Some(_), _) => "failing",
                },
                categories,
            }
        })
        .collect();
    JsonDoc {
        version: 1,
        generated,
        hosts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: i32, name: &str, sortorder: i32) -> VersionRow {
        VersionRow {
            id,
            product_id: 1,
            name: name.into(),
            display_name: None,
            is_test: false,
            sortorder,
        }
    }

    #[test]
    fn versions_sort_newest_first() {
        let rows = [
            v(1, "9", 0),
            v(2, "10", 0),
            v(3, "41", 0),
            v(4, "development", 0),
            v(5, "40", 1),
        ];
        let mut refs: Vec<&VersionRow> = rows.iter().collect();
        sort_versions(&mut refs);
        let names: Vec<&str> = refs.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["40", "development", "41", "10", "9"]);
        assert_eq!(shown_version_name(&rows[3]), "rawhide");
    }

    #[test]
    fn segments_are_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(segment("Fedora Linux", 1, &mut taken), "Fedora_Linux");
        assert_eq!(segment("Fedora/Linux", 2, &mut taken), "Fedora_Linux-2");
        assert_eq!(segment("..", 3, &mut taken), "_3");
        assert_eq!(segment("style.css", 4, &mut taken), "_4");
        assert_eq!(segment("Mirrors.JSON", 5, &mut taken), "_5");
        assert_eq!(segment("index.html", 6, &mut taken), "_6");
    }

    #[test]
    fn hrefs_are_percent_encoded() {
        assert_eq!(
            href("https://a.example/x y\"<é>"),
            "https://a.example/x%20y%22%3C%C3%A9%3E"
        );
        assert_eq!(
            href("rsync://a.example/fedora/?a=b&c"),
            "rsync://a.example/fedora/?a=b&c"
        );
    }

    #[test]
    fn ages_read_naturally() {
        let t = chrono::DateTime::from_timestamp(1_000_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(age(t + chrono::Duration::seconds(30), t), "just now");
        assert_eq!(age(t + chrono::Duration::hours(5), t), "5 h ago");
        assert_eq!(age(t + chrono::Duration::days(3), t), "3 d ago");
    }
}
