//! The protobuf push body: a snappy-compressed (block format, not framed) `PushRequest` of Loki's
//! `pkg/push/push.proto`, described here with hand-written prost messages.
//!
//! ```text
//! PushRequest   { repeated StreamAdapter streams = 1; }
//! StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//! EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2;
//!                 repeated LabelPairAdapter structuredMetadata = 3; }
//! LabelPairAdapter { string name = 1; string value = 2; }
//! Timestamp     { int64 seconds = 1; int32 nanos = 2; }
//! ```

use prost::Message;

use super::{PushEntry, PushLimits, PushStream, check_stream, labels};
use crate::error::{Error, Result};

/// `PushRequest`.
#[derive(Clone, PartialEq, Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}

/// `StreamAdapter`; `hash` is read and ignored.
#[derive(Clone, PartialEq, Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    hash: u64,
}

/// `EntryAdapter`.
#[derive(Clone, PartialEq, Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<LabelPairAdapter>,
}

/// `LabelPairAdapter`.
#[derive(Clone, PartialEq, Message)]
struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Decodes a snappy-compressed protobuf push body. The decompressed length in the snappy header is
/// checked against `limits.max_body_bytes` ([`Error::TooLarge`]) before anything is allocated; every
/// stream is validated before anything is returned. A missing timestamp is the epoch (protobuf's
/// default).
pub fn decode_proto(snappy_body: &[u8], limits: &PushLimits) -> Result<Vec<PushStream>> {
    let len =
        snap::raw::decompress_len(snappy_body).map_err(|e| Error::Push(format!("invalid snappy push body: {e}")))?;
    if len > limits.max_body_bytes {
        return Err(Error::TooLarge(format!(
            "snappy-decompressed push body of {len} bytes is larger than {} bytes",
            limits.max_body_bytes
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(snappy_body)
        .map_err(|e| Error::Push(format!("invalid snappy push body: {e}")))?;
    let request =
        PushRequest::decode(raw.as_slice()).map_err(|e| Error::Push(format!("invalid protobuf push request: {e}")))?;
    drop(raw);
    let mut streams = Vec::with_capacity(request.streams.len());
    for adapter in request.streams {
        let labels = labels::parse_stream_labels(&adapter.labels)?;
        let mut entries = Vec::with_capacity(adapter.entries.len());
        for entry in adapter.entries {
            let ts_ns = match entry.timestamp {
                Some(ts) => timestamp_ns(ts, &adapter.labels)?,
                None => 0,
            };
            let metadata = entry
                .structured_metadata
                .into_iter()
                .map(|p| (p.name, p.value))
                .collect();
            entries.push(PushEntry {
                ts_ns,
                line: entry.line,
                metadata,
            });
        }
        let stream = PushStream { labels, entries };
        check_stream(&stream, limits)?;
        streams.push(stream);
    }
    Ok(streams)
}

/// Encodes streams as a snappy-compressed protobuf push body, as Promtail or Grafana Alloy send it.
/// [`decode_proto`] reads the result back to the same streams.
pub fn encode_proto(streams: &[PushStream]) -> Result<Vec<u8>> {
    let request = PushRequest {
        streams: streams
            .iter()
            .map(|s| StreamAdapter {
                labels: labels::format_stream_labels(&s.labels),
                entries: s
                    .entries
                    .iter()
                    .map(|e| EntryAdapter {
                        timestamp: Some(Timestamp {
                            seconds: e.ts_ns.div_euclid(NANOS_PER_SECOND),
                            // rem_euclid is in [0, 1e9), which fits an i32.
                            nanos: e.ts_ns.rem_euclid(NANOS_PER_SECOND) as i32,
                        }),
                        line: e.line.clone(),
                        structured_metadata: e
                            .metadata
                            .iter()
                            .map(|(name, value)| LabelPairAdapter {
                                name: name.clone(),
                                value: value.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
                hash: 0,
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .map_err(|e| Error::Push(format!("cannot snappy-compress push request: {e}")))
}

/// Nanoseconds since the epoch of `ts`; nanos outside `[0, 1e9)` or an overflow of `i64` nanoseconds
/// is an error naming the stream.
fn timestamp_ns(ts: Timestamp, stream: &str) -> Result<i64> {
    let bad = |reason: &str| {
        Error::Push(format!(
            "invalid timestamp {{seconds: {}, nanos: {}}} in stream {stream:?}: {reason}",
            ts.seconds, ts.nanos
        ))
    };
    if !(0..NANOS_PER_SECOND).contains(&i64::from(ts.nanos)) {
        return Err(bad("nanos out of range"));
    }
    ts.seconds
        .checked_mul(NANOS_PER_SECOND)
        .and_then(|ns| ns.checked_add(i64::from(ts.nanos)))
        .ok_or_else(|| bad("out of the range of 64-bit nanoseconds"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tsdb::Labels;

    use super::*;

    fn snappy(raw: &[u8]) -> Vec<u8> {
        snap::raw::Encoder::new().compress_vec(raw).expect("compress")
    }

    fn entry(seconds: i64, nanos: i32, line: &str) -> EntryAdapter {
        EntryAdapter {
            timestamp: Some(Timestamp { seconds, nanos }),
            line: line.into(),
            structured_metadata: vec![],
        }
    }

    fn request(labels: &str, entries: Vec<EntryAdapter>) -> Vec<u8> {
        let req = PushRequest {
            streams: vec![StreamAdapter {
                labels: labels.into(),
                entries,
                hash: 42,
            }],
        };
        snappy(&req.encode_to_vec())
    }

    fn decode(body: &[u8]) -> Result<Vec<PushStream>> {
        decode_proto(body, &PushLimits::default())
    }

    fn err(body: &[u8]) -> String {
        match decode(body) {
            Err(Error::Push(msg)) => msg,
            other => panic!("expected a push error, got {other:?}"),
        }
    }

    #[test]
    fn decodes_request() {
        let mut first = entry(1_570_818_238, 5, "hello");
        first.structured_metadata = vec![LabelPairAdapter {
            name: "trace_id".into(),
            value: "a".into(),
        }];
        let no_ts = EntryAdapter {
            timestamp: None,
            line: "no ts".into(),
            structured_metadata: vec![],
        };
        let body = request(r#"{app="x", env="p\"rod"}"#, vec![first, no_ts]);
        assert_eq!(
            decode(&body).expect("decodes"),
            vec![PushStream {
                labels: Labels::new([("app", "x"), ("env", "p\"rod")]).expect("labels"),
                entries: vec![
                    PushEntry {
                        ts_ns: 1_570_818_238_000_000_005,
                        line: "hello".into(),
                        metadata: vec![("trace_id".into(), "a".into())],
                    },
                    PushEntry {
                        ts_ns: 0,
                        line: "no ts".into(),
                        metadata: vec![]
                    },
                ],
            }]
        );
    }

    #[test]
    fn empty_body_is_empty_request() {
        assert!(decode(&snappy(&[])).expect("empty").is_empty());
    }

    #[test]
    fn rejects_snappy_bomb_header() {
        // A snappy block whose header claims 4 GiB of output.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        match decode(&bomb) {
            Err(Error::TooLarge(msg)) => assert_eq!(
                msg,
                "snappy-decompressed push body of 4294967295 bytes is larger than 67108864 bytes"
            ),
            other => panic!("expected too large, got {other:?}"),
        }
        let limits = PushLimits {
            max_body_bytes: 100,
            ..PushLimits::default()
        };
        let body = snappy(&[0u8; 101]);
        assert!(matches!(decode_proto(&body, &limits), Err(Error::TooLarge(_))));
    }

    #[test]
    fn rejects_bad_snappy() {
        let msg = err(&[]);
        assert!(msg.starts_with("invalid snappy push body: "), "{msg}");
        // Header says 10 bytes, the data is a literal of 3.
        let msg = err(&[10, 0x08, b'a', b'b', b'c']);
        assert!(msg.starts_with("invalid snappy push body: "), "{msg}");
    }

    #[test]
    fn rejects_truncated_protobuf() {
        let req = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{a="b"}"#.into(),
                entries: vec![entry(1, 0, "line")],
                hash: 0,
            }],
        };
        let raw = req.encode_to_vec();
        for cut in 1..raw.len() {
            let msg = err(&snappy(&raw[..cut]));
            assert!(msg.starts_with("invalid protobuf push request: "), "cut {cut}: {msg}");
        }
    }

    #[test]
    fn rejects_invalid_utf8_line() {
        // StreamAdapter{labels: `{a="b"}`, entries: [EntryAdapter{line: 0xff}]}, encoded by hand.
        let labels = br#"{a="b"}"#;
        let entry = [0x12, 0x01, 0xff];
        let mut stream = vec![0x0a, labels.len() as u8];
        stream.extend_from_slice(labels);
        stream.extend_from_slice(&[0x12, entry.len() as u8]);
        stream.extend_from_slice(&entry);
        let mut raw = vec![0x0a, stream.len() as u8];
        raw.extend_from_slice(&stream);
        let msg = err(&snappy(&raw));
        assert!(msg.starts_with("invalid protobuf push request: "), "{msg}");
        assert!(msg.contains("UTF-8"), "{msg}");
    }

    #[test]
    fn rejects_bad_labels() {
        let msg = err(&request(r#"{a="b""#, vec![]));
        assert_eq!(
            msg,
            r#"invalid stream labels "{a=\"b\"" at byte 6: expected ',' or '}'"#
        );
        let msg = err(&request(r#"{a="1", a="2"}"#, vec![]));
        assert_eq!(
            msg,
            r#"invalid stream labels "{a=\"1\", a=\"2\"}": duplicate label name "a""#
        );
        let msg = err(&request("{}", vec![entry(1, 0, "x")]));
        assert_eq!(msg, "at least one label pair is required per stream");
        let many: Vec<String> = (0..16).map(|i| format!("l{i:02}=\"v\"")).collect();
        let msg = err(&request(&format!("{{{}}}", many.join(",")), vec![]));
        assert!(msg.ends_with("has 16 label names; limit 15"), "{msg}");
    }

    #[test]
    fn rejects_bad_timestamps() {
        let msg = err(&request(r#"{a="b"}"#, vec![entry(1, -1, "x")]));
        assert_eq!(
            msg,
            r#"invalid timestamp {seconds: 1, nanos: -1} in stream "{a=\"b\"}": nanos out of range"#
        );
        let msg = err(&request(r#"{a="b"}"#, vec![entry(i64::MAX / 10, 0, "x")]));
        assert!(msg.ends_with("out of the range of 64-bit nanoseconds"), "{msg}");
        assert_eq!(
            timestamp_ns(
                Timestamp {
                    seconds: -1,
                    nanos: 999_999_999
                },
                "s"
            )
            .expect("ok"),
            -1
        );
    }

    #[test]
    fn oversized_line() {
        let body = request(r#"{app="x"}"#, vec![entry(1, 0, &"y".repeat(300_000))]);
        match decode(&body) {
            Err(Error::Push(msg)) => assert_eq!(
                msg,
                "max entry size '262144' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length \
                 '300000' bytes"
            ),
            other => panic!("expected too large, got {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn proto_snappy_round_trips(streams in super::super::json::tests::streams_strategy()) {
            let body = encode_proto(&streams).expect("encode");
            let got = super::super::decode_push(&body, Some("application/x-protobuf"), None, &PushLimits::default())
                .expect("decodes");
            prop_assert_eq!(got, streams);
        }

        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&snappy(&raw));
            let _ = decode(&raw);
        }
    }
}
