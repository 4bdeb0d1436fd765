//! A bad configuration stops every job with exit 2 and a message naming file, key and reason.

use mm_e2e::Runner;

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("bad.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn typo_and_bad_value_name_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("lock_dri = \"/tmp/x\"\n", "unknown field `lock_dri`"),
        ("[crawler]\nthreads = \"lots\"\n", "threads = \"lots\""),
        (
            "[crawler]\nauto_disable_after = 0\n",
            "crawler.auto_disable_after",
        ),
        (
            "[[umdl.master_directories]]\ntype = \"directory\"\ncategory = \"Fedora Linux\"\n",
            "umdl.master_directories[0].path",
        ),
        ("database_url = \n", "line 1"),
    ];
    for (text, want) in cases {
        let cfg = write(dir.path(), text);
        let r = Runner::new("mirrormanager", &cfg)
            .run(&["site", "list"])
            .code(2);
        let line = r.stderr.trim();
        assert!(
            line.contains(&cfg.display().to_string()),
            "file not named: {line}"
        );
        assert!(line.contains(want), "{want:?} not in {line}");
        assert_eq!(line.lines().count(), 1, "one line: {line}");
    }
    let r = Runner::new("mirrormanager", &dir.path().join("missing.toml"))
        .run(&["site", "list"])
        .code(2);
    assert!(
        r.stderr.contains("missing.toml") && r.stderr.contains("cannot read"),
        "{}",
        r.stderr
    );
}
