//! Phase e: would DEFLATE on top of the XOR chunks pay for cold blocks?
//!
//! Each block's `chunks` file is compressed (raw DEFLATE, `flate2`) at several levels, once whole and
//! once in independent groups of consecutive chunks of about [`GROUP_BYTES`] — the unit a block reader
//! could decompress on demand. Decompression is timed to compare with XOR decoding.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::Serialize;

use crate::Result;

/// Target size of an independently compressed group of chunks.
pub const GROUP_BYTES: usize = 64 * 1024;
/// Size of the chunks file header (magic, version, padding), see `tsdb/docs/format.md`.
const CHUNKS_HEADER_LEN: usize = 8;
/// Framing around a chunk's data besides its length varint: encoding byte and CRC32C.
const CHUNK_FRAMING: usize = 1 + 4;

/// Figures of one level and grouping.
#[derive(Debug, Clone, Serialize)]
pub struct DeflateFigures {
    /// Compression level.
    pub level: u32,
    /// `"whole file"` or `"64 KiB groups"`.
    pub mode: String,
    /// Number of independently compressed pieces.
    pub pieces: u64,
    /// Bytes in.
    pub input_bytes: u64,
    /// Bytes out.
    pub output_bytes: u64,
    /// `output_bytes / input_bytes`.
    pub ratio: f64,
    /// `output_bytes / samples`.
    pub bytes_per_sample: f64,
    /// Input MB (10^6 bytes) compressed per second.
    pub compress_mb_per_second: f64,
    /// Output MB restored per second.
    pub decompress_mb_per_second: f64,
    /// Samples' worth of chunk data restored per second.
    pub decompress_samples_per_second: f64,
}

/// Compresses the chunks files of `block_dirs` (which hold `samples` samples together).
///
/// To bound the run time, at most `max_bytes` are used: each file contributes a prefix of whole
/// groups of about `max_bytes / files` bytes, and `samples` is scaled by the share of bytes used.
pub fn deflate_chunk_files(
    block_dirs: &[&Path],
    samples: u64,
    levels: &[u32],
    max_bytes: u64,
) -> Result<Vec<DeflateFigures>> {
    let mut files = Vec::new();
    let (mut total, mut used) = (0u64, 0u64);
    let per_file = max_bytes / block_dirs.len().max(1) as u64;
    for dir in block_dirs {
        let path = dir.join(tsdb::block::CHUNKS_FILE);
        let mut data = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut groups = group_bounds(&data, GROUP_BYTES).map_err(|e| format!("{}: {e}", path.display()))?;
        total += data.len() as u64;
        if data.len() as u64 > per_file {
            let keep = groups
                .iter()
                .take_while(|g| g.end as u64 <= per_file.max(GROUP_BYTES as u64))
                .count();
            groups.truncate(keep.max(1));
            data.truncate(groups.last().map_or(CHUNKS_HEADER_LEN, |g| g.end));
        }
        used += data.len() as u64;
        files.push((data, groups));
    }
    let samples = (samples as f64 * used as f64 / total.max(1) as f64).round() as u64;
    let mut out = Vec::new();
    for &level in levels {
        let whole: Vec<&[u8]> = files.iter().map(|(data, _)| &data[..]).collect();
        out.push(measure(level, "whole file", &whole, samples)?);
        let grouped: Vec<&[u8]> = files
            .iter()
            .flat_map(|(data, groups)| groups.iter().map(move |r| &data[r.clone()]))
            .collect();
        out.push(measure(level, "64 KiB groups", &grouped, samples)?);
    }
    Ok(out)
}

/// Compresses and decompresses every piece independently.
fn measure(level: u32, mode: &str, pieces: &[&[u8]], samples: u64) -> Result<DeflateFigures> {
    let input_bytes: u64 = pieces.iter().map(|p| p.len() as u64).sum();
    let started = Instant::now();
    let mut compressed = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let mut encoder = DeflateEncoder::new(Vec::with_capacity(piece.len() / 2), Compression::new(level));
        encoder.write_all(piece).map_err(|e| format!("deflate failed: {e}"))?;
        compressed.push(encoder.finish().map_err(|e| format!("deflate failed: {e}"))?);
    }
    let compress = started.elapsed();
    let output_bytes: u64 = compressed.iter().map(|c| c.len() as u64).sum();
    let decompress = time_decompression(&compressed, pieces)?;
    let mb = |bytes: u64, d: Duration| bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9);
    Ok(DeflateFigures {
        level,
        mode: mode.to_string(),
        pieces: pieces.len() as u64,
        input_bytes,
        output_bytes,
        ratio: output_bytes as f64 / input_bytes.max(1) as f64,
        bytes_per_sample: output_bytes as f64 / samples.max(1) as f64,
        compress_mb_per_second: mb(input_bytes, compress),
        decompress_mb_per_second: mb(input_bytes, decompress),
        decompress_samples_per_second: samples as f64 / decompress.as_secs_f64().max(1e-9),
    })
}

/// Decompresses every piece into a reused buffer, checks it against the original, returns the time
/// spent decompressing (the check excluded).
fn time_decompression(compressed: &[Vec<u8>], originals: &[&[u8]]) -> Result<Duration> {
    let mut buffer = Vec::new();
    let mut total = Duration::ZERO;
    for (piece, original) in compressed.iter().zip(originals) {
        buffer.clear();
        buffer.reserve(original.len());
        let started = Instant::now();
        DeflateDecoder::new(&piece[..])
            .read_to_end(&mut buffer)
            .map_err(|e| format!("inflate failed: {e}"))?;
        total += started.elapsed();
        if buffer != *original {
            return Err("inflate returned different bytes".into());
        }
    }
    Ok(total)
}

/// Splits a chunks file after its header into ranges of whole chunks of about `target` bytes (a range
/// is closed once it reaches `target`). Errors on a malformed file.
pub fn group_bounds(data: &[u8], target: usize) -> std::result::Result<Vec<std::ops::Range<usize>>, String> {
    if data.len() < CHUNKS_HEADER_LEN {
        return Err(format!(
            "chunks file of {} bytes is shorter than its header",
            data.len()
        ));
    }
    let mut groups = Vec::new();
    let (mut pos, mut start) = (CHUNKS_HEADER_LEN, CHUNKS_HEADER_LEN);
    while pos < data.len() {
        let (len, varint_len) = uvarint(&data[pos..]).ok_or_else(|| format!("bad chunk length at byte {pos}"))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(varint_len + CHUNK_FRAMING)?.checked_add(len))
            .filter(|&end| end <= data.len())
            .ok_or_else(|| format!("chunk at byte {pos} runs past the end of the file"))?;
        pos = end;
        if pos - start >= target {
            groups.push(start..pos);
            start = pos;
        }
    }
    if start < pos {
        groups.push(start..pos);
    }
    Ok(groups)
}

/// An unsigned LEB128 varint and its length in bytes.
fn uvarint(data: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunks file with `n` chunks of `len` data bytes each.
    fn file(n: usize, len: usize) -> Vec<u8> {
        let mut data = vec![0x4c, 0x50, 0x43, 0x48, 1, 0, 0, 0];
        for i in 0..n {
            data.push(len as u8);
            data.push(1);
            data.extend(std::iter::repeat_n(i as u8, len));
            data.extend([0; 4]);
        }
        data
    }

    #[test]
    fn groups_whole_chunks() {
        let data = file(10, 100); // 106 bytes per chunk
        let groups = group_bounds(&data, 300).expect("valid file");
        assert_eq!(groups, vec![8..326, 326..644, 644..962, 962..1068]);
        assert_eq!(group_bounds(&data[..500], 300).ok(), None);
        assert_eq!(group_bounds(&data[..8], 300), Ok(vec![]));
    }

    #[test]
    fn compresses_and_restores() {
        let data = file(200, 100);
        let pieces: Vec<&[u8]> = vec![&data[..]];
        let figures = measure(6, "whole file", &pieces, 1000).expect("round trip");
        assert!(figures.ratio < 0.2, "{figures:?}");
        assert_eq!(figures.input_bytes, data.len() as u64);
    }
}
