//! Fuzzes the chunk codecs with the same input:
//! 1. the bytes as an XOR chunk: decoding must never panic and must agree with the iterator;
//! 2. the bytes as samples: what the appender writes must decode back bit-exact, after every append;
//! 3. the block encodings: the bytes as a decimal and as a packed chunk never panic, and the samples
//!    encoded packed and in whatever encoding a block picks decode back bit-exact.
//!
//! Run with `cargo +nightly fuzz run chunk_decode` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::chunk::{
    ChunkIter, DecimalIter, MAX_SAMPLES_PER_CHUNK, PackedIter, XorAppender, XorIter, decode, encode_for_block,
    encode_packed, num_samples,
};

/// Bytes per sample record: a 4-byte gap then 8 bytes of value bits.
const RECORD: usize = 12;

/// Reads strictly increasing samples out of arbitrary bytes: the first 8 bytes are the first
/// timestamp, then each record is a gap (its top bit scales it by 2^32 for huge jumps) and the value
/// bits. Stops at the chunk cap or when the next timestamp would overflow.
fn samples_from(data: &[u8]) -> Vec<(i64, u64)> {
    let Some((first, records)) = data.split_first_chunk::<8>() else {
        return Vec::new();
    };
    let mut t = i64::from_le_bytes(*first);
    let mut samples = Vec::new();
    for (i, record) in records.chunks_exact(RECORD).enumerate() {
        let (gap, value) = record.split_at(4);
        let gap = u32::from_le_bytes([gap[0], gap[1], gap[2], gap[3]]);
        let v = u64::from_le_bytes([
            value[0], value[1], value[2], value[3], value[4], value[5], value[6], value[7],
        ]);
        if i > 0 {
            let gap = if gap & 0x8000_0000 != 0 {
                i64::from(gap & 0x7fff_ffff) << 32
            } else {
                i64::from(gap)
            };
            match t.checked_add(gap.max(1)) {
                Some(next) => t = next,
                None => break,
            }
        }
        samples.push((t, v));
        if samples.len() == MAX_SAMPLES_PER_CHUNK {
            break;
        }
    }
    samples
}

fuzz_target!(|data: &[u8]| {
    // 1. Arbitrary bytes as a chunk.
    let mut it = XorIter::new(data);
    let yielded: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
    assert!(yielded.len() <= num_samples(data));
    assert!(yielded.windows(2).all(|w| w[0].0 < w[1].0), "timestamps must increase");
    match decode(data) {
        Some(samples) => {
            assert!(!it.error());
            assert_eq!(samples.len(), num_samples(data));
            let bits: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
            assert_eq!(bits, yielded);
        }
        None => assert!(it.error()),
    }

    // 2. The bytes as samples: the appender's output must round-trip at every moment.
    let samples = samples_from(data);
    let mut app = XorAppender::new();
    for (i, &(t, v)) in samples.iter().enumerate() {
        app.append(t, f64::from_bits(v));
        let got: Vec<(i64, u64)> = decode(app.bytes())
            .expect("appender output decodes")
            .iter()
            .map(|&(t, v)| (t, v.to_bits()))
            .collect();
        assert_eq!(got, samples[..=i]);
    }
    assert_eq!(app.num_samples(), samples.len());

    // 3. The block encodings: arbitrary bytes as a decimal or packed chunk never panic and yield
    //    increasing timestamps; the samples encoded packed, and in whichever encoding a block picks,
    //    decode back bit-exact.
    let mut it = DecimalIter::new(data);
    let yielded: Vec<i64> = it.by_ref().map(|(t, _)| t).collect();
    assert!(yielded.windows(2).all(|w| w[0] < w[1]), "timestamps must increase");
    let mut it = PackedIter::new(data);
    let yielded: Vec<i64> = it.by_ref().map(|(t, _)| t).collect();
    assert!(yielded.len() <= num_samples(data));
    assert!(yielded.len() == num_samples(data) || it.error());
    assert!(yielded.windows(2).all(|w| w[0] < w[1]), "timestamps must increase");
    if !samples.is_empty() {
        let pairs: Vec<(i64, f64)> = samples.iter().map(|&(t, v)| (t, f64::from_bits(v))).collect();
        let bytes = encode_packed(&pairs).expect("1..=240 samples encode");
        let mut it = PackedIter::new(&bytes);
        let got: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        assert!(!it.error());
        assert_eq!(got, samples);
    }
    if !samples.is_empty() {
        let pairs: Vec<(i64, f64)> = samples.iter().map(|&(t, v)| (t, f64::from_bits(v))).collect();
        let (encoding, bytes) = encode_for_block(&pairs);
        let mut it = ChunkIter::new(encoding, &bytes);
        let got: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        assert!(!it.error());
        assert_eq!(got, samples);
    }
    assert_eq!(app.min_time(), samples.first().map(|s| s.0));
    assert_eq!(app.max_time(), samples.last().map(|s| s.0));
});
