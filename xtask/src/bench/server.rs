//! `cargo xtask bench server`: `mirrorlist-server` under `wrk` on loopback.
//!
//! Two caches: the Fedora-scale one written by `cargo xtask bench cache`
//! (`target/bench/cache/pg.proto`, generated here from SQLite when missing) and a small one
//! (50 hosts, 2k directories). For each, the server is started on a free loopback port with
//! the CPUs wrk does not use (`--threads`), and `wrk` (half the CPUs) sends, for `--duration`
//! seconds in alternating rounds over `--connections` connections, a mix of 70% metalink,
//! 20% `mirrorlist?repo=` and 10% `mirrorlist?path=` requests with `ip=` taken from a few
//! hundred addresses (GeoIP hits, ASN hits, host netblocks, unknown; the server is given a
//! generated GeoIP2 database, global netblocks and a continent CSV). Reported: requests/s,
//! p50/p99 latency, server CPU time per request (utime + stime from /proc/<pid>/stat) and
//! RSS, the large cache's RSS after each of five reloads (SIGHUP), and the cost of building
//! the answers alone (the crate's `answers` example, no HTTP, no sockets).
//!
//! Options: `--duration S` [20; quick 5], `--connections N` [32].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::cache::{self, Params};
use super::{Opts, Report, verdict};

/// Request paths (no host part) for the Lua script: 70% metalink, 20% repo, 10% path.
fn requests(p: &Params, n: usize) -> Vec<String> {
    let repos = cache::repo_count(p).max(1);
    let arches = ["x86_64", "aarch64", "ppc64le", "s390x", "source"];
    let (a, b) = cache::dir_ranges(p)[0];
    // 300 client addresses: 120 GeoIP hits (the first 100 also in a mirror's ASN), 60 in
    // host netblocks, 60 in the cache's netblock→country table, 60 unknown.
    let mut ips: Vec<String> = Vec::new();
    for i in 0..120u64 {
        ips.push(format!("198.51.{i}.7"));
    }
    for i in 0..60u64 {
        let nb = i * 4 % p.netblocks.max(1) + 1;
        ips.push(format!("10.{}.{}.{}", nb / 256, nb % 256, 1 + i % 250));
    }
    for i in 0..60u64 {
        ips.push(format!("100.64.{}.9", i + 1));
    }
    for i in 0..60u64 {
        ips.push(format!("203.0.113.{}", i + 1));
    }
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|_| {
            let kind = next() % 10;
            let ip = &ips[(next() % ips.len() as u64) as usize];
            let r = next() % repos + 1;
            let repo = format!("fedora-{}", (r - 1) / 5);
            let arch = arches[((r - 1) % 5) as usize];
            if kind < 7 {
                format!("/metalink?repo={repo}&arch={arch}&ip={ip}")
            } else if kind < 9 {
                format!("/mirrorlist?repo={repo}&arch={arch}&ip={ip}")
            } else {
                let d = a + next() % (b - a + 1);
                let tail = if d % 2 == 1 { "/repodata" } else { "" };
                format!("/mirrorlist?path=pub/fedora/linux/d{}{tail}&ip={ip}", d / 2)
            }
        })
        .collect()
}

/// The countries of the generated hosts (see `cache::fill_sql`) and their continents.
const COUNTRIES: [(&str, &str); 20] = [
    ("US", "NA"),
    ("DE", "EU"),
    ("FR", "EU"),
    ("GB", "EU"),
    ("NL", "EU"),
    ("SE", "EU"),
    ("CZ", "EU"),
    ("JP", "AS"),
    ("CN", "AS"),
    ("BR", "SA"),
    ("AU", "OC"),
    ("CA", "NA"),
    ("IT", "EU"),
    ("ES", "EU"),
    ("PL", "EU"),
    ("RU", "EU"),
    ("IN", "AS"),
    ("ZA", "AF"),
    ("KR", "AS"),
    ("CH", "EU"),
];

/// The location files the server is started with: a GeoIP2 country database
/// (`198.51.N.0/24` → the N-th country, round robin), global netblocks (`198.51.N.0/24` →
/// ASN 64500+N for N < 100, the ASNs of the generated hosts) and the country→continent CSV.
fn write_geo(dir: &Path) -> Result<Vec<String>> {
    let nets: Vec<String> = (0..200).map(|i| format!("198.51.{i}.0/24")).collect();
    let entries: Vec<(&str, &str, &str)> = nets
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), COUNTRIES[i % 20].0, COUNTRIES[i % 20].1))
        .collect();
    let geoip = dir.join("geo.mmdb");
    std::fs::write(&geoip, mm_testkit::mmdb::build(&entries))?;
    let global = dir.join("global_netblocks.txt");
    let mut text = String::new();
    for i in 0..100 {
        let _ = writeln!(text, "198.51.{i}.0/24 {}", 64500 + i);
    }
    std::fs::write(&global, text)?;
    let cccsv = dir.join("continents.csv");
    let mut text = String::from("code,continent\n");
    for (c, k) in COUNTRIES {
        let _ = writeln!(text, "{c},{k}");
    }
    std::fs::write(&cccsv, text)?;
    let arg = |p: PathBuf| p.display().to_string();
    Ok(vec![
        "--geoip".into(),
        arg(geoip),
        "-g".into(),
        arg(global),
        "--cccsv".into(),
        arg(cccsv),
    ])
}

fn lua(reqs: &[String]) -> String {
    let mut s = String::from("local reqs = {\n");
    for r in reqs {
        let _ = writeln!(s, "  {r:?},");
    }
    s += "}\nlocal n = #reqs\nlocal i = 0\n\
          function setup(thread) end\n\
          function init(args) i = math.random(n) end\n\
          function request()\n  i = i % n + 1\n  return wrk.format(\"GET\", reqs[i])\nend\n";
    s
}

/// CPU ticks (utime + stime) of a process.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields after the command: state is index 0, utime is field 14 overall → index 11
    Ok(f[11].parse::<u64>()? + f[12].parse::<u64>()?)
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

struct Killer(Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One load run's figures.
#[derive(Debug)]
struct Load {
    rps: f64,
    requests: u64,
    errors: String,
    p50_ms: f64,
    p99_ms: f64,
    /// Each round's p99.
    p99_rounds: Vec<f64>,
    cpu_us: f64,
    rss_mb: f64,
    hwm_mb: f64,
    cache_mb: f64,
    startup_s: f64,
    /// Mean response size, KB.
    resp_kb: f64,
    /// The loaded index's own estimate of its heap size (`index ~N MB` in the server log).
    index_mb: Option<f64>,
}

/// The index size the server logs at load (`… index ~N MB)`), from its last load.
fn index_mb(log: &str) -> Option<f64> {
    let at = log.rfind("index ~")? + "index ~".len();
    log[at..].split_whitespace().next()?.parse().ok()
}

fn ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let x: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => x / 1000.0,
        "ms" => x,
        "s" => x * 1000.0,
        "m" => x * 60_000.0,
        _ => f64::NAN,
    }
}

/// Threads for wrk: half the CPUs.
fn half_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Worker threads for the server: the CPUs wrk does not use. With more busy threads than
/// cores, a worker preempted for a time slice stalls the requests queued on it, and p99
/// measures the scheduler rather than the server.
fn server_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus.saturating_sub(half_cpus()).max(1)
}

/// A server under test.
struct Server {
    _child: Killer,
    pid: u32,
    sub: PathBuf,
    url: String,
    script: PathBuf,
    cache_mb: f64,
    startup_s: f64,
    index_mb: Option<f64>,
}

/// Start `mirrorlist-server` on `cache_file` and wait until it answers.
fn start(dir: &Path, label: &str, cache_file: &Path, p: &Params, geo: &[String]) -> Result<Server> {
    let sub = dir.join(label);
    std::fs::create_dir_all(&sub)?;
    let config = super::write_config(&sub, "sqlite:///nonexistent", "")?;
    let port = mm_testkit::free_port();
    let started = Instant::now();
    let child = Command::new(super::bin("mirrorlist-server"))
        .arg("--config")
        .arg(&config)
        .arg("-c")
        .arg(cache_file)
        .args(["--listen", "127.0.0.1", "-p", &port.to_string()])
        .args(["--threads", &server_threads().to_string()])
        .args(geo)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sub.join("server.log"))?)
        .spawn()
        .context("starting mirrorlist-server")?;
    let server = Killer(child);
    let pid = server.0.id();
    let probe = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ok = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &probe])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        if ok == "200" {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "mirrorlist-server on port {port} does not answer 200 to {probe} (last {ok:?}); see {}",
                sub.join("server.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let startup_s = started.elapsed().as_secs_f64();
    let index_mb = std::fs::read_to_string(sub.join("server.log"))
        .ok()
        .and_then(|log| index_mb(&log));
    let script = sub.join("mix.lua");
    let reqs = requests(p, 5000);
    std::fs::write(&script, lua(&reqs))?;
    std::fs::write(sub.join("requests.txt"), reqs.join("\n") + "\n")?;
    let url = format!("http://127.0.0.1:{port}");
    // warm-up
    Command::new("wrk")
        .args([&format!("-t{}", half_cpus()), "-c8", "-d2s", "-s"])
        .arg(&script)
        .arg(&url)
        .stdout(Stdio::null())
        .status()?;
    Ok(Server {
        _child: server,
        pid,
        sub,
        url,
        script,
        cache_mb: super::file_mb(cache_file),
        startup_s,
        index_mb,
    })
}

/// One wrk round against a server.
#[derive(Debug, Default)]
struct Round {
    requests: u64,
    secs: f64,
    ticks: u64,
    kb: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

fn round(s: &Server, n: usize, secs: u64, conns: u64) -> Result<Round> {
    let t0 = cpu_ticks(s.pid)?;
    let out = Command::new("wrk")
        .args([
            &format!("-t{}", half_cpus()),
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
            "-s",
        ])
        .arg(&s.script)
        .arg(&s.url)
        .output()
        .context("running wrk")?;
    let t1 = cpu_ticks(s.pid)?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    std::fs::write(s.sub.join(format!("wrk-{n}.txt")), &text)?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim_start()[prefix.len()..].trim().to_string())
    };
    // "N requests in 20.01s, 3.00GB read"
    let summary = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .context("no request count in wrk output")?;
    let words: Vec<&str> = summary.split_whitespace().collect();
    let requests: u64 = words.first().and_then(|w| w.parse().ok()).unwrap_or(0);
    let secs = words
        .get(3)
        .map(|w| ms(w.trim_end_matches(',')) / 1000.0)
        .unwrap_or(f64::NAN);
    let read = words.iter().rev().nth(1).copied().unwrap_or("");
    let (num, unit) = read.split_at(
        read.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(read.len()),
    );
    let scale = match unit {
        "B" => 1.0 / 1024.0,
        "KB" => 1.0,
        "MB" => 1024.0,
        "GB" => 1024.0 * 1024.0,
        _ => f64::NAN,
    };
    let pct = |p: &str| {
        ms(field(p)
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or(""))
    };
    let mut errors = String::new();
    if let Some(e) = field("Non-2xx or 3xx responses:") {
        errors += &format!("{e} non-2xx");
    }
    if let Some(e) = field("Socket errors:") {
        errors += &format!(" socket errors: {e}");
    }
    Ok(Round {
        requests,
        secs,
        ticks: t1 - t0,
        kb: num.parse::<f64>().unwrap_or(f64::NAN) * scale,
        p50_ms: pct("50%"),
        p99_ms: pct("99%"),
        errors: errors.trim().to_string(),
    })
}

/// The median of some figures.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Sum up a server's rounds.
fn summarize(s: &Server, rounds: &[Round]) -> Load {
    let requests: u64 = rounds.iter().map(|r| r.requests).sum();
    let secs: f64 = rounds.iter().map(|r| r.secs).sum();
    let ticks: u64 = rounds.iter().map(|r| r.ticks).sum();
    let errors: Vec<&str> = rounds
        .iter()
        .map(|r| r.errors.as_str())
        .filter(|e| !e.is_empty())
        .collect();
    Load {
        rps: requests as f64 / secs,
        requests,
        errors: if errors.is_empty() {
            "0".into()
        } else {
            errors.join("; ")
        },
        p50_ms: median(rounds.iter().map(|r| r.p50_ms).collect()),
        p99_ms: median(rounds.iter().map(|r| r.p99_ms).collect()),
        p99_rounds: rounds.iter().map(|r| r.p99_ms).collect(),
        cpu_us: ticks as f64 / clk_tck() / requests as f64 * 1e6,
        rss_mb: status_kb(s.pid, "VmRSS:") as f64 / 1024.0,
        hwm_mb: status_kb(s.pid, "VmHWM:") as f64 / 1024.0,
        cache_mb: s.cache_mb,
        startup_s: s.startup_s,
        resp_kb: rounds.iter().map(|r| r.kb).sum::<f64>() / requests as f64,
        index_mb: s.index_mb,
    }
}

/// RSS (MB) after each of `n` reloads (SIGHUP) of a server, each taken once the server
/// logged the reload and had a second to drop the old index.
fn reload_rss(s: &Server, n: usize) -> Result<Vec<f64>> {
    let log = s.sub.join("server.log");
    let reloads = || {
        std::fs::read_to_string(&log)
            .map(|t| t.matches("reloaded the cache").count())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for _ in 0..n {
        let before = reloads();
        Command::new("kill")
            .args(["-HUP", &s.pid.to_string()])
            .status()
            .context("sending SIGHUP")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while reloads() == before {
            if Instant::now() > deadline {
                bail!("no reload within 120 s of SIGHUP; see {}", log.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(1));
        out.push(status_kb(s.pid, "VmRSS:") as f64 / 1024.0);
    }
    Ok(out)
}

/// The cost of the answers alone: the crate's `answers` example answers the server's
/// requests in a loop on one thread, without HTTP or sockets. Returns (µs, KB) per request.
/// `sub`: the server's directory (with its `requests.txt`); `geo`: the server's location
/// flags, which the example takes too.
fn answer_alone(
    example: &Path,
    sub: &Path,
    cache_file: &Path,
    geo: &[String],
) -> Result<(f64, f64)> {
    let text = super::run_helper(
        Command::new(example)
            .arg(cache_file)
            .arg(sub.join("requests.txt"))
            .args(geo),
    )?;
    // "answer: X µs/request, Y KB/request"
    let nums: Vec<f64> = text
        .split_whitespace()
        .filter_map(|w| w.trim_end_matches(',').parse().ok())
        .collect();
    match nums[..] {
        [us, kb] => Ok((us, kb)),
        _ => bail!("unexpected output from {}: {text:?}", example.display()),
    }
}

/// Rounds per cache: the two servers are measured in turn, so that a change in the
/// machine's load during the run affects both alike.
const ROUNDS: u64 = 5;

pub fn run(opts: &Opts) -> Result<()> {
    super::ensure_tools()?;
    super::build_release()?;
    let answers = super::build_example("mm-mirrorlist", "answers")?;
    let dir = super::work_dir("server")?;
    let secs = opts.num("duration", 20, 5)?;
    let conns = opts.num("connections", 32, 32)?;
    let cache_dir = super::work_dir("cache")?;
    // the large cache: the cache benchmark's, else generate it (SQLite) with the same shape
    let rows = opts.num("rows", 6_000_000, 600_000)?;
    let dirs = opts.num("dirs", 100_000, 10_000)?;
    let large_p = Params::fedora(rows, dirs, 700);
    let mut large: PathBuf = cache_dir.join("pg.proto");
    let mut large_note = format!(
        "`target/bench/cache/pg.proto` written by `cargo xtask bench cache` ({})",
        large_p.describe()
    );
    if !large.exists() {
        eprintln!(
            "bench: {} is missing; generating the large cache on SQLite",
            large.display()
        );
        large = cache::build(&dir, "large", &large_p, false)?.cache;
        large_note = format!("generated here on SQLite ({})", large_p.describe());
    }
    let small_p = Params::small();
    let small = cache::build(&dir, "small", &small_p, false)?.cache;

    let geo = write_geo(&dir)?;
    let servers = [
        start(&dir, "large", &large, &large_p, &geo)?,
        start(&dir, "small", &small, &small_p, &geo)?,
    ];
    let per_round = secs.div_ceil(ROUNDS).max(1);
    let mut rounds: [Vec<Round>; 2] = Default::default();
    for n in 0..ROUNDS as usize {
        for (s, r) in servers.iter().zip(rounds.iter_mut()) {
            r.push(round(s, n, per_round, conns)?);
        }
    }
    let big = summarize(&servers[0], &rounds[0]);
    let little = summarize(&servers[1], &rounds[1]);
    let after_reloads = reload_rss(&servers[0], 5)?;
    let reload_peak = status_kb(servers[0].pid, "VmHWM:") as f64 / 1024.0;
    drop(servers);
    let alone = [
        answer_alone(&answers, &dir.join("large"), &large, &geo)?,
        answer_alone(&answers, &dir.join("small"), &small, &geo)?,
    ];

    let mut r = Report {
        title: "mirrorlist-server (requests)".into(),
        ..Default::default()
    };
    r.intro.push(
        super::machine()
            + &format!(
                "; wrk gets half the CPUs (`-t{t}`) and the server the rest (`--threads {s}`), so that no core runs two busy threads.",
                t = half_cpus(),
                s = server_threads()
            ),
    );
    r.intro.push(String::new());
    r.intro.push(format!(
        "Command: `cargo xtask bench server{}`.",
        opts.shown()
    ));
    r.intro.push(format!(
        "Load: `wrk -t{} -c{conns} -d{per_round}s --latency` on loopback after a 2 s warm-up, {ROUNDS} rounds per cache, the large and the small cache's servers (both running) measured in turn; CPU is summed over the rounds, p50/p99 are the median of the rounds. 70% `metalink?repo&arch`, 20% `mirrorlist?repo&arch`, 10% `mirrorlist?path`, `ip=` from 300 addresses: 120 GeoIP hits (100 of them also in a mirror's ASN), 60 in host netblocks, 60 in the cache's netblock→country table, 60 unknown; the server gets a generated GeoIP2 country database, global netblocks (`CIDR ASN`) and a country→continent CSV. Large cache: {large_note}. Small cache: {}.",
        half_cpus(),
        small_p.describe()
    ));
    r.header = [
        "cache",
        "cache file (MB)",
        "start-up (s)",
        "requests",
        "req/s",
        "errors",
        "response (KB, mean)",
        "p50 (ms)",
        "p99 (ms)",
        "CPU/request (µs)",
        "RSS (MB)",
        "peak RSS (MB)",
        "index (MB)",
    ]
    .map(String::from)
    .to_vec();
    for (name, l) in [("large", &big), ("small", &little)] {
        r.row(&[
            &name,
            &format!("{:.1}", l.cache_mb),
            &format!("{:.1}", l.startup_s),
            &l.requests,
            &format!("{:.0}", l.rps),
            &l.errors,
            &format!("{:.1}", l.resp_kb),
            &format!("{:.3}", l.p50_ms),
            &format!("{:.3}", l.p99_ms),
            &format!("{:.1}", l.cpu_us),
            &format!("{:.0}", l.rss_mb),
            &format!("{:.0}", l.hwm_mb),
            &l.index_mb.map_or("-".to_string(), |m| format!("{m:.0}")),
        ]);
    }
    r.notes.push("Targets: ≤ 40 µs CPU per request on the large cache; large within 1.5× small; RSS ≤ 1.5× the cache file; p99 < 2 ms.".into());
    r.notes.push(String::new());
    r.notes.push(format!(
        "- CPU/request ≤ 40 µs (large): {} ({:.1} µs)",
        verdict(big.cpu_us <= 40.0),
        big.cpu_us
    ));
    r.notes.push(format!(
        "- large within 1.5× small: {} ({:.1} / {:.1} µs = {:.2}×)",
        verdict(big.cpu_us <= 1.5 * little.cpu_us),
        big.cpu_us,
        little.cpu_us,
        big.cpu_us / little.cpu_us
    ));
    r.notes.push(format!(
        "- RSS ≤ 1.5× cache file (large): {} (peak {:.0} MB for a {:.1} MB cache = {:.1}×)",
        verdict(big.hwm_mb <= 1.5 * big.cache_mb),
        big.hwm_mb,
        big.cache_mb,
        big.hwm_mb / big.cache_mb
    ));
    r.notes.push(format!(
        "- p99 < 2 ms: {} (large {:.3} ms, small {:.3} ms; rounds: large {}, small {})",
        verdict(big.p99_ms < 2.0 && little.p99_ms < 2.0),
        big.p99_ms,
        little.p99_ms,
        super::join(&big.p99_rounds, 2),
        super::join(&little.p99_rounds, 2)
    ));
    r.notes.push(format!(
        "- RSS of the large cache's server after each of 5 reloads (SIGHUP): {} MB; peak while the new index is built beside the serving one: {reload_peak:.0} MB",
        super::join(&after_reloads, 0)
    ));
    r.notes.push(format!(
        "- Building the answers alone (the same requests answered in a loop on one thread, no HTTP, no sockets: `mm-mirrorlist`'s `answers` example): large {:.1} µs ({:.1} KB), small {:.1} µs ({:.1} KB) per request; the rest of the CPU per request is hyper, tokio and the kernel",
        alone[0].0, alone[0].1, alone[1].0, alone[1].1
    ));
    r.notes.push(String::new());
    r.notes.push(format!(
        "Server CPU per KB of response: large {:.2} µs/KB, small {:.2} µs/KB. wrk runs closed-loop at full speed (always 32 requests in flight), so the latency percentiles are mostly queueing at saturation, not service time.",
        big.cpu_us / big.resp_kb,
        little.cpu_us / little.resp_kb
    ));
    r.publish("server")
}

#[cfg(test)]
mod tests {
    use super::index_mb;

    #[test]
    fn index_size_is_read_from_the_last_load_line() {
        let log = "INFO loaded a.proto (time 1, 2 directories, index ~3 MB)\n\
                   INFO loaded a.proto (time 2, 2 directories, index ~122 MB)\n";
        assert_eq!(index_mb(log), Some(122.0));
        assert_eq!(index_mb("INFO listening on 127.0.0.1:1\n"), None);
    }
}
