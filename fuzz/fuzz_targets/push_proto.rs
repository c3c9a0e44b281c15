//! Fuzzes the protobuf push decoder. The first byte picks the mode: odd compresses the rest with snappy
//! first (so the fuzzer explores the protobuf and label-string parsers), even passes it as the body
//! (exploring the snappy decoder and its length check). Decoding must never panic; what decodes must
//! respect the limits and re-encode to the same streams.
//!
//! Run with `cargo +nightly fuzz run push_proto` from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logs::push::{PushLimits, decode_proto, decode_push, encode_proto, parse_stream_labels};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let limits = PushLimits {
        max_body_bytes: 1 << 20,
        max_line_bytes: 4096,
        ..PushLimits::default()
    };
    let body = if mode & 1 == 1 {
        match snap::raw::Encoder::new().compress_vec(rest) {
            Ok(body) => body,
            Err(_) => return,
        }
    } else {
        rest.to_vec()
    };
    if let Ok(streams) = decode_push(&body, Some("application/x-protobuf"), None, &limits) {
        for stream in &streams {
            assert!(!stream.labels.is_empty() && stream.labels.len() <= limits.max_labels_per_stream);
            assert!(stream.entries.iter().all(|e| e.line.len() <= limits.max_line_bytes));
        }
        let again = encode_proto(&streams).expect("streams encode");
        assert_eq!(decode_proto(&again, &limits).expect("encoded streams decode"), streams);
    }
    // The bytes as a label string too.
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_stream_labels(text);
    }
});
