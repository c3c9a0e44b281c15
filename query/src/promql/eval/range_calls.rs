//! Functions of range vectors: `rate`, `increase`, `delta`, `irate`, `idelta`, the
//! `*_over_time` family, `changes`, `resets`, `deriv`, `predict_linear`,
//! `double_exponential_smoothing`, `absent_over_time`.
//!
//! Each takes the windows of a range selector or subquery, applies a kernel of
//! [`range_fns`](super::range_fns) to every series and drops series without output. All but
//! `last_over_time` and `first_over_time` mark `__name__` for removal.

use tsdb::Labels;

use super::calls::{absent_labels, arg};
use super::engine::{Elem, Evaluator, RangeElem, Val, go_g};
use super::range_fns as rf;
use super::{selectors, subquery};
use crate::error::Error;
use crate::promql::ast::{Expr, MatrixSelector};

/// A range-vector argument with its window `(start, end]` and range (ms).
struct Windows {
    series: Vec<RangeElem>,
    start: i64,
    end: i64,
    range: i64,
}

fn eval_windows(ev: &mut Evaluator<'_>, e: &Expr, t: i64) -> Result<Windows, Error> {
    match e {
        Expr::Paren(inner) => eval_windows(ev, inner, t),
        Expr::MatrixSelector(ms) => {
            let (series, (start, end)) = selectors::matrix(ev, ms, t);
            ev.add_samples(series.iter().map(|s| s.samples.len()).sum())?;
            Ok(Windows {
                series,
                start,
                end,
                range: ms.range,
            })
        }
        Expr::Subquery(sq) => {
            let (series, (start, end)) = subquery::eval(ev, sq, t)?;
            Ok(Windows {
                series,
                start,
                end,
                range: sq.range,
            })
        }
        other => match ev.eval(other, t)? {
            Val::Matrix(series) => Ok(Windows {
                series,
                start: t,
                end: t,
                range: 0,
            }),
            _ => Err(Error::Execution("expected a range vector argument".into())),
        },
    }
}

/// True when a metric name looks like a counter's.
fn counter_like(name: &str) -> bool {
    ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Evaluates a range-vector function at `t`.
pub(super) fn eval(ev: &mut Evaluator<'_>, name: &str, args: &[Expr], t: i64) -> Result<Val, Error> {
    // Scalar parameters first (quantile_over_time's φ precedes the range vector).
    let (matrix_arg, params): (&Expr, Vec<f64>) = match name {
        "quantile_over_time" => {
            let phi = ev.eval_scalar(arg(args, 0)?, t)?;
            (arg(args, 1)?, vec![phi])
        }
        "predict_linear" => (arg(args, 0)?, vec![ev.eval_scalar(arg(args, 1)?, t)?]),
        "double_exponential_smoothing" => (
            arg(args, 0)?,
            vec![ev.eval_scalar(arg(args, 1)?, t)?, ev.eval_scalar(arg(args, 2)?, t)?],
        ),
        _ => (arg(args, 0)?, Vec::new()),
    };
    if name == "quantile_over_time" {
        let phi = params[0];
        if !(0.0..=1.0).contains(&phi) {
            ev.warn(format!("quantile value should be between 0 and 1, got {}", go_g(phi)));
        }
    }
    if name == "double_exponential_smoothing" {
        // Parameter errors fail the query even without samples.
        rf::double_exponential_smoothing(&[], params[0], params[1]).map_err(|e| Error::Execution(e.to_string()))?;
    }
    let mut unwrapped = matrix_arg;
    while let Expr::Paren(inner) = unwrapped {
        unwrapped = inner;
    }
    if let Expr::MatrixSelector(ms) = unwrapped
        && name != "absent_over_time"
    {
        return eval_selector(ev, name, ms, t, &params);
    }
    let w = eval_windows(ev, matrix_arg, t)?;
    if name == "absent_over_time" {
        if !w.series.is_empty() {
            return Ok(Val::Vector(Vec::new()));
        }
        let labels = match matrix_arg {
            Expr::MatrixSelector(ms) => absent_labels(&ms.vs),
            _ => Labels::empty(),
        };
        return Ok(Val::Vector(vec![Elem {
            labels,
            v: 1.0,
            drop_name: false,
        }]));
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let rate_like = matches!(name, "rate" | "increase");
    let mut non_counters: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(w.series.len());
    for s in w.series {
        if rate_like {
            note_non_counter(&s.labels, &mut non_counters);
        }
        if let Some(v) = kernel(name, &s.samples, (w.start, w.end, w.range), t, &params)? {
            out.push(Elem {
                labels: s.labels,
                v,
                drop_name: s.drop_name || !keep_name,
            });
        }
    }
    report_non_counters(ev, non_counters);
    Ok(Val::Vector(out))
}

/// Remembers a metric name that does not look like a counter's.
fn note_non_counter(labels: &Labels, names: &mut Vec<String>) {
    if let Some(metric) = labels.metric_name()
        && !counter_like(metric)
        && !names.iter().any(|n| n == metric)
    {
        names.push(metric.to_string());
    }
}

fn report_non_counters(ev: &mut Evaluator<'_>, names: Vec<String>) {
    for metric in names {
        ev.info(format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {metric:?}"
        ));
    }
}

/// Applies the kernel of function `name` to one window; `bounds` is `(start, end, range)`.
fn kernel(name: &str, x: &[(i64, f64)], bounds: (i64, i64, i64), t: i64, params: &[f64]) -> Result<Option<f64>, Error> {
    let (start, end, range) = bounds;
    let p = |i: usize| params.get(i).copied().unwrap_or(f64::NAN);
    Ok(match name {
        "rate" => rf::extrapolated_rate(x, start, end, range, true, true),
        "increase" => rf::extrapolated_rate(x, start, end, range, true, false),
        "delta" => rf::extrapolated_rate(x, start, end, range, false, false),
        "irate" => rf::instant_value(x, true),
        "idelta" => rf::instant_value(x, false),
        "sum_over_time" => rf::sum_over_time(x),
        "avg_over_time" => rf::avg_over_time(x),
        "count_over_time" => rf::count_over_time(x),
        "present_over_time" => rf::present_over_time(x),
        "last_over_time" => rf::last_over_time(x),
        "first_over_time" => rf::first_over_time(x),
        "max_over_time" => rf::max_over_time(x),
        "min_over_time" => rf::min_over_time(x),
        "ts_of_max_over_time" => rf::ts_of_max_over_time(x),
        "ts_of_min_over_time" => rf::ts_of_min_over_time(x),
        "ts_of_first_over_time" => rf::ts_of_first_over_time(x),
        "ts_of_last_over_time" => rf::ts_of_last_over_time(x),
        "stdvar_over_time" => rf::stdvar_over_time(x),
        "stddev_over_time" => rf::stddev_over_time(x),
        "mad_over_time" => rf::mad_over_time(x),
        "quantile_over_time" => rf::quantile_over_time(p(0), x),
        "changes" => rf::changes(x),
        "resets" => rf::resets(x),
        "deriv" => rf::deriv(x),
        "predict_linear" => rf::predict_linear(x, t, p(0)),
        "double_exponential_smoothing" => {
            rf::double_exponential_smoothing(x, p(0), p(1)).map_err(|e| Error::Execution(e.to_string()))?
        }
        _ => return Err(Error::Execution(format!("unknown function {name}()"))),
    })
}

/// The fast path for a range selector argument: kernels run on the stored samples in place.
fn eval_selector(
    ev: &mut Evaluator<'_>,
    name: &str,
    ms: &MatrixSelector,
    t: i64,
    params: &[f64],
) -> Result<Val, Error> {
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let rate_like = matches!(name, "rate" | "increase");
    let (start, end) = selectors::window_bounds(ev, ms, t);
    let mut non_counters: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut loaded = 0usize;
    let mut failure = None;
    selectors::for_each_window(ev, ms, t, |labels, x| {
        loaded += x.len();
        if rate_like {
            note_non_counter(labels, &mut non_counters);
        }
        match kernel(name, x, (start, end, ms.range), t, params) {
            Ok(Some(v)) => out.push(Elem {
                labels: labels.clone(),
                v,
                drop_name: !keep_name,
            }),
            Ok(None) => {}
            Err(e) => failure = Some(e),
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    ev.add_samples(loaded)?;
    report_non_counters(ev, non_counters);
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_suffixes() {
        assert!(counter_like("http_requests_total"));
        assert!(counter_like("latency_bucket"));
        assert!(!counter_like("up"));
    }
}
