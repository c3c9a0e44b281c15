//! The XOR chunk: an appender that encodes samples as they come and an allocation-free iterator.
//!
//! Timestamps: the first as a zigzag varint, the second as an unsigned varint delta, then
//! delta-of-deltas in buckets `0`, `10`+14, `110`+17, `1110`+20 and `1111`+64 bits. Values: the first
//! as 64 raw bits, then the XOR with the previous value as `0` (same), `10` + the bits inside the
//! previous leading/trailing-zero window, or `11` + 5-bit leading zeros + 6-bit length + the bits.
//! All timestamp arithmetic wraps, so any strictly increasing `i64` sequence round-trips exactly.

use super::MAX_SAMPLES_PER_CHUNK;
use super::bstream::{BitReader, BitWriter};

/// Bytes reserved by the first append (a 120-sample chunk usually needs about as many).
const INITIAL_CAPACITY: usize = 128;
/// Leading-zero marker meaning "no window yet": the first non-zero XOR opens one.
const NO_WINDOW: u8 = 0xff;
/// Bytes of the sample-count header.
const HEADER_LEN: usize = 2;

/// Builds an XOR chunk one sample at a time.
///
/// The encoder state is kept between appends, so appending never re-encodes; [`XorAppender::bytes`]
/// is a complete chunk after every append.
#[derive(Debug, Clone)]
pub struct XorAppender {
    /// Header and bit stream; empty until the first append.
    bytes: Vec<u8>,
    /// Last timestamp.
    t: i64,
    /// Last timestamp delta (wrapping).
    t_delta: u64,
    /// Bits of the last value.
    v: u64,
    /// Unused low bits in the last byte of `bytes`.
    free: u8,
    /// Leading zeros of the current XOR window, or [`NO_WINDOW`].
    leading: u8,
    /// Trailing zeros of the current XOR window.
    trailing: u8,
    /// Samples appended.
    count: u16,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl XorAppender {
    /// An empty chunk; allocates nothing until the first append.
    pub const fn new() -> Self {
        XorAppender {
            bytes: Vec::new(),
            t: 0,
            t_delta: 0,
            v: 0,
            free: 0,
            leading: NO_WINDOW,
            trailing: 0,
            count: 0,
        }
    }

    /// Appends a sample. The caller guarantees `t` is strictly greater than the last timestamp and
    /// cuts a new chunk before [`MAX_SAMPLES_PER_CHUNK`]; a sample past that cap is dropped with an
    /// error log rather than corrupting the chunk.
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        if self.is_full() {
            tracing::error!(timestamp = t, samples = self.count, "chunk is full, sample dropped");
            return;
        }
        debug_assert!(
            self.count == 0 || t > self.t,
            "timestamps must increase: {} after {}",
            t,
            self.t
        );
        // Read the count once up front: reloading it after the byte-sized stores below would stall on
        // store forwarding (the load gets widened over the neighbouring byte fields).
        let count = self.count;
        let bits = v.to_bits();
        if self.bytes.is_empty() {
            self.bytes.reserve_exact(INITIAL_CAPACITY);
            self.bytes.extend_from_slice(&[0; HEADER_LEN]);
        }
        let mut w = BitWriter::new(&mut self.bytes, &mut self.free);
        match count {
            0 => {
                w.write_varint(t);
                w.write_bits(bits, 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.t) as u64;
                w.write_uvarint(delta);
                write_value(&mut w, bits ^ self.v, &mut self.leading, &mut self.trailing);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t) as u64;
                write_dod(&mut w, delta.wrapping_sub(self.t_delta) as i64);
                write_value(&mut w, bits ^ self.v, &mut self.leading, &mut self.trailing);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = bits;
        self.count = count + 1;
        if let Some(header) = self.bytes.first_chunk_mut::<HEADER_LEN>() {
            *header = (count + 1).to_be_bytes();
        }
    }

    /// Samples appended so far.
    pub fn num_samples(&self) -> usize {
        usize::from(self.count)
    }

    /// True when the chunk holds [`MAX_SAMPLES_PER_CHUNK`] samples and accepts no more.
    pub fn is_full(&self) -> bool {
        usize::from(self.count) >= MAX_SAMPLES_PER_CHUNK
    }

    /// Timestamp of the first sample, if any (read back from the encoded bytes).
    pub fn min_time(&self) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        BitReader::new(self.bytes.get(HEADER_LEN..)?).read_varint()
    }

    /// Timestamp of the last sample, if any.
    pub fn max_time(&self) -> Option<i64> {
        (self.count > 0).then_some(self.t)
    }

    /// The last sample appended (timestamp and bit-exact value), if any.
    pub fn last(&self) -> Option<(i64, f64)> {
        (self.count > 0).then_some((self.t, f64::from_bits(self.v)))
    }

    /// The chunk as it stands: a complete, decodable chunk at every moment.
    pub fn bytes(&self) -> &[u8] {
        if self.bytes.is_empty() {
            &[0; HEADER_LEN]
        } else {
            &self.bytes
        }
    }

    /// Empties the chunk but keeps its buffer, so the next chunk of the same series grows into
    /// memory it already has instead of reallocating (which fragments the heap of many series).
    pub fn reset(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        *self = XorAppender {
            bytes,
            ..XorAppender::new()
        };
    }

    /// The chunk's bytes, shrunk to fit.
    pub fn into_bytes(mut self) -> Vec<u8> {
        if self.bytes.is_empty() {
            return vec![0; HEADER_LEN];
        }
        self.bytes.shrink_to_fit();
        self.bytes
    }

    /// Heap bytes held (capacity-based), for memory accounting.
    pub fn heap_size(&self) -> usize {
        self.bytes.capacity()
    }

    /// Bits written so far, header included.
    #[cfg(test)]
    fn bit_len(&self) -> usize {
        self.bytes.len() * 8 - usize::from(self.free)
    }
}

/// True when `x` fits the `n`-bit bucket: `-(2^(n-1) - 1) <= x <= 2^(n-1)`.
#[inline(always)]
fn fits(x: i64, n: u32) -> bool {
    let half = 1i64 << (n - 1);
    -(half - 1) <= x && x <= half
}

/// Writes a timestamp delta-of-delta in the smallest bucket that holds it.
#[inline(always)]
fn write_dod(w: &mut BitWriter<'_>, dod: i64) {
    let raw = dod as u64;
    if dod == 0 {
        w.write_bit(false);
    } else if fits(dod, 14) {
        w.write_bits((0b10 << 14) | (raw & 0x3fff), 16);
    } else if fits(dod, 17) {
        w.write_bits((0b110 << 17) | (raw & 0x1_ffff), 20);
    } else if fits(dod, 20) {
        w.write_bits((0b1110 << 20) | (raw & 0xf_ffff), 24);
    } else {
        w.write_bits(0b1111, 4);
        w.write_bits(raw, 64);
    }
}

/// Writes the XOR of a value with the previous one, updating the leading/trailing-zero window.
#[inline(always)]
fn write_value(w: &mut BitWriter<'_>, xor: u64, leading: &mut u8, trailing: &mut u8) {
    if xor == 0 {
        w.write_bit(false);
        return;
    }
    let lead = xor.leading_zeros().min(31) as u8;
    let trail = xor.trailing_zeros() as u8;
    // With no window yet, `*leading` is NO_WINDOW, above any clamped `lead`.
    if lead >= *leading && trail >= *trailing {
        let sig = 64 - u32::from(*leading) - u32::from(*trailing);
        w.write_bits(0b10, 2);
        w.write_bits(xor >> *trailing, sig);
    } else {
        *leading = lead;
        *trailing = trail;
        let sig = 64 - u32::from(lead) - u32::from(trail);
        // A 64-bit length is stored as 0 in the 6-bit field.
        w.write_bits((0b11 << 11) | (u64::from(lead) << 6) | u64::from(sig & 63), 13);
        w.write_bits(xor >> trail, sig);
    }
}

/// Interprets the low `n` bits of `raw` as a bucket's two's complement value (`2^(n-1)` is positive).
#[inline(always)]
fn bucket_value(raw: u64, n: u32) -> i64 {
    if raw > 1 << (n - 1) {
        raw as i64 - (1i64 << n)
    } else {
        raw as i64
    }
}

/// Iterates over the samples of an XOR chunk without allocating; stops at the first malformed bit.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    t: i64,
    t_delta: u64,
    v: u64,
    /// Samples to yield: the header's count, or the samples read when an error stopped iteration.
    total: u16,
    read: u16,
    leading: u8,
    trailing: u8,
    error: bool,
}

impl<'a> XorIter<'a> {
    /// Starts iterating over `chunk`; never panics, whatever the bytes.
    pub fn new(chunk: &'a [u8]) -> Self {
        let (header, stream, error) = match chunk.split_first_chunk::<HEADER_LEN>() {
            Some((header, stream)) => (u16::from_be_bytes(*header), stream, false),
            None => (0, &[][..], true),
        };
        XorIter {
            r: BitReader::new(stream),
            t: 0,
            t_delta: 0,
            v: 0,
            total: header,
            read: 0,
            leading: NO_WINDOW,
            trailing: 0,
            error,
        }
    }

    /// True if iteration stopped because the bytes were malformed or truncated (including a chunk
    /// shorter than its header, or timestamps that do not increase).
    pub fn error(&self) -> bool {
        self.error
    }

    #[cold]
    fn read_first(&mut self) -> Option<()> {
        self.t = self.r.read_varint()?;
        self.v = self.r.read_bits_wide(64)?;
        Some(())
    }

    #[cold]
    fn read_second(&mut self) -> Option<()> {
        let delta = self.r.read_uvarint()?;
        self.advance(delta)?;
        self.read_value()
    }

    #[inline(always)]
    fn read_next(&mut self) -> Option<()> {
        let dod = match self.r.read_unary(4)? {
            0 => 0,
            1 => bucket_value(self.r.read_bits(14)?, 14),
            2 => bucket_value(self.r.read_bits(17)?, 17),
            3 => bucket_value(self.r.read_bits(20)?, 20),
            _ => self.r.read_bits_wide(64)? as i64,
        };
        self.advance(self.t_delta.wrapping_add(dod as u64))?;
        self.read_value()
    }

    /// Moves the timestamp on by `delta`; `None` unless the result is greater.
    #[inline(always)]
    fn advance(&mut self, delta: u64) -> Option<()> {
        let t = self.t.wrapping_add(delta as i64);
        if t <= self.t {
            return None;
        }
        self.t = t;
        self.t_delta = delta;
        Some(())
    }

    #[inline(always)]
    fn read_value(&mut self) -> Option<()> {
        match self.r.read_unary(2)? {
            0 => {}
            1 => {
                if self.leading == NO_WINDOW {
                    return None;
                }
                let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
                self.v ^= self.r.read_bits_wide(sig)? << self.trailing;
            }
            _ => {
                let header = self.r.read_bits(11)?;
                let lead = (header >> 6) as u32;
                let sig = match (header & 63) as u32 {
                    0 => 64,
                    n => n,
                };
                if lead + sig > 64 {
                    return None;
                }
                let trail = 64 - lead - sig;
                self.v ^= self.r.read_bits_wide(sig)? << trail;
                self.leading = lead as u8;
                self.trailing = trail as u8;
            }
        }
        Some(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = (i64, f64);

    #[inline(always)]
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.read >= self.total {
            return None;
        }
        let ok = match self.read {
            0 => self.read_first(),
            1 => self.read_second(),
            _ => self.read_next(),
        };
        if ok.is_none() {
            self.error = true;
            self.total = self.read;
            return None;
        }
        self.read += 1;
        Some((self.t, f64::from_bits(self.v)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.total - self.read)))
    }
}

impl std::iter::FusedIterator for XorIter<'_> {}

#[cfg(test)]
mod tests {
    use super::super::{decode, num_samples};
    use super::*;
    use crate::sample::STALE_NAN_BITS;
    use proptest::prelude::*;

    fn encode(samples: &[(i64, u64)]) -> XorAppender {
        let mut app = XorAppender::new();
        for &(t, bits) in samples {
            app.append(t, f64::from_bits(bits));
        }
        app
    }

    fn as_bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
    }

    fn round_trip(samples: &[(i64, u64)]) {
        let app = encode(samples);
        assert_eq!(num_samples(app.bytes()), samples.len());
        let got = decode(app.bytes()).map(|s| as_bits(&s));
        assert_eq!(got.as_deref(), Some(samples));
    }

    /// Bits each sample added to the stream.
    fn costs(samples: &[(i64, u64)]) -> Vec<usize> {
        let mut app = XorAppender::new();
        let mut last = HEADER_LEN * 8;
        let mut out = Vec::new();
        for &(t, bits) in samples {
            app.append(t, f64::from_bits(bits));
            out.push(app.bit_len() - last);
            last = app.bit_len();
        }
        round_trip(samples);
        out
    }

    #[test]
    fn appender_stays_small() {
        assert_eq!(std::mem::size_of::<XorAppender>(), 56);
    }

    #[test]
    fn empty_chunk() {
        let app = XorAppender::new();
        assert_eq!(app.bytes(), &[0, 0]);
        assert_eq!(
            (app.num_samples(), app.min_time(), app.max_time(), app.heap_size()),
            (0, None, None, 0)
        );
        assert_eq!(decode(app.bytes()), Some(vec![]));
        assert_eq!(XorAppender::default().into_bytes(), vec![0, 0]);
    }

    #[test]
    fn one_and_two_samples_have_the_documented_bytes() {
        let mut app = XorAppender::new();
        app.append(1000, 1.0);
        // count 1 | zigzag varint 2000 | 1.0 as raw bits
        assert_eq!(app.bytes(), &[0, 1, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        assert_eq!((app.min_time(), app.max_time()), (Some(1000), Some(1000)));
        app.append(1015, 1.0);
        // count 2 | ... | uvarint 15 | value unchanged `0`, padded
        assert_eq!(
            app.bytes(),
            &[0, 2, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0f, 0x00]
        );
        assert_eq!((app.min_time(), app.max_time()), (Some(1000), Some(1015)));
        assert_eq!(decode(app.bytes()), Some(vec![(1000, 1.0), (1015, 1.0)]));
        assert!(app.heap_size() >= INITIAL_CAPACITY);
        assert_eq!(app.clone().into_bytes(), app.bytes());
    }

    #[test]
    fn negative_dod_is_written_in_twos_complement() {
        let app = encode(&[(0, 0), (10, 0), (19, 0)]);
        // ... uvarint 10 | `0` | `10` + 14 ones (dod -1) | `0`
        let expected = [0, 3, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x5f, 0xff, 0x80];
        assert_eq!(app.bytes(), &expected);
    }

    #[test]
    fn dod_buckets_switch_at_their_boundaries() {
        let cases: [(i64, usize); 15] = [
            (0, 1),
            (1, 16),
            (-1, 16),
            (8192, 16),
            (-8191, 16),
            (8193, 20),
            (-8192, 20),
            (65536, 20),
            (-65535, 20),
            (65537, 24),
            (-65536, 24),
            (524288, 24),
            (-524287, 24),
            (524289, 68),
            (-524288, 68),
        ];
        let step = 10_000_000;
        for (dod, dod_bits) in cases {
            let samples = [(0, 7), (step, 7), (2 * step + dod, 7)];
            // plus one bit for the unchanged value
            assert_eq!(costs(&samples)[2], dod_bits + 1, "dod {dod}");
        }
    }

    #[test]
    fn value_buckets_and_windows() {
        let t = |i: i64| i * 10;
        // first XOR `1`: 63 leading zeros clamped to 31, so 33 significant bits (8 bits of delta first)
        assert_eq!(costs(&[(t(0), 0), (t(1), 1)]), vec![72, 8 + 13 + 33]);
        // 64 significant bits are stored as length 0: `11` 00000 000000 then the bits, from byte 12 on
        let app = encode(&[(t(0), 0), (t(1), 0x8000_0000_0000_0001)]);
        assert_eq!(app.bytes()[12..14], [0b1100_0000, 0b0000_0100]);
        assert_eq!(costs(&[(t(0), 0), (t(1), 0x8000_0000_0000_0001)])[1], 8 + 13 + 64);
        // a window of 25 bits (31 leading, 8 trailing) reused while new XORs fit inside it
        let c = costs(&[
            (t(0), 0),
            (t(1), 0xff00),
            (t(2), 0x0f00),
            (t(3), 0xf000),
            (t(4), 0xf000),
        ]);
        assert_eq!(c[1..], [8 + 13 + 25, 1 + 2 + 25, 1 + 2 + 25, 1 + 1]);
        // fewer trailing zeros or fewer leading zeros open a new window
        assert_eq!(
            costs(&[(t(0), 0), (t(1), 0xf000), (t(2), 0xf001)])[1..],
            [8 + 13 + 21, 1 + 13 + 33]
        );
        assert_eq!(
            costs(&[(t(0), 0), (t(1), 1 << 40), (t(2), 1 << 40 | 1 << 62)])[1..],
            [8 + 13 + 1, 1 + 13 + 1]
        );
    }

    #[test]
    fn special_values_survive_bit_exact() {
        let specials = [
            STALE_NAN_BITS,
            f64::NAN.to_bits(),
            0x7ff8_0000_0000_0001,
            0xfff8_dead_beef_0001,
            0x7ff0_0000_0000_0001,
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            (-0.0f64).to_bits(),
            0,
            1,
            f64::MAX.to_bits(),
            STALE_NAN_BITS,
            STALE_NAN_BITS,
            42.5f64.to_bits(),
            STALE_NAN_BITS,
        ];
        let samples: Vec<_> = specials
            .iter()
            .enumerate()
            .map(|(i, &b)| (i as i64 * 15_000, b))
            .collect();
        round_trip(&samples);
        let app = encode(&samples);
        let stale = XorIter::new(app.bytes())
            .filter(|&(_, v)| crate::sample::is_stale_nan(v))
            .count();
        assert_eq!(stale, 4);
    }

    #[test]
    fn extreme_timestamps_round_trip() {
        round_trip(&[(i64::MIN, 1), (i64::MAX, 2)]);
        round_trip(&[(i64::MIN, 1), (i64::MIN + 1, 2), (i64::MAX, 3)]);
        round_trip(&[(-5, 1), (-3, 1), (0, 1), (i64::MAX - 1, 1), (i64::MAX, 1)]);
        round_trip(&[(i64::MIN, 0), (-1, 0), (0, 0), (1, 0), (i64::MAX, 0)]);
    }

    #[test]
    fn full_chunk_of_240_samples() {
        let mut app = XorAppender::new();
        let mut expected = Vec::new();
        for i in 0..MAX_SAMPLES_PER_CHUNK as i64 {
            let s = (1_700_000_000_000 + i * 15_000 + (i % 3), (i * i) as f64 / 7.0);
            app.append(s.0, s.1);
            expected.push(s);
            // decodable after every append
            assert_eq!(decode(app.bytes()).as_ref().map(Vec::len), Some(expected.len()));
        }
        assert!(app.is_full());
        let before = app.bytes().to_vec();
        app.append(i64::MAX, 1.0);
        assert_eq!(app.bytes(), &before[..]);
        assert_eq!(app.num_samples(), 240);
        assert_eq!(decode(app.bytes()).map(|s| as_bits(&s)), Some(as_bits(&expected)));
        assert_eq!(app.min_time(), Some(1_700_000_000_000));
    }

    #[test]
    fn truncated_or_overcounted_chunks_are_errors() {
        let samples: Vec<_> = (0..120)
            .map(|i| (i * 15_000 + (i % 5) * 3, (i as f64 * 1.5).to_bits()))
            .collect();
        let bytes = encode(&samples).into_bytes();
        for k in 0..bytes.len() {
            assert_eq!(decode(&bytes[..k]), None, "prefix of {k} bytes");
            let mut it = XorIter::new(&bytes[..k]);
            assert!(it.by_ref().count() < 120);
            assert!(it.error());
        }
        let mut it = XorIter::new(&bytes);
        assert_eq!(it.by_ref().count(), 120);
        assert!(!it.error());
        // four more samples need at least 8 more bits than the at most 7 bits of padding
        let mut over = bytes.clone();
        over[..2].copy_from_slice(&124u16.to_be_bytes());
        assert_eq!(decode(&over), None);
        // (zero padding may itself read as up to three unchanged samples)
        assert!((120..124).contains(&XorIter::new(&over).count()));
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0]), None);
        assert_eq!(decode(&[0xff, 0xff]), None);
        assert_eq!(
            (num_samples(&[]), num_samples(&[7]), num_samples(&[1, 2, 3])),
            (0, 0, 258)
        );
    }

    #[test]
    fn malformed_streams_are_errors() {
        // `10` (reuse) before any window exists
        let mut app = encode(&[(0, 0)]);
        let mut w = BitWriter::new(&mut app.bytes, &mut app.free);
        w.write_uvarint(5);
        w.write_bits(0b10, 2);
        w.write_bits(0, 64);
        app.bytes[..2].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(decode(&app.bytes), None);
        // a window of 31 leading zeros and 40 significant bits does not fit in 64
        let mut app = encode(&[(0, 0)]);
        let mut w = BitWriter::new(&mut app.bytes, &mut app.free);
        w.write_uvarint(5);
        w.write_bits((0b11 << 11) | (31 << 6) | 40, 13);
        w.write_bits(0, 64);
        app.bytes[..2].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(decode(&app.bytes), None);
        // a zero delta does not advance time
        let mut app = encode(&[(0, 0)]);
        let mut w = BitWriter::new(&mut app.bytes, &mut app.free);
        w.write_uvarint(0);
        w.write_bit(false);
        app.bytes[..2].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(decode(&app.bytes), None);
    }

    fn timestamps() -> impl Strategy<Value = Vec<i64>> {
        let start = prop_oneof![any::<i64>(), -1_000_000_000_000i64..2_000_000_000_000, Just(i64::MIN)];
        let gap = prop_oneof![
            4 => Just(15_000i64),
            4 => 1i64..100_000,
            1 => 1i64..=i64::MAX,
            1 => (0u32..62).prop_flat_map(|shift| 1i64..=(1i64 << shift).max(1)),
        ];
        (start, prop::collection::vec(gap, 0..MAX_SAMPLES_PER_CHUNK)).prop_map(|(start, gaps)| {
            let mut ts = vec![start];
            for g in gaps {
                let Some(&last) = ts.last() else { break };
                match last.checked_add(g) {
                    Some(t) => ts.push(t),
                    None => break,
                }
            }
            ts
        })
    }

    fn values(n: usize) -> impl Strategy<Value = Vec<u64>> {
        let value = prop_oneof![
            any::<u64>(),
            Just(STALE_NAN_BITS),
            prop::sample::select(vec![
                0u64,
                1.0f64.to_bits(),
                f64::NAN.to_bits(),
                f64::INFINITY.to_bits()
            ]),
            (0u32..1000).prop_map(|i| f64::from(i).to_bits()),
        ];
        prop::collection::vec(value, n)
    }

    proptest! {
        #[test]
        fn random_chunks_round_trip(samples in timestamps().prop_flat_map(|ts| {
            let n = ts.len();
            (Just(ts), values(n))
        })) {
            let (ts, vs) = samples;
            let samples: Vec<(i64, u64)> = ts.into_iter().zip(vs).collect();
            let app = encode(&samples);
            prop_assert_eq!(app.min_time(), samples.first().map(|s| s.0));
            prop_assert_eq!(app.max_time(), samples.last().map(|s| s.0));
            let got = decode(app.bytes()).map(|s| as_bits(&s));
            prop_assert_eq!(got.as_deref(), Some(&samples[..]));
        }

        #[test]
        fn damaged_chunks_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
            let samples: Vec<_> = (0..60).map(|i| (i * 15_000 + (i % 7), (i as f64).sqrt().to_bits())).collect();
            let mut bytes = encode(&samples).into_bytes();
            for (at, mask) in flips {
                let at = at.index(bytes.len());
                bytes[at] ^= mask;
            }
            let n = XorIter::new(&bytes).count();
            prop_assert_eq!(decode(&bytes).map(|s| s.len()), (n == num_samples(&bytes)).then_some(n));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let n = XorIter::new(&bytes).count();
            prop_assert!(n <= num_samples(&bytes));
            match decode(&bytes) {
                Some(samples) => {
                    prop_assert_eq!(samples.len(), num_samples(&bytes));
                    prop_assert!(samples.windows(2).all(|w| w[0].0 < w[1].0));
                }
                None => prop_assert!(n < num_samples(&bytes) || bytes.len() < 2),
            }
        }
    }
}
