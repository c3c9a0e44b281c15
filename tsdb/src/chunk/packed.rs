//! The packed chunk (encoding 3): frame-of-reference bit packing with patched exceptions.
//!
//! Values become integers `x`, either decimal mantissas (`v = x / 10^e`, bit-exact, as in the decimal
//! chunk) or, in raw mode, the values' bit patterns (`v.to_bits() as i64`, lossless for anything).
//! The first timestamp and integer are zigzag varints; the `n - 1` timestamp deltas and the `n - 1`
//! integer deltas are each a *packed sequence*: a base `b`, a width `w` and a list of exceptions
//! (index gap and full delta as varints), then every other delta as `delta - b` in exactly `w` bits.
//! The encoder picks `w` and `b` per sequence to minimise its size, so a regular scrape interval
//! costs no bits at all and a counter reset is one exception. Exact layout: `tsdb/docs/chunks.md`.
//!
//! Both sequences' headers and exception lists come first, then the slots of the two sequences
//! interleaved index by index. [`PackedIter`] checks the whole layout when it is created (it walks the
//! exception lists to find the slots), then decodes one sample at a time with one cursor on the slots
//! and the bit offset of each sequence's next exception, without allocating.

use super::MAX_SAMPLES_PER_CHUNK;
use super::bstream::{BitReader, BitWriter};
use super::decimal::{POW10, decimal_form};

/// Mode byte of a packed chunk whose integers are the values' IEEE-754 bit patterns; modes
/// 0..=12 are decimal exponents.
pub const PACKED_RAW_MODE: u8 = 0xff;
/// Bytes before the bit stream: count and mode.
const HEADER_LEN: usize = 3;
/// Widest slot.
const MAX_WIDTH: u32 = 64;
/// Bits of the width field.
const WIDTH_BITS: u32 = 8;
/// `next_exception` once a sequence has none left.
const NO_EXCEPTION: u32 = u32::MAX;

#[inline(always)]
fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// Bytes of `x` as an LEB128 varint.
fn uvarint_len(x: u64) -> u32 {
    (64 - x.leading_zeros()).div_ceil(7).max(1)
}

/// What the encoder counts for a delta stored as an exception: a one-byte gap and its varint.
fn exception_bits(delta: i64) -> u32 {
    8 + 8 * uvarint_len(zigzag(delta))
}

/// True when the encoder stores `delta` as an exception of a sequence with `base` and `width`:
/// outside the slots' range, or cheaper as an exception than as a slot.
#[inline]
fn is_exception(delta: i64, base: i64, width: u32) -> bool {
    let slot = delta.wrapping_sub(base) as u64;
    (width < MAX_WIDTH && slot >> width != 0) || exception_bits(delta) < width
}

/// Widths [`plan`] tries: 0, and those that cover the deltas without up to
/// [`PLAN_OUTLIERS`] of the smallest and of the largest, and one or two bits less (`sorted`
/// ascending, not empty). The best
/// window leaves few deltas out in practice (a counter reset, a missed scrape), and trying every
/// width made block writing several times slower.
fn candidate_widths(sorted: &[i64]) -> Vec<u32> {
    let n = sorted.len();
    let mut widths = vec![0];
    for low in 0..=PLAN_OUTLIERS.min(n - 1) {
        for high in 0..=PLAN_OUTLIERS.min(n - 1 - low) {
            let span = (i128::from(sorted[n - 1 - high]) - i128::from(sorted[low])) as u128;
            let width = (128 - span.leading_zeros()).min(MAX_WIDTH);
            // A bit or two narrower may leave out a few more at one end for less.
            widths.extend([width, width.saturating_sub(1), width.saturating_sub(2)]);
        }
    }
    widths.sort_unstable();
    widths.dedup();
    widths
}

/// Deltas at each end that [`candidate_widths`] may leave out.
const PLAN_OUTLIERS: usize = 3;

/// Chooses the base and width of a packed sequence of `deltas`: for each candidate width, the
/// window `[base, base + 2^width)` (with `base` one of the deltas) that saves the most against
/// storing everything as exceptions. The estimate counts each exception's gap as one byte.
fn plan(deltas: &[i64]) -> (i64, u32) {
    let mut sorted = deltas.to_vec();
    sorted.sort_unstable();
    let (Some(&low), Some(&high)) = (sorted.first(), sorted.last()) else {
        return (0, 0);
    };
    let span = i128::from(high) - i128::from(low);
    let exceptions: Vec<u32> = sorted.iter().map(|&d| exception_bits(d)).collect();
    let mut saved = vec![0u64; sorted.len() + 1];
    // Cost relative to "everything is an exception": base, minus what the window saves.
    let (mut best_cost, mut best) = (i64::MAX, (0, 0));
    for width in candidate_widths(&sorted) {
        // saved[i] = what sorted[..i] would save as slots of this width.
        for (i, &bits) in exceptions.iter().enumerate() {
            saved[i + 1] = saved[i] + u64::from(bits.saturating_sub(width));
        }
        let limit = 1i128 << width;
        let mut end = 0;
        for (start, &base) in sorted.iter().enumerate() {
            if start > 0 && sorted[start - 1] == base {
                continue; // same base as the window before, which covers more
            }
            end = end.max(start);
            while end < sorted.len() && i128::from(sorted[end]) - i128::from(base) < limit {
                end += 1;
            }
            let base_bits = 8 * i64::from(uvarint_len(zigzag(base)));
            let cost = base_bits - (saved[end] - saved[start]) as i64;
            if cost < best_cost {
                (best_cost, best) = (cost, (base, width));
            }
        }
        if span < limit {
            break; // wider windows cover nothing more and every slot costs more
        }
    }
    best
}

/// Writes the header and exceptions of one packed sequence of `deltas` (not its slots).
fn write_sequence_header(w: &mut BitWriter<'_>, deltas: &[i64], base: i64, width: u32) {
    w.write_varint(base);
    w.write_bits(u64::from(width), WIDTH_BITS);
    let exceptions = deltas.iter().filter(|&&d| is_exception(d, base, width)).count();
    w.write_uvarint(exceptions as u64);
    let mut next_index = 0;
    for (i, &d) in deltas.iter().enumerate() {
        if is_exception(d, base, width) {
            w.write_uvarint((i - next_index) as u64);
            w.write_varint(d);
            next_index = i + 1;
        }
    }
}

/// Writes the slot of `delta`, unless it is an exception.
#[inline]
fn write_slot(w: &mut BitWriter<'_>, delta: i64, (base, width): (i64, u32)) {
    if !is_exception(delta, base, width) {
        w.write_bits(delta.wrapping_sub(base) as u64, width);
    }
}

/// First-order wrapping deltas of `xs`.
fn deltas(xs: impl Iterator<Item = i64> + Clone) -> Vec<i64> {
    xs.clone().zip(xs.skip(1)).map(|(a, b)| b.wrapping_sub(a)).collect()
}

/// A whole chunk with the given mode and integers (`xs[i]` belongs to `samples[i]`).
fn write_chunk(samples: &[(i64, f64)], time_deltas: &[i64], time_plan: (i64, u32), mode: u8, xs: &[i64]) -> Vec<u8> {
    let count = samples.len() as u16; // checked by the caller
    let value_deltas = deltas(xs.iter().copied());
    let mut bytes = Vec::with_capacity(32 + samples.len());
    bytes.extend_from_slice(&count.to_be_bytes());
    bytes.push(mode);
    let mut free = 0u8;
    let mut w = BitWriter::new(&mut bytes, &mut free);
    w.write_varint(samples[0].0);
    w.write_varint(xs[0]);
    if samples.len() > 1 {
        let value_plan = plan(&value_deltas);
        write_sequence_header(&mut w, time_deltas, time_plan.0, time_plan.1);
        write_sequence_header(&mut w, &value_deltas, value_plan.0, value_plan.1);
        for (&dt, &dx) in time_deltas.iter().zip(&value_deltas) {
            write_slot(&mut w, dt, time_plan);
            write_slot(&mut w, dx, value_plan);
        }
    }
    bytes
}

/// Encodes strictly increasing samples as a packed chunk: in decimal mode when every value is a short
/// decimal and that is smaller, in raw mode otherwise. `None` for no samples or more than
/// [`MAX_SAMPLES_PER_CHUNK`].
pub fn encode_packed(samples: &[(i64, f64)]) -> Option<Vec<u8>> {
    let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let decimal = decimal_form(&values);
    encode_with(samples, decimal.as_ref().map(|(e, m)| (*e, &m[..])))
}

/// [`encode_packed`] with the values' decimal form already worked out (`None`: not all short decimals).
pub(super) fn encode_with(samples: &[(i64, f64)], decimal: Option<(u8, &[i64])>) -> Option<Vec<u8>> {
    if samples.is_empty() || samples.len() > MAX_SAMPLES_PER_CHUNK {
        return None;
    }
    let time_deltas = deltas(samples.iter().map(|s| s.0));
    let time_plan = plan(&time_deltas);
    let raw: Vec<i64> = samples.iter().map(|s| s.1.to_bits() as i64).collect();
    let raw = write_chunk(samples, &time_deltas, time_plan, PACKED_RAW_MODE, &raw);
    let decimal = decimal
        .filter(|(e, m)| *e <= super::decimal::MAX_EXPONENT && m.len() == samples.len())
        .map(|(e, m)| write_chunk(samples, &time_deltas, time_plan, e, m));
    Some(match decimal {
        Some(decimal) if decimal.len() < raw.len() => decimal,
        _ => raw,
    })
}

/// Read state of one packed sequence; its slots are read from the chunk's shared slot cursor.
#[derive(Debug, Clone)]
struct Sequence {
    base: i64,
    width: u32,
    /// Index of the next exception, or [`NO_EXCEPTION`].
    next_exception: u32,
    exceptions_left: u32,
    /// Bit offset in the stream of the next exception's delta (then the gap to the one after).
    exception_at: u32,
}

impl Sequence {
    const EMPTY: Sequence = Sequence {
        base: 0,
        width: 0,
        next_exception: NO_EXCEPTION,
        exceptions_left: 0,
        exception_at: 0,
    };

    /// Parses and checks the header and exceptions of a sequence of `count` deltas at `r`.
    fn parse(r: &mut BitReader<'_>, count: u32) -> Option<Self> {
        let base = r.read_varint()?;
        let width = r.read_bits(WIDTH_BITS)? as u32;
        let total = r.read_uvarint()?;
        if width > MAX_WIDTH || total > u64::from(count) {
            return None;
        }
        let mut seq = Sequence {
            base,
            width,
            exceptions_left: total as u32,
            ..Sequence::EMPTY
        };
        let mut next_free = 0u64;
        for i in 0..total {
            let index = next_free.checked_add(r.read_uvarint()?)?;
            if index >= u64::from(count) {
                return None;
            }
            if i == 0 {
                seq.next_exception = index as u32;
                seq.exception_at = u32::try_from(r.position()).ok()?;
            }
            r.read_varint()?;
            next_free = index + 1;
        }
        Some(seq)
    }

    /// Bits of this sequence's slots.
    fn slot_bits(&self, count: u32) -> usize {
        (count - self.exceptions_left) as usize * self.width as usize
    }

    /// The delta at `index`; indexes must come in order, one call each.
    #[inline(always)]
    fn next(&mut self, index: u32, slots: &mut BitReader<'_>, stream: &[u8]) -> Option<i64> {
        if index == self.next_exception {
            return self.exception(index, stream);
        }
        let slot = slots.read_bits_wide(self.width)?;
        Some(self.base.wrapping_add(slot as i64))
    }

    #[cold]
    fn exception(&mut self, index: u32, stream: &[u8]) -> Option<i64> {
        let mut r = BitReader::new(stream);
        r.skip_bits(self.exception_at as usize)?;
        let delta = r.read_varint()?;
        self.exceptions_left = self.exceptions_left.saturating_sub(1);
        self.next_exception = if self.exceptions_left == 0 {
            NO_EXCEPTION
        } else {
            let gap = u32::try_from(r.read_uvarint()?).ok()?;
            index.checked_add(1)?.checked_add(gap)?
        };
        self.exception_at = u32::try_from(r.position()).ok()?;
        Some(delta)
    }
}

/// Iterates over a packed chunk without allocating; never panics, whatever the bytes.
#[derive(Debug, Clone)]
pub struct PackedIter<'a> {
    /// The bit stream after the header.
    stream: &'a [u8],
    /// At the next slot.
    slots: BitReader<'a>,
    time: Sequence,
    value: Sequence,
    /// `10^e` in decimal mode (unused in raw mode).
    scale: f64,
    t: i64,
    x: i64,
    total: u16,
    read: u16,
    /// The mode byte: [`PACKED_RAW_MODE`] or the decimal exponent.
    mode: u8,
    error: bool,
}

impl<'a> PackedIter<'a> {
    /// Starts iterating over `chunk`, checking its layout first: a malformed chunk yields nothing and
    /// reports [`PackedIter::error`].
    pub fn new(chunk: &'a [u8]) -> Self {
        let mut it = PackedIter {
            stream: &[],
            slots: BitReader::new(&[]),
            time: Sequence::EMPTY,
            value: Sequence::EMPTY,
            scale: 1.0,
            t: 0,
            x: 0,
            total: 0,
            read: 0,
            mode: PACKED_RAW_MODE,
            error: false,
        };
        if it.parse(chunk).is_none() {
            it.total = 0;
            it.error = true;
        }
        it
    }

    fn parse(&mut self, chunk: &'a [u8]) -> Option<()> {
        let (&[count_high, count_low, mode], stream) = chunk.split_first_chunk::<HEADER_LEN>()?;
        let total = u16::from_be_bytes([count_high, count_low]);
        if total == 0 || usize::from(total) > MAX_SAMPLES_PER_CHUNK {
            return None;
        }
        if mode != PACKED_RAW_MODE {
            self.scale = *POW10.get(usize::from(mode))?;
        }
        self.mode = mode;
        self.stream = stream;
        let mut r = BitReader::new(stream);
        self.t = r.read_varint()?;
        self.x = r.read_varint()?;
        if total > 1 {
            let count = u32::from(total) - 1;
            self.time = Sequence::parse(&mut r, count)?;
            self.value = Sequence::parse(&mut r, count)?;
            self.slots = r.clone();
            r.skip_bits(self.time.slot_bits(count) + self.value.slot_bits(count))?;
        }
        // The chunk ends with the byte that holds its last bits, padded with zeros.
        let padding = r.remaining_bits();
        if padding >= 8 || (padding > 0 && r.read_bits(padding as u32)? != 0) {
            return None;
        }
        self.total = total;
        Some(())
    }

    /// True if iteration stopped because the bytes were malformed or truncated.
    pub fn error(&self) -> bool {
        self.error
    }

    /// Appends every remaining sample to `out`: what iterating yields, in one loop specialised
    /// to the chunk's mode (whole numbers need no division).
    pub fn decode_into(mut self, out: &mut Vec<(i64, f64)>) {
        match self.mode {
            PACKED_RAW_MODE => self.decode_with(out, |x| f64::from_bits(x as u64)),
            0 => self.decode_with(out, |x| x as f64),
            _ => {
                let scale = self.scale;
                self.decode_with(out, move |x| x as f64 / scale);
            }
        }
    }

    #[inline(always)]
    fn decode_with(&mut self, out: &mut Vec<(i64, f64)>, value: impl Fn(i64) -> f64) {
        out.reserve(usize::from(self.total.saturating_sub(self.read)));
        if self.read == 0 && self.total > 0 {
            out.push((self.t, value(self.x)));
            self.read = 1;
        }
        while self.read < self.total {
            let index = u32::from(self.read - 1);
            let dt = self.time.next(index, &mut self.slots, self.stream);
            let dx = self.value.next(index, &mut self.slots, self.stream);
            match dt.zip(dx) {
                Some((dt, dx)) if self.t.wrapping_add(dt) > self.t => {
                    self.t = self.t.wrapping_add(dt);
                    self.x = self.x.wrapping_add(dx);
                }
                _ => {
                    self.error = true;
                    self.total = self.read;
                    return;
                }
            }
            self.read += 1;
            out.push((self.t, value(self.x)));
        }
    }
}

impl Iterator for PackedIter<'_> {
    type Item = (i64, f64);

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.read >= self.total {
            return None;
        }
        if self.read > 0 {
            let index = u32::from(self.read - 1);
            let dt = self.time.next(index, &mut self.slots, self.stream);
            let dx = self.value.next(index, &mut self.slots, self.stream);
            match dt.zip(dx) {
                Some((dt, dx)) if self.t.wrapping_add(dt) > self.t => {
                    self.t = self.t.wrapping_add(dt);
                    self.x = self.x.wrapping_add(dx);
                }
                // Cursors that run out (not after the checks in `new`) or time that does not advance.
                _ => {
                    self.error = true;
                    self.total = self.read;
                    return None;
                }
            }
        }
        self.read += 1;
        let v = match self.mode {
            PACKED_RAW_MODE => f64::from_bits(self.x as u64),
            0 => self.x as f64,
            _ => self.x as f64 / self.scale,
        };
        Some((self.t, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.total - self.read)))
    }
}

impl std::iter::FusedIterator for PackedIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{XorAppender, XorIter};
    use crate::sample::STALE_NAN_BITS;
    use proptest::prelude::*;

    fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
    }

    /// Encodes, decodes, checks bit-exactness; returns the chunk.
    fn round_trip(samples: &[(i64, f64)]) -> Vec<u8> {
        let bytes = encode_packed(samples).expect("encodable");
        let mut it = PackedIter::new(&bytes);
        let got = bits(&it.by_ref().collect::<Vec<_>>());
        assert!(!it.error());
        assert_eq!(got, bits(samples));
        assert_eq!(bulk(&bytes), got);
        assert_eq!(super::super::num_samples(&bytes), samples.len());
        bytes
    }

    /// What [`PackedIter::decode_into`] appends to a vector holding one sample already.
    fn bulk(bytes: &[u8]) -> Vec<(i64, u64)> {
        let mut out = vec![(-1, 0.5)];
        PackedIter::new(bytes).decode_into(&mut out);
        assert_eq!(bits(&out[..1]), bits(&[(-1, 0.5)]));
        bits(&out[1..])
    }

    fn xor_len(samples: &[(i64, f64)]) -> usize {
        let mut app = XorAppender::new();
        samples.iter().for_each(|&(t, v)| app.append(t, v));
        app.into_bytes().len()
    }

    /// The sequences' (base, width, exceptions) as parsed.
    fn shape(bytes: &[u8]) -> [(i64, u32, u32); 2] {
        let it = PackedIter::new(bytes);
        assert!(!it.error());
        [&it.time, &it.value].map(|s| (s.base, s.width, s.exceptions_left))
    }

    #[test]
    fn documented_example_has_the_documented_bytes() {
        let samples = [(1000, 100.0), (16_000, 102.0), (31_000, 105.0), (46_000, 0.0)];
        let bytes = round_trip(&samples);
        let expected = [
            0x00, 0x04, 0x00, 0xd0, 0x0f, 0xc8, 0x01, // count, mode, t0, x0
            0xb0, 0xea, 0x01, 0x00, 0x00, // time: base 15000, width 0, no exceptions
            0x04, 0x01, 0x01, 0x02, 0xd1, 0x01, // value: base 2, width 1, exception at 2: -105
            0x40, // slots `0` `1`, padding
        ];
        assert_eq!(bytes, expected);
        assert_eq!(xor_len(&samples), 22);
        assert_eq!(shape(&bytes), [(15_000, 0, 0), (2, 1, 1)]);
        // One sample: header, t0, x0 and nothing else.
        assert_eq!(round_trip(&[(1000, 100.0)]), [0, 1, 0, 0xd0, 0x0f, 0xc8, 0x01]);
    }

    #[test]
    fn special_values_round_trip_in_raw_mode() {
        let specials = [
            STALE_NAN_BITS,
            f64::NAN.to_bits(),
            0xfff8_dead_beef_0001,
            0x7ff0_0000_0000_0001,
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            (-0.0f64).to_bits(),
            0,
            1,
            f64::MAX.to_bits(),
            f64::MIN.to_bits(),
            u64::MAX,
            1 << 63,
            42.5f64.to_bits(),
            STALE_NAN_BITS,
        ];
        let samples: Vec<(i64, f64)> = specials
            .iter()
            .enumerate()
            .map(|(i, &b)| (i as i64 * 15_000, f64::from_bits(b)))
            .collect();
        let bytes = round_trip(&samples);
        assert_eq!(bytes[2], PACKED_RAW_MODE);
        // A chunk of decimals with one staleness marker is raw too, and still exact.
        let mut mixed: Vec<(i64, f64)> = (0..120).map(|i| (i * 15_000, i as f64 * 0.25)).collect();
        mixed[77].1 = crate::stale_nan();
        assert_eq!(round_trip(&mixed)[2], PACKED_RAW_MODE);
        let extreme = [(i64::MIN, 1.0), (-1, f64::NAN), (0, -0.0), (i64::MAX, f64::INFINITY)];
        round_trip(&extreme);
    }

    #[test]
    fn decimal_mode_holds_short_decimals_at_their_exponent() {
        let tiny = [(1, 0.0), (2, 1e-12), (3, 2e-12), (4, -3e-12)];
        assert_eq!(round_trip(&tiny)[2], 12);
        // Mantissas near 2^53 at e = 12: exact either way (raw mode happens to be smaller here).
        let samples = [
            (1, 0.0),
            (2, 1e-12),
            (3, -4.5),
            (4, 21.35),
            (5, 9_007.199_254_740_991),
            (6, -9_007.199_254_740_991),
            (7, 0.01),
        ];
        round_trip(&samples);
        let counter: Vec<(i64, f64)> = (0..120).map(|i| (i * 15_000, (i * i * 7) as f64)).collect();
        assert_eq!(round_trip(&counter)[2], 0);
        let gauge: Vec<(i64, f64)> = (0..120)
            .map(|i| (i * 15_000, ((i * 37) % 1000) as f64 / 100.0))
            .collect();
        assert_eq!(round_trip(&gauge)[2], 2);
        let big = [(1, 9_007_199_254_740_991.0), (2, -9_007_199_254_740_991.0), (3, 0.0)];
        round_trip(&big);
    }

    #[test]
    fn a_counter_reset_costs_one_exception() {
        // 120 samples on a 15 s grid; increments 40..=47; a reset to 0 at sample 60.
        let mut v = 1000.0;
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| {
                if i == 60 {
                    v = 0.0;
                } else if i > 0 {
                    v += (40 + i % 8) as f64;
                }
                (1_700_000_000_000 + i * 15_000, v)
            })
            .collect();
        assert_eq!(samples[59].1, 3562.0);
        let bytes = round_trip(&samples);
        // Time: base 15000, no slots. Value: base 40, 3-bit slots, the reset (-3562) at index 59.
        assert_eq!(shape(&bytes), [(15_000, 0, 0), (40, 3, 1)]);
        // Bits: header 24, t0 48, x0 16; time sequence 24 + 8 + 8; value sequence base 8, width 8,
        // count 8, exception gap 8 + delta 16; 118 slots of 3 bits = 354. 530 bits -> 67 bytes.
        assert_eq!(bytes.len(), 67);
        assert_eq!(bytes[2], 0);
    }

    #[test]
    fn regular_timestamps_cost_no_bits() {
        let samples: Vec<(i64, f64)> = (0..120).map(|i| (i * 15_000, 42.0)).collect();
        let bytes = round_trip(&samples);
        // header 3, t0 1, x0 1, time base 3 + width 1 + count 1, value base 1 + width 1 + count 1
        assert_eq!(bytes.len(), 13);
        assert_eq!(shape(&bytes), [(15_000, 0, 0), (0, 0, 0)]);
        let full: Vec<(i64, f64)> = (0..240).map(|i| (i * 15_000, 42.0)).collect();
        assert_eq!(round_trip(&full).len(), 13);
    }

    #[test]
    fn jittered_timestamps_pack_in_three_bits() {
        // Jitter 0, 2, -1, 1, -2 ms: deltas alternate between 15002 and 14997 (span 5 < 2^3).
        let jitter = [0, 2, -1, 1, -2];
        let samples: Vec<(i64, f64)> = (0..120).map(|i| (i * 15_000 + jitter[i as usize % 5], 7.0)).collect();
        let bytes = round_trip(&samples);
        assert_eq!(shape(&bytes)[0], (14_997, 3, 0));
        // header 3 + t0 1 + x0 1 + time (3 + 1 + 1 bytes, 119 * 3 bits) + value 3 bytes:
        // 13 bytes and 357 bits, 461 bits in all.
        assert_eq!(bytes.len(), (13 * 8 + 357usize).div_ceil(8));
    }

    #[test]
    fn cheap_deltas_inside_wide_windows_become_exceptions() {
        // A full-precision walk that stalls every tenth sample: zero deltas cost 16 bits as
        // exceptions instead of a wide slot.
        let mut x = 1.5f64;
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| {
                if i % 10 != 0 {
                    x += [0.011, -0.007, 0.013, -0.002][i as usize % 4] * std::f64::consts::PI;
                }
                (i * 15_000, x)
            })
            .collect();
        let bytes = round_trip(&samples);
        let [_, (_, width, exceptions)] = shape(&bytes);
        assert!(width > 16 && exceptions >= 11, "width {width}, exceptions {exceptions}");
        assert!(bytes.len() < xor_len(&samples), "{} bytes", bytes.len());
    }

    #[test]
    fn iterator_stays_small() {
        // One slot cursor, two small sequence states; `ChunkIter` is held per series in queries.
        assert_eq!(std::mem::size_of::<PackedIter<'_>>(), 136);
        assert!(std::mem::size_of::<super::super::ChunkIter<'_>>() <= 144);
    }

    #[test]
    fn nothing_or_too_much_is_refused() {
        assert!(encode_packed(&[]).is_none());
        let too_many: Vec<(i64, f64)> = (0..241).map(|i| (i, 1.0)).collect();
        assert!(encode_packed(&too_many).is_none());
    }

    #[test]
    fn every_truncation_is_an_error_without_samples() {
        let samples: Vec<(i64, f64)> = (0..120).map(|i| (i * 15_000 + i % 3, (i as f64).sqrt())).collect();
        for bytes in [
            round_trip(&samples),
            round_trip(&[(1000, 100.0), (16_000, 102.0), (31_000, 105.0)]),
        ] {
            for len in 0..bytes.len() {
                let mut it = PackedIter::new(&bytes[..len]);
                assert_eq!(it.by_ref().count(), 0, "prefix of {len} bytes");
                assert!(it.error());
            }
            // An extra byte after the padding is malformed too.
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(PackedIter::new(&longer).error());
        }
    }

    /// Count 3, decimal mode, t0 0, x0 0, then the given sequences written by `body`.
    fn hand_made(count: u16, body: impl FnOnce(&mut BitWriter<'_>)) -> Vec<u8> {
        let mut bytes = count.to_be_bytes().to_vec();
        bytes.push(0);
        let mut free = 0;
        let mut w = BitWriter::new(&mut bytes, &mut free);
        w.write_varint(0);
        w.write_varint(0);
        body(&mut w);
        bytes
    }

    /// A sequence header without exceptions.
    fn header(w: &mut BitWriter<'_>, base: i64, width: u64) {
        w.write_varint(base);
        w.write_bits(width, 8);
        w.write_uvarint(0);
    }

    /// Two sequences of two deltas with 4-bit slots 1 and 2: time base `time`, value base `value`.
    fn two_by_two(time: i64, value: i64) -> Vec<u8> {
        hand_made(3, |w| {
            header(w, time, 4);
            header(w, value, 4);
            w.write_bits(0x1122, 16); // time 1, value 1, time 2, value 2
        })
    }

    fn decoded(bytes: &[u8]) -> (Vec<(i64, u64)>, bool) {
        let mut it = PackedIter::new(bytes);
        let got = bits(&it.by_ref().collect::<Vec<_>>());
        assert_eq!(bulk(bytes), got, "decode_into yields what iterating yields");
        (got, it.error())
    }

    #[test]
    fn hand_made_chunks_decode_or_fail_as_documented() {
        let good = two_by_two(10, -1);
        assert_eq!(decoded(&good), (bits(&[(0, 0.0), (11, 0.0), (23, 1.0)]), false));
        // Timestamps that do not increase: the samples before are yielded, then the error.
        assert_eq!(decoded(&two_by_two(-2, 0)), (bits(&[(0, 0.0)]), true));
        assert_eq!(decoded(&two_by_two(-1, 0)), (bits(&[(0, 0.0)]), true));
        assert_eq!(
            decoded(&two_by_two(10, 0)),
            (bits(&[(0, 0.0), (11, 1.0), (23, 3.0)]), false)
        );
        // Width over 64 (with enough bits behind it for 65-bit slots).
        let wide = hand_made(2, |w| {
            header(w, 1, 65);
            header(w, 0, 0);
            w.write_bits(0, 65 - 56);
            w.write_bits(0, 56);
        });
        assert_eq!(decoded(&wide), (vec![], true));
        // An exception index beyond the deltas, and more exceptions than deltas.
        let far = hand_made(3, |w| {
            w.write_varint(1);
            w.write_bits(0, 8);
            w.write_uvarint(1);
            w.write_uvarint(2);
            w.write_varint(5);
            header(w, 0, 4);
            w.write_bits(0x12, 8);
        });
        assert_eq!(decoded(&far), (vec![], true));
        let at_last = hand_made(3, |w| {
            w.write_varint(1);
            w.write_bits(0, 8);
            w.write_uvarint(1);
            w.write_uvarint(1);
            w.write_varint(5);
            header(w, 0, 4);
            w.write_bits(0x12, 8);
        });
        assert_eq!(decoded(&at_last), (bits(&[(0, 0.0), (1, 1.0), (6, 3.0)]), false));
        let many = hand_made(2, |w| {
            w.write_varint(1);
            w.write_bits(0, 8);
            w.write_uvarint(2);
            for _ in 0..2 {
                w.write_uvarint(0);
                w.write_varint(5);
            }
            header(w, 0, 8);
            w.write_bits(0, 8);
        });
        assert_eq!(decoded(&many), (vec![], true));
        // Bad counts and modes, too short for a header.
        for (at, byte) in [(0, 0x01), (1, 0x00), (2, 13), (2, 0x80)] {
            let mut bad = good.clone();
            bad[at] = byte;
            if at == 0 {
                bad[1] = 0xf1; // 497 samples
            }
            assert_eq!(decoded(&bad), (vec![], true), "byte {at} = {byte}");
        }
        assert_eq!(decoded(&[0, 1]), (vec![], true));
        assert_eq!(decoded(&[]), (vec![], true));
        // A byte after the padding, and padding that is not zero.
        let mut padded = hand_made(1, |_| {});
        assert_eq!(decoded(&padded), (bits(&[(0, 0.0)]), false));
        padded.push(0x00);
        assert!(decoded(&padded).1);
        let odd = hand_made(2, |w| {
            header(w, 1, 0);
            header(w, 0, 1);
            w.write_bits(0b1011, 4); // slot 1, then padding `011` instead of zeros
        });
        assert_eq!(decoded(&odd), (vec![], true));
    }

    fn timestamps() -> impl Strategy<Value = Vec<i64>> {
        let start = prop_oneof![any::<i64>(), 1_600_000_000_000i64..1_800_000_000_000, Just(i64::MIN)];
        let gap = prop_oneof![
            4 => Just(15_000i64),
            3 => 14_990i64..15_010,
            2 => 1i64..100_000,
            1 => 1i64..=i64::MAX,
        ];
        (start, prop::collection::vec(gap, 0..MAX_SAMPLES_PER_CHUNK)).prop_map(|(start, gaps)| {
            let mut ts = vec![start];
            for g in gaps {
                match ts.last().and_then(|last| last.checked_add(g)) {
                    Some(t) => ts.push(t),
                    None => break,
                }
            }
            ts
        })
    }

    fn raw_values(n: usize) -> impl Strategy<Value = Vec<u64>> {
        let value = prop_oneof![
            any::<u64>(),
            Just(STALE_NAN_BITS),
            prop::sample::select(vec![0u64, 1 << 63, f64::NAN.to_bits(), f64::NEG_INFINITY.to_bits()]),
            (1.0f64..2.0).prop_map(f64::to_bits),
            (0u32..1000).prop_map(|i| f64::from(i).to_bits()),
        ];
        prop::collection::vec(value, n)
    }

    proptest! {
        #[test]
        fn arbitrary_bit_patterns_round_trip(samples in timestamps().prop_flat_map(|ts| {
            let n = ts.len();
            (Just(ts), raw_values(n))
        })) {
            let (ts, vs) = samples;
            let samples: Vec<(i64, f64)> = ts.into_iter().zip(vs).map(|(t, v)| (t, f64::from_bits(v))).collect();
            let bytes = encode_packed(&samples).expect("encodable");
            let mut it = PackedIter::new(&bytes);
            prop_assert_eq!(bits(&it.by_ref().collect::<Vec<_>>()), bits(&samples));
            prop_assert!(!it.error());
            prop_assert_eq!(bulk(&bytes), bits(&samples));
        }

        #[test]
        fn short_decimals_round_trip(
            ts in timestamps(),
            mantissas in prop::collection::vec(prop_oneof![-1_000_000i64..1_000_000, -1i64 << 52..1i64 << 52], 240),
            steps in prop::collection::vec(-300i64..300, 240),
            walk in any::<bool>(),
            exponent in 0usize..=12,
        ) {
            let mut m = mantissas[0];
            let samples: Vec<(i64, f64)> = ts
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    m = if walk { (m + steps[i]).clamp(-(1 << 52), 1 << 52) } else { mantissas[i] };
                    (t, m as f64 / POW10[exponent])
                })
                .collect();
            let bytes = encode_packed(&samples).expect("encodable");
            let mut it = PackedIter::new(&bytes);
            prop_assert_eq!(bits(&it.by_ref().collect::<Vec<_>>()), bits(&samples));
            prop_assert!(!it.error());
            prop_assert_eq!(bulk(&bytes), bits(&samples));
        }

        #[test]
        fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..300), count in 1u16..=240, mode in prop_oneof![0u8..=12, Just(PACKED_RAW_MODE)]) {
            let n = PackedIter::new(&bytes).count();
            prop_assert!(n <= super::super::num_samples(&bytes));
            // Also behind a plausible header, so that decoding gets past it.
            if bytes.len() >= 3 {
                bytes[..2].copy_from_slice(&count.to_be_bytes());
                bytes[2] = mode;
            }
            let samples: Vec<(i64, f64)> = PackedIter::new(&bytes).collect();
            prop_assert!(samples.windows(2).all(|w| w[0].0 < w[1].0));
        }

        #[test]
        fn damaged_chunks_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
            let samples: Vec<(i64, f64)> = (0..60).map(|i| (i * 15_000 + (i % 7), (i as f64).sqrt())).collect();
            let mut bytes = encode_packed(&samples).expect("encodable");
            for (at, mask) in flips {
                let at = at.index(bytes.len());
                bytes[at] ^= mask;
            }
            let mut it = PackedIter::new(&bytes);
            let n = it.by_ref().count();
            prop_assert!(n == super::super::num_samples(&bytes) || it.error());
            // The XOR decoder is unaffected by the same bytes (no shared state).
            let _ = XorIter::new(&bytes).count();
        }
    }
}
