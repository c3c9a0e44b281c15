//! The experimental `info(v [, selector])` function: adds the data labels of info metrics
//! (`target_info` by default) that share the identifying labels `instance` and `job` with a series.
//!
//! The selector's `__name__` matchers choose the info metrics (without a positive one, any
//! `*_info` metric not excluded); its other matchers choose and filter the data labels. Input
//! series that are themselves such info metrics pass unchanged. Of several series of one info
//! metric the one with the newest sample wins; two info metrics giving a label different values
//! is an error. When no info series matches, the input series passes unchanged unless a data
//! matcher rejects the empty value, in which case it is dropped. Info series are looked up at
//! the time the argument's selectors read at (following their `@` and `offset`).

use std::collections::HashMap;

use tsdb::{Labels, LabelsBuilder, METRIC_NAME, MatchType, Matcher};

use super::calls::arg;
use super::engine::{Elem, Evaluator, Val};
use super::selectors;
use crate::error::Error;
use crate::promql::ast::Expr;

/// The labels that tie a series to its info series.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The matchers of an `info` call: `(__name__ matchers, data matchers, selection matchers)`.
pub(super) fn matchers(args: &[Expr]) -> (Vec<Matcher>, Vec<Matcher>, Vec<Matcher>) {
    let given: Vec<Matcher> = match args.get(1) {
        Some(Expr::VectorSelector(vs)) => vs.matchers.clone(),
        _ => Vec::new(),
    };
    let (mut names, data): (Vec<Matcher>, Vec<Matcher>) = given.into_iter().partition(|m| m.name() == METRIC_NAME);
    if names.is_empty() {
        names.extend(Matcher::new(MatchType::Equal, METRIC_NAME, "target_info"));
    } else if !names.iter().any(|m| !m.match_type().is_negative()) {
        names.extend(Matcher::new(MatchType::Regex, METRIC_NAME, ".+_info"));
    }
    let mut select = names.clone();
    select.extend(data.iter().cloned());
    (names, data, select)
}

/// The time info series are looked up at for evaluation time `t`: the time the argument's first
/// selector reads at (after its `@` and `offset`, through enclosing subqueries).
pub(super) fn reference_time(ev: &Evaluator<'_>, e: &Expr, t: i64) -> i64 {
    match e {
        Expr::VectorSelector(vs) => ev.at_time(vs.at).unwrap_or(t).saturating_sub(vs.offset),
        Expr::MatrixSelector(ms) => ev.at_time(ms.vs.at).unwrap_or(t).saturating_sub(ms.vs.offset),
        Expr::Subquery(sq) => reference_time(ev, &sq.expr, ev.at_time(sq.at).unwrap_or(t).saturating_sub(sq.offset)),
        Expr::Paren(inner) | Expr::Unary { expr: inner, .. } | Expr::Aggregate { expr: inner, .. } => {
            reference_time(ev, inner, t)
        }
        Expr::Binary { lhs, rhs, .. } => {
            if has_selector(lhs) {
                reference_time(ev, lhs, t)
            } else {
                reference_time(ev, rhs, t)
            }
        }
        Expr::Call { args, .. } => match args.iter().find(|a| has_selector(a)) {
            Some(a) => reference_time(ev, a, t),
            None => t,
        },
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => t,
    }
}

fn has_selector(e: &Expr) -> bool {
    match e {
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) | Expr::Subquery(_) => true,
        Expr::Paren(inner) | Expr::Unary { expr: inner, .. } | Expr::Aggregate { expr: inner, .. } => {
            has_selector(inner)
        }
        Expr::Binary { lhs, rhs, .. } => has_selector(lhs) || has_selector(rhs),
        Expr::Call { args, .. } => args.iter().any(has_selector),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => false,
    }
}

/// The key under which the info series of a call are preloaded: the address of its argument
/// list plus one. Selector keys are addresses of 8-byte aligned nodes, so an odd key never
/// collides with them (the first argument's selector may sit at the list's very address).
pub(super) fn key(args: &[Expr]) -> usize {
    (args.as_ptr() as usize) | 1
}

/// Evaluates `info(v [, selector])` at `t`.
pub(super) fn eval(ev: &mut Evaluator<'_>, args: &[Expr], t: i64) -> Result<Val, Error> {
    let base = ev.eval_vector(arg(args, 0)?, t)?;
    let (names, data, _) = matchers(args);
    let reference = reference_time(ev, arg(args, 0)?, t);
    let infos = selectors::instant_of_key(ev, key(args), reference);
    ev.add_samples(infos.len())?;
    // Per identifying values, per info metric name: the newest series.
    let mut by_ident: HashMap<Vec<String>, HashMap<String, (i64, Labels)>> = HashMap::new();
    for (e, st) in infos {
        let ident: Vec<String> = IDENTIFYING
            .iter()
            .map(|n| e.labels.get(n).unwrap_or("").to_string())
            .collect();
        let name = e.labels.metric_name().unwrap_or("").to_string();
        let slot = by_ident.entry(ident).or_default();
        match slot.get(&name) {
            Some((t0, _)) if *t0 >= st => {}
            _ => {
                slot.insert(name, (st, e.labels));
            }
        }
    }
    let data_required = data.iter().any(|m| !m.matches(""));
    let mut out = Vec::with_capacity(base.len());
    for e in base {
        let own_name = e.labels.metric_name().unwrap_or("");
        if names.iter().all(|m| m.matches(own_name)) {
            out.push(e);
            continue;
        }
        let ident: Vec<String> = IDENTIFYING
            .iter()
            .map(|n| e.labels.get(n).unwrap_or("").to_string())
            .collect();
        let matched = by_ident.get(&ident).filter(|m| !m.is_empty());
        let Some(matched) = matched else {
            if !data_required {
                out.push(e);
            }
            continue;
        };
        let mut added: Vec<(String, String)> = Vec::new();
        let mut sources: Vec<&(i64, Labels)> = matched.values().collect();
        sources.sort_by(|a, b| a.1.cmp(&b.1));
        for (_, info) in sources {
            for l in info.iter() {
                if l.name == METRIC_NAME || IDENTIFYING.contains(&l.name) || e.labels.get(l.name).is_some() {
                    continue;
                }
                if !data.is_empty() && !data.iter().any(|m| m.name() == l.name) {
                    continue;
                }
                match added.iter().find(|(n, _)| n == l.name) {
                    Some((_, v)) if v != l.value => {
                        return Err(Error::Execution(format!(
                            "conflicting label: {:?} has values {v:?} and {:?} in different info metrics",
                            l.name, l.value
                        )));
                    }
                    Some(_) => {}
                    None => added.push((l.name.to_string(), l.value.to_string())),
                }
            }
        }
        let mut b = LabelsBuilder::new(&e.labels);
        for (n, v) in &added {
            b.set(n, v);
        }
        out.push(Elem {
            labels: b.labels(),
            v: e.v,
            drop_name: e.drop_name,
        });
    }
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parse;

    fn call_args(q: &str) -> Vec<Expr> {
        match parse(q).expect("parses") {
            Expr::Call { args, .. } => args,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn default_and_implicit_name_matchers() {
        let (names, data, select) = matchers(&call_args("info(up)"));
        assert_eq!((names.len(), data.len(), select.len()), (1, 0, 1));
        assert!(names[0].matches("target_info") && !names[0].matches("build_info"));
        let (names, data, _) = matchers(&call_args("info(up, {__name__!=\"target_info\", x=~\".+\"})"));
        assert_eq!(data.len(), 1);
        assert!(names.iter().all(|m| m.matches("build_info")));
        assert!(!names.iter().all(|m| m.matches("target_info")));
        assert!(!names.iter().all(|m| m.matches("metric")));
    }
}
