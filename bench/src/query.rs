//! Phase d: select and decode throughput over the whole time range (blocks and head together).

use std::time::Instant;

use serde::Serialize;
use tsdb::db::Db;
use tsdb::{MatchType, Matcher};

use crate::Result;
use crate::dataset::Dataset;

/// One selector's figures.
#[derive(Debug, Clone, Serialize)]
pub struct QueryFigures {
    /// The selector, in PromQL syntax.
    pub selector: String,
    /// Series returned.
    pub series: u64,
    /// Series of the dataset the selector matches.
    pub expected_series: u64,
    /// Samples iterated.
    pub samples: u64,
    /// Samples those series were given (`expected_series × steps`).
    pub expected_samples: u64,
    /// Wall time of `Querier::select`.
    pub select_seconds: f64,
    /// Wall time of iterating every returned series.
    pub iterate_seconds: f64,
    /// `samples / (select_seconds + iterate_seconds)`.
    pub samples_per_second: f64,
}

/// The selectors measured: every counter, one job, one histogram family, everything.
pub fn selectors(dataset: &Dataset) -> Result<Vec<(String, Vec<Matcher>)>> {
    let job = dataset.targets.first().map_or("api", |t| t.job.as_str());
    Ok(vec![
        (
            r#"{__name__=~".+_total"}"#.to_string(),
            vec![Matcher::new(MatchType::Regex, "__name__", ".+_total")?],
        ),
        (
            format!(r#"{{job="{job}"}}"#),
            vec![Matcher::new(MatchType::Equal, "job", job)?],
        ),
        (
            r#"{__name__="http_request_duration_seconds_bucket", le!="+Inf"}"#.to_string(),
            vec![
                Matcher::new(MatchType::Equal, "__name__", "http_request_duration_seconds_bucket")?,
                Matcher::new(MatchType::NotEqual, "le", "+Inf")?,
            ],
        ),
        (
            r#"{__name__=~".+"}"#.to_string(),
            vec![Matcher::new(MatchType::Regex, "__name__", ".+")?],
        ),
    ])
}

/// Runs every selector over the dataset's whole time range.
pub fn run_queries(db: &Db, dataset: &Dataset) -> Result<Vec<QueryFigures>> {
    let (mint, maxt) = dataset.time_bounds();
    let mut out = Vec::new();
    for (selector, matchers) in selectors(dataset)? {
        let querier = db.querier(mint, maxt);
        let started = Instant::now();
        let selected = querier.select(&matchers)?;
        let select_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut samples = 0u64;
        let mut checksum = 0.0f64;
        for series in &selected {
            for sample in series.iter() {
                samples += 1;
                checksum += sample.v;
            }
        }
        let iterate_seconds = started.elapsed().as_secs_f64();
        std::hint::black_box(checksum);
        let expected_series = dataset.count_matching(&matchers) as u64;
        out.push(QueryFigures {
            selector,
            series: selected.len() as u64,
            expected_series,
            samples,
            expected_samples: expected_series * dataset.steps() as u64,
            select_seconds,
            iterate_seconds,
            samples_per_second: samples as f64 / (select_seconds + iterate_seconds).max(1e-9),
        });
    }
    Ok(out)
}
