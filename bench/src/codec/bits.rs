//! Bit writer and reader for the candidate codec (most significant bit first).
//!
//! The writer gathers bits in a `u64` and appends it to its byte vector eight bytes at a time; the
//! reader keeps up to 64 unread bits left-aligned in a `u64` and refills it from the slice, eight
//! bytes at a time where it can. Running out of bits is reported as `None`, never a panic.

/// Mask of the low `n` bits (`n <= 64`).
#[inline(always)]
fn low_mask(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// Builds a bit stream in a byte vector.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    out: Vec<u8>,
    /// Pending bits, right-aligned: the low `filled` bits.
    acc: u64,
    /// Number of pending bits, always below 64.
    filled: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        BitWriter::default()
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> u64 {
        self.out.len() as u64 * 8 + u64::from(self.filled)
    }

    /// Appends the low `n` bits of `value` (`n <= 64`), most significant first.
    #[inline(always)]
    pub fn write(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let value = value & low_mask(n);
        let free = 64 - self.filled;
        if n < free {
            self.acc = (self.acc << n) | value;
            self.filled += n;
        } else {
            // `rest < 64` because `free >= 1`.
            let rest = n - free;
            let word = self.acc.checked_shl(free).unwrap_or(0) | (value >> rest);
            self.out.extend_from_slice(&word.to_be_bytes());
            self.acc = value & low_mask(rest);
            self.filled = rest;
        }
    }

    /// Appends one bit.
    #[inline(always)]
    pub fn write_bit(&mut self, bit: bool) {
        self.write(u64::from(bit), 1);
    }

    /// The stream, zero-padded to a whole byte.
    pub fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            let word = self.acc << (64 - self.filled);
            let bytes = self.filled.div_ceil(8) as usize;
            self.out.extend_from_slice(&word.to_be_bytes()[..bytes]);
        }
        self.out
    }
}

/// Reads a bit stream from a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load.
    next: usize,
    /// Unread bits, left-aligned; bits below the top `avail` are zero.
    acc: u64,
    /// Number of unread bits in `acc`.
    avail: u32,
}

impl<'a> BitReader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            next: 0,
            acc: 0,
            avail: 0,
        }
    }

    /// Loads bytes until at least 57 bits are available or the slice is exhausted.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.next..self.next + 8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            let word = u64::from_be_bytes(bytes);
            let take = (64 - self.avail) / 8;
            let new_avail = self.avail + take * 8;
            // `avail < 64` whenever refill is called, so the shift is in range.
            let keep = if new_avail >= 64 {
                u64::MAX
            } else {
                !(u64::MAX >> new_avail)
            };
            self.acc = (self.acc | (word >> self.avail)) & keep;
            self.avail = new_avail;
            self.next += take as usize;
        } else {
            while self.avail <= 56 {
                let Some(&byte) = self.data.get(self.next) else {
                    break;
                };
                self.acc |= u64::from(byte) << (56 - self.avail);
                self.avail += 8;
                self.next += 1;
            }
        }
    }

    /// Reads `n` bits (`n <= 64`); `None` when the stream has fewer left.
    #[inline(always)]
    pub fn read(&mut self, n: u32) -> Option<u64> {
        debug_assert!(n <= 64);
        if n == 0 {
            return Some(0);
        }
        if n > self.avail {
            self.refill();
            if n > self.avail {
                // After a refill fewer than 57 bits means the end of the slice, unless `n` is that large.
                if n > 32 && self.next < self.data.len() {
                    let high = self.read(n - 32)?;
                    let low = self.read(32)?;
                    return Some((high << 32) | low);
                }
                return None;
            }
        }
        let value = self.acc >> (64 - n);
        self.acc = self.acc.checked_shl(n).unwrap_or(0);
        self.avail -= n;
        Some(value)
    }

    /// Reads one bit.
    #[inline(always)]
    pub fn read_bit(&mut self) -> Option<bool> {
        self.read(1).map(|b| b == 1)
    }

    /// Reads up to `max` one bits followed by a zero (which is consumed unless `max` ones were read)
    /// and returns the count of ones: the prefix of a bucketed field.
    #[inline(always)]
    pub fn read_unary(&mut self, max: u32) -> Option<u32> {
        debug_assert!(max <= 8);
        if self.avail < max {
            self.refill();
        }
        if self.avail >= max {
            // Fast path: count leading ones within the window.
            let ones = (!self.acc).leading_zeros().min(max);
            let used = if ones == max { ones } else { ones + 1 };
            self.acc <<= used;
            self.avail -= used;
            return Some(ones);
        }
        let mut ones = 0;
        while ones < max {
            if !self.read_bit()? {
                break;
            }
            ones += 1;
        }
        Some(ones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_msb_first_and_pads() {
        let mut w = BitWriter::new();
        w.write(0b101, 3);
        w.write(0xff, 8);
        w.write_bit(false);
        w.write(0x3, 2);
        assert_eq!(w.bit_len(), 14);
        assert_eq!(w.finish(), vec![0b1011_1111, 0b1110_1100]);
    }

    #[test]
    fn crosses_the_accumulator_boundary() {
        let mut w = BitWriter::new();
        w.write(1, 1);
        w.write(u64::MAX, 64);
        w.write(0, 7);
        let bytes = w.finish();
        assert_eq!(bytes, vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80]);
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read(1), Some(1));
        assert_eq!(r.read(64), Some(u64::MAX));
        assert_eq!(r.read(7), Some(0));
        assert_eq!(r.read(1), None);
    }

    #[test]
    fn reads_unary_prefixes() {
        let mut w = BitWriter::new();
        for bits in [(0b0, 1), (0b10, 2), (0b110, 3), (0b1110, 4), (0b1111, 4)] {
            w.write(bits.0, bits.1);
        }
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        let got: Vec<_> = (0..5).map(|_| r.read_unary(4)).collect();
        assert_eq!(got, vec![Some(0), Some(1), Some(2), Some(3), Some(4)]);
        // Only padding is left: zeros read as `0` prefixes until the slice ends.
        assert_eq!(r.read_unary(4), Some(0));
        assert_eq!(r.read(8), None);
    }

    #[test]
    fn empty_input_reads_nothing() {
        let mut r = BitReader::new(&[]);
        assert_eq!(r.read(1), None);
        assert_eq!(r.read_unary(4), None);
        assert_eq!(r.read(0), Some(0));
    }

    proptest! {
        #[test]
        fn round_trips(fields in prop::collection::vec((any::<u64>(), 0u32..=64), 0..200)) {
            let mut w = BitWriter::new();
            for &(v, n) in &fields {
                w.write(v, n);
            }
            let bits = w.bit_len();
            let bytes = w.finish();
            prop_assert_eq!(bytes.len() as u64, bits.div_ceil(8));
            let mut r = BitReader::new(&bytes);
            for &(v, n) in &fields {
                prop_assert_eq!(r.read(n), Some(v & low_mask(n)));
            }
            let padding = (bytes.len() as u64 * 8 - bits) as u32;
            prop_assert_eq!(r.read(padding), Some(0));
            prop_assert_eq!(r.read(1), None);
        }
    }
}
