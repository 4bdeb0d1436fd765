//! The TOML configuration file (one file for every job).
//!
//! Unknown keys and bad values are errors that name the file, the key and the problem.
//! Defaults follow the reference deployment (`/var/lock/mirrormanager`, …).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the configuration is read from when neither `--config` nor the environment says.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/mirrormanager/mirrormanager.toml";
/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "MIRRORMANAGER_CONFIG";
/// Environment variable overriding `database_url`.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read configuration: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: key `{key}`: {problem}")]
    Invalid {
        path: PathBuf,
        key: String,
        problem: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `postgres://…`, `sqlite://path` or a plain path (SQLite). `DATABASE_URL` overrides it.
    #[serde(default)]
    pub database_url: Option<String>,
    #[serde(default = "default_lock_dir")]
    pub lock_dir: PathBuf,
    #[serde(default = "default_log_dir")]
    pub log_dir: PathBuf,
    #[serde(default = "default_cache_dir")]
    pub cache_dir: PathBuf,
    #[serde(default = "default_embargoed")]
    pub embargoed_countries: Vec<String>,
    #[serde(default)]
    pub umdl: UmdlConfig,
    #[serde(default)]
    pub crawler: CrawlerConfig,
    #[serde(default)]
    pub sync_out: SyncOutConfig,
    #[serde(default)]
    pub mirrorlist: MirrorlistConfig,
    #[serde(default)]
    pub publiclist: PubliclistConfig,
    /// The file this configuration came from (`None` for built-in defaults).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[umdl]`: update-master-directory-list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UmdlConfig {
    /// Prefix stripped from master paths to form `directory.name`.
    #[serde(default = "default_umdl_prefix")]
    pub prefix: String,
    #[serde(default)]
    pub master_directories: Vec<MasterDirectory>,
    /// Older `file_detail` rows (alternates) are expired after this many days.
    #[serde(default = "default_max_stale_days")]
    pub max_stale_days: u32,
    /// Paths (regexes) that never yield a repository version.
    #[serde(default)]
    pub skip_paths_for_version: Vec<String>,
    /// Refuse to delete more than this fraction of a category's directories in one run.
    #[serde(default = "default_max_delete_fraction")]
    pub max_delete_fraction: f64,
    /// Repository prefix rules, tried in order before the built-in Fedora/EPEL rules.
    #[serde(default)]
    pub repository_rules: Vec<RepositoryRule>,
}

/// One `[[umdl.repository_rules]]` entry: a repository directory whose name matches `path`
/// (a regex) gets `prefix`, where `$1`… are the regex's groups and `{version}` and
/// `{arch}` the detected version and arch; an empty prefix means "no prefix".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryRule {
    /// Only for this category (default: every category).
    #[serde(default)]
    pub category: Option<String>,
    pub path: String,
    pub prefix: String,
}

/// Kind of master directory source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    Directory,
    Rsync,
    File,
}

/// One `[[umdl.master_directories]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterDirectory {
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub category: String,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub options: Option<String>,
    #[serde(default)]
    pub excludes: Vec<String>,
}

/// `[crawler]`: mm2_crawler.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrawlerConfig {
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default = "default_host_timeout")]
    pub host_timeout_minutes: u64,
    #[serde(default = "default_global_timeout")]
    pub global_timeout_minutes: u64,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_s: u64,
    /// Longest one HTTP or FTP request may take (always also bounded by the host deadline).
    #[serde(default = "default_http_timeout")]
    pub http_timeout_s: u64,
    #[serde(default = "default_rsync_parameters")]
    pub rsync_parameters: String,
    #[serde(default = "default_auto_disable_after")]
    pub auto_disable_after: u32,
}

/// `[sync_out]`: mm_sync_out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOutConfig {
    /// rsync destinations: local paths or `user@host:path`.
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub ssh_key: Option<PathBuf>,
    #[serde(default)]
    pub known_hosts: Option<PathBuf>,
    #[serde(default = "default_sync_timeout")]
    pub timeout_s: u64,
}

// Written out, not derived: a derived default would make the timeout 0 s whenever the
// config has no `[sync_out]` table.
impl Default for SyncOutConfig {
    fn default() -> Self {
        SyncOutConfig {
            targets: Vec::new(),
            ssh_key: None,
            known_hosts: None,
            timeout_s: default_sync_timeout(),
        }
    }
}

/// `[mirrorlist]`: mirrorlist-server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorlistConfig {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_minimum")]
    pub minimum: usize,
    #[serde(default)]
    pub geoip: Option<PathBuf>,
    #[serde(default)]
    pub global_netblocks: Option<PathBuf>,
    #[serde(default)]
    pub cccsv: Option<PathBuf>,
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// Worker threads answering requests (default: one per CPU).
    #[serde(default)]
    pub threads: Option<usize>,
}

/// `[publiclist]`: the static public mirror list.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PubliclistConfig {
    #[serde(default)]
    pub output_dir: Option<PathBuf>,
}

fn default_lock_dir() -> PathBuf {
    PathBuf::from("/var/lock/mirrormanager")
}
fn default_log_dir() -> PathBuf {
    PathBuf::from("/var/log/mirrormanager")
}
fn default_cache_dir() -> PathBuf {
    PathBuf::from("/var/lib/mirrormanager")
}
fn default_embargoed() -> Vec<String> {
    ["CU", "IR", "KP", "SD", "SY"].map(String::from).to_vec()
}
fn default_umdl_prefix() -> String {
    "/srv/".into()
}
fn default_max_stale_days() -> u32 {
    4
}
fn default_max_delete_fraction() -> f64 {
    0.1
}
fn default_host_timeout() -> u64 {
    120
}
fn default_global_timeout() -> u64 {
    360
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_http_timeout() -> u64 {
    120
}
fn default_rsync_parameters() -> String {
    "--no-motd --timeout 14400 --exclude=lost+found --no-human-readable".into()
}
fn default_auto_disable_after() -> u32 {
    4
}
fn default_sync_timeout() -> u64 {
    300
}
fn default_listen() -> String {
    "127.0.0.1:3000".into()
}
fn default_minimum() -> usize {
    5
}

impl Default for UmdlConfig {
    fn default() -> Self {
        Self {
            prefix: default_umdl_prefix(),
            master_directories: Vec::new(),
            max_stale_days: default_max_stale_days(),
            skip_paths_for_version: Vec::new(),
            max_delete_fraction: default_max_delete_fraction(),
            repository_rules: Vec::new(),
        }
    }
}

impl Default for CrawlerConfig {
    fn default() -> Self {
        Self {
            threads: None,
            host_timeout_minutes: default_host_timeout(),
            global_timeout_minutes: default_global_timeout(),
            connect_timeout_s: default_connect_timeout(),
            http_timeout_s: default_http_timeout(),
            rsync_parameters: default_rsync_parameters(),
            auto_disable_after: default_auto_disable_after(),
        }
    }
}

impl Default for MirrorlistConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            minimum: default_minimum(),
            geoip: None,
            global_netblocks: None,
            cccsv: None,
            log: None,
            threads: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str("").expect("empty configuration is valid")
    }
}

impl Config {
    /// Parse configuration text; `path` is only used in messages.
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: one_line(&e, text),
        })?;
        cfg.source = Some(path.to_owned());
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Read a configuration file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_str(&text, path)
    }

    /// Load the configuration the way every binary does: `--config` if given, else
    /// `$MIRRORMANAGER_CONFIG`, else the default path if it exists, else built-in defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Self::from_file(p);
        }
        if let Some(p) = std::env::var_os(CONFIG_ENV) {
            return Self::from_file(Path::new(&p));
        }
        let default = Path::new(DEFAULT_CONFIG_PATH);
        if default.exists() {
            return Self::from_file(default);
        }
        log::warn!(
            "no configuration file ({DEFAULT_CONFIG_PATH} does not exist; no --config or ${CONFIG_ENV}): using the built-in defaults"
        );
        Ok(Config::default())
    }

    /// The database URL: `$DATABASE_URL`, else `database_url`, else the embedded SQLite
    /// database `<cache_dir>/mirrormanager.db`.
    pub fn database_url(&self) -> String {
        if let Ok(url) = std::env::var(DATABASE_URL_ENV)
            && !url.is_empty()
        {
            return url;
        }
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}",
                self.cache_dir.join("mirrormanager.db").display()
            ),
        }
    }

    /// Where the mirrorlist cache is written by default.
    pub fn cache_file(&self) -> PathBuf {
        self.cache_dir.join("mirrorlist_cache.proto")
    }

    /// Where the public list is written by default.
    pub fn publiclist_dir(&self) -> PathBuf {
        self.publiclist
            .output_dir
            .clone()
            .unwrap_or_else(|| self.cache_dir.join("publiclist"))
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, problem: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            problem,
        };
        if let Some(dir) = &self.publiclist.output_dir {
            let named = dir.file_name().is_some_and(|n| !n.is_empty());
            if !named {
                return Err(invalid(
                    "publiclist.output_dir".into(),
                    format!("{dir:?} names no directory (it is replaced as a whole)"),
                ));
            }
        }
        for (i, cc) in self.embargoed_countries.iter().enumerate() {
            if !is_country_code(cc) {
                return Err(invalid(
                    format!("embargoed_countries[{i}]"),
                    format!("{cc:?} is not a two-letter country code"),
                ));
            }
        }
        for (i, md) in self.umdl.master_directories.iter().enumerate() {
            let key = |k: &str| format!("umdl.master_directories[{i}].{k}");
            match md.kind {
                SourceType::Directory | SourceType::File if md.path.is_none() => {
                    return Err(invalid(key("path"), "required for this type".into()));
                }
                SourceType::Rsync if md.url.is_none() => {
                    return Err(invalid(key("url"), "required for type \"rsync\"".into()));
                }
                _ => {}
            }
            if md.category.trim().is_empty() {
                return Err(invalid(key("category"), "must not be empty".into()));
            }
            for (j, re) in md.excludes.iter().enumerate() {
                if let Err(e) = check_regex(re) {
                    return Err(invalid(format!("{}[{j}]", key("excludes")), e));
                }
            }
        }
        for (j, re) in self.umdl.skip_paths_for_version.iter().enumerate() {
            if let Err(e) = check_regex(re) {
                return Err(invalid(format!("umdl.skip_paths_for_version[{j}]"), e));
            }
        }
        for (j, rule) in self.umdl.repository_rules.iter().enumerate() {
            if let Err(e) = check_regex(&rule.path) {
                return Err(invalid(format!("umdl.repository_rules[{j}].path"), e));
            }
        }
        if !(0.0..=1.0).contains(&self.umdl.max_delete_fraction) {
            return Err(invalid(
                "umdl.max_delete_fraction".into(),
                "must be between 0 and 1".into(),
            ));
        }
        for (key, threads) in [
            ("crawler.threads", self.crawler.threads),
            ("mirrorlist.threads", self.mirrorlist.threads),
        ] {
            if threads == Some(0) {
                return Err(invalid(key.into(), "must be at least 1".into()));
            }
        }
        // Upper bounds keep deadline arithmetic from overflowing: a year at most.
        const YEAR_S: u64 = 366 * 24 * 3600;
        for (key, value, max) in [
            (
                "crawler.http_timeout_s",
                self.crawler.http_timeout_s,
                YEAR_S,
            ),
            (
                "crawler.connect_timeout_s",
                self.crawler.connect_timeout_s,
                YEAR_S,
            ),
            (
                "crawler.host_timeout_minutes",
                self.crawler.host_timeout_minutes,
                YEAR_S / 60,
            ),
            (
                "crawler.global_timeout_minutes",
                self.crawler.global_timeout_minutes,
                YEAR_S / 60,
            ),
            ("sync_out.timeout_s", self.sync_out.timeout_s, YEAR_S),
            (
                "mirrorlist.minimum",
                self.mirrorlist.minimum as u64,
                u64::MAX,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key.into(), "must be at least 1".into()));
            }
            if value > max {
                return Err(invalid(
                    key.into(),
                    format!("must be at most {max} (a year)"),
                ));
            }
        }
        if self.crawler.auto_disable_after == 0 {
            return Err(invalid(
                "crawler.auto_disable_after".into(),
                "must be at least 1".into(),
            ));
        }
        for (key, p) in [
            ("sync_out.ssh_key", &self.sync_out.ssh_key),
            ("sync_out.known_hosts", &self.sync_out.known_hosts),
        ] {
            let text = p
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if text.contains('\'') && text.contains('"') {
                return Err(invalid(
                    key.into(),
                    "a path holding both ' and \" cannot be passed to ssh through rsync".into(),
                ));
            }
        }
        if self
            .mirrorlist
            .listen
            .parse::<std::net::SocketAddr>()
            .is_err()
        {
            return Err(invalid(
                "mirrorlist.listen".into(),
                format!("{:?} is not an address:port", self.mirrorlist.listen),
            ));
        }
        Ok(())
    }
}

/// A two-letter upper- or lower-case ASCII country code.
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Compile a regular expression as the jobs will, so a bad one is a configuration error
/// naming its key, not a failure halfway through a run.
fn check_regex(re: &str) -> Result<(), String> {
    regex::Regex::new(re)
        .map(|_| ())
        .map_err(|e| format!("regex {re:?}: {}", e.to_string().replace('\n', " ")))
}

/// toml's messages span several lines (a source excerpt); keep them on one line, naming
/// the line number and quoting the offending line (which names the key).
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line_no = text[..start].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!("line {line_no}: `{line}`: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_str(text, Path::new("test.toml"))
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = parse("").unwrap();
        assert_eq!(c.lock_dir, Path::new("/var/lock/mirrormanager"));
        assert_eq!(c.crawler.host_timeout_minutes, 120);
        assert_eq!(c.crawler.auto_disable_after, 4);
        assert_eq!(c.mirrorlist.minimum, 5);
        assert_eq!(c.umdl.max_stale_days, 4);
        assert_eq!(c.embargoed_countries, ["CU", "IR", "KP", "SD", "SY"]);
        assert_eq!(c.sync_out.timeout_s, 300);
        assert_eq!(
            c.cache_file(),
            Path::new("/var/lib/mirrormanager/mirrorlist_cache.proto")
        );
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = parse("lock_dri = \"/tmp\"\n").unwrap_err().to_string();
        assert!(e.starts_with("test.toml: "), "{e}");
        assert!(e.contains("lock_dri"), "{e}");
        let e = parse("[crawler]\nthreds = 3\n").unwrap_err().to_string();
        assert!(e.contains("threds"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse("[crawler]\nthreads = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("test.toml") && e.contains("threads"), "{e}");
        let e = parse("embargoed_countries = [\"CUB\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("embargoed_countries[0]"), "{e}");
        let e = parse("[[umdl.master_directories]]\ntype = \"rsync\"\ncategory = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("umdl.master_directories[0].url"), "{e}");
        let e = parse("[[umdl.master_directories]]\ntype = \"tape\"\ncategory = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tape"), "{e}");
        let e = parse("[mirrorlist]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mirrorlist.listen"), "{e}");
        let e = parse("[mirrorlist]\nthreads = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`mirrorlist.threads`: must be at least 1"),
            "{e}"
        );
        for (text, key) in [
            (
                "[crawler]\nconnect_timeout_s = 0\n",
                "crawler.connect_timeout_s",
            ),
            (
                "[crawler]\nhost_timeout_minutes = 0\n",
                "crawler.host_timeout_minutes",
            ),
            (
                "[crawler]\nglobal_timeout_minutes = 0\n",
                "crawler.global_timeout_minutes",
            ),
            ("[sync_out]\ntimeout_s = 0\n", "sync_out.timeout_s"),
            ("[mirrorlist]\nminimum = 0\n", "mirrorlist.minimum"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`: must be at least 1")), "{e}");
        }
        let e = parse("[sync_out]\ntimeout_s = 18446744073709551615\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`sync_out.timeout_s`: must be at most"), "{e}");
        // Regexes are compiled as the jobs compile them: a bad one names its key.
        let e = parse("[umdl]\nskip_paths_for_version = [\"[abc\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`umdl.skip_paths_for_version[0]`: regex \"[abc\""),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let e = parse("[[umdl.master_directories]]\ntype = \"directory\"\npath = \"/srv\"\ncategory = \"x\"\nexcludes = [\"a{2,1}\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("umdl.master_directories[0].excludes[0]"), "{e}");
        for dir in ["", "/", "out/.."] {
            let e = parse(&format!("[publiclist]\noutput_dir = {dir:?}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("`publiclist.output_dir`: "), "{e}");
        }
        assert_eq!(
            parse("[mirrorlist]\nthreads = 2\n")
                .unwrap()
                .mirrorlist
                .threads,
            Some(2)
        );
    }

    #[test]
    fn database_url_defaults_to_embedded_sqlite() {
        let c = parse("cache_dir = \"/x\"\n").unwrap();
        if std::env::var_os(DATABASE_URL_ENV).is_none() {
            assert_eq!(c.database_url(), "sqlite:///x/mirrormanager.db");
        }
    }
}
