//! Bit-level writer and reader for chunk streams (most significant bit first).
//!
//! The writer appends straight into the chunk's byte vector so that the bytes are a complete,
//! zero-padded stream after every call. It borrows its state from the owner (see [`BitWriter`]) so
//! that the appender, which exists once per series in the head, stays as small as possible.
//!
//! The reader keeps up to 64 not yet consumed bits in a left-aligned `u64` and refills it eight bytes
//! at a time, so most reads are a shift and a compare. It never reads past the slice and reports
//! running out of bits as `None`.

/// Appends bits to a byte vector; a borrowed view over the owner's vector and padding count.
///
/// `free` is the number of unused low bits in the last byte of `bytes` (0 when the stream ends on a
/// byte boundary). Unused bits are always zero.
pub(crate) struct BitWriter<'a> {
    bytes: &'a mut Vec<u8>,
    free: &'a mut u8,
}

/// Bytes added when a chunk buffer is full: small steps instead of doubling keep the slack of
/// the head's many open chunks low (a few reallocations per chunk are cheap).
const GROWTH_STEP: usize = 64;

#[inline(always)]
fn grow(bytes: &mut Vec<u8>) {
    if bytes.len() == bytes.capacity() {
        bytes.reserve_exact(GROWTH_STEP);
    }
}

impl<'a> BitWriter<'a> {
    /// Wraps the owner's vector and its count of unused bits in the last byte.
    #[inline(always)]
    pub(crate) fn new(bytes: &'a mut Vec<u8>, free: &'a mut u8) -> Self {
        debug_assert!(*free < 8);
        debug_assert!(*free == 0 || !bytes.is_empty());
        BitWriter { bytes, free }
    }

    /// Appends one bit.
    #[inline(always)]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        if *self.free == 0 {
            grow(self.bytes);
            self.bytes.push((bit as u8) << 7);
            *self.free = 7;
        } else {
            *self.free -= 1;
            if let Some(last) = self.bytes.last_mut() {
                *last |= (bit as u8) << *self.free;
            }
        }
    }

    /// Appends the low `n` bits of `value` (`n <= 64`), most significant first.
    #[inline(always)]
    pub(crate) fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let value = if n < 64 { value & ((1u64 << n) - 1) } else { value };
        let free = u32::from(*self.free);
        if n <= free {
            // Fits in the unused bits of the last byte (`free > 0`, so there is one).
            if let Some(last) = self.bytes.last_mut() {
                *last |= (value << (free - n)) as u8;
            }
            *self.free = (free - n) as u8;
            return;
        }
        let rest = n - free;
        if free > 0 {
            // The top `free` of the `n` bits complete the last byte; `value >> rest < 2^free`.
            if let Some(last) = self.bytes.last_mut() {
                *last |= (value >> rest) as u8;
            }
        }
        // The remaining `rest` (1..=64) bits, left-aligned: append a whole word and keep only the
        // bytes that carry them, which compiles to one 8-byte store instead of a byte loop.
        let word = value << (64 - rest);
        let len = self.bytes.len() + rest.div_ceil(8) as usize;
        if self.bytes.capacity() - self.bytes.len() < 8 {
            self.bytes.reserve_exact(GROWTH_STEP);
        }
        self.bytes.extend_from_slice(&word.to_be_bytes());
        self.bytes.truncate(len);
        *self.free = (rest.div_ceil(8) * 8 - rest) as u8;
    }

    /// Appends `x` as an unsigned LEB128 varint (7 bits per byte, low groups first).
    pub(crate) fn write_uvarint(&mut self, mut x: u64) {
        while x >= 0x80 {
            self.write_bits((x as u8 | 0x80).into(), 8);
            x >>= 7;
        }
        self.write_bits(x, 8);
    }

    /// Appends `x` as a zigzag-encoded signed varint (0, -1, 1, -2… map to 0, 1, 2, 3…).
    pub(crate) fn write_varint(&mut self, x: i64) {
        self.write_uvarint(((x << 1) ^ (x >> 63)) as u64);
    }
}

/// Largest number of bits [`BitReader::read_bits`] returns at once.
pub(crate) const MAX_FAST_BITS: u32 = 56;

/// Reads bits from a byte slice, most significant first, through a 64-bit buffer.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the first byte of `data` not yet accounted for in `valid`.
    pos: usize,
    /// Left-aligned: the top `valid` bits are the next stream bits. Bits below them are either zero
    /// or the stream's following bits at their right place (loaded ahead), never anything else.
    buf: u64,
    valid: u32,
}

impl<'a> BitReader<'a> {
    /// Starts reading at the first bit of `data`.
    #[inline]
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            buf: 0,
            valid: 0,
        }
    }

    /// Tops the buffer up to at least 56 valid bits, or with all the remaining bytes near the end.
    #[inline(always)]
    fn refill(&mut self) {
        debug_assert!(self.valid < 64);
        if let Some(word) = self.data.get(self.pos..).and_then(|rest| rest.first_chunk::<8>()) {
            // Load eight bytes at once; account only for the whole bytes that fit. The part of the
            // next byte that also lands in the buffer is real stream data at its right place.
            self.buf |= u64::from_be_bytes(*word) >> self.valid;
            self.pos += ((63 - self.valid) >> 3) as usize;
            self.valid |= 56;
        } else {
            self.refill_tail();
        }
    }

    /// Loads the last (fewer than eight) bytes one at a time.
    #[cold]
    fn refill_tail(&mut self) {
        while self.valid <= 56 {
            let Some(&byte) = self.data.get(self.pos) else { break };
            self.buf |= u64::from(byte) << (56 - self.valid);
            self.pos += 1;
            self.valid += 8;
        }
    }

    /// Reads `n` bits (`1 <= n <= 56`); `None` if the stream has fewer left.
    #[inline(always)]
    pub(crate) fn read_bits(&mut self, n: u32) -> Option<u64> {
        debug_assert!((1..=MAX_FAST_BITS).contains(&n));
        if self.valid < n {
            self.refill();
            if self.valid < n {
                return None;
            }
        }
        let value = self.buf >> (64 - n);
        self.buf <<= n;
        self.valid -= n;
        Some(value)
    }

    /// Reads `n` bits for any `n <= 64` (0 gives 0); `None` if the stream has fewer left.
    #[inline(always)]
    pub(crate) fn read_bits_wide(&mut self, n: u32) -> Option<u64> {
        debug_assert!(n <= 64);
        if n == 0 {
            Some(0)
        } else if n <= MAX_FAST_BITS {
            self.read_bits(n)
        } else {
            let high = self.read_bits(n - 32)?;
            let low = self.read_bits(32)?;
            Some((high << 32) | low)
        }
    }

    /// Reads a prefix of up to `max` one bits ended by a zero bit (`max <= 8`) and returns the number
    /// of ones; the terminating zero is consumed, and there is none after `max` ones.
    #[inline(always)]
    pub(crate) fn read_unary(&mut self, max: u32) -> Option<u32> {
        debug_assert!((1..=8).contains(&max));
        if self.valid < max {
            self.refill();
        }
        let ones = (!self.buf).leading_zeros().min(max);
        let used = if ones < max { ones + 1 } else { max };
        if used > self.valid {
            return None;
        }
        self.buf <<= used;
        self.valid -= used;
        Some(ones)
    }

    /// Bits read so far (skipped ones included).
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos * 8 - self.valid as usize
    }

    /// Bits not yet read.
    #[inline]
    pub(crate) fn remaining_bits(&self) -> usize {
        self.valid as usize + (self.data.len() - self.pos) * 8
    }

    /// Skips `n` bits; `None` (and the reader is then at the end) if the stream has fewer left.
    pub(crate) fn skip_bits(&mut self, n: usize) -> Option<()> {
        if n <= self.valid as usize {
            // `n` may be 64 when the tail loader filled the whole buffer.
            self.buf = self.buf.checked_shl(n as u32).unwrap_or(0);
            self.valid -= n as u32;
            return Some(());
        }
        let beyond = n - self.valid as usize;
        self.buf = 0;
        self.valid = 0;
        let bytes = beyond / 8;
        if bytes > self.data.len() - self.pos {
            self.pos = self.data.len();
            return None;
        }
        self.pos += bytes;
        match (beyond % 8) as u32 {
            0 => Some(()),
            rest => self.read_bits(rest).map(drop),
        }
    }

    /// Reads an unsigned LEB128 varint of at most ten bytes; `None` if truncated or over 64 bits.
    pub(crate) fn read_uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for i in 0..10u32 {
            let byte = self.read_bits(8)?;
            if byte < 0x80 {
                if i == 9 && byte > 1 {
                    return None;
                }
                return Some(x | (byte << (7 * i)));
            }
            x |= (byte & 0x7f) << (7 * i);
        }
        None
    }

    /// Reads a zigzag-encoded signed varint; `None` if truncated or over 64 bits.
    pub(crate) fn read_varint(&mut self) -> Option<i64> {
        let ux = self.read_uvarint()?;
        let x = (ux >> 1) as i64;
        Some(if ux & 1 != 0 { !x } else { x })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(ops: &[(u64, u32)]) -> (Vec<u8>, u8) {
        let (mut bytes, mut free) = (Vec::new(), 0u8);
        let mut w = BitWriter::new(&mut bytes, &mut free);
        for &(v, n) in ops {
            if n == 1 {
                w.write_bit(v & 1 == 1);
            } else {
                w.write_bits(v, n);
            }
        }
        (bytes, free)
    }

    #[test]
    fn writes_msb_first_and_pads_with_zeros() {
        let (bytes, free) = written(&[(1, 1), (0b01, 2), (0xabc, 12), (0xffff_ffff_ffff_ffff, 3)]);
        // 1 01 1010_1011_1100 111 -> 1011_0101 | 0111_1001 | 11(00_0000)
        assert_eq!(bytes, vec![0b1011_0101, 0b0111_1001, 0b1100_0000]);
        assert_eq!(free, 6);
        let (bytes, free) = written(&[(0x0123_4567_89ab_cdef, 64), (0, 0)]);
        assert_eq!(bytes, vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(free, 0);
    }

    #[test]
    fn varints_match_the_leb128_and_zigzag_layout() {
        let (bytes, _) = {
            let (mut bytes, mut free) = (Vec::new(), 0u8);
            let mut w = BitWriter::new(&mut bytes, &mut free);
            w.write_uvarint(300);
            w.write_varint(-1);
            w.write_varint(1000);
            w.write_uvarint(u64::MAX);
            (bytes, free)
        };
        let mut expected = vec![0xac, 0x02, 0x01, 0xd0, 0x0f];
        expected.extend([0xff; 9]);
        expected.push(0x01);
        assert_eq!(bytes, expected);
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_uvarint(), Some(300));
        assert_eq!(r.read_varint(), Some(-1));
        assert_eq!(r.read_varint(), Some(1000));
        assert_eq!(r.read_uvarint(), Some(u64::MAX));
        assert_eq!(r.read_bits(1), None);
    }

    #[test]
    fn rejects_overlong_and_truncated_varints() {
        let mut overlong = vec![0xff; 9];
        overlong.push(0x02);
        assert_eq!(BitReader::new(&overlong).read_uvarint(), None);
        assert_eq!(BitReader::new(&[0xff; 11]).read_uvarint(), None);
        assert_eq!(BitReader::new(&[0x80, 0x80]).read_uvarint(), None);
    }

    #[test]
    #[allow(clippy::unusual_byte_groupings, reason = "groups show the prefixes")]
    fn unary_prefix_stops_at_max_or_end() {
        // 0 | 10 | 110 | 1110 | 1111 | 1111 -> 0, 1, 2, 3, 4, 4, then six padding bits and the end.
        let (bytes, _) = written(&[(0b0_10_110_1110_1111_1111, 18)]);
        let mut r = BitReader::new(&bytes);
        let got: Vec<_> = (0..6).map(|_| r.read_unary(4)).collect();
        assert_eq!(got, vec![Some(0), Some(1), Some(2), Some(3), Some(4), Some(4)]);
        assert_eq!(r.read_bits(6), Some(0));
        assert_eq!(r.read_unary(4), None);
        assert_eq!(BitReader::new(&[0xff]).read_unary(8), Some(8));
        assert_eq!(BitReader::new(&[0xfe]).read_unary(8), Some(7));
        assert_eq!(BitReader::new(&[]).read_unary(2), None);
    }

    #[test]
    fn wide_reads_cross_the_buffer() {
        let (bytes, _) = written(&[(0b101, 3), (u64::MAX - 5, 64), (0x1234, 61)]);
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(3), Some(0b101));
        assert_eq!(r.read_bits_wide(64), Some(u64::MAX - 5));
        assert_eq!(r.read_bits_wide(61), Some(0x1234));
        assert_eq!(r.read_bits_wide(0), Some(0));
        assert_eq!(r.read_bits(5), None);
    }

    #[test]
    fn skips_across_the_buffer_and_counts_what_is_left() {
        let ops: Vec<(u64, u32)> = (0..40).map(|i| (i * 37 + 5, (i % 13) as u32 + 1)).collect();
        let (bytes, free) = written(&ops);
        let total: usize = ops.iter().map(|&(_, n)| n as usize).sum();
        assert_eq!(bytes.len() * 8 - usize::from(free), total);
        // Skip every other field and read the rest.
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.remaining_bits(), bytes.len() * 8);
        let mut used = 0;
        for (i, &(v, n)) in ops.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(r.skip_bits(n as usize), Some(()));
            } else {
                assert_eq!(r.read_bits(n), Some(v & ((1 << n) - 1)));
            }
            used += n as usize;
            assert_eq!(r.remaining_bits(), bytes.len() * 8 - used);
            assert_eq!(r.position(), used);
        }
        // Long skips, then past the end.
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(3).map(|_| ()), Some(()));
        assert_eq!(r.skip_bits(100), Some(()));
        assert_eq!(r.remaining_bits(), bytes.len() * 8 - 103);
        assert_eq!(r.skip_bits(r.remaining_bits() + 1), None);
        assert_eq!(r.remaining_bits(), 0);
        let mut r = BitReader::new(&[0xff; 8]);
        assert_eq!(r.skip_bits(64), Some(()));
        assert_eq!(r.read_bits(1), None);
        let mut r = BitReader::new(&[0xab, 0xcd]);
        assert_eq!(r.skip_bits(0), Some(()));
        assert_eq!(r.skip_bits(4), Some(()));
        assert_eq!(r.read_bits(8), Some(0xbc));
        assert_eq!(r.skip_bits(5), None);
    }

    proptest! {
        #[test]
        fn reads_back_what_was_written(ops in prop::collection::vec((any::<u64>(), 0u32..=64), 0..200)) {
            let (bytes, free) = written(&ops);
            let total: u32 = ops.iter().map(|&(_, n)| n).sum();
            prop_assert_eq!(bytes.len() as u64 * 8 - u64::from(free), u64::from(total));
            let mut r = BitReader::new(&bytes);
            for &(v, n) in &ops {
                let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.read_bits_wide(n), Some(v & mask));
            }
            if free > 0 {
                prop_assert_eq!(r.read_bits(u32::from(free)), Some(0));
            }
            prop_assert_eq!(r.read_bits(1), None);
        }
    }
}
