//! Binary operators: scalar/scalar, vector/scalar, vector/vector with `on`/`ignoring` and
//! `group_left`/`group_right` matching, `bool`, and the set operators `and`, `or`, `unless`.
//!
//! With Prometheus 3's delayed name removal, arithmetic (and `bool` comparisons) only mark
//! `__name__` for removal; matching signatures never include `__name__` unless `on(__name__)`.

use std::collections::{HashMap, HashSet};

use tsdb::{Labels, LabelsBuilder, METRIC_NAME};

use super::engine::{Elem, Val};
use super::math_fns::{ArithOp, CmpOp, arith, compare};
use crate::error::Error;
use crate::promql::ast::{BinaryOp, Cardinality, VectorMatching};

/// The float operation of an operator: `Ok(op)` for arithmetic, `Err(op)` for comparisons.
fn classify(op: BinaryOp) -> Result<ArithOp, CmpOp> {
    match op {
        BinaryOp::Add => Ok(ArithOp::Add),
        BinaryOp::Sub => Ok(ArithOp::Sub),
        BinaryOp::Mul => Ok(ArithOp::Mul),
        BinaryOp::Div => Ok(ArithOp::Div),
        BinaryOp::Mod => Ok(ArithOp::Mod),
        BinaryOp::Pow => Ok(ArithOp::Pow),
        BinaryOp::Atan2 => Ok(ArithOp::Atan2),
        BinaryOp::Eql => Err(CmpOp::Eq),
        BinaryOp::Neq => Err(CmpOp::Ne),
        BinaryOp::Gtr => Err(CmpOp::Gt),
        BinaryOp::Lss => Err(CmpOp::Lt),
        BinaryOp::Gte => Err(CmpOp::Ge),
        BinaryOp::Lte | BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => Err(CmpOp::Le),
    }
}

/// Applies `op` to two floats: `(value, keep)`. Comparisons give the left value and the outcome.
fn elem_op(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match classify(op) {
        Ok(a) => (arith(a, l, r), true),
        Err(c) => (l, compare(c, l, r)),
    }
}

/// Evaluates `l op r` on already evaluated operands.
pub(crate) fn eval(
    op: BinaryOp,
    l: Val,
    r: Val,
    return_bool: bool,
    matching: Option<&VectorMatching>,
) -> Result<Val, Error> {
    match (l, r) {
        (Val::Scalar(a), Val::Scalar(b)) => {
            let (v, keep) = elem_op(op, a, b);
            if op.is_comparison() {
                Ok(Val::Scalar(if keep { 1.0 } else { 0.0 }))
            } else {
                Ok(Val::Scalar(v))
            }
        }
        (Val::Vector(vec), Val::Scalar(s)) => Ok(Val::Vector(vector_scalar(op, vec, s, false, return_bool))),
        (Val::Scalar(s), Val::Vector(vec)) => Ok(Val::Vector(vector_scalar(op, vec, s, true, return_bool))),
        (Val::Vector(lv), Val::Vector(rv)) => {
            let default = VectorMatching {
                card: if op.is_set_operator() {
                    Cardinality::ManyToMany
                } else {
                    Cardinality::OneToOne
                },
                matching_labels: Vec::new(),
                on: false,
                include: Vec::new(),
            };
            let m = matching.unwrap_or(&default);
            Ok(Val::Vector(match op {
                BinaryOp::And => and_unless(lv, rv, m, true),
                BinaryOp::Unless => and_unless(lv, rv, m, false),
                BinaryOp::Or => or(lv, rv, m),
                _ => vector_vector(op, lv, rv, m, return_bool)?,
            }))
        }
        _ => Err(Error::Execution(format!(
            "binary operator {:?} on unsupported operand types",
            op.as_str()
        ))),
    }
}

fn vector_scalar(op: BinaryOp, vec: Vec<Elem>, s: f64, scalar_left: bool, return_bool: bool) -> Vec<Elem> {
    let comparison = op.is_comparison();
    vec.into_iter()
        .filter_map(|mut e| {
            let (l, r) = if scalar_left { (s, e.v) } else { (e.v, s) };
            let (mut v, keep) = elem_op(op, l, r);
            if comparison && scalar_left {
                v = r;
            }
            if return_bool {
                v = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                return None;
            }
            e.v = v;
            if !comparison || return_bool {
                e.drop_name = true;
            }
            Some(e)
        })
        .collect()
}

/// The matching signature of a series: the `on` labels, or every label but `__name__` and the
/// `ignoring` labels.
fn signature(labels: &Labels, m: &VectorMatching) -> Labels {
    if m.on {
        labels.without(|n| !m.matching_labels.iter().any(|x| x == n))
    } else {
        labels.without(|n| n == METRIC_NAME || m.matching_labels.iter().any(|x| x == n))
    }
}

fn and_unless(lhs: Vec<Elem>, rhs: Vec<Elem>, m: &VectorMatching, and: bool) -> Vec<Elem> {
    let sigs: HashSet<Labels> = rhs.iter().map(|e| signature(&e.labels, m)).collect();
    lhs.into_iter()
        .filter(|e| sigs.contains(&signature(&e.labels, m)) == and)
        .collect()
}

fn or(lhs: Vec<Elem>, rhs: Vec<Elem>, m: &VectorMatching) -> Vec<Elem> {
    let sigs: HashSet<Labels> = lhs.iter().map(|e| signature(&e.labels, m)).collect();
    let mut out = lhs;
    out.extend(rhs.into_iter().filter(|e| !sigs.contains(&signature(&e.labels, m))));
    out
}

/// The labels of a vector/vector result, from the "many" (or left) side `lhs`.
fn result_labels(lhs: &Labels, rhs: &Labels, m: &VectorMatching) -> Labels {
    let mut b = LabelsBuilder::new(lhs);
    if m.card == Cardinality::OneToOne {
        if m.on {
            for l in lhs.iter() {
                if !m.matching_labels.iter().any(|x| x == l.name) {
                    b.del(l.name);
                }
            }
        } else {
            for n in &m.matching_labels {
                b.del(n);
            }
        }
    }
    for n in &m.include {
        match rhs.get(n) {
            Some(v) => b.set(n, v),
            None => b.del(n),
        };
    }
    b.labels()
}

fn vector_vector(
    op: BinaryOp,
    lhs: Vec<Elem>,
    rhs: Vec<Elem>,
    m: &VectorMatching,
    return_bool: bool,
) -> Result<Vec<Elem>, Error> {
    let swapped = m.card == Cardinality::OneToMany;
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    // The "one" side must have unique signatures.
    let mut one_sigs: HashMap<Labels, usize> = HashMap::with_capacity(one.len());
    for (i, e) in one.iter().enumerate() {
        let sig = signature(&e.labels, m);
        if let Some(&j) = one_sigs.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            let (a, b) = if one[j].labels <= e.labels {
                (&one[j].labels, &e.labels)
            } else {
                (&e.labels, &one[j].labels)
            };
            return Err(Error::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side",
                match_labels(&e.labels, m)
            )));
        }
        one_sigs.insert(sig, i);
    }
    let many_sigs: Vec<Labels> = many.iter().map(|e| signature(&e.labels, m)).collect();
    if m.card == Cardinality::OneToOne {
        let mut seen = HashSet::new();
        for sig in &many_sigs {
            if one_sigs.contains_key(sig) && !seen.insert(sig) {
                return Err(Error::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
        }
    }
    let comparison = op.is_comparison();
    let mut inserted: HashMap<&Labels, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    for (e, sig) in many.iter().zip(&many_sigs) {
        let Some(&j) = one_sigs.get(sig) else { continue };
        let o = &one[j];
        let (l, r) = if swapped { (o.v, e.v) } else { (e.v, o.v) };
        let (mut v, keep) = elem_op(op, l, r);
        if return_bool {
            v = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let labels = result_labels(&e.labels, &o.labels, m);
        if m.card != Cardinality::OneToOne {
            let set = inserted.entry(sig).or_default();
            if !set.insert(labels.clone()) {
                return Err(Error::Execution(
                    "multiple matches for labels: grouping labels must ensure unique results".into(),
                ));
            }
        }
        let drop_name = if !comparison || return_bool {
            true
        } else if swapped {
            o.drop_name
        } else {
            e.drop_name
        };
        out.push(Elem { labels, v, drop_name });
    }
    Ok(out)
}

/// The labels a match group is shown with in errors.
fn match_labels(labels: &Labels, m: &VectorMatching) -> Labels {
    if m.on {
        labels.without(|n| !m.matching_labels.iter().any(|x| x == n))
    } else {
        labels.without(|n| n == METRIC_NAME || m.matching_labels.iter().any(|x| x == n))
    }
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

    fn on(labels: &[&str], card: Cardinality, include: &[&str]) -> VectorMatching {
        VectorMatching {
            card,
            matching_labels: labels.iter().map(|s| s.to_string()).collect(),
            on: true,
            include: include.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn group_left_copies_included_labels() {
        let lhs = vec![
            el(&[("__name__", "req"), ("job", "a"), ("code", "200")], 10.0),
            el(&[("__name__", "req"), ("job", "a"), ("code", "500")], 2.0),
        ];
        let rhs = vec![el(&[("__name__", "info"), ("job", "a"), ("team", "x")], 1.0)];
        let m = on(&["job"], Cardinality::ManyToOne, &["team"]);
        let out = vector_vector(BinaryOp::Mul, lhs, rhs, &m, false).expect("ok");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].labels.get("team"), Some("x"));
        assert_eq!(out[0].labels.get("code"), Some("200"));
        assert!(out[0].drop_name);
        assert_eq!(out[1].v, 2.0);
    }

    #[test]
    fn one_to_one_duplicates_are_errors() {
        let lhs = vec![el(&[("a", "1"), ("b", "1")], 1.0), el(&[("a", "1"), ("b", "2")], 1.0)];
        let rhs = vec![el(&[("a", "1")], 1.0)];
        let m = on(&["a"], Cardinality::OneToOne, &[]);
        let err = vector_vector(BinaryOp::Gtr, lhs.clone(), rhs.clone(), &m, false).expect_err("dup");
        assert!(err.to_string().starts_with("multiple matches for labels"));
        let err = vector_vector(BinaryOp::Gtr, rhs, lhs, &m, false).expect_err("dup");
        assert_eq!(
            err.to_string(),
            "found duplicate series for the match group {a=\"1\"} on the right hand-side of the operation: \
             [{a=\"1\", b=\"1\"}, {a=\"1\", b=\"2\"}];many-to-many matching not allowed: matching labels must be unique on one side"
        );
    }

    #[test]
    fn set_operators_ignore_the_name() {
        let a = vec![
            el(&[("__name__", "x"), ("j", "1")], 1.0),
            el(&[("__name__", "x"), ("j", "2")], 2.0),
        ];
        let b = vec![
            el(&[("__name__", "y"), ("j", "2")], 3.0),
            el(&[("__name__", "y"), ("j", "3")], 4.0),
        ];
        let m = VectorMatching {
            card: Cardinality::ManyToMany,
            matching_labels: vec![],
            on: false,
            include: vec![],
        };
        let and: Vec<f64> = and_unless(a.clone(), b.clone(), &m, true).iter().map(|e| e.v).collect();
        let unless: Vec<f64> = and_unless(a.clone(), b.clone(), &m, false)
            .iter()
            .map(|e| e.v)
            .collect();
        let or: Vec<f64> = or(a, b, &m).iter().map(|e| e.v).collect();
        assert_eq!((and, unless, or), (vec![2.0], vec![1.0], vec![1.0, 2.0, 4.0]));
    }

    #[test]
    fn scalar_comparisons_keep_the_vector_value() {
        let v = vec![el(&[("__name__", "x")], 5.0)];
        let out = vector_scalar(BinaryOp::Lss, v.clone(), 1.0, true, false);
        assert_eq!((out[0].v, out[0].drop_name), (5.0, false));
        let out = vector_scalar(BinaryOp::Gtr, v.clone(), 10.0, false, true);
        assert_eq!((out[0].v, out[0].drop_name), (0.0, true));
        let out = vector_scalar(BinaryOp::Sub, v, 1.0, true, false);
        assert_eq!(out[0].v, -4.0);
    }
}
