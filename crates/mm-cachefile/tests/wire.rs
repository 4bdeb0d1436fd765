//! Round trips, atomic writes and wire compatibility with `protoc` (Debian's
//! protobuf-compiler) driven by the schema document `mirrormanager.proto`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mm_cachefile::*;

fn protoc() -> PathBuf {
    for d in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(d).join("protoc");
        if p.is_file() {
            return p;
        }
    }
    panic!("protoc is not installed (Debian package protobuf-compiler)")
}

fn run_protoc(mode: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(protoc())
        .arg(format!("-I{}", env!("CARGO_MANIFEST_DIR")))
        .arg(format!("--{mode}=mirrormanager.MirrorList"))
        .arg("mirrormanager.proto")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run protoc");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "protoc --{mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sample() -> MirrorList {
    MirrorList {
        time: 1_700_000_000,
        netblock_country_cache: vec![StringStringMap {
            key: "10.0.0.0/8".into(),
            value: "DE".into(),
        }],
        hc_url_cache: vec![
            IntStringMap {
                key: 10,
                value: "https://m1.example/fedora".into(),
            },
            IntStringMap {
                key: 11,
                value: "rsync://m1.example/fedora".into(),
            },
        ],
        file_details_cache: vec![FileDetailsCacheDirectoryType {
            directory: "pub/f/41/os/repodata".into(),
            file_details_cache_files: vec![FileDetailsCacheFilesType {
                filename: "repomd.xml".into(),
                file_details: vec![
                    FileDetailsType {
                        timestamp: 200,
                        size: 3000,
                        sha256: Some("ab".repeat(32)),
                        ..Default::default()
                    },
                    FileDetailsType {
                        timestamp: 100,
                        size: 2999,
                        md5: Some("cd".repeat(16)),
                        ..Default::default()
                    },
                ],
            }],
        }],
        disabled_repository_cache: vec![StringBoolMap {
            key: "old-1".into(),
            value: true,
        }],
        repo_arch_to_directory_name: vec![StringStringMap {
            key: "fedora-41+x86_64".into(),
            value: "pub/f/41/os".into(),
        }],
        host_asn_cache: vec![IntRepeatedIntMap {
            key: 64500,
            value: vec![1, 2],
        }],
        host_bandwidth_cache: vec![IntIntMap { key: 1, value: 100 }],
        host_country_allowed_cache: vec![IntRepeatedStringMap {
            key: 2,
            value: vec!["US".into(), "CA".into()],
        }],
        mirror_list_cache: vec![MirrorListCacheType {
            directory: "pub/f/41/os".into(),
            global: vec![1, 2],
            subpath: Some("41/os".into()),
            by_country: vec![StringRepeatedIntMap {
                key: "DE".into(),
                value: vec![1],
            }],
            by_host_id: vec![
                IntRepeatedIntMap {
                    key: 1,
                    value: vec![10, 11],
                },
                IntRepeatedIntMap {
                    key: 2,
                    value: vec![],
                },
            ],
            ordered_mirror_list: Some(false),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirrorlist_cache.proto");
    let ml = sample();
    write_atomic(&path, &ml).unwrap();
    assert_eq!(read(&path).unwrap(), ml);
    // Replacing leaves exactly one file and no temporary behind.
    let mut newer = ml.clone();
    newer.time += 1;
    write_atomic(&path, &newer).unwrap();
    assert_eq!(read(&path).unwrap().time, ml.time + 1);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mirrorlist_cache.proto"]);
}

#[test]
fn streamed_write_replaces_only_when_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirrorlist_cache.proto");
    let ml = sample();
    let bytes = encode(&ml);
    let n = write_atomic_with(&path, |w| {
        for chunk in bytes.chunks(7) {
            w.write_all(chunk).map_err(|e| CacheError::Io {
                path: path.clone(),
                source: e,
            })?;
        }
        Ok::<_, CacheError>(bytes.len())
    })
    .unwrap();
    assert_eq!(n, bytes.len());
    assert_eq!(read(&path).unwrap(), ml);
    // A writer that fails half way leaves the previous file and no temporary behind.
    let e = write_atomic_with(&path, |w| {
        w.write_all(b"partial").unwrap();
        Err::<(), _>(CacheError::Invalid {
            path: path.clone(),
            problem: "stopped".into(),
        })
    })
    .unwrap_err();
    assert!(e.to_string().contains("stopped"), "{e}");
    assert_eq!(read(&path).unwrap(), ml);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mirrorlist_cache.proto"]);
}

#[test]
fn write_into_missing_directory_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("cache.proto");
    let e = write_atomic(&path, &sample()).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
    assert!(!path.exists());
}

#[test]
fn truncated_empty_and_garbage_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.proto");
    let bytes = encode(&sample());
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.contains("truncated or corrupt") && e.contains("c.proto"),
        "{e}"
    );
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(read(&path).is_err());
    std::fs::write(&path, b"").unwrap();
    assert!(read(&path).unwrap_err().to_string().contains("empty"));
    std::fs::write(&path, b"this is not a protobuf cache\n").unwrap();
    assert!(read(&path).is_err());
    let e = read(&dir.path().join("missing.proto"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.proto"), "{e}");
}

const EXPECTED_TEXT: &str = r#"Time: 1700000000
NetblockCountryCache {
  key: "10.0.0.0/8"
  value: "DE"
}
HCUrlCache {
  key: 10
  value: "https://m1.example/fedora"
}
HCUrlCache {
  key: 11
  value: "rsync://m1.example/fedora"
}
FileDetailsCache {
  directory: "pub/f/41/os/repodata"
  FileDetailsCacheFiles {
    filename: "repomd.xml"
    FileDetails {
      TimeStamp: 200
      Size: 3000
      SHA256: "abababababababababababababababababababababababababababababababab"
    }
    FileDetails {
      TimeStamp: 100
      Size: 2999
      MD5: "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
    }
  }
}
DisabledRepositoryCache {
  key: "old-1"
  value: true
}
RepoArchToDirectoryName {
  key: "fedora-41+x86_64"
  value: "pub/f/41/os"
}
HostAsnCache {
  key: 64500
  value: 1
  value: 2
}
HostBandwidthCache {
  key: 1
  value: 100
}
HostCountryAllowedCache {
  key: 2
  value: "US"
  value: "CA"
}
MirrorListCache {
  directory: "pub/f/41/os"
  Global: 1
  Global: 2
  Subpath: "41/os"
  ByCountry {
    key: "DE"
    value: 1
  }
  ByHostId {
    key: 1
    value: 10
    value: 11
  }
  ByHostId {
    key: 2
  }
  OrderedMirrorList: false
}
"#;

#[test]
fn protoc_decodes_what_we_write() {
    let ours = encode(&sample());
    let text = String::from_utf8(run_protoc("decode", &ours)).unwrap();
    assert_eq!(text, EXPECTED_TEXT);
    // And protoc's own encoding of that text is byte-identical to ours.
    assert_eq!(run_protoc("encode", text.as_bytes()), ours);
}

#[test]
fn we_read_what_protoc_writes() {
    let fixture = r#"
Time: 1234567890
HCUrlCache { key: 7 value: "http://mirror.example/pub" }
CountryContinentRedirectCache { key: "IL" value: "EU" }
RepositoryRedirectCache { key: "fedora-rawhide" value: "rawhide" }
HostNetblockCache { key: "192.0.2.0/24" value: 3 }
HostCountryCache { key: 3 value: "FR" }
HostMaxConnectionCache { key: 3 value: 4 }
MirrorListCache {
  directory: "pub/x"
  Global: 3
  ByCountryInternet2 { key: "FR" value: 3 }
  ByHostId { key: 3 value: 7 }
  OrderedMirrorList: true
}
RepoArchToDirectoryName { key: "x-1+aarch64" value: "pub/x" }
"#;
    let bytes = run_protoc("encode", fixture.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.proto");
    std::fs::write(&path, &bytes).unwrap();
    let ml = read(&path).unwrap();
    assert_eq!(ml.time, 1_234_567_890);
    assert_eq!(ml.hc_url_cache[0].value, "http://mirror.example/pub");
    assert_eq!(ml.country_continent_redirect_cache[0].value, "EU");
    assert_eq!(ml.repository_redirect_cache[0].key, "fedora-rawhide");
    assert_eq!(ml.host_netblock_cache[0].value, [3]);
    assert_eq!(ml.host_country_cache[0].value, "FR");
    assert_eq!(ml.host_max_connection_cache[0].value, 4);
    let d = &ml.mirror_list_cache[0];
    assert_eq!(d.directory, "pub/x");
    assert_eq!(d.global, [3]);
    assert_eq!(d.subpath, None);
    assert_eq!(d.by_country_internet2[0].value, [3]);
    assert_eq!(d.ordered_mirror_list, Some(true));
    assert!(validate(&ml).is_empty(), "{:?}", validate(&ml));
    let s = summary(&ml);
    assert_eq!(
        (s.time, s.directories, s.hosts, s.urls, s.repos),
        (1_234_567_890, 1, 1, 1, 1)
    );
    // Re-encoding what we read gives protoc's bytes back.
    assert_eq!(encode(&ml), bytes);
}
