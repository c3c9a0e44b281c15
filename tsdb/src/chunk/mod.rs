//! Gorilla-style compressed chunks of float samples (the XOR encoding of Prometheus's TSDB).
//!
//! A chunk is a big-endian `u16` sample count followed by a bit stream: timestamps as
//! delta-of-deltas, values XOR'd with the previous value. The layout is described in
//! `tsdb/docs/chunks.md`. [`XorAppender`] builds a chunk one sample at a time, keeping its bytes
//! decodable after every append; [`XorIter`] reads one back without allocating.

mod bstream;
mod decimal;
mod xor;

pub use decimal::{DecimalIter, encode_decimal};
pub use xor::{XorAppender, XorIter};

/// Encoding byte stored beside an XOR chunk in block files.
pub const ENCODING_XOR: u8 = 1;

/// Encoding byte of a decimal chunk (short-decimal values as integer mantissas).
pub const ENCODING_DECIMAL: u8 = 2;

/// Encodes strictly increasing samples for a block: the decimal encoding when every value is a
/// short decimal and that is smaller, XOR otherwise. Returns the encoding byte and the chunk.
pub fn encode_for_block(samples: &[(i64, f64)]) -> (u8, Vec<u8>) {
    let mut xor = XorAppender::new();
    for &(t, v) in samples {
        xor.append(t, v);
    }
    let xor = xor.into_bytes();
    match encode_decimal(samples) {
        Some(decimal) if decimal.len() < xor.len() => (ENCODING_DECIMAL, decimal),
        _ => (ENCODING_XOR, xor),
    }
}

/// Iterates over a chunk of either encoding; an unknown encoding yields nothing and reports an error.
#[derive(Debug, Clone)]
pub enum ChunkIter<'a> {
    /// An XOR chunk.
    Xor(XorIter<'a>),
    /// A decimal chunk.
    Decimal(DecimalIter<'a>),
    /// An encoding this version does not know.
    Unknown,
}

impl<'a> ChunkIter<'a> {
    /// Starts iterating over `chunk` stored with `encoding`.
    pub fn new(encoding: u8, chunk: &'a [u8]) -> Self {
        match encoding {
            ENCODING_XOR => ChunkIter::Xor(XorIter::new(chunk)),
            ENCODING_DECIMAL => ChunkIter::Decimal(DecimalIter::new(chunk)),
            _ => ChunkIter::Unknown,
        }
    }

    /// True if iteration stopped on malformed bytes or an unknown encoding.
    pub fn error(&self) -> bool {
        match self {
            ChunkIter::Xor(it) => it.error(),
            ChunkIter::Decimal(it) => it.error(),
            ChunkIter::Unknown => true,
        }
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = (i64, f64);

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        match self {
            ChunkIter::Xor(it) => it.next(),
            ChunkIter::Decimal(it) => it.next(),
            ChunkIter::Unknown => None,
        }
    }
}

/// Hard cap on the samples of one chunk; the head normally cuts chunks at 120.
pub const MAX_SAMPLES_PER_CHUNK: usize = 240;

/// The sample count a chunk's header claims (0 if `chunk` is shorter than the header).
pub fn num_samples(chunk: &[u8]) -> usize {
    chunk
        .first_chunk::<2>()
        .map_or(0, |h| usize::from(u16::from_be_bytes(*h)))
}

/// Decodes every sample of `chunk`; `None` if the bytes are malformed or hold fewer samples than the
/// header claims.
pub fn decode(chunk: &[u8]) -> Option<Vec<(i64, f64)>> {
    // Every sample after the first takes at least two bits, which bounds the allocation.
    let capacity = num_samples(chunk).min(1 + chunk.len().saturating_mul(4));
    let mut samples = Vec::with_capacity(capacity);
    let mut it = XorIter::new(chunk);
    samples.extend(&mut it);
    if it.error() { None } else { Some(samples) }
}
