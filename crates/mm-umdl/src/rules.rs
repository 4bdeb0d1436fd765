//! Repository naming rules: which directories are repositories, and their arch, version
//! and prefix (Fedora's names: `fedora-41`, `updates-released-f41`, `epel-9`, …).

use std::sync::OnceLock;

use regex::Regex;

/// Arches known without looking at the database (the `arch` table adds more).
pub const KNOWN_ARCHES: [&str; 12] = [
    "x86_64", "aarch64", "ppc64le", "s390x", "i386", "i686", "armhfp", "ppc64", "ppc", "s390",
    "riscv64", "source",
];

/// Whether a directory (by its full name) is never a repository: `Cloud`, `Workstation` or
/// `Server` anywhere in the path (those trees are install images, not package repos).
pub fn never_a_repository(name: &str) -> bool {
    ["Cloud", "Workstation", "Server"]
        .iter()
        .any(|s| name.contains(s))
}

fn components(name: &str) -> impl DoubleEndedIterator<Item = &str> {
    name.split('/').filter(|c| !c.is_empty())
}

/// The arch of a repository directory: `SRPMS` anywhere → `source`, else the first known
/// arch that is a whole path component.
pub fn arch_from_path(name: &str, known: &[String]) -> Option<String> {
    if components(name).any(|c| c == "SRPMS") {
        return Some("source".into());
    }
    components(name)
        .find(|c| known.iter().any(|k| k == c) || KNOWN_ARCHES.contains(c))
        .map(str::to_string)
}

fn version_component() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[0-9]+(\.[0-9]+)*([-_][A-Za-z0-9]+)?$").expect("valid regex"))
}

/// The version name of a repository directory: an existing version (of the category's
/// product) that is a whole path component, deepest first; else `dists/<name>/`; else the
/// first `<digits and dots>[-_word]` component; else `development` for rawhide.
pub fn version_from_path(name: &str, existing: &[String]) -> Option<String> {
    if let Some(c) = components(name)
        .rev()
        .find(|c| existing.iter().any(|v| v == c))
    {
        return Some(c.to_string());
    }
    let comps: Vec<&str> = components(name).collect();
    if let Some(i) = comps.iter().position(|c| *c == "dists")
        && let Some(v) = comps.get(i + 1)
    {
        return Some(v.to_string());
    }
    if let Some(c) = comps.iter().find(|c| version_component().is_match(c)) {
        return Some(c.to_string());
    }
    if comps.contains(&"rawhide") {
        return Some("development".into());
    }
    None
}

/// A new version is a test version when its path has `/test/` or `/stage/`.
pub fn is_test_path(name: &str) -> bool {
    let p = format!("/{name}/");
    p.contains("/test/") || p.contains("/stage/")
}

/// Whether the category uses the EPEL naming rules.
fn is_epel(name: &str, category: &str) -> bool {
    category.to_ascii_uppercase().contains("EPEL") || components(name).any(|c| c == "epel")
}

/// The repository prefix of a directory (full name), or `None` when the rules give none
/// (then the repository is recorded without a prefix and no mirrorlist serves it).
/// Configured prefix rules (`umdl.repository_rules`), compiled once per scan.
#[derive(Debug)]
pub struct PrefixRules(Vec<(Option<String>, Regex, String)>);

impl PrefixRules {
    /// Compile the configured rules; a bad regex is named with its index.
    pub fn new(rules: &[mm_core::config::RepositoryRule]) -> Result<PrefixRules, String> {
        rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Regex::new(&r.path)
                    .map(|re| (r.category.clone(), re, r.prefix.clone()))
                    .map_err(|e| format!("umdl.repository_rules[{i}].path: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(PrefixRules)
    }

    /// The prefix of a repository directory: the first configured rule that matches, else
    /// the built-in Fedora/EPEL rules ([`prefix_for`]).
    pub fn prefix(&self, name: &str, category: &str, version: &str, arch: &str) -> Option<String> {
        for (cat, re, template) in &self.0 {
            if cat.as_deref().is_some_and(|c| c != category) {
                continue;
            }
            if let Some(caps) = re.captures(name) {
                let mut out = String::new();
                caps.expand(template, &mut out);
                let out = out.replace("{version}", version).replace("{arch}", arch);
                return if out.is_empty() { None } else { Some(out) };
            }
        }
        prefix_for(name, category, version)
    }
}

/// The built-in prefix rules, giving Fedora's and EPEL's names.
pub fn prefix_for(name: &str, category: &str, version: &str) -> Option<String> {
    let p = format!("/{name}/");
    if p.contains("/test/") {
        return None;
    }
    let has = |c: &str| components(name).any(|x| x == c);
    let debug = has("debug");
    let source = has("source") || has("SRPMS");
    let variant = if debug {
        "-debug"
    } else if source {
        "-source"
    } else {
        ""
    };
    // MirrorManager2's names: modular trees get `modular` in theirs (so that
    // `updates/N/Modular` and `updates/N/Everything` are two repositories, not one).
    let m = if has("Modular") { "-modular" } else { "" };
    if is_epel(name, category) {
        return Some(if has("testing") {
            format!("testing{m}{variant}-epel{version}")
        } else if has("playground") {
            format!("playground{m}{variant}-epel{version}")
        } else {
            format!("epel{m}{variant}-{version}")
        });
    }
    if has("updates") {
        let kind = if has("testing") {
            "testing"
        } else {
            "released"
        };
        return Some(format!("updates-{kind}{m}{variant}-f{version}"));
    }
    if has("rawhide") {
        return Some(format!("rawhide{m}{variant}"));
    }
    if has("releases") || has("development") {
        if has("Everything") {
            return Some(format!("fedora{variant}-{version}"));
        }
        if has("Modular") {
            return Some(format!("fedora-modular{variant}-{version}"));
        }
        if has("Fedora") {
            return Some(format!("fedora-install{variant}-{version}"));
        }
    }
    if has("Modular") {
        return Some(format!("fedora-modular{variant}-{version}"));
    }
    if has("atomic") {
        return Some(format!("atomic-{version}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv(name: &str, cat: &str) -> (Option<String>, Option<String>, Option<String>) {
        let v = version_from_path(name, &[]);
        let a = arch_from_path(name, &[]);
        let p = v.as_deref().and_then(|v| prefix_for(name, cat, v));
        (p, v, a)
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn configured_rules_come_first() {
        use mm_core::config::RepositoryRule;
        let rules = PrefixRules::new(&[
            RepositoryRule {
                category: Some("Other".into()),
                path: "^pub/alt/([a-z]+)/".into(),
                prefix: "alt-$1-{version}".into(),
            },
            RepositoryRule {
                category: None,
                path: "/nightly/".into(),
                prefix: String::new(),
            },
        ])
        .unwrap();
        assert_eq!(
            rules
                .prefix("pub/alt/iot/41/x86_64", "Other", "41", "x86_64")
                .as_deref(),
            Some("alt-iot-41")
        );
        assert_eq!(
            rules.prefix("pub/alt/iot/41/x86_64", "Fedora Linux", "41", "x86_64"),
            None
        );
        assert_eq!(
            rules.prefix(
                "pub/fedora/linux/nightly/releases/41/Everything/x86_64/os",
                "Fedora Linux",
                "41",
                "x86_64"
            ),
            None
        );
        assert_eq!(
            rules
                .prefix(
                    "pub/fedora/linux/releases/41/Everything/x86_64/os",
                    "Fedora Linux",
                    "41",
                    "x86_64"
                )
                .as_deref(),
            Some("fedora-41")
        );
        assert!(
            PrefixRules::new(&[RepositoryRule {
                category: None,
                path: "(".into(),
                prefix: "x".into()
            }])
            .is_err()
        );
    }

    #[test]
    fn modular_playground_and_atomic_names_as_mirrormanager2() {
        let f = "Fedora Linux";
        let base = "pub/fedora/linux";
        for (path, want) in [
            ("updates/39/Modular/x86_64", "updates-released-modular-f39"),
            (
                "updates/testing/39/Modular/x86_64",
                "updates-testing-modular-f39",
            ),
            (
                "updates/39/Modular/x86_64/debug",
                "updates-released-modular-debug-f39",
            ),
            ("releases/38/Modular/x86_64/os", "fedora-modular-38"),
            (
                "releases/38/Modular/source/tree",
                "fedora-modular-source-38",
            ),
            ("updates/39/Everything/x86_64", "updates-released-f39"),
            ("atomic/28/x86_64", "atomic-28"),
        ] {
            assert_eq!(pv(&format!("{base}/{path}"), f).0, s(want), "{path}");
        }
        for (path, want) in [
            ("pub/epel/8/Modular/x86_64", "epel-modular-8"),
            ("pub/epel/testing/8/Modular/x86_64", "testing-modular-epel8"),
            (
                "pub/epel/playground/8/Everything/x86_64",
                "playground-epel8",
            ),
            ("pub/epel/9/Everything/x86_64", "epel-9"),
        ] {
            assert_eq!(pv(path, "Fedora EPEL").0, s(want), "{path}");
        }
    }

    #[test]
    fn fedora_names() {
        let f = "Fedora Linux";
        let base = "pub/fedora/linux";
        assert_eq!(
            pv(&format!("{base}/releases/41/Everything/x86_64/os"), f),
            (s("fedora-41"), s("41"), s("x86_64"))
        );
        assert_eq!(
            pv(&format!("{base}/releases/41/Everything/source/tree"), f),
            (s("fedora-source-41"), s("41"), s("source"))
        );
        assert_eq!(
            pv(
                &format!("{base}/releases/41/Everything/x86_64/debug/tree"),
                f
            ),
            (s("fedora-debug-41"), s("41"), s("x86_64"))
        );
        assert_eq!(
            pv(&format!("{base}/releases/41/Fedora/x86_64/os"), f).0,
            s("fedora-install-41")
        );
        assert_eq!(
            pv(&format!("{base}/updates/41/Everything/x86_64"), f),
            (s("updates-released-f41"), s("41"), s("x86_64"))
        );
        assert_eq!(
            pv(&format!("{base}/updates/testing/41/Everything/aarch64"), f),
            (s("updates-testing-f41"), s("41"), s("aarch64"))
        );
        assert_eq!(
            pv(&format!("{base}/updates/41/Everything/SRPMS"), f).2,
            s("source")
        );
        assert_eq!(
            pv(
                &format!("{base}/development/rawhide/Everything/x86_64/os"),
                f
            ),
            (s("rawhide"), s("development"), s("x86_64"))
        );
        assert_eq!(
            pv(
                &format!("{base}/releases/test/42_Beta/Everything/x86_64/os"),
                f
            ),
            (None, s("42_Beta"), s("x86_64"))
        );
        assert!(is_test_path(&format!(
            "{base}/releases/test/42_Beta/Everything/x86_64/os"
        )));
        assert!(!is_test_path(&format!(
            "{base}/updates/testing/41/Everything/x86_64"
        )));
    }

    #[test]
    fn epel_names() {
        let e = "Fedora EPEL";
        assert_eq!(
            pv("pub/epel/9/Everything/x86_64", e),
            (s("epel-9"), s("9"), s("x86_64"))
        );
        assert_eq!(
            pv("pub/epel/testing/9/Everything/x86_64", e).0,
            s("testing-epel9")
        );
        assert_eq!(
            pv("pub/epel/9/Everything/source/tree", e).0,
            s("epel-source-9")
        );
        assert_eq!(pv("pub/epel/10.0/Everything/x86_64", e).1, s("10.0"));
    }

    #[test]
    fn existing_versions_and_dists() {
        let existing = vec!["development".to_string(), "41".to_string()];
        assert_eq!(
            version_from_path(
                "pub/fedora/linux/development/41/Everything/x86_64/os",
                &existing
            ),
            s("41")
        );
        assert_eq!(
            version_from_path("pub/debian/dists/bookworm/main", &[]),
            s("bookworm")
        );
        assert_eq!(version_from_path("pub/alt/stuff/x86_64", &[]), None);
        assert!(never_a_repository(
            "pub/fedora/linux/releases/41/Server/x86_64/os"
        ));
    }
}
