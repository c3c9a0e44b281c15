//! The decimal chunk: for chunks whose values are all short decimals (counters, buckets, gauges
//! printed with a few digits), values are stored as integer mantissas `m` with one exponent `e`
//! (`v = m / 10^e`, bit-exact), and the mantissas as delta-of-deltas in variable-length buckets.
//! Blocks use it where it is smaller than XOR and the packed chunk (which has the same decimal form as
//! one of its modes, and is usually smaller); old blocks keep it. The head keeps appending XOR chunks.
//!
//! Layout (`tsdb/docs/chunks.md`): a big-endian `u16` sample count, one byte `e` (0..=12), then a
//! bit stream: `t0` and `m0` as zigzag varints, `t1 - t0` as a zigzag varint, then for each later
//! sample the timestamp delta-of-delta in buckets `0` | `10`+8 | `110`+14 | `1110`+20 | `1111`+64 bits;
//! for every sample after the first, the mantissa delta-of-delta in buckets `0` | `10`+7 | `110`+15 |
//! `1110`+31 | `1111`+64 bits (zigzag values). All integer arithmetic wraps.

use super::MAX_SAMPLES_PER_CHUNK;
use super::bstream::{BitReader, BitWriter};

/// Largest decimal exponent tried.
pub const MAX_EXPONENT: u8 = 12;
/// `10^e` for `e` in `0..=MAX_EXPONENT`, all exact in `f64`.
pub(super) const POW10: [f64; 13] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];
/// Mantissas stay below 2^53 in magnitude, where every integer is exact in `f64`.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0;
/// Payload widths of the timestamp delta-of-delta buckets `10`, `110`, `1110`, `1111`.
const TIME_BUCKETS: [u32; 4] = [8, 14, 20, 64];
/// Payload widths of the mantissa delta-of-delta buckets `10`, `110`, `1110`, `1111`.
const VALUE_BUCKETS: [u32; 4] = [7, 15, 31, 64];
/// Bytes before the bit stream: count and exponent.
const HEADER_LEN: usize = 3;

#[inline(always)]
fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

#[inline(always)]
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// The integer `m` with `m / 10^e == v` bit for bit and `|m| < 2^53`, if any.
fn mantissa(v: f64, e: u8) -> Option<i64> {
    let scale = POW10[usize::from(e)];
    let scaled = v * scale;
    if !scaled.is_finite() || scaled.abs() >= MAX_MANTISSA {
        return None;
    }
    let m = scaled.round() as i64;
    // The product is rounded once, so the mantissa may be one off for the largest magnitudes.
    [m, m.wrapping_sub(1), m.wrapping_add(1)]
        .into_iter()
        .find(|&m| (m.unsigned_abs() as f64) < MAX_MANTISSA && ((m as f64) / scale).to_bits() == v.to_bits())
}

/// One exponent and the mantissas of all `values`, if every value is a short decimal (the
/// smallest exponent that works for all of them). Also used by the packed chunk's decimal mode.
pub(super) fn decimal_form(values: &[f64]) -> Option<(u8, Vec<i64>)> {
    let mut exponent = 0;
    for &v in values {
        if !v.is_finite() {
            return None;
        }
        exponent = exponent.max((exponent..=MAX_EXPONENT).find(|&e| mantissa(v, e).is_some())?);
    }
    // A larger exponent represents the same values unless a mantissa reaches 2^53: check all again.
    let mantissas = values
        .iter()
        .map(|&v| mantissa(v, exponent))
        .collect::<Option<Vec<_>>>()?;
    Some((exponent, mantissas))
}

#[inline(always)]
fn write_bucketed(w: &mut BitWriter<'_>, z: u64, widths: &[u32; 4]) {
    if z == 0 {
        w.write_bit(false);
        return;
    }
    let last = widths.len() - 1;
    let bucket = widths
        .iter()
        .position(|&width| 1u64.checked_shl(width).is_none_or(|limit| z < limit))
        .unwrap_or(last)
        .min(last);
    let ones = bucket as u32 + 1;
    if bucket == last {
        w.write_bits((1u64 << ones) - 1, ones);
    } else {
        w.write_bits(((1u64 << ones) - 1) << 1, ones + 1);
    }
    w.write_bits(z, widths[bucket]);
}

#[inline(always)]
fn read_bucketed(r: &mut BitReader<'_>, widths: &[u32; 4]) -> Option<u64> {
    match r.read_unary(4)? {
        0 => Some(0),
        ones => r.read_bits_wide(widths[ones as usize - 1]),
    }
}

/// Encodes strictly increasing samples as a decimal chunk; `None` when some value is not a short
/// decimal (NaN, ±Inf, the stale marker, -0.0, or more than 12 decimals or 15–16 digits) or when
/// there are more than [`MAX_SAMPLES_PER_CHUNK`] samples.
pub fn encode_decimal(samples: &[(i64, f64)]) -> Option<Vec<u8>> {
    let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let (exponent, mantissas) = decimal_form(&values)?;
    encode_mantissas(samples, exponent, &mantissas)
}

/// [`encode_decimal`] for values already turned into mantissas by [`decimal_form`]
/// (`mantissas[i]` belongs to `samples[i]`).
pub(super) fn encode_mantissas(samples: &[(i64, f64)], exponent: u8, mantissas: &[i64]) -> Option<Vec<u8>> {
    if samples.is_empty() || samples.len() > MAX_SAMPLES_PER_CHUNK || mantissas.len() != samples.len() {
        return None;
    }
    let count = u16::try_from(samples.len()).ok()?;
    let mut bytes = Vec::with_capacity(64 + samples.len() * 2);
    bytes.extend_from_slice(&count.to_be_bytes());
    bytes.push(exponent);
    let mut free = 0u8;
    let mut w = BitWriter::new(&mut bytes, &mut free);
    let (mut prev_t, mut prev_dt, mut prev_m, mut prev_dm) = (0i64, 0i64, 0i64, 0i64);
    for (i, (&(t, _), &m)) in samples.iter().zip(mantissas).enumerate() {
        let dt = t.wrapping_sub(prev_t);
        let dm = m.wrapping_sub(prev_m);
        match i {
            0 => {
                w.write_varint(t);
                w.write_varint(m);
            }
            1 => {
                w.write_varint(dt);
                write_bucketed(&mut w, zigzag(dm), &VALUE_BUCKETS);
            }
            _ => {
                write_bucketed(&mut w, zigzag(dt.wrapping_sub(prev_dt)), &TIME_BUCKETS);
                write_bucketed(&mut w, zigzag(dm.wrapping_sub(prev_dm)), &VALUE_BUCKETS);
            }
        }
        (prev_t, prev_dt, prev_m, prev_dm) = (t, dt, m, dm);
    }
    Some(bytes)
}

/// Iterates over a decimal chunk without allocating; never panics, whatever the bytes.
#[derive(Debug, Clone)]
pub struct DecimalIter<'a> {
    r: BitReader<'a>,
    scale: f64,
    total: u16,
    read: u16,
    t: i64,
    dt: i64,
    m: i64,
    dm: i64,
    error: bool,
}

impl<'a> DecimalIter<'a> {
    /// Starts iterating over `chunk`.
    pub fn new(chunk: &'a [u8]) -> Self {
        let header = chunk.get(..HEADER_LEN);
        let scale = header.and_then(|h| POW10.get(usize::from(h[2]))).copied();
        let (total, error) = match (header, scale) {
            (Some(h), Some(_)) => (u16::from_be_bytes([h[0], h[1]]), false),
            _ => (0, true),
        };
        DecimalIter {
            r: BitReader::new(chunk.get(HEADER_LEN..).unwrap_or(&[])),
            scale: scale.unwrap_or(1.0),
            total,
            read: 0,
            t: 0,
            dt: 0,
            m: 0,
            dm: 0,
            error,
        }
    }

    /// True if iteration stopped because the bytes were malformed or truncated.
    pub fn error(&self) -> bool {
        self.error
    }

    #[inline(always)]
    fn step(&mut self) -> Option<()> {
        match self.read {
            0 => {
                self.t = self.r.read_varint()?;
                self.m = self.r.read_varint()?;
            }
            1 => {
                self.dt = self.r.read_varint()?;
                self.dm = unzigzag(read_bucketed(&mut self.r, &VALUE_BUCKETS)?);
                self.t = self.t.wrapping_add(self.dt);
                self.m = self.m.wrapping_add(self.dm);
            }
            _ => {
                self.dt = self
                    .dt
                    .wrapping_add(unzigzag(read_bucketed(&mut self.r, &TIME_BUCKETS)?));
                self.dm = self
                    .dm
                    .wrapping_add(unzigzag(read_bucketed(&mut self.r, &VALUE_BUCKETS)?));
                self.t = self.t.wrapping_add(self.dt);
                self.m = self.m.wrapping_add(self.dm);
            }
        }
        Some(())
    }
}

impl Iterator for DecimalIter<'_> {
    type Item = (i64, f64);

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.error || self.read >= self.total {
            return None;
        }
        let previous_t = self.t;
        if self.step().is_none() || (self.read > 0 && self.t <= previous_t) {
            // Truncated, or timestamps that do not increase: no encoder writes that.
            self.error = true;
            return None;
        }
        self.read += 1;
        Some((self.t, self.m as f64 / self.scale))
    }
}

impl std::iter::FusedIterator for DecimalIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        let bytes = encode_decimal(samples).expect("decimal values");
        let mut it = DecimalIter::new(&bytes);
        let out: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        assert!(!it.error());
        out
    }

    fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
    }

    #[test]
    fn counters_gauges_and_negative_values_round_trip() {
        let counter: Vec<(i64, f64)> = (0..120)
            .map(|i| (1_700_000_000_000 + i * 15_000, (i * i * 7) as f64))
            .collect();
        assert_eq!(round_trip(&counter), bits(&counter));
        let gauge: Vec<(i64, f64)> = (0..120)
            .map(|i| (i * 15_000, [21.35, -4.5, 0.01, 99.99, 1e-12][i as usize % 5]))
            .collect();
        assert_eq!(round_trip(&gauge), bits(&gauge));
        let extreme = [(i64::MIN, 1.0), (0, 2.0), (i64::MAX, 3.0)];
        assert_eq!(round_trip(&extreme), bits(&extreme));
        let big = [(1, 9_007_199_254_740_991.0), (2, -9_007_199_254_740_991.0)];
        assert_eq!(round_trip(&big), bits(&big));
    }

    #[test]
    fn chooses_the_smallest_common_exponent() {
        let bytes = encode_decimal(&[(1, 1.5), (2, 2.25), (3, 3.0)]).expect("decimal");
        assert_eq!(bytes[2], 2);
        let bytes = encode_decimal(&[(1, 100.0), (2, 200.0)]).expect("decimal");
        assert_eq!(bytes[2], 0);
    }

    #[test]
    fn refuses_what_it_cannot_store_exactly() {
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            crate::stale_nan(),
            -0.0,
            0.1 + 0.2,
            1e300,
            std::f64::consts::PI,
        ] {
            assert!(encode_decimal(&[(1, 1.0), (2, v)]).is_none(), "{v:?}");
        }
        assert!(encode_decimal(&[]).is_none());
        let too_many: Vec<(i64, f64)> = (0..241).map(|i| (i, 1.0)).collect();
        assert!(encode_decimal(&too_many).is_none());
    }

    #[test]
    fn constant_series_on_a_grid_cost_two_bits_a_sample() {
        let samples: Vec<(i64, f64)> = (0..120).map(|i| (i * 15_000, 42.0)).collect();
        let bytes = encode_decimal(&samples).expect("decimal");
        assert!(bytes.len() < 3 + 8 + 32, "{} bytes", bytes.len());
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, i as f64 * 0.5)).collect();
        let bytes = encode_decimal(&samples).expect("decimal");
        for len in 0..bytes.len() {
            let mut it = DecimalIter::new(&bytes[..len]);
            let n = it.by_ref().count();
            assert!(n < 50 && it.error(), "prefix {len} decoded {n} samples");
        }
        let mut bad_exponent = bytes.clone();
        bad_exponent[2] = 13;
        let mut it = DecimalIter::new(&bad_exponent);
        assert_eq!(it.by_ref().count(), 0);
        assert!(it.error());
    }

    proptest! {
        #[test]
        fn random_decimal_chunks_round_trip(
            start in any::<i64>(),
            gaps in prop::collection::vec(1i64..100_000, 1..240),
            mantissas in prop::collection::vec(-1_000_000_000i64..1_000_000_000, 240),
            exponent in 0u8..=6,
        ) {
            let mut t = start;
            let samples: Vec<(i64, f64)> = gaps
                .iter()
                .zip(&mantissas)
                .map(|(gap, m)| {
                    t = t.wrapping_add(*gap);
                    (t, *m as f64 / POW10[usize::from(exponent)])
                })
                .collect();
            prop_assume!(samples.windows(2).all(|w| w[0].0 < w[1].0));
            let bytes = encode_decimal(&samples).expect("short decimals");
            let decoded: Vec<(i64, u64)> = DecimalIter::new(&bytes).map(|(t, v)| (t, v.to_bits())).collect();
            prop_assert_eq!(decoded, bits(&samples));
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = DecimalIter::new(&bytes).count();
        }
    }
}
