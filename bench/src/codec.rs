//! Phase f: what would a "decimal" codec for cold blocks save, and at what decode cost?
//!
//! Every chunk of the compacted blocks is decoded and re-encoded with the candidate codec of
//! [`decimal`] (decimal mantissas with delta-of-delta buckets when all values are short decimals,
//! Gorilla XOR values otherwise). Each re-encoded chunk is decoded again and compared bit for bit
//! before anything is counted. Sizes are chunk data only (no framing), per series [`Kind`]; decode
//! throughput of both codecs is timed per kind over all its chunks, best of [`DECODE_ROUNDS`].

pub mod bits;
pub mod decimal;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tsdb::block::{Block, ChunkBytes};
use tsdb::chunk::{ENCODING_XOR, XorIter};

use crate::Result;
use crate::dataset::Kind;

/// Timed decoding passes per codec and kind; the fastest counts.
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
    /// Chunk bytes as stored (XOR).
    pub xor_bytes: u64,
    /// Chunk bytes re-encoded with the candidate.
    pub candidate_bytes: u64,
    /// `xor_bytes / samples`.
    pub xor_bytes_per_sample: f64,
    /// `candidate_bytes / samples`.
    pub candidate_bytes_per_sample: f64,
    /// Candidate bytes per sample spent on the count and mode header.
    pub candidate_header_bytes_per_sample: f64,
    /// Candidate bytes per sample spent on timestamps.
    pub candidate_time_bytes_per_sample: f64,
    /// Candidate bytes per sample spent on values (padding excluded).
    pub candidate_value_bytes_per_sample: f64,
    /// Chunks whose values fell back to XOR.
    pub fallback_chunks: u64,
    /// `fallback_chunks / chunks`.
    pub fallback_share: f64,
    /// Chunks in decimal mode per exponent `0..=12`.
    pub exponents: Vec<u64>,
    /// Samples decoded per second from the XOR chunks (`XorIter` into a reused vector).
    pub xor_decode_samples_per_second: f64,
    /// Samples decoded per second from the candidate chunks (into a reused vector).
    pub candidate_decode_samples_per_second: f64,
}

/// Phase f figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CodecFigures {
    /// Per kind, in [`Kind::ALL`] order (kinds without chunks left out).
    pub by_kind: Vec<CodecKindFigures>,
    /// Over all chunks.
    pub total: CodecKindFigures,
}

/// The chunks of one kind: XOR bytes, candidate bytes and running figures.
#[derive(Default)]
struct KindChunks {
    xor: Vec<ChunkBytes>,
    candidate: Vec<u8>,
    candidate_ranges: Vec<Range<usize>>,
    figures: CodecKindFigures,
    bits: (u64, u64, u64),
    xor_time: Duration,
    candidate_time: Duration,
}

/// Re-encodes every chunk of the blocks in `block_dirs` and measures both codecs.
pub fn measure_codec(block_dirs: &[&Path]) -> Result<CodecFigures> {
    let mut kinds: BTreeMap<Kind, KindChunks> = BTreeMap::new();
    let mut samples = Vec::with_capacity(tsdb::chunk::MAX_SAMPLES_PER_CHUNK);
    let mut check = Vec::with_capacity(tsdb::chunk::MAX_SAMPLES_PER_CHUNK);
    for dir in block_dirs {
        let block = Block::open(dir)?;
        for id in 0..block.num_series() {
            let (labels, metas) = block.series(id)?;
            let name = labels.metric_name().unwrap_or("");
            let kind = Kind::of_metric(name).ok_or_else(|| format!("series {labels} is not from the dataset"))?;
            let entry = kinds.entry(kind).or_default();
            for meta in &metas {
                let bytes = block.chunk(meta)?;
                if bytes.encoding() != ENCODING_XOR {
                    return Err(format!("series {labels}: chunk encoding {} is not xor", bytes.encoding()).into());
                }
                samples.clear();
                let mut it = XorIter::new(&bytes);
                samples.extend(&mut it);
                if it.error() {
                    return Err(format!("series {labels}: malformed xor chunk in {}", dir.display()).into());
                }
                let encoded = decimal::encode(&samples)?;
                check.clear();
                decimal::decode_into(&encoded.bytes, &mut check)?;
                if !same_bits(&samples, &check) {
                    return Err(format!("series {labels}: candidate codec did not round-trip a chunk").into());
                }
                add_chunk(entry, bytes, &encoded, samples.len());
            }
        }
    }
    let mut total = CodecKindFigures {
        exponents: vec![0; usize::from(decimal::MAX_EXPONENT) + 1],
        ..CodecKindFigures::default()
    };
    let mut total_bits = (0, 0, 0);
    let (mut xor_time, mut candidate_time) = (Duration::ZERO, Duration::ZERO);
    let mut by_kind = Vec::new();
    for (kind, mut chunks) in kinds {
        time_decoding(&mut chunks)?;
        chunks.figures.kind = Some(kind);
        let f = &chunks.figures;
        total.chunks += f.chunks;
        total.samples += f.samples;
        total.xor_bytes += f.xor_bytes;
        total.candidate_bytes += f.candidate_bytes;
        total.fallback_chunks += f.fallback_chunks;
        for (sum, n) in total.exponents.iter_mut().zip(&f.exponents) {
            *sum += n;
        }
        total_bits = (
            total_bits.0 + chunks.bits.0,
            total_bits.1 + chunks.bits.1,
            total_bits.2 + chunks.bits.2,
        );
        xor_time += chunks.xor_time;
        candidate_time += chunks.candidate_time;
        finish(&mut chunks.figures, chunks.bits, chunks.xor_time, chunks.candidate_time);
        by_kind.push(chunks.figures);
    }
    finish(&mut total, total_bits, xor_time, candidate_time);
    Ok(CodecFigures { by_kind, total })
}

/// Bit-exact equality of two sample lists.
fn same_bits(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
}

/// Records one chunk of `samples` samples and its candidate encoding.
fn add_chunk(entry: &mut KindChunks, xor: ChunkBytes, encoded: &decimal::Encoded, samples: usize) {
    let f = &mut entry.figures;
    if f.exponents.is_empty() {
        f.exponents = vec![0; usize::from(decimal::MAX_EXPONENT) + 1];
    }
    f.chunks += 1;
    f.samples += samples as u64;
    f.xor_bytes += xor.len() as u64;
    f.candidate_bytes += encoded.bytes.len() as u64;
    match encoded.exponent {
        Some(e) => {
            if let Some(n) = f.exponents.get_mut(usize::from(e)) {
                *n += 1;
            }
        }
        None => f.fallback_chunks += 1,
    }
    entry.bits.0 += encoded.header_bits;
    entry.bits.1 += encoded.time_bits;
    entry.bits.2 += encoded.value_bits;
    let start = entry.candidate.len();
    entry.candidate.extend_from_slice(&encoded.bytes);
    entry.candidate_ranges.push(start..entry.candidate.len());
    entry.xor.push(xor);
}

/// Decodes every chunk of `chunks` with both codecs, [`DECODE_ROUNDS`] times, keeping the best times.
fn time_decoding(chunks: &mut KindChunks) -> Result<()> {
    let mut buffer: Vec<(i64, f64)> = Vec::with_capacity(tsdb::chunk::MAX_SAMPLES_PER_CHUNK);
    let (mut best_xor, mut best_candidate) = (Duration::MAX, Duration::MAX);
    for _ in 0..DECODE_ROUNDS {
        let started = Instant::now();
        for chunk in &chunks.xor {
            buffer.clear();
            buffer.extend(XorIter::new(black_box(&chunk[..])));
            black_box(&buffer);
        }
        best_xor = best_xor.min(started.elapsed());
        let started = Instant::now();
        for range in &chunks.candidate_ranges {
            buffer.clear();
            let bytes = chunks
                .candidate
                .get(range.clone())
                .ok_or("candidate chunk range out of bounds")?;
            decimal::decode_into(black_box(bytes), &mut buffer)?;
            black_box(&buffer);
        }
        best_candidate = best_candidate.min(started.elapsed());
    }
    chunks.xor_time = best_xor;
    chunks.candidate_time = best_candidate;
    Ok(())
}

/// Fills the derived figures of `f`.
fn finish(f: &mut CodecKindFigures, bits: (u64, u64, u64), xor_time: Duration, candidate_time: Duration) {
    let samples = f.samples.max(1) as f64;
    f.xor_bytes_per_sample = f.xor_bytes as f64 / samples;
    f.candidate_bytes_per_sample = f.candidate_bytes as f64 / samples;
    f.candidate_header_bytes_per_sample = bits.0 as f64 / 8.0 / samples;
    f.candidate_time_bytes_per_sample = bits.1 as f64 / 8.0 / samples;
    f.candidate_value_bytes_per_sample = bits.2 as f64 / 8.0 / samples;
    f.fallback_share = f.fallback_chunks as f64 / f.chunks.max(1) as f64;
    let rate = |d: Duration| f.samples as f64 / d.as_secs_f64().max(1e-9);
    f.xor_decode_samples_per_second = rate(xor_time);
    f.candidate_decode_samples_per_second = rate(candidate_time);
}

impl CodecKindFigures {
    /// The most used exponent in decimal mode and its share of this kind's chunks.
    pub fn main_exponent(&self) -> Option<(usize, f64)> {
        let (e, &n) = self
            .exponents
            .iter()
            .enumerate()
            .max_by_key(|&(e, n)| (*n, std::cmp::Reverse(e)))?;
        (n > 0).then(|| (e, n as f64 / self.chunks.max(1) as f64))
    }
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
            candidate_bytes: 300,
            fallback_chunks: 1,
            exponents: vec![0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..CodecKindFigures::default()
        };
        finish(
            &mut f,
            (80, 800, 1600),
            Duration::from_millis(2),
            Duration::from_millis(1),
        );
        assert_eq!(f.xor_bytes_per_sample, 2.5);
        assert_eq!(f.candidate_bytes_per_sample, 0.75);
        assert_eq!(f.candidate_header_bytes_per_sample, 0.025);
        assert_eq!(f.candidate_time_bytes_per_sample, 0.25);
        assert_eq!(f.candidate_value_bytes_per_sample, 0.5);
        assert_eq!(f.fallback_share, 0.25);
        assert_eq!(f.xor_decode_samples_per_second, 200_000.0);
        assert_eq!(f.candidate_decode_samples_per_second, 400_000.0);
        assert_eq!(f.main_exponent(), Some((2, 0.75)));
        assert!(same_bits(&[(1, -0.0)], &[(1, -0.0)]));
        assert!(!same_bits(&[(1, -0.0)], &[(1, 0.0)]));
    }
}
