//! Fuzzes the decoder of a block's `tombstones` file: arbitrary bytes (also behind a valid header
//! and checksum, so the entries themselves are exercised) must decode or fail without panicking,
//! and whatever decodes has sorted, non-overlapping ranges.
//!
//! Run with `cargo +nightly fuzz run tombstones` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::tombstones::decode;

fuzz_target!(|data: &[u8]| {
    let mut framed = b"LTMB\x01".to_vec();
    framed.extend_from_slice(data);
    let crc = crc32c::crc32c(&framed);
    framed.extend_from_slice(&crc.to_be_bytes());
    for bytes in [data, framed.as_slice()] {
        if let Ok(tombstones) = decode(bytes) {
            for intervals in tombstones.values() {
                for pair in intervals.ranges().windows(2) {
                    assert!(pair[0].1 < pair[1].0);
                }
            }
        }
    }
});
