//! Compressed chunks of float samples, in three encodings (layouts in `tsdb/docs/chunks.md`).
//!
//! Every chunk starts with a big-endian `u16` sample count ([`num_samples`]); the encoding byte is
//! stored beside the chunk, not in it.
//!
//! - **XOR** ([`ENCODING_XOR`]): Gorilla-style, as in Prometheus's TSDB. Timestamps as
//!   delta-of-deltas, values XOR'd with the previous value. The head's only encoding:
//!   [`XorAppender`] builds a chunk one sample at a time, keeping its bytes decodable after every
//!   append; [`XorIter`] reads one back.
//! - **Decimal** ([`ENCODING_DECIMAL`]): short-decimal values as integer mantissas, timestamps and
//!   mantissas as delta-of-deltas in prefix buckets ([`encode_decimal`], [`DecimalIter`]).
//! - **Packed** ([`ENCODING_PACKED`]): timestamp and value deltas bit-packed at one width per chunk
//!   with patched exceptions; values as decimal mantissas or as raw bit patterns
//!   ([`encode_packed`], [`PackedIter`]).
//!
//! Blocks store each chunk in the smallest of the three ([`encode_for_block`]) and read any of them
//! through [`ChunkIter`]. No iterator allocates, and none panics on malformed bytes: they stop and
//! report [`ChunkIter::error`].

mod bstream;
mod decimal;
mod packed;
mod xor;

pub use decimal::{DecimalIter, encode_decimal};
pub use packed::{PACKED_RAW_MODE, PackedIter, encode_packed};
pub use xor::{XorAppender, XorIter};

/// Encoding byte stored beside an XOR chunk in block files.
pub const ENCODING_XOR: u8 = 1;

/// Encoding byte of a decimal chunk (short-decimal values as integer mantissas).
pub const ENCODING_DECIMAL: u8 = 2;

/// Encoding byte of a packed chunk (bit-packed deltas with patched exceptions).
pub const ENCODING_PACKED: u8 = 3;

/// True for the encoding bytes this version reads.
pub fn is_known_encoding(encoding: u8) -> bool {
    matches!(encoding, ENCODING_XOR | ENCODING_DECIMAL | ENCODING_PACKED)
}

/// Encodes strictly increasing samples for a block in the smallest of the three encodings. On equal
/// sizes packed wins (its decoder is the simplest), then XOR over decimal. Returns the encoding byte
/// and the chunk.
pub fn encode_for_block(samples: &[(i64, f64)]) -> (u8, Vec<u8>) {
    let mut xor = XorAppender::new();
    for &(t, v) in samples {
        xor.append(t, v);
    }
    let mut best = (ENCODING_XOR, xor.into_bytes());
    let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let decimal_form = decimal::decimal_form(&values);
    let decimal_form = decimal_form.as_ref().map(|(e, m)| (*e, &m[..]));
    if let Some(decimal) = decimal_form.and_then(|(e, m)| decimal::encode_mantissas(samples, e, m))
        && decimal.len() < best.1.len()
    {
        best = (ENCODING_DECIMAL, decimal);
    }
    if let Some(packed) = packed::encode_with(samples, decimal_form)
        && packed.len() <= best.1.len()
    {
        best = (ENCODING_PACKED, packed);
    }
    best
}

/// Iterates over a chunk of any encoding; an unknown encoding yields nothing and reports an error.
#[derive(Debug, Clone)]
pub enum ChunkIter<'a> {
    /// An XOR chunk.
    Xor(XorIter<'a>),
    /// A decimal chunk.
    Decimal(DecimalIter<'a>),
    /// A packed chunk.
    Packed(PackedIter<'a>),
    /// An encoding this version does not know.
    Unknown,
}

impl<'a> ChunkIter<'a> {
    /// Starts iterating over `chunk` stored with `encoding`.
    pub fn new(encoding: u8, chunk: &'a [u8]) -> Self {
        match encoding {
            ENCODING_XOR => ChunkIter::Xor(XorIter::new(chunk)),
            ENCODING_DECIMAL => ChunkIter::Decimal(DecimalIter::new(chunk)),
            ENCODING_PACKED => ChunkIter::Packed(PackedIter::new(chunk)),
            _ => ChunkIter::Unknown,
        }
    }

    /// Appends every remaining sample to `out`: the same samples as iterating, decoded in one
    /// loop per encoding rather than through this enum sample by sample.
    pub fn decode_into(self, out: &mut Vec<(i64, f64)>) {
        match self {
            ChunkIter::Xor(it) => out.extend(it),
            ChunkIter::Decimal(it) => out.extend(it),
            ChunkIter::Packed(it) => it.decode_into(out),
            ChunkIter::Unknown => {}
        }
    }

    /// True if iteration stopped on malformed bytes or an unknown encoding.
    pub fn error(&self) -> bool {
        match self {
            ChunkIter::Xor(it) => it.error(),
            ChunkIter::Decimal(it) => it.error(),
            ChunkIter::Packed(it) => it.error(),
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
            ChunkIter::Packed(it) => it.next(),
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

/// Decodes every sample of an XOR `chunk`; `None` if the bytes are malformed or hold fewer samples than the
/// header claims.
pub fn decode(chunk: &[u8]) -> Option<Vec<(i64, f64)>> {
    // Every sample after the first takes at least two bits, which bounds the allocation.
    let capacity = num_samples(chunk).min(1 + chunk.len().saturating_mul(4));
    let mut samples = Vec::with_capacity(capacity);
    let mut it = XorIter::new(chunk);
    samples.extend(&mut it);
    if it.error() { None } else { Some(samples) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: a small deterministic generator for test data.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Roughly standard normal: the sum of 12 uniforms minus 6.
        fn normal(&mut self) -> f64 {
            (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
        }

        /// Poisson with the given mean (Knuth's product of uniforms; fine for means up to ~500).
        fn poisson(&mut self, mean: f64) -> u64 {
            let limit = (-mean).exp();
            let (mut k, mut p) = (0, self.uniform());
            while p > limit {
                k += 1;
                p *= self.uniform();
            }
            k
        }
    }

    const CHUNKS: usize = 40;
    const PER_CHUNK: i64 = 120;

    /// 40 chunks of 120 samples on a 15 s grid, values from `next`.
    fn series(mut next: impl FnMut() -> f64) -> Vec<Vec<(i64, f64)>> {
        let mut t = 1_700_000_000_000;
        (0..CHUNKS)
            .map(|_| {
                (0..PER_CHUNK)
                    .map(|_| {
                        t += 15_000;
                        (t, next())
                    })
                    .collect()
            })
            .collect()
    }

    /// Bytes per sample of XOR, decimal (XOR where decimal does not apply) and packed, checking that
    /// every form decodes back bit-exact.
    fn sizes(name: &str, chunks: &[Vec<(i64, f64)>]) -> [f64; 3] {
        let mut total = [0usize; 3];
        for samples in chunks {
            let mut xor = XorAppender::new();
            samples.iter().for_each(|&(t, v)| xor.append(t, v));
            let xor = xor.into_bytes();
            let decimal = encode_decimal(samples);
            let packed = encode_packed(samples).expect("encodable");
            let forms = [
                (ENCODING_XOR, &xor),
                (ENCODING_DECIMAL, decimal.as_ref().unwrap_or(&xor)),
                (ENCODING_PACKED, &packed),
            ];
            for (i, (encoding, bytes)) in forms.into_iter().enumerate() {
                let encoding = if i == 1 && decimal.is_none() {
                    ENCODING_XOR
                } else {
                    encoding
                };
                let mut it = ChunkIter::new(encoding, bytes);
                let got: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
                let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
                assert!(
                    !it.error() && got == want,
                    "{name}: encoding {encoding} does not round-trip"
                );
                total[i] += bytes.len();
            }
            // Blocks take the smallest, packed on a tie.
            let smallest = [Some(xor.len()), decimal.as_ref().map(Vec::len), Some(packed.len())]
                .into_iter()
                .flatten()
                .min();
            let (encoding, bytes) = encode_for_block(samples);
            assert_eq!(Some(bytes.len()), smallest);
            assert_eq!(encoding == ENCODING_PACKED, Some(packed.len()) == smallest);
        }
        let samples = (chunks.len() * PER_CHUNK as usize) as f64;
        let per_sample = total.map(|b| b as f64 / samples);
        eprintln!(
            "{name:<24} B/sample: xor {:.3}  decimal {:.3}  packed {:.3}",
            per_sample[0], per_sample[1], per_sample[2]
        );
        per_sample
    }

    #[test]
    fn packed_beats_xor_and_decimal_on_typical_series() {
        let mut rng = Rng(0x5eed);
        let mut counter = 0.0;
        let counters = series(|| {
            counter += rng.poisson(50.0) as f64;
            counter
        });
        let mut rng = Rng(0x6a06e);
        let mut x = 1234.5678;
        let full = series(|| {
            x += 0.01 * x * rng.normal();
            x
        });
        let mut rng = Rng(0xdec);
        let mut y = 50.0f64;
        let rounded = series(|| {
            y += 0.5 * rng.normal();
            (y * 100.0).round() / 100.0
        });
        let [xor, decimal, packed] = sizes("counter, Poisson 50", &counters);
        assert!(
            packed < xor && packed < decimal,
            "counter: {packed} against {xor} and {decimal}"
        );
        let [xor, _, packed] = sizes("gauge, full precision", &full);
        assert!(packed < xor, "full-precision gauge: {packed} against XOR {xor}");
        let [xor, decimal, packed] = sizes("gauge, two decimals", &rounded);
        assert!(
            packed < xor && packed < decimal,
            "two-decimal gauge: {packed} against {xor} and {decimal}"
        );
    }
}
