//! The candidate "decimal" chunk codec for cold blocks, an experiment (not a storage format yet).
//!
//! A chunk is one bit stream (most significant bit first, zero-padded to a byte):
//!
//! | Part | Bits | Content |
//! | --- | --- | --- |
//! | count | 16 | number of samples `n` |
//! | mode | 4 | `e` in 0..=12: values are `m / 10^e` (decimal mode); 15: XOR values |
//! | `t0` | varbits | zigzag of the first timestamp |
//! | `v0` | varbits / 64 | decimal: zigzag of `m0`; XOR: raw bits of `v0` |
//! | then per sample `i >= 1`: time | varbits / bucket | `i = 1`: zigzag of `t1 - t0`; later: bucketed zigzag delta of delta |
//! | value | bucket / XOR | decimal: bucketed zigzag of `(m_i - m_{i-1}) - (m_{i-1} - m_{i-2})` (with `m_{-1} = m0`); XOR: Gorilla XOR |
//!
//! *varbits*: 6 bits holding `len - 1`, then the value in `len` bits (`len` = its bit length, at least 1).
//! *Buckets*: prefix `0` for zero, else `10`, `110`, `1110`, `1111` followed by the zigzag value in the
//! bucket's width ([`TIME_BUCKETS`], [`VALUE_BUCKETS`]); the smallest bucket that fits is used.
//! Decimal mode is chosen when every value `v` is finite and equals `m / 10^e` bit for bit for one `e`
//! (the smallest that works for all) and integers `|m| < 2^53`; otherwise (NaN, ±Inf, the stale
//! marker, -0.0, or values with more digits) the chunk keeps XOR values. Timestamp and integer
//! arithmetic wraps at 64 bits, so any `i64` timestamps round-trip.

use std::fmt;

use super::bits::{BitReader, BitWriter};

/// Largest decimal exponent tried.
pub const MAX_EXPONENT: u8 = 12;
/// Mode value of a chunk whose values are XOR-encoded.
const MODE_XOR: u64 = 15;
/// Payload widths of the timestamp delta-of-delta buckets `10`, `110`, `1110`, `1111`.
pub const TIME_BUCKETS: [u32; 4] = [8, 14, 20, 64];
/// Payload widths of the integer delta-of-delta buckets `10`, `110`, `1110`, `1111`.
pub const VALUE_BUCKETS: [u32; 4] = [7, 15, 31, 64];
/// `10^e` for `e` in `0..=MAX_EXPONENT`, all exact in `f64`.
const POW10: [f64; 13] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];
/// Bound on the magnitude of mantissas (exclusive): `2^53`.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0;

/// Why a chunk could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// More samples than the 16-bit count holds.
    TooManySamples(usize),
    /// The bytes end before the samples the header claims.
    Truncated,
    /// A header or field that no encoder writes.
    Malformed(&'static str),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::TooManySamples(n) => write!(f, "chunk of {n} samples exceeds the 16-bit count"),
            CodecError::Truncated => write!(f, "chunk bytes end before its last sample"),
            CodecError::Malformed(what) => write!(f, "malformed chunk: {what}"),
        }
    }
}

impl std::error::Error for CodecError {}

/// An encoded chunk and where its bits went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The chunk.
    pub bytes: Vec<u8>,
    /// Decimal exponent, or `None` when values fell back to XOR.
    pub exponent: Option<u8>,
    /// Bits of the count and mode header.
    pub header_bits: u64,
    /// Bits spent on timestamps.
    pub time_bits: u64,
    /// Bits spent on values (padding excluded).
    pub value_bits: u64,
}

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
    if scaled.is_nan() || scaled.abs() >= MAX_MANTISSA {
        return None;
    }
    let m = scaled.round() as i64;
    // The product is rounded once, so the mantissa may be one off for the largest magnitudes.
    [m, m - 1, m + 1]
        .into_iter()
        .find(|&m| (m.unsigned_abs() as f64) < MAX_MANTISSA && ((m as f64) / scale).to_bits() == v.to_bits())
}

/// The smallest exponent that represents `v` exactly.
fn min_exponent(v: f64) -> Option<u8> {
    if !v.is_finite() {
        return None;
    }
    (0..=MAX_EXPONENT).find(|&e| mantissa(v, e).is_some())
}

/// Exponent and mantissas of `values` in decimal mode, or `None` if some value does not fit.
fn decimal_form(values: impl Iterator<Item = f64> + Clone) -> Option<(u8, Vec<i64>)> {
    let mut exponent = 0;
    for v in values.clone() {
        exponent = exponent.max(min_exponent(v)?);
    }
    // A larger exponent represents the same values unless a mantissa reaches 2^53: check again.
    let mantissas = values.map(|v| mantissa(v, exponent)).collect::<Option<Vec<_>>>()?;
    Some((exponent, mantissas))
}

/// Writes `x` as 6 bits of `len - 1` and `len` bits.
#[inline(always)]
fn write_varbits(w: &mut BitWriter, x: u64) {
    let len = (64 - x.leading_zeros()).max(1);
    w.write(u64::from(len - 1), 6);
    w.write(x, len);
}

#[inline(always)]
fn read_varbits(r: &mut BitReader<'_>) -> Option<u64> {
    let len = r.read(6)? as u32 + 1;
    r.read(len)
}

/// Writes the zigzag value `z` in the smallest bucket of `widths` (prefix `0` for zero).
#[inline(always)]
fn write_bucketed(w: &mut BitWriter, z: u64, widths: &[u32; 4]) {
    if z == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &width) in widths.iter().enumerate() {
        if i == widths.len() - 1 || z < 1u64 << width {
            let ones = i as u32 + 1;
            // `ones` ones, then a zero unless this is the last bucket.
            let (prefix, len) = if i == widths.len() - 1 {
                ((1u64 << ones) - 1, ones)
            } else {
                (((1u64 << ones) - 1) << 1, ones + 1)
            };
            w.write(prefix, len);
            w.write(z, width);
            return;
        }
    }
}

#[inline(always)]
fn read_bucketed(r: &mut BitReader<'_>, widths: &[u32; 4]) -> Option<u64> {
    match r.read_unary(4)? {
        0 => Some(0),
        ones => r.read(widths[ones as usize - 1]),
    }
}

/// Encodes `samples` (any `i64` timestamps, any `f64` values).
pub fn encode(samples: &[(i64, f64)]) -> Result<Encoded, CodecError> {
    let count = u16::try_from(samples.len()).map_err(|_| CodecError::TooManySamples(samples.len()))?;
    let decimal = decimal_form(samples.iter().map(|s| s.1));
    let mut w = BitWriter::new();
    w.write(u64::from(count), 16);
    w.write(decimal.as_ref().map_or(MODE_XOR, |d| u64::from(d.0)), 4);
    let header_bits = w.bit_len();
    let (mut time_bits, mut value_bits) = (0, 0);
    let (mut prev_t, mut prev_dt) = (0i64, 0i64);
    let (mut prev_m, mut prev_dm) = (0i64, 0i64);
    let mut xor = XorState::default();
    for (i, &(t, v)) in samples.iter().enumerate() {
        let before = w.bit_len();
        let dt = t.wrapping_sub(prev_t);
        match i {
            0 => write_varbits(&mut w, zigzag(t)),
            1 => write_varbits(&mut w, zigzag(dt)),
            _ => write_bucketed(&mut w, zigzag(dt.wrapping_sub(prev_dt)), &TIME_BUCKETS),
        }
        (prev_t, prev_dt) = (t, dt);
        let middle = w.bit_len();
        time_bits += middle - before;
        match &decimal {
            Some((_, mantissas)) => {
                let m = mantissas[i];
                if i == 0 {
                    write_varbits(&mut w, zigzag(m));
                } else {
                    let dm = m.wrapping_sub(prev_m);
                    write_bucketed(&mut w, zigzag(dm.wrapping_sub(prev_dm)), &VALUE_BUCKETS);
                    prev_dm = dm;
                }
                prev_m = m;
            }
            None => xor.write(&mut w, v.to_bits(), i == 0),
        }
        value_bits += w.bit_len() - middle;
    }
    Ok(Encoded {
        bytes: w.finish(),
        exponent: decimal.map(|d| d.0),
        header_bits,
        time_bits,
        value_bits,
    })
}

/// Gorilla XOR state of the value column: previous bits and the current window.
#[derive(Debug, Default, Clone, Copy)]
struct XorState {
    prev: u64,
    /// Leading and trailing zeros of the window, once one exists.
    window: Option<(u32, u32)>,
}

impl XorState {
    #[inline(always)]
    fn write(&mut self, w: &mut BitWriter, bits: u64, first: bool) {
        if first {
            w.write(bits, 64);
            self.prev = bits;
            return;
        }
        let x = bits ^ self.prev;
        self.prev = bits;
        if x == 0 {
            w.write_bit(false);
            return;
        }
        let lead = x.leading_zeros().min(31);
        let trail = x.trailing_zeros();
        match self.window {
            Some((wl, wt)) if lead >= wl && trail >= wt => {
                w.write(0b10, 2);
                w.write(x >> wt, 64 - wl - wt);
            }
            _ => {
                let sig = 64 - lead - trail;
                w.write(0b11, 2);
                w.write(u64::from(lead), 5);
                w.write(u64::from(sig & 63), 6);
                w.write(x >> trail, sig);
                self.window = Some((lead, trail));
            }
        }
    }

    #[inline(always)]
    fn read(&mut self, r: &mut BitReader<'_>) -> Result<u64, CodecError> {
        let x = match r.read_unary(2).ok_or(CodecError::Truncated)? {
            0 => 0,
            1 => {
                let (wl, wt) = self
                    .window
                    .ok_or(CodecError::Malformed("xor window reused before one exists"))?;
                r.read(64 - wl - wt).ok_or(CodecError::Truncated)? << wt
            }
            _ => {
                let lead = r.read(5).ok_or(CodecError::Truncated)? as u32;
                let sig = match r.read(6).ok_or(CodecError::Truncated)? as u32 {
                    0 => 64,
                    s => s,
                };
                if lead + sig > 64 {
                    return Err(CodecError::Malformed("xor window wider than 64 bits"));
                }
                let trail = 64 - lead - sig;
                self.window = Some((lead, trail));
                r.read(sig)
                    .ok_or(CodecError::Truncated)?
                    .checked_shl(trail)
                    .unwrap_or(0)
            }
        };
        self.prev ^= x;
        Ok(self.prev)
    }
}

/// Decodes `chunk`, appending its samples to `out` (which is not cleared).
pub fn decode_into(chunk: &[u8], out: &mut Vec<(i64, f64)>) -> Result<(), CodecError> {
    let mut r = BitReader::new(chunk);
    let count = r.read(16).ok_or(CodecError::Truncated)? as usize;
    let mode = r.read(4).ok_or(CodecError::Truncated)?;
    if count == 0 {
        return Ok(());
    }
    // Every sample after the first takes at least two bits, which bounds the allocation.
    out.reserve(count.min(1 + chunk.len() * 4));
    let truncated = || CodecError::Truncated;
    let mut t = unzigzag(read_varbits(&mut r).ok_or_else(truncated)?);
    let mut dt = 0i64;
    if mode == MODE_XOR {
        let mut xor = XorState {
            prev: r.read(64).ok_or_else(truncated)?,
            window: None,
        };
        out.push((t, f64::from_bits(xor.prev)));
        for i in 1..count {
            dt = if i == 1 {
                unzigzag(read_varbits(&mut r).ok_or_else(truncated)?)
            } else {
                dt.wrapping_add(unzigzag(read_bucketed(&mut r, &TIME_BUCKETS).ok_or_else(truncated)?))
            };
            t = t.wrapping_add(dt);
            out.push((t, f64::from_bits(xor.read(&mut r)?)));
        }
        return Ok(());
    }
    let scale = *POW10
        .get(mode as usize)
        .ok_or(CodecError::Malformed("unknown value mode"))?;
    let mut m = unzigzag(read_varbits(&mut r).ok_or_else(truncated)?);
    let mut dm = 0i64;
    out.push((t, m as f64 / scale));
    for i in 1..count {
        dt = if i == 1 {
            unzigzag(read_varbits(&mut r).ok_or_else(truncated)?)
        } else {
            dt.wrapping_add(unzigzag(read_bucketed(&mut r, &TIME_BUCKETS).ok_or_else(truncated)?))
        };
        t = t.wrapping_add(dt);
        dm = dm.wrapping_add(unzigzag(read_bucketed(&mut r, &VALUE_BUCKETS).ok_or_else(truncated)?));
        m = m.wrapping_add(dm);
        out.push((t, m as f64 / scale));
    }
    Ok(())
}

/// Decodes `chunk` into a new vector.
pub fn decode(chunk: &[u8]) -> Result<Vec<(i64, f64)>, CodecError> {
    let mut out = Vec::new();
    decode_into(chunk, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STALE: u64 = 0x7ff0_0000_0000_0002;

    /// Encodes, decodes and compares bit for bit; returns the encoding.
    fn round_trip(samples: &[(i64, f64)]) -> Encoded {
        let encoded = encode(samples).expect("encodes");
        let decoded = decode(&encoded.bytes).expect("decodes");
        let bits = |s: &[(i64, f64)]| s.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&decoded), bits(samples));
        let total = encoded.header_bits + encoded.time_bits + encoded.value_bits;
        assert_eq!(encoded.bytes.len() as u64, total.div_ceil(8));
        encoded
    }

    fn grid(values: &[f64]) -> Vec<(i64, f64)> {
        let t0 = 1_699_920_000_000;
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (t0 + i as i64 * 15_000, v))
            .collect()
    }

    #[test]
    fn finds_the_smallest_exponent() {
        assert_eq!(min_exponent(3.0), Some(0));
        assert_eq!(min_exponent(21.35), Some(2));
        assert_eq!(min_exponent(-0.005), Some(3));
        assert_eq!(min_exponent(1e-12), Some(12));
        assert_eq!(min_exponent(0.1 + 0.2), None);
        assert_eq!(min_exponent(1e-13), None);
        assert_eq!(min_exponent(-0.0), None);
        assert_eq!(min_exponent(f64::NAN), None);
        assert_eq!(min_exponent(f64::from_bits(STALE)), None);
        assert_eq!(min_exponent(9_007_199_254_740_991.0), Some(0));
        assert_eq!(min_exponent(9_007_199_254_740_992.0), None);
        assert_eq!(mantissa(21.35, 2), Some(2135));
        assert_eq!(mantissa(21.35, 3), Some(21350));
    }

    #[test]
    fn constant_counter_on_a_grid_costs_two_bits_a_sample() {
        let e = round_trip(&grid(&[5.0; 120]));
        assert_eq!(e.exponent, Some(0));
        assert_eq!(e.header_bits, 20);
        // t0 (41-bit zigzag) and Δ1 = 15000 (15-bit zigzag) as varbits, then `0` per sample.
        assert_eq!(e.time_bits, (6 + 42) + (6 + 15) + 118);
        // m0 = 5 (zigzag 10: 4 bits) as varbits, then `0` per sample.
        assert_eq!(e.value_bits, (6 + 4) + 119);
    }

    #[test]
    fn counters_and_rounded_gauges_use_decimal_mode() {
        let counter: Vec<f64> = (0..120).map(|i| (i * 37 + i * i / 5) as f64).collect();
        assert_eq!(round_trip(&grid(&counter)).exponent, Some(0));
        let gauge = [21.35, 21.4, 21.3, 21.35, 20.0, 19.99, -3.07, 0.0];
        assert_eq!(round_trip(&grid(&gauge)).exponent, Some(2));
        let negative = [-1.5, -2.25, -1e9, 7.125];
        assert_eq!(round_trip(&grid(&negative)).exponent, Some(3));
        // A reset to zero and a large counter.
        let reset = [8.6e11, 8.6e11 + 12345.0, 0.0, 17.0];
        assert_eq!(round_trip(&grid(&reset)).exponent, Some(0));
    }

    #[test]
    fn values_that_are_not_short_decimals_fall_back_to_xor() {
        assert_eq!(round_trip(&grid(&[0.1, 0.1 + 0.2, 0.3])).exponent, None);
        assert_eq!(round_trip(&grid(&[1.0, std::f64::consts::PI])).exponent, None);
        assert_eq!(round_trip(&grid(&[1.0, 1e-13])).exponent, None);
        assert_eq!(round_trip(&grid(&[1.0, 2.0, 1e300])).exponent, None);
    }

    #[test]
    fn special_values_survive_the_xor_fallback() {
        let specials = [
            1.0,
            -0.0,
            0.0,
            f64::NAN,
            f64::from_bits(0x7ff8_dead_beef_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::from_bits(STALE),
            2.5,
            f64::MIN_POSITIVE,
            f64::MAX,
        ];
        // Each of -0.0, NaNs, ±Inf and the stale marker forces the fallback on its own.
        for v in specials.iter().skip(1).take(7).filter(|v| v.to_bits() != 0) {
            assert_eq!(round_trip(&grid(&[1.0, *v, 2.0])).exponent, None, "{v:?}");
        }
        assert_eq!(round_trip(&grid(&specials)).exponent, None);
        assert_eq!(round_trip(&grid(&[f64::from_bits(STALE); 3])).exponent, None);
    }

    #[test]
    fn irregular_and_extreme_timestamps_round_trip() {
        let samples = [
            (i64::MIN, 1.0),
            (-5, 2.0),
            (0, 3.0),
            (1, 4.0),
            (1_000_000_007, 5.0),
            (i64::MAX - 1, 6.0),
            (i64::MAX, 7.0),
        ];
        round_trip(&samples);
        round_trip(&[(42, 0.5)]);
        round_trip(&[]);
        let jittered: Vec<(i64, f64)> = (0..50).map(|i| (i * 15_000 + (i * 7919) % 5, 1.0)).collect();
        round_trip(&jittered);
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        assert_eq!(decode(&[]), Err(CodecError::Truncated));
        assert_eq!(decode(&[0, 0, 0]), Ok(vec![]));
        let e = encode(&grid(&[1.5, 2.5, 3.5, 4.5])).expect("encodes");
        for len in 0..e.bytes.len() {
            assert!(decode(&e.bytes[..len]).is_err(), "prefix of {len} bytes");
        }
        // Mode 13 is unused.
        let mut bad = e.bytes.clone();
        bad[2] = (bad[2] & 0x0f) | 0xd0;
        assert_eq!(decode(&bad), Err(CodecError::Malformed("unknown value mode")));
        assert_eq!(encode(&vec![(0, 0.0); 70_000]), Err(CodecError::TooManySamples(70_000)));
    }

    fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            // Decimal-friendly: integers or short decimals, sometimes negative.
            (0u8..=4, prop::collection::vec(-1_000_000i64..1_000_000, n))
                .prop_map(|(e, ms)| ms.into_iter().map(|m| m as f64 / 10f64.powi(i32::from(e))).collect()),
            // Counters: cumulative increments.
            prop::collection::vec(0u32..5000, n).prop_map(|incs| {
                incs.into_iter()
                    .scan(0.0, |acc, i| {
                        *acc += f64::from(i);
                        Some(*acc)
                    })
                    .collect()
            }),
            // Arbitrary bits, specials included.
            prop::collection::vec(
                prop_oneof![
                    any::<u64>().prop_map(f64::from_bits),
                    Just(f64::from_bits(STALE)),
                    Just(-0.0),
                    Just(f64::NAN),
                    (-1000i64..1000).prop_map(|m| m as f64 / 100.0),
                ],
                n
            ),
        ]
    }

    fn chunk() -> impl Strategy<Value = Vec<(i64, f64)>> {
        (0usize..=240)
            .prop_flat_map(|n| {
                (
                    any::<i64>(),
                    prop::collection::vec(prop_oneof![Just(0i64), -3000i64..3000, any::<i64>()], n),
                    values(n),
                )
            })
            .prop_map(|(t0, steps, vs)| {
                let mut t = t0;
                steps
                    .into_iter()
                    .zip(vs)
                    .map(|(step, v)| {
                        t = t.wrapping_add(15_000).wrapping_add(step);
                        (t, v)
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn random_chunks_round_trip(samples in chunk()) {
            let encoded = encode(&samples).expect("encodes");
            let decoded = decode(&encoded.bytes).expect("decodes");
            prop_assert_eq!(decoded.len(), samples.len());
            for (d, s) in decoded.iter().zip(&samples) {
                prop_assert_eq!((d.0, d.1.to_bits()), (s.0, s.1.to_bits()));
            }
            let total = encoded.header_bits + encoded.time_bits + encoded.value_bits;
            prop_assert_eq!(encoded.bytes.len() as u64, total.div_ceil(8));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}
