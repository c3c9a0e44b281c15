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
use crate::promql::ast::Expr;

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
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out = Vec::with_capacity(w.series.len());
    for s in w.series {
        if matches!(name, "rate" | "increase")
            && let Some(metric) = s.labels.metric_name()
            && !counter_like(metric)
        {
            ev.info(format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {metric:?}"
            ));
        }
        let x = &s.samples;
        let v = match name {
            "rate" => rf::extrapolated_rate(x, w.start, w.end, w.range, true, true),
            "increase" => rf::extrapolated_rate(x, w.start, w.end, w.range, true, false),
            "delta" => rf::extrapolated_rate(x, w.start, w.end, w.range, false, false),
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
            "quantile_over_time" => rf::quantile_over_time(params[0], x),
            "changes" => rf::changes(x),
            "resets" => rf::resets(x),
            "deriv" => rf::deriv(x),
            "predict_linear" => rf::predict_linear(x, t, params[0]),
            "double_exponential_smoothing" => rf::double_exponential_smoothing(x, params[0], params[1])
                .map_err(|e| Error::Execution(e.to_string()))?,
            _ => return Err(Error::Execution(format!("unknown function {name}()"))),
        };
        if let Some(v) = v {
            out.push(Elem {
                labels: s.labels,
                v,
                drop_name: s.drop_name || !keep_name,
            });
        }
    }
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
