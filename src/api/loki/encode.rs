//! Loki's JSON responses, in the field order Grafana relies on (`encodingFlags` before `result`).
//!
//! - Streams: `{"stream":{labels},"values":[["<ns>","line"]]}`. Without `categorize-labels`,
//!   structured metadata and parsed labels are folded into the stream labels (one stream may
//!   split into several). With it, `stream` holds only the indexed labels and each value carries
//!   a third element `{"structuredMetadata":{…},"parsed":{…}}` (empty categories left out).
//! - Matrix, vector and scalar results as Prometheus writes them: timestamps in seconds as JSON
//!   numbers, values as strings.

use std::collections::HashMap;

use ::query::logql::eval::{LogEntry, MetricSeries, QueryValue};
use tsdb::Labels;

use crate::api::query::format::{write_labels, write_point, write_str};

/// Counters reported in `data.stats.summary`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Wall time of the query, seconds.
    pub exec_seconds: f64,
    /// Entries or samples returned.
    pub returned: usize,
}

/// The whole success body of a `query` / `query_range` answer.
pub fn query_body(value: &QueryValue, categorize: bool, stats: Stats) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(r#"{"status":"success","data":{"resultType":"#);
    match value {
        QueryValue::Streams(entries) => {
            out.push_str(r#""streams","#);
            if categorize {
                out.push_str(r#""encodingFlags":["categorize-labels"],"#);
            }
            out.push_str(r#""result":"#);
            write_streams(&mut out, entries, categorize);
        }
        QueryValue::Matrix(series) => {
            out.push_str(r#""matrix","result":"#);
            write_matrix(&mut out, series);
        }
        QueryValue::Vector { ts_ns, samples } => {
            out.push_str(r#""vector","result":["#);
            for (i, (labels, v)) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                write_labels(&mut out, labels);
                out.push_str(r#","value":"#);
                write_point(&mut out, ts_ns.div_euclid(1_000_000), *v);
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Scalar { ts_ns, value } => {
            out.push_str(r#""scalar","result":"#);
            write_point(&mut out, ts_ns.div_euclid(1_000_000), *value);
        }
    }
    out.push_str(r#","stats":"#);
    write_stats(&mut out, stats);
    out.push_str("}}");
    out
}

fn write_stats(out: &mut String, stats: Stats) {
    out.push_str(&format!(
        r#"{{"summary":{{"bytesProcessedPerSecond":0,"linesProcessedPerSecond":0,"totalBytesProcessed":0,"totalLinesProcessed":0,"execTime":{},"queueTime":0,"subqueries":0,"totalEntriesReturned":{},"splits":0,"shards":0,"totalPostFilterLines":0,"totalStructuredMetadataBytesProcessed":0}}}}"#,
        stats.exec_seconds, stats.returned
    ));
}

/// Groups entries into streams (by all labels, or by indexed labels when categorizing), streams
/// in order of their first entry, entries in result order.
pub fn write_streams(out: &mut String, entries: &[LogEntry], categorize: bool) {
    let mut order: Vec<(&Labels, Vec<&LogEntry>)> = Vec::new();
    let mut index: HashMap<&Labels, usize> = HashMap::new();
    for e in entries {
        let key = if categorize { &e.stream } else { &e.labels };
        match index.get(key) {
            Some(&i) => order[i].1.push(e),
            None => {
                index.insert(key, order.len());
                order.push((key, vec![e]));
            }
        }
    }
    out.push('[');
    for (i, (labels, entries)) in order.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"stream":"#);
        write_labels(out, labels);
        out.push_str(r#","values":["#);
        for (j, e) in entries.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_entry(out, e, categorize);
        }
        out.push_str("]}");
    }
    out.push(']');
}

/// `["<ns>","line"]`, or with a third element of categorized labels.
pub fn write_entry(out: &mut String, e: &LogEntry, categorize: bool) {
    out.push_str("[\"");
    out.push_str(&e.ts_ns.to_string());
    out.push_str("\",");
    write_str(out, &e.line);
    if categorize {
        out.push_str(",{");
        let mut first = true;
        for (name, pairs) in [("structuredMetadata", &e.metadata), ("parsed", &e.parsed)] {
            if pairs.is_empty() {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            write_str(out, name);
            out.push(':');
            write_pairs(out, pairs);
        }
        out.push('}');
    }
    out.push(']');
}

/// A JSON object of string pairs, in the given order.
pub fn write_pairs(out: &mut String, pairs: &[(String, String)]) {
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        write_str(out, v);
    }
    out.push('}');
}

/// `[{"metric":{…},"values":[[t,"v"],…]},…]`.
pub fn write_matrix(out: &mut String, series: &[MetricSeries]) {
    out.push('[');
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":"#);
        write_labels(out, &s.labels);
        out.push_str(r#","values":["#);
        for (j, (t, v)) in s.points.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_point(out, t.div_euclid(1_000_000), *v);
        }
        out.push_str("]}");
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).expect("labels")
    }

    fn entry(ts: i64, line: &str, parsed: &[(&str, &str)]) -> LogEntry {
        let stream = labels(&[("app", "web")]);
        let parsed: Vec<(String, String)> = parsed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut all: Vec<(String, String)> = vec![("app".into(), "web".into())];
        all.extend(parsed.iter().cloned());
        LogEntry {
            ts_ns: ts,
            line: line.into(),
            labels: Labels::new(all).expect("labels"),
            stream,
            metadata: vec![("trace".into(), "t1".into())],
            parsed,
        }
    }

    #[test]
    fn streams_plain_and_categorized() {
        let entries = vec![entry(2, "b", &[("level", "warn")]), entry(1, "a <x>", &[])];
        let value = QueryValue::Streams(entries);
        let plain = query_body(&value, false, Stats::default());
        assert!(plain.starts_with(
            r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"web","level":"warn"},"values":[["2","b"]]},{"stream":{"app":"web"},"values":[["1","a \u003cx\u003e"]]}],"stats":{"summary":"#
        ), "{plain}");
        let cat = query_body(&value, true, Stats::default());
        assert!(cat.starts_with(
            r#"{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[{"stream":{"app":"web"},"values":[["2","b",{"structuredMetadata":{"trace":"t1"},"parsed":{"level":"warn"}}],["1","a \u003cx\u003e",{"structuredMetadata":{"trace":"t1"}}]]}]"#
        ), "{cat}");
        let parsed: serde_json::Value = serde_json::from_str(&cat).expect("valid json");
        assert_eq!(parsed["data"]["result"][0]["values"][1][0], "1");
    }

    #[test]
    fn matrix_vector_scalar() {
        let m = QueryValue::Matrix(vec![MetricSeries {
            labels: labels(&[("app", "web")]),
            points: vec![(1_000_000_000, 2.0), (1_500_000_000, 0.5)],
        }]);
        let body = query_body(&m, true, Stats::default());
        assert!(body.starts_with(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"web"},"values":[[1,"2"],[1.500,"0.5"]]}],"stats":"#
        ), "{body}");
        let v = QueryValue::Vector {
            ts_ns: 4_000_000_000_000_000_000,
            samples: vec![(Labels::empty(), 2.0)],
        };
        assert!(query_body(&v, false, Stats::default()).starts_with(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[4000000000,"2"]}],"stats":"#
        ));
        let s = QueryValue::Scalar {
            ts_ns: 1_000_000_000,
            value: 2.0,
        };
        assert!(
            query_body(&s, false, Stats::default())
                .starts_with(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"],"stats":"#)
        );
    }
}
