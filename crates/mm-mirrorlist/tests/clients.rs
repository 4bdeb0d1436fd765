//! Real clients against our metalink: aria2c downloads a file and librepo (Debian's
//! python3-librepo, as dnf uses it) fetches repodata with checksum verification, both from
//! a static HTTP server on 127.0.0.1 serving a generated tree.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Server, fixture};
use mm_cachefile::*;
use sha2::Digest;

/// `python3 -m http.server` equivalent on a free 127.0.0.1 port.
struct Static {
    child: Child,
    port: u16,
}

impl Drop for Static {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn static_server(root: &Path) -> Static {
    let script = "import functools, http.server, sys\n\
        h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n\
        s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\n\
        print(s.server_address[1], flush=True)\n\
        s.serve_forever()\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script, root.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 (Debian package python3) is required");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("static server port");
    Static { child, port }
}

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    repomd: Vec<u8>,
}

/// A mirror tree: `pub/fedora/linux/<SUBPATH>/repodata/{repomd.xml,primary.xml.gz}`.
fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    let repodata = root
        .join("pub/fedora/linux")
        .join(fixture::SUBPATH)
        .join("repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    let primary: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(repodata.join("primary.xml.gz"), &primary).unwrap();
    let repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n\
  <revision>1700000000</revision>\n\
  <data type=\"primary\">\n\
    <checksum type=\"sha256\">{}</checksum>\n\
    <location href=\"repodata/primary.xml.gz\"/>\n\
    <timestamp>1700000000</timestamp>\n\
    <size>{}</size>\n\
  </data>\n\
</repomd>\n",
        hex::encode(sha2::Sha256::digest(&primary)),
        primary.len()
    )
    .into_bytes();
    std::fs::write(repodata.join("repomd.xml"), &repomd).unwrap();
    Tree {
        _dir: dir,
        root,
        repomd,
    }
}

/// The fixture cache with every host's URLs pointing at the static server and the real
/// repomd.xml's details (or deliberately wrong hashes).
fn cache_for(port: u16, repomd: &[u8], good_hashes: bool) -> MirrorList {
    let mut ml = fixture::cache(1_700_000_000);
    let base = format!("http://127.0.0.1:{port}/pub/fedora/linux");
    for u in &mut ml.hc_url_cache {
        if u.value.starts_with("http") {
            u.value = base.clone();
        }
    }
    let bad = |h: String| if good_hashes { h } else { "0".repeat(h.len()) };
    ml.file_details_cache[0].file_details_cache_files[0].file_details = vec![FileDetailsType {
        timestamp: 1_700_000_000,
        size: repomd.len() as u64,
        md5: Some(bad(hex::encode(md5::Md5::digest(repomd)))),
        sha1: Some(bad(hex::encode(sha1::Sha1::digest(repomd)))),
        sha256: Some(bad(hex::encode(sha2::Sha256::digest(repomd)))),
        sha512: Some(bad(hex::encode(sha2::Sha512::digest(repomd)))),
    }];
    ml
}

fn aria2c(url: &str, out: &Path) -> std::process::Output {
    Command::new("aria2c")
        .args([
            "--no-conf",
            "--quiet=false",
            "--console-log-level=warn",
            "--summary-interval=0",
        ])
        .arg(format!("--dir={}", out.display()))
        .args([
            "--follow-metalink=mem",
            "--allow-overwrite=true",
            "--max-tries=2",
            "--timeout=20",
        ])
        .arg(url)
        .output()
        .expect("aria2c (Debian package aria2) is required")
}

#[test]
fn aria2c_downloads_through_our_metalink_and_verifies_it() {
    let t = tree();
    let st = static_server(&t.root);
    let s = Server::start(&cache_for(st.port, &t.repomd, true), &[]);
    let out = tempfile::tempdir().unwrap();
    let url = s.url("/metalink?repo=fedora-41&arch=x86_64&country=DE");
    let r = aria2c(&url, out.path());
    assert!(
        r.status.success(),
        "aria2c failed: {}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(
        std::fs::read(out.path().join("repomd.xml")).unwrap(),
        t.repomd
    );

    // Wrong hashes in the metalink: aria2c must refuse the file.
    drop(s);
    let s = Server::start(&cache_for(st.port, &t.repomd, false), &[]);
    let out = tempfile::tempdir().unwrap();
    let r = aria2c(
        &s.url("/metalink?repo=fedora-41&arch=x86_64&country=DE"),
        out.path(),
    );
    assert!(
        !r.status.success(),
        "aria2c accepted a file with a wrong checksum"
    );
}

const LIBREPO: &str = r#"
import sys, librepo
h = librepo.Handle()
h.repotype = librepo.LR_YUMREPO
h.metalinkurl = sys.argv[1]
h.destdir = sys.argv[2]
h.checksum = True
h.yumdlist = ["primary"]
try:
    r = h.perform()
except librepo.LibrepoException as e:
    print("FAILED", e.args)
    sys.exit(3)
info = r.getinfo(librepo.LRR_YUM_REPO)
print("OK", info["repomd"], info["primary"])
"#;

fn librepo(url: &str, dest: &Path) -> std::process::Output {
    // Debian's python3-librepo is importable only by the system interpreter.
    Command::new("/usr/bin/python3")
        .args(["-c", LIBREPO, url, dest.to_str().unwrap()])
        .output()
        .expect("/usr/bin/python3 with python3-librepo is required")
}

#[test]
fn librepo_fetches_repodata_through_our_metalink() {
    let t = tree();
    let st = static_server(&t.root);
    let s = Server::start(&cache_for(st.port, &t.repomd, true), &[]);
    let dest = tempfile::tempdir().unwrap();
    let r = librepo(
        &s.url("/metalink?repo=fedora-41&arch=x86_64&country=DE"),
        dest.path(),
    );
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        r.status.success(),
        "librepo failed: {stdout}{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(stdout.starts_with("OK "), "{stdout}");
    assert_eq!(
        std::fs::read(dest.path().join("repodata/repomd.xml")).unwrap(),
        t.repomd
    );
    assert!(dest.path().join("repodata/primary.xml.gz").exists());

    // librepo checks repomd.xml against the metalink's hashes.
    drop(s);
    let s = Server::start(&cache_for(st.port, &t.repomd, false), &[]);
    let dest = tempfile::tempdir().unwrap();
    let r = librepo(
        &s.url("/metalink?repo=fedora-41&arch=x86_64&country=DE"),
        dest.path(),
    );
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
}
