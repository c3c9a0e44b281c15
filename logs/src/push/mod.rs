//! Decoding of Loki push requests (`POST /loki/api/v1/push`).
//!
//! A request body is JSON (`Content-Type: application/json`) or snappy-compressed protobuf (any other
//! content type), optionally wrapped in gzip or deflate (`Content-Encoding`). [`decode_push`] picks the
//! decoder from the headers; [`decode_json`] and [`decode_proto`] decode one format. Every stream is
//! validated in full (labels, line sizes, timestamps) before anything is returned, so a request is
//! either accepted whole or rejected whole.

mod json;
mod labels;
mod proto;

use std::borrow::Cow;
use std::io::Read;

use tsdb::Labels;

use crate::error::{Error, Result};

pub use json::decode_json;
pub use labels::parse_stream_labels;
pub use proto::{decode_proto, encode_proto};

/// Limits applied while decoding a push request (Loki's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLimits {
    /// The largest decompressed body, in bytes (64 MiB).
    pub max_body_bytes: usize,
    /// The longest log line, in bytes (256 KiB, Loki's `max_line_size`).
    pub max_line_bytes: usize,
    /// The most labels a stream may have (15).
    pub max_labels_per_stream: usize,
    /// The longest label name, in bytes (1024).
    pub max_label_name_bytes: usize,
    /// The longest label value, in bytes (2048).
    pub max_label_value_bytes: usize,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            max_body_bytes: 64 << 20,
            max_line_bytes: 256 << 10,
            max_labels_per_stream: 15,
            max_label_name_bytes: 1024,
            max_label_value_bytes: 2048,
        }
    }
}

/// One log line of a pushed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEntry {
    /// The timestamp, in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The log line.
    pub line: String,
    /// Structured metadata (name, value), in the order given.
    pub metadata: Vec<(String, String)>,
}

/// A pushed stream: a label set and its entries, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStream {
    /// The stream's labels (validated, sorted, never empty).
    pub labels: Labels,
    /// The stream's entries.
    pub entries: Vec<PushEntry>,
}

/// Decodes a push request body as Loki does: `content_encoding` of none, `""` or `snappy` passes the body
/// as is, `gzip` and `deflate` (raw DEFLATE, as Loki's `compress/flate`) decompress it first, anything
/// else is an error. A `content_type` of `application/json` (parameters allowed) selects JSON, a missing
/// or empty one is an error, anything else selects snappy-compressed protobuf.
pub fn decode_push(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &PushLimits,
) -> Result<Vec<PushStream>> {
    let json = is_json(content_type)?;
    let encoding = Encoding::parse(content_encoding)?;
    let body = decompress(body, encoding, limits.max_body_bytes)?;
    let streams = if json {
        decode_json(&body, limits)?
    } else {
        decode_proto(&body, limits)?
    };
    tracing::debug!(
        streams = streams.len(),
        entries = streams.iter().map(|s| s.entries.len()).sum::<usize>(),
        body_bytes = body.len(),
        json,
        "decoded push request"
    );
    Ok(streams)
}

/// A supported `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

impl Encoding {
    fn parse(header: Option<&str>) -> Result<Encoding> {
        let value = header.unwrap_or("").trim();
        if value.is_empty() || value.eq_ignore_ascii_case("snappy") {
            Ok(Encoding::Identity)
        } else if value.eq_ignore_ascii_case("gzip") {
            Ok(Encoding::Gzip)
        } else if value.eq_ignore_ascii_case("deflate") {
            Ok(Encoding::Deflate)
        } else {
            Err(Error::Push(format!("content-encoding {value:?} not supported")))
        }
    }
}

/// Whether the media type of `content_type` is `application/json`; errors on a missing or malformed one.
fn is_json(content_type: Option<&str>) -> Result<bool> {
    let header = content_type.unwrap_or("");
    let media = header.split(';').next().unwrap_or("").trim();
    if media.is_empty() {
        return Err(Error::Push("missing content-type of push request".into()));
    }
    let is_token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    let valid = match media.split_once('/') {
        Some((kind, subtype)) => is_token(kind) && is_token(subtype),
        None => is_token(media),
    };
    if !valid {
        return Err(Error::Push(format!("invalid content-type {header:?}")));
    }
    Ok(media.eq_ignore_ascii_case("application/json"))
}

/// Undoes `encoding`, reading at most `limit + 1` decompressed bytes.
fn decompress(body: &[u8], encoding: Encoding, limit: usize) -> Result<Cow<'_, [u8]>> {
    let (name, reader): (&str, Box<dyn Read + '_>) = match encoding {
        Encoding::Identity => return Ok(Cow::Borrowed(body)),
        Encoding::Gzip => ("gzip", Box::new(flate2::read::MultiGzDecoder::new(body))),
        Encoding::Deflate => ("deflate", Box::new(flate2::read::DeflateDecoder::new(body))),
    };
    let mut out = Vec::new();
    reader
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Push(format!("invalid {name} push body: {e}")))?;
    if out.len() > limit {
        return Err(Error::TooLarge(format!(
            "{name}-decompressed push body is larger than {limit} bytes"
        )));
    }
    Ok(Cow::Owned(out))
}

/// Checks a decoded stream against `limits`: label count and sizes, line sizes.
fn check_stream(stream: &PushStream, limits: &PushLimits) -> Result<()> {
    labels::check_label_limits(&stream.labels, limits)?;
    for entry in &stream.entries {
        if entry.line.len() > limits.max_line_bytes {
            // A 400 in Loki (a validation error), not a 413.
            return Err(Error::Push(format!(
                "max entry size '{}' bytes exceeded for stream '{}' while adding an entry with length '{}' bytes",
                limits.max_line_bytes,
                stream.labels,
                entry.line.len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const JSON: &str =
        r#"{"streams":[{"stream":{"app":"x"},"values":[["1570818238000000000","line",{"trace_id":"a"}]]}]}"#;

    fn expected() -> Vec<PushStream> {
        vec![PushStream {
            labels: Labels::new([("app", "x")]).expect("labels"),
            entries: vec![PushEntry {
                ts_ns: 1_570_818_238_000_000_000,
                line: "line".into(),
                metadata: vec![("trace_id".into(), "a".into())],
            }],
        }]
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).expect("write");
        enc.finish().expect("finish")
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).expect("write");
        enc.finish().expect("finish")
    }

    fn push_err(result: Result<Vec<PushStream>>) -> String {
        match result {
            Err(Error::Push(msg)) => msg,
            other => panic!("expected a push error, got {other:?}"),
        }
    }

    #[test]
    fn dispatches_json_with_and_without_parameters() {
        let limits = PushLimits::default();
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            " Application/JSON ",
        ] {
            let got = decode_push(JSON.as_bytes(), Some(ct), None, &limits).expect("json");
            assert_eq!(got, expected(), "{ct}");
        }
        let got = decode_push(JSON.as_bytes(), Some("application/json"), Some("snappy"), &limits).expect("json");
        assert_eq!(got, expected());
    }

    #[test]
    fn dispatches_protobuf_for_other_types() {
        let limits = PushLimits::default();
        let body = encode_proto(&expected()).expect("encode");
        for ct in ["application/x-protobuf", "application/octet-stream", "text/plain"] {
            for enc in [None, Some(""), Some("snappy")] {
                let got = decode_push(&body, Some(ct), enc, &limits).expect("proto");
                assert_eq!(got, expected(), "{ct} {enc:?}");
            }
        }
    }

    #[test]
    fn gzip_and_deflate_bodies() {
        let limits = PushLimits::default();
        let got = decode_push(&gzip(JSON.as_bytes()), Some("application/json"), Some("gzip"), &limits);
        assert_eq!(got.expect("gzip json"), expected());
        let got = decode_push(
            &deflate(JSON.as_bytes()),
            Some("application/json"),
            Some("deflate"),
            &limits,
        );
        assert_eq!(got.expect("deflate json"), expected());
        let proto = encode_proto(&expected()).expect("encode");
        let got = decode_push(&gzip(&proto), Some("application/x-protobuf"), Some("gzip"), &limits);
        assert_eq!(got.expect("gzip proto"), expected());
    }

    #[test]
    fn rejects_missing_or_bad_content_type() {
        let limits = PushLimits::default();
        for ct in [None, Some(""), Some("  "), Some("; charset=utf-8")] {
            let msg = push_err(decode_push(JSON.as_bytes(), ct, None, &limits));
            assert_eq!(msg, "missing content-type of push request");
        }
        let msg = push_err(decode_push(JSON.as_bytes(), Some("application/js on"), None, &limits));
        assert_eq!(msg, r#"invalid content-type "application/js on""#);
    }

    #[test]
    fn rejects_unknown_encoding() {
        let msg = push_err(decode_push(
            JSON.as_bytes(),
            Some("application/json"),
            Some("br"),
            &PushLimits::default(),
        ));
        assert_eq!(msg, r#"content-encoding "br" not supported"#);
    }

    #[test]
    fn rejects_corrupt_compressed_bodies() {
        let limits = PushLimits::default();
        let msg = push_err(decode_push(
            b"not gzip",
            Some("application/json"),
            Some("gzip"),
            &limits,
        ));
        assert!(msg.starts_with("invalid gzip push body: "), "{msg}");
        let msg = push_err(decode_push(
            &[0xff; 8],
            Some("application/json"),
            Some("deflate"),
            &limits,
        ));
        assert!(msg.starts_with("invalid deflate push body: "), "{msg}");
    }

    #[test]
    fn bounds_decompressed_size() {
        let limits = PushLimits {
            max_body_bytes: 1000,
            ..PushLimits::default()
        };
        let bomb = gzip(&vec![b' '; 1_000_000]);
        assert!(bomb.len() < 2000);
        match decode_push(&bomb, Some("application/json"), Some("gzip"), &limits) {
            Err(Error::TooLarge(msg)) => assert_eq!(msg, "gzip-decompressed push body is larger than 1000 bytes"),
            other => panic!("expected too large, got {other:?}"),
        }
        let bomb = deflate(&vec![b' '; 1_000_000]);
        assert!(matches!(
            decode_push(&bomb, Some("application/json"), Some("deflate"), &limits),
            Err(Error::TooLarge(_))
        ));
        // Exactly at the limit is fine.
        let body = format!("{JSON}{}", " ".repeat(1000 - JSON.len()));
        let got = decode_push(&gzip(body.as_bytes()), Some("application/json"), Some("gzip"), &limits);
        assert_eq!(got.expect("at limit"), expected());
    }

    #[test]
    fn oversized_line_names_stream_and_size() {
        let limits = PushLimits {
            max_line_bytes: 10,
            ..PushLimits::default()
        };
        let body = r#"{"streams":[{"stream":{"app":"x"},"values":[["1","0123456789a"]]}]}"#;
        match decode_push(body.as_bytes(), Some("application/json"), None, &limits) {
            Err(Error::Push(msg)) => assert_eq!(
                msg,
                "max entry size '10' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length '11' bytes"
            ),
            other => panic!("expected too large, got {other:?}"),
        }
    }
}
