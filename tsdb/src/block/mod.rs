//! Immutable on-disk blocks.
//!
//! A block is a directory `<parent>/<ULID>/` holding every sample of a set of series for a time range
//! `[min_time, max_time)`: `meta.json` ([`BlockMeta`]), a `chunks` file of opaque encoded chunks, and an
//! `index` file (symbols, series with their chunk metas, postings). [`BlockWriter`] builds one atomically;
//! [`Block`] memory-maps it for reading. The byte layouts are specified in `tsdb/docs/format.md`.

mod index;
mod meta;
mod reader;
mod writer;

pub use index::ChunkMeta;
pub use meta::{BlockCompaction, BlockMeta, BlockStats, is_ulid, list_blocks, new_ulid, remove_temporary};
pub use reader::{Block, ChunkBytes};
pub use writer::{BlockWriter, ChunkInput};

/// Name of the metadata file inside a block directory.
pub const META_FILE: &str = "meta.json";
/// Name of the chunks file inside a block directory.
pub const CHUNKS_FILE: &str = "chunks";
/// Name of the index file inside a block directory.
pub const INDEX_FILE: &str = "index";
/// Suffix of a block directory that is still being written.
pub const TMP_SUFFIX: &str = ".tmp";

/// Magic number at the start of the chunks file (`"LPCH"`).
const CHUNKS_MAGIC: u32 = 0x4C50_4348;
/// Version byte of the chunks file.
const CHUNKS_VERSION: u8 = 1;
/// Size of the chunks file header: magic, version, three bytes of padding.
const CHUNKS_HEADER_LEN: usize = 8;

/// Reads a big-endian `u32` at `pos`, if in bounds.
fn be_u32(data: &[u8], pos: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(pos..pos.checked_add(4)?)?.try_into().ok()?))
}

/// Reads a big-endian `u64` at `pos`, if in bounds.
fn be_u64(data: &[u8], pos: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(pos..pos.checked_add(8)?)?.try_into().ok()?))
}
