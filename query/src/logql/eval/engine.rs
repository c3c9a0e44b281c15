//! The LogQL engine: log queries to entries, metric queries to series over steps.
//!
//! A log query selects the lines of its streams in `[start, end)` in the requested direction,
//! pre-filtered through the full-text index by the tokens its line filters guarantee (see
//! [`super::accel`]), runs the pipeline on each candidate — so every result is checked exactly —
//! and stops at `limit` entries. A metric query evaluates its range aggregations in one forward
//! pass over the lines (see [`super::range`]) and combines their per-step values (see
//! [`super::metric`]).

use std::time::{Duration, Instant};

use logs::{Direction, Selection};
use tsdb::Labels;

use super::accel::prefilter;
use super::labels::LineLabels;
use super::metric::{Evaluated, Steps};
use super::pipeline::Pipeline;
use super::source::LogSource;
use crate::error::Error;
use crate::logql::ast::{Expr, LogExpr};

/// Limits of one query.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Most entries a log query may ask for (`max_entries_limit_per_query`).
    pub max_entries: usize,
    /// Most series a metric query may return (`max_query_series`).
    pub max_series: usize,
    /// Most points per series (steps of a range query).
    pub max_points: usize,
    /// Wall-clock limit of a query.
    pub timeout: Duration,
    /// Most samples a metric query holds in its range windows at once (`max_samples`).
    pub max_samples: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_entries: 5000,
            max_series: 500,
            max_points: 11_000,
            timeout: Duration::from_secs(60),
            max_samples: 50_000_000,
        }
    }
}

/// The time parameters of a query. An instant query has `start_ns == end_ns` and `step_ns == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryParams {
    /// Start, ns (inclusive).
    pub start_ns: i64,
    /// End, ns (exclusive for log queries, the last step for metric queries).
    pub end_ns: i64,
    /// Step of a metric range query, ns.
    pub step_ns: i64,
    /// Thinning of a log query's entries per stream, ns (0: none).
    pub interval_ns: i64,
    /// Most entries of a log query.
    pub limit: usize,
    /// Order of a log query's entries.
    pub direction: Direction,
}

/// One entry of a log query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Timestamp, ns.
    pub ts_ns: i64,
    /// The line, after formatting stages.
    pub line: String,
    /// All labels: stream, structured metadata and parsed (the plain response's stream).
    pub labels: Labels,
    /// The indexed (stream) labels only.
    pub stream: Labels,
    /// Structured metadata.
    pub metadata: Vec<(String, String)>,
    /// Labels added by parsers and formatters.
    pub parsed: Vec<(String, String)>,
}

/// A series of a metric query.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    /// Its labels.
    pub labels: Labels,
    /// `(timestamp ns, value)` points, oldest first.
    pub points: Vec<(i64, f64)>,
}

/// The value of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// Log entries, in the requested direction, at most `limit`.
    Streams(Vec<LogEntry>),
    /// Series over steps (range metric query).
    Matrix(Vec<MetricSeries>),
    /// Samples at one time (instant metric query): `(labels, value)`, at `ts_ns`.
    Vector {
        /// The evaluation time, ns.
        ts_ns: i64,
        /// The samples.
        samples: Vec<(Labels, f64)>,
    },
    /// A constant expression at one time.
    Scalar {
        /// The evaluation time, ns.
        ts_ns: i64,
        /// The value.
        value: f64,
    },
}

/// The LogQL engine over a source of lines.
pub struct Engine<'a> {
    pub(super) source: &'a dyn LogSource,
    pub(super) options: EngineOptions,
}

/// Tracks a query's deadline.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    until: Instant,
    timeout: Duration,
}

impl Deadline {
    pub(super) fn check(&self) -> Result<(), Error> {
        if Instant::now() > self.until {
            return Err(Error::Timeout(format!("{:?}", self.timeout)));
        }
        Ok(())
    }
}

/// Lines read from the source per batch.
pub(super) const BATCH: usize = 1024;

impl<'a> Engine<'a> {
    /// An engine reading `source`.
    pub fn new(source: &'a dyn LogSource, options: EngineOptions) -> Engine<'a> {
        Engine { source, options }
    }

    pub(super) fn deadline(&self) -> Deadline {
        Deadline {
            until: Instant::now() + self.options.timeout,
            timeout: self.options.timeout,
        }
    }

    /// Evaluates a range query: a log query gives streams, a metric query a matrix.
    pub fn query_range(&self, expr: &Expr, params: &QueryParams) -> Result<QueryValue, Error> {
        if params.end_ns < params.start_ns {
            return Err(Error::Execution("end timestamp must not be before start time".into()));
        }
        match expr {
            Expr::Log(log) => self.select_logs(log, params).map(QueryValue::Streams),
            Expr::Metric(metric) => {
                if params.step_ns <= 0 {
                    return Err(Error::Execution(
                        "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
                    ));
                }
                let steps = Steps::new(params.start_ns, params.end_ns, params.step_ns);
                // Loki's rule: (end - start) / step may be at most the limit (one more point).
                if steps.count.saturating_sub(1) > self.options.max_points {
                    return Err(Error::Execution(format!(
                        "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                        self.options.max_points
                    )));
                }
                let deadline = self.deadline();
                let value = self.eval_metric(metric, &steps, &deadline)?;
                let series = match value {
                    Evaluated::Scalar(v) => vec![MetricSeries {
                        labels: Labels::empty(),
                        points: steps.iter().map(|t| (t, v)).collect(),
                    }],
                    Evaluated::Matrix(m) => m
                        .into_iter()
                        .filter_map(|s| {
                            let points: Vec<(i64, f64)> = steps
                                .iter()
                                .zip(s.values)
                                .filter_map(|(t, v)| v.map(|v| (t, v)))
                                .collect();
                            (!points.is_empty()).then_some(MetricSeries {
                                labels: s.labels,
                                points,
                            })
                        })
                        .collect(),
                };
                self.check_series(series.len())?;
                let mut series = series;
                series.sort_by(|a, b| a.labels.cmp(&b.labels));
                Ok(QueryValue::Matrix(series))
            }
        }
    }

    /// Evaluates an instant query at `ts_ns`: metric queries only.
    pub fn query_instant(&self, expr: &Expr, ts_ns: i64) -> Result<QueryValue, Error> {
        let Expr::Metric(metric) = expr else {
            return Err(Error::Execution(
                "log queries are not supported as an instant query type, please change your query to a range query type"
                    .into(),
            ));
        };
        let steps = Steps::new(ts_ns, ts_ns, 1);
        let deadline = self.deadline();
        match self.eval_metric(metric, &steps, &deadline)? {
            Evaluated::Scalar(value) => Ok(QueryValue::Scalar { ts_ns, value }),
            Evaluated::Matrix(m) => {
                let mut samples: Vec<(Labels, f64)> = m
                    .into_iter()
                    .filter_map(|s| s.values.first().copied().flatten().map(|v| (s.labels, v)))
                    .collect();
                // Label order, unless the query itself orders by value.
                let sorted_by_value = matches!(
                    metric,
                    crate::logql::ast::MetricExpr::VectorAggregation(va)
                        if matches!(va.op, crate::logql::ast::VectorOp::Sort | crate::logql::ast::VectorOp::SortDesc)
                );
                if !sorted_by_value {
                    samples.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.check_series(samples.len())?;
                Ok(QueryValue::Vector { ts_ns, samples })
            }
        }
    }

    pub(super) fn check_series(&self, n: usize) -> Result<(), Error> {
        if n > self.options.max_series {
            return Err(Error::Execution(format!(
                "maximum of series ({}) reached for a single query",
                self.options.max_series
            )));
        }
        Ok(())
    }

    /// The entries of a log query.
    pub fn select_logs(&self, expr: &LogExpr, params: &QueryParams) -> Result<Vec<LogEntry>, Error> {
        if params.limit > self.options.max_entries {
            return Err(Error::Execution(format!(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query ({} > {})",
                params.limit, self.options.max_entries
            )));
        }
        let deadline = self.deadline();
        let pipeline = Pipeline::compile(&expr.stages)?;
        let filter = prefilter(expr);
        let selection = Selection {
            matchers: expr.matchers.clone(),
            start_ns: params.start_ns,
            end_ns: params.end_ns,
            direction: params.direction,
            required_tokens: filter.tokens,
            token_substrings: filter.substrings,
        };
        let mut cursor = self.source.select(&selection)?;
        let mut out: Vec<LogEntry> = Vec::new();
        // Last kept timestamp per result stream, for `interval`.
        let mut last_kept: std::collections::HashMap<Labels, i64> = std::collections::HashMap::new();
        while out.len() < params.limit {
            let batch = cursor.next_batch(BATCH)?;
            if batch.is_empty() {
                break;
            }
            deadline.check()?;
            for line in batch {
                let mut labels = LineLabels::new(line.labels, &line.metadata);
                let mut text = line.line;
                if !pipeline.process(line.ts_ns, &mut text, &mut labels) {
                    continue;
                }
                let all = labels.to_labels();
                if params.interval_ns > 0 {
                    if let Some(&prev) = last_kept.get(&all)
                        && (line.ts_ns - prev).abs() < params.interval_ns
                    {
                        continue;
                    }
                    last_kept.insert(all.clone(), line.ts_ns);
                }
                let (stream, metadata, parsed) = labels.categorized();
                out.push(LogEntry {
                    ts_ns: line.ts_ns,
                    line: text,
                    labels: all,
                    stream,
                    metadata,
                    parsed,
                });
                if out.len() >= params.limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
