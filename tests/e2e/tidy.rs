//! Tidy checks over the source tree and the schema: they fail when conventions drift.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mm_testkit::{BACKENDS, TestDb};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn dirs(p: &Path) -> BTreeSet<String> {
    std::fs::read_dir(p)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect()
}

#[test]
fn migration_folders_match_between_backends() {
    let pg = dirs(&root().join("migrations/postgres"));
    let lite = dirs(&root().join("migrations/sqlite"));
    assert!(!pg.is_empty());
    assert_eq!(
        pg, lite,
        "migrations/postgres and migrations/sqlite must have the same folders"
    );
    for d in &pg {
        for backend in ["postgres", "sqlite"] {
            for f in ["up.sql", "down.sql"] {
                let p = root().join("migrations").join(backend).join(d).join(f);
                assert!(p.is_file(), "{} missing", p.display());
            }
        }
    }
    assert_eq!(pg.iter().next().unwrap(), mm_core::db::BASE_MIGRATION);
}

#[test]
fn both_backends_produce_the_schema_of_schema_rs() {
    let expected = mm_core::db::expected_schema();
    for kind in BACKENDS {
        let mut db = TestDb::new(kind);
        let actual = mm_core::db::actual_schema(&mut db.conn).unwrap();
        assert_eq!(actual, expected, "{kind} migrations differ from schema.rs");
    }
}

#[test]
fn both_backends_have_the_indexes_mm2_declares_beyond_keys() {
    for kind in BACKENDS {
        let mut db = TestDb::new(kind);
        for index in ["ix_access_stat_date", "ix_access_stat_requests"] {
            assert!(
                mm_core::db::has_index(&mut db.conn, index).unwrap(),
                "{kind}: index {index} missing"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let p = e.path();
        let name = e.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_comment_and_nothing_is_ignored() {
    let mut files = Vec::new();
    for d in ["crates", "xtask", "tests"] {
        rust_files(&root().join(d), &mut files);
    }
    assert!(files.len() > 20);
    let ignore_attr = concat!("#[", "ignore");
    let todo_macro = concat!("todo", "!(");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let is_main = f
            .file_name()
            .is_some_and(|n| n == "main.rs" || n == "build.rs");
        assert!(
            first.starts_with("//!") || (is_main && first.starts_with("//!")),
            "{} must start with a //! doc comment",
            f.display()
        );
        assert!(
            !text.contains(ignore_attr),
            "{} has an ignored test",
            f.display()
        );
        assert!(
            !text.contains(todo_macro),
            "{} has an unfinished-code macro",
            f.display()
        );
    }
}

#[test]
fn only_mm_core_picks_a_database_backend() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    let mut checked = 0;
    for f in files
        .iter()
        .filter(|f| !f.starts_with(root().join("crates/mm-core")))
    {
        let text = std::fs::read_to_string(f).unwrap();
        checked += 1;
        for banned in ["DbConn::Pg(", "DbConn::Sqlite("] {
            assert!(
                !text.contains(banned),
                "{} matches on {banned}: backend differences belong in mm-core (multi-row inserts: mm_core::insert_rows!)",
                f.display()
            );
        }
    }
    assert!(checked > 50, "only {checked} files read");
}

#[test]
fn binaries_hold_no_query_logic() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    for f in files.iter().filter(|f| f.ends_with("src/main.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for banned in ["diesel::", "schema::", "sql_query"] {
            assert!(
                !text.contains(banned),
                "{} uses {banned}: binaries only parse flags and call run",
                f.display()
            );
        }
        assert!(text.lines().count() < 200, "{} is not thin", f.display());
    }
}

/// The docs are committed: bench reports and examples in them must not name the checkout
/// or the temp dir of the machine that wrote them.
#[test]
fn docs_name_no_path_of_the_machine() {
    let root = root();
    let here = root.display().to_string();
    let tmp = std::env::temp_dir().display().to_string();
    let tmp = format!("{}/mm-", tmp.trim_end_matches('/'));
    let mut files = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains(&here) && !line.contains(&tmp),
                "{}:{}: names a path of this machine: {line}",
                f.display(),
                n + 1
            );
        }
    }
}

/// The code in a markdown text: fenced blocks line by line, and inline code spans.
fn code_snippets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(line.to_string());
        } else {
            out.extend(line.split('`').skip(1).step_by(2).map(String::from));
        }
    }
    out
}

/// `--name` flags in `words` (a `--name=value` gives `--name`).
fn long_flags<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words
        .iter()
        .map(|w| w.trim_start_matches(['[', '(']))
        .filter(|w| w.starts_with("--") && w[2..].starts_with(|c: char| c.is_ascii_lowercase()))
        .map(|w| {
            let end = w[2..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .map_or(w.len(), |i| i + 2);
            &w[..end]
        })
        .collect()
}

/// Every `--flag` the README and the docs show on a command line of one of our binaries is
/// one that binary (or its subcommand) takes: a renamed flag cannot linger in the SOP.
#[test]
fn flags_in_the_docs_exist() {
    const BINS: [&str; 6] = [
        "mirrormanager",
        "update-master-directory-list",
        "mm2_crawler",
        "update-mirrorlist-server",
        "mm_sync_out",
        "mirrorlist-server",
    ];
    let root = root();
    let mut files = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut helps: std::collections::HashMap<Vec<String>, Option<String>> = Default::default();
    let mut help = |cmd: &[String]| -> Option<String> {
        helps
            .entry(cmd.to_vec())
            .or_insert_with(|| {
                let out = std::process::Command::new(mm_testkit::bin(&cmd[0]))
                    .args(&cmd[1..])
                    .arg("--help")
                    .output()
                    .unwrap();
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            })
            .clone()
    };
    let (mut checked, mut wrong) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for snippet in code_snippets(&text) {
            for segment in snippet.split(['|', ';', '&']) {
                let words: Vec<&str> = segment.split_whitespace().collect();
                if words.is_empty() || !BINS.contains(&words[0]) {
                    continue;
                }
                // The subcommand words, then the longest of them that has a --help.
                let mut cmd: Vec<String> = vec![words[0].to_string()];
                cmd.extend(
                    words[1..]
                        .iter()
                        .take_while(|w| {
                            w.starts_with(|c: char| c.is_ascii_lowercase())
                                && w.chars().all(|c| {
                                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
                                })
                        })
                        .map(|w| w.to_string()),
                );
                let text = loop {
                    if let Some(h) = help(&cmd) {
                        break h;
                    }
                    assert!(cmd.len() > 1, "{} --help failed", cmd[0]);
                    cmd.pop();
                };
                for flag in long_flags(&words) {
                    checked += 1;
                    if !text.contains(flag) {
                        wrong.push(format!(
                            "{}: `{}` has no {flag}",
                            f.display(),
                            cmd.join(" ")
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} flags found in the docs");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn long_flags_are_read_from_command_lines() {
    assert_eq!(
        long_flags(&[
            "x",
            "--check",
            "FILE",
            "[--wait]",
            "--listen=ADDR,",
            "-o",
            "--"
        ]),
        ["--check", "--wait", "--listen"]
    );
    assert_eq!(
        code_snippets("a `b --c` d `e`\n```sh\nf --g\n```\n"),
        ["b --c", "e", "f --g"]
    );
}

/// Cargo writes every package's examples to one `target/*/examples/`, so two examples of
/// the same name overwrite each other.
#[test]
fn example_names_are_unique_across_the_workspace() {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut count = 0;
    for krate in dirs(&root().join("crates")) {
        let examples = root().join("crates").join(&krate).join("examples");
        let Ok(entries) = std::fs::read_dir(&examples) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().into_string().unwrap();
            let name = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
            count += 1;
            assert!(
                seen.insert(name.clone()),
                "example `{name}` of {krate} has the name of another crate's example"
            );
        }
    }
    assert!(count >= 3, "the examples were not found ({count})");
}

#[test]
fn mirrorlist_server_does_not_link_the_database_layer() {
    if !root().join("crates/mm-mirrorlist").exists() {
        // The crate is not in the workspace yet: nothing to check, and that is asserted.
        assert!(!root().join("crates/mm-mirrorlist/Cargo.toml").exists());
        return;
    }
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree",
            "--offline",
            "-p",
            "mm-mirrorlist",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    for banned in ["diesel", "pq-sys", "libsqlite3-sys"] {
        assert!(
            !tree.contains(banned),
            "mm-mirrorlist depends on {banned}:\n{tree}"
        );
    }
}

#[test]
fn the_workspace_is_rustfmt_clean() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["fmt", "--all", "--check"])
        .current_dir(root())
        .output()
        .expect("cargo fmt runs");
    assert!(
        out.status.success(),
        "run `cargo fmt --all`; these files are not formatted:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
