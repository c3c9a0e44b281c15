//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, …) with `by`/`without` grouping.
//!
//! Groups come out in the order of their first input element. `by` keeps only the listed labels,
//! `without` drops the listed labels and `__name__`. A group's `__name__` (kept by
//! `by (__name__)`) is marked for removal if any of its elements' was. `topk`, `bottomk`, `limitk` and
//! `limit_ratio` return input elements unchanged (labels included).

use std::cmp::Ordering;
use std::collections::HashMap;

use tsdb::{Labels, LabelsBuilder, METRIC_NAME};

use super::engine::{Elem, Evaluator, Val, go_g};
use super::math_fns::quantile;
use super::range_fns::{KahanMean, KahanSum, stdvar_over_time};
use crate::error::Error;
use crate::promql::ast::AggregateOp;

/// The output labels of an element's group.
pub(super) fn group_labels(labels: &Labels, grouping: &[String], without: bool) -> Labels {
    if without {
        labels.without(|n| n == METRIC_NAME || grouping.iter().any(|g| g == n))
    } else {
        labels.without(|n| !grouping.iter().any(|g| g == n))
    }
}

/// Splits `input` into groups, in order of first appearance.
#[cfg(test)]
fn groups(input: Vec<Elem>, grouping: &[String], without: bool) -> Vec<(Labels, Vec<Elem>)> {
    GroupCache::default().split(input, grouping, without)
}

/// The groups of one aggregation, kept across the steps of a query: steps usually see the same
/// input series in the same order, so an element whose labels equal those at its position in
/// the previous step reuses that element's group without building and hashing its group labels.
#[derive(Debug, Default)]
pub(super) struct GroupCache {
    /// The input labels at each position of the previous step, with their group.
    last: Vec<(Labels, usize)>,
    /// Group labels by group number.
    labels: Vec<Labels>,
    /// Group number by group labels.
    index: HashMap<Labels, usize>,
}

impl GroupCache {
    /// The group number of the element at `pos` with `labels`.
    fn group_of(&mut self, pos: usize, labels: &Labels, grouping: &[String], without: bool) -> usize {
        if let Some((seen, g)) = self.last.get(pos)
            && seen == labels
        {
            return *g;
        }
        let key = group_labels(labels, grouping, without);
        let g = match self.index.get(&key) {
            Some(&g) => g,
            None => {
                self.index.insert(key.clone(), self.labels.len());
                self.labels.push(key);
                self.labels.len() - 1
            }
        };
        let entry = (labels.clone(), g);
        match self.last.get_mut(pos) {
            Some(slot) => *slot = entry,
            None => self.last.push(entry),
        }
        g
    }

    /// Splits `input` into groups, in order of first appearance.
    pub(super) fn split(&mut self, input: Vec<Elem>, grouping: &[String], without: bool) -> Vec<(Labels, Vec<Elem>)> {
        // The output position of each group number in this step.
        let mut slots: Vec<usize> = vec![usize::MAX; self.labels.len()];
        let mut out: Vec<(Labels, Vec<Elem>)> = Vec::new();
        for (pos, e) in input.into_iter().enumerate() {
            let g = self.group_of(pos, &e.labels, grouping, without);
            if g >= slots.len() {
                slots.resize(g + 1, usize::MAX);
            }
            match slots[g] {
                usize::MAX => {
                    slots[g] = out.len();
                    out.push((self.labels[g].clone(), vec![e]));
                }
                i => out[i].1.push(e),
            }
        }
        out
    }
}

fn param_scalar(param: Option<Val>) -> Result<f64, Error> {
    match param {
        Some(Val::Scalar(v)) => Ok(v),
        _ => Err(Error::Execution("aggregation parameter must be a scalar".into())),
    }
}

/// True for a valid label name: Prometheus 3 accepts any non-empty UTF-8 name. The parser turns
/// invalid UTF-8 in string literals into U+FFFD, so a name containing it was invalid as written.
pub(super) fn valid_label_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\u{FFFD}')
}

/// Formats a float like Go's `strconv.FormatFloat(v, 'f', -1, 64)` (the same text as the
/// engine's annotation formatting).
pub(super) use super::engine::go_g as format_value;

/// Evaluates `op [by|without (grouping)] ([param,] input)`; `node` identifies the aggregation
/// in the query (its groups are remembered across steps).
#[allow(clippy::too_many_arguments)]
pub(super) fn eval(
    ev: &mut Evaluator<'_>,
    node: usize,
    op: AggregateOp,
    param: Option<Val>,
    input: Vec<Elem>,
    grouping: &[String],
    without: bool,
) -> Result<Val, Error> {
    let mut cache = ev.groups.remove(&node).unwrap_or_default();
    let out = eval_with(ev, &mut cache, op, param, input, grouping, without);
    ev.groups.insert(node, cache);
    out
}

fn eval_with(
    ev: &mut Evaluator<'_>,
    cache: &mut GroupCache,
    op: AggregateOp,
    param: Option<Val>,
    input: Vec<Elem>,
    grouping: &[String],
    without: bool,
) -> Result<Val, Error> {
    let out = match op {
        AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk => {
            let k = param_scalar(param)?;
            if k.is_nan() {
                return Err(Error::Execution("Parameter value is NaN".into()));
            }
            if k < 1.0 {
                return Ok(Val::Vector(Vec::new()));
            }
            let k = if k >= usize::MAX as f64 { usize::MAX } else { k as usize };
            cache
                .split(input, grouping, without)
                .into_iter()
                .flat_map(|(_, g)| select_k(op, g, k))
                .collect()
        }
        AggregateOp::LimitRatio => {
            let mut r = param_scalar(param)?;
            if r.is_nan() {
                return Err(Error::Execution("Ratio value is NaN".into()));
            }
            if !(-1.0..=1.0).contains(&r) {
                let capped = r.clamp(-1.0, 1.0);
                ev.warn(format!(
                    "ratio value should be between -1 and 1, got {}, capping to {}",
                    go_g(r),
                    go_g(capped)
                ));
                r = capped;
            }
            input
                .into_iter()
                .filter(|e| {
                    let x = labels_hash(&e.labels) as f64 / u64::MAX as f64;
                    if r >= 0.0 { x < r } else { x >= 1.0 + r }
                })
                .collect()
        }
        AggregateOp::CountValues => {
            let Some(Val::Str(label)) = param else {
                return Err(Error::Execution("count_values parameter must be a string".into()));
            };
            if !valid_label_name(&label) {
                return Err(Error::Execution(format!("invalid label name {label:?}")));
            }
            let mut counts: Vec<(Labels, f64, bool)> = Vec::new();
            let mut index: HashMap<Labels, usize> = HashMap::new();
            for e in input {
                let mut b = LabelsBuilder::new(&group_labels(&e.labels, grouping, without));
                b.set(&label, &format_value(e.v));
                let key = b.labels();
                match index.get(&key) {
                    Some(&i) => {
                        counts[i].1 += 1.0;
                        counts[i].2 |= e.drop_name;
                    }
                    None => {
                        index.insert(key.clone(), counts.len());
                        counts.push((key, 1.0, e.drop_name));
                    }
                }
            }
            counts
                .into_iter()
                .map(|(labels, v, drop_name)| Elem { labels, v, drop_name })
                .collect()
        }
        AggregateOp::Quantile => {
            let phi = param_scalar(param)?;
            if !(0.0..=1.0).contains(&phi) {
                ev.warn(format!("quantile value should be between 0 and 1, got {}", go_g(phi)));
            }
            cache
                .split(input, grouping, without)
                .into_iter()
                .map(|(labels, g)| {
                    let mut values: Vec<f64> = g.iter().map(|e| e.v).collect();
                    Elem {
                        labels,
                        v: quantile(phi, &mut values),
                        drop_name: g.iter().any(|e| e.drop_name),
                    }
                })
                .collect()
        }
        _ => {
            // One buffer for every group's values.
            let mut values = Vec::new();
            cache
                .split(input, grouping, without)
                .into_iter()
                .map(|(labels, g)| {
                    values.clear();
                    values.extend(g.iter().map(|e| e.v));
                    Elem {
                        labels,
                        v: simple(op, &values),
                        drop_name: g.iter().any(|e| e.drop_name),
                    }
                })
                .collect()
        }
    };
    Ok(Val::Vector(out))
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn xxh_round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn xxh_merge(acc: u64, v: u64) -> u64 {
    (acc ^ xxh_round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// XXH64 with seed 0 (written from the published algorithm description).
fn xxh64(data: &[u8]) -> u64 {
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = xxh_round(*acc, read_u64(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for acc in v {
            h = xxh_merge(h, acc);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(data.len() as u64);
    while rest.len() >= 8 {
        h = (h ^ xxh_round(0, read_u64(rest)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let k = u64::from(u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]));
        h = (h ^ k.wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ u64::from(b).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// Prometheus's `labels.Hash()`: XXH64 of `name 0xff value 0xff …`, which `limit_ratio` samples by.
fn labels_hash(labels: &Labels) -> u64 {
    let mut buf = Vec::with_capacity(labels.heap_size() + 16);
    for l in labels.iter() {
        buf.extend_from_slice(l.name.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(l.value.as_bytes());
        buf.push(0xff);
    }
    xxh64(&buf)
}

/// `sum`, `avg`, `min`, `max`, `group`, `count`, `stddev`, `stdvar` over the values of one
/// non-empty group, in input order.
pub(super) fn simple(op: AggregateOp, g: &[f64]) -> f64 {
    let Some((&first, rest)) = g.split_first() else {
        return f64::NAN;
    };
    match op {
        AggregateOp::Sum => {
            let mut s = KahanSum::starting_with(first);
            rest.iter().for_each(|&v| s.add(v));
            s.value()
        }
        AggregateOp::Avg => {
            let mut m = KahanMean::new();
            g.iter().for_each(|&v| m.add(v));
            m.value().unwrap_or(f64::NAN)
        }
        AggregateOp::Min => rest
            .iter()
            .fold(first, |acc, &v| if v < acc || acc.is_nan() { v } else { acc }),
        AggregateOp::Max => rest
            .iter()
            .fold(first, |acc, &v| if v > acc || acc.is_nan() { v } else { acc }),
        AggregateOp::Group => 1.0,
        AggregateOp::Count => g.len() as f64,
        AggregateOp::Stdvar | AggregateOp::Stddev => {
            let samples: Vec<(i64, f64)> = g.iter().map(|&v| (0, v)).collect();
            let var = stdvar_over_time(&samples).unwrap_or(f64::NAN);
            if op == AggregateOp::Stddev { var.sqrt() } else { var }
        }
        _ => f64::NAN,
    }
}

/// Orders for `topk`: larger first, NaN last.
fn desc_nan_last(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// Orders for `bottomk`: smaller first, NaN last.
fn asc_nan_last(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// `topk`/`bottomk`: the k best elements of a group, best first; `limitk`: the first k.
fn select_k(op: AggregateOp, mut g: Vec<Elem>, k: usize) -> Vec<Elem> {
    match op {
        AggregateOp::Topk => g.sort_by(|a, b| desc_nan_last(a.v, b.v)),
        AggregateOp::Bottomk => g.sort_by(|a, b| asc_nan_last(a.v, b.v)),
        _ => {}
    }
    g.truncate(k);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(pairs: &[(&str, &str)], v: f64) -> Elem {
        Elem {
            labels: Labels::new(pairs.iter().copied()).expect("valid labels"),
            v,
            drop_name: false,
        }
    }

    fn vals(g: &[Elem]) -> Vec<f64> {
        g.iter().map(|e| e.v).collect()
    }

    fn data() -> Vec<Elem> {
        vec![
            el(&[("__name__", "r"), ("job", "api"), ("i", "0")], 1.0),
            el(&[("__name__", "r"), ("job", "api"), ("i", "1")], 3.0),
            el(&[("__name__", "r"), ("job", "db"), ("i", "0")], 10.0),
            el(&[("__name__", "r"), ("job", "db"), ("i", "1")], f64::NAN),
        ]
    }

    #[test]
    fn sum_by_and_without() {
        let by = groups(data(), &["job".to_string()], false);
        assert_eq!(by.len(), 2);
        assert_eq!(by[0].0.to_string(), "{job=\"api\"}");
        assert_eq!(simple(AggregateOp::Sum, &vals(&by[0].1)), 4.0);
        let wo = groups(data(), &["i".to_string()], true);
        assert_eq!(wo[1].0.to_string(), "{job=\"db\"}");
        assert_eq!(simple(AggregateOp::Max, &vals(&wo[1].1)), 10.0);
        assert_eq!(simple(AggregateOp::Count, &vals(&wo[1].1)), 2.0);
        assert_eq!(simple(AggregateOp::Stddev, &vals(&by[0].1)), 1.0);
        assert_eq!(simple(AggregateOp::Avg, &vals(&by[0].1)), 2.0);
    }

    #[test]
    fn group_cache_across_steps_matches_fresh_grouping() {
        let job = ["job".to_string()];
        let mut cache = GroupCache::default();
        let steps = [
            data(),
            data().into_iter().rev().collect::<Vec<_>>(),
            data()[1..].to_vec(),
            vec![el(&[("__name__", "r"), ("job", "web"), ("i", "0")], 2.0)],
            data(),
        ];
        for step in steps {
            let cached = cache.split(step.clone(), &job, false);
            // Debug output: NaN values compare unequal.
            assert_eq!(format!("{cached:?}"), format!("{:?}", groups(step, &job, false)));
        }
        assert_eq!(cache.labels.len(), 3);
    }

    #[test]
    fn topk_sorts_nan_last() {
        let top = select_k(AggregateOp::Topk, data(), 2);
        assert_eq!(top.iter().map(|e| e.v).collect::<Vec<_>>(), vec![10.0, 3.0]);
        let bottom = select_k(AggregateOp::Bottomk, data(), 5);
        assert_eq!(bottom[0].v, 1.0);
        assert!(bottom[3].v.is_nan());
    }

    #[test]
    fn xxh64_vectors() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        let long = b"Nobody inspects the spammish repetition, and more bytes";
        assert_ne!(xxh64(long), xxh64(&long[1..]));
    }

    #[test]
    fn value_formatting() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(1e21), "1000000000000000000000");
    }
}
