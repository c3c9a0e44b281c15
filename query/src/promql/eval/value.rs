//! The values PromQL evaluation produces, and the storage interface it reads from.

use tsdb::{Labels, Matcher, Sample};

use crate::error::Error;

/// One series with samples: an element of a range vector, or what storage returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in time order.
    pub samples: Vec<Sample>,
}

/// One element of an instant vector: a series' value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// The labels (without `__name__` once a function or operator dropped it).
    pub labels: Labels,
    /// The evaluation timestamp in ms.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// The result of evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number at a timestamp.
    Scalar {
        /// Timestamp in ms.
        t: i64,
        /// The value.
        v: f64,
    },
    /// A string at a timestamp.
    String {
        /// Timestamp in ms.
        t: i64,
        /// The value.
        v: String,
    },
    /// An instant vector.
    Vector(Vec<InstantSample>),
    /// A range vector (or the result of a range query: one series per output series).
    Matrix(Vec<Series>),
}

impl Value {
    /// `scalar`, `string`, `vector` or `matrix`, as the API's `resultType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A query's result with the annotations Prometheus reports beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Warnings (e.g. `PromQL warning: …`), shown by the API in `warnings`.
    pub warnings: Vec<String>,
    /// Informational notes (e.g. `PromQL info: metric might not be a counter…`), in `infos`.
    pub infos: Vec<String>,
}

/// Where the engine reads series from.
pub trait Storage: Sync {
    /// Every series matching all `matchers` that has samples in `[mint, maxt]` (ms, inclusive),
    /// with only those samples, in label order.
    fn select(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Result<Vec<Series>, Error>;

    /// Like [`Storage::select`], but hands each series to `each` as labels and `(t ms, value)`
    /// pairs as soon as it is read, and stops at the first error `each` returns (the engine
    /// fails a query that reads too many samples before reading them all).
    fn select_each(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
        each: &mut dyn FnMut(Labels, Vec<(i64, f64)>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for s in self.select(mint, maxt, matchers)? {
            each(s.labels, s.samples.iter().map(|x| (x.t, x.v)).collect())?;
        }
        Ok(())
    }
}

/// Series decoded per thread in one batch of [`TsdbStorage`]'s `select_each`.
const DECODE_BATCH: usize = 64;

/// Samples below which a selection is decoded on one thread.
const PARALLEL_DECODE_MIN_SAMPLES: usize = 500_000;

/// How many threads decode `selected`: one for small selections, else up to four.
fn decode_threads(selected: &[tsdb::querier::Series]) -> usize {
    let samples: usize = selected.iter().map(tsdb::querier::Series::sample_hint).sum();
    if samples < PARALLEL_DECODE_MIN_SAMPLES || selected.len() < 2 {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(4)
}

/// [`Storage`] over Loupe's TSDB.
pub struct TsdbStorage<'a>(pub &'a tsdb::db::Db);

impl Storage for TsdbStorage<'_> {
    fn select(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Result<Vec<Series>, Error> {
        let querier = self.0.querier(mint, maxt);
        let selected = querier.select(matchers).map_err(|e| Error::Storage(e.to_string()))?;
        let mut out = Vec::with_capacity(selected.len());
        for series in selected {
            let samples: Vec<Sample> = series.iter().filter(|s| s.t >= mint && s.t <= maxt).collect();
            if !samples.is_empty() {
                out.push(Series {
                    labels: series.labels().clone(),
                    samples,
                });
            }
        }
        Ok(out)
    }

    fn select_each(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
        each: &mut dyn FnMut(Labels, Vec<(i64, f64)>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let querier = self.0.querier(mint, maxt);
        let selected = querier.select(matchers).map_err(|e| Error::Storage(e.to_string()))?;
        let decode = |series: &tsdb::querier::Series| -> Vec<(i64, f64)> {
            let mut samples = Vec::with_capacity(series.sample_hint());
            series.decode_into(&mut samples, mint, maxt);
            samples
        };
        let threads = decode_threads(&selected);
        // Batches of series are decoded on `threads` threads at once and handed to `each` in
        // order, so `each` can stop the query after at most one batch too many.
        for batch in selected.chunks(DECODE_BATCH * threads) {
            let decoded: Vec<Vec<(i64, f64)>> = if threads > 1 && batch.len() > 1 {
                let per = batch.len().div_ceil(threads);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = batch
                        .chunks(per)
                        .map(|part| scope.spawn(move || part.iter().map(decode).collect::<Vec<_>>()))
                        .collect();
                    let mut all = Vec::with_capacity(batch.len());
                    for h in handles {
                        match h.join() {
                            Ok(part) => all.extend(part),
                            Err(panic) => std::panic::resume_unwind(panic),
                        }
                    }
                    all
                })
            } else {
                batch.iter().map(decode).collect()
            };
            for (series, samples) in batch.iter().zip(decoded) {
                if !samples.is_empty() {
                    each(series.labels().clone(), samples)?;
                }
            }
        }
        Ok(())
    }
}

/// [`Storage`] over series held in memory (tests, and the rules engine's own results).
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    /// The series, in label order, samples in time order.
    pub series: Vec<Series>,
}

impl Storage for MemoryStorage {
    fn select(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Result<Vec<Series>, Error> {
        Ok(self
            .series
            .iter()
            .filter(|s| tsdb::labels::matches_labels(matchers, &s.labels))
            .filter_map(|s| {
                let samples: Vec<Sample> = s
                    .samples
                    .iter()
                    .copied()
                    .filter(|x| x.t >= mint && x.t <= maxt)
                    .collect();
                (!samples.is_empty()).then(|| Series {
                    labels: s.labels.clone(),
                    samples,
                })
            })
            .collect())
    }

    fn select_each(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
        each: &mut dyn FnMut(Labels, Vec<(i64, f64)>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for s in self
            .series
            .iter()
            .filter(|s| tsdb::labels::matches_labels(matchers, &s.labels))
        {
            let samples: Vec<(i64, f64)> = s
                .samples
                .iter()
                .filter(|x| x.t >= mint && x.t <= maxt)
                .map(|x| (x.t, x.v))
                .collect();
            if !samples.is_empty() {
                each(s.labels.clone(), samples)?;
            }
        }
        Ok(())
    }
}
