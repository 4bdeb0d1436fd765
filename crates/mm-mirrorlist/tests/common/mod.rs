//! Helpers for the integration tests: the fixture cache, the testkit's GeoIP2 writer, starting the
//! real `mirrorlist-server` binary on 127.0.0.1 and a tiny HTTP/1.1 client.
#![allow(dead_code)]

pub mod fixture;

pub use mm_testkit::mmdb;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `mirrorlist-server`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub cache: PathBuf,
    pub log: PathBuf,
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write the location data files into `dir` and return the flags naming them.
pub fn geo_files(dir: &Path) -> Vec<String> {
    std::fs::write(dir.join("geo.mmdb"), mmdb::build(fixture::GEOIP)).unwrap();
    std::fs::write(dir.join("global_netblocks.txt"), fixture::GLOBAL_NETBLOCKS).unwrap();
    std::fs::write(dir.join("country_continent.csv"), fixture::CCCSV).unwrap();
    std::fs::write(dir.join("i2_netblocks.txt"), fixture::I2_NETBLOCKS).unwrap();
    vec![
        "--geoip".into(),
        dir.join("geo.mmdb").display().to_string(),
        "-g".into(),
        dir.join("global_netblocks.txt").display().to_string(),
        "--cccsv".into(),
        dir.join("country_continent.csv").display().to_string(),
        "--i2_netblocks".into(),
        dir.join("i2_netblocks.txt").display().to_string(),
    ]
}

impl Server {
    /// Start the server on a free port with `cache` as its first cache.
    pub fn start(cache: &mm_cachefile::MirrorList, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let cache_path = dir.path().join("mirrorlist_cache.proto");
        mm_cachefile::write_atomic(&cache_path, cache).unwrap();
        let config = dir.path().join("mirrormanager.toml");
        std::fs::write(&config, "").unwrap();
        let log = dir.path().join("access.log");
        let mut args: Vec<String> = vec![
            "--config".into(),
            config.display().to_string(),
            "-c".into(),
            cache_path.display().to_string(),
            "-l".into(),
            log.display().to_string(),
            "--listen".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
            "--poll-interval".into(),
            "0.2".into(),
        ];
        args.extend(geo_files(dir.path()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorlist-server"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("MIRRORMANAGER_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mirrorlist-server");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in err.lines() {
                let Ok(line) = line else { break };
                if let Some(a) = line.split("listening on ").nth(1) {
                    let _ = tx.send(a.trim().to_string());
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start: {}", stderr.lock().unwrap());
            }
        };
        Server {
            child,
            addr,
            dir,
            cache: cache_path,
            log,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[])
    }

    /// Wait until `/healthz` reports `time` as the cache time.
    pub fn wait_for_time(&self, time: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.get("/healthz");
            if r.body.contains(&format!("cache_time={time} ")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cache time {time} never served: {}",
                r.body
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response: {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}
