//! Answering one request from a loaded cache: resolve the repository or path, choose the
//! mirrors and render a mirrorlist (text) or a Metalink 3.0 document. Pure: no I/O.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt::Write;
use std::net::IpAddr;

use crate::geo::Geo;
use crate::index::{Dir, Index, SetUrl, xml_escape};
use crate::request::{Params, client_ip};
use crate::select::{Client, Pick, Tier, locate, select};

/// Which document a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mirrorlist,
    Metalink,
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// `Location` for `redirect=1`.
    pub location: Option<String>,
    /// The access-log line, for successful repo/arch requests.
    pub access: Option<String>,
    /// The tier of the first mirror offered (`None` when no mirror was chosen).
    pub tier: Option<Tier>,
}

/// Server-wide settings a request needs.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub minimum: usize,
    pub embargoed: HashSet<String>,
}

const TEXT: &str = "text/plain; charset=utf-8";
const METALINK: &str = "application/metalink+xml";

fn text(status: u16, body: String) -> Reply {
    Reply {
        status,
        content_type: TEXT,
        body,
        location: None,
        access: None,
        tier: None,
    }
}

fn metalink_head(now: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<metalink version=\"3.0\" xmlns=\"http://www.metalinker.org/\" type=\"dynamic\" pubdate=\"{now}\" generator=\"mirrormanager\" xmlns:mm0=\"http://fedorahosted.org/mirrormanager\">\n"
    )
}

/// The metalink `pubdate` and the access log's day for now. Formatted once per second per
/// thread: chrono's formatting costs more than the rest of a small answer's header.
fn now_texts() -> (String, String) {
    thread_local! {
        static NOW: RefCell<(i64, String, String)> = const { RefCell::new((i64::MIN, String::new(), String::new())) };
    }
    let now = chrono::Utc::now();
    NOW.with_borrow_mut(|(at, pubdate, day)| {
        if *at != now.timestamp() {
            *at = now.timestamp();
            *pubdate = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            *day = now.format("%Y-%m-%d").to_string();
        }
        (pubdate.clone(), day.clone())
    })
}

fn pubdate() -> String {
    now_texts().0
}

/// A Metalink failure document: an XML comment saying what went wrong.
pub fn metalink_failure(status: u16, message: &str) -> Reply {
    let msg = message.replace("--", "- -");
    Reply {
        status,
        content_type: METALINK,
        body: format!("{}<!-- {msg} -->\n</metalink>\n", metalink_head(&pubdate())),
        location: None,
        access: None,
        tier: None,
    }
}

fn failure(kind: Kind, status: u16, message: &str, extra: &str) -> Reply {
    match kind {
        Kind::Mirrorlist => text(status, format!("# {message}\n{extra}")),
        Kind::Metalink => metalink_failure(status, message),
    }
}

/// Whether URL `u` may be offered for this request.
fn url_ok(ix: &Index, u: u32, kind: Kind, protocols: &[String]) -> bool {
    if protocols.is_empty() {
        kind == Kind::Metalink || ix.urls[u as usize].rank < 3
    } else {
        let scheme = &ix.urls[u as usize].scheme;
        protocols.iter().any(|p| **p == **scheme)
    }
}

/// The URLs of an entry's set usable for this request, best protocol first: `f(url)`
/// until it returns false.
fn host_urls(
    ix: &Index,
    ent: u32,
    kind: Kind,
    protocols: &[String],
    mut f: impl FnMut(&SetUrl) -> bool,
) {
    for su in ix.urls_of(ix.set_of(ent)) {
        if url_ok(ix, su.url, kind, protocols) && !f(su) {
            return;
        }
    }
}

/// The first usable URL of an entry.
fn first_url(ix: &Index, ent: u32, kind: Kind, protocols: &[String]) -> Option<u32> {
    let set = ix.set_of(ent);
    if protocols.is_empty() {
        // Pre-computed: the first URL is usable for a metalink, the first http(s)/ftp one
        // for a mirrorlist.
        let k = match kind {
            Kind::Metalink => 0,
            Kind::Mirrorlist => set.first_ml,
        };
        return ix.urls_of(set).get(k as usize).map(|su| su.url);
    }
    let mut first = None;
    host_urls(ix, ent, kind, protocols, |su| {
        first = Some(su.url);
        false
    });
    first
}

/// What follows a mirror's base URL: `/<subpath>/<tail>`.
fn url_suffix(subpath: &str, tail: &str) -> String {
    let mut u = String::new();
    let sub = subpath.trim_matches('/');
    if !sub.is_empty() {
        u.push('/');
        u.push_str(sub);
    }
    u.push('/');
    u.push_str(tail.trim_start_matches('/'));
    u
}

/// What a request resolved to.
struct Target<'a> {
    directory: &'a str,
    dir: &'a Dir,
    /// File under the directory (metalink: `repomd.xml` under the repodata directory).
    file: Option<String>,
    /// The file's rendered metalink details (see [`Index::file_xml`]).
    details: Option<&'a str>,
    header: String,
    /// The repository as requested (before redirection) and the arch used, for the log.
    repo_arch: Option<(String, String)>,
}

fn resolve<'a>(ix: &'a Index, params: &Params, kind: Kind) -> Result<Target<'a>, Reply> {
    if let (Some(repo), Some(arch)) = (&params.repo, &params.arch) {
        let repo = ix.repo_redirect.get(repo).unwrap_or(repo);
        let arch = if repo.contains("source") {
            "source"
        } else {
            arch.as_str()
        };
        let header = format!("# repo = {repo} arch = {arch} ");
        if ix.disabled.contains(repo) {
            return Err(failure(
                kind,
                200,
                &format!("repo = {repo} arch = {arch} error: repo disabled"),
                "",
            ));
        }
        let Some((t, dir)) = ix
            .repo_arch
            .get(&format!("{repo}+{arch}"))
            .and_then(|t| Some((t, t.dir?)))
        else {
            let mut extra = String::from("# following repositories are available:\n");
            for (r, a) in ix.available() {
                let _ = writeln!(extra, "# repo={r}&arch={a}");
            }
            return Err(failure(
                kind,
                404,
                &format!("repo = {repo} arch = {arch} error: invalid repo or arch"),
                &extra,
            ));
        };
        let repo_arch = Some((params.repo.clone().unwrap_or_default(), arch.to_string()));
        let details = t.repomd.map(|n| &*ix.file_xml[n as usize]);
        if kind == Kind::Metalink {
            // Like Fedora's server: the hosts are those of the repodata directory itself
            // (a mirror may be current for os/ but not yet for os/repodata/).
            if let Some((directory, n)) = &t.repodata {
                return Ok(Target {
                    directory,
                    dir: &ix.dirs[*n as usize],
                    file: Some("repomd.xml".into()),
                    details,
                    header,
                    repo_arch,
                });
            }
        }
        return Ok(Target {
            directory: &t.directory,
            dir: &ix.dirs[dir as usize],
            file: (kind == Kind::Metalink).then(|| "repodata/repomd.xml".to_string()),
            details,
            header,
            repo_arch,
        });
    }
    if let Some(path) = &params.path {
        // `//pub//fedora/` is `pub/fedora` (as Fedora's server reads it).
        let clean: Cow<str> = if path.trim_matches('/').contains("//") {
            Cow::Owned(
                path.split('/')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("/"),
            )
        } else {
            Cow::Borrowed(path.trim_matches('/'))
        };
        let clean = clean.as_ref();
        let header = format!("# path = {clean} ");
        if kind == Kind::Mirrorlist
            && let Some((directory, dir)) = ix.dir(clean)
        {
            return Ok(Target {
                directory,
                dir,
                file: None,
                details: None,
                header,
                repo_arch: None,
            });
        }
        // The nearest enclosing directory the cache knows; the rest is the file.
        let mut cut = clean.len();
        while let Some(pos) = clean[..cut].rfind('/') {
            if let Some((directory, dir)) = ix.dir(&clean[..pos]) {
                let file = &clean[pos + 1..];
                return Ok(Target {
                    directory,
                    dir,
                    file: Some(file.to_string()),
                    details: if kind == Kind::Metalink {
                        file_details(ix, directory, file)
                    } else {
                        None
                    },
                    header,
                    repo_arch: None,
                });
            }
            cut = pos;
        }
        return Err(failure(
            kind,
            404,
            &format!("path = {clean} error: invalid path"),
            "",
        ));
    }
    // Fedora's server answers 200 here; clients never send such requests.
    Err(failure(
        kind,
        200,
        "either path=, or repo= and arch= must be specified",
        "",
    ))
}

/// The rendered details of `file` (a path under `directory`).
fn file_details<'a>(ix: &'a Index, directory: &str, file: &str) -> Option<&'a str> {
    let n = match file.rsplit_once('/') {
        Some((s, name)) => ix.files.get(format!("{directory}/{s}").as_str())?.get(name),
        None => ix.files.get(directory)?.get(file),
    }?;
    Some(&ix.file_xml[*n as usize])
}

/// Answer `/mirrorlist` or `/metalink`.
pub fn answer(
    ix: &Index,
    geo: &Geo,
    settings: &Settings,
    kind: Kind,
    query: &str,
    forwarded_for: Option<&str>,
    peer: IpAddr,
) -> Reply {
    let params = Params::from_query(query);
    let target = match resolve(ix, &params, kind) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let ip = match client_ip(params.ip.as_deref(), forwarded_for, peer) {
        Ok(ip) => ip,
        Err(bad) => return failure(kind, 400, &format!("error: invalid IP address {bad:?}"), ""),
    };
    let client: Client = locate(ix, geo, ip);
    let dir = target.dir;
    let usable = |ent: u32| {
        if params.protocols.is_empty() {
            ix.has_url(ent, kind == Kind::Mirrorlist)
        } else {
            first_url(ix, ent, kind, &params.protocols).is_some()
        }
    };
    let sel = select(
        ix,
        geo,
        dir,
        &params,
        &client,
        settings.minimum,
        &settings.embargoed,
        &usable,
    );
    let tier = Some(sel.tier);
    let mut header = target.header.clone();
    header.push_str(&sel.header);
    if !params.protocols.is_empty() {
        let _ = write!(header, "protocol = {} ", params.protocols.join(","));
    }
    let subpath = dir.subpath.as_deref().unwrap_or(target.directory);
    let access = target.repo_arch.as_ref().map(|(repo, arch)| {
        format!(
            "IP: {ip}; DATE: {}; COUNTRY: {}; REPO: {repo}; ARCH: {arch}",
            now_texts().1,
            client.country.as_deref().unwrap_or("N/A"),
        )
    });
    let tail = target.file.clone().unwrap_or_default();
    let suffix = url_suffix(subpath, &tail);

    if params.redirect {
        let first = sel
            .hosts
            .iter()
            .find_map(|p| first_url(ix, p.ent, Kind::Mirrorlist, &params.protocols));
        return match first {
            Some(u) => {
                let u = format!("{}{suffix}", ix.str(ix.urls[u as usize].base));
                Reply {
                    status: 302,
                    content_type: TEXT,
                    body: format!("{u}\n"),
                    location: Some(u),
                    access,
                    tier,
                }
            }
            None => {
                let mut r = text(404, format!("{header}\n# no mirrors found\n"));
                r.tier = tier;
                r
            }
        };
    }
    if kind == Kind::Mirrorlist {
        let mut body =
            String::with_capacity(header.len() + 128 + sel.hosts.len() * (suffix.len() + 64));
        body.push_str(header.trim_end());
        body.push('\n');
        if params.time {
            let _ = writeln!(
                body,
                "# database creation time: {} ({})",
                ix.time,
                fmt_time(ix.time)
            );
        }
        if sel.embargoed {
            body.push_str("# no mirrors for embargoed countries\n");
        }
        let suffix_nl = format!("{suffix}\n");
        for p in &sel.hosts {
            if let Some(u) = first_url(ix, p.ent, Kind::Mirrorlist, &params.protocols) {
                body.push_str(ix.str(ix.urls[u as usize].base));
                body.push_str(&suffix_nl);
            }
        }
        return Reply {
            status: 200,
            content_type: TEXT,
            body,
            location: None,
            access,
            tier,
        };
    }

    // Metalink.
    let Some(details) = target.details else {
        let mut r = metalink_failure(
            404,
            &format!(
                "Metalink error: no file details for {}/{tail}",
                target.directory
            ),
        );
        r.tier = tier;
        return r;
    };
    let suffix_close = format!("{}</url>\n", xml_escape(&suffix));
    // The exact size of the <url> lines: a generous guess would be a ~3× larger allocation
    // per request, which malloc serves far slower. Without a protocol filter every URL of a
    // set is listed, and the set knows the size of its pieces.
    let per_url = 3 + suffix_close.len();
    let mut url_bytes = 0;
    for p in &sel.hosts {
        if params.protocols.is_empty() {
            let set = ix.set_of(p.ent);
            url_bytes += set.ml_bytes[usize::from(p.private)] as usize + set.urls.len() * per_url;
        } else {
            metalink_urls(ix, p, &params.protocols, |head, text| {
                url_bytes += head.len() + text.len() + per_url;
            });
        }
    }
    let mut out = String::with_capacity(512 + details.len() + url_bytes);
    out.push_str(&metalink_head(&pubdate()));
    out.push_str(" <files>\n");
    out.push_str(details);
    for (i, p) in sel.hosts.iter().enumerate() {
        let pref = 100usize.saturating_sub(i).max(1);
        metalink_urls(ix, p, &params.protocols, |head, text| {
            out.push_str(head);
            push_preference(&mut out, pref);
            out.push_str(text);
            out.push_str(&suffix_close);
        });
    }
    out.push_str("   </resources>\n  </file>\n </files>\n</metalink>\n");
    Reply {
        status: 200,
        content_type: METALINK,
        body: out,
        location: None,
        access,
        tier,
    }
}

/// The pre-rendered pieces of a host's metalink `<url>` lines: `f(head, text)` per usable
/// URL, where the line is `head`, the preference, `text`, then the path and `</url>`.
fn metalink_urls(ix: &Index, p: &Pick, protocols: &[String], mut f: impl FnMut(&str, &str)) {
    host_urls(ix, p.ent, Kind::Metalink, protocols, |su| {
        let text = ix.str(su.text);
        let text = if p.private {
            text
        } else {
            &text[text.len() - su.public as usize..]
        };
        f(ix.str(su.head), text);
        true
    });
}

/// Append `n` (1..=100) in decimal.
fn push_preference(out: &mut String, n: usize) {
    if n >= 100 {
        out.push_str("100");
        return;
    }
    if n >= 10 {
        out.push(char::from(b'0' + (n / 10) as u8));
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

fn fmt_time(t: u64) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| t.to_string())
}
