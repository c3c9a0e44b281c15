//! Query answers: parsing the Prometheus HTTP API's JSON into series, and comparing two answers
//! (label sets, timestamps, values within a relative tolerance).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Result;

/// Relative tolerance of the value comparison.
pub const REL_TOLERANCE: f64 = 1e-6;

/// One series of an answer: labels and `(timestamp ms, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The labels (with `__name__` when the answer keeps it).
    pub labels: BTreeMap<String, String>,
    /// Points.
    pub points: Vec<(i64, f64)>,
}

/// A parsed answer: `matrix` or `vector`, series sorted by labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `matrix` or `vector`.
    pub result_type: String,
    /// The series.
    pub series: Vec<Series>,
}

impl Answer {
    /// Points over all series.
    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// A sample value as the API writes it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
fn parse_value(text: &str) -> Result<f64> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .map_err(|_| format!("invalid sample value {text:?}").into()),
    }
}

/// Parses a `/api/v1/query` or `/api/v1/query_range` body holding a matrix or a vector.
pub fn parse_answer(body: &[u8]) -> Result<Answer> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        let head = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        format!("unparsable query answer ({e}): {head}")
    })?;
    if envelope.status != "success" {
        return Err(format!("query failed: {}", envelope.error.unwrap_or_default()).into());
    }
    let data = envelope.data.ok_or("query answer without data")?;
    if data.result_type != "matrix" && data.result_type != "vector" {
        return Err(format!("unsupported result type {:?}", data.result_type).into());
    }
    let mut series = Vec::with_capacity(data.result.len());
    for raw in data.result {
        let mut points = Vec::with_capacity(raw.values.len() + 1);
        for (t, v) in raw.values.iter().chain(raw.value.iter()) {
            points.push(((t * 1000.0).round() as i64, parse_value(v)?));
        }
        series.push(Series {
            labels: raw.metric,
            points,
        });
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Answer {
        result_type: data.result_type,
        series,
    })
}

/// Relative difference of two values: 0 when equal (NaN equals NaN, infinities of one sign are
/// equal), `|a - b| / max(|a|, |b|)` otherwise, infinite when only one is NaN or infinite.
pub fn relative_difference(a: f64, b: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0.0;
    }
    if !a.is_finite() || !b.is_finite() {
        return f64::INFINITY;
    }
    (a - b).abs() / a.abs().max(b.abs())
}

/// How two answers differ.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Series in both (by label set).
    pub common_series: usize,
    /// Series only in the first answer.
    pub only_first: usize,
    /// Series only in the second answer.
    pub only_second: usize,
    /// Common series whose timestamps differ.
    pub timestamp_mismatches: usize,
    /// Points compared (common series with equal timestamps).
    pub points_compared: usize,
    /// Compared points whose relative difference exceeds the tolerance.
    pub value_mismatches: usize,
    /// Largest relative difference among compared points.
    pub max_relative_difference: f64,
    /// Median relative difference among compared points.
    pub median_relative_difference: f64,
    /// Where the largest relative difference is.
    pub worst_difference: Option<String>,
    /// A description of the first difference found.
    pub first_difference: Option<String>,
}

impl Comparison {
    /// True when the answers are the same: same label sets, timestamps and values within tolerance.
    pub fn matches(&self) -> bool {
        self.only_first == 0 && self.only_second == 0 && self.timestamp_mismatches == 0 && self.value_mismatches == 0
    }

    /// True when label sets and timestamps agree (values may still differ).
    pub fn same_shape(&self) -> bool {
        self.only_first == 0 && self.only_second == 0 && self.timestamp_mismatches == 0
    }

    fn note(&mut self, text: impl FnOnce() -> String) {
        if self.first_difference.is_none() {
            self.first_difference = Some(text());
        }
    }
}

/// Compares `first` with `second`: series by label set, then timestamps, then values within
/// `tolerance` (relative).
pub fn compare(first: &Answer, second: &Answer, tolerance: f64) -> Comparison {
    let mut c = Comparison::default();
    let by_labels: BTreeMap<&BTreeMap<String, String>, &Series> =
        second.series.iter().map(|s| (&s.labels, s)).collect();
    let mut seen = 0usize;
    let mut differences = Vec::new();
    for a in &first.series {
        let Some(b) = by_labels.get(&a.labels) else {
            c.only_first += 1;
            c.note(|| format!("series {:?} only in the first answer", a.labels));
            continue;
        };
        seen += 1;
        c.common_series += 1;
        let same_times = a.points.len() == b.points.len() && a.points.iter().zip(&b.points).all(|(p, q)| p.0 == q.0);
        if !same_times {
            c.timestamp_mismatches += 1;
            c.note(|| {
                format!(
                    "series {:?}: {} points from {:?} against {} from {:?}",
                    a.labels,
                    a.points.len(),
                    a.points.first().map(|p| p.0),
                    b.points.len(),
                    b.points.first().map(|p| p.0)
                )
            });
            continue;
        }
        for (p, q) in a.points.iter().zip(&b.points) {
            c.points_compared += 1;
            let d = relative_difference(p.1, q.1);
            differences.push(d);
            if d > c.max_relative_difference {
                c.max_relative_difference = d;
                c.worst_difference = Some(format!("series {:?} at {} ms: {} against {}", a.labels, p.0, p.1, q.1));
            }
            if d > tolerance {
                c.value_mismatches += 1;
                c.note(|| format!("series {:?} at {} ms: {} against {}", a.labels, p.0, p.1, q.1));
            }
        }
    }
    differences.sort_by(f64::total_cmp);
    c.median_relative_difference = differences.get(differences.len() / 2).copied().unwrap_or(0.0);
    c.only_second = second.series.len().saturating_sub(seen);
    if c.only_second > 0 {
        let firsts: std::collections::BTreeSet<_> = first.series.iter().map(|s| &s.labels).collect();
        if let Some(s) = second.series.iter().find(|s| !firsts.contains(&s.labels)) {
            c.note(|| format!("series {:?} only in the second answer", s.labels));
        }
    }
    c
}

/// Compares the values of `first` and `second` instant by instant, ignoring which series carry them:
/// at every timestamp the sorted values must be equal within `tolerance`. This is the right check
/// for `topk`/`bottomk`, where Prometheus leaves the choice among tied series unspecified. `None`
/// when they agree, else the first difference.
pub fn compare_values_per_time(first: &Answer, second: &Answer, tolerance: f64) -> Option<String> {
    let by_time = |answer: &Answer| {
        let mut map: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for series in &answer.series {
            for &(t, v) in &series.points {
                map.entry(t).or_default().push(v);
            }
        }
        for values in map.values_mut() {
            values.sort_by(f64::total_cmp);
        }
        map
    };
    let (a, b) = (by_time(first), by_time(second));
    if a.len() != b.len() {
        return Some(format!("{} instants against {}", a.len(), b.len()));
    }
    for ((ta, va), (tb, vb)) in a.iter().zip(&b) {
        if ta != tb {
            return Some(format!("instant {ta} ms against {tb} ms"));
        }
        if va.len() != vb.len() || va.iter().zip(vb).any(|(x, y)| relative_difference(*x, *y) > tolerance) {
            return Some(format!("at {ta} ms: values {va:?} against {vb:?}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"job":"b"},"values":[[1700000000,"2"],[1700000015.5,"NaN"]]},
        {"metric":{"job":"a"},"values":[[1700000000,"1e3"],[1700000015.5,"+Inf"]]}]}}"#;

    #[test]
    fn parses_matrices_vectors_and_errors() {
        let answer = parse_answer(MATRIX.as_bytes()).expect("parses");
        assert_eq!(answer.result_type, "matrix");
        assert_eq!(answer.series.len(), 2);
        assert_eq!(answer.series[0].labels.get("job").map(String::as_str), Some("a"));
        assert_eq!(
            answer.series[0].points,
            vec![(1_700_000_000_000, 1000.0), (1_700_000_015_500, f64::INFINITY)]
        );
        assert!(answer.series[1].points[1].1.is_nan());
        assert_eq!(answer.points(), 4);
        let vector =
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[12.25,"-3"]}]}}"#;
        let answer = parse_answer(vector.as_bytes()).expect("parses");
        assert_eq!(answer.series[0].points, vec![(12_250, -3.0)]);
        let error = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert!(
            parse_answer(error.as_bytes())
                .expect_err("fails")
                .to_string()
                .contains("parse error")
        );
        assert!(parse_answer(b"not json").is_err());
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#;
        assert!(parse_answer(scalar.as_bytes()).is_err());
        let bad = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}"#;
        assert!(parse_answer(bad.as_bytes()).is_err());
    }

    #[test]
    fn relative_differences() {
        assert_eq!(relative_difference(1.0, 1.0), 0.0);
        assert_eq!(relative_difference(f64::NAN, f64::NAN), 0.0);
        assert_eq!(relative_difference(f64::INFINITY, f64::INFINITY), 0.0);
        assert_eq!(relative_difference(f64::NAN, 1.0), f64::INFINITY);
        assert_eq!(relative_difference(2.0, 1.0), 0.5);
        assert_eq!(relative_difference(0.0, 0.0), 0.0);
        assert_eq!(relative_difference(-0.0, 0.0), 0.0);
    }

    fn answer(series: &[(&str, &[(i64, f64)])]) -> Answer {
        Answer {
            result_type: "matrix".into(),
            series: series
                .iter()
                .map(|(job, points)| Series {
                    labels: [("job".to_string(), job.to_string())].into_iter().collect(),
                    points: points.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn compares_answers() {
        let a = answer(&[("a", &[(0, 1.0), (15, 2.0)]), ("b", &[(0, 5.0)])]);
        let same = compare(&a, &a.clone(), REL_TOLERANCE);
        assert!(same.matches());
        assert_eq!((same.common_series, same.points_compared), (2, 3));

        let close = answer(&[("a", &[(0, 1.0 + 1e-9), (15, 2.0)]), ("b", &[(0, 5.0)])]);
        assert!(compare(&a, &close, REL_TOLERANCE).matches());

        let off = answer(&[("a", &[(0, 1.1), (15, 2.0)]), ("b", &[(0, 5.0)])]);
        let c = compare(&a, &off, REL_TOLERANCE);
        assert!(!c.matches() && c.same_shape());
        assert_eq!(c.value_mismatches, 1);
        assert!((c.max_relative_difference - 0.1 / 1.1).abs() < 1e-12);
        assert!(c.first_difference.as_deref().is_some_and(|d| d.contains("at 0 ms")));
        assert_eq!(c.first_difference, c.worst_difference);
        assert_eq!(c.median_relative_difference, 0.0);

        let shifted = answer(&[("a", &[(0, 1.0), (30, 2.0)]), ("c", &[(0, 5.0)])]);
        let c = compare(&a, &shifted, REL_TOLERANCE);
        assert!(!c.same_shape());
        assert_eq!((c.timestamp_mismatches, c.only_first, c.only_second), (1, 1, 1));
        assert_eq!(c.points_compared, 0);
    }

    #[test]
    fn compares_values_per_instant_ignoring_series() {
        // Two series tied at 2.0 at time 15: either may be the top one.
        let a = answer(&[("a", &[(0, 3.0), (15, 2.0)]), ("b", &[(0, 1.0)])]);
        let b = answer(&[("a", &[(0, 3.0)]), ("b", &[(0, 1.0), (15, 2.0)])]);
        assert!(!compare(&a, &b, REL_TOLERANCE).matches());
        assert_eq!(compare_values_per_time(&a, &b, REL_TOLERANCE), None);
        let c = answer(&[("a", &[(0, 3.0)]), ("b", &[(0, 1.0), (15, 2.5)])]);
        assert!(
            compare_values_per_time(&a, &c, REL_TOLERANCE).is_some_and(|d| d.starts_with("at 15 ms")),
            "{:?}",
            compare_values_per_time(&a, &c, REL_TOLERANCE)
        );
        let d = answer(&[("a", &[(0, 3.0)])]);
        assert!(compare_values_per_time(&a, &d, REL_TOLERANCE).is_some());
    }
}
