//! Subqueries: `expr[range:step] offset … @ …` evaluates `expr` at every multiple of `step` (in
//! absolute time) inside the left-open window `(t - offset - range, t - offset]`, and gathers
//! the results into a range vector.

use std::collections::HashMap;

use tsdb::Labels;

use super::engine::{Evaluator, RangeElem, Val};
use crate::error::Error;
use crate::promql::ast::Subquery;

/// The first step time of a subquery window starting (exclusively) at `start`: the smallest
/// multiple of `step` greater than `start`, with Go's truncating division as Prometheus uses.
pub(super) fn first_step(start: i64, step: i64) -> i64 {
    let aligned = step.saturating_mul(start / step);
    if aligned <= start {
        aligned.saturating_add(step)
    } else {
        aligned
    }
}

/// Evaluates a subquery at `t`; also returns the window `(start, end]`.
pub(super) fn eval(ev: &mut Evaluator<'_>, sq: &Subquery, t: i64) -> Result<(Vec<RangeElem>, (i64, i64)), Error> {
    let step = sq
        .step
        .filter(|s| *s > 0)
        .unwrap_or(ev.opts.default_subquery_step)
        .max(1);
    let end = ev.at_time(sq.at).unwrap_or(t).saturating_sub(sq.offset);
    let start = end.saturating_sub(sq.range);
    let mut index: HashMap<(Labels, bool), usize> = HashMap::new();
    let mut out: Vec<RangeElem> = Vec::new();
    let mut ts = first_step(start, step);
    let mut n = 0usize;
    while ts <= end {
        n += 1;
        if n.is_multiple_of(64) {
            ev.check_deadline()?;
        }
        match ev.eval(&sq.expr, ts)? {
            Val::Vector(vec) => {
                ev.add_samples(vec.len())?;
                for e in vec {
                    let k = (e.labels, e.drop_name);
                    let i = match index.get(&k) {
                        Some(i) => *i,
                        None => {
                            out.push(RangeElem {
                                labels: k.0.clone(),
                                samples: Vec::new(),
                                drop_name: k.1,
                            });
                            index.insert(k, out.len() - 1);
                            out.len() - 1
                        }
                    };
                    out[i].samples.push((ts, e.v));
                }
            }
            Val::Scalar(v) => {
                ev.add_samples(1)?;
                if out.is_empty() {
                    out.push(RangeElem {
                        labels: Labels::empty(),
                        samples: Vec::new(),
                        drop_name: false,
                    });
                }
                out[0].samples.push((ts, v));
            }
            _ => return Err(Error::Execution("subquery over a non-vector expression".into())),
        }
        ts = match ts.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok((out, (start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_align_to_absolute_multiples() {
        assert_eq!(first_step(0, 60_000), 60_000);
        assert_eq!(first_step(1, 60_000), 60_000);
        assert_eq!(first_step(59_999, 60_000), 60_000);
        assert_eq!(first_step(60_000, 60_000), 120_000);
        // Go truncates toward zero: -90s / 60s = -1 → -60s, which is > -90s.
        assert_eq!(first_step(-90_000, 60_000), -60_000);
        assert_eq!(first_step(-60_000, 60_000), 0);
    }
}
