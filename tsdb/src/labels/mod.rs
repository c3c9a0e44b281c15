//! Label sets and label matchers.
//!
//! A series is identified by its sorted [`Labels`]; the metric name is the label `__name__`.
//! [`Matcher`]s select series with Prometheus semantics (`=`, `!=`, `=~`, `!~`).

mod matcher;
mod set;

pub use matcher::{MatchType, Matcher, matches_labels};
pub use set::{Label, Labels, LabelsBuilder, METRIC_NAME};
