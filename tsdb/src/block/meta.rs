//! Block metadata (`meta.json`), block names (ULIDs) and the listing and cleaning of a data directory.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{META_FILE, TMP_SUFFIX};
use crate::error::{Error, Result};

/// The only `meta.json` version this code reads and writes.
pub(super) const META_VERSION: u32 = 1;

/// The content of a block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    /// Format version, always 1.
    pub version: u32,
    /// The block's name.
    pub ulid: String,
    /// Inclusive lower bound of the block's sample timestamps, in milliseconds.
    pub min_time: i64,
    /// Exclusive upper bound of the block's sample timestamps, in milliseconds.
    pub max_time: i64,
    /// Counts of what the block holds.
    pub stats: BlockStats,
    /// Where the block comes from.
    pub compaction: BlockCompaction,
}

/// Counts stored in [`BlockMeta`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    /// Number of series in the index.
    pub num_series: u64,
    /// Number of samples over all chunks.
    pub num_samples: u64,
    /// Number of chunks in the chunks file.
    pub num_chunks: u64,
}

/// Compaction history stored in [`BlockMeta`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockCompaction {
    /// 1 for a block cut from the head, one more per compaction.
    pub level: u32,
    /// ULIDs of the level-1 blocks this block was made from (a level-1 block lists itself).
    pub sources: Vec<String>,
}

impl BlockMeta {
    /// Reads and checks `<dir>/meta.json`.
    pub fn read(dir: &Path) -> Result<BlockMeta> {
        let path = dir.join(META_FILE);
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let meta: BlockMeta =
            serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(&path, format!("invalid json: {e}")))?;
        if meta.version != META_VERSION {
            return Err(Error::corrupt(
                &path,
                format!("unsupported meta version {}", meta.version),
            ));
        }
        if meta.min_time >= meta.max_time {
            return Err(Error::corrupt(
                &path,
                format!(
                    "empty time range: min_time {} >= max_time {}",
                    meta.min_time, meta.max_time
                ),
            ));
        }
        Ok(meta)
    }

    /// Writes `<dir>/meta.json` and fsyncs it.
    pub(super) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::InvalidArgument(format!("cannot serialize block meta: {e}")))?;
        let mut file = fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(&json).map_err(|e| Error::io(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))
    }
}

/// Crockford's base32 alphabet, in value order.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Length of a ULID's text form.
const ULID_LEN: usize = 26;

/// Returns a new ULID: 48 bits of milliseconds since the epoch and 80 random bits, in Crockford base32.
///
/// Within one process the result is strictly greater than every previous one, so block names sort by
/// creation time even when several are made in the same millisecond.
pub fn new_ulid() -> String {
    static LAST: parking_lot::Mutex<u128> = parking_lot::Mutex::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let millis = (now.as_millis() as u64) & ((1 << 48) - 1);
    let mut value = (u128::from(millis) << 80) | random_bits(now.as_nanos());
    let mut last = LAST.lock();
    if value <= *last {
        value = last.checked_add(1).unwrap_or(value);
    }
    *last = value;
    encode_ulid(value)
}

/// 80 bits from std's randomly keyed hasher, fed with the time and a process-wide counter.
fn random_bits(nanos: u128) -> u128 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    let mut first = state.build_hasher();
    first.write_u128(nanos);
    first.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    first.write_u32(std::process::id());
    let high = first.finish();
    let mut second = state.build_hasher();
    second.write_u64(high);
    second.write_u8(0x5a);
    let low = second.finish();
    ((u128::from(high) << 64) | u128::from(low)) & ((1 << 80) - 1)
}

fn encode_ulid(value: u128) -> String {
    (0..ULID_LEN)
        .map(|i| {
            let shift = 5 * (ULID_LEN - 1 - i);
            char::from(CROCKFORD[((value >> shift) & 31) as usize])
        })
        .collect()
}

/// True when `name` is a ULID as produced by [`new_ulid`]: 26 upper-case Crockford base32 characters
/// whose value fits in 128 bits.
pub fn is_ulid(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() == ULID_LEN && bytes[0] <= b'7' && bytes.iter().all(|b| CROCKFORD.contains(b))
}

/// Lists the block directories in `parent` (directories named by a ULID that contain `meta.json`),
/// sorted by name, i.e. by creation time. A missing `parent` has no blocks.
pub fn list_blocks(parent: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(parent, e)),
    };
    let mut blocks = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(parent, e))?;
        let path = entry.path();
        let is_block =
            entry.file_name().to_str().is_some_and(is_ulid) && path.is_dir() && path.join(META_FILE).is_file();
        if is_block {
            blocks.push(path);
        }
    }
    blocks.sort();
    Ok(blocks)
}

/// Deletes the directories in `parent` whose name ends in `.tmp` (blocks left half-written by a crash)
/// and returns how many were removed. Call it at startup, before any writer runs.
pub fn remove_temporary(parent: &Path) -> Result<usize> {
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(parent, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(parent, e))?;
        let path = entry.path();
        if entry.file_name().to_str().is_some_and(|n| n.ends_with(TMP_SUFFIX)) && path.is_dir() {
            fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            tracing::info!(path = %path.display(), "removed temporary block directory");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Fsyncs a directory so that the entries created, renamed or removed in it are durable.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let file = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        file.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_meta() -> BlockMeta {
        BlockMeta {
            version: 1,
            ulid: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            min_time: 1000,
            max_time: 2000,
            stats: BlockStats {
                num_series: 3,
                num_samples: 360,
                num_chunks: 4,
            },
            compaction: BlockCompaction {
                level: 2,
                sources: vec!["01ARZ3NDEKTSV4RRFFQ69G5FAV".into()],
            },
        }
    }

    #[test]
    fn ulid_encodes_time_and_sorts() {
        assert_eq!(encode_ulid(0), "00000000000000000000000000");
        assert_eq!(encode_ulid(u128::MAX), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        assert_eq!(&encode_ulid(1u128 << 80)[..10], "0000000001");
        let ulids: Vec<String> = (0..1000).map(|_| new_ulid()).collect();
        assert!(ulids.windows(2).all(|w| w[0] < w[1]), "not strictly increasing");
        assert!(ulids.iter().all(|u| is_ulid(u)));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64;
        let decoded = ulids[0][..10].bytes().fold(0u64, |acc, c| {
            acc * 32 + CROCKFORD.iter().position(|&x| x == c).expect("alphabet") as u64
        });
        assert!(now.abs_diff(decoded) < 60_000, "time part {decoded} far from {now}");
    }

    #[test]
    fn ulid_validation() {
        assert!(is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FA"), "too short");
        assert!(!is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAU"), "U is not crockford");
        assert!(!is_ulid("01arz3ndektsv4rrffq69g5fav"), "lower case");
        assert!(!is_ulid("81ARZ3NDEKTSV4RRFFQ69G5FAV"), "overflows 128 bits");
    }

    #[test]
    fn meta_json_round_trip_and_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let meta = sample_meta();
        meta.write(dir.path()).expect("write");
        assert_eq!(BlockMeta::read(dir.path()).expect("read"), meta);
        let value: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join(META_FILE)).expect("read")).expect("json");
        assert_eq!(value["version"], 1);
        assert_eq!(value["max_time"], 2000);
        assert_eq!(value["stats"]["num_chunks"], 4);
        assert_eq!(value["compaction"]["level"], 2);
        assert_eq!(value["compaction"]["sources"][0], "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    }

    #[test]
    fn meta_rejects_bad_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(META_FILE);
        fs::write(&path, b"{not json").expect("write");
        let err = BlockMeta::read(dir.path()).expect_err("bad json");
        assert!(
            matches!(&err, Error::DataCorruption { path: p, .. } if p.ends_with(META_FILE)),
            "{err}"
        );
        let mut meta = sample_meta();
        meta.version = 2;
        meta.write(dir.path()).expect("write");
        assert!(
            BlockMeta::read(dir.path())
                .expect_err("version")
                .to_string()
                .contains("unsupported meta version 2")
        );
        assert!(matches!(
            BlockMeta::read(&dir.path().join("missing")),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn lists_blocks_and_removes_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let parent = dir.path();
        assert_eq!(
            list_blocks(&parent.join("absent")).expect("list"),
            Vec::<PathBuf>::new()
        );
        let (a, b) = (new_ulid(), new_ulid());
        for name in [&b, &a] {
            fs::create_dir(parent.join(name)).expect("mkdir");
            fs::write(parent.join(name).join(META_FILE), b"{}").expect("write");
        }
        fs::create_dir(parent.join(new_ulid())).expect("block without meta");
        fs::create_dir(parent.join("not-a-ulid")).expect("mkdir");
        fs::write(parent.join("not-a-ulid").join(META_FILE), b"{}").expect("write");
        let tmp = parent.join(format!("{}{TMP_SUFFIX}", new_ulid()));
        fs::create_dir(&tmp).expect("mkdir");
        fs::write(tmp.join("chunks"), b"partial").expect("write");
        fs::write(parent.join("file.tmp"), b"not a dir").expect("write");

        assert_eq!(
            list_blocks(parent).expect("list"),
            vec![parent.join(&a), parent.join(&b)]
        );
        assert_eq!(remove_temporary(parent).expect("clean"), 1);
        assert!(!tmp.exists());
        assert!(parent.join("file.tmp").exists(), "only directories are removed");
        assert_eq!(remove_temporary(parent).expect("clean"), 0);
    }
}
