//! mm-mirrorlist: the mirrorlist server. It answers `/mirrorlist` (text) and `/metalink`
//! (Metalink 3.0 with MirrorManager's `mm0` namespace) from the protobuf cache written by
//! update-mirrorlist-server, choosing mirrors by netblock, ASN, country, continent and
//! bandwidth. The cache is indexed once at load and swapped atomically on reload.

pub mod answer;
pub mod cli;
pub mod geo;
pub mod index;
pub mod load;
pub mod request;
pub mod select;
pub mod server;
pub mod trie;

pub use server::{Options, ServerError, Shared, run};

#[cfg(test)]
mod tests;
