//! Fuzzes the Kubernetes CRI decoder: arbitrary bytes, split into lines, must decode or fail
//! per line without panicking, never yield a record over the byte limit, never report a pending
//! start past the line being read, and flush everything still pending.
//!
//! Run with `cargo +nightly fuzz run cri_line` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scraper::logs::cri::CriDecoder;

/// Small, so the truncation path is reached by short inputs.
const MAX_LINE_BYTES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let mut decoder = CriDecoder::new(MAX_LINE_BYTES);
    let mut offset = 0u64;
    let mut records = 0u64;
    for raw in data.split(|&b| b == b'\n') {
        if let Ok(Some(record)) = decoder.push(raw, offset) {
            assert!(record.line.len() <= MAX_LINE_BYTES, "record over the limit");
            assert!(record.start_offset <= offset, "record starts after its last line");
            records += 1;
        }
        if let Some(start) = decoder.pending_start() {
            assert!(start <= offset, "pending start past the current line");
        }
        offset += raw.len() as u64 + 1;
    }
    let flushed = decoder.flush();
    assert!(flushed.len() <= 2, "at most one pending record per stream");
    assert!(flushed.windows(2).all(|w| w[0].start_offset <= w[1].start_offset));
    assert!(flushed.iter().all(|r| r.line.len() <= MAX_LINE_BYTES));
    assert_eq!(decoder.pending_start(), None);
    assert!(records + flushed.len() as u64 <= offset, "more records than lines");
});
