//! Range aggregations (`count_over_time`, `rate`, `sum_over_time(… | unwrap x …)`, …) over the
//! steps of a query, in one forward pass over the selected lines.
//!
//! The window of step `t` is `(t - offset - range, t - offset]` (Loki's left-open window). Lines
//! arrive oldest first; before a line at (shifted) time `ts` is added, every step `t < ts` is
//! complete and is emitted: each series drops samples at or before `t - range` and aggregates
//! what remains. `rate` is the count (or sum) divided by the range in seconds, without
//! extrapolation; `rate_counter` is Prometheus's extrapolated counter rate.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use logs::{Direction, Selection};
use tsdb::{Labels, MatchType};

use super::accel::prefilter;
use super::engine::{BATCH, Deadline, Engine};
use super::labels::{ERROR_LABEL, LineLabels};
use super::metric::{StepSeries, Steps};
use super::pipeline::Pipeline;
use crate::error::Error;
use crate::logql::ast::{FilterValue, Grouping, LineFilterOp, RangeAggregation, RangeOp, Stage};
use crate::promql::eval::range_fns;

struct Buf {
    labels: Labels,
    window: VecDeque<(i64, f64)>,
    values: Vec<Option<f64>>,
}

/// Applies a `by`/`without` clause to a series' labels.
pub(super) fn group(labels: &Labels, grouping: &Grouping) -> Labels {
    if grouping.without {
        labels.without(|n| grouping.labels.iter().any(|g| g == n))
    } else {
        labels.without(|n| !grouping.labels.iter().any(|g| g == n))
    }
}

/// Loki's message for a series that still carries `__error__`.
fn pipeline_error(labels: &Labels) -> Error {
    let kind = labels.get(ERROR_LABEL).unwrap_or_default();
    Error::Execution(format!(
        "pipeline error: '{kind}' for series: '{labels}'.\nUse a label filter to intentionally skip this error. \
         (e.g | __error__!=\"{kind}\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\n\
         The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n"
    ))
}

/// The per-series windows of one range aggregation, fed samples in time order.
struct Windows<'s> {
    steps: &'s Steps,
    agg: Aggregator,
    bufs: Vec<Buf>,
    index: HashMap<Labels, usize>,
    next: usize,
    max_series: usize,
    /// Samples held in all windows, and the most allowed.
    buffered: usize,
    max_samples: usize,
}

impl Windows<'_> {
    /// Emits every step before `ts` (their windows are complete).
    fn advance_to(&mut self, ts: i64) {
        while self.next < self.steps.count && self.steps.at(self.next) < ts {
            self.buffered -= emit(&mut self.bufs, self.next, self.steps, &self.agg);
            self.next += 1;
        }
    }

    /// True when a sample at (shifted) time `ts` falls in the window of a step still to come
    /// (after [`Windows::advance_to`]`(ts)`): with a step longer than the range, lines between
    /// windows count nowhere and are skipped before the pipeline runs, as Loki does.
    fn in_window(&self, ts: i64) -> bool {
        self.next < self.steps.count && ts > self.steps.at(self.next).saturating_sub(self.agg.range)
    }

    /// Adds a sample of `series` at (shifted) time `ts`, after [`Windows::advance_to`]`(ts)`.
    fn add(&mut self, ts: i64, series: Labels, value: f64) -> Result<(), Error> {
        let i = match self.index.get(&series) {
            Some(&i) => i,
            None => {
                if self.bufs.len() >= self.max_series {
                    return Err(Error::Execution(format!(
                        "maximum of series ({}) reached for a single query",
                        self.max_series
                    )));
                }
                self.index.insert(series.clone(), self.bufs.len());
                self.bufs.push(Buf {
                    labels: series,
                    window: VecDeque::new(),
                    values: Vec::new(),
                });
                self.bufs.len() - 1
            }
        };
        if self.buffered >= self.max_samples {
            return Err(Error::TooManySamples("range aggregation".into()));
        }
        self.buffered += 1;
        self.bufs[i].window.push_back((ts, value));
        Ok(())
    }

    fn finish(mut self) -> Vec<StepSeries> {
        self.advance_to(i64::MAX);
        while self.next < self.steps.count {
            emit(&mut self.bufs, self.next, self.steps, &self.agg);
            self.next += 1;
        }
        let count = self.steps.count;
        self.bufs
            .into_iter()
            .filter(|b| b.values.iter().any(Option::is_some))
            .map(|mut b| {
                b.values.resize(count, None);
                StepSeries {
                    labels: b.labels,
                    values: b.values,
                }
            })
            .collect()
    }
}

/// For a range aggregation that only counts lines (or their bytes) passing single-word `|=`
/// filters, the words: the store can then count from its index without reading lines.
fn counting_words(ra: &RangeAggregation) -> Option<Vec<String>> {
    if !matches!(
        ra.op,
        RangeOp::CountOverTime | RangeOp::Rate | RangeOp::BytesOverTime | RangeOp::BytesRate | RangeOp::AbsentOverTime
    ) {
        return None;
    }
    let mut words = Vec::new();
    for stage in &ra.log.stages {
        match stage {
            Stage::LineFilter {
                op: LineFilterOp::Contains,
                values,
            } => match values.as_slice() {
                [FilterValue::Str(word)] if logs::schema::is_word(word) => words.push(word.clone()),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(words)
}

impl Engine<'_> {
    /// Evaluates a range aggregation at every step.
    pub(super) fn eval_range(
        &self,
        ra: &RangeAggregation,
        steps: &Steps,
        deadline: &Deadline,
    ) -> Result<Vec<StepSeries>, Error> {
        let pipeline = Pipeline::compile(&ra.log.stages)?;
        let range = ra.range_ns.max(1);
        let offset = ra.offset_ns;
        let filter = prefilter(&ra.log);
        let selection = Selection {
            matchers: ra.log.matchers.clone(),
            start_ns: steps
                .first()
                .saturating_sub(offset)
                .saturating_sub(range)
                .saturating_add(1),
            end_ns: steps.last().saturating_sub(offset).saturating_add(1),
            direction: Direction::Forward,
            required_tokens: filter.tokens,
            token_substrings: filter.substrings,
        };
        let mut windows = Windows {
            steps,
            agg: Aggregator {
                op: ra.op,
                param: ra.param.unwrap_or(0.0),
                range,
            },
            bufs: Vec::new(),
            index: HashMap::new(),
            next: 0,
            max_series: self.options.max_series.saturating_mul(10).max(10_000),
            buffered: 0,
            max_samples: self.options.max_samples,
        };
        let bytes = matches!(ra.op, RangeOp::BytesOverTime | RangeOp::BytesRate);
        let counted = match counting_words(ra) {
            Some(words) => self.count_from_index(ra, &selection, words, &pipeline, &mut windows, deadline)?,
            None => false,
        };
        if !counted {
            let mut cursor = self.source.select(&selection)?;
            loop {
                let batch = cursor.next_batch(BATCH)?;
                if batch.is_empty() {
                    break;
                }
                deadline.check()?;
                for line in batch {
                    let ts = line.ts_ns.saturating_add(offset);
                    windows.advance_to(ts);
                    if !windows.in_window(ts) {
                        continue;
                    }
                    let mut labels = LineLabels::new(line.labels, &line.metadata);
                    let mut text = line.line;
                    if !pipeline.process(line.ts_ns, &mut text, &mut labels) {
                        continue;
                    }
                    let value = if pipeline.has_unwrap() {
                        match pipeline.extract(&mut labels) {
                            Some(v) => v,
                            None => continue,
                        }
                    } else if bytes {
                        text.len() as f64
                    } else {
                        1.0
                    };
                    let mut series = labels.to_labels();
                    // Checked before grouping: a `by` clause must not hide the error.
                    if series.get(ERROR_LABEL).is_some() {
                        return Err(pipeline_error(&series));
                    }
                    if let Some(g) = &ra.grouping {
                        series = group(&series, g);
                    }
                    windows.add(ts, series, value)?;
                }
            }
        }
        let mut out = windows.finish();
        if ra.op == RangeOp::AbsentOverTime {
            out = absent(out, ra, steps);
        }
        Ok(out)
    }

    /// The counting fast path: lines matching the words exactly come from the index with their
    /// timestamps, streams and lengths; lines with an over-long token are read and checked.
    /// False when the source cannot count (memory sources).
    fn count_from_index(
        &self,
        ra: &RangeAggregation,
        selection: &Selection,
        words: Vec<String>,
        pipeline: &Pipeline,
        windows: &mut Windows<'_>,
        deadline: &Deadline,
    ) -> Result<bool, Error> {
        let exact = Selection {
            required_tokens: Vec::new(),
            token_substrings: words.clone(),
            ..selection.clone()
        };
        let Some(mut cursor) = self.source.select_meta(&exact)? else {
            return Ok(false);
        };
        let bytes = matches!(ra.op, RangeOp::BytesOverTime | RangeOp::BytesRate);
        let offset = ra.offset_ns;
        // Samples: (shifted time, series, value); series labels memoised per (stream, metadata).
        let mut samples: Vec<(i64, usize, f64)> = Vec::new();
        let mut series: Vec<Labels> = Vec::new();
        let mut series_index: HashMap<Labels, usize> = HashMap::new();
        let mut by_stream: HashMap<(*const Labels, *const logs::store::Metadata), usize> = HashMap::new();
        // The memo is keyed by address: keep every keyed allocation alive so none is reused.
        let mut keep_alive: Vec<(Arc<Labels>, Arc<logs::store::Metadata>)> = Vec::new();
        let mut series_of = |labels: &Arc<Labels>, metadata: &Arc<Vec<(String, String)>>, series: &mut Vec<Labels>| {
            let key = (Arc::as_ptr(labels), Arc::as_ptr(metadata));
            if let Some(&i) = by_stream.get(&key) {
                return i;
            }
            let mut l = LineLabels::new(Arc::clone(labels), metadata).to_labels();
            if let Some(g) = &ra.grouping {
                l = group(&l, g);
            }
            let i = *series_index.entry(l.clone()).or_insert_with(|| {
                series.push(l);
                series.len() - 1
            });
            keep_alive.push((Arc::clone(labels), Arc::clone(metadata)));
            by_stream.insert(key, i);
            i
        };
        loop {
            let batch = cursor.next_meta(BATCH * 8)?;
            if batch.is_empty() {
                break;
            }
            deadline.check()?;
            if samples.len() >= self.options.max_samples {
                return Err(Error::TooManySamples("range aggregation".into()));
            }
            for m in batch {
                let i = series_of(&m.labels, &m.metadata, &mut series);
                let value = if bytes { m.len as f64 } else { 1.0 };
                samples.push((m.ts_ns.saturating_add(offset), i, value));
            }
        }
        if !words.is_empty() {
            let marked = Selection {
                required_tokens: vec![logs::schema::LONG_TOKEN.to_string()],
                token_substrings: words,
                ..selection.clone()
            };
            let mut cursor = self.source.select(&marked)?;
            loop {
                let batch = cursor.next_batch(BATCH)?;
                if batch.is_empty() {
                    break;
                }
                deadline.check()?;
                for line in batch {
                    let mut labels = LineLabels::new(Arc::clone(&line.labels), &line.metadata);
                    let mut text = line.line;
                    if pipeline.process(line.ts_ns, &mut text, &mut labels) {
                        let metadata = Arc::new(line.metadata);
                        let i = series_of(&line.labels, &metadata, &mut series);
                        let value = if bytes { text.len() as f64 } else { 1.0 };
                        samples.push((line.ts_ns.saturating_add(offset), i, value));
                    }
                }
            }
        }
        samples.sort_by_key(|s| s.0);
        for (ts, i, value) in samples {
            windows.advance_to(ts);
            if windows.in_window(ts) {
                windows.add(ts, series[i].clone(), value)?;
            }
        }
        Ok(true)
    }
}

struct Aggregator {
    op: RangeOp,
    param: f64,
    range: i64,
}

/// Computes step `i` of every series; returns how many samples left the windows.
fn emit(bufs: &mut [Buf], i: usize, steps: &Steps, agg: &Aggregator) -> usize {
    let t = steps.at(i);
    let floor = t.saturating_sub(agg.range);
    let mut evicted = 0;
    for buf in bufs.iter_mut() {
        while buf.window.front().is_some_and(|&(ts, _)| ts <= floor) {
            buf.window.pop_front();
            evicted += 1;
        }
        if buf.window.is_empty() {
            continue;
        }
        let value = agg.apply(buf, t);
        if buf.values.len() <= i {
            buf.values.resize(i + 1, None);
        }
        buf.values[i] = value;
    }
    evicted
}

impl Aggregator {
    fn apply(&self, buf: &Buf, _t: i64) -> Option<f64> {
        let secs = self.range as f64 / 1e9;
        let w = &buf.window;
        let exact_sum = || w.iter().map(|(_, v)| v).sum::<f64>();
        let samples = || w.iter().copied().collect::<Vec<(i64, f64)>>();
        Some(match self.op {
            RangeOp::CountOverTime | RangeOp::AbsentOverTime => w.len() as f64,
            RangeOp::BytesOverTime => exact_sum(),
            RangeOp::BytesRate => exact_sum() / secs,
            RangeOp::Rate => exact_sum() / secs,
            RangeOp::SumOverTime => exact_sum(),
            RangeOp::AvgOverTime => exact_sum() / w.len() as f64,
            RangeOp::MinOverTime => w
                .iter()
                .map(|&(_, v)| v)
                .fold(f64::NAN, |a, v| if a.is_nan() || v < a { v } else { a }),
            RangeOp::MaxOverTime => w
                .iter()
                .map(|&(_, v)| v)
                .fold(f64::NAN, |a, v| if a.is_nan() || v > a { v } else { a }),
            RangeOp::FirstOverTime => w.front()?.1,
            RangeOp::LastOverTime => w.back()?.1,
            RangeOp::StdvarOverTime => range_fns::stdvar_over_time(&samples())?,
            RangeOp::StddevOverTime => range_fns::stddev_over_time(&samples())?,
            RangeOp::QuantileOverTime => range_fns::quantile_over_time(self.param, &samples())?,
            RangeOp::RateCounter => counter_rate(w, self.range),
        })
    }
}

/// `rate_counter` as Loki computes it: 0 with fewer than two samples; the increase (counter
/// resets added back) extrapolated Prometheus-2 style over a range taken as
/// `(first sample - range, last sample]`, towards zero no further than the counter allows, per
/// second of the range.
fn counter_rate(w: &VecDeque<(i64, f64)>, range_ns: i64) -> f64 {
    let (Some(&(first_t, first_v)), Some(&(last_t, last_v))) = (w.front(), w.back()) else {
        return 0.0;
    };
    if w.len() < 2 {
        return 0.0;
    }
    let mut result = last_v - first_v;
    let mut prev = first_v;
    for &(_, v) in w.iter().skip(1) {
        if v < prev {
            result += prev;
        }
        prev = v;
    }
    let range_s = range_ns as f64 / 1e9;
    let sampled = (last_t - first_t) as f64 / 1e9;
    let avg = sampled / (w.len() - 1) as f64;
    let mut to_start = range_s;
    let to_end = 0.0;
    if result > 0.0 && first_v >= 0.0 {
        to_start = to_start.min(sampled * (first_v / result));
    }
    let threshold = avg * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold { to_start } else { avg / 2.0 };
    interval += if to_end < threshold { to_end } else { avg / 2.0 };
    result * (interval / sampled) / range_s
}

/// `absent_over_time`: 1 at the steps where no series had a line, labelled with the selector's
/// equality matchers.
fn absent(present: Vec<StepSeries>, ra: &RangeAggregation, steps: &Steps) -> Vec<StepSeries> {
    let values: Vec<Option<f64>> = (0..steps.count)
        .map(|i| {
            let any = present.iter().any(|s| s.values.get(i).copied().flatten().is_some());
            (!any).then_some(1.0)
        })
        .collect();
    if values.iter().all(Option::is_none) {
        return Vec::new();
    }
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for m in &ra.log.matchers {
        if m.match_type() == MatchType::Equal && !pairs.iter().any(|(n, _)| *n == m.name()) {
            pairs.push((m.name(), m.value()));
        }
    }
    let labels = Labels::new(pairs).unwrap_or_default();
    vec![StepSeries { labels, values }]
}
