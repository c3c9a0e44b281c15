//! Read positions of tailed log files.
//!
//! A collector that tails a file hands the store the position just after the last complete record it
//! appended, in the same call as the lines. The store writes both in one WAL record, so after a crash
//! the positions it reports match exactly the lines it holds: a restarted collector resumes there and
//! neither loses nor repeats a line.

use serde::{Deserialize, Serialize};

/// Where a collector stands in one file: the file's identity and the byte offset to resume at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// The path the file had when it was last read (informational: identity is `dev`, `inode` and
    /// the fingerprint, because rotation renames files).
    pub path: String,
    /// Device number of the file system holding the file.
    pub dev: u64,
    /// Inode number of the file.
    pub inode: u64,
    /// xxh3 hash of the file's first `fingerprint_len` bytes; detects a file replaced under the same
    /// inode (inodes are reused) or truncated and rewritten.
    pub fingerprint: u64,
    /// How many leading bytes `fingerprint` covers (at most 1024; fewer while the file is shorter).
    pub fingerprint_len: u32,
    /// Byte offset just after the last line whose record was stored.
    pub offset: u64,
}

impl FilePosition {
    /// The key positions are stored under: device and inode, which survive a rename.
    pub fn key(&self) -> String {
        format!("{}:{}", self.dev, self.inode)
    }
}
