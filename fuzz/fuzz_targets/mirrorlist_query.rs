//! Fuzz the mirrorlist server's request handling: arbitrary query strings and
//! X-Forwarded-For values against a small real cache. Nothing may panic, and no client
//! input may produce a 5xx answer.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mm_mirrorlist::server::{Options, Shared};

#[allow(dead_code)]
#[path = "../../crates/mm-mirrorlist/tests/common/fixture.rs"]
mod fixture;

fn shared() -> &'static Arc<Shared> {
    static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mm-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cache = dir.join("mirrorlist_cache.proto");
        mm_cachefile::write_atomic(&cache, &fixture::cache(1_700_000_000)).unwrap();
        Shared::new(Options {
            embargoed: vec!["KP".into()],
            poll_interval: Duration::from_secs(3600),
            ..Options::new(cache)
        })
        .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (query, xff) = text.split_once('\n').unwrap_or((&text, ""));
    let xff = if xff.is_empty() { None } else { Some(xff) };
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    for path in ["/metalink", "/mirrorlist", "/mirrorlist/extra"] {
        let (_, reply) = shared().handle("GET", path, query, xff, peer);
        assert!(reply.status < 500, "{path}?{query} answered {}", reply.status);
    }
});
