//! The values the exposition parser produces.

use std::borrow::Cow;

/// Which exposition format a payload is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`).
    PrometheusText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

/// The type of a metric family, as declared by a `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A monotonically increasing counter.
    Counter,
    /// A value that can go up and down.
    Gauge,
    /// A histogram with cumulative buckets.
    Histogram,
    /// An OpenMetrics gauge histogram.
    GaugeHistogram,
    /// A summary with quantiles.
    Summary,
    /// An OpenMetrics info metric.
    Info,
    /// An OpenMetrics state set.
    StateSet,
    /// `unknown` (OpenMetrics) or `untyped` (text 0.0.4).
    Unknown,
}

/// One label: name and value, borrowed from the input unless they had to be unescaped.
pub type Label<'a> = (Cow<'a, str>, Cow<'a, str>);

/// One meaningful line of an exposition payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// A sample line.
    Sample(ParsedSample<'a>),
    /// `# HELP metric text`, with the text unescaped.
    Help {
        /// The metric family name.
        metric: Cow<'a, str>,
        /// The help text, unescaped.
        text: Cow<'a, str>,
    },
    /// `# TYPE metric kind`.
    Type {
        /// The metric family name.
        metric: Cow<'a, str>,
        /// The declared type.
        kind: MetricType,
    },
    /// `# UNIT metric unit` (OpenMetrics only; in text 0.0.4 such a line is a [`Entry::Comment`]).
    Unit {
        /// The metric family name.
        metric: Cow<'a, str>,
        /// The unit, possibly empty.
        unit: Cow<'a, str>,
    },
    /// Any other line starting with `#`.
    Comment,
}

/// A parsed sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample<'a> {
    /// The metric name, including any suffix such as `_total`, `_bucket` or `_created`.
    pub name: Cow<'a, str>,
    /// The labels in input order; the caller sorts and validates them. Names are unique.
    pub labels: Vec<Label<'a>>,
    /// The sample value.
    pub value: f64,
    /// The explicit timestamp in milliseconds since the Unix epoch, if the line had one. OpenMetrics
    /// timestamps (seconds) are converted, rounded to the nearest millisecond.
    pub timestamp_ms: Option<i64>,
    /// The exemplar that followed the sample (OpenMetrics only).
    pub exemplar: Option<Exemplar<'a>>,
}

/// An OpenMetrics exemplar: `# {labels} value [timestamp]` after a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    /// The exemplar's labels in input order (at most 128 characters in all).
    pub labels: Vec<Label<'a>>,
    /// The exemplar value.
    pub value: f64,
    /// The exemplar timestamp in milliseconds, rounded from the seconds given in the input.
    pub timestamp_ms: Option<i64>,
}

fn owned_labels(labels: Vec<Label<'_>>) -> Vec<Label<'static>> {
    labels
        .into_iter()
        .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
        .collect()
}

impl Entry<'_> {
    /// Copies every borrowed string so the entry outlives the input.
    pub fn into_owned(self) -> Entry<'static> {
        match self {
            Entry::Sample(s) => Entry::Sample(s.into_owned()),
            Entry::Help { metric, text } => Entry::Help {
                metric: Cow::Owned(metric.into_owned()),
                text: Cow::Owned(text.into_owned()),
            },
            Entry::Type { metric, kind } => Entry::Type {
                metric: Cow::Owned(metric.into_owned()),
                kind,
            },
            Entry::Unit { metric, unit } => Entry::Unit {
                metric: Cow::Owned(metric.into_owned()),
                unit: Cow::Owned(unit.into_owned()),
            },
            Entry::Comment => Entry::Comment,
        }
    }
}

impl ParsedSample<'_> {
    /// Copies every borrowed string so the sample outlives the input.
    pub fn into_owned(self) -> ParsedSample<'static> {
        ParsedSample {
            name: Cow::Owned(self.name.into_owned()),
            labels: owned_labels(self.labels),
            value: self.value,
            timestamp_ms: self.timestamp_ms,
            exemplar: self.exemplar.map(|e| Exemplar {
                labels: owned_labels(e.labels),
                value: e.value,
                timestamp_ms: e.timestamp_ms,
            }),
        }
    }
}
