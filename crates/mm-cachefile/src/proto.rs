//! The protobuf messages of `mirrormanager.proto` (proto2), written by hand for prost.
//!
//! Field numbers and types follow the schema document `mirrormanager.proto` in this crate;
//! `required` fields are plain values, `optional` ones are `Option`s, repeated scalars are
//! unpacked (proto2's default) so the bytes match what `protoc` and Fedora's tools write.

use serde::Serialize;

/// Size, time stamp and hashes of one version of a file.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct FileDetailsType {
    #[prost(uint64, required, tag = "1")]
    pub timestamp: u64,
    #[prost(uint64, required, tag = "2")]
    pub size: u64,
    #[prost(string, optional, tag = "3")]
    pub sha1: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub md5: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub sha256: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub sha512: Option<String>,
}

/// The versions of one file, newest first.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct FileDetailsCacheFilesType {
    #[prost(string, required, tag = "1")]
    pub filename: String,
    #[prost(message, repeated, tag = "2")]
    pub file_details: Vec<FileDetailsType>,
}

/// The files of one directory that have details.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct FileDetailsCacheDirectoryType {
    #[prost(string, required, tag = "1")]
    pub directory: String,
    #[prost(message, repeated, tag = "2")]
    pub file_details_cache_files: Vec<FileDetailsCacheFilesType>,
}

/// `string → string`.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message, Serialize)]
pub struct StringStringMap {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// `string → [int64]`.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct StringRepeatedIntMap {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub value: Vec<i64>,
}

/// `int64 → [string]`.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct IntRepeatedStringMap {
    #[prost(int64, required, tag = "1")]
    pub key: i64,
    #[prost(string, repeated, tag = "2")]
    pub value: Vec<String>,
}

/// `int64 → string`.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct IntStringMap {
    #[prost(int64, required, tag = "1")]
    pub key: i64,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// `int64 → int64`.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct IntIntMap {
    #[prost(int64, required, tag = "1")]
    pub key: i64,
    #[prost(int64, required, tag = "2")]
    pub value: i64,
}

/// `int64 → [int64]`.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct IntRepeatedIntMap {
    #[prost(int64, required, tag = "1")]
    pub key: i64,
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub value: Vec<i64>,
}

/// `string → bool`.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct StringBoolMap {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(bool, required, tag = "2")]
    pub value: bool,
}

/// The hosts carrying one directory.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct MirrorListCacheType {
    #[prost(string, required, tag = "1")]
    pub directory: String,
    /// Public hosts carrying the directory.
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub global: Vec<i64>,
    /// The directory name without the category's top directory.
    #[prost(string, optional, tag = "3")]
    pub subpath: Option<String>,
    /// Upper-case country → public hosts.
    #[prost(message, repeated, tag = "4")]
    pub by_country: Vec<StringRepeatedIntMap>,
    /// Upper-case country → hosts serving Internet2 clients.
    #[prost(message, repeated, tag = "5")]
    pub by_country_internet2: Vec<StringRepeatedIntMap>,
    /// Host id → host_category_url ids.
    #[prost(message, repeated, tag = "6")]
    pub by_host_id: Vec<IntRepeatedIntMap>,
    #[prost(bool, optional, tag = "7")]
    pub ordered_mirror_list: Option<bool>,
}

/// The whole cache.
#[derive(Clone, PartialEq, Eq, prost::Message, Serialize)]
pub struct MirrorList {
    /// Creation time, seconds since the epoch.
    #[prost(uint64, required, tag = "1")]
    pub time: u64,
    #[prost(message, repeated, tag = "2")]
    pub netblock_country_cache: Vec<StringStringMap>,
    #[prost(message, repeated, tag = "3")]
    pub location_cache: Vec<StringRepeatedIntMap>,
    /// host_category_url id → URL.
    #[prost(message, repeated, tag = "4")]
    pub hc_url_cache: Vec<IntStringMap>,
    #[prost(message, repeated, tag = "5")]
    pub file_details_cache: Vec<FileDetailsCacheDirectoryType>,
    #[prost(message, repeated, tag = "6")]
    pub disabled_repository_cache: Vec<StringBoolMap>,
    #[prost(message, repeated, tag = "7")]
    pub country_continent_redirect_cache: Vec<StringStringMap>,
    #[prost(message, repeated, tag = "8")]
    pub repository_redirect_cache: Vec<StringStringMap>,
    /// `"<prefix>+<arch>"` → directory name.
    #[prost(message, repeated, tag = "9")]
    pub repo_arch_to_directory_name: Vec<StringStringMap>,
    /// ASN → hosts.
    #[prost(message, repeated, tag = "10")]
    pub host_asn_cache: Vec<IntRepeatedIntMap>,
    #[prost(message, repeated, tag = "11")]
    pub host_max_connection_cache: Vec<IntIntMap>,
    #[prost(message, repeated, tag = "12")]
    pub host_country_cache: Vec<IntStringMap>,
    #[prost(message, repeated, tag = "13")]
    pub host_bandwidth_cache: Vec<IntIntMap>,
    #[prost(message, repeated, tag = "14")]
    pub host_country_allowed_cache: Vec<IntRepeatedStringMap>,
    /// Netblock → hosts.
    #[prost(message, repeated, tag = "15")]
    pub host_netblock_cache: Vec<StringRepeatedIntMap>,
    /// One entry per directory.
    #[prost(message, repeated, tag = "16")]
    pub mirror_list_cache: Vec<MirrorListCacheType>,
}
