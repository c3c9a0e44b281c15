//! Phase f: what the block encoding choice saves against XOR-only chunks, and at what decode cost.
//!
//! Blocks store each chunk in the smallest of the XOR, decimal and packed encodings
//! (`tsdb::chunk::encode_for_block`). Every chunk of the compacted blocks is decoded, re-encoded as
//! XOR, and both forms are decoded again and compared bit for bit before anything is counted. Sizes
//! are chunk data only (no framing), per series [`Kind`]; decode throughput of both forms is timed per
//! kind over all its chunks, best of [`DECODE_ROUNDS`].

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tsdb::block::Block;
use tsdb::chunk::{ChunkIter, ENCODING_DECIMAL, ENCODING_PACKED, XorAppender, XorIter};

use crate::Result;
use crate::dataset::Kind;

/// Timed decoding passes per form and kind; the fastest counts.
pub const DECODE_ROUNDS: usize = 3;

/// Figures of one kind (or of all chunks).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CodecKindFigures {
    /// The kind; `None` for the total over all kinds.
    pub kind: Option<Kind>,
    /// Chunks.
    pub chunks: u64,
    /// Samples.
    pub samples: u64,
    /// Chunk bytes if every chunk were XOR.
    pub xor_bytes: u64,
    /// Chunk bytes as stored.
    pub stored_bytes: u64,
    /// `xor_bytes / samples`.
    pub xor_bytes_per_sample: f64,
    /// `stored_bytes / samples`.
    pub stored_bytes_per_sample: f64,
    /// Chunks stored in the decimal encoding.
    pub decimal_chunks: u64,
    /// `decimal_chunks / chunks`.
    pub decimal_share: f64,
    /// Chunks stored in the packed encoding.
    pub packed_chunks: u64,
    /// `packed_chunks / chunks`.
    pub packed_share: f64,
    /// Samples decoded per second from the XOR forms.
    pub xor_decode_samples_per_second: f64,
    /// Samples decoded per second from the stored forms.
    pub stored_decode_samples_per_second: f64,
}

/// Figures per kind and in total.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CodecFigures {
    /// One entry per kind present, in [`Kind`] order.
    pub by_kind: Vec<CodecKindFigures>,
    /// All chunks.
    pub total: CodecKindFigures,
}

#[derive(Default)]
struct KindChunks {
    figures: CodecKindFigures,
    /// (encoding, bytes) as stored.
    stored: Vec<(u8, Vec<u8>)>,
    /// The same chunks as XOR.
    xor: Vec<Vec<u8>>,
    xor_time: Duration,
    stored_time: Duration,
}

/// Measures the chunks of the blocks in `block_dirs`.
pub fn measure_codec(block_dirs: &[&Path]) -> Result<CodecFigures> {
    let mut kinds: BTreeMap<Kind, KindChunks> = BTreeMap::new();
    for dir in block_dirs {
        let block = Block::open(dir)?;
        for id in 0..block.num_series() {
            let (labels, metas) = block.series(id)?;
            let name = labels.metric_name().unwrap_or("");
            let kind = Kind::of_metric(name).ok_or_else(|| format!("series {labels} is not from the dataset"))?;
            let entry = kinds.entry(kind).or_default();
            for meta in &metas {
                let bytes = block.chunk(meta)?;
                let mut it = ChunkIter::new(bytes.encoding(), &bytes);
                let samples: Vec<(i64, f64)> = it.by_ref().collect();
                if it.error() {
                    return Err(format!("series {labels}: malformed chunk in {}", dir.display()).into());
                }
                let mut xor = XorAppender::new();
                for &(t, v) in &samples {
                    xor.append(t, v);
                }
                let xor = xor.into_bytes();
                let again: Vec<(i64, f64)> = XorIter::new(&xor).collect();
                if !same_bits(&samples, &again) {
                    return Err(format!("series {labels}: xor re-encoding did not round-trip").into());
                }
                let f = &mut entry.figures;
                f.chunks += 1;
                f.samples += samples.len() as u64;
                f.xor_bytes += xor.len() as u64;
                f.stored_bytes += bytes.len() as u64;
                f.decimal_chunks += u64::from(bytes.encoding() == ENCODING_DECIMAL);
                f.packed_chunks += u64::from(bytes.encoding() == ENCODING_PACKED);
                entry.stored.push((bytes.encoding(), bytes.to_vec()));
                entry.xor.push(xor);
            }
        }
    }
    let mut total = CodecKindFigures::default();
    let (mut xor_time, mut stored_time) = (Duration::ZERO, Duration::ZERO);
    let mut by_kind = Vec::new();
    for (kind, mut chunks) in kinds {
        time_decoding(&mut chunks);
        chunks.figures.kind = Some(kind);
        let f = &chunks.figures;
        total.chunks += f.chunks;
        total.samples += f.samples;
        total.xor_bytes += f.xor_bytes;
        total.stored_bytes += f.stored_bytes;
        total.decimal_chunks += f.decimal_chunks;
        total.packed_chunks += f.packed_chunks;
        xor_time += chunks.xor_time;
        stored_time += chunks.stored_time;
        finish(&mut chunks.figures, chunks.xor_time, chunks.stored_time);
        by_kind.push(chunks.figures);
    }
    finish(&mut total, xor_time, stored_time);
    Ok(CodecFigures { by_kind, total })
}

/// Bit-exact equality of two sample lists.
fn same_bits(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
}

/// Decodes every chunk in both forms, [`DECODE_ROUNDS`] times, keeping the best times.
fn time_decoding(chunks: &mut KindChunks) {
    let mut buffer: Vec<(i64, f64)> = Vec::with_capacity(tsdb::chunk::MAX_SAMPLES_PER_CHUNK);
    let (mut best_xor, mut best_stored) = (Duration::MAX, Duration::MAX);
    for _ in 0..DECODE_ROUNDS {
        let started = Instant::now();
        for chunk in &chunks.xor {
            buffer.clear();
            buffer.extend(XorIter::new(black_box(chunk)));
            black_box(&buffer);
        }
        best_xor = best_xor.min(started.elapsed());
        let started = Instant::now();
        for (encoding, chunk) in &chunks.stored {
            buffer.clear();
            buffer.extend(ChunkIter::new(*encoding, black_box(chunk)));
            black_box(&buffer);
        }
        best_stored = best_stored.min(started.elapsed());
    }
    chunks.xor_time = best_xor;
    chunks.stored_time = best_stored;
}

/// Fills the derived figures of `f`.
fn finish(f: &mut CodecKindFigures, xor_time: Duration, stored_time: Duration) {
    let samples = f.samples.max(1) as f64;
    f.xor_bytes_per_sample = f.xor_bytes as f64 / samples;
    f.stored_bytes_per_sample = f.stored_bytes as f64 / samples;
    f.decimal_share = f.decimal_chunks as f64 / f.chunks.max(1) as f64;
    f.packed_share = f.packed_chunks as f64 / f.chunks.max(1) as f64;
    let rate = |d: Duration| f.samples as f64 / d.as_secs_f64().max(1e-9);
    f.xor_decode_samples_per_second = rate(xor_time);
    f.stored_decode_samples_per_second = rate(stored_time);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_derives_rates_and_shares() {
        let mut f = CodecKindFigures {
            chunks: 4,
            samples: 400,
            xor_bytes: 1000,
            stored_bytes: 300,
            decimal_chunks: 3,
            packed_chunks: 1,
            ..CodecKindFigures::default()
        };
        finish(&mut f, Duration::from_millis(2), Duration::from_millis(1));
        assert_eq!(f.xor_bytes_per_sample, 2.5);
        assert_eq!(f.stored_bytes_per_sample, 0.75);
        assert_eq!(f.decimal_share, 0.75);
        assert_eq!(f.packed_share, 0.25);
        assert_eq!(f.xor_decode_samples_per_second, 200_000.0);
        assert_eq!(f.stored_decode_samples_per_second, 400_000.0);
        assert!(same_bits(&[(1, -0.0)], &[(1, -0.0)]));
        assert!(!same_bits(&[(1, -0.0)], &[(1, 0.0)]));
    }
}
