//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over classic histograms: series that differ only in their `le` label
//! form one histogram; each gives one output series without `le` and `__name__`.

use std::collections::HashMap;

use tsdb::{Labels, LabelsBuilder, METRIC_NAME};

use super::aggregate::{format_value, valid_label_name};
use super::calls::arg;
use super::engine::{Elem, Evaluator, Val, check_unique, drop_name, go_g};
use super::math_fns::bucket_quantile_detailed;
use crate::error::Error;
use crate::promql::ast::{Expr, PosRange};

/// Parses an `le` value like Go's `strconv.ParseFloat` for the usual spellings.
fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('+');
    if t.len() != s.len() && t.starts_with(['+', '-']) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// The estimated fraction of a classic histogram's observations in `[lower, upper]`,
/// interpolating linearly inside finite buckets (the lowest bucket spans from 0 if its bound is
/// positive, else from -Inf; the observations of an infinite bucket sit at its infinite end).
fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [(f64, f64)]) -> f64 {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    match buckets.last() {
        Some(&(le, _)) if le == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    if lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    let total = buckets[buckets.len() - 1].1;
    if total == 0.0 {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let mut sum = 0.0;
    let mut prev_cum = 0.0;
    for (i, &(hi, cum)) in buckets.iter().enumerate() {
        let lo = if i == 0 {
            if hi > 0.0 { 0.0 } else { f64::NEG_INFINITY }
        } else {
            buckets[i - 1].0
        };
        let count = cum - prev_cum;
        prev_cum = cum;
        // Observations of an infinite bucket sit at its infinite end.
        if hi == f64::INFINITY {
            if upper == f64::INFINITY {
                sum += count;
            }
            continue;
        }
        if lo == f64::NEG_INFINITY {
            if lower == f64::NEG_INFINITY {
                sum += count;
            }
            continue;
        }
        if lo >= lower && hi <= upper {
            sum += count;
            continue;
        }
        let overlap = hi.min(upper) - lo.max(lower);
        if overlap <= 0.0 || lo.is_infinite() || hi.is_infinite() {
            continue;
        }
        sum += count * overlap / (hi - lo);
    }
    sum / total
}

/// One classic histogram: output labels, metric name and `(le, count)` buckets.
type Group = (Labels, String, Vec<(f64, f64)>);

/// Groups bucket series by all labels but `le` (see below for `__name__`), in order of first appearance,
/// warning about (and skipping) series without a valid `le`; warnings cite `pos`, the input's.
fn group_buckets(ev: &mut Evaluator<'_>, input: Vec<Elem>, pos: PosRange) -> Vec<Group> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for e in input {
        let name = e.labels.metric_name().unwrap_or("").to_string();
        let le = e.labels.get("le").unwrap_or("");
        let Some(upper) = parse_le(le) else {
            ev.warn_at(
                pos,
                format!("bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {name:?}"),
            );
            continue;
        };
        // As Prometheus: the histogram is every label but `le`, the name included while the
        // series still has it, so two histograms of different names stay apart (and then collide
        // once the name is removed from the output, which is an error).
        let key = e.labels.without(|n| n == "le" || (e.drop_name && n == METRIC_NAME));
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((drop_name(&key), name, Vec::new()));
                groups.len() - 1
            }
        };
        groups[i].2.push((upper, e.v));
    }
    groups
}

/// Reports a forced monotonicity fix like Prometheus, citing `pos`, the input's.
fn monotonicity_info(ev: &mut Evaluator<'_>, name: &str, pos: PosRange) {
    ev.info_at(pos, format!(
        "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}"
    ));
}

/// Formats a quantile for the label of `histogram_quantiles`: integers get a `.0`.
fn quantile_label(q: f64) -> String {
    if q.is_finite() && q.fract() == 0.0 && q.abs() < 1e15 {
        format!("{q:.1}")
    } else {
        format_value(q)
    }
}

/// `histogram_quantiles(v, label, φ…)`: one output series per histogram and φ, labelled with φ.
fn quantiles(ev: &mut Evaluator<'_>, args: &[Expr], arg_pos: &[PosRange], t: i64) -> Result<Val, Error> {
    let at = |i: usize| arg_pos.get(i).copied().unwrap_or_default();
    let input = ev.eval_vector(arg(args, 0)?, t)?;
    let label = ev.eval_string(arg(args, 1)?, t)?;
    if !valid_label_name(&label) {
        return Err(Error::Execution(format!("invalid label name {label:?}")));
    }
    let mut phis = Vec::with_capacity(args.len().saturating_sub(2));
    for (i, a) in args.iter().enumerate().skip(2) {
        let phi = ev.eval_scalar(a, t)?;
        if !(0.0..=1.0).contains(&phi) {
            ev.warn_at(
                at(i),
                format!("quantile value should be between 0 and 1, got {}", go_g(phi)),
            );
        }
        phis.push(phi);
    }
    let groups = group_buckets(ev, input, at(0));
    let mut out = Vec::with_capacity(groups.len() * phis.len());
    for (labels, name, buckets) in groups {
        for &phi in &phis {
            let r = bucket_quantile_detailed(phi, &mut buckets.clone());
            if r.forced_monotonic {
                monotonicity_info(ev, &name, at(0));
            }
            let mut b = LabelsBuilder::new(&labels);
            b.set(&label, &quantile_label(phi));
            out.push(Elem {
                labels: b.labels(),
                v: r.value,
                drop_name: false,
            });
        }
    }
    check_unique(out.iter().map(|e| &e.labels))?;
    Ok(Val::Vector(out))
}

/// Evaluates `histogram_quantile(φ, v)` or `histogram_fraction(lower, upper, v)` over classic
/// histograms; `arg_pos` gives where each argument was written, for annotations.
pub(super) fn eval(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: &[Expr],
    arg_pos: &[PosRange],
    t: i64,
) -> Result<Val, Error> {
    if name == "histogram_quantiles" {
        return quantiles(ev, args, arg_pos, t);
    }
    let at = |i: usize| arg_pos.get(i).copied().unwrap_or_default();
    let fraction = name == "histogram_fraction";
    let (phi, upper, input) = if fraction {
        let lower = ev.eval_scalar(arg(args, 0)?, t)?;
        let upper = ev.eval_scalar(arg(args, 1)?, t)?;
        (lower, upper, ev.eval_vector(arg(args, 2)?, t)?)
    } else {
        let phi = ev.eval_scalar(arg(args, 0)?, t)?;
        (phi, 0.0, ev.eval_vector(arg(args, 1)?, t)?)
    };
    if !fraction && !(0.0..=1.0).contains(&phi) {
        ev.warn_at(
            at(0),
            format!("quantile value should be between 0 and 1, got {}", go_g(phi)),
        );
    }
    let input_pos = at(if fraction { 2 } else { 1 });
    let groups = group_buckets(ev, input, input_pos);
    let mut out = Vec::with_capacity(groups.len());
    for (labels, name, mut buckets) in groups {
        if fraction {
            out.push(Elem {
                labels,
                v: bucket_fraction(phi, upper, &mut buckets),
                drop_name: false,
            });
            continue;
        }
        let r = bucket_quantile_detailed(phi, &mut buckets);
        if r.forced_monotonic {
            monotonicity_info(ev, &name, input_pos);
        }
        out.push(Elem {
            labels,
            v: r.value,
            drop_name: false,
        });
    }
    // Prometheus checks every function's result for colliding label sets.
    check_unique(out.iter().map(|e| &e.labels))?;
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_parsing() {
        assert_eq!(parse_le("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_le("0.5"), Some(0.5));
        assert_eq!(parse_le("1e3"), Some(1000.0));
        assert_eq!(parse_le(""), None);
        assert_eq!(parse_le("Hello World"), None);
    }

    #[test]
    fn classic_fraction() {
        let pos = || vec![(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (f64::INFINITY, 100.0)];
        assert!((bucket_fraction(0.0, 1.5, &mut pos()) - 0.02).abs() < 1e-12);
        assert_eq!(bucket_fraction(4.0, 5.0, &mut pos()), 0.0);
        assert_eq!(bucket_fraction(f64::NEG_INFINITY, f64::INFINITY, &mut pos()), 1.0);
        assert!((bucket_fraction(400.0, f64::INFINITY, &mut pos()) - 0.94).abs() < 1e-12);
        let neg = || vec![(-3.0, 10.0), (-2.0, 12.0), (-1.0, 15.0), (f64::INFINITY, 100.0)];
        assert!((bucket_fraction(-4.0, -2.0, &mut neg()) - 0.02).abs() < 1e-12);
        assert!((bucket_fraction(f64::NEG_INFINITY, -1.5, &mut neg()) - 0.135).abs() < 1e-12);
    }
}
