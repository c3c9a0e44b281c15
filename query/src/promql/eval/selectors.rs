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
    /// True when some sample is a staleness marker (windows must then be filtered).
    pub stale: bool,
}

/// The key of a selector node in [`Evaluator::data`].
pub(super) fn key(vs: &VectorSelector) -> usize {
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
        Expr::Call { func, args, .. } if func.name == "info" => {
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
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut total = 0usize;
    storage.select_each(mint, maxt, matchers, &mut |labels, samples| {
        total = total.saturating_add(samples.len());
        check_loaded(ev, total)?;
        let stale = samples.iter().any(|x| is_stale_nan(x.1));
        loaded.push(Loaded { labels, samples, stale });
        Ok(())
    })?;
    std::sync::Arc::make_mut(&mut ev.data).insert(key, loaded);
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

/// `samples.partition_point(|s| s.0 <= bound)` (samples in time order), searched from `hint`,
/// the answer for an earlier bound: galloping forward when the bound moved forward (steps of a
/// range query), a binary search below `hint` otherwise. Any `hint` gives the same answer.
#[inline(always)]
pub(super) fn seek(samples: &[(i64, f64)], hint: usize, bound: i64) -> usize {
    // The common step: the bound moved past at most two samples.
    let mut at = hint;
    if at == 0 || samples.get(at - 1).is_some_and(|s| s.0 <= bound) {
        for _ in 0..3 {
            match samples.get(at) {
                Some(s) if s.0 <= bound => at += 1,
                Some(_) => return at,
                None => return at,
            }
        }
    }
    seek_far(samples, hint, bound)
}

/// [`seek`] beyond its first few samples.
#[inline(never)]
fn seek_far(samples: &[(i64, f64)], hint: usize, bound: i64) -> usize {
    let hint = hint.min(samples.len());
    if hint > 0 && samples[hint - 1].0 > bound {
        return samples[..hint].partition_point(|s| s.0 <= bound);
    }
    // Every sample before `lo` is at or before `bound`.
    let mut lo = hint;
    let mut stride = 1;
    while let Some(probe) = lo.checked_add(stride).filter(|p| *p <= samples.len()) {
        if samples[probe - 1].0 > bound {
            return lo + samples[lo..probe - 1].partition_point(|s| s.0 <= bound);
        }
        lo = probe;
        stride = stride.saturating_mul(2);
    }
    lo + samples[lo..].partition_point(|s| s.0 <= bound)
}

/// The sample an instant selector picks at `eff` from `samples`, if any.
#[cfg(test)]
fn pick(samples: &[(i64, f64)], eff: i64, lookback: i64) -> Option<(i64, f64)> {
    pick_before(samples, samples.partition_point(|s| s.0 <= eff), eff, lookback)
}

/// [`pick`] given `idx`, the number of samples at or before `eff`.
pub(super) fn pick_before(samples: &[(i64, f64)], idx: usize, eff: i64, lookback: i64) -> Option<(i64, f64)> {
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
    let mut cursors = ev.cursors.borrow_mut();
    let cursors = cursors.entry(key).or_insert_with(|| vec![[0, 0]; series.len()]);
    series
        .iter()
        .zip(cursors.iter_mut())
        .filter_map(|(s, c)| {
            c[1] = seek(&s.samples, c[1], eff);
            pick_before(&s.samples, c[1], eff, ev.lookback).map(|(st, v)| {
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

/// Calls `f(series, value)`, in series order, for every series of `vs`'s loaded data (by its
/// index there) with a value at `t`, as [`instant`] finds them; returns how many there were.
pub(super) fn instant_each(ev: &Evaluator<'_>, vs: &VectorSelector, t: i64, mut f: impl FnMut(usize, f64)) -> usize {
    let eff = ev.at_time(vs.at).unwrap_or(t).saturating_sub(vs.offset);
    let key = key(vs);
    let Some(series) = ev.data.get(&key) else {
        return 0;
    };
    let mut cursors = ev.cursors.borrow_mut();
    let cursors = cursors.entry(key).or_insert_with(|| vec![[0, 0]; series.len()]);
    let mut present = 0;
    for (j, (s, c)) in series.iter().zip(cursors.iter_mut()).enumerate() {
        c[1] = seek(&s.samples, c[1], eff);
        if let Some((_, v)) = pick_before(&s.samples, c[1], eff, ev.lookback) {
            present += 1;
            f(j, v);
        }
    }
    present
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
    let mut cursors = ev.cursors.borrow_mut();
    let cursors = cursors.entry(key(&ms.vs)).or_insert_with(|| vec![[0, 0]; series.len()]);
    let mut filtered = Vec::new();
    for (s, c) in series.iter().zip(cursors.iter_mut()) {
        let lo = seek(&s.samples, c[0], start);
        let hi = seek(&s.samples, c[1], eff);
        *c = [lo, hi];
        let Some(window) = s.samples.get(lo..hi) else { continue };
        let window = if s.stale && window.iter().any(|x| is_stale_nan(x.1)) {
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

    #[test]
    fn seek_examples() {
        let s: Vec<(i64, f64)> = (0..100).map(|i| (i * 10, 0.0)).collect();
        assert_eq!(seek(&s, 0, -1), 0);
        assert_eq!(seek(&s, 0, 0), 1);
        assert_eq!(seek(&s, 0, 995), 100);
        assert_eq!(seek(&s, 50, 495), 50);
        assert_eq!(seek(&s, 50, 505), 51);
        assert_eq!(seek(&s, 90, 5), 1);
        assert_eq!(seek(&s, 1_000, 2_000), 100);
        assert_eq!(seek(&[], 3, 7), 0);
    }

    proptest::proptest! {
        #[test]
        fn seek_matches_partition_point(
            gaps in proptest::collection::vec(0i64..50, 0..200),
            hint in 0usize..250,
            bound in -20i64..6_000,
        ) {
            let mut t = 0;
            let samples: Vec<(i64, f64)> = gaps.iter().map(|g| { t += g + 1; (t, 0.0) }).collect();
            proptest::prop_assert_eq!(seek(&samples, hint, bound), samples.partition_point(|s| s.0 <= bound));
        }

        #[test]
        fn cursor_over_steps_matches_brute_force(
            gaps in proptest::collection::vec(0i64..40, 1..150),
            range in 1i64..500,
            step in 1i64..120,
            lookback in 1i64..300,
        ) {
            let mut t = 0;
            let samples: Vec<(i64, f64)> = gaps.iter().map(|g| { t += g + 1; (t, t as f64) }).collect();
            let mut c = [0usize, 0usize];
            let mut p = 0usize;
            let mut eff = -100;
            while eff < t + 200 {
                let lo = seek(&samples, c[0], eff - range);
                let hi = seek(&samples, c[1], eff);
                c = [lo, hi];
                let brute: Vec<(i64, f64)> =
                    samples.iter().copied().filter(|s| s.0 > eff - range && s.0 <= eff).collect();
                proptest::prop_assert_eq!(&samples[lo..hi], &brute[..]);
                p = seek(&samples, p, eff);
                proptest::prop_assert_eq!(pick_before(&samples, p, eff, lookback), pick(&samples, eff, lookback));
                eff += step;
            }
        }
    }
}
