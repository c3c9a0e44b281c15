//! Deleted time ranges: the interval lists that hide samples after `Db::delete_series`, and the
//! `tombstones` file of a block (specified in `tsdb/docs/format.md`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::encoding::{get_uvarint, get_varint, put_uvarint, put_varint};
use crate::error::{Error, Result};

/// Name of the file in a block directory.
pub const TOMBSTONES_FILE: &str = "tombstones";
const MAGIC: u32 = 0x4C54_4D42;
const VERSION: u8 = 1;

/// Inclusive `(mint, maxt)` ranges, sorted and not overlapping (nor touching).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i64, i64)>);

/// Intervals shared between a source of samples and the queries reading it.
pub type SharedIntervals = Arc<Intervals>;

impl Intervals {
    /// No deleted range.
    pub fn new() -> Intervals {
        Intervals(Vec::new())
    }

    /// The ranges, sorted.
    pub fn ranges(&self) -> &[(i64, i64)] {
        &self.0
    }

    /// True when nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `[mint, maxt]`, merging it with the ranges it overlaps or touches. Ignored when
    /// `maxt < mint`.
    pub fn add(&mut self, mint: i64, maxt: i64) {
        if maxt < mint {
            return;
        }
        let (mut lo, mut hi) = (mint, maxt);
        let mut merged = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for &(a, b) in &self.0 {
            if b < lo.saturating_sub(1) {
                merged.push((a, b));
            } else if a > hi.saturating_add(1) {
                if !placed {
                    merged.push((lo, hi));
                    placed = true;
                }
                merged.push((a, b));
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if !placed {
            merged.push((lo, hi));
        }
        self.0 = merged;
    }

    /// True when `t` lies in a deleted range.
    pub fn contains(&self, t: i64) -> bool {
        // Ranges are few: a linear scan beats a binary search in practice.
        self.0.iter().any(|&(a, b)| a <= t && t <= b)
    }

    /// True when a deleted range overlaps `[mint, maxt]`.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.0.iter().any(|&(a, b)| a <= maxt && mint <= b)
    }

    /// True when `[mint, maxt]` is wholly deleted.
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        self.0.iter().any(|&(a, b)| a <= mint && maxt <= b)
    }

    /// Drops the ranges that end before `t`.
    pub fn drop_before(&mut self, t: i64) {
        self.0.retain(|&(_, b)| b >= t);
    }
}

/// A block's deleted ranges by series id.
pub type BlockTombstones = BTreeMap<u32, SharedIntervals>;

/// Reads the `tombstones` file of the block in `dir`; empty when there is none.
pub fn read(dir: &Path) -> Result<BlockTombstones> {
    let path = dir.join(TOMBSTONES_FILE);
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BlockTombstones::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    decode(&data).map_err(|reason| Error::corrupt(&path, reason))
}

/// Decodes the bytes of a `tombstones` file; the error says what is wrong.
pub fn decode(data: &[u8]) -> std::result::Result<BlockTombstones, String> {
    if data.len() < 9 {
        return Err(format!("file too short: {} bytes", data.len()));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32c::crc32c(body) != stored {
        return Err("checksum mismatch".into());
    }
    let magic = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    if magic != MAGIC {
        return Err(format!("bad magic {magic:#010x}"));
    }
    if body[4] != VERSION {
        return Err(format!("unsupported version {}", body[4]));
    }
    let mut pos = 5;
    let truncated = || "truncated entry".to_string();
    let count = get_uvarint(body, &mut pos).ok_or_else(truncated)?;
    let mut out = BlockTombstones::new();
    let mut previous: Option<u32> = None;
    for _ in 0..count {
        let id = u32::try_from(get_uvarint(body, &mut pos).ok_or_else(truncated)?)
            .map_err(|_| "series id out of range".to_string())?;
        if previous.is_some_and(|p| p >= id) {
            return Err(format!("series id {id} out of order"));
        }
        previous = Some(id);
        let ranges = get_uvarint(body, &mut pos).ok_or_else(truncated)?;
        if ranges == 0 || ranges > (body.len() as u64) {
            return Err(format!("series id {id} has an invalid range count {ranges}"));
        }
        let mut intervals = Intervals::new();
        let mut last_end: Option<i64> = None;
        for _ in 0..ranges {
            let mint = get_varint(body, &mut pos).ok_or_else(truncated)?;
            let len = get_uvarint(body, &mut pos).ok_or_else(truncated)?;
            let maxt = mint
                .checked_add_unsigned(len)
                .ok_or_else(|| format!("series id {id} has a range past the end of time"))?;
            if last_end.is_some_and(|end| mint <= end) {
                return Err(format!("series id {id} has unsorted ranges"));
            }
            last_end = Some(maxt);
            intervals.0.push((mint, maxt));
        }
        out.insert(id, Arc::new(intervals));
    }
    if pos != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}

fn encode(tombstones: &BlockTombstones) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.push(VERSION);
    let entries: Vec<_> = tombstones.iter().filter(|(_, i)| !i.is_empty()).collect();
    put_uvarint(&mut out, entries.len() as u64);
    for (&id, intervals) in entries {
        put_uvarint(&mut out, u64::from(id));
        put_uvarint(&mut out, intervals.0.len() as u64);
        for &(mint, maxt) in &intervals.0 {
            put_varint(&mut out, mint);
            put_uvarint(&mut out, maxt.abs_diff(mint));
        }
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Replaces the `tombstones` file of the block in `dir` atomically (temporary file, fsync, rename,
/// fsync of the directory).
pub fn write(dir: &Path, tombstones: &BlockTombstones) -> Result<()> {
    let path = dir.join(TOMBSTONES_FILE);
    let tmp = dir.join(format!("{TOMBSTONES_FILE}.tmp"));
    let bytes = encode(tombstones);
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(&bytes).map_err(|e| Error::io(&tmp, e))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    let parent = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    parent.sync_all().map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn intervals(ranges: &[(i64, i64)]) -> Intervals {
        let mut out = Intervals::new();
        for &(a, b) in ranges {
            out.add(a, b);
        }
        out
    }

    #[test]
    fn ranges_merge_when_they_overlap_or_touch() {
        assert_eq!(intervals(&[(10, 20), (30, 40)]).ranges(), &[(10, 20), (30, 40)]);
        assert_eq!(intervals(&[(30, 40), (10, 20)]).ranges(), &[(10, 20), (30, 40)]);
        assert_eq!(intervals(&[(10, 20), (21, 25)]).ranges(), &[(10, 25)]);
        assert_eq!(intervals(&[(10, 20), (30, 40), (15, 35)]).ranges(), &[(10, 40)]);
        assert_eq!(
            intervals(&[(10, 20), (5, 8), (50, 60)]).ranges(),
            &[(5, 8), (10, 20), (50, 60)]
        );
        assert_eq!(
            intervals(&[(i64::MIN, i64::MAX), (1, 2)]).ranges(),
            &[(i64::MIN, i64::MAX)]
        );
        assert!(intervals(&[(5, 4)]).is_empty());
        let i = intervals(&[(10, 20), (30, 40)]);
        assert!(i.contains(10) && i.contains(20) && i.contains(35));
        assert!(!i.contains(9) && !i.contains(25) && !i.contains(41));
        assert!(i.overlaps(0, 10) && i.overlaps(21, 30) && !i.overlaps(21, 29));
        assert!(i.covers(11, 19) && !i.covers(15, 25));
    }

    #[test]
    fn files_round_trip_and_damage_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read(dir.path()).expect("no file").is_empty());
        let mut tombstones = BlockTombstones::new();
        tombstones.insert(3, Arc::new(intervals(&[(-5, 10), (i64::MAX - 1, i64::MAX)])));
        tombstones.insert(7, Arc::new(intervals(&[(i64::MIN, 0)])));
        write(dir.path(), &tombstones).expect("write");
        assert_eq!(read(dir.path()).expect("read"), tombstones);
        let path = dir.path().join(TOMBSTONES_FILE);
        let mut bytes = std::fs::read(&path).expect("bytes");
        bytes[6] ^= 1;
        std::fs::write(&path, &bytes).expect("damage");
        let error = read(dir.path()).expect_err("damaged");
        assert!(error.to_string().contains("checksum mismatch"), "{error}");
        std::fs::write(&path, b"LTMB").expect("short");
        assert!(read(dir.path()).is_err());
    }

    proptest! {
        #[test]
        fn adding_keeps_ranges_sorted_and_apart(ranges in prop::collection::vec((-1000i64..1000, 0i64..100), 0..12)) {
            let mut all = Intervals::new();
            for &(a, len) in &ranges {
                all.add(a, a + len);
            }
            for w in all.ranges().windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
            for t in -1000..1100 {
                let expected = ranges.iter().any(|&(a, len)| a <= t && t <= a + len);
                prop_assert_eq!(all.contains(t), expected);
            }
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
            let mut framed = MAGIC.to_be_bytes().to_vec();
            framed.push(VERSION);
            framed.extend_from_slice(&bytes);
            let crc = crc32c::crc32c(&framed);
            framed.extend_from_slice(&crc.to_be_bytes());
            let _ = decode(&framed);
        }
    }
}
