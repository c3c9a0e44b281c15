//! Gorilla-style compressed chunks of float samples (the XOR encoding of Prometheus's TSDB).
//!
//! A chunk is a big-endian `u16` sample count followed by a bit stream: timestamps as
//! delta-of-deltas, values XOR'd with the previous value. The layout is described in
//! `tsdb/docs/chunks.md`. [`XorAppender`] builds a chunk one sample at a time, keeping its bytes
//! decodable after every append; [`XorIter`] reads one back without allocating.

mod bstream;
mod xor;

pub use xor::{XorAppender, XorIter};

/// Encoding byte stored beside an XOR chunk in block files.
pub const ENCODING_XOR: u8 = 1;

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
