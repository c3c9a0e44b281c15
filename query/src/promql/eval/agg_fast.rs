//! Aggregations that need no input vector: `sum`, `avg`, `count`, `min`, `max`, `group`,
//! `stddev` and `stdvar` (by or without labels) of an instant selector, or of a range function of
//! a range selector that its column can serve (`sum by (job) (rate(x[5m]))`).
//!
//! The step-by-step path builds one element per input series at every step (a copy of its labels)
//! and finds each element's group by its labels. Here each loaded series is given its group once
//! per query, and every step only adds the series' values into their groups' buffers: no labels
//! are copied or compared but the groups'. The arithmetic is the step path's
//! ([`super::aggregate::simple`]) over the same values in the same order, so the results are
//! bit-identical, and the groups come out in the same order (that of their first series with a
//! value at the step).

use tsdb::Labels;

use super::aggregate::{group_labels, simple};
use super::engine::{Elem, Evaluator, Val};
use super::{range_calls, selectors};
use crate::error::Error;
use crate::promql::ast::{AggregateOp, Expr, PosRange};

/// The groups of one aggregation over the series of one selector, kept across steps.
#[derive(Debug, Default)]
pub(super) struct FastGroups {
    /// The group of each loaded series, by its index in the selector's data.
    group: Vec<u32>,
    /// The output labels of each group.
    labels: Vec<Labels>,
    /// Per group, the values of this step (cleared after each step).
    values: Vec<Vec<f64>>,
    /// The groups with values at this step, in order of their first series.
    order: Vec<u32>,
}

impl FastGroups {
    /// Gives each of `series` its group.
    fn new<'s>(series: impl Iterator<Item = &'s Labels>, grouping: &[String], without: bool) -> FastGroups {
        let mut index: std::collections::HashMap<Labels, u32> = std::collections::HashMap::new();
        let mut out = FastGroups::default();
        for labels in series {
            let key = group_labels(labels, grouping, without);
            let next = u32::try_from(out.labels.len()).unwrap_or(u32::MAX);
            let g = *index.entry(key).or_insert_with_key(|key| {
                out.labels.push(key.clone());
                out.values.push(Vec::new());
                next
            });
            out.group.push(g);
        }
        out
    }

    /// Adds the value of series `j`.
    #[inline]
    fn add(&mut self, j: usize, v: f64) {
        let Some(&g) = self.group.get(j) else { return };
        let Some(values) = self.values.get_mut(g as usize) else {
            return;
        };
        if values.is_empty() {
            self.order.push(g);
        }
        values.push(v);
    }

    /// The step's output, one element per group with values; clears the step's values.
    fn finish(&mut self, op: AggregateOp, drop_name: bool) -> Vec<Elem> {
        let mut out = Vec::with_capacity(self.order.len());
        for &g in &self.order {
            let values = &mut self.values[g as usize];
            out.push(Elem {
                labels: self.labels[g as usize].clone(),
                v: simple(op, values),
                drop_name,
            });
            values.clear();
        }
        self.order.clear();
        out
    }
}

/// Where the aggregated values come from.
enum Source<'e> {
    /// An instant selector.
    Selector(&'e crate::promql::ast::VectorSelector),
    /// A range function (its name) of a range selector, cited at `pos`.
    Column(&'static str, &'e crate::promql::ast::MatrixSelector, PosRange),
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(inner) = e {
        e = inner;
    }
    e
}

/// The source of `input`, if the fast path can evaluate it.
fn source(input: &Expr) -> Option<Source<'_>> {
    match unwrap_parens(input) {
        Expr::VectorSelector(vs) => Some(Source::Selector(vs)),
        Expr::Call { func, args, arg_pos } if args.len() == 1 && !func.native_histogram => {
            match unwrap_parens(&args[0]) {
                Expr::MatrixSelector(ms) if range_calls::columnar(func.name, ms) => Some(Source::Column(
                    func.name,
                    ms,
                    arg_pos.first().copied().unwrap_or_default(),
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Evaluates `op by|without (grouping) (input)` at `t` without building the input vector, when
/// the operator and the input allow it; `None` when they do not (nothing was evaluated then).
/// `node` identifies the aggregation in the query.
pub(super) fn eval(
    ev: &mut Evaluator<'_>,
    node: usize,
    op: AggregateOp,
    input: &Expr,
    grouping: &[String],
    without: bool,
    t: i64,
) -> Option<Result<Val, Error>> {
    if !matches!(
        op,
        AggregateOp::Sum
            | AggregateOp::Avg
            | AggregateOp::Count
            | AggregateOp::Min
            | AggregateOp::Max
            | AggregateOp::Group
            | AggregateOp::Stddev
            | AggregateOp::Stdvar
    ) {
        return None;
    }
    let source = source(input)?;
    let key = match &source {
        Source::Selector(vs) => selectors::key(vs),
        Source::Column(_, ms, _) => selectors::key(&ms.vs),
    };
    let data = std::sync::Arc::clone(&ev.data);
    let series = data.get(&key)?;
    let mut groups = match ev.fast_groups.remove(&node) {
        Some(g) if g.group.len() == series.len() => g,
        _ => FastGroups::new(series.iter().map(|s| &s.labels), grouping, without),
    };
    let out = match source {
        Source::Selector(vs) => {
            let present = match range_calls::instant_column_each(ev, vs, t, |j, v| groups.add(j, v)) {
                Some(present) => present,
                None => selectors::instant_each(ev, vs, t, |j, v| groups.add(j, v)),
            };
            Some(ev.add_samples(present).map(|()| Val::Vector(groups.finish(op, false))))
        }
        Source::Column(name, ms, pos) => {
            let prev = ev.cite(pos);
            let done = range_calls::column_each(ev, name, ms, t, &[], |j, v| groups.add(j, v));
            ev.cite(prev);
            let drop_name = !matches!(name, "last_over_time" | "first_over_time");
            done.map(|r| r.map(|()| Val::Vector(groups.finish(op, drop_name))))
        }
    };
    // A failed step may leave values behind; the next use must start clean.
    if out.as_ref().is_none_or(Result::is_err) {
        groups.values.iter_mut().for_each(Vec::clear);
        groups.order.clear();
    }
    ev.fast_groups.insert(node, groups);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).expect("valid labels")
    }

    #[test]
    fn groups_follow_first_series_with_a_value() {
        let series = [
            labels(&[("__name__", "x"), ("job", "b"), ("i", "0")]),
            labels(&[("__name__", "x"), ("job", "a"), ("i", "1")]),
            labels(&[("__name__", "x"), ("job", "b"), ("i", "2")]),
        ];
        let mut g = FastGroups::new(series.iter(), &["job".to_string()], false);
        assert_eq!(g.group, vec![0, 1, 0]);
        // Series 0 has no value: group a comes first at this step.
        g.add(1, 1.0);
        g.add(2, 2.0);
        let out = g.finish(AggregateOp::Sum, false);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].labels.to_string(), out[0].v), ("{job=\"a\"}".to_string(), 1.0));
        assert_eq!((out[1].labels.to_string(), out[1].v), ("{job=\"b\"}".to_string(), 2.0));
        g.add(0, 5.0);
        g.add(2, 2.5);
        let out = g.finish(AggregateOp::Count, true);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].labels.to_string(), out[0].v, out[0].drop_name),
            ("{job=\"b\"}".to_string(), 2.0, true)
        );
        // `without` drops the listed labels and the metric name.
        let g = FastGroups::new(series.iter(), &["i".to_string()], true);
        assert_eq!(
            g.labels.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["{job=\"b\"}", "{job=\"a\"}"]
        );
    }
}
