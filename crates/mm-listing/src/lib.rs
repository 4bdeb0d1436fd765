//! mm-listing: text formats that describe a tree of files, shared by
//! `update-master-directory-list` and `mm2_crawler`. No database, no I/O beyond what the
//! caller hands in.
//!
//! * [`rsync`]: `rsync --list-only` output (`perms size YYYY/MM/DD HH:MM:SS path`).
//! * [`fullfiletimelist`]: Fedora's `fullfiletimelist-*` files.
//! * [`checksum`]: `*-CHECKSUM`, `sha256sum.txt`, `SHA1SUM`, … files.
//! * [`repomd`]: the revision and timestamps of a `repomd.xml`.

pub mod checksum;
pub mod fullfiletimelist;
pub mod repomd;
pub mod rsync;

/// What kind of tree entry a listing line describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    /// Devices, fifos, sockets: listed by rsync, never recorded.
    Other,
}

/// One entry of a listing: a path relative to the listing's top, with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the top of the listing, `/`-separated, never starting with `/`;
    /// `.` is the top itself.
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// Modification time, seconds since the epoch (UTC).
    pub mtime: i64,
    /// Permission bits when the listing carries them (rsync), e.g. `0o755`.
    pub mode: Option<u32>,
    /// Symlink target (rsync `path -> target`).
    pub target: Option<String>,
}

impl Entry {
    /// Whether "others" may read (files) or read and enter (directories) this entry;
    /// `true` when the listing has no permissions.
    pub fn others_readable(&self) -> bool {
        match (self.mode, self.kind) {
            (None, _) => true,
            (Some(m), EntryKind::Dir) => m & 0o005 == 0o005,
            (Some(m), _) => m & 0o004 == 0o004,
        }
    }
}

/// A listing line that could not be parsed: the 1-based line number and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}
