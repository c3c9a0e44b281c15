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
use crate::promql::ast::{Expr, MatrixSelector, VectorSelector};

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
    let k = Kernel::of(name);
    for s in w.series {
        if rate_like {
            note_non_counter(&s.labels, &mut non_counters);
        }
        if let Some(v) = kernel(name, k, &s.samples, (w.start, w.end, w.range), t, &params)? {
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

/// A range function's kernel, resolved from its name once per evaluation rather than per series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    SumOverTime,
    AvgOverTime,
    CountOverTime,
    PresentOverTime,
    LastOverTime,
    FirstOverTime,
    MaxOverTime,
    MinOverTime,
    TsOfMaxOverTime,
    TsOfMinOverTime,
    TsOfFirstOverTime,
    TsOfLastOverTime,
    StdvarOverTime,
    StddevOverTime,
    MadOverTime,
    QuantileOverTime,
    Changes,
    Resets,
    Deriv,
    PredictLinear,
    DoubleExponentialSmoothing,
}

impl Kernel {
    /// The kernel of function `name`, if it has one.
    fn of(name: &str) -> Option<Kernel> {
        Some(match name {
            "rate" => Kernel::Rate,
            "increase" => Kernel::Increase,
            "delta" => Kernel::Delta,
            "irate" => Kernel::Irate,
            "idelta" => Kernel::Idelta,
            "sum_over_time" => Kernel::SumOverTime,
            "avg_over_time" => Kernel::AvgOverTime,
            "count_over_time" => Kernel::CountOverTime,
            "present_over_time" => Kernel::PresentOverTime,
            "last_over_time" => Kernel::LastOverTime,
            "first_over_time" => Kernel::FirstOverTime,
            "max_over_time" => Kernel::MaxOverTime,
            "min_over_time" => Kernel::MinOverTime,
            "ts_of_max_over_time" => Kernel::TsOfMaxOverTime,
            "ts_of_min_over_time" => Kernel::TsOfMinOverTime,
            "ts_of_first_over_time" => Kernel::TsOfFirstOverTime,
            "ts_of_last_over_time" => Kernel::TsOfLastOverTime,
            "stdvar_over_time" => Kernel::StdvarOverTime,
            "stddev_over_time" => Kernel::StddevOverTime,
            "mad_over_time" => Kernel::MadOverTime,
            "quantile_over_time" => Kernel::QuantileOverTime,
            "changes" => Kernel::Changes,
            "resets" => Kernel::Resets,
            "deriv" => Kernel::Deriv,
            "predict_linear" => Kernel::PredictLinear,
            "double_exponential_smoothing" => Kernel::DoubleExponentialSmoothing,
            _ => return None,
        })
    }
}

/// Applies `kernel` (`None`: function `name` has none) to one window; `bounds` is `(start, end, range)`.
fn kernel(
    name: &str,
    kernel: Option<Kernel>,
    x: &[(i64, f64)],
    bounds: (i64, i64, i64),
    t: i64,
    params: &[f64],
) -> Result<Option<f64>, Error> {
    let (start, end, range) = bounds;
    let p = |i: usize| params.get(i).copied().unwrap_or(f64::NAN);
    let Some(kernel) = kernel else {
        return Err(Error::Execution(format!("unknown function {name}()")));
    };
    Ok(match kernel {
        Kernel::Rate => rf::extrapolated_rate(x, start, end, range, true, true),
        Kernel::Increase => rf::extrapolated_rate(x, start, end, range, true, false),
        Kernel::Delta => rf::extrapolated_rate(x, start, end, range, false, false),
        Kernel::Irate => rf::instant_value(x, true),
        Kernel::Idelta => rf::instant_value(x, false),
        Kernel::SumOverTime => rf::sum_over_time(x),
        Kernel::AvgOverTime => rf::avg_over_time(x),
        Kernel::CountOverTime => rf::count_over_time(x),
        Kernel::PresentOverTime => rf::present_over_time(x),
        Kernel::LastOverTime => rf::last_over_time(x),
        Kernel::FirstOverTime => rf::first_over_time(x),
        Kernel::MaxOverTime => rf::max_over_time(x),
        Kernel::MinOverTime => rf::min_over_time(x),
        Kernel::TsOfMaxOverTime => rf::ts_of_max_over_time(x),
        Kernel::TsOfMinOverTime => rf::ts_of_min_over_time(x),
        Kernel::TsOfFirstOverTime => rf::ts_of_first_over_time(x),
        Kernel::TsOfLastOverTime => rf::ts_of_last_over_time(x),
        Kernel::StdvarOverTime => rf::stdvar_over_time(x),
        Kernel::StddevOverTime => rf::stddev_over_time(x),
        Kernel::MadOverTime => rf::mad_over_time(x),
        Kernel::QuantileOverTime => rf::quantile_over_time(p(0), x),
        Kernel::Changes => rf::changes(x),
        Kernel::Resets => rf::resets(x),
        Kernel::Deriv => rf::deriv(x),
        Kernel::PredictLinear => rf::predict_linear(x, t, p(0)),
        Kernel::DoubleExponentialSmoothing => {
            rf::double_exponential_smoothing(x, p(0), p(1)).map_err(|e| Error::Execution(e.to_string()))?
        }
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
    if let Some(out) = from_column(ev, name, ms, t, params) {
        return out;
    }
    let (start, end) = selectors::window_bounds(ev, ms, t);
    let mut non_counters: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut loaded = 0usize;
    let mut failure = None;
    let k = Kernel::of(name);
    selectors::for_each_window(ev, ms, t, |labels, x| {
        loaded += x.len();
        if rate_like {
            note_non_counter(labels, &mut non_counters);
        }
        match kernel(name, k, x, (start, end, ms.range), t, params) {
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

/// A range function of a range selector evaluated for every series at every time of the
/// evaluator's grid at once, series by series, so each series' window slides forward through
/// its samples while they are in cache.
#[derive(Debug)]
pub(super) struct Column {
    /// The grid `(first, last, step)` the column was computed for.
    grid: (i64, i64, i64),
    /// Per step, then per series: 0 no window, 1 a window but no value, 2 a value.
    state: Vec<u8>,
    /// The values, laid out like `state`.
    values: Vec<f64>,
    /// Samples in all windows of each step (the sample limit counts them).
    loaded: Vec<usize>,
    /// Per series: its metric name does not look like a counter's (spares [`note_non_counter`]
    /// parsing the labels of every series at every step).
    non_counter: Vec<bool>,
}

/// Series a column computes side by side (see [`compute_column`]).
const COLUMN_TILE: usize = 8;

/// The most step × series cells a column may hold.
const MAX_COLUMN_CELLS: usize = 50_000_000;

impl Column {
    /// An empty column of `steps` steps over the series `non_counter` describes; `None` when it
    /// would hold more than [`MAX_COLUMN_CELLS`] cells.
    fn new(grid: (i64, i64, i64), steps: usize, non_counter: Vec<bool>) -> Option<Column> {
        let cells = steps.checked_mul(non_counter.len())?;
        if cells > MAX_COLUMN_CELLS {
            return None;
        }
        Some(Column {
            grid,
            state: vec![0; cells],
            values: vec![0.0; cells],
            loaded: vec![0; steps],
            non_counter,
        })
    }
}

/// The column of `key` for `grid`, computed by `compute` unless the evaluator holds it already
/// (`None`: it cannot be computed).
fn column_for<'e>(
    ev: &'e mut Evaluator<'_>,
    key: usize,
    grid: (i64, i64, i64),
    compute: impl FnOnce(&Evaluator<'_>) -> Option<Column>,
) -> Option<&'e Column> {
    if ev
        .columns
        .get(&key)
        .is_none_or(|c| c.as_ref().is_some_and(|c| c.grid != grid))
    {
        let col = compute(ev);
        ev.columns.insert(key, col);
    }
    ev.columns.get(&key)?.as_ref()
}

/// The step index of `t` on the evaluator's grid.
fn grid_index(grid: (i64, i64, i64), t: i64) -> Option<usize> {
    let (first, last, step) = grid;
    if t < first || t > last || step <= 0 || (t - first) % step != 0 {
        return None;
    }
    usize::try_from((t - first) / step).ok()
}

/// Computes the column of kernel `k` over selector `ms`, or `None` when some window fails
/// (the step-by-step path then reports the error at the right step).
fn compute_column(ev: &Evaluator<'_>, k: Kernel, ms: &MatrixSelector, grid: (i64, i64, i64)) -> Option<Column> {
    let series = ev.data.get(&selectors::key(&ms.vs))?;
    let steps = grid_index(grid, grid.1)? + 1;
    let n = series.len();
    let non_counter = series
        .iter()
        .map(|s| s.labels.metric_name().is_some_and(|m| !counter_like(m)))
        .collect();
    let mut col = Column::new(grid, steps, non_counter)?;
    let mut filtered = Vec::new();
    let counter = matches!(k, Kernel::Rate | Kernel::Increase);
    // Counter resets before each sample, per series of the tile: a window without any needs no
    // scan for them. `resets[m]` counts the samples before index m that are below their predecessor.
    let mut resets: Vec<Vec<u32>> = vec![Vec::new(); COLUMN_TILE];
    let mut cursors = [(0usize, 0usize); COLUMN_TILE];
    // Tiles of series, each walked through every step: a step's cells of a tile are adjacent,
    // and the tile's samples stay in cache from one step to the next.
    for first in (0..n).step_by(COLUMN_TILE) {
        let tile = &series[first..n.min(first + COLUMN_TILE)];
        for (s, r) in tile.iter().zip(resets.iter_mut()) {
            r.clear();
            if counter {
                r.push(0);
                let mut count = 0;
                r.extend(s.samples.iter().enumerate().map(|(i, x)| {
                    count += u32::from(i > 0 && x.1 < s.samples[i - 1].1);
                    count
                }));
            }
        }
        cursors.fill((0, 0));
        for i in 0..steps {
            let t = grid.0 + grid.2 * i as i64;
            let (start, end) = selectors::window_bounds(ev, ms, t);
            for (c, ((s, (lo, hi)), resets)) in tile.iter().zip(cursors.iter_mut()).zip(&resets).enumerate() {
                *lo = selectors::seek(&s.samples, *lo, start);
                *hi = selectors::seek(&s.samples, *hi, end);
                let (lo, hi) = (*lo, *hi);
                let mut window = s.samples.get(lo..hi)?;
                let mut scan = true;
                if s.stale && window.iter().any(|x| tsdb::is_stale_nan(x.1)) {
                    filtered.clear();
                    filtered.extend(window.iter().copied().filter(|x| !tsdb::is_stale_nan(x.1)));
                    window = &filtered[..];
                } else if counter && hi > lo + 1 {
                    scan = resets.get(hi) != resets.get(lo + 1);
                }
                if window.is_empty() {
                    continue;
                }
                let cell = i * n + first + c;
                col.loaded[i] += window.len();
                col.state[cell] = 1;
                let value = if counter && !scan {
                    rf::extrapolated_rate_scan(window, (start, end, ms.range), true, k == Kernel::Rate, false)
                } else {
                    kernel("", Some(k), window, (start, end, ms.range), t, &[]).ok()?
                };
                if let Some(v) = value {
                    col.state[cell] = 2;
                    col.values[cell] = v;
                }
            }
        }
    }
    Some(col)
}

/// The values of instant selector `vs` at every time of `grid` (state 2 where a series has one),
/// computed tile by tile like [`compute_column`].
fn compute_instant_column(ev: &Evaluator<'_>, vs: &VectorSelector, grid: (i64, i64, i64)) -> Option<Column> {
    let series = ev.data.get(&selectors::key(vs))?;
    let steps = grid_index(grid, grid.1)? + 1;
    let n = series.len();
    let mut col = Column::new(grid, steps, vec![false; n])?;
    let mut cursors = [0usize; COLUMN_TILE];
    for first in (0..n).step_by(COLUMN_TILE) {
        let tile = &series[first..n.min(first + COLUMN_TILE)];
        cursors.fill(0);
        for i in 0..steps {
            let t = grid.0 + grid.2 * i as i64;
            let eff = ev.at_time(vs.at).unwrap_or(t).saturating_sub(vs.offset);
            for (c, (s, at)) in tile.iter().zip(cursors.iter_mut()).enumerate() {
                *at = selectors::seek(&s.samples, *at, eff);
                if let Some((_, v)) = selectors::pick_before(&s.samples, *at, eff, ev.lookback) {
                    let cell = i * n + first + c;
                    col.state[cell] = 2;
                    col.values[cell] = v;
                    col.loaded[i] += 1;
                }
            }
        }
    }
    Some(col)
}

/// Calls `f(series, value)`, in series order, for every series of `vs`'s loaded data with a
/// value at `t`, read from the selector's column (computed on first use) when `t` is on the
/// evaluator's grid; returns how many there were, or `None` when the column cannot serve `t`.
pub(super) fn instant_column_each(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    t: i64,
    mut f: impl FnMut(usize, f64),
) -> Option<usize> {
    let grid = ev.grid?;
    let i = grid_index(grid, t)?;
    let key = selectors::key(vs);
    let col = column_for(ev, key, grid, |ev| compute_instant_column(ev, vs, grid))?;
    let n = col.non_counter.len();
    let cells = i * n..(i + 1) * n;
    let states = col.state.get(cells.clone())?;
    let values = col.values.get(cells)?;
    for (j, (&state, &v)) in states.iter().zip(values).enumerate() {
        if state == 2 {
            f(j, v);
        }
    }
    col.loaded.get(i).copied()
}

/// Evaluates `name(ms)` at `t` from its column when `t` is on the evaluator's grid and the
/// function needs no parameter, computing the column on first use.
fn from_column(
    ev: &mut Evaluator<'_>,
    name: &str,
    ms: &MatrixSelector,
    t: i64,
    params: &[f64],
) -> Option<Result<Val, Error>> {
    let data = std::sync::Arc::clone(&ev.data);
    let series = data.get(&selectors::key(&ms.vs))?;
    let drop_name = !matches!(name, "last_over_time" | "first_over_time");
    let mut out = Vec::new();
    let done = column_each(ev, name, ms, t, params, |j, v| {
        if let Some(s) = series.get(j) {
            out.push(Elem {
                labels: s.labels.clone(),
                v,
                drop_name,
            });
        }
    })?;
    Some(done.map(|()| Val::Vector(out)))
}

/// Whether `name(ms)` may come from a column (see [`column_each`]) on some step: a kernel
/// without parameters over a selector without `@`.
pub(super) fn columnar(name: &str, ms: &MatrixSelector) -> bool {
    ms.vs.at.is_none()
        && Kernel::of(name).is_some_and(|k| {
            !matches!(
                k,
                Kernel::QuantileOverTime | Kernel::PredictLinear | Kernel::DoubleExponentialSmoothing
            )
        })
}

/// Calls `f(series, value)`, in series order, for every series of `ms`'s loaded data (by its
/// index there) with a value of `name(ms)` at `t`, read from the column when `t` is on the
/// evaluator's grid and the function needs no parameter (the column is computed on first use).
/// Counts the step's samples and notes non-counters like the step-by-step path; `None` when the
/// column cannot serve `t` (nothing was done then).
pub(super) fn column_each(
    ev: &mut Evaluator<'_>,
    name: &str,
    ms: &MatrixSelector,
    t: i64,
    params: &[f64],
    mut f: impl FnMut(usize, f64),
) -> Option<Result<(), Error>> {
    let grid = ev.grid?;
    let i = grid_index(grid, t)?;
    if !params.is_empty() || !columnar(name, ms) {
        return None;
    }
    let k = Kernel::of(name)?;
    let key = selectors::key(&ms.vs);
    column_for(ev, key, grid, |ev| compute_column(ev, k, ms, grid))?;
    let col = ev.columns.get(&key)?.as_ref()?;
    let series = ev.data.get(&key)?;
    let rate_like = matches!(name, "rate" | "increase");
    let n = series.len();
    let mut non_counters: Vec<String> = Vec::new();
    let cells = i * n..(i + 1) * n;
    let states = col.state.get(cells.clone())?;
    let values = col.values.get(cells)?;
    for (j, ((s, &state), &v)) in series.iter().zip(states).zip(values).enumerate() {
        if state == 0 {
            continue;
        }
        if rate_like && col.non_counter[j] {
            note_non_counter(&s.labels, &mut non_counters);
        }
        if state == 2 {
            f(j, v);
        }
    }
    let loaded = col.loaded[i];
    Some(ev.add_samples(loaded).map(|()| report_non_counters(ev, non_counters)))
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
