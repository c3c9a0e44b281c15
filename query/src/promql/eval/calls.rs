//! Function calls: the dispatch over the function table and the functions of instant vectors
//! and scalars (math, rounding, clamping, dates, `time`, `scalar`, `vector`, `sort`, `absent`,
//! `timestamp`). Range-vector functions live in `range_calls`, label functions in
//! `label_calls`, `histogram_quantile` in `histogram`.

use tsdb::{Labels, METRIC_NAME, MatchType};

use super::engine::{Elem, Evaluator, Val};
use super::math_fns::{self as m};
use super::{histogram, label_calls, range_calls, selectors};
use crate::error::Error;
use crate::promql::ast::{Expr, PosRange, VectorSelector};
use crate::promql::functions::Function;

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(inner) = e {
        e = inner;
    }
    e
}

/// Evaluates `func(args…)` at `t`; `arg_pos` gives where each argument was written.
///
/// While the function runs, its annotations cite its first argument (what Prometheus cites for
/// `rate`'s counter info and `quantile_over_time`'s φ warning) unless they name another.
pub(super) fn eval(
    ev: &mut Evaluator<'_>,
    func: &'static Function,
    args: &[Expr],
    arg_pos: &[PosRange],
    t: i64,
) -> Result<Val, Error> {
    let prev = ev.cite(arg_pos.first().copied().unwrap_or_default());
    let out = dispatch(ev, func, args, arg_pos, t);
    ev.cite(prev);
    out
}

fn dispatch(
    ev: &mut Evaluator<'_>,
    func: &'static Function,
    args: &[Expr],
    arg_pos: &[PosRange],
    t: i64,
) -> Result<Val, Error> {
    let name = func.name;
    let secs = t as f64 / 1000.0;
    match name {
        "time" => return Ok(Val::Scalar(secs)),
        "pi" => return Ok(Val::Scalar(std::f64::consts::PI)),
        "start" => return Ok(Val::Scalar(ev.start as f64 / 1000.0)),
        "end" => return Ok(Val::Scalar(ev.end as f64 / 1000.0)),
        "range" => return Ok(Val::Scalar((ev.end - ev.start) as f64 / 1000.0)),
        "step" => return Ok(Val::Scalar(ev.step as f64 / 1000.0)),
        "min_of" | "max_of" => {
            let a = ev.eval_scalar(arg(args, 0)?, t)?;
            let b = ev.eval_scalar(arg(args, 1)?, t)?;
            return Ok(Val::Scalar(if name == "min_of" {
                m::go_min(a, b)
            } else {
                m::go_max(a, b)
            }));
        }
        "vector" => {
            let v = ev.eval_scalar(arg(args, 0)?, t)?;
            return Ok(Val::Vector(vec![Elem {
                labels: Labels::empty(),
                v,
                drop_name: false,
            }]));
        }
        "scalar" => {
            let vec = ev.eval_vector(arg(args, 0)?, t)?;
            return Ok(Val::Scalar(if vec.len() == 1 { vec[0].v } else { f64::NAN }));
        }
        "timestamp" => return timestamp(ev, arg(args, 0)?, t),
        "absent" => {
            let vec = ev.eval_vector(arg(args, 0)?, t)?;
            if !vec.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            let labels = match arg(args, 0)? {
                Expr::VectorSelector(vs) => absent_labels(vs),
                _ => Labels::empty(),
            };
            return Ok(Val::Vector(vec![Elem {
                labels,
                v: 1.0,
                drop_name: false,
            }]));
        }
        "label_replace" | "label_join" | "sort_by_label" | "sort_by_label_desc" => {
            return label_calls::eval(ev, name, args, t);
        }
        "histogram_quantile" | "histogram_fraction" | "histogram_quantiles" => {
            return histogram::eval(ev, name, args, arg_pos, t);
        }
        "info" => return super::info::eval(ev, args, t),
        "start_timestamp" => {
            return Err(Error::Execution(format!("function {name}() is not supported yet")));
        }
        _ => {}
    }
    if func.native_histogram {
        // Only native histograms have values for these; float samples are ignored.
        ev.eval_vector(arg(args, 0)?, t)?;
        return Ok(Val::Vector(Vec::new()));
    }
    if func.arg_types.first() == Some(&crate::promql::ast::ValueType::Matrix)
        || name == "quantile_over_time"
        || name == "predict_linear"
        || name == "double_exponential_smoothing"
    {
        return range_calls::eval(ev, name, args, t);
    }
    let date_fn: Option<fn(f64) -> f64> = match name {
        "minute" => Some(m::minute),
        "hour" => Some(m::hour),
        "day_of_week" => Some(m::day_of_week),
        "day_of_month" => Some(m::day_of_month),
        "day_of_year" => Some(m::day_of_year),
        "days_in_month" => Some(m::days_in_month),
        "month" => Some(m::month),
        "year" => Some(m::year),
        _ => None,
    };
    if let Some(f) = date_fn {
        if args.is_empty() {
            return Ok(Val::Vector(vec![Elem {
                labels: Labels::empty(),
                v: f(secs),
                drop_name: false,
            }]));
        }
        let vec = ev.eval_vector(&args[0], t)?;
        return Ok(Val::Vector(map_drop(vec, f)));
    }
    match name {
        "sort" | "sort_desc" => {
            let mut vec = ev.eval_vector(arg(args, 0)?, t)?;
            let desc = name == "sort_desc";
            vec.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if desc => b.v.total_cmp(&a.v),
                _ => a.v.total_cmp(&b.v),
            });
            Ok(Val::Vector(vec))
        }
        "round" => {
            let vec = ev.eval_vector(arg(args, 0)?, t)?;
            let to = match args.get(1) {
                Some(e) => ev.eval_scalar(e, t)?,
                None => 1.0,
            };
            Ok(Val::Vector(map_drop(vec, |v| m::round(v, to))))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let vec = ev.eval_vector(arg(args, 0)?, t)?;
            let (lo, hi) = match name {
                "clamp" => (ev.eval_scalar(arg(args, 1)?, t)?, ev.eval_scalar(arg(args, 2)?, t)?),
                "clamp_min" => (ev.eval_scalar(arg(args, 1)?, t)?, f64::INFINITY),
                _ => (f64::NEG_INFINITY, ev.eval_scalar(arg(args, 1)?, t)?),
            };
            if hi < lo {
                return Ok(Val::Vector(Vec::new()));
            }
            Ok(Val::Vector(map_drop(vec, |v| m::clamp(v, lo, hi).unwrap_or(f64::NAN))))
        }
        _ => {
            let f = math_fn(name).ok_or_else(|| Error::Execution(format!("unknown function {name}()")))?;
            let vec = ev.eval_vector(arg(args, 0)?, t)?;
            Ok(Val::Vector(map_drop(vec, f)))
        }
    }
}

/// The `i`-th argument, or an error if the call has fewer.
pub(super) fn arg(args: &[Expr], i: usize) -> Result<&Expr, Error> {
    args.get(i)
        .ok_or_else(|| Error::Execution(format!("missing argument {} of function call", i + 1)))
}

/// Applies `f` to every value and marks the name for removal.
fn map_drop(vec: Vec<Elem>, f: impl Fn(f64) -> f64) -> Vec<Elem> {
    vec.into_iter()
        .map(|mut e| {
            e.v = f(e.v);
            e.drop_name = true;
            e
        })
        .collect()
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => m::sgn,
        "deg" => m::deg,
        "rad" => m::rad,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        _ => return None,
    })
}

/// `timestamp(v)`: the sample times of a selector, otherwise the evaluation time.
fn timestamp(ev: &mut Evaluator<'_>, a: &Expr, t: i64) -> Result<Val, Error> {
    if let Expr::VectorSelector(vs) = unwrap_parens(a) {
        let out = selectors::instant_with_timestamps(ev, vs, t);
        ev.add_samples(out.len())?;
        return Ok(Val::Vector(
            out.into_iter()
                .map(|(mut e, st)| {
                    e.v = st as f64 / 1000.0;
                    e.drop_name = true;
                    e
                })
                .collect(),
        ));
    }
    let vec = ev.eval_vector(a, t)?;
    Ok(Val::Vector(map_drop(vec, |_| t as f64 / 1000.0)))
}

/// The labels `absent`/`absent_over_time` give: the selector's `=` matchers except on
/// `__name__`; any later matcher on an already set name removes it again.
pub(super) fn absent_labels(vs: &VectorSelector) -> Labels {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut has: Vec<&str> = Vec::new();
    for mt in &vs.matchers {
        if mt.name() == METRIC_NAME {
            continue;
        }
        if mt.match_type() == MatchType::Equal && !has.contains(&mt.name()) {
            pairs.retain(|(n, _)| *n != mt.name());
            pairs.push((mt.name(), mt.value()));
            has.push(mt.name());
        } else {
            pairs.retain(|(n, _)| *n != mt.name());
        }
    }
    Labels::new(pairs).unwrap_or_default()
}
