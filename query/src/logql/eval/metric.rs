//! The metric side of LogQL above range aggregations: vector aggregations, binary operators,
//! `vector()`, literals and `label_replace`, evaluated over the steps of a query.
//!
//! Values are kept per series as one slot per step (`None` where the series has no sample).
//! Binary operators reuse the PromQL engine's operator semantics step by step (matching with
//! `on`/`ignoring`, `group_left/right`, `bool`, set operators).

use std::collections::HashMap;

use regex::Regex;
use tsdb::{Labels, LabelsBuilder};

use super::engine::{Deadline, Engine};
use super::range::group;
use crate::error::Error;
use crate::logql::ast::{Cardinality, Grouping, MetricExpr, VectorAggregation, VectorMatching, VectorOp};
use crate::promql::ast as prom;
use crate::promql::eval::{Elem, Val, binary_eval};

/// The steps of a query: `count` evaluation times from `start`, `step` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    start: i64,
    step: i64,
    /// Number of steps.
    pub count: usize,
}

impl Steps {
    /// The steps from `start` to `end` inclusive.
    pub fn new(start: i64, end: i64, step: i64) -> Steps {
        let step = step.max(1);
        let span = end.saturating_sub(start).max(0);
        let count = usize::try_from(span / step).unwrap_or(usize::MAX).saturating_add(1);
        Steps { start, step, count }
    }

    /// The time of step `i`.
    pub fn at(&self, i: usize) -> i64 {
        self.start.saturating_add(self.step.saturating_mul(i as i64))
    }

    /// The first step.
    pub fn first(&self) -> i64 {
        self.start
    }

    /// The last step.
    pub fn last(&self) -> i64 {
        self.at(self.count.saturating_sub(1))
    }

    /// Every step time.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.count).map(|i| self.at(i))
    }
}

/// One series during evaluation: a value slot per step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSeries {
    /// Its labels.
    pub labels: Labels,
    /// One value per step.
    pub values: Vec<Option<f64>>,
}

/// An evaluated metric expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    /// A constant.
    Scalar(f64),
    /// Series over the steps.
    Matrix(Vec<StepSeries>),
}

impl Engine<'_> {
    /// Evaluates a metric expression over `steps`.
    pub(super) fn eval_metric(
        &self,
        expr: &MetricExpr,
        steps: &Steps,
        deadline: &Deadline,
    ) -> Result<Evaluated, Error> {
        Ok(match expr {
            MetricExpr::Literal(v) => Evaluated::Scalar(*v),
            MetricExpr::Vector(v) => Evaluated::Matrix(vec![StepSeries {
                labels: Labels::empty(),
                values: vec![Some(*v); steps.count],
            }]),
            MetricExpr::RangeAggregation(ra) => Evaluated::Matrix(self.eval_range(ra, steps, deadline)?),
            MetricExpr::VectorAggregation(va) => {
                // `sum by (g)` over a linear range operation is pushed into the range operation,
                // as Loki does: the windows then hold one series per group, not per stream.
                if let Some(pushed) = push_down_sum(va) {
                    let grouped = self.eval_range(&pushed, steps, deadline)?;
                    return Ok(Evaluated::Matrix(aggregate(va, grouped, steps.count)?));
                }
                let inner = match self.eval_metric(&va.expr, steps, deadline)? {
                    Evaluated::Matrix(m) => m,
                    Evaluated::Scalar(_) => {
                        return Err(Error::Execution(format!(
                            "vector aggregation {} needs a vector",
                            va.op.as_str()
                        )));
                    }
                };
                Evaluated::Matrix(aggregate(va, inner, steps.count)?)
            }
            MetricExpr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => {
                let l = self.eval_metric(lhs, steps, deadline)?;
                let r = self.eval_metric(rhs, steps, deadline)?;
                binary(*op, l, r, *return_bool, matching.as_ref(), steps.count)?
            }
            MetricExpr::LabelReplace {
                expr,
                dst,
                replacement,
                src,
                regex,
            } => match self.eval_metric(expr, steps, deadline)? {
                Evaluated::Scalar(_) => return Err(Error::Execution("label_replace needs a vector".into())),
                Evaluated::Matrix(m) => Evaluated::Matrix(label_replace(m, dst, replacement, src, regex)?),
            },
        })
    }
}

/// `sum [by|without (g)] (op(...))` with `op` linear in its samples and no grouping of its own:
/// the range aggregation with the sum's grouping, whose series are then the sum's groups.
fn push_down_sum(va: &VectorAggregation) -> Option<crate::logql::ast::RangeAggregation> {
    use crate::logql::ast::RangeOp;
    let MetricExpr::RangeAggregation(ra) = va.expr.as_ref() else {
        return None;
    };
    let linear = matches!(
        ra.op,
        RangeOp::CountOverTime | RangeOp::Rate | RangeOp::BytesOverTime | RangeOp::BytesRate | RangeOp::SumOverTime
    );
    if va.op != VectorOp::Sum || !linear || ra.grouping.is_some() {
        return None;
    }
    let mut pushed = ra.clone();
    pushed.grouping = Some(va.grouping.clone().unwrap_or_default());
    Some(pushed)
}

/// The values of the series of one group at one step.
fn aggregate(va: &VectorAggregation, input: Vec<StepSeries>, count: usize) -> Result<Vec<StepSeries>, Error> {
    match va.op {
        VectorOp::Sort | VectorOp::SortDesc => return Ok(sort(input, va.op == VectorOp::SortDesc)),
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk => return Ok(select_k(va, input, count)),
        _ => {}
    }
    let grouping = va.grouping.clone().unwrap_or(Grouping {
        labels: Vec::new(),
        without: false,
    });
    let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in input.iter().enumerate() {
        let key = group(&s.labels, &grouping);
        match index.get(&key) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![i]));
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    let mut values: Vec<f64> = Vec::new();
    for (labels, members) in groups {
        let mut series = StepSeries {
            labels,
            values: vec![None; count],
        };
        for step in 0..count {
            values.clear();
            values.extend(
                members
                    .iter()
                    .filter_map(|&m| input[m].values.get(step).copied().flatten()),
            );
            if values.is_empty() {
                continue;
            }
            series.values[step] = Some(simple(va.op, &values));
        }
        out.push(series);
    }
    Ok(out)
}

fn simple(op: VectorOp, values: &[f64]) -> f64 {
    let n = values.len() as f64;
    match op {
        VectorOp::Sum => values.iter().sum(),
        VectorOp::Avg => values.iter().sum::<f64>() / n,
        VectorOp::Count => n,
        VectorOp::Min => values
            .iter()
            .copied()
            .fold(f64::NAN, |a, v| if a.is_nan() || v < a { v } else { a }),
        VectorOp::Max => values
            .iter()
            .copied()
            .fold(f64::NAN, |a, v| if a.is_nan() || v > a { v } else { a }),
        VectorOp::Stdvar | VectorOp::Stddev => {
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if op == VectorOp::Stddev { var.sqrt() } else { var }
        }
        _ => f64::NAN,
    }
}

/// `topk`/`bottomk`: at each step, the `k` largest (smallest) of each group, labels unchanged.
fn select_k(va: &VectorAggregation, input: Vec<StepSeries>, count: usize) -> Vec<StepSeries> {
    let k = usize::try_from(va.param.unwrap_or(0)).unwrap_or(0);
    let grouping = va.grouping.clone().unwrap_or_default();
    let keys: Vec<Labels> = input.iter().map(|s| group(&s.labels, &grouping)).collect();
    let mut keep: Vec<Vec<bool>> = vec![vec![false; count]; input.len()];
    let mut by_group: HashMap<&Labels, Vec<usize>> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        by_group.entry(key).or_default().push(i);
    }
    let top = va.op != VectorOp::Bottomk;
    #[allow(clippy::needless_range_loop)] // `step` indexes every member's values and `keep`.
    for members in by_group.values() {
        for step in 0..count {
            let mut present: Vec<(usize, f64)> = members
                .iter()
                .filter_map(|&m| input[m].values.get(step).copied().flatten().map(|v| (m, v)))
                .collect();
            // NaN ranks last for both topk and bottomk, as in Prometheus.
            present.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => {
                    let o = a.1.total_cmp(&b.1);
                    if top { o.reverse() } else { o }
                }
            });
            for (m, _) in present.into_iter().take(k) {
                keep[m][step] = true;
            }
        }
    }
    input
        .into_iter()
        .zip(keep)
        .filter_map(|(mut s, keep)| {
            for (v, k) in s.values.iter_mut().zip(keep) {
                if !k {
                    *v = None;
                }
            }
            s.values.iter().any(Option::is_some).then_some(s)
        })
        .collect()
}

/// `sort`/`sort_desc`: orders series by their first value (only meaningful for instant queries).
fn sort(mut input: Vec<StepSeries>, desc: bool) -> Vec<StepSeries> {
    input.sort_by(|a, b| {
        let va = a.values.first().copied().flatten().unwrap_or(f64::NAN);
        let vb = b.values.first().copied().flatten().unwrap_or(f64::NAN);
        let o = va.partial_cmp(&vb).unwrap_or_else(|| va.is_nan().cmp(&vb.is_nan()));
        if desc && !(va.is_nan() || vb.is_nan()) {
            o.reverse()
        } else {
            o
        }
    });
    input
}

fn to_prom_matching(m: &VectorMatching) -> prom::VectorMatching {
    prom::VectorMatching {
        card: match m.card {
            Cardinality::OneToOne => prom::Cardinality::OneToOne,
            Cardinality::ManyToOne => prom::Cardinality::ManyToOne,
            Cardinality::OneToMany => prom::Cardinality::OneToMany,
        },
        matching_labels: m.labels.clone(),
        on: m.on,
        include: m.include.clone(),
    }
}

fn binary(
    op: prom::BinaryOp,
    l: Evaluated,
    r: Evaluated,
    return_bool: bool,
    matching: Option<&VectorMatching>,
    count: usize,
) -> Result<Evaluated, Error> {
    let matching = matching.map(to_prom_matching);
    if let (Evaluated::Scalar(a), Evaluated::Scalar(b)) = (&l, &r) {
        return match binary_eval(op, Val::Scalar(*a), Val::Scalar(*b), return_bool, matching.as_ref())? {
            Val::Scalar(v) => Ok(Evaluated::Scalar(v)),
            _ => Err(Error::Execution("unexpected binary operation result".into())),
        };
    }
    let at = |e: &Evaluated, step: usize| -> Val {
        match e {
            Evaluated::Scalar(v) => Val::Scalar(*v),
            Evaluated::Matrix(m) => Val::Vector(
                m.iter()
                    .filter_map(|s| {
                        s.values.get(step).copied().flatten().map(|v| Elem {
                            labels: s.labels.clone(),
                            v,
                            drop_name: false,
                        })
                    })
                    .collect(),
            ),
        }
    };
    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for step in 0..count {
        let Val::Vector(elems) = binary_eval(op, at(&l, step), at(&r, step), return_bool, matching.as_ref())? else {
            return Err(Error::Execution("unexpected binary operation result".into()));
        };
        for e in elems {
            let i = match index.get(&e.labels) {
                Some(&i) => i,
                None => {
                    index.insert(e.labels.clone(), out.len());
                    out.push(StepSeries {
                        labels: e.labels,
                        values: vec![None; count],
                    });
                    out.len() - 1
                }
            };
            out[i].values[step] = Some(e.v);
        }
    }
    Ok(Evaluated::Matrix(out))
}

fn label_replace(
    input: Vec<StepSeries>,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Vec<StepSeries>, Error> {
    let re = regex::RegexBuilder::new(&format!("^(?s:{regex})$"))
        .size_limit(super::filters::REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| Error::Execution(format!("invalid regular expression in label_replace(): {regex}: {e}")))?;
    Ok(input
        .into_iter()
        .map(|s| replace_one(s, &re, dst, replacement, src))
        .collect())
}

fn replace_one(mut s: StepSeries, re: &Regex, dst: &str, replacement: &str, src: &str) -> StepSeries {
    let value = s.labels.get(src).unwrap_or("");
    if let Some(caps) = re.captures(value) {
        let mut expanded = String::new();
        caps.expand(replacement, &mut expanded);
        let mut b = LabelsBuilder::new(&s.labels);
        b.set(dst, &expanded);
        s.labels = b.labels();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_limit_bounds_range_windows() {
        use crate::logql::eval::{EngineOptions, MemorySource, QueryValue};
        let mut source = MemorySource::new();
        let stream = std::sync::Arc::new(Labels::new([("app", "x")]).expect("labels"));
        for i in 0..3 {
            source.push(&stream, i * 1_000_000_000, "line", Vec::new());
        }
        let expr = crate::logql::parse(r#"count_over_time({app="x"}[1m])"#).expect("parses");
        let tight = Engine::new(
            &source,
            EngineOptions {
                max_samples: 2,
                ..EngineOptions::default()
            },
        );
        let error = tight
            .query_instant(&expr, 10_000_000_000)
            .expect_err("too many samples");
        assert!(matches!(error, Error::TooManySamples(_)), "{error}");
        let roomy = Engine::new(&source, EngineOptions::default());
        let QueryValue::Vector { samples, .. } = roomy.query_instant(&expr, 10_000_000_000).expect("runs") else {
            panic!("not a vector")
        };
        assert_eq!(samples, vec![(Labels::new([("app", "x")]).expect("labels"), 3.0)]);
    }

    #[test]
    fn steps_cover_both_ends() {
        let s = Steps::new(10, 40, 10);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![10, 20, 30, 40]);
        assert_eq!(s.last(), 40);
        let one = Steps::new(5, 5, 1);
        assert_eq!(one.count, 1);
        assert_eq!(Steps::new(0, 45, 10).last(), 40);
    }
}
