//! Selectors: reading each selector's series once for the whole query, then picking the sample
//! of an instant selector (the newest in the left-open lookback window `(t - lookback, t]`,
//! unless it is a staleness marker) or the window `(t - range, t]` of a range selector, after
//! `offset` and `@`.

use tsdb::{Labels, is_stale_nan};

use super::engine::{Elem, Evaluator, RangeElem};
use super::value::Storage;
use crate::error::Error;
use crate::promql::ast::{Expr, MatrixSelector, VectorSelector};

/// One series as read from storage: labels and `(t, v)` samples in time order.
#[derive(Debug, Clone)]
pub(super) struct Loaded {
    /// The series' labels (with `__name__`).
    pub labels: Labels,
    /// The samples, oldest first (staleness markers included).
    pub samples: Vec<(i64, f64)>,
}

/// The key of a selector node in [`Evaluator::data`].
fn key(vs: &VectorSelector) -> usize {
    std::ptr::from_ref(vs) as usize
}

/// Reads the series of every selector in `expr`, evaluated at times in `[tmin, tmax]`.
pub(super) fn preload(
    ev: &mut Evaluator<'_>,
    storage: &dyn Storage,
    expr: &Expr,
    tmin: i64,
    tmax: i64,
) -> Result<(), Error> {
    match expr {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::VectorSelector(vs) => {
            let lookback = ev.lookback;
            load(ev, storage, vs, tmin, tmax, lookback)
        }
        Expr::MatrixSelector(ms) => load(ev, storage, &ms.vs, tmin, tmax, ms.range),
        Expr::Subquery(sq) => {
            let (lo, hi) = match ev.at_time(sq.at) {
                Some(at) => (at, at),
                None => (tmin, tmax),
            };
            let lo = lo.saturating_sub(sq.offset).saturating_sub(sq.range);
            let hi = hi.saturating_sub(sq.offset);
            preload(ev, storage, &sq.expr, lo, hi)
        }
        Expr::Paren(e) | Expr::Unary { expr: e, .. } => preload(ev, storage, e, tmin, tmax),
        Expr::Binary { lhs, rhs, .. } => {
            preload(ev, storage, lhs, tmin, tmax)?;
            preload(ev, storage, rhs, tmin, tmax)
        }
        Expr::Aggregate { expr, param, .. } => {
            if let Some(p) = param {
                preload(ev, storage, p, tmin, tmax)?;
            }
            preload(ev, storage, expr, tmin, tmax)
        }
        Expr::Call { func, args } if func.name == "info" => {
            if let Some(a) = args.first() {
                preload(ev, storage, a, tmin, tmax)?;
            }
            let (_, _, select) = super::info::matchers(args);
            let lookback = ev.lookback;
            // Info series are read at the times the argument's selectors read at.
            let (lo, hi) = match args.first() {
                Some(a) => (
                    super::info::reference_time(ev, a, tmin),
                    super::info::reference_time(ev, a, tmax),
                ),
                None => (tmin, tmax),
            };
            let key = super::info::key(args);
            load_matchers(ev, storage, key, &select, None, 0, lo.min(hi), lo.max(hi), lookback)
        }
        Expr::Call { args, .. } => {
            for a in args {
                preload(ev, storage, a, tmin, tmax)?;
            }
            Ok(())
        }
    }
}

fn load(
    ev: &mut Evaluator<'_>,
    storage: &dyn Storage,
    vs: &VectorSelector,
    tmin: i64,
    tmax: i64,
    window: i64,
) -> Result<(), Error> {
    let at = ev.at_time(vs.at);
    load_matchers(ev, storage, key(vs), &vs.matchers, at, vs.offset, tmin, tmax, window)
}

/// Reads the series matching `matchers` for evaluation times in `[tmin, tmax]` (or `at`),
/// shifted by `offset`, each needing `window` ms of history, and stores them under `key`.
#[allow(clippy::too_many_arguments)]
fn load_matchers(
    ev: &mut Evaluator<'_>,
    storage: &dyn Storage,
    key: usize,
    matchers: &[tsdb::Matcher],
    at: Option<i64>,
    offset: i64,
    tmin: i64,
    tmax: i64,
    window: i64,
) -> Result<(), Error> {
    let (lo, hi) = match at {
        Some(at) => (at, at),
        None => (tmin, tmax),
    };
    let maxt = hi.saturating_sub(offset);
    let mint = lo.saturating_sub(offset).saturating_sub(window).saturating_add(1);
    ev.check_deadline()?;
    let series = storage.select(mint, maxt, matchers)?;
    let loaded: Vec<Loaded> = series
        .into_iter()
        .map(|s| Loaded {
            labels: s.labels,
            samples: s.samples.iter().map(|x| (x.t, x.v)).collect(),
        })
        .collect();
    let total: usize = loaded.iter().map(|s| s.samples.len()).sum();
    check_loaded(ev, total)?;
    ev.data.insert(key, loaded);
    Ok(())
}

/// Rejects a selector whose raw samples alone are far beyond the sample limit (steps are
/// counted precisely by [`Evaluator::add_samples`]).
fn check_loaded(ev: &Evaluator<'_>, total: usize) -> Result<(), Error> {
    if total > ev.opts.max_samples.saturating_mul(16) {
        return Err(Error::TooManySamples("query execution".into()));
    }
    Ok(())
}

/// The sample an instant selector picks at `eff` from `samples`, if any.
fn pick(samples: &[(i64, f64)], eff: i64, lookback: i64) -> Option<(i64, f64)> {
    let idx = samples.partition_point(|s| s.0 <= eff);
    let s = *samples.get(idx.checked_sub(1)?)?;
    if s.0 <= eff.saturating_sub(lookback) || is_stale_nan(s.1) {
        return None;
    }
    Some(s)
}

/// Evaluates an instant vector selector at `t`.
pub(super) fn instant(ev: &Evaluator<'_>, vs: &VectorSelector, t: i64) -> Vec<Elem> {
    instant_with_timestamps(ev, vs, t).into_iter().map(|(e, _)| e).collect()
}

/// Like [`instant`], also returning each picked sample's own timestamp (for `timestamp()`).
pub(super) fn instant_with_timestamps(ev: &Evaluator<'_>, vs: &VectorSelector, t: i64) -> Vec<(Elem, i64)> {
    let eff = ev.at_time(vs.at).unwrap_or(t).saturating_sub(vs.offset);
    instant_of_key(ev, key(vs), eff)
}

/// The samples at `eff` of the series preloaded under `key`, with their own timestamps.
pub(super) fn instant_of_key(ev: &Evaluator<'_>, key: usize, eff: i64) -> Vec<(Elem, i64)> {
    let Some(series) = ev.data.get(&key) else {
        return Vec::new();
    };
    series
        .iter()
        .filter_map(|s| {
            pick(&s.samples, eff, ev.lookback).map(|(st, v)| {
                (
                    Elem {
                        labels: s.labels.clone(),
                        v,
                        drop_name: false,
                    },
                    st,
                )
            })
        })
        .collect()
}

/// The window `(start, end]` a range selector reads at `t`, after offset and `@`.
pub(super) fn window_bounds(ev: &Evaluator<'_>, ms: &MatrixSelector, t: i64) -> (i64, i64) {
    let eff = ev.at_time(ms.vs.at).unwrap_or(t).saturating_sub(ms.vs.offset);
    (eff.saturating_sub(ms.range), eff)
}

/// Calls `f` with the labels and the non-empty window (staleness markers removed) of every
/// series of a range selector at `t`, without copying samples unless a marker must be removed.
/// Returns the window `(start, end]` after offset and `@`.
pub(super) fn for_each_window(
    ev: &Evaluator<'_>,
    ms: &MatrixSelector,
    t: i64,
    mut f: impl FnMut(&Labels, &[(i64, f64)]),
) -> (i64, i64) {
    let (start, eff) = window_bounds(ev, ms, t);
    let Some(series) = ev.data.get(&key(&ms.vs)) else {
        return (start, eff);
    };
    let mut filtered = Vec::new();
    for s in series {
        let lo = s.samples.partition_point(|x| x.0 <= start);
        let hi = s.samples.partition_point(|x| x.0 <= eff);
        let Some(window) = s.samples.get(lo..hi) else { continue };
        let window = if window.iter().any(|x| is_stale_nan(x.1)) {
            filtered.clear();
            filtered.extend(window.iter().copied().filter(|x| !is_stale_nan(x.1)));
            &filtered[..]
        } else {
            window
        };
        if !window.is_empty() {
            f(&s.labels, window);
        }
    }
    (start, eff)
}

/// Evaluates a range selector at `t`; also returns the window `(start, end]` after offset and `@`.
pub(super) fn matrix(ev: &Evaluator<'_>, ms: &MatrixSelector, t: i64) -> (Vec<RangeElem>, (i64, i64)) {
    let mut out = Vec::new();
    let bounds = for_each_window(ev, ms, t, |labels, window| {
        out.push(RangeElem {
            labels: labels.clone(),
            samples: window.to_vec(),
            drop_name: false,
        })
    });
    (out, bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_respects_left_open_lookback_and_staleness() {
        let s = [(30_000, 1.0), (60_000, 2.0)];
        assert_eq!(pick(&s, 60_000, 300_000), Some((60_000, 2.0)));
        assert_eq!(pick(&s, 59_999, 300_000), Some((30_000, 1.0)));
        assert_eq!(pick(&s, 359_999, 300_000), Some((60_000, 2.0)));
        assert_eq!(pick(&s, 360_000, 300_000), None);
        assert_eq!(pick(&s, 29_999, 300_000), None);
        let stale = [(0, 1.0), (10_000, tsdb::stale_nan())];
        assert_eq!(pick(&stale, 5_000, 300_000), Some((0, 1.0)));
        assert_eq!(pick(&stale, 20_000, 300_000), None);
    }
}
