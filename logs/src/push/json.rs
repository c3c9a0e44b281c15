//! The JSON push body:
//! `{"streams":[{"stream":{"app":"x"},"values":[["1570818238000000000","line",{"trace_id":"a"}]]}]}`.
//!
//! A timestamp is a JSON string of integer nanoseconds (a JSON number is rejected, as in Loki); the
//! optional third element of a value is flat string-to-string structured metadata. Syntax and type
//! errors carry serde_json's line and column.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{PushEntry, PushLimits, PushStream, check_stream, labels::labels_from_pairs};
use crate::error::{Error, Result};

/// Decodes a JSON push body (already decompressed). A body over `limits.max_body_bytes` is
/// [`Error::TooLarge`]; every stream is validated before anything is returned.
pub fn decode_json(body: &[u8], limits: &PushLimits) -> Result<Vec<PushStream>> {
    if body.len() > limits.max_body_bytes {
        return Err(Error::TooLarge(format!(
            "push body of {} bytes is larger than {} bytes",
            body.len(),
            limits.max_body_bytes
        )));
    }
    let request: RawRequest =
        serde_json::from_slice(body).map_err(|e| Error::Push(format!("invalid json push request: {e}")))?;
    let mut streams = Vec::with_capacity(request.streams.len());
    for raw in request.streams {
        let labels = labels_from_pairs(&raw.stream.0)
            .map_err(|e| Error::Push(format!("invalid stream labels {}: {e}", display_pairs(&raw.stream.0))))?;
        let stream = PushStream {
            labels,
            entries: raw.values.into_iter().map(|e| e.0).collect(),
        };
        check_stream(&stream, limits)?;
        streams.push(stream);
    }
    Ok(streams)
}

/// `{a="b", ...}` for error messages about label pairs that did not make a valid label set.
fn display_pairs(pairs: &[(String, String)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// The request object.
#[derive(Deserialize)]
struct RawRequest {
    #[serde(default)]
    streams: Vec<RawStream>,
}

/// One stream object.
#[derive(Deserialize)]
struct RawStream {
    #[serde(default)]
    stream: Pairs,
    #[serde(default)]
    values: Vec<RawEntry>,
}

/// A JSON object of string values, kept as pairs in document order (duplicates included, so that
/// label validation can reject them).
#[derive(Default)]
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    pairs.push((name, value));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// A timestamp: a JSON string of integer nanoseconds.
struct Timestamp(i64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of integer nanoseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Timestamp, E> {
                v.parse::<i64>()
                    .map(Timestamp)
                    .map_err(|e| E::custom(format!("invalid timestamp {v:?}: {e}")))
            }
        }
        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// A value: `[timestamp, line]` or `[timestamp, line, {metadata}]`.
struct RawEntry(PushEntry);

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of a timestamp string, a line and optional structured metadata")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<RawEntry, A::Error> {
                let ts: Timestamp = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let line: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let metadata: Option<Pairs> = seq.next_element()?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("an entry has more than 3 elements"));
                }
                Ok(RawEntry(PushEntry {
                    ts_ns: ts.0,
                    line,
                    metadata: metadata.map(|m| m.0).unwrap_or_default(),
                }))
            }
        }
        deserializer.deserialize_seq(EntryVisitor)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;
    use serde_json::json;
    use tsdb::Labels;

    use super::*;

    fn decode(body: &str) -> Result<Vec<PushStream>> {
        decode_json(body.as_bytes(), &PushLimits::default())
    }

    fn err(body: &str) -> String {
        match decode(body) {
            Err(Error::Push(msg)) => msg,
            other => panic!("expected a push error for {body}, got {other:?}"),
        }
    }

    #[test]
    fn decodes_streams_and_metadata() {
        let body = r#"{"streams":[
            {"stream":{"app":"x","env":"prod"},"values":[["1570818238000000000","first",{"trace_id":"a","user":"b"}],["-5","second"]]},
            {"stream":{"app":"y"},"values":[]}
        ]}"#;
        let got = decode(body).expect("decodes");
        assert_eq!(
            got,
            vec![
                PushStream {
                    labels: Labels::new([("app", "x"), ("env", "prod")]).expect("labels"),
                    entries: vec![
                        PushEntry {
                            ts_ns: 1_570_818_238_000_000_000,
                            line: "first".into(),
                            metadata: vec![("trace_id".into(), "a".into()), ("user".into(), "b".into())],
                        },
                        PushEntry {
                            ts_ns: -5,
                            line: "second".into(),
                            metadata: vec![]
                        },
                    ],
                },
                PushStream {
                    labels: Labels::new([("app", "y")]).expect("labels"),
                    entries: vec![]
                },
            ]
        );
    }

    #[test]
    fn empty_request_is_empty() {
        assert!(decode("{}").expect("empty").is_empty());
        assert!(decode(r#"{"streams":[]}"#).expect("empty").is_empty());
    }

    #[test]
    fn rejects_number_timestamp() {
        assert_eq!(
            err(r#"{"streams":[{"stream":{"a":"b"},"values":[[1570818238000000000,"x"]]}]}"#),
            "invalid json push request: invalid type: integer `1570818238000000000`, expected a string of integer \
             nanoseconds at line 1 column 62"
        );
    }

    #[test]
    fn rejects_bad_timestamp_strings() {
        assert_eq!(
            err(r#"{"streams":[{"stream":{"a":"b"},"values":[["12.5","x"]]}]}"#),
            "invalid json push request: invalid timestamp \"12.5\": invalid digit found in string at line 1 column 49"
        );
        let msg = err(r#"{"streams":[{"stream":{"a":"b"},"values":[["99999999999999999999","x"]]}]}"#);
        assert!(
            msg.contains("invalid timestamp \"99999999999999999999\": number too large"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_malformed_entries() {
        let msg = err(r#"{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}"#);
        assert!(
            msg.starts_with("invalid json push request: invalid length 1, expected an array"),
            "{msg}"
        );
        let msg = err(r#"{"streams":[{"stream":{"a":"b"},"values":[["1","x",{},"y"]]}]}"#);
        assert_eq!(
            msg,
            "invalid json push request: an entry has more than 3 elements at line 1 column 58"
        );
        let msg = err(r#"{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":1}]]}]}"#);
        assert!(msg.contains("invalid type: integer `1`, expected a string"), "{msg}");
        let msg = err(r#"{"streams":[{"stream":{"a":"b"},"values":[["1",5]]}]}"#);
        assert!(msg.contains("invalid type: integer `5`, expected a string"), "{msg}");
        let msg = err(r#"{"streams":[{"stream":{"a":2},"values":[]}]}"#);
        assert!(
            msg.contains("invalid type: integer `2`, expected a string at line 1 column 28"),
            "{msg}"
        );
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        assert_eq!(
            err("{\"streams\":[\n{\"stream\":{\"a\":\"b\"},}]}"),
            "invalid json push request: trailing comma at line 2 column 21"
        );
        assert_eq!(
            err(""),
            "invalid json push request: EOF while parsing a value at line 1 column 0"
        );
    }

    #[test]
    fn rejects_bad_labels() {
        assert_eq!(
            err(r#"{"streams":[{"stream":{"a":"1","a":"2"},"values":[]}]}"#),
            r#"invalid stream labels {a="1", a="2"}: duplicate label name "a""#
        );
        assert_eq!(
            err(r#"{"streams":[{"stream":{"a-b":"1"},"values":[]}]}"#),
            r#"invalid stream labels {a-b="1"}: invalid label name "a-b""#
        );
        assert_eq!(
            err(r#"{"streams":[{"stream":{},"values":[["1","x"]]}]}"#),
            "at least one label pair is required per stream"
        );
        assert_eq!(
            err(r#"{"streams":[{"values":[]}]}"#),
            "at least one label pair is required per stream"
        );
        let many: Vec<String> = (0..16).map(|i| format!("\"l{i:02}\":\"v\"")).collect();
        let msg = err(&format!(
            r#"{{"streams":[{{"stream":{{{}}},"values":[]}}]}}"#,
            many.join(",")
        ));
        assert!(msg.ends_with("has 16 label names; limit 15"), "{msg}");
    }

    #[test]
    fn rejects_oversized_body() {
        let limits = PushLimits {
            max_body_bytes: 10,
            ..PushLimits::default()
        };
        match decode_json(br#"{"streams":[]}"#, &limits) {
            Err(Error::TooLarge(msg)) => assert_eq!(msg, "push body of 14 bytes is larger than 10 bytes"),
            other => panic!("expected too large, got {other:?}"),
        }
    }

    #[test]
    fn oversized_line_is_too_large() {
        let line = "x".repeat(300_000);
        let body = format!(r#"{{"streams":[{{"stream":{{"app":"x"}},"values":[["1","{line}"]]}}]}}"#);
        match decode(&body) {
            Err(Error::Push(msg)) => assert_eq!(
                msg,
                "max entry size '262144' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length \
                 '300000' bytes"
            ),
            other => panic!("expected too large, got {other:?}"),
        }
    }

    /// Random streams: unique label sets with non-empty values, entries with unique metadata names.
    pub(in crate::push) fn streams_strategy() -> impl Strategy<Value = Vec<PushStream>> {
        let labels = proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", ".{1,12}", 1..5)
            .prop_map(|m| Labels::new(m.iter().map(|(n, v)| (n.as_str(), v.as_str()))).expect("labels"));
        let metadata = proptest::collection::btree_map("[a-z_]{1,6}", any::<String>(), 0..3)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>());
        let entry = (any::<i64>(), any::<String>(), metadata).prop_map(|(ts_ns, line, metadata)| PushEntry {
            ts_ns,
            line,
            metadata,
        });
        let stream = (labels, proptest::collection::vec(entry, 0..4))
            .prop_map(|(labels, entries)| PushStream { labels, entries });
        proptest::collection::vec(stream, 0..4)
    }

    proptest! {
        #[test]
        fn serde_json_encoding_round_trips(streams in streams_strategy()) {
            let body = json!({
                "streams": streams.iter().map(|s| json!({
                    "stream": s.labels.iter().map(|l| (l.name.to_string(), json!(l.value))).collect::<serde_json::Map<_, _>>(),
                    "values": s.entries.iter().map(|e| {
                        let meta: serde_json::Map<String, serde_json::Value> =
                            e.metadata.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
                        if meta.is_empty() { json!([e.ts_ns.to_string(), e.line]) }
                        else { json!([e.ts_ns.to_string(), e.line, meta]) }
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            let bytes = serde_json::to_vec(&body).expect("encode");
            let got = super::super::decode_push(&bytes, Some("application/json"), None, &PushLimits::default())
                .expect("decodes");
            prop_assert_eq!(got, streams);
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_json(&body, &PushLimits::default());
        }
    }
}
