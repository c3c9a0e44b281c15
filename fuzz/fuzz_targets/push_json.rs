//! Fuzzes the JSON push decoder: any bytes, as a plain and as a gzip-encoded body, must decode or fail
//! without panicking; what decodes must respect the limits and survive a protobuf round trip unchanged.
//!
//! Run with `cargo +nightly fuzz run push_json` from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logs::push::{PushLimits, PushStream, decode_json, decode_proto, decode_push, encode_proto};

fn check(streams: &[PushStream], limits: &PushLimits) {
    for stream in streams {
        assert!(!stream.labels.is_empty() && stream.labels.len() <= limits.max_labels_per_stream);
        assert!(stream.entries.iter().all(|e| e.line.len() <= limits.max_line_bytes));
    }
    let body = encode_proto(streams).expect("streams encode");
    let back = decode_proto(&body, limits).expect("encoded streams decode");
    assert_eq!(back, streams);
}

fuzz_target!(|data: &[u8]| {
    let limits = PushLimits {
        max_body_bytes: 1 << 20,
        max_line_bytes: 4096,
        ..PushLimits::default()
    };
    if let Ok(streams) = decode_json(data, &limits) {
        check(&streams, &limits);
    }
    for encoding in ["gzip", "deflate"] {
        if let Ok(streams) = decode_push(data, Some("application/json; charset=utf-8"), Some(encoding), &limits) {
            check(&streams, &limits);
        }
    }
});
